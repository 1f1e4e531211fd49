import { Hono } from "hono";
import { requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { MAX_PAIRS, type PairDef } from "../query/pairs";
import { boardJson, checkQuery, LIMITS, limitReached, newId, type BoardRow } from "../reports/model";
import { mergedSettings, PRESETS } from "../reports/presets";

/** The rollup lists' limits (workers/routes/admin.ts). */
const SETTING_LIMITS = { dimension_props: 5, metric_props: 10, unique_props: 5, pairs: MAX_PAIRS };

interface TenantSettingsRow {
	dimension_props: string;
	metric_props: string;
	unique_props: string;
	pairs: string;
}

/**
 * Creates a preset's reports and board for a tenant, and adds the rollup settings they need (its
 * properties first, then the tenant's others, within each list's limit). A board of that name already
 * there is returned as it is: applying a preset twice creates nothing twice.
 */
export async function applyPreset(db: D1Database, tenantId: string, name: string) {
	const preset = PRESETS[name];
	if (!preset) throw new ApiError(404, "not_found", `No preset '${name}'; presets: ${Object.keys(PRESETS).join(", ")}.`, { preset: name, presets: Object.keys(PRESETS) });
	const existing = await db.prepare("SELECT * FROM boards WHERE tenant_id = ?1 AND name = ?2 ORDER BY created_at LIMIT 1").bind(tenantId, preset.name).first<BoardRow>();
	if (existing) return { status: 200 as const, body: { board: boardJson(existing), created: false } };
	const t = await db.prepare("SELECT dimension_props, metric_props, unique_props, pairs FROM tenants WHERE id = ?1").bind(tenantId).first<TenantSettingsRow>();
	if (!t) throw new ApiError(404, "not_found", "Tenant not found.", {});
	const settings = mergedSettings(
		{ dimension_props: JSON.parse(t.dimension_props) as string[], metric_props: JSON.parse(t.metric_props) as string[], unique_props: JSON.parse(t.unique_props) as string[], pairs: JSON.parse(t.pairs) as PairDef[] },
		preset,
		SETTING_LIMITS,
	);
	const now = Date.now();
	const reports = preset.reports.map((r) => ({ ...r, id: newId("rep"), query: checkQuery(r.query) }));
	const board = { id: newId("brd"), layout: JSON.stringify(reports.map((r) => ({ report_id: r.id, width: r.width }))) };
	const room = await db
		.prepare("SELECT (SELECT count(*) FROM reports WHERE tenant_id = ?1) AS reports, (SELECT count(*) FROM boards WHERE tenant_id = ?1) AS boards")
		.bind(tenantId)
		.first<{ reports: number; boards: number }>();
	if (room!.reports + reports.length > LIMITS.reportsPerTenant)
		throw limitReached("reports", LIMITS.reportsPerTenant, `The preset adds ${reports.length} reports and this tenant has ${room!.reports} of its ${LIMITS.reportsPerTenant}.`);
	if (room!.boards + 1 > LIMITS.boardsPerTenant) throw limitReached("boards", LIMITS.boardsPerTenant, `This tenant has ${room!.boards} boards, its limit.`);
	// NOTE: one batch, one transaction: the settings, the reports and the board land together.
	await db.batch([
		db
			.prepare("UPDATE tenants SET dimension_props = ?2, metric_props = ?3, unique_props = ?4, pairs = ?5 WHERE id = ?1")
			.bind(tenantId, JSON.stringify(settings.dimension_props), JSON.stringify(settings.metric_props), JSON.stringify(settings.unique_props), JSON.stringify(settings.pairs)),
		...reports.map((r) =>
			db
				.prepare("INSERT INTO reports (id, tenant_id, name, description, query, chart, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)")
				.bind(r.id, tenantId, r.name, r.description, r.query, r.chart, now),
		),
		db
			.prepare("INSERT INTO boards (id, tenant_id, name, description, layout, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)")
			.bind(board.id, tenantId, preset.name, preset.description, board.layout, now),
	]);
	const row = await db.prepare("SELECT * FROM boards WHERE id = ?1").bind(board.id).first<BoardRow>();
	return { status: 201 as const, body: { board: boardJson(row!), created: true, settings } };
}

/** POST /v1/boards/presets/:preset, with the tenant's admin key (it changes the tenant's rollup settings). */
export const presetRoutes = new Hono<AppEnv>().post("/boards/presets/:preset", requireKey("admin"), async (c) => {
	const { status, body } = await applyPreset(c.env.DB, c.get("auth").tenantId, c.req.param("preset"));
	return c.json(body, status);
});
