import { env } from "cloudflare:workers";
import { parquetReadObjects } from "hyparquet";
import { ungzip } from "pako";
import { extractText, getDocumentProxy } from "unpdf";
import * as XLSX from "xlsx";
import { beforeAll, describe, expect, it } from "vitest";
import { runExport } from "../../workers/exports/run";
import { TENANT_BY_ID_SQL } from "../../workers/query/answer";
import type { ReportRow } from "../../workers/reports/model";
import { kpisOf } from "../../workers/schedules/kpis";
import { call, json, makeTenant } from "../helpers";
import { D0, EXPERIMENT_BODY, FUNNEL_BODY, FUNNEL_ENTERED, INSIGHTS_BODY, KIND_RANGE, kindEvents, LIFECYCLE_BODY, RETENTION_BODY, RETENTION_COHORTS } from "../kinds-data";
import { type Ev, insertEvents, MIN, peopleUp } from "../people-data";

// Exports (CSV, NDJSON, Parquet, XLSX, PDF) and scheduled KPIs of funnel, retention, lifecycle,
// experiment and insights reports, and the people behind a point as an export; files read back with
// independent readers (a CSV split written here, JSON.parse, hyparquet, SheetJS, pdf.js).

type Tenant = Awaited<ReturnType<typeof makeTenant>>;
let a: Tenant;
let b: Tenant;
const ids: Record<string, string> = {};

const post = (key: string, path: string, body: unknown) => call(path, { method: "POST", key, json: body });

async function exportNow(key: string, body: unknown, budgetMs?: number): Promise<{ row: any; runs: string[] }> {
	const res = await post(key, "/v1/exports", body);
	const created = await json(res);
	expect(res.status, JSON.stringify(created)).toBe(202);
	const runs: string[] = [];
	for (let i = 0; i < 50; i++) {
		const outcome = await runExport(env, created.id, budgetMs == null ? {} : { budgetMs });
		runs.push(outcome);
		if (outcome === "done" || outcome === "failed") break;
	}
	return { row: await json(await call(`/v1/exports/${created.id}`, { key })), runs };
}
async function fileOf(key: string, id: string): Promise<Uint8Array> {
	const res = await call(`/v1/exports/${id}/download`, { key });
	expect(res.status).toBe(200);
	return new Uint8Array(await res.arrayBuffer());
}
/** CSV of these files (no quotes needed: no commas, quotes or newlines in their values) as records. */
const csvRecords = (bytes: Uint8Array) => {
	const [head, ...lines] = new TextDecoder().decode(bytes).split("\r\n").filter(Boolean).map((l) => l.split(","));
	return lines.map((l) => Object.fromEntries(head!.map((h, i) => [h, l[i]])));
};
const num = (s: string | undefined) => (s === "" || s == null ? null : Number(s));

/** The journeys' cohorts, and the crowd's on 7 Nov (none came back). */
const COHORTS = RETENTION_COHORTS.map((c, i) => (i === 5 ? { people: 2_500, retained: [2_500, 0, 0, 0] } : c));
const rate = (n: number, d: number) => Math.round((n / d) * 1e6) / 1e6;

const REPORTS = {
	funnel: { kind: "funnel", chart: "funnel", query: FUNNEL_BODY },
	byCountry: { kind: "funnel", chart: "bar", query: { ...FUNNEL_BODY, breakdown: "country" } },
	retention: { kind: "retention", chart: "heatmap", query: RETENTION_BODY },
	lifecycle: { kind: "retention", chart: "table", query: LIFECYCLE_BODY },
	experiment: { kind: "experiment", chart: "table", query: EXPERIMENT_BODY },
	insights: { kind: "insights", chart: "table", query: INSIGHTS_BODY },
};

