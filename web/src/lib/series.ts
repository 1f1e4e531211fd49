// Query answers → chart data (uPlot's aligned arrays) and the table behind each chart. Pure.
import type { AnswerBody, ResultRow } from "../api/types";
import type { AnyGranularity } from "./range";

/** uPlot's data: x values (epoch seconds) then one array per series, null for a gap. */
export type Aligned = [number[], ...(number | null)[][]];

/** "2026-11-16T00:00:00+01:00" → epoch seconds (the instant the bucket starts). */
export const epochSeconds = (time: string) => Date.parse(time) / 1000;

/**
 * A time series of one metric, with the previous period (matched by position, as the API
 * matches it) as a second series when the answer has a comparison.
 */
export function seriesData(rows: ResultRow[], metricIdx: number, withPrevious: boolean): Aligned {
	const xs: number[] = [];
	const ys: (number | null)[] = [];
	const prev: (number | null)[] = [];
	for (const r of rows) {
		if (r.time == null) continue;
		xs.push(epochSeconds(r.time));
		ys.push(r.metrics[metricIdx] ?? null);
		prev.push(r.comparison?.metrics[metricIdx] ?? null);
	}
	return withPrevious ? [xs, ys, prev] : [xs, ys];
}

/** Several metrics of one time series (e.g. avg, p50, p95 of a response time). */
export function multiSeriesData(rows: ResultRow[], metricIdxs: number[]): Aligned {
	const timed = rows.filter((r) => r.time != null);
	return [timed.map((r) => epochSeconds(r.time!)), ...metricIdxs.map((i) => timed.map((r) => r.metrics[i] ?? null))];
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/**
 * A bucket's start as a label, read from the local time the API writes ("2026-11-16T00:00:00+01:00"
 * is Monday 16 Nov in the query's time zone, whatever the browser's zone is).
 */
export function bucketLabel(time: string, g: AnyGranularity | null): string {
	const [date = "", clock = ""] = time.split("T");
	const [y, m, d] = date.split("-").map(Number) as [number, number, number];
	const weekday = DAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
	const hm = clock.slice(0, 5);
	const offset = clock.slice(8);
	switch (g) {
		case "minute":
		case "hour":
			// The offset tells the two 02:00 hours of a fall-back night apart.
			return `${weekday} ${d} ${MONTHS[m - 1]} ${hm}${g === "hour" && offset && offset !== "Z" ? ` (${offset})` : ""}`;
		case "week":
			return `Week of ${d} ${MONTHS[m - 1]} ${y}`;
		case "month":
			return `${MONTHS[m - 1]} ${y}`;
		case "quarter":
			return `Q${Math.floor((m - 1) / 3) + 1} ${y}`;
		case "year":
			return String(y);
		default:
			return `${weekday} ${d} ${MONTHS[m - 1]} ${y}`;
	}
}

/** The table behind a time-series chart: one row per bucket, one column per series. */
export function seriesTable(rows: ResultRow[], g: AnyGranularity | null, columns: { label: string; idx: number; previous?: boolean }[]) {
	return {
		head: ["Period", ...columns.map((c) => c.label)],
		rows: rows
			.filter((r) => r.time != null)
			.map((r) => [bucketLabel(r.time!, g), ...columns.map((c) => (c.previous ? (r.comparison?.metrics[c.idx] ?? null) : (r.metrics[c.idx] ?? null)))] as [string, ...(number | null)[]]),
	};
}

export interface Kpi {
	metric: string;
	value: number | null;
	previous: number | null;
	changePct: number | null;
}

/** KPI cards from a totals answer with a comparison (one row). */
export function kpis(answer: AnswerBody): Kpi[] {
	const row = answer.results[0];
	return answer.meta.metrics.map((metric, i) => ({
		metric,
		value: row?.metrics[i] ?? null,
		previous: row?.comparison?.metrics[i] ?? null,
		changePct: row?.comparison?.change_pct[i] ?? null,
	}));
}

export interface BreakdownRow {
	value: string | number | null;
	/** The row's metrics, in the answer's order. */
	metrics: (number | null)[];
	/** The first metric relative to the largest row, 0–1, for the proportional bar. */
	share: number;
}

/** Rows of a one-dimension breakdown, with the share of the largest for its bar. */
export function breakdownRows(answer: AnswerBody): BreakdownRow[] {
	const max = Math.max(0, ...answer.results.map((r) => r.metrics[0] ?? 0));
	return answer.results.map((r) => ({
		value: r.dimensions[0] ?? null,
		metrics: r.metrics,
		share: max > 0 ? (r.metrics[0] ?? 0) / max : 0,
	}));
}
