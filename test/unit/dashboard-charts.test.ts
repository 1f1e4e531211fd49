import { describe, expect, it } from "vitest";
import type { AnswerBody, LiveDeltaMessage, LiveSnapshot } from "../../web/src/api/types";
import { categoryBarOptions, DURATION_INCRS, sparklineOptions, TIME_LABELS, timeIncrs, timeSeriesOptions } from "../../web/src/lib/chart";
import { addTile, moveTile, removeTile, setWidth, shareRefusal, withRange } from "../../web/src/lib/boards";
import { curlCommand, exploreQuery, prettyJson, viewFromQuery } from "../../web/src/lib/explore";
import { binLabel, changeTone, formatChange, formatDimValue, formatDuration, formatMetric, formatNumber, formatValue, metricLabel } from "../../web/src/lib/format";
import { applyDelta, backoffMs, eventCounts, step } from "../../web/src/lib/live";
import { breakdownRows, bucketLabel, kpis, multiSeriesData, seriesData, seriesTable } from "../../web/src/lib/series";
import { metricFormats, pairsInQueries } from "../../web/src/lib/query";
import { answerTable, categories, figures, heatGrid, ordinal, timeSeries } from "../../web/src/lib/report";
import { exploreSearch, parseExplore } from "../../web/src/lib/url";
import { SUPPORT_PRESET } from "../../workers/reports/presets";
import { parseQuery } from "../../workers/query/spec";

// Chart options and data shaping are pure: built here without a browser, checked field by field.

const palette = (name: string) => `color(${name})`;
type Fn = (...a: any[]) => any;
const call = (f: unknown, ...args: unknown[]) => (f as Fn)(...args);

/** A daily answer with a comparison, as POST /v1/query returns it. */
function dailyAnswer(): AnswerBody {
	return {
		results: [
			{ time: "2026-10-24T00:00:00+02:00", dimensions: [], metrics: [10, 4, 1500], comparison: { metrics: [8, 3, null], change: [2, 1, null], change_pct: [25, 33.3, null] } },
			{ time: "2026-10-25T00:00:00+02:00", dimensions: [], metrics: [0, 0, null], comparison: { metrics: [5, 2, 900], change: [-5, -2, null], change_pct: [-100, -100, null] } },
			{ time: "2026-10-26T00:00:00+01:00", dimensions: [], metrics: [7, 3, 2000], comparison: { metrics: [7, 3, 1000], change: [0, 0, 1000], change_pct: [0, 0, 100] } },
		],
		meta: { metrics: ["count", "uniques", "p95:response_time_ms"], dimensions: [], granularity: "day", timezone: "Europe/Paris", plan: "rollup", level: "day" },
	} as unknown as AnswerBody;
}

