import { Hono } from "hono";
import { authorizeWith, keyFromHeaders, requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hubOf, parseJson } from "../lib/http";
import { answerQuery, TENANT_BY_KEY_SQL, type TenantRow } from "../query/answer";
import { answerBatch, readBatchJson } from "../query/batch";
import { runExperiment } from "../insights/experiment";
import { summarize } from "../insights/summary";
import { hasAdminToken } from "./admin";

const readKey = requireKey("read", "admin");

/** The body as JSON; an empty body is a 400 with an example (the query schema validates the rest). */
async function readJson(req: Request): Promise<unknown> {
	const text = await req.text();
	if (!text.trim()) throw new ApiError(400, "invalid_query", "body: send a JSON query object such as {\"metrics\":[\"count\"],\"date_range\":\"7d\"}", { field: "body" });
	return parseJson(text);
}

interface RunRow {
	trigger: string;
	started_at: number;
	duration_ms: number;
	report: string;
}

/** Status of rollups for one tenant: what is still waiting, and the last scheduled runs. */
export async function tenantStatus(env: AppEnv["Bindings"], tenantId: string, now = Date.now()) {
	const db = env.DB;
	const [cursor, runs, dirty, layout] = await db.batch([
		db.prepare("SELECT watermark, updated_at FROM rollup_cursor WHERE id = 'events'"),
		db.prepare("SELECT trigger, started_at, duration_ms, report FROM cron_runs ORDER BY id DESC LIMIT 10"),
		db.prepare("SELECT level, count(*) AS n, min(marked_at) AS oldest FROM rollup_dirty WHERE tenant_id = ?1 GROUP BY level").bind(tenantId),
		db.prepare("SELECT day_tz, align_minutes, config, archived_before, updated_at FROM rollup_tenants WHERE tenant_id = ?1").bind(tenantId),
	]);
	const c = cursor!.results[0] as { watermark: number; updated_at: number } | undefined;
	const watermark = c?.watermark ?? 0;
	const pending = await db
		.prepare("SELECT count(*) AS n, min(received_at) AS oldest FROM events WHERE rowid > ?1 AND tenant_id = ?2")
		.bind(watermark, tenantId)
		.first<{ n: number; oldest: number | null }>();
	const levels = dirty!.results as { level: string; n: number; oldest: number }[];
	const hours = levels.find((l) => l.level === "hour");
	const merged = levels.filter((l) => l.level !== "hour");
	const days = merged.length ? { n: merged.reduce((s, l) => s + l.n, 0), oldest: Math.min(...merged.map((l) => l.oldest)) } : undefined;
	const oldestWaiting = Math.min(pending?.oldest ?? Number.POSITIVE_INFINITY, hours?.oldest ?? Number.POSITIVE_INFINITY, days?.oldest ?? Number.POSITIVE_INFINITY);
	const l = layout!.results[0] as { day_tz: string; align_minutes: number; config: string; archived_before: number; updated_at: number } | undefined;
	const hub = await hubOf(env, tenantId).stats();
	const iso = (t: number | null | undefined) => (t ? new Date(t).toISOString() : null);
	return {
		tenant_id: tenantId,
		now: iso(now),
		rollups: {
			caught_up: (pending?.n ?? 0) === 0 && !hours && !days,
			lag_ms: Number.isFinite(oldestWaiting) ? Math.max(0, now - oldestWaiting) : 0,
			pending_events: pending?.n ?? 0,
			pending_hours: hours?.n ?? 0,
			pending_days: days?.n ?? 0,
			layout: l ? { day_tz: l.day_tz, align_minutes: l.align_minutes, ...(JSON.parse(l.config) as object), archived_before: iso(l.archived_before) } : null,
		},
		ingest: {
			buffered: hub.buffered,
			last_flush_at: hub.last_flush_at ?? null,
			last_flush_error: hub.last_flush_error,
			// Accepted events the database refused to store: in /v1/rejected with code storage_refused.
			storage_refused: hub.storage_refused,
			last_storage_refusal: hub.last_storage_refusal,
		},
		cron: {
			last_runs: (runs!.results as unknown as RunRow[]).map((r) => {
				const rep = JSON.parse(r.report) as { caught_up?: boolean; errors?: string[]; busy?: boolean };
				// Runs cover every tenant: only their timing and health are shown to a tenant.
				return { trigger: r.trigger, started_at: iso(r.started_at), duration_ms: r.duration_ms, busy: !!rep.busy, caught_up: !!rep.caught_up, ok: (rep.errors ?? []).length === 0 };
			}),
		},
	};
}

/** POST /v1/query and GET /v1/system/status (read key; the tenant always comes from the key). */
export const queryRoutes = new Hono<AppEnv>()
	.post("/query", async (c) => {
		// The key check and the tenant's settings in one D1 round trip (dashboards send several queries at once).
		const { auth, row } = await authorizeWith<TenantRow>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_BY_KEY_SQL);
		return c.json(await answerQuery(c.env.DB, auth.tenantId, await readJson(c.req.raw), row, Date.now(), () => hubOf(c.env, auth.tenantId).pendingSince()));
	})
	.post("/query/batch", async (c) => {
		// One key check for every query: the tenant comes from the key, never from a query.
		const { auth, row } = await authorizeWith<TenantRow>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_BY_KEY_SQL);
		return c.json(await answerBatch(c.env.DB, auth.tenantId, await readBatchJson(c.req.raw), row, Date.now(), () => hubOf(c.env, auth.tenantId).pendingSince()));
	})
	.post("/insights", async (c) => {
		const { auth, row } = await authorizeWith<TenantRow>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_BY_KEY_SQL);
		const text = await c.req.text();
		return c.json(await summarize(c.env.DB, auth.tenantId, text.trim() ? parseJson(text) : {}, row, Date.now(), () => hubOf(c.env, auth.tenantId).pendingSince()));
	})
	.post("/experiments", async (c) => {
		const { auth, row } = await authorizeWith<TenantRow>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_BY_KEY_SQL);
		const text = await c.req.text();
		if (!text.trim())
			throw new ApiError(400, "invalid_experiment", 'body: send an experiment such as {"exposure":{"event":"experiment_viewed","variant":"prop:variant"},"goal":{"event":"purchase"},"date_range":"30d"}', { field: "body" });
		return c.json(await runExperiment(c.env.DB, auth.tenantId, parseJson(text), row?.timezone ?? "UTC", Date.now()));
	})
	.get("/system/status", async (c, next) => {
		// The operator's admin token sees any tenant (?tenant=) with full cron reports.
		if (!(await hasAdminToken(c.req.raw, c.env.ADMIN_TOKEN))) return readKey(c, next);
		const tenant = c.req.query("tenant");
		if (!tenant) throw new ApiError(400, "invalid_query", "tenant: with the admin token, name the tenant: /v1/system/status?tenant=<id>", { field: "tenant" });
		const exists = await c.env.DB.prepare("SELECT 1 FROM tenants WHERE id = ?1").bind(tenant).first();
		if (!exists) throw new ApiError(404, "not_found", `No tenant '${tenant}'.`, { tenant });
		const status = await tenantStatus(c.env, tenant);
		const { results } = await c.env.DB.prepare("SELECT report FROM cron_runs ORDER BY id DESC LIMIT 10").all<{ report: string }>();
		return c.json({ ...status, cron: { ...status.cron, reports: results.map((r) => JSON.parse(r.report) as unknown) } });
	})
	.get("/system/status", async (c) => c.json(await tenantStatus(c.env, c.get("auth").tenantId)));
