import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Tenants: one per customer workspace. Times are epoch milliseconds. */
export const tenants = sqliteTable("tenants", {
	id: text("id").primaryKey(),
	name: text("name").notNull(),
	timezone: text("timezone").notNull().default("UTC"),
	retentionDays: integer("retention_days").notNull().default(90),
	/** Accepted events per second before ingest answers 429 (token bucket, 1 s burst). */
	rateLimitEps: integer("rate_limit_eps").notNull().default(100_000),
	/** String properties rolled up as dimensions (`prop:<name>` breakdowns from rollups), at most 5. */
	dimensionProps: text("dimension_props", { mode: "json" }).$type<string[]>().notNull().default([]),
	/** Numeric properties rolled up with count/sum/min/max and a quantile sketch, at most 10. */
	metricProps: text("metric_props", { mode: "json" }).$type<string[]>().notNull().default([]),
	/** Properties whose distinct values are counted from rollups (`uniques:prop:<name>`, an HLL per bucket), at most 5. */
	uniqueProps: text("unique_props", { mode: "json" }).$type<string[]>().notNull().default([]),
	/**
	 * Paired events whose durations are kept per key (`pair_spans`), at most 5:
	 * [{ name, key, start, end, end_where? }] (see workers/query/pairs.ts).
	 */
	pairs: text("pairs", { mode: "json" }).$type<import("../query/pairs").PairDef[]>().notNull().default([]),
	/** Days an export's file stays in R2 (and its download links work) before it is deleted. */
	exportDays: integer("export_days").notNull().default(7),
	createdAt: integer("created_at").notNull(),
});

export const KEY_SCOPES = ["ingest", "read", "admin"] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

/** API keys: only a SHA-256 hash is stored; `prefix` is the visible start of the key. */
export const apiKeys = sqliteTable(
	"api_keys",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id")
			.notNull()
			.references(() => tenants.id),
		name: text("name").notNull().default(""),
		hash: text("hash").notNull(),
		prefix: text("prefix").notNull(),
		scope: text("scope", { enum: KEY_SCOPES }).notNull(),
		/** JSON array of allowed browser origins; null = any origin. */
		allowedOrigins: text("allowed_origins", { mode: "json" }).$type<string[] | null>(),
		createdAt: integer("created_at").notNull(),
		lastUsedAt: integer("last_used_at"),
		revokedAt: integer("revoked_at"),
	},
	(t) => [uniqueIndex("api_keys_hash").on(t.hash), index("api_keys_tenant").on(t.tenantId)],
);

/**
 * Raw events, the hot window. Keyed by (tenant_id, message_id) so re-delivery is idempotent.
 * Indexes are few on purpose: each costs every insert (dashboards read rollups, not this table).
 * NOTE: the implicit rowid grows with insertion order; rollups use it as the ingest watermark.
 */
export const events = sqliteTable(
	"events",
	{
		tenantId: text("tenant_id").notNull(),
		messageId: text("message_id").notNull(),
		type: text("type").notNull(),
		event: text("event").notNull(),
		userId: text("user_id"),
		anonymousId: text("anonymous_id"),
		groupId: text("group_id"),
		previousId: text("previous_id"),
		timestamp: integer("timestamp").notNull(),
		sentAt: integer("sent_at"),
		receivedAt: integer("received_at").notNull(),
		properties: text("properties").notNull().default("{}"),
		traits: text("traits"),
		context: text("context"),
		/** A Segment batch's shared context (shared_contexts.id): the effective context is it overlaid with `context`. */
		contextId: text("context_id"),
		country: text("country"),
		region: text("region"),
		city: text("city"),
		colo: text("colo"),
		browser: text("browser"),
		os: text("os"),
		device: text("device"),
		isBot: integer("is_bot").notNull().default(0),
	},
	(t) => [
		primaryKey({ columns: [t.tenantId, t.messageId] }),
		index("events_tenant_time").on(t.tenantId, t.timestamp),
		// Arrival order: the live window's rebuild reads by it (rollups use rowid, which needs no index).
		index("events_tenant_received").on(t.tenantId, t.receivedAt),
	],
);

/**
 * A Segment batch's batch-level `context`, stored once (per tenant and content hash) instead of
 * copied into each of its events: a 100 KB context on a batch of thousands of messages would
 * otherwise be stored thousands of times.
 */
