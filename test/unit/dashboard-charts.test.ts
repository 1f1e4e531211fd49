import { describe, expect, it } from "vitest";
import type { AnswerBody, LiveDeltaMessage, LiveSnapshot } from "../../web/src/api/types";
import { categoryBarOptions, DURATION_INCRS, sparklineOptions, TIME_LABELS, timeIncrs, timeSeriesOptions } from "../../web/src/lib/chart";
import { answerTable, categories, curlCommand, exploreQuery, splitSeries } from "../../web/src/lib/explore";
import { changeTone, formatChange, formatDimValue, formatDuration, formatMetric, formatNumber, metricLabel } from "../../web/src/lib/format";
import { applyDelta, backoffMs, eventCounts, step } from "../../web/src/lib/live";
import { breakdownRows, bucketLabel, kpis, multiSeriesData, seriesData, seriesTable } from "../../web/src/lib/series";
import { byHour, csatDistribution, heatmap, supportTotals } from "../../web/src/lib/support";
import { parseExplore } from "../../web/src/lib/url";

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
	});

	it("breakdown rows with bars relative to the largest", () => {
		const a = { results: [{ dimensions: ["US"], metrics: [200, 20] }, { dimensions: [null], metrics: [50, 5] }], meta: { metrics: ["count", "uniques"], dimensions: ["country"] } } as unknown as AnswerBody;
		expect(breakdownRows(a as never)).toEqual([
			{ value: "US", metrics: [200, 20], share: 1 },
			{ value: null, metrics: [50, 5], share: 0.25 },
		]);
	});
});

describe("support shapes", () => {
	const answer = (dims: string[], results: [unknown[], number][]) => ({ results: results.map(([d, n]) => ({ dimensions: d, metrics: [n] })), meta: { metrics: ["count"], dimensions: dims } }) as unknown as AnswerBody;

	it("totals per support event, zero for the missing ones", () => {
		expect(supportTotals(answer(["event"], [[["message_sent"], 40], [["conversation_started"], 9], [["page_view"], 100]]))).toEqual({
			conversation_started: 9,
			message_sent: 40,
			conversation_escalated: 0,
			conversation_resolved: 0,
			csat_submitted: 0,
		});
	});

	it("messages by hour and the weekday × hour heat map, zero-filled", () => {
		const hours = byHour(answer(["hour_of_day"], [[[9], 12], [[23], 1]]));
		expect(hours).toHaveLength(24);
		expect(hours[9]).toBe(12);
		expect(hours[0]).toBe(0);
		const h = heatmap(answer(["day_of_week", "hour_of_day"], [[[1, 9], 30], [[7, 23], 2], [[8, 1], 99]]));
		expect(h.max).toBe(30);
		expect(h.cells[0]![9]).toBe(30);
		expect(h.cells[6]![23]).toBe(2);
		expect(h.cells.flat().reduce((a, b) => a + b, 0)).toBe(32);
	});

	it("CSAT distribution over scores 1-5 from text dimension values", () => {
		expect(csatDistribution(answer(["prop:score"], [[["5"], 6], [["4"], 3], [["1"], 1], [["x"], 9]]))).toEqual([
			{ score: 1, count: 1, share: 0.1 },
			{ score: 2, count: 0, share: 0 },
			{ score: 3, count: 0, share: 0 },
			{ score: 4, count: 3, share: 0.3 },
			{ score: 5, count: 6, share: 0.6 },
		]);
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
		expect(answerTable(a)).toEqual({
			head: ["time", "country", "count"],
			rows: [
				["2026-11-16T00:00:00Z", "US", 3],
				["2026-11-16T00:00:00Z", "(none)", 1],
				["2026-11-17T00:00:00Z", "US", 4],
				["2026-11-17T00:00:00Z", "(none)", 0],
			],
			numeric: [false, false, true],
		});
		expect(splitSeries(a, 0)).toEqual({
			xs: [Date.parse("2026-11-16T00:00:00Z") / 1000, Date.parse("2026-11-17T00:00:00Z") / 1000],
			series: [
				{ label: "US", ys: [3, 4] },
				{ label: "(none)", ys: [1, 0] },
			],
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
		expect(formatDimValue("day_of_week", 7)).toBe("Sun");
		expect(formatDimValue("hour_of_day", 9)).toBe("09:00");
		expect(formatDimValue("country", null)).toBe("(none)");
	});
});
