import type { Env } from "../env";
import { nextStart, offsetMinutes, startOf } from "../query/time";
import { archiveExpired } from "./archive";
import { DayBuilder, HOUR_MS, HourBuilder, hourStartOf, MINUTE_MS, propsOf, type RollupConfig, RowMerger, type RollupRow } from "./build";
import { backfillPairs, pairStatements, resetPairs } from "./pairs";
import { dimsOf, insertRollups, placeholders, rawPages } from "./store";
import { advanceCursor, releaseCursor, takeCursor } from "./cursor";

/** How long minute buckets are kept; hour and day buckets are kept for ever. */
export const MINUTE_RETENTION_MS = 7 * 24 * HOUR_MS;
/** Events (by rowid) turned into dirty-hour marks per statement. */
const SCAN_CHUNK = 250_000;
/** Keys looked up per statement when merging (JSON text, under D1's statement size limit). */
const KEY_CHUNK_CHARS = 90_000;

export interface TenantLayout {
	tenantId: string;
	dayTz: string;
	alignMinutes: number;
	config: RollupConfig;
	archivedBefore: number;
	retentionDays: number;
}

export interface RollupReport {
	trigger: string;
	started_at: string;
	duration_ms: number;
	/** Another run holds the lease; this one did nothing. */
	busy: boolean;
	scanned_events: number;
	hours: number;
	/** Of `hours`: those that merged new events into their stored buckets (the rest were built whole). */
	hours_merged: number;
	days: number;
	/** Of `days`: those that only late events changed, updated by merging them in (the rest recomputed from their hours). */
	days_merged: number;
	weeks: number;
	raw_rows_read: number;
	buckets_written: number;
	rebuilt_tenants: string[];
	archived_events: number;
	/** Hours touched by events older than the archive boundary: left as they were (see recomputeHours). */
	late_beyond_retention: number;
	pending_hours: number;
	pending_days: number;
	pending_events: number;
	/** Nothing left to do: every event up to the watermark is in its buckets. */
	caught_up: boolean;
	watermark: number;
	/** Where the time went (ms): the clock moves at I/O, so CPU work lands in the next step. */
	timings: { layouts: number; scan: number; hours: number; read: number; write: number; days: number; archive: number };
	errors: string[];
}

/** The minute of the UTC hour at which the zone's clock hours start: 0, 30 (Kolkata) or 15 (Kathmandu, +05:45). */
export const alignmentOf = (tz: string, at: number) => (((-offsetMinutes(tz, at) % 60) + 60) % 60);

/**
 * One bounded rollup pass (the cron's job, also `POST /v1/admin/rollups/run`):
 * 1. lease, so two passes never interleave; 2. tenant layouts (time zone / config changes);
 * 3. scan new events in ingest order (rowid) into dirty hours, moving the watermark in the same
 * transaction; 4. recompute dirty hours whole from raw events; 5. recompute dirty days from
 * their hours; 6. drop expired minute buckets and archive expired raw events to R2.
 * Each step commits as it goes, so a pass cut short continues where it stopped next time.
 */
