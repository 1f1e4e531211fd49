import { Hono } from "hono";
import { authorizeWith, keyFromHeaders } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { parseJson } from "../lib/http";
import { PEOPLE_TENANT_SQL, type PeopleTenant, tenantOrThrow } from "../people/context";
import { answerFunnel } from "../people/funnel";
import { runPeople } from "../people/pass";
import { answerRetention } from "../people/retention";
import { peopleAt, personEvents } from "../people/views";
import { hasAdminToken } from "./admin";

/** The body as JSON; an empty body is a 400 with an example. */
async function readBody(req: Request, code: string, example: string): Promise<unknown> {
	const text = await req.text();
	if (!text.trim()) throw new ApiError(400, code, `body: send a JSON object such as ${example}`, { field: "body" });
	return parseJson(text);
}

/** The key's tenant (read or admin scope) and what people queries need of it, in one D1 round trip. */
async function tenantOf(c: { env: AppEnv["Bindings"]; req: { raw: Request } }): Promise<{ tenantId: string; tenant: PeopleTenant }> {
	const { auth, row } = await authorizeWith<PeopleTenant>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], PEOPLE_TENANT_SQL);
	return { tenantId: auth.tenantId, tenant: tenantOrThrow(row) };
}

/**
 * People: funnels, retention and lifecycle, one person's events and the people behind a query's
 * point. The tenant always comes from the key; another tenant's person is a 404.
 * NOTE: middleware is per route, not `use("*")`: this app is mounted at /v1 beside others.
 */
export const peopleRoutes = new Hono<AppEnv>()
	.post("/funnels", async (c) => {
		const { tenantId, tenant } = await tenantOf(c);
		const body = await readBody(c.req.raw, "invalid_funnel", `{"steps":[{"event":"page_view"},{"event":"signup"}],"date_range":"30d"}`);
		return c.json(await answerFunnel(c.env.DB, tenantId, tenant, body));
	})
	.post("/people", async (c) => {
		const { tenantId, tenant } = await tenantOf(c);
		const body = await readBody(c.req.raw, "invalid_people", `{"date_range":"7d","filters":[["is","event","signup"]]}`);
		return c.json(await peopleAt(c.env.DB, tenantId, tenant, body));
	})
	.get("/people/:id/events", async (c) => {
		const { tenantId, tenant } = await tenantOf(c);
		return c.json(await personEvents(c.env.DB, tenantId, tenant, c.req.param("id"), c.req.query()));
	})
	.post("/retention", async (c) => {
		const { tenantId, tenant } = await tenantOf(c);
		const body = await readBody(c.req.raw, "invalid_retention", `{"period":"week","date_range":"90d"}`);
		return c.json(await answerRetention(c.env.DB, tenantId, tenant, body));
	})
	// The cron's people pass on demand (the operator's admin token), like POST /v1/admin/rollups/run.
	.post("/admin/people/run", async (c) => {
		if (!(await hasAdminToken(c.req.raw, c.env.ADMIN_TOKEN)))
			throw keyFromHeaders(c.req.raw)
				? new ApiError(403, "forbidden", "Running the people pass needs the admin token.")
				: new ApiError(401, "unauthorized", "Missing API key: send the admin token as 'Authorization: Bearer <token>'.");
		return c.json(await runPeople(c.env, { trigger: "admin" }));
	});
