// The official Segment Node SDK, unmodified, pointed at Edgewise with nothing but its `host`
// option (plus flush tuning so the test is quick): every call type must land in D1 as the
// Segment spec means it, and a re-sent messageId must be deduplicated.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Analytics } from "@segment/analytics-node";
import { DEV, startServer } from "./server.mjs";

const CHROME_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

let server;
const TESTS = 4;
let passed = 0; // the temp dir (state + logs) is kept when a test fails
const log = (...a) => console.log(`[segment +${Math.round(performance.now())}ms]`, ...a);

before(
	async () => {
		server = await startServer({ name: "edgewise-e2e-segment", log });
	},
	{ timeout: 240_000 },
);

after(async () => {
	await server?.cleanup({ keepOnFailure: true, failed: passed < TESTS });
});

/** An SDK client as a user would configure it, recording what happened on the wire. */
function client(writeKey = DEV.ingestKey, extra = {}) {
	const analytics = new Analytics({ writeKey, host: server.url, flushAt: 100, flushInterval: 300, maxRetries: 1, ...extra });
	const wire = { requests: [], responses: [], errors: [] };
	analytics.on("http_request", (r) => wire.requests.push(r));
	analytics.on("http_response", (r) => wire.responses.push(r));
	analytics.on("error", (e) => wire.errors.push(e));
	/** Calls `analytics[method](params)` and resolves with the delivery outcome of that call. */
	const send = (method, params) => new Promise((resolve) => analytics[method](params, (err, ctx) => resolve({ err, ctx, method })));
	return { analytics, wire, send };
}

const byId = (id) => {
	const rows = server.d1("SELECT * FROM events WHERE tenant_id = ? AND message_id = ?", DEV.tenant, id);
	assert.equal(rows.length, 1, `exactly one row for ${id}, found ${rows.length}`);
	const r = rows[0];
	return { ...r, properties: JSON.parse(r.properties), traits: r.traits == null ? null : JSON.parse(r.traits), context: r.context == null ? null : JSON.parse(r.context) };
};

