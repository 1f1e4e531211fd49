import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { shareSecret, signShareToken, verifyShareToken } from "../../workers/auth/share";
import { LIMITS } from "../../workers/reports/model";
import { ADMIN, type AdminTenant, BASE, call, fieldOf as issueField, json, makeTenant, send, withAdminKey } from "../helpers";
import { dataset, insertRows, rollUp } from "../rollup-data";

// Saved reports, boards and read-only share links, through the real worker.
const FROM = Date.UTC(2026, 10, 2, 1);
const TO = Date.UTC(2026, 10, 8, 22);
const RANGE = { from: "2026-11-02", to: "2026-11-08" };

type Tenant = AdminTenant;
let a: Tenant;
let b: Tenant;

/** The one issue path a 400 names, with its status and code checked. */
const fieldOf = (r: { status: number; body: any }) => {
	const path = issueField(r);
	expect(r.body.error.code).toBe("invalid_request");
	return path;
};
/**
 * took_ms differs from one answer to the next, `cache` says whether this one was computed again, and
 * complete_through is the instant each was answered; the rest must not differ.
 */
const noTook = (x: any) => ({ ...x, meta: { ...x.meta, took_ms: 0, cache: undefined, complete_through: x.meta.complete_through ? "set" : x.meta.complete_through } });

const kpis = { metrics: ["count", "uniques"], date_range: RANGE };
const series = { metrics: ["count"], date_range: RANGE, granularity: "day" };
const byCountry = { metrics: ["count"], date_range: RANGE, dimensions: ["country"], order_by: [["count", "desc"]], limit: 3 };

const newReport = (key: string, body: Record<string, unknown>) => send("POST", "/v1/reports", key, { chart: "number", query: kpis, ...body });
const newBoard = (key: string, body: Record<string, unknown>) => send("POST", "/v1/boards", key, body);
const newShare = (key: string, boardId: string, body: unknown = {}) => send("POST", `/v1/boards/${boardId}/shares`, key, body);
const shared = (token: string, headers: Record<string, string> = {}) => call(`/v1/shared/${token}`, { headers });

beforeAll(async () => {
	a = await withAdminKey(await makeTenant("rep-a", { name: "Reports A" }), "owner");
	b = await withAdminKey(await makeTenant("rep-b", { name: "Reports B" }), "owner");
	await insertRows(a.id, dataset(21, 2_000, FROM, TO, "ra"));
	await insertRows(b.id, dataset(22, 700, FROM, TO, "rb"));
	await rollUp();
}, 120_000);

