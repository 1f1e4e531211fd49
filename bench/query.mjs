#!/usr/bin/env node
// `npm run bench:query`: dashboard queries from rollups, next to DuckDB on the raw events.
//
//   1. data     10M events for one tenant over the 30 UTC days before today, written straight
//               into the local D1 file (node:sqlite, runtime stopped) and into a Parquet file for
//               DuckDB. Both are cached under bench/.data/query-v…/ and reused while the data
//               version, event count, end day and migrations are unchanged (a new day or
//               migration replaces the cached set of the same size).
//   2. rollup   a fresh copy of the cached D1 file; tenant, keys and rollup config through the admin
//               API; POST /v1/admin/rollups/run until caught up (the cron's code, one bounded pass
//               per call): cron work = the sum of the passes' duration_ms.
//   3. overview the dashboard's five POST /v1/query requests fired together, timed end to end.
//   4. fresh    1M new events through POST /v1/events (batches of 500, direct worker port), the hub
//               drains to D1, then rollups until caught up: the cron work for 1M fresh events.
//   5. DuckDB   the same rows in an in-memory DuckDB table (typed columns), the same overview in
//               SQL with approximate (primary) and exact aggregates.
//   6. board    the support preset's board (12 reports) on a month of support-desk events
//               (bench/lib/board.mjs): GET /v1/boards/:id/results cold (new data flushed before each
//               load: every tile computed) and warm (the answer cache), by one viewer and by 100
//               concurrent viewers; the cache's hit rate and gain; the same 12 questions in DuckDB on
//               the same raw rows; every tile's numbers checked against DuckDB's (a mismatch fails).
//
//   7. people   a 4-step funnel and a 12-week retention on 10M events of 1M people
//               (bench/lib/peoplebench.mjs, BENCH_PEOPLE_* settings there), against DuckDB.
//
//   BENCH_ONLY=                   overview | board | people: run only that part (all by default)
//   BENCH_QUICK=0                 1: small data sets and fewer runs, to check that it works
//
//   BENCH_QUERY_EVENTS=10000000   events in the 30 days        BENCH_QUERY_USERS=200000
//   BENCH_QUERY_REPS=30           timed overviews (≥ 30)       BENCH_QUERY_WARMUP=3
//   BENCH_QUERY_FRESH=1000000     fresh events (0 skips)       BENCH_QUERY_FRESH_CONNECTIONS=4
//   BENCH_QUERY_FRESH_DIRECT=0    1 writes the fresh events straight into D1 instead of HTTP
//   BENCH_QUERY_FRESH_MAX_S=300   HTTP ingest projected slower than this → direct insert for the rest
//   BENCH_QUERY_ROLLUP_TIMEOUT=900  seconds allowed for one "rollups until caught up" loop
//   BENCH_QUERY_EXACT=1           0 skips DuckDB's exact pass
//   BENCH_QUERY_KEEP_STATE=0      1 keeps this run's Miniflare state (bench/.data/query-state) for inspection
//   BENCH_QUERY_WAIT_QUIET=0      before each timed overview, wait up to N s for the machine to be < 25% busy
//   BENCH_QUERY_SHORT=0           1 also times a 14-day overview (its previous period holds data;
//                                 the 30-day overview's previous period is empty)
//   BENCH_QUERY_PROFILE=0         1 records a perf CPU profile of workerd during the timed overviews
//                                 and the fresh rollup (needs `perf`; JIT frames named, a little slower)
//   BENCH_BOARD_EVENTS=10000000   support-desk events in the month    BENCH_BOARD_USERS=200000
//   BENCH_BOARD_VIEWERS=100       concurrent viewers                  BENCH_BOARD_COLD=20 (cold loads, each + a warm one)
//   BENCH_BOARD_WAVES=3           crowds of viewers loading at once right after new data
//   BENCH_BOARD_WARM_LOADS=20     loads per viewer in the warm crowd
//   BENCH_BOARD_DUCK_REPS=20      DuckDB board loads, one at a time   BENCH_BOARD_DUCK_WAVES=1 (crowds of viewers)
//   BENCH_WAIT_QUIET              alias of BENCH_QUERY_WAIT_QUIET (also before each board phase)
//
// Ports: 8860 Miniflare entry, 8861 the worker's direct socket.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DEV } from "../scripts/dev-keys.mjs";
import { ensureDevVars, progress, ROOT, wrangler } from "../scripts/lib.mjs";
import { api, HttpError, need, rollupUntilCaughtUp as rollupLoop } from "./lib/benchapi.mjs";
import { findD1File, seedEvents, sourceHash } from "./lib/d1file.mjs";
import { duckChild } from "./lib/duckchild.mjs";
import { startMiniflare } from "./lib/miniflare.mjs";
import { boardConfig, runBoard } from "./lib/board.mjs";
import { boardLines, boardTargets } from "./lib/boardreport.mjs";
import { peoplePhase, peopleReport } from "./lib/peoplebench.mjs";
import { analysePerf, perfUsable } from "./lib/profile.mjs";
import { csvLine, DATA_VERSION, dataPlan, EVENTS_INSERT_SQL, forEachEvent, freshEvents, sqliteParams } from "./lib/querydata.mjs";
import { round, summary, table } from "./lib/querystats.mjs";
import { cpuWindow, killAll, killAllSync, portFree, runMeta, spawnGroup, waitQuiet as waitQuietFor } from "./lib/system.mjs";

