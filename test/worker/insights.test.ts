import { beforeAll, describe, expect, it } from "vitest";
import { call, makeTenant } from "../helpers";
import { insertRows, prng, query, type Row, rollUp } from "../rollup-data";

// Ten weeks of daily traffic with a weekly shape (quiet weekends), Poisson-like noise, a slow rise
// in chat, and one day in the range where email triples. The expectations (the seasonal baseline,
// the trend's direction, the forecast's weekly shape) are computed here from the generated counts.
const DAY = 86_400_000;
const START = Date.UTC(2026, 8, 7); // Monday 2026-09-07
const DAYS = 70;
const RANGE_FROM = START + 42 * DAY; // Monday 2026-10-19: the last four weeks are the range
const SPIKE = START + 58 * DAY; // Wednesday 2026-11-04
const WEEKDAY_BASE = [60, 62, 58, 61, 55, 20, 18]; // Monday first

let t: Awaited<ReturnType<typeof makeTenant>>;
const counts = new Map<string, number[]>(); // channel -> count per day

beforeAll(async () => {
	t = await makeTenant("ins", { timezone: "UTC" });
	const r = prng(42);
	const rows: Row[] = [];
	for (const channel of ["email", "chat"]) {
		const perDay: number[] = [];
		for (let d = 0; d < DAYS; d++) {
			const day = START + d * DAY;
			let n = WEEKDAY_BASE[d % 7]! + Math.round((r() + r() + r() - 1.5) * 6);
			if (channel === "chat") n = Math.round(n * (0.5 + d / DAYS));
			if (channel === "email" && day === SPIKE) n *= 3;
			perDay.push(n);
			for (let i = 0; i < n; i++)
				rows.push({
					message_id: `ins-${channel}-${d}-${i}`,
					event: "conversation_started",
					user_id: `u${i}`,
					anonymous_id: null,
					timestamp: day + Math.floor(r() * DAY),
					country: null,
					device: null,
					browser: null,
					os: null,
					properties: { channel },
				});
		}
		counts.set(channel, perDay);
	}
	await insertRows(t.id, rows);
	await rollUp();
}, 120_000);

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const body = (insights: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
	metrics: ["count"],
	date_range: { from: iso(RANGE_FROM), to: iso(START + (DAYS - 1) * DAY) },
	granularity: "day",
	dimensions: ["prop:channel"],
	insights,
	...extra,
});

