import { Hono } from "hono";
import { requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { jsonBody, queryParams } from "../lib/http";
import { notifyDeps } from "../notify/deliver";
import { allowPrivateDestinations, checkDestinationUrls, type Destination } from "../notify/destinations";
import { newId } from "../notify/ids";
import { deliveryFilters, listDeliveries, requireSigningSecret } from "../notify/routes";
import { isValidTimeZone } from "../query/time";
import { invalidField } from "../reports/model";
import { nextRunAt } from "../schedules/calendar";
import { cadenceOf, checkCadence, createSchedule, SCHEDULE_LIMITS, type ScheduleRow, scheduleJson, updateSchedule } from "../schedules/model";
import { runSchedule } from "../schedules/run";

const readKey = requireKey("read", "admin");
const SCHEDULE_SQL = "SELECT * FROM schedules WHERE id = ?1 AND tenant_id = ?2";
const notFound = (id: string) => new ApiError(404, "not_found", `No schedule '${id}'.`, { schedule: id });

// NOTE: D1 has no interactive transactions: the insert holds the tenant's limit in its WHERE.
const INSERT_SQL = `INSERT INTO schedules (id, tenant_id, name, target_kind, target_id, frequency, hour, minute, weekday, month_day, timezone, format, destinations, enabled, next_run_at, origin, created_at, updated_at)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17 WHERE (SELECT count(*) FROM schedules WHERE tenant_id = ?2) < ?18 RETURNING *`;

/** Scheduled reports (`/v1/schedules`): a saved report or board sent as a file on a calendar. */
export const scheduleRoutes = new Hono<AppEnv>()
	.post("/schedules", readKey, async (c) => {
		const body = await jsonBody(c, createSchedule);
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		if ((body.report_id === undefined) === (body.board_id === undefined))
			throw invalidField(body.report_id ? "board_id" : "report_id", body.report_id ? "give report_id or board_id, not both" : "give the report_id or the board_id to send");
		const kind = body.report_id ? ("report" as const) : ("board" as const);
		const targetId = (body.report_id ?? body.board_id)!;
		const [target, tenant] = await db.batch([
			db.prepare(`SELECT id FROM ${kind === "report" ? "reports" : "boards"} WHERE id = ?1 AND tenant_id = ?2`).bind(targetId, tenantId),
			db.prepare("SELECT timezone FROM tenants WHERE id = ?1").bind(tenantId),
		]);
		if (!target!.results.length) throw invalidField(`${kind}_id`, `no ${kind} '${targetId}' (the tenant's own ${kind}s only)`);
		const timezone = body.timezone ?? (tenant!.results[0] as { timezone: string } | undefined)?.timezone ?? "UTC";
		if (!isValidTimeZone(timezone)) throw invalidField("timezone", `'${timezone}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`);
		checkCadence({ ...body, target_kind: kind });
		checkDestinationUrls(body.destinations, allowPrivateDestinations(c.env));
		await requireSigningSecret(db, tenantId, body.destinations);
		const now = Date.now();
		const cadence = { frequency: body.frequency, hour: body.hour, minute: body.minute, weekday: body.weekday ?? null, month_day: body.month_day ?? null, timezone };
		const row = await db
			.prepare(INSERT_SQL)
			.bind(newId("sch"), tenantId, body.name, kind, targetId, body.frequency, body.hour, body.minute, cadence.weekday, cadence.month_day, timezone, body.format, JSON.stringify(body.destinations), body.enabled ? 1 : 0, nextRunAt(cadence, now), new URL(c.req.url).origin, now, SCHEDULE_LIMITS.perTenant)
			.first<ScheduleRow>();
		if (!row) throw new ApiError(409, "limit_reached", `A tenant has at most ${SCHEDULE_LIMITS.perTenant} schedules; delete one first.`, { resource: "schedules", limit: SCHEDULE_LIMITS.perTenant });
		return c.json(scheduleJson(row), 201);
	})
	.get("/schedules", readKey, async (c) => {
		const { results } = await c.env.DB.prepare("SELECT * FROM schedules WHERE tenant_id = ?1 ORDER BY created_at DESC, id").bind(c.get("auth").tenantId).all<ScheduleRow>();
		return c.json({ schedules: results.map(scheduleJson) });
	})
	.get("/schedules/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const row = await c.env.DB.prepare(SCHEDULE_SQL).bind(id, c.get("auth").tenantId).first<ScheduleRow>();
		if (!row) throw notFound(id);
		return c.json(scheduleJson(row));
	})
	.patch("/schedules/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, updateSchedule);
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		const old = await db.prepare(SCHEDULE_SQL).bind(id, tenantId).first<ScheduleRow>();
		if (!old) throw notFound(id);
		const frequency = body.frequency ?? old.frequency;
		// A change of frequency drops the other frequency's day unless it is given again.
		const weekday = body.weekday !== undefined ? body.weekday : frequency === "weekly" ? old.weekday : null;
		const month_day = body.month_day !== undefined ? body.month_day : frequency === "monthly" ? old.month_day : null;
		const merged: ScheduleRow = {
			...old,
			name: body.name ?? old.name,
			frequency,
			hour: body.hour ?? old.hour,
			minute: body.minute ?? old.minute,
			weekday,
			month_day,
			timezone: body.timezone ?? old.timezone,
			format: body.format ?? old.format,
			destinations: body.destinations ? JSON.stringify(body.destinations) : old.destinations,
			enabled: body.enabled === undefined ? old.enabled : body.enabled ? 1 : 0,
		};
		if (!isValidTimeZone(merged.timezone)) throw invalidField("timezone", `'${merged.timezone}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`);
		checkCadence(merged);
		const dests = JSON.parse(merged.destinations) as Destination[];
		if (body.destinations) {
			checkDestinationUrls(dests, allowPrivateDestinations(c.env));
			await requireSigningSecret(db, tenantId, dests);
		}
		const now = Date.now();
		// The next run follows the (new) calendar from now; a schedule switched back on does not catch up what it missed while off.
		const next = nextRunAt(cadenceOf(merged), now);
		const row = await db
			.prepare(
				`UPDATE schedules SET name = ?3, frequency = ?4, hour = ?5, minute = ?6, weekday = ?7, month_day = ?8, timezone = ?9, format = ?10, destinations = ?11,
				enabled = ?12, next_run_at = ?13, origin = ?14, updated_at = ?15 WHERE id = ?1 AND tenant_id = ?2 AND updated_at = ?16 RETURNING *`,
			)
			.bind(id, tenantId, merged.name, frequency, merged.hour, merged.minute, weekday, month_day, merged.timezone, merged.format, merged.destinations, merged.enabled, next, new URL(c.req.url).origin, now, old.updated_at)
			.first<ScheduleRow>();
		if (!row) throw new ApiError(409, "conflict", `Schedule '${id}' changed while it was being updated; read it again and retry.`, { schedule: id });
		return c.json(scheduleJson(row));
	})
	.delete("/schedules/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const row = await c.env.DB.prepare("DELETE FROM schedules WHERE id = ?1 AND tenant_id = ?2 RETURNING id").bind(id, c.get("auth").tenantId).first();
		if (!row) throw notFound(id);
		return c.json({ id, deleted: true });
	})
	.post("/schedules/:id/run", readKey, async (c) => {
		// Runs it now, as the cron would at its time; its calendar does not move.
		const id = c.req.param("id");
		const row = await c.env.DB.prepare(SCHEDULE_SQL).bind(id, c.get("auth").tenantId).first<ScheduleRow>();
		if (!row) throw notFound(id);
		if (!row.enabled) throw new ApiError(409, "schedule_disabled", `Schedule '${id}' is disabled; enable it first.`, { schedule: id });
		const result = await runSchedule(c.env, notifyDeps(c.env), row, Date.now());
		if (!result.ran) throw new ApiError(409, "conflict", `Schedule '${id}' is running right now; retry in a minute.`, { schedule: id });
		const { deliveries } = await listDeliveries(c.env.DB, row.tenant_id, { source_kind: "schedule", source_id: id, limit: Math.max(1, result.deliveries) });
		return c.json({ schedule: id, export_id: result.export_id, error: result.error ?? null, deliveries }, 202);
	})
	.get("/schedules/:id/deliveries", readKey, async (c) => {
		const id = c.req.param("id");
		const f = queryParams(c, deliveryFilters.omit({ source_kind: true, source_id: true }));
		const { tenantId } = c.get("auth");
		const row = await c.env.DB.prepare("SELECT id FROM schedules WHERE id = ?1 AND tenant_id = ?2").bind(id, tenantId).first();
		if (!row) throw notFound(id);
		return c.json(await listDeliveries(c.env.DB, tenantId, { ...f, source_kind: "schedule", source_id: id }));
	});
