-- NOTE: WITHOUT ROWID added by hand (drizzle cannot express it): the key is the table's only index.
CREATE TABLE `people` (
	`pid` integer PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`person` text NOT NULL,
	`first_seen` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `people_first_seen` ON `people` (`tenant_id`,`first_seen`);--> statement-breakpoint
CREATE TABLE `people_days` (
	`tenant_id` text NOT NULL,
	`day` integer NOT NULL,
	`pid` integer NOT NULL,
	`word` integer NOT NULL,
	`bits` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `day`, `pid`, `word`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `people_events` (
	`tenant_id` text NOT NULL,
	`wk` integer NOT NULL,
	`pid` integer NOT NULL,
	`code` integer NOT NULL,
	`ts` integer NOT NULL,
	`ref` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `wk`, `pid`, `code`, `ts`, `ref`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `people_firsts` (
	`code` integer NOT NULL,
	`pid` integer NOT NULL,
	`first_ts` integer NOT NULL,
	PRIMARY KEY(`code`, `pid`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `people_firsts_ts` ON `people_firsts` (`code`,`first_ts`);--> statement-breakpoint
CREATE TABLE `people_ids` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`pid` integer NOT NULL,
	`linked` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `people_ids_pid` ON `people_ids` (`pid`);--> statement-breakpoint
CREATE TABLE `people_names` (
	`code` integer PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`bit` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `people_names_name` ON `people_names` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `people_tenants` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`tz` text NOT NULL,
	`rebuild_from` integer DEFAULT 0 NOT NULL,
	`rebuild_to` integer DEFAULT 0 NOT NULL,
	`updated_at` integer NOT NULL
);