export const sharedContexts = sqliteTable(
	"shared_contexts",
	{
		tenantId: text("tenant_id").notNull(),
		/** The first 128 bits of the SHA-256 of `body`, in hex. */
		id: text("id").notNull(),
		/** The context as JSON text. */
		body: text("body").notNull(),
		createdAt: integer("created_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.id] })],
);

/** Events (or whole bodies) that were refused, with the reason, so nothing is silently lost. */
export const rejectedEvents = sqliteTable(
	"rejected_events",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		tenantId: text("tenant_id").notNull(),
		receivedAt: integer("received_at").notNull(),
		code: text("code").notNull(),
		message: text("message").notNull(),
		/** JSON: { index, path, issues } */
		details: text("details").notNull().default("{}"),
		/** The offending payload, truncated to 8 KB. */
		payload: text("payload").notNull(),
	},
	(t) => [index("rejected_tenant_time").on(t.tenantId, t.receivedAt)],
);


/**
 * How far each hub (Durable Object) has flushed its buffer, written in the same D1 transaction
 * as the events. After a crash between the D1 commit and the hub's own bookkeeping, the hub
 * reads this and skips what already landed, so accounting stays exact.
 */
export const hubFlushes = sqliteTable("hub_flushes", {
	hubId: text("hub_id").primaryKey(),
	tenantId: text("tenant_id").notNull(),
	maxSeq: integer("max_seq").notNull(),
	flushedAt: integer("flushed_at").notNull(),
});

export const ROLLUP_LEVELS = ["minute", "hour", "day", "week"] as const;
export type RollupLevel = (typeof ROLLUP_LEVELS)[number];

/**
 * Rollup buckets. One row per tenant × level × bucket × event × (dimension, value).
 * `dim` is '' for the per-event totals, else 'country' | 'device' | 'browser' | 'os' | 'prop:<name>';
 * minute rows carry totals only (a minute × dimension row would be about one row per event).
 * `value` is '' for totals and for a missing dimension value.
 * `users` is a base64 HyperLogLog; `metrics` a JSON object { prop: base64 NumStats }.
 * Minute and hour buckets start on UTC minutes/hours shifted by the tenant's `align_minutes`
 * (30 for Asia/Kolkata), day buckets on local midnights of `day_tz` (see rollup_tenants), and
 * week buckets (merged days, so long ranges read fewer rows) on local Mondays.
 */
export const rollups = sqliteTable(
	"rollups",
	{
		tenantId: text("tenant_id").notNull(),
		level: text("level", { enum: ROLLUP_LEVELS }).notNull(),
		dim: text("dim").notNull(),
		bucket: integer("bucket").notNull(),
		event: text("event").notNull(),
		value: text("value").notNull(),
		count: integer("count").notNull(),
		users: text("users").notNull(),
		metrics: text("metrics").notNull().default("{}"),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.level, t.dim, t.bucket, t.event, t.value] })],
);

/**
 * Buckets whose raw events changed since they were computed: hours found by the ingest-order
 * scan, days found when their hours were recomputed. Hours merge their new events (rollup_hours),
 * days and weeks are recomputed whole from their hours and days; a re-run is harmless either way.
 */
export const rollupDirty = sqliteTable(
	"rollup_dirty",
	{
		tenantId: text("tenant_id").notNull(),
		level: text("level", { enum: ["hour", "day", "week"] }).notNull(),
		bucket: integer("bucket").notNull(),
		markedAt: integer("marked_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.level, t.bucket] })],
);

/**
 * Per tenant-hour: every event of the hour with `rowid <= rowid_mark` is in its minute and hour
 * buckets. A dirty hour with a mark reads only its events past the mark and merges them into the
 * stored buckets (count, sums, min/max, sketches are all mergeable) in the same transaction that
 * moves the mark, so a re-run finds nothing new; an hour without a mark is computed whole.
 */
export const rollupHours = sqliteTable(
	"rollup_hours",
	{
		tenantId: text("tenant_id").notNull(),
		bucket: integer("bucket").notNull(),
		rowidMark: integer("rowid_mark").notNull(),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.bucket] })],
);

