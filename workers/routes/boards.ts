import { Hono } from "hono";
import { authorizeWith, keyFromHeaders, requireKey } from "../auth/keys";
import { shareSecret, signShareToken } from "../auth/share";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hubOf, jsonBody } from "../lib/http";
import { TENANT_BY_KEY_SQL, type TenantRow } from "../query/answer";
import {
	type BoardRow,
	boardJson,
	createBoard,
	createShare,
	invalidField,
	LIMITS,
	limitReached,
	newId,
	notFound,
	type ReportRow,
	type ShareRow,
	shareJson,
	type Tile,
	updateBoard,
} from "../reports/model";
import { answerTiles, BOARD_REPORTS_SQL, BOARD_SQL } from "../reports/tiles";

const readKey = requireKey("read", "admin");
// Sharing publishes a board's data to anyone holding the link: a tenant admin key only.
const adminKey = requireKey("admin");

const DAY_MS = 86_400_000;

/**
 * `(SELECT count(*) FROM reports …) = n` over the layout's report ids, bound from ?`first` on: a write
 * guarded by it cannot store a layout naming a report deleted meanwhile. At most 40 ids (plus the
 * statement's own few) stays under D1's 100 bound parameters.
 */
function layoutGuard(tiles: Tile[], first: number): { sql: string; binds: string[] } {
	if (!tiles.length) return { sql: "1", binds: [] };
	const marks = tiles.map((_, i) => `?${first + i}`).join(", ");
	return { sql: `(SELECT count(*) FROM reports WHERE tenant_id = ?2 AND id IN (${marks})) = ${tiles.length}`, binds: tiles.map((t) => t.report_id) };
}

/** 400 naming `layout[i].report_id` for the first tile whose report is not the tenant's. */
async function checkLayout(db: D1Database, tenantId: string, tiles: Tile[]): Promise<void> {
	if (!tiles.length) return;
	const marks = tiles.map((_, i) => `?${i + 2}`).join(", ");
	const { results } = await db
		.prepare(`SELECT id FROM reports WHERE tenant_id = ?1 AND id IN (${marks})`)
		.bind(tenantId, ...tiles.map((t) => t.report_id))
		.all<{ id: string }>();
	const found = new Set(results.map((r) => r.id));
	const i = tiles.findIndex((t) => !found.has(t.report_id));
	if (i >= 0) throw invalidField(`layout[${i}].report_id`, `no report '${tiles[i]!.report_id}' in this tenant`, "unknown_report");
}

const changedMeanwhile = (id: string) => new ApiError(409, "conflict", `The reports of board '${id}' changed while it was being saved; retry.`, { board: id });

