/**
 * Paired events, kept by the rollup pass (see workers/query/pairs.ts for the definitions and
 * workers/query/pairs-exec.ts for the queries).
 *
 * As the pass scans new events by rowid, the starts and ends of each tenant's pairs are copied to
 * pair_events (one small row per event, the start's dimensions with it), in the same D1 batch that
 * moves the watermark. Then the spans of every key those events touched are recomputed from
 * pair_events, an index lookup per key: the first start, and the first and last end at or after
 * it. Events may arrive in any order (an end before its start, a late start): the recompute reads
 * all of a key's events each time, so the span is always what all of them say.
 */

/** SQL for the key of a pair in an event's properties: the property named by the pair's `key`. */
const KEY = `CAST(json_extract(e.properties, '$."' || (p.value ->> '$.key') || '"') AS TEXT)`;
/** The end event's conditions (`end_where`) all hold: the property equals the value, or one of a list's. */
const END_WHERE = `NOT EXISTS (SELECT 1 FROM json_each(p.value -> '$.end_where') w WHERE NOT (
	CASE WHEN w.type = 'array'
		THEN EXISTS (SELECT 1 FROM json_each(w.value) v WHERE v.value IS json_extract(e.properties, '$."' || w.key || '"'))
		ELSE json_extract(e.properties, '$."' || w.key || '"') IS w.value END))`;

/**
 * Statements that copy the pair events among events with rowid in (?1, ?2] (of tenant ?3, or of all
 * tenants when ?3 is null) and recompute the spans of the keys they touch. Run them in the batch
 * that records the progress, so a pass cut short redoes exactly this chunk.
 */
export function pairStatements(db: D1Database, lo: number, hi: number, tenantId: string | null): D1PreparedStatement[] {
	const source = `FROM events e JOIN tenants t ON t.id = e.tenant_id JOIN json_each(t.pairs) p
		WHERE e.rowid > ?1 AND e.rowid <= ?2 AND (?3 IS NULL OR e.tenant_id = ?3) AND t.pairs != '[]'`;
	return [
		db
			.prepare(
				`INSERT OR IGNORE INTO pair_events (tenant_id, pair, key, kind, ts, ref, dims)
				SELECT e.tenant_id, p.value ->> '$.name', ${KEY}, 's', e.timestamp, e.rowid,
					json_object('event', e.event, 'country', e.country, 'device', e.device, 'browser', e.browser, 'os', e.os, 'props', json(e.properties))
				${source} AND e.event = p.value ->> '$.start' AND ${KEY} IS NOT NULL`,
			)
			.bind(lo, hi, tenantId),
		db
			.prepare(
				`INSERT OR IGNORE INTO pair_events (tenant_id, pair, key, kind, ts, ref, dims)
				SELECT e.tenant_id, p.value ->> '$.name', ${KEY}, 'e', e.timestamp, e.rowid, NULL
				${source} AND e.event = p.value ->> '$.end' AND ${KEY} IS NOT NULL AND ${END_WHERE}`,
			)
			.bind(lo, hi, tenantId),
		db
			.prepare(
				`WITH touched AS (SELECT DISTINCT e.tenant_id AS tenant_id, p.value ->> '$.name' AS pair, ${KEY} AS key
					${source} AND (e.event = p.value ->> '$.start' OR e.event = p.value ->> '$.end') AND ${KEY} IS NOT NULL),
				spans AS (SELECT k.tenant_id, k.pair, k.key,
					(SELECT min(ts) FROM pair_events s WHERE s.tenant_id = k.tenant_id AND s.pair = k.pair AND s.key = k.key AND s.kind = 's') AS start_ts
					FROM touched k)
				INSERT OR REPLACE INTO pair_spans (tenant_id, pair, key, start_ts, dims, first_end_ts, last_end_ts)
				SELECT k.tenant_id, k.pair, k.key, k.start_ts,
					(SELECT dims FROM pair_events s WHERE s.tenant_id = k.tenant_id AND s.pair = k.pair AND s.key = k.key AND s.kind = 's' AND s.ts = k.start_ts ORDER BY s.ref LIMIT 1),
					(SELECT min(ts) FROM pair_events x WHERE x.tenant_id = k.tenant_id AND x.pair = k.pair AND x.key = k.key AND x.kind = 'e' AND x.ts >= k.start_ts),
					(SELECT max(ts) FROM pair_events x WHERE x.tenant_id = k.tenant_id AND x.pair = k.pair AND x.key = k.key AND x.kind = 'e' AND x.ts >= k.start_ts)
				FROM spans k`,
			)
			.bind(lo, hi, tenantId),
	];
}

/** Rowids per backfill statement: like the scan's chunks, bounded work per pass. */
export const BACKFILL_CHUNK = 100_000;

/**
 * After a tenant's pairs changed: its pair events and spans are dropped, and the raw events up to the
 * watermark are copied again, a chunk per pass (events past the watermark come through the scan).
 * Returns the statements for the change itself.
 */
export function resetPairs(db: D1Database, tenantId: string, pairs: string, watermark: number): D1PreparedStatement[] {
	return [
		db.prepare("DELETE FROM pair_events WHERE tenant_id = ?1").bind(tenantId),
		db.prepare("DELETE FROM pair_spans WHERE tenant_id = ?1").bind(tenantId),
		db.prepare("UPDATE rollup_tenants SET pairs_config = ?2, pairs_backfill_from = 0, pairs_backfill_to = ?3 WHERE tenant_id = ?1").bind(tenantId, pairs, pairs === "[]" ? 0 : watermark),
	];
}

/** One chunk of a tenant's pairs backfill, with its progress, in one batch. Returns the rowid reached. */
export async function backfillPairs(db: D1Database, tenantId: string, from: number, to: number): Promise<number> {
	const hi = Math.min(to, from + BACKFILL_CHUNK);
	await db.batch([...pairStatements(db, from, hi, tenantId), db.prepare("UPDATE rollup_tenants SET pairs_backfill_from = ?2 WHERE tenant_id = ?1").bind(tenantId, hi)]);
	return hi;
}
