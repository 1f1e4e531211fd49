// Standard Webhooks signatures (https://www.standardwebhooks.com): each request carries
// `webhook-id` (the same on every retry of one message), `webhook-timestamp` (Unix seconds of this
// attempt) and `webhook-signature`: space-separated `v1,<base64 HMAC-SHA256>` of
// `${id}.${timestamp}.${body}`, one per valid secret. A secret is `whsec_` + base64 of its key bytes.

const enc = new TextEncoder();

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes: Uint8Array): string {
	let s = "";
	for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
	return btoa(s);
}

export function fromBase64(b64: string): Uint8Array<ArrayBuffer> {
	const s = atob(b64);
	const out = new Uint8Array(s.length);
	for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
	return out;
}

export const SECRET_PREFIX = "whsec_";

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
	return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>` for one `whsec_` secret. */
export async function signV1(secret: string, id: string, timestamp: number, body: string): Promise<string> {
	const raw = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
	const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = await crypto.subtle.sign("HMAC", key, enc.encode(`${id}.${timestamp}.${body}`));
	return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The three Standard Webhooks headers for `body`, signed with every secret given (two during a rotation). */
export async function webhookHeaders(secrets: string[], id: string, timestamp: number, body: string): Promise<Record<string, string>> {
	const signatures = await Promise.all(secrets.map((s) => signV1(s, id, timestamp, body)));
	return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signatures.join(" ") };
}