export async function runRollups(env: Env, opts: { trigger: string; budgetMs?: number; now?: () => number }): Promise<RollupReport> {
	const clock = opts.now ?? Date.now;
	const t0 = clock();
	const deadline = t0 + (opts.budgetMs ?? 20_000);
	const db = env.DB;
	const owner = crypto.randomUUID();
	const report: RollupReport = {
		trigger: opts.trigger,
		started_at: new Date(t0).toISOString(),
		duration_ms: 0,
		busy: false,
		scanned_events: 0,
		hours: 0,
		hours_merged: 0,
		days_merged: 0,
		days: 0,
		weeks: 0,
		raw_rows_read: 0,
		buckets_written: 0,
		rebuilt_tenants: [],
		archived_events: 0,
		late_beyond_retention: 0,
		pending_hours: 0,
		pending_days: 0,
		pending_events: 0,
		caught_up: false,
		watermark: 0,
		timings: { layouts: 0, scan: 0, hours: 0, read: 0, write: 0, days: 0, archive: 0 },
		errors: [],
	};
	const taken = await takeCursor(db, "events", owner, t0);
	if (taken == null) {
		report.busy = true;
		report.duration_ms = clock() - t0;
		return report;
	}
	let watermark = taken;
	try {
		const tm = report.timings;
		let mark = clock();
		const lap = () => {
			const t = clock();
			const d = t - mark;
			mark = t;
			return d;
		};
		const layouts = await syncLayouts(db, clock(), report, watermark);
		tm.layouts += lap();
		watermark = await scan(db, watermark, owner, deadline, clock, report);
		tm.scan += lap();
		const deltas = await DayDeltas.start(db);
		// Each step makes progress at least once per pass, however small the budget.
		while ((await recomputeHours(db, layouts, watermark, report, deltas)) > 0 && clock() < deadline);
		tm.hours += lap();
		while ((await recomputeMerged(db, layouts, report, "day", deltas)) > 0 && clock() < deadline);
		while ((await recomputeMerged(db, layouts, report, "week")) > 0 && clock() < deadline);
		tm.days += lap();
		if (clock() < deadline) await backfillAllPairs(db, deadline, clock);
		if (clock() < deadline) await dropOldMinutes(db, layouts, clock());
		if (clock() < deadline) report.archived_events = await archiveExpired(env, layouts, { now: clock(), deadline, watermark });
		tm.archive += lap();
	} catch (err) {
		report.errors.push(err instanceof Error ? err.message : String(err));
	} finally {
		await releaseCursor(db, "events", owner);
	}
	const [pending, maxRow] = await db.batch([
		db.prepare("SELECT level, count(*) AS n FROM rollup_dirty GROUP BY level"),
		db.prepare("SELECT coalesce(max(rowid), 0) AS m FROM events"),
	]);
	for (const r of pending!.results as { level: string; n: number }[]) {
		if (r.level === "hour") report.pending_hours = r.n;
		else report.pending_days += r.n; // days and weeks
	}
	const max = (maxRow!.results[0] as { m: number }).m;
	report.watermark = watermark;
	report.pending_events = Math.max(0, max - watermark);
	report.caught_up = report.pending_hours === 0 && report.pending_days === 0 && report.pending_events === 0 && report.errors.length === 0;
	report.duration_ms = clock() - t0;
	await db.batch([
		db.prepare("INSERT INTO cron_runs (trigger, started_at, duration_ms, report) VALUES (?1, ?2, ?3, ?4)").bind(opts.trigger, t0, report.duration_ms, JSON.stringify(report)),
		db.prepare("DELETE FROM cron_runs WHERE id <= (SELECT max(id) - 1000 FROM cron_runs)"),
	]);
	return report;
}

interface TenantRow {
	id: string;
	timezone: string;
	retention_days: number;
	dimension_props: string;
	metric_props: string;
	unique_props: string;
	pairs: string;
	pairs_config: string | null;
	day_tz: string | null;
	align_minutes: number | null;
	config: string | null;
	archived_before: number | null;
}

/**
 * Makes sure each tenant has a rollup layout matching its settings. A new tenant, or a change of
 * rolled-up properties or of hour alignment, recomputes every hour still in raw storage; a change
 * of time zone with the same alignment recomputes the days from the hours.
 */