describe("uPlot options", () => {
	it("a time series: one uPlot series per spec, the previous period dashed, colours from the theme at draw time", () => {
		const o = timeSeriesOptions({
			width: 640,
			height: 260,
			palette,
			yFormat: (v) => `${v} ms`,
			series: [
				{ label: "This period", color: "c1", fill: true },
				{ label: "Previous period", color: "c2", dash: [5, 4], width: 1.5 },
			],
		});
		expect(o.width).toBe(640);
		expect(o.height).toBe(260);
		expect(o.legend?.show).toBe(false);
		expect(o.scales?.x?.time).toBe(true);
		expect(o.series).toHaveLength(3);
		const [, cur, prev] = o.series;
		expect(cur!.label).toBe("This period");
		expect(call(cur!.stroke)).toBe("color(c1)");
		expect(call(cur!.fill)).toBe("color(c1-fill)");
		expect(cur!.dash).toBeUndefined();
		expect(prev!.dash).toEqual([5, 4]);
		expect(prev!.width).toBe(1.5);
		expect(call(prev!.stroke)).toBe("color(c2)");
		expect(cur!.spanGaps).toBe(false);
		// y axis: the metric's own format; the zero line is always in view.
		const y = o.axes![1]!;
		expect(call(y.values, null, [0, 1500])).toEqual(["0 ms", "1500 ms"]);
		expect(call(o.scales!.y!.range, null, 5, 100)).toEqual([0, 108]);
		expect(call(o.scales!.y!.range, null, null, null)).toEqual([0, 1]);
		expect(o.axes![0]!.values).toBe(TIME_LABELS);
		expect(call(o.axes![0]!.grid!.stroke)).toBe("color(grid)");
	});

	it("time ticks are never finer than a bucket", () => {
		const o = timeSeriesOptions({ width: 1, height: 1, palette, yFormat: String, granularity: "day", series: [{ label: "Events", color: "c1" }] });
		expect(o.axes![0]!.incrs).toEqual(timeIncrs("day"));
		expect(timeIncrs("day")![0]).toBe(86_400);
		expect(timeIncrs("hour")![0]).toBe(3600);
		expect(timeIncrs("week")![0]).toBe(7 * 86_400);
		expect(timeIncrs("month")![0]).toBe(30 * 86_400);
		expect(timeIncrs(null)).toBeUndefined();
		expect(timeSeriesOptions({ width: 1, height: 1, palette, yFormat: String, series: [] }).axes![0]!.incrs).toBeUndefined();
	});

	it("durations tick at round steps", () => {
		const o = timeSeriesOptions({ width: 1, height: 1, palette, yFormat: formatDuration, yIncrs: DURATION_INCRS, series: [{ label: "p95", color: "c3" }] });
		expect(o.axes![1]!.incrs).toBe(DURATION_INCRS);
		expect(DURATION_INCRS).toContain(30 * 60_000);
		expect(DURATION_INCRS).toContain(6 * 3_600_000);
		expect(DURATION_INCRS.every((x, i) => i === 0 || x > DURATION_INCRS[i - 1]!)).toBe(true);
	});

	it("bars instead of lines when a path builder is given", () => {
		const bars = () => null;
		const o = timeSeriesOptions({ width: 1, height: 1, palette, yFormat: String, bars, series: [{ label: "Events", color: "c1" }] });
		expect(o.series[1]!.paths).toBe(bars);
		expect(o.series[1]!.width).toBe(0);
		expect(call(o.series[1]!.fill)).toBe("color(c1)");
	});

	it("a sparkline has no axes, cursor or legend", () => {
		const o = sparklineOptions({ width: 200, height: 36, color: "c1", palette });
		expect(o.axes!.map((a) => a.show)).toEqual([false, false]);
		expect(o.cursor?.show).toBe(false);
		expect(o.legend?.show).toBe(false);
		expect(o.series).toHaveLength(2);
	});

	it("category bars label the x axis with the categories", () => {
		const bars = () => null;
		const o = categoryBarOptions({ width: 300, height: 180, palette, bars, labels: ["00", "01", "02"], label: "Messages", yFormat: String });
		expect(o.scales!.x).toMatchObject({ time: false, range: [-0.5, 2.5] });
		expect(call(o.axes![0]!.values, null, [0, 1, 1.5, 2])).toEqual(["00", "01", "", "02"]);
		expect(o.series[1]!.paths).toBe(bars);
	});
});

