import { chiSquareSurvival, mad, mean, median, normalCdf, normalQuantile, ranks, tCdf, tPValue, tQuantile, variance } from "./stats";

/**
 * The statistics behind insights: pure functions over numbers, so each is tested against values
 * computed independently. Series are equally spaced buckets, oldest first; null is a missing value.
 */

export interface AnomalyPoint {
	index: number;
	value: number;
	expected: number;
	/** Robust z-score of the residual: (value − expected) / (1.4826 · MAD of past residuals). */
	score: number;
	anomaly: boolean;
}

export interface Anomalies {
	points: AnomalyPoint[];
	method: string;
	/** Why nothing was flagged when the history is too short. */
	reason?: string;
	threshold: number;
}

/**
 * Anomalies against a seasonal baseline that follows the level: a series is read as level + season
 * + noise. The level at a point is the mean of the season before it (a moving average over one
 * season cancels the season), carried forward by its change since the season before that, so a
 * steady rise or fall is expected, not flagged. The season at a point is the median, over the same
 * bucket one, two … `cycles` seasons back, of the value less the level centred there (the same hour
 * of the week, say). A point's residual is scored against the spread (MAD) of the residuals before
 * it; |score| ≥ `threshold` flags it, and a flagged point counts as its expected value in the levels
 * after it (one spike does not move the baseline of the days that follow). Assumes the season's
 * shape repeats and the noise is stable over the window; needs about three seasons of history before
 * the first point it judges.
 */
export function anomalies(values: readonly (number | null)[], season: number, opts: { threshold?: number; cycles?: number } = {}): Anomalies {
	// 4.5, not the textbook 3.5: a week of hourly buckets is 168 judgements, and 3.5 flags one or two
	// of pure noise in every few weeks (the baseline is itself estimated).
	const threshold = opts.threshold ?? 4.5;
	const cycles = opts.cycles ?? 4;
	const s = Math.max(1, Math.floor(season));
	// The level's window: one season; without a season, four buckets.
	const w = s > 1 ? s : 4;
	const method = `robust z-score of the residual from level + season: the level a moving average over ${w} buckets carried forward by its trend, the season the median of the same bucket ${cycles} seasons back less the level there (season ${s} buckets); flagged at |z| ≥ ${threshold}`;
	const n = values.length;
	// Prefix sums of the cleaned values (a flagged point replaced by its expected value), built as the
	// loop goes: a level at e reads only buckets ≤ e < i.
	const sum = new Float64Array(n + 1);
	const cnt = new Int32Array(n + 1);
	const cleaned: (number | null)[] = [];
	const windowMean = (e: number): number | null => {
		if (e - w + 1 < 0 || e >= cleaned.length) return null;
		const c = cnt[e + 1]! - cnt[e - w + 1]!;
		return c * 2 >= w ? (sum[e + 1]! - sum[e - w + 1]!) / c : null;
	};
	// The level centred at p (a 2×w moving average when w is even).
	const levelAt = (p: number): number | null => {
		const a = windowMean(p + Math.floor((w - 1) / 2));
		const b = windowMean(p + Math.ceil((w - 1) / 2));
		return a == null || b == null ? null : (a + b) / 2;
	};
	const points: AnomalyPoint[] = [];
	const residuals: (number | null)[] = [];
	const flagged = new Set<number>();
	let judgeable = false;
	for (let i = 0; i < n; i++) {
		let expected: number | null = null;
		const recent = windowMean(i - 1);
		const before = windowMean(i - 1 - w);
		if (recent != null && before != null) {
			const level = recent + ((recent - before) / w) * ((w + 1) / 2);
			if (s === 1) expected = level;
			else {
				const offsets: number[] = [];
				for (let k = 1; k <= cycles; k++) {
					const p = i - k * s;
					const v = p >= 0 ? cleaned[p] : null;
					const l = p >= 0 ? levelAt(p) : null;
					if (v != null && l != null) offsets.push(v - l);
				}
				if (offsets.length >= 2) expected = level + median(offsets);
			}
		}
		const v = values[i] ?? null;
		const r = v == null || expected == null ? null : v - expected;
		residuals.push(r);
		let anomaly = false;
		if (r != null) {
			judgeable = true;
			// The spread of the residuals before this point (up to eight seasons), not counting flagged ones.
			const past: number[] = [];
			for (let j = Math.max(0, i - 8 * s); j < i; j++) if (residuals[j] != null && !flagged.has(j)) past.push(residuals[j]!);
			if (past.length >= Math.max(s, 4)) {
				// A floor on the spread: a perfectly regular history (MAD 0) would flag any wobble.
				const spread = Math.max(mad(past), 0.5, Math.abs(expected!) * 0.02);
				const score = r / spread;
				anomaly = Math.abs(score) >= threshold;
				if (anomaly) flagged.add(i);
				points.push({ index: i, value: v!, expected: expected!, score, anomaly });
			}
		}
		const c = anomaly ? expected : v;
		cleaned.push(c);
		sum[i + 1] = sum[i]! + (c ?? 0);
		cnt[i + 1] = cnt[i]! + (c == null ? 0 : 1);
	}
	if (!judgeable) return { points: [], method, threshold, reason: `needs at least ${3 * Math.max(s, w)} buckets of history (two seasons for the level and the season before the first judged, and one for the spread); has ${n}` };
	if (!points.length) return { points, method, threshold, reason: "not enough history to judge any bucket" };
	return { points, method, threshold };
}

