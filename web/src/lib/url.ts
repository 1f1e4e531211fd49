// Every view's state lives in the URL's query string, so a view can be bookmarked and shared.
// Parsing never throws: what it cannot read falls back to the default. Pure: no DOM.
import { GRANULARITIES, type Granularity, isDate, isPreset, type RangeSel } from "./range";

export const FILTER_OPS = ["is", "is_not", "contains", "gt", "lt"] as const;
export type FilterOp = (typeof FILTER_OPS)[number];
export type FilterValue = string | number | null;
/** One filter with one value: `[op, dimension, value]`, as POST /v1/query takes it. */
export type Filter = [FilterOp, string, FilterValue];

/** Dimensions whose values are numbers (filters must send numbers for them). */
const NUMERIC_DIMS = new Set(["hour_of_day", "day_of_week"]);
const SIMPLE_DIMS = ["event", "country", "device", "browser", "os", "hour_of_day", "day_of_week"];
const PROP = /^prop:[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99}$/;

export const isDimension = (d: string) => SIMPLE_DIMS.includes(d) || PROP.test(d);

/**
 * A filter as one URL parameter: `op:dimension:value`, e.g. `is:country:US`,
 * `is_not:prop:plan:free`; without a value part (`is:prop:plan`) the value is null (missing).
 */
export function encodeFilter([op, dim, value]: Filter): string {
	return value == null ? `${op}:${dim}` : `${op}:${dim}:${value}`;
}

export function decodeFilter(s: string): Filter | null {
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
	if (!isDimension(dim)) return null;
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
}

const METRIC = /^(count|uniques|(sum|avg|min|max|p50|p90|p95|p99):[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99})$/;
export const isMetric = (m: string) => METRIC.test(m);

const parseGranularity = (s: string | null): Granularity | null => ((GRANULARITIES as readonly string[]).includes(s ?? "") ? (s as Granularity) : null);

export function parseOverview(search: string): OverviewView {
	const p = new URLSearchParams(search);
	const metric = p.get("metric");
	return { ...parseBase(p), metric: metric && isMetric(metric) ? metric : null, g: parseGranularity(p.get("g")) };
}

/** The query string of a view (without "?"); defaults are left out, so URLs stay short. */
export function overviewSearch(v: OverviewView): string {
	const p = new URLSearchParams();
	writeBase(p, v);
	if (v.metric) p.set("metric", v.metric);
	if (v.g) p.set("g", v.g);
	return tidyQuery(p);
}

export function parseSupport(search: string): BaseView {
	return parseBase(new URLSearchParams(search));
}

export function supportSearch(v: BaseView): string {
	const p = new URLSearchParams();
	writeBase(p, v);
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

export const CHART_TYPES = ["line", "bar", "table", "number"] as const;
export type ChartType = (typeof CHART_TYPES)[number];
export const COMPARES = ["previous_period", "previous_year"] as const;
export type Compare = (typeof COMPARES)[number];

/** The query builder: everything POST /v1/query accepts, and how to draw it. */
export interface ExploreView extends BaseView {
	metrics: string[];
	dimensions: string[];
	g: Granularity | null;
	compare: Compare | null;
	order: [string, "asc" | "desc"] | null;
	limit: number | null;
	source: "auto" | "raw";
	chart: ChartType;
}

export const DEFAULT_EXPLORE: Omit<ExploreView, keyof BaseView> = {
	metrics: ["count"],
	dimensions: [],
	g: "day",
	compare: null,
	order: null,
	limit: null,
	source: "auto",
	chart: "line",
};

const list = (s: string | null) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : []);
const unique = <T>(a: T[]) => [...new Set(a)];

export function parseExplore(search: string): ExploreView {
	const p = new URLSearchParams(search);
	const metrics = unique(list(p.get("m")).filter(isMetric)).slice(0, 10);
	const dimensions = unique(list(p.get("d")).filter(isDimension)).slice(0, 3);
	const compare = p.get("cmp");
	const [ok, od] = (p.get("o") ?? "").split(":");
	const limit = Number(p.get("l"));
	const chart = p.get("chart");
	const g = p.get("g");
	return {
		...parseBase(p),
		metrics: metrics.length ? metrics : DEFAULT_EXPLORE.metrics,
		dimensions,
		g: g === "none" ? null : (parseGranularity(g) ?? DEFAULT_EXPLORE.g),
		compare: (COMPARES as readonly string[]).includes(compare ?? "") ? (compare as Compare) : null,
		order: ok && (od === "asc" || od === "desc") ? [ok, od] : null,
		limit: Number.isInteger(limit) && limit >= 1 && limit <= 10_000 ? limit : null,
		source: p.get("src") === "raw" ? "raw" : "auto",
		chart: (CHART_TYPES as readonly string[]).includes(chart ?? "") ? (chart as ChartType) : DEFAULT_EXPLORE.chart,
	};
}

export function exploreSearch(v: ExploreView): string {
	const p = new URLSearchParams();
	writeBase(p, v);
	p.set("m", v.metrics.join(","));
	if (v.dimensions.length) p.set("d", v.dimensions.join(","));
	if (v.g !== DEFAULT_EXPLORE.g) p.set("g", v.g ?? "none");
	if (v.compare) p.set("cmp", v.compare);
	if (v.order) p.set("o", `${v.order[0]}:${v.order[1]}`);
	if (v.limit != null) p.set("l", String(v.limit));
	if (v.source === "raw") p.set("src", "raw");
	if (v.chart !== DEFAULT_EXPLORE.chart) p.set("chart", v.chart);
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
