import { Hono } from "hono";
import { z } from "zod";
import { type AuthContext, authorize, keyFromHeaders, requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { CLOSE, CLOSE_GRACE_MS, PROTOCOL_VERSION, SUBPROTOCOL } from "../live/channel";
import { hubOf, queryParams } from "../lib/http";

const viewQuery = z
	.object({
		event: z.string().min(1).max(200).optional(),
		/** Browsers cannot set headers on a WebSocket: the key may come as ?key=. */
		key: z.string().optional(),
	})
	.strict();

/**
 * The key of a live request: `Authorization`, `?key=`, or a `bearer.<key>` entry among the
 * offered Sec-WebSocket-Protocol values (beside "edgewise.live.v1", which is echoed back).
 */
function liveKey(req: Request, query: z.infer<typeof viewQuery>, offered: string[]): string | null {
	const bearer = offered.find((p) => p.startsWith("bearer."))?.slice("bearer.".length) ?? null;
	return keyFromHeaders(req) ?? query.key ?? bearer;
}

/**
 * Accepts the upgrade only to end it with a code and reason a client can show: it says why
 * ({"type":"close"}, so the client closes at once: see CLOSE_GRACE_MS), then closes after the grace.
 */
function refuse(code: number, reason: string, protocol: string | null, waitUntil: (p: Promise<unknown>) => void): Response {
	const pair = new WebSocketPair();
	const server = pair[1];
	server.accept();
	const text = reason.slice(0, 120);
	server.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "close", code, reason: text }));
	waitUntil(
		new Promise<void>((resolve) => {
			const timer = setTimeout(() => {
				try {
					server.close(code, text);
				} catch {}
				resolve();
			}, CLOSE_GRACE_MS);
			server.addEventListener("close", () => {
				clearTimeout(timer);
				resolve();
			});
		}),
	);
	return new Response(null, { status: 101, webSocket: pair[0], headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {} });
}

/** Live counters: a WebSocket stream and the same snapshot over HTTP. */
export const liveRoutes = new Hono<AppEnv>()
	.get("/live", async (c) => {
		if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
			throw new ApiError(426, "upgrade_required", "GET /v1/live is a WebSocket endpoint; over plain HTTP use GET /v1/live/snapshot.", {}, { Upgrade: "websocket" });
		const offered = (c.req.header("sec-websocket-protocol") ?? "")
			.split(",")
			.map((p) => p.trim())
			.filter(Boolean);
		const protocol = offered.includes(SUBPROTOCOL) ? SUBPROTOCOL : null;
		let auth: AuthContext;
		let query: z.infer<typeof viewQuery>;
		try {
			query = queryParams(c, viewQuery);
			auth = await authorize(c.env.DB, liveKey(c.req.raw, query, offered), ["read", "admin"]);
		} catch (err) {
			if (!(err instanceof ApiError)) throw err;
			// A browser cannot read an HTTP error on a WebSocket: say it with a close code instead.
			const code = err.status === 403 ? CLOSE.forbidden : err.status === 401 ? CLOSE.unauthorized : CLOSE.badRequest;
			return refuse(code, err.message, protocol, (p) => c.executionCtx.waitUntil(p));
		}
		const forward = new Request("https://hub.internal/live", {
			headers: {
				upgrade: "websocket",
				"x-edgewise-tenant": auth.tenantId,
				"x-edgewise-key": auth.keyHash,
				"x-edgewise-view": JSON.stringify({ event: query.event ?? null }),
				"x-edgewise-protocol": protocol ?? "",
			},
		});
		return hubOf(c.env, auth.tenantId).fetch(forward);
	})
	.get("/live/snapshot", requireKey("read", "admin"), async (c) => {
		const query = queryParams(c, viewQuery.omit({ key: true }));
		const { tenantId, keyHash } = c.get("auth");
		const snap = await hubOf(c.env, tenantId).liveSnapshot(tenantId, { event: query.event ?? null }, keyHash);
		if (!snap.ok) {
			const seconds = Math.max(1, Math.ceil(snap.retryAfterMs / 1000));
			throw new ApiError(429, "rate_limited", `Too many live snapshots for this key; retry after ${seconds} s.`, { retry_after_ms: snap.retryAfterMs }, { "Retry-After": String(seconds) });
		}
		return c.body(snap.text, 200, { "content-type": "application/json" });
	});
