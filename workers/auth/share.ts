import { ApiError } from "../errors";

/**
 * Share tokens: `<link id>.<expiry, epoch seconds>.<signature>`, the signature an HMAC-SHA256 (base64url)
 * over the id and expiry with the server's SHARE_SECRET. A token carries nothing else: no tenant, no
 * board, no scope. The link's row in D1 says which board it opens and whether it was revoked.
 */
const TOKEN = /^(shr_[a-z2-9]{16})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/;
// Domain separation: a signature made for anything else with the same secret is never a share token.
const CONTEXT = "edgewise-share-link-v1";

export type ShareRefusal = "malformed" | "bad_signature" | "expired" | "revoked";
export type ShareCheck = { ok: true; id: string; expiresAt: number } | { ok: false; reason: ShareRefusal };

const REASONS: Record<ShareRefusal, string> = {
	malformed: "This share link is not a valid Edgewise share link.",
	bad_signature: "This share link's signature does not match: it was altered, or signed with another secret.",
	expired: "This share link has expired.",
	revoked: "This share link has been revoked.",
};

/** The 403 for a share link that may not open anything, with its reason. */
export const invalidShareLink = (reason: ShareRefusal) => new ApiError(403, "invalid_share_link", REASONS[reason], { reason });

/** The secret, or a 503 saying share links are not configured on this deployment. */
export function shareSecret(env: { SHARE_SECRET?: string }): string {
	if (env.SHARE_SECRET) return env.SHARE_SECRET;
	throw new ApiError(503, "share_links_unavailable", "Share links are not configured: set the SHARE_SECRET secret (npm run deploy sets one; locally, see .dev.vars.example).", {});
}

const enc = new TextEncoder();

async function signature(secret: string, id: string, expSeconds: string): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${CONTEXT}\n${id}\n${expSeconds}`)));
}

const toBase64Url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

function fromBase64Url(s: string): Uint8Array | null {
	try {
		const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
		return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
	} catch {
		return null;
	}
}

/** Constant-time equality: every byte is compared, whatever differs first (the length of an HMAC is no secret). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	if (a.length !== b.length) return false;
	let diff = 0;
	for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
	return diff === 0;
}

/** The token of link `id` expiring at `expiresAt` (epoch ms, a whole second). */
export async function signShareToken(secret: string, id: string, expiresAt: number): Promise<string> {
	const exp = String(Math.floor(expiresAt / 1000));
	return `${id}.${exp}.${toBase64Url(await signature(secret, id, exp))}`;
}

/**
 * Checks a token's form, signature and expiry at `now` (epoch ms), in that order: nothing about an
 * unsigned token is looked up. The signature is compared in constant time. Revocation is the
 * caller's to check, in D1.
 */
export async function verifyShareToken(token: string, secret: string, now: number): Promise<ShareCheck> {
	const m = TOKEN.exec(token);
	if (!m) return { ok: false, reason: "malformed" };
	const [, id = "", exp = "", sig = ""] = m;
	const given = fromBase64Url(sig);
	// One spelling per signature: the last character's spare bits must be zero.
	if (!given || toBase64Url(given) !== sig) return { ok: false, reason: "malformed" };
	const expected = await signature(secret, id, exp);
	if (!sameBytes(given, expected)) return { ok: false, reason: "bad_signature" };
	const expiresAt = Number(exp) * 1000;
	if (expiresAt <= now) return { ok: false, reason: "expired" };
	return { ok: true, id, expiresAt };
}
