import { Hono } from "hono";
import { authorizeWith, keyFromHeaders, requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hubOf, jsonBody } from "../lib/http";
import { TENANT_BY_KEY_SQL, type TenantRow } from "../query/answer";
import { answerReport, checkChart, checkReport, reportContext } from "../reports/kinds";
import { createReport, LIMITS, limitReached, newId, notFound, type ReportRow, reportJson, updateReport } from "../reports/model";
import { boardRoutes } from "./boards";
import { presetRoutes } from "./presets";
import { sharedRoutes } from "./shared";

// Read and admin keys both manage reports and boards: the dashboard signs in with either.
const readKey = requireKey("read", "admin");

const REPORT_SQL = "SELECT * FROM reports WHERE id = ?1 AND tenant_id = ?2";

// NOTE: D1 has no interactive transactions. Each write below is one statement whose WHERE holds its
// precondition (the tenant's count under its limit; no board using the report), so two concurrent
// requests cannot both pass a check and then both write.
const INSERT_REPORT_SQL = `INSERT INTO reports (id, tenant_id, name, description, query, chart, created_at, updated_at, kind)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?9 WHERE (SELECT count(*) FROM reports WHERE tenant_id = ?2) < ?8`;
// The kind, query and chart are checked together (a chart must suit the kind, the query must be the
// kind's): the update holds only while the row is as it was read (?8, its updated_at).
const UPDATE_REPORT_SQL = `UPDATE reports SET name = coalesce(?3, name), description = coalesce(?4, description), query = coalesce(?5, query),
	chart = coalesce(?6, chart), kind = coalesce(?9, kind), updated_at = max(?7, updated_at + 1) WHERE id = ?1 AND tenant_id = ?2 AND (?8 IS NULL OR updated_at = ?8) RETURNING *`;
const BOARDS_USING_SQL = `SELECT DISTINCT b.id, b.name FROM boards b, json_each(b.layout) j
	WHERE b.tenant_id = ?2 AND json_extract(j.value, '$.report_id') = ?1 ORDER BY b.name, b.id`;
const DELETE_REPORT_SQL = `DELETE FROM reports WHERE id = ?1 AND tenant_id = ?2
	AND NOT EXISTS (SELECT 1 FROM boards b, json_each(b.layout) j WHERE b.tenant_id = ?2 AND json_extract(j.value, '$.report_id') = ?1)`;

/**
 * Saved reports (`/v1/reports`), boards (`/v1/boards`, with their share links) and the public
 * `/v1/shared/:token`. The tenant is always the key's: another tenant's report answers 404, as a
 * missing one does.
 */
export const reportRoutes = new Hono<AppEnv>()
	.post("/reports", readKey, async (c) => {
		const body = await jsonBody(c, createReport);
		const query = checkReport(body.kind, body.query);
		checkChart(body.kind, body.chart);
		const { tenantId } = c.get("auth");
		const row: ReportRow = { id: newId("rep"), tenant_id: tenantId, name: body.name, description: body.description, kind: body.kind, query, chart: body.chart, created_at: Date.now(), updated_at: 0 };
		row.updated_at = row.created_at;
		const { meta } = await c.env.DB.prepare(INSERT_REPORT_SQL)
			.bind(row.id, tenantId, row.name, row.description, row.query, row.chart, row.created_at, LIMITS.reportsPerTenant, row.kind)
			.run();
		if (meta.changes === 0) throw limitReached("reports", LIMITS.reportsPerTenant, `A tenant has at most ${LIMITS.reportsPerTenant} reports; delete one first.`);
		return c.json(reportJson(row), 201);
	})
	.get("/reports", readKey, async (c) => {
		const { results } = await c.env.DB.prepare("SELECT * FROM reports WHERE tenant_id = ?1 ORDER BY updated_at DESC, id").bind(c.get("auth").tenantId).all<ReportRow>();
		return c.json({ reports: results.map(reportJson) });
	})
	.get("/reports/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const row = await c.env.DB.prepare(REPORT_SQL).bind(id, c.get("auth").tenantId).first<ReportRow>();
		if (!row) throw notFound("report", id);
		return c.json(reportJson(row));
	})
	.patch("/reports/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, updateReport);
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		let query: string | null = null;
		let seen: number | null = null;
		if (body.kind !== undefined || body.query !== undefined || body.chart !== undefined) {
			// The saved report as it is, so the kind, query and chart after the change are checked together.
			const was = await db.prepare(REPORT_SQL).bind(id, tenantId).first<ReportRow>();
			if (!was) throw notFound("report", id);
			const current = reportJson(was);
			const kind = body.kind ?? current.kind;
			if (body.query !== undefined || kind !== current.kind) query = checkReport(kind, body.query ?? current.query);
			checkChart(kind, body.chart ?? current.chart);
			seen = was.updated_at;
		}
		const row = await db
			.prepare(UPDATE_REPORT_SQL)
			.bind(id, tenantId, body.name ?? null, body.description ?? null, query, body.chart ?? null, Date.now(), seen, body.kind ?? null)
			.first<ReportRow>();
		if (!row) {
			if (seen == null || !(await db.prepare(REPORT_SQL).bind(id, tenantId).first())) throw notFound("report", id);
			throw new ApiError(409, "conflict", `Report '${id}' changed while it was being saved; retry.`, { report: id });
		}
		return c.json(reportJson(row));
	})
	.delete("/reports/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		// A report on a board is not deleted: the board (perhaps shared) would change under its viewers.
		// The 409 names the boards; take the report off their layouts, then delete it.
		for (let attempt = 0; attempt < 3; attempt++) {
			const { meta } = await db.prepare(DELETE_REPORT_SQL).bind(id, tenantId).run();
			if (meta.changes > 0) return c.json({ id, deleted: true });
			const [report, boards] = await db.batch([db.prepare(REPORT_SQL).bind(id, tenantId), db.prepare(BOARDS_USING_SQL).bind(id, tenantId)]);
			if (!report!.results.length) throw notFound("report", id);
			const using = boards!.results as { id: string; name: string }[];
			if (using.length)
				throw new ApiError(
					409,
					"report_in_use",
					`Report '${id}' is on ${using.length === 1 ? "a board" : `${using.length} boards`} (${using.map((b) => `'${b.name}'`).join(", ")}); take it off ${using.length === 1 ? "that board's layout" : "their layouts"} first.`,
					{ report: id, boards: using },
				);
			// The last board using it let go between the two reads: delete again.
		}
		throw new ApiError(409, "conflict", `Report '${id}' changed while it was being deleted; retry.`, { report: id });
	})
	.get("/reports/:id/results", async (c) => {
		// The key check and the tenant's settings in one D1 round trip, as POST /v1/query.
		const { auth, row: tenant } = await authorizeWith<TenantRow>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_BY_KEY_SQL);
		const id = c.req.param("id");
		const row = await c.env.DB.prepare(REPORT_SQL).bind(id, auth.tenantId).first<ReportRow>();
		if (!row) throw notFound("report", id);
		const report = reportJson(row);
		const ctx = reportContext(c.env.DB, auth.tenantId, tenant, Date.now(), () => hubOf(c.env, auth.tenantId).pendingSince());
		return c.json({ report, ...(await answerReport(report.kind, report.query, ctx)) });
	})
	.route("/", presetRoutes)
	.route("/", boardRoutes)
	.route("/", sharedRoutes);
