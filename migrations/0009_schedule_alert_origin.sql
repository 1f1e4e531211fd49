ALTER TABLE `alerts` ADD `origin` text;--> statement-breakpoint
ALTER TABLE `schedules` ADD `origin` text;