#!/usr/bin/env node
// `npm run bench:live`: 1,000 live viewers on one tenant while ingest runs flat out.
// Same runtime setup as bench:ingest (Miniflare on the production bundle, direct socket to the
// worker, no proxy). Passes on the same server, each started on an empty hub buffer:
//   A1, A2. ingest only (batches of 100, closed loop)    → peak ingest rate without viewers
//   B1, B2. the same closed loop with VIEWERS sockets    → ingest throughput lost, messages/s, CPU
//   L. open loop at 80% of A1's peak, viewers open       → ingest-to-viewer latency (closed loops
//                                                          measure queueing, not the live path), and a
//                                                          no-op request every 5 ms: how long the
//                                                          runtime's one thread is busy elsewhere
//   C. viewers connected, no ingest                      → idle cost of open sockets
// in the order A1 B1 L B2 C A2, so that D1's growth over the run weighs on A and B alike.
//
//   BENCH_SECONDS=10  BENCH_WARMUP=2  BENCH_VIEWERS=1000  BENCH_CONNECTIONS=16
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fork } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { DEV, devSeedSql } from "../scripts/dev-keys.mjs";
import { BIN, ROOT, wrangler } from "../scripts/lib.mjs";
import { percentile, runLoad } from "./lib/load.mjs";
import { startMiniflare } from "./lib/miniflare.mjs";
import { batchBodies } from "./lib/payloads.mjs";
import { cpuWindow, killAllSync, runMeta } from "./lib/system.mjs";

const env = process.env;
const num = (k, d) => (env[k] ? Number(env[k]) : d);
const CFG = { seconds: num("BENCH_SECONDS", 10), warmup: num("BENCH_WARMUP", 2), viewers: num("BENCH_VIEWERS", 1000), connections: num("BENCH_CONNECTIONS", 16) };
const DATA = join(ROOT, "bench", ".data");
const STATE = join(DATA, "live-state");
const BUILD = join(DATA, "build-live");
const PORTS = { entry: 8950, direct: 8951 };
const HEADERS = { authorization: `Bearer ${DEV.ingestKey}`, "content-type": "application/json" };
const log = (...a) => console.error("•", ...a);
const fmt = (n, d = 0) => (n == null || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let viewers = null;
process.on("exit", () => {
	viewers?.kill("SIGKILL");
	killAllSync();
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));

async function startServer() {
	const spec = { persist: STATE.replace(`${ROOT}/`, ""), entryPort: PORTS.entry, workers: [{ name: "edgewise", config: "wrangler.toml", scriptPath: join(BUILD, "index.js").replace(`${ROOT}/`, ""), directPort: PORTS.direct }] };
	const mf = await startMiniflare(spec);
	return { base: mf.direct.edgewise.replace(/\/$/, ""), pids: mf.group, stop: mf.stop };
}

async function hubStats(base) {
	const r = await fetch(`${base}/v1/ingest/stats`, { headers: { authorization: `Bearer ${DEV.readKey}` } });
	return r.json();
}

function ask(child, msg) {
	return new Promise((resolve) => {
		child.once("message", resolve);
		child.send(msg);
	});
}

/**
 * A no-op request (`GET /healthz`) on its own connection every 5 ms while a pass runs. It does no
 * work, so its latency is how long the runtime's one thread was busy with something else: a floor
 * under every latency measured in that pass, live path or not.
 */
function heartbeat(base) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	const ms = [];
	let running = true;
	const loop = (async () => {
		while (running) {
			const t = performance.now();
			await new Promise((resolve) => http.get(`${base}/healthz`, { agent }, (r) => r.resume().on("end", resolve)).on("error", resolve));
			ms.push(performance.now() - t);
			await sleep(5);
		}
	})();
	return async () => {
		running = false;
		await loop;
		agent.destroy();
		const s = ms.sort((a, b) => a - b);
		const q = (p) => {
			const v = percentile(s, p);
			return v == null ? null : Math.round(v);
		};
		return { n: s.length, p50: q(50), p99: q(99), max: q(100), over_100ms: s.filter((x) => x > 100).length };
	};
}

