import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { authorize, generateKey, hashKey, keyFromHeaders, keyPrefix } from "../auth/keys";
import { apiKeys, KEY_SCOPES, tenants } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hubOf, jsonBody } from "../lib/http";
import { type PairDef, pairsSchema } from "../query/pairs";
import { isValidTimeZone } from "../query/time";
import { runRollups } from "../rollup/run";
import { applyPreset } from "./presets";

type AdminEnv = AppEnv & { Variables: { admin: { global: true } | { global: false; tenantId: string } } };

/** Constant-time comparison of two secrets (compare their hashes, so lengths leak nothing). */
async function sameSecret(a: string, b: string): Promise<boolean> {
	const [x, y] = await Promise.all([hashKey(a), hashKey(b)]);
	let diff = 0;
	for (let i = 0; i < x.length; i++) diff |= x.charCodeAt(i) ^ y.charCodeAt(i);
	return diff === 0;
}

/** Whether the request carries the operator's admin token (not a tenant key). */
export async function hasAdminToken(req: Request, token: string | undefined): Promise<boolean> {
	const presented = keyFromHeaders(req);
	return !!presented && !!token && (await sameSecret(presented, token));
}

/** The admin token (all tenants) or a tenant's own `admin`-scoped key (that tenant only). */
const requireAdmin: MiddlewareHandler<AdminEnv> = async (c, next) => {
	const presented = keyFromHeaders(c.req.raw);
	if (await hasAdminToken(c.req.raw, c.env.ADMIN_TOKEN)) c.set("admin", { global: true });
	else {
		const auth = await authorize(c.env.DB, presented, ["admin"]);
		c.set("admin", { global: false, tenantId: auth.tenantId });
	}
	await next();
};

const origin = z
	.string()
	.regex(/^https?:\/\/[^/\s]+$/, "must be an origin like https://app.example.com (scheme and host, no path)");

const propName = z.string().regex(/^[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99}$/, "must be a property name of 1-100 letters, digits, '_', '$', '.', '-' or spaces");
const uniqueList = (max: number, what: string) =>
	z
		.array(propName)
		.max(max, `at most ${max} ${what}`)
		.refine((a) => new Set(a).size === a.length, "list each property once");

/** The API's tenant fields as `tenants` columns (create and update; undefined leaves a column as it is). */
type TenantFieldsIn = {
	name?: string;
	timezone?: string;
	retention_days?: number;
	rate_limit_eps?: number;
	dimension_props?: string[];
	metric_props?: string[];
	unique_props?: string[];
	pairs?: PairDef[];
	export_days?: number;
};
function tenantColumns<T extends TenantFieldsIn>(b: T) {
	return {
		name: b.name as T["name"],
		timezone: b.timezone as T["timezone"],
		retentionDays: b.retention_days as T["retention_days"],
		rateLimitEps: b.rate_limit_eps as T["rate_limit_eps"],
		dimensionProps: b.dimension_props as T["dimension_props"],
		metricProps: b.metric_props as T["metric_props"],
		uniqueProps: b.unique_props as T["unique_props"],
		pairs: b.pairs as T["pairs"],
		exportDays: b.export_days as T["export_days"],
	};
}

const tenantFields = {
	name: z.string().trim().min(1).max(200),
	/** String properties rolled up as dimensions (prop:<name> breakdowns from rollups). */
	dimension_props: uniqueList(5, "dimension properties"),
	/** Numeric properties rolled up with sum/min/max and a quantile sketch. */
	metric_props: uniqueList(10, "metric properties"),
	/** Properties whose distinct values are sketched in rollups (uniques:prop:<name>). */
	unique_props: uniqueList(5, "unique properties"),
	/** Paired events whose durations are kept per key (avg:pair:<name>, open:<name>). */
	pairs: pairsSchema,
	/** Days an export's file is kept in R2. */
	export_days: z.number().int().min(1).max(365),
	timezone: z.string().refine(isValidTimeZone, "must be an IANA time zone such as Europe/Paris"),
	retention_days: z.number().int().min(1).max(3650),
	rate_limit_eps: z.number().int().min(1).max(10_000_000),
};
const createTenant = z
	.object({
		id: z
			.string()
			.regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 characters of a-z, 0-9, '_' or '-', starting with a letter or digit")
			.optional(),
		...tenantFields,
		timezone: tenantFields.timezone.default("UTC"),
		retention_days: tenantFields.retention_days.default(90),
		rate_limit_eps: tenantFields.rate_limit_eps.default(100_000),
		dimension_props: tenantFields.dimension_props.default([]),
		metric_props: tenantFields.metric_props.default([]),
		unique_props: tenantFields.unique_props.default([]),
		pairs: tenantFields.pairs.default([]),
		export_days: tenantFields.export_days.default(7),
	})
	.strict();
