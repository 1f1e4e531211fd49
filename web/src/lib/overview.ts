// The overview's questions, as one batch of queries, from the tenant's settings and the view. Pure.
import type { QueryInput, Tenant } from "../api/types";
import { apiRange, effectiveGranularity } from "./range";
import type { Filter, OverviewView } from "./url";

/** Breakdowns every tenant has; each of its rolled-up properties (`dimension_props`) adds one. */
export const BASE_BREAKDOWNS = ["event", "country", "device", "browser"] as const;

type TenantSettings = Pick<Tenant, "dimension_props" | "metric_props">;

/** The breakdown cards, in order. */
export const breakdownDims = (t: TenantSettings) => [...BASE_BREAKDOWNS, ...t.dimension_props.map((p) => `prop:${p}`)];

/**
 * The tenant's headline metric: p95 of its first rolled-up numeric property (the tenant chooses
 * it by putting that property first in `metric_props`, in Settings), or none.
 */
export const headlineMetric = (t: TenantSettings): string | null => (t.metric_props[0] ? `p95:${t.metric_props[0]}` : null);

/** The KPI cards: events, unique users and the headline metric. */
export const kpiMetrics = (t: TenantSettings): string[] => ["count", "uniques", ...(headlineMetric(t) ? [headlineMetric(t)!] : [])];

/** The main chart's metric: the one in the URL if it is a KPI, else events. */
export const chartMetric = (t: TenantSettings, v: OverviewView) => (v.metric && kpiMetrics(t).includes(v.metric) ? v.metric : "count");

/** Batch names are [A-Za-z0-9_-]: breakdowns are `bd0`, `bd1`, … in breakdownDims order. */
export const breakdownName = (i: number) => `bd${i}`;

/** Buckets the main chart's insights forecast: a day of hours, a week of days, a season otherwise. */
const HORIZON: Record<string, number> = { minute: 30, hour: 24, day: 7, week: 4, month: 3, quarter: 2, year: 1 };

/**
 * Every query of the overview, for one POST /v1/query/batch: the KPIs (totals with the previous
 * period), the time series of the same metrics (the main chart and each card's sparkline, with
 * the previous period overlaid), and a top-10 breakdown per dimension. With insights on (`ins=1`),
 * the series query also asks for the main chart's metric's anomalies, trend and forecast: still one
 * round trip.
 */
export function overviewQueries(t: TenantSettings, v: OverviewView): Record<string, QueryInput> {
	const base = {
		date_range: apiRange(v.range),
		...(v.tz ? { timezone: v.tz } : {}),
		filters: v.filters,
	};
	const metrics = kpiMetrics(t);
	const queries: Record<string, QueryInput> = {
		kpis: { ...base, metrics, compare: "previous_period" },
		series: {
			...base,
			metrics,
			granularity: effectiveGranularity(v.range, v.g),
			compare: "previous_period",
			...(v.insights ? { insights: { metric: chartMetric(t, v), anomalies: true, trend: true, forecast: { horizon: HORIZON[effectiveGranularity(v.range, v.g)] ?? 7 } } } : {}),
		},
	};
	breakdownDims(t).forEach((dim, i) => {
		// Most events do not carry a given property: list the events that do.
		const filters = dim.startsWith("prop:") ? [...v.filters, ["is_not", dim, null] as Filter] : v.filters;
		queries[breakdownName(i)] = { ...base, filters, metrics: ["count", "uniques"], dimensions: [dim], limit: 10 };
	});
	return queries;
}
