import { and, eq, isNull } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { Context, MiddlewareHandler } from "hono";
import { apiKeys, type KeyScope } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/** Who is calling: always derived from the key, never from the request body. */
export interface AuthContext {
	tenantId: string;
	keyId: string;
	keyHash: string;
	scope: KeyScope;
	allowedOrigins: string[] | null;
}

/** SHA-256 hex of a key. Keys are 160-bit random, so a fast hash is the right tool (no brute force). */
export async function hashKey(key: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// 32 symbols (no l, o, 0, 1), so `byte % 32` is unbiased.
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** A new random key: `ew_<scope>_` + 32 chars (160 bits). */
export function generateKey(scope: KeyScope): string {
	const bytes = crypto.getRandomValues(new Uint8Array(32));
	return `ew_${scope}_${[...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("")}`;
}

/** The visible part of a key, safe to list. */
export const keyPrefix = (key: string) => key.slice(0, Math.min(key.length - 4, 14));

/** Extracts a key from `Authorization: Bearer`, HTTP Basic (key as user name). */
export function keyFromHeaders(req: Request): string | null {
	const header = req.headers.get("authorization");
	if (header) {
		const [scheme, value = ""] = header.split(/\s+/, 2);
		if (/^bearer$/i.test(scheme ?? "")) return value.trim() || null;
		if (/^basic$/i.test(scheme ?? "")) {
			try {
				const decoded = atob(value.trim());
				const user = decoded.split(":", 1)[0];
				return user || null;
			} catch {
				throw new ApiError(401, "invalid_authorization", "Authorization: Basic value is not valid base64.");
			}
		}
		throw new ApiError(401, "invalid_authorization", `Unsupported Authorization scheme '${scheme}'; use Bearer or Basic.`);
	}
	return null;
}

type FoundKey = AuthContext & { revokedAt: number | null };

const KEY_SQL = "SELECT id, tenant_id, scope, allowed_origins, revoked_at FROM api_keys WHERE hash = ?1";

function foundKey(row: Record<string, unknown> | undefined, keyHash: string): FoundKey | null {
	if (!row) return null;
	return {
		tenantId: row.tenant_id as string,
		keyId: row.id as string,
		keyHash,
		scope: row.scope as KeyScope,
		allowedOrigins: row.allowed_origins == null ? null : (JSON.parse(row.allowed_origins as string) as string[]),
		revokedAt: (row.revoked_at as number | null) ?? null,
	};
}

/** Looks a key up in D1 (authoritative: a revoked key fails at once). */
export async function lookupKey(db: D1Database, key: string): Promise<FoundKey | null> {
	const keyHash = await hashKey(key);
	return foundKey((await db.prepare(KEY_SQL).bind(keyHash).first()) ?? undefined, keyHash);
}

/** Active keys of a tenant by hash, for the tenant's hub. */
export async function activeKey(db: D1Database, tenantId: string, keyHash: string) {
	return drizzle(db)
		.select({ id: apiKeys.id, scope: apiKeys.scope, allowedOrigins: apiKeys.allowedOrigins })
		.from(apiKeys)
		.where(and(eq(apiKeys.hash, keyHash), eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
		.get();
}

export const unauthorized = (message = "Missing API key: send it as 'Authorization: Bearer <key>'.") =>
	new ApiError(401, "unauthorized", message, {}, { "WWW-Authenticate": 'Bearer realm="edgewise"' });

/** An active AuthContext with one of `scopes` from a looked-up key, or throws 401/403. */
function checkKey(found: FoundKey | null, scopes: readonly KeyScope[]): AuthContext {
	if (!found) throw unauthorized("Unknown API key.");
	if (found.revokedAt != null) throw unauthorized("This API key has been revoked.");
	if (!scopes.includes(found.scope))
		throw new ApiError(403, "forbidden", `This key has the '${found.scope}' scope; this endpoint needs ${scopes.map((s) => `'${s}'`).join(" or ")}.`, {
			scope: found.scope,
			required: scopes,
		});
	const { revokedAt: _, ...auth } = found;
	return auth;
}

/** Resolves a key to an active AuthContext with one of `scopes`, or throws 401/403. */
export async function authorize(db: D1Database, key: string | null, scopes: readonly KeyScope[]): Promise<AuthContext> {
	if (!key) throw unauthorized();
	return checkKey(await lookupKey(db, key), scopes);
}

/**
 * authorize() and one more read in the same D1 round trip (each costs a network hop in
 * production, and about a millisecond of CPU locally). `alsoSql` gets the key's hash as ?1 and
 * must select through it (JOIN api_keys … WHERE hash = ?1), so it can only read the key's own
 * tenant; its first row is returned once the key has passed.
 */
export async function authorizeWith<T>(db: D1Database, key: string | null, scopes: readonly KeyScope[], alsoSql: string): Promise<{ auth: AuthContext; row: T | null }> {
	if (!key) throw unauthorized();
	const keyHash = await hashKey(key);
	const [k, more] = await db.batch([db.prepare(KEY_SQL).bind(keyHash), db.prepare(alsoSql).bind(keyHash)]);
	const auth = checkKey(foundKey(k!.results[0] as Record<string, unknown> | undefined, keyHash), scopes);
	return { auth, row: (more!.results[0] as T | undefined) ?? null };
}

/** Middleware for read endpoints: a `read` (or tenant `admin`) key from the headers. */
export function requireKey(...scopes: KeyScope[]): MiddlewareHandler<AppEnv> {
	return async (c: Context<AppEnv>, next) => {
		c.set("auth", await authorize(c.env.DB, keyFromHeaders(c.req.raw), scopes));
		await next();
	};
}
