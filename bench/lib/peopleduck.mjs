#!/usr/bin/env node
// The DuckDB anchor of the people part of `npm run bench:query`, in its own process. Over IPC:
//   {cmd:"convert", csv, parquet}                 → {seconds, rows}
//   {cmd:"load", parquet}                         → {seconds, rows, duckdb_memory_mib}
//   {cmd:"funnel", from, to, windowMs, reps}      → {ms: summary, answer}
//   {cmd:"retention", from, to, periods, reps}    → {ms: summary, answer}
//   {cmd:"close"}
// Written from the documented rules, not from Edgewise's code: persons from the identity links
// (resolved by joins), the strict funnel by window functions (the latest possible first step of a
// chain ending at each event), times by ASOF joins, retention by GROUP BY on weeks.
import { DuckDBInstance } from "@duckdb/node-api";
import { PEOPLE_CSV_COLUMNS } from "./peopledata.mjs";
import { round, summary } from "./querystats.mjs";

let instance;
let conn;
const q = (s) => `'${String(s).replaceAll("'", "''")}'`;
const num = (v) => (v == null ? null : typeof v === "bigint" ? Number(v) : typeof v === "object" && "toDouble" in v ? v.toDouble() : Number(v));
const rows = async (sql) => (await conn.runAndReadAll(sql)).getRowsJS();

async function open() {
	if (instance) return;
	instance = await DuckDBInstance.create(":memory:", { threads: String(Math.max(1, (await import("node:os")).availableParallelism())) });
	conn = await instance.connect();
	await conn.run("SET TimeZone = 'UTC'");
}

async function convert({ csv, parquet }) {
	await open();
	const t0 = performance.now();
	const cols = `{${Object.entries(PEOPLE_CSV_COLUMNS).map(([k, v]) => `${q(k)}: ${q(v)}`).join(", ")}}`;
	await conn.run(`COPY (SELECT * FROM read_csv(${q(csv)}, header = false, columns = ${cols}, nullstr = '', delim = ',', quote = '')) TO ${q(parquet)} (FORMAT parquet, COMPRESSION zstd)`);
	const [[n]] = await rows(`SELECT count(*) FROM read_parquet(${q(parquet)})`);
	return { seconds: round((performance.now() - t0) / 1000, 2), rows: num(n) };
}

/**
 * The events with their person, resolved once at load (as Edgewise's pass does ahead of queries):
 * an identifier's first link (an anonymous id seen with a user id, an alias's previous id → user
 * id; the earliest by ingest order) is followed up to three times.
 */
async function load({ parquet }) {
	await open();
	const t0 = performance.now();
	await conn.run(`CREATE OR REPLACE TABLE raw AS SELECT * FROM read_parquet(${q(parquet)})`);
	await conn.run(`CREATE OR REPLACE TABLE links AS
		SELECT src, arg_min(dst, seq) AS dst FROM (
			SELECT anonymous_id AS src, user_id AS dst, seq FROM raw WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL AND anonymous_id != user_id
			UNION ALL SELECT previous_id, user_id, seq FROM raw WHERE type = 'alias' AND previous_id IS NOT NULL AND user_id IS NOT NULL AND previous_id != user_id)
		GROUP BY src`);
	await conn.run(`CREATE OR REPLACE TABLE ev AS
		SELECT r.seq, r.ts_ms, r.event, coalesce(l3.dst, l2.dst, l1.dst, coalesce(r.user_id, r.anonymous_id)) AS person
		FROM raw r LEFT JOIN links l1 ON l1.src = coalesce(r.user_id, r.anonymous_id)
		LEFT JOIN links l2 ON l2.src = l1.dst LEFT JOIN links l3 ON l3.src = l2.dst ORDER BY r.seq`);
	await conn.run("DROP TABLE raw");
	const [[n, p]] = await rows("SELECT count(*), count(DISTINCT person) FROM ev");
	const [[mem]] = await rows("SELECT sum(memory_usage_bytes) FROM duckdb_memory()");
	return { seconds: round((performance.now() - t0) / 1000, 2), rows: num(n), people: num(p), duckdb_memory_mib: Math.round(num(mem) / 2 ** 20) };
}

