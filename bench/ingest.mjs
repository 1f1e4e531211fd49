#!/usr/bin/env node
// `npm run bench:ingest`: ingest throughput, latency and memory of the real worker on this machine,
// as ratios to baselines measured in the same run. See docs/benchmarks.md for what each figure means.
//
// The targets (issue 12) compare Edgewise with two baselines served at the same time by another
// runtime process, in mirrored order so that drift over the run (D1 growing, other load on the
// machine) weighs on both sides alike:
//   hello, bare-100, Edgewise-1, Edgewise-100 | Edgewise-100, Edgewise-1, bare-100, hello
//   - batches of 100: Edgewise events/s ÷ the bare worker's (same rows into local D1) ≥ 1.0
//   - single events:  Edgewise req/s ÷ hello-world's req/s ≥ 0.25
//
//   BENCH_SECONDS=10        measured seconds per load pass (plus BENCH_WARMUP=2 s of warm-up)
//   BENCH_CONNECTIONS       force one connection count for every closed-loop pass
//   BENCH_QUICK=0           1: only the mirrored target passes (no node:sqlite, batch 500, 80% pass)
//   BENCH_DRAIN_TIMEOUT=60  seconds to wait for the hub to empty its buffer into D1 after a pass
//   BENCH_SQLITE_ROWS=200000   rows for the node:sqlite baseline
//   BENCH_PROFILE=auto|0|1  perf CPU profile of workerd (needs `perf`), BENCH_PROFILE_SECONDS=4
//   BENCH_WRANGLER_DEV=0    1: also measure through `wrangler dev` (proxy vs its direct port)
//   BENCH_KEEP_STATE=0      1 keeps bench/.data/state (the D1 tables grow run after run)
//   BENCH_WAIT_QUIET=0      before each pass, wait up to N s for the machine to be idle (< 25% busy)
//   BENCH_RETRY_NOISY=2     a target pass during which other processes used > 25% of a core is run
//                           again, up to N more times; the quietest attempt counts
//   BENCH_EDGEWISE_BUNDLE   a directory holding another `wrangler deploy --dry-run` build of the
//                           worker (index.js + .map) to measure instead of building the work tree's
//
// Ports: 8800-8801 wrangler dev, 8810-8811 Edgewise, 8820-8822 baselines, 8830-8831 profiling.
// (wrangler dev also opens random ports of its own for the user worker; nothing else does.)
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DEV, devSeedSql } from "../scripts/dev-keys.mjs";
import { BIN, ROOT, wrangler, wranglerEnv } from "../scripts/lib.mjs";
import { runLoad } from "./lib/load.mjs";
import { startMiniflare } from "./lib/miniflare.mjs";
import { batchBodies, eventObjects } from "./lib/payloads.mjs";
import { analysePerf, perfUsable } from "./lib/profile.mjs";
import { COLUMNS, toRow } from "./lib/rows.mjs";
// Node 22 strips the types: the benchmark uses the hub's real flush statement.
import { INSERT_EVENTS_SQL } from "../workers/hub/flush.ts";
import {
	cpuWindow,
	descendants,
	killAll,
	killAllSync,
	killGroup,
	listeningPorts,
	memory,
	memoryBreakdown,
	portFree,
	rssSampler,
	runMeta,
	spawnGroup,
	waitQuiet as waitQuietFor,
	workerdPids,
} from "./lib/system.mjs";

const require = createRequire(import.meta.url);
const env = process.env;
const num = (k, d) => (env[k] != null && env[k] !== "" ? Number(env[k]) : d);
const CFG = {
	seconds: num("BENCH_SECONDS", 10),
	warmup: num("BENCH_WARMUP", 2),
	connections: env.BENCH_CONNECTIONS ? Number(env.BENCH_CONNECTIONS) : null,
	drainTimeout: num("BENCH_DRAIN_TIMEOUT", 60),
	sqliteRows: num("BENCH_SQLITE_ROWS", 200_000),
	profile: env.BENCH_PROFILE ?? "auto",
	profileSeconds: num("BENCH_PROFILE_SECONDS", 4),
	wranglerDev: env.BENCH_WRANGLER_DEV === "1",
	quick: env.BENCH_QUICK === "1",
	bundle: env.BENCH_EDGEWISE_BUNDLE || null,
	retryNoisy: num("BENCH_RETRY_NOISY", 2),
	waitQuiet: num("BENCH_WAIT_QUIET", 0),
	keepState: env.BENCH_KEEP_STATE === "1",
};
/** Closed-loop connections per batch size: enough to keep the worker busy, no more (latency). */
const CONNS = { hello: 32, 1: 32, 100: 16, 500: 4 };
const conns = (k) => CFG.connections ?? CONNS[k];