/**
 * The ingest-order watermark (events.rowid already scanned into rollup_dirty) and the lease
 * that keeps two rollup runs (cron and a manual run) from interleaving. One row, id 'events'.
 */
export const rollupCursor = sqliteTable("rollup_cursor", {
	id: text("id").primaryKey(),
	watermark: integer("watermark").notNull().default(0),
	leaseOwner: text("lease_owner"),
	leaseUntil: integer("lease_until").notNull().default(0),
	updatedAt: integer("updated_at").notNull().default(0),
});

/** Per tenant: how its buckets are laid out, so a change of time zone or config can be detected. */
export const rollupTenants = sqliteTable("rollup_tenants", {
	tenantId: text("tenant_id").primaryKey(),
	/** The time zone whose local midnights start day buckets. */
	dayTz: text("day_tz").notNull(),
	/** Minute of the UTC hour at which the tenant's clock hours start (0; 30 for +05:30; 15 for +05:45). */
	alignMinutes: integer("align_minutes").notNull(),
	/** JSON { dimension_props, metric_props } the buckets were computed with. */
	config: text("config").notNull(),
	/** Raw events before this instant are archived to R2 and deleted from D1 (rollups stay). */
	archivedBefore: integer("archived_before").notNull().default(0),
	/** tenants.pairs as pair_events were last built for: a change rebuilds them from the raw events. */
	pairsConfig: text("pairs_config").notNull().default("[]"),
	/** Raw events (by rowid) still to copy into pair_events after a change of pairs: (from, to]. */
	pairsBackfillFrom: integer("pairs_backfill_from").notNull().default(0),
	pairsBackfillTo: integer("pairs_backfill_to").notNull().default(0),
	updatedAt: integer("updated_at").notNull(),
});

/**
 * The start and end events of each configured pair (tenants.pairs), one small row per event, copied by
 * the rollup pass as it scans new events: a key's span can then be recomputed from an index lookup,
 * whatever order its events arrived in. `dims` (start events only) holds the start's dimensions.
 */
export const pairEvents = sqliteTable(
	"pair_events",
	{
		tenantId: text("tenant_id").notNull(),
		pair: text("pair").notNull(),
		key: text("key").notNull(),
		/** 's' start, 'e' end. */
		kind: text("kind").notNull(),
		ts: integer("ts").notNull(),
		/** events.rowid of the event (distinguishes events of the same key and time). */
		ref: integer("ref").notNull(),
		dims: text("dims"),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.pair, t.key, t.kind, t.ts, t.ref] })],
);

/**
 * One row per (tenant, pair, key): the first start, its dimensions, and the first and last end at or
 * after it. Duration and "open" questions read these rows, one per conversation, not the raw events.
 */
export const pairSpans = sqliteTable(
	"pair_spans",
	{
		tenantId: text("tenant_id").notNull(),
		pair: text("pair").notNull(),
		key: text("key").notNull(),
		startTs: integer("start_ts"),
		/** JSON: the start event's name and dimensions {event, country, device, browser, os, props: {…}}. */
		dims: text("dims"),
		firstEndTs: integer("first_end_ts"),
		lastEndTs: integer("last_end_ts"),
	},
	// The start index carries the ends too: counts and durations without dimensions read the index alone.
	(t) => [primaryKey({ columns: [t.tenantId, t.pair, t.key] }), index("pair_spans_start_ends").on(t.tenantId, t.pair, t.startTs, t.firstEndTs, t.lastEndTs)],
);

export const CHART_TYPES = ["line", "bar", "table", "number", "heatmap", "funnel"] as const;
export type ChartType = (typeof CHART_TYPES)[number];
/** What a saved report's query is the body of: POST /v1/query, /v1/funnels, /v1/retention, /v1/experiments, /v1/insights. */
export const REPORT_KINDS = ["query", "funnel", "retention", "experiment", "insights"] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

/** Saved reports: a named query of a tenant and how to draw it. */
export const reports = sqliteTable(
	"reports",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		name: text("name").notNull(),
		description: text("description").notNull().default(""),
		/** Which endpoint's body `query` is (rows saved before kinds existed are queries). */
		kind: text("kind", { enum: REPORT_KINDS }).notNull().default("query"),
		/** JSON: the body of the kind's endpoint (POST /v1/query for "query"), validated when saved. */
		query: text("query").notNull(),
		chart: text("chart", { enum: CHART_TYPES }).notNull(),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [index("reports_tenant").on(t.tenantId, t.updatedAt)],
);

