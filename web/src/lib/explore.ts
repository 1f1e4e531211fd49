// The query builder: its URL state → a POST /v1/query body, the curl command to copy, and back
// from a saved report's query to the builder's state. Pure.
import type { QueryInput } from "../api/types";
import { checkDim, checkFilter, checkMetric, type DimSpec, type Filter, type MetricSpec } from "./query";
import { ALL_GRANULARITIES, type AnyGranularity, apiRange, isDate, isPreset, type RangeSel } from "./range";
import { CHART_TYPES, type ChartType, COMPARES, type Compare, DEFAULT_EXPLORE, DEFAULT_RANGE, type ExploreView, type Order } from "./url";

/** The dimensions as the API takes them: the distribution with its bins, the others by name. */
export function apiDimensions(v: Pick<ExploreView, "dimensions" | "bins">): DimSpec[] {
	return v.dimensions.map((d) => (d.startsWith("bins:") && v.bins ? ("edges" in v.bins ? { dimension: d, edges: v.bins.edges } : { dimension: d, bins: v.bins.count }) : d));
}

/** The request body, exactly as the page sends it (and as the JSON and curl panes show it). */
export function exploreQuery(v: ExploreView): QueryInput {
	return {
		metrics: v.metrics,
		date_range: apiRange(v.range),
		...(v.tz ? { timezone: v.tz } : {}),
		...(v.g ? { granularity: v.g } : {}),
		...(v.dimensions.length ? { dimensions: apiDimensions(v) } : {}),
		...(v.filters.length ? { filters: v.filters } : {}),
		...(v.compare ? { compare: v.compare } : {}),
		...(v.order.length ? { order_by: v.order } : {}),
		...(v.limit != null ? { limit: v.limit } : {}),
		...(v.perGroup != null ? { limit_per_group: v.perGroup } : {}),
		...(v.source === "raw" ? { source: "raw" as const } : {}),
		...(v.insights && v.g ? { insights: { anomalies: true, trend: true, forecast: { horizon: FORECAST_HORIZON[v.g] } } } : {}),
	};
}

/** Buckets forecast by the insights toggle: a day of hours, a week of days, a season otherwise. */
const FORECAST_HORIZON: Record<AnyGranularity, number> = { minute: 30, hour: 24, day: 7, week: 4, month: 3, quarter: 2, year: 1 };

/**
 * JSON as people read it: indented, but an array of plain values (a filter, a list of dimensions)
 * and a short object on one line each.
 */
export function prettyJson(v: unknown, indent = ""): string {
	if (v === null || typeof v !== "object") return JSON.stringify(v);
	const line = inline(v);
	const plain = Array.isArray(v) && v.every((x) => x === null || typeof x !== "object" || (Array.isArray(x) && x.every((y) => y === null || typeof y !== "object")));
	if (plain || line.length + indent.length <= 64) return line;
	const inner = `${indent}  `;
	const items = Array.isArray(v) ? v.map((x) => inner + prettyJson(x, inner)) : Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${inner}${JSON.stringify(k)}: ${prettyJson(x, inner)}`);
	return Array.isArray(v) ? `[\n${items.join(",\n")}\n${indent}]` : `{\n${items.join(",\n")}\n${indent}}`;
}

/** JSON on one line, with a space after each comma and colon (strings are left as they are). */
function inline(v: unknown): string {
	if (v === null || typeof v !== "object") return JSON.stringify(v);
	if (Array.isArray(v)) return `[${v.map(inline).join(", ")}]`;
	return `{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(", ")}}`;
}

/** Single-quotes a string for a POSIX shell. */
const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The same request as a curl command; the key comes from $EDGEWISE_KEY, never pasted in. */
export function curlCommand(origin: string, body: QueryInput): string {
	return [
		`curl -X POST ${origin}/v1/query`,
		`  -H "Authorization: Bearer $EDGEWISE_KEY"`,
		`  -H 'Content-Type: application/json'`,
		`  -d ${shellQuote(JSON.stringify(body))}`,
	].join(" \\\n");
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const whole = (v: unknown, max: number) => (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= max ? v : null);

function rangeOf(v: unknown): RangeSel | null {
	if (typeof v === "string") return isPreset(v) ? { preset: v } : null;
	if (isObject(v) && typeof v.from === "string" && typeof v.to === "string" && isDate(v.from) && isDate(v.to) && v.from <= v.to) return { from: v.from, to: v.to };
	return null;
}

/**
 * A saved report's query (or any POST /v1/query body) as the builder's state, and what of it the
 * builder could not take (said on the page rather than dropped silently).
 */
export function viewFromQuery(query: Record<string, unknown>, chart: string, report: string | null): { view: ExploreView; problems: string[] } {
	const problems: string[] = [];
	const take = <T>(field: string, items: unknown, check: (x: unknown) => T | null): T[] => {
		if (items === undefined) return [];
		const all = Array.isArray(items) ? items : [items];
		const ok = all.map(check);
		if (ok.some((x) => x == null)) problems.push(`some of ${field}`);
		return ok.filter((x): x is T => x != null);
	};
	const metrics = take<MetricSpec>("metrics", query.metrics, checkMetric).slice(0, 10);
	const dims = take<DimSpec>("dimensions", query.dimensions, checkDim).slice(0, 3);
	const filters = take<Filter>("filters", query.filters, checkFilter).slice(0, 20);
	const range = rangeOf(query.date_range);
	if (!range) problems.push("date_range (date-times are shown as the last 30 days)");
	const bins = dims.find((d): d is Exclude<DimSpec, string> => typeof d === "object");
	const g = query.granularity;
	const orders = Array.isArray(query.order_by)
		? query.order_by.filter((o): o is Order => Array.isArray(o) && o.length === 2 && typeof o[0] === "string" && (o[1] === "asc" || o[1] === "desc")).slice(0, 5)
		: [];
	const tz = typeof query.timezone === "string" && query.timezone.length <= 64 ? query.timezone : null;
	const view: ExploreView = {
		range: range ?? DEFAULT_RANGE,
		tz,
		filters,
		metrics: metrics.length ? metrics : DEFAULT_EXPLORE.metrics,
		dimensions: dims.map((d) => (typeof d === "string" ? d : d.dimension)),
		bins: bins?.edges ? { edges: bins.edges } : bins?.bins ? { count: bins.bins } : null,
		g: typeof g === "string" && (ALL_GRANULARITIES as readonly string[]).includes(g) ? (g as AnyGranularity) : null,
		compare: (COMPARES as readonly unknown[]).includes(query.compare) ? (query.compare as Compare) : null,
		order: orders,
		limit: whole(query.limit, 10_000),
		perGroup: whole(query.limit_per_group, 10_000),
		source: query.source === "raw" ? "raw" : "auto",
		chart: (CHART_TYPES as readonly string[]).includes(chart) ? (chart as ChartType) : "table",
		report,
		insights: query.insights != null && typeof query.insights === "object",
	};
	return { view, problems };
}