describe("reports", () => {
	it("are created, listed, read, updated and deleted, with the values sent", async () => {
		const created = await newReport(a.readKey, { name: "  Weekly KPIs ", description: "Events and users", chart: "number", query: kpis });
		expect(created.status).toBe(201);
		const r = created.body;
		expect(r).toEqual({ id: expect.stringMatching(/^rep_[a-z2-9]{16}$/), name: "Weekly KPIs", description: "Events and users", kind: "query", chart: "number", query: kpis, created_at: expect.any(String), updated_at: r.created_at });
		expect(Math.abs(Date.parse(r.created_at) - Date.now())).toBeLessThan(60_000);

		// The query is kept as sent (not as parsed, with defaults), so POST /v1/query takes it back unchanged.
		const second = (await newReport(a.adminKey, { name: "By day", chart: "line", query: series })).body;
		expect(second).toMatchObject({ name: "By day", description: "", chart: "line", query: series });

		expect((await send("GET", `/v1/reports/${r.id}`, a.readKey)).body).toEqual(r);
		const list = (await send("GET", "/v1/reports", a.readKey)).body.reports as any[];
		expect(list.map((x) => x.id)).toEqual(expect.arrayContaining([r.id, second.id]));
		expect(list.find((x) => x.id === r.id)).toEqual(r);

		await new Promise((res) => setTimeout(res, 5));
		const renamed = await send("PATCH", `/v1/reports/${r.id}`, a.readKey, { name: "KPIs", chart: "table" });
		expect(renamed.status).toBe(200);
		expect(renamed.body).toEqual({ ...r, name: "KPIs", chart: "table", updated_at: expect.any(String) });
		expect(Date.parse(renamed.body.updated_at)).toBeGreaterThan(Date.parse(r.updated_at));
		const requeried = await send("PATCH", `/v1/reports/${r.id}`, a.readKey, { query: byCountry, description: "" });
		expect(requeried.body).toMatchObject({ name: "KPIs", chart: "table", description: "", query: byCountry });
		// Most recently updated first.
		expect((await send("GET", "/v1/reports", a.readKey)).body.reports[0].id).toBe(r.id);

		const gone = await send("DELETE", `/v1/reports/${r.id}`, a.readKey);
		expect(gone).toMatchObject({ status: 200, body: { id: r.id, deleted: true } });
		const after = await send("GET", `/v1/reports/${r.id}`, a.readKey);
		expect(after.status).toBe(404);
		expect(after.body.error).toEqual({ code: "not_found", message: `No report '${r.id}'.`, details: { report: r.id } });
		expect((await send("DELETE", `/v1/reports/${r.id}`, a.readKey)).status).toBe(404);
	});

	it("need a read or admin key of the tenant", async () => {
		expect((await send("GET", "/v1/reports", undefined)).status).toBe(401);
		expect((await send("GET", "/v1/reports", "ew_read_nope")).status).toBe(401);
		const ingest = await send("POST", "/v1/reports", a.ingestKey, { name: "x", chart: "line", query: kpis });
		expect(ingest.status).toBe(403);
		expect(ingest.body.error).toMatchObject({ code: "forbidden", details: { scope: "ingest", required: ["read", "admin"] } });
		expect((await send("GET", "/v1/boards", a.ingestKey)).status).toBe(403);
	});

	it("refuse invalid bodies with a 400 naming the field", async () => {
		const post = (body: unknown) => send("POST", "/v1/reports", a.readKey, body);
		const ok = { name: "n", chart: "line", query: kpis };
		expect(fieldOf(await post({ chart: "line", query: kpis }))).toBe("name");
		expect(fieldOf(await post({ ...ok, name: "   " }))).toBe("name");
		expect(fieldOf(await post({ ...ok, name: "x".repeat(LIMITS.name + 1) }))).toBe("name");
		expect((await post({ ...ok, name: "x".repeat(LIMITS.name) })).status).toBe(201);
		expect(fieldOf(await post({ ...ok, description: "x".repeat(LIMITS.description + 1) }))).toBe("description");
		const chart = await post({ ...ok, chart: "pie" });
		expect(fieldOf(chart)).toBe("chart");
		expect(chart.body.error.message).toBe("chart: must be one of line, bar, table, number, heatmap, funnel");
		expect(fieldOf(await post({ name: "n", chart: "line" }))).toBe("query");
		expect(fieldOf(await post({ ...ok, query: [kpis] }))).toBe("query");
		expect(fieldOf(await post({ ...ok, query: "count" }))).toBe("query");
		// The query parser's own errors, under `query.`.
		const metric = await post({ ...ok, query: { metrics: ["median"], date_range: "7d" } });
		expect(fieldOf(metric)).toBe("query.metrics[0]");
		expect(metric.body.error.message).toMatch(/^query\.metrics\[0\]: unknown metric 'median'/);
		expect(fieldOf(await post({ ...ok, query: { metrics: ["count"] } }))).toBe("query.date_range");
		expect(fieldOf(await post({ ...ok, query: { metrics: ["count"], date_range: "7d", extra: 1 } }))).toBe("query");
		expect(fieldOf(await post({ ...ok, query: { metrics: ["count"], date_range: "7d", granularity: "fortnight" } }))).toBe("query.granularity");
		expect(fieldOf(await post({ ...ok, query: { metrics: ["count"], date_range: "7d", filters: [["is", "nope", "x"]] } }))).toMatch(/^query\.filters\[0\]/);
		// …and the checks POST /v1/query makes after parsing: the time zone and the dates.
		const tz = await post({ ...ok, query: { metrics: ["count"], date_range: "7d", timezone: "Mars/Olympus" } });
		expect(fieldOf(tz)).toBe("query.timezone");
		expect(fieldOf(await post({ ...ok, query: { metrics: ["count"], date_range: { from: "2026-13-45", to: "2026-11-08" } } }))).toBe("query.date_range.from");
		expect(fieldOf(await post({ ...ok, query: { metrics: ["count"], date_range: { from: "2026-11-08", to: "2026-11-01" } } }))).toBe("query.date_range");
		const big = { metrics: ["count"], date_range: "7d", filters: [["is", "prop:x", Array.from({ length: 100 }, (_, i) => `${"v".repeat(200)}${i}`)]] };
		const tooBig = await post({ ...ok, query: big });
		expect(fieldOf(tooBig)).toBe("query");
		expect(tooBig.body.error.message).toMatch(/at most 16384 characters of JSON/);
		const unknown = await post({ ...ok, owner: "me" });
		expect(unknown.status).toBe(400);
		expect(unknown.body.error.message).toMatch(/owner/);
		const malformed = await call("/v1/reports", { method: "POST", key: a.readKey, body: "{", headers: { "content-type": "application/json" } });
		expect(malformed.status).toBe(400);
		expect((await json(malformed)).error.code).toBe("malformed_json");

		const r = (await newReport(a.readKey, { name: "valid" })).body;
		const patch = (body: unknown) => send("PATCH", `/v1/reports/${r.id}`, a.readKey, body);
		const empty = await patch({});
		expect(empty.status).toBe(400);
		expect(empty.body.error.message).toBe("body: send at least one of name, description, kind, query, chart");
		expect(fieldOf(await patch({ name: "" }))).toBe("name");
		expect(fieldOf(await patch({ chart: "donut" }))).toBe("chart");
		expect(fieldOf(await patch({ query: { metrics: ["count"], date_range: "forever" } }))).toBe("query.date_range");
		// Nothing was changed by the refusals.
		expect((await send("GET", `/v1/reports/${r.id}`, a.readKey)).body).toEqual(r);
	});

	it("answer with their query's results, equal to POST /v1/query's answer for the same body", async () => {
		for (const [query, chart] of [
			[kpis, "number"],
			[series, "line"],
			[byCountry, "bar"],
			[{ ...kpis, compare: "previous_period" }, "table"],
		] as const) {
			const r = (await newReport(a.readKey, { name: `results ${chart}`, chart, query })).body;
			const res = await send("GET", `/v1/reports/${r.id}/results`, a.readKey);
			expect(res.status).toBe(200);
			const direct = await send("POST", "/v1/query", a.readKey, query);
			expect(direct.status).toBe(200);
			const { report, ...answer } = res.body;
			expect(report).toEqual(r);
			expect(noTook(answer)).toEqual(noTook(direct.body));
			// As fresh as POST /v1/query: the tenant's hub was asked what it has not flushed yet.
			expect(answer.meta.complete_through).toEqual(expect.any(String));
		}
		// And the numbers are the tenant's own: 2,000 events in A's range.
		const total = (await newReport(a.readKey, { name: "total", query: { metrics: ["count"], date_range: RANGE } })).body;
		expect((await send("GET", `/v1/reports/${total.id}/results`, a.adminKey)).body.results).toEqual([{ dimensions: [], metrics: [2000] }]);
		expect((await send("GET", `/v1/reports/${total.id}/results`, a.ingestKey)).status).toBe(403);
	});

	it("of another tenant answer 404, exactly like a missing one", async () => {
		const r = (await newReport(a.readKey, { name: "A's secret" })).body;
		const missing = "rep_doesnotexist2345";
		for (const [method, suffix, body] of [
			["GET", "", undefined],
			["PATCH", "", { name: "mine now" }],
			["DELETE", "", undefined],
			["GET", "/results", undefined],
		] as const) {
			const theirs = await send(method, `/v1/reports/${r.id}${suffix}`, b.adminKey, body);
			const none = await send(method, `/v1/reports/${missing}${suffix}`, b.adminKey, body);
			expect(theirs.status, `${method} ${suffix}`).toBe(404);
			expect(none.status).toBe(404);
			expect(JSON.stringify(theirs.body).replaceAll(r.id, "ID")).toBe(JSON.stringify(none.body).replaceAll(missing, "ID"));
		}
		expect((await send("GET", "/v1/reports", b.readKey)).body.reports.map((x: any) => x.id)).not.toContain(r.id);
		// Untouched.
		expect((await send("GET", `/v1/reports/${r.id}`, a.readKey)).body).toEqual(r);
	});

	it(`are at most ${LIMITS.reportsPerTenant} per tenant`, async () => {
		const t = await makeTenant("rep-limit");
		const now = Date.now();
		const rows = Array.from({ length: LIMITS.reportsPerTenant - 1 }, (_, i) =>
			env.DB.prepare("INSERT INTO reports (id, tenant_id, name, query, chart, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'line', ?5, ?5)").bind(`rep_limit${i}`, t.id, `r${i}`, JSON.stringify(kpis), now),
		);
		await env.DB.batch(rows);
		expect((await newReport(t.readKey, { name: "the last one" })).status).toBe(201);
		const over = await newReport(t.readKey, { name: "one too many" });
		expect(over.status).toBe(409);
		expect(over.body.error).toEqual({ code: "limit_reached", message: "A tenant has at most 200 reports; delete one first.", details: { resource: "reports", limit: 200 } });
		// Another tenant's count is its own.
		expect((await newReport(b.readKey, { name: "fine" })).status).toBe(201);
	});
});

