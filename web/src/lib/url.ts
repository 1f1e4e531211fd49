// Every view's state lives in the URL's query string, so a view can be bookmarked and shared.
// Parsing never throws: what it cannot read falls back to the default. Pure: no DOM.
import { checkEdges, checkFilter, checkMetric, FILTER_OPS, type Filter, type FilterOp, type FilterValue, isDimension, isMetricString, type MetricSpec, NUMERIC_DIMS } from "./query";
import { ALL_GRANULARITIES, type AnyGranularity, GRANULARITIES, type Granularity, isDate, isPreset, type RangeSel } from "./range";

export { FILTER_OPS, isDimension };
export type { Filter, FilterOp, FilterValue };

/**
 * A filter as one URL parameter: `op:dimension:value`, e.g. `is:country:US`,
 * `is_not:prop:plan:free`; without a value part (`is:prop:plan`) the value is null (missing). A
 * list of values (any of them) is written as the filter's JSON: `["is","prop:sender_type",["ai","agent"]]`.
 */
export function encodeFilter([op, dim, value]: Filter): string {
	if (Array.isArray(value)) return JSON.stringify([op, dim, value]);
	return value == null ? `${op}:${dim}` : `${op}:${dim}:${value}`;
}

export function decodeFilter(s: string): Filter | null {
	if (s.startsWith("[")) {
		try {
			return checkFilter(JSON.parse(s));
		} catch {
			return null;
		}
	}
	const i = s.indexOf(":");
	if (i < 0) return null;
	const op = s.slice(0, i);
	if (!(FILTER_OPS as readonly string[]).includes(op)) return null;
	let rest = s.slice(i + 1);
	let dim: string;
	if (rest.startsWith("prop:")) {
		const j = rest.indexOf(":", 5);
		dim = j < 0 ? rest : rest.slice(0, j);
		rest = j < 0 ? "" : rest.slice(j);
	} else {
		const j = rest.indexOf(":");
		dim = j < 0 ? rest : rest.slice(0, j);
		rest = j < 0 ? "" : rest.slice(j);
	}
	if (!isDimension(dim) || dim.startsWith("bins:")) return null;
	const raw = rest.startsWith(":") ? rest.slice(1) : null;
	let value: FilterValue = raw;
	if (raw != null && (NUMERIC_DIMS.has(dim) || op === "gt" || op === "lt")) {
		const n = Number(raw);
		if (raw === "" || !Number.isFinite(n)) return null;
		value = n;
	}
	if ((op === "gt" || op === "lt") && (typeof value !== "number" || !(NUMERIC_DIMS.has(dim) || dim.startsWith("prop:")))) return null;
	if (op === "contains" && typeof value !== "string") return null;
	return [op as FilterOp, dim, value];
}

/** State shared by the overview, support and explore screens. */
export interface BaseView {
	range: RangeSel;
	/** null: the tenant's own time zone. */
	tz: string | null;
	filters: Filter[];
}

export const DEFAULT_RANGE: RangeSel = { preset: "30d" };

function parseRange(p: URLSearchParams): RangeSel {
	const from = p.get("from");
	const to = p.get("to");
	if (from && to && isDate(from) && isDate(to) && from <= to) return { from, to };
	const preset = p.get("range");
	return isPreset(preset) ? { preset } : DEFAULT_RANGE;
}

const TZ = /^[A-Za-z_]+(\/[A-Za-z0-9_+\-]+)*$/;

export function parseBase(p: URLSearchParams): BaseView {
	const tz = p.get("tz");
	return {
		range: parseRange(p),
		tz: tz && TZ.test(tz) && tz.length <= 64 ? tz : null,
		filters: p.getAll("f").map(decodeFilter).filter((f): f is Filter => f != null).slice(0, 20),
	};
}

/** URLSearchParams.toString(), with ":", "," and "/" left readable (all are fine in a query string). */
export const tidyQuery = (p: URLSearchParams) => p.toString().replace(/%3A/gi, ":").replace(/%2C/gi, ",").replace(/%2F/gi, "/");

function writeBase(p: URLSearchParams, v: BaseView) {
	if ("preset" in v.range) {
		if (v.range.preset !== (DEFAULT_RANGE as { preset: string }).preset) p.set("range", v.range.preset);
	} else {
		p.set("from", v.range.from);
		p.set("to", v.range.to);
	}
	if (v.tz) p.set("tz", v.tz);
	for (const f of v.filters) p.append("f", encodeFilter(f));
}

/** The overview: the base view, the main chart's metric and granularity. */
export interface OverviewView extends BaseView {
	/** null: the first KPI (events). */
	metric: string | null;
	/** null: the range's default. */
	g: Granularity | null;
	/** Anomalies, trend and forecast on the main chart (`ins=1`). */
	insights?: boolean;
}