const nonEmpty = (o: object) => Object.keys(o).length > 0;
const updateTenant = z.object(tenantFields).partial().strict().refine(nonEmpty, `send at least one of ${Object.keys(tenantFields).join(", ")}`);
const createKey = z
	.object({
		scope: z.enum(KEY_SCOPES, { error: `must be one of ${KEY_SCOPES.join(", ")}` }),
		name: z.string().max(200).default(""),
		allowed_origins: z.array(origin).max(50).nullable().default(null),
	})
	.strict();
const updateKey = z
	.object({ name: z.string().max(200), allowed_origins: z.array(origin).max(50).nullable() })
	.partial()
	.strict()
	.refine(nonEmpty, "send at least one of name, allowed_origins");

/** Request bodies, for typed clients (the dashboard's settings). */
export type CreateKeyInput = z.input<typeof createKey>;
export type UpdateTenantInput = z.input<typeof updateTenant>;

type TenantRow = typeof tenants.$inferSelect;
type KeyRow = typeof apiKeys.$inferSelect;

const tenantJson = (t: TenantRow) => ({
	id: t.id,
	name: t.name,
	timezone: t.timezone,
	retention_days: t.retentionDays,
	rate_limit_eps: t.rateLimitEps,
	dimension_props: t.dimensionProps,
	metric_props: t.metricProps,
	unique_props: t.uniqueProps,
	pairs: t.pairs,
	export_days: t.exportDays,
	created_at: new Date(t.createdAt).toISOString(),
});
const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());
const keyJson = (k: KeyRow) => ({
	id: k.id,
	tenant_id: k.tenantId,
	name: k.name,
	prefix: k.prefix,
	scope: k.scope,
	allowed_origins: k.allowedOrigins ?? null,
	created_at: iso(k.createdAt),
	last_used_at: iso(k.lastUsedAt),
	revoked_at: iso(k.revokedAt),
});

const notFound = (what: string, id: string) => new ApiError(404, "not_found", `No ${what} '${id}'.`, { [what]: id });

