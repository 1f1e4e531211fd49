#!/usr/bin/env node
// `npm run bench:export`: raw events to files in R2 (issue 15), measured.
//
//   1. data      10M events for one tenant over the 30 UTC days before today, from bench:query's
//                generator (bench/lib/querydata.mjs), written straight into a local D1 file (no
//                rollups: an events export reads raw events), and the same rows as CSV for DuckDB.
//                Cached under bench/.data/export-v…/; each run works on a fresh copy.
//   2. export    Miniflare with the production bundle; POST /v1/exports of every event of the 30
//                days as CSV, then as Parquet. The tenant's ExportRunner runs it in alarms (15 s of
//                work each, a checkpoint between them) exactly as in production. Polled every 250 ms:
//                rows, bytes; workerd's RSS is sampled every 100 ms (the whole runtime: the isolate,
//                and local D1 and R2, which run in the same process), its peak reported up to 1M rows
//                written and over the whole export.
//   3. baseline  DuckDB (in-memory, all cores) loads the same rows, then COPY … TO csv and
//                COPY … TO parquet (its defaults), ordered by time as ours are, timed.
//
//   BENCH_EXPORT_EVENTS=10000000   BENCH_EXPORT_FORMATS=csv,parquet   BENCH_EXPORT_KEEP_STATE=0
//   BENCH_EXPORT_WAIT_QUIET=120    before measuring, wait up to N s for other processes to use < 25% of a core
//
// Ports: 8880 Miniflare entry, 8881 the worker's direct socket.
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DuckDBInstance } from "@duckdb/node-api";
import { DEV } from "../scripts/dev-keys.mjs";
import { ensureDevVars, progress, ROOT, wrangler } from "../scripts/lib.mjs";
import { startMiniflare } from "./lib/miniflare.mjs";
import { CSV_COLUMNS, csvLine, DATA_VERSION, dataPlan, EVENTS_INSERT_SQL, forEachEvent, sqliteParams } from "./lib/querydata.mjs";
import { round } from "./lib/querystats.mjs";
import { cpuSeconds, descendants, killAllSync, machineCpu, memory, memoryBreakdown, portFree, runMeta } from "./lib/system.mjs";
import { findD1File } from "./lib/d1file.mjs";

const env = process.env;
const CFG = {
	events: Number(env.BENCH_EXPORT_EVENTS ?? 10_000_000),
	users: 200_000,
	formats: (env.BENCH_EXPORT_FORMATS ?? "csv,parquet").split(","),
	keepState: env.BENCH_EXPORT_KEEP_STATE === "1",
	waitQuiet: Number(env.BENCH_EXPORT_WAIT_QUIET ?? 120),
};
const TENANT = "xbench";
const DATA = join(ROOT, "bench", ".data");
const BUILD = join(DATA, "build-export");
const STATE = join(DATA, "export-state");
const PORTS = { entry: 8880, direct: 8881 };
const DAY = 86_400_000;
const TARGET_CSV_ROWS_S = 200_000;

const log = (...a) => console.error("•", ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rel = (p) => p.replace(`${ROOT}/`, "");
const fmt = (n, d = 0) => (n == null ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d }));
const mib = (b) => round(b / 2 ** 20, 1);

/** The events into a fresh local D1 file (node:sqlite, indexes built once at the end) and a CSV for DuckDB. */
async function generate(plan, into, csvPath) {
	rmSync(into, { recursive: true, force: true });
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: into });
	const db = new DatabaseSync(findD1File(into));
	const mode = db.prepare("PRAGMA journal_mode").get().journal_mode;
	db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;");
	const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL").all();
	for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);
	const insert = db.prepare(EVENTS_INSERT_SQL);
	const csv = createWriteStream(csvPath);
	csv.write(`${Object.keys(CSV_COLUMNS).join(",")}\n`);
	let buf = "";
	const every = Math.max(1, Math.floor(plan.events / 200));
	let n = 0;
	db.exec("BEGIN");
	const prefix = `x${DATA_VERSION}-`;
	forEachEvent(plan, { users: CFG.users }, (e, users) => {
		insert.run(...sqliteParams(TENANT, prefix, e, users));
		buf += csvLine(prefix, e, users);
		if (++n % 100_000 === 0) {
			db.exec("COMMIT; BEGIN");
			csv.write(buf);
			buf = "";
		}
		if (n % every === 0 || n === plan.events) progress(`  generating ${fmt(plan.events)} events`, n, plan.events);
	});
	db.exec("COMMIT");
	csv.write(buf);
	await new Promise((r) => csv.end(r));
	for (const i of indexes) db.exec(i.sql);
	db.exec(`PRAGMA journal_mode = ${mode}`);
	db.close();
}

