// A time series with its insights (anomalies, trend, forecast bands) as the columns uPlot draws, and
// the words that explain them. Pure: tested through the browser suite's values.
import type { AnswerBody } from "../api/types";

export type Insights = NonNullable<AnswerBody["insights"]>;
export type SeriesInsight = Insights["series"][number];

/** Columns: x (epoch seconds), value, forecast, lo95, hi95, lo80, hi80, trend, anomaly (null where none). */
export interface InsightColumns {
	xs: number[];
	times: (string | null)[];
	value: (number | null)[];
	forecast: (number | null)[];
	lo95: (number | null)[];
	hi95: (number | null)[];
	lo80: (number | null)[];
	hi80: (number | null)[];
	trend: (number | null)[];
	anomaly: (number | null)[];
}

const sec = (iso: string) => Date.parse(iso) / 1000;

/**
 * The answer's series that `s` describes (its dimensions), with the forecast after it, the trend
 * over the complete buckets and the flagged buckets' values.
 */
export function insightColumns(a: Pick<AnswerBody, "results" | "meta">, ins: Insights, s: SeriesInsight): InsightColumns {
	const m = Math.max(0, a.meta.metrics.indexOf(ins.metric));
	const key = JSON.stringify(s.dimensions);
	const rows = a.results.filter((r) => JSON.stringify(r.dimensions) === key && r.time != null);
	const at = new Map<number, { time: string; value: number | null }>();
	for (const r of rows) at.set(sec(r.time!), { time: r.time!, value: r.metrics[m] ?? null });
	const fc = new Map((s.forecast ?? []).map((f) => [sec(f.time), f]));
	const xs = [...new Set([...at.keys(), ...fc.keys()])].sort((x, y) => x - y);
	const incomplete = s.incomplete_from ? sec(s.incomplete_from) : Number.POSITIVE_INFINITY;
	const flagged = new Map((s.anomalies ?? []).map((p) => [sec(p.time), p.value]));
	const t = s.trend;
	const rowXs = [...at.keys()].sort((x, y) => x - y);
	const idx = new Map(rowXs.map((x, i) => [x, i]));
	return {
		xs,
		times: xs.map((x) => at.get(x)?.time ?? s.forecast?.find((f) => sec(f.time) === x)?.time ?? null),
		// The bucket in progress is shown (it is data) but the forecast says where it is heading.
		value: xs.map((x) => at.get(x)?.value ?? null),
		forecast: xs.map((x) => fc.get(x)?.value ?? null),
		lo95: xs.map((x) => fc.get(x)?.lo95 ?? null),
		hi95: xs.map((x) => fc.get(x)?.hi95 ?? null),
		lo80: xs.map((x) => fc.get(x)?.lo80 ?? null),
		hi80: xs.map((x) => fc.get(x)?.hi80 ?? null),
		trend: xs.map((x) => (t && idx.has(x) && x < incomplete ? t.intercept + t.slope * idx.get(x)! : null)),
		anomaly: xs.map((x) => flagged.get(x) ?? null),
	};
}

/** The trend in words: "up 0.4 per day (95% CI 0.1 to 0.7, p 0.01)". */
export function trendText(s: SeriesInsight, granularity: string | null): string | null {
	const t = s.trend;
	if (!t) return null;
	const per = granularity ?? "bucket";
	const n = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));
	const dir = t.direction === "up" ? "rising" : t.direction === "down" ? "falling" : "flat (no clear direction)";
	return `Trend: ${dir}, ${t.slope >= 0 ? "+" : ""}${n(t.slope)} per ${per} (95% interval ${n(t.slope_ci95[0])} to ${n(t.slope_ci95[1])}, p ${t.p_value < 0.001 ? "< 0.001" : t.p_value.toFixed(3)}, ${t.points} points)`;
}

/** The backtest in words: how far off the forecast was on the series' own end. */
export function backtestText(s: SeriesInsight): string | null {
	const b = s.backtest;
	if (!b) return s.forecast_note ?? null;
	const cov = (c: number) => `${Math.round(c * 100)}%`;
	return `Backtest on the last ${b.horizon} buckets: off by ${b.mae.toFixed(1)} on average${b.mape != null ? ` (${b.mape.toFixed(0)}%)` : ""}; ${cov(b.coverage80)} fell in the 80% band, ${cov(b.coverage95)} in the 95% band.`;
}