const DATA = join(ROOT, "bench", ".data");
const STATE = join(DATA, "state");
const BUILD = join(DATA, "build");
const RESULTS = join(DATA, "ingest-results.json");
const RUN = Date.now().toString(36);
const PORTS = { wdProxy: 8800, wdInspector: 8801, ewEntry: 8810, ewDirect: 8811, blEntry: 8820, bareDirect: 8821, helloDirect: 8822, pfEntry: 8830, pfDirect: 8831 };
const INGEST_HEADERS = { authorization: `Bearer ${DEV.ingestKey}`, "content-type": "application/json" };
const accepted = (_s, body) => Number(/"accepted":(\d+)/.exec(body)?.[1] ?? 0);

const log = (...a) => console.error("•", ...a);
const fmt = (n, d = 0) => (n == null || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ── cleanup: every server runs in its own process group; kill them all on any exit path ──
process.on("exit", killAllSync);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
	process.on(sig, () => {
		console.error(`\n${sig}: stopping servers…`);
		killAllSync();
		process.exit(130);
	});

// ── servers ──
async function waitHttp(url, timeoutMs = 60_000, init) {
	const until = Date.now() + timeoutMs;
	let last;
	while (Date.now() < until) {
		try {
			const r = await fetch(url, init);
			if (r.ok) return r;
			last = `HTTP ${r.status}: ${(await r.text()).slice(0, 200)}`;
		} catch (e) {
			last = e.message;
		}
		await sleep(250);
	}
	throw new Error(`${url} not ready in ${timeoutMs} ms (${last})`);
}

async function stats(base) {
	const r = await fetch(`${base}/v1/ingest/stats`, { headers: { authorization: `Bearer ${DEV.readKey}` } });
	if (!r.ok) throw new Error(`GET /v1/ingest/stats: ${r.status} ${await r.text()}`);
	return r.json();
}

/**
 * Polls the hub until its buffer is empty: how fast the alarm moves what is left into D1 once the
 * load stops. The end time is the hub's own last_flush_at (poll-interval independent).
 */
async function drain(base) {
	const s0 = await stats(base);
	const t0 = Date.now();
	let s = s0;
	while (s.buffered > 0 && Date.now() - t0 < CFG.drainTimeout * 1000) {
		await sleep(50);
		s = await stats(base);
	}
	const lastFlush = s.last_flush_at ? Date.parse(s.last_flush_at) : t0;
	const secs = s.buffered === 0 ? Math.max(0.001, (lastFlush - t0) / 1000) : (Date.now() - t0) / 1000;
	return {
		buffered_at_load_end: s0.buffered,
		seconds: Math.round(secs * 100) / 100,
		drained: s.buffered === 0,
		left: s.buffered,
		flushed_per_s: s0.buffered ? Math.round((s.flushed - s0.flushed) / secs) : null,
		last_flush_error: s.last_flush_error,
	};
}

/** One closed- or open-loop pass with CPU accounting (and hub stats when `hub` is given). */
async function pass(name, { url, size, bodies, connections, rate = 0, seconds = CFG.seconds, warmup = CFG.warmup, headers = INGEST_HEADERS, pids, hub, sampler }) {
	if (CFG.waitQuiet) await waitQuiet(CFG.waitQuiet, true);
	const s0 = hub ? await stats(hub) : null;
	sampler?.reset();
	const cpu = cpuWindow(pids);
	const r = await runLoad({ url, headers, makeBody: bodies ? () => bodies.next() : null, method: bodies ? "POST" : "GET", count: size ? accepted : () => 1, connections, rate, durationMs: seconds * 1000, warmupMs: warmup * 1000 });
	const c = cpu();
	const s1 = hub ? await stats(hub) : null;
	const out = { name, batch: size ?? null, ...r, cpu: c };
	if (r.errors || Object.keys(r.statuses).some((k) => k !== "200")) log(`  ${name}: non-200 responses ${JSON.stringify(r.statuses)} errors ${r.errors} ${r.first_error ?? ""}`);
	if (hub) {
		out.hub = { flushed_during_load_per_s: Math.round((s1.flushed - s0.flushed) / c.wall_s), buffered_at_end: s1.buffered };
		// Group commit at the edge: how many HTTP requests one hub call carried (when the hub reports it).
		if (s0.hub?.ingest_calls != null && s1.hub?.ingest_calls != null && s0.hub.since === s1.hub.since) {
			const calls = s1.hub.ingest_calls - s0.hub.ingest_calls;
			out.hub.requests_per_hub_call = calls ? Math.round(((s1.hub.requests - s0.hub.requests) / calls) * 10) / 10 : null;
		}
		out.drain = await drain(hub);
	}
	if (sampler) out.peak_rss_mib = Math.round(sampler.peak);
	// CPU is measured over warm-up + window, requests only in the window: scale to the same span.
	const span = (seconds + warmup) / seconds;
	out.server_cpu_us_per_req = r.ok ? Math.round((c.server_cpu_s * 1e6) / (r.ok * span)) : null;
	out.server_cpu_us_per_event = size && r.events ? Math.round((c.server_cpu_s * 1e6) / (r.events * span)) : null;
	log(
		`  ${name}: ${fmt(r.req_per_s)} req/s${size ? `, ${fmt(r.events_per_s)} events/s` : ""}, p50 ${fmt(r.latency_ms.p50, 1)} ms, p99 ${fmt(r.latency_ms.p99, 1)} ms` +
			` | CPU server ${c.server_cpu_pct}%, generator ${c.generator_cpu_pct}%, other ${c.other_cpu_pct}%` +
			(out.drain ? ` | hub flushed ${fmt(out.hub.flushed_during_load_per_s)}/s during load, ${fmt(out.drain.buffered_at_load_end)} left, drained in ${out.drain.seconds} s` : "") +
			(out.hub?.requests_per_hub_call ? ` | ${out.hub.requests_per_hub_call} req/hub call` : ""),
	);
	return out;
}

/**
 * A target pass, run again (up to BENCH_RETRY_NOISY more times) while other processes took more
 * than 25% of a core during it: this machine is shared, and a neighbour's test suite halves a
 * pass. The attempt with the least other CPU counts; the others are kept in the JSON.
 */
async function quietPass(name, opts) {
	let best = null;
	const noisy = [];
	for (let i = 0; i <= CFG.retryNoisy; i++) {
		const r = await pass(i ? `${name} (again)` : name, opts);
		r.name = name;
		if (!best || r.cpu.other_cpu_pct < best.cpu.other_cpu_pct) {
			if (best) noisy.push(best);
			best = r;
		} else noisy.push(r);
		if (best.cpu.other_cpu_pct <= 25) break;
	}
	if (noisy.length) best.noisy_attempts = noisy.map((r) => ({ req_per_s: r.req_per_s, events_per_s: r.events_per_s, other_cpu_pct: r.cpu.other_cpu_pct }));
	return best;
}

const waitQuiet = (maxS, quietly = false) => waitQuietFor(maxS, log, { quietly });

// ── setup ──
function build() {
	log("building bundles (wrangler deploy --dry-run)…");
	if (CFG.bundle) {
		// Another build of the worker (e.g. an earlier commit's), to compare with the same method.
		rmSync(join(BUILD, "edgewise"), { recursive: true, force: true });
		cpSync(CFG.bundle, join(BUILD, "edgewise"), { recursive: true });
	} else wrangler(["deploy", "--dry-run", "--outdir", join(BUILD, "edgewise")]);
	wrangler(["deploy", "--dry-run", "--outdir", join(BUILD, "bare"), "--config", "bench/bare-worker/wrangler.toml"]);
}

function prepareState() {
	if (!CFG.keepState) rmSync(STATE, { recursive: true, force: true });
	log(`local state in ${STATE.replace(`${ROOT}/`, "")}: migrations + demo tenant…`);
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: STATE });
	wrangler(["d1", "migrations", "apply", "DB", "--local", "--config", "bench/bare-worker/wrangler.toml"], { persistTo: STATE });
	wrangler(["d1", "execute", "DB", "--local", "--command", devSeedSql()], { persistTo: STATE });
}

