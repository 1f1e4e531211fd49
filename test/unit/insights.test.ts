import { describe, expect, it } from "vitest";
import { anomalies, correlation, forecast, movers, proportionTest, sampleRatioMismatch, trend, welchTest } from "../../workers/insights/analyze";
import { seriesInsights } from "../../workers/insights/series";
import { chiSquareSurvival, normalCdf, normalQuantile, tCdf, tQuantile } from "../../workers/insights/stats";

// References computed here independently of workers/insights: densities integrated numerically
// (Simpson's rule), not the incomplete gamma and beta functions the code uses; and textbook values.
function simpson(f: (x: number) => number, a: number, b: number, n = 20_000): number {
	const h = (b - a) / n;
	let s = f(a) + f(b);
	for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
	return (s * h) / 3;
}
const gammaFn = (z: number): number => {
	// Γ by the product Γ(z) = Γ(z + k) / (z (z+1) … (z+k−1)) with Stirling's series at z + k ≥ 10.
	let k = 0;
	let prod = 1;
	while (z + k < 40) prod *= z + k++;
	const x = z + k;
	// ln Γ(x) by Stirling's series; exp at the end (x^x would overflow past 140).
	const lnG = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3) + 1 / (1260 * x ** 5);
	const stirling = Math.exp(lnG - Math.log(prod));
	return stirling;
};
const normalPdf = (x: number) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);
const tPdf = (df: number) => (x: number) => (gammaFn((df + 1) / 2) / (Math.sqrt(df * Math.PI) * gammaFn(df / 2))) * (1 + (x * x) / df) ** (-(df + 1) / 2);
const chiPdf = (df: number) => (x: number) => (x <= 0 ? 0 : (x ** (df / 2 - 1) * Math.exp(-x / 2)) / (2 ** (df / 2) * gammaFn(df / 2)));
function prng(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const gauss = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

describe("distributions", () => {
	it("normal, t and chi-square agree with their densities integrated numerically", () => {
		for (const z of [-3, -1.96, -0.5, 0, 0.7, 1.645, 2.5]) expect(normalCdf(z)).toBeCloseTo(0.5 + Math.sign(z) * simpson(normalPdf, 0, Math.abs(z)), 9);
		for (const p of [0.001, 0.05, 0.5, 0.9, 0.975, 0.999]) expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 12);
		for (const df of [1, 3, 10, 30]) {
			for (const t of [0.3, 1, 2.228, 4]) expect(tCdf(t, df)).toBeCloseTo(0.5 + simpson(tPdf(df), 0, t), 7);
			expect(tCdf(tQuantile(0.975, df), df)).toBeCloseTo(0.975, 9);
		}
		// Textbook critical values.
		expect(tQuantile(0.975, 10)).toBeCloseTo(2.228139, 5);
		expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
		// x = u² takes the density's singularity at 0 away: ∫₀ˣ f(x) dx = ∫₀^√x f(u²) 2u du.
		const chiBelow = (df: number, x: number) => simpson((u) => chiPdf(df)(u * u) * 2 * u, 1e-12, Math.sqrt(x));
		for (const df of [1, 2, 5, 12]) for (const x of [0.5, 3.841, 9]) expect(chiSquareSurvival(x, df)).toBeCloseTo(1 - chiBelow(df, x), 7);
		expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
	});
});

describe("correlation", () => {
	it("Anscombe's quartet: r = 0.816 for the first set", () => {
		const x = [10, 8, 13, 9, 11, 14, 6, 4, 12, 7, 5];
		const y = [8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68];
		const c = correlation(x, y);
		expect(c.points).toBe(11);
		expect(c.pearson!.r).toBeCloseTo(0.81642, 5);
		expect(c.note).toMatch(/not causation/);
	});

	it("Spearman's textbook example: IQ against hours of television, rho = -29/165, p = 0.627188", () => {
		const iq = [106, 86, 100, 101, 99, 103, 97, 113, 112, 110];
		const tv = [7, 0, 27, 50, 28, 29, 20, 12, 6, 17];
		const c = correlation(iq, tv);
		expect(c.spearman!.rho).toBeCloseTo(-29 / 165, 12);
		expect(c.spearman!.p_value).toBeCloseTo(0.627188, 5);
	});

	it("skips buckets missing in either series, and says nothing below three points", () => {
		const c = correlation([1, null, 3, 4, 5], [2, 9, null, 8, 10]);
		expect(c.points).toBe(3);
		expect(correlation([1, 2], [3, 4]).pearson).toBeNull();
	});
});

