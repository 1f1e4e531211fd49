import { anomalies } from "../insights/analyze";
import type { ConditionJson } from "../notify/render";
import { localParts, zonedToUtc } from "../query/time";

// The alert state machine, pure (tested directly with scripted series):
//
//   ok ──(breach)──► firing ──(clear, and min_interval since it fired)──► ok  ("resolved")
//
// Hysteresis is twofold. In value: a threshold fires past `value` and resolves only back past
// `clear` (an anomaly fires at |z| ≥ z and resolves below clear_z), so a metric wobbling around one
// line does not flap. In time: a firing alert stays firing at least `min_interval_minutes`, so one
// rule sends at most one "fired" and one "resolved" per interval however the metric flaps.
// No value (a percentile of no events) or no anomaly verdict (too little history) changes nothing.

export interface Verdict {
	/** The fire condition holds. */
	breach: boolean;
	/** The resolve condition holds. */
	clear: boolean;
	details: Record<string, unknown>;
}

export function thresholdVerdict(c: Extract<ConditionJson, { type: "threshold" }>, v: number): Verdict {
	const breach = c.op === "above" ? v > c.value : v < c.value;
	const clear = c.op === "above" ? v <= c.clear : v >= c.clear;
	return { breach, clear, details: { threshold: c.value, clear: c.clear } };
}

/**
 * Mean and sample standard deviation of the baseline, and the z-score of `v` against them. The
 * deviation is floored at 1% of |mean| (and 1e-6), so a flat baseline (every week 0, or every week
 * the same) does not make any change infinitely significant; `min_delta` sets the least absolute
 * change that may fire.
 */
export function anomalyVerdict(c: Extract<ConditionJson, { type: "anomaly" }>, v: number, baseline: number[]): Verdict | null {
	const n = baseline.length;
	if (n < c.min_weeks) return null;
	const mean = baseline.reduce((s, x) => s + x, 0) / n;
	const std = Math.sqrt(baseline.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
	const sigma = Math.max(std, Math.abs(mean) * 0.01, 1e-6);
	const z = (v - mean) / sigma;
	const delta = v - mean;
	const big = Math.abs(delta) >= c.min_delta;
	const up = z >= c.z && big;
	const down = z <= -c.z && big;
	const breach = c.direction === "up" ? up : c.direction === "down" ? down : up || down;
	const clear = c.direction === "up" ? z < c.clear_z : c.direction === "down" ? z > -c.clear_z : Math.abs(z) < c.clear_z;
	const round = (x: number) => Number(x.toPrecision(6));
	return { breach, clear, details: { mean: round(mean), std: round(std), z: round(z), weeks: n, baseline } };
}

/**
 * The seasonal method: the detector of `insights` (workers/insights/analyze.ts `anomalies`, the same
 * function and defaults but the threshold, which is the rule's `z`) over the alert's buckets, oldest
 * first, judging the last. Its score is the robust z-score of the residual from level + season;
 * `clear_z`, `direction` and `min_delta` (against the expected value) apply as in the weeks method.
 * Null when the detector cannot judge the last bucket (too little history): `reason` says why.
 */
export function seasonalVerdict(c: Extract<ConditionJson, { type: "anomaly" }>, values: readonly (number | null)[], season: number): Verdict | { reason: string } {
	const a = anomalies(values, season, { threshold: c.z });
	const last = a.points.at(-1);
	if (!last || last.index !== values.length - 1) return { reason: a.reason ?? "the last bucket has no value or too little history before it to be judged" };
	const z = last.score;
	const big = Math.abs(last.value - last.expected) >= c.min_delta;
	const up = z >= c.z && big;
	const down = z <= -c.z && big;
	const breach = c.direction === "up" ? up : c.direction === "down" ? down : up || down;
	const clear = c.direction === "up" ? z < c.clear_z : c.direction === "down" ? z > -c.clear_z : Math.abs(z) < c.clear_z;
	const round = (x: number) => Number(x.toPrecision(6));
	return { breach, clear, details: { method: "seasonal", z: round(z), expected: round(last.expected), season, buckets: values.length, detector: a.method } };
}

export type Transition = "fire" | "resolve" | null;

/** The transition, if any, of a rule in `state` given this evaluation's verdict. */
export function step(state: "ok" | "firing", verdict: Verdict | null, now: number, lastFiredAt: number | null, minIntervalMs: number): Transition {
	if (!verdict) return null;
	if (state === "ok") return verdict.breach ? "fire" : null;
	if (!verdict.clear) return null;
	return lastFiredAt == null || now - lastFiredAt >= minIntervalMs ? "resolve" : null;
}

/** The same local wall time `weeks` weeks earlier (so across a DST change it is still 09:00 on a Monday). */
export function weeksBefore(at: number, weeks: number, tz: string): number {
	const p = localParts(tz, at);
	return zonedToUtc(tz, p.year, p.month, p.day - 7 * weeks, p.hour, p.minute);
}

/** The window an evaluation at `now` reads: the last `minutes` whole minutes, [to - minutes, to). */
export function windowAt(now: number, minutes: number): { from: number; to: number } {
	const to = Math.floor(now / 60_000) * 60_000;
	return { from: to - minutes * 60_000, to };
}
