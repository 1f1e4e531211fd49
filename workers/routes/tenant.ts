import { Hono } from "hono";
import { authorizeWith, keyFromHeaders } from "../auth/keys";
import type { KeyScope } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { hasAdminToken } from "./admin";

/** The key's tenant and the key itself, read through the key's hash (?1): it can only see its own tenant. */
const TENANT_OF_KEY_SQL = `SELECT t.id, t.name, t.timezone, t.dimension_props, t.metric_props, k.id AS key_id, k.name AS key_name, k.prefix AS key_prefix, k.scope AS key_scope
	FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.hash = ?1`;

interface TenantOfKeyRow {
	id: string;
	name: string;
	timezone: string;
	dimension_props: string;
	metric_props: string;
	key_id: string;
	key_name: string;
	key_prefix: string;
	key_scope: KeyScope;
}

/**
 * GET /v1/tenant: who a read or admin key belongs to. The dashboard's sign-in: the tenant's name,
 * its time zone (the default of its queries) and what its rollups keep, with the key's own scope.
 */
export const tenantRoutes = new Hono<AppEnv>().get("/tenant", async (c) => {
	// The operator's token belongs to no tenant: say so, instead of "Unknown API key".
	if (await hasAdminToken(c.req.raw, c.env.ADMIN_TOKEN))
		throw new ApiError(403, "forbidden", "This is the operator's admin token, which belongs to no tenant; use a tenant's read or admin key.", {
			scope: "admin_token",
			required: ["read", "admin"],
		});
	const { row } = await authorizeWith<TenantOfKeyRow>(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"], TENANT_OF_KEY_SQL);
	if (!row) throw new ApiError(404, "not_found", "Tenant not found.");
	return c.json({
		tenant: {
			id: row.id,
			name: row.name,
			timezone: row.timezone,
			dimension_props: JSON.parse(row.dimension_props) as string[],
			metric_props: JSON.parse(row.metric_props) as string[],
		},
		key: { id: row.key_id, name: row.key_name, prefix: row.key_prefix, scope: row.key_scope },
	});
});