describe("boards", () => {
	let r1: any;
	let r2: any;
	let r3: any;
	beforeAll(async () => {
		r1 = (await newReport(a.readKey, { name: "Totals", chart: "number", query: kpis })).body;
		r2 = (await newReport(a.readKey, { name: "Per day", chart: "line", query: series })).body;
		r3 = (await newReport(a.readKey, { name: "Top countries", chart: "bar", query: byCountry })).body;
	});

	it("are created, listed, read, updated and deleted, with their layout in order", async () => {
		const created = await newBoard(a.readKey, { name: "Overview", layout: [{ report_id: r2.id, width: 12 }, { report_id: r1.id }] });
		expect(created.status).toBe(201);
		const bd = created.body;
		expect(bd).toEqual({
			id: expect.stringMatching(/^brd_[a-z2-9]{16}$/),
			name: "Overview",
			description: "",
			layout: [
				{ report_id: r2.id, width: 12 },
				{ report_id: r1.id, width: LIMITS.defaultWidth },
			],
			created_at: expect.any(String),
			updated_at: bd.created_at,
		});
		expect((await send("GET", `/v1/boards/${bd.id}`, a.adminKey)).body).toEqual(bd);
		expect((await send("GET", "/v1/boards", a.readKey)).body.boards.find((x: any) => x.id === bd.id)).toEqual(bd);
		const empty = await newBoard(a.readKey, { name: "Empty", description: "later" });
		expect(empty.body).toMatchObject({ name: "Empty", description: "later", layout: [] });

		const moved = await send("PATCH", `/v1/boards/${bd.id}`, a.readKey, { layout: [{ report_id: r1.id, width: 4 }, { report_id: r3.id, width: 8 }, { report_id: r2.id, width: 12 }] });
		expect(moved.status).toBe(200);
		expect(moved.body).toEqual({
			...bd,
			layout: [
				{ report_id: r1.id, width: 4 },
				{ report_id: r3.id, width: 8 },
				{ report_id: r2.id, width: 12 },
			],
			updated_at: expect.any(String),
		});
		const renamed = await send("PATCH", `/v1/boards/${bd.id}`, a.readKey, { name: "Overview 2", description: "d" });
		expect(renamed.body).toMatchObject({ name: "Overview 2", description: "d", layout: moved.body.layout });

		expect(await send("DELETE", `/v1/boards/${empty.body.id}`, a.readKey)).toMatchObject({ status: 200, body: { id: empty.body.id, deleted: true } });
		expect((await send("GET", `/v1/boards/${empty.body.id}`, a.readKey)).status).toBe(404);
		expect((await send("DELETE", `/v1/boards/${empty.body.id}`, a.readKey)).status).toBe(404);
	});

	it("refuse invalid bodies with a 400 naming the field, and only take the tenant's own reports", async () => {
		const post = (body: unknown) => newBoard(a.readKey, body as Record<string, unknown>);
		expect(fieldOf(await post({ layout: [] }))).toBe("name");
		expect(fieldOf(await post({ name: "x".repeat(201) }))).toBe("name");
		expect(fieldOf(await post({ name: "b", layout: { report_id: r1.id } }))).toBe("layout");
		expect(fieldOf(await post({ name: "b", layout: [{ report_id: r1.id }, { width: 3 }] }))).toBe("layout[1].report_id");
		expect(fieldOf(await post({ name: "b", layout: [{ report_id: r1.id, width: 13 }] }))).toBe("layout[0].width");
		expect(fieldOf(await post({ name: "b", layout: [{ report_id: r1.id, width: 0 }] }))).toBe("layout[0].width");
		expect(fieldOf(await post({ name: "b", layout: [{ report_id: r1.id, width: 2.5 }] }))).toBe("layout[0].width");
		expect(fieldOf(await post({ name: "b", layout: [{ report_id: r1.id, height: 2 }] }))).toBe("layout[0]");
		const dup = await post({ name: "b", layout: [{ report_id: r1.id }, { report_id: r2.id }, { report_id: r1.id }] });
		expect(fieldOf(dup)).toBe("layout[2].report_id");
		expect(dup.body.error.message).toBe(`layout[2].report_id: report '${r1.id}' is already on this board, at layout[0]`);
		const unknown = await post({ name: "b", layout: [{ report_id: r1.id }, { report_id: "rep_nope" }] });
		expect(fieldOf(unknown)).toBe("layout[1].report_id");
		expect(unknown.body.error.message).toBe("layout[1].report_id: no report 'rep_nope' in this tenant");
		// Another tenant's report is no report at all.
		const theirs = (await newReport(b.readKey, { name: "B's" })).body;
		const foreign = await post({ name: "b", layout: [{ report_id: r1.id }, { report_id: r2.id }, { report_id: theirs.id }] });
		expect(fieldOf(foreign)).toBe("layout[2].report_id");
		expect(foreign.body.error.message).toBe(`layout[2].report_id: no report '${theirs.id}' in this tenant`);
		const tooMany = await post({ name: "b", layout: Array.from({ length: LIMITS.tilesPerBoard + 1 }, (_, i) => ({ report_id: `rep_${i}` })) });
		expect(fieldOf(tooMany)).toBe("layout");
		expect(tooMany.body.error.message).toBe("layout: at most 40 tiles");

		const bd = (await post({ name: "valid", layout: [{ report_id: r1.id }] })).body;
		const patch = (body: unknown) => send("PATCH", `/v1/boards/${bd.id}`, a.readKey, body);
		expect((await patch({})).body.error.message).toBe("body: send at least one of name, description, layout");
		expect(fieldOf(await patch({ layout: [{ report_id: r1.id }, { report_id: theirs.id }] }))).toBe("layout[1].report_id");
		expect(fieldOf(await patch({ description: 5 }))).toBe("description");
		expect((await send("GET", `/v1/boards/${bd.id}`, a.readKey)).body).toEqual(bd);
	});

	it("of another tenant answer 404, exactly like a missing one", async () => {
		const bd = (await newBoard(a.readKey, { name: "A only", layout: [{ report_id: r1.id }] })).body;
		const missing = "brd_doesnotexist2345";
		for (const [method, suffix, body] of [
			["GET", "", undefined],
			["PATCH", "", { name: "mine" }],
			["DELETE", "", undefined],
			["GET", "/results", undefined],
			["GET", "/shares", undefined],
			["POST", "/shares", {}],
		] as const) {
			const theirs = await send(method, `/v1/boards/${bd.id}${suffix}`, b.adminKey, body);
			const none = await send(method, `/v1/boards/${missing}${suffix}`, b.adminKey, body);
			expect(theirs.status, `${method} ${suffix}`).toBe(404);
			expect(JSON.stringify(theirs.body).replaceAll(bd.id, "ID")).toBe(JSON.stringify(none.body).replaceAll(missing, "ID"));
		}
		expect((await send("GET", "/v1/boards", b.readKey)).body.boards.map((x: any) => x.id)).not.toContain(bd.id);
		expect((await send("GET", `/v1/boards/${bd.id}`, a.readKey)).body).toEqual(bd);
	});

	it("answer every tile at once, each as POST /v1/query would, with its own error", async () => {
		// Saved fine, refused when run: 30 days of minutes is over the query's bucket limit.
		const heavy = (await newReport(a.readKey, { name: "Too fine", chart: "heatmap", query: { metrics: ["count"], date_range: "30d", granularity: "minute" } })).body;
		const bd = (await newBoard(a.readKey, { name: "Tiles", layout: [{ report_id: r3.id, width: 4 }, { report_id: heavy.id, width: 12 }, { report_id: r1.id }, { report_id: r2.id }] })).body;
		const res = await send("GET", `/v1/boards/${bd.id}/results`, a.readKey);
		expect(res.status).toBe(200);
		expect(res.body.board).toEqual(bd);
		expect(res.body.took_ms).toEqual(expect.any(Number));
		const tiles = res.body.tiles as any[];
		expect(tiles.map((t) => [t.report_id, t.width, t.status])).toEqual([
			[r3.id, 4, 200],
			[heavy.id, 12, 400],
			[r1.id, 6, 200],
			[r2.id, 6, 200],
		]);
		for (const [i, r] of [[0, r3], [2, r1], [3, r2]] as const) {
			const { report_id, width, report, status, ...answer } = tiles[i];
			expect(report).toEqual(r);
			const direct = await send("POST", "/v1/query", a.readKey, r.query);
			expect(noTook(answer)).toEqual(noTook(direct.body));
			expect(answer.meta.complete_through).toEqual(expect.any(String));
		}
		const direct = await send("POST", "/v1/query", a.readKey, heavy.query);
		expect(tiles[1]).toEqual({ report_id: heavy.id, width: 12, report: heavy, status: direct.status, error: direct.body.error });
		expect(tiles[1].error.code).toBe("query_too_expensive");
	});

	it("keep their reports: deleting a report on a board is refused with 409 naming the boards", async () => {
		const r = (await newReport(a.readKey, { name: "Pinned" })).body;
		const one = (await newBoard(a.readKey, { name: "Alpha", layout: [{ report_id: r.id }] })).body;
		const two = (await newBoard(a.readKey, { name: "Beta", layout: [{ report_id: r1.id }, { report_id: r.id }] })).body;
		const refused = await send("DELETE", `/v1/reports/${r.id}`, a.readKey);
		expect(refused.status).toBe(409);
		expect(refused.body.error).toEqual({
			code: "report_in_use",
			message: `Report '${r.id}' is on 2 boards ('Alpha', 'Beta'); take it off their layouts first.`,
			details: { report: r.id, boards: [{ id: one.id, name: "Alpha" }, { id: two.id, name: "Beta" }] },
		});
		expect((await send("GET", `/v1/reports/${r.id}`, a.readKey)).status).toBe(200);
		await send("PATCH", `/v1/boards/${two.id}`, a.readKey, { layout: [{ report_id: r1.id }] });
		const still = await send("DELETE", `/v1/reports/${r.id}`, a.readKey);
		expect(still.body.error.message).toBe(`Report '${r.id}' is on a board ('Alpha'); take it off that board's layout first.`);
		await send("DELETE", `/v1/boards/${one.id}`, a.readKey);
		expect((await send("DELETE", `/v1/reports/${r.id}`, a.readKey)).status).toBe(200);
	});

	it(`are at most ${LIMITS.boardsPerTenant} per tenant`, async () => {
		const t = await makeTenant("brd-limit");
		const now = Date.now();
		await env.DB.batch(
			Array.from({ length: LIMITS.boardsPerTenant }, (_, i) =>
				env.DB.prepare("INSERT INTO boards (id, tenant_id, name, layout, created_at, updated_at) VALUES (?1, ?2, ?3, '[]', ?4, ?4)").bind(`brd_limit${i}`, t.id, `b${i}`, now),
			),
		);
		const over = await newBoard(t.readKey, { name: "one too many" });
		expect(over.status).toBe(409);
		expect(over.body.error).toEqual({ code: "limit_reached", message: "A tenant has at most 50 boards; delete one first.", details: { resource: "boards", limit: 50 } });
		await send("DELETE", "/v1/boards/brd_limit0", t.readKey);
		expect((await newBoard(t.readKey, { name: "fits again" })).status).toBe(201);
	});
});