const METRIC = /^(count|uniques|(sum|avg|min|max|p50|p90|p95|p99):[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99})$/;
export const isMetric = (m: string) => METRIC.test(m);

const parseGranularity = (s: string | null): Granularity | null => ((GRANULARITIES as readonly string[]).includes(s ?? "") ? (s as Granularity) : null);

export function parseOverview(search: string): OverviewView {
	const p = new URLSearchParams(search);
	const metric = p.get("metric");
	return { ...parseBase(p), metric: metric && isMetric(metric) ? metric : null, g: parseGranularity(p.get("g")), ...(p.get("ins") === "1" ? { insights: true } : {}) };
}

/** The query string of a view (without "?"); defaults are left out, so URLs stay short. */
export function overviewSearch(v: OverviewView): string {
	const p = new URLSearchParams();
	writeBase(p, v);
	if (v.metric) p.set("metric", v.metric);
	if (v.g) p.set("g", v.g);
	if (v.insights) p.set("ins", "1");
	return tidyQuery(p);
}

/**
 * A board (and the Support page, which shows the Support board): each report's own date range, or
 * one range and zone for all of them (`range`, `from`/`to`, `tz`); `edit` opens the editor.
 */
export interface BoardViewState {
	/** null: each report's saved range. */
	range: RangeSel | null;
	tz: string | null;
	edit: boolean;
}

export function parseBoardView(search: string): BoardViewState {
	const p = new URLSearchParams(search);
	const base = parseBase(p);
	const given = p.has("range") || (p.has("from") && p.has("to"));
	return { range: given && (p.has("from") || isPreset(p.get("range"))) ? base.range : null, tz: base.tz, edit: p.get("edit") === "1" };
}

export function boardSearch(v: BoardViewState): string {
	const p = new URLSearchParams();
	if (v.edit) p.set("edit", "1");
	if (v.range && "preset" in v.range) p.set("range", v.range.preset);
	else if (v.range) {
		p.set("from", v.range.from);
		p.set("to", v.range.to);
	}
	if (v.tz) p.set("tz", v.tz);
	return tidyQuery(p);
}

/** Adds a filter; an `is` on a dimension replaces the `is` filters already on it. */
export function addFilter(filters: Filter[], f: Filter): Filter[] {
	if (filters.some((x) => encodeFilter(x) === encodeFilter(f))) return filters;
	const kept = f[0] === "is" ? filters.filter(([op, dim]) => !(op === "is" && dim === f[1])) : filters;
	return [...kept, f];
}

export const removeFilter = (filters: Filter[], f: Filter): Filter[] => filters.filter((x) => encodeFilter(x) !== encodeFilter(f));

// ── explore ──

/** How a report is drawn (the API's chart types). */
export const CHART_TYPES = ["line", "bar", "table", "number", "heatmap"] as const;
export type ChartType = (typeof CHART_TYPES)[number];
export const COMPARES = ["previous_period", "previous_year"] as const;
export type Compare = (typeof COMPARES)[number];
export type Order = [string, "asc" | "desc"];
/** A distribution's bins: explicit edges, or a number of automatic ones (null: the API's default, 10). */
export type BinsSel = { edges: number[] } | { count: number } | null;

/** The query builder: everything POST /v1/query accepts, how to draw it, and the saved report it came from. */
export interface ExploreView extends BaseView {
	metrics: MetricSpec[];
	/** Names: event … day_of_week, prop:<p>, bins:<p> (its bins in `bins`). */
	dimensions: string[];
	bins: BinsSel;
	g: AnyGranularity | null;
	compare: Compare | null;
	order: Order[];
	limit: number | null;
	/** limit_per_group: the top N of the last dimension within each group. */
	perGroup: number | null;
	source: "auto" | "raw";
	chart: ChartType;
	/** The saved report this view was opened from (saving updates it). */
	report: string | null;
	/** Anomalies, trend and forecast on the time chart (the query's `insights`; needs a granularity). */
	insights: boolean;
}

export const DEFAULT_EXPLORE: Omit<ExploreView, keyof BaseView> = {
	insights: false,
	metrics: ["count"],
	dimensions: [],
	bins: null,
	g: "day",
	compare: null,
	order: [],
	limit: null,
	perGroup: null,
	source: "auto",
	chart: "line",
	report: null,
};

const list = (s: string | null) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : []);
const unique = <T>(a: T[]) => [...new Set(a)];
const count = (s: string | null, max: number) => {
	const n = Number(s);
	return s && Number.isInteger(n) && n >= 1 && n <= max ? n : null;
};
const REPORT_ID = /^rep_[a-z0-9]{1,60}$/;

/**
 * Metrics in the URL: `m` parameters, each a comma list of metric names (`m=count,uniques`) or one
 * metric object or formula as JSON (`m={"name":"rate","formula":"a / b","percent":true}`), in order.
 */