// ── baseline (a): node:sqlite ──
/** Inserts `rows` in 1,000-row transactions with `insertChunk(db, i, j)`; rows/s. */
function sqliteTimed(file, setup, n, insertChunk) {
	for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
	const db = new DatabaseSync(file);
	db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
	setup(db);
	const t0 = performance.now();
	for (let i = 0; i < n; i += 1000) {
		db.exec("BEGIN");
		insertChunk(db, i, Math.min(n, i + 1000));
		db.exec("COMMIT");
	}
	const secs = (performance.now() - t0) / 1000;
	db.close();
	for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
	return { rows: n, seconds: Math.round(secs * 100) / 100, events_per_s: Math.round(n / secs) };
}

function sqliteBaseline() {
	const file = join(DATA, "sqlite-baseline.db");
	const n = CFG.sqliteRows;
	const now = Date.now();
	// The D1 schema itself, from the migrations in order: same columns, primary key and indexes.
	const ddl = readdirSync(join(ROOT, "migrations"))
		.filter((f) => f.endsWith(".sql"))
		.sort()
		.flatMap((f) => readFileSync(join(ROOT, "migrations", f), "utf8").split("--> statement-breakpoint"))
		.filter((x) => x.trim());
	const schema = (db) => ddl.forEach((stmt) => db.exec(stmt));
	const objects = eventObjects(n, { runId: RUN }).map((e) => toRow(e, now));
	const json = new Set(["properties", "context", "traits"]);
	const params = objects.map((r) => ["demo", ...COLUMNS.map((c) => (json.has(c) ? (r[c] == null ? null : JSON.stringify(r[c])) : r[c]))]);
	const insertSql = `INSERT OR IGNORE INTO events (tenant_id, ${COLUMNS.join(", ")}) VALUES (${Array(COLUMNS.length + 1).fill("?").join(", ")})`;
	let insert;

	// Calibration: the guide's "~500k rows/s" is for a narrow table; checks the machine is itself.
	const narrow = sqliteTimed(file, (db) => {
		db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL)");
		insert = db.prepare("INSERT INTO t (name, n) VALUES (?, ?)");
	}, n, (_db, i, j) => {
		for (let k = i; k < j; k++) insert.run(`event-${k}`, k);
	});
	// (a) The required baseline: the same rows as the app stores, one prepared INSERT per row.
	const events = sqliteTimed(file, (db) => {
		schema(db);
		insert = db.prepare(insertSql);
	}, n, (_db, i, j) => {
		for (let k = i; k < j; k++) insert.run(...params[k]);
	});
	// The hub's own flush statement (json_each over a JSON array, 1,000 rows per statement):
	// separates the cost of the SQL shape from the cost of workerd / local D1.
	const chunks = [];
	for (let i = 0; i < n; i += 1000) chunks.push(JSON.stringify(objects.slice(i, i + 1000)));
	const flushSql = sqliteTimed(file, (db) => {
		schema(db);
		insert = db.prepare(INSERT_EVENTS_SQL);
	}, n, (_db, i) => insert.run("demo", chunks[i / 1000]));
	const out = {
		name: "node:sqlite, 1,000-row transactions",
		pragmas: "journal_mode=WAL, synchronous=NORMAL",
		...events,
		narrow_table: narrow,
		flush_sql: flushSql,
	};
	log(`  node:sqlite: events table ${fmt(events.events_per_s)} rows/s; hub flush SQL ${fmt(flushSql.events_per_s)} rows/s; narrow table ${fmt(narrow.events_per_s)} rows/s (${fmt(n)} rows each)`);
	return out;
}