async function syncLayouts(db: D1Database, now: number, report: RollupReport, watermark: number): Promise<Map<string, TenantLayout>> {
	const { results } = await db
		.prepare(
			`SELECT t.id, t.timezone, t.retention_days, t.dimension_props, t.metric_props, t.unique_props, t.pairs, s.pairs_config, s.day_tz, s.align_minutes, s.config, s.archived_before
			FROM tenants t LEFT JOIN rollup_tenants s ON s.tenant_id = t.id`,
		)
		.all<TenantRow>();
	const layouts = new Map<string, TenantLayout>();
	for (const t of results) {
		const unique = JSON.parse(t.unique_props) as string[];
		// unique_props only when set: a layout's config text is compared to decide on a rebuild, and
		// the layouts written before the setting existed have no such key.
		const config: RollupConfig = {
			dimension_props: JSON.parse(t.dimension_props) as string[],
			metric_props: JSON.parse(t.metric_props) as string[],
			...(unique.length ? { unique_props: unique } : {}),
		};
		const configText = JSON.stringify(config);
		const align = alignmentOf(t.timezone, now);
		const layout: TenantLayout = { tenantId: t.id, dayTz: t.timezone, alignMinutes: align, config, archivedBefore: t.archived_before ?? 0, retentionDays: t.retention_days };
		layouts.set(t.id, layout);
		const fresh = t.config == null;
		const rebuildHours = fresh || t.config !== configText || t.align_minutes !== align;
		const rebuildDays = !rebuildHours && t.day_tz !== t.timezone;
		// Pairs changed (or a new tenant has some): rebuild its pair events from the raw events.
		const pairsChanged = (t.pairs_config ?? "[]") !== t.pairs;
		if (!rebuildHours && !rebuildDays) {
			if (pairsChanged) await db.batch(resetPairs(db, t.id, t.pairs, watermark));
			continue;
		}
		report.rebuilt_tenants.push(t.id);
		const stmts: D1PreparedStatement[] = [
			db
				.prepare(
					`INSERT INTO rollup_tenants (tenant_id, day_tz, align_minutes, config, archived_before, updated_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)
					ON CONFLICT(tenant_id) DO UPDATE SET day_tz = excluded.day_tz, align_minutes = excluded.align_minutes, config = excluded.config, updated_at = excluded.updated_at`,
				)
				.bind(t.id, t.timezone, align, configText, now),
		];
		if (rebuildHours) {
			// Buckets older than the archive boundary have no raw events left: they are kept as they are.
			const keepBefore = t.archived_before ?? 0;
			// NOTE: an integer literal, not a parameter: D1 may bind JS numbers as REAL, and
			// REAL arithmetic would turn the integer division below into a fraction.
			const shift = Math.trunc(align) * MINUTE_MS;
			stmts.push(
				db.prepare("DELETE FROM rollups WHERE tenant_id = ?1 AND level IN ('minute', 'hour', 'day', 'week') AND bucket >= ?2").bind(t.id, keepBefore),
				db.prepare("DELETE FROM rollup_dirty WHERE tenant_id = ?1").bind(t.id),
				db.prepare("DELETE FROM rollup_hours WHERE tenant_id = ?1 AND bucket >= ?2").bind(t.id, keepBefore),
				db
					.prepare(
						`INSERT OR IGNORE INTO rollup_dirty (tenant_id, level, bucket, marked_at)
						SELECT ?1, 'hour', ((timestamp - ${shift}) / ${HOUR_MS}) * ${HOUR_MS} + ${shift}, ?2 FROM events WHERE tenant_id = ?1 AND timestamp >= ?3 GROUP BY 3`,
					)
					.bind(t.id, now, keepBefore),
			);
		} else {
			const { results: hours } = await db
				.prepare("SELECT DISTINCT bucket FROM rollups WHERE tenant_id = ?1 AND level = 'hour' AND dim = ''")
				.bind(t.id)
				.all<{ bucket: number }>();
			const days = [...new Set(hours.map((h) => startOf("day", h.bucket, t.timezone)))];
			stmts.push(db.prepare("DELETE FROM rollups WHERE tenant_id = ?1 AND level IN ('day', 'week')").bind(t.id));
			for (let i = 0; i < days.length; i += 500)
				stmts.push(
					db
						.prepare("INSERT OR IGNORE INTO rollup_dirty (tenant_id, level, bucket, marked_at) SELECT ?1, 'day', value, ?2 FROM json_each(?3)")
						.bind(t.id, now, JSON.stringify(days.slice(i, i + 500))),
				);
		}
		if (pairsChanged) stmts.push(...resetPairs(db, t.id, t.pairs, watermark));
		await db.batch(stmts);
	}
	return layouts;
}

/** Pairs backfills after a change of a tenant's pairs: a chunk at a time, while the budget lasts. */
async function backfillAllPairs(db: D1Database, deadline: number, clock: () => number): Promise<void> {
	const { results } = await db
		.prepare("SELECT tenant_id, pairs_backfill_from AS f, pairs_backfill_to AS t FROM rollup_tenants WHERE pairs_backfill_from < pairs_backfill_to")
		.all<{ tenant_id: string; f: number; t: number }>();
	for (const r of results) {
		let at = r.f;
		do at = await backfillPairs(db, r.tenant_id, at, r.t);
		while (at < r.t && clock() < deadline);
		if (clock() >= deadline) return;
	}
}

/**
 * Marks the hours touched by events past the watermark as dirty, in ingest (rowid) order, and
 * moves the watermark in the same transaction: a crash leaves both as they were.
 * NOTE: rowid order is ingest order only while the highest rowid is never deleted (SQLite would
 * reuse it); the archiver never deletes the row holding max(rowid).
 */