export interface Trend {
	/** Change per bucket (least squares). */
	slope: number;
	intercept: number;
	/** 95% confidence interval of the slope. */
	slope_ci95: [number, number];
	p_value: number;
	/** up / down when the slope's 95% interval excludes 0, else flat. */
	direction: "up" | "down" | "flat";
	points: number;
	method: string;
}

/**
 * A least-squares line through the series, its slope's confidence interval and p-value (t test).
 * With a season (and two full seasons of points), each bucket of the season has its own intercept
 * (the weekday's level, say) and the slope is the common change per bucket: a weekly rhythm is not
 * noise around the line, so a rise shows through it. Degrees of freedom: n − 2, or n − season − 1.
 */
export function trend(values: readonly (number | null)[], season = 1): Trend | null {
	const xs: number[] = [];
	const ys: number[] = [];
	const gs: number[] = [];
	values.forEach((v, i) => {
		if (v != null) {
			xs.push(i);
			ys.push(v);
			gs.push(i % Math.max(1, season));
		}
	});
	const n = xs.length;
	const seasonal = season > 1 && n >= 2 * season + 2;
	const groups = seasonal ? season : 1;
	const df = n - groups - 1;
	if (n < 3 || df < 1) return null;
	// Centre x and y within each group (one group without a season).
	const mxg = new Float64Array(groups);
	const myg = new Float64Array(groups);
	const ng = new Float64Array(groups);
	for (let i = 0; i < n; i++) {
		const g = seasonal ? gs[i]! : 0;
		mxg[g]! += xs[i]!;
		myg[g]! += ys[i]!;
		ng[g]!++;
	}
	for (let g = 0; g < groups; g++) if (ng[g]) (mxg[g]! /= ng[g]!), (myg[g]! /= ng[g]!);
	let sxx = 0;
	let sxy = 0;
	for (let i = 0; i < n; i++) {
		const g = seasonal ? gs[i]! : 0;
		sxx += (xs[i]! - mxg[g]!) ** 2;
		sxy += (xs[i]! - mxg[g]!) * (ys[i]! - myg[g]!);
	}
	if (sxx === 0) return null;
	const slope = sxy / sxx;
	let sse = 0;
	for (let i = 0; i < n; i++) {
		const g = seasonal ? gs[i]! : 0;
		sse += (ys[i]! - myg[g]! - slope * (xs[i]! - mxg[g]!)) ** 2;
	}
	const intercept = mean(ys) - slope * mean(xs);
	const se = Math.sqrt(sse / df / sxx);
	const tcrit = tQuantile(0.975, df);
	const ci: [number, number] = [slope - tcrit * se, slope + tcrit * se];
	const p = se === 0 ? (slope === 0 ? 1 : 0) : tPValue(slope / se, df);
	return {
		slope,
		intercept,
		slope_ci95: ci,
		p_value: p,
		direction: ci[0] > 0 ? "up" : ci[1] < 0 ? "down" : "flat",
		points: n,
		method: seasonal ? `least squares with an intercept per bucket of the season (${season} buckets)` : "least squares",
	};
}

export interface Forecast {
	/** The next `horizon` buckets: point forecast and 80% and 95% prediction intervals. */
	points: { index: number; value: number; lo80: number; hi80: number; lo95: number; hi95: number }[];
	method: string;
	params: { alpha: number; beta: number; gamma: number; season: number };
	/** Held-out test on the series' own end: errors of forecasts made without it. */
	backtest: { horizon: number; mae: number; mape: number | null; coverage80: number; coverage95: number } | null;
	reason?: string;
}

