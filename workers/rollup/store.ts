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

/** Rows per page at most, and the JSON text one page may make (D1 refuses strings over 2 MB). */
const PAGE_MAX_ROWS = 20_000;
const PAGE_FIRST_ROWS = 2_000;
const PAGE_TARGET_CHARS = 1_000_000;

/**
 * The first row of `stmt(limit)`, a page SQLite builds as one string: unusually large rows make a
 * page over D1's string limit, which is read again with half the rows. Returns the limit it was read with.
 */
export async function pageHalving<T>(stmt: (limit: number) => D1PreparedStatement, limit: number): Promise<{ row: T | null; limit: number }> {
	for (;;) {
		try {
			return { row: await stmt(limit).first<T>(), limit };
		} catch (err) {
			if (limit > 1 && /too big|TOOBIG/i.test(String(err))) {
				limit = Math.max(1, limit >> 1);
				continue;
			}
			throw err;
		}
	}
}

/** Rows of the next page: as many as make about PAGE_TARGET_CHARS at this page's characters per row. */
export const nextPageRows = (rows: number, chars: number) => Math.max(100, Math.min(PAGE_MAX_ROWS, Math.floor((PAGE_TARGET_CHARS * rows) / Math.max(1, chars))));

/**
 * Streams the raw events of [from, to) for one tenant in pages ordered by (timestamp, rowid):
 * keyset paging on the (tenant_id, timestamp) index, so every page is an index range scan.
 * Rows are RAW_COLUMNS then the values of `props` (extracted in SQL: the rest of the properties
 * JSON never leaves the database). Each page arrives as one JSON array built by SQLite: shipping
 * one text value instead of ~10 per row halves the cost of a read (about 7 → 4 µs per row in
 * local D1). Page sizes follow the rows' measured size to stay under D1's 2 MB string limit.
 */
export async function* rawPages(
	db: D1Database,
	tenantId: string,
	from: number,
	to: number,
	props: readonly string[],
	/** More conditions, with parameters numbered from ?5. */
	extra: { sql: string; params: unknown[] } = { sql: "", params: [] },
): AsyncGenerator<RawRow[]> {
	const first = 5 + extra.params.length;
	// Property names are bound as JSON paths; a row whose properties are not valid JSON reads as having none.
	const values = props.length
		? `CASE WHEN json_valid(properties) THEN json_array(${props.map((_, i) => `properties -> ?${first + i}`).join(", ")}) ELSE json_array() END`
		: "json_array()";
	const paths = props.map((p) => `$."${p}"`);
	const cols = `${RAW_COLUMNS.join(", ")}${props.length ? ", properties" : ""}`;
	const page = (limit: number) =>
		`SELECT json_group_array(json_array(${RAW_COLUMNS.join(", ")}, ${values}, rid)) AS page FROM (
			SELECT ${cols}, rowid AS rid FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3
			AND (timestamp > ?2 OR rowid > ?4)${extra.sql} ORDER BY timestamp, rowid LIMIT ${limit})`;
	let ts = from;
	let rowid = -1;
	let limit = PAGE_FIRST_ROWS;
	for (;;) {
		const read = await pageHalving<{ page: string }>((n) => db.prepare(page(n)).bind(tenantId, ts, to, rowid, ...extra.params, ...paths), limit);
		limit = read.limit;
		const text = read.row?.page ?? "[]";
		const rows = JSON.parse(text) as [...RawRow, number][];
		if (rows.length === 0) return;
		yield rows as unknown as RawRow[];
		if (rows.length < limit) return;
		// The page's last row in (timestamp, rowid) order is the cursor (found, not assumed from array order).
		for (const r of rows) {
			if (r[3] > ts || (r[3] === ts && r[9] > rowid)) {
				ts = r[3];
				rowid = r[9];
			}
		}
		limit = nextPageRows(rows.length, text.length);
	}
}
