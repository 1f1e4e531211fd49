import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, call, d1Count, ev, flush, json, makeTenant, stats } from "../helpers";

const post = (path: string, key: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
	call(path, { method: "POST", key, headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

async function expectError(res: Response, status: number, code: string) {
	expect(res.status).toBe(status);
	const body = await json(res);
	expect(body.error).toMatchObject({ code });
	expect(typeof body.error.message).toBe("string");
	expect(body.error).toHaveProperty("details");
	return body.error;
}

async function gz(text: string) {
	return new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)).arrayBuffer();
}

describe("POST /v1/events shapes", () => {
	it("takes one event, {events:[...]}, a bare array and NDJSON, and stores them in D1", async () => {
		const t = await makeTenant("shapes");
		expect(await json(await post("/v1/events", t.ingestKey, ev("one")))).toMatchObject({ accepted: 1 });
		expect(await json(await post("/v1/events", t.ingestKey, { events: [ev("b1"), ev("b2")] }))).toMatchObject({ accepted: 2 });
		expect(await json(await post("/v1/events", t.ingestKey, [ev("a1"), ev("a2"), ev("a3")]))).toMatchObject({ accepted: 3 });
		const nd = [ev("n1"), ev("n2")].map((e) => JSON.stringify(e)).join("\n");
		const res = await post("/v1/events", t.ingestKey, `${nd}\n{broken\n`, { "content-type": "application/x-ndjson" });
		expect(res.status).toBe(200);
		const body = await json(res);
		expect(body).toMatchObject({ accepted: 2, rejected: 1 });
		expect(body.errors[0]).toMatchObject({ index: 2, path: "[2]", code: "malformed_json" });
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(8);
		expect(await d1Count(t.id, "event LIKE 'n%'")).toBe(2);
	});

	it("stores every field: ids, timestamp, properties, context, enrichment", async () => {
		const t = await makeTenant("fields");
		const ts = "2026-11-20T08:30:00.000Z";
		const res = await post(
			"/v1/events",
			t.ingestKey,
			{ event: "purchase", user_id: "u9", anonymous_id: "a9", message_id: "m-fields-1", timestamp: ts, properties: { amount: 49.5, plan: "pro", gift: false }, context: { userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", location: { country: "FR", city: "Lyon" } } },
			{ "user-agent": "curl/8.5.0" },
		);
		expect(res.status).toBe(200);
		await flush(t.id);
		const row = await env.DB.prepare("SELECT * FROM events WHERE tenant_id = ? AND message_id = ?").bind(t.id, "m-fields-1").first<Record<string, unknown>>();
		expect(row).toMatchObject({ type: "track", event: "purchase", user_id: "u9", anonymous_id: "a9", timestamp: Date.parse(ts), country: "FR", city: "Lyon", browser: "Safari", os: "iOS", device: "mobile", is_bot: 0 });
		expect(JSON.parse(row!.properties as string)).toEqual({ amount: 49.5, plan: "pro", gift: false });
		expect(JSON.parse(row!.context as string)).toMatchObject({ location: { country: "FR", city: "Lyon" } });
		expect(row!.received_at as number).toBeGreaterThanOrEqual(Date.now() - 60_000);
	});

	it("accepts gzip bodies and text/plain JSON (sendBeacon)", async () => {
		const t = await makeTenant("encodings");
		const zipped = await gz(JSON.stringify({ events: [ev("z1"), ev("z2")] }));
		const res = await call("/v1/events", { method: "POST", key: t.ingestKey, headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: zipped });
		expect(await json(res)).toMatchObject({ accepted: 2 });
		const beacon = await call("/v1/events", { method: "POST", headers: { "content-type": "text/plain;charset=UTF-8" }, body: JSON.stringify({ ...ev("beacon"), writeKey: t.ingestKey }) });
		expect(await json(beacon)).toMatchObject({ accepted: 1 });
		const bad = await call("/v1/events", { method: "POST", key: t.ingestKey, headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "plain" });
		await expectError(bad, 400, "malformed_body");
	});

	it("flags bots from the User-Agent", async () => {
		const t = await makeTenant("bots");
		await post("/v1/events", t.ingestKey, ev("crawl", { message_id: "bot-1" }), { "user-agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" });
		await flush(t.id);
		expect(await d1Count(t.id, "is_bot = 1 AND device = 'bot'")).toBe(1);
	});
});

describe("partial batches and rejected events", () => {
	it("accepts the valid events, rejects the others with index, path and reason, and keeps them", async () => {
		const t = await makeTenant("partial");
		const res = await post("/v1/events", t.ingestKey, {
			events: [ev("ok1"), { event: "x" }, ev("ok2"), ev("bad", { timestamp: "soon" }), ev("deep", { properties: { a: { b: 1 } } })],
		});
		expect(res.status).toBe(200);
		const body = await json(res);
		expect(body).toMatchObject({ accepted: 2, rejected: 3, duplicates: 0 });
		expect(body.errors.map((e: { index: number; path: string }) => [e.index, e.path])).toEqual([
			[1, "events[1].user_id"],
			[3, "events[3].timestamp"],
			[4, "events[4].properties.a"],
		]);
		await flush(t.id);
		const listed = await json(await call("/v1/rejected", { key: t.readKey }));
		expect(listed.rejected).toHaveLength(3);
		const byIndex = Object.fromEntries(listed.rejected.map((r: { details: { index: number } }) => [r.details.index, r]));
		expect(byIndex[3]).toMatchObject({ code: "invalid_event", details: { path: "events[3].timestamp" } });
		expect(JSON.parse(byIndex[3].payload)).toMatchObject({ event: "bad", timestamp: "soon" });
		expect(await d1Count(t.id)).toBe(2);
	});

	it("answers 400 when every event is invalid, yet stores them", async () => {
		const t = await makeTenant("allbad");
		const err = await expectError(await post("/v1/events", t.ingestKey, { events: [{ event: "a" }, { event: "b" }] }), 400, "invalid_events");
		expect(err.details).toMatchObject({ accepted: 0, rejected: 2 });
		const single = await expectError(await post("/v1/events", t.ingestKey, { user_id: "u" }), 400, "invalid_event");
		expect(single.details.errors[0].path).toBe("event");
		await flush(t.id);
		expect((await json(await call("/v1/rejected", { key: t.readKey }))).rejected).toHaveLength(3);
	});

	it("keeps an unparseable body from a known key as a rejected item", async () => {
		const t = await makeTenant("malformed");
		const err = await expectError(await post("/v1/events", t.ingestKey, '{"event": "x", '), 400, "malformed_json");
		expect(err.message).toContain("not valid JSON");
		await flush(t.id);
		const listed = await json(await call("/v1/rejected", { key: t.readKey }));
		expect(listed.rejected[0]).toMatchObject({ code: "malformed_json", payload: '{"event": "x", ' });
		expect(await stats(t.readKey)).toMatchObject({ received: 1, rejected: 1, accepted: 0 });
	});

	it("pages through rejected events with next_before", async () => {
		const t = await makeTenant("paging");
		await post("/v1/events", t.ingestKey, { events: [ev("ok"), ...Array.from({ length: 5 }, () => ({ event: "nouser" }))] });
		await flush(t.id);
		const p1 = await json(await call("/v1/rejected?limit=3", { key: t.readKey }));
		expect(p1.rejected).toHaveLength(3);
		const p2 = await json(await call(`/v1/rejected?limit=3&before=${p1.next_before}`, { key: t.readKey }));
		expect(p2.rejected).toHaveLength(2);
		expect(p2.next_before).toBeNull();
		await expectError(await call("/v1/rejected?limit=0", { key: t.readKey }), 400, "invalid_query");
	});
});

describe("dedupe and accounting", () => {
	it("drops repeated message_ids within a batch and across requests, and says which", async () => {
		const t = await makeTenant("dedupe");
		const first = await json(await post("/v1/events", t.ingestKey, { events: [ev("a", { message_id: "m1" }), ev("a", { message_id: "m2" }), ev("a", { message_id: "m1" })] }));
		expect(first).toMatchObject({ accepted: 2, duplicates: 1, duplicate_indexes: [2] });
		await flush(t.id);
		const again = await json(await post("/v1/events", t.ingestKey, { events: [{ event: "x" }, ev("a", { message_id: "m2" }), ev("a", { message_id: "m3" })] }));
		expect(again).toMatchObject({ accepted: 1, rejected: 1, duplicates: 1, duplicate_indexes: [1] });
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(3);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ received: 6, accepted: 3, rejected: 1, duplicates: 2, buffered: 0, flushed: 3 });
	});

	it("keeps received = accepted + rejected + duplicates exactly over mixed traffic", async () => {
		const t = await makeTenant("identity");
		let sent = 0;
		for (let i = 0; i < 12; i++) {
			const events = Array.from({ length: 25 }, (_, j) =>
				j % 7 === 0 ? { event: "bad" } : ev("e", { message_id: `id-${(i * 25 + j) % 200}` }),
			);
			sent += events.length;
			await post("/v1/events", t.ingestKey, { events });
			if (i % 4 === 3) await flush(t.id);
		}
		await flush(t.id);
		const s = await stats(t.readKey);
		expect(s.received).toBe(sent);
		expect(s.accepted + s.rejected + s.duplicates).toBe(s.received);
		expect(s.accepted).toBe(await d1Count(t.id));
		const rejected = await env.DB.prepare("SELECT count(*) AS n FROM rejected_events WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
		expect(s.rejected).toBe(rejected!.n);
	});
});

describe("errors", () => {
	it("401: missing, unknown, malformed and revoked keys", async () => {
		const t = await makeTenant("auth401");
		await expectError(await post("/v1/events", undefined, ev("a")), 401, "unauthorized");
		await expectError(await post("/v1/events", "ew_ingest_nope", ev("a")), 401, "unauthorized");
		await expectError(await call("/v1/events", { method: "POST", headers: { authorization: "Basic %%%", "content-type": "application/json" }, body: "{}" }), 401, "invalid_authorization");
		await expectError(await call("/v1/events", { method: "POST", headers: { authorization: "Digest abc", "content-type": "application/json" }, body: "{}" }), 401, "invalid_authorization");
		expect((await post("/v1/events", t.ingestKey, ev("a"))).status).toBe(200);
		const del = await call(`/v1/admin/tenants/${t.id}/keys/${t.ingestKeyId}`, { method: "DELETE", key: ADMIN });
		expect(del.status).toBe(200);
		const revoked = await post("/v1/events", t.ingestKey, ev("b"));
		expect(revoked.headers.get("www-authenticate")).toContain("Bearer");
		const err = await expectError(revoked, 401, "unauthorized");
		expect(err.message).toContain("revoked");
	});

	it("403: a read key cannot ingest; a disallowed origin is refused", async () => {
		const t = await makeTenant("auth403");
		await expectError(await post("/v1/events", t.readKey, ev("a")), 403, "forbidden");
		const k = await json(await call(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "ingest", allowed_origins: ["https://app.example.com"] } }));
		const ok = await post("/v1/events", k.key, ev("a"), { origin: "https://app.example.com" });
		expect(ok.status).toBe(200);
		expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
		await expectError(await post("/v1/events", k.key, ev("a"), { origin: "https://evil.example" }), 403, "origin_not_allowed");
		// Server-side calls carry no Origin and are allowed.
		expect((await post("/v1/events", k.key, ev("a"))).status).toBe(200);
		// Changing the allowed origins takes effect at once.
		await call(`/v1/admin/tenants/${t.id}/keys/${k.id}`, { method: "PATCH", key: ADMIN, json: { allowed_origins: ["https://evil.example"] } });
		expect((await post("/v1/events", k.key, ev("a"), { origin: "https://evil.example" })).status).toBe(200);
	});

	it("413: body too large, too many events; per-event size limit rejects just that event", async () => {
		const t = await makeTenant("limits");
		const huge = JSON.stringify({ events: [ev("a", { properties: { blob: "x".repeat(8000) } })] }).padEnd(1024 * 1024 + 10, " ");
		const e1 = await expectError(await post("/v1/events", t.ingestKey, huge), 413, "payload_too_large");
		expect(e1.details.limit_bytes).toBe(1024 * 1024);
		await expectError(await post("/v1/events", t.ingestKey, { events: Array.from({ length: 1001 }, () => ev("a")) }), 413, "too_many_events");
		const big = { ...ev("big"), context: { blob: "y".repeat(40_000) } };
		// 12,000 characters but 36,000 bytes of UTF-8: the limit is in bytes.
		const wide = { ...ev("wide"), context: { blob: "€".repeat(12_000) } };
		const res = await json(await post("/v1/events", t.ingestKey, { events: [ev("small"), big, wide] }));
		expect(res).toMatchObject({ accepted: 1, rejected: 2 });
		expect(res.errors.map((e: { index: number; code: string }) => [e.index, e.code])).toEqual([
			[1, "event_too_large"],
			[2, "event_too_large"],
		]);
	});

	it("415: unsupported content type and encoding", async () => {
		const t = await makeTenant("types");
		await expectError(await post("/v1/events", t.ingestKey, "<x/>", { "content-type": "application/xml" }), 415, "unsupported_content_type");
		await expectError(await post("/v1/events", t.ingestKey, "{}", { "content-encoding": "br" }), 415, "unsupported_content_encoding");
	});

	it("429 with Retry-After over the tenant's rate, and nothing stored for the refused request", async () => {
		const t = await makeTenant("ratelimited", { rate_limit_eps: 10 });
		expect((await post("/v1/events", t.ingestKey, { events: Array.from({ length: 10 }, () => ev("a")) })).status).toBe(200);
		const res = await post("/v1/events", t.ingestKey, { events: Array.from({ length: 5 }, () => ev("b")) });
		const err = await expectError(res, 429, "rate_limited");
		expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
		expect(err.message).toContain("10 events per second");
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(10);
		expect(await stats(t.readKey)).toMatchObject({ received: 10, accepted: 10 });
	});

	it("keeps every request refused as a whole (400/413/415) from a known key, with its reason", async () => {
		const t = await makeTenant("refusals");
		await expectError(await post("/v1/events", t.ingestKey, "<x/>", { "content-type": "application/xml" }), 415, "unsupported_content_type");
		await expectError(await post("/v1/events", t.ingestKey, "[1] [2]"), 400, "malformed_json");
		await expectError(await post("/v1/events", t.ingestKey, '"just a string"'), 400, "invalid_event");
		await expectError(await post("/v1/events", t.ingestKey, { events: "nope" }), 400, "invalid_batch");
		await expectError(await post("/v1/events", t.ingestKey, { events: Array.from({ length: 1001 }, () => ev("a")) }), 413, "too_many_events");
		// Refusals before a key is known, or of the key itself, are not stored anywhere.
		await expectError(await post("/v1/events", undefined, "<x/>", { "content-type": "application/xml" }), 415, "unsupported_content_type");
		await flush(t.id);
		const listed = await json(await call("/v1/rejected", { key: t.readKey }));
		expect(listed.rejected.map((r: { code: string }) => r.code).sort()).toEqual(["invalid_batch", "invalid_event", "malformed_json", "too_many_events", "unsupported_content_type"]);
		const xml = listed.rejected.find((r: { code: string }) => r.code === "unsupported_content_type");
		expect(xml.payload).toContain("application/xml");
		expect(await stats(t.readKey)).toMatchObject({ received: 5, rejected: 5, accepted: 0 });
	});

	it("404 for unknown routes, as JSON", async () => {
		await expectError(await call("/v1/nope"), 404, "not_found");
	});
});

describe("CORS", () => {
	it("answers preflights for ingest paths with the request's origin", async () => {
		const res = await call("/v1/track", { method: "OPTIONS", headers: { origin: "https://shop.example", "access-control-request-method": "POST" } });
		expect(res.status).toBe(204);
		expect(res.headers.get("access-control-allow-origin")).toBe("https://shop.example");
		expect(res.headers.get("access-control-allow-headers")).toContain("Authorization");
		expect(res.headers.get("access-control-allow-methods")).toContain("POST");
	});
});
