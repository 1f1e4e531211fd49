import { ApiError } from "../errors";
import { EXPORT_ID } from "./model";

/**
 * Signed download links: `/v1/exports/<id>/download?expires=<epoch s>&signature=<HMAC-SHA256, base64url>`
 * over the export id and the expiry, with the server's SHARE_SECRET (as board share links,
 * auth/share.ts, with a context of their own so neither kind of signature is valid as the other).
 */
const CONTEXT = "edgewise-export-download-v1";
const SIG = /^[A-Za-z0-9_-]{43}$/;

export type LinkRefusal = "malformed" | "bad_signature" | "expired";
const REASONS: Record<LinkRefusal, string> = {
	malformed: "This download link is not a valid Edgewise download link.",
	bad_signature: "This download link's signature does not match: it was altered, or signed with another secret.",
	expired: "This download link has expired: ask for a new one (GET /v1/exports/{id} gives one).",
};

export const invalidLink = (reason: LinkRefusal) => new ApiError(403, "invalid_download_link", REASONS[reason], { reason });

/** The secret, or a 503 saying signed links are not configured here. */
export function linkSecret(env: { SHARE_SECRET?: string }): string {
	if (env.SHARE_SECRET) return env.SHARE_SECRET;
	throw new ApiError(503, "download_links_unavailable", "Signed download links are not configured: set the SHARE_SECRET secret (npm run deploy sets one; locally, see .dev.vars.example).", {});
}

const enc = new TextEncoder();
async function sign(secret: string, id: string, exp: string): Promise<Uint8Array> {
	const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	return new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(`${CONTEXT}\n${id}\n${exp}`)));
}
const b64url = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
function unb64url(s: string): Uint8Array | null {
	try {
		return Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
	} catch {
		return null;
	}
}

/** The query string (`expires=…&signature=…`) of a link to export `id` valid until `expiresAt` (epoch ms, rounded down to a second). */
export async function signDownload(secret: string, id: string, expiresAt: number): Promise<{ query: string; expiresAt: number }> {
	const exp = String(Math.floor(expiresAt / 1000));
	return { query: `expires=${exp}&signature=${b64url(await sign(secret, id, exp))}`, expiresAt: Number(exp) * 1000 };
}

/** Checks a link's form, signature (in constant time) and expiry at `now`, in that order. */
export async function verifyDownload(secret: string, id: string, expires: string | undefined, signature: string | undefined, now: number): Promise<{ ok: true } | { ok: false; reason: LinkRefusal }> {
	if (!EXPORT_ID.test(id) || !expires || !/^[0-9]{1,12}$/.test(expires) || !signature || !SIG.test(signature)) return { ok: false, reason: "malformed" };
	const given = unb64url(signature);
	if (!given || b64url(given) !== signature) return { ok: false, reason: "malformed" };
	const want = await sign(secret, id, expires);
	let diff = given.length ^ want.length;
	for (let i = 0; i < want.length; i++) diff |= (given[i] ?? 0) ^ want[i]!;
	if (diff !== 0) return { ok: false, reason: "bad_signature" };
	if (Number(expires) * 1000 <= now) return { ok: false, reason: "expired" };
	return { ok: true };
}