/**
 * Strict order, best attempt: m_k at an event of step k is the latest first-step time of a chain
 * ending there (the running maximum of m_{k-1} over earlier events of step k-1); a person reaches
 * step k if some step-k event is within the window of its m_k. Times: the chain ending at the
 * person's earliest event completing their furthest step, each earlier step the latest before.
 */
export function funnelSql(steps, from, to, windowMs) {
	const base = from - 86_400_000;
	// A sortable key: ingest order breaks ties of equal times.
	const key = `((ts_ms - ${base}) * 16777216 + seq)`;
	const prev = "OVER (PARTITION BY person ORDER BY k ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)";
	const s = steps.map(q);
	return `WITH e AS (SELECT person, ts_ms AS ts, ${key} AS k, event FROM ev WHERE event IN (${s.join(", ")}) AND ts_ms >= ${from} AND ts_ms < ${to + windowMs}),
		c1 AS (SELECT *, CASE WHEN event = ${s[0]} AND ts < ${to} THEN ts END AS m1 FROM e),
		c2 AS (SELECT *, CASE WHEN event = ${s[1]} THEN max(m1) ${prev} END AS m2 FROM c1),
		c3 AS (SELECT *, CASE WHEN event = ${s[2]} THEN max(m2) ${prev} END AS m3 FROM c2),
		c4 AS (SELECT *, CASE WHEN event = ${s[3]} THEN max(m3) ${prev} END AS m4 FROM c3),
		lv AS (SELECT person,
			CASE WHEN bool_or(m4 IS NOT NULL AND ts - m4 <= ${windowMs}) THEN 4 WHEN bool_or(m3 IS NOT NULL AND ts - m3 <= ${windowMs}) THEN 3
				WHEN bool_or(m2 IS NOT NULL AND ts - m2 <= ${windowMs}) THEN 2 WHEN bool_or(m1 IS NOT NULL) THEN 1 ELSE 0 END AS level,
			min(CASE WHEN m4 IS NOT NULL AND ts - m4 <= ${windowMs} THEN k END) AS x4,
			min(CASE WHEN m3 IS NOT NULL AND ts - m3 <= ${windowMs} THEN k END) AS x3,
			min(CASE WHEN m2 IS NOT NULL AND ts - m2 <= ${windowMs} THEN k END) AS x2
			FROM c4 GROUP BY person),
		ends AS (SELECT person, level, CASE level WHEN 4 THEN x4 WHEN 3 THEN x3 WHEN 2 THEN x2 END AS xk FROM lv WHERE level >= 2),
		st AS (SELECT person, k, ts, event FROM c1),
		s3 AS (SELECT n.person, n.level, n.xk AS k4, CASE WHEN n.level = 4 THEN p.k ELSE n.xk END AS k3 FROM ends n
			ASOF LEFT JOIN (SELECT * FROM st WHERE event = ${s[2]}) p ON p.person = n.person AND n.xk > p.k),
		s2 AS (SELECT n.*, CASE WHEN n.level >= 3 THEN p.k ELSE n.k3 END AS k2 FROM s3 n
			ASOF LEFT JOIN (SELECT * FROM st WHERE event = ${s[1]}) p ON p.person = n.person AND n.k3 > p.k),
		s1 AS (SELECT n.*, p.k AS k1 FROM s2 n ASOF LEFT JOIN (SELECT * FROM st WHERE event = ${s[0]} AND ts < ${to}) p ON p.person = n.person AND n.k2 > p.k),
		times AS (SELECT level, (k2 // 16777216) - (k1 // 16777216) AS t2, CASE WHEN level >= 3 THEN (k3 // 16777216) - (k2 // 16777216) END AS t3,
			CASE WHEN level >= 4 THEN (k4 // 16777216) - (k3 // 16777216) END AS t4 FROM s1)
	SELECT 'count' AS what, (SELECT count(*) FROM lv WHERE level >= 1), (SELECT count(*) FROM lv WHERE level >= 2), (SELECT count(*) FROM lv WHERE level >= 3), (SELECT count(*) FROM lv WHERE level >= 4)
	UNION ALL SELECT 'median', NULL, ${rank("t2", 0.5)}, ${rank("t3", 0.5)}, ${rank("t4", 0.5)} FROM times
	UNION ALL SELECT 'p90', NULL, ${rank("t2", 0.9)}, ${rank("t3", 0.9)}, ${rank("t4", 0.9)} FROM times`;
}