describe("answers → chart data and tables", () => {
	it("a series of one metric with the previous period aligned by position, nulls as gaps", () => {
		const a = dailyAnswer();
		const [xs, ys, prev] = seriesData(a.results, 2, true);
		expect(xs).toEqual([Date.parse("2026-10-23T22:00:00Z") / 1000, Date.parse("2026-10-24T22:00:00Z") / 1000, Date.parse("2026-10-25T23:00:00Z") / 1000]);
		expect(ys).toEqual([1500, null, 2000]);
		expect(prev).toEqual([null, 900, 1000]);
		expect(seriesData(a.results, 0, false)).toEqual([xs, [10, 0, 7]]);
		expect(multiSeriesData(a.results, [0, 1])).toEqual([xs, [10, 0, 7], [4, 0, 3]]);
	});

	it("KPIs with their change, and the table behind the chart", () => {
		const a = dailyAnswer();
		const totals = { ...a, results: [a.results[0]!] } as AnswerBody;
		expect(kpis(totals as never)).toEqual([
			{ metric: "count", value: 10, previous: 8, changePct: 25 },
			{ metric: "uniques", value: 4, previous: 3, changePct: 33.3 },
			{ metric: "p95:response_time_ms", value: 1500, previous: null, changePct: null },
		]);
		const t = seriesTable(a.results, "day", [
			{ label: "This period", idx: 0 },
			{ label: "Previous period", idx: 0, previous: true },
		]);
		expect(t.head).toEqual(["Period", "This period", "Previous period"]);
		expect(t.rows).toEqual([
			["Sat 24 Oct 2026", 10, 8],
			["Sun 25 Oct 2026", 0, 5],
			["Mon 26 Oct 2026", 7, 7],
		]);
	});

	it("bucket labels read the local time the API writes, whatever the browser's zone", () => {
		expect(bucketLabel("2026-10-25T02:00:00+02:00", "hour")).toBe("Sun 25 Oct 02:00 (+02:00)");
		expect(bucketLabel("2026-10-25T02:00:00+01:00", "hour")).toBe("Sun 25 Oct 02:00 (+01:00)");
		expect(bucketLabel("2026-11-16T00:00:00Z", "week")).toBe("Week of 16 Nov 2026");
		expect(bucketLabel("2026-11-01T00:00:00-04:00", "month")).toBe("Nov 2026");
		expect(bucketLabel("2026-10-01T00:00:00-04:00", "quarter")).toBe("Q4 2026");
		expect(bucketLabel("2026-01-01T00:00:00-05:00", "year")).toBe("2026");
	});

	it("breakdown rows with bars relative to the largest", () => {
		const a = { results: [{ dimensions: ["US"], metrics: [200, 20] }, { dimensions: [null], metrics: [50, 5] }], meta: { metrics: ["count", "uniques"], dimensions: ["country"] } } as unknown as AnswerBody;
		expect(breakdownRows(a as never)).toEqual([
			{ value: "US", metrics: [200, 20], share: 1 },
			{ value: null, metrics: [50, 5], share: 0.25 },
		]);
	});
});