beforeAll(async () => {
	a = await makeTenant("xkinds-a", { name: "Kinds A" });
	b = await makeTenant("xkinds-b", { name: "Kinds B" });
	// 2,500 more visitors with one landing each on 7 Nov: the people list of that point spans pages.
	const crowd: Ev[] = Array.from({ length: 2_500 }, (_, i) => ({ message_id: `c${i}`, event: "landing", anonymous_id: `v${String(i).padStart(4, "0")}`, timestamp: D0 + 5 * 86_400_000 + i * 1000 }));
	await insertEvents(a.id, [...kindEvents("a-"), ...crowd]);
	await insertEvents(b.id, kindEvents("b-"));
	await peopleUp();
	for (const [name, r] of Object.entries(REPORTS)) {
		const made = await json(await post(a.readKey, "/v1/reports", { name, ...r }));
		ids[name] = made.id;
	}
}, 120_000);

describe("exports of every kind of report", () => {
	it("a funnel: a row per step with entered, converted, rates and times (CSV), and per breakdown value and step (XLSX)", async () => {
		const { row } = await exportNow(a.readKey, { format: "csv", report_id: ids.funnel });
		expect(row).toMatchObject({ state: "done", kind: "report", rows: 3 });
		const recs = csvRecords(await fileOf(a.readKey, row.id));
		expect(recs.map((r) => r.name)).toEqual(["page_view", "signup", "purchase"]);
		expect(recs.map((r) => num(r.entered))).toEqual(FUNNEL_ENTERED);
		expect(recs.map((r) => num(r.converted))).toEqual([4, 2, null]);
		expect(recs.map((r) => num(r.conversion_from_previous))).toEqual([1, 0.666667, 0.5]);
		// Step 3's times: u1 signup 10:05 → purchase 11:00 (55 min), u5 09:00 → 09:00 a day later (24 h).
		expect(num(recs[2]!.median_time_to_convert_ms)).toBeGreaterThanOrEqual(55 * MIN);
		expect(num(recs[2]!.median_time_to_convert_ms)).toBeLessThanOrEqual(24 * 60 * MIN);

		const xl = await exportNow(a.readKey, { format: "xlsx", report_id: ids.byCountry });
		const wb = XLSX.read(await fileOf(a.readKey, xl.row.id), { type: "array" });
		const sheet = XLSX.utils.sheet_to_json<Record<string, unknown>>(wb.Sheets[wb.SheetNames[0]!]!);
		// First touch: the country of each person's first step event. FR: u1 u3 u5 u6 (a6's page view); DE: u2 u4.
		const entered = (country: string) => sheet.filter((r) => r.country === country).map((r) => r.entered);
		expect(entered("FR")).toEqual([4, 3, 2]);
		expect(entered("DE")).toEqual([2, 1, 0]);
		expect(typeof sheet[0]!.conversion_from_first).toBe("number");
	}, 60_000);

	it("retention: a row per cohort and period (Parquet); lifecycle: a row per period (NDJSON)", async () => {
		const { row } = await exportNow(a.readKey, { format: "parquet", report_id: ids.retention });
		expect(row.state, JSON.stringify(row)).toBe("done");
		const bytes = await fileOf(a.readKey, row.id);
		const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
		const rows = ((await parquetReadObjects({ file, compressors: { GZIP: (input: Uint8Array) => ungzip(input) } })) as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "bigint" ? Number(v) : v])));
		expect(rows.length).toBe(7 * 4);
		const want = COHORTS.flatMap((c) => c.retained.map((n, i) => ({ cohort_people: c.people, days_after: i, retained: n, rate: c.people ? Math.round((n / c.people) * 1e6) / 1e6 : null })));
		expect(rows.map(({ cohort: _c, ...r }) => r)).toEqual(want);

		const nd = await exportNow(a.readKey, { format: "ndjson", report_id: ids.lifecycle });
		const lines = new TextDecoder().decode(await fileOf(a.readKey, nd.row.id)).trimEnd().split("\n").map((l) => JSON.parse(l));
		expect(lines.length).toBe(7);
		// Active people per day, by hand: 2 Nov u1 u2; 3 Nov u2 u3; 4 Nov u4 u6; 5 Nov u5 u6; 6 Nov u5; 7 Nov u5 and the crowd.
		expect(lines.map((l) => l.active)).toEqual([2, 2, 2, 2, 1, 2501, 0]);
		expect(lines.map((l) => l.new)).toEqual([2, 1, 2, 1, 0, 2500, 0]);
		expect(lines[1]).toMatchObject({ returning: 1, dormant: 1, churn_rate: 0.5 });
	}, 60_000);

	it("an experiment: a row per variant of its metric with the test against the control", async () => {
		const { row } = await exportNow(a.readKey, { format: "csv", report_id: ids.experiment });
		const recs = csvRecords(await fileOf(a.readKey, row.id));
		// A: u1 (bought) and u3; B: u2 and u5 (bought).
		expect(recs.map((r) => [r.variant, r.metric, num(r.control), num(r.people), num(r.converted), num(r.value)])).toEqual([
			["A", "conversion", 1, 2, 1, 0.5],
			["B", "conversion", 0, 2, 1, 0.5],
		]);
		expect(num(recs[1]!.effect)).toBe(0);
		expect(num(recs[1]!.p_value)).toBeCloseTo(1, 9);
		expect(recs[0]!.p_value).toBe("");
	}, 60_000);

	it("insights: a row per metric with its total against the previous period", async () => {
		const { row } = await exportNow(a.readKey, { format: "csv", report_id: ids.insights });
		const recs = csvRecords(await fileOf(a.readKey, row.id));
		expect(recs.map((r) => [r.metric, num(r.total), num(r.previous_total)])).toEqual([["count", 19 + 2_500, 0]]);
	}, 60_000);

	it("a PDF of a board of every kind: the key figures of each, funnel bars, a cohort heat map, tables", async () => {
		const board = await json(await post(a.readKey, "/v1/boards", { name: "Growth review", layout: Object.keys(REPORTS).map((n) => ({ report_id: ids[n] })) }));
		const { row } = await exportNow(a.readKey, { format: "pdf", board_id: board.id });
		expect(row.state, JSON.stringify(row)).toBe("done");
		const doc = await getDocumentProxy(await fileOf(a.readKey, row.id));
		const { text } = await extractText(doc, { mergePages: true });
		for (const s of ["Growth review", "Key figures", "entered page_view", "reached purchase", "33.3%", "people in cohorts", "retained 1 day after", "A: conversion", "B vs A: p-value", "churn rate", "experiment", "2026-11-02"])
			expect(text, s).toContain(s);
		// Funnel bars are labelled with the people and the conversion from the first step.
		expect(text).toContain("6 (100%)");
		expect(text).toContain("2 (33.3%)");
		// The experiment's effect and interval are differences of rates: percentage points, not percentages.
		expect(text).toMatch(/[+-]?\d+(\.\d+)? pp/);
		// NDJSON of the board: every report's rows, tagged with its name.
		const nd = await exportNow(a.readKey, { format: "ndjson", board_id: board.id });
		const lines = new TextDecoder().decode(await fileOf(a.readKey, nd.row.id)).trimEnd().split("\n").map((l) => JSON.parse(l));
		expect(new Set(lines.map((l) => l.report))).toEqual(new Set(Object.keys(REPORTS)));
		expect(lines.filter((l) => l.report === "funnel").map((l) => l.entered)).toEqual(FUNNEL_ENTERED);
	}, 60_000);

	it("scheduled KPIs of each kind", async () => {
		const tenant = await env.DB.prepare(TENANT_BY_ID_SQL).bind(a.id).first<any>();
		const rows = await env.DB.prepare("SELECT * FROM reports WHERE tenant_id = ?1 ORDER BY name").bind(a.id).all<ReportRow>();
		const { kpis, error } = await kpisOf(env.DB, a.id, tenant, rows.results, Date.now());
		expect(error).toBeNull();
		const of = (report: string) => Object.fromEntries(kpis.filter((k) => k.report === report).map((k) => [k.metric, k.value]));
		expect(of("funnel")).toEqual({ "entered page_view": 6, "reached purchase": 2, conversion: 0.333333 });
		// Over every cohort (every period has started): people, and those back 1 and 3 days after.
		const people = COHORTS.reduce((n, c) => n + c.people, 0);
		const back = (i: number) => COHORTS.reduce((n, c) => n + c.retained[i]!, 0);
		expect(of("retention")).toEqual({ "people in cohorts": people, "retained 1 day after": rate(back(1), people), "retained 3 days after": rate(back(3), people) });
		expect(of("experiment")).toMatchObject({ "A: conversion": 0.5, "B: conversion": 0.5 });
		expect(of("lifecycle")["churn rate"]).toBe(1);
	}, 60_000);

	it("report ids of another tenant are refused", async () => {
		const res = await post(b.readKey, "/v1/exports", { format: "csv", report_id: ids.funnel });
		expect(res.status).toBe(400);
		expect((await json(res)).error.details.issues[0].path).toBe("report_id");
	}, 60_000);
});

