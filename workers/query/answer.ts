import { ApiError } from "../errors";
import type { BucketAcc, RollupConfig } from "../rollup/build";
import { MINUTE_RETENTION_MS } from "../rollup/run";
import { DD_RELATIVE_ACCURACY } from "../sketch/ddsketch";
import { Hll, HLL_STANDARD_ERROR } from "../sketch/hll";
import { autoEdges } from "./bins";
import { Deadline, type DimValue, type Execution, execute, metricValue, type Selection } from "./execute";
import { evaluate } from "./formula";
import { executePairs, type PairDefs, pairValueOf } from "./pairs-exec";
import { comparisonPlan, type Layout, outputBuckets, type Plan, type PlanQuery, plan, resolveRange } from "./plan";
import { type AnyMetric, baseMetrics, type Filter, type Metric, parseQuery, type QueryRequest } from "./spec";
import { HISTORY_SEASONS, seasonOf, seriesInsights } from "../insights/series";
import type { DateRange, Unit } from "./time";
import { formatLocal, isValidTimeZone, nextStart, startOf } from "./time";

/** The server's time limit for one query (its comparison included). */
export const QUERY_TIMEOUT_MS = 10_000;

export interface ResultRow {
	time?: string;
	dimensions: DimValue[];
	metrics: (number | null)[];
	comparison?: { metrics: (number | null)[]; change: (number | null)[]; change_pct: (number | null)[] };
}

interface TenantContext {
	timezone: string;
	layout: Layout | null;
	pairs: PairDefs;
}

/** What the planner needs about a tenant: its zone, how its rollups are laid out, its pairs. */
export interface TenantRow {
	timezone: string;
	day_tz: string | null;
	align_minutes: number | null;
	config: string | null;
	archived_before: number | null;
	/** JSON of tenants.pairs (absent in rows read by older callers: no pairs). */
	pairs?: string | null;
	/** What the data looked like when the row was read (see ANSWER_STAMP); absent: answers are not cached. */
	stamp?: string | null;
}

/**
 * A stamp of everything an answer reads: the highest rollup row (every rollup write adds one), the
 * rollups' watermark, and the highest event (every flush adds some). Read with the tenant's row, in
 * the key check's round trip; an answer is reused only while the stamp, the query and the minute
 * are the same, so a new pass or a new flush is never answered from an older state.
 */
const ANSWER_STAMP = `(SELECT coalesce(max(rowid), 0) FROM rollups) || ':' || (SELECT coalesce(max(watermark), 0) FROM rollup_cursor) || ':' || (SELECT coalesce(max(rowid), 0) FROM events) AS stamp`;
const TENANT_COLUMNS = `t.timezone, s.day_tz, s.align_minutes, s.config, s.archived_before, t.pairs, ${ANSWER_STAMP}`;
/** The TenantRow of the tenant whose key hash is ?1, for authorizeWith (one D1 round trip with the key check). */
export const TENANT_BY_KEY_SQL = `SELECT ${TENANT_COLUMNS} FROM api_keys k JOIN tenants t ON t.id = k.tenant_id LEFT JOIN rollup_tenants s ON s.tenant_id = t.id WHERE k.hash = ?1`;
/** The TenantRow of tenant ?1 (for answers given without a key: share links, schedules). */
export const TENANT_BY_ID_SQL = `SELECT ${TENANT_COLUMNS} FROM tenants t LEFT JOIN rollup_tenants s ON s.tenant_id = t.id WHERE t.id = ?1`;

function tenantContext(row: TenantRow | null, now: number): TenantContext {
	if (!row) throw new ApiError(404, "not_found", "Tenant not found.");
	const layout: Layout | null =
		row.config == null
			? null
			: {
					dayTz: row.day_tz!,
					alignMinutes: row.align_minutes!,
					config: JSON.parse(row.config) as RollupConfig,
					archivedBefore: row.archived_before ?? 0,
					minutesSince: now - MINUTE_RETENTION_MS + 3_600_000,
				};
	return { timezone: row.timezone, layout, pairs: row.pairs ? (JSON.parse(row.pairs) as PairDefs) : [] };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
/** Float noise off (2773.7599999999998 → 2773.76): 12 significant digits. */
const tidy = (x: number | null) => (x == null || Number.isInteger(x) ? x : Number(x.toPrecision(12)));

function withTimeout<T>(p: Promise<T>, deadline: Deadline): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | null = null;
	const limit = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(deadline.error()), deadline.ms);
	});
	return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * Runs the plans of a comparison and adds their groups up: a cut comparison reads its whole days
 * and its last partial day with two rollup plans over disjoint ranges and the same output buckets.
 */
