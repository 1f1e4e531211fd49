CREATE TABLE `rollup_hours` (
	`tenant_id` text NOT NULL,
	`bucket` integer NOT NULL,
	`rowid_mark` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `bucket`)
);