interface Fit {
	sse: number;
	level: number;
	trend: number;
	seasonals: number[];
	sigma: number;
	n: number;
}

/** Additive Holt-Winters over a complete series (nulls as 0); returns the final state and the residual spread. */
function holtWinters(ys: readonly number[], m: number, alpha: number, beta: number, gamma: number): Fit {
	// Initial state: the first season's mean as the level, the mean change between the first two
	// seasons as the trend, and the first season's deviations as the seasonal terms.
	const s1 = ys.slice(0, m);
	const s2 = ys.slice(m, 2 * m);
	let level = mean(s1);
	let tr = s2.length === m ? (mean(s2) - level) / m : 0;
	const seasonals = s1.map((y) => y - level);
	let sse = 0;
	let n = 0;
	for (let t = m; t < ys.length; t++) {
		const s = seasonals[t % m]!;
		const forecast = level + tr + s;
		const err = ys[t]! - forecast;
		sse += err * err;
		n++;
		const prevLevel = level;
		level = alpha * (ys[t]! - s) + (1 - alpha) * (level + tr);
		tr = beta * (level - prevLevel) + (1 - beta) * tr;
		seasonals[t % m] = gamma * (ys[t]! - level) + (1 - gamma) * s;
	}
	return { sse, level, trend: tr, seasonals, sigma: Math.sqrt(sse / Math.max(1, n - 3)), n };
}

const GRID = [0.05, 0.15, 0.3, 0.5, 0.7, 0.9];

function fitBest(ys: readonly number[], m: number) {
	let best: { fit: Fit; alpha: number; beta: number; gamma: number } | null = null;
	for (const alpha of GRID)
		for (const beta of [0, 0.05, 0.15, 0.3])
			for (const gamma of [0.05, 0.15, 0.3, 0.5]) {
				const fit = holtWinters(ys, m, alpha, beta, gamma);
				if (!best || fit.sse < best.fit.sse) best = { fit, alpha, beta, gamma };
			}
	return best!;
}

function project(f: { fit: Fit; alpha: number; beta: number; gamma: number }, m: number, n: number, horizon: number) {
	const z80 = normalQuantile(0.9);
	const z95 = normalQuantile(0.975);
	const out: Forecast["points"] = [];
	for (let h = 1; h <= horizon; h++) {
		const value = f.fit.level + h * f.fit.trend + f.fit.seasonals[(n + h - 1) % m]!;
		// Hyndman et al.'s variance of an h-step additive Holt-Winters forecast.
		let v = 1;
		for (let j = 1; j < h; j++) v += (f.alpha * (1 + j * f.beta) + (j % m === 0 ? f.gamma * (1 - f.alpha) : 0)) ** 2;
		const sd = f.fit.sigma * Math.sqrt(v);
		out.push({ index: n + h - 1, value, lo80: value - z80 * sd, hi80: value + z80 * sd, lo95: value - z95 * sd, hi95: value + z95 * sd });
	}
	return out;
}

/**
 * The next `horizon` buckets by additive Holt-Winters (level, trend and a season of `season` buckets;
 * smoothing parameters chosen on a grid by one-step error), with 80% and 95% prediction intervals.
 * Backtested on the series' own end: fitted without its last `horizon` buckets, then scored on them.
 */
export function forecast(values: readonly (number | null)[], season: number, horizon: number): Forecast {
	const method = `additive Holt-Winters (season ${season} buckets), parameters by one-step error on a grid; intervals from the residual spread`;
	const ys = values.map((v) => v ?? 0);
	const m = Math.max(1, season);
	if (ys.length < 2 * m + 2)
		return { points: [], method, params: { alpha: 0, beta: 0, gamma: 0, season: m }, backtest: null, reason: `needs at least ${2 * m + 2} buckets (two seasons); has ${ys.length}` };
	const best = fitBest(ys, m);
	const points = project(best, m, ys.length, horizon);
	let backtest: Forecast["backtest"] = null;
	const train = ys.slice(0, ys.length - horizon);
	if (train.length >= 2 * m + 2) {
		const bt = fitBest(train, m);
		const fc = project(bt, m, train.length, horizon);
		const actual = ys.slice(train.length);
		const errs = fc.map((p, i) => Math.abs(actual[i]! - p.value));
		const nonzero = actual.map((a, i) => [a, errs[i]!] as const).filter(([a]) => a !== 0);
		backtest = {
			horizon,
			mae: mean(errs),
			mape: nonzero.length ? mean(nonzero.map(([a, e]) => e / Math.abs(a))) * 100 : null,
			coverage80: mean(fc.map((p, i) => (actual[i]! >= p.lo80 && actual[i]! <= p.hi80 ? 1 : 0))),
			coverage95: mean(fc.map((p, i) => (actual[i]! >= p.lo95 && actual[i]! <= p.hi95 ? 1 : 0))),
		};
	}
	return { points, method, params: { alpha: best.alpha, beta: best.beta, gamma: best.gamma, season: m }, backtest };
}

