CREATE TABLE `shared_contexts` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
ALTER TABLE `events` ADD `context_id` text;