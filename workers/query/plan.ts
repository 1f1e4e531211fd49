import type { RollupLevel } from "../db/schema";
import { ApiError } from "../errors";
import { BUILTIN_DIMS, hourStartOf, type RollupConfig } from "../rollup/build";
import { baseMetrics, type Dim, type Filter, type Granularity, type Metric, type QueryRequest } from "./spec";

/** What a plan answers: the query with the metrics of one part (formulas are computed on the merged rows). */
export type PlanQuery = Omit<QueryRequest, "metrics"> & { metrics: Metric[] };

/** A whole query as one plan's input: its base metrics, without formulas. */
export const planQuery = (q: QueryRequest): PlanQuery => ({ ...q, metrics: baseMetrics(q) });
import { bucketStarts, type DateRange, earlierRange, hourAlignment, nextStart, parseRangeBound, resolvePreset, startOf, type Unit } from "./time";

/** Output time buckets over this many are refused (e.g. minutes over a week). */
export const MAX_TIME_BUCKETS = 5_000;
/** range × granularity × dimensions: output buckets × (1 + dimensions) × (2 with a comparison). */
export const MAX_COST = 10_000;
/** A raw plan reading more events than this is refused: narrow the range or use rolled-up dimensions. */
export const MAX_RAW_ROWS = 2_000_000;

/** How a tenant's buckets are laid out (rollup_tenants), as the planner needs it. */
export interface Layout {
	dayTz: string;
	alignMinutes: number;
	config: RollupConfig;
	archivedBefore: number;
	/** Oldest minute bucket still kept. */
	minutesSince: number;
}

export interface Plan {
	source: "rollup" | "raw";
	/** Rollup level read (rollup plans only). */
	level: RollupLevel | null;
	/** The rollup `dim` rows read: '' for totals, else the one dimension of the query. */
	rollupDim: string;
	/** Day plans: whole local ISO weeks inside the range, read from week buckets instead of 7 days. */
	weeks: DateRange | null;
	range: DateRange;
	tz: string;
	granularity: Granularity | null;
	/** Starts of the output time buckets (one open bucket [from, to) when no granularity). */
	buckets: number[];
	metrics: Metric[];
	dims: Dim[];
	filters: Filter[];
	/** Why the rollups could not answer (raw plans). */
	reason: string | null;
}

const rollupDimName = (d: Dim): string | null => (d.kind === "prop" ? `prop:${d.prop}` : (BUILTIN_DIMS as readonly string[]).includes(d.kind) ? d.kind : null);
const timeDerived = (d: Dim) => d.kind === "hour_of_day" || d.kind === "day_of_week";

/** Resolves the request's date range in its time zone; 400 when a bound cannot be read. */
export function resolveRange(q: Pick<QueryRequest, "date_range">, tz: string, now: number): DateRange {
	if (typeof q.date_range === "string") return resolvePreset(q.date_range, tz, now);
	const from = parseRangeBound(q.date_range.from, tz, "from");
	const to = parseRangeBound(q.date_range.to, tz, "to");
	for (const [field, v] of [["from", from], ["to", to]] as const)
		if (v == null)
			throw new ApiError(400, "invalid_query", `date_range.${field}: '${q.date_range[field]}' is not a date (YYYY-MM-DD, inclusive) or an ISO 8601 date-time`, {
				field: `date_range.${field}`,
			});
	if (to! <= from!) throw new ApiError(400, "invalid_query", "date_range: 'to' must be after 'from'", { field: "date_range" });
	if (to! - from! > 5 * 366 * 86_400_000) throw new ApiError(400, "invalid_query", "date_range: at most 5 years", { field: "date_range" });
	return { from: from!, to: to! };
}

/** The earlier range of a comparison and the plans that read it: one, or two that split it (see comparisonPlan). */
export interface ComparisonPlan {
	range: DateRange;
	parts: Plan[];
}