async function executeParts(db: D1Database, tenantId: string, parts: Plan[], deadline: Deadline, sel: Selection = {}): Promise<Execution> {
	const [first, ...rest] = await Promise.all(parts.map((p) => execute(db, tenantId, p, deadline, sel)));
	for (const ex of rest) {
		for (const [key, g] of ex.groups) {
			const into = first!.groups.get(key);
			if (!into?.acc) first!.groups.set(key, g);
			else if (g.acc) mergeAcc(into.acc as BucketAcc, g.acc as BucketAcc);
		}
		first!.rowsScanned += ex.rowsScanned;
		first!.pendingHours = (first!.pendingHours ?? 0) + (ex.pendingHours ?? 0);
		if (first!.rawTail != null && ex.rawTail != null) first!.rawTail = first!.rawTail < 0 || ex.rawTail < 0 ? -(Math.abs(first!.rawTail) + Math.abs(ex.rawTail)) : first!.rawTail + ex.rawTail;
	}
	return first!;
}

/** Folds rollup group `b` into `a`: counts add, sketches union. */
function mergeAcc(a: BucketAcc, b: BucketAcc): void {
	a.count += b.count;
	if (b.users) (a.users ??= Hll.create()).merge(b.users);
	for (const [prop, st] of b.metrics) a.stat(prop).merge(st);
	for (const [prop, h] of b.distinct) a.distinctOf(prop).merge(h);
}

const groupKey = (t: number, dims: DimValue[]) => `${t}\u0001${JSON.stringify(dims)}`;

/** A row being assembled: its output bucket, dimension values, and each metric's value by name. */
interface Cell {
	t: number;
	dims: DimValue[];
	values: Map<string, number | null>;
}

/**
 * The base metrics of a query, split into parts that one read can answer: metrics with the same
 * conditions of their own read together; pair metrics read spans (pairs-exec.ts) instead of events.
 */
interface Part {
	metrics: Metric[];
	filters: Filter[];
	pairs: boolean;
}

function partsOf(q: QueryRequest): Part[] {
	const parts = new Map<string, Part>();
	for (const m of baseMetrics(q)) {
		const pairs = m.pair != null;
		const key = `${pairs ? "p" : "e"}${JSON.stringify(m.filters.map((f) => [f.op, f.dim.name, f.values]))}`;
		let part = parts.get(key);
		if (!part) parts.set(key, (part = { metrics: [], filters: [...q.filters, ...m.filters], pairs }));
		part.metrics.push(m);
	}
	return [...parts.values()];
}

/** A metric's value where a part found nothing: 0 for counts, sums and distinct counts; null for statistics. */
function emptyValue(m: Metric): number | null {
	if (m.pair != null) return m.kind === "started" || m.kind === "closed" || m.kind === "open" ? 0 : null;
	return metricValue(m, null);
}

/** What one part answered, for the main range or its comparison. */
interface PartAnswer {
	cells: Map<string, Cell>;
	rowsScanned: number;
	plan: Plan | null;
	exec: Execution | null;
	source: string;
}

function cellsOf(metrics: Metric[], ex: Execution): Map<string, Cell> {
	const out = new Map<string, Cell>();
	for (const [key, g] of ex.groups) out.set(key, { t: g.t, dims: g.dims, values: new Map(metrics.map((m) => [m.name, metricValue(m, g.acc)])) });
	return out;
}

/** Adds each part's values into one table of rows, keyed by bucket and dimension values. */
function mergeCells(answers: PartAnswer[]): Map<string, Cell> {
	const out = new Map<string, Cell>();
	for (const a of answers)
		for (const [key, c] of a.cells) {
			const into = out.get(key);
			if (!into) out.set(key, { t: c.t, dims: c.dims, values: new Map(c.values) });
			else for (const [k, v] of c.values) into.values.set(k, v);
		}
	return out;
}