test("each Segment call type from @segment/analytics-node lands in D1 with the right shape", { timeout: 60_000 }, async () => {
	const { analytics, wire, send } = client();
	const t0 = Date.now();
	const anHourAgo = new Date(t0 - 3600_000);
	const ctx = { ip: "203.0.113.9", userAgent: CHROME_UA, location: { country: "FR", city: "Lyon" }, campaign: { source: "newsletter" } };
	const calls = await Promise.all([
		send("track", {
			userId: "user-1",
			anonymousId: "anon-1",
			event: "Order Completed",
			messageId: "sdk-track-1",
			properties: { order_id: "o-1", revenue: 42.5, currency: "EUR", product: { sku: "sku-1", price: 10 }, tags: ["a", "b"], coupon: null, gift: false },
			context: ctx,
		}),
		send("track", { anonymousId: "anon-2", event: "Signed Up", messageId: "sdk-track-anon", timestamp: anHourAgo }),
		send("identify", {
			userId: "user-1",
			messageId: "sdk-identify-1",
			traits: { email: "ada@example.com", name: "Ada", plan: "pro", logins: 3, address: { city: "Paris", country: "FR" } },
		}),
		send("page", { userId: "user-1", category: "Docs", name: "Getting started", messageId: "sdk-page-1", properties: { url: "https://example.com/docs/start", path: "/docs/start" } }),
		send("screen", { anonymousId: "anon-3", name: "Home", messageId: "sdk-screen-1", properties: { variant: "b" } }),
		send("group", { userId: "user-1", groupId: "org-42", messageId: "sdk-group-1", traits: { name: "Acme", employees: 120, plan: "enterprise" } }),
		send("alias", { userId: "user-1", previousId: "anon-1", messageId: "sdk-alias-1" }),
	]);
	await analytics.closeAndFlush({ timeout: 20_000 });
	const t1 = Date.now();

	// What the SDK saw: one POST to /v1/batch with Basic auth, answered 200; no delivery failure.
	assert.deepEqual(
		calls.filter((c) => c.err).map((c) => `${c.method}: ${c.err?.message ?? c.err}`),
		[],
		"every call was delivered",
	);
	assert.deepEqual(wire.errors, []);
	assert.ok(wire.requests.length >= 1);
	for (const r of wire.requests) {
		assert.equal(r.url, `${server.url}/v1/batch`);
		assert.match(r.headers.Authorization, /^Basic /);
	}
	assert.deepEqual(
		wire.responses.map((r) => r.status),
		wire.requests.map(() => 200),
	);

	await server.waitFlushed();

	const track = byId("sdk-track-1");
	assert.equal(track.type, "track");
	assert.equal(track.event, "Order Completed");
	assert.equal(track.user_id, "user-1");
	assert.equal(track.anonymous_id, "anon-1");
	// Nested properties are flattened into dotted keys, arrays kept as JSON text; nothing dropped.
	assert.deepEqual(track.properties, {
		order_id: "o-1",
		revenue: 42.5,
		currency: "EUR",
		"product.sku": "sku-1",
		"product.price": 10,
		tags: '["a","b"]',
		coupon: null,
		gift: false,
	});
	assert.equal(track.traits, null);
	assert.equal(track.context.library.name, "@segment/analytics-node");
	assert.equal(track.context.campaign.source, "newsletter");
	// The end user's context wins over the SDK's own request (a backend forwarding a browser hit).
	assert.equal(track.country, "FR");
	assert.equal(track.city, "Lyon");
	assert.equal(track.browser, "Chrome");
	assert.equal(track.os, "Windows");
	assert.equal(track.device, "desktop");
	assert.equal(track.is_bot, 0);

	const anon = byId("sdk-track-anon");
	assert.equal(anon.type, "track");
	assert.equal(anon.event, "Signed Up");
	assert.equal(anon.user_id, null);
	assert.equal(anon.anonymous_id, "anon-2");
	assert.deepEqual(anon.properties, {});
	// No user agent in the event: the SDK's own ("analytics-node-next/…") marks a backend, not a bot.
	assert.equal(anon.device, "server");
	assert.equal(anon.is_bot, 0);

	const identify = byId("sdk-identify-1");
	assert.equal(identify.type, "identify");
	assert.equal(identify.event, "identify");
	assert.equal(identify.user_id, "user-1");
	assert.deepEqual(identify.traits, { email: "ada@example.com", name: "Ada", plan: "pro", logins: 3, address: { city: "Paris", country: "FR" } });
	assert.deepEqual(identify.properties, {});

	const page = byId("sdk-page-1");
	assert.equal(page.type, "page");
	assert.equal(page.event, "page_view");
	assert.equal(page.user_id, "user-1");
	assert.deepEqual(page.properties, { url: "https://example.com/docs/start", path: "/docs/start", category: "Docs", name: "Getting started" });
	assert.equal(page.traits, null);

	const screen = byId("sdk-screen-1");
	assert.equal(screen.type, "screen");
	assert.equal(screen.event, "screen_view");
	assert.equal(screen.user_id, null);
	assert.equal(screen.anonymous_id, "anon-3");
	assert.deepEqual(screen.properties, { variant: "b", name: "Home" });

	const group = byId("sdk-group-1");
	assert.equal(group.type, "group");
	assert.equal(group.event, "group");
	assert.equal(group.user_id, "user-1");
	assert.equal(group.group_id, "org-42");
	assert.deepEqual(group.traits, { name: "Acme", employees: 120, plan: "enterprise" });

	const alias = byId("sdk-alias-1");
	assert.equal(alias.type, "alias");
	assert.equal(alias.event, "alias");
	assert.equal(alias.user_id, "user-1");
	assert.equal(alias.previous_id, "anon-1");
	assert.equal(alias.anonymous_id, null);

	// Timestamps: the SDK stamps each call and the batch's sentAt; the server corrects skew
	// (timestamp = received_at - (sentAt - timestamp)), which on one machine is ~ the SDK's time.
	const all = [track, anon, identify, page, screen, group, alias];
	const slack = 2000;
	for (const e of all) {
		assert.ok(e.received_at >= t0 - slack && e.received_at <= t1 + slack, `${e.message_id} received_at ${e.received_at} in [${t0}, ${t1}]`);
		assert.ok(e.sent_at >= t0 - slack && e.sent_at <= t1 + slack, `${e.message_id} sent_at ${e.sent_at} in [${t0}, ${t1}]`);
		assert.ok(e.sent_at <= e.received_at + slack, `${e.message_id}: sent before received`);
		assert.equal(e.is_bot, 0);
		assert.equal(e.context.library.name, "@segment/analytics-node", `${e.message_id} keeps the SDK's context`);
	}
	for (const e of all.filter((x) => x !== anon))
		assert.ok(e.timestamp >= t0 - slack && e.timestamp <= t1 + slack, `${e.message_id} timestamp ${new Date(e.timestamp).toISOString()} within the test`);
	assert.ok(Math.abs(anon.timestamp - anHourAgo.getTime()) < slack, `an explicit past timestamp is kept: ${anon.timestamp} vs ${anHourAgo.getTime()}`);

	const stats = await server.stats();
	assert.equal(stats.received, stats.accepted + stats.rejected + stats.duplicates);
	assert.equal(stats.rejected, 0, "nothing the SDK sends is rejected");
	assert.deepEqual(server.d1("SELECT code, message FROM rejected_events"), []);
	passed++;
});