describe("insights of a query's series", () => {
	it("flags the day email tripled, against the level and weekday expected, and nothing else; a slow rise in chat is not flagged", async () => {
		const { status, body: a } = await query(t.readKey, body({ anomalies: true }));
		expect(status, JSON.stringify(a)).toBe(200);
		expect(a.insights.metric).toBe("count");
		const email = a.insights.series.find((s: any) => s.dimensions[0] === "email");
		const chat = a.insights.series.find((s: any) => s.dimensions[0] === "chat");
		expect(email.anomaly_method).toMatch(/robust z-score/);
		expect(email.anomalies.map((p: any) => p.time.slice(0, 10))).toEqual([iso(SPIKE)]);
		const e = counts.get("email")!;
		const d = (SPIKE - START) / DAY;
		expect(email.anomalies[0].value).toBe(e[d]);
		// Expected: a Wednesday's level (58, noise ±9 at most) from a baseline that is not moved by the spike.
		expect(Math.abs(email.anomalies[0].expected - WEEKDAY_BASE[2]!)).toBeLessThan(9);
		expect(email.anomalies[0].score).toBeGreaterThan(4.5);
		// Chat only grows slowly: a trend is not an anomaly.
		expect(chat.anomalies).toEqual([]);
		// The answer's own rows are unchanged by asking for insights.
		const plain = await query(t.readKey, { ...body({ anomalies: true }), insights: undefined });
		expect(a.results).toEqual(plain.body.results);
	});

	it("the trend of a rising series is rising, with an interval that excludes zero; a flat one's interval holds zero", async () => {
		const { body: a } = await query(t.readKey, body({ trend: true }, { filters: [["is_not", "prop:channel", "none"]] }));
		const chat = a.insights.series.find((s: any) => s.dimensions[0] === "chat").trend;
		const email = a.insights.series.find((s: any) => s.dimensions[0] === "email").trend;
		// Chat grows by its weekday's base / 70 a day: 0.26 a day on Sundays to 0.89 on Tuesdays. The
		// weekly rhythm is larger than four weeks of growth; the trend sees through it.
		expect(chat.method).toMatch(/per bucket of the season/);
		expect(chat.points).toBe(28);
		expect(chat.direction).toBe("up");
		expect(chat.slope).toBeGreaterThan(Math.min(...WEEKDAY_BASE) / 70);
		expect(chat.slope).toBeLessThan(Math.max(...WEEKDAY_BASE) / 70);
		expect(chat.slope_ci95[0]).toBeGreaterThan(0);
		expect(email.direction).toBe("flat");
		expect(email.slope_ci95[0]).toBeLessThan(0);
		expect(email.slope_ci95[1]).toBeGreaterThan(0);
	});

	it("forecasts the next two weeks with the weekly shape: weekends low, intervals nested around the value", async () => {
		const { body: a } = await query(t.readKey, body({ forecast: { horizon: 14 } }, { dimensions: [] }));
		expect(a.insights.series).toHaveLength(1);
		const s = a.insights.series[0];
		expect(s.forecast).toHaveLength(14);
		// The buckets after the range's last day, one day apart.
		const last = START + (DAYS - 1) * DAY;
		expect(s.forecast.map((p: any) => p.time.slice(0, 10))).toEqual(Array.from({ length: 14 }, (_, i) => iso(last + (i + 1) * DAY)));
		for (const p of s.forecast) {
			expect(p.lo95).toBeLessThanOrEqual(p.lo80);
			expect(p.lo80).toBeLessThanOrEqual(p.value);
			expect(p.value).toBeLessThanOrEqual(p.hi80);
			expect(p.hi80).toBeLessThanOrEqual(p.hi95);
		}
		// Weekends (days 5, 6 of the week from Monday) below every weekday of the same forecast week.
		const first = (last + DAY - START) / DAY; // day index of the first forecast bucket
		const weekday = (i: number) => (first + i) % 7;
		const weekends = s.forecast.filter((_: any, i: number) => weekday(i) >= 5).map((p: any) => p.value);
		const weekdays = s.forecast.filter((_: any, i: number) => weekday(i) < 5).map((p: any) => p.value);
		expect(Math.max(...weekends)).toBeLessThan(Math.min(...weekdays));
		expect(s.backtest).not.toBeNull();
		expect(s.backtest.horizon).toBe(14);
		// Its errors are measured on the last 14 real days, against a series with noise: not zero, and
		// far below the series' own size.
		expect(s.backtest.mae).toBeGreaterThan(0);
		expect(s.backtest.mape).toBeLessThan(50);
		expect(s.backtest.coverage95).toBeGreaterThanOrEqual(s.backtest.coverage80);
	});

	it("a tenant's first days are not judged against the empty days before them", async () => {
		// History reaches 35 days before the range; the data begins 42 days before it, so with a range
		// starting at the data's first week, the history is what exists and no zero baseline is used.
		const { body: a } = await query(t.readKey, {
			...body({ anomalies: true }),
			date_range: { from: iso(START), to: iso(START + 27 * DAY) },
		});
		for (const s of a.insights.series) expect(s.anomalies).toEqual([]);
		// Two weeks with nothing before them have no baseline, and say so.
		const { body: b } = await query(t.readKey, { ...body({ anomalies: true }), date_range: { from: iso(START), to: iso(START + 13 * DAY) } });
		for (const s of b.insights.series) {
			expect(s.anomalies).toEqual([]);
			expect(s.anomaly_note).toMatch(/history/);
		}
	});

	it("today's bucket, not over yet, is neither an anomaly nor a point of the trend; the forecast starts with it and stays at or above zero", async () => {
		const today = Math.floor(Date.now() / DAY) * DAY;
		const other = await makeTenant("ins-today", { timezone: "UTC" });
		const r = prng(7);
		const rows: Row[] = [];
		// Four weeks of about 100 a day, then today: whatever part of the day has passed holds 3.
		for (let d = -28; d <= 0; d++) {
			const n = d === 0 ? 3 : 90 + Math.floor(r() * 20);
			for (let i = 0; i < n; i++) {
				const at = d === 0 ? today + Math.floor((Date.now() - today) * r()) : today + d * DAY + Math.floor(r() * DAY);
				rows.push({ message_id: `td-${d}-${i}`, event: "page_view", user_id: "u", anonymous_id: null, timestamp: at, country: null, device: null, browser: null, os: null, properties: {} });
			}
		}
		await insertRows(other.id, rows);
		const { status, body: a } = await query(other.readKey, {
			metrics: ["count"],
			date_range: { from: iso(today - 27 * DAY), to: iso(today) },
			granularity: "day",
			insights: { anomalies: true, trend: true, forecast: { horizon: 3 } },
		});
		expect(status, JSON.stringify(a)).toBe(200);
		const s = a.insights.series[0];
		expect(a.results.at(-1).metrics[0]).toBe(3);
		expect(s.incomplete_from.slice(0, 10)).toBe(iso(today));
		expect(s.anomalies.map((p: any) => p.time.slice(0, 10))).not.toContain(iso(today));
		expect(s.trend.points).toBe(27);
		expect(s.forecast.map((p: any) => p.time.slice(0, 10))).toEqual([iso(today), iso(today + DAY), iso(today + 2 * DAY)]);
		// A whole day's forecast, about a hundred, not the three seen so far.
		expect(s.forecast[0].value).toBeGreaterThan(60);
		for (const p of s.forecast) expect(p.lo95).toBeGreaterThanOrEqual(0);
	});

	it("names the field when insights are asked wrongly", async () => {
		const noSeries = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-10-31" }, insights: { anomalies: true } });
		expect(noSeries.status).toBe(400);
		expect(noSeries.body.error.code).toBe("invalid_query");
		expect(JSON.stringify(noSeries.body.error.details)).toMatch(/insights/);
		const wrongMetric = await query(t.readKey, body({ anomalies: true, metric: "sum:amount" }));
		expect(wrongMetric.status).toBe(400);
		expect(JSON.stringify(wrongMetric.body.error.details)).toMatch(/insights\.metric|"metric"/);
		const nothing = await query(t.readKey, body({}));
		expect(nothing.status).toBe(400);
		const horizon = await query(t.readKey, body({ forecast: { horizon: 1000 } }));
		expect(horizon.status).toBe(400);
		expect(JSON.stringify(horizon.body.error.details)).toMatch(/horizon/);
	});
});

