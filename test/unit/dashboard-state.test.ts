import { describe, expect, it } from "vitest";
import { breakdownDims, chartMetric, headlineMetric, kpiMetrics, overviewQueries } from "../../web/src/lib/overview";
import { allowedGranularities, defaultGranularity, effectiveGranularity, isDate, presetDates, rangeLabel, validCustom } from "../../web/src/lib/range";
import {
	addFilter,
	decodeFilter,
	encodeFilter,
	exploreSearch,
	type Filter,
	overviewSearch,
	parseExplore,
	parseLive,
	parseOverview,
	parseBoardView,
	boardSearch,
	removeFilter,
} from "../../web/src/lib/url";
import { parseQuery } from "../../workers/query/spec";

// The dashboard keeps every view in the URL: parsing and writing must round-trip, and whatever a
// URL holds must become a query the API accepts (checked with the server's own parser).

describe("filters in URLs", () => {
	it("round-trips op:dimension:value, properties, missing values and numbers", () => {
		const cases: [string, Filter][] = [
			["is:country:US", ["is", "country", "US"]],
			["is_not:prop:plan:free", ["is_not", "prop:plan", "free"]],
			["is:prop:plan", ["is", "prop:plan", null]],
			["contains:prop:path:/blog:2026", ["contains", "prop:path", "/blog:2026"]],
			["lt:day_of_week:6", ["lt", "day_of_week", 6]],
			["is:hour_of_day:9", ["is", "hour_of_day", 9]],
			["gt:prop:amount:49.5", ["gt", "prop:amount", 49.5]],
		];
		for (const [text, f] of cases) {
			expect(decodeFilter(text)).toEqual(f);
			expect(encodeFilter(f)).toBe(text);
		}
	});

	it("drops what the API would refuse", () => {
		for (const bad of ["", "is", "nope:country:US", "is:planet:earth", "gt:country:3", "gt:prop:amount:x", "is:hour_of_day:nine", "contains:prop:plan", "is:prop::x"]) expect(decodeFilter(bad), bad).toBeNull();
	});

	it("adding an `is` filter replaces the one on the same dimension; duplicates are not added twice", () => {
		let f: Filter[] = [["is", "country", "US"], ["is_not", "prop:plan", null]];
		f = addFilter(f, ["is", "country", "FR"]);
		expect(f).toEqual([["is_not", "prop:plan", null], ["is", "country", "FR"]]);
		expect(addFilter(f, ["is_not", "prop:plan", null])).toEqual(f);
		expect(removeFilter(f, ["is", "country", "FR"])).toEqual([["is_not", "prop:plan", null]]);
	});
});

describe("overview URL", () => {
	it("defaults: last 30 days, the tenant's zone, no filters, events by the range's granularity", () => {
		expect(parseOverview("")).toEqual({ range: { preset: "30d" }, tz: null, filters: [], metric: null, g: null });
		expect(overviewSearch(parseOverview(""))).toBe("");
	});

	it("round-trips a full view, with readable separators", () => {
		const search = "range=7d&tz=America/New_York&f=is:country:US&f=is_not:prop:plan:free&metric=p95:response_time_ms&g=hour";
		const v = parseOverview(search);
		expect(v).toEqual({
			range: { preset: "7d" },
			tz: "America/New_York",
			filters: [["is", "country", "US"], ["is_not", "prop:plan", "free"]],
			metric: "p95:response_time_ms",
			g: "hour",
		});
		expect(overviewSearch(v)).toBe(search);
		expect(parseOverview(overviewSearch(v))).toEqual(v);
	});

	it("a custom range wins over a preset; invalid values fall back to defaults", () => {
		expect(parseOverview("range=7d&from=2026-11-01&to=2026-11-07").range).toEqual({ from: "2026-11-01", to: "2026-11-07" });
		expect(parseOverview("from=2026-11-31&to=2026-12-01").range).toEqual({ preset: "30d" });
		expect(parseOverview("from=2026-11-09&to=2026-11-01").range).toEqual({ preset: "30d" });
		expect(parseOverview("range=forever&metric=median&g=fortnight&tz=../../etc").range).toEqual({ preset: "30d" });
		expect(parseOverview("metric=median&g=fortnight&tz=../../etc")).toMatchObject({ metric: null, g: null, tz: null });
		expect(overviewSearch(parseOverview("from=2026-11-01&to=2026-11-07"))).toBe("from=2026-11-01&to=2026-11-07");
	});
});

describe("the overview's batch", () => {
	const tenant = { dimension_props: ["channel", "agent_id"], metric_props: ["response_time_ms", "amount"] };

	it("KPIs and the series carry events, users and p95 of the first rolled-up metric, with the previous period", () => {
		expect(headlineMetric(tenant)).toBe("p95:response_time_ms");
		expect(kpiMetrics(tenant)).toEqual(["count", "uniques", "p95:response_time_ms"]);
		expect(kpiMetrics({ dimension_props: [], metric_props: [] })).toEqual(["count", "uniques"]);
		const q = overviewQueries(tenant, parseOverview("range=7d&f=is:country:US"));
		expect(q.kpis).toEqual({ date_range: "7d", filters: [["is", "country", "US"]], metrics: ["count", "uniques", "p95:response_time_ms"], compare: "previous_period" });
		expect(q.series).toEqual({ ...q.kpis, granularity: "day" });
	});

	it("one top-10 breakdown per dimension; property breakdowns leave out events without the property", () => {
		expect(breakdownDims(tenant)).toEqual(["event", "country", "device", "browser", "prop:channel", "prop:agent_id"]);
		const q = overviewQueries(tenant, parseOverview("tz=UTC"));
		expect(Object.keys(q)).toEqual(["kpis", "series", "bd0", "bd1", "bd2", "bd3", "bd4", "bd5"]);
		expect(q.bd1).toEqual({ date_range: "30d", timezone: "UTC", filters: [], metrics: ["count", "uniques"], dimensions: ["country"], limit: 10 });
		expect(q.bd4).toMatchObject({ dimensions: ["prop:channel"], filters: [["is_not", "prop:channel", null]] });
	});

	it("every query is one the API accepts (the server's own parser)", () => {
		for (const search of ["", "range=today&g=hour", "from=2026-01-01&to=2026-03-31&g=week&f=lt:hour_of_day:9&metric=uniques", "range=12mo&f=is:prop:channel"]) {
			for (const [name, q] of Object.entries(overviewQueries(tenant, parseOverview(search)))) expect(() => parseQuery(q), `${search} ${name}`).not.toThrow();
		}
	});

	it("the chart's metric is one of the KPIs, else events", () => {
		expect(chartMetric(tenant, parseOverview("metric=uniques"))).toBe("uniques");
		expect(chartMetric(tenant, parseOverview("metric=p95:amount"))).toBe("count");
	});
});

