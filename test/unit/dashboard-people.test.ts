import { describe, expect, it } from "vitest";
import { backtestText, type Insights, insightColumns, type SeriesInsight, trendText } from "../../web/src/lib/insights";
import {
	decodePick,
	decodeStep,
	encodePick,
	encodeStep,
	experimentQuery,
	experimentSearch,
	funnelQuery,
	funnelSearch,
	overviewPeopleBody,
	parseExperimentView,
	parseFunnel,
	parseRetention,
	peopleExportBody,
	pickOf,
	pp,
	ppRange,
	pct,
	retentionSearch,
	retentionViewOf,
	toCsv,
	withPick,
} from "../../web/src/lib/people";
import { lifecycleLines, lineData, retentionLines, startedPeriods } from "../../web/src/lib/retention";
import { exportRequest } from "../../workers/exports/model";
import { peopleRequest } from "../../workers/people/views";

// The pure helpers of the people and patterns screens (web/src/lib/people.ts, insights.ts,
// retention.ts): URL state round-trips, what cannot be read falls back, request bodies are what the
// server's own parsers accept, and the CSV is safe to open in a spreadsheet.

describe("differences of rates in percentage points", () => {
	it("signs and rounds a difference, and never shows -0.00", () => {
		expect(pp(0.0095)).toBe("+0.95 pp");
		expect(pp(-0.1186)).toBe("-11.86 pp");
		expect(pp(0)).toBe("0.00 pp");
		expect(pp(-0.000001)).toBe("0.00 pp");
		expect(pp(0.05, 1, true)).toBe("+5.0 percentage points");
		expect(pp(null)).toBe("–");
		expect(pp(Number.NaN)).toBe("–");
	});
	it("writes an interval with the unit once", () => {
		expect(ppRange(0.0095, 0.1186)).toBe("+0.95 to +11.86 pp");
		expect(ppRange(-0.02, 0.031, 2, true, " and ")).toBe("-2.00 and +3.10 percentage points");
		expect(ppRange(null, 0.1)).toBe("–");
	});
	it("keeps rates as percentages", () => {
		expect(pct(0.1234)).toBe("12.3%");
		expect(pct(null)).toBe("–");
	});
});

describe("toCsv", () => {
	it("quotes what needs it, ends lines with CRLF and defuses formulas", () => {
		const csv = toCsv(["person", "events", "first_seen"], [
			["a,b", 3, null],
			['say "hi"', 1, "2026-11-30T10:00:00.000Z"],
			["=HYPERLINK(\"x\")", 2, ""],
			["+1", -1, "line\nbreak"],
		]);
		expect(csv).toBe(['person,events,first_seen', '"a,b",3,', '"say ""hi""",1,2026-11-30T10:00:00.000Z', `"'=HYPERLINK(""x"")",2,`, `'+1,-1,"line\nbreak"`, ""].join("\r\n"));
	});
});