function parseMetrics(values: string[]): MetricSpec[] {
	const out: MetricSpec[] = [];
	for (const v of values) {
		if (v.startsWith("{")) {
			try {
				const m = checkMetric(JSON.parse(v));
				if (m) out.push(m);
			} catch {
				// not JSON: left out
			}
		} else out.push(...list(v).filter(isMetricString));
	}
	const names = out.map((m) => (typeof m === "string" ? m : "formula" in m ? m.name : (m.name ?? m.metric)));
	return out.filter((_, i) => names.indexOf(names[i]!) === i).slice(0, 10);
}

function writeMetrics(p: URLSearchParams, metrics: MetricSpec[]) {
	let run: string[] = [];
	const flush = () => run.length && (p.append("m", run.join(",")), (run = []));
	for (const m of metrics) {
		if (typeof m === "string") run.push(m);
		else {
			flush();
			p.append("m", JSON.stringify(m));
		}
	}
	flush();
}

/** `o=key:dir`, repeated; the key may hold colons (p95:response_time_ms:desc, change_pct:count:desc). */
function parseOrder(values: string[]): Order[] {
	return values
		.map((v) => {
			const i = v.lastIndexOf(":");
			const dir = v.slice(i + 1);
			return i > 0 && (dir === "asc" || dir === "desc") ? ([v.slice(0, i), dir] as Order) : null;
		})
		.filter((o): o is Order => o != null)
		.slice(0, 5);
}

/** `bins=0,1000,5000` (edges) or `bins=auto:20` (automatic bins). */
function parseBins(s: string | null): BinsSel {
	if (!s) return null;
	if (s.startsWith("auto:")) {
		const n = count(s.slice(5), 50);
		return n ? { count: n } : null;
	}
	const edges = s.split(",").map(Number);
	return checkEdges(edges) ? { edges } : null;
}

export function parseExplore(search: string): ExploreView {
	const p = new URLSearchParams(search);
	const metrics = parseMetrics(p.getAll("m"));
	const dimensions = unique(p.getAll("d").flatMap(list).filter(isDimension));
	const dims = dimensions.filter((d, i) => !d.startsWith("bins:") || dimensions.findIndex((x) => x.startsWith("bins:")) === i).slice(0, 3);
	const compare = p.get("cmp");
	const chart = p.get("chart");
	const g = p.get("g");
	const report = p.get("report");
	return {
		...parseBase(p),
		metrics: metrics.length ? metrics : DEFAULT_EXPLORE.metrics,
		dimensions: dims,
		bins: dims.some((d) => d.startsWith("bins:")) ? parseBins(p.get("bins")) : null,
		g: g === "none" ? null : ((ALL_GRANULARITIES as readonly string[]).includes(g ?? "") ? (g as AnyGranularity) : DEFAULT_EXPLORE.g),
		compare: (COMPARES as readonly string[]).includes(compare ?? "") ? (compare as Compare) : null,
		order: parseOrder(p.getAll("o")),
		limit: count(p.get("l"), 10_000),
		perGroup: count(p.get("lpg"), 10_000),
		source: p.get("src") === "raw" ? "raw" : "auto",
		chart: (CHART_TYPES as readonly string[]).includes(chart ?? "") ? (chart as ChartType) : DEFAULT_EXPLORE.chart,
		report: report && REPORT_ID.test(report) ? report : null,
		insights: p.get("ins") === "1",
	};
}

export function exploreSearch(v: ExploreView): string {
	const p = new URLSearchParams();
	if (v.report) p.set("report", v.report);
	writeBase(p, v);
	writeMetrics(p, v.metrics);
	if (v.dimensions.length) p.set("d", v.dimensions.join(","));
	if (v.bins) p.set("bins", "edges" in v.bins ? v.bins.edges.join(",") : `auto:${v.bins.count}`);
	if (v.g !== DEFAULT_EXPLORE.g) p.set("g", v.g ?? "none");
	if (v.compare) p.set("cmp", v.compare);
	for (const [k, d] of v.order) p.append("o", `${k}:${d}`);
	if (v.limit != null) p.set("l", String(v.limit));
	if (v.perGroup != null) p.set("lpg", String(v.perGroup));
	if (v.source === "raw") p.set("src", "raw");
	if (v.chart !== DEFAULT_EXPLORE.chart) p.set("chart", v.chart);
	if (v.insights) p.set("ins", "1");
	return tidyQuery(p);
}

// ── live ──

export interface LiveViewState {
	event: string | null;
}

export function parseLive(search: string): LiveViewState {
	const e = new URLSearchParams(search).get("event");
	return { event: e && e.length <= 200 ? e : null };
}

export const liveSearch = (v: LiveViewState) => (v.event ? tidyQuery(new URLSearchParams({ event: v.event })) : "");
