import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type AdminTenant, call, fieldOf as issueField, json, makeTenant, send, withAdminKey } from "../helpers";
import { EXPERIMENT_BODY, FUNNEL_BODY, FUNNEL_ENTERED, INSIGHTS_BODY, kindEvents, LIFECYCLE_BODY, RETENTION_BODY, RETENTION_COHORTS } from "../kinds-data";
import { insertEvents, peopleUp } from "../people-data";

// Saved reports of every kind (funnel, retention and lifecycle, experiment, insights): saved with
// their endpoint's checks, answered on boards and share links as their endpoint answers.

type Tenant = AdminTenant;
let a: Tenant;
let b: Tenant;

const post = (path: string, key: string, body: unknown) => send("POST", path, key, body);
/** The field a 400 names (and its message starts with it). */
const fieldOf = (r: { status: number; body: any }) => {
	const path = issueField(r);
	expect(Object.keys(r.body.error).sort()).toEqual(["code", "details", "message"]);
	return path;
};
/** Timings and cache verdicts differ between two answers of the same question; nothing else may. */
const untimed = (x: unknown): unknown =>
	Array.isArray(x)
		? x.map(untimed)
		: x && typeof x === "object"
			? Object.fromEntries(Object.entries(x).flatMap(([k, v]) => (k === "took_ms" || k === "cache" || k === "complete_through" ? [] : [[k, untimed(v)]])))
			: x;

const REPORTS = {
	funnel: { kind: "funnel", chart: "funnel", query: FUNNEL_BODY, endpoint: "/v1/funnels" },
	retention: { kind: "retention", chart: "heatmap", query: RETENTION_BODY, endpoint: "/v1/retention" },
	lifecycle: { kind: "retention", chart: "table", query: LIFECYCLE_BODY, endpoint: "/v1/retention" },
	experiment: { kind: "experiment", chart: "table", query: EXPERIMENT_BODY, endpoint: "/v1/experiments" },
	insights: { kind: "insights", chart: "line", query: INSIGHTS_BODY, endpoint: "/v1/insights" },
	query: { kind: "query", chart: "number", query: { metrics: ["count"], date_range: FUNNEL_BODY.date_range }, endpoint: "/v1/query" },
} as const;
const ids: Record<string, string> = {};

beforeAll(async () => {
	a = await withAdminKey(await makeTenant("kinds-a"), "owner");
	b = await withAdminKey(await makeTenant("kinds-b"), "owner");
	await insertEvents(a.id, kindEvents("a-"));
	await insertEvents(b.id, kindEvents("b-").slice(0, 5));
	await peopleUp();
	for (const [name, r] of Object.entries(REPORTS)) {
		const made = await post("/v1/reports", a.readKey, { name, kind: r.kind, chart: r.chart, query: r.query });
		expect(made.status, JSON.stringify(made.body)).toBe(201);
		ids[name] = made.body.id;
	}
}, 120_000);