/** Every metric's value in a row: missing parts filled with their empty value, then formulas in order. */
function complete(cell: Cell, metrics: AnyMetric[]): (number | null)[] {
	for (const m of metrics) {
		if (m.kind === "formula") {
			const v = evaluate(m.expr, (name) => cell.values.get(name) ?? null);
			cell.values.set(m.name, v == null ? null : m.percent ? v * 100 : v);
		} else if (!cell.values.has(m.name)) cell.values.set(m.name, emptyValue(m));
	}
	return metrics.map((m) => tidy(cell.values.get(m.name) ?? null));
}

/**
 * The dimension combinations a time series keeps: the `limit` (default 10) with the largest total
 * of the first metric (of the order_by metric, if one is given), the way a chart shows top series.
 * NOTE: totals add bucket values up: exact for counts and sums, a ranking heuristic for the rest.
 */
function seriesCombos(q: QueryRequest, cells: Map<string, Cell>): DimValue[][] {
	if (q.dimensions.length === 0) return [[]];
	const visible = q.metrics.filter((m) => !m.hidden);
	const first = q.order_by?.find(([k]) => visible.some((m) => m.name === k));
	const rankBy = first?.[0] ?? visible[0]!.name;
	const sign = first?.[1] === "asc" ? 1 : -1;
	const totals = new Map<string, { dims: DimValue[]; total: number }>();
	for (const c of cells.values()) {
		const k = JSON.stringify(c.dims);
		const hit = totals.get(k) ?? { dims: c.dims, total: 0 };
		hit.total += c.values.get(rankBy) ?? 0;
		totals.set(k, hit);
	}
	return [...totals.values()]
		.sort((a, b) => sign * (a.total - b.total))
		.slice(0, q.limit ?? 10)
		.map((v) => v.dims);
}

/**
 * When the query is one read of events, its rows are split by dimensions and the answer keeps the
 * top `limit` of them by `count`, the rollup read only needs sketches for those: that selection.
 */
function rankedByCount(q: QueryRequest, parts: Part[]): { limit: number; desc: boolean } | null {
	if (q.dimensions.length === 0 || parts.length !== 1 || parts[0]!.pairs || q.limit_per_group != null) return null;
	if (q.metrics.some((m) => m.kind === "formula" || m.hidden) || q.dimensions.some((d) => d.kind === "bins")) return null;
	let key: [string, "asc" | "desc"] | undefined;
	if (q.granularity) key = q.order_by?.find(([k]) => q.metrics.some((m) => m.name === k)) ?? [q.metrics[0]!.name, "desc"];
	else key = q.order_by?.[0] ?? [q.metrics[0]!.name, "desc"];
	const metric = q.metrics.find((m) => m.name === key![0]);
	if (metric?.kind !== "count" || metric.filters.length) return null;
	return { limit: q.limit ?? (q.granularity ? 10 : 1000), desc: key[1] === "desc" };
}

function compareValues(a: DimValue | number | null, b: DimValue | number | null): number {
	if (a === b) return 0;
	if (a == null) return 1;
	if (b == null) return -1;
	if (typeof a === "number" && typeof b === "number") return a - b;
	return String(a) < String(b) ? -1 : 1;
}

/**
 * Orders rows: as asked (metrics, dimensions, time, or change / change_pct of a metric), else by time,
 * then the first metric (largest first), then dimensions.
 */
function order(q: QueryRequest, visible: AnyMetric[], rows: { t: number; row: ResultRow }[]): void {
	const metricIdx = new Map(visible.map((m, i) => [m.name, i]));
	const dimIdx = new Map(q.dimensions.map((d, i) => [d.name, i]));
	const keys: [string, "asc" | "desc"][] = q.order_by ?? [...(q.granularity ? [["time", "asc"] as [string, "asc"]] : []), [visible[0]!.name, "desc"]];
	const valueOf = (row: ResultRow, k: string): DimValue | number | null => {
		if (metricIdx.has(k)) return row.metrics[metricIdx.get(k)!]!;
		const change = /^(change|change_pct):(.*)$/.exec(k);
		if (change && metricIdx.has(change[2]!)) return row.comparison?.[change[1] as "change" | "change_pct"][metricIdx.get(change[2]!)!] ?? null;
		return row.dimensions[dimIdx.get(k)!] ?? null;
	};
	rows.sort((x, y) => {
		for (const [k, dir] of keys) {
			const s = dir === "asc" ? 1 : -1;
			if (k === "time") {
				if (x.t !== y.t) return (x.t - y.t) * s;
				continue;
			}
			const a = valueOf(x.row, k);
			const b = valueOf(y.row, k);
			// Rows without a value go last in either direction.
			if (a == null || b == null) {
				if (a !== b) return a == null ? 1 : -1;
				continue;
			}
			const c = compareValues(a, b);
			if (c !== 0) return c * s;
		}
		for (let i = 0; i < x.row.dimensions.length; i++) {
			const c = compareValues(x.row.dimensions[i]!, y.row.dimensions[i]!);
			if (c !== 0) return c;
		}
		return 0;
	});
}

