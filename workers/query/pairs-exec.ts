import { ApiError } from "../errors";
import { dimValue } from "../rollup/build";
import type { DimValue } from "./execute";
import { MAX_RAW_ROWS, outputBuckets, type PlanQuery } from "./plan";
import type { PairDef } from "./pairs";
import type { Filter, Metric } from "./spec";
import { type DateRange, earlierRange, localParts } from "./time";

export type PairDefs = PairDef[];

/** A key's span as pair_spans stores it, with the start event's dimensions. */
interface SpanDims {
	event?: string;
	country?: string | null;
	device?: string | null;
	browser?: string | null;
	os?: string | null;
	props?: Record<string, unknown>;
}

interface PairGroup {
	t: number;
	dims: DimValue[];
	started: number;
	closed: number;
	/** Durations (ms) of the closed keys, per pair, for min, max and percentiles. */
	durations: Map<string, number[]>;
	/** Keys started and closed, and the sum of the closed keys' durations (ms), per pair. */
	counts: Map<string, { started: number; closed: number; sum: number }>;
}

export interface PairsAnswer {
	groups: Map<string, PairGroup>;
	metrics: Metric[];
	rowsScanned: number;
	buckets: number[];
	comparisonRange: DateRange | null;
}

const QUANTILES: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

function dimOf(d: { kind: string; prop: string | null }, s: SpanDims, start: number, tz: string): DimValue {
	if (d.kind === "event") return s.event ?? null;
	if (d.kind === "hour_of_day") return localParts(tz, start).hour;
	if (d.kind === "day_of_week") return localParts(tz, start).weekday;
	const v = d.kind === "prop" ? dimValue(s.props?.[d.prop!]) : dimValue(s[d.kind as "country" | "device" | "browser" | "os"]);
	return v === "" ? null : v;
}

function passes(filters: Filter[], s: SpanDims, start: number, tz: string): boolean {
	for (const f of filters) {
		const raw = f.dim.kind === "prop" ? s.props?.[f.dim.prop!] : undefined;
		const v = dimOf(f.dim, s, start, tz);
		const vals = f.values.filter((x) => x != null).map(String);
		const hasNull = vals.length < f.values.length;
		if (f.op === "gt" || f.op === "lt") {
			const n = f.dim.kind === "prop" ? raw : v;
			if (typeof n !== "number" || !(f.op === "gt" ? n > Number(f.values[0]) : n < Number(f.values[0]))) return false;
		} else if (f.op === "contains") {
			if (v == null || !vals.some((x) => String(v).toLowerCase().includes(x.toLowerCase()))) return false;
		} else {
			const hit = v == null ? hasNull : vals.includes(String(v));
			if ((f.op === "is") !== hit) return false;
		}
	}
	return true;
}

/** A dimension of the span's start read in SQL: its JSON path in `dims` (time parts come from the start). */
interface SpanColumn {
	kind: string;
	prop: string | null;
	path: string;
}

function spanColumns(dims: { kind: string; prop: string | null }[]): SpanColumn[] {
	const out: SpanColumn[] = [];
	for (const d of dims) {
		if (d.kind === "hour_of_day" || d.kind === "day_of_week") continue;
		const path = d.kind === "prop" ? `$.props."${d.prop!.replaceAll('"', '\\"')}"` : `$.${d.kind}`;
		if (!out.some((c) => c.path === path)) out.push({ kind: d.kind, prop: d.prop, path });
	}
	return out;
}

/** The span dimensions a grouped row carries (JSON values as SQLite's `->` returns them). */
function spanDims(cols: SpanColumn[], r: Record<string, unknown>): SpanDims {
	const s: SpanDims = { props: {} };
	cols.forEach((c, i) => {
		const raw = r[`c${i}`];
		const v = raw == null ? undefined : JSON.parse(String(raw));
		if (c.kind === "prop") s.props![c.prop!] = v;
		else (s as Record<string, unknown>)[c.kind] = v;
	});
	return s;
}

const bucketIndex = (buckets: number[], t: number) => {
	let lo = 0;
	let hi = buckets.length - 1;
	if (t < buckets[0]!) return -1;
	while (lo < hi) {
		const mid = (lo + hi + 1) >> 1;
		if (buckets[mid]! <= t) lo = mid;
		else hi = mid - 1;
	}
	return lo;
};

/**
 * Pair metrics (started:, closed:, open:, avg:pair:, p95:pair: …) for keys whose start falls in the
 * range, from pair_spans: one row per key, kept by the rollup pass, so a month of a busy desk reads
 * one row per conversation, never its messages. Grouped by the start's time and dimensions.
 */