/** Custom dashboards: an ordered layout of a tenant's reports. */
export const boards = sqliteTable(
	"boards",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		name: text("name").notNull(),
		description: text("description").notNull().default(""),
		/** JSON: [{ report_id, width }] in display order. */
		layout: text("layout").notNull().default("[]"),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [index("boards_tenant").on(t.tenantId, t.updatedAt)],
);

/** Read-only links to one board: signed, expiring, revocable. Only the link's id is in the token; the signature proves it. */
export const shareLinks = sqliteTable(
	"share_links",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		boardId: text("board_id").notNull(),
		createdAt: integer("created_at").notNull(),
		expiresAt: integer("expires_at").notNull(),
		revokedAt: integer("revoked_at"),
	},
	(t) => [index("share_links_board").on(t.tenantId, t.boardId)],
);

/** One row per scheduled run: what it did and how long it took (GET /v1/system/status). */
export const cronRuns = sqliteTable(
	"cron_runs",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		trigger: text("trigger").notNull(),
		startedAt: integer("started_at").notNull(),
		durationMs: integer("duration_ms").notNull(),
		/** JSON report: events scanned, buckets written, archived rows, errors. */
		report: text("report").notNull(),
	},
	(t) => [index("cron_runs_started").on(t.startedAt)],
);

export const EXPORT_FORMATS = ["csv", "ndjson", "parquet", "xlsx", "pdf"] as const;
export const EXPORT_STATES = ["queued", "running", "done", "failed"] as const;

/**
 * Exports to R2: a query's answer, a saved report or board, or raw events, in a file format. Written
 * in bounded chunks by background work (see workers/exports), resumable: `cursor` says where the next
 * chunk starts, `upload_id` and `parts` the R2 multipart upload so far.
 */
export const exportsTable = sqliteTable(
	"exports",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		/** 'query' | 'report' | 'board' | 'events' */
		kind: text("kind").notNull(),
		format: text("format", { enum: EXPORT_FORMATS }).notNull(),
		gzip: integer("gzip").notNull().default(0),
		/** JSON: what to export (the query, the report or board id, or the events' range and filters). */
		request: text("request").notNull(),
		state: text("state", { enum: EXPORT_STATES }).notNull().default("queued"),
		rows: integer("rows").notNull().default(0),
		bytes: integer("bytes").notNull().default(0),
		/** 0..1 */
		progress: real("progress").notNull().default(0),
		/** Rows the export should hold when done (checked before it is marked done), when known. */
		expectedRows: integer("expected_rows"),
		error: text("error"),
		r2Key: text("r2_key"),
		uploadId: text("upload_id"),
		/** JSON: [{ partNumber, etag }] of the multipart upload. */
		parts: text("parts").notNull().default("[]"),
		/** JSON: where the next chunk starts (format-specific), null before the first. */
		cursor: text("cursor"),
		attempts: integer("attempts").notNull().default(0),
		/** Background work holds an export until this instant (so two runs never write it at once). */
		leaseUntil: integer("lease_until").notNull().default(0),
		/** The schedule that made it, for scheduled reports. */
		scheduleId: text("schedule_id"),
		createdAt: integer("created_at").notNull(),
		startedAt: integer("started_at"),
		finishedAt: integer("finished_at"),
		/** The file is deleted from R2 after this (tenant setting, default 7 days). */
		expiresAt: integer("expires_at").notNull(),
	},
	(t) => [index("exports_tenant").on(t.tenantId, t.createdAt), index("exports_state").on(t.state, t.leaseUntil)],
);

