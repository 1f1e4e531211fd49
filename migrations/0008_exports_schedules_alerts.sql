CREATE TABLE `alert_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`alert_id` text NOT NULL,
	`kind` text NOT NULL,
	`value` real,
	`details` text DEFAULT '{}' NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alert_events_alert` ON `alert_events` (`tenant_id`,`alert_id`,`at`);--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`query` text NOT NULL,
	`window_minutes` integer NOT NULL,
	`condition` text NOT NULL,
	`min_interval_minutes` integer DEFAULT 60 NOT NULL,
	`destinations` text NOT NULL,
	`state` text DEFAULT 'ok' NOT NULL,
	`last_value` real,
	`last_evaluated_at` integer,
	`last_fired_at` integer,
	`last_resolved_at` integer,
	`enabled` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alerts_tenant` ON `alerts` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `alerts_due` ON `alerts` (`enabled`,`last_evaluated_at`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`source_kind` text NOT NULL,
	`source_id` text NOT NULL,
	`channel` text NOT NULL,
	`target` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`response_status` integer,
	`error` text,
	`export_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deliveries_tenant` ON `deliveries` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `deliveries_due` ON `deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `exports` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`format` text NOT NULL,
	`gzip` integer DEFAULT 0 NOT NULL,
	`request` text NOT NULL,
	`state` text DEFAULT 'queued' NOT NULL,
	`rows` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL,
	`progress` real DEFAULT 0 NOT NULL,
	`expected_rows` integer,
	`error` text,
	`r2_key` text,
	`upload_id` text,
	`parts` text DEFAULT '[]' NOT NULL,
	`cursor` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`lease_until` integer DEFAULT 0 NOT NULL,
	`schedule_id` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `exports_tenant` ON `exports` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `exports_state` ON `exports` (`state`,`lease_until`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`target_kind` text NOT NULL,
	`target_id` text NOT NULL,
	`frequency` text NOT NULL,
	`hour` integer NOT NULL,
	`minute` integer DEFAULT 0 NOT NULL,
	`weekday` integer,
	`month_day` integer,
	`timezone` text NOT NULL,
	`format` text NOT NULL,
	`destinations` text NOT NULL,
	`enabled` integer DEFAULT 1 NOT NULL,
	`next_run_at` integer NOT NULL,
	`last_run_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `schedules_tenant` ON `schedules` (`tenant_id`);--> statement-breakpoint
CREATE INDEX `schedules_due` ON `schedules` (`enabled`,`next_run_at`);--> statement-breakpoint
CREATE TABLE `webhook_secrets` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`secret` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `webhook_secrets_tenant` ON `webhook_secrets` (`tenant_id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `export_days` integer DEFAULT 7 NOT NULL;