describe("share links", () => {
	let r1: any;
	let board: any;
	let otherBoard: any;
	beforeAll(async () => {
		r1 = (await newReport(a.readKey, { name: "Shared totals", description: "what a visitor sees", chart: "number", query: { ...kpis, filters: [["is", "country", "FR"]] } })).body;
		const r2 = (await newReport(a.readKey, { name: "Private series", chart: "line", query: series })).body;
		board = (await newBoard(a.readKey, { name: "Public board", description: "for the team", layout: [{ report_id: r1.id, width: 12 }] })).body;
		otherBoard = (await newBoard(a.readKey, { name: "Private board", layout: [{ report_id: r2.id }] })).body;
	});

	it("are created by admin keys only, with a token shown once and a dashboard URL", async () => {
		const byRead = await newShare(a.readKey, board.id);
		expect(byRead.status).toBe(403);
		expect(byRead.body.error).toMatchObject({ code: "forbidden", details: { scope: "read", required: ["admin"] } });
		// The operator's token belongs to no tenant.
		expect((await newShare(ADMIN, board.id)).status).toBe(401);

		const before = Date.now();
		const s = await newShare(a.adminKey, board.id);
		expect(s.status).toBe(201);
		expect(s.body).toEqual({
			id: expect.stringMatching(/^shr_[a-z2-9]{16}$/),
			board_id: board.id,
			created_at: expect.any(String),
			expires_at: expect.any(String),
			revoked_at: null,
			status: "active",
			token: expect.stringMatching(/^shr_[a-z2-9]{16}\.\d+\.[A-Za-z0-9_-]{43}$/),
			url: `${BASE}/#/shared/${s.body.token}`,
		});
		expect(s.body.token.startsWith(`${s.body.id}.`)).toBe(true);
		const days = (Date.parse(s.body.expires_at) - before) / 86_400_000;
		expect(days).toBeGreaterThan(29.99);
		expect(days).toBeLessThanOrEqual(30);

		const year = await newShare(a.adminKey, board.id, { expires_in_days: 365 });
		expect(Math.round((Date.parse(year.body.expires_at) - Date.now()) / 86_400_000)).toBe(365);
		for (const bad of [0, 366, 1.5, "7"]) expect(fieldOf(await newShare(a.adminKey, board.id, { expires_in_days: bad }))).toBe("expires_in_days");
		const unknown = await newShare(a.adminKey, board.id, { board_id: otherBoard.id });
		expect(unknown.status).toBe(400);
		expect(unknown.body.error.message).toMatch(/^body: .*board_id/);

		// Listed (read keys may look) without their tokens, newest first.
		const list = await send("GET", `/v1/boards/${board.id}/shares`, a.readKey);
		expect(list.status).toBe(200);
		const { token: _t, url: _u, ...stored } = s.body;
		expect(list.body.shares.find((x: any) => x.id === s.body.id)).toEqual(stored);
		expect(list.body.shares[0].id).toBe(year.body.id);
		expect(JSON.stringify(list.body)).not.toContain(s.body.token.split(".")[2]);
		expect((await send("GET", `/v1/boards/${otherBoard.id}/shares`, a.readKey)).body).toEqual({ shares: [] });
	});

	it("open their board and its reports' results without a key, and nothing else", async () => {
		const { token } = (await newShare(a.adminKey, board.id)).body;
		const res = await shared(token);
		expect(res.status).toBe(200);
		expect(res.headers.get("cache-control")).toBe("no-store");
		const body = await json(res);
		expect(Object.keys(body).sort()).toEqual(["board", "expires_at", "tiles", "took_ms"]);
		expect(body.board).toEqual({ id: board.id, name: "Public board", description: "for the team", layout: [{ report_id: r1.id, width: 12 }] });
		expect(body.tiles).toHaveLength(1);
		const { report, report_id, width, status, ...answer } = body.tiles[0];
		// The report's name and chart, not its saved query.
		expect(report).toEqual({ id: r1.id, name: "Shared totals", description: "what a visitor sees", kind: "query", chart: "number" });
		expect([report_id, width, status]).toEqual([r1.id, 12, 200]);
		const direct = await send("POST", "/v1/query", a.readKey, r1.query);
		expect(noTook(answer)).toEqual(noTook(direct.body));
		expect(answer.meta.complete_through).toEqual(expect.any(String));
		expect(answer.results[0].metrics[0]).toBeGreaterThan(0);
		// The keyed board results agree.
		const keyed = (await send("GET", `/v1/boards/${board.id}/results`, a.readKey)).body;
		expect(noTook(keyed.tiles[0]).results).toEqual(answer.results);
	});

	it("authorise nothing else: not /v1/query, /v1/reports, boards, or another board", async () => {
		const { token, id } = (await newShare(a.adminKey, board.id)).body;
		const uses = [
			await send("POST", "/v1/query", token, kpis),
			await send("POST", "/v1/query/batch", token, { queries: { k: kpis } }),
			await send("GET", "/v1/reports", token),
			await send("GET", `/v1/reports/${r1.id}/results`, token),
			await send("GET", `/v1/boards/${board.id}`, token),
			await send("GET", `/v1/boards/${board.id}/results`, token),
			await send("GET", `/v1/boards/${otherBoard.id}/results`, token),
			await send("GET", `/v1/boards/${board.id}/shares`, token),
			await send("GET", "/v1/tenant", token),
			await send("GET", "/v1/system/status", token),
			await send("GET", "/v1/live/snapshot", token),
		];
		for (const u of uses) {
			expect(u.status).toBe(401);
			expect(u.body.error).toEqual({ code: "unauthorized", message: "Unknown API key.", details: {} });
		}
		// The token names no board: another board's link id with this link's signature is a forgery.
		const other = (await newShare(a.adminKey, otherBoard.id)).body;
		const [, exp, sig] = token.split(".");
		const spliced = await shared(`${other.id}.${exp}.${sig}`);
		expect(spliced.status).toBe(403);
		expect((await json(spliced)).error).toEqual({ code: "invalid_share_link", message: expect.stringMatching(/signature does not match/), details: { reason: "bad_signature" } });
		// And the link's own board is the one it shows, whatever is asked.
		const body = await json(await call(`/v1/shared/${token}?board=${otherBoard.id}`, { key: b.adminKey }));
		expect(body.board.id).toBe(board.id);
		expect(id).not.toBe(other.id);
		// A key is not a share token either.
		expect((await json(await shared(a.readKey))).error.details).toEqual({ reason: "malformed" });
	});

	it("refuse tampered tokens with 403 invalid_share_link and a reason", async () => {
		const { token, id } = (await newShare(a.adminKey, board.id)).body;
		const [, exp, sig] = token.split(".") as [string, string, string];
		const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
		const reasonOf = async (t: string) => {
			const res = await shared(t);
			expect(res.status, t).toBe(403);
			const e = (await json(res)).error;
			expect(e.code).toBe("invalid_share_link");
			return e.details.reason;
		};
		expect(await reasonOf(`${id}.${exp}.${flip(sig, 10)}`)).toBe("bad_signature");
		expect(await reasonOf(`${id}.${Number(exp) + 86_400 * 365}.${sig}`)).toBe("bad_signature");
		expect(await reasonOf(`${id}.${exp}.${sig.slice(0, -1)}`)).toBe("malformed");
		expect(await reasonOf(`${id}.${exp}`)).toBe("malformed");
		expect(await reasonOf("nonsense")).toBe("malformed");
		// Signed with another secret.
		expect(await reasonOf(await signShareToken("another-secret", id, Number(exp) * 1000))).toBe("bad_signature");
		// The untouched token still works.
		expect((await shared(token)).status).toBe(200);
	});

	it("expire: by the token's own date, and by the link's date in D1", async () => {
		const { token, id } = (await newShare(a.adminKey, board.id, { expires_in_days: 1 })).body;
		expect((await shared(token)).status).toBe(200);
		await env.DB.prepare("UPDATE share_links SET expires_at = ?2 WHERE id = ?1").bind(id, Date.now() - 1000).run();
		const res = await shared(token);
		expect(res.status).toBe(403);
		expect((await json(res)).error).toEqual({ code: "invalid_share_link", message: "This share link has expired.", details: { reason: "expired" } });
		const listed = (await send("GET", `/v1/boards/${board.id}/shares`, a.readKey)).body.shares.find((s: any) => s.id === id);
		expect(listed.status).toBe("expired");
		// A validly signed token whose own expiry has passed (the server's secret, a past date).
		const past = await signShareToken(env.SHARE_SECRET!, id, Date.now() - 60_000);
		expect((await json(await shared(past))).error.details).toEqual({ reason: "expired" });
	});

	it("are revoked at once; revoking is for admin keys, twice is harmless", async () => {
		const s = (await newShare(a.adminKey, board.id)).body;
		expect((await shared(s.token)).status).toBe(200);
		expect((await send("DELETE", `/v1/boards/${board.id}/shares/${s.id}`, a.readKey)).status).toBe(403);
		// Another tenant's admin key cannot see or revoke it; nor can it be revoked through another board.
		expect((await send("DELETE", `/v1/boards/${board.id}/shares/${s.id}`, b.adminKey)).status).toBe(404);
		expect((await send("DELETE", `/v1/boards/${otherBoard.id}/shares/${s.id}`, a.adminKey)).status).toBe(404);
		expect((await shared(s.token)).status).toBe(200);

		const revoked = await send("DELETE", `/v1/boards/${board.id}/shares/${s.id}`, a.adminKey);
		expect(revoked.status).toBe(200);
		const { token: _t, url: _u, ...stored } = s;
		expect(revoked.body).toEqual({ ...stored, revoked_at: expect.any(String), status: "revoked" });
		const res = await shared(s.token);
		expect(res.status).toBe(403);
		expect((await json(res)).error).toEqual({ code: "invalid_share_link", message: "This share link has been revoked.", details: { reason: "revoked" } });
		const again = await send("DELETE", `/v1/boards/${board.id}/shares/${s.id}`, a.adminKey);
		expect(again.body).toEqual(revoked.body);
		// Other links of the board still work.
		expect((await shared((await newShare(a.adminKey, board.id)).body.token)).status).toBe(200);
	});

	it("answer 404 once their board is deleted, and follow its changes until then", async () => {
		const r = (await newReport(a.readKey, { name: "Soon gone", query: { metrics: ["count"], date_range: RANGE } })).body;
		const bd = (await newBoard(a.readKey, { name: "Ephemeral", layout: [{ report_id: r.id }] })).body;
		const { token } = (await newShare(a.adminKey, bd.id)).body;
		expect((await json(await shared(token))).tiles[0].results).toEqual([{ dimensions: [], metrics: [2000] }]);
		// The board is read from D1 each time.
		await send("PATCH", `/v1/boards/${bd.id}`, a.readKey, { name: "Renamed", layout: [{ report_id: r.id }, { report_id: r1.id }] });
		const now = await json(await shared(token));
		expect(now.board.name).toBe("Renamed");
		expect(now.tiles.map((t: any) => t.report_id)).toEqual([r.id, r1.id]);

		expect((await send("DELETE", `/v1/boards/${bd.id}`, a.readKey)).status).toBe(200);
		const res = await shared(token);
		expect(res.status).toBe(404);
		expect((await json(res)).error).toEqual({ code: "not_found", message: "This shared board no longer exists.", details: {} });
		const left = await env.DB.prepare("SELECT count(*) AS n FROM share_links WHERE board_id = ?1").bind(bd.id).first<{ n: number }>();
		expect(left!.n).toBe(0);
	});

	it("of one tenant show only that tenant's data", async () => {
		const rb = (await newReport(b.readKey, { name: "B total", query: { metrics: ["count"], date_range: RANGE } })).body;
		const bb = (await newBoard(b.readKey, { name: "B board", layout: [{ report_id: rb.id }] })).body;
		const tb = (await newShare(b.adminKey, bb.id)).body.token;
		const ra = (await newReport(a.readKey, { name: "A total", query: { metrics: ["count"], date_range: RANGE } })).body;
		const ba = (await newBoard(a.readKey, { name: "A board", layout: [{ report_id: ra.id }] })).body;
		const ta = (await newShare(a.adminKey, ba.id)).body.token;
		expect((await json(await shared(tb))).tiles[0].results[0].metrics).toEqual([700]);
		expect((await json(await shared(ta))).tiles[0].results[0].metrics).toEqual([2000]);
		// B's admin key cannot list or share A's board.
		expect((await send("GET", `/v1/boards/${ba.id}/shares`, b.adminKey)).status).toBe(404);
		expect((await newShare(b.adminKey, ba.id)).status).toBe(404);
	});

	it(`are at most ${LIMITS.activeSharesPerBoard} active per board`, async () => {
		const bd = (await newBoard(a.readKey, { name: "Popular", layout: [] })).body;
		const made = [];
		for (let i = 0; i < LIMITS.activeSharesPerBoard; i++) made.push((await newShare(a.adminKey, bd.id, { expires_in_days: 1 })).body);
		const over = await newShare(a.adminKey, bd.id);
		expect(over.status).toBe(409);
		expect(over.body.error).toEqual({ code: "limit_reached", message: "A board has at most 20 active share links; revoke one first.", details: { resource: "share_links", limit: 20 } });
		await send("DELETE", `/v1/boards/${bd.id}/shares/${made[0].id}`, a.adminKey);
		expect((await newShare(a.adminKey, bd.id)).status).toBe(201);
	});
});

