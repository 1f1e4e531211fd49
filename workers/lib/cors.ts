import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

/**
 * The endpoints the dashboard calls, when it is served from another origin (Cloudflare Pages,
 * `npm run deploy:pages`), shared boards included. Ingest paths have their own CORS (app.ts); `/v1/live` is a WebSocket,
 * which CORS does not govern.
 */
const DASHBOARD_PATHS = /^\/v1\/(query(\/batch)?|tenant|live\/snapshot|system\/status|ingest\/stats|rejected|admin\/tenants(\/.*)?|reports(\/.*)?|boards(\/.*)?|shared\/[^/]+)$/;

// NOTE: any origin may call these: the API takes keys only from the Authorization header, never
// from cookies, so a page on another origin can do nothing here that the key would not let
// anyone do with curl. Credentials mode stays off.
const allowAny = cors({
	origin: (origin) => origin || null,
	allowMethods: ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
	allowHeaders: ["Authorization", "Content-Type"],
	maxAge: 86_400,
});

/** CORS for the dashboard's read (and settings) endpoints; other paths pass through. */
export const dashboardCors: MiddlewareHandler = (c, next) => (DASHBOARD_PATHS.test(c.req.path) ? allowAny(c, next) : next());
