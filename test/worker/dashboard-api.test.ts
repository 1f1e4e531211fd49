import { beforeAll, describe, expect, it } from "vitest";
import { MAX_BATCH_QUERIES } from "../../workers/query/batch";
import { ADMIN, call, json, makeTenant } from "../helpers";
import { dataset, insertRows, rollUp } from "../rollup-data";

// The endpoints the dashboard adds to the API: GET /v1/tenant, POST /v1/query/batch, and CORS for
// a dashboard served from another origin.
// Inside the local days of RANGE in Paris (UTC+1 in November) and in UTC alike.
const FROM = Date.UTC(2026, 10, 2, 1);
const TO = Date.UTC(2026, 10, 8, 22);
const RANGE = { from: "2026-11-02", to: "2026-11-08" };

let a: Awaited<ReturnType<typeof makeTenant>>;
let b: Awaited<ReturnType<typeof makeTenant>>;

const single = async (key: string, body: unknown) => {
	const res = await call("/v1/query", { method: "POST", key, json: body });
	return { status: res.status, body: await json(res) };
};
const batch = async (key: string, body: unknown, headers: Record<string, string> = {}) => {
	const res = await call("/v1/query/batch", { method: "POST", key, json: body, headers });
	return { res, status: res.status, body: await json(res) };
};
// took_ms varies, one of two identical queries may be answered from the cache (meta.cache), and
// complete_through is the instant each was answered.
const withoutTook = (body: any) => ({ ...body, meta: { ...body.meta, took_ms: 0, cache: null, complete_through: body.meta.complete_through ? "set" : body.meta.complete_through } });

beforeAll(async () => {
	a = await makeTenant("dash-a", { name: "Shop A", timezone: "Europe/Paris", dimension_props: ["channel"], metric_props: ["duration"] });
	b = await makeTenant("dash-b", { timezone: "UTC" });
	await insertRows(a.id, dataset(7, 3_000, FROM, TO, "a"));
	await insertRows(b.id, dataset(8, 1_000, FROM, TO, "b"));
	await rollUp();
}, 120_000);

describe("GET /v1/tenant", () => {
	it("names the key's tenant, its time zone and rollup settings, and the key", async () => {
		const res = await call("/v1/tenant", { key: a.readKey });
		expect(res.status).toBe(200);
		expect(await json(res)).toEqual({
			tenant: { id: "dash-a", name: "Shop A", timezone: "Europe/Paris", dimension_props: ["channel"], metric_props: ["duration"] },
			key: { id: a.readKeyId, name: "", prefix: a.readKey.slice(0, 14), scope: "read" },
		});
		const other = await json(await call("/v1/tenant", { key: b.readKey }));
		expect(other.tenant).toMatchObject({ id: "dash-b", timezone: "UTC", dimension_props: [], metric_props: [] });
	});

	it("takes a tenant admin key; refuses ingest keys, unknown keys, revoked keys and the operator token", async () => {
		const admin = await json(await call(`/v1/admin/tenants/${a.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "admin", name: "owner" } }));
		expect(await json(await call("/v1/tenant", { key: admin.key }))).toMatchObject({ tenant: { id: "dash-a" }, key: { scope: "admin", name: "owner" } });

		const ingest = await call("/v1/tenant", { key: a.ingestKey });
		expect(ingest.status).toBe(403);
		expect((await json(ingest)).error).toMatchObject({ code: "forbidden", details: { scope: "ingest", required: ["read", "admin"] } });

		const unknown = await call("/v1/tenant", { key: "ew_read_nope" });
		expect(unknown.status).toBe(401);
		expect((await json(unknown)).error).toEqual({ code: "unauthorized", message: "Unknown API key.", details: {} });

		const token = await call("/v1/tenant", { key: ADMIN });
		expect(token.status).toBe(403);
		expect((await json(token)).error.message).toMatch(/operator's admin token, which belongs to no tenant/);

		const read = await json(await call(`/v1/admin/tenants/${a.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "read" } }));
		await call(`/v1/admin/tenants/${a.id}/keys/${read.id}`, { method: "DELETE", key: ADMIN });
		const revoked = await call("/v1/tenant", { key: read.key });
		expect(revoked.status).toBe(401);
		expect((await json(revoked)).error.message).toBe("This API key has been revoked.");

		expect((await call("/v1/tenant")).status).toBe(401);
	});
});

