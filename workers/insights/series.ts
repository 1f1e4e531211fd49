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
}

/**
 * Insights for one series: `history` holds the values of the history buckets then the range's
 * (`first` is the index of the range's first bucket), `times` the buckets' starts.
 */
export function seriesInsights(
	dims: (string | number | null)[],
	values: (number | null)[],
	times: number[],
	first: number,
	opts: { anomalies: boolean; trend: boolean; forecast?: { horizon: number } },
	g: Granularity,
	tz: string,
	format: (t: number) => string,
): SeriesInsights {
	const out: SeriesInsights = { dimensions: dims };
	const season = seasonOf(g, first);
	if (opts.anomalies) {
		const a = anomalies(values, season);
		out.anomalies = a.points.filter((p) => p.anomaly && p.index >= first).map((p) => ({ time: format(times[p.index]!), value: p.value, expected: p.expected, score: Math.round(p.score * 100) / 100 }));
		out.anomaly_method = a.method;
		if (a.reason) out.anomaly_note = a.reason;
	}
	if (opts.trend) out.trend = trend(values.slice(first), season);
	if (opts.forecast) {
		const f = forecast(values, season, opts.forecast.horizon);
		let t = times[times.length - 1]!;
		out.forecast = f.points.map((p) => {
			t = nextStart(g as never, t, tz);
			return { time: format(t), value: p.value, lo80: p.lo80, hi80: p.hi80, lo95: p.lo95, hi95: p.hi95 };
		});
		out.forecast_method = f.method;
		out.backtest = f.backtest;
		if (f.reason) out.forecast_note = f.reason;
	}
	return out;
}
