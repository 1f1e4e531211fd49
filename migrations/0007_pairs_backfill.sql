ALTER TABLE `rollup_tenants` ADD `pairs_config` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `rollup_tenants` ADD `pairs_backfill_from` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `rollup_tenants` ADD `pairs_backfill_to` integer DEFAULT 0 NOT NULL;