const env = process.env;
const num = (k, d) => (env[k] != null && env[k] !== "" ? Number(env[k]) : d);
const QUICK = env.BENCH_QUICK === "1";
const ONLY = env.BENCH_ONLY ?? "";
if (!["", "overview", "board", "people"].includes(ONLY)) throw new Error(`BENCH_ONLY=${ONLY}: use overview, board or people`);
const runs = (part) => ONLY === "" || ONLY === part;
const CFG = {
	events: num("BENCH_QUERY_EVENTS", QUICK ? 200_000 : 10_000_000),
	users: num("BENCH_QUERY_USERS", 200_000),
	days: 30,
	reps: Math.max(1, num("BENCH_QUERY_REPS", 30)),
	warmup: Math.max(1, num("BENCH_QUERY_WARMUP", 3)),
	fresh: num("BENCH_QUERY_FRESH", QUICK ? 20_000 : 1_000_000),
	freshBatch: 500,
	freshConnections: num("BENCH_QUERY_FRESH_CONNECTIONS", 4),
	freshDirect: env.BENCH_QUERY_FRESH_DIRECT === "1",
	freshMaxSeconds: num("BENCH_QUERY_FRESH_MAX_S", 300),
	rollupTimeout: num("BENCH_QUERY_ROLLUP_TIMEOUT", 900),
	exact: (env.BENCH_QUERY_EXACT ?? (QUICK ? "0" : "1")) !== "0",
	short: env.BENCH_QUERY_SHORT === "1",
	keepState: env.BENCH_QUERY_KEEP_STATE === "1",
	waitQuiet: num("BENCH_QUERY_WAIT_QUIET", num("BENCH_WAIT_QUIET", 0)),
	profile: env.BENCH_QUERY_PROFILE === "1",
	board: boardConfig(env, QUICK),
};
const TENANT = "qbench";
const DATA = join(ROOT, "bench", ".data");
const BUILD = join(DATA, "build-query");
const STATE = join(DATA, "query-state");
const PORTS = { entry: 8860, direct: 8861 };
const DAY = 86_400_000;
const STAMP = new Date().toISOString().replace(/[:.]/g, "-");
const RUN = Date.now().toString(36);

