import type { Env } from "../env";
import type { TenantLayout } from "./run";

export const DAY_MS = 86_400_000;
const PART_ROWS = 20_000;
const JSON_COLUMNS = new Set(["properties", "traits", "context"]);

/** The R2 key of one archive part: a UTC day per folder, parts named by their rowid range. */
export const archiveKey = (tenantId: string, dayStart: number, first: number, last: number) =>
	`archive/${tenantId}/events/${new Date(dayStart).toISOString().slice(0, 10)}/${String(first).padStart(12, "0")}-${String(last).padStart(12, "0")}.ndjson.gz`;

/**
 * Moves raw events older than each tenant's retention window to R2 (gzipped NDJSON, one folder
 * per UTC day, parts of 20,000 events), then deletes them from D1. Rollups are kept.
 * A day is archived only once its hours are rolled up (no dirty hour before its end, every
 * row under the watermark), and one day later than retention strictly needs, so an event
 * still in a hub's buffer can never land in a day already archived.
 * Idempotent: a part's key is fixed by its rows, so a crash between put and delete rewrites
 * the same object next time.
 */
export async function archiveExpired(env: Env, layouts: Map<string, TenantLayout>, opts: { now: number; deadline: number; watermark: number }): Promise<number> {
	const db = env.DB;
	let archived = 0;
	for (const layout of layouts.values()) {
		const cutoff = Math.floor((opts.now - (layout.retentionDays + 1) * DAY_MS) / DAY_MS) * DAY_MS;
		while (Date.now() < opts.deadline) {
			const oldest = await db.prepare("SELECT min(timestamp) AS t FROM events WHERE tenant_id = ?1").bind(layout.tenantId).first<{ t: number | null }>();
			if (oldest?.t == null || oldest.t >= cutoff) break;
			const dayStart = Math.floor(oldest.t / DAY_MS) * DAY_MS;
			const dayEnd = Math.min(dayStart + DAY_MS, cutoff);
			const [dirty, newest] = await db.batch([
				db.prepare("SELECT count(*) AS n FROM rollup_dirty WHERE tenant_id = ?1 AND level = 'hour' AND bucket < ?2").bind(layout.tenantId, dayEnd),
				db.prepare("SELECT coalesce(max(rowid), 0) AS m FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3").bind(layout.tenantId, dayStart, dayEnd),
			]);
			if ((dirty!.results[0] as { n: number }).n > 0 || (newest!.results[0] as { m: number }).m > opts.watermark) break;
			// NOTE: the row holding max(rowid) is never deleted, so SQLite never reuses a rowid
			// and rowid order stays ingest order for the rollup watermark.
			// A Segment batch's shared context is stored once; each archived event carries its effective context.
			const { results } = await db
				.prepare(
					`SELECT e.rowid AS _rowid, e.*, c.body AS _shared FROM events e LEFT JOIN shared_contexts c ON c.tenant_id = e.tenant_id AND c.id = e.context_id
					WHERE e.tenant_id = ?1 AND e.timestamp >= ?2 AND e.timestamp < ?3
					AND e.rowid < (SELECT max(rowid) FROM events) ORDER BY e.rowid LIMIT ${PART_ROWS}`,
				)
				.bind(layout.tenantId, dayStart, dayEnd)
				.all<Record<string, unknown>>();
			if (results.length === 0) break;
			const lines = results.map((r) => {
				const o: Record<string, unknown> = {};
				for (const [k, v] of Object.entries(r)) {
					if (k === "_rowid" || k === "tenant_id" || k === "_shared" || k === "context_id") continue;
					o[k] = JSON_COLUMNS.has(k) && typeof v === "string" ? safeParse(v) : v;
				}
				if (typeof r._shared === "string") o.context = effectiveContext(r._shared, o.context);
				return JSON.stringify(o);
			});
			const first = results[0]!._rowid as number;
			const last = results[results.length - 1]!._rowid as number;
			const body = await new Response(new Blob([`${lines.join("\n")}\n`]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer();
			await env.ARCHIVE.put(archiveKey(layout.tenantId, dayStart, first, last), body, {
				httpMetadata: { contentType: "application/x-ndjson", contentEncoding: "gzip" },
				customMetadata: { tenant_id: layout.tenantId, events: String(results.length) },
			});
			const ids = JSON.stringify(results.map((r) => r._rowid));
			const [, left] = await db.batch([
				db.prepare("DELETE FROM events WHERE tenant_id = ?1 AND rowid IN (SELECT value FROM json_each(?2))").bind(layout.tenantId, ids),
				db.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3").bind(layout.tenantId, dayStart, dayEnd),
			]);
			archived += results.length;
			const remaining = (left!.results[0] as { n: number }).n;
			if (remaining === 0 || (remaining === 1 && results.length < PART_ROWS)) {
				await db
					.prepare("UPDATE rollup_tenants SET archived_before = max(archived_before, ?2) WHERE tenant_id = ?1")
					.bind(layout.tenantId, dayEnd)
					.run();
				layout.archivedBefore = Math.max(layout.archivedBefore, dayEnd);
			}
			if (remaining > 0 && results.length < PART_ROWS) break;
		}
	}
	return archived;
}

/** A shared context overlaid with an event's own keys (what the event was sent with). */
export function effectiveContext(shared: string, own: unknown): unknown {
	const base = safeParse(shared);
	if (!base || typeof base !== "object" || Array.isArray(base)) return own;
	return own && typeof own === "object" && !Array.isArray(own) ? { ...base, ...own } : base;
}

function safeParse(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}