describe("share tokens (pure)", () => {
	const secret = "unit-secret";
	const id = "shr_abcdefghijkmnpqr";
	const exp = Date.UTC(2027, 0, 1);

	it("verify their signature and expiry at a given instant", async () => {
		const token = await signShareToken(secret, id, exp);
		expect(await verifyShareToken(token, secret, exp - 1)).toEqual({ ok: true, id, expiresAt: exp });
		expect(await verifyShareToken(token, secret, exp)).toEqual({ ok: false, reason: "expired" });
		expect(await verifyShareToken(token, "other", exp - 1)).toEqual({ ok: false, reason: "bad_signature" });
		// Every single-character change of the signature is caught.
		const sig = token.split(".")[2]!;
		const prefix = token.slice(0, token.length - sig.length);
		for (let i = 0; i < sig.length - 1; i++) {
			const c = sig[i] === "a" ? "b" : "a";
			const r = await verifyShareToken(prefix + sig.slice(0, i) + c + sig.slice(i + 1), secret, exp - 1);
			expect(r.ok).toBe(false);
		}
	});

	it("need a configured secret", () => {
		expect(() => shareSecret({})).toThrowError(/SHARE_SECRET/);
		expect(shareSecret({ SHARE_SECRET: "s" })).toBe("s");
	});
});