/** Waits until the hub has flushed its buffer to D1; returns the milliseconds it took. */
async function drain(base) {
	const t0 = Date.now();
	for (let i = 0; i < 1200 && (await hubStats(base)).buffered > 0; i++) await sleep(50);
	return Date.now() - t0;
}

/**
 * One ingest pass, started on an empty buffer. `events_per_s` counts acknowledged events (durable in
 * the hub); `sustained_events_per_s` divides them by the pass *plus* the time the hub then needs to
 * flush them to D1. A closed loop can acknowledge faster than the hub flushes for a while (the
 * buffer absorbs it), and a pass that leaves a backlog would bill its flush to the next pass; the
 * sustained rate is what the whole pipeline keeps up with.
 */
async function ingestPass(name, server, bodies, rate = 0) {
	await drain(server.base);
	const cpu = cpuWindow(server.pids);
	const beats = rate ? heartbeat(server.base) : null;
	const r = await runLoad({ url: `${server.base}/v1/events`, headers: HEADERS, makeBody: () => bodies.next(), count: (_s, b) => Number(/"accepted":(\d+)/.exec(b)?.[1] ?? 0), connections: rate ? 64 : CFG.connections, rate, durationMs: CFG.seconds * 1000, warmupMs: CFG.warmup * 1000 });
	const c = cpu();
	const stall = await beats?.();
	if (stall) log(`${name}: no-op heartbeat request every 5 ms: p50 ${stall.p50} ms, p99 ${stall.p99} ms, max ${stall.max} ms (${stall.over_100ms} of ${stall.n} over 100 ms)`);
	const drainMs = await drain(server.base);
	const sustained = Math.round(r.events / (CFG.seconds + drainMs / 1000));
	log(`${name}: load generator CPU ${r.generator_cpu_pct}%`);
	log(`${name}: ${fmt(r.events_per_s)} events/s acknowledged, ${fmt(sustained)} events/s into D1 (buffer drained ${fmt(drainMs)} ms after), p99 ${fmt(r.latency_ms.p99, 1)} ms, runtime CPU ${c.server_cpu_pct}%, statuses ${JSON.stringify(r.statuses)}`);
	return { name, events_per_s: r.events_per_s, generator_cpu_pct: r.generator_cpu_pct, sustained_events_per_s: sustained, drain_ms: drainMs, req_per_s: r.req_per_s, latency_ms: r.latency_ms, statuses: r.statuses, cpu: c, ...(stall ? { heartbeat_ms: stall } : {}) };
}

/** One side (A or B) of the comparison: the mean of its two passes, and the worse p99. */
function bothPasses(x, y) {
	const mean = (k, of = (p) => p) => Math.round((of(x)[k] + of(y)[k]) / 2);
	return {
		events_per_s: mean("events_per_s"),
		sustained_events_per_s: mean("sustained_events_per_s"),
		latency_ms: { p99: Math.max(x.latency_ms.p99, y.latency_ms.p99) },
		cpu: { server_cpu_pct: mean("server_cpu_pct", (p) => p.cpu) },
	};
}

async function main() {
	const started = Date.now();
	mkdirSync(DATA, { recursive: true });
	log("building the production bundle…");
	wrangler(["deploy", "--dry-run", "--outdir", BUILD]);
	rmSync(STATE, { recursive: true, force: true });
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: STATE });
	wrangler(["d1", "execute", "DB", "--local", "--command", devSeedSql()], { persistTo: STATE });
	const server = await startServer();
	log(`worker on ${server.base} (direct socket, no proxy)`);
	const bodies = batchBodies(100, { runId: Date.now().toString(36) });
	const R = { meta: runMeta(ROOT, { config: CFG }) };
	try {
		// JIT, D1 pages and the hub's tables warm up first, so pass A is not penalised for going first.
		await ingestPass("warm-up", server, bodies);
		// Passes run A1 B1 L B2 A2: every pass adds to D1 (its tables and indexes grow), so a plain A-then-B
		// order bills that drift to the viewers. Mirrored, the A and B passes sit on average in the
		// same place, and each side's figure is the mean of two passes.
		const a1 = await ingestPass("A1. ingest, no viewers", server, bodies);

		viewers = fork(join(ROOT, "bench/lib/viewers.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execPath: join(BIN, "node") });
		const wsUrl = `${server.base.replace(/^http/, "ws")}/v1/live?key=${DEV.readKey}`;
		const conn = await ask(viewers, { cmd: "connect", url: wsUrl, count: CFG.viewers });
		log(`connected ${conn.connected}/${CFG.viewers} viewers in ${conn.ms} ms (${conn.failed} failed)`);
		R.connect = conn;
		await sleep(500);
		const h0 = await hubStats(server.base);
		await ask(viewers, { cmd: "reset" });
		const b1 = await ingestPass(`B1. ingest, ${conn.connected} viewers`, server, bodies);
		R.viewers = await ask(viewers, { cmd: "report" });
		const h1 = await hubStats(server.base);
		const rate = Math.round((0.8 * a1.events_per_s) / 100);
		await ask(viewers, { cmd: "reset" });
		R.at_80pct = await ingestPass(`L. ingest at 80% of A1's peak (${rate * 100} events/s), viewers`, server, bodies, rate);
		R.viewers_at_80pct = await ask(viewers, { cmd: "report" });
		const v = R.viewers_at_80pct;
		log(`viewers at 80%: latency p50 ${v.latency_ms.p50} ms p99 ${v.latency_ms.p99} ms (received → broadcast p99 ${v.hub_ms.p99} ms, fan-out p99 ${v.fanout_ms.p99} ms)`);
		R.hub = {
			broadcasts_per_s: Math.round((h1.hub.live_broadcasts - h0.hub.live_broadcasts) / R.viewers.seconds),
			messages_per_s: Math.round((h1.hub.live_messages - h0.hub.live_messages) / R.viewers.seconds),
			live_viewers: h1.hub.live_viewers,
			coalescing: Math.round((h1.hub.requests / Math.max(1, h1.hub.ingest_calls)) * 10) / 10,
		};
		log(`viewers: ${fmt(R.viewers.messages_per_s)} msgs/s received, latency p50 ${R.viewers.latency_ms.p50} ms p99 ${R.viewers.latency_ms.p99} ms, gaps ${R.viewers.gaps}, viewer process CPU ${R.viewers.cpu_pct}%`);
		const b2 = await ingestPass(`B2. ingest, ${conn.connected} viewers`, server, bodies);

		await sleep(1000);
		const idle = cpuWindow(server.pids);
		await sleep(5000);
		R.idle_with_viewers = idle();
		log(`C. ${conn.connected} idle viewers, no ingest: runtime CPU ${R.idle_with_viewers.server_cpu_pct}%`);
		const gone = await ask(viewers, { cmd: "disconnect" });
		for (let i = 0; i < 100 && (await hubStats(server.base)).hub.live_viewers > 0; i++) await sleep(100);
		log(`disconnected ${gone.closed} viewers`);
		const a2 = await ingestPass("A2. ingest, no viewers", server, bodies);
		viewers.send({ cmd: "close" });
		R.passes = { a1, b1, b2, a2 };
		R.without_viewers = bothPasses(a1, a2);
		R.with_viewers = bothPasses(b1, b2);
	} finally {
		viewers?.kill("SIGKILL");
		await server.stop();
	}
	R.meta.total_seconds = Math.round((Date.now() - started) / 1000);
	const a = R.without_viewers;
	const b = R.with_viewers;
	const lost = 1 - b.events_per_s / a.events_per_s;
	R.targets = [
		{ target: "ingest-to-viewer p99 ≤ 250 ms (ingest at 80% of peak)", value: R.viewers_at_80pct.latency_ms.p99, pass: R.viewers_at_80pct.latency_ms.p99 != null && R.viewers_at_80pct.latency_ms.p99 <= 250 },
		{ target: "ingest throughput lost with viewers < 10%", value: Math.round(lost * 1000) / 10, pass: lost < 0.1 },
	];
	writeFileSync(join(DATA, "live-results.json"), `${JSON.stringify(R, null, 2)}\n`);
	const rows = [
		["ingest events/s, no viewers (A1, A2 → mean)", `${fmt(R.passes.a1.events_per_s)}, ${fmt(R.passes.a2.events_per_s)} → ${fmt(a.events_per_s)}`],
		[`ingest events/s, ${R.connect.connected} viewers (B1, B2 → mean)`, `${fmt(R.passes.b1.events_per_s)}, ${fmt(R.passes.b2.events_per_s)} → ${fmt(b.events_per_s)}`],
		["ingest throughput lost", `${fmt(lost * 100, 1)}%`],
		["into D1 incl. flushing after the pass, A / B (lost)", `${fmt(a.sustained_events_per_s)} / ${fmt(b.sustained_events_per_s)} events/s (${fmt((1 - b.sustained_events_per_s / a.sustained_events_per_s) * 100, 1)}%)`],
		["ingest p99, worse of the two passes (no viewers / viewers)", `${fmt(a.latency_ms.p99, 1)} / ${fmt(b.latency_ms.p99, 1)} ms`],
		["ingest-to-viewer p50 / p90 / p99 / max, 80% load", `${R.viewers_at_80pct.latency_ms.p50} / ${R.viewers_at_80pct.latency_ms.p90} / ${R.viewers_at_80pct.latency_ms.p99} / ${R.viewers_at_80pct.latency_ms.max} ms`],
		["ingest-to-viewer p50 / p99, saturated (pass B)", `${R.viewers.latency_ms.p50} / ${R.viewers.latency_ms.p99} ms`],
		["  received → broadcast (ingest + hub + coalescing) p50 / p99", `${R.viewers_at_80pct.hub_ms.p50} / ${R.viewers_at_80pct.hub_ms.p99} ms`],
		["  broadcast → viewer (fan-out) p50 / p99", `${R.viewers_at_80pct.fanout_ms.p50} / ${R.viewers_at_80pct.fanout_ms.p99} ms`],
		["ingest p99 at 80% load, viewers", `${fmt(R.at_80pct.latency_ms.p99, 1)} ms`],
		["no-op request (heartbeat) p50 / p99 / max, 80% load", `${R.at_80pct.heartbeat_ms.p50} / ${R.at_80pct.heartbeat_ms.p99} / ${R.at_80pct.heartbeat_ms.max} ms`],
		["broadcasts per second (the tenant's object)", fmt(R.hub.broadcasts_per_s)],
		["messages per second sent by the object", fmt(R.hub.messages_per_s)],
		["messages per viewer per second", fmt(R.viewers.per_viewer_per_s, 2)],
		["bytes per second to viewers", fmt(R.viewers.bytes_per_s)],
		["sequence gaps seen by viewers", fmt(R.viewers.gaps)],
		["WebSocket extensions negotiated", R.connect.extensions || "none (no per-socket compression)"],
		["CPU: load generator / viewers process (pass B1)", `${R.passes.b1.generator_cpu_pct}% / ${R.viewers.cpu_pct}%`],
		["runtime CPU (no viewers / viewers / idle viewers)", `${a.cpu.server_cpu_pct}% / ${b.cpu.server_cpu_pct}% / ${R.idle_with_viewers.server_cpu_pct}%`],
		["requests per hub call (edge group commit)", fmt(R.hub.coalescing, 1)],
	];
	const w = Math.max(...rows.map((r) => r[0].length));
	console.log(`\nbench:live — ${R.meta.date}, commit ${R.meta.git.commit}${R.meta.git.dirty ? " (dirty)" : ""}, ${R.meta.machine.cores} cores\n`);
	for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
	console.log("");
	for (const t of R.targets) console.log(`  ${t.pass ? "PASS" : "MISS"}  ${t.target}: ${t.value}`);
	console.log(`\nresults: bench/.data/live-results.json (${R.meta.total_seconds} s)`);
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
