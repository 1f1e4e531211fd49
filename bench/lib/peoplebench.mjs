#!/usr/bin/env node
// The people part of `npm run bench:query`: a 4-step funnel and a 12-week retention on about 10
// million events of a million people, through the worker (POST /v1/funnels, POST /v1/retention,
// after the cron's people pass built the per-person tables) and in DuckDB on the same raw rows, in
// the same run; the answers compared. bench/query.mjs calls `peoplePhase`; alone:
//   node bench/lib/peoplebench.mjs            (prints the report; JSON in bench/.data/people-*.json)
//
//   BENCH_QUICK=1 (200k events of 20k people, 2 runs)
//   BENCH_PEOPLE_EVENTS=10000000  BENCH_PEOPLE_PEOPLE=1000000  BENCH_PEOPLE_REPS=5 (timed runs of each query)
//   BENCH_PEOPLE_PASS_TIMEOUT=1800  seconds allowed for the people pass to catch up
//   BENCH_PEOPLE_KEEP_STATE=0       1 keeps this run's Miniflare state (bench/.data/people-state)
// Ports 8890 (Miniflare entry) and 8891 (the worker's direct socket).
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DEV } from "../../scripts/dev-keys.mjs";
import { ensureDevVars, progress, ROOT, wrangler } from "../../scripts/lib.mjs";
import { findD1File, sourceHash } from "./d1file.mjs";
import { duckChild } from "./duckchild.mjs";
import { startMiniflare } from "./miniflare.mjs";
import { FUNNEL_STEPS, forEachPeopleEvent, PEOPLE_DATA_VERSION, PEOPLE_INSERT_SQL, peopleCsv, peopleParams, peoplePlan } from "./peopledata.mjs";
import { round, summary, table } from "./querystats.mjs";
import { cpuWindow, killAll, killAllSync, portFree, runMeta } from "./system.mjs";

const env = process.env;
const num = (k, d) => (env[k] != null && env[k] !== "" ? Number(env[k]) : d);
const QUICK = env.BENCH_QUICK === "1";
export const PEOPLE_CFG = {
	events: num("BENCH_PEOPLE_EVENTS", QUICK ? 200_000 : 10_000_000),
	people: num("BENCH_PEOPLE_PEOPLE", QUICK ? 20_000 : 1_000_000),
	reps: Math.max(1, num("BENCH_PEOPLE_REPS", QUICK ? 2 : 5)),
	passTimeout: num("BENCH_PEOPLE_PASS_TIMEOUT", 1800),
	keepState: env.BENCH_PEOPLE_KEEP_STATE === "1",
	window: "7d",
	weeks: 12,
};
const TENANT = "pbench";
const DATA = join(ROOT, "bench", ".data");
const BUILD = join(DATA, "build-people");
const STATE = join(DATA, "people-state");
const PORTS = { entry: 8890, direct: 8891 };
const DAY = 86_400_000;
/** The query API's time limit (workers/query/answer.ts QUERY_TIMEOUT_MS). */
const LIMIT_MS = 10_000;