describe("date ranges and granularities", () => {
	it("offers only granularities the API's bucket limits allow, with at least two points", () => {
		expect(allowedGranularities({ preset: "today" })).toEqual(["minute", "hour"]);
		expect(allowedGranularities({ preset: "7d" })).toEqual(["hour", "day"]);
		expect(allowedGranularities({ preset: "30d" })).toEqual(["hour", "day", "week"]);
		expect(allowedGranularities({ preset: "12mo" })).toEqual(["day", "week", "month"]);
		expect(allowedGranularities({ from: "2020-01-01", to: "2024-12-31" })).toEqual(["day", "week", "month"]);
	});

	it("opens with a granularity that suits the range, and ignores one the range cannot take", () => {
		expect(defaultGranularity({ preset: "today" })).toBe("hour");
		expect(defaultGranularity({ preset: "30d" })).toBe("day");
		expect(defaultGranularity({ preset: "12mo" })).toBe("month");
		expect(effectiveGranularity({ preset: "30d" }, "hour")).toBe("hour");
		expect(effectiveGranularity({ preset: "12mo" }, "hour")).toBe("month");
		expect(effectiveGranularity({ preset: "today" }, "week")).toBe("hour");
	});

	it("checks custom ranges as the API would", () => {
		expect(isDate("2028-02-29")).toBe(true);
		expect(isDate("2026-02-29")).toBe(false);
		expect(validCustom("2026-11-01", "2026-11-01")).toBeNull();
		expect(validCustom("2026-11-02", "2026-11-01")).toMatch(/before/);
		expect(validCustom("2020-01-01", "2026-01-01")).toMatch(/5 years/);
	});

	it("resolves presets to the local dates the server uses, and labels ranges", () => {
		expect(presetDates("7d", "2026-11-22")).toEqual({ from: "2026-11-16", to: "2026-11-22" });
		expect(presetDates("yesterday", "2026-03-01")).toEqual({ from: "2026-02-28", to: "2026-02-28" });
		expect(presetDates("12mo", "2026-11-22")).toEqual({ from: "2025-12-01", to: "2026-11-22" });
		expect(rangeLabel({ preset: "90d" })).toBe("Last 90 days");
		expect(rangeLabel({ from: "2026-11-16", to: "2026-11-22" })).toBe("16 Nov – 22 Nov 2026");
		expect(rangeLabel({ from: "2025-12-30", to: "2026-01-02" })).toBe("30 Dec 2025 – 2 Jan 2026");
	});
});

describe("explore and live URLs", () => {
	it("round-trips every field of the query builder", () => {
		const search = "range=90d&f=is:event:signup&m=count,uniques,avg:amount&d=country,prop:plan&g=week&cmp=previous_year&o=uniques:desc&l=25&src=raw&chart=table";
		const v = parseExplore(search);
		expect(v).toMatchObject({
			metrics: ["count", "uniques", "avg:amount"],
			dimensions: ["country", "prop:plan"],
			g: "week",
			compare: "previous_year",
			order: [["uniques", "desc"]],
			limit: 25,
			source: "raw",
			chart: "table",
		});
		expect(exploreSearch(v)).toBe(search);
		expect(parseExplore("g=none").g).toBeNull();
		expect(parseExplore("m=median,count,count&d=planet&l=0")).toMatchObject({ metrics: ["count"], dimensions: [], limit: null });
	});

	it("orders by keys with colons; a filter with a list of values travels as JSON", () => {
		expect(parseExplore("o=p95:response_time_ms:desc&o=change_pct:count:asc").order).toEqual([["p95:response_time_ms", "desc"], ["change_pct:count", "asc"]]);
		const f: Filter = ["is", "prop:sender_type", ["ai", "agent"]];
		expect(decodeFilter(encodeFilter(f))).toEqual(f);
		expect(parseExplore(exploreSearch({ ...parseExplore(""), filters: [f] })).filters).toEqual([f]);
	});

	it("a board's view: each report's own range unless one is chosen, and the editor", () => {
		expect(parseBoardView("")).toEqual({ range: null, tz: null, edit: false });
		expect(parseBoardView("edit=1&range=7d&tz=UTC")).toEqual({ range: { preset: "7d" }, tz: "UTC", edit: true });
		expect(boardSearch(parseBoardView("from=2026-01-01&to=2026-01-31&edit=1"))).toBe("edit=1&from=2026-01-01&to=2026-01-31");
		expect(parseBoardView("range=bogus").range).toBeNull();
	});

	it("keeps the live view's event filter", () => {
		expect(parseLive("event=signup")).toEqual({ event: "signup" });
		expect(parseLive("")).toEqual({ event: null });
	});
});
