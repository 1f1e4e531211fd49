import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Tenants: one per customer workspace. Times are epoch milliseconds. */
export const tenants = sqliteTable("tenants", {
	id: text("id").primaryKey(),
	name: text("name").notNull(),
	timezone: text("timezone").notNull().default("UTC"),
	retentionDays: integer("retention_days").notNull().default(90),
	/** Accepted events per second before ingest answers 429 (token bucket, 1 s burst). */
	rateLimitEps: integer("rate_limit_eps").notNull().default(100_000),
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
		// Arrival order: the live window's rebuild and the rollups' watermark read by it.
		index("events_tenant_received").on(t.tenantId, t.receivedAt),
	],
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