export interface Correlation {
	points: number;
	pearson: { r: number; p_value: number } | null;
	spearman: { rho: number; p_value: number } | null;
	note: string;
}

function pearsonR(xs: readonly number[], ys: readonly number[]): number {
	const mx = mean(xs);
	const my = mean(ys);
	let sxy = 0;
	let sxx = 0;
	let syy = 0;
	for (let i = 0; i < xs.length; i++) {
		sxy += (xs[i]! - mx) * (ys[i]! - my);
		sxx += (xs[i]! - mx) ** 2;
		syy += (ys[i]! - my) ** 2;
	}
	return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** p-value of a correlation coefficient: t = r·√((n−2)/(1−r²)) with n − 2 df. */
const corrP = (r: number, n: number) => (Math.abs(r) >= 1 ? 0 : tPValue(r * Math.sqrt((n - 2) / (1 - r * r)), n - 2));

/** Pearson and Spearman correlation over the buckets where both series have a value. */
export function correlation(a: readonly (number | null)[], b: readonly (number | null)[]): Correlation {
	const xs: number[] = [];
	const ys: number[] = [];
	for (let i = 0; i < Math.min(a.length, b.length); i++)
		if (a[i] != null && b[i] != null) {
			xs.push(a[i]!);
			ys.push(b[i]!);
		}
	const note = "Correlation is not causation: two metrics that move together may both follow a third, or the calendar.";
	const n = xs.length;
	if (n < 3) return { points: n, pearson: null, spearman: null, note };
	const r = pearsonR(xs, ys);
	const rho = pearsonR(ranks(xs), ranks(ys));
	return {
		points: n,
		pearson: Number.isNaN(r) ? null : { r, p_value: corrP(r, n) },
		spearman: Number.isNaN(rho) ? null : { rho, p_value: corrP(rho, n) },
		note,
	};
}

/** A variant's numbers for a test: units exposed and converted, or the values' count, mean and variance. */
export interface Arm {
	name: string;
	n: number;
	conversions?: number;
	mean?: number;
	variance?: number;
}

export interface TestResult {
	kind: "proportion" | "mean";
	control: string;
	variant: string;
	control_value: number;
	variant_value: number;
	/** variant − control, and relative to control. */
	effect: number;
	relative_effect: number | null;
	ci95: [number, number];
	p_value: number;
	significant: boolean;
	/**
	 * Units per arm still needed to detect the effect with 80% power at 5% (0 when reached): the
	 * minimum effect asked for, else the observed one; null when that effect is 0.
	 */
	more_units_needed: number | null;
	/** The absolute effect the sample size is computed for. */
	powered_for: number | null;
}

/** Two-proportion z-test: the difference's interval from unpooled errors, the p-value from the pooled one. */
export function proportionTest(control: Arm, variant: Arm, alpha = 0.05, minimumEffect?: number): TestResult {
	const p1 = control.conversions! / control.n;
	const p2 = variant.conversions! / variant.n;
	const diff = p2 - p1;
	const se = Math.sqrt((p1 * (1 - p1)) / control.n + (p2 * (1 - p2)) / variant.n);
	const pooled = (control.conversions! + variant.conversions!) / (control.n + variant.n);
	const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / variant.n));
	const z = sePooled === 0 ? 0 : diff / sePooled;
	const p = 2 * (1 - normalCdf(Math.abs(z)));
	const zc = normalQuantile(1 - alpha / 2);
	const zb = normalQuantile(0.8);
	const mde = minimumEffect ?? diff;
	// Under the minimum effect, the variant's rate is the control's moved by it.
	const p2e = minimumEffect != null ? Math.min(1, Math.max(0, p1 + minimumEffect)) : p2;
	const need = mde === 0 ? null : Math.ceil(((zc + zb) ** 2 * (p1 * (1 - p1) + p2e * (1 - p2e))) / mde ** 2);
	return {
		kind: "proportion",
		control: control.name,
		variant: variant.name,
		control_value: p1,
		variant_value: p2,
		effect: diff,
		relative_effect: p1 === 0 ? null : diff / p1,
		ci95: [diff - zc * se, diff + zc * se],
		p_value: p,
		significant: p < alpha,
		more_units_needed: need == null ? null : Math.max(0, need - Math.min(control.n, variant.n)),
		powered_for: mde === 0 ? null : Math.abs(mde),
	};
}

