import { Hono } from "hono";
import { z } from "zod";
import { requireKey } from "../auth/keys";
import { alertJson, ALERT_LIMITS, type AlertQuery, type AlertRow, checkAlertQuery, checkSeasonalWindow, createAlert, updateAlert } from "../alerts/model";
import { alertContext, alertEvent, metricName, valueOver } from "../alerts/run";
import { windowAt } from "../alerts/evaluate";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hubOf, jsonBody, queryParams } from "../lib/http";
import { deliverOne, notifyDeps, queueDeliveries } from "../notify/deliver";
import { allowPrivateDestinations, checkDestinationUrls, type Destination } from "../notify/destinations";
import { iso, newId } from "../notify/ids";
import type { ConditionJson } from "../notify/render";
import { deliveryFilters, listDeliveries, notifyRoutes, requireSigningSecret } from "../notify/routes";
import { TENANT_BY_ID_SQL, type TenantRow } from "../query/answer";
import { scheduleRoutes } from "./schedules";

const readKey = requireKey("read", "admin");
const ALERT_SQL = "SELECT * FROM alerts WHERE id = ?1 AND tenant_id = ?2";
const notFound = (id: string) => new ApiError(404, "not_found", `No alert '${id}'.`, { alert: id });

const INSERT_SQL = `INSERT INTO alerts (id, tenant_id, name, query, window_minutes, condition, min_interval_minutes, destinations, state, enabled, origin, created_at, updated_at)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'ok', ?9, ?10, ?11, ?11 WHERE (SELECT count(*) FROM alerts WHERE tenant_id = ?2) < ?12 RETURNING *`;

const eventsPage = z
	.object({
		limit: z.coerce.number({ error: "must be a whole number, 1-200" }).int("must be a whole number, 1-200").min(1, "at least 1").max(200, "at most 200").default(50),
		before: z.coerce.number({ error: "must be the next_before of the previous page" }).int().positive().optional(),
	})
	.strict();

interface AlertEventRow {
	id: number;
	kind: "fired" | "resolved" | "test";
	value: number | null;
	details: string;
	at: number;
}

/**
 * Alert rules (`/v1/alerts`), their history and test notifications; mounted with them, scheduled
 * reports (`/v1/schedules`), the webhook signing secrets and the delivery log.
 */