describe("POST /v1/query/batch", () => {
	const kpis = { metrics: ["count", "uniques", "p95:duration"], date_range: RANGE, compare: "previous_period" };
	const series = { metrics: ["count"], date_range: RANGE, granularity: "day" };
	const byChannel = { metrics: ["count", "uniques"], date_range: RANGE, dimensions: ["prop:channel"], limit: 10 };

	it("answers each query exactly as POST /v1/query does, in one request", async () => {
		const { status, body } = await batch(a.readKey, { queries: { kpis, series, by_channel: byChannel } });
		expect(status).toBe(200);
		expect(Object.keys(body.answers)).toEqual(["kpis", "series", "by_channel"]);
		for (const [name, q] of Object.entries({ kpis, series, by_channel: byChannel })) {
			const one = await single(a.readKey, q);
			expect(one.status).toBe(200);
			const { status: itemStatus, ...item } = body.answers[name];
			expect(itemStatus).toBe(200);
			expect(withoutTook(item)).toEqual(withoutTook(one.body));
		}
		expect(body.answers.kpis.results[0].metrics[0]).toBe(3_000);
		expect(body.answers.series.results).toHaveLength(7);
		expect(body.answers.by_channel.meta.plan).toBe("rollup");
		expect(typeof body.took_ms).toBe("number");
	});

	it("reads only the key's tenant", async () => {
		const q = { metrics: ["count"], date_range: RANGE };
		const { body: fromA } = await batch(a.readKey, { queries: { n: q } });
		const { body: fromB } = await batch(b.readKey, { queries: { n: q } });
		expect(fromA.answers.n.results[0].metrics).toEqual([3_000]);
		expect(fromB.answers.n.results[0].metrics).toEqual([1_000]);
		// A query cannot name a tenant: refused as POST /v1/query refuses it, the others still answer.
		const { body } = await batch(b.readKey, { queries: { n: q, sneaky: { ...q, tenant_id: "dash-a" } } });
		expect(body.answers.n.results[0].metrics).toEqual([1_000]);
		expect(body.answers.sneaky).toEqual({
			status: 400,
			error: { code: "invalid_query", message: 'body: Unrecognized key: "tenant_id"', details: { issues: [{ path: "", code: "unrecognized_keys", message: 'Unrecognized key: "tenant_id"' }] } },
		});
		// …and neither can the batch itself.
		const whole = await batch(b.readKey, { tenant_id: "dash-a", queries: { n: q } });
		expect(whole.status).toBe(400);
		expect(whole.body.error.code).toBe("invalid_query");
	});

	it("gives every query its own error, with the status POST /v1/query would have answered", async () => {
		const { status, body } = await batch(a.readKey, {
			queries: {
				ok: { metrics: ["count"], date_range: RANGE },
				bad_metric: { metrics: ["median"], date_range: RANGE },
				too_many_buckets: { metrics: ["count"], date_range: "90d", granularity: "minute" },
				timeout: { metrics: ["count", "uniques"], date_range: RANGE, dimensions: ["country", "os"], source: "raw", timeout_ms: 1 },
			},
		});
		expect(status).toBe(200);
		expect(body.answers.ok.status).toBe(200);
		expect(body.answers.bad_metric).toMatchObject({ status: 400, error: { code: "invalid_query", details: { issues: [{ path: "metrics[0]" }] } } });
		expect(body.answers.too_many_buckets).toMatchObject({ status: 400, error: { code: "query_too_expensive" } });
		// A 1 ms limit may or may not be hit by a small raw query; when it is, it is a 422.
		expect([200, 422]).toContain(body.answers.timeout.status);
		if (body.answers.timeout.status === 422) expect(body.answers.timeout.error.code).toBe("query_timeout");
	});

	it("refuses a malformed batch as a whole, naming the field", async () => {
		const cases: [unknown, string][] = [
			[{}, "queries"],
			[{ queries: {} }, "queries"],
			[{ queries: [] }, "queries"],
			[{ queries: { "bad name!": { metrics: ["count"], date_range: "7d" } } }, "queries.bad name!"],
			[{ queries: { n: "count" } }, "queries.n"],
			[{ queries: Object.fromEntries(Array.from({ length: MAX_BATCH_QUERIES + 1 }, (_, i) => [`q${i}`, { metrics: ["count"], date_range: "7d" }])) }, "queries"],
		];
		for (const [body, path] of cases) {
			const r = await batch(a.readKey, body);
			expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
			expect(r.body.error.code).toBe("invalid_query");
			expect(r.body.error.details.issues[0].path).toBe(path);
		}
		const empty = await call("/v1/query/batch", { method: "POST", key: a.readKey });
		expect(empty.status).toBe(400);
		expect((await json(empty)).error).toMatchObject({ code: "invalid_query", details: { field: "body" } });
		const malformed = await call("/v1/query/batch", { method: "POST", key: a.readKey, body: "{", headers: { "content-type": "application/json" } });
		expect(malformed.status).toBe(400);
		expect((await json(malformed)).error.code).toBe("malformed_json");
	});

	it("takes read and admin keys only", async () => {
		const q = { queries: { n: { metrics: ["count"], date_range: RANGE } } };
		expect((await batch(a.ingestKey, q)).status).toBe(403);
		expect((await batch("ew_read_nope", q)).status).toBe(401);
		const res = await call("/v1/query/batch", { method: "POST", json: q });
		expect(res.status).toBe(401);
	});
});