/** Scheduled reports: a saved report or board delivered as a file on a calendar, in a time zone. */
export const schedules = sqliteTable(
	"schedules",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		name: text("name").notNull().default(""),
		/** 'report' | 'board' */
		targetKind: text("target_kind").notNull(),
		targetId: text("target_id").notNull(),
		/** 'daily' | 'weekly' | 'monthly' */
		frequency: text("frequency").notNull(),
		hour: integer("hour").notNull(),
		minute: integer("minute").notNull().default(0),
		/** ISO weekday 1-7 (weekly). */
		weekday: integer("weekday"),
		/** Day of the month 1-31 (monthly; the last day when shorter). */
		monthDay: integer("month_day"),
		timezone: text("timezone").notNull(),
		format: text("format", { enum: EXPORT_FORMATS }).notNull(),
		/** JSON: [{ type: 'email', to: [...] } | { type: 'slack', url } | { type: 'webhook', url }] */
		destinations: text("destinations").notNull(),
		enabled: integer("enabled").notNull().default(1),
		nextRunAt: integer("next_run_at").notNull(),
		lastRunAt: integer("last_run_at"),
		/** The API's origin (scheme://host) the schedule was saved through: the cron knows no host, and its links need one. */
		origin: text("origin"),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [index("schedules_tenant").on(t.tenantId), index("schedules_due").on(t.enabled, t.nextRunAt)],
);

/** Alert rules: a metric over a window, a threshold or an anomaly condition, and where to tell. */
export const alerts = sqliteTable(
	"alerts",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		name: text("name").notNull(),
		/** JSON: the metric (as a query's metrics, one visible) with its filters. */
		query: text("query").notNull(),
		windowMinutes: integer("window_minutes").notNull(),
		/** JSON: { type: 'threshold', op: 'above'|'below', value, clear? } | { type: 'anomaly', z, direction, min_history_weeks? } */
		condition: text("condition").notNull(),
		/** Least minutes between two notifications of this rule. */
		minIntervalMinutes: integer("min_interval_minutes").notNull().default(60),
		destinations: text("destinations").notNull(),
		/** 'ok' | 'firing' */
		state: text("state").notNull().default("ok"),
		lastValue: real("last_value"),
		lastEvaluatedAt: integer("last_evaluated_at"),
		lastFiredAt: integer("last_fired_at"),
		lastResolvedAt: integer("last_resolved_at"),
		/** The API's origin the rule was saved through, for links in its notifications. */
		origin: text("origin"),
		enabled: integer("enabled").notNull().default(1),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [index("alerts_tenant").on(t.tenantId), index("alerts_due").on(t.enabled, t.lastEvaluatedAt)],
);

/** What happened to an alert: fired, resolved, test; with the value and the baseline. */
export const alertEvents = sqliteTable(
	"alert_events",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		tenantId: text("tenant_id").notNull(),
		alertId: text("alert_id").notNull(),
		/** 'fired' | 'resolved' | 'test' */
		kind: text("kind").notNull(),
		value: real("value"),
		/** JSON: the condition's numbers (threshold, baseline, z-score …). */
		details: text("details").notNull().default("{}"),
		at: integer("at").notNull(),
	},
	(t) => [index("alert_events_alert").on(t.tenantId, t.alertId, t.at)],
);

/** Every notification and file delivery attempted, with its outcome; failed ones are retried with backoff. */
export const deliveries = sqliteTable(
	"deliveries",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		/** 'schedule' | 'alert' */
		sourceKind: text("source_kind").notNull(),
		sourceId: text("source_id").notNull(),
		/** 'email' | 'slack' | 'webhook' */
		channel: text("channel").notNull(),
		/** The address or URL. */
		target: text("target").notNull(),
		/** JSON: what is sent (kept for retries). */
		payload: text("payload").notNull(),
		/** 'pending' | 'sent' | 'failed' */
		status: text("status").notNull().default("pending"),
		attempts: integer("attempts").notNull().default(0),
		nextAttemptAt: integer("next_attempt_at").notNull(),
		responseStatus: integer("response_status"),
		error: text("error"),
		exportId: text("export_id"),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [index("deliveries_tenant").on(t.tenantId, t.createdAt), index("deliveries_due").on(t.status, t.nextAttemptAt)],
);

/**
 * Webhook signing secrets of a tenant (Standard Webhooks, `whsec_…`): two may be valid at once while one
 * is rotated out. Stored encrypted with the deployment's key, since they must be read to sign.
 */
export const webhookSecrets = sqliteTable(
	"webhook_secrets",
	{
		id: text("id").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		/** AES-GCM ciphertext of the secret, base64. */
		secret: text("secret").notNull(),
		createdAt: integer("created_at").notNull(),
		/** A rotated-out secret still signs until this instant. */
		expiresAt: integer("expires_at"),
	},
	(t) => [index("webhook_secrets_tenant").on(t.tenantId)],
);