const log = (...a) => console.error("•", ...a);
const fmt = (n, d = 0) => (n == null || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rel = (p) => p.replace(`${ROOT}/`, "");

process.on("exit", () => {
	duck.kill();
	killAllSync();
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"])
	process.on(sig, () => {
		console.error(`\n${sig}: stopping servers…`);
		process.exit(130);
	});

const waitQuiet = async (maxS) => (maxS ? waitQuietFor(maxS, log) : null);
const rollupUntilCaughtUp = (base, label, expected) => rollupLoop(base, label, expected, CFG.rollupTimeout);

// ── phases: wall time of each step, printed at the end ──
const PHASES = [];
async function phase(name, fn) {
	const t0 = performance.now();
	log(`${name}…`);
	try {
		return await fn();
	} finally {
		const seconds = round((performance.now() - t0) / 1000, 1);
		PHASES.push({ name, seconds });
		log(`  ${name}: ${seconds} s`);
	}
}

// ── the data: cached D1 file (events only) + Parquet for DuckDB ──
function dirSize(dir) {
	let n = 0;
	for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += statSync(join(e.parentPath ?? e.path, e.name)).size;
	return n;
}

function applyMigrations(persist) {
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: persist });
}

/** Generates the events into a fresh D1 file and a CSV (for DuckDB), with a progress bar. */
function generate(plan, cache) {
	const prefix = `q${DATA_VERSION}-`;
	log(`  applying migrations to an empty local D1 (${rel(join(DATA, "query-gen"))})…`);
	return seedEvents({
		tmp: join(DATA, "query-gen"),
		into: cache,
		sql: EVENTS_INSERT_SQL,
		csvPath: join(cache, "events.csv"),
		total: plan.events,
		label: `  generating ${fmt(plan.events)} events`,
		each: (add) => forEachEvent(plan, { users: CFG.users }, (e, users) => add(sqliteParams(TENANT, prefix, e, users), csvLine(prefix, e, users))),
	});
}

async function prepareData(plan) {
	const key = `query-v${DATA_VERSION}-${plan.events}-${CFG.users}-${plan.to}-${sourceHash(["migrations"], /\.sql$/)}`;
	const cache = join(DATA, key);
	const metaPath = join(cache, "meta.json");
	// Stale data sets (another data version, or the same size for another day or schema) go: each
	// is a few GB. Data sets of other sizes (small test runs) stay.
	for (const d of readdirSync(DATA)) {
		const m = /^query-v(\d+)-(\d+)-/.exec(d);
		if (m && d !== key && (Number(m[1]) !== DATA_VERSION || Number(m[2]) === plan.events)) rmSync(join(DATA, d), { recursive: true, force: true });
	}
	if (existsSync(metaPath)) {
		const meta = JSON.parse(readFileSync(metaPath, "utf8"));
		log(`  cached data set ${rel(cache)} (${fmt(dirSize(cache) / 2 ** 30, 1)} GiB): generation skipped`);
		return { cache, cached: true, ...meta };
	}
	rmSync(cache, { recursive: true, force: true });
	mkdirSync(cache, { recursive: true });
	const gen = generate(plan, cache);
	log(`  ${fmt(plan.events)} rows in ${gen.seconds} s (${fmt(gen.events_per_s)} rows/s into D1 + CSV)`);
	log("  CSV → Parquet for DuckDB…");
	await startDuck();
	const conv = await askDuck({ cmd: "convert", csv: join(cache, "events.csv"), parquet: join(cache, "events.parquet") });
	if (conv.rows !== plan.events) throw new Error(`Parquet has ${conv.rows} rows, expected ${plan.events}`);
	rmSync(join(cache, "events.csv"), { force: true });
	log(`  Parquet written in ${conv.seconds} s`);
	const meta = { key, plan: { from: plan.from, to: plan.to, events: plan.events, users: CFG.users }, generated_at: new Date().toISOString(), generate: gen, parquet: conv };
	writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
	return { cache, cached: false, ...meta };
}

// ── the runtime ──
async function startServer(persist = STATE) {
	const mf = await startMiniflare(
		{
			persist: rel(persist),
			entryPort: PORTS.entry,
			workers: [{ name: "edgewise", config: "wrangler.toml", scriptPath: rel(join(BUILD, "index.js")), directPort: PORTS.direct }],
		},
		CFG.profile ? { MINIFLARE_WORKERD_V8_FLAGS: "--perf-basic-prof" } : {},
	);
	const base = mf.direct.edgewise.replace(/\/$/, "");
	const until = Date.now() + 60_000;
	for (;;) {
		try {
			if ((await fetch(`${base}/healthz`)).ok) break;
		} catch {}
		if (Date.now() > until) throw new Error(`${base}/healthz not ready in 60 s`);
		await sleep(250);
	}
	return { base, stop: mf.stop, pids: mf.group, workerd: mf.workerd };
}

/**
 * With BENCH_QUERY_PROFILE=1, runs `fn` under `perf record` of the workerd process and stores the
 * analysis in PROFILES[name]; otherwise just runs `fn`.
 */
const PROFILES = {};
async function profiled(server, name, fn) {
	if (!CFG.profile) return fn();
	const [pid] = server.workerd();
	const data = join(DATA, `perf-query-${name}.data`);
	const perf = spawnGroup("perf", ["record", "-F", "499", "-g", "-p", String(pid), "-o", data], { stdio: "ignore" });
	await sleep(300);
	try {
		return await fn();
	} finally {
		perf.kill("SIGINT");
		await new Promise((r) => perf.on("exit", r));
		try {
			PROFILES[name] = analysePerf(data, { bundles: { "index.js": join(BUILD, "index.js") }, top: 25 });
			log(`  profile ${name}: ${PROFILES[name].samples} samples; top: ${PROFILES[name].functions.slice(0, 5).map((f) => `${f.name} ${f.pct}%`).join(", ")}`);
		} catch (err) {
			PROFILES[name] = { error: String(err?.message ?? err) };
		}
		rmSync(data, { force: true });
		rmSync(`${data}.old`, { force: true });
	}
}

/** Tenant (UTC), ingest + read keys and the rollup configuration, all through the admin API. */
async function setupTenant(base) {
	const admin = DEV.adminToken;
	const tenant = await api(base, "POST", "/v1/admin/tenants", { token: admin, body: { id: TENANT, name: "Query benchmark", timezone: "UTC" } });
	need(tenant.id === TENANT, "POST /v1/admin/tenants returns the tenant", tenant);
	const key = async (scope) => {
		const k = await api(base, "POST", `/v1/admin/tenants/${TENANT}/keys`, { token: admin, body: { scope, name: `bench:query ${scope}` } });
		need(typeof k.key === "string", `POST /v1/admin/tenants/${TENANT}/keys returns the key`, k);
		return k.key;
	};
	const keys = { ingest: await key("ingest"), read: await key("read") };
	const patched = await api(base, "PATCH", `/v1/admin/tenants/${TENANT}`, { token: admin, body: { dimension_props: ["channel"], metric_props: ["amount", "duration_ms"] } });
	return { keys, tenant: patched };
}

// ── the overview ──
/** The five dashboard requests for a date range (local dates, inclusive). */
function overviewRequests({ from, to }) {
	const date_range = { from, to };
	const top = (dim) => ({ metrics: ["count", "uniques"], date_range, dimensions: [dim], order_by: [["count", "desc"]], limit: 10 });
	return {
		kpis: { metrics: ["count", "uniques", "sum:amount", "avg:duration_ms", "p95:duration_ms"], date_range, compare: "previous_period" },
		daily: { metrics: ["count", "uniques"], date_range, granularity: "day" },
		country: top("country"),
		event: top("event"),
		channel: top("prop:channel"),
	};
}

function checkAnswer(name, body, days) {
	need(Array.isArray(body?.results) && body.meta && typeof body.meta === "object", `POST /v1/query (${name}) returns {results: [...], meta: {...}}`, body);
	if (name === "kpis") {
		const r = body.results[0];
		need(body.results.length === 1 && r?.metrics?.length === 5, "the KPI request returns one row of 5 metrics", body.results);
		need(Array.isArray(r.comparison?.metrics) && r.comparison.metrics.length === 5, "the KPI row carries comparison.metrics (previous_period)", r);
	} else if (name === "daily") need(body.results.length === days && body.results.every((x) => typeof x.time === "string" && x.metrics?.length === 2), `the daily series has ${days} rows {time, metrics:[count, uniques]}`, body.results.slice(0, 3));
	else need(body.results.length <= 10 && body.results.every((x) => x.dimensions?.length === 1 && x.metrics?.length === 2), "a top-10 breakdown returns ≤ 10 rows {dimensions:[v], metrics:[count, uniques]}", body.results.slice(0, 3));
}

async function timeOverview(server, readKey, range, days) {
	const base = server.base;
	const reqs = overviewRequests(range);
	const names = Object.keys(reqs);
	const bodies = Object.fromEntries(names.map((n) => [n, JSON.stringify(reqs[n])]));
	const once = async () => {
		const t0 = performance.now();
		const out = await Promise.all(
			names.map(async (n) => {
				const q0 = performance.now();
				const body = await api(base, "POST", "/v1/query", { token: readKey, body: bodies[n] });
				return [n, body, performance.now() - q0];
			}),
		);
		return { wall: performance.now() - t0, out };
	};
	await waitQuiet(CFG.waitQuiet);
	const first = await once();
	for (const [n, body] of first.out) checkAnswer(n, body, days);
	for (let i = 1; i < CFG.warmup; i++) await once();
	const wall = [];
	const took = Object.fromEntries(names.map((n) => [n, []]));
	const client = Object.fromEntries(names.map((n) => [n, []]));
	const plans = {};
	const scanned = {};
	let last = first;
	const cpu = cpuWindow(server.pids);
	await profiled(server, `overview-${days}d`, async () => {
		for (let i = 0; i < CFG.reps; i++) {
			last = await once();
			wall.push(last.wall);
			for (const [n, body, ms] of last.out) {
				took[n].push(body.meta.took_ms);
				client[n].push(ms);
				plans[n] = plans[n] ?? new Set();
				plans[n].add(String(body.meta.plan));
				scanned[n] = body.meta.rows_scanned;
			}
		}
	});
	const answers = Object.fromEntries(last.out.map(([n, body]) => [n, body]));
	const c = cpu();
	return {
		range,
		cpu: { runtime_pct: c.server_cpu_pct, client_pct: c.generator_cpu_pct, other_pct: c.other_cpu_pct, runtime_cpu_ms_per_overview: Math.round((c.server_cpu_s * 1000) / CFG.reps) },
		reps: CFG.reps,
		warmup: CFG.warmup,
		wall_ms: summary(wall),
		per_request: Object.fromEntries(names.map((n) => [n, { plan: [...plans[n]].join(","), rows_scanned: scanned[n], took_ms: summary(took[n]), client_ms: summary(client[n]) }])),
		all_rollup: names.every((n) => plans[n].size === 1 && plans[n].has("rollup")),
		requests: reqs,
		answers,
	};
}

// ── fresh events: the real HTTP ingest path ──
async function hubStats(base, readKey) {
	return api(base, "GET", "/v1/ingest/stats", { token: readKey });
}

async function waitDrained(base, readKey, timeoutS = 180) {
	const t0 = Date.now();
	let s = await hubStats(base, readKey);
	while (s.buffered > 0) {
		if (Date.now() - t0 > timeoutS * 1000) throw new Error(`the hub still buffers ${s.buffered} events after ${timeoutS} s (last_flush_error: ${s.last_flush_error})`);
		await sleep(100);
		s = await hubStats(base, readKey);
	}
	if (s.last_flush_error) log(`  hub reports last_flush_error: ${s.last_flush_error}`);
	return { seconds: round((Date.now() - t0) / 1000, 2), stats: s };
}

/** Sends fresh events over HTTP; returns early (with the rest of the iterator) if far too slow. */
async function ingestHttp(base, keys, iter, count) {
	const t0 = performance.now();
	let sent = 0;
	let accepted = 0;
	let requests = 0;
	let stop = false;
	let reason = null;
	const problems = { rejected: 0, duplicates: 0 };
	const label = `  ingesting ${fmt(count)} fresh events over HTTP`;
	const worker = async () => {
		while (!stop) {
			const batch = [];
			for (let i = 0; i < CFG.freshBatch; i++) {
				const n = iter.next();
				if (n.done) break;
				batch.push(n.value.json);
			}
			if (!batch.length) return;
			const r = await api(base, "POST", "/v1/events", { token: keys.ingest, body: `{"events":[${batch.join(",")}]}`, retries: 5 });
			requests++;
			sent += batch.length;
			accepted += r.accepted ?? 0;
			problems.rejected += r.rejected ?? 0;
			problems.duplicates += r.duplicates ?? 0;
			if (requests % 20 === 0 || sent === count) progress(label, sent, count);
			// After 10%, project the total: far slower than planned → stop and insert the rest directly.
			const secs = (performance.now() - t0) / 1000;
			if (!stop && sent >= count * 0.1 && sent < count && (secs / sent) * count > CFG.freshMaxSeconds) {
				stop = true;
				reason = `HTTP ingest ran at ${fmt(sent / secs)} events/s: ${fmt(count)} events would take ${fmt((secs / sent) * count)} s (> BENCH_QUERY_FRESH_MAX_S=${CFG.freshMaxSeconds})`;
			}
		}
	};
	await Promise.all(Array.from({ length: CFG.freshConnections }, worker));
	const seconds = (performance.now() - t0) / 1000;
	if (accepted !== sent) log(`  ${fmt(sent - accepted)} of ${fmt(sent)} events not accepted (${JSON.stringify(problems)})`);
	return { sent, accepted, requests, seconds: round(seconds, 1), events_per_s: Math.round(sent / seconds), ...problems, stopped_early: reason };
}

/** Writes events straight into the D1 file (runtime stopped), as the hub's flush would store them. */
function insertDirect(iter, left) {
	const db = new DatabaseSync(findD1File(STATE));
	db.exec("PRAGMA synchronous = OFF;");
	const insert = db.prepare(EVENTS_INSERT_SQL);
	const t0 = performance.now();
	let n = 0;
	const now = Date.now();
	db.exec("BEGIN");
	for (const e of iter) {
		const p = e.params;
		p[0] = TENANT;
		p[6] = Math.max(e.params[5], now) + (n % 50);
		insert.run(...p);
		if (++n % 50_000 === 0) {
			db.exec("COMMIT; BEGIN");
			progress("  inserting fresh events directly", n, left);
		}
	}
	db.exec("COMMIT");
	progress("  inserting fresh events directly", n, left);
	db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
	db.close();
	return { inserted: n, seconds: round((performance.now() - t0) / 1000, 1) };
}

async function freshPass(server, keys) {
	const count = CFG.fresh;
	const iter = freshEvents(count, { now: Date.now(), runId: RUN, users: CFG.users });
	const out = { events: count, late_share: 0.005 };
	let rest = count;
	if (!CFG.freshDirect) {
		out.http = await ingestHttp(server.base, keys, iter, count);
		log(`  HTTP: ${fmt(out.http.sent)} events in ${out.http.seconds} s (${fmt(out.http.events_per_s)} events/s, ${fmt(out.http.accepted)} accepted)`);
		out.drain = await waitDrained(server.base, keys.read);
		log(`  hub drained to D1 ${out.drain.seconds} s after the last request`);
		rest = count - out.http.sent;
		if (out.http.stopped_early) log(`  falling back to direct insertion: ${out.http.stopped_early}`);
	}
	if (rest > 0) {
		out.direct_reason = CFG.freshDirect ? "BENCH_QUERY_FRESH_DIRECT=1" : out.http.stopped_early;
		await server.stop();
		out.direct = insertDirect(iter, rest);
		Object.assign(server, await startServer());
	}
	out.via = out.direct ? (out.http?.sent ? `HTTP (${fmt(out.http.sent)}) + direct SQLite insert (${fmt(out.direct.inserted)})` : "direct SQLite insert") : "HTTP ingest (POST /v1/events, batches of 500)";
	out.rollup = await profiled(server, "fresh-rollup", () => rollupUntilCaughtUp(server.base, `  rollups over ${fmt(count)} fresh events`, count));
	return out;
}

// ── DuckDB child ──
const duck = duckChild("queryduck.mjs");
const startDuck = duck.start;
const askDuck = duck.ask;
const stopDuck = duck.stop;

async function duckPhase(data, ranges) {
	await startDuck();
	const out = {};
	out.load = await askDuck({ cmd: "load", parquet: join(data.cache, "events.parquet") });
	log(`  loaded ${fmt(out.load.rows)} rows in ${out.load.seconds} s (DuckDB memory ${fmt(out.load.duckdb_memory_mib)} MiB, process RSS ${fmt(out.load.rss_mib)} MiB)`);
	const run = async (range, exact) => {
		await waitQuiet(CFG.waitQuiet);
		const cpu = cpuWindow(() => (duck.pid() ? [duck.pid()] : []));
		const r = await askDuck({ cmd: "overview", range, exact, reps: CFG.reps, warmup: CFG.warmup });
		const c = cpu();
		// Over warm-up + timed runs: the share of the machine DuckDB used, and what others used.
		r.cpu = { duckdb_pct: c.server_cpu_pct, other_pct: c.other_cpu_pct, duckdb_cpu_ms_per_overview: Math.round((c.server_cpu_s * 1000) / (CFG.reps + CFG.warmup)) };
		log(`  DuckDB ${exact ? "exact" : "approx"} ${range.from}…${range.to}: p50 ${r.wall_ms.p50} ms, p95 ${r.wall_ms.p95} ms`);
		return r;
	};
	out.approx = await run(ranges.main, false);
	if (CFG.exact) out.exact = await run(ranges.main, true);
	// The answers are checked against exact figures even when the exact pass is not timed.
	out.exact_answers = out.exact?.answers ?? (await askDuck({ cmd: "overview", range: ranges.main, exact: true, reps: 1, warmup: 0 })).answers;
	if (ranges.short) out.short_approx = await run(ranges.short, false);
	await stopDuck();
	return out;
}

// ── answers side by side ──
const pct = (a, b) => (a == null || b == null || b === 0 ? null : ((a - b) / b) * 100);
function compareAnswers(ew, dk) {
	const exact = dk.exact_answers;
	const approx = dk.approx.answers;
	const names = ["count", "uniques", "sum:amount", "avg:duration_ms", "p95:duration_ms"];
	const mine = ew.answers.kpis.results[0];
	const kpis = names.map((name, i) => ({
		name,
		edgewise: mine.metrics[i],
		duckdb_approx: approx.kpis.metrics[i],
		duckdb_exact: exact.kpis.metrics[i],
		diff_pct: round(pct(mine.metrics[i], exact.kpis.metrics[i]), 2),
		previous_edgewise: mine.comparison?.metrics?.[i] ?? null,
		previous_duckdb: exact.kpis.previous[i],
	}));
	const countries = ew.answers.country.results.map((r, i) => {
		const d = exact.country.find((x) => x.dimensions[0] === r.dimensions[0]);
		return { rank: i + 1, value: r.dimensions[0], edgewise: r.metrics, duckdb: d?.metrics ?? null, duckdb_rank: d ? exact.country.indexOf(d) + 1 : null };
	});
	const daily = ew.answers.daily.results.map((r) => [r.time, r.metrics[0]]);
	const dailyDuck = new Map(exact.daily.map((r) => [r.time.replace(".000Z", "Z"), r.metrics[0]]));
	const dailyEqual = daily.filter(([t, c]) => dailyDuck.get(t.replace(".000Z", "Z")) === c).length;
	const uniquesOff = Math.abs(pct(mine.metrics[1], exact.kpis.metrics[1]) ?? Infinity);
	const countryOk = countries.every((c) => c.duckdb && c.duckdb[0] === c.edgewise[0] && Math.abs(pct(c.edgewise[1], c.duckdb[1])) <= 3);
	return {
		kpis,
		countries,
		daily_counts_equal: `${dailyEqual}/${daily.length}`,
		counts_equal: mine.metrics[0] === exact.kpis.metrics[0] && countries.every((c) => c.duckdb?.[0] === c.edgewise[0]) && dailyEqual === daily.length,
		uniques_within_3pct: uniquesOff <= 3 && countryOk,
		uniques_diff_pct: round(uniquesOff, 2),
	};
}

// ── report ──
function report(R) {
	const out = [];
	const m = R.meta;
	out.push("", `Query benchmark — ${m.date}, commit ${m.git.commit}${m.git.dirty ? ` + uncommitted changes to ${m.git.changed.join(", ")}` : ""}, ${m.machine.cores}× ${m.machine.cpu_model}, Node ${m.node}`);
	if (R.data) out.push(`Data: ${fmt(CFG.events)} events, tenant ${TENANT} (UTC), ${R.data?.plan?.from} … ${R.data?.plan?.to}, ${fmt(CFG.users)} users${R.data?.cached ? " (cached data set)" : ""}. Worker: Miniflare ${m.miniflare} on its direct socket. DuckDB ${m.duckdb}, in-memory, ${m.machine.cores} threads.`, "");
	const ms = (v) => (v == null ? "–" : fmt(v, 1));
	const rows = [];
	const ew = R.edgewise?.overview;
	const ewRow = (label, o) => ({ label, s: o.wall_ms, cpu: o.cpu.runtime_cpu_ms_per_overview, other: o.cpu.other_pct });
	const dkRow = (label, o) => ({ label, s: o.wall_ms, cpu: o.cpu.duckdb_cpu_ms_per_overview, other: o.cpu.other_pct });
	if (ew) rows.push(ewRow("Edgewise, from rollups (POST /v1/query ×5)", ew));
	if (R.duckdb?.approx) rows.push(dkRow("DuckDB, raw rows, approx_count_distinct / approx_quantile", R.duckdb.approx));
	if (R.duckdb?.exact) rows.push(dkRow("DuckDB, raw rows, count(DISTINCT) / quantile_cont", R.duckdb.exact));
	if (R.edgewise?.overview_short) rows.push(ewRow("Edgewise, last 14 days (previous period has data)", R.edgewise.overview_short));
	if (R.duckdb?.short_approx) rows.push(dkRow("DuckDB approx, last 14 days", R.duckdb.short_approx));
	if (rows.length) {
		out.push(`Dashboard overview: 5 requests fired together, wall clock of the whole overview, ${CFG.reps} runs after ${CFG.warmup} warm-up runs:`);
		out.push(table(rows, [{ h: "engine", f: (r) => r.label }, { h: "p50 ms", f: (r) => ms(r.s.p50) }, { h: "p95 ms", f: (r) => ms(r.s.p95) }, { h: "max ms", f: (r) => ms(r.s.max) }, { h: "mean ms", f: (r) => ms(r.s.mean) }, { h: "engine CPU ms/overview", f: (r) => fmt(r.cpu) }, { h: "others' CPU (1 core = 100%)", f: (r) => `${r.other}%` }]), "");
		const noisy = rows.filter((r) => r.other > 25);
		if (noisy.length) out.push(`Note: other processes used > 25% of a core during: ${noisy.map((r) => `${r.label} (${r.other}%)`).join("; ")}. Those figures are pessimistic (BENCH_QUERY_WAIT_QUIET=60 waits for a quiet machine).`, "");
	}
	if (ew) {
		const per = Object.entries(ew.per_request).map(([name, p]) => ({ name, p, d: R.duckdb?.approx?.per_query_ms?.[name] }));
		out.push("Per request (Edgewise meta.took_ms = time inside the worker; client = HTTP round trip inside the concurrent overview):");
		out.push(
			table(per, [
				{ h: "request", f: (r) => r.name },
				{ h: "plan", f: (r) => r.p.plan },
				{ h: "rows scanned", f: (r) => fmt(r.p.rows_scanned) },
				{ h: "took p50", f: (r) => ms(r.p.took_ms.p50) },
				{ h: "took p95", f: (r) => ms(r.p.took_ms.p95) },
				{ h: "client p50", f: (r) => ms(r.p.client_ms.p50) },
				{ h: "client p95", f: (r) => ms(r.p.client_ms.p95) },
				{ h: "DuckDB approx p50", f: (r) => ms(r.d?.p50) },
				{ h: "DuckDB approx p95", f: (r) => ms(r.d?.p95) },
			]),
			"",
		);
	}
	if (R.comparison) {
		const c = R.comparison;
		const v = (x, d = 0) => (x == null ? "–" : fmt(x, d));
		out.push("Answers (Edgewise vs DuckDB; diff against DuckDB exact):");
		out.push(
			table(c.kpis, [
				{ h: "KPI", f: (r) => r.name },
				{ h: "Edgewise", f: (r) => v(r.edgewise, 2) },
				{ h: "DuckDB approx", f: (r) => v(r.duckdb_approx, 2) },
				{ h: "DuckDB exact", f: (r) => v(r.duckdb_exact, 2) },
				{ h: "diff", f: (r) => (r.diff_pct == null ? "–" : `${r.diff_pct}%`) },
				{ h: "prev. Edgewise", f: (r) => v(r.previous_edgewise, 2) },
				{ h: "prev. DuckDB", f: (r) => v(r.previous_duckdb, 2) },
			]),
			"",
		);
		out.push(
			table(c.countries, [
				{ h: "top countries", f: (r) => `${r.rank}. ${r.value}` },
				{ h: "count (Edgewise)", f: (r) => v(r.edgewise[0]) },
				{ h: "count (DuckDB)", f: (r) => v(r.duckdb?.[0]) },
				{ h: "uniques (Edgewise)", f: (r) => v(r.edgewise[1]) },
				{ h: "uniques (DuckDB exact)", f: (r) => v(r.duckdb?.[1]) },
				{ h: "DuckDB rank", f: (r) => r.duckdb_rank ?? "–" },
			]),
		);
		out.push(`Daily series: ${c.daily_counts_equal} days with equal counts.`);
		if (c.kpis[0].previous_duckdb === 0) out.push(`The previous period of the 30-day range holds no events (the data starts with the range): its comparison costs little. BENCH_QUERY_SHORT=1 adds a 14-day overview whose previous period has data.`);
		out.push("");
	}
	const ru = R.edgewise?.rollup;
	if (ru) out.push(`Rollup of the ${fmt(CFG.events)} events: ${ru.cron_work_s} s of cron work in ${ru.passes} pass(es) (${ru.wall_s} s wall; ${fmt(ru.events_per_cron_s)} events per cron-second; pass p50 ${ms(ru.pass_ms.p50)} ms, max ${ms(ru.pass_ms.max)} ms; ${fmt(ru.buckets_written)} buckets written).`);
	const fr = R.edgewise?.fresh;
	if (fr?.rollup) {
		out.push(`Fresh events: ${fmt(fr.events)} via ${fr.via}${fr.http ? `, ${fmt(fr.http.events_per_s)} events/s over HTTP, hub drained ${fr.drain?.seconds ?? "–"} s after the last request` : ""}${fr.direct_reason ? ` (direct insert because ${fr.direct_reason})` : ""}.`);
		out.push(`  their rollup: ${fr.rollup.cron_work_s} s of cron work in ${fr.rollup.passes} pass(es) (${fr.rollup.wall_s} s wall, ${fmt(fr.rollup.buckets_written)} buckets written).`);
	}
	if (R.duckdb?.load) out.push(`DuckDB load (Parquet → in-memory table): ${R.duckdb.load.seconds} s for ${fmt(R.duckdb.load.rows)} rows, ${fmt(R.duckdb.load.duckdb_memory_mib)} MiB.`);
	if (R.data) out.push(`Data set: ${R.data.cached ? "cached" : `generated in ${R.data.generate.seconds} s (${fmt(R.data.generate.events_per_s)} rows/s), Parquet in ${R.data.parquet.seconds} s`}; D1 copy for this run ${R.copy_seconds} s.`);
	out.push("", `Phases: ${PHASES.map((p) => `${p.name} ${p.seconds} s`).join(" · ")}`);
	if (R.edgewise?.status) {
		// The whole answer is in the JSON file; here long lists are cut to their first 3 items.
		const cut = (v) => (Array.isArray(v) ? [...v.slice(0, 3).map(cut), ...(v.length > 3 ? [`… ${v.length - 3} more`] : [])] : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cut(x)])) : v);
		out.push("", "GET /v1/system/status (at the end):", JSON.stringify(cut(R.edgewise.status), null, 1).replace(/\n\s*/g, " "));
	}
	if (R.board) out.push("", ...boardLines(R.board, CFG.board));
	if (R.people) out.push("", ...peopleReport(R.people));
	out.push("", "Targets:");
	for (const t of R.targets) out.push(`  [${t.pass == null ? "N/A " : t.pass ? "PASS" : "MISS"}] ${t.target}: ${t.measured}`);
	for (const e of R.errors) out.push("", `ERROR (${e.phase}): ${e.message}`);
	return out.join("\n");
}

