#!/usr/bin/env node
// `npm run bench:live`: 1,000 live viewers on one tenant while ingest runs flat out, against
// control runs with no viewer at all (issue 12's targets are differences between the two).
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
// A control run does the same with no viewer: its "lost" (B vs A) is the method's own noise.
// BENCH_RUNS viewer runs and as many control runs alternate, each on a fresh state and server.
// Targets (medians over the runs):
//   - viewer p99 − no-op heartbeat p99, both from pass L of the same run ≤ 100 ms
//   - lost with viewers − lost in the control runs ≤ 10 points
//
//   BENCH_SECONDS=10  BENCH_WARMUP=2  BENCH_VIEWERS=1000  BENCH_CONNECTIONS=16  BENCH_RUNS=3
//   BENCH_CONTROLS=1 (0: viewer runs only)  BENCH_WAIT_QUIET=0 (before each pass, wait up to N s
//   for the machine to be < 25% busy)  BENCH_EDGEWISE_BUNDLE=dir (measure that `wrangler deploy
//   --dry-run` build instead of building the work tree)
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fork } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { DEV, devSeedSql } from "../scripts/dev-keys.mjs";
import { BIN, ROOT, wrangler } from "../scripts/lib.mjs";
import { percentile, runLoad } from "./lib/load.mjs";
import { startMiniflare } from "./lib/miniflare.mjs";
import { batchBodies } from "./lib/payloads.mjs";
import { cpuWindow, killAllSync, runMeta, waitQuiet as waitQuietFor } from "./lib/system.mjs";

const env = process.env;
const num = (k, d) => (env[k] ? Number(env[k]) : d);
const CFG = {
	seconds: num("BENCH_SECONDS", 10),
	warmup: num("BENCH_WARMUP", 2),
	viewers: env.BENCH_VIEWERS != null && env.BENCH_VIEWERS !== "" ? Number(env.BENCH_VIEWERS) : 1000,
	connections: num("BENCH_CONNECTIONS", 16),
	runs: num("BENCH_RUNS", 3),
	waitQuiet: num("BENCH_WAIT_QUIET", 0),
	bundle: env.BENCH_EDGEWISE_BUNDLE || null,
	controls: env.BENCH_CONTROLS !== "0",
};
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

const waitQuiet = (maxS) => waitQuietFor(maxS, log);

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
	if (CFG.waitQuiet) await waitQuiet(CFG.waitQuiet);
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

/**
 * One mirrored run on a fresh state and a fresh server. With `count` = 0 it is the control: the
 * same passes with no viewer at all, so its "lost" is what the A/B method reads as loss on its own.
 */