const log = (...a) => console.error("•", ...a);
const fmt = (n, d = 0) => (n == null || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const rel = (p) => p.replace(`${ROOT}/`, "");

async function api(base, method, path, { token, body } = {}) {
	const t0 = performance.now();
	const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
	const text = await res.text();
	let json;
	try {
		json = JSON.parse(text);
	} catch {
		throw new Error(`${method} ${path} → HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
	}
	return { status: res.status, body: json, ms: performance.now() - t0 };
}

// ── the DuckDB child ──
const duck = duckChild("peopleduck.mjs");
const startDuck = duck.start;
const askDuck = duck.ask;
const stopDuck = duck.stop;

// ── data: generated once, cached (D1 state + Parquet) ──
async function prepareData(plan) {
	const key = `people-v${PEOPLE_DATA_VERSION}-${plan.events}-${plan.people}-${plan.to}-${sourceHash(["migrations"], /\.sql$/)}`;
	const cache = join(DATA, key);
	for (const d of existsSync(DATA) ? readdirSync(DATA) : []) {
		const m = /^people-v(\d+)-(\d+)-(\d+)-/.exec(d);
		if (m && d !== key && (Number(m[1]) !== PEOPLE_DATA_VERSION || (Number(m[2]) === plan.events && Number(m[3]) === plan.people))) rmSync(join(DATA, d), { recursive: true, force: true });
	}
	if (existsSync(join(cache, "meta.json"))) {
		log(`  cached people data set ${rel(cache)}`);
		return { cache, cached: true, ...JSON.parse(readFileSync(join(cache, "meta.json"), "utf8")) };
	}
	rmSync(cache, { recursive: true, force: true });
	mkdirSync(cache, { recursive: true });
	const tmp = join(DATA, "people-gen");
	rmSync(tmp, { recursive: true, force: true });
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: tmp });
	const file = findD1File(tmp);
	const db = new DatabaseSync(file);
	const mode = db.prepare("PRAGMA journal_mode").get().journal_mode;
	db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;");
	const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL").all();
	for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);
	const insert = db.prepare(PEOPLE_INSERT_SQL);
	const csvPath = join(cache, "events.csv");
	const fd = openSync(csvPath, "w");
	let csv = [];
	const t0 = performance.now();
	db.exec("BEGIN");
	const n = forEachPeopleEvent(plan, (e) => {
		insert.run(...peopleParams(TENANT, e));
		csv.push(peopleCsv(e));
		if (csv.length === 20_000) {
			writeSync(fd, csv.join(""));
			csv = [];
		}
		if (e.seq % 100_000 === 0) {
			db.exec("COMMIT; BEGIN");
			progress(`  generating about ${fmt(plan.events)} events of ${fmt(plan.people)} people`, e.seq, plan.events);
		}
	});
	db.exec("COMMIT");
	writeSync(fd, csv.join(""));
	closeSync(fd);
	for (const i of indexes) db.exec(i.sql);
	db.exec(`PRAGMA journal_mode = ${mode}`);
	db.close();
	const seconds = round((performance.now() - t0) / 1000, 1);
	renameSync(join(tmp, "v3"), join(cache, "v3"));
	rmSync(tmp, { recursive: true, force: true });
	log(`  ${fmt(n)} events in ${seconds} s; CSV → Parquet…`);
	startDuck();
	const conv = await askDuck({ cmd: "convert", csv: csvPath, parquet: join(cache, "events.parquet") });
	if (conv.rows !== n) throw new Error(`Parquet has ${conv.rows} rows, expected ${n}`);
	rmSync(csvPath, { force: true });
	const meta = { key, events: n, people: plan.people, from: plan.from, to: plan.to, generate_s: seconds, parquet_s: conv.seconds };
	writeFileSync(join(cache, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
	return { cache, cached: false, ...meta };
}

/** The two requests, over the data's 12 weeks (UTC dates, inclusive). */
export function peopleRequests(plan) {
	const date_range = { from: plan.from, to: plan.to };
	return {
		funnel: { steps: FUNNEL_STEPS.map((event) => ({ event })), date_range, window: PEOPLE_CFG.window },
		retention: { period: "week", date_range, periods: PEOPLE_CFG.weeks },
	};
}

/** POST /v1/admin/people/run until caught up: cron work = the sum of the passes' duration_ms. */
async function passUntilCaughtUp(base, total) {
	const t0 = performance.now();
	const passes = [];
	let scanned = 0;
	for (;;) {
		const r = await api(base, "POST", "/v1/admin/people/run", { token: DEV.adminToken });
		if (r.status !== 200 || r.body.errors?.length) throw new Error(`people/run → ${r.status}: ${JSON.stringify(r.body).slice(0, 800)}`);
		passes.push(r.body);
		scanned += r.body.scanned_events;
		const work = passes.reduce((a, p) => a + p.duration_ms, 0);
		progress(`  people pass: ${passes.length} passes, ${fmt(work / 1000, 1)} s of cron work`, scanned, total);
		if (r.body.caught_up) break;
		if ((performance.now() - t0) / 1000 > PEOPLE_CFG.passTimeout) throw new Error(`the people pass did not catch up in ${PEOPLE_CFG.passTimeout} s`);
	}
	const work = passes.reduce((a, p) => a + p.duration_ms, 0);
	const sum = (k) => passes.reduce((a, p) => a + (p.timings?.[k] ?? 0), 0);
	return {
		passes: passes.length,
		cron_work_s: round(work / 1000, 1),
		wall_s: round((performance.now() - t0) / 1000, 1),
		events_per_cron_s: Math.round(scanned / (work / 1000)),
		read_s: round(sum("read") / 1000, 1),
		build_s: round(sum("build") / 1000, 1),
		write_s: round(sum("write") / 1000, 1),
		people_created: passes.reduce((a, p) => a + p.people_created, 0),
		merges: passes.reduce((a, p) => a + p.merges, 0),
		links: passes.reduce((a, p) => a + p.links, 0),
	};
}

async function timeRequest(server, key, path, body, reps) {
	const ms = [];
	const took = [];
	let last;
	const cpu = cpuWindow(server.group);
	for (let i = 0; i < reps; i++) {
		last = await api(server.base, "POST", path, { token: key, body });
		if (last.status !== 200) return { status: last.status, error: last.body.error, client_ms: summary([last.ms]) };
		ms.push(last.ms);
		took.push(last.body.meta?.took_ms);
	}
	const c = cpu();
	return { status: 200, client_ms: summary(ms), took_ms: summary(took), runtime_cpu_ms: Math.round((c.server_cpu_s * 1000) / reps), others_cpu_pct: c.other_cpu_pct, rows_read: last.body.meta?.rows_read ?? null, answer: last.body };
}

function compare(ew, dk) {
	const out = {};
	if (ew.funnel?.answer && dk.funnel) {
		const s = ew.funnel.answer.steps;
		out.funnel_entered = { edgewise: s.map((x) => x.entered), duckdb: dk.funnel.answer.entered };
		out.funnel_times = {
			edgewise: s.slice(1).map((x) => [x.time_to_convert_ms?.median ?? null, x.time_to_convert_ms?.p90 ?? null]),
			duckdb: dk.funnel.answer.median.slice(1).map((m, i) => [m, dk.funnel.answer.p90[i + 1]]),
		};
		out.funnel_equal = JSON.stringify(out.funnel_entered.edgewise) === JSON.stringify(out.funnel_entered.duckdb) && JSON.stringify(out.funnel_times.edgewise) === JSON.stringify(out.funnel_times.duckdb);
	}
	if (ew.retention?.answer && dk.retention) {
		let cells = 0;
		let equal = 0;
		const diffs = [];
		for (const c of ew.retention.answer.cohorts) {
			const d = dk.retention.answer[c.cohort.slice(0, 10)] ?? { people: 0, retained: [] };
			cells++;
			if (c.people === d.people) equal++;
			else diffs.push({ cohort: c.cohort, k: "people", edgewise: c.people, duckdb: d.people });
			c.retained.forEach((x, k) => {
				cells++;
				const want = d.retained[k] ?? 0;
				if ((x ?? 0) === want) equal++;
				else diffs.push({ cohort: c.cohort, k, edgewise: x, duckdb: want });
			});
		}
		out.retention_cells = `${equal}/${cells}`;
		out.retention_equal = equal === cells;
		out.retention_diffs = diffs.slice(0, 10);
	}
	return out;
}

/**
 * The whole people part: data, the worker (people pass, funnel, retention), DuckDB, comparison.
 * `build`: a directory holding the production bundle (index.js) when the caller built one.
 */
export async function peoplePhase({ build = null } = {}) {
	mkdirSync(DATA, { recursive: true });
	ensureDevVars();
	for (const p of Object.values(PORTS)) if (!(await portFree(p))) throw new Error(`port ${p} in use (another bench running?)`);
	const today = Math.floor(Date.now() / DAY) * DAY;
	const plan = peoplePlan({ events: PEOPLE_CFG.events, people: PEOPLE_CFG.people, today });
	const R = { config: PEOPLE_CFG, requests: peopleRequests(plan), errors: [] };
	const bundle = build ?? BUILD;
	if (!build) {
		log("people: building the production bundle…");
		wrangler(["deploy", "--dry-run", "--outdir", BUILD]);
	}
	log("people: data…");
	const data = await prepareData(plan);
	await stopDuck();
	R.data = data;
	let server = null;
	R.edgewise = {};
	try {
		rmSync(STATE, { recursive: true, force: true });
		cpSync(join(data.cache, "v3"), join(STATE, "v3"), { recursive: true });
		wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: STATE });
		const mf = await startMiniflare({ persist: rel(STATE), entryPort: PORTS.entry, workers: [{ name: "edgewise", config: "wrangler.toml", scriptPath: rel(join(bundle, "index.js")), directPort: PORTS.direct }] });
		server = { base: mf.direct.edgewise.replace(/\/$/, ""), stop: mf.stop, group: mf.group };
		for (let i = 0; i < 240; i++) {
			try {
				if ((await fetch(`${server.base}/healthz`)).ok) break;
			} catch {}
			await new Promise((r) => setTimeout(r, 250));
		}
		const admin = DEV.adminToken;
		const tenant = await api(server.base, "POST", "/v1/admin/tenants", { token: admin, body: { id: TENANT, name: "People benchmark", timezone: "UTC" } });
		if (tenant.status !== 201) throw new Error(`tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
		const key = (await api(server.base, "POST", `/v1/admin/tenants/${TENANT}/keys`, { token: admin, body: { scope: "read", name: "bench people" } })).body.key;
		log("people: the people pass over every event (the cron's work, in passes of 15 s)…");
		R.edgewise.pass = await passUntilCaughtUp(server.base, data.events);
		log(`  ${R.edgewise.pass.cron_work_s} s of cron work in ${R.edgewise.pass.passes} passes (${fmt(R.edgewise.pass.events_per_cron_s)} events per cron-second)`);
		for (const [name, path] of [["funnel", "/v1/funnels"], ["retention", "/v1/retention"]]) {
			await api(server.base, "POST", path, { token: key, body: R.requests[name] }); // warm-up
			R.edgewise[name] = await timeRequest(server, key, path, R.requests[name], PEOPLE_CFG.reps);
			log(`  ${name}: ${R.edgewise[name].status === 200 ? `p50 ${R.edgewise[name].client_ms.p50} ms (took ${R.edgewise[name].took_ms.p50} ms)` : `HTTP ${R.edgewise[name].status} ${JSON.stringify(R.edgewise[name].error)}`}`);
		}
	} catch (err) {
		R.errors.push({ phase: "edgewise", message: String(err?.stack ?? err) });
		log(`people (Edgewise) failed: ${R.errors.at(-1).message}`);
	} finally {
		if (server) await server.stop();
		if (!PEOPLE_CFG.keepState) rmSync(STATE, { recursive: true, force: true });
	}
	try {
		startDuck();
		R.duckdb = { load: await askDuck({ cmd: "load", parquet: join(data.cache, "events.parquet") }) };
		log(`people: DuckDB loaded ${fmt(R.duckdb.load.rows)} rows, ${fmt(R.duckdb.load.people)} people (identities resolved at load) in ${R.duckdb.load.seconds} s`);
		const from = Date.parse(`${plan.from}T00:00:00Z`);
		const to = Date.parse(`${plan.to}T00:00:00Z`) + DAY;
		await askDuck({ cmd: "funnel", steps: FUNNEL_STEPS, from, to, windowMs: 7 * DAY, reps: 1 });
		R.duckdb.funnel = await askDuck({ cmd: "funnel", steps: FUNNEL_STEPS, from, to, windowMs: 7 * DAY, reps: PEOPLE_CFG.reps });
		R.duckdb.retention = await askDuck({ cmd: "retention", from, to, periods: PEOPLE_CFG.weeks, reps: PEOPLE_CFG.reps });
		log(`  DuckDB funnel p50 ${R.duckdb.funnel.ms.p50} ms, retention p50 ${R.duckdb.retention.ms.p50} ms`);
	} catch (err) {
		R.errors.push({ phase: "duckdb", message: String(err?.stack ?? err) });
	} finally {
		await stopDuck();
	}
	R.comparison = compare(R.edgewise, R.duckdb ?? {});
	R.targets = peopleTargets(R);
	return R;
}

export function peopleTargets(R) {
	const t = [];
	for (const name of ["funnel", "retention"]) {
		const e = R.edgewise?.[name];
		const ok = e?.status === 200;
		t.push({
			id: `people_${name}_limit`,
			target: `${name === "funnel" ? "4-step funnel" : "12-week retention"} on ${fmt(R.data?.events)} events and ${fmt(R.config.people)} people within the query time limit (${LIMIT_MS / 1000} s)`,
			pass: e ? ok && e.client_ms.max <= LIMIT_MS : null,
			measured: !e ? "not measured" : ok ? `p50 ${e.client_ms.p50} ms, max ${e.client_ms.max} ms (DuckDB ${R.duckdb?.[name]?.ms?.p50 ?? "–"} ms)` : `HTTP ${e.status}: ${e.error?.code} ${e.error?.message ?? ""}`,
		});
	}
	const c = R.comparison ?? {};
	t.push({ id: "people_answers", target: "funnel and retention equal to DuckDB's", pass: c.funnel_equal == null ? null : c.funnel_equal && c.retention_equal, measured: `funnel ${c.funnel_equal ? "equal" : "DIFFERS"}, retention cells ${c.retention_cells ?? "–"}` });
	return t;
}

/** Report lines for bench/query.mjs's table (or the standalone run). */
export function peopleReport(R) {
	const out = [];
	const p = R.edgewise?.pass;
	out.push(`People: ${fmt(R.data?.events)} events of ${fmt(R.config.people)} people over 12 weeks (${R.data?.from} … ${R.data?.to}), tenant ${TENANT} (UTC)${R.data?.cached ? " (cached data set)" : ""}.`);
	if (p) out.push(`  people pass (the cron's): ${p.cron_work_s} s of cron work in ${p.passes} passes (${fmt(p.events_per_cron_s)} events/s; read ${p.read_s} s, build ${p.build_s} s, write ${p.write_s} s; ${fmt(p.people_created)} people, ${fmt(p.links)} links, ${fmt(p.merges)} merges of stored people).`);
	const rows = [];
	for (const name of ["funnel", "retention"]) {
		const e = R.edgewise?.[name];
		const d = R.duckdb?.[name];
		rows.push({ name, e, d });
	}
	out.push(
		table(rows, [
			{ h: "query", f: (r) => (r.name === "funnel" ? `funnel, 4 steps, 7d window (${R.config.reps} runs)` : `retention, 12 weekly cohorts × 13 weeks (${R.config.reps} runs)`) },
			{ h: "Edgewise p50 ms", f: (r) => (r.e?.status === 200 ? fmt(r.e.client_ms.p50) : `HTTP ${r.e?.status ?? "–"}`) },
			{ h: "max ms", f: (r) => (r.e?.status === 200 ? fmt(r.e.client_ms.max) : "–") },
			{ h: "runtime CPU ms", f: (r) => fmt(r.e?.runtime_cpu_ms) },
			{ h: "rows read", f: (r) => fmt(r.e?.rows_read) },
			{ h: "others' CPU", f: (r) => (r.e?.others_cpu_pct == null ? "–" : `${r.e.others_cpu_pct}%`) },
			{ h: "DuckDB p50 ms", f: (r) => fmt(r.d?.ms?.p50) },
			{ h: "DuckDB max ms", f: (r) => fmt(r.d?.ms?.max) },
		]),
	);
	const c = R.comparison ?? {};
	if (c.funnel_entered) out.push(`  funnel people per step: Edgewise ${c.funnel_entered.edgewise.join(" → ")}, DuckDB ${c.funnel_entered.duckdb.join(" → ")}; times (median/p90 ms) ${JSON.stringify(c.funnel_times.edgewise)} vs ${JSON.stringify(c.funnel_times.duckdb)}`);
	if (c.retention_cells) out.push(`  retention cells equal: ${c.retention_cells}${c.retention_diffs?.length ? ` (first differences ${JSON.stringify(c.retention_diffs.slice(0, 3))})` : ""}`);
	if (R.duckdb?.load) out.push(`  DuckDB load with identities resolved: ${R.duckdb.load.seconds} s (${fmt(R.duckdb.load.duckdb_memory_mib)} MiB).`);
	for (const e of R.errors) out.push(`  ERROR (people ${e.phase}): ${e.message.split("\n")[0]}`);
	return out;
}

// Standalone: node bench/lib/peoplebench.mjs
if (import.meta.url === `file://${process.argv[1]}`) {
	process.on("exit", () => {
		duck.kill();
		killAllSync();
	});
	for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => process.exit(130));
	try {
		const R = await peoplePhase();
		R.meta = runMeta(ROOT, { packages: { duckdb: "@duckdb/node-api" }, config: PEOPLE_CFG });
		const file = join(DATA, `people-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
		writeFileSync(file, `${JSON.stringify(R, null, 2)}\n`);
		console.log([...peopleReport(R), "", "Targets:", ...R.targets.map((t) => `  [${t.pass == null ? "N/A " : t.pass ? "PASS" : "MISS"}] ${t.target}: ${t.measured}`)].join("\n"));
		console.log(`\nJSON: ${rel(file)}`);
		if (R.errors.length) process.exitCode = 1;
	} catch (err) {
		console.error(`people bench failed: ${err?.stack ?? err}`);
		process.exitCode = 1;
	} finally {
		await stopDuck().catch(() => {});
		await killAll();
	}
}
