import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, call, d1Count, ev, flush, json, makeTenant, stats } from "../helpers";

describe("tenant isolation", () => {
	it("a key of tenant A never writes to or reads from tenant B", async () => {
		const a = await makeTenant("iso-a");
		const b = await makeTenant("iso-b");
		// Body fields cannot redirect a write: there is no tenant field, and unknown fields are refused.
		const sneaky = await call("/v1/events", { method: "POST", key: a.ingestKey, json: { ...ev("x"), tenant_id: b.id } });
		expect(sneaky.status).toBe(400);
		await call("/v1/events", { method: "POST", key: a.ingestKey, json: { events: [ev("a1"), ev("a2"), { event: "bad" }] } });
		await call("/v1/batch", { method: "POST", key: a.ingestKey, json: { writeKey: b.ingestKey, batch: [{ type: "track", userId: "u", event: "seg" }] } });
		await flush(a.id);
		await flush(b.id);
		expect(await d1Count(a.id)).toBe(3);
		expect(await d1Count(b.id)).toBe(0);
		// The header key wins over a body writeKey, so the batch went to A.
		expect(await d1Count(a.id, "event = 'seg'")).toBe(1);
		expect(await stats(b.readKey)).toMatchObject({ tenant_id: b.id, received: 0 });
		expect(await stats(a.readKey)).toMatchObject({ tenant_id: a.id, accepted: 3, rejected: 2 });
		const rejectedB = await json(await call("/v1/rejected", { key: b.readKey }));
		expect(rejectedB.rejected).toEqual([]);
		const rejectedA = await json(await call("/v1/rejected", { key: a.readKey }));
		expect(rejectedA.rejected.length).toBe(2);
		// A's read key cannot read B's keys via the admin API, nor can A's ingest key read stats.
		expect((await call(`/v1/admin/tenants/${b.id}/keys`, { key: a.readKey })).status).toBe(403);
		expect((await call("/v1/ingest/stats", { key: a.ingestKey })).status).toBe(403);
		// Every row of B's hub buffer/flush markers belongs to B only.
		const markers = await env.DB.prepare("SELECT tenant_id FROM hub_flushes WHERE tenant_id IN (?, ?)").bind(a.id, b.id).all<{ tenant_id: string }>();
		expect(markers.results.map((r) => r.tenant_id)).toEqual([a.id]);
	});

	it("revoking tenant A's key leaves tenant B's keys working", async () => {
		const a = await makeTenant("iso-rev-a");
		const b = await makeTenant("iso-rev-b");
		await call(`/v1/admin/tenants/${a.id}/keys/${a.ingestKeyId}`, { method: "DELETE", key: ADMIN });
		expect((await call("/v1/events", { method: "POST", key: a.ingestKey, json: ev("x") })).status).toBe(401);
		expect((await call("/v1/events", { method: "POST", key: b.ingestKey, json: ev("x") })).status).toBe(200);
	});
});