describe("tests of a change", () => {
	it("Welch's t-test matches the textbook formula and the t density integrated", () => {
		const a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
		const b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
		const m = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
		const v = (xs: number[]) => xs.reduce((s, x) => s + (x - m(xs)) ** 2, 0) / (xs.length - 1);
		const res = welchTest({ name: "A", n: a.length, mean: m(a), variance: v(a) }, { name: "B", n: b.length, mean: m(b), variance: v(b) });
		const se = Math.sqrt(v(a) / a.length + v(b) / b.length);
		const t = (m(b) - m(a)) / se;
		const df = (v(a) / 15 + v(b) / 15) ** 2 / ((v(a) / 15) ** 2 / 14 + (v(b) / 15) ** 2 / 14);
		// The textbook's figures (Welch's t-test, example 1), to their printed precision.
		expect(t).toBeCloseTo(2.46, 2);
		expect(df).toBeCloseTo(24.99, 1);
		expect(res.effect).toBeCloseTo(m(b) - m(a), 12);
		expect(res.p_value).toBeCloseTo(2 * (0.5 - simpson(tPdf(df), 0, t)), 6);
		expect(res.p_value).toBeCloseTo(0.021, 3);
		expect(res.significant).toBe(true);
		expect(res.ci95[0]).toBeGreaterThan(0);
	});

	it("two proportions: the pooled z-test's p-value and the unpooled interval", () => {
		const control = { name: "a", n: 2000, conversions: 200 };
		const variant = { name: "b", n: 2000, conversions: 250 };
		const r = proportionTest(control, variant);
		const p = 450 / 4000;
		const z = (0.125 - 0.1) / Math.sqrt(p * (1 - p) * (2 / 2000));
		expect(r.p_value).toBeCloseTo(2 * (0.5 - simpson(normalPdf, 0, z)), 8);
		const se = Math.sqrt((0.1 * 0.9) / 2000 + (0.125 * 0.875) / 2000);
		expect(r.ci95[0]).toBeCloseTo(0.025 - 1.959964 * se, 5);
		expect(r.relative_effect).toBeCloseTo(0.25, 12);
		// Units needed for 80% power at 5% for this effect (the classic formula), minus what each arm has.
		const need = Math.ceil(((1.959964 + 0.841621) ** 2 * (0.1 * 0.9 + 0.125 * 0.875)) / 0.025 ** 2);
		expect(r.more_units_needed).toBe(Math.max(0, need - 2000));
		// Powered for a smaller effect (1 point from 10%): the same formula with 0.11 for the variant.
		const small = proportionTest(control, variant, 0.05, 0.01);
		const needSmall = Math.ceil(((1.959964 + 0.841621) ** 2 * (0.1 * 0.9 + 0.11 * 0.89)) / 0.01 ** 2);
		expect(Math.abs(small.more_units_needed! - (needSmall - 2000))).toBeLessThanOrEqual(1);
		expect(small.powered_for).toBe(0.01);
	});

	it("sample ratio mismatch: a 50/50 test with 5,000 against 5,400 is flagged; 5,000 against 5,050 is not", () => {
		const bad = sampleRatioMismatch([5000, 5400]);
		const chi2 = (200 ** 2 / 5200) * 2;
		expect(bad.chi2).toBeCloseTo(chi2, 9);
		// χ² with one degree of freedom is a squared normal: P(X ≥ c) = 2 (1 − Φ(√c)), Φ integrated here.
		expect(bad.p_value).toBeCloseTo(2 * (0.5 - simpson(normalPdf, 0, Math.sqrt(chi2))), 9);
		expect(bad.mismatch).toBe(true);
		expect(sampleRatioMismatch([5000, 5050]).mismatch).toBe(false);
		expect(sampleRatioMismatch([1000, 3000], [1, 3]).mismatch).toBe(false);
	});
});