function targets(R) {
	return [...(runs("overview") ? overviewTargets(R) : []), ...(runs("board") ? boardTargets(R.board) : []), ...(R.people?.targets ?? [])];
}

function overviewTargets(R) {
	const ew = R.edgewise?.overview;
	const dk = R.duckdb?.approx;
	const fr = R.edgewise?.fresh?.rollup;
	const c = R.comparison;
	const t = [];
	t.push({ id: "overview_p95", target: "overview p95 ≤ 100 ms from rollups", value: ew?.wall_ms.p95 ?? null, pass: ew ? ew.wall_ms.p95 <= 100 : null, measured: ew ? `p95 ${ew.wall_ms.p95} ms (p50 ${ew.wall_ms.p50} ms, max ${ew.wall_ms.max} ms)` : "not measured" });
	t.push({ id: "plan_rollup", target: "every overview request answered from rollups (meta.plan)", value: ew?.all_rollup ?? null, pass: ew ? ew.all_rollup : null, measured: ew ? Object.entries(ew.per_request).map(([n, p]) => `${n}: ${p.plan}`).join(", ") : "not measured" });
	t.push({
		id: "faster_than_duckdb",
		target: "overview faster than DuckDB on the raw events (p95, DuckDB approx)",
		value: ew && dk ? round(dk.wall_ms.p95 / ew.wall_ms.p95, 2) : null,
		pass: ew && dk ? ew.wall_ms.p95 < dk.wall_ms.p95 : null,
		measured: ew && dk ? `Edgewise p95 ${ew.wall_ms.p95} ms vs DuckDB ${dk.wall_ms.p95} ms (p50 ${ew.wall_ms.p50} vs ${dk.wall_ms.p50} ms${R.duckdb.exact ? `; DuckDB exact p95 ${R.duckdb.exact.wall_ms.p95} ms` : ""})` : "not measured",
	});
	t.push({ id: "fresh_rollup", target: `rollup of ${fmt(CFG.fresh)} freshly ingested events ≤ 10 s of cron work`, value: fr?.cron_work_s ?? null, pass: fr ? fr.cron_work_s <= 10 : null, measured: fr ? `${fr.cron_work_s} s in ${fr.passes} pass(es) (${fr.wall_s} s wall)` : "not measured" });
	t.push({ id: "answers_agree", target: "answers agree with DuckDB (counts equal, uniques within 3%)", value: c ? c.counts_equal && c.uniques_within_3pct : null, pass: c ? c.counts_equal && c.uniques_within_3pct : null, measured: c ? `counts ${c.counts_equal ? "equal" : "DIFFER"} (daily ${c.daily_counts_equal}), uniques off by ${c.uniques_diff_pct}%${c.uniques_within_3pct ? "" : " (or a top-10 country off by > 3%)"}` : "not compared" });
	return t;
}

