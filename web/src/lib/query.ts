// Metrics and dimensions as POST /v1/query takes them (workers/query/spec.ts): plain names, metrics
// with filters of their own, formulas over other metrics, distributions. What they are called, how
// their values read, and how untrusted copies of them (a URL, a saved report) are checked. Pure.

export const FILTER_OPS = ["is", "is_not", "contains", "gt", "lt"] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
export type FilterValue = string | number | null;
/** `[op, dimension, value]`, a list of values meaning any of them. */
export type Filter = [FilterOp, string, FilterValue | FilterValue[]];

/** {"metric":"count","name":"escalated","filters":[…]}: a metric with conditions of its own. */
export interface NamedMetric {
	metric: string;
	name?: string;
	filters?: Filter[];
	hidden?: boolean;
}
/** {"name":"escalation_rate","formula":"escalated / started","percent":true}. */
export interface Formula {
	name: string;
	formula: string;
	percent?: boolean;
	hidden?: boolean;
}
export type MetricSpec = string | NamedMetric | Formula;
/** A distribution with explicit edges or a number of automatic bins. */
export interface BinsDim {
	dimension: string;
	edges?: number[];
	bins?: number;
}
export type DimSpec = string | BinsDim;

export const AGGS = ["sum", "avg", "min", "max", "p50", "p90", "p95", "p99"] as const;
export const PAIR_AGGS = ["avg", "min", "max", "p50", "p90", "p95", "p99"] as const;
export const PAIR_COUNTS = ["started", "closed", "open"] as const;
export const SIMPLE_DIMS = ["event", "country", "device", "browser", "os", "hour_of_day", "day_of_week"] as const;

const PROP = "[A-Za-z0-9_$][A-Za-z0-9_$.\\- ]{0,99}";
const PAIR = "[a-z][a-z0-9_]{0,39}";
const METRIC = new RegExp(
	`^(count|uniques|uniques:(prop:)?${PROP}|(${AGGS.join("|")}):${PROP}|(${PAIR_AGGS.join("|")}):pair:${PAIR}|(${PAIR_COUNTS.join("|")}):${PAIR})$`,
);
const DIM = new RegExp(`^(${SIMPLE_DIMS.join("|")}|prop:${PROP}|bins:${PROP})$`);
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const PROP_NAME = new RegExp(`^${PROP}$`);
export const PAIR_NAME = new RegExp(`^${PAIR}$`);

/** A metric name the API knows: count, uniques, uniques:prop:agent_id, p95:response_time_ms, avg:pair:first_response, open:resolution. */
export const isMetricString = (s: string) => METRIC.test(s);
/** A dimension name: event … day_of_week, prop:<property>, bins:<property>. */
export const isDimension = (d: string) => DIM.test(d);
/** A name for a metric or formula (what formulas and order_by refer to). */
export const isMetricName = (s: string) => NAME.test(s);

export const isFormula = (m: MetricSpec): m is Formula => typeof m === "object" && "formula" in m;
export const isNamed = (m: MetricSpec): m is NamedMetric => typeof m === "object" && "metric" in m;
/** The name a metric has in answers (meta.metrics) and formulas. */
export const metricName = (m: MetricSpec) => (typeof m === "string" ? m : isFormula(m) ? m.name : (m.name ?? m.metric));
export const isHidden = (m: MetricSpec) => typeof m === "object" && m.hidden === true;

/** Dimensions whose values are numbers (filters must send numbers for them). */
export const NUMERIC_DIMS = new Set(["hour_of_day", "day_of_week"]);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isValue = (v: unknown): v is FilterValue => v === null || (typeof v === "string" && v.length <= 500) || (typeof v === "number" && Number.isFinite(v));

/** A filter from untrusted JSON, or null if the API would refuse it. */
export function checkFilter(v: unknown): Filter | null {
	if (!Array.isArray(v) || v.length !== 3) return null;
	const [op, dim, value] = v as unknown[];
	if (typeof op !== "string" || !(FILTER_OPS as readonly string[]).includes(op) || typeof dim !== "string" || !isDimension(dim) || dim.startsWith("bins:")) return null;
	const values = Array.isArray(value) ? value : [value];
	if (values.length < 1 || values.length > 100 || !values.every(isValue)) return null;
	if ((op === "gt" || op === "lt") && (Array.isArray(value) || typeof value !== "number" || !(NUMERIC_DIMS.has(dim) || dim.startsWith("prop:")))) return null;
	if (op === "contains" && values.some((x) => typeof x !== "string")) return null;
	return [op as FilterOp, dim, Array.isArray(value) ? (value as FilterValue[]) : (value as FilterValue)];
}

/** A metric from untrusted JSON (a URL, a saved report), or null if the API would refuse it. */
export function checkMetric(v: unknown): MetricSpec | null {
	if (typeof v === "string") return isMetricString(v) ? v : null;
	if (!isObject(v)) return null;
	const hidden = v.hidden === true ? { hidden: true } : {};
	if ("formula" in v) {
		if (typeof v.name !== "string" || !isMetricName(v.name) || typeof v.formula !== "string" || !v.formula.trim() || v.formula.length > 500) return null;
		if (Object.keys(v).some((k) => !["name", "formula", "percent", "hidden"].includes(k))) return null;
		return { name: v.name, formula: v.formula, ...(v.percent === true ? { percent: true } : {}), ...hidden };
	}
	if (typeof v.metric !== "string" || !isMetricString(v.metric)) return null;
	if (Object.keys(v).some((k) => !["name", "metric", "filters", "hidden"].includes(k))) return null;
	if (v.name !== undefined && (typeof v.name !== "string" || !isMetricName(v.name))) return null;
	const filters = v.filters === undefined ? [] : Array.isArray(v.filters) ? v.filters.map(checkFilter) : [null];
	if (filters.some((f) => f == null) || filters.length > 10 || (filters.length && v.name === undefined)) return null;
	return { metric: v.metric, ...(typeof v.name === "string" ? { name: v.name } : {}), ...(filters.length ? { filters: filters as Filter[] } : {}), ...hidden };
}

