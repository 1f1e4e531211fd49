import type { Context } from "hono";
import type { z } from "zod";
import { ApiError, formatIssues } from "../errors";

/** JSON.parse of a request body, or a 400 `malformed_json` saying why. */
export function parseJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch (err) {
		throw new ApiError(400, "malformed_json", `Request body is not valid JSON: ${(err as Error).message}`);
	}
}

/** Parses a JSON request body against a zod schema; 400 with the offending fields otherwise. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
	const text = await c.req.text();
	const value: unknown = text.trim() ? parseJson(text) : {};
	const parsed = schema.safeParse(value);
	if (!parsed.success) {
		const issues = formatIssues(parsed.error.issues);
		throw new ApiError(400, "invalid_request", `${issues[0]!.path || "body"}: ${issues[0]!.message}`, { issues });
	}
	return parsed.data;
}

/** Parses query-string parameters against a zod schema. */
export function queryParams<T extends z.ZodType>(c: Context, schema: T): z.infer<T> {
	const parsed = schema.safeParse(c.req.query());
	if (!parsed.success) {
		const issues = formatIssues(parsed.error.issues);
		const first = issues[0]!;
		throw new ApiError(400, "invalid_query", first.path ? `${first.path}: ${first.message}` : first.message, { issues });
	}
	return parsed.data;
}

/** The stub of a tenant's hub Durable Object. */
export function hubOf(env: { TENANT_HUB: DurableObjectNamespace<import("../hub/tenant-hub").TenantHub> }, tenantId: string) {
	return env.TENANT_HUB.get(env.TENANT_HUB.idFromName(tenantId));
}