describe("the picked row in the URL (who)", () => {
	it("round-trips a bucket, a row of dimensions and an Overview breakdown row", () => {
		for (const p of [{ time: "2026-12-02T00:00:00+01:00", dimensions: [] }, { dimensions: ["US", 3, null] }, { dimensions: ["chat"], by: ["prop:channel"] }, { time: "2026-12-02T10:00:00.000Z", dimensions: ["desktop"] }])
			expect(decodePick(encodePick(p))).toEqual(p);
	});
	it("reads nothing from a missing or malformed parameter", () => {
		for (const s of [null, "", "{", "[]", '{"d":"US"}', '{"d":[1,2,3,4]}', '{"t":"yesterday","d":[]}', '{"d":[{"x":1}]}', '{"d":["US"],"by":["country","device"]}', '{"d":["US"],"by":["bins:amount"]}', '{"d":["US"],"by":["nope"]}', `{"d":["${"x".repeat(600)}"]}`])
			expect(decodePick(s)).toBeNull();
	});
	it("sets and removes the pick, keeping every other parameter", () => {
		const search = "?range=7d&f=is:country:US&ins=1";
		const set = withPick(search, { time: "2026-12-02T00:00:00+01:00", dimensions: [] });
		expect(new URLSearchParams(set).getAll("f")).toEqual(["is:country:US"]);
		expect(new URLSearchParams(set).get("range")).toBe("7d");
		expect(pickOf(set)).toEqual({ time: "2026-12-02T00:00:00+01:00", dimensions: [] });
		expect(withPick(set, null)).toBe("range=7d&f=is:country:US&ins=1");
		expect(pickOf("?range=7d")).toBeNull();
	});
	it("makes POST /v1/people bodies of Overview picks that the server's parser accepts, and exports of them", () => {
		const view = { range: { preset: "7d" as const }, tz: "America/New_York", filters: [["is", "event", "signup"] as ["is", string, string]] };
		const row = overviewPeopleBody(view, "day", { dimensions: ["US"], by: ["country"] });
		expect(row).toEqual({ date_range: "7d", timezone: "America/New_York", filters: [["is", "event", "signup"]], dimensions: ["country"], row: { dimensions: ["US"] }, limit: 100 });
		const bucket = overviewPeopleBody({ ...view, tz: null, filters: [] }, "hour", { time: "2026-12-02T10:00:00.000Z", dimensions: [] });
		expect(bucket).toEqual({ date_range: "7d", granularity: "hour", dimensions: [], row: { time: "2026-12-02T10:00:00.000Z", dimensions: [] }, limit: 100 });
		for (const b of [row, bucket]) {
			expect(peopleRequest.safeParse(b).success).toBe(true);
			const people = peopleExportBody({ ...b, cursor: "abc" } as typeof b);
			expect(people).not.toHaveProperty("limit");
			expect(people).not.toHaveProperty("cursor");
			expect(exportRequest.safeParse({ format: "csv", people }).success).toBe(true);
		}
	});
});

describe("funnel, retention and experiment views", () => {
	it("round-trips a funnel with step filters, window, order and breakdown; its body has the steps", () => {
		const v = parseFunnel("s=page_view&s=" + encodeURIComponent(encodeStep({ event: "signup", filters: [["is", "prop:plan", "pro"]] })) + "&w=2d&order=any&by=country&range=7d");
		expect(v.steps).toEqual([{ event: "page_view", filters: [] }, { event: "signup", filters: [["is", "prop:plan", "pro"]] }]);
		expect(parseFunnel(funnelSearch(v))).toEqual(v);
		expect(funnelQuery(v)).toEqual({ steps: [{ event: "page_view" }, { event: "signup", filters: [["is", "prop:plan", "pro"]] }], date_range: "7d", window: "2d", order: "any", breakdown: "country" });
		expect(funnelQuery({ ...v, steps: v.steps.slice(0, 1) })).toBeNull();
		expect(decodeStep('{"event":1}')).toBeNull();
		expect(parseFunnel("w=forever&by=bins:amount&order=sideways")).toMatchObject({ window: "7d", breakdown: null, order: "strict" });
	});
	it("round-trips a retention view with its chart, and opens a saved report with its chart", () => {
		const v = parseRetention("p=day&start=signup&ret=purchase&n=10&c=line");
		expect(v).toMatchObject({ form: "retention", period: "day", startEvent: "signup", returnEvent: "purchase", periods: 10, chart: "line" });
		expect(parseRetention(retentionSearch(v))).toEqual(v);
		expect(parseRetention("c=pie").chart).toBe("heatmap");
		expect(retentionSearch({ ...v, chart: "heatmap" })).not.toContain("c=");
		const saved = retentionViewOf({ form: "lifecycle", period: "week", date_range: "30d", return_event: "login" }, "table");
		expect(saved).toMatchObject({ form: "lifecycle", period: "week", returnEvent: "login", startEvent: null, chart: "table" });
	});
	it("round-trips an experiment view; its body filters on the experiment's name", () => {
		const v = parseExperimentView("exp=pricing_page&goal=purchase&ctl=control&win=168&metric=avg:amount&min=0.05");
		expect(parseExperimentView(experimentSearch(v))).toEqual(v);
		expect(experimentQuery(v)).toEqual({
			exposure: { event: "experiment_viewed", variant: "prop:variant", filters: [["is", "prop:experiment", "pricing_page"]] },
			goal: { event: "purchase", metric: "avg:amount" },
			date_range: "30d",
			control: "control",
			window: { hours: 168 },
			minimum_effect: 0.05,
		});
		expect(parseExperimentView("win=0&min=11&metric=median:x")).toMatchObject({ windowHours: null, minimumEffect: null, metric: "conversion" });
	});
});

