import { runDurableObjectAlarm } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";

// Same as .dev.vars, which wrangler would otherwise layer over the test bindings.
export const ADMIN = "ew_dev_admin";
export const BASE = "https://edgewise.test";

/** Sends a request through the real worker (routing, middleware, error handler). */
export function call(path: string, init: RequestInit & { key?: string; json?: unknown } = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	if (init.key) headers.set("authorization", `Bearer ${init.key}`);
	let body = init.body;
	if (init.json !== undefined) {
		body = JSON.stringify(init.json);
		if (!headers.has("content-type")) headers.set("content-type", "application/json");
	}
	return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers, body }));
}

export async function json<T = any>(res: Response): Promise<T> {
	return (await res.json()) as T;
}

/** Creates a tenant with an ingest key and a read key through the admin API. */
export async function makeTenant(id: string, extra: Record<string, unknown> = {}) {
	const t = await call("/v1/admin/tenants", { method: "POST", key: ADMIN, json: { id, name: `Tenant ${id}`, ...extra } });
	if (t.status !== 201) throw new Error(`tenant ${id}: ${t.status} ${await t.text()}`);
	const ingest = await json(await call(`/v1/admin/tenants/${id}/keys`, { method: "POST", key: ADMIN, json: { scope: "ingest" } }));
	const read = await json(await call(`/v1/admin/tenants/${id}/keys`, { method: "POST", key: ADMIN, json: { scope: "read" } }));
	return { id, ingestKey: ingest.key as string, ingestKeyId: ingest.id as string, readKey: read.key as string, readKeyId: read.id as string };
}

export const hub = (tenantId: string) => env.TENANT_HUB.get(env.TENANT_HUB.idFromName(tenantId));

/**
 * Runs the tenant hub's flush alarm until its buffer is empty. The real alarm may also be
 * running (it fires on its own), so wait on the hub's own count rather than on one alarm run.
 */
export async function flush(tenantId: string) {
	const until = Date.now() + 20_000;
	while (Date.now() < until) {
		await runDurableObjectAlarm(hub(tenantId));
		if ((await hub(tenantId).stats()).buffered === 0) return;
		await new Promise((r) => setTimeout(r, 20));
	}
	throw new Error(`hub of ${tenantId} did not drain its buffer`);
}

export async function stats(readKey: string) {
	return json(await call("/v1/ingest/stats", { key: readKey }));
}

export async function d1Count(tenantId: string, where = "1=1", ...binds: unknown[]) {
	const r = await env.DB.prepare(`SELECT count(*) AS n FROM events WHERE tenant_id = ? AND ${where}`)
		.bind(tenantId, ...binds)
		.first<{ n: number }>();
	return r!.n;
}

export const ev = (event: string, extra: Record<string, unknown> = {}) => ({ event, user_id: "u1", ...extra });

/** A tenant of makeTenant with a tenant admin key (`name` labels the key). */
export type AdminTenant = Awaited<ReturnType<typeof makeTenant>> & { adminKey: string };
export async function withAdminKey(t: Awaited<ReturnType<typeof makeTenant>>, name?: string): Promise<AdminTenant> {
	const k = await json(await call(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "admin", ...(name ? { name } : {}) } }));
	return { ...t, adminKey: k.key as string };
}

/** A request with a key (or none) and a JSON body (or none): the response, its status and its JSON. */
export async function send(method: string, path: string, key: string | undefined, body?: unknown) {
	const res = await call(path, { method, ...(key ? { key } : {}), ...(body === undefined ? {} : { json: body }) });
	return { res, status: res.status, body: await json(res) };
}

/** The field a 400 names: its first issue's path, which its message must start with. */
export function fieldOf(r: { status: number; body: any }): string {
	expect(r.status, JSON.stringify(r.body)).toBe(400);
	const path = r.body.error.details.issues[0].path as string;
	expect(r.body.error.message.startsWith(`${path}: `), r.body.error.message).toBe(true);
	return path;
}