async function scan(db: D1Database, watermark: number, owner: string, deadline: number, clock: () => number, report: RollupReport): Promise<number> {
	const top = (await db.prepare("SELECT coalesce(max(rowid), 0) AS m FROM events").first<{ m: number }>())!.m;
	// Three more statements per chunk, only when some tenant has pairs.
	const withPairs = (await db.prepare("SELECT 1 AS y FROM tenants WHERE pairs != '[]' LIMIT 1").first()) != null;
	let w = watermark;
	while (w < top && (w === watermark || clock() < deadline)) {
		const hi = Math.min(w + SCAN_CHUNK, top);
		const now = clock();
		await db.batch([
			db
				.prepare(
					`INSERT OR IGNORE INTO rollup_dirty (tenant_id, level, bucket, marked_at)
					SELECT e.tenant_id, 'hour', ((e.timestamp - coalesce(s.align_minutes, 0) * ${MINUTE_MS}) / ${HOUR_MS}) * ${HOUR_MS} + coalesce(s.align_minutes, 0) * ${MINUTE_MS}, ?3
					FROM events e LEFT JOIN rollup_tenants s ON s.tenant_id = e.tenant_id
					WHERE e.rowid > ?1 AND e.rowid <= ?2 GROUP BY 1, 3`,
				)
				.bind(w, hi, now),
			// The pairs' starts and ends among these events, and the spans they touch (rollup/pairs.ts).
			...(withPairs ? pairStatements(db, w, hi, null) : []),
			advanceCursor(db, "events", owner, hi, now),
		]);
		w = hi;
	}
	report.scanned_events = w - watermark;
	return w;
}

/** Marks one day or week bucket as waiting for the day step (a no-op when it already is). */
function markDirty(db: D1Database, tenantId: string, level: "day" | "week", bucket: number): D1PreparedStatement {
	return db.prepare("INSERT OR IGNORE INTO rollup_dirty (tenant_id, level, bucket, marked_at) VALUES (?1, ?2, ?3, ?4)").bind(tenantId, level, bucket, Date.now());
}

/**
 * What this pass's merged hours added to each local day, so a day that only late events touched
 * merges those rows into its stored day rows instead of being recomputed from its 24 hours (which
 * reads every hour row of the day back: most of a late-events pass's day work).
 * Only safe when the stored day rows are the union of its hours before the additions: so a day
 * already dirty when the pass started (an earlier pass changed hours without updating it), or with
 * an hour built whole in this pass, is recomputed whole. The deltas live in memory: if the pass ends
 * before the day step, the day stays dirty and the next pass, finding it dirty, recomputes it whole.
 */
class DayDeltas {
	/** Day key → merged additions, or null when the day must be recomputed whole. */
	private readonly days = new Map<string, RowMerger | null>();

	private constructor(private readonly dirtyAtStart: Set<string>) {}

	static async start(db: D1Database): Promise<DayDeltas> {
		const { results } = await db.prepare("SELECT tenant_id, bucket FROM rollup_dirty WHERE level = 'day'").all<{ tenant_id: string; bucket: number }>();
		return new DayDeltas(new Set(results.map((r) => DayDeltas.key(r.tenant_id, r.bucket))));
	}

	private static key(tenantId: string, day: number): string {
		return `${tenantId}\u0001${day}`;
	}

	/** After an hour's batch committed: `built` are the hour's new rows (merged) or all its rows (whole). */
	hourCommitted(tenantId: string, day: number, whole: boolean, built: RollupRow[]): void {
		const k = DayDeltas.key(tenantId, day);
		if (whole || this.dirtyAtStart.has(k)) {
			this.days.set(k, null);
			return;
		}
		let m = this.days.get(k);
		if (m === null) return;
		if (!m) this.days.set(k, (m = new RowMerger()));
		for (const r of built) if (r.level === "hour") m.add("day", r.dim, day, r.event, r.value, r.count, r.users, r.metrics);
	}

	/** The day-level rows to merge into a dirty day, or null to recompute it whole; each day's are handed out once. */
	take(tenantId: string, day: number): RollupRow[] | null {
		const k = DayDeltas.key(tenantId, day);
		const m = this.days.get(k);
		this.days.delete(k);
		return m ? m.finish() : null;
	}
}

/**
 * Brings up to 8 dirty hours up to date with the events scanned so far (rowid ≤ watermark);
 * returns how many it did. An hour never computed (no rollup_hours mark) is built whole from its
 * raw events. An hour with a mark reads only its events past the mark (late and out-of-order
 * arrivals, or the current hour's newest minute) and merges them into the stored minute and hour
 * buckets; the buckets, the new mark and the day's dirty mark commit in one transaction, so a
 * pass cut short or run twice never counts an event twice. Merging gives the same counts and
 * sketches as a whole recompute (unions of HyperLogLog registers and DDSketch bins are exact);
 * float sums may differ in the last bit.
 */
