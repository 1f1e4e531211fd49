import type { RawRow, RollupConfig, RollupRow } from "./build";
import { BUILTIN_DIMS, RAW_COLUMNS } from "./build";

/**
 * NOTE: D1 allows 100 bound parameters and 100 KB per statement. Rollup rows carry base64
 * sketches of up to ~22 KB, so rows travel as one JSON array parameter expanded by json_each,
 * in chunks kept under 90 KB of text.
 */
// Each row is converted to JSONB once (MATERIALIZED): `->>` on JSON text would re-parse the
// row, sketches included, for every column (the same 2.5x as the events flush, hub/flush.ts).
const INSERT_ROLLUPS_SQL = `WITH r AS MATERIALIZED (SELECT jsonb(value) AS j FROM json_each(?2))
INSERT OR REPLACE INTO rollups (tenant_id, level, dim, bucket, event, value, count, users, metrics)
SELECT ?1, j ->> 0, j ->> 1, j ->> 2, j ->> 3, j ->> 4, j ->> 5, j ->> 6, j ->> 7 FROM r`;
const CHUNK_CHARS = 90_000;

/** Insert statements for rollup rows, chunked under D1's statement size limit. */
export function insertRollups(db: D1Database, tenantId: string, rows: RollupRow[]): D1PreparedStatement[] {
	const out: D1PreparedStatement[] = [];
	let parts: string[] = [];
	let size = 2;
	for (const r of rows) {
		const text = JSON.stringify([r.level, r.dim, r.bucket, r.event, r.value, r.count, r.users, r.metrics]);
		if (parts.length > 0 && size + text.length + 1 > CHUNK_CHARS) {
			out.push(db.prepare(INSERT_ROLLUPS_SQL).bind(tenantId, `[${parts.join(",")}]`));
			parts = [];
			size = 2;
		}
		parts.push(text);
		size += text.length + 1;
	}
	if (parts.length > 0) out.push(db.prepare(INSERT_ROLLUPS_SQL).bind(tenantId, `[${parts.join(",")}]`));
	return out;
}

/** The `dim` values a config produces at hour/day level ('' = per-event totals). */
export function dimsOf(config: RollupConfig): string[] {
	return ["", ...BUILTIN_DIMS, ...config.dimension_props.map((p) => `prop:${p}`)];
}

/** `?3, ?4, …` placeholders for an IN list starting at parameter `first`. */
export const placeholders = (n: number, first: number) => Array.from({ length: n }, (_, i) => `?${first + i}`).join(", ");

const PAGE = 20_000;

/**
 * Streams the raw events of [from, to) for one tenant in pages ordered by (timestamp, rowid):
 * keyset paging on the (tenant_id, timestamp) index, so every page is an index range scan.
 * `withProps` = false skips shipping the properties JSON when no property is rolled up.
 */
export async function* rawPages(
	db: D1Database,
	tenantId: string,
	from: number,
	to: number,
	withProps: boolean,
	/** More conditions, with parameters numbered from ?5. */
	extra: { sql: string; params: unknown[] } = { sql: "", params: [] },
): AsyncGenerator<RawRow[]> {
	const cols = RAW_COLUMNS.map((c) => (c === "properties" && !withProps ? "'{}'" : c)).join(", ");
	const sql = `SELECT ${cols}, rowid FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3
		AND (timestamp > ?2 OR rowid > ?4)${extra.sql} ORDER BY timestamp, rowid LIMIT ${PAGE}`;
	let ts = from;
	let rowid = -1;
	for (;;) {
		const rows = await db
			.prepare(sql)
			.bind(tenantId, ts, to, rowid, ...extra.params)
			.raw<[...RawRow, number]>();
		
		if (rows.length === 0) return;
		yield rows as unknown as RawRow[];
		if (rows.length < PAGE) return;
		const last = rows[rows.length - 1]!;
		ts = last[3];
		rowid = last[9];
	}
}