/** Boards (`/v1/boards`) and their share links. Mounted by reportRoutes. */
export const boardRoutes = new Hono<AppEnv>()
	.post("/boards", readKey, async (c) => {
		const body = await jsonBody(c, createBoard);
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		await checkLayout(db, tenantId, body.layout);
		const row: BoardRow = { id: newId("brd"), tenant_id: tenantId, name: body.name, description: body.description, layout: JSON.stringify(body.layout), created_at: Date.now(), updated_at: 0 };
		row.updated_at = row.created_at;
		const guard = layoutGuard(body.layout, 8);
		const { meta } = await db
			.prepare(
				`INSERT INTO boards (id, tenant_id, name, description, layout, created_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6
				WHERE (SELECT count(*) FROM boards WHERE tenant_id = ?2) < ?7 AND ${guard.sql}`,
			)
			.bind(row.id, tenantId, row.name, row.description, row.layout, row.created_at, LIMITS.boardsPerTenant, ...guard.binds)
			.run();
		if (meta.changes === 0) {
			const n = await db.prepare("SELECT count(*) AS n FROM boards WHERE tenant_id = ?1").bind(tenantId).first<{ n: number }>();
			if ((n?.n ?? 0) >= LIMITS.boardsPerTenant) throw limitReached("boards", LIMITS.boardsPerTenant, `A tenant has at most ${LIMITS.boardsPerTenant} boards; delete one first.`);
			await checkLayout(db, tenantId, body.layout);
			throw changedMeanwhile(row.id);
		}
		return c.json(boardJson(row), 201);
	})
	.get("/boards", readKey, async (c) => {
		const { results } = await c.env.DB.prepare("SELECT * FROM boards WHERE tenant_id = ?1 ORDER BY updated_at DESC, id").bind(c.get("auth").tenantId).all<BoardRow>();
		return c.json({ boards: results.map(boardJson) });
	})
	.get("/boards/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const row = await c.env.DB.prepare(BOARD_SQL).bind(id, c.get("auth").tenantId).first<BoardRow>();
		if (!row) throw notFound("board", id);
		return c.json(boardJson(row));
	})
	.patch("/boards/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, updateBoard);
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		const tiles = body.layout ?? [];
		await checkLayout(db, tenantId, tiles);
		const guard = layoutGuard(tiles, 7);
		const row = await db
			.prepare(
				`UPDATE boards SET name = coalesce(?3, name), description = coalesce(?4, description), layout = coalesce(?5, layout), updated_at = ?6
				WHERE id = ?1 AND tenant_id = ?2 AND ${guard.sql} RETURNING *`,
			)
			.bind(id, tenantId, body.name ?? null, body.description ?? null, body.layout ? JSON.stringify(body.layout) : null, Date.now(), ...guard.binds)
			.first<BoardRow>();
		if (!row) {
			if (!(await db.prepare(BOARD_SQL).bind(id, tenantId).first())) throw notFound("board", id);
			await checkLayout(db, tenantId, tiles);
			throw changedMeanwhile(id);
		}
		return c.json(boardJson(row));
	})
	.delete("/boards/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		// One transaction: the board and its share links go together (its links then answer 404).
		const [, board] = await db.batch([
			db.prepare("DELETE FROM share_links WHERE tenant_id = ?2 AND board_id = ?1 AND EXISTS (SELECT 1 FROM boards WHERE id = ?1 AND tenant_id = ?2)").bind(id, tenantId),
			db.prepare("DELETE FROM boards WHERE id = ?1 AND tenant_id = ?2").bind(id, tenantId),
		]);
		if (!board!.meta.changes) throw notFound("board", id);
		return c.json({ id, deleted: true });
	})
	.get("/boards/:id/results", async (c) => {
		const started = Date.now();
		const db = c.env.DB;
		const { auth, row: tenant } = await authorizeWith<TenantRow>(db, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_BY_KEY_SQL);
		const id = c.req.param("id");
		const [board, reports] = await db.batch([db.prepare(BOARD_SQL).bind(id, auth.tenantId), db.prepare(BOARD_REPORTS_SQL).bind(id, auth.tenantId)]);
		const row = board!.results[0] as BoardRow | undefined;
		if (!row) throw notFound("board", id);
		const tiles = await answerTiles(db, auth.tenantId, row, reports!.results as unknown as ReportRow[], tenant, true, () => hubOf(c.env, auth.tenantId).pendingSince());
		return c.json({ board: boardJson(row), tiles, took_ms: Date.now() - started });
	})
	.post("/boards/:id/shares", adminKey, async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, createShare);
		const secret = shareSecret(c.env);
		const { tenantId } = c.get("auth");
		const now = Date.now();
		// Whole seconds: the token carries the expiry in seconds, and must say what D1 says.
		const row: ShareRow = { id: newId("shr"), tenant_id: tenantId, board_id: id, created_at: now, expires_at: Math.floor((now + body.expires_in_days * DAY_MS) / 1000) * 1000, revoked_at: null };
		const { meta } = await c.env.DB.prepare(
			`INSERT INTO share_links (id, tenant_id, board_id, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5
			WHERE EXISTS (SELECT 1 FROM boards WHERE id = ?3 AND tenant_id = ?2)
			AND (SELECT count(*) FROM share_links WHERE tenant_id = ?2 AND board_id = ?3 AND revoked_at IS NULL AND expires_at > ?4) < ?6`,
		)
			.bind(row.id, tenantId, id, row.created_at, row.expires_at, LIMITS.activeSharesPerBoard)
			.run();
		if (meta.changes === 0) {
			if (!(await c.env.DB.prepare(BOARD_SQL).bind(id, tenantId).first())) throw notFound("board", id);
			throw limitReached("share_links", LIMITS.activeSharesPerBoard, `A board has at most ${LIMITS.activeSharesPerBoard} active share links; revoke one first.`);
		}
		const token = await signShareToken(secret, row.id, row.expires_at);
		// The token is shown once, here: only the link's id and expiry are stored.
		return c.json({ ...shareJson(row, now), token, url: `${new URL(c.req.url).origin}/#/shared/${token}` }, 201);
	})
	.get("/boards/:id/shares", readKey, async (c) => {
		const id = c.req.param("id");
		const { tenantId } = c.get("auth");
		const db = c.env.DB;
		const [board, links] = await db.batch([
			db.prepare(BOARD_SQL).bind(id, tenantId),
			db.prepare("SELECT * FROM share_links WHERE tenant_id = ?2 AND board_id = ?1 ORDER BY created_at DESC, id").bind(id, tenantId),
		]);
		if (!board!.results.length) throw notFound("board", id);
		const now = Date.now();
		return c.json({ shares: (links!.results as unknown as ShareRow[]).map((s) => shareJson(s, now)) });
	})
	.delete("/boards/:id/shares/:shareId", adminKey, async (c) => {
		const { id, shareId } = c.req.param();
		// From this answer on the link is refused: /v1/shared reads revoked_at from D1 on every request.
		const row = await c.env.DB.prepare("UPDATE share_links SET revoked_at = coalesce(revoked_at, ?4) WHERE id = ?1 AND tenant_id = ?2 AND board_id = ?3 RETURNING *")
			.bind(shareId, c.get("auth").tenantId, id, Date.now())
			.first<ShareRow>();
		if (!row) throw notFound("share_link", shareId);
		return c.json(shareJson(row, Date.now()));
	});
