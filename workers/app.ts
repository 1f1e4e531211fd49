import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env";
import { ApiError } from "./errors";
import { adminRoutes } from "./routes/admin";
import { INGEST_PATHS, ingestRoutes } from "./routes/ingest";
import { liveRoutes } from "./routes/live";
import { peopleRoutes } from "./routes/people";
import { queryRoutes } from "./routes/query";
import { ingestReadRoutes } from "./routes/read";
import { isTransient, messageOf } from "./hub/d1-writer";
import { hubOf } from "./lib/http";

const READY_TIMEOUT_MS = 3000;

/** Runs one readiness probe with a time limit: whether it answered, how fast, and why not. */
async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; ms: number; error?: string }> {
	const started = Date.now();
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		await Promise.race([probe(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)))]);
		return { ok: true, ms: Date.now() - started };
	} catch (err) {
		return { ok: false, ms: Date.now() - started, error: String((err as Error)?.message ?? err).slice(0, 300) };
	} finally {
		if (timer) clearTimeout(timer);
	}
}
import { tenantRoutes } from "./routes/tenant";
import { reportRoutes } from "./routes/reports";
import { exportRoutes } from "./routes/exports";
import { alertRoutes } from "./routes/alerts";
import { dashboardCors } from "./lib/cors";

const INGEST = new Set(INGEST_PATHS);

/** The API. Sub-apps per resource; the chained type is exported for a typed `hc` client. */
export const app = new Hono<AppEnv>()
	// CORS for browser ingestion. Preflights carry no key, so they are answered for any origin;
	// the real request is then checked against the key's allowed origins by the tenant hub.
	.use("/v1/*", async (c, next) => {
		const origin = c.req.header("origin");
		if (!INGEST.has(c.req.path)) return next();
		if (c.req.method === "OPTIONS") {
			return c.body(null, 204, {
				"Access-Control-Allow-Origin": origin ?? "*",
				"Access-Control-Allow-Methods": "POST, OPTIONS",
				"Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
				"Access-Control-Max-Age": "86400",
				Vary: "Origin",
			});
		}
		await next();
		if (origin) {
			c.res.headers.set("Access-Control-Allow-Origin", origin);
			c.res.headers.append("Vary", "Origin");
		}
	})
	.use("/v1/*", dashboardCors)
	// Liveness: the Worker runs. Readiness (below) also asks D1 and a Durable Object.
	.get("/healthz", (c) => c.json({ ok: true }))
	.get("/readyz", async (c) => {
		const [d1, hub] = await Promise.all([
			check(() => c.env.DB.prepare("SELECT count(*) AS n FROM tenants").first()),
			// A hub of its own: '_' cannot start a tenant id, so no tenant's object is woken or shared.
			check(() => hubOf(c.env, "_readyz").ping()),
		]);
		const ok = d1.ok && hub.ok;
		return c.json({ ok, checks: { d1, hub } }, ok ? 200 : 503);
	})
	.route("/v1", ingestRoutes)
	.route("/v1", ingestReadRoutes)
	.route("/v1", liveRoutes)
	.route("/v1", queryRoutes)
	.route("/v1", tenantRoutes)
	.route("/v1", reportRoutes)
	.route("/v1", peopleRoutes)
	.route("/v1", exportRoutes)
	.route("/v1", alertRoutes)
	.route("/v1/admin", adminRoutes);

app.notFound((c) =>
	c.json({ error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}.`, details: { method: c.req.method, path: c.req.path } } }, 404),
);

app.onError((err, c) => {
	if (err instanceof ApiError) {
		for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
		return c.json({ error: { code: err.code, message: err.message, details: err.details } }, err.status);
	}
	if (err instanceof HTTPException) {
		const status = err.status;
		return c.json({ error: { code: status === 404 ? "not_found" : "http_error", message: err.message || "Request failed.", details: {} } }, status);
	}
	// D1 busy, locked or unreachable is an outage, not a bug: 503 with a hint to retry.
	if (/D1_|D1 DB/.test(messageOf(err)) && isTransient(err)) {
		console.warn("database unavailable", c.req.method, c.req.path, messageOf(err));
		c.header("Retry-After", "5");
		return c.json({ error: { code: "unavailable", message: "The database is not answering right now; retry in a few seconds.", details: {} } }, 503);
	}
	// Never leak internals: log the stack for operators, send a stable shape to clients.
	console.error("unhandled error", c.req.method, c.req.path, err);
	return c.json({ error: { code: "internal_error", message: "Something went wrong on our side; the request can be retried.", details: {} } }, 500);
});

export type AppType = typeof app;
