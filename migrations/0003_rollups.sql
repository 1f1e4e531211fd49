CREATE TABLE `cron_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`trigger` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`report` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `cron_runs_started` ON `cron_runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `rollup_cursor` (
	`id` text PRIMARY KEY NOT NULL,
	`watermark` integer DEFAULT 0 NOT NULL,
	`lease_owner` text,
	`lease_until` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rollup_dirty` (
	`tenant_id` text NOT NULL,
	`level` text NOT NULL,
	`bucket` integer NOT NULL,
	`marked_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `level`, `bucket`)
);
--> statement-breakpoint
CREATE TABLE `rollup_tenants` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`day_tz` text NOT NULL,
	`align_minutes` integer NOT NULL,
	`config` text NOT NULL,
	`archived_before` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rollups` (
	`tenant_id` text NOT NULL,
	`level` text NOT NULL,
	`dim` text NOT NULL,
	`bucket` integer NOT NULL,
	`event` text NOT NULL,
	`value` text NOT NULL,
	`count` integer NOT NULL,
	`users` text NOT NULL,
	`metrics` text DEFAULT '{}' NOT NULL,
	PRIMARY KEY(`tenant_id`, `level`, `dim`, `bucket`, `event`, `value`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `dimension_props` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `metric_props` text DEFAULT '[]' NOT NULL;