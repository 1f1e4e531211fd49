import { HOUR_MS, RAW_COLUMNS, type RawRow } from "../rollup/build";
import type { DateRange } from "./time";
import { nextStart, startOf } from "./time";

/**
 * Rollups plus what they do not hold yet, read as of one instant.
 *
 * A rollup pass scans new events (by rowid) up to a watermark W, marking their hours dirty; it then
 * rebuilds dirty hours (an hour's buckets hold its events up to the hour's rowid mark), then dirty
 * days from their hours, then weeks from their days. Each of those steps commits in one D1
 * transaction, so at any instant:
 * - an hour that is not dirty holds all its events with rowid <= W; a dirty one those <= its mark;
 * - a day that is not dirty equals the union of its hours; a dirty day is stale;
 * - a week that is not dirty equals the union of its days as stored (stale if one of them is dirty).
 * An exact answer is then: week rows of clean weeks without dirty days, day rows of the other clean
 * days, hour rows of dirty days, and, read raw, the events past W and the events of dirty hours past
 * their marks. This module reads that state and the raw part; execute.ts reads the rows.
 */
export interface RollupState {
	/** events.rowid up to which new events have been scanned into dirty hours. */
	watermark: number;
	/** The highest events.rowid at that instant: raw reads stop there, so they read that instant. */
	maxRowid: number;
	/** Dirty hour buckets overlapping the range, with their rowid marks (null: never built). */
	hours: [number, number | null][];
	/** Dirty day and week buckets near the range. */
	days: number[];
	weeks: number[];
}

/** The state of a tenant's rollups for a range, as one statement (run it in the batch that reads the rows). */
export function stateStatement(db: D1Database, tenantId: string, range: DateRange): D1PreparedStatement {
	return db
		.prepare(
			`SELECT (SELECT coalesce(max(watermark), 0) FROM rollup_cursor WHERE id = 'events') AS w,
			(SELECT coalesce(max(rowid), 0) FROM events) AS r,
			(SELECT json_group_array(json_array(d.bucket, h.rowid_mark)) FROM rollup_dirty d LEFT JOIN rollup_hours h ON h.tenant_id = d.tenant_id AND h.bucket = d.bucket
				WHERE d.tenant_id = ?1 AND d.level = 'hour' AND d.bucket > ?2 - ${HOUR_MS} AND d.bucket < ?3) AS hours,
			(SELECT json_group_array(bucket) FROM rollup_dirty WHERE tenant_id = ?1 AND level = 'day' AND bucket > ?2 - ${2 * 86_400_000} AND bucket < ?3) AS days,
			(SELECT json_group_array(bucket) FROM rollup_dirty WHERE tenant_id = ?1 AND level = 'week' AND bucket > ?2 - ${8 * 86_400_000} AND bucket < ?3) AS weeks`,
		)
		.bind(tenantId, range.from, range.to);
}

export function parseState(row: Record<string, unknown> | undefined): RollupState {
	const list = <T>(v: unknown) => (typeof v === "string" ? (JSON.parse(v) as T[]) : []);
	return {
		watermark: Number(row?.w ?? 0),
		maxRowid: Number(row?.r ?? 0),
		hours: list<[number, number | null]>(row?.hours).sort((a, b) => a[0] - b[0]),
		days: list<number>(row?.days).sort((a, b) => a - b),
		weeks: list<number>(row?.weeks).sort((a, b) => a - b),
	};
}

/** Whether two states would read the same rollup rows (the raw part is read with the state's bounds). */
export const sameRows = (a: RollupState, b: RollupState) => JSON.stringify([a.days, a.weeks]) === JSON.stringify([b.days, b.weeks]);

/** Which buckets a day plan reads at which level, given the state (see the module comment). */
export interface DaySources {
	/** [start, end) of weeks read from week rows. */
	weekSpans: [number, number][];
	/** Days read from their hours instead of their own rows (dirty). */
	dirtyDays: number[];
	/** [start, end) of those days. */
	hourSpans: [number, number][];
}

