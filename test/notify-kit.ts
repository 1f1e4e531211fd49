// Test doubles and an independent verifier for scheduled reports and alerts (test/worker/schedules,
// test/worker/alerts): a Standard Webhooks verifier written from the spec with its own SHA-256 and
// HMAC (no WebCrypto, no code of workers/notify), a fake DNS and outside world for fetch, a mail
// outbox standing in for the send_email binding, and an exporter that writes a file to R2.
import { env } from "cloudflare:workers";
import type { NotifyDeps } from "../workers/notify/deliver";
import type { Exporter, ExportRow } from "../workers/schedules/exporter";

// --- SHA-256 (FIPS 180-4) and HMAC (RFC 2104), from the standards -----------------------------
const K = new Uint32Array([
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

export function sha256(msg: Uint8Array): Uint8Array {
	const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
	const len = msg.length;
	const padded = new Uint8Array(Math.ceil((len + 9) / 64) * 64);
	padded.set(msg);
	padded[len] = 0x80;
	const view = new DataView(padded.buffer);
	view.setUint32(padded.length - 8, Math.floor((len * 8) / 2 ** 32));
	view.setUint32(padded.length - 4, (len * 8) >>> 0);
	const w = new Uint32Array(64);
	for (let off = 0; off < padded.length; off += 64) {
		for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
		for (let i = 16; i < 64; i++) {
			const s0 = rotr(w[i - 15]!, 7) ^ rotr(w[i - 15]!, 18) ^ (w[i - 15]! >>> 3);
			const s1 = rotr(w[i - 2]!, 17) ^ rotr(w[i - 2]!, 19) ^ (w[i - 2]! >>> 10);
			w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) >>> 0;
		}
		let [a, b, c, d, e, f, g, hh] = h;
		for (let i = 0; i < 64; i++) {
			const t1 = (hh! + (rotr(e!, 6) ^ rotr(e!, 11) ^ rotr(e!, 25)) + ((e! & f!) ^ (~e! & g!)) + K[i]! + w[i]!) >>> 0;
			const t2 = ((rotr(a!, 2) ^ rotr(a!, 13) ^ rotr(a!, 22)) + ((a! & b!) ^ (a! & c!) ^ (b! & c!))) >>> 0;
			[hh, g, f, e, d, c, b, a] = [g, f, e, (d! + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
		}
		const add = [a, b, c, d, e, f, g, hh];
		for (let i = 0; i < 8; i++) h[i] = (h[i]! + add[i]!) >>> 0;
	}
	const out = new Uint8Array(32);
	const ov = new DataView(out.buffer);
	for (let i = 0; i < 8; i++) ov.setUint32(i * 4, h[i]!);
	return out;
}

export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
	const block = new Uint8Array(64);
	block.set(key.length > 64 ? sha256(key) : key);
	const inner = new Uint8Array(64 + msg.length);
	const outer = new Uint8Array(64 + 32);
	for (let i = 0; i < 64; i++) {
		inner[i] = block[i]! ^ 0x36;
		outer[i] = block[i]! ^ 0x5c;
	}
	inner.set(msg, 64);
	outer.set(sha256(inner), 64);
	return sha256(outer);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
export function b64encode(bytes: Uint8Array): string {
	let out = "";
	for (let i = 0; i < bytes.length; i += 3) {
		const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
		out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : "=") + (i + 2 < bytes.length ? B64[n & 63]! : "=");
	}
	return out;
}
export function b64decode(s: string): Uint8Array {
	const clean = s.replace(/=+$/, "");
	const out: number[] = [];
	let bits = 0;
	let acc = 0;
	for (const ch of clean) {
		const v = B64.indexOf(ch);
		if (v < 0) throw new Error(`not base64: ${ch}`);
		acc = (acc << 6) | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out.push((acc >> bits) & 0xff);
		}
	}
	return new Uint8Array(out);
}
const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * Verifies a Standard Webhooks request as a receiver would: the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, each `v1,<base64>` in webhook-signature is compared
 * with the HMAC-SHA256 under the `whsec_` secret's base64 key, and the timestamp must be within
 * `toleranceSec` of `nowSec`. Returns whether any signature matched.
 */
export function verifyStandardWebhook(secret: string, headers: Headers, body: string, nowSec: number, toleranceSec = 300): boolean {
	const id = headers.get("webhook-id");
	const ts = headers.get("webhook-timestamp");
	const sigs = headers.get("webhook-signature");
	if (!id || !ts || !sigs) return false;
	if (Math.abs(nowSec - Number(ts)) > toleranceSec) return false;
	const key = b64decode(secret.replace(/^whsec_/, ""));
	const expected = b64encode(hmacSha256(key, utf8(`${id}.${ts}.${body}`)));
	return sigs.split(" ").some((s) => {
		const [version, sig] = s.split(",");
		return version === "v1" && sig === expected;
	});
}

// --- The outside world ------------------------------------------------------------------------

export interface Received {
	url: string;
	method: string;
	headers: Headers;
	body: string;
}

/**
 * A fake Internet: `dns` answers names, `routes` answer URLs (a status, or a function). Every request
 * is recorded; an unknown URL is a network error, as a connection refused would be.
 */
export function fakeNet(dns: Record<string, string[]> = {}) {
	const received: Received[] = [];
	const routes = new Map<string, ((r: Received) => Response | Promise<Response>)[]>();
	const lookups: string[] = [];
	const fetchFn = (async (input: RequestInfo | URL, init?: RequestInit) => {
		const req = new Request(input as RequestInfo, init);
		const r: Received = { url: req.url, method: req.method, headers: req.headers, body: await req.text() };
		received.push(r);
		const queue = routes.get(req.url);
		const handler = queue && (queue.length > 1 ? queue.shift() : queue[0]);
		if (!handler) throw new TypeError(`fetch failed: connection refused (${req.url})`);
		return handler(r);
	}) as typeof fetch;
	return {
		received,
		lookups,
		fetch: fetchFn,
		resolver: {
			async resolve(host: string) {
				lookups.push(host);
				if (!(host in dns)) return [];
				return dns[host]!;
			},
		},
		/** Answers for a URL, in order (the last one repeats). */
		on(url: string, ...answers: (number | ((r: Received) => Response | Promise<Response>))[]) {
			routes.set(
				url,
				answers.map((a) => (typeof a === "number" ? () => new Response((a >= 300 && a < 400) || a === 204 || a === 205 ? null : `status ${a}`, { status: a }) : a)),
			);
		},
		to(url: string) {
			return received.filter((r) => r.url === url);
		},
	};
}

export interface SentMail {
	from: string;
	to: string[];
	subject: string;
	text: string;
	html: string;
	attachments: { filename: string; type: string; bytes: number }[];
}

/** What the send_email binding would have been asked to send. */
export function outbox() {
	const sent: SentMail[] = [];
	let failures = 0;
	const binding = {
		async send(m: any) {
			if (failures > 0) {
				failures--;
				throw new Error("email service unavailable");
			}
			sent.push({
				from: m.from,
				to: Array.isArray(m.to) ? m.to : [m.to],
				subject: m.subject,
				text: m.text,
				html: m.html,
				attachments: (m.attachments ?? []).map((a: any) => ({ filename: a.filename, type: a.type, bytes: (a.content as ArrayBuffer).byteLength })),
			});
			return { messageId: `<test-${sent.length}@edgewise.test>` };
		},
	};
	return { sent, binding: binding as unknown as SendEmail, failNext: (n: number) => (failures = n) };
}

/**
 * An exporter standing in for workers/exports: an `exports` row in D1 (queued) whose file the test
 * completes with `finish` (a small PDF-like file in R2). Its links are `${origin}/v1/exports/<id>/download?sig=test`.
 */
export function fakeExporter() {
	const started: { tenantId: string; request: { kind: string; id: string; format: string }; scheduleId: string; id: string }[] = [];
	let n = 0;
	const exporter: Exporter = {
		async start(e, tenantId, request, opts) {
			const id = `exp_t${String(++n).padStart(3, "0")}${[...crypto.getRandomValues(new Uint8Array(6))].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
			started.push({ tenantId, request, scheduleId: opts.scheduleId, id });
			const now = Date.now();
			await e.DB.prepare(
				`INSERT INTO exports (id, tenant_id, kind, format, request, state, created_at, expires_at, schedule_id) VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?8)`,
			)
				.bind(id, tenantId, request.kind, request.format, JSON.stringify(request), now, now + 7 * 86_400_000, opts.scheduleId)
				.run();
			return id;
		},
		async signedUrl(_e, origin, row: ExportRow, ttlMs) {
			return `${origin}/v1/exports/${row.id}/download?expires=${Math.round(ttlMs / 1000)}&sig=test`;
		},
	};
	return {
		exporter,
		started,
		async finish(id: string, bytes = 1234) {
			const key = `exports/test/${id}.pdf`;
			await env.ARCHIVE.put(key, new Uint8Array(bytes).fill(37));
			await env.DB.prepare("UPDATE exports SET state = 'done', rows = 3, bytes = ?2, r2_key = ?3, finished_at = ?4 WHERE id = ?1").bind(id, bytes, key, Date.now()).run();
		},
		async fail(id: string, error: string) {
			await env.DB.prepare("UPDATE exports SET state = 'failed', error = ?2 WHERE id = ?1").bind(id, error).run();
		},
	};
}

/** NotifyDeps for a test: the fake net, the outbox, the fake exporter; private destinations refused. */
export function testDeps(net: ReturnType<typeof fakeNet>, mail: ReturnType<typeof outbox>, exporter?: Exporter, allowPrivate = false): NotifyDeps {
	return {
		fetch: net.fetch,
		resolver: net.resolver,
		email: mail.binding,
		emailFrom: "Edgewise <reports@edgewise.test>",
		allowPrivate,
		exporter: exporter ?? fakeExporter().exporter,
	};
}