/**
 * The first `n` rows of each group (same time bucket and leading dimensions), in their order, the
 * rows of a group together: groups in the order of their first row (the best-ranked first).
 */
function limitPerGroup(q: QueryRequest, rows: { t: number; row: ResultRow }[], n: number) {
	const groups = new Map<string, { t: number; row: ResultRow }[]>();
	for (const r of rows) {
		const k = `${q.granularity ? r.t : ""}\u0001${JSON.stringify(r.row.dimensions.slice(0, -1))}`;
		let g = groups.get(k);
		if (!g) groups.set(k, (g = []));
		if (g.length < n) g.push(r);
	}
	return [...groups.values()].flat();
}

/**
 * Insights of a time series (q.insights): the same query over the range and enough history before it
 * (HISTORY_SEASONS seasons of the granularity) gives each series a baseline for anomalies and a past
 * for the forecast; the trend is the range's own. Without room for history (the query's cost limits),
 * the range alone is used and the notes say what could not be judged.
 */
async function insightsOf(
	db: D1Database,
	tenantId: string,
	body: unknown,
	tenant: TenantRow | null,
	now: number,
	q: QueryRequest,
	visible: AnyMetric[],
	results: ResultRow[],
	buckets: number[],
	range: DateRange,
	tz: string,
) {
	const g = q.granularity!;
	const opts = q.insights!;
	const metric = opts.metric ?? visible[0]!.name;
	const mi = visible.findIndex((m) => m.name === metric);
	const unitMs: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000, month: 31 * 86_400_000, quarter: 92 * 86_400_000, year: 366 * 86_400_000 };
	const season = seasonOf(g, Number.POSITIVE_INFINITY);
	const historyFrom = startOf(g as Unit, range.from - HISTORY_SEASONS * Math.max(season, 4) * unitMs[g]!, tz);
	// History buckets come from the longer query; the range's values are the answer's own (a longer
	// query may rank its top series differently, so a shown series can lack history, never its values).
	let historyRows: ResultRow[] = [];
	let note: string | undefined;
	try {
		const history = await compute(
			db,
			tenantId,
			{ ...(body as Record<string, unknown>), date_range: { from: new Date(historyFrom).toISOString(), to: new Date(range.from).toISOString() }, compare: undefined, insights: undefined },
			tenant,
			now,
			Date.now(),
		);
		historyRows = history.results.filter((r) => Date.parse(r.time!) < range.from);
	} catch (err) {
		if (!(err instanceof ApiError)) throw err;
		note = `history before the range could not be read (${err.message}); judged on the range alone`;
	}
	// History starts at its first bucket with data: the empty buckets before a tenant's first events
	// are not a baseline of zeros.
	const withData = historyRows.filter((r) => r.metrics[mi] != null && r.metrics[mi] !== 0).map((r) => Date.parse(r.time!));
	const dataFrom = withData.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
	const historyTimes = [...new Set(historyRows.map((r) => Date.parse(r.time!)).filter((t) => t >= dataFrom))].sort((a, b) => a - b);
	const times = [...historyTimes, ...buckets];
	const first = historyTimes.length;
	// Buckets that end after now are not over: the range's first such bucket and all after it.
	const open = buckets.findIndex((t) => nextStart(g as Unit, t, tz) > now);
	const complete = open < 0 ? times.length : first + open;
	const series = new Map<string, { dims: DimValue[]; values: Map<number, number | null> }>();
	for (const r of [...historyRows, ...results]) {
		const k = JSON.stringify(r.dimensions);
		let s = series.get(k);
		if (!s) series.set(k, (s = { dims: r.dimensions, values: new Map() }));
		s.values.set(Date.parse(r.time!), r.metrics[mi] ?? null);
	}
	// The series the answer shows, in its order.
	const shown = [...new Set(results.map((r) => JSON.stringify(r.dimensions)))];
	return {
		metric,
		...(note ? { note } : {}),
		series: shown.map((k) => {
			const s = series.get(k);
			const values = times.map((t) => s?.values.get(t) ?? null);
			return seriesInsights(JSON.parse(k) as DimValue[], values, times, first, complete, opts, g, tz, (t) => formatLocal(t, tz));
		}),
	};
}

