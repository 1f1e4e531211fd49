#!/usr/bin/env node
// The DuckDB anchor of `npm run bench:query`, in its own process (its memory and threads go away
// with it, and it never shares an event loop with the HTTP timings). Driven over IPC:
//   {cmd:"convert", csv, parquet}                  → {seconds, rows}   CSV → Parquet (cached)
//   {cmd:"load", parquet}                          → {seconds, rows, rss_mib}   into an in-memory table
//   {cmd:"overview", range, exact, reps, warmup}   → {wall_ms, per_query_ms, answers}
//   {cmd:"close"}
// The table gets DuckDB's best shape: typed columns (properties flattened to channel / duration_ms /
// amount), the user identity precomputed, timestamps as TIMESTAMP (UTC), rows in time order (tight
// zone maps for the date filter).
import { DuckDBInstance } from "@duckdb/node-api";
import { CSV_COLUMNS } from "./querydata.mjs";
import { round, summary } from "./querystats.mjs";

const DAY = 86_400_000;
let instance;
let conns = [];

const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ts = (ms) => `TIMESTAMP '${new Date(ms).toISOString().replace("T", " ").replace("Z", "")}'`;
const num = (v) => (v == null ? null : typeof v === "bigint" ? Number(v) : typeof v === "object" && "toDouble" in v ? v.toDouble() : Number(v));

async function open() {
	if (instance) return;
	// Every core this machine has (2 here), as DuckDB would be deployed.
	instance = await DuckDBInstance.create(":memory:", { threads: String(Math.max(1, (await import("node:os")).availableParallelism())) });
	// One connection per concurrent dashboard request.
	for (let i = 0; i < 5; i++) conns.push(await instance.connect());
	await conns[0].run("SET TimeZone = 'UTC'");
}

async function rows(conn, sql) {
	return (await conn.runAndReadAll(sql)).getRowsJS();
}

async function convert({ csv, parquet }) {
	await open();
	const t0 = performance.now();
	const cols = `{${Object.entries(CSV_COLUMNS).map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`).join(", ")}}`;
	await conns[0].run(
		`COPY (SELECT * FROM read_csv(${sqlString(csv)}, header = false, columns = ${cols}, nullstr = '', delim = ',', quote = '')) TO ${sqlString(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
	);
	const [[n]] = await rows(conns[0], `SELECT count(*) FROM read_parquet(${sqlString(parquet)})`);
	return { seconds: round((performance.now() - t0) / 1000, 2), rows: num(n) };
}

async function load({ parquet }) {
	await open();
	const t0 = performance.now();
	await conns[0].run("DROP TABLE IF EXISTS events");
	await conns[0].run(
		`CREATE TABLE events AS SELECT message_id, event, user_id, anonymous_id, coalesce(user_id, anonymous_id) AS uid,
		 epoch_ms(ts_ms) AS ts, epoch_ms(received_ms) AS received_at, country, browser, os, device, channel, duration_ms, amount
		 FROM read_parquet(${sqlString(parquet)}) ORDER BY ts_ms`,
	);
	const [[n]] = await rows(conns[0], "SELECT count(*) FROM events");
	const [[mem]] = await rows(conns[0], "SELECT sum(memory_usage_bytes) FROM duckdb_memory()");
	return { seconds: round((performance.now() - t0) / 1000, 2), rows: num(n), duckdb_memory_mib: Math.round(num(mem) / 2 ** 20), rss_mib: Math.round(process.memoryUsage().rss / 2 ** 20) };
}

/**
 * The dashboard overview as SQL on raw rows: the same five requests Edgewise gets.
 * range = {from, to} (UTC dates, inclusive); the previous period is the same length just before.
 */
export function overviewSql({ from, to }, exact) {
	const start = Date.parse(`${from}T00:00:00Z`);
	const end = Date.parse(`${to}T00:00:00Z`) + DAY;
	const prev = start - (end - start);
	// `uid` = coalesce(user_id, anonymous_id), materialised at load (3x faster distinct counts than
	// computing it per query): the identity Edgewise counts, in DuckDB's best shape.
	const uid = "uid";
	const uniques = exact ? `count(DISTINCT ${uid})` : `approx_count_distinct(${uid})`;
	const p95 = exact ? "quantile_cont(duration_ms, 0.95)" : "approx_quantile(duration_ms, 0.95)";
	const where = `ts >= ${ts(start)} AND ts < ${ts(end)}`;
	const top = (col) => `SELECT ${col} AS v, count(*) AS c, ${uniques} AS u FROM events WHERE ${where} GROUP BY v ORDER BY c DESC, v LIMIT 10`;
	return {
		kpis: `SELECT ts >= ${ts(start)} AS cur, count(*), ${uniques}, sum(amount), avg(duration_ms), ${p95} FROM events WHERE ts >= ${ts(prev)} AND ts < ${ts(end)} GROUP BY cur`,
		daily: `SELECT date_trunc('day', ts) AS day, count(*), ${uniques} FROM events WHERE ${where} GROUP BY day ORDER BY day`,
		country: top("country"),
		event: top("event"),
		channel: top("channel"),
	};
}

function shape(name, r) {
	if (name === "kpis") {
		const cur = r.find((x) => x[0] === true)?.slice(1).map(num) ?? [0, 0, null, null, null];
		const prev = r.find((x) => x[0] === false)?.slice(1).map(num) ?? [0, 0, null, null, null];
		return { metrics: cur, previous: prev };
	}
	if (name === "daily") return r.map(([d, c, u]) => ({ time: new Date(d).toISOString(), metrics: [num(c), num(u)] }));
	return r.map(([v, c, u]) => ({ dimensions: [v], metrics: [num(c), num(u)] }));
}

async function overview({ range, exact, reps, warmup }) {
	const sql = overviewSql(range, exact);
	const names = Object.keys(sql);
	const once = async () => {
		const t0 = performance.now();
		const per = {};
		const out = await Promise.all(
			names.map(async (name, i) => {
				const q0 = performance.now();
				const r = await rows(conns[i], sql[name]);
				per[name] = performance.now() - q0;
				return [name, r];
			}),
		);
		return { wall: performance.now() - t0, per, out };
	};
	for (let i = 0; i < warmup; i++) await once();
	const wall = [];
	const per = Object.fromEntries(names.map((n) => [n, []]));
	let last;
	for (let i = 0; i < reps; i++) {
		last = await once();
		wall.push(last.wall);
		for (const n of names) per[n].push(last.per[n]);
	}
	return {
		exact,
		reps,
		wall_ms: summary(wall),
		per_query_ms: Object.fromEntries(names.map((n) => [n, summary(per[n])])),
		answers: Object.fromEntries(last.out.map(([n, r]) => [n, shape(n, r)])),
		sql,
	};
}

if (process.send) {
	process.on("message", async (m) => {
		try {
			if (m.cmd === "convert") process.send({ ok: true, result: await convert(m) });
			else if (m.cmd === "load") process.send({ ok: true, result: await load(m) });
			else if (m.cmd === "overview") process.send({ ok: true, result: await overview(m) });
			else if (m.cmd === "close") {
				for (const c of conns) c.closeSync();
				instance?.closeSync();
				process.exit(0);
			}
		} catch (err) {
			process.send({ ok: false, error: String(err?.stack ?? err) });
		}
	});
}