async function oneRun(count, label) {
	rmSync(STATE, { recursive: true, force: true });
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: STATE });
	wrangler(["d1", "execute", "DB", "--local", "--command", devSeedSql()], { persistTo: STATE });
	const server = await startServer();
	log(`${label}: worker on ${server.base} (direct socket, no proxy), ${count} viewers`);
	const bodies = batchBodies(100, { runId: Date.now().toString(36) });
	const R = { viewers_wanted: count };
	try {
		// JIT, D1 pages and the hub's tables warm up first, so pass A is not penalised for going first.
		await ingestPass("warm-up", server, bodies);
		// Passes run A1 B1 L B2 A2: every pass adds to D1 (its tables and indexes grow), so a plain A-then-B
		// order bills that drift to the viewers. Mirrored, the A and B passes sit on average in the
		// same place, and each side's figure is the mean of two passes.
		const a1 = await ingestPass("A1. ingest, no viewers", server, bodies);
		let conn = { connected: 0, failed: 0, ms: 0, extensions: "" };
		if (count) {
			viewers = fork(join(ROOT, "bench/lib/viewers.mjs"), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execPath: join(BIN, "node") });
			const wsUrl = `${server.base.replace(/^http/, "ws")}/v1/live?key=${DEV.readKey}`;
			conn = await ask(viewers, { cmd: "connect", url: wsUrl, count });
			log(`connected ${conn.connected}/${count} viewers in ${conn.ms} ms (${conn.failed} failed)`);
			await sleep(500);
		}
		R.connect = conn;
		const h0 = await hubStats(server.base);
		if (viewers) await ask(viewers, { cmd: "reset" });
		const b1 = await ingestPass(`B1. ingest, ${conn.connected} viewers`, server, bodies);
		R.viewers = viewers ? await ask(viewers, { cmd: "report" }) : null;
		const h1 = await hubStats(server.base);
		const rate = Math.round((0.8 * a1.events_per_s) / 100);
		if (viewers) await ask(viewers, { cmd: "reset" });
		R.at_80pct = await ingestPass(`L. ingest at 80% of A1's peak (${rate * 100} events/s), ${conn.connected} viewers`, server, bodies, rate);
		R.viewers_at_80pct = viewers ? await ask(viewers, { cmd: "report" }) : null;
		const v = R.viewers_at_80pct;
		if (v) log(`viewers at 80%: latency p50 ${v.latency_ms.p50} ms p99 ${v.latency_ms.p99} ms (received → broadcast p99 ${v.hub_ms.p99} ms, fan-out p99 ${v.fanout_ms.p99} ms)`);
		const seconds = R.viewers?.seconds ?? CFG.seconds + CFG.warmup;
		R.hub = {
			broadcasts_per_s: Math.round((h1.hub.live_broadcasts - h0.hub.live_broadcasts) / seconds),
			messages_per_s: Math.round((h1.hub.live_messages - h0.hub.live_messages) / seconds),
			live_viewers: h1.hub.live_viewers,
			coalescing: Math.round((h1.hub.requests / Math.max(1, h1.hub.ingest_calls)) * 10) / 10,
		};
		if (R.viewers) log(`viewers: ${fmt(R.viewers.messages_per_s)} msgs/s received, latency p50 ${R.viewers.latency_ms.p50} ms p99 ${R.viewers.latency_ms.p99} ms, gaps ${R.viewers.gaps}, viewer process CPU ${R.viewers.cpu_pct}%`);
		const b2 = await ingestPass(`B2. ingest, ${conn.connected} viewers`, server, bodies);

		await sleep(1000);
		const idle = cpuWindow(server.pids);
		await sleep(5000);
		R.idle_with_viewers = idle();
		log(`C. ${conn.connected} idle viewers, no ingest: runtime CPU ${R.idle_with_viewers.server_cpu_pct}%`);
		if (viewers) {
			const gone = await ask(viewers, { cmd: "disconnect" });
			for (let i = 0; i < 100 && (await hubStats(server.base)).hub.live_viewers > 0; i++) await sleep(100);
			log(`disconnected ${gone.closed} viewers`);
		}
		const a2 = await ingestPass("A2. ingest, no viewers", server, bodies);
		if (viewers) {
			viewers.send({ cmd: "close" });
			viewers = null;
		}
		R.passes = { a1, b1, b2, a2 };
		R.without_viewers = bothPasses(a1, a2);
		R.with_viewers = bothPasses(b1, b2);
	} finally {
		viewers?.kill("SIGKILL");
		viewers = null;
		await server.stop();
	}
	R.lost_pct = Math.round((1 - R.with_viewers.events_per_s / R.without_viewers.events_per_s) * 1000) / 10;
	R.lost_into_d1_pct = Math.round((1 - R.with_viewers.sustained_events_per_s / R.without_viewers.sustained_events_per_s) * 1000) / 10;
	R.heartbeat_ms = R.at_80pct.heartbeat_ms;
	if (R.viewers_at_80pct) R.viewer_minus_heartbeat_p99_ms = R.viewers_at_80pct.latency_ms.p99 - R.heartbeat_ms.p99;
	log(`${label}: lost ${R.lost_pct}%${R.viewers_at_80pct ? `, viewer p99 ${R.viewers_at_80pct.latency_ms.p99} ms − no-op p99 ${R.heartbeat_ms.p99} ms = ${R.viewer_minus_heartbeat_p99_ms} ms` : `, no-op p99 ${R.heartbeat_ms.p99} ms`}`);
	return R;
}

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function runRows(R) {
	const a = R.without_viewers;
	const b = R.with_viewers;
	const v = R.viewers_at_80pct;
	const rows = [
		["ingest events/s, no viewers (A1, A2 → mean)", `${fmt(R.passes.a1.events_per_s)}, ${fmt(R.passes.a2.events_per_s)} → ${fmt(a.events_per_s)}`],
		[`ingest events/s, ${R.connect.connected} viewers (B1, B2 → mean)`, `${fmt(R.passes.b1.events_per_s)}, ${fmt(R.passes.b2.events_per_s)} → ${fmt(b.events_per_s)}`],
		["ingest throughput lost", `${fmt(R.lost_pct, 1)}%`],
		["into D1 incl. flushing after the pass, A / B (lost)", `${fmt(a.sustained_events_per_s)} / ${fmt(b.sustained_events_per_s)} events/s (${fmt(R.lost_into_d1_pct, 1)}%)`],
		["ingest p99, worse of the two passes (A / B)", `${fmt(a.latency_ms.p99, 1)} / ${fmt(b.latency_ms.p99, 1)} ms`],
		["ingest p99 at 80% load (pass L)", `${fmt(R.at_80pct.latency_ms.p99, 1)} ms`],
		["no-op request (heartbeat) p50 / p99 / max, pass L", `${R.heartbeat_ms.p50} / ${R.heartbeat_ms.p99} / ${R.heartbeat_ms.max} ms`],
	];
	if (v)
		rows.push(
			["ingest-to-viewer p50 / p90 / p99 / max, pass L", `${v.latency_ms.p50} / ${v.latency_ms.p90} / ${v.latency_ms.p99} / ${v.latency_ms.max} ms`],
			["viewer p99 − no-op p99, pass L", `${R.viewer_minus_heartbeat_p99_ms} ms`],
			["  received → broadcast (ingest + hub + coalescing) p50 / p99", `${v.hub_ms.p50} / ${v.hub_ms.p99} ms`],
			["  broadcast → viewer (fan-out) p50 / p99", `${v.fanout_ms.p50} / ${v.fanout_ms.p99} ms`],
			["ingest-to-viewer p50 / p99, saturated (pass B1)", `${R.viewers.latency_ms.p50} / ${R.viewers.latency_ms.p99} ms`],
			["broadcasts / messages per second (the tenant's object, B1)", `${fmt(R.hub.broadcasts_per_s)} / ${fmt(R.hub.messages_per_s)}`],
			["bytes per second to viewers; sequence gaps", `${fmt(R.viewers.bytes_per_s)}; ${fmt(R.viewers.gaps)}`],
			["WebSocket extensions negotiated", R.connect.extensions || "none (no per-socket compression)"],
			["CPU: load generator / viewers process (pass B1)", `${R.passes.b1.generator_cpu_pct}% / ${R.viewers.cpu_pct}%`],
		);
	rows.push(
		["runtime CPU (A / B / idle sockets)", `${a.cpu.server_cpu_pct}% / ${b.cpu.server_cpu_pct}% / ${R.idle_with_viewers.server_cpu_pct}%`],
		["requests per hub call (edge group commit)", fmt(R.hub.coalescing, 1)],
	);
	return rows;
}

