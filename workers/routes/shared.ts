import { Hono } from "hono";
import { invalidShareLink, shareSecret, verifyShareToken } from "../auth/share";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hubOf } from "../lib/http";
import { TENANT_BY_ID_SQL, type TenantRow } from "../query/answer";
import type { BoardRow, ReportRow, ShareRow, Tile } from "../reports/model";
import { answerTiles, BOARD_REPORTS_SQL, BOARD_SQL } from "../reports/tiles";

/**
 * Board loads per share link and isolate: a public link must not be a way to run the tenant's queries
 * in a loop. A board is opened once and refreshed now and then; past this it answers 429.
 */
const LOADS = { burst: 20, perMinute: 30 };
const buckets = new Map<string, { tokens: number; at: number }>();

function admitLoad(linkId: string, now: number): number {
	let b = buckets.get(linkId);
	if (!b) {
		if (buckets.size > 10_000) buckets.clear();
		buckets.set(linkId, (b = { tokens: LOADS.burst, at: now }));
	}
	b.tokens = Math.min(LOADS.burst, b.tokens + ((now - b.at) / 60_000) * LOADS.perMinute);
	b.at = now;
	if (b.tokens >= 1) {
		b.tokens -= 1;
		return 0;
	}
	return Math.ceil(((1 - b.tokens) / LOADS.perMinute) * 60);
}

/**
 * GET /v1/shared/:token: a shared board and its reports' answers, without a key. The token opens this
 * one board and nothing else: it is no API key (every other endpoint refuses it as an unknown key), it
 * names no board (its link row does), and its link is read from D1 each time, so a revoked link or a
 * deleted board stops answering at once.
 */
export const sharedRoutes = new Hono<AppEnv>().get("/shared/:token", async (c) => {
	const started = Date.now();
	const now = started;
	const check = await verifyShareToken(c.req.param("token"), shareSecret(c.env), now);
	if (!check.ok) throw invalidShareLink(check.reason);
	const wait = admitLoad(check.id, now);
	if (wait) throw new ApiError(429, "rate_limited", `This shared board was loaded too often; retry after ${wait} s.`, { retry_after_s: wait }, { "Retry-After": String(wait) });
	const db = c.env.DB;
	const link = await db.prepare("SELECT * FROM share_links WHERE id = ?1").bind(check.id).first<ShareRow>();
	// Signed by this server, so it existed: its board was deleted, and its links with it.
	if (!link) throw new ApiError(404, "not_found", "This shared board no longer exists.", {});
	if (link.revoked_at != null) throw invalidShareLink("revoked");
	if (link.expires_at <= now) throw invalidShareLink("expired");
	const [board, reports, tenant] = await db.batch([
		db.prepare(BOARD_SQL).bind(link.board_id, link.tenant_id),
		db.prepare(BOARD_REPORTS_SQL).bind(link.board_id, link.tenant_id),
		db.prepare(TENANT_BY_ID_SQL).bind(link.tenant_id),
	]);
	const row = board!.results[0] as BoardRow | undefined;
	if (!row) throw new ApiError(404, "not_found", "This shared board no longer exists.", {});
	const tenantRow = (tenant!.results[0] as TenantRow | undefined) ?? null;
	const tiles = await answerTiles(db, link.tenant_id, row, reports!.results as unknown as ReportRow[], tenantRow, false, () => hubOf(c.env, link.tenant_id).pendingSince(), now);
	// Revocation is immediate only if nothing on the way keeps a copy.
	c.header("Cache-Control", "no-store");
	return c.json({
		board: { id: row.id, name: row.name, description: row.description, layout: JSON.parse(row.layout) as Tile[] },
		tiles,
		expires_at: new Date(link.expires_at).toISOString(),
		took_ms: Date.now() - started,
	});
});