// ── main ──
/** Steps 1-5: the overview data set, its rollup, the overview, the fresh events, DuckDB. */
async function overviewPart(R) {
	const today = Math.floor(Date.now() / DAY) * DAY;
	const plan = dataPlan({ events: CFG.events, days: CFG.days, today });
	const ranges = { main: { from: plan.from, to: plan.to }, short: CFG.short ? { from: new Date(today - 14 * DAY).toISOString().slice(0, 10), to: plan.to } : null };

	const data = await phase("data", () => prepareData(plan));
	await stopDuck();
	R.data = { cached: data.cached, key: data.key, plan: data.plan, generate: data.generate, parquet: data.parquet };

	let server = null;
	R.edgewise = {};
	try {
		await phase("fresh D1 copy", () => {
			rmSync(STATE, { recursive: true, force: true });
			const c0 = performance.now();
			cpSync(join(data.cache, "v3"), join(STATE, "v3"), { recursive: true });
			R.copy_seconds = round((performance.now() - c0) / 1000, 1);
			// A no-op unless migrations were added since the data set was cached (then its key changes anyway).
			applyMigrations(STATE);
		});
		server = await phase("start runtime", () => startServer());
		log(`  worker on ${server.base} (direct socket)`);
		const { keys } = await phase("tenant + keys (admin API)", () => setupTenant(server.base));
		R.edgewise.rollup = await phase(`rollup ${fmt(CFG.events)} events`, () => rollupUntilCaughtUp(server.base, `  rolling up ${fmt(CFG.events)} events`, CFG.events));
		log(`  ${R.edgewise.rollup.cron_work_s} s of cron work in ${R.edgewise.rollup.passes} passes`);
		R.edgewise.overview = await phase("overview (Edgewise)", () => timeOverview(server, keys.read, ranges.main, CFG.days));
		log(`  overview p50 ${R.edgewise.overview.wall_ms.p50} ms, p95 ${R.edgewise.overview.wall_ms.p95} ms; plans ${Object.values(R.edgewise.overview.per_request).map((p) => p.plan).join(", ")}`);
		if (ranges.short) R.edgewise.overview_short = await phase("overview, 14 days (Edgewise)", () => timeOverview(server, keys.read, ranges.short, 14));
		if (CFG.fresh > 0) R.edgewise.fresh = await phase(`fresh ${fmt(CFG.fresh)} events + rollup`, () => freshPass(server, keys));
		R.edgewise.status = await api(server.base, "GET", "/v1/system/status", { token: keys.read });
	} catch (err) {
		R.errors.push({ phase: "edgewise", message: String(err instanceof HttpError ? err.message : (err?.stack ?? err)) });
		log(`Edgewise part failed: ${R.errors.at(-1).message}`);
	} finally {
		if (server) await server.stop();
		// A few GB per run: kept only on request.
		if (!CFG.keepState) rmSync(STATE, { recursive: true, force: true });
	}

	try {
		R.duckdb = await phase("DuckDB (load + overview)", () => duckPhase(data, ranges));
	} catch (err) {
		R.errors.push({ phase: "duckdb", message: String(err?.stack ?? err) });
		log(`DuckDB part failed: ${R.errors.at(-1).message}`);
	}
	if (R.edgewise.overview && R.duckdb?.approx) {
		try {
			R.comparison = compareAnswers(R.edgewise.overview, R.duckdb);
		} catch (err) {
			R.errors.push({ phase: "compare", message: `cannot compare answers: ${err.message}` });
		}
	}
}

