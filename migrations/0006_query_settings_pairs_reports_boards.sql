CREATE TABLE `boards` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`layout` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `boards_tenant` ON `boards` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `pair_events` (
	`tenant_id` text NOT NULL,
	`pair` text NOT NULL,
	`key` text NOT NULL,
	`kind` text NOT NULL,
	`ts` integer NOT NULL,
	`ref` integer NOT NULL,
	`dims` text,
	PRIMARY KEY(`tenant_id`, `pair`, `key`, `kind`, `ts`, `ref`)
);
--> statement-breakpoint
CREATE TABLE `pair_spans` (
	`tenant_id` text NOT NULL,
	`pair` text NOT NULL,
	`key` text NOT NULL,
	`start_ts` integer,
	`dims` text,
	`first_end_ts` integer,
	`last_end_ts` integer,
	PRIMARY KEY(`tenant_id`, `pair`, `key`)
);
--> statement-breakpoint
CREATE INDEX `pair_spans_start` ON `pair_spans` (`tenant_id`,`pair`,`start_ts`);--> statement-breakpoint
CREATE TABLE `reports` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`query` text NOT NULL,
	`chart` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `reports_tenant` ON `reports` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `share_links` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`board_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `share_links_board` ON `share_links` (`tenant_id`,`board_id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `unique_props` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `tenants` ADD `pairs` text DEFAULT '[]' NOT NULL;