/**
 * The range and plans of a comparison (`q.compare`). A range that holds `now` is compared like with
 * like: the earlier range ends where `now` falls in it (time.ts earlierRange). Its whole days are
 * read from day (and week) buckets, as the main range is, and its last, partial day from minute
 * buckets to the minute where they can answer, else from hour buckets to the whole hour: two plans
 * whose groups add up. A main query answered from raw events compares with raw events to the
 * minute. Where no rollup answers a cut range (hours that do not line up with the tenant's
 * buckets), the whole earlier range is read from rollups, as without a cut, rather than raw events.
 */
export function comparisonPlan(q: PlanQuery, layout: Layout | null, tz: string, range: DateRange, now: number, main: Plan): ComparisonPlan {
	const kind = q.compare!;
	const whole = earlierRange(kind, range, tz);
	const exact = earlierRange(kind, range, tz, now, "minute");
	if (exact.to === whole.to || main.source === "raw") return { range: exact, parts: [plan(q, layout, tz, exact)] };
	let fallback: ComparisonPlan | null = null;
	for (const r of [exact, earlierRange(kind, range, tz, now, "hour"), whole]) {
		let single: Plan;
		try {
			single = plan(q, layout, tz, r);
		} catch (err) {
			// A raw plan over archived days: try the next candidate.
			if (!(err instanceof ApiError && err.code === "needs_raw_events") || (r === whole && !fallback)) throw err;
			continue;
		}
		if (single.source === "raw") {
			fallback ??= { range: r, parts: [single] };
			continue;
		}
		// Whole days from day buckets, the rest of the last day from finer ones; both parts map
		// their rows into the output buckets of the whole cut range.
		const split = r === whole ? r.to : startOf("day", r.to, tz);
		if (split > r.from && split < r.to && single.level !== "day") {
			const head = plan(q, layout, tz, { from: r.from, to: split });
			const tail = plan(q, layout, tz, { from: split, to: r.to });
			if (head.level === "day" && tail.source === "rollup") return { range: r, parts: [{ ...head, buckets: single.buckets }, { ...tail, buckets: single.buckets }] };
		}
		return { range: r, parts: [single] };
	}
	return fallback!;
}

/** Output bucket starts, with the cost limits applied (400 naming the field to change). */
export function outputBuckets(range: DateRange, tz: string, granularity: Granularity | null, dims: number, compare: boolean): number[] {
	if (!granularity) return [range.from];
	let buckets: number[];
	try {
		buckets = bucketStarts(granularity as Unit, range.from, range.to, tz, MAX_TIME_BUCKETS);
	} catch {
		buckets = [];
	}
	if (buckets.length === 0 || buckets.length > MAX_TIME_BUCKETS)
		throw new ApiError(400, "query_too_expensive", `granularity: '${granularity}' over this date_range makes more than ${MAX_TIME_BUCKETS} time buckets; use a coarser granularity or a shorter range`, {
			field: "granularity",
			limit: MAX_TIME_BUCKETS,
		});
	const cost = buckets.length * (1 + dims) * (compare ? 2 : 1);
	if (cost > MAX_COST)
		throw new ApiError(400, "query_too_expensive", `query cost ${cost} (time buckets × (1 + dimensions) × comparison) is over the limit of ${MAX_COST}; use a coarser granularity, fewer dimensions or a shorter range`, {
			field: "granularity",
			cost,
			limit: MAX_COST,
		});
	return buckets;
}

/**
 * Chooses the coarsest rollup level that answers the query exactly, or raw events.
 * Rollups answer when: every property metric is tracked; at most one dimension other than
 * `event` (and the time-derived ones) is used across dimensions and filters, and it is rolled up;
 * filters on it are is / is_not / contains; and the range and output buckets line up with the
 * level's buckets in the requested time zone.
 */