test("a messageId sent twice is stored once, within a batch and across batches", { timeout: 60_000 }, async () => {
	const before = await server.stats();
	const first = client();
	const r1 = await Promise.all([
		first.send("track", { userId: "user-2", event: "Clicked", messageId: "sdk-dup-1", properties: { attempt: 1 } }),
		// same messageId in the same batch
		first.send("track", { userId: "user-2", event: "Clicked", messageId: "sdk-dup-1", properties: { attempt: 2 } }),
		first.send("identify", { userId: "user-2", messageId: "sdk-dup-identify", traits: { v: 1 } }),
	]);
	await first.analytics.closeAndFlush({ timeout: 20_000 });
	// a later batch from a new client (e.g. a retry after a restart) re-sends both ids
	const second = client();
	const r2 = await Promise.all([
		second.send("track", { userId: "user-2", event: "Clicked", messageId: "sdk-dup-1", properties: { attempt: 3 } }),
		second.send("identify", { userId: "user-2", messageId: "sdk-dup-identify", traits: { v: 2 } }),
	]);
	await second.analytics.closeAndFlush({ timeout: 20_000 });

	// Duplicates are a success for the sender: Segment answers 200 and so must we.
	assert.deepEqual([...r1, ...r2].filter((c) => c.err).map((c) => String(c.err?.message ?? c.err)), []);
	for (const c of [first, second]) {
		assert.ok(c.wire.responses.length >= 1);
		assert.deepEqual(c.wire.responses.map((r) => r.status), c.wire.responses.map(() => 200));
	}

	await server.waitFlushed();
	const after = await server.stats();
	assert.equal(after.accepted - before.accepted, 2, "two distinct messages accepted");
	assert.equal(after.duplicates - before.duplicates, 3, "three re-sends counted as duplicates");
	assert.equal(after.received - before.received, 5);
	assert.equal(after.received, after.accepted + after.rejected + after.duplicates);
	// The first delivery wins.
	assert.deepEqual(byId("sdk-dup-1").properties, { attempt: 1 });
	assert.deepEqual(byId("sdk-dup-identify").traits, { v: 1 });
	passed++;
});

// Segment limits a batch by size (500 KB), not by count, and the SDK's flushAt has no upper bound;
// a 4xx makes the SDK drop the whole batch, so /v1/batch takes any count that fits in 500 KB.
test(
	"an SDK batch of 1,200 small events (under Segment's 500 KB batch limit) is accepted",
	{ timeout: 60_000 },
	async () => {
		const before = await server.stats();
		const { analytics, wire, send } = client(DEV.ingestKey, { flushAt: 1200, flushInterval: 5000 });
		const results = await Promise.all(Array.from({ length: 1200 }, (_, i) => send("track", { userId: "user-4", event: "Bulk", messageId: `sdk-bulk-${i}` })));
		await analytics.closeAndFlush({ timeout: 20_000 });
		assert.deepEqual(wire.responses.map((r) => r.status), [200], "one batch, accepted");
		assert.equal(results.filter((r) => r.err).length, 0);
		await server.waitFlushed();
		const after = await server.stats();
		assert.equal(after.accepted - before.accepted, 1200);
		assert.equal(Number(server.d1("SELECT count(*) AS n FROM events WHERE message_id LIKE 'sdk-bulk-%'")[0].n), 1200);
		passed++;
	},
);

test("a wrong write key is reported by the SDK as a delivery failure, not retried forever", { timeout: 60_000 }, async () => {
	const bad = client("ew_not_a_key", { maxRetries: 3 });
	const r = await bad.send("track", { userId: "user-3", event: "Nope", messageId: "sdk-badkey-1" });
	await bad.analytics.closeAndFlush({ timeout: 20_000 });
	assert.ok(r.err, "the callback reports the failure");
	assert.match(String(r.err?.message ?? r.err), /\[401\]/);
	assert.deepEqual(bad.wire.responses.map((x) => x.status), [401], "401 is final: one request, no retries");
	assert.equal(bad.wire.errors.length, 1);
	assert.equal(bad.wire.errors[0].code, "delivery_failure");
	assert.deepEqual(server.d1("SELECT message_id FROM events WHERE message_id = 'sdk-badkey-1'"), []);
	passed++;
});
