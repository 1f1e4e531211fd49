import { type Deadline, execute, metricValue } from "./execute";
import { type Layout, type PlanQuery, plan } from "./plan";
import { type Dim, type Filter, MAX_AUTO_BINS, parseMetric, type QueryRequest } from "./spec";
import type { DateRange } from "./time";

/** Round steps for automatic bins: 1, 2 and 5 times a power of ten. */
function niceStep(raw: number): number {
	const pow = 10 ** Math.floor(Math.log10(raw));
	for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
	return 10 * pow;
}

/**
 * About `bins` equal bins on round numbers covering [min, max]: the edges' lower ends. An empty
 * distribution gets one bin at 0; a constant one, one bin at its value.
 */
export function niceEdges(min: number | null, max: number | null, bins: number): number[] {
	if (min == null || max == null) return [0];
	if (max <= min) return [min];
	const step = niceStep((max - min) / Math.max(1, Math.min(bins, MAX_AUTO_BINS)));
	const first = Math.floor(min / step) * step;
	const edges: number[] = [];
	// Sums of steps drift (0.1 + 0.2): each edge is computed from the first, and rounded to the step's digits.
	const digits = Math.max(0, -Math.floor(Math.log10(step)));
	for (let k = 0; first + k * step <= max && edges.length <= MAX_AUTO_BINS; k++) edges.push(Number((first + k * step).toFixed(digits)));
	return edges;
}

/**
 * Edges for a distribution dimension without explicit ones: round bins over the property's min and
 * max in the query's range and filters (from rollups when the property is rolled up, else raw).
 */
export async function autoEdges(
	db: D1Database,
	tenantId: string,
	dim: Dim,
	filters: Filter[],
	at: { q: QueryRequest; layout: Layout | null; tz: string; range: DateRange },
	deadline: Deadline,
): Promise<number[]> {
	const min = parseMetric(`min:${dim.prop}`)!;
	const max = parseMetric(`max:${dim.prop}`)!;
	const pq: PlanQuery = { ...at.q, metrics: [min, max], dimensions: [], filters, granularity: null, compare: null, order_by: undefined, limit_per_group: undefined };
	const p = plan(pq, at.layout, at.tz, at.range);
	const ex = await execute(db, tenantId, p, deadline);
	const g = [...ex.groups.values()][0];
	return niceEdges(g ? metricValue(min, g.acc) : null, g ? metricValue(max, g.acc) : null, dim.bins ?? 10);
}