async function autocannonHello(url, pids) {
	const autocannon = require("autocannon");
	const cpu = cpuWindow(pids);
	const r = await autocannon({ url, connections: CONNS.hello, duration: Math.max(3, Math.round(CFG.seconds / 3)) });
	const c = cpu();
	const out = { name: "hello-world (autocannon cross-check)", connections: CONNS.hello, req_per_s: Math.round(r.requests.average), latency_ms: { p50: r.latency.p50, p99: r.latency.p99 }, non2xx: r.non2xx, errors: r.errors, cpu: c };
	log(`  autocannon hello-world: ${fmt(out.req_per_s)} req/s, p99 ${out.latency_ms.p99} ms (generator CPU ${c.generator_cpu_pct}%)`);
	return out;
}

// ── wrangler dev: proxy vs the user worker's own port ──
async function wranglerDevPasses() {
	const args = ["dev", "--port", String(PORTS.wdProxy), "--ip", "127.0.0.1", "--inspector-port", String(PORTS.wdInspector), "--persist-to", STATE, "--show-interactive-dev-session=false"];
	const child = spawnGroup(join(BIN, "wrangler"), args, { cwd: ROOT, env: wranglerEnv(), stdio: ["ignore", "ignore", "pipe"] });
	let err = "";
	child.stderr.on("data", (d) => (err = (err + d).slice(-4000)));
	try {
		const proxy = `http://127.0.0.1:${PORTS.wdProxy}`;
		await waitHttp(`${proxy}/healthz`, 90_000).catch((e) => {
			throw new Error(`${e.message}\n${err}`);
		});
		// wrangler dev = a proxy workerd (ours: --port) forwarding to the user worker's workerd on a
		// random port. Find that port: it is the other workerd's listening socket that serves /healthz.
		let direct = null;
		for (const pid of descendants(child.pid)) {
			for (const port of listeningPorts(pid)) {
				if (port === PORTS.wdProxy || port === PORTS.wdInspector) continue;
				try {
					const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
					if (r.ok && (await r.text()).includes('"ok":true')) direct = `http://127.0.0.1:${port}`;
				} catch {}
				if (direct) break;
			}
			if (direct) break;
		}
		log(`  wrangler dev: proxy ${proxy}, user worker's own port ${direct ?? "not found"}`);
		const pids = () => [child.pid, ...descendants(child.pid)];
		const seconds = Math.max(3, Math.round(CFG.seconds / 2));
		const out = { proxy_url: proxy, direct_url: direct, passes: [] };
		for (const [label, base] of [["proxy", proxy], ["direct", direct]]) {
			if (!base) continue;
			for (const size of [1, 100]) {
				const p = await pass(`wrangler dev ${label}, batch ${size}`, { url: `${base}/v1/events`, size, bodies: batchBodies(size, { runId: `${RUN}-wd${label}` }), connections: conns(size), seconds, warmup: 1, pids, hub: proxy });
				out.passes.push({ via: label, ...p });
			}
		}
		return out;
	} finally {
		await killGroup(child.pid);
	}
}