/**
 * Events in D1 the rollups did not hold yet, read raw and counted in (an answer includes every event
 * in D1 when it ran); past MAX_RAW_TAIL they are left out and the answer says how many.
 */
function unrolled(execs: (Execution | null)[]) {
	const all = execs.map((e) => e?.rawTail ?? 0);
	const skipped = all.filter((n) => n < 0).reduce((s, n) => s - n, 0);
	return { unrolled_events: all.filter((n) => n > 0).reduce((s, n) => s + n, 0), ...(skipped ? { unrolled_events_skipped: skipped } : {}) };
}

type Answer = Awaited<ReturnType<typeof compute>>;

/** Answers by tenant, stamp, minute and query: many viewers of one board share one computation. */
const cache = new Map<string, Answer>();
const CACHE_ENTRIES = 500;
/** Answers being computed, by the same key as the cache: identical queries arriving meanwhile wait for them. */
const inflight = new Map<string, Promise<Answer>>();
/** Hits and misses of this isolate's cache, for GET /v1/system/status and the benchmark. */
export const cacheStats = { hits: 0, misses: 0 };

/**
 * Answers POST /v1/query for one tenant (the tenant comes from the key, never the body); `tenant`
 * is its row as TENANT_BY_KEY_SQL reads it (null: the tenant is gone). An identical query on the same
 * data stamp within the same minute is answered from this isolate's cache (`meta.cache`).
 */
export async function answerQuery(db: D1Database, tenantId: string, body: unknown, tenant: TenantRow | null, now = Date.now(), pendingSince?: () => Promise<number | null>) {
	const started = Date.now();
	// Asked of the tenant's hub while D1 answers (or the cache does): what it has acknowledged but
	// not flushed yet. Every event acknowledged before `complete_through` is in the answer: a cached
	// answer too, since a flush changes the stamp it is cached under.
	const pending = pendingSince ? pendingSince().catch(() => undefined) : Promise.resolve(undefined);
	const through = async () => {
		const since = await pending;
		return since === undefined ? null : new Date(Math.min(since ?? now, now)).toISOString();
	};
	const stamp = tenant?.stamp;
	const key = stamp ? `${tenantId}\u0001${Math.floor(now / 60_000)}\u0001${stamp}\u0001${JSON.stringify(body)}` : null;
	const hit = key ? cache.get(key) : undefined;
	if (hit) {
		cacheStats.hits++;
		// Recently used last: the oldest entries go first when the cache is full.
		cache.delete(key!);
		cache.set(key!, hit);
		return { results: hit.results, ...(hit.insights ? { insights: hit.insights } : {}), meta: { ...hit.meta, complete_through: await through(), cache: "hit" as const, took_ms: Date.now() - started } };
	}
	// Viewers opening one board together ask the same questions before the first answer is cached:
	// they wait for the computation under way rather than each running it (a crowd of 100 would
	// otherwise run 100 and time out together).
	const running = key ? inflight.get(key) : undefined;
	if (running) {
		const shared = await running;
		cacheStats.hits++;
		return { results: shared.results, ...(shared.insights ? { insights: shared.insights } : {}), meta: { ...shared.meta, complete_through: await through(), cache: "hit" as const, took_ms: Date.now() - started } };
	}
	const computing = compute(db, tenantId, body, tenant, now, started);
	if (key) {
		inflight.set(key, computing);
		// Settled either way, the entry goes: an error is shared by those waiting, never kept.
		computing.then(
			() => inflight.delete(key),
			() => inflight.delete(key),
		);
	}
	const answer = await computing;
	if (key) {
		cacheStats.misses++;
		cache.set(key, answer);
		if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
	}
	return { results: answer.results, ...(answer.insights ? { insights: answer.insights } : {}), meta: { ...answer.meta, complete_through: await through(), cache: key ? ("miss" as const) : ("off" as const) } };
}