describe("anomalies", () => {
	// Eight weeks of hourly counts: daily and weekly rhythm, noise, and three injected spikes and dips.
	const hours = 8 * 168;
	const r = prng(3);
	const clean = Array.from({ length: hours }, (_, h) => {
		const hod = h % 24;
		const dow = Math.floor(h / 24) % 7;
		const base = 50 + 40 * Math.exp(-((hod - 14) ** 2) / 18) * (dow < 5 ? 1 : 0.4);
		return Math.max(0, Math.round(base + gauss(r) * 3));
	});

	it("flags nothing on a clean seasonal series", () => {
		const a = anomalies(clean, 168);
		// Judged from the fourth week: two seasons for the level and the season, then residuals for the spread.
		expect(a.points[0]!.index).toBeGreaterThanOrEqual(3 * 168);
		expect(a.points[0]!.index).toBeLessThan(4 * 168);
		expect(a.points.at(-1)!.index).toBe(8 * 168 - 1);
		expect(a.points.filter((p) => p.anomaly)).toEqual([]);
	});

	it("flags exactly the injected spikes and dips", () => {
		const spiky = [...clean];
		const injected = [6 * 168 + 14, 7 * 168 + 3, 7 * 168 + 100];
		spiky[injected[0]!]! += 80;
		spiky[injected[1]!]! += 60;
		spiky[injected[2]!] = 0;
		const a = anomalies(spiky, 168);
		expect(a.points.filter((p) => p.anomaly).map((p) => p.index)).toEqual(injected);
		const top = a.points.find((p) => p.index === injected[0])!;
		expect(top.score).toBeGreaterThan(10);
	});

	it("a steady rise is expected, not flagged; a spike on the rise is, and the days after it are not", () => {
		// Ten weeks of daily counts, weekly shape, growing 60% over the window, mild noise.
		const r2 = prng(5);
		const shape = [60, 62, 58, 61, 55, 20, 18];
		const rising = Array.from({ length: 70 }, (_, d) => Math.round(shape[d % 7]! * (0.8 + (0.6 * d) / 70) + gauss(r2) * 2));
		const a = anomalies(rising, 7);
		expect(a.points.length).toBeGreaterThan(40);
		expect(a.points.filter((p) => p.anomaly)).toEqual([]);
		// Expected values follow the growth: late in the window, within a few counts of the generator.
		for (const p of a.points.filter((q) => q.index >= 60)) {
			const truth = shape[p.index % 7]! * (0.8 + (0.6 * p.index) / 70);
			expect(Math.abs(p.expected - truth)).toBeLessThan(0.12 * truth + 4);
		}
		const spiked = [...rising];
		spiked[58] = spiked[58]! * 3;
		const b = anomalies(spiked, 7);
		expect(b.points.filter((p) => p.anomaly).map((p) => p.index)).toEqual([58]);
		// The median-of-past-seasons baseline alone lags a rise: the same series flags the growth there.
		const lagging = rising.map((_, i) => {
			const past = [1, 2, 3, 4].map((k) => rising[i - 7 * k]).filter((v): v is number => v != null).sort((x, y) => x - y);
			return past.length === 4 ? (past[1]! + past[2]!) / 2 : null;
		});
		const lag = rising.map((v, i) => (lagging[i] == null ? 0 : v - lagging[i]!)).slice(40);
		expect(lag.reduce((s2, x) => s2 + x, 0) / lag.length).toBeGreaterThan(5);
	});

	it("says why when the history is too short", () => {
		const a = anomalies(clean.slice(0, 200), 168);
		expect(a.points).toEqual([]);
		expect(a.reason).toMatch(/history/);
	});
});

