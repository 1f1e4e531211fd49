#!/usr/bin/env node
// The DuckDB anchor of `npm run bench:query`, in its own process (its memory and threads go away
// with it, and it never shares an event loop with the HTTP timings). Driven over IPC:
//   {cmd:"convert", csv, parquet}                  → {seconds, rows}   CSV → Parquet (cached)
//   {cmd:"load", parquet}                          → {seconds, rows, rss_mib}   into an in-memory table
//   {cmd:"overview", range, exact, reps, warmup}   → {wall_ms, per_query_ms, answers}
//   {cmd:"loadTable", parquet, table}              → {seconds, rows}   a table as it is, in time order
//   {cmd:"board", tiles, now, reps, viewers, waves} → {answers, board_ms, tile_ms, viewers_ms}   (boardduck.mjs)
//   {cmd:"close"}
// The table gets DuckDB's best shape: typed columns (properties flattened to channel / duration_ms /
// amount), the user identity precomputed, timestamps as TIMESTAMP (UTC), rows in time order (tight
// zone maps for the date filter).
import { DuckDBInstance } from "@duckdb/node-api";
import { TILES } from "./boardduck.mjs";
import { CSV_COLUMNS } from "./querydata.mjs";
import { round, summary } from "./querystats.mjs";

const DAY = 86_400_000;
let instance;
let conns = [];

const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ts = (ms) => `TIMESTAMP '${new Date(ms).toISOString().replace("T", " ").replace("Z", "")}'`;
const num = (v) => (v == null ? null : typeof v === "bigint" ? Number(v) : typeof v === "object" && "toDouble" in v ? v.toDouble() : Number(v));

/** `pool` connections: one per concurrent dashboard request (5 for the overview, 12 for the board). */
async function open(pool = 5) {
	// Every core this machine has (2 here), as DuckDB would be deployed.
	instance ??= await DuckDBInstance.create(":memory:", { threads: String(Math.max(1, (await import("node:os")).availableParallelism())) });
	while (conns.length < pool) conns.push(await instance.connect());
	await conns[0].run("SET TimeZone = 'UTC'");
}

async function rows(conn, sql) {
	return (await conn.runAndReadAll(sql)).getRowsJS();
}

async function convert({ csv, parquet, columns = CSV_COLUMNS }) {
	await open();
	const t0 = performance.now();
	const cols = `{${Object.entries(columns).map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`).join(", ")}}`;
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

async function loadTable({ parquet, table }) {
	await open();
	const t0 = performance.now();
	await conns[0].run(`CREATE OR REPLACE TABLE ${table} AS SELECT * FROM read_parquet(${sqlString(parquet)}) ORDER BY ts_ms`);
	const [[n]] = await rows(conns[0], `SELECT count(*) FROM ${table}`);
	return { seconds: round((performance.now() - t0) / 1000, 2), rows: num(n) };
}

/**
 * The board: its tiles' SQL fired together, each on a free connection of the pool (a tile waits
 * for one when all are busy), as a server on DuckDB with a pool of 12 connections would run it.
 * `reps` loads one after the other, then `waves` of `viewers` loads at once.
 */
async function board({ tiles, now, reps, viewers, waves }) {
	await open(12);
	const idle = [...conns];
	const waiting = [];
	const acquire = () => (idle.length ? Promise.resolve(idle.pop()) : new Promise((r) => waiting.push(r)));
	const release = (c) => (waiting.length ? waiting.shift()(c) : idle.push(c));
	const names = Object.keys(tiles);
	for (const n of names) if (!TILES[n]) throw new Error(`no DuckDB SQL for the report '${n}' (bench/lib/boardduck.mjs)`);
	const load = async () => {
		const t0 = performance.now();
		const out = await Promise.all(
			names.map(async (n) => {
				const tile = TILES[n];
				const ctx = { ...tiles[n], now };
				const c = await acquire();
				const q0 = performance.now();
				try {
					const results = [];
					for (const sql of tile.sql(ctx)) results.push(await rows(c, sql));
					return [n, tile.shape(results, ctx), performance.now() - q0];
				} finally {
					release(c);
				}
			}),
		);
		return { wall: performance.now() - t0, out };
	};
	const first = await load();
	const wall = [];
	const per = Object.fromEntries(names.map((n) => [n, []]));
	for (let i = 0; i < reps; i++) {
		const r = await load();
		wall.push(r.wall);
		for (const [n, , ms] of r.out) per[n].push(ms);
	}
	const crowd = [];
	const crowdWall = [];
	for (let w = 0; w < waves; w++) {
		const t0 = performance.now();
		for (const r of await Promise.all(Array.from({ length: viewers }, load))) crowd.push(r.wall);
		crowdWall.push(performance.now() - t0);
	}
	return {
		answers: Object.fromEntries(first.out.map(([n, a]) => [n, a])),
		board_ms: summary(wall),
		tile_ms: Object.fromEntries(names.map((n) => [n, summary(per[n])])),
		viewers_ms: summary(crowd),
		wave_ms: summary(crowdWall),
		sql: Object.fromEntries(names.map((n) => [n, TILES[n].sql({ ...tiles[n], now })])),
	};
}

if (process.send) {
	process.on("message", async (m) => {
		try {
			if (m.cmd === "convert") process.send({ ok: true, result: await convert(m) });
			else if (m.cmd === "load") process.send({ ok: true, result: await load(m) });
			else if (m.cmd === "overview") process.send({ ok: true, result: await overview(m) });
			else if (m.cmd === "loadTable") process.send({ ok: true, result: await loadTable(m) });
			else if (m.cmd === "board") process.send({ ok: true, result: await board(m) });
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