async function preparedData(plan) {
	const key = `export-v${DATA_VERSION}-${plan.events}-${CFG.users}-${plan.to}-${readdirSync(join(ROOT, "migrations")).filter((f) => f.endsWith(".sql")).length}`;
	const cache = join(DATA, key);
	for (const d of readdirSync(DATA)) if (/^export-v\d+-/.test(d) && d !== key && d.includes(`-${plan.events}-`)) rmSync(join(DATA, d), { recursive: true, force: true });
	if (existsSync(join(cache, "meta.json"))) return { cache, ...JSON.parse(readFileSync(join(cache, "meta.json"), "utf8")), cached: true };
	const t0 = performance.now();
	log(`generating ${fmt(plan.events)} events (${plan.from} … ${plan.to})…`);
	mkdirSync(cache, { recursive: true });
	await generate(plan, join(cache, "state"), join(cache, "events.csv"));
	const meta = { key, plan: { from: plan.from, to: plan.to, events: plan.events }, generated_s: round((performance.now() - t0) / 1000, 1) };
	writeFileSync(join(cache, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
	return { cache, ...meta, cached: false };
}

async function api(base, method, path, { token, body } = {}) {
	const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
	const text = await res.text();
	if (!res.ok) throw new Error(`${method} ${path} → HTTP ${res.status}: ${text.slice(0, 800)}`);
	return JSON.parse(text);
}

/** Other processes' share of the machine (in % of one core) while `fn` ran. */
function othersWatch(ours) {
	const tree = () => new Map(ours().map((p) => [p, cpuSeconds(p)]));
	const [m0, t0, w0] = [machineCpu(), tree(), performance.now()];
	return () => {
		const [m1, t1] = [machineCpu(), tree()];
		let mine = 0;
		for (const [p, s1] of t1) mine += s1 - (t0.get(p) ?? 0);
		return Math.max(0, Math.round(((m1.busy - m0.busy - mine) / ((performance.now() - w0) / 1000)) * 100));
	};
}

async function waitQuiet(ours, maxS) {
	const until = Date.now() + maxS * 1000;
	for (;;) {
		const others = othersWatch(ours);
		await sleep(2000);
		const pct = others();
		if (pct < 25 || Date.now() >= until) return pct;
		log(`  other processes use ${pct}% of a core; waiting for a quieter machine…`);
	}
}

/** One export through the API, run by the tenant's ExportRunner; rows/s from the export's own start and finish. */
async function measureExport(base, readKey, mf, format, plan) {
	const workerd = () => mf.workerd();
	const ours = () => [process.pid, ...descendants(process.pid)];
	// MiB. RSS is the whole runtime process; its anonymous part (heaps: the isolate, SQLite's caches)
	// leaves out the mapped files (the binary, the D1 and R2 files being read and written).
	const rss = () => workerd().reduce((a, p) => a + memory(p).rss, 0);
	const anon = () => workerd().reduce((a, p) => a + (memoryBreakdown(p)?.anonymous_mib ?? 0), 0);
	const idle = rss();
	const idleAnon = anon();
	let anonPeak1M = idleAnon;
	let anonPeak = idleAnon;
	const cpu0 = workerd().reduce((a, p) => a + cpuSeconds(p), 0);
	const others = othersWatch(ours);
	let peak1M = idle;
	let peakAll = idle;
	let rows = 0;
	const sampler = setInterval(() => {
		const r = rss();
		const a = anon();
		peakAll = Math.max(peakAll, r);
		anonPeak = Math.max(anonPeak, a);
		if (rows <= 1_000_000) {
			peak1M = Math.max(peak1M, r);
			anonPeak1M = Math.max(anonPeak1M, a);
		}
	}, 100);
	const created = await api(base, "POST", "/v1/exports", { token: readKey, body: { format, events: { date_range: { from: plan.from, to: plan.to } } } });
	const t0 = performance.now();
	let x = created;
	let at1M = null;
	for (;;) {
		await sleep(250);
		x = await api(base, "GET", `/v1/exports/${created.id}`, { token: readKey });
		rows = x.rows;
		if (at1M == null && rows >= 1_000_000) at1M = { s: round((performance.now() - t0) / 1000, 1), rows };
		process.stderr.write(`\r  ${format}: ${x.state}, ${fmt(x.rows)} / ${fmt(x.expected_rows)} rows, ${fmt(mib(x.bytes), 1)} MiB, rss ${fmt(rss())} MiB   `);
		if (x.state === "done" || x.state === "failed") break;
	}
	clearInterval(sampler);
	process.stderr.write("\n");
	if (x.state !== "done") throw new Error(`the ${format} export failed: ${JSON.stringify(x.error)}`);
	const seconds = (Date.parse(x.finished_at) - Date.parse(x.started_at)) / 1000;
	const cpu = workerd().reduce((a, p) => a + cpuSeconds(p), 0) - cpu0;
	return {
		format,
		rows: x.rows,
		bytes: x.bytes,
		seconds: round(seconds, 1),
		rows_per_s: Math.round(x.rows / seconds),
		runtime_cpu_s: round(cpu, 1),
		rows_per_cpu_s: Math.round(x.rows / cpu),
		rss_idle_mib: round(idle),
		rss_peak_1m_mib: round(peak1M),
		rss_peak_mib: round(peakAll),
		anon_idle_mib: round(idleAnon),
		anon_peak_1m_mib: round(anonPeak1M),
		anon_peak_mib: round(anonPeak),
		first_1m: at1M,
		others_pct: others(),
	};
}

/** DuckDB's COPY of the same rows, to CSV and to Parquet, from an in-memory table (its best case). */
async function duckdb(cache, outDir) {
	const db = await DuckDBInstance.create(":memory:");
	const c = await db.connect();
	const t0 = performance.now();
	await c.run(`CREATE TABLE events AS SELECT * FROM read_csv('${join(cache, "events.csv")}', header = true, columns = ${JSON.stringify(CSV_COLUMNS).replaceAll('"', "'")})`);
	const load_s = round((performance.now() - t0) / 1000, 1);
	const threads = Number((await c.runAndReadAll("SELECT current_setting('threads') AS t")).getRowObjects()[0].t);
	const out = { load_s, threads };
	for (const [format, opts] of [
		["csv", "(HEADER, DELIMITER ',')"],
		["parquet", "(FORMAT parquet)"],
	]) {
		const file = join(outDir, `duck.${format}`);
		const s = performance.now();
		await c.run(`COPY (SELECT * FROM events ORDER BY ts_ms) TO '${file}' ${opts}`);
		const seconds = (performance.now() - s) / 1000;
		const rows = Number((await c.runAndReadAll("SELECT count(*) AS n FROM events")).getRowObjects()[0].n);
		out[format] = { rows, seconds: round(seconds, 1), rows_per_s: Math.round(rows / seconds), bytes: statSync(file).size };
		rmSync(file, { force: true });
	}
	c.closeSync?.();
	return out;
}

async function main() {
	mkdirSync(DATA, { recursive: true });
	ensureDevVars();
	for (const p of Object.values(PORTS)) if (!(await portFree(p))) throw new Error(`port ${p} is in use (another bench:export?)`);
	const R = { meta: runMeta(ROOT, { packages: { "pdf-lib": "pdf-lib", pako: "pako", duckdb: "@duckdb/node-api" }, config: CFG }) };
	log("building the worker bundle…");
	wrangler(["deploy", "--dry-run", "--outdir", BUILD]);
	const today = Math.floor(Date.now() / DAY) * DAY;
	const plan = dataPlan({ events: CFG.events, days: 30, today });
	const data = await preparedData(plan);
	R.data = { cached: data.cached, plan: data.plan, generated_s: data.generated_s };

	rmSync(STATE, { recursive: true, force: true });
	log("copying the data set…");
	cpSync(join(data.cache, "state"), STATE, { recursive: true });
	const mf = await startMiniflare({ persist: rel(STATE), entryPort: PORTS.entry, workers: [{ name: "edgewise", config: "wrangler.toml", scriptPath: rel(join(BUILD, "index.js")), directPort: PORTS.direct }] });
	const base = (mf.direct.edgewise ?? `http://127.0.0.1:${PORTS.direct}/`).replace(/\/$/, "");
	try {
		for (const until = Date.now() + 60_000; ; await sleep(250)) {
			try {
				if ((await fetch(`${base}/healthz`)).ok) break;
			} catch {}
			if (Date.now() > until) throw new Error("the worker did not answer /healthz in 60 s");
		}
		await api(base, "POST", "/v1/admin/tenants", { token: DEV.adminToken, body: { id: TENANT, name: "Export benchmark", timezone: "UTC" } });
		const read = await api(base, "POST", `/v1/admin/tenants/${TENANT}/keys`, { token: DEV.adminToken, body: { scope: "read", name: "bench:export" } });
		R.exports = [];
		for (const format of CFG.formats) {
			if (CFG.waitQuiet) R[`others_before_${format}_pct`] = await waitQuiet(() => [process.pid, ...descendants(process.pid)], CFG.waitQuiet);
			log(`exporting ${fmt(plan.events)} events as ${format}…`);
			R.exports.push(await measureExport(base, read.key, mf, format, plan));
		}
	} finally {
		await mf.stop();
		if (!CFG.keepState) rmSync(STATE, { recursive: true, force: true });
	}
	log("DuckDB: load, then COPY to csv and parquet…");
	R.duckdb = await duckdb(data.cache, DATA);

	const file = join(DATA, `export-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
	writeFileSync(file, `${JSON.stringify(R, null, 2)}\n`);
	const m = R.meta;
	console.log(`\nExport benchmark — ${m.date}, commit ${m.git.commit}${m.git.dirty ? " (+ uncommitted changes)" : ""}, ${m.machine.cores}× ${m.machine.cpu_model}`);
	console.log(`Data: ${fmt(CFG.events)} events (${data.plan.from} … ${data.plan.to}), tenant ${TENANT}${data.cached ? " (cached data set)" : `, generated in ${data.generated_s} s`}. DuckDB ${R.duckdb.threads} threads, in memory.\n`);
	const lines = [["figure", "measured", "target", "baseline (DuckDB COPY, same rows)"]];
	for (const x of R.exports) {
		const d = R.duckdb[x.format];
		lines.push([`${x.format}: rows/s (rows, seconds)`, `${fmt(x.rows_per_s)} (${fmt(x.rows)} in ${x.seconds} s)`, x.format === "csv" ? `≥ ${fmt(TARGET_CSV_ROWS_S)}: ${x.rows_per_s >= TARGET_CSV_ROWS_S ? "PASS" : "MISS"}` : "–", `${fmt(d.rows_per_s)} (${d.seconds} s)`]);
		lines.push([`${x.format}: bytes`, `${fmt(mib(x.bytes), 1)} MiB`, "–", `${fmt(mib(d.bytes), 1)} MiB`]);
		lines.push([`${x.format}: runtime CPU`, `${x.runtime_cpu_s} s (${fmt(x.rows_per_cpu_s)} rows per CPU-second)`, "–", "–"]);
		lines.push([`${x.format}: workerd RSS, idle / peak to 1M rows / peak to ${fmt(x.rows)}`, `${x.rss_idle_mib} / ${x.rss_peak_1m_mib} / ${x.rss_peak_mib} MiB`, "flat", "–"]);
		lines.push([`${x.format}: workerd anonymous memory, idle / peak to 1M / peak to ${fmt(x.rows)}`, `${x.anon_idle_mib} / ${x.anon_peak_1m_mib} / ${x.anon_peak_mib} MiB`, "flat", "–"]);
		lines.push([`${x.format}: other processes during the export`, `${x.others_pct}% of a core`, "–", "–"]);
	}
	for (const l of lines) console.log(`| ${l.join(" | ")} |`);
	console.log(`\nResults: ${rel(file)}`);
}

process.on("exit", killAllSync);
main().catch((err) => {
	console.error(err);
	process.exitCode = 1;
});
