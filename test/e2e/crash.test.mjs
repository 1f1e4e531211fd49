// Crash safety of ingest: "a 2xx means the events survive a crash of any process" (GUIDE §1).
// Several senders post batches to a real `wrangler dev` while the workerd runtime is SIGKILLed
// mid-load, alternately alone (wrangler restarts it) and together with the whole wrangler
// process group (we restart it on the same persist dir). At the end every acknowledged
// message_id must be in D1 exactly once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEV, startServer } from "./server.mjs";

const SENDERS = 4;
const CRASHES = 6; // alternating: runtime only, whole process group
const ACKS_BETWEEN_CRASHES = 12; // acknowledged batches since the last restart before the next kill
const MAX_ATTEMPTS = 4; // per batch; a batch that never gets a 2xx is abandoned (fine: not acknowledged)
const FIRE_AND_FORGET = 0; // this sender never retries: its failed batches are abandoned at once

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Small seeded PRNG: batch sizes and kill delays vary within the same bounds on every run. */
function mulberry32(seed) {
	return () => {
		seed = (seed + 0x6d2b79f5) | 0;
		let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

let server;
const TESTS = 2;
let passed = 0; // the temp dir (state + wrangler log) is kept when a test fails
const log = (...a) => console.log(`[crash +${Math.round(performance.now())}ms]`, ...a);

before(
	async () => {
		server = await startServer({ name: "edgewise-e2e-crash", log });
	},
	{ timeout: 240_000 },
);

after(async () => {
	await server?.cleanup({ keepOnFailure: true, failed: passed < TESTS });
});

test("every acknowledged event survives SIGKILLs of the runtime and lands in D1 exactly once", { timeout: 180_000 }, async (t) => {
	const t0 = Date.now();
	const rand = mulberry32(20261122);
	const acked = new Set(); // message_ids whose request got a 2xx
	const sent = new Set(); // every message_id we tried to send
	const abandoned = new Set();
	const problems = []; // unexpected answers: fail the test
	const counters = { requests: 0, ok: 0, networkErrors: 0, http5xx: 0, http429: 0, retriedOk: 0, dupOnAck: 0, ackedEventsInclDupes: 0 };
	const failures = {}; // answers that were not a 2xx, by kind (expected around kills)
	const samples = {}; // the first answer of each failing kind
	let acksSinceRestart = 0;
	let stopping = false;
	/** Resolves when the server is up; replaced by a pending promise while we restart it. */
	let up = Promise.resolve();

	async function postBatch(events) {
		counters.requests++;
		const res = await server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { events }, timeoutMs: 20_000 });
		const text = await res.text();
		let body;
		try {
			body = JSON.parse(text);
		} catch {
			body = text;
		}
		return { status: res.status, body, headers: Object.fromEntries(res.headers) };
	}

	async function sender(id) {
		let seq = 0;
		while (!stopping) {
			const n = 50 + Math.floor(rand() * 151);
			const events = Array.from({ length: n }, () => {
				const i = seq++;
				return {
					event: ["page_view", "click", "signup", "purchase"][i % 4],
					user_id: `u${id}-${i % 37}`,
					message_id: `crash-s${id}-${i}`,
					properties: { sender: id, i },
				};
			});
			for (const e of events) sent.add(e.message_id);
			let ok = false;
			const attempts = id === FIRE_AND_FORGET ? 1 : MAX_ATTEMPTS;
			for (let attempt = 0; attempt < attempts && !ok; attempt++) {
				await up;
				let r;
				try {
					r = await postBatch(events);
				} catch (err) {
					counters.networkErrors++;
					const key = `fetch: ${err.cause?.code ?? err.name}`;
					failures[key] = (failures[key] ?? 0) + 1;
					await sleep(150);
					continue;
				}
				if (r.status >= 200 && r.status < 300) {
					ok = true;
					counters.ok++;
					counters.ackedEventsInclDupes += n;
					if (attempt > 0) counters.retriedOk++;
					const b = r.body;
					if (b.accepted + b.duplicates !== n || b.rejected !== 0)
						problems.push(`2xx with accepted=${b.accepted} duplicates=${b.duplicates} rejected=${b.rejected} for ${n} events`);
					// Duplicates on an ack: an earlier attempt was committed but its answer was lost.
					counters.dupOnAck += b.duplicates;
					for (const e of events) acked.add(e.message_id);
					acksSinceRestart++;
				} else if (r.status >= 500) {
					counters.http5xx++;
					const key = `${r.status} ${r.body?.error?.code ?? String(r.body).split("\n")[0].slice(0, 80)}`;
					failures[key] = (failures[key] ?? 0) + 1;
					samples[key] ??= { headers: r.headers, body: r.body };
					await sleep(150);
				} else if (r.status === 429) {
					counters.http429++;
					await sleep(500);
				} else {
					problems.push(`HTTP ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
					break;
				}
			}
			if (!ok) for (const e of events) abandoned.add(e.message_id);
		}
	}

	async function waitAcks(n, timeoutMs = 60_000) {
		const until = Date.now() + timeoutMs;
		while (acksSinceRestart < n) {
			if (Date.now() > until) throw new Error(`only ${acksSinceRestart} acks in ${timeoutMs} ms`);
			if (problems.length) throw new Error(`unexpected answers: ${problems.slice(0, 3).join("; ")}`);
			await sleep(20);
		}
	}

	const senders = Array.from({ length: SENDERS }, (_, i) => sender(i));
	const kills = [];
	try {
		for (let k = 0; k < CRASHES; k++) {
			await waitAcks(ACKS_BETWEEN_CRASHES);
			await sleep(Math.floor(rand() * 250));
			const mode = k % 2 === 0 ? "runtime" : "group";
			const ackedBefore = acked.size;
			const tk = Date.now();
			let release;
			if (mode === "runtime") {
				// wrangler restarts the runtime by itself; senders keep retrying meanwhile.
				const pids = await server.killRuntime();
				kills.push({ mode, pids, ackedBefore, downMs: Date.now() - tk });
			} else {
				up = new Promise((r) => (release = r));
				try {
					const pids = await server.crash();
					await server.start();
					kills.push({ mode, pids, ackedBefore, downMs: Date.now() - tk });
				} finally {
					release();
				}
			}
			acksSinceRestart = 0;
			log(`kill #${k + 1} (${mode}): SIGKILL ${kills.at(-1).pids.join(",")} with ${ackedBefore} events acked; back in ${kills.at(-1).downMs} ms`);
		}
		await waitAcks(ACKS_BETWEEN_CRASHES);
	} finally {
		stopping = true;
		await Promise.all(senders);
	}
	assert.deepEqual(problems, [], "the server gave unexpected answers");
	assert.equal(kills.length, CRASHES);
	const loadMs = Date.now() - t0;

	// The hub must still know every acknowledged id after the crashes: resending is a no-op.
	const sample = [...acked].slice(0, 100).map((id) => ({ event: "resend", user_id: "u", message_id: id }));
	const resend = await server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { events: sample } });
	assert.equal(resend.status, 200);
	const rb = await resend.json();
	assert.equal(rb.accepted, 0, "re-sent acknowledged ids must be duplicates");
	assert.equal(rb.duplicates, sample.length);

	const flushed = await server.waitFlushed({ timeoutMs: 45_000, alarmGraceMs: 5000 });
	const stats = flushed.stats;

	const rows = server.d1("SELECT message_id, count(*) AS n FROM events WHERE tenant_id = ? GROUP BY message_id", DEV.tenant);
	const inD1 = new Map(rows.map((r) => [r.message_id, Number(r.n)]));
	const total = Number(server.d1("SELECT count(*) AS n FROM events WHERE tenant_id = ?", DEV.tenant)[0].n);
	const missing = [...acked].filter((id) => !inD1.has(id));
	const dupes = [...inD1].filter(([, n]) => n !== 1);
	const strangers = [...inD1.keys()].filter((id) => !sent.has(id));
	const unackedLanded = [...inD1.keys()].filter((id) => sent.has(id) && !acked.has(id)).length;
	const rejectedRows = Number(server.d1("SELECT count(*) AS n FROM rejected_events WHERE tenant_id = ?", DEV.tenant)[0].n);

	const summary = {
		ms: { load: loadMs, total: Date.now() - t0, flushWait: flushed.ms },
		kills: kills.map((k) => `${k.mode}:${k.downMs}ms`),
		counters,
		failures,
		sent: sent.size,
		acked: acked.size,
		abandoned: abandoned.size,
		d1Rows: total,
		unackedLanded,
		flushNeededCron: flushed.usedCron,
		stats,
		runtimeRestartsLogged: server.logLines(/runtime crashed unexpectedly/i).length,
	};
	log(JSON.stringify(summary, null, 1));
	if (process.env.E2E_VERBOSE) log("first failing answers:", JSON.stringify(samples, null, 1));
	t.diagnostic(`sent ${sent.size}, acked ${acked.size}, abandoned ${abandoned.size}, in D1 ${total} (unacked but landed: ${unackedLanded})`);

	assert.equal(missing.length, 0, `${missing.length} acknowledged events are missing from D1, e.g. ${missing.slice(0, 5).join(", ")}`);
	assert.equal(dupes.length, 0, `message_ids stored more than once: ${dupes.slice(0, 5).map(([id, n]) => `${id}×${n}`).join(", ")}`);
	assert.equal(total, inD1.size, "row count equals distinct message_id count");
	assert.equal(strangers.length, 0, `D1 holds ids we never sent: ${strangers.slice(0, 5).join(", ")}`);
	assert.ok(acked.size > 0 && acked.size <= total);
	// Stats identity and its agreement with D1.
	assert.equal(stats.received, stats.accepted + stats.rejected + stats.duplicates, `received = accepted + rejected + duplicates: ${JSON.stringify(stats)}`);
	assert.equal(stats.rejected, 0);
	assert.equal(rejectedRows, 0);
	assert.equal(stats.buffered, 0);
	assert.equal(stats.accepted, total, "every accepted event is in D1, and only those");
	assert.equal(stats.flushed, total, "flushed counts what reached D1");
	assert.ok(stats.received >= counters.ackedEventsInclDupes + sample.length, "received counts at least every acknowledged request's events");
	assert.equal(stats.last_flush_error, null);
	passed++;
});

test("events still buffered in the hub when the process group is SIGKILLed are flushed after restart by the persisted alarm", { timeout: 90_000 }, async (t) => {
	const bufferedOnDisk = () => Number(server.hub("SELECT coalesce(sum(n), 0) AS n FROM buffer")[0].n);
	const before = await server.stats();
	let caught = 0;
	let ids = [];
	// The flush alarm fires 200 ms after a write: kill right after the ack to catch the events in
	// the buffer. On a slow machine the flush may win; try a few times.
	for (let attempt = 0; attempt < 3 && !caught; attempt++) {
		const batch = Array.from({ length: 500 }, (_, i) => ({ event: "late", user_id: "u-late", message_id: `buffered-${attempt}-${i}` }));
		const victims = server.workerdProcesses().map((p) => p.pid);
		const res = await server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { events: batch } });
		const body = await res.json();
		for (const pid of victims) {
			try {
				process.kill(pid, "SIGKILL");
			} catch {}
		}
		assert.equal(res.status, 200, JSON.stringify(body));
		assert.equal(body.accepted, 500);
		ids = ids.concat(batch.map((e) => e.message_id));
		caught = bufferedOnDisk();
		await server.crash();
		await server.start();
		if (!caught) await server.waitFlushed(); // flushed before the kill: nothing to prove this round
	}
	t.diagnostic(caught ? `${caught} events were in the hub buffer at the SIGKILL` : "the flush always beat the kill; buffer path not exercised");

	// No request touches the hub from here on (/healthz does not): only its persisted alarm can flush.
	const until = Date.now() + 20_000;
	while (bufferedOnDisk() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
	assert.equal(bufferedOnDisk(), 0, "the persisted alarm drained the buffer after the restart, without traffic or cron");

	const landed = server.d1("SELECT count(*) AS n FROM events WHERE tenant_id = ? AND message_id LIKE 'buffered-%'", DEV.tenant);
	assert.equal(Number(landed[0].n), ids.length, "every acknowledged event of the killed batches is in D1");
	const stats = await server.stats();
	assert.equal(stats.buffered, 0);
	assert.equal(stats.accepted - before.accepted, ids.length);
	assert.equal(stats.received, stats.accepted + stats.rejected + stats.duplicates);
	passed++;
});