describe("CORS", () => {
	it("answers preflights of the reports, boards and shared endpoints", async () => {
		const origin = "https://dash.example.pages.dev";
		for (const [path, method] of [
			["/v1/reports", "POST"],
			["/v1/reports/rep_x", "PATCH"],
			["/v1/reports/rep_x/results", "GET"],
			["/v1/boards/brd_x", "DELETE"],
			["/v1/boards/brd_x/shares", "POST"],
			["/v1/boards/brd_x/shares/shr_x", "DELETE"],
			["/v1/shared/abc", "GET"],
		]) {
			const res = await call(path!, { method: "OPTIONS", headers: { origin, "access-control-request-method": method!, "access-control-request-headers": "authorization, content-type" } });
			expect(res.status, path).toBe(204);
			expect(res.headers.get("access-control-allow-origin")).toBe(origin);
			expect(res.headers.get("access-control-allow-methods")).toContain(method);
		}
		const res = await call("/v1/reports", { key: a.readKey, headers: { origin } });
		expect(res.headers.get("access-control-allow-origin")).toBe(origin);
	});
});

describe("share link load limit", () => {
	it("a link loaded in a loop answers 429 with Retry-After past its allowance, and never a 5xx", async () => {
		const t = await makeTenant("share-flood");
		const rep = await json(await call("/v1/reports", { method: "POST", key: t.readKey, json: { name: "n", chart: "number", query: { metrics: ["count"], date_range: "7d" } } }));
		const board = await json(await call("/v1/boards", { method: "POST", key: t.readKey, json: { name: "b", layout: [{ report_id: rep.id }] } }));
		const adminKey = await json(await call(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "admin" } }));
		const link = await json(await call(`/v1/boards/${board.id}/shares`, { method: "POST", key: adminKey.key, json: {} }));
		const statuses: number[] = [];
		for (let i = 0; i < 30; i++) statuses.push((await shared(link.token)).status);
		expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
		expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
		expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
		const refused = await shared(link.token);
		expect(refused.status).toBe(429);
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
		expect((await json(refused)).error.code).toBe("rate_limited");
	});
});