async function recomputeHours(db: D1Database, layouts: Map<string, TenantLayout>, watermark: number, report: RollupReport, deltas: DayDeltas): Promise<number> {
	const { results } = await db
		.prepare(
			`SELECT d.tenant_id, d.bucket, h.rowid_mark FROM rollup_dirty d LEFT JOIN rollup_hours h ON h.tenant_id = d.tenant_id AND h.bucket = d.bucket
			WHERE d.level = 'hour' ORDER BY d.tenant_id, d.bucket LIMIT 8`,
		)
		.all<{ tenant_id: string; bucket: number; rowid_mark: number | null }>();
	for (const d of results) {
		const layout = layouts.get(d.tenant_id);
		const done = db.prepare("DELETE FROM rollup_dirty WHERE tenant_id = ?1 AND level = 'hour' AND bucket = ?2").bind(d.tenant_id, d.bucket);
		// Events of a deleted tenant, or an hour whose alignment no longer matches, have nothing to build.
		if (!layout || hourStartOf(d.bucket, layout.alignMinutes) !== d.bucket) {
			await done.run();
			continue;
		}
		// An hour before the archive boundary has lost its raw events: recomputing it whole from the
		// few late arrivals would erase it. With a mark, the late events merge in like any others;
		// without one (built before marks existed), its buckets stay and the late events only go to R2.
		if (d.bucket < layout.archivedBefore && d.rowid_mark == null) {
			report.late_beyond_retention++;
			await done.run();
			continue;
		}
		const whole = d.rowid_mark == null;
		const since = d.rowid_mark ?? 0;
		const markStmt = db
			.prepare("INSERT INTO rollup_hours (tenant_id, bucket, rowid_mark) VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET rowid_mark = excluded.rowid_mark")
			.bind(d.tenant_id, d.bucket, watermark);
		if (since >= watermark) {
			await done.run();
			continue;
		}
		const builder = new HourBuilder(d.bucket, layout.config, d.bucket + HOUR_MS > Date.now() - MINUTE_RETENTION_MS);
		const t0 = Date.now();
		// Bounded by the watermark: every rowid up to it exists already, so nothing can appear below the new mark later.
		const range = { sql: " AND rowid > ?5 AND rowid <= ?6", params: [since, watermark] };
		for await (const page of rawPages(db, d.tenant_id, d.bucket, d.bucket + HOUR_MS, propsOf(layout.config), range)) {
			for (const row of page) builder.add(row);
			report.raw_rows_read += page.length;
		}
		const built = builder.finish();
		const t1 = Date.now();
		report.timings.read += t1 - t0;
		const dayStart = startOf("day", d.bucket, layout.dayTz);
		const day = markDirty(db, d.tenant_id, "day", dayStart);
		let stmts: D1PreparedStatement[];
		let rows = built;
		if (whole) {
			const dims = dimsOf(layout.config);
			stmts = [
				db.prepare("DELETE FROM rollups WHERE tenant_id = ?1 AND level = 'minute' AND dim = '' AND bucket >= ?2 AND bucket < ?3").bind(d.tenant_id, d.bucket, d.bucket + HOUR_MS),
				db.prepare(`DELETE FROM rollups WHERE tenant_id = ?1 AND level = 'hour' AND dim IN (${placeholders(dims.length, 3)}) AND bucket = ?2`).bind(d.tenant_id, d.bucket, ...dims),
				...insertRollups(db, d.tenant_id, rows),
				day,
			];
		} else if (built.length === 0) {
			stmts = []; // Nothing new in this hour up to the watermark (its events were merged by an earlier pass).
		} else {
			rows = await mergeStored(db, d.tenant_id, built);
			stmts = [...insertRollups(db, d.tenant_id, rows), day];
			report.hours_merged++;
		}
		await db.batch([...stmts, markStmt, done]);
		if (stmts.length) deltas.hourCommitted(d.tenant_id, dayStart, whole, built);
		report.timings.write += Date.now() - t1;
		report.hours++;
		report.buckets_written += rows.length;
	}
	return results.length;
}

