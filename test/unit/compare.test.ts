import { describe, expect, it } from "vitest";
import { comparisonPlan, type Layout, plan, planQuery, resolveRange } from "../../workers/query/plan";
import { parseQuery } from "../../workers/query/spec";

// Which range and rollup level a comparison reads, for the demo tenant's layout (Europe/Paris days,
// whole-hour buckets). 2026-11-22T14:42:10Z is 15:42 in Paris.
const Z = (iso: string) => Date.parse(iso);
const TZ = "Europe/Paris";
const NOW = Z("2026-11-22T14:42:10Z");
const layout: Layout = {
	dayTz: TZ,
	alignMinutes: 0,
	config: { dimension_props: ["plan"], metric_props: ["amount"] },
	archivedBefore: 0,
	minutesSince: NOW - 7 * 86_400_000 + 3_600_000,
};

function compare(body: object, l: Layout | null = layout) {
	const q = planQuery(parseQuery({ metrics: ["count", "uniques"], compare: "previous_period", ...body }));
	const range = resolveRange(q, TZ, NOW);
	const main = plan(q, l, TZ, range);
	const c = comparisonPlan(q, l, TZ, range, NOW, main);
	const iso = (t: number) => new Date(t).toISOString();
	// Every part maps its rows into the output buckets of the whole comparison range.
	for (const p of c.parts) expect(p.buckets).toEqual(c.parts[0]!.buckets);
	return {
		main: main.level,
		parts: c.parts.map((p) => `${p.source === "raw" ? "raw" : p.level} ${iso(p.range.from)}..${iso(p.range.to)}`),
		from: iso(c.range.from),
		to: iso(c.range.to),
	};
}

describe("comparisonPlan", () => {
	it("compares 7d with the seven days before up to the same hour: whole days from day buckets, the last day's hours from hour buckets", () => {
		expect(compare({ date_range: "7d" })).toEqual({
			main: "day",
			parts: ["day 2026-11-08T23:00:00.000Z..2026-11-14T23:00:00.000Z", "hour 2026-11-14T23:00:00.000Z..2026-11-15T14:00:00.000Z"],
			from: "2026-11-08T23:00:00.000Z",
			to: "2026-11-15T14:00:00.000Z",
		});
		// 30 local days back is summer time: 15:00 in Paris is 13:00Z there.
		expect(compare({ date_range: "30d", dimensions: ["country"], granularity: "week" })).toMatchObject({
			main: "day",
			parts: ["day 2026-09-23T22:00:00.000Z..2026-10-22T22:00:00.000Z", "hour 2026-10-22T22:00:00.000Z..2026-10-23T13:00:00.000Z"],
		});
	});

	it("cuts today's comparison to the minute where minute buckets answer it, else to the hour", () => {
		expect(compare({ date_range: "today" })).toEqual({
			main: "day",
			parts: ["minute 2026-11-20T23:00:00.000Z..2026-11-21T14:42:00.000Z"],
			from: "2026-11-20T23:00:00.000Z",
			to: "2026-11-21T14:42:00.000Z",
		});
		// Minute buckets hold no rolled-up dimension.
		expect(compare({ date_range: "today", dimensions: ["prop:plan"] })).toMatchObject({ parts: ["hour 2026-11-20T23:00:00.000Z..2026-11-21T14:00:00.000Z"] });
		// Two days: yesterday's day bucket and today's minutes.
		expect(compare({ date_range: { from: "2026-11-21", to: "2026-11-22" }, granularity: "day" })).toMatchObject({
			parts: ["day 2026-11-18T23:00:00.000Z..2026-11-19T23:00:00.000Z", "minute 2026-11-19T23:00:00.000Z..2026-11-20T14:42:00.000Z"],
		});
	});

	it("reads raw events to the minute when the main query does", () => {
		expect(compare({ date_range: "7d", source: "raw" })).toMatchObject({ main: null, parts: ["raw 2026-11-08T23:00:00.000Z..2026-11-15T14:42:00.000Z"] });
		expect(compare({ date_range: "7d", dimensions: ["country", "device"] })).toMatchObject({ main: null, parts: ["raw 2026-11-08T23:00:00.000Z..2026-11-15T14:42:00.000Z"] });
	});

	it("keeps the whole earlier range when the range does not hold now", () => {
		expect(compare({ date_range: "yesterday" })).toEqual({
			main: "day",
			parts: ["day 2026-11-19T23:00:00.000Z..2026-11-20T23:00:00.000Z"],
			from: "2026-11-19T23:00:00.000Z",
			to: "2026-11-20T23:00:00.000Z",
		});
		// Seven local days before 2026-11-01, one of them the 25-hour 2026-10-25.
		expect(compare({ date_range: { from: "2026-11-01", to: "2026-11-07" } })).toMatchObject({ parts: ["day 2026-10-24T22:00:00.000Z..2026-10-31T23:00:00.000Z"] });
	});

	it("reads a cut range in another whole-hour zone from hour buckets alone, as the main range", () => {
		const q = planQuery(parseQuery({ metrics: ["count"], date_range: "7d", timezone: "America/New_York", compare: "previous_period" }));
		const range = resolveRange(q, "America/New_York", NOW);
		const main = plan(q, layout, "America/New_York", range);
		const c = comparisonPlan(q, layout, "America/New_York", range, NOW, main);
		expect([main.level, c.parts.map((p) => p.level)]).toEqual(["hour", ["hour"]]);
		expect(new Date(c.range.to).toISOString()).toBe("2026-11-15T14:00:00.000Z");
	});

	it("falls back to the whole earlier range from rollups when a cut one would need archived raw events", () => {
		// Hour buckets laid out at :30 (a Kolkata-aligned layout) cannot serve Paris hours; raw events before the boundary are gone.
		const odd: Layout = { ...layout, alignMinutes: 30, archivedBefore: Z("2026-11-20T00:00:00Z") };
		expect(compare({ date_range: "7d" }, odd)).toEqual({
			main: "day",
			parts: ["day 2026-11-08T23:00:00.000Z..2026-11-15T23:00:00.000Z"],
			from: "2026-11-08T23:00:00.000Z",
			to: "2026-11-15T23:00:00.000Z",
		});
	});
});