async function compute(db: D1Database, tenantId: string, body: unknown, tenant: TenantRow | null, now: number, started: number) {
	const q = parseQuery(body);
	const ctx = tenantContext(tenant, now);
	const tz = q.timezone ?? ctx.timezone;
	if (!isValidTimeZone(tz)) throw new ApiError(400, "invalid_query", `timezone: '${tz}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`, { field: "timezone" });
	const range = resolveRange(q, tz, now);
	const deadline = new Deadline(Math.min(q.timeout_ms ?? QUERY_TIMEOUT_MS, QUERY_TIMEOUT_MS));
	const parts = partsOf(q);
	// Automatic bins: edges from the property's range over the query's range (the same for the comparison).
	const binDim = q.dimensions.find((d) => d.kind === "bins");
	if (binDim && !binDim.edges) {
		const eventParts = parts.filter((p) => !p.pairs);
		binDim.edges = await withTimeout(autoEdges(db, tenantId, binDim, eventParts[0]?.filters ?? q.filters, { q, layout: ctx.layout, tz, range }, deadline), deadline);
	}
	const top = rankedByCount(q, parts);

	const answerPart = async (part: Part): Promise<{ main: PartAnswer; prev: PartAnswer | null; prevRange: DateRange | null }> => {
		const pq: PlanQuery = { ...q, metrics: part.metrics, filters: part.filters };
		if (part.pairs) {
			const main = await executePairs(db, tenantId, ctx.pairs, pq, tz, range, deadline, now);
			const prevRange = q.compare ? main.comparisonRange : null;
			const prev = prevRange ? await executePairs(db, tenantId, ctx.pairs, pq, tz, prevRange, deadline, now, main.buckets) : null;
			const wrap = (r: typeof main): PartAnswer => ({ cells: pairValueOf(r), rowsScanned: r.rowsScanned, plan: null, exec: null, source: "pairs" });
			return { main: wrap(main), prev: prev ? wrap(prev) : null, prevRange };
		}
		const mainPlan = plan(pq, ctx.layout, tz, range);
		const comparison = q.compare ? comparisonPlan(pq, ctx.layout, tz, range, now, mainPlan) : null;
		const [cur, before] =
			top && comparison
				? await execute(db, tenantId, mainPlan, deadline, { top }).then(async (c) => [c, await executeParts(db, tenantId, comparison.parts, deadline, { combos: c.merged })] as const)
				: await Promise.all([execute(db, tenantId, mainPlan, deadline, top ? { top } : {}), comparison ? executeParts(db, tenantId, comparison.parts, deadline) : null]);
		return {
			main: { cells: cellsOf(part.metrics, cur), rowsScanned: cur.rowsScanned, plan: mainPlan, exec: cur, source: mainPlan.source },
			// A cut comparison reads its last day at a finer level: meta shows that one (the whole days are day buckets).
			prev: before && comparison ? { cells: cellsOf(part.metrics, before), rowsScanned: before.rowsScanned, plan: comparison.parts.at(-1)!, exec: before, source: comparison.parts[0]!.source } : null,
			prevRange: comparison?.range ?? null,
		};
	};
	const answers = await withTimeout(Promise.all(parts.map(answerPart)), deadline);

	// The output buckets: every part plans the same range, time zone and granularity.
	const lead = answers.find((a) => a.main.plan)?.main.plan ?? null;
	const buckets = lead?.buckets ?? outputBuckets(range, tz, q.granularity ?? null, q.dimensions.length, !!q.compare);
	const cells = mergeCells(answers.map((a) => a.main));
	const prevCells = q.compare ? mergeCells(answers.flatMap((a) => (a.prev ? [a.prev] : []))) : null;
	const visible = q.metrics.filter((m) => !m.hidden);
	const visibleIdx = q.metrics.map((m, i) => (m.hidden ? -1 : i)).filter((i) => i >= 0);

	// Time series are zero-filled: every bucket for every kept combination. Breakdowns keep what was found.
	let keys: { t: number; dims: DimValue[] }[];
	if (q.granularity) {
		keys = [];
		for (const dims of seriesCombos(q, cells)) for (let t = 0; t < buckets.length; t++) keys.push({ t, dims });
	} else {
		keys = [...cells.values()].map((c) => ({ t: c.t, dims: c.dims }));
		if (keys.length === 0 && q.dimensions.length === 0) keys = [{ t: 0, dims: [] }];
	}
	const rows = keys.map(({ t, dims }) => {
		const key = groupKey(t, dims);
		const all = complete(cells.get(key) ?? { t, dims, values: new Map() }, q.metrics);
		const row: ResultRow = {
			...(q.granularity ? { time: formatLocal(buckets[t]!, tz) } : {}),
			dimensions: dims,
			metrics: visibleIdx.map((i) => all[i]!),
		};
		if (prevCells) {
			const pAll = complete(prevCells.get(key) ?? { t, dims, values: new Map() }, q.metrics);
			const pm = visibleIdx.map((i) => pAll[i]!);
			row.comparison = {
				metrics: pm,
				change: row.metrics.map((v, i) => (v == null || pm[i] == null ? null : round(v - pm[i]!))),
				change_pct: row.metrics.map((v, i) => (v == null || pm[i] == null || pm[i] === 0 ? null : Math.round(((v - pm[i]!) / Math.abs(pm[i]!)) * 1000) / 10)),
			};
		}
		return { t, row };
	});
	order(q, visible, rows);
	const grouped = q.limit_per_group != null ? limitPerGroup(q, rows, q.limit_per_group) : rows;
	const total = grouped.length;
	// Series are already cut to their top combinations; breakdowns and totals keep `limit` rows.
	const results = (q.granularity ? grouped : grouped.slice(0, q.limit ?? 1000)).map((r) => r.row);

	const insights = q.insights && q.granularity ? await withTimeout(insightsOf(db, tenantId, body, tenant, now, q, visible, results, buckets, range, tz), deadline) : null;

	const eventAnswers = answers.filter((a) => a.main.plan);
	const sources = [...new Set(answers.map((a) => a.main.source))];
	const rollupExecs = eventAnswers.filter((a) => a.main.plan!.source === "rollup");
	const base = baseMetrics(q);
	const uses = (k: string) => base.some((m) => m.pair == null && (k === "uniques" ? m.kind === "uniques" : m.kind.startsWith("p")));
	const span = (r: DateRange) => ({ from: formatLocal(r.from, tz), to: formatLocal(r.to, tz) });
	const prevRange = answers.find((a) => a.prevRange)?.prevRange ?? null;
	const reasons = [...new Set(eventAnswers.map((a) => a.main.plan!.reason).filter((r): r is string => r != null))];
	return {
		results,
		...(insights ? { insights } : {}),
		meta: {
			metrics: visible.map((m) => m.name),
			dimensions: q.dimensions.map((d) => d.name),
			plan: sources.length === 1 ? sources[0]! : "mixed",
			level: lead?.level ?? null,
			...(lead?.weeks ? { weeks: span(lead.weeks) } : {}),
			granularity: q.granularity ?? null,
			timezone: tz,
			date_range: span(range),
			...(reasons.length ? { raw_reason: reasons.join("; ") } : {}),
			...(answers.length > 1
				? {
						parts: answers.map((a, i) => ({
							metrics: parts[i]!.metrics.map((m) => m.name),
							plan: a.main.source,
							level: a.main.plan?.level ?? null,
							rows_scanned: a.main.rowsScanned,
							...(a.main.plan?.reason ? { raw_reason: a.main.plan.reason } : {}),
						})),
					}
				: {}),
			...(binDim ? { bins: binDim.edges } : {}),
			...(prevRange
				? {
						comparison: {
							kind: q.compare,
							date_range: span(prevRange),
							plan: answers[0]!.prev?.source ?? null,
							level: answers[0]!.prev?.plan?.level ?? null,
							rows_scanned: answers.reduce((n, a) => n + (a.prev?.rowsScanned ?? 0), 0),
						},
					}
				: {}),
			rows_scanned: answers.reduce((n, a) => n + a.main.rowsScanned, 0),
			...(rollupExecs.length
				? {
						pending_hours: rollupExecs.reduce((n, a) => n + (a.main.exec?.pendingHours ?? 0) + (a.prev?.exec?.pendingHours ?? 0), 0),
						...unrolled(rollupExecs.flatMap((a) => [a.main.exec, a.prev?.exec ?? null])),
					}
				: {}),
			total_rows: total,
			...(rollupExecs.length && (uses("uniques") || uses("quantile"))
				? { accuracy: { uniques_standard_error: round(HLL_STANDARD_ERROR), quantile_relative_error: DD_RELATIVE_ACCURACY } }
				: {}),
			took_ms: Date.now() - started,
		},
	};
}