export async function executePairs(
	db: D1Database,
	tenantId: string,
	defs: PairDefs,
	q: PlanQuery,
	tz: string,
	range: DateRange,
	deadline: { check(): void },
	now: number,
	buckets = outputBuckets(range, tz, q.granularity ?? null, q.dimensions.length, !!q.compare),
): Promise<PairsAnswer> {
	const names = [...new Set(q.metrics.map((m) => m.pair!))];
	for (const name of names)
		if (!defs.some((d) => d.name === name))
			throw new ApiError(400, "invalid_query", `metrics: pair '${name}' is not configured for this tenant (${defs.length ? `pairs: ${defs.map((d) => d.name).join(", ")}` : "no pairs yet"}); add it with PATCH /v1/admin/tenants/:id {"pairs": […]}`, {
				field: "metrics",
				pair: name,
			});
	const groups = new Map<string, PairGroup>();
	let scanned = 0;
	// The dimensions the query groups or filters by, each read from the span's dims in SQL.
	const cols = spanColumns([...q.dimensions, ...q.filters.map((f) => f.dim)]);
	// Spans are grouped in SQL by a unit of their start time that never straddles an output bucket or
	// a local hour (every zone's offset is a multiple of 15 minutes) and by those dimensions' values.
	const unit = q.granularity === "minute" ? 60_000 : 900_000;
	for (const name of names) {
		const def = defs.find((d) => d.name === name)!;
		const count = await db
			.prepare("SELECT count(*) AS n FROM pair_spans WHERE tenant_id = ?1 AND pair = ?2 AND start_ts >= ?3 AND start_ts < ?4")
			.bind(tenantId, name, range.from, range.to)
			.first<{ n: number }>();
		deadline.check();
		if ((count?.n ?? 0) > MAX_RAW_ROWS)
			throw new ApiError(400, "query_too_expensive", `This query reads ${count!.n} keys of pair '${name}' (limit ${MAX_RAW_ROWS}); narrow date_range.`, { field: "date_range", limit: MAX_RAW_ROWS });
		const mine = q.metrics.filter((m) => m.pair === name);
		const needList = mine.some((m) => m.kind !== "started" && m.kind !== "closed" && m.kind !== "open" && m.kind !== "avg");
		const end = def.use === "last" ? "last_end_ts" : "first_end_ts";
		const colSql = cols.map((c, i) => `, dims -> '${c.path.replaceAll("'", "''")}' AS c${i}`).join("");
		const groupBy = cols.map((_, i) => `, c${i}`).join("");
		// NOTE: the unit is written into the SQL: D1 binds numbers as REAL, and `/` would not truncate.
		// An end later than now (+1 day) cannot have happened yet: only a skewed clock writes one.
		const { results } = await db
			.prepare(
				`SELECT u${groupBy}, count(*) AS n, count(d) AS closed, sum(d) AS s${needList ? ", group_concat(d) AS ds" : ""}
				FROM (SELECT start_ts / ${unit} AS u${colSql}, CASE WHEN ${end} <= ?5 THEN ${end} - start_ts END AS d
					FROM pair_spans WHERE tenant_id = ?1 AND pair = ?2 AND start_ts >= ?3 AND start_ts < ?4)
				GROUP BY u${groupBy}`,
			)
			.bind(tenantId, name, range.from, range.to, now + 86_400_000)
			.all<Record<string, number | string | null>>();
		deadline.check();
		for (const r of results) {
			scanned += r.n as number;
			const start = (r.u as number) * unit;
			const s = spanDims(cols, r);
			if (!passes(q.filters, s, Math.max(start, range.from), tz)) continue;
			const t = bucketIndex(buckets, Math.max(start, range.from));
			if (t < 0) continue;
			const dims = q.dimensions.map((d) => dimOf(d, s, start, tz));
			const key = `${t}\u0001${JSON.stringify(dims)}`;
			let g = groups.get(key);
			if (!g) groups.set(key, (g = { t, dims, started: 0, closed: 0, durations: new Map(), counts: new Map() }));
			let c = g.counts.get(name);
			if (!c) g.counts.set(name, (c = { started: 0, closed: 0, sum: 0 }));
			c.started += r.n as number;
			c.closed += r.closed as number;
			c.sum += (r.s as number | null) ?? 0;
			if (needList && r.ds != null) {
				let d = g.durations.get(name);
				if (!d) g.durations.set(name, (d = []));
				for (const x of String(r.ds).split(",")) d.push(Number(x));
			}
		}
	}
	return { groups, metrics: q.metrics, rowsScanned: scanned, buckets, comparisonRange: q.compare ? earlierRange(q.compare, range, tz, now, "minute") : null };
}

/** The value of a pair metric for a group: counts exactly, durations in milliseconds. */
function pairMetric(m: Metric, g: PairGroup): number | null {
	const c = g.counts.get(m.pair!) ?? { started: 0, closed: 0, sum: 0 };
	if (m.kind === "started") return c.started;
	if (m.kind === "closed") return c.closed;
	if (m.kind === "open") return c.started - c.closed;
	if (m.kind === "avg") return c.closed > 0 ? c.sum / c.closed : null;
	const d = g.durations.get(m.pair!);
	if (!d || d.length === 0) return null;
	d.sort((a, b) => a - b);
	if (m.kind === "min") return d[0]!;
	if (m.kind === "max") return d[d.length - 1]!;
	return d[Math.floor(QUANTILES[m.kind]! * (d.length - 1))]!;
}

/** A pairs answer as rows of metric values, keyed like event answers (bucket and dimension values). */
export function pairValueOf(a: PairsAnswer) {
	const out = new Map<string, { t: number; dims: DimValue[]; values: Map<string, number | null> }>();
	for (const [key, g] of a.groups) out.set(key, { t: g.t, dims: g.dims, values: new Map(a.metrics.map((m) => [m.name, pairMetric(m, g)])) });
	return out;
}
