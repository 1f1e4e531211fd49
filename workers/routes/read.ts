import { and, desc, eq, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { z } from "zod";
import { requireKey } from "../auth/keys";
import { rejectedEvents } from "../db/schema";
import type { AppEnv } from "../env";
import { hubOf, queryParams } from "../lib/http";

const rejectedQuery = z
	.object({
		limit: z.coerce.number().int().min(1).max(1000).default(100),
		before: z.coerce.number().int().positive().optional(),
	})
	.strict();

const readKey = requireKey("read", "admin");

/**
 * Read endpoints about ingestion; the tenant always comes from the key.
 * NOTE: middleware is per route, not `use("*")`: this app is mounted at /v1 beside others.
 */
export const ingestReadRoutes = new Hono<AppEnv>()
	.get("/ingest/stats", readKey, async (c) => {
		const { tenantId } = c.get("auth");
		const stats = await hubOf(c.env, tenantId).stats();
		return c.json({ tenant_id: tenantId, ...stats });
	})
	.get("/rejected", readKey, async (c) => {
		const { tenantId } = c.get("auth");
		const q = queryParams(c, rejectedQuery);
		// Refusals wait in the tenant's hub for the flush delay: flush them first, so what was
		// just refused is listed (the first page only: later pages are older).
		if (!q.before) await hubOf(c.env, tenantId).flushRejections();
		const where = q.before ? and(eq(rejectedEvents.tenantId, tenantId), lt(rejectedEvents.id, q.before)) : eq(rejectedEvents.tenantId, tenantId);
		const rows = await drizzle(c.env.DB).select().from(rejectedEvents).where(where).orderBy(desc(rejectedEvents.id)).limit(q.limit).all();
		const last = rows[rows.length - 1];
		return c.json({
			rejected: rows.map((r) => ({
				id: r.id,
				received_at: new Date(r.receivedAt).toISOString(),
				code: r.code,
				message: r.message,
				details: JSON.parse(r.details) as unknown,
				payload: r.payload,
			})),
			next_before: rows.length === q.limit && last ? last.id : null,
		});
	});
