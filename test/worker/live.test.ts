import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { TenantHub } from "../../workers/hub/tenant-hub";
import { ADMIN, BASE, call, ev, flush, hub, json, makeTenant } from "../helpers";

// Sockets, evictions and alarms take longer on a busy machine: a test waits for its messages up to
// 10 s each (a missing message fails it), so the test itself gets more than vitest's default 5 s.
vi.setConfig({ testTimeout: 30_000 });

interface Live {
	ws: WebSocket;
	messages: any[];
	next(timeoutMs?: number): Promise<any>;
	closed: Promise<{ code: number; reason: string }>;
}

async function openLive(query: string, headers: Record<string, string> = {}): Promise<{ res: Response; live: Live }> {
	const res = await exports.default.fetch(new Request(`${BASE}/v1/live${query}`, { headers: { upgrade: "websocket", ...headers } }));
	expect(res.status).toBe(101);
	const ws = res.webSocket!;
	const messages: any[] = [];
	const waiters: ((m: any) => void)[] = [];
	let read = 0;
	let onClose!: (c: { code: number; reason: string }) => void;
	const closed = new Promise<{ code: number; reason: string }>((r) => (onClose = r));
	ws.addEventListener("message", (m) => {
		const data = typeof m.data === "string" && m.data.startsWith("{") ? JSON.parse(m.data) : m.data;
		messages.push(data);
		waiters.shift()?.(data);
	});
	ws.addEventListener("close", (c) => onClose({ code: c.code, reason: c.reason }));
	ws.accept();
	const next = (timeoutMs = 10_000) =>
		new Promise<any>((resolve, reject) => {
			if (read < messages.length) return resolve(messages[read++]);
			const timer = setTimeout(() => reject(new Error("no message")), timeoutMs);
			waiters.push((m) => {
				clearTimeout(timer);
				read++;
				resolve(m);
			});
		});
	return { res, live: { ws, messages, next, closed } };
}