async function main() {
	mkdirSync(DATA, { recursive: true });
	// The admin token of local development (ADMIN_TOKEN in .dev.vars), as `npm start` sets it up.
	ensureDevVars();
	for (const p of Object.values(PORTS)) if (!(await portFree(p))) throw new Error(`port ${p} in use (another bench:query or dev server running?)`);
	if (CFG.profile && !perfUsable()) throw new Error("BENCH_QUERY_PROFILE=1 needs `perf` (linux-perf)");
	const t0 = Date.now();
	const R = {
		meta: runMeta(ROOT, { packages: { wrangler: "wrangler", miniflare: "miniflare", duckdb: "@duckdb/node-api" }, config: CFG }),
		errors: [],
	};
	await phase("build", () => wrangler(["deploy", "--dry-run", "--outdir", BUILD]));
	if (runs("overview")) await overviewPart(R);
	if (runs("board")) {
		try {
			R.board = await runBoard(
				{
					data: DATA,
					state: join(DATA, "board-state"),
					keepState: CFG.keepState,
					rollupTimeout: CFG.rollupTimeout,
					log,
					phase,
					waitQuiet: () => waitQuiet(CFG.waitQuiet),
					startServer,
					duck: { start: startDuck, ask: askDuck, stop: stopDuck, pids: () => (duck.pid() ? [duck.pid()] : []) },
				},
				CFG.board,
			);
			const bad = R.board.comparison.filter((c) => c.status === "MISMATCH" || c.status === "FAILED");
			if (bad.length) R.errors.push({ phase: "board", message: `board tiles failed or differ from DuckDB's: ${bad.map((c) => `${c.name} (${c.status}): ${c.problems.join("; ")}`).join(" | ")}` });
		} catch (err) {
			R.errors.push({ phase: "board", message: String(err instanceof HttpError ? err.message : (err?.stack ?? err)) });
			log(`Board part failed: ${R.errors.at(-1).message}`);
		}
	}
	if (runs("people")) {
		R.people = await phase("people", () => peoplePhase());
		for (const e of R.people.errors) R.errors.push({ phase: `people ${e.phase}`, message: e.message });
	}
	if (CFG.profile) R.profiles = PROFILES;
	R.phases = PHASES;
	R.targets = targets(R);
	R.meta.total_seconds = Math.round((Date.now() - t0) / 1000);
	const file = join(DATA, `query-${STAMP}.json`);
	writeFileSync(file, `${JSON.stringify(R, null, 2)}\n`);
	console.log(report(R));
	console.log(`\nJSON: ${rel(file)}  (total ${R.meta.total_seconds} s)`);
	if (R.errors.length) process.exitCode = 1;
}

try {
	await main();
} catch (err) {
	console.error(`\nbenchmark failed: ${err?.stack ?? err}`);
	process.exitCode = 1;
} finally {
	await stopDuck().catch(() => {});
	await killAll();
	process.exit(process.exitCode ?? 0);
}