// ── profile: perf on workerd, JS frames named with --perf-basic-prof ──
async function profilePasses() {
	const mf = await startMiniflare(
		{ persist: "bench/.data/state", entryPort: PORTS.pfEntry, workers: [{ name: "edgewise", config: "wrangler.toml", scriptPath: "bench/.data/build/edgewise/index.js", directPort: PORTS.pfDirect }] },
		{ MINIFLARE_WORKERD_V8_FLAGS: "--perf-basic-prof" },
	);
	const base = mf.direct.edgewise.replace(/\/$/, "");
	const [pid] = mf.workerd();
	const out = {};
	try {
		await waitHttp(`${base}/healthz`);
		for (const size of [100, 1]) {
			const data = join(DATA, `perf-${size}.data`);
			const bodies = batchBodies(size, { runId: `${RUN}-pf` });
			const load = runLoad({ url: `${base}/v1/events`, headers: INGEST_HEADERS, makeBody: () => bodies.next(), count: accepted, connections: conns(size), durationMs: (CFG.profileSeconds + 1) * 1000, warmupMs: 1000 });
			await sleep(1000);
			const perf = spawnGroup("perf", ["record", "-F", "499", "-g", "-p", String(pid), "-o", data, "--", "sleep", String(CFG.profileSeconds)], { stdio: "ignore" });
			await new Promise((r) => perf.on("exit", r));
			const r = await load;
			const a = analysePerf(data, { bundles: { "index.js": join(BUILD, "edgewise", "index.js") } });
			rmSync(data, { force: true });
			rmSync(`${data}.old`, { force: true });
			out[`batch_${size}`] = { events_per_s: r.events_per_s, ...a };
			log(`  profile batch ${size}: ${a.samples} samples; top: ${a.modules.slice(0, 4).map((m) => `${m.name} ${m.pct}%`).join(", ")}`);
			await drain(base);
		}
	} finally {
		await mf.stop();
		rmSync(`/tmp/perf-${pid}.map`, { force: true });
	}
	return out;
}

// ── report ──
function table(rows, cols) {
	const w = cols.map((c) => Math.max(c.h.length, ...rows.map((r) => String(c.f(r)).length)));
	const line = (cells) => cells.map((s, i) => (i === 0 ? String(s).padEnd(w[i]) : String(s).padStart(w[i]))).join("  ");
	return [line(cols.map((c) => c.h)), line(w.map((n) => "─".repeat(n))), ...rows.map((r) => line(cols.map((c) => c.f(r))))].join("\n");
}

