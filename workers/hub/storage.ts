/** The hub's own SQLite schema (Durable Object storage), created idempotently on start. */
export const HUB_SCHEMA = `
CREATE TABLE IF NOT EXISTS buffer (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL CHECK (kind IN ('events', 'rejected')),
	n INTEGER NOT NULL,
	body TEXT NOT NULL,
	contexts TEXT
);
CREATE TABLE IF NOT EXISTS seen (message_id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (at);
CREATE TABLE IF NOT EXISTS stats (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	tenant_id TEXT,
	received INTEGER NOT NULL DEFAULT 0,
	accepted INTEGER NOT NULL DEFAULT 0,
	rejected INTEGER NOT NULL DEFAULT 0,
	duplicates INTEGER NOT NULL DEFAULT 0,
	buffered INTEGER NOT NULL DEFAULT 0,
	flushed INTEGER NOT NULL DEFAULT 0,
	last_ingest_at INTEGER,
	last_flush_at INTEGER,
	last_flush_error TEXT,
	storage_refused INTEGER NOT NULL DEFAULT 0,
	last_storage_refusal TEXT
);
INSERT OR IGNORE INTO stats (id) VALUES (1);
`;

/** Columns added after the first release: hubs created before them get them on start. */
const ADDED_COLUMNS: { table: string; column: string; ddl: string }[] = [
	{ table: "buffer", column: "contexts", ddl: "ALTER TABLE buffer ADD COLUMN contexts TEXT" },
	{ table: "stats", column: "storage_refused", ddl: "ALTER TABLE stats ADD COLUMN storage_refused INTEGER NOT NULL DEFAULT 0" },
	{ table: "stats", column: "last_storage_refusal", ddl: "ALTER TABLE stats ADD COLUMN last_storage_refusal TEXT" },
];

/** Creates the hub's tables, and adds the columns a hub from an older release lacks. */
export function migrateHub(sql: SqlStorage): void {
	sql.exec(HUB_SCHEMA);
	for (const { table, column, ddl } of ADDED_COLUMNS) {
		const has = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM pragma_table_info('${table}') WHERE name = ?`, column).one().n;
		if (!has) sql.exec(ddl);
	}
}

/** Ingest counters; received = accepted + rejected + duplicates always holds. */
export interface IngestStats {
	received: number;
	accepted: number;
	rejected: number;
	duplicates: number;
	/** Events and rejections committed here but not yet in D1. */
	buffered: number;
	/** Events written to D1 so far. */
	flushed: number;
	last_ingest_at: string | null;
	last_flush_at: string | null;
	last_flush_error: string | null;
	/** Accepted events that D1 refused to store, moved to rejected_events (code storage_refused). */
	storage_refused: number;
	last_storage_refusal: { at: string; message_id: string | null; error: string } | null;
}

type Row = Record<string, number | string | null>;

export function readStats(sql: SqlStorage): IngestStats {
	const r = sql.exec<Row>("SELECT * FROM stats WHERE id = 1").one();
	const iso = (v: unknown) => (typeof v === "number" ? new Date(v).toISOString() : null);
	return {
		received: Number(r.received),
		accepted: Number(r.accepted),
		rejected: Number(r.rejected),
		duplicates: Number(r.duplicates),
		buffered: Number(r.buffered),
		flushed: Number(r.flushed),
		last_ingest_at: iso(r.last_ingest_at),
		last_flush_at: iso(r.last_flush_at),
		last_flush_error: typeof r.last_flush_error === "string" ? r.last_flush_error : null,
		storage_refused: Number(r.storage_refused ?? 0),
		last_storage_refusal: typeof r.last_storage_refusal === "string" ? (JSON.parse(r.last_storage_refusal) as IngestStats["last_storage_refusal"]) : null,
	};
}
