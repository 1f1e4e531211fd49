CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`hash` text NOT NULL,
	`prefix` text NOT NULL,
	`scope` text NOT NULL,
	`allowed_origins` text,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash` ON `api_keys` (`hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `events` (
	`tenant_id` text NOT NULL,
	`message_id` text NOT NULL,
	`type` text NOT NULL,
	`event` text NOT NULL,
	`user_id` text,
	`anonymous_id` text,
	`group_id` text,
	`previous_id` text,
	`timestamp` integer NOT NULL,
	`sent_at` integer,
	`received_at` integer NOT NULL,
	`properties` text DEFAULT '{}' NOT NULL,
	`traits` text,
	`context` text,
	`country` text,
	`region` text,
	`city` text,
	`colo` text,
	`browser` text,
	`os` text,
	`device` text,
	`is_bot` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `message_id`)
);
--> statement-breakpoint
CREATE INDEX `events_tenant_time` ON `events` (`tenant_id`,`timestamp`);--> statement-breakpoint
CREATE INDEX `events_tenant_event_time` ON `events` (`tenant_id`,`event`,`timestamp`);--> statement-breakpoint
CREATE TABLE `hub_flushes` (
	`hub_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`max_seq` integer NOT NULL,
	`flushed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rejected_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`received_at` integer NOT NULL,
	`code` text NOT NULL,
	`message` text NOT NULL,
	`details` text DEFAULT '{}' NOT NULL,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rejected_tenant_time` ON `rejected_events` (`tenant_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`timezone` text DEFAULT 'UTC' NOT NULL,
	`retention_days` integer DEFAULT 90 NOT NULL,
	`rate_limit_eps` integer DEFAULT 100000 NOT NULL,
	`created_at` integer NOT NULL
);