describe("answers drawn as reports", () => {
	const answer = (dims: string[], results: [unknown[], number | null][], extra = {}) =>
		({ results: results.map(([d, n]) => ({ dimensions: d, metrics: [n] })), meta: { metrics: ["count"], dimensions: dims, granularity: null, timezone: "UTC", ...extra } }) as unknown as AnswerBody;

	it("a weekday × hour heat map: every day and hour in order, counts zero-filled", () => {
		const g = heatGrid(answer(["day_of_week", "hour_of_day"], [[[1, 9], 30], [[7, 23], 2], [[8, 1], 99]]))!;
		expect(g.rows).toEqual(["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]);
		expect(g.cols).toHaveLength(24);
		expect(g.cols[9]).toBe("09");
		expect(g.max).toBe(30);
		expect(g.cells[0]![9]).toBe(30);
		expect(g.cells[6]![23]).toBe(2);
		expect(g.cells.flat().reduce((a, b) => a! + b!, 0)).toBe(32);
	});

	it("a heat map of any two dimensions, or of one over time; averages keep their gaps", () => {
		const g = heatGrid(answer(["prop:channel", "prop:intent"], [[["chat", "billing"], 2.5], [["email", "refund"], 4]]))!;
		expect([g.rows, g.cols]).toEqual([["chat", "email"], ["billing", "refund"]]);
		expect(g.cells).toEqual([[2.5, null], [null, 4]]);
		const t = { results: [{ time: "2026-11-16T00:00:00Z", dimensions: ["chat"], metrics: [3] }, { time: "2026-11-17T00:00:00Z", dimensions: ["chat"], metrics: [4] }], meta: { metrics: ["count"], dimensions: ["prop:channel"], granularity: "day", timezone: "UTC" } } as unknown as AnswerBody;
		expect(heatGrid(t)).toMatchObject({ rows: ["chat"], cols: ["Mon 16 Nov 2026", "Tue 17 Nov 2026"], cells: [[3, 4]] });
		expect(heatGrid(answer(["country"], [[["US"], 1]]))).toBeNull();
	});

	it("distribution bins read as ranges, zero-filled in order; hours and weekdays on an axis, names in a list", () => {
		const csat = answer(["bins:score"], [[[5], 6], [[1], 1], [[4], 3]], { bins: [1, 2, 3, 4, 5] });
		expect(categories(csat)).toEqual({ labels: ["1", "2", "3", "4", "≥ 5"], ys: [1, 0, 0, 3, 6] });
		const ai = answer(["bins:ai_confidence"], [[[null], 1], [[0.4], 2]], { bins: [0.5, 0.8] });
		expect(binLabel([0, 0.2, 0.4], 0.2)).toBe("0.2–0.4");
		expect(binLabel([0, 1000, 5000], 1000, formatDuration)).toBe("1.0 s–5.0 s");
		expect(categories(ai).labels).toEqual(["< 0.5", "0.5–0.8", "≥ 0.8"]);
		expect(categories(answer(["hour_of_day"], [[[9], 12], [[23], 1]])).ys).toHaveLength(24);
		expect(ordinal(answer(["hour_of_day"], [[[9], 12]]))).toBe(true);
		expect(ordinal(csat)).toBe(true);
		expect(ordinal(answer(["prop:intent"], [[["account_access"], 1], [["feature_request"], 1], [["bug_report"], 1], [["cancellation"], 1]]))).toBe(false);
	});

	it("big numbers with their change, in each metric's format", () => {
		const a = { results: [{ dimensions: [], metrics: [527, 87.4, 83_000], comparison: { metrics: [500, 80, null], change: [27, 7.4, null], change_pct: [5.4, 9.3, null] } }], meta: { metrics: ["resolved", "resolution_rate", "p50:pair:first_response"], dimensions: [], granularity: null, timezone: "UTC" } } as unknown as AnswerBody;
		const formats = metricFormats(a.meta.metrics, null);
		expect(formats).toEqual(["number", "percent", "duration"]);
		expect(figures(a, formats).map((f) => [f.label, formatValue(f.format, f.value), f.changePct])).toEqual([
			["Resolved", "527", 5.4],
			["Resolution rate", "87.4%", 9.3],
			["Median first_response", "1 min 23 s", null],
		]);
		// From the query's own specs: a formula with percent, a named metric's underlying one.
		expect(metricFormats(["ratio", "wait"], [{ name: "ratio", formula: "a / b", percent: true }, { name: "wait", metric: "avg:response_time_ms", filters: [["is", "event", "x"]] }])).toEqual(["percent", "duration"]);
	});
});

describe("boards", () => {
	it("tiles move, resize, leave and join; a report is on a board once", () => {
		const l = [{ report_id: "a", width: 6 }, { report_id: "b", width: 6 }, { report_id: "c", width: 12 }];
		expect(moveTile(l, 0, 1).map((t) => t.report_id)).toEqual(["b", "a", "c"]);
		expect(moveTile(l, 2, 1)).toBe(l);
		expect(moveTile(l, 2, -5).map((t) => t.report_id)).toEqual(["c", "a", "b"]);
		expect(setWidth(l, 1, 40)[1]).toEqual({ report_id: "b", width: 12 });
		expect(removeTile(l, 1).map((t) => t.report_id)).toEqual(["a", "c"]);
		expect(addTile(l, "d", 4).at(-1)).toEqual({ report_id: "d", width: 4 });
		expect(addTile(l, "a")).toBe(l);
	});

	it("one range for every tile replaces each saved range and zone", () => {
		expect(withRange({ metrics: ["count"], date_range: "30d", granularity: "day" }, { preset: "7d" }, "UTC")).toEqual({ metrics: ["count"], date_range: "7d", granularity: "day", timezone: "UTC" });
		expect(withRange({ metrics: ["count"], date_range: "30d" }, null, null)).toEqual({ metrics: ["count"], date_range: "30d" });
	});

	it("a refused share link says why, from details.reason", () => {
		expect(shareRefusal(403, "invalid_share_link", { reason: "revoked" }, "").title).toBe("This link has been revoked");
		expect(shareRefusal(403, "invalid_share_link", { reason: "expired" }, "").title).toBe("This link has expired");
		expect(shareRefusal(403, "invalid_share_link", { reason: "bad_signature" }, "").title).toBe("This link is not valid");
		expect(shareRefusal(403, "invalid_share_link", { reason: "malformed" }, "").title).toBe("This is not a share link");
		expect(shareRefusal(404, "not_found", {}, "").title).toBe("This board no longer exists");
	});
});

describe("the query builder", () => {
	it("turns the URL into the request it shows and sends", () => {
		const v = parseExplore("range=7d&m=count,p95:response_time_ms&d=prop:channel&g=none&f=is:event:message_sent&o=count:desc&l=5&cmp=previous_period");
		const q = exploreQuery(v);
		expect(q).toEqual({
			metrics: ["count", "p95:response_time_ms"],
			date_range: "7d",
			dimensions: ["prop:channel"],
			filters: [["is", "event", "message_sent"]],
			compare: "previous_period",
			order_by: [["count", "desc"]],
			limit: 5,
		});
		expect(curlCommand("https://ew.example", { metrics: ["count"], date_range: "7d", filters: [["is", "prop:name", "O'Brien"]] })).toBe(
			`curl -X POST https://ew.example/v1/query \\\n  -H "Authorization: Bearer $EDGEWISE_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '{"metrics":["count"],"date_range":"7d","filters":[["is","prop:name","O'\\''Brien"]]}'`,
		);
	});

	it("metric objects, formulas, distributions, per-group limits and ordering by change: in the URL and in the request", () => {
		const view = {
			...parseExplore("range=30d&g=quarter&cmp=previous_period&d=prop:channel,bins:ai_confidence&bins=0,0.5,0.9&lpg=3&chart=heatmap&report=rep_abc"),
			metrics: [
				{ name: "ai", metric: "count", filters: [["is", "prop:sender_type", ["ai"]]], hidden: true },
				{ name: "replies", metric: "count", filters: [["is", "prop:sender_type", ["ai", "agent"]]] },
				{ name: "ai_share", formula: "ai / replies", percent: true },
				"uniques:prop:agent_id",
			],
			order: [["change_pct:replies", "desc"]],
		} as ReturnType<typeof parseExplore>;
		const again = parseExplore(exploreSearch(view));
		expect(again).toEqual(view);
		const q = exploreQuery(again);
		expect(q).toEqual({
			metrics: view.metrics,
			date_range: "30d",
			granularity: "quarter",
			dimensions: ["prop:channel", { dimension: "bins:ai_confidence", edges: [0, 0.5, 0.9] }],
			compare: "previous_period",
			order_by: [["change_pct:replies", "desc"]],
			limit_per_group: 3,
		});
		expect(() => parseQuery(q)).not.toThrow();
		expect(() => parseQuery({ ...q, metrics: ["p50:pair:first_response", "open:resolution"], dimensions: ["prop:channel"], order_by: [] })).not.toThrow();
		expect(parseExplore(exploreSearch({ ...again, bins: { count: 20 } })).bins).toEqual({ count: 20 });
		// Broken JSON, unknown metrics and a second distribution are left out, not passed on.
		expect(parseExplore('m={"name":"x"&m=count,nope&m={"metric":"sum:amount","filters":[["is","event","a"]]}&d=bins:a,bins:b').metrics).toEqual(["count"]);
		expect(parseExplore("d=bins:a,bins:b").dimensions).toEqual(["bins:a"]);
	});

	it("opens a saved report (the support preset's) as the builder's state, and sends the same query back", () => {
		for (const r of SUPPORT_PRESET.reports) {
			const { view, problems } = viewFromQuery(r.query, r.chart, "rep_x");
			expect(problems, r.name).toEqual([]);
			expect(view.chart).toBe(r.chart);
			expect(exploreQuery(view), r.name).toEqual(r.query);
		}
		expect(viewFromQuery({ metrics: ["count", "bogus"], date_range: { from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z" } }, "line", null).problems).toEqual([
			"some of metrics",
			"date_range (date-times are shown as the last 30 days)",
		]);
		expect(pairsInQueries(SUPPORT_PRESET.reports.map((r) => r.query))).toEqual(["first_response", "resolution"]);
	});

	it("shows JSON indented, with filters and short objects on one line", () => {
		const q = { metrics: [{ name: "s", metric: "count", filters: [["is", "event", "a,1\":b"]] }], date_range: "30d", dimensions: ["prop:channel"] };
		const text = prettyJson(q);
		expect(JSON.parse(text)).toEqual(q);
		expect(text).toBe('{\n  "metrics": [\n    {\n      "name": "s",\n      "metric": "count",\n      "filters": [["is", "event", "a,1\\":b"]]\n    }\n  ],\n  "date_range": "30d",\n  "dimensions": ["prop:channel"]\n}');
	});

	it("tables, split series and category bars from an answer", () => {
		const a = {
			results: [
				{ time: "2026-11-16T00:00:00Z", dimensions: ["US"], metrics: [3] },
				{ time: "2026-11-16T00:00:00Z", dimensions: [null], metrics: [1] },
				{ time: "2026-11-17T00:00:00Z", dimensions: ["US"], metrics: [4] },
				{ time: "2026-11-17T00:00:00Z", dimensions: [null], metrics: [0] },
			],
			meta: { metrics: ["count"], dimensions: ["country"], granularity: "day" },
		} as unknown as AnswerBody;
		const t = answerTable(a, ["number"]);
		expect(t.head).toEqual(["Period", "Country", "Events"]);
		expect(t.rows.map((r) => r.map((c) => c.text))).toEqual([
			["Mon 16 Nov 2026", "US", "3"],
			["Mon 16 Nov 2026", "(none)", "1"],
			["Tue 17 Nov 2026", "US", "4"],
			["Tue 17 Nov 2026", "(none)", "0"],
		]);
		expect(t.rows[0]![2]!.value).toBe(3);
		expect(t.numeric).toEqual([false, false, true]);
		expect(timeSeries(a, 0)).toEqual({
			xs: [Date.parse("2026-11-16T00:00:00Z") / 1000, Date.parse("2026-11-17T00:00:00Z") / 1000],
			series: [
				{ label: "US", ys: [3, 4] },
				{ label: "(none)", ys: [1, 0] },
			],
			byMetric: false,
		});
		const b = { results: [{ dimensions: [1, 9], metrics: [5] }], meta: { metrics: ["count"], dimensions: ["day_of_week", "hour_of_day"], granularity: null } } as unknown as AnswerBody;
		expect(categories(b, 0)).toEqual({ labels: ["Mon · 09:00"], ys: [5] });
	});
});

describe("the live view", () => {
	const snap = (seq: number): LiveSnapshot => ({
		v: 1,
		type: "snapshot",
		seq,
		at: "2026-11-22T03:20:13.922Z",
		view: { event: null },
		series: [
			{ t: 60, count: 1 },
			{ t: 120, count: 2 },
		],
		current_minute: { t: 120, count: 2 },
		last_60m: 3,
		by_event: { page_view: 2, signup: 1 },
		uniques: { last_5m: 2, last_30m: 2, method: "exact" },
		latest: [{ event: "signup", user_id: "u1", anonymous_id: null, timestamp: "t", received_at: "t", country: null, device: null }],
	});
	const delta = (seq: number, patch: Partial<LiveDeltaMessage> = {}): LiveDeltaMessage => ({
		v: 1,
		type: "delta",
		seq,
		at: "x",
		view: { event: null },
		series: [{ t: 120, count: 5 }],
		current_minute: { t: 120, count: 5 },
		last_60m: 6,
		by_event: { page_view: 5 },
		uniques: { last_5m: 3, last_30m: 3, method: "exact" },
		latest: [{ event: "page_view", user_id: null, anonymous_id: "a", timestamp: "t2", received_at: "t2", country: "FR", device: "mobile" }],
		...patch,
	});

	it("a snapshot replaces the state; the next delta applies absolute numbers", () => {
		let s = step({ snapshot: null, resyncing: false }, snap(4)).state;
		const r = step(s, delta(5));
		expect(r.askSnapshot).toBe(false);
		s = r.state;
		expect(s.snapshot).toMatchObject({ seq: 5, last_60m: 6, by_event: { page_view: 5, signup: 1 }, current_minute: { t: 120, count: 5 } });
		expect(s.snapshot!.series).toEqual([
			{ t: 60, count: 1 },
			{ t: 120, count: 5 },
		]);
		expect(s.snapshot!.latest.map((e) => e.event)).toEqual(["page_view", "signup"]);
	});

	it("a gap in seq asks for a snapshot and ignores deltas until it comes", () => {
		const s = step({ snapshot: null, resyncing: false }, snap(4)).state;
		const gap = step(s, delta(7));
		expect(gap.askSnapshot).toBe(true);
		expect(gap.state.resyncing).toBe(true);
		const ignored = step(gap.state, delta(8));
		expect(ignored.askSnapshot).toBe(false);
		expect(ignored.state.snapshot!.seq).toBe(4);
		expect(step(ignored.state, snap(8)).state).toEqual({ snapshot: snap(8), resyncing: false });
		// A delta before any snapshot is a gap too (sequence restarts after a hub restart).
		expect(step({ snapshot: null, resyncing: false }, delta(0)).askSnapshot).toBe(true);
	});

	it("a new minute slides the window; the feed keeps 20", () => {
		const s = snap(1);
		s.latest = Array.from({ length: 20 }, (_, i) => ({ ...s.latest[0]!, user_id: `u${i}` }));
		const d = applyDelta(s, delta(2, { series: [{ t: 180, count: 1 }] }));
		expect(d.series).toEqual([
			{ t: 120, count: 2 },
			{ t: 180, count: 1 },
		]);
		expect(d.latest).toHaveLength(20);
		expect(d.latest[0]!.event).toBe("page_view");
	});

	it("reconnects back off from 1 s to 30 s with jitter", () => {
		expect(backoffMs(0, 1)).toBe(1000);
		expect(backoffMs(0, 0)).toBe(500);
		expect(backoffMs(3, 1)).toBe(8000);
		expect(backoffMs(10, 1)).toBe(30_000);
		expect(backoffMs(10, 0)).toBe(15_000);
	});

	it("events by name, busiest first", () => {
		expect(eventCounts({ a: 1, b: 4, c: 0, d: 4 })).toEqual([
			{ event: "b", count: 4, share: 1 },
			{ event: "d", count: 4, share: 1 },
			{ event: "a", count: 1, share: 0.25 },
		]);
	});
});

describe("formatting", () => {
	it("numbers, durations and changes", () => {
		expect(formatNumber(20017)).toBe("20,017");
		expect(formatNumber(1853.61242604)).toBe("1,854");
		expect(formatNumber(3.98367)).toBe("3.98");
		expect(formatNumber(null)).toBe("–");
		expect(formatDuration(850)).toBe("850 ms");
		expect(formatDuration(4_200)).toBe("4.2 s");
		expect(formatDuration(200_000)).toBe("3 min 20 s");
		expect(formatDuration(7_500_000)).toBe("2 h 05 min");
		expect(formatDuration(97_200_000)).toBe("1 d 3 h");
		expect(formatMetric("p95:response_time_ms", 90_000)).toBe("1 min 30 s");
		expect(formatMetric("sum:response_time_ms", 90_000)).toBe("90,000");
		expect(formatChange(4.7)).toBe("+4.7%");
		expect(formatChange(-8.7)).toBe("−8.7%");
		expect(formatChange(null)).toBeNull();
	});

	it("a slower response time is bad news, more events are good news", () => {
		expect(changeTone("count", 5)).toBe("up");
		expect(changeTone("count", -5)).toBe("down");
		expect(changeTone("p95:response_time_ms", 5)).toBe("down");
		expect(changeTone("p95:response_time_ms", -5)).toBe("up");
		expect(changeTone("uniques", null)).toBe("none");
	});

	it("names of metrics and dimension values", () => {
		expect(metricLabel("count")).toBe("Events");
		expect(metricLabel("p95:response_time_ms")).toBe("p95 response_time_ms");
		expect(metricLabel("avg:amount")).toBe("Average amount");
		expect(metricLabel("uniques:prop:agent_id")).toBe("Distinct agent_id");
		expect(metricLabel("p95:pair:first_response")).toBe("p95 first_response");
		expect(metricLabel("open:resolution")).toBe("Open resolution");
		expect(metricLabel("escalation_rate")).toBe("Escalation rate");
		expect(formatDimValue("day_of_week", 7)).toBe("Sun");
		expect(formatDimValue("hour_of_day", 9)).toBe("09:00");
		expect(formatDimValue("country", null)).toBe("(none)");
	});
});