/** A dimension from untrusted JSON, or null. */
export function checkDim(v: unknown): DimSpec | null {
	if (typeof v === "string") return isDimension(v) ? v : null;
	if (!isObject(v) || typeof v.dimension !== "string" || !v.dimension.startsWith("bins:") || !isDimension(v.dimension)) return null;
	if (Array.isArray(v.edges)) {
		const e = v.edges;
		return checkEdges(e) ? { dimension: v.dimension, edges: e as number[] } : null;
	}
	if (typeof v.bins === "number") return Number.isInteger(v.bins) && v.bins >= 1 && v.bins <= 50 ? { dimension: v.dimension, bins: v.bins } : null;
	return { dimension: v.dimension };
}

/** Bin edges the API takes: 1-50 finite numbers, strictly ascending. */
export const checkEdges = (e: unknown[]): boolean =>
	e.length >= 1 && e.length <= 50 && e.every((x, i) => typeof x === "number" && Number.isFinite(x) && (i === 0 || x > (e[i - 1] as number)));

/** "0, 1000, 5000" → [0, 1000, 5000], or null. */
export function parseEdges(s: string): number[] | null {
	const parts = s.split(/[\s,;]+/).filter(Boolean);
	const nums = parts.map(Number);
	return parts.length && checkEdges(nums) ? nums : null;
}

/** The pair a metric measures (avg:pair:first_response, open:resolution), or null. */
export function pairOf(metric: string): string | null {
	const m = /^(?:(?:avg|min|max|p50|p90|p95|p99):pair:|(?:started|closed|open):)([a-z][a-z0-9_]*)$/.exec(metric);
	return m ? m[1]! : null;
}

/** Pairs named by the metrics of these queries (a read key's way to learn the tenant's pairs). */
export function pairsInQueries(queries: unknown[]): string[] {
	const out = new Set<string>();
	for (const q of queries) {
		if (!isObject(q) || !Array.isArray(q.metrics)) continue;
		for (const m of q.metrics) {
			const s = typeof m === "string" ? m : isObject(m) && typeof m.metric === "string" ? m.metric : null;
			const p = s ? pairOf(s) : null;
			if (p) out.add(p);
		}
	}
	return [...out].sort();
}

// ── how values read ──

/** How a metric's values read: counts and amounts, percentages, or milliseconds as durations. */
export type Format = "number" | "percent" | "duration";

/** Properties named *_ms (or *_millis) hold durations. */
const msProp = (p: string) => /(_ms|_millis|Ms)$/.test(p);

/** The format of a metric name: pair durations and *_ms statistics (not sums) are durations. */
export function formatOfMetric(metric: string): Format {
	if (/^(avg|min|max|p50|p90|p95|p99):pair:/.test(metric)) return "duration";
	const m = /^(avg|min|max|p50|p90|p95|p99):(.+)$/.exec(metric);
	return m && msProp(m[2]!) ? "duration" : "number";
}

/**
 * Formats of an answer's metrics (meta.metrics), from the query's own specs when known (a formula
 * with `percent`, a named metric's underlying one), else guessed from the names (a shared board shows
 * no queries): `*_ms` are durations, `*_rate`, `*_share`, `*_pct` percentages.
 */
export function metricFormats(names: string[], specs: MetricSpec[] | null): Format[] {
	const byName = new Map((specs ?? []).map((m) => [metricName(m), m]));
	return names.map((name) => {
		const spec = byName.get(name);
		if (spec !== undefined) return typeof spec === "string" ? formatOfMetric(spec) : isFormula(spec) ? (spec.percent ? "percent" : "number") : formatOfMetric(spec.metric);
		if (name.includes(":")) return formatOfMetric(name);
		if (msProp(name)) return "duration";
		return /(^|_)(rate|share|pct|percent|percentage)$/.test(name) ? "percent" : "number";
	});
}

const OPS: Record<FilterOp, string> = { is: "is", is_not: "is not", contains: "contains", gt: ">", lt: "<" };
const valueText = (v: FilterValue) => (v == null ? "(none)" : String(v));

/** A metric spec in words: "escalated: count where event is conversation_escalated". */
export function describeMetric(m: MetricSpec): string {
	if (typeof m === "string") return m;
	if (isFormula(m)) return `${m.name} = ${m.formula}${m.percent ? " (%)" : ""}`;
	const where = (m.filters ?? []).map(([op, dim, v]) => `${dim.replace(/^prop:/, "")} ${OPS[op]} ${Array.isArray(v) ? v.map(valueText).join(" or ") : valueText(v)}`);
	return `${m.name && m.name !== m.metric ? `${m.name}: ` : ""}${m.metric}${where.length ? ` where ${where.join(" and ")}` : ""}`;
}
