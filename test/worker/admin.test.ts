import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, call, json, makeTenant } from "../helpers";

const admin = (path: string, method = "GET", body?: unknown, key = ADMIN) => call(`/v1/admin${path}`, { method, key, json: body });

describe("admin API", () => {
	it("needs the admin token or a tenant admin key", async () => {
		expect((await call("/v1/admin/tenants")).status).toBe(401);
		expect((await admin("/tenants", "GET", undefined, "wrong")).status).toBe(401);
		const t = await makeTenant("adm-scope");
		const res = await admin("/tenants", "GET", undefined, t.readKey);
		expect(res.status).toBe(403);
		expect((await json(res)).error.code).toBe("forbidden");
	});

	it("creates, lists, shows and updates tenants with validation", async () => {
		const created = await admin("/tenants", "POST", { id: "adm-a", name: "Acme", timezone: "America/New_York", retention_days: 30 });
		expect(created.status).toBe(201);
		expect(await json(created)).toMatchObject({ id: "adm-a", name: "Acme", timezone: "America/New_York", retention_days: 30, rate_limit_eps: 100000 });
		expect((await admin("/tenants", "POST", { id: "adm-a", name: "Again" })).status).toBe(409);
		const listed = await json(await admin("/tenants"));
		expect(listed.tenants.map((t: { id: string }) => t.id)).toContain("adm-a");
		const patched = await json(await admin("/tenants/adm-a", "PATCH", { name: "Acme Inc", rate_limit_eps: 500 }));
		expect(patched).toMatchObject({ name: "Acme Inc", rate_limit_eps: 500, timezone: "America/New_York" });
		expect(await json(await admin("/tenants/adm-a"))).toMatchObject({ name: "Acme Inc" });
		expect((await admin("/tenants/nope")).status).toBe(404);
		expect((await admin("/tenants/nope/keys")).status).toBe(404);
	});

	it.each([
		[{ name: "x", timezone: "Mars/Olympus" }, "timezone"],
		[{ name: "" }, "name"],
		[{ id: "Bad Id!", name: "x" }, "id"],
		[{ name: "x", retention_days: 0 }, "retention_days"],
		[{ name: "x", colour: "red" }, ""],
	])("400 on invalid tenant %j naming %s", async (body, field) => {
		const res = await admin("/tenants", "POST", body);
		expect(res.status).toBe(400);
		const err = (await json(res)).error;
		expect(err.code).toBe("invalid_request");
		expect(err.details.issues[0].path).toBe(field);
	});

	it("400 on malformed JSON and on an empty update", async () => {
		const res = await call("/v1/admin/tenants", { method: "POST", key: ADMIN, headers: { "content-type": "application/json" }, body: "{nope" });
		expect((await json(res)).error.code).toBe("malformed_json");
		await makeTenant("adm-empty");
		expect((await admin("/tenants/adm-empty", "PATCH", {})).status).toBe(400);
	});

	it("shows a new key once, stores only its hash, lists without secrets, and revokes", async () => {
		const t = await makeTenant("adm-keys");
		const res = await admin(`/tenants/${t.id}/keys`, "POST", { scope: "ingest", name: "web", allowed_origins: ["https://a.example"] });
		expect(res.status).toBe(201);
		const key = await json(res);
		expect(key.key).toMatch(/^ew_ingest_[a-z2-9]{32}$/);
		expect(key.key.startsWith(key.prefix)).toBe(true);
		const stored = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(key.id).first<Record<string, string>>();
		expect(JSON.stringify(stored)).not.toContain(key.key);
		expect(stored!.hash).toMatch(/^[0-9a-f]{64}$/);
		const listed = await json(await admin(`/tenants/${t.id}/keys`));
		expect(listed.keys).toHaveLength(3);
		expect(JSON.stringify(listed)).not.toContain(key.key);
		expect(listed.keys.find((k: { id: string }) => k.id === key.id)).toMatchObject({ scope: "ingest", name: "web", allowed_origins: ["https://a.example"], revoked_at: null });
		const revoked = await json(await admin(`/tenants/${t.id}/keys/${key.id}`, "DELETE"));
		expect(revoked.revoked_at).not.toBeNull();
		expect((await admin(`/tenants/${t.id}/keys/key_missing`, "DELETE")).status).toBe(404);
		expect((await admin(`/tenants/${t.id}/keys`, "POST", { scope: "owner" })).status).toBe(400);
		expect((await admin(`/tenants/${t.id}/keys`, "POST", { scope: "ingest", allowed_origins: ["https://a.example/path"] })).status).toBe(400);
	});

	it("a revoked read key stops working at once", async () => {
		const t = await makeTenant("adm-revoke");
		// /v1/query checks the key in the same D1 round trip as it reads the tenant's settings: same rules.
		const q = () => call("/v1/query", { method: "POST", key: t.readKey, json: { metrics: ["count"], date_range: "7d" } });
		expect((await call("/v1/ingest/stats", { key: t.readKey })).status).toBe(200);
		expect((await q()).status).toBe(200);
		await admin(`/tenants/${t.id}/keys/${t.readKeyId}`, "DELETE");
		for (const res of [await call("/v1/ingest/stats", { key: t.readKey }), await q()]) {
			expect(res.status).toBe(401);
			expect((await json(res)).error.message).toContain("revoked");
		}
		const unknown = await call("/v1/query", { method: "POST", key: `${t.readKey}x`, json: { metrics: ["count"], date_range: "7d" } });
		expect(unknown.status).toBe(401);
		expect((await json(unknown)).error.message).toBe("Unknown API key.");
	});

	it("a tenant admin key manages only its own tenant", async () => {
		const a = await makeTenant("adm-own-a");
		await makeTenant("adm-own-b");
		const k = (await json(await admin(`/tenants/${a.id}/keys`, "POST", { scope: "admin" }))).key;
		expect((await admin(`/tenants/${a.id}/keys`, "GET", undefined, k)).status).toBe(200);
		expect((await admin(`/tenants/adm-own-b/keys`, "GET", undefined, k)).status).toBe(404);
		expect((await admin(`/tenants/adm-own-b`, "PATCH", { name: "pwned" }, k)).status).toBe(404);
		expect((await admin("/tenants", "POST", { name: "new" }, k)).status).toBe(403);
		expect(await json(await admin(`/tenants/${a.id}`, "PATCH", { timezone: "Asia/Tokyo" }, k))).toMatchObject({ timezone: "Asia/Tokyo" });
		const limit = await admin(`/tenants/${a.id}`, "PATCH", { rate_limit_eps: 10_000_000 }, k);
		expect(limit.status).toBe(403);
		expect((await json(limit)).error.details.fields).toEqual(["rate_limit_eps"]);
		const listed = await json(await admin("/tenants", "GET", undefined, k));
		expect(listed.tenants.map((t: { id: string }) => t.id)).toEqual([a.id]);
	});
});