describe("POST /v1/insights", () => {
	const summary = (body: unknown) => call("/v1/insights", { method: "POST", key: t.readKey, json: body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
	const email = { name: "email", metric: "count", filters: [["is", "prop:channel", "email"]] };
	const chat = { name: "chat", metric: "count", filters: [["is", "prop:channel", "chat"]] };
	const range = { from: iso(RANGE_FROM), to: iso(START + (DAYS - 1) * DAY) };
	const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
	const daily = (c: string, from: number, to: number) => counts.get(c)!.slice(from, to);

	it("totals against the period before, anomalies, trends, movers and correlations, each equal to what is computed here", async () => {
		const { status, body } = await summary({ metrics: ["count", email, chat], date_range: range, movers: { dimensions: ["prop:channel"] } });
		expect(status, JSON.stringify(body)).toBe(200);
		expect(body.granularity).toBe("day");
		const [count, e, c] = body.metrics;
		const now = (ch: string) => sum(daily(ch, 42, 70));
		const before = (ch: string) => sum(daily(ch, 14, 42));
		expect(count).toMatchObject({ name: "count", total: now("email") + now("chat"), previous_total: before("email") + before("chat") });
		expect(e.total).toBe(now("email"));
		expect(e.anomalies.map((p: any) => p.time.slice(0, 10))).toEqual([iso(SPIKE)]);
		expect(c.anomalies).toEqual([]);
		expect(c.trend.direction).toBe("up");
		expect(e.forecast).toHaveLength(7);

		// Movers: chat's share now and before, and the two-proportion p-value of the change.
		const rows = body.movers[0].rows;
		const chatRow = rows.find((r: any) => r.value === "chat");
		const share = now("chat") / (now("chat") + now("email"));
		const prevShare = before("chat") / (before("chat") + before("email"));
		expect(chatRow.share).toBeCloseTo(share, 12);
		expect(chatRow.previous_share).toBeCloseTo(prevShare, 12);
		expect(chatRow.change_points).toBeCloseTo((share - prevShare) * 100, 9);
		expect(chatRow.p_value).toBeGreaterThanOrEqual(0);

		// Correlation of email and chat over the range's 28 days, Pearson computed here.
		const pair = body.correlations.find((x: any) => x.a === "email" && x.b === "chat");
		const xs = daily("email", 42, 70);
		const ys = daily("chat", 42, 70);
		const mx = sum(xs) / xs.length;
		const my = sum(ys) / ys.length;
		const r = sum(xs.map((x, i) => (x - mx) * (ys[i]! - my))) / Math.sqrt(sum(xs.map((x) => (x - mx) ** 2)) * sum(ys.map((y) => (y - my) ** 2)));
		expect(pair.points).toBe(28);
		expect(pair.pearson.r).toBeCloseTo(r, 9);
		expect(pair.note).toMatch(/not causation/);
		expect(body.correlations).toHaveLength(3);

		expect(body.highlights.join("\n")).toMatch(new RegExp(`email: 1 unusual day; the largest at ${iso(SPIKE)}`));
		expect(body.highlights.join("\n")).toMatch(/chat is rising/);
	});

	it("names the field when a summary is asked wrongly", async () => {
		const bad = [
			[{ metrics: ["count"], correlations: [["count", "nope"]] }, "correlations[0][1]"],
			[{ metrics: ["count", "uniques", "count", "count", "count", "count", "count"] }, "metrics"],
			[{ metrics: ["count"], movers: { dimensions: ["nope"] } }, "dimensions[0]"],
			[{ metrics: ["nope"] }, "metrics[0]"],
			[{ date_range: "1d" }, "date_range"],
		] as const;
		for (const [body, field] of bad) {
			const res = await summary(body);
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(JSON.stringify(res.body.error)).toContain(field);
		}
	});
});