describe("the people behind a point, exported", () => {
	const POINT = { date_range: KIND_RANGE, granularity: "day", row: { time: "2026-11-07T00:00:00Z" }, filters: [["is", "event", "landing"]] };

	it("holds every page of POST /v1/people, written a page per run", async () => {
		// The list as the API pages it, 1,000 at a time.
		const want: any[] = [];
		let cursor: string | null = null;
		do {
			const page: any = await json(await post(a.readKey, "/v1/people", { ...POINT, limit: 1000, ...(cursor ? { cursor } : {}) }));
			want.push(...page.people);
			cursor = page.next_cursor;
		} while (cursor);
		expect(want.length).toBe(2_500);
		const { row, runs } = await exportNow(a.readKey, { format: "csv", people: POINT }, 0);
		expect(row).toMatchObject({ state: "done", kind: "people", rows: 2_500, expected_rows: 2_500 });
		// A run per page: three pages, the last run completes the file.
		expect(runs).toEqual(["more", "more", "more", "done"]);
		const recs = csvRecords(await fileOf(a.readKey, row.id));
		expect(recs.map((r) => [r.person, num(r.events), r.first_seen || null])).toEqual(want.map((p) => [p.id, p.events, p.first_seen]));

		const pq = await exportNow(a.readKey, { format: "parquet", people: POINT });
		expect(pq.row).toMatchObject({ state: "done", rows: 2_500 });
	}, 60_000);

	it("checks the body as POST /v1/people does, naming people.<field>; refuses limit, cursor and PDF", async () => {
		const bad = async (body: unknown) => {
			const res = await post(a.readKey, "/v1/exports", body);
			const out = await json(res);
			expect(res.status, JSON.stringify(out)).toBe(400);
			expect(out.error.message.startsWith(`${out.error.details.issues[0].path}: `)).toBe(true);
			return out.error.details.issues[0].path as string;
		};
		expect(await bad({ format: "csv", people: { date_range: KIND_RANGE, granularity: "day" } })).toBe("people.row.time");
		expect(await bad({ format: "csv", people: { date_range: "forever" } })).toBe("people.date_range");
		expect(await bad({ format: "csv", people: { ...POINT, limit: 10 } })).toBe("people.limit");
		expect(await bad({ format: "pdf", people: POINT })).toBe("format");
		expect(await bad({ format: "csv", people: POINT, events: { date_range: "7d" } })).toBe("people");
	}, 60_000);

	it("reads only the key's tenant", async () => {
		const { row } = await exportNow(b.readKey, { format: "ndjson", people: { ...POINT, filters: [["is", "event", "page_view"]] } });
		const lines = new TextDecoder().decode(await fileOf(b.readKey, row.id)).trimEnd().split("\n").map((l) => JSON.parse(l));
		// Tenant b's events of 7 Nov: u5's page view only.
		expect(lines.map((l) => [l.person, l.events])).toEqual([["b-u5", 1]]);
	}, 60_000);
});
