import { Hono } from "hono";
import { keyFromHeaders, requireKey } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { runPeople } from "../people/pass";
import { hasAdminToken } from "./admin";

const readKey = requireKey("read", "admin");

/**
 * People: funnels, retention and lifecycle, one person's events and the people behind a query's
 * point. The tenant always comes from the key; another tenant's person is a 404.
 * NOTE: middleware is per route, not `use("*")`: this app is mounted at /v1 beside others.
 */
export const peopleRoutes = new Hono<AppEnv>()
	// The cron's people pass on demand (the operator's admin token), like POST /v1/admin/rollups/run.
	.post("/admin/people/run", async (c) => {
		if (!(await hasAdminToken(c.req.raw, c.env.ADMIN_TOKEN)))
			throw keyFromHeaders(c.req.raw)
				? new ApiError(403, "forbidden", "Running the people pass needs the admin token.")
				: new ApiError(401, "unauthorized", "Missing API key: send the admin token as 'Authorization: Bearer <token>'.");
		return c.json(await runPeople(c.env, { trigger: "admin" }));
	});

export { readKey };