const ingest = (key: string, events: unknown[]) => call("/v1/events", { method: "POST", key, json: { events } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits past the next minute boundary when it is under 5 s away: at a boundary the hub sends every viewer a snapshot instead of a delta. */
async function clearOfMinuteEdge(): Promise<void> {
	const left = 60_000 - (Date.now() % 60_000);
	if (left < 5_000) await sleep(left + 100);
}

async function d1Window(tenant: string, sinceMs: number) {
	const total = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ? AND received_at >= ?").bind(tenant, sinceMs).first<{ n: number }>();
	const byEvent = await env.DB.prepare("SELECT event, count(*) AS n FROM events WHERE tenant_id = ? AND received_at >= ? GROUP BY event").bind(tenant, sinceMs).all<{ event: string; n: number }>();
	const users = await env.DB.prepare(
		"SELECT count(DISTINCT CASE WHEN user_id IS NOT NULL THEN 'u:' || user_id ELSE 'a:' || anonymous_id END) AS n FROM events WHERE tenant_id = ? AND received_at >= ?",
	)
		.bind(tenant, sinceMs - 29 * 60_000)
		.first<{ n: number }>();
	return { total: total!.n, byEvent: Object.fromEntries(byEvent.results.map((r) => [r.event, r.n])), users: users!.n };
}

describe("GET /v1/live", () => {
	it("sends a versioned snapshot on connect, then coalesced deltas after ingest", async () => {
		const t = await makeTenant("live-basic");
		await ingest(t.ingestKey, [ev("signup", { user_id: "a" }), ev("page_view", { user_id: "b" })]);
		const { live } = await openLive(`?key=${t.readKey}`);
		const snap = await live.next();
		expect(snap).toMatchObject({ v: 1, type: "snapshot", view: { event: null }, last_60m: 2, by_event: { signup: 1, page_view: 1 }, uniques: { last_5m: 2, last_30m: 2, method: "exact" } });
		expect(snap.series).toHaveLength(60);
		expect(snap.latest.map((f: { event: string }) => f.event)).toEqual(["page_view", "signup"]);
		await ingest(t.ingestKey, [ev("signup", { user_id: "c" }), ev("signup", { user_id: "a" })]);
		const delta = await live.next();
		expect(delta).toMatchObject({ v: 1, seq: snap.seq + 1, last_60m: 4, by_event: { signup: 3 }, uniques: { last_5m: 3 } });
		expect(["delta", "snapshot"]).toContain(delta.type);
		expect(delta.latest.map((f: { user_id: string }) => f.user_id)).toEqual(delta.type === "delta" ? ["a", "c"] : ["a", "c", "b", "a"]);
		live.ws.close(1000, "bye");
	});

	it("coalesces a burst into a few messages whose final numbers are exact", async () => {
		const t = await makeTenant("live-burst");
		const { live } = await openLive(`?key=${t.readKey}`);
		const snap = await live.next();
		expect(snap.last_60m).toBe(0);
		const started = Date.now();
		for (let i = 0; i < 40; i++) await ingest(t.ingestKey, Array.from({ length: 10 }, (_, j) => ev("msg", { user_id: `u${(i * 10 + j) % 37}` })));
		// Duplicates and rejected events must not count.
		await ingest(t.ingestKey, [ev("msg", { message_id: "dup" }), ev("msg", { message_id: "dup" }), { event: "bad" }]);
		await sleep(600);
		const elapsed = Date.now() - started;
		const updates = live.messages.slice(1);
		expect(updates.length).toBeGreaterThan(0);
		// At most one broadcast per 200 ms (plus a minute-boundary snapshot, should one fall inside).
		expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 200) + 2);
		expect(updates.length).toBeLessThan(41);
		const last = updates.at(-1);
		expect(last.last_60m).toBe(401);
		// u0..u36, and the duplicate's user (u1) is one of them.
		expect(last.uniques.last_5m).toBe(37);
		const hubStats = await json(await call("/v1/ingest/stats", { key: t.readKey }));
		expect(hubStats.hub.live_viewers).toBe(1);
		expect(hubStats.hub.live_messages).toBe(updates.length);
		const seqs = updates.map((m: { seq: number }) => m.seq);
		expect(seqs).toEqual(seqs.map((_: number, i: number) => snap.seq + 1 + i));
	});

	it("answers pings without the object, resyncs on request, and filters to one event", async () => {
		const t = await makeTenant("live-msgs");
		await ingest(t.ingestKey, [ev("a"), ev("b"), ev("b")]);
		const { live } = await openLive(`?key=${t.readKey}&event=b`);
		expect(await live.next()).toMatchObject({ type: "snapshot", view: { event: "b" }, last_60m: 2, by_event: { b: 2 } });
		live.ws.send("ping");
		expect(await live.next()).toBe("pong");
		live.ws.send(JSON.stringify({ type: "snapshot" }));
		expect(await live.next()).toMatchObject({ type: "snapshot", last_60m: 2 });
		live.ws.send(JSON.stringify({ type: "subscribe", event: null }));
		expect(await live.next()).toMatchObject({ type: "snapshot", view: { event: null }, last_60m: 3 });
		live.ws.send("{nope");
		expect(await live.next()).toMatchObject({ type: "error", code: "malformed_message" });
		live.ws.send(JSON.stringify({ type: "subscribe", event: 5 }));
		expect(await live.next()).toMatchObject({ type: "error", code: "invalid_view" });
		const stamps = await runInDurableObject(hub(t.id), (_i: TenantHub, state) => state.getWebSockets().map((ws) => state.getWebSocketAutoResponseTimestamp(ws)));
		expect(stamps.some((d) => d instanceof Date)).toBe(true);
	});

	it("survives hibernation/eviction: counters are rebuilt from D1 and the buffer, exactly", async () => {
		const t = await makeTenant("live-evict");
		await ingest(t.ingestKey, Array.from({ length: 30 }, (_, i) => ev(i % 3 ? "x" : "y", { user_id: `u${i % 7}` })));
		await flush(t.id);
		await ingest(t.ingestKey, Array.from({ length: 5 }, (_, i) => ev("z", { user_id: `w${i}` })));
		const { live } = await openLive(`?key=${t.readKey}`);
		const before = await live.next();
		expect(before).toMatchObject({ last_60m: 35, by_event: { x: 20, y: 10, z: 5 }, uniques: { last_5m: 12 } });
		await evictDurableObject(hub(t.id));
		live.ws.send(JSON.stringify({ type: "snapshot" }));
		const after = await live.next();
		expect({ ...after, at: null, seq: null }).toEqual({ ...before, at: null, seq: null });
	});

	it("keeps viewers updated after an eviction, without them asking (they get a resync snapshot)", async () => {
		const t = await makeTenant("live-evict-push");
		// The last message must be a delta: keep the test's half second away from a minute roll-over.
		await clearOfMinuteEdge();
		await ingest(t.ingestKey, [ev("a", { user_id: "x" })]);
		const { live } = await openLive(`?key=${t.readKey}`);
		expect(await live.next()).toMatchObject({ type: "snapshot", last_60m: 1 });
		await evictDurableObject(hub(t.id));
		await ingest(t.ingestKey, [ev("b", { user_id: "y" }), ev("b", { user_id: "z" })]);
		const pushed = await live.next();
		expect(pushed).toMatchObject({ type: "snapshot", last_60m: 3, by_event: { a: 1, b: 2 }, uniques: { last_5m: 3 } });
		await ingest(t.ingestKey, [ev("c", { user_id: "x" })]);
		expect(await live.next()).toMatchObject({ type: "delta", seq: pushed.seq + 1, last_60m: 4 });
	});

	it("counters equal D1 counts for the same window after the buffer flushes", async () => {
		const t = await makeTenant("live-d1");
		const { live } = await openLive(`?key=${t.readKey}`);
		await live.next();
		for (let r = 0; r < 6; r++) {
			await ingest(t.ingestKey, [
				...Array.from({ length: 20 }, (_, i) => ev(["open", "close", "reply"][i % 3]!, { user_id: `u${(r * 20 + i) % 23}`, message_id: `m${r}-${i}` })),
				ev("open", { message_id: `m${r}-0` }),
				{ event: "bad" },
				{ event: "anon", anonymous_id: `anon${r}` },
			]);
		}
		await flush(t.id);
		const snap = await json(await call("/v1/live/snapshot", { key: t.readKey }));
		const since = snap.series[0].t * 1000;
		const d1 = await d1Window(t.id, since);
		expect(snap.last_60m).toBe(d1.total);
		expect(snap.by_event).toEqual(d1.byEvent);
		expect(snap.uniques.last_30m).toBe(d1.users);
		expect(d1.total).toBe(126);
	});
});