/*
 * People: per-person structures kept by the people pass (workers/people/pass.ts), which scans new
 * events by rowid like the rollup pass (its watermark is the rollup_cursor row 'people'). They let
 * funnels, retention, lifecycle and person views read one person's events, or one row per person
 * and day, instead of a month of raw events. What each holds and why: docs/architecture.md, People.
 * NOTE: the composite-key tables are WITHOUT ROWID (added by hand to migration 0010, drizzle cannot
 * say it): their key is their only index, which halves their size and their cost per insert.
 */

/** A tenant's event names as small integers; `bit` numbers them within the tenant (people_days.bits). */
export const peopleNames = sqliteTable(
	"people_names",
	{
		code: integer("code").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		name: text("name").notNull(),
		/** 0, 1, 2 … in order of first appearance: the name's bit in people_days (word bit / 52, bit % 52). */
		bit: integer("bit").notNull(),
	},
	(t) => [uniqueIndex("people_names_name").on(t.tenantId, t.name)],
);

/**
 * Every identifier of a tenant (user_id, anonymous_id, an alias's previous_id) and its person.
 * `linked`: the identifier has been merged into another's person once (an anonymous id into the
 * first user it was seen with); later links from it are ignored (the first link wins).
 */
export const peopleIds = sqliteTable(
	"people_ids",
	{
		tenantId: text("tenant_id").notNull(),
		id: text("id").notNull(),
		pid: integer("pid").notNull(),
		linked: integer("linked").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.id] }), index("people_ids_pid").on(t.pid)],
);

/** One row per person: `person` is the id shown (the user id once identified), first_seen the first event's time. */
export const people = sqliteTable(
	"people",
	{
		pid: integer("pid").primaryKey(),
		tenantId: text("tenant_id").notNull(),
		person: text("person").notNull(),
		firstSeen: integer("first_seen").notNull(),
	},
	(t) => [index("people_first_seen").on(t.tenantId, t.firstSeen)],
);

/**
 * Each event once more, slim, under its person: (tenant, UTC week, person, event code, time,
 * events.rowid). The week leads the key so the pass appends to the current week instead of writing
 * all over a month's tree; a person's events of a week are one index range. Kept while the raw
 * events are (rollup_tenants.archived_before).
 */
export const peopleEvents = sqliteTable(
	"people_events",
	{
		tenantId: text("tenant_id").notNull(),
		wk: integer("wk").notNull(),
		pid: integer("pid").notNull(),
		code: integer("code").notNull(),
		ts: integer("ts").notNull(),
		ref: integer("ref").notNull(),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.wk, t.pid, t.code, t.ts, t.ref] })],
);

/**
 * One row per person and local day (the tenant's time zone, `people_tenants.tz`) they were active:
 * the event names they sent that day as bits (word = bit / 52). Retention and lifecycle read these.
 */
export const peopleDays = sqliteTable(
	"people_days",
	{
		tenantId: text("tenant_id").notNull(),
		/** Local days since 1970-01-01. */
		day: integer("day").notNull(),
		pid: integer("pid").notNull(),
		word: integer("word").notNull(),
		bits: integer("bits").notNull(),
	},
	(t) => [primaryKey({ columns: [t.tenantId, t.day, t.pid, t.word] })],
);

/** When each person first sent each event name (cohorts by first occurrence). */
export const peopleFirsts = sqliteTable(
	"people_firsts",
	{
		code: integer("code").notNull(),
		pid: integer("pid").notNull(),
		firstTs: integer("first_ts").notNull(),
	},
	(t) => [primaryKey({ columns: [t.code, t.pid] }), index("people_firsts_ts").on(t.code, t.firstTs)],
);

/** Per tenant: the time zone its people_days were built in (a change rebuilds them from people_events). */
export const peopleTenants = sqliteTable("people_tenants", {
	tenantId: text("tenant_id").primaryKey(),
	tz: text("tz").notNull(),
	/** After a change of time zone: people_events weeks (wk) still to turn into people_days, [from, to). */
	rebuildFrom: integer("rebuild_from").notNull().default(0),
	rebuildTo: integer("rebuild_to").notNull().default(0),
	updatedAt: integer("updated_at").notNull(),
});