function report(R) {
	const rows = [];
	const ms = (v) => (v == null ? "–" : fmt(v, 1));
	const add = (label, p, extra = {}) => p && rows.push({ label, p, ...extra });
	add(`node:sqlite insert (1,000-row txns)`, R.baselines.sqlite, { kind: "sqlite" });
	for (const m of Object.values(R.mirrored)) for (const p of m.passes) add(p.name, p);
	for (const p of R.baselines.bare ?? []) add(`bare worker → D1, batch ${p.batch}`, p);
	for (const p of R.edgewise.passes.filter((p) => !/\((A|B)\)$/.test(p.name))) add(`Edgewise, batch ${p.batch}${p.rate_target ? ` @ ${fmt(p.rate_target)} req/s (80%)` : ""}`, p);
	for (const p of R.wrangler_dev?.passes ?? []) add(`wrangler dev ${p.via}, batch ${p.batch}`, p);
	const cols = [
		{ h: "scenario", f: (r) => r.label },
		{ h: "conns", f: (r) => r.p.connections ?? "–" },
		{ h: "req/s", f: (r) => (r.kind ? "–" : fmt(r.p.req_per_s)) },
		{ h: "events/s", f: (r) => (r.p.batch || r.kind ? fmt(r.p.events_per_s) : "–") },
		{ h: "p50 ms", f: (r) => ms(r.p.latency_ms?.p50) },
		{ h: "p99 ms", f: (r) => ms(r.p.latency_ms?.p99) },
		{ h: "server CPU", f: (r) => (r.p.cpu ? `${r.p.cpu.server_cpu_pct}%` : "–") },
		{ h: "gen CPU", f: (r) => (r.p.cpu ? `${r.p.cpu.generator_cpu_pct}%` : "–") },
		{ h: "other CPU", f: (r) => (r.p.cpu ? `${r.p.cpu.other_cpu_pct}%` : "–") },
		{ h: "server µs/req", f: (r) => fmt(r.p.server_cpu_us_per_req) },
		{ h: "server µs/event", f: (r) => fmt(r.p.server_cpu_us_per_event) },
	];
	const out = [];
	out.push("", `Ingest benchmark — ${R.meta.date}, commit ${R.meta.git.commit}${R.meta.git.dirty ? ` + uncommitted changes to ${R.meta.git.changed.join(", ")}` : ""}, ${R.meta.machine.cores}× ${R.meta.machine.cpu_model}, Node ${R.meta.node}`);
	out.push(`Worker: Miniflare ${R.meta.miniflare} / workerd on its direct socket (no proxy); ${CFG.seconds} s per pass after ${CFG.warmup} s warm-up; machine ${R.meta.machine_busy_pct_at_start}% busy at start.`);
	if (CFG.bundle) out.push(`Edgewise bundle: ${CFG.bundle} (BENCH_EDGEWISE_BUNDLE), not the work tree's code.`);
	out.push("");
	out.push(table(rows, cols), "");
	const dr = R.edgewise.passes.filter((p) => p.drain);
	if (dr.length) {
		out.push("Hub → D1 flush (alarm), after each Edgewise pass (a drain rate is shown only for ≥ 5,000 events left: smaller remainders are timing noise):");
		for (const p of dr)
			out.push(
				`  ${p.name}: ${p.hub.requests_per_hub_call ? `${p.hub.requests_per_hub_call} HTTP requests per hub call (group commit); ` : ""}flushed ${fmt(p.hub.flushed_during_load_per_s)} events/s during load; ${fmt(p.drain.buffered_at_load_end)} left buffered, drained in ${p.drain.seconds} s${p.drain.flushed_per_s && p.drain.buffered_at_load_end >= 5000 ? ` = ${fmt(p.drain.flushed_per_s)} events/s` : ""}${p.drain.drained ? "" : ` (NOT drained: ${fmt(p.drain.left)} left)`}`,
			);
		out.push("");
	}
	const mem = R.edgewise.memory;
	const end = mem.at_end?.[0];
	out.push(
		`Peak RSS of workerd (Edgewise): ${fmt(mem.peak_rss_mib)} MiB sampled every 200 ms, ${fmt(mem.vm_hwm_mib)} MiB VmHWM; idle after start ${fmt(mem.idle_rss_mib)} MiB` +
			(end ? `; at the end ${end.anonymous_mib} MiB anonymous + ${end.file_backed_mib} MiB file-backed` : ""),
		"",
	);
	const noisy = rows.map((r) => r.p).filter((p) => p?.cpu?.other_cpu_pct > 25);
	if (noisy.length)
		out.push(`Note: other processes on this machine used > 25% CPU during: ${noisy.map((p) => `${p.name} (${p.cpu.other_cpu_pct}%)`).join(", ")}. Those figures are pessimistic.`, "");
	out.push("Targets (means of the two mirrored passes of each scenario):");
	for (const t of R.targets)
		out.push(`  [${t.pass ? "MET " : "MISS"}] ${t.target}: ${fmt(t.value)} vs ${fmt(t.baseline)} ${t.unit} = ${t.ratio.toFixed(2)}× (target ${t.goal.toFixed(2)}×)`);
	if (R.info) out.push(`  (no target) p99 at 80% of the batch-100 peak: ${fmt(R.info.p99_at_80pct_ms, 1)} ms`);
	if (R.profile && !R.profile.error) {
		for (const [k, p] of Object.entries(R.profile)) {
			out.push("", `Where workerd's CPU goes, ${k.replace("_", " ")} (perf, ${p.samples} samples):`);
			out.push("  what the runtime thread was serving:");
			for (const m of p.events ?? []) out.push(`  ${String(m.pct).padStart(5)}%  ${m.name}`);
			out.push("  by code (native work charged to the JS function that called it):");
			for (const m of p.modules.slice(0, 8)) out.push(`  ${String(m.pct).padStart(5)}%  ${m.name}${m.doing ? `  [${m.doing}]` : ""}`);
		}
	}
	return out.join("\n");
}