describe("live auth and isolation", () => {
	it("closes with a clear code and reason for missing, unknown and wrong-scope keys", async () => {
		const t = await makeTenant("live-auth");
		const none = await openLive("");
		expect(await none.live.closed).toEqual({ code: 4401, reason: expect.stringContaining("Missing API key") });
		const unknown = await openLive("?key=ew_read_nope");
		expect(await unknown.live.next()).toEqual({ v: 1, type: "close", code: 4401, reason: "Unknown API key." });
		expect(await unknown.live.closed).toEqual({ code: 4401, reason: "Unknown API key." });
		const scope = await openLive("", { authorization: `Bearer ${t.ingestKey}` });
		expect((await scope.live.closed).code).toBe(4403);
		const viaProtocol = await openLive("", { "sec-websocket-protocol": `edgewise.live.v1, bearer.${t.readKey}` });
		expect(viaProtocol.res.headers.get("sec-websocket-protocol")).toBe("edgewise.live.v1");
		expect(await viaProtocol.live.next()).toMatchObject({ type: "snapshot" });
		const badQuery = await openLive(`?key=${t.readKey}&colour=red`);
		expect(await badQuery.live.closed).toEqual({ code: 4400, reason: 'Unrecognized key: "colour"' });
		const plain = await call("/v1/live", { key: t.readKey });
		expect(plain.status).toBe(426);
		expect((await json(plain)).error.code).toBe("upgrade_required");
	});

	it("revoking a read key closes its open sockets at once, and only its own", async () => {
		const t = await makeTenant("live-revoke");
		const other = await json(await call(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "read" } }));
		const a = await openLive(`?key=${t.readKey}`);
		const b = await openLive(`?key=${other.key}`);
		await a.live.next();
		await b.live.next();
		await call(`/v1/admin/tenants/${t.id}/keys/${t.readKeyId}`, { method: "DELETE", key: ADMIN });
		// Told at once why, so it can close itself; then, after the grace period, closed by the server.
		expect(await a.live.next()).toEqual({ v: 1, type: "close", code: 4401, reason: "API key revoked" });
		await ingest(t.ingestKey, [ev("after-revoke")]);
		expect(await a.live.closed).toEqual({ code: 4401, reason: "API key revoked" });
		expect(a.live.messages.filter((m) => m.type === "delta" || m.type === "snapshot")).toHaveLength(1);
		// The other key's socket stays: it got the event, and answers a snapshot request.
		expect(await b.live.next()).toMatchObject({ type: "delta", last_60m: 1 });
		b.live.ws.send(JSON.stringify({ type: "snapshot" }));
		expect(await b.live.next()).toMatchObject({ type: "snapshot" });
		const again = await openLive(`?key=${t.readKey}`);
		expect((await again.live.closed).code).toBe(4401);
	});

	it("no message of tenant A ever reaches a socket of tenant B", async () => {
		const a = await makeTenant("live-iso-a");
		const b = await makeTenant("live-iso-b");
		const sa = await openLive(`?key=${a.readKey}`);
		const sb = await openLive(`?key=${b.readKey}`);
		await sa.live.next();
		await sb.live.next();
		await ingest(a.ingestKey, [ev("secret", { user_id: "ceo" })]);
		expect(await sa.live.next()).toMatchObject({ last_60m: 1 });
		await sleep(600);
		expect(sb.live.messages).toHaveLength(1);
		expect(JSON.stringify(sb.live.messages)).not.toContain("secret");
		expect(await json(await call("/v1/live/snapshot", { key: b.readKey }))).toMatchObject({ last_60m: 0, latest: [] });
	});
});

