// Faults between the hub's buffer and D1, on a real `wrangler dev`: D1 refusing a row, D1 locked by
// another process for a while, and the runtime killed while a large buffer is being flushed. Every
// acknowledged event must end up in D1 exactly once; an event D1 refuses goes to rejected_events
// with its reason; an outage blames no event.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { after, before, test } from "node:test";
import { DEV, startServer } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let server;
const log = (...a) => console.log(`[flush-faults +${Math.round(performance.now())}ms]`, ...a);

before(async () => {
	// Hubs re-read their tenant and keys every second (not every minute), so refreshes fall inside the
	// D1 outage below: ingest must go on with what the hub knew.
	server = await startServer({ name: "edgewise-e2e-flush-faults", log, vars: { HUB_KEY_REFRESH_MS: "1000" } });
}, { timeout: 240_000 });
after(async () => {
	await server?.cleanup();
});

const ev = (id, event = "fault") => ({ event, user_id: `u-${id}`, message_id: id });
async function send(events) {
	const res = await server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { events } });
	const body = await res.json();
	assert.equal(res.status, 200, JSON.stringify(body));
	return body;
}
/** message_id → rows in D1, for ids with this prefix. */
function stored(prefix) {
	const rows = server.d1("SELECT message_id, count(*) AS n FROM events WHERE tenant_id = ? AND message_id LIKE ? GROUP BY message_id", DEV.tenant, `${prefix}%`);
	return new Map(rows.map((r) => [r.message_id, r.n]));
}
/** A write lock on the D1 file, held by this process: D1 answers SQLITE_BUSY until it is released. */
function lockD1() {
	const db = new DatabaseSync(server.d1File());
	db.exec("BEGIN IMMEDIATE");
	return () => {
		db.exec("ROLLBACK");
		db.close();
	};
}
function d1Write(sql) {
	const db = new DatabaseSync(server.d1File());
	try {
		db.exec(sql);
	} finally {
		db.close();
	}
}

test("a row D1 refuses is moved to rejected_events with D1's reason; the events around it land once", async () => {
	d1Write(`CREATE TRIGGER e2e_refuse BEFORE INSERT ON events WHEN NEW.event = 'refused-by-d1' BEGIN SELECT RAISE(ABORT, 'refused by the e2e trigger'); END`);
	try {
		const ids = [];
		for (let b = 0; b < 5; b++) {
			const events = Array.from({ length: 40 }, (_, i) => ev(`rf-${b}-${i}`));
			events.splice(7 * b, 0, ev(`rf-poison-${b}`, "refused-by-d1"));
			ids.push(...events.filter((e) => e.event !== "refused-by-d1").map((e) => e.message_id));
			assert.equal((await send(events)).accepted, 41);
		}
		const { stats } = await server.waitFlushed({ timeoutMs: 60_000 });
		assert.equal(stats.storage_refused, 5);
		assert.equal(stats.received, stats.accepted + stats.rejected + stats.duplicates);
		const got = stored("rf-");
		assert.deepEqual([...got.entries()].filter(([, n]) => n !== 1), [], "every good event once");
		assert.deepEqual(ids.filter((id) => !got.has(id)), [], "no good event lost");
		for (let b = 0; b < 5; b++) assert.equal(got.has(`rf-poison-${b}`), false);
		const moved = server.d1("SELECT message, details FROM rejected_events WHERE tenant_id = ? AND code = 'storage_refused'", DEV.tenant);
		assert.equal(moved.length, 5);
		assert.match(moved[0].message, /refused by the e2e trigger/);
		assert.deepEqual(moved.map((r) => JSON.parse(r.details).message_id).sort(), [0, 1, 2, 3, 4].map((b) => `rf-poison-${b}`));
	} finally {
		d1Write("DROP TRIGGER IF EXISTS e2e_refuse");
	}
});

test("D1 locked for seconds: ingest is still acknowledged, nothing is blamed, everything lands once after", async () => {
	const before = (await server.stats()).storage_refused;
	const release = lockD1();
	let released = false;
	try {
		const ids = [];
		for (let b = 0; b < 10; b++) {
			const events = Array.from({ length: 50 }, (_, i) => ev(`lk-${b}-${i}`));
			ids.push(...events.map((e) => e.message_id));
			assert.equal((await send(events)).accepted, 50);
			await sleep(300);
		}
		const hub = server.hub("SELECT buffered, last_flush_error FROM stats")[0];
		assert.equal(hub.buffered, 500);
		assert.match(hub.last_flush_error, /locked|BUSY/);
		// Reads that need D1 say it is unavailable, with the structured error.
		const res = await server.fetch("/v1/ingest/stats", { key: DEV.readKey });
		assert.equal(res.status, 503);
		assert.equal((await res.json()).error.code, "unavailable");
		assert.equal((await server.fetch("/readyz")).status, 503);
		release();
		released = true;
		const { stats } = await server.waitFlushed({ timeoutMs: 60_000 });
		assert.equal(stats.storage_refused, before, "an outage refuses no event");
		const got = stored("lk-");
		assert.equal(got.size, ids.length);
		assert.ok([...got.values()].every((n) => n === 1));
		assert.equal((await server.fetch("/readyz")).status, 200);
	} finally {
		if (!released) release();
	}
});

test("the runtime killed while a large buffer is flushing: every acknowledged event lands once", async () => {
	const release = lockD1();
	const ids = [];
	try {
		for (let b = 0; b < 20; b++) {
			const events = Array.from({ length: 500 }, (_, i) => ev(`mf-${b}-${i}`));
			ids.push(...events.map((e) => e.message_id));
			assert.equal((await send(events)).accepted, 500);
		}
	} finally {
		release();
	}
	// The buffer flushes in D1 batches of 2,000 events: kill the runtime while it is part way.
	let landed = 0;
	for (let i = 0; i < 400 && landed === 0; i++) {
		landed = stored("mf-").size;
		if (!landed) await sleep(5);
	}
	await server.killRuntime();
	log(`killed the runtime with ${landed} of ${ids.length} events in D1`);
	const { stats } = await server.waitFlushed({ timeoutMs: 90_000 });
	const got = stored("mf-");
	assert.equal(got.size, ids.length, "no acknowledged event lost");
	assert.deepEqual([...got.entries()].filter(([, n]) => n !== 1), [], "none doubled");
	assert.equal(stats.buffered, 0);
	assert.equal(stats.received, stats.accepted + stats.rejected + stats.duplicates);
});