export function daySources(range: DateRange, weeks: DateRange | null, tz: string, state: RollupState): DaySources {
	const dirtyWeek = new Set(state.weeks);
	const weekSpans: [number, number][] = [];
	if (weeks)
		for (let w = weeks.from; w < weeks.to; w = nextStart("week", w, tz)) {
			const end = nextStart("week", w, tz);
			if (dirtyWeek.has(w) || state.days.some((d) => d >= w && d < end)) continue;
			weekSpans.push([w, end]);
		}
	const dirtyDays = state.days.filter((d) => d >= range.from && d < range.to && startOf("day", d, tz) === d);
	return { weekSpans, dirtyDays, hourSpans: dirtyDays.map((d) => [d, nextStart("day", d, tz)]) };
}

/** Rows of raw events per statement when reading the part rollups do not hold. */
const TAIL_PAGE_ROWS = 5_000;

/**
 * The events of [from, to) that the rollups did not hold at the state's instant: those past the
 * watermark (up to the instant's highest rowid) and those of dirty hours past their marks. Rows are
 * RAW_COLUMNS then the values of `props`, in rowid order, paged by rowid: the bounds come from the
 * state, and events never change, so the pages read that instant whenever they run.
 * NOTE: `+tenant_id`, `+timestamp`: keeps SQLite on the rowid range for the first part instead of
 * the (tenant_id, timestamp) index, which would walk the whole date range to find a few new rows.
 */
export async function* tailPages(db: D1Database, tenantId: string, range: DateRange, props: readonly string[], state: RollupState): AsyncGenerator<RawRow[]> {
	const values = props.length
		? `CASE WHEN json_valid(properties) THEN json_array(${props.map((_, i) => `properties -> ?${7 + i}`).join(", ")}) ELSE json_array() END`
		: "json_array()";
	const paths = props.map((p) => `$."${p}"`);
	const page = (source: string) =>
		`SELECT json_group_array(json_array(${RAW_COLUMNS.join(", ")}, ${values}, rid)) AS page FROM (${source} ORDER BY rid LIMIT ${TAIL_PAGE_ROWS})`;
	const cols = `${RAW_COLUMNS.map((c) => `e.${c}`).join(", ")}, e.properties, e.rowid AS rid`;
	const parts = [
		{
			// NOTE: one lower bound, max(?4, ?5): given two (`rowid > ?4 AND rowid > ?5`) SQLite ranges
			// over the first, the page cursor (0 at first), and walks every event up to ?6 (0.8 s at 10M).
			sql: page(`SELECT ${cols} FROM events e WHERE e.rowid > max(?4, ?5) AND e.rowid <= ?6 AND +e.tenant_id = ?1 AND +e.timestamp >= ?2 AND +e.timestamp < ?3`),
			extra: [state.watermark, state.maxRowid],
		},
		{
			// ?6 carries the dirty hours as JSON [[bucket, mark], ...].
			sql: page(
				`SELECT ${cols} FROM json_each(?6) h JOIN events e ON e.tenant_id = ?1 AND e.timestamp >= h.value ->> 0 AND e.timestamp < (h.value ->> 0) + ${HOUR_MS}
				AND e.rowid > coalesce(h.value ->> 1, 0) WHERE e.rowid > ?4 AND e.rowid <= ?5 AND e.timestamp >= ?2 AND e.timestamp < ?3`,
			),
			extra: [state.watermark, JSON.stringify(state.hours)],
		},
	];
	for (const [i, part] of parts.entries()) {
		if (i === 1 && state.hours.length === 0) continue;
		let after = 0;
		for (;;) {
			const r = await db
				.prepare(part.sql)
				.bind(tenantId, range.from, range.to, after, ...part.extra, ...paths)
				.first<{ page: string }>();
			const rows = JSON.parse(r?.page ?? "[]") as [...RawRow, number][];
			if (rows.length === 0) break;
			yield rows as unknown as RawRow[];
			if (rows.length < TAIL_PAGE_ROWS) break;
			after = Math.max(...rows.map((row) => row[9]));
		}
	}
}