describe("snapshot requests are limited and cheap", () => {
	it("a socket flooding snapshot requests gets a few, one rate_limited error, then is closed; ingest still flows", async () => {
		const t = await makeTenant("live-flood");
		const { live } = await openLive(`?key=${t.readKey}`);
		expect(await live.next()).toMatchObject({ type: "snapshot" });
		for (let i = 0; i < 1000; i++) live.ws.send(JSON.stringify({ type: "snapshot" }));
		const res = await ingest(t.ingestKey, [ev("during-flood")]);
		expect(res.status).toBe(200);
		expect(await live.closed).toEqual({ code: 4429, reason: "too many requests" });
		const snapshots = live.messages.filter((m) => m.type === "snapshot");
		const errors = live.messages.filter((m) => m.type === "error");
		// The first connect, the socket's burst of 5, and at most a refill or two while the flood was read.
		expect(snapshots.length).toBeGreaterThanOrEqual(6);
		expect(snapshots.length).toBeLessThanOrEqual(8);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatchObject({ code: "rate_limited" });
		expect(errors[0].retry_after_ms).toBeGreaterThan(0);
		const s = await json(await call("/v1/ingest/stats", { key: t.readKey }));
		// Snapshots between changes are one text built once: far fewer builds than sends.
		expect(s.hub.live_snapshots.built).toBeLessThanOrEqual(3);
		expect(s.hub.live_snapshots.refused).toBeGreaterThanOrEqual(50);
	});

	it("GET /v1/live/snapshot answers 429 with Retry-After past the key's allowance, never a 5xx", async () => {
		const t = await makeTenant("live-http-flood");
		const statuses = [];
		for (let i = 0; i < 40; i++) statuses.push((await call("/v1/live/snapshot", { key: t.readKey })).status);
		expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
		expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
		expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
		const refused = await call("/v1/live/snapshot", { key: t.readKey });
		if (refused.status === 429) expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
	});

	it("refuses oversized and non-object messages with an error, without closing", async () => {
		const t = await makeTenant("live-odd-messages");
		const { live } = await openLive(`?key=${t.readKey}`);
		await live.next();
		live.ws.send("x".repeat(5000));
		expect(await live.next()).toMatchObject({ type: "error", code: "message_too_large" });
		live.ws.send("null");
		expect(await live.next()).toMatchObject({ type: "error", code: "malformed_message" });
		live.ws.send(JSON.stringify({ type: "snapshot" }));
		expect(await live.next()).toMatchObject({ type: "snapshot" });
	});
});
