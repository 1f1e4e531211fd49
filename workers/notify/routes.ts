import { Hono } from "hono";
import { z } from "zod";
import { requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { jsonBody, queryParams } from "../lib/http";
import type { DeliveryRow, Payload } from "./deliver";
import { iso } from "./ids";
import { rotateSecret, type SecretRow, secretJson, VALID_SECRETS_SQL } from "./secrets";

const readKey = requireKey("read", "admin");
const adminKey = requireKey("admin");

export const deliveryJson = (r: DeliveryRow) => {
	let kind: string | null = null;
	try {
		kind = (JSON.parse(r.payload) as Payload).event.type;
	} catch {}
	return {
		id: r.id,
		source_kind: r.source_kind,
		source_id: r.source_id,
		event: kind,
		channel: r.channel,
		target: r.target,
		status: r.status,
		attempts: r.attempts,
		next_attempt_at: r.status === "pending" ? iso(r.next_attempt_at) : null,
		response_status: r.response_status,
		error: r.error,
		export_id: r.export_id,
		created_at: iso(r.created_at)!,
		updated_at: iso(r.updated_at)!,
	};
};

export const deliveryFilters = z
	.object({
		source_kind: z.enum(["schedule", "alert"], { error: "must be schedule or alert" }).optional(),
		source_id: z.string().max(64).optional(),
		status: z.enum(["pending", "sent", "failed"], { error: "must be pending, sent or failed" }).optional(),
		channel: z.enum(["email", "slack", "webhook"], { error: "must be email, slack or webhook" }).optional(),
		limit: z.coerce.number({ error: "must be a whole number, 1-200" }).int("must be a whole number, 1-200").min(1, "at least 1").max(200, "at most 200").default(50),
		cursor: z.string().regex(/^\d{1,16}\.[a-z]{3}_[a-z2-9]{16}$/, "must be the next_cursor of the previous page").optional(),
	})
	.strict();

/** A tenant's delivery log, newest first, one page; `next_cursor` continues it. */
export async function listDeliveries(db: D1Database, tenantId: string, f: z.infer<typeof deliveryFilters>) {
	const [at, id] = f.cursor ? [Number(f.cursor.slice(0, f.cursor.indexOf("."))), f.cursor.slice(f.cursor.indexOf(".") + 1)] : [null, null];
	const { results } = await db
		.prepare(
			`SELECT * FROM deliveries WHERE tenant_id = ?1 AND (?2 IS NULL OR source_kind = ?2) AND (?3 IS NULL OR source_id = ?3)
			AND (?4 IS NULL OR status = ?4) AND (?5 IS NULL OR channel = ?5) AND (?6 IS NULL OR created_at < ?6 OR (created_at = ?6 AND id < ?7))
			ORDER BY created_at DESC, id DESC LIMIT ?8`,
		)
		.bind(tenantId, f.source_kind ?? null, f.source_id ?? null, f.status ?? null, f.channel ?? null, at, id, f.limit + 1)
		.all<DeliveryRow>();
	const page = results.slice(0, f.limit);
	const last = page[page.length - 1];
	return { deliveries: page.map(deliveryJson), next_cursor: results.length > f.limit && last ? `${last.created_at}.${last.id}` : null };
}

const rotate = z
	.object({
		previous_valid_hours: z
			.number({ error: "must be a number of hours, 0-168" })
			.min(0, "at least 0 (the previous secret stops at once)")
			.max(168, "at most 168 (7 days)")
			.default(24),
	})
	.strict();

/**
 * The tenant's webhook signing secrets (`/v1/webhook-secrets`) and its delivery log (`/v1/deliveries`).
 * A secret is shown once, when it is made; an admin key makes and revokes them.
 */
export const notifyRoutes = new Hono<AppEnv>()
	.get("/webhook-secrets", readKey, async (c) => {
		const { results } = await c.env.DB.prepare(VALID_SECRETS_SQL).bind(c.get("auth").tenantId, Date.now()).all<SecretRow>();
		return c.json({ secrets: results.map(secretJson) });
	})
	.post("/webhook-secrets", adminKey, async (c) => {
		const body = await jsonBody(c, rotate);
		return c.json(await rotateSecret(c.env, c.get("auth").tenantId, Math.round(body.previous_valid_hours * 3_600_000)), 201);
	})
	.delete("/webhook-secrets/:id", adminKey, async (c) => {
		const id = c.req.param("id");
		const row = await c.env.DB.prepare("DELETE FROM webhook_secrets WHERE id = ?1 AND tenant_id = ?2 RETURNING id").bind(id, c.get("auth").tenantId).first();
		if (!row) throw new ApiError(404, "not_found", `No webhook secret '${id}'.`, { webhook_secret: id });
		return c.json({ id, deleted: true });
	})
	.get("/deliveries", readKey, async (c) => {
		const f = queryParams(c, deliveryFilters);
		return c.json(await listDeliveries(c.env.DB, c.get("auth").tenantId, f));
	});

/** 409 unless the tenant can sign webhooks: a webhook destination is refused while it has no secret. */
export async function requireSigningSecret(db: D1Database, tenantId: string, list: { type: string }[]): Promise<void> {
	if (!list.some((d) => d.type === "webhook")) return;
	const row = await db.prepare("SELECT count(*) AS n FROM webhook_secrets WHERE tenant_id = ?1 AND (expires_at IS NULL OR expires_at > ?2)").bind(tenantId, Date.now()).first<{ n: number }>();
	if (!row?.n)
		throw new ApiError(409, "webhook_secret_required", "Webhooks are signed with the tenant's secret, and it has none yet: create it with POST /v1/webhook-secrets (an admin key; the secret is shown once) and give it to the receiver.", {});
}