describe("reports of every kind", () => {
	it("store their kind and their endpoint's body, and answer as that endpoint", async () => {
		for (const [name, r] of Object.entries(REPORTS)) {
			const got = await send("GET", `/v1/reports/${ids[name]}`, a.readKey);
			expect(got.body).toMatchObject({ id: ids[name], name, kind: r.kind, chart: r.chart, query: r.query });
			const results = await send("GET", `/v1/reports/${ids[name]}/results`, a.readKey);
			expect(results.status, JSON.stringify(results.body)).toBe(200);
			const direct = await post(r.endpoint, a.readKey, r.query);
			expect(direct.status).toBe(200);
			const { report, ...answer } = results.body;
			expect(report.kind).toBe(r.kind);
			expect(untimed(answer)).toEqual(untimed(direct.body));
		}
	}, 60_000);

	it("answer with the values of the journeys, computed by hand", async () => {
		const funnel = (await send("GET", `/v1/reports/${ids.funnel}/results`, a.readKey)).body;
		expect(funnel.steps.map((s: any) => s.entered)).toEqual(FUNNEL_ENTERED);
		expect(funnel.steps.map((s: any) => s.conversion_from_first)).toEqual(FUNNEL_ENTERED.map((n) => Math.round((n / FUNNEL_ENTERED[0]!) * 1e6) / 1e6));
		const retention = (await send("GET", `/v1/reports/${ids.retention}/results`, a.readKey)).body;
		expect(retention.cohorts.map((c: any) => ({ people: c.people, retained: c.retained }))).toEqual(RETENTION_COHORTS);
		const experiment = (await send("GET", `/v1/reports/${ids.experiment}/results`, a.readKey)).body;
		expect(JSON.stringify(experiment)).toContain('"variant":"B"');
	}, 60_000);

	it("are drawn only with charts that suit their kind (400 naming chart)", async () => {
		const bad = [
			{ kind: "funnel", chart: "number", query: FUNNEL_BODY },
			{ kind: "retention", chart: "funnel", query: RETENTION_BODY },
			{ kind: "experiment", chart: "line", query: EXPERIMENT_BODY },
			{ kind: "query", chart: "funnel", query: REPORTS.query.query },
		];
		for (const body of bad) expect(fieldOf(await post("/v1/reports", a.readKey, { name: "x", ...body }))).toBe("chart");
		expect(fieldOf(await send("PATCH", `/v1/reports/${ids.query}`, a.readKey, { chart: "funnel" }))).toBe("chart");
		expect(fieldOf(await send("PATCH", `/v1/reports/${ids.funnel}`, a.readKey, { chart: "heatmap" }))).toBe("chart");
		expect(fieldOf(await post("/v1/reports", a.readKey, { name: "x", kind: "cohorts", chart: "table", query: {} }))).toBe("kind");
	}, 60_000);

	it("are checked by their endpoint's parser, errors naming query.<field>", async () => {
		const cases: [Record<string, unknown>, string][] = [
			[{ kind: "funnel", chart: "funnel", query: { ...FUNNEL_BODY, steps: [{ event: "a" }, { event: "" }] } }, "query.steps[1].event"],
			[{ kind: "funnel", chart: "funnel", query: { ...FUNNEL_BODY, steps: [{ event: "a" }] } }, "query.steps"],
			[{ kind: "funnel", chart: "table", query: { ...FUNNEL_BODY, window: "1y" } }, "query.window"],
			[{ kind: "funnel", chart: "table", query: { ...FUNNEL_BODY, date_range: "forever" } }, "query.date_range"],
			[{ kind: "retention", chart: "table", query: { ...RETENTION_BODY, period: "hour" } }, "query.period"],
			[{ kind: "retention", chart: "table", query: { ...LIFECYCLE_BODY, start_event: "signup" } }, "query.start_event"],
			[{ kind: "retention", chart: "table", query: { ...RETENTION_BODY, timezone: "Mars/Olympus" } }, "query.timezone"],
			[{ kind: "experiment", chart: "table", query: { ...EXPERIMENT_BODY, goal: { event: "purchase", metric: "median" } } }, "query.goal.metric"],
			[{ kind: "insights", chart: "table", query: { ...INSIGHTS_BODY, metrics: ["count", "nonsense"] } }, "query.metrics[1]"],
			[{ kind: "insights", chart: "table", query: { ...INSIGHTS_BODY, granularity: "fortnight" } }, "query.granularity"],
			// A funnel body is not a query, and the other way round.
			[{ kind: "query", chart: "table", query: FUNNEL_BODY }, "query.metrics"],
			[{ kind: "funnel", chart: "table", query: REPORTS.query.query }, "query.steps"],
		];
		for (const [body, path] of cases) expect(fieldOf(await post("/v1/reports", a.readKey, { name: "x", ...body })), JSON.stringify(body)).toBe(path);
		// A change of kind checks the saved query as the new kind's: a query's body is no funnel.
		expect(fieldOf(await send("PATCH", `/v1/reports/${ids.query}`, a.readKey, { kind: "funnel", chart: "funnel" }))).toMatch(/^query\./);
	}, 60_000);

	it("change kind with a query of the new kind; rows saved before kinds existed read as queries", async () => {
		const made = await post("/v1/reports", a.readKey, { name: "to convert", chart: "table", query: REPORTS.query.query });
		expect(made.body.kind).toBe("query");
		const changed = await send("PATCH", `/v1/reports/${made.body.id}`, a.readKey, { kind: "funnel", query: FUNNEL_BODY });
		expect(changed.status, JSON.stringify(changed.body)).toBe(200);
		expect(changed.body).toMatchObject({ kind: "funnel", chart: "table", query: FUNNEL_BODY });
		expect((await send("GET", `/v1/reports/${made.body.id}/results`, a.readKey)).body.steps.map((s: any) => s.entered)).toEqual(FUNNEL_ENTERED);
		await send("DELETE", `/v1/reports/${made.body.id}`, a.readKey);
		// As migration 0011 left an older row: no kind given.
		await env.DB.prepare("INSERT INTO reports (id, tenant_id, name, description, query, chart, created_at, updated_at) VALUES ('rep_olderrow', ?1, 'old', '', ?2, 'number', 1, 1)")
			.bind(a.id, JSON.stringify(REPORTS.query.query))
			.run();
		const old = await send("GET", "/v1/reports/rep_olderrow/results", a.readKey);
		expect(old.body.report.kind).toBe("query");
		expect(old.body.results[0].metrics[0]).toBe(kindEvents("a-").filter((e) => e.timestamp < Date.UTC(2026, 10, 9)).length);
	}, 60_000);

	it("answer on a board and a shared board: {report_id, width, report, status, ...the endpoint's answer}", async () => {
		const names = Object.keys(REPORTS);
		const board = await post("/v1/boards", a.readKey, { name: "Every kind", layout: names.map((n, i) => ({ report_id: ids[n], width: 4 + (i % 3) })) });
		expect(board.status).toBe(201);
		const res = await send("GET", `/v1/boards/${board.body.id}/results`, a.readKey);
		expect(res.status).toBe(200);
		const share = await post(`/v1/boards/${board.body.id}/shares`, a.adminKey, {});
		const pub = await json(await call(`/v1/shared/${share.body.token}`));
		for (const [i, name] of names.entries()) {
			const r = REPORTS[name as keyof typeof REPORTS];
			const direct = (await post(r.endpoint, a.readKey, r.query)).body;
			for (const [tiles, full] of [
				[res.body.tiles, true],
				[pub.tiles, false],
			] as const) {
				const { report_id, width, report, status, ...answer } = tiles[i];
				expect({ report_id, width, status }).toEqual({ report_id: ids[name], width: 4 + (i % 3), status: 200 });
				expect(report).toMatchObject({ id: ids[name], name, kind: r.kind, chart: r.chart });
				// A shared board shows no query (its viewers have no key to run one).
				if (full) expect(report.query).toEqual(r.query);
				else expect(report.query).toBeUndefined();
				expect(untimed(answer)).toEqual(untimed(direct));
			}
		}
	}, 60_000);

	it("are the tenant's own: another tenant's report answers 404 and cannot be put on its boards", async () => {
		for (const name of ["funnel", "retention", "experiment"]) {
			const other = await send("GET", `/v1/reports/${ids[name]}/results`, b.readKey);
			expect(other.status).toBe(404);
			expect(other.body.error.code).toBe("not_found");
			expect((await send("PATCH", `/v1/reports/${ids[name]}`, b.readKey, { chart: "table" })).status).toBe(404);
			expect(fieldOf(await post("/v1/boards", b.readKey, { name: "steal", layout: [{ report_id: ids[name] }] }))).toBe("layout[0].report_id");
		}
		// Tenant b's own funnel reads only its own events (its u1 and u2: two people at step 1).
		const mine = await post("/v1/reports", b.readKey, { name: "b funnel", kind: "funnel", chart: "funnel", query: FUNNEL_BODY });
		const answer = await send("GET", `/v1/reports/${mine.body.id}/results`, b.readKey);
		expect(answer.body.steps.map((s: any) => s.entered)).toEqual([2, 1, 1]);
	}, 60_000);
});
