import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, flush, hub, json, makeTenant, stats } from "../helpers";

const basic = (key: string) => `Basic ${btoa(`${key}:`)}`;
const seg = (path: string, key: string | null, body: unknown) =>
	call(`/v1/${path}`, { method: "POST", headers: { "content-type": "application/json", ...(key ? { authorization: basic(key) } : {}) }, body: JSON.stringify(body) });

async function row(tenantId: string, messageId: string) {
	return env.DB.prepare("SELECT * FROM events WHERE tenant_id = ? AND message_id = ?").bind(tenantId, messageId).first<Record<string, any>>();
}

describe("Segment HTTP Tracking API", () => {
	it("stores each call type with its shape (single endpoints, Basic auth)", async () => {
		const t = await makeTenant("seg-types");
		const ts = "2026-11-21T10:00:00.000Z";
		const calls: [string, Record<string, unknown>][] = [
			["track", { userId: "u1", event: "Order Completed", properties: { revenue: 42.5, product: { id: "p1", tags: ["a", "b"] } } }],
			["identify", { userId: "u1", traits: { email: "ann@example.com", plan: "pro", address: { city: "Oslo" } } }],
			["page", { anonymousId: "anon-1", name: "Pricing", category: "Marketing", properties: { path: "/pricing" } }],
			["screen", { userId: "u1", name: "Inbox" }],
			["group", { userId: "u1", groupId: "acme", traits: { name: "Acme", employees: 40 } }],
			["alias", { userId: "u1", previousId: "anon-1" }],
		];
		for (const [path, body] of calls) {
			const res = await seg(path, t.ingestKey, { ...body, messageId: `m-${path}`, timestamp: ts });
			expect(res.status, path).toBe(200);
			expect(await json(res)).toMatchObject({ success: true, accepted: 1 });
		}
		await flush(t.id);
		const track = await row(t.id, "m-track");
		expect(track).toMatchObject({ type: "track", event: "Order Completed", user_id: "u1", timestamp: Date.parse(ts) });
		expect(JSON.parse(track!.properties)).toEqual({ revenue: 42.5, "product.id": "p1", "product.tags": '["a","b"]' });
		const identify = await row(t.id, "m-identify");
		expect(identify).toMatchObject({ type: "identify", event: "identify" });
		expect(JSON.parse(identify!.traits)).toEqual({ email: "ann@example.com", plan: "pro", address: { city: "Oslo" } });
		const page = await row(t.id, "m-page");
		expect(page).toMatchObject({ type: "page", event: "page_view", anonymous_id: "anon-1", user_id: null });
		expect(JSON.parse(page!.properties)).toEqual({ path: "/pricing", name: "Pricing", category: "Marketing" });
		expect(await row(t.id, "m-screen")).toMatchObject({ type: "screen", event: "screen_view" });
		const group = await row(t.id, "m-group");
		expect(group).toMatchObject({ type: "group", group_id: "acme" });
		expect(JSON.parse(group!.traits)).toEqual({ name: "Acme", employees: 40 });
		expect(await row(t.id, "m-alias")).toMatchObject({ type: "alias", previous_id: "anon-1", user_id: "u1" });
	});

	it("takes /v1/batch with batch-level sentAt and context, and writeKey in the body", async () => {
		const t = await makeTenant("seg-batch");
		const sentAt = new Date(Date.now() + 3600_000); // client clock one hour fast
		const ts = new Date(sentAt.getTime() - 20_000);
		const res = await seg("batch", null, {
			writeKey: t.ingestKey,
			sentAt: sentAt.toISOString(),
			context: { library: { name: "analytics-node", version: "3.1.0" } },
			batch: [
				{ type: "track", userId: "u1", event: "Message Sent", messageId: "b1", timestamp: ts.toISOString(), properties: { channel: "chat" } },
				{ type: "identify", userId: "u1", messageId: "b2", timestamp: ts.toISOString(), traits: { name: "Ann" } },
				{ type: "track", userId: "u1", messageId: "b3" },
			],
		});
		const body = await json(res);
		expect(res.status).toBe(200);
		expect(body).toMatchObject({ success: true, accepted: 2, rejected: 1 });
		expect(body.errors[0]).toMatchObject({ index: 2, path: "batch[2].event" });
		await flush(t.id);
		const b1 = await row(t.id, "b1");
		// Skew corrected: 20 s before arrival, not an hour in the future.
		expect(Math.abs(b1!.timestamp - (b1!.received_at - 20_000))).toBeLessThan(1000);
		expect(b1!.sent_at).toBe(sentAt.getTime());
		// The batch's context is stored once and referenced: the event's own context holds only its own keys.
		expect(b1!.context).toBeNull();
		const shared = await env.DB.prepare("SELECT body FROM shared_contexts WHERE tenant_id = ? AND id = ?").bind(t.id, b1!.context_id).first<{ body: string }>();
		expect(JSON.parse(shared!.body)).toEqual({ library: { name: "analytics-node", version: "3.1.0" } });
	});

	it("dedupes on messageId across calls", async () => {
		const t = await makeTenant("seg-dedupe");
		const msg = { userId: "u", event: "Clicked", messageId: "same-id" };
		expect(await json(await seg("track", t.ingestKey, msg))).toMatchObject({ accepted: 1, duplicates: 0 });
		expect(await json(await seg("track", t.ingestKey, msg))).toMatchObject({ accepted: 0, duplicates: 1 });
		expect(await json(await seg("batch", t.ingestKey, { batch: [{ ...msg, type: "track" }] }))).toMatchObject({ accepted: 0, duplicates: 1 });
		await flush(t.id);
		expect(await stats(t.readKey)).toMatchObject({ received: 3, accepted: 1, duplicates: 2 });
	});

	it("enforces Segment's size limits: 32 KB per call, 500 KB per batch", async () => {
		const t = await makeTenant("seg-limits");
		const big = { userId: "u", event: "Big", properties: { blob: "x".repeat(33 * 1024) } };
		const single = await seg("track", t.ingestKey, big);
		expect(single.status).toBe(413);
		const batch = await seg("batch", t.ingestKey, { batch: Array.from({ length: 20 }, (_, i) => ({ ...big, type: "track", messageId: `m${i}`, properties: { blob: "y".repeat(30 * 1024) } })) });
		expect(batch.status).toBe(413);
		expect((await json(batch)).error).toMatchObject({ code: "payload_too_large", details: { limit_bytes: 500 * 1024 } });
		const mixed = await json(await seg("batch", t.ingestKey, { batch: [{ ...big, type: "track" }, { type: "track", userId: "u", event: "Small" }] }));
		expect(mixed).toMatchObject({ accepted: 1, rejected: 1, errors: [{ index: 0, code: "event_too_large" }] });
	});

	it("takes batches of any count within 500 KB (SDK flushAt has no cap) and flushes them to D1", async () => {
		const t = await makeTenant("seg-count");
		const batch = Array.from({ length: 7500 }, (_, i) => ({ type: "track", userId: "u", event: "e", messageId: `k${i}` }));
		const body = JSON.stringify({ batch });
		expect(body.length).toBeLessThan(500 * 1024);
		const res = await call("/v1/batch", { method: "POST", headers: { authorization: basic(t.ingestKey), "content-type": "application/json" }, body });
		expect(await json(res)).toMatchObject({ accepted: 7500, rejected: 0 });
		// Enriched, 7,500 events outgrow one D1 value (2 MB): the hub splits them into rows that fit.
		const rows = await runInDurableObject(hub(t.id), (_i, state) =>
			state.storage.sql.exec<{ n: number; bytes: number }>("SELECT n, length(body) AS bytes FROM buffer").toArray(),
		);
		expect(rows.length).toBeGreaterThan(2);
		expect(rows.reduce((a, r) => a + r.n, 0)).toBe(7500);
		expect(Math.max(...rows.map((r) => r.bytes))).toBeLessThan(900_000);
		await flush(t.id);
		const n = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ?").bind(t.id).first<{ n: number }>();
		expect(n!.n).toBe(7500);
		expect(await stats(t.readKey)).toMatchObject({ accepted: 7500, flushed: 7500, last_flush_error: null });
	});

	it("refuses a malformed batch envelope and NDJSON on Segment paths", async () => {
		const t = await makeTenant("seg-envelope");
		const res = await seg("batch", t.ingestKey, { messages: [] });
		expect(res.status).toBe(400);
		expect((await json(res)).error.code).toBe("invalid_batch");
		const nd = await call("/v1/track", { method: "POST", headers: { authorization: basic(t.ingestKey), "content-type": "application/x-ndjson" }, body: "{}" });
		expect(nd.status).toBe(415);
	});
});