describe("CORS for a dashboard on another origin", () => {
	const origin = "https://dash.example.pages.dev";

	it("answers preflights of the dashboard's endpoints", async () => {
		for (const [path, method] of [
			["/v1/query/batch", "POST"],
			["/v1/query", "POST"],
			["/v1/tenant", "GET"],
			["/v1/live/snapshot", "GET"],
			["/v1/admin/tenants/dash-a/keys/key_1", "DELETE"],
			["/v1/admin/tenants/dash-a", "PATCH"],
		]) {
			const res = await call(path!, { method: "OPTIONS", headers: { origin, "access-control-request-method": method!, "access-control-request-headers": "authorization, content-type" } });
			expect(res.status, path).toBe(204);
			expect(res.headers.get("access-control-allow-origin")).toBe(origin);
			expect(res.headers.get("access-control-allow-methods")).toContain(method);
			expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toBe("authorization,content-type");
			expect(res.headers.get("access-control-allow-credentials")).toBeNull();
		}
	});

	it("lets the page read answers and errors, with the same bodies", async () => {
		const ok = await batch(a.readKey, { queries: { n: { metrics: ["count"], date_range: RANGE } } }, { origin });
		expect(ok.status).toBe(200);
		expect(ok.res.headers.get("access-control-allow-origin")).toBe(origin);
		expect(ok.res.headers.get("vary")).toContain("Origin");
		// A bad key must be readable too, or the dashboard could only say "network error".
		const denied = await call("/v1/tenant", { key: "ew_read_nope", headers: { origin } });
		expect(denied.status).toBe(401);
		expect(denied.headers.get("access-control-allow-origin")).toBe(origin);
		expect((await json(denied)).error.code).toBe("unauthorized");
	});

	it("leaves other paths alone", async () => {
		const res = await call("/v1/system/nope", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
		expect(res.headers.get("access-control-allow-origin")).toBeNull();
		const ingest = await call("/v1/events", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST" } });
		expect(ingest.headers.get("access-control-allow-methods")).toBe("POST, OPTIONS");
	});
});
