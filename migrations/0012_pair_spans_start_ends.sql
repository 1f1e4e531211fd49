DROP INDEX `pair_spans_start`;--> statement-breakpoint
CREATE INDEX `pair_spans_start_ends` ON `pair_spans` (`tenant_id`,`pair`,`start_ts`,`first_end_ts`,`last_end_ts`);