async function main() {
	const started = Date.now();
	mkdirSync(DATA, { recursive: true });
	log("building the production bundle…");
	if (CFG.bundle) {
		// Another build of the worker (e.g. an earlier commit's), to compare with the same method.
		rmSync(BUILD, { recursive: true, force: true });
		cpSync(CFG.bundle, BUILD, { recursive: true });
	} else wrangler(["deploy", "--dry-run", "--outdir", BUILD]);
	const S = { meta: runMeta(ROOT, { config: CFG }), runs: [], controls: [] };
	// Viewer runs and control runs (no viewer) alternate, so the machine's moods weigh on both.
	for (let i = 1; i <= CFG.runs; i++) {
		if (CFG.viewers) S.runs.push(await oneRun(CFG.viewers, `run ${i}/${CFG.runs}`));
		if (CFG.controls) S.controls.push(await oneRun(0, `control ${i}/${CFG.runs}`));
	}
	S.meta.total_seconds = Math.round((Date.now() - started) / 1000);
	const lostWith = S.runs.length ? median(S.runs.map((r) => r.lost_pct)) : null;
	const lostWithout = S.controls.length ? median(S.controls.map((r) => r.lost_pct)) : null;
	const gap = S.runs.length ? median(S.runs.map((r) => r.viewer_minus_heartbeat_p99_ms)) : null;
	S.targets = [];
	if (gap != null)
		S.targets.push({
			id: "viewer_minus_heartbeat_p99",
			target: `viewer p99 − no-op heartbeat p99 ≤ 100 ms with ${CFG.viewers} viewers (pass L; median of ${S.runs.length} runs)`,
			value: gap,
			viewer_p99_ms: median(S.runs.map((r) => r.viewers_at_80pct.latency_ms.p99)),
			heartbeat_p99_ms: median(S.runs.map((r) => r.heartbeat_ms.p99)),
			pass: gap <= 100,
		});
	if (lostWith != null && lostWithout != null)
		S.targets.push({
			id: "lost_with_minus_without",
			target: `ingest lost with viewers − lost without ≤ 10 points (medians of ${S.runs.length} and ${S.controls.length} mirrored runs)`,
			value: Math.round((lostWith - lostWithout) * 10) / 10,
			lost_with_pct: lostWith,
			lost_without_pct: lostWithout,
			pass: lostWith - lostWithout <= 10,
		});
	writeFileSync(join(DATA, "live-results.json"), `${JSON.stringify(S, null, 2)}\n`);
	console.log(`\nbench:live — ${S.meta.date}, commit ${S.meta.git.commit}${S.meta.git.dirty ? " (dirty)" : ""}${CFG.bundle ? `, bundle ${CFG.bundle}` : ""}, ${S.meta.machine.cores} cores, ${CFG.seconds} s passes\n`);
	for (const [name, list] of [["viewer runs", S.runs], ["control runs (no viewer)", S.controls]]) {
		list.forEach((R, i) => {
			console.log(`${name}, ${i + 1} of ${list.length}:`);
			const rows = runRows(R);
			const w = Math.max(...rows.map((r) => r[0].length));
			for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
			console.log("");
		});
	}
	console.log("summary:");
	if (S.runs.length) console.log(`  lost with viewers: ${S.runs.map((r) => `${r.lost_pct}%`).join(", ")} → median ${lostWith}%`);
	if (S.controls.length) console.log(`  lost without viewers (control): ${S.controls.map((r) => `${r.lost_pct}%`).join(", ")} → median ${lostWithout}%`);
	if (S.runs.length) console.log(`  viewer p99 − no-op p99: ${S.runs.map((r) => `${r.viewers_at_80pct.latency_ms.p99} − ${r.heartbeat_ms.p99} = ${r.viewer_minus_heartbeat_p99_ms} ms`).join("; ")} → median ${gap} ms`);
	if (S.controls.length) console.log(`  no-op p99 without viewers (control, pass L): ${S.controls.map((r) => `${r.heartbeat_ms.p99} ms`).join(", ")}`);
	console.log("");
	for (const t of S.targets) console.log(`  ${t.pass ? "MET " : "MISS"}  ${t.target}: ${t.value}${t.id === "lost_with_minus_without" ? " points" : " ms"}`);
	console.log(`\nresults: bench/.data/live-results.json (${S.meta.total_seconds} s)`);
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