/** Welch's t-test on two means (unequal variances), df by Welch–Satterthwaite. */
export function welchTest(control: Arm, variant: Arm, alpha = 0.05, minimumEffect?: number): TestResult {
	const v1 = control.variance! / control.n;
	const v2 = variant.variance! / variant.n;
	const diff = variant.mean! - control.mean!;
	const se = Math.sqrt(v1 + v2);
	const df = (v1 + v2) ** 2 / (v1 ** 2 / (control.n - 1) + v2 ** 2 / (variant.n - 1));
	const t = se === 0 ? 0 : diff / se;
	const p = se === 0 ? 1 : tPValue(t, df);
	const tc = tQuantile(1 - alpha / 2, df);
	const pooledVar = (control.variance! + variant.variance!) / 2;
	const mde = minimumEffect ?? diff;
	const need = mde === 0 ? null : Math.ceil((2 * (normalQuantile(1 - alpha / 2) + normalQuantile(0.8)) ** 2 * pooledVar) / mde ** 2);
	return {
		kind: "mean",
		control: control.name,
		variant: variant.name,
		control_value: control.mean!,
		variant_value: variant.mean!,
		effect: diff,
		relative_effect: control.mean === 0 ? null : diff / control.mean!,
		ci95: [diff - tc * se, diff + tc * se],
		p_value: p,
		significant: p < alpha,
		more_units_needed: need == null ? null : Math.max(0, need - Math.min(control.n, variant.n)),
		powered_for: mde === 0 ? null : Math.abs(mde),
	};
}

/**
 * Sample ratio mismatch: a chi-square goodness-of-fit of the arms' sizes against the intended split
 * (equal by default). A p-value under 0.001 says the assignment or the tracking is broken, and the
 * test's result should not be trusted.
 */
export function sampleRatioMismatch(sizes: readonly number[], weights?: readonly number[]): { chi2: number; p_value: number; mismatch: boolean } {
	const total = sizes.reduce((a, b) => a + b, 0);
	const w = weights ?? sizes.map(() => 1);
	const wsum = w.reduce((a, b) => a + b, 0);
	let chi2 = 0;
	sizes.forEach((n, i) => {
		const e = (total * w[i]!) / wsum;
		if (e > 0) chi2 += (n - e) ** 2 / e;
	});
	const p = chiSquareSurvival(chi2, sizes.length - 1);
	return { chi2, p_value: p, mismatch: p < 0.001 };
}

/**
 * Dimension values whose share of the total changed most against the previous period (in points),
 * each with the p-value of a two-proportion z-test of its share then and now: a small value's share
 * swings by chance, and the p-value says how much of the change chance explains.
 */
export function movers(current: ReadonlyMap<string | number | null, number>, previous: ReadonlyMap<string | number | null, number>, limit = 10) {
	const tc = [...current.values()].reduce((a, b) => a + b, 0);
	const tp = [...previous.values()].reduce((a, b) => a + b, 0);
	const keys = new Set([...current.keys(), ...previous.keys()]);
	return [...keys]
		.map((k) => {
			const c = current.get(k) ?? 0;
			const p = previous.get(k) ?? 0;
			const share = tc ? c / tc : 0;
			const before = tp ? p / tp : 0;
			const pooled = tc + tp ? (c + p) / (tc + tp) : 0;
			const se = tc && tp ? Math.sqrt(pooled * (1 - pooled) * (1 / tc + 1 / tp)) : 0;
			const pValue = se === 0 ? (share === before ? 1 : tc && tp ? 0 : null) : 2 * (1 - normalCdf(Math.abs(share - before) / se));
			return { value: k, count: c, previous: p, share, previous_share: before, change_points: (share - before) * 100, p_value: pValue };
		})
		.sort((a, b) => Math.abs(b.change_points) - Math.abs(a.change_points) || String(a.value).localeCompare(String(b.value)))
		.slice(0, limit);
}

export { tCdf, variance };