/** Folds freshly built rows into the stored rows with the same keys; returns the merged rows to write back. */
async function mergeStored(db: D1Database, tenantId: string, built: RollupRow[]): Promise<RollupRow[]> {
	const merger = new RowMerger();
	const keys: string[] = [];
	for (const r of built) {
		merger.add(r.level, r.dim, r.bucket, r.event, r.value, r.count, r.users, r.metrics);
		keys.push(JSON.stringify([r.level, r.dim, r.bucket, r.event, r.value]));
	}
	const reads: D1PreparedStatement[] = [];
	for (let i = 0, size = 0, first = 0; i <= keys.length; i++) {
		if (i === keys.length || (size > 0 && size + keys[i]!.length > KEY_CHUNK_CHARS)) {
			if (i > first)
				reads.push(
					db
						.prepare(
							`SELECT level, dim, bucket, event, value, count, users, metrics FROM rollups WHERE tenant_id = ?1
							AND (level, dim, bucket, event, value) IN (SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?2))`,
						)
						.bind(tenantId, `[${keys.slice(first, i).join(",")}]`),
				);
			first = i;
			size = 0;
		}
		if (i < keys.length) size += keys[i]!.length + 1;
	}
	for (const res of await db.batch<RollupRow>(reads))
		for (const r of res.results) merger.add(r.level, r.dim, r.bucket, r.event, r.value, r.count, r.users, r.metrics);
	return merger.finish();
}

/**
 * Recomputes up to 8 dirty local days from their hour buckets (or ISO weeks from their days);
 * a recomputed day marks its week dirty. Returns how many it did.
 */
async function recomputeMerged(db: D1Database, layouts: Map<string, TenantLayout>, report: RollupReport, level: "day" | "week", deltas?: DayDeltas): Promise<number> {
	const finer = level === "day" ? "hour" : "day";
	const { results } = await db
		.prepare("SELECT tenant_id, bucket FROM rollup_dirty WHERE level = ?1 ORDER BY tenant_id, bucket LIMIT 8")
		.bind(level)
		.all<{ tenant_id: string; bucket: number }>();
	for (const d of results) {
		const layout = layouts.get(d.tenant_id);
		const done = db.prepare("DELETE FROM rollup_dirty WHERE tenant_id = ?1 AND level = ?3 AND bucket = ?2").bind(d.tenant_id, d.bucket, level);
		if (!layout) {
			await done.run();
			continue;
		}
		const weekMark = () => markDirty(db, d.tenant_id, "week", startOf("week", d.bucket, layout.dayTz));
		const added = deltas?.take(d.tenant_id, d.bucket);
		if (added) {
			// Only late events changed this day since it was last whole: fold them into its stored rows.
			const rows = await mergeStored(db, d.tenant_id, added);
			await db.batch([...insertRollups(db, d.tenant_id, rows), weekMark(), done]);
			report.days++;
			report.days_merged++;
			report.buckets_written += rows.length;
			continue;
		}
		const dims = dimsOf(layout.config);
		const end = nextStart(level, d.bucket, layout.dayTz);
		const parts = await db
			.prepare(
				`SELECT dim, event, value, count, users, metrics FROM rollups
				WHERE tenant_id = ?1 AND level = ?4 AND dim IN (${placeholders(dims.length, 5)}) AND bucket >= ?2 AND bucket < ?3`,
			)
			.bind(d.tenant_id, d.bucket, end, finer, ...dims)
			.raw<[string, string, string, number, string, string]>();
		const builder = new DayBuilder(d.bucket, level);
		for (const h of parts) builder.add(h[0], h[1], h[2], h[3], h[4], h[5]);
		const rows = builder.finish();
		await db.batch([
			db.prepare(`DELETE FROM rollups WHERE tenant_id = ?1 AND level = ?3 AND dim IN (${placeholders(dims.length, 4)}) AND bucket = ?2`).bind(d.tenant_id, d.bucket, level, ...dims),
			...insertRollups(db, d.tenant_id, rows),
			...(level === "day" ? [weekMark()] : []),
			done,
		]);
		if (level === "day") report.days++;
		else report.weeks++;
		report.buckets_written += rows.length;
	}
	return results.length;
}

/** Minute buckets older than MINUTE_RETENTION_MS go; hours and days stay (and their marks, for late events). */
async function dropOldMinutes(db: D1Database, layouts: Map<string, TenantLayout>, now: number): Promise<void> {
	const stmts = [...layouts.keys()].map((id) =>
		db
			.prepare("DELETE FROM rollups WHERE rowid IN (SELECT rowid FROM rollups WHERE tenant_id = ?1 AND level = 'minute' AND dim = '' AND bucket < ?2 LIMIT 20000)")
			.bind(id, now - MINUTE_RETENTION_MS),
	);
	if (stmts.length) await db.batch(stmts);
}