/** Admin API: tenants and their keys. */
export const adminRoutes = new Hono<AdminEnv>()
	.use("*", requireAdmin)
	// One bounded rollup pass, the cron's own code: for operators, scripts and benchmarks.
	.post("/rollups/run", async (c) => {
		if (!c.get("admin").global) throw new ApiError(403, "forbidden", "Running rollups needs the admin token.");
		return c.json(await runRollups(c.env, { trigger: "admin" }));
	})
	.use("/tenants/:id/*", async (c, next) => {
		const admin = c.get("admin");
		// A tenant admin key manages its own tenant only; answer 404 so other tenants stay invisible.
		if (!admin.global && admin.tenantId !== c.req.param("id")) throw notFound("tenant", c.req.param("id") ?? "");
		await next();
	})
	.post("/tenants", async (c) => {
		if (!c.get("admin").global) throw new ApiError(403, "forbidden", "Creating tenants needs the admin token.");
		const body = await jsonBody(c, createTenant);
		const row: TenantRow = {
			id: body.id ?? crypto.randomUUID().slice(0, 8),
			...tenantColumns(body),
			createdAt: Date.now(),
		};
		const db = drizzle(c.env.DB);
		const inserted = await db.insert(tenants).values(row).onConflictDoNothing().returning().get();
		if (!inserted) throw new ApiError(409, "conflict", `Tenant '${row.id}' already exists.`, { id: row.id });
		return c.json(tenantJson(inserted), 201);
	})
	.get("/tenants", async (c) => {
		const admin = c.get("admin");
		const db = drizzle(c.env.DB);
		const rows = admin.global ? await db.select().from(tenants).orderBy(tenants.id).all() : await db.select().from(tenants).where(eq(tenants.id, admin.tenantId)).all();
		return c.json({ tenants: rows.map(tenantJson) });
	})
	.get("/tenants/:id", async (c) => {
		const row = await drizzle(c.env.DB).select().from(tenants).where(eq(tenants.id, c.req.param("id"))).get();
		if (!row) throw notFound("tenant", c.req.param("id"));
		return c.json(tenantJson(row));
	})
	.patch("/tenants/:id", async (c) => {
		const body = await jsonBody(c, updateTenant);
		const id = c.req.param("id");
		// Limits are the operator's: a tenant's own admin key may rename it or change its time zone.
		if (!c.get("admin").global && (body.rate_limit_eps !== undefined || body.retention_days !== undefined))
			throw new ApiError(403, "forbidden", "rate_limit_eps and retention_days can only be changed with the admin token.", {
				fields: ["rate_limit_eps", "retention_days"].filter((f) => f in body),
			});
		const row = await drizzle(c.env.DB)
			.update(tenants)
			.set(tenantColumns(body))
			.where(eq(tenants.id, id))
			.returning()
			.get();
		if (!row) throw notFound("tenant", id);
		await hubOf(c.env, id).tenantChanged();
		return c.json(tenantJson(row));
	})
	// A preset board for a tenant (see POST /v1/boards/presets/:preset): the operator's token may apply it too.
	.post("/tenants/:id/presets/:preset", async (c) => {
		const id = c.req.param("id");
		if (!(await drizzle(c.env.DB).select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).get())) throw notFound("tenant", id);
		const { status, body } = await applyPreset(c.env.DB, id, c.req.param("preset"));
		return c.json(body, status);
	})
	.post("/tenants/:id/keys", async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, createKey);
		const db = drizzle(c.env.DB);
		const tenant = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).get();
		if (!tenant) throw notFound("tenant", id);
		const key = generateKey(body.scope);
		const row = await db
			.insert(apiKeys)
			.values({
				id: `key_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
				tenantId: id,
				name: body.name,
				hash: await hashKey(key),
				prefix: keyPrefix(key),
				scope: body.scope,
				allowedOrigins: body.allowed_origins,
				createdAt: Date.now(),
			})
			.returning()
			.get();
		// The full key is shown once, here; only its hash is stored.
		return c.json({ ...keyJson(row), key }, 201);
	})
	.get("/tenants/:id/keys", async (c) => {
		const id = c.req.param("id");
		const db = drizzle(c.env.DB);
		if (!(await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).get())) throw notFound("tenant", id);
		const rows = await db.select().from(apiKeys).where(eq(apiKeys.tenantId, id)).orderBy(desc(apiKeys.createdAt)).all();
		return c.json({ keys: rows.map(keyJson) });
	})
	.patch("/tenants/:id/keys/:keyId", async (c) => {
		const body = await jsonBody(c, updateKey);
		const { id, keyId } = c.req.param();
		const row = await drizzle(c.env.DB)
			.update(apiKeys)
			.set({ name: body.name, allowedOrigins: body.allowed_origins })
			.where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, id)))
			.returning()
			.get();
		if (!row) throw notFound("key", keyId);
		await hubOf(c.env, id).forgetKey(row.hash);
		return c.json(keyJson(row));
	})
	.delete("/tenants/:id/keys/:keyId", async (c) => {
		const { id, keyId } = c.req.param();
		const db = drizzle(c.env.DB);
		const existing = await db.select().from(apiKeys).where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, id))).get();
		if (!existing) throw notFound("key", keyId);
		const row = existing.revokedAt != null ? existing : await db.update(apiKeys).set({ revokedAt: Date.now() }).where(eq(apiKeys.id, keyId)).returning().get();
		// Tell the hub before answering: from this response on, the key is refused everywhere.
		await hubOf(c.env, id).revokeKey(existing.hash);
		return c.json(keyJson(row ?? existing));
	});