describe("retention curves and lifecycle lines", () => {
	const answer = {
		average: { rates: [1, 0.4, 0.2, null] },
		cohorts: [
			{ cohort: "2026-11-02T00:00:00+01:00", people: 10, rates: [1, 0.5, 0.2, null] },
			{ cohort: "2026-11-09T00:00:00+01:00", people: 0, rates: [null, null, null, null] },
			{ cohort: "2026-11-16T00:00:00+01:00", people: 5, rates: [1, 0.2, null, null] },
		],
	};
	it("draws the average then each cohort with people, at the answer's rates, over the periods reached", () => {
		const lines = retentionLines(answer, (c) => c.slice(5, 10));
		expect(lines.map((l) => l.label)).toEqual(["Average", "11-02", "11-16"]);
		expect(lines.map((l) => l.values)).toEqual([answer.average.rates, answer.cohorts[0]!.rates, answer.cohorts[2]!.rates]);
		expect(startedPeriods(lines)).toBe(3);
		expect(lineData(lines)).toEqual([[0, 1, 2, 3], ...lines.map((l) => l.values)]);
	});
	it("draws the lifecycle's four kinds per period", () => {
		const lines = lifecycleLines([
			{ new: 3, returning: 4, resurrecting: 1, dormant: 2 },
			{ new: 1, returning: null, resurrecting: 0, dormant: 5 },
		]);
		expect(lines.map((l) => [l.label, l.values])).toEqual([
			["New", [3, 1]],
			["Returning", [4, null]],
			["Resurrecting", [1, 0]],
			["Dormant", [2, 5]],
		]);
	});
});

describe("a time series with its insights", () => {
	const day = (d: number) => `2026-11-${String(d).padStart(2, "0")}T00:00:00+01:00`;
	const results = [1, 2, 3, 4].map((d) => ({ time: day(d), dimensions: [], metrics: [d * 10, d] }));
	const answer = { results, meta: { metrics: ["count", "uniques"] } } as unknown as Parameters<typeof insightColumns>[0];
	const series: SeriesInsight = {
		dimensions: [],
		anomalies: [{ time: day(3), value: 30, expected: 12, score: 4.2 }],
		trend: { direction: "up", slope: 10, slope_ci95: [8, 12], p_value: 0.0004, points: 3, intercept: 10 } as SeriesInsight["trend"],
		forecast: [{ time: day(5), value: 50, lo80: 45, hi80: 55, lo95: 40, hi95: 60 }],
		backtest: { horizon: 2, mae: 1.5, mape: 4, coverage80: 0.5, coverage95: 1 } as SeriesInsight["backtest"],
		incomplete_from: day(4),
	};
	const ins = { metric: "count", series: [series] } as unknown as Insights;
	it("lines the values, the forecast and its bands, the trend (complete buckets only) and the flags up by bucket", () => {
		const c = insightColumns(answer, ins, series);
		expect(c.xs).toEqual([1, 2, 3, 4, 5].map((d) => Date.parse(day(d)) / 1000));
		expect(c.times).toEqual([1, 2, 3, 4, 5].map(day));
		expect(c.value).toEqual([10, 20, 30, 40, null]);
		expect(c.forecast).toEqual([null, null, null, null, 50]);
		expect([c.lo80[4], c.hi80[4], c.lo95[4], c.hi95[4]]).toEqual([45, 55, 40, 60]);
		expect(c.trend).toEqual([10, 20, 30, null, null]);
		expect(c.anomaly).toEqual([null, null, 30, null, null]);
	});
	it("puts the trend and the backtest in words", () => {
		expect(trendText(series, "day")).toBe("Trend: rising, +10.00 per day (95% interval 8.00 to 12.00, p < 0.001, 3 points)");
		expect(backtestText(series)).toBe("Backtest on the last 2 buckets: off by 1.5 on average (4%); 50% fell in the 80% band, 100% in the 95% band.");
		expect(trendText({ dimensions: [] }, "day")).toBeNull();
		expect(backtestText({ dimensions: [], forecast_note: "too short" })).toBe("too short");
	});
});