describe("trend and forecast", () => {
	it("trend: the slope's 95% interval holds the true slope about 95% of the time; flat noise is flat about 95% of the time", () => {
		const r = prng(9);
		let held = 0;
		let flatCalls = 0;
		for (let k = 0; k < 400; k++) {
			const slope = (r() - 0.5) * 4;
			const t = trend(Array.from({ length: 60 }, (_, i) => 100 + slope * i + gauss(r) * 5))!;
			if (t.slope_ci95[0] <= slope && slope <= t.slope_ci95[1]) held++;
			if (trend(Array.from({ length: 60 }, () => 100 + gauss(r) * 5))!.direction === "flat") flatCalls++;
		}
		expect(held / 400).toBeGreaterThan(0.92);
		expect(held / 400).toBeLessThan(0.98);
		expect(flatCalls / 400).toBeGreaterThan(0.92);
		const steep = trend(Array.from({ length: 60 }, (_, i) => 100 + 2.5 * i + gauss(r) * 5))!;
		expect(steep).toMatchObject({ direction: "up", points: 60 });
		expect(steep.p_value).toBeLessThan(1e-10);
	});

	it("trend with a season: the slope's interval holds the true slope about 95% of the time through a weekly rhythm larger than the rise", () => {
		const r = prng(17);
		const shape = [0, 5, 3, 4, 2, -30, -35];
		let held = 0;
		let plainFlat = 0;
		for (let k = 0; k < 400; k++) {
			const slope = 0.3 + r() * 0.4;
			const ys = Array.from({ length: 56 }, (_, i) => 100 + shape[i % 7]! + slope * i + gauss(r) * 4);
			const t = trend(ys, 7)!;
			if (t.slope_ci95[0] <= slope && slope <= t.slope_ci95[1]) held++;
			if (trend(ys)!.direction === "flat") plainFlat++;
			expect(t.points).toBe(56);
		}
		expect(held / 400).toBeGreaterThan(0.92);
		expect(held / 400).toBeLessThan(0.98);
		// The single line, with the rhythm left in its residuals, is less sure: it misses some rises.
		expect(plainFlat).toBeGreaterThan(0);
	});

	it("forecast bands hold the synthetic truth at about their stated rates", () => {
		// 200 synthetic daily series (weekly season, a trend, Gaussian noise), each forecast 7 days ahead
		// and scored against what the generator does next.
		const r = prng(21);
		let in80 = 0;
		let in95 = 0;
		let total = 0;
		for (let s = 0; s < 200; s++) {
			const n = 70;
			const level = 100 + r() * 100;
			const slope = (r() - 0.3) * 2;
			const amp = 10 + r() * 30;
			const sigma = 3 + r() * 6;
			const truth = (i: number) => level + slope * i + amp * Math.sin((2 * Math.PI * (i % 7)) / 7);
			const ys = Array.from({ length: n + 7 }, (_, i) => truth(i) + gauss(r) * sigma);
			const f = forecast(ys.slice(0, n), 7, 7);
			f.points.forEach((p, h) => {
				const actual = ys[n + h]!;
				total++;
				if (actual >= p.lo80 && actual <= p.hi80) in80++;
				if (actual >= p.lo95 && actual <= p.hi95) in95++;
			});
		}
		expect(in80 / total).toBeGreaterThan(0.72);
		expect(in80 / total).toBeLessThan(0.9);
		expect(in95 / total).toBeGreaterThan(0.89);
		expect(in95 / total).toBeLessThan(0.99);
	});

	it("is fitted on the series with its anomalies at their expected values: a spike last week is not forecast again", () => {
		// Daily, weekly season, 10 weeks, then a spike six times the day's level one week before the end.
		const r = prng(5);
		const n = 70;
		const truth = (i: number) => 200 + 60 * Math.sin((2 * Math.PI * (i % 7)) / 7);
		const ys = Array.from({ length: n }, (_, i) => truth(i) + gauss(r) * 5);
		ys[n - 7] = truth(n - 7) * 6;
		const DAY = 86_400_000;
		const times = ys.map((_, i) => Date.UTC(2026, 8, 1) + i * DAY);
		const fmt = (t: number) => new Date(t).toISOString();
		const out = seriesInsights([], ys, times, 0, n, { anomalies: false, trend: false, forecast: { horizon: 7 } }, "day", "UTC", fmt);
		expect(out.anomalies).toBeUndefined();
		// Day n falls on the spike's weekday: the forecast is the ordinary level there, within its band.
		const next = out.forecast![0]!;
		expect(next.time).toBe(fmt(times[n - 1]! + DAY));
		expect(Math.abs(next.value - truth(n))).toBeLessThan(25);
		expect(next.lo95).toBeLessThanOrEqual(truth(n));
		expect(next.hi95).toBeGreaterThanOrEqual(truth(n));
		// Fitted on the raw series, the same forecast carries the spike into next week.
		expect(forecast(ys, 7, 7).points[0]!.value - truth(n)).toBeGreaterThan(100);
	});

	it("reports its backtested error, and refuses a series shorter than two seasons", () => {
		const ys = Array.from({ length: 56 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * (i % 7)) / 7));
		const f = forecast(ys, 7, 7);
		expect(f.backtest!.mae).toBeLessThan(1);
		expect(f.backtest!.mape).toBeLessThan(1);
		expect(f.points).toHaveLength(7);
		expect(forecast(ys.slice(0, 10), 7, 7).reason).toMatch(/two seasons/);
	});
});

describe("movers", () => {
	it("orders values by the change of their share, in points", () => {
		const now = new Map<string | null, number>([["chat", 60], ["email", 30], ["phone", 10]]);
		const before = new Map<string | null, number>([["chat", 40], ["email", 40], ["phone", 20]]);
		const m = movers(now, before);
		expect(m.map((x) => [x.value, Math.round(x.change_points * 100) / 100])).toEqual([["chat", 20], ["email", -10], ["phone", -10]]);
		// 60 of 100 against 40 of 100: z = 0.2 / √(0.5 · 0.5 · 0.02) = 2.828, two-sided p = 0.00468.
		expect(m[0]!.p_value).toBeCloseTo(0.00468, 4);
		// A value absent before: its share rose from 0.
		const added = movers(new Map([["a", 5], ["b", 5]]), new Map([["a", 10]]));
		const b = added.find((x) => x.value === "b")!;
		expect(b).toMatchObject({ previous: 0, previous_share: 0, change_points: 50 });
		// z = 0.5 / √(0.25 · 0.75 · 0.2) = 2.582, p = 0.0098.
		expect(b.p_value).toBeCloseTo(0.0098, 4);
	});
});
