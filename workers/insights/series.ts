import type { Granularity } from "../query/spec";
import { nextStart } from "../query/time";
import { anomalies, forecast, trend } from "./analyze";

/** The season of a granularity, in buckets: what repeats (a week of hours, a week of days, a year of months). */
export function seasonOf(g: Granularity, historyBuckets: number): number {
	if (g === "minute") return 60;
	// A week of hours when there is history for it, else a day of hours.
	if (g === "hour") return historyBuckets >= 4 * 168 ? 168 : 24;
	if (g === "day") return 7;
	if (g === "month") return 12;
	if (g === "quarter") return 4;
	return 1;
}

/** Buckets of history read before the range: enough for the anomaly baseline and its spread (five seasons). */
export const HISTORY_SEASONS = 5;

export interface SeriesInsights {
	dimensions: (string | number | null)[];
	anomalies?: { time: string; value: number; expected: number; score: number }[];
	anomaly_method?: string;
	anomaly_note?: string;
	trend?: ReturnType<typeof trend>;
	forecast?: { time: string; value: number; lo80: number; hi80: number; lo95: number; hi95: number }[];
	forecast_method?: string;
	backtest?: ReturnType<typeof forecast>["backtest"];
	forecast_note?: string;
	/** The first bucket not over yet (now falls in it, or it is in the future): not judged, not fitted; the forecast starts there. */
	incomplete_from?: string;
}

const r4 = (v: number) => Math.round(v * 10_000) / 10_000;

/**
 * Insights for one series: `values` holds the history buckets then the range's (`first` is the
 * index of the range's first bucket), `times` the buckets' starts; buckets from `complete` on are
 * not over yet. A bucket in progress is not an anomaly for being low, nor a point of the trend, nor
 * a past the forecast learns from: the forecast starts with it.
 */
export function seriesInsights(
	dims: (string | number | null)[],
	values: (number | null)[],
	times: number[],
	first: number,
	complete: number,
	opts: { anomalies: boolean; trend: boolean; forecast?: { horizon: number } },
	g: Granularity,
	tz: string,
	format: (t: number) => string,
): SeriesInsights {
	const out: SeriesInsights = { dimensions: dims };
	const done = values.slice(0, complete);
	const season = seasonOf(g, first);
	if (complete < values.length) out.incomplete_from = format(times[complete]!);
	// The detector runs for the forecast too: it is fitted on the series with flagged points at their
	// expected values, so last week's outage or spike is not forecast to come back next week.
	const a = opts.anomalies || opts.forecast ? anomalies(done, season) : null;
	if (opts.anomalies && a) {
		out.anomalies = a.points
			.filter((p) => p.anomaly && p.index >= first)
			.map((p) => ({ time: format(times[p.index]!), value: p.value, expected: r4(p.expected), score: Math.round(p.score * 100) / 100 }));
		out.anomaly_method = a.method;
		if (a.reason) out.anomaly_note = a.reason;
	}
	if (opts.trend) out.trend = trend(done.slice(first), season);
	if (opts.forecast) {
		const expected = new Map((a?.points ?? []).filter((p) => p.anomaly).map((p) => [p.index, p.expected]));
		const f = forecast(
			done.map((v, i) => expected.get(i) ?? v),
			season,
			opts.forecast.horizon,
		);
		// A series that never went below zero (counts, most sums) has no negative future either.
		const floor = done.every((v) => v == null || v >= 0) ? 0 : Number.NEGATIVE_INFINITY;
		const clip = (v: number) => r4(Math.max(floor, v));
		let t = complete < times.length ? times[complete]! : nextStart(g as never, times[times.length - 1]!, tz);
		out.forecast = f.points.map((p, i) => {
			if (i > 0) t = nextStart(g as never, t, tz);
			return { time: format(t), value: clip(p.value), lo80: clip(p.lo80), hi80: clip(p.hi80), lo95: clip(p.lo95), hi95: clip(p.hi95) };
		});
		out.forecast_method = f.method;
		out.backtest = f.backtest;
		if (f.reason) out.forecast_note = f.reason;
	}
	return out;
}