/** Nearest rank: the value at rank ceil(p·n) of the sorted values (DuckDB lists count from 1). */
const rank = (col, p) => `list_sort(list(${col}))[greatest(1, ceil(${p} * count(${col}))::BIGINT)]`;

/** Weekly cohorts by first event (any), people active in each of the following weeks (UTC, Monday weeks). */
export function retentionSql(from, to, periods) {
	return `WITH f AS (SELECT person, min(ts_ms) AS first FROM ev GROUP BY person HAVING first >= ${from} AND first < ${to}),
		c AS (SELECT person, date_trunc('week', epoch_ms(first)) AS cohort FROM f),
		a AS (SELECT DISTINCT person, date_trunc('week', epoch_ms(ts_ms)) AS week FROM ev WHERE ts_ms >= ${from})
	SELECT c.cohort, datediff('week', c.cohort, a.week) AS k, count(DISTINCT c.person) AS n
	FROM c JOIN a ON a.person = c.person WHERE a.week >= c.cohort AND datediff('week', c.cohort, a.week) <= ${periods}
	GROUP BY 1, 2 UNION ALL SELECT cohort, -1, count(*) FROM c GROUP BY 1 ORDER BY 1, 2`;
}

async function timed(sql, reps) {
	const ms = [];
	let last;
	for (let i = 0; i < reps; i++) {
		const t0 = performance.now();
		last = await rows(sql);
		ms.push(performance.now() - t0);
	}
	return { ms: summary(ms), last };
}

async function funnel({ steps, from, to, windowMs, reps }) {
	const { ms, last } = await timed(funnelSql(steps, from, to, windowMs), reps);
	const byWhat = Object.fromEntries(last.map((r) => [r[0], r.slice(1).map(num)]));
	const entered = byWhat.count;
	return { ms, answer: { entered, median: byWhat.median, p90: byWhat.p90 } };
}

async function retention({ from, to, periods, reps }) {
	const { ms, last } = await timed(retentionSql(from, to, periods), reps);
	const cohorts = new Map();
	for (const [cohort, k, n] of last) {
		const key = new Date(cohort).toISOString().slice(0, 10);
		if (!cohorts.has(key)) cohorts.set(key, { people: 0, retained: new Array(periods + 1).fill(0) });
		if (num(k) < 0) cohorts.get(key).people = num(n);
		else cohorts.get(key).retained[num(k)] = num(n);
	}
	return { ms, answer: Object.fromEntries(cohorts) };
}

if (process.send) {
	process.on("message", async (m) => {
		try {
			if (m.cmd === "convert") process.send({ ok: true, result: await convert(m) });
			else if (m.cmd === "load") process.send({ ok: true, result: await load(m) });
			else if (m.cmd === "funnel") process.send({ ok: true, result: await funnel(m) });
			else if (m.cmd === "retention") process.send({ ok: true, result: await retention(m) });
			else if (m.cmd === "close") {
				conn?.closeSync();
				instance?.closeSync();
				process.exit(0);
			}
		} catch (err) {
			process.send({ ok: false, error: String(err?.stack ?? err) });
		}
	});
}