// ── main ──
/** The mean of two passes of one scenario (the two sides of the mirrored order). */
function meanOf(name, x, y, key) {
	return { name, passes: [x, y], value: Math.round((x[key] + y[key]) / 2), values: [x[key], y[key]] };
}

async function main() {
	mkdirSync(DATA, { recursive: true });
	const busy = [];
	for (const p of Object.values(PORTS)) if (!(await portFree(p))) busy.push(p);
	if (busy.length) throw new Error(`ports in use: ${busy.join(", ")} (another benchmark or dev server running?)`);
	const quiet = await waitQuiet(CFG.waitQuiet);
	const t0 = Date.now();
	const R = {
		meta: runMeta(ROOT, { packages: { wrangler: "wrangler", miniflare: "miniflare" }, machine_busy_pct_at_start: quiet, config: CFG }),
		baselines: {},
		edgewise: { passes: [] },
		mirrored: {},
	};

	build();
	prepareState();

	if (!CFG.quick) {
		log("baseline (a): node:sqlite…");
		R.baselines.sqlite = sqliteBaseline();
	}

	// Both servers run for the whole measurement (an idle runtime costs nothing), so the target
	// passes can alternate between Edgewise and its baselines.
	log("servers: baselines (bare D1 worker, hello-world) and Edgewise, each in its own Miniflare…");
	const bl = await startMiniflare({
		persist: "bench/.data/state",
		entryPort: PORTS.blEntry,
		workers: [
			{ name: "edgewise-bench-bare", config: "bench/bare-worker/wrangler.toml", scriptPath: "bench/.data/build/bare/index.js", directPort: PORTS.bareDirect },
			{ name: "hello", scriptPath: "bench/hello-worker/index.js", directPort: PORTS.helloDirect },
		],
	});
	const ew = await startMiniflare({
		persist: "bench/.data/state",
		entryPort: PORTS.ewEntry,
		workers: [{ name: "edgewise", config: "wrangler.toml", scriptPath: "bench/.data/build/edgewise/index.js", directPort: PORTS.ewDirect }],
	});
	const sampler = rssSampler(ew.workerd);
	try {
		const base = ew.direct.edgewise.replace(/\/$/, "");
		await waitHttp(`${base}/healthz`);
		const probe = await fetch(`${base}/v1/events`, { method: "POST", headers: INGEST_HEADERS, body: JSON.stringify({ event: "bench_probe", user_id: "bench" }) });
		if (!probe.ok) throw new Error(`probe ingest failed: ${probe.status} ${await probe.text()} (is the demo tenant seeded?)`);
		await drain(base);
		R.edgewise.idle_rss_mib = Math.round(sampler.last);
		const bare = `${bl.direct["edgewise-bench-bare"]}v1/events`;
		const ewCommon = { url: `${base}/v1/events`, pids: ew.group, hub: base, sampler };
		const run = {
			hello: (side) => quietPass(`hello-world (${side})`, { url: bl.direct.hello, connections: conns("hello"), pids: bl.group }),
			bare100: (side) => quietPass(`bare D1 batch 100 (${side})`, { url: bare, size: 100, bodies: batchBodies(100, { runId: `${RUN}-bare${side}` }), connections: conns(100), pids: bl.group }),
			ew1: (side) => quietPass(`Edgewise batch 1 (${side})`, { ...ewCommon, size: 1, bodies: batchBodies(1, { runId: `${RUN}-ew${side}` }), connections: conns(1) }),
			ew100: (side) => quietPass(`Edgewise batch 100 (${side})`, { ...ewCommon, size: 100, bodies: batchBodies(100, { runId: `${RUN}-ew${side}` }), connections: conns(100) }),
		};
		log("mirrored target passes: hello, bare-100, Edgewise-1, Edgewise-100 | Edgewise-100, Edgewise-1, bare-100, hello…");
		const A = {};
		const B = {};
		for (const k of ["hello", "bare100", "ew1", "ew100"]) A[k] = await run[k]("A");
		for (const k of ["ew100", "ew1", "bare100", "hello"]) B[k] = await run[k]("B");
		R.mirrored = {
			hello: meanOf("hello-world, GET", A.hello, B.hello, "req_per_s"),
			bare100: meanOf("bare worker → D1, batch 100", A.bare100, B.bare100, "events_per_s"),
			ew1: meanOf("Edgewise, batch 1", A.ew1, B.ew1, "req_per_s"),
			ew100: meanOf("Edgewise, batch 100", A.ew100, B.ew100, "events_per_s"),
		};
		R.baselines.hello = A.hello;
		R.edgewise.passes.push(A.ew1, A.ew100, B.ew100, B.ew1);

		if (!CFG.quick) {
			log("other passes (no target): autocannon cross-check, bare D1 batch 1 and 500, Edgewise batch 500 and batch 100 at 80% of its peak…");
			R.baselines.hello_autocannon = await autocannonHello(bl.direct.hello, bl.group);
			R.baselines.bare = [];
			for (const size of [1, 500]) R.baselines.bare.push(await pass(`bare D1 batch ${size}`, { url: bare, size, bodies: batchBodies(size, { runId: `${RUN}-bare` }), connections: conns(size), pids: bl.group }));
			R.edgewise.passes.push(await pass("Edgewise batch 500", { ...ewCommon, size: 500, bodies: batchBodies(500, { runId: `${RUN}-ew` }), connections: conns(500) }));
			const rate = Math.max(1, Math.round((R.mirrored.ew100.value / 100) * 0.8));
			R.edgewise.passes.push(await pass(`Edgewise batch 100 @ 80% = ${rate} req/s`, { ...ewCommon, size: 100, bodies: batchBodies(100, { runId: `${RUN}-ew80` }), connections: Math.max(64, conns(100) * 4), rate }));
		}
		sampler.tick();
		R.edgewise.memory = { peak_rss_mib: Math.round(sampler.peakAll), vm_hwm_mib: Math.round(ew.workerd().reduce((a, p) => a + memory(p).hwm, 0)), idle_rss_mib: R.edgewise.idle_rss_mib, at_end: ew.workerd().map(memoryBreakdown) };
		R.edgewise.final_stats = await stats(base);
	} finally {
		sampler.stop();
		await ew.stop();
		await bl.stop();
	}

	const wantProfile = CFG.profile === "1" || (CFG.profile === "auto" && perfUsable());
	if (wantProfile) {
		log("profile (perf on workerd, --perf-basic-prof)…");
		try {
			R.profile = await profilePasses();
		} catch (e) {
			R.profile = { error: String(e.message ?? e) };
			log(`  profile skipped: ${R.profile.error}`);
		}
	}

	if (CFG.wranglerDev) {
		log("wrangler dev (proxy vs direct)…");
		try {
			R.wrangler_dev = await wranglerDevPasses();
		} catch (e) {
			R.wrangler_dev = { error: String(e.message ?? e) };
			log(`  wrangler dev skipped: ${R.wrangler_dev.error}`);
		}
	}

	const M = R.mirrored;
	const ratio = (a, b) => Math.round((a / b) * 1000) / 1000;
	const single = ratio(M.ew1.value, M.hello.value);
	const batch = ratio(M.ew100.value, M.bare100.value);
	R.targets = [
		{
			id: "batch_100_vs_bare",
			target: "batches of 100, durably acknowledged ≥ 1.0× the bare worker inserting the same rows into D1",
			value: M.ew100.value,
			baseline: M.bare100.value,
			unit: "events/s",
			ratio: batch,
			goal: 1.0,
			pass: batch >= 1.0,
		},
		{
			id: "single_vs_hello",
			target: "single-event requests ≥ 25% of hello-world's rate",
			value: M.ew1.value,
			baseline: M.hello.value,
			unit: "req/s",
			ratio: single,
			goal: 0.25,
			pass: single >= 0.25,
		},
	];
	const r80 = R.edgewise.passes.find((p) => p.rate_target);
	if (r80) R.info = { p99_at_80pct_ms: r80.latency_ms.p99 };
	R.meta.total_seconds = Math.round((Date.now() - t0) / 1000);
	writeFileSync(RESULTS, `${JSON.stringify(R, null, 2)}\n`);
	console.log(report(R));
	console.log(`\nJSON: ${RESULTS.replace(`${ROOT}/`, "")}  (total ${R.meta.total_seconds} s)`);
}

try {
	await main();
} catch (err) {
	console.error(`\nbenchmark failed: ${err?.stack ?? err}`);
	process.exitCode = 1;
} finally {
	await killAll();
	// Do not wait for stray sockets or timers of a failed pass to exit.
	process.exit(process.exitCode ?? 0);
}