export const alertRoutes = new Hono<AppEnv>()
	.post("/alerts", readKey, async (c) => {
		const body = await jsonBody(c, createAlert);
		checkAlertQuery(body.query);
		checkSeasonalWindow(body.condition, body.window_minutes);
		checkDestinationUrls(body.destinations, allowPrivateDestinations(c.env));
		const { tenantId } = c.get("auth");
		await requireSigningSecret(c.env.DB, tenantId, body.destinations);
		const now = Date.now();
		const row = await c.env.DB.prepare(INSERT_SQL)
			.bind(newId("alr"), tenantId, body.name, JSON.stringify(body.query), body.window_minutes, JSON.stringify(body.condition), body.min_interval_minutes, JSON.stringify(body.destinations), body.enabled ? 1 : 0, new URL(c.req.url).origin, now, ALERT_LIMITS.perTenant)
			.first<AlertRow>();
		if (!row) throw new ApiError(409, "limit_reached", `A tenant has at most ${ALERT_LIMITS.perTenant} alerts; delete one first.`, { resource: "alerts", limit: ALERT_LIMITS.perTenant });
		return c.json(alertJson(row), 201);
	})
	.get("/alerts", readKey, async (c) => {
		const { results } = await c.env.DB.prepare("SELECT * FROM alerts WHERE tenant_id = ?1 ORDER BY created_at DESC, id").bind(c.get("auth").tenantId).all<AlertRow>();
		return c.json({ alerts: results.map(alertJson) });
	})
	.get("/alerts/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const row = await c.env.DB.prepare(ALERT_SQL).bind(id, c.get("auth").tenantId).first<AlertRow>();
		if (!row) throw notFound(id);
		return c.json(alertJson(row));
	})
	.patch("/alerts/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, updateAlert);
		if (body.query) checkAlertQuery(body.query);
		const { tenantId } = c.get("auth");
		if (body.condition || body.window_minutes) {
			const was = await c.env.DB.prepare(ALERT_SQL).bind(id, tenantId).first<AlertRow>();
			if (!was) throw notFound(id);
			checkSeasonalWindow(body.condition ?? (JSON.parse(was.condition) as ConditionJson), body.window_minutes ?? was.window_minutes, body.window_minutes ? "window_minutes" : "condition.method");
		}
		if (body.destinations) {
			checkDestinationUrls(body.destinations, allowPrivateDestinations(c.env));
			await requireSigningSecret(c.env.DB, tenantId, body.destinations);
		}
		const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
		// The state is kept: a firing rule whose condition changed resolves by the new condition.
		const row = await c.env.DB.prepare(
			`UPDATE alerts SET name = coalesce(?3, name), query = coalesce(?4, query), window_minutes = coalesce(?5, window_minutes), condition = coalesce(?6, condition),
			min_interval_minutes = coalesce(?7, min_interval_minutes), destinations = coalesce(?8, destinations), enabled = coalesce(?9, enabled), origin = ?10, updated_at = ?11
			WHERE id = ?1 AND tenant_id = ?2 RETURNING *`,
		)
			.bind(id, tenantId, body.name ?? null, json(body.query), body.window_minutes ?? null, json(body.condition), body.min_interval_minutes ?? null, json(body.destinations), body.enabled === undefined ? null : body.enabled ? 1 : 0, new URL(c.req.url).origin, Date.now())
			.first<AlertRow>();
		if (!row) throw notFound(id);
		return c.json(alertJson(row));
	})
	.delete("/alerts/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		const [deleted] = await db.batch([
			db.prepare("DELETE FROM alerts WHERE id = ?1 AND tenant_id = ?2 RETURNING id").bind(id, tenantId),
			db.prepare("DELETE FROM alert_events WHERE alert_id = ?1 AND tenant_id = ?2").bind(id, tenantId),
		]);
		if (!deleted!.results.length) throw notFound(id);
		return c.json({ id, deleted: true });
	})
	.get("/alerts/:id/events", readKey, async (c) => {
		const id = c.req.param("id");
		const page = queryParams(c, eventsPage);
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		const [alert, events] = await db.batch([
			db.prepare("SELECT id FROM alerts WHERE id = ?1 AND tenant_id = ?2").bind(id, tenantId),
			db.prepare("SELECT id, kind, value, details, at FROM alert_events WHERE tenant_id = ?1 AND alert_id = ?2 AND (?3 IS NULL OR id < ?3) ORDER BY id DESC LIMIT ?4").bind(tenantId, id, page.before ?? null, page.limit + 1),
		]);
		if (!alert!.results.length) throw notFound(id);
		const rows = events!.results as AlertEventRow[];
		const shown = rows.slice(0, page.limit);
		return c.json({
			events: shown.map((e) => ({ id: e.id, kind: e.kind, value: e.value, details: JSON.parse(e.details) as Record<string, unknown>, at: iso(e.at)! })),
			next_before: rows.length > page.limit ? shown[shown.length - 1]!.id : null,
		});
	})
	.get("/alerts/:id/deliveries", readKey, async (c) => {
		const id = c.req.param("id");
		const f = queryParams(c, deliveryFilters.omit({ source_kind: true, source_id: true }));
		const { tenantId } = c.get("auth");
		const row = await c.env.DB.prepare("SELECT id FROM alerts WHERE id = ?1 AND tenant_id = ?2").bind(id, tenantId).first();
		if (!row) throw notFound(id);
		return c.json(await listDeliveries(c.env.DB, tenantId, { ...f, source_kind: "alert", source_id: id }));
	})
	.post("/alerts/:id/test", readKey, async (c) => {
		// A test notification to every destination, sent now, with the metric's current value; the
		// rule's state is untouched. Each delivery is logged (and retried) like any other.
		const id = c.req.param("id");
		const { tenantId } = c.get("auth");
		const env = c.env;
		const row = await env.DB.prepare(ALERT_SQL).bind(id, tenantId).first<AlertRow>();
		if (!row) throw notFound(id);
		const now = Date.now();
		const q = JSON.parse(row.query) as AlertQuery;
		const tenant = await env.DB.prepare(TENANT_BY_ID_SQL).bind(tenantId).first<TenantRow>();
		let value: number | null = null;
		let error: string | null = null;
		try {
			const { from, to } = windowAt(now, row.window_minutes);
			value = await valueOver(env, tenantId, q, { ...alertContext(env, tenantId, tenant), pendingSince: () => hubOf(env, tenantId).pendingSince() }, from, to, now);
		} catch (err) {
			error = (err as Error)?.message ?? String(err);
		}
		const details = error ? { error } : {};
		const event = alertEvent(row, "alert.test", metricName(q), value, details, now);
		const dests = JSON.parse(row.destinations) as Destination[];
		const db = env.DB;
		const { statements, ids } = queueDeliveries(db, tenantId, { kind: "alert", id }, dests, event, now);
		await db.batch([
			db.prepare("INSERT INTO alert_events (tenant_id, alert_id, kind, value, details, at) VALUES (?1, ?2, 'test', ?3, ?4, ?5)").bind(tenantId, id, value, JSON.stringify(details), now),
			...statements,
		]);
		const deps = notifyDeps(env);
		await Promise.all(ids.map((d) => deliverOne(env, deps, d, now)));
		const { deliveries } = await listDeliveries(db, tenantId, { source_kind: "alert", source_id: id, limit: 200 });
		return c.json({ event, deliveries: deliveries.filter((d) => ids.includes(d.id)) });
	})
	.route("/", scheduleRoutes)
	.route("/", notifyRoutes);