export function plan(q: PlanQuery, layout: Layout | null, tz: string, range: DateRange): Plan {
	const base = {
		range,
		tz,
		granularity: q.granularity ?? null,
		buckets: outputBuckets(range, tz, q.granularity ?? null, q.dimensions.length, !!q.compare),
		metrics: q.metrics,
		dims: q.dimensions,
		filters: q.filters,
	};
	const raw = (reason: string): Plan => {
		if (layout && range.from < layout.archivedBefore)
			throw new ApiError(
				400,
				"needs_raw_events",
				`This query needs raw events (${reason}), but events before ${new Date(layout.archivedBefore).toISOString()} are archived to R2. Narrow date_range or use rolled-up dimensions and metrics.`,
				{ field: "date_range", archived_before: new Date(layout.archivedBefore).toISOString(), reason },
			);
		return { ...base, source: "raw", level: null, rollupDim: "", weeks: null, reason };
	};
	if (q.source === "raw") return raw("source: raw was requested");
	if (!layout) return raw("no rollups computed yet for this tenant");
	for (const m of q.metrics) {
		if (m.kind === "uniques" && m.prop != null) {
			if (!(layout.config.unique_props ?? []).includes(m.prop)) return raw(`distinct values of '${m.prop}' are not rolled up (unique_props)`);
		} else if (m.prop != null && !layout.config.metric_props.includes(m.prop)) return raw(`property '${m.prop}' is not a rolled-up metric (metric_props)`);
	}
	const bins = q.dimensions.find((d) => d.kind === "bins");
	if (bins) {
		// A distribution from rollups splits each row's count by the property's sketch: counts only.
		if (!layout.config.metric_props.includes(bins.prop!)) return raw(`the distribution of '${bins.prop}' needs it rolled up as a metric (metric_props)`);
		if (q.metrics.some((m) => m.kind !== "count")) return raw("a distribution from rollups answers count only");
	}
	for (const f of q.filters)
		if ((f.op === "gt" || f.op === "lt") && !timeDerived(f.dim)) return raw(`'${f.op}' on ${f.dim.name} needs raw values`);
	const used = new Set<string>();
	for (const d of [...q.dimensions, ...q.filters.map((f) => f.dim)]) {
		if (d.kind === "event" || d.kind === "bins" || timeDerived(d)) continue;
		const name = rollupDimName(d);
		if (name == null || (d.kind === "prop" && !layout.config.dimension_props.includes(d.prop!))) return raw(`'${d.name}' is not a rolled-up dimension (dimension_props)`);
		used.add(name);
	}
	if (used.size > 1) return raw(`rollups hold one dimension at a time; this query combines ${[...used].join(" and ")}`);
	const rollupDim = [...used][0] ?? "";
	const hourly = q.dimensions.some((d) => d.kind === "hour_of_day") || q.filters.some((f) => f.dim.kind === "hour_of_day");
	const g = q.granularity ?? null;
	const ok = (level: RollupLevel, weeks: DateRange | null = null): Plan => ({ ...base, source: "rollup", level, rollupDim, weeks, reason: null });

	const isMidnight = (t: number) => startOf("day", t, tz) === t;
	if (tz === layout.dayTz && !hourly && (g == null || g === "day" || g === "week" || g === "month" || g === "quarter" || g === "year") && isMidnight(range.from) && isMidnight(range.to)) {
		// Totals and weekly series read whole weeks from week buckets: a 30-day breakdown reads
		// about 12 rows per value instead of 30. Weekday splits need the days themselves.
		const weekday = q.dimensions.some((d) => d.kind === "day_of_week") || q.filters.some((f) => f.dim.kind === "day_of_week");
		if ((g == null || g === "week") && !weekday) {
			let from = startOf("week", range.from, tz);
			if (from < range.from) from = nextStart("week", from, tz);
			const to = startOf("week", range.to, tz);
			if (from < to) return ok("day", { from, to });
		}
		return ok("day");
	}
	// hourAlignment gives the offset modulo 60; local hours start that many minutes before the UTC hour.
	const offsetMod = hourAlignment(tz, range.from, range.to);
	const align = offsetMod == null ? null : (60 - offsetMod) % 60;
	const hourOk = (t: number) => hourStartOf(t, layout.alignMinutes) === t;
	if (align === layout.alignMinutes && g !== "minute" && hourOk(range.from) && hourOk(range.to)) return ok("hour");
	const minuteOk = (t: number) => t % 60_000 === 0;
	if (rollupDim === "" && range.from >= layout.minutesSince && minuteOk(range.from) && minuteOk(range.to)) return ok("minute");
	return raw("the range or buckets do not line up with rolled-up buckets in this time zone");
}
