import { ApiError } from "../errors";
import { fromBase64, newWebhookSecret, toBase64 } from "./signing";
import { iso, newId } from "./ids";

// A tenant's webhook signing secrets must be read back to sign, so they are stored encrypted
// (AES-256-GCM) under a key derived from the deployment's WEBHOOK_KEY secret, with the tenant and
// the secret's id as associated data: a ciphertext copied to another row or tenant does not decrypt.

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** The deployment's encryption key, or 503 when WEBHOOK_KEY is not set. */
export function webhookKey(env: { WEBHOOK_KEY?: string }): Promise<CryptoKey> {
	const material = env.WEBHOOK_KEY;
	if (!material)
		throw new ApiError(503, "webhooks_unavailable", "Webhook signing is not configured: set the WEBHOOK_KEY secret (npm run deploy sets one; locally, see .dev.vars.example).", {});
	let key = keys.get(material);
	if (!key) {
		key = crypto.subtle
			.importKey("raw", enc.encode(material), "HKDF", false, ["deriveKey"])
			.then((base) =>
				crypto.subtle.deriveKey(
					{ name: "HKDF", hash: "SHA-256", salt: enc.encode("edgewise webhook secrets"), info: enc.encode("aes-256-gcm v1") },
					base,
					{ name: "AES-GCM", length: 256 },
					false,
					["encrypt", "decrypt"],
				),
			);
		keys.set(material, key);
	}
	return key;
}

const aad = (tenantId: string, id: string) => enc.encode(`${tenantId}\u0000${id}`);

/** `v1.<iv>.<ciphertext>` (base64) of a secret. */
export async function sealSecret(key: CryptoKey, tenantId: string, id: string, secret: string): Promise<string> {
	const iv = crypto.getRandomValues(new Uint8Array(12));
	const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad(tenantId, id) }, key, enc.encode(secret));
	return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(ct))}`;
}

export async function openSecret(key: CryptoKey, tenantId: string, id: string, sealed: string): Promise<string> {
	const [v, iv, ct] = sealed.split(".");
	if (v !== "v1" || !iv || !ct) throw new Error(`webhook secret ${id}: unknown format`);
	const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv), additionalData: aad(tenantId, id) }, key, fromBase64(ct));
	return new TextDecoder().decode(pt);
}

export interface SecretRow {
	id: string;
	tenant_id: string;
	secret: string;
	created_at: number;
	expires_at: number | null;
}

/** Valid (current, or rotated out but not expired) secrets of a tenant, newest first. */
export const VALID_SECRETS_SQL = "SELECT * FROM webhook_secrets WHERE tenant_id = ?1 AND (expires_at IS NULL OR expires_at > ?2) ORDER BY created_at DESC, id";

export const secretJson = (r: SecretRow) => ({
	id: r.id,
	status: r.expires_at == null ? ("current" as const) : ("previous" as const),
	created_at: iso(r.created_at)!,
	expires_at: iso(r.expires_at),
});

/** The plaintext secrets that sign a tenant's webhooks now (the current one first); [] when it has none. */
export async function signingSecrets(env: { DB: D1Database; WEBHOOK_KEY?: string }, tenantId: string, now: number): Promise<string[]> {
	const { results } = await env.DB.prepare(VALID_SECRETS_SQL).bind(tenantId, now).all<SecretRow>();
	if (!results.length) return [];
	const key = await webhookKey(env);
	return Promise.all(results.slice(0, 2).map((r) => openSecret(key, tenantId, r.id, r.secret)));
}

/**
 * A new current secret. The one it replaces keeps signing for `previousValidMs` (both signatures are
 * sent meanwhile, so receivers can switch without losing a message); any older one stops now, so at
 * most two are ever valid. One D1 batch, one transaction. Returns the plaintext: shown once.
 */
export async function rotateSecret(env: { DB: D1Database; WEBHOOK_KEY?: string }, tenantId: string, previousValidMs: number, now = Date.now()) {
	const key = await webhookKey(env);
	const id = newId("whk");
	const secret = newWebhookSecret();
	const sealed = await sealSecret(key, tenantId, id, secret);
	const db = env.DB;
	const until = now + previousValidMs;
	const [, previous] = await db.batch([
		db.prepare("UPDATE webhook_secrets SET expires_at = ?2 WHERE tenant_id = ?1 AND expires_at IS NOT NULL AND expires_at > ?2").bind(tenantId, now),
		db.prepare("UPDATE webhook_secrets SET expires_at = ?2 WHERE tenant_id = ?1 AND expires_at IS NULL RETURNING *").bind(tenantId, until),
		db.prepare("INSERT INTO webhook_secrets (id, tenant_id, secret, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, NULL)").bind(id, tenantId, sealed, now),
		db.prepare("DELETE FROM webhook_secrets WHERE tenant_id = ?1 AND expires_at IS NOT NULL AND expires_at <= ?2").bind(tenantId, now),
	]);
	const prev = (previous!.results as SecretRow[])[0];
	return {
		id,
		secret,
		status: "current" as const,
		created_at: iso(now)!,
		expires_at: null,
		previous: prev && until > now ? { id: prev.id, expires_at: iso(until)! } : null,
	};
}
