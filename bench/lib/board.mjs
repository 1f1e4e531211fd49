// bench:query's board scenario: the support preset's board (12 reports) on a month of support-desk
// events, loaded through GET /v1/boards/:id/results cold (every tile computed: new data was flushed
// first, so the answer cache's data stamp changed) and warm (identical loads, answered from the
// cache), by one viewer and by a crowd of concurrent viewers; the same 12 questions in DuckDB on the
// same raw rows, timed in the same run; every tile's numbers checked against DuckDB's.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEV } from "../../scripts/dev-keys.mjs";
import { ROOT } from "../../scripts/lib.mjs";
import { api, need, newData, rollupUntilCaughtUp } from "./benchapi.mjs";
import { compareBoard } from "./boardcheck.mjs";
import { seedEvents, sourceHash } from "./d1file.mjs";
import { round, summary } from "./querystats.mjs";
import { EVENTS_INSERT_SQL, forEachSupportEvent, SUPPORT_COLUMNS, SUPPORT_DATA_VERSION, supportPlan } from "./supportdata.mjs";
import { cpuWindow } from "./system.mjs";

const TENANT = "bbench";
const DAY = 86_400_000;
const rel = (p) => p.replace(`${ROOT}/`, "");
const fmt = (n) => Number(n).toLocaleString("en-US");

/** The scenario's settings (documented at the top of bench/query.mjs). */
export function boardConfig(env, quick) {
	const num = (k, d) => (env[k] != null && env[k] !== "" ? Number(env[k]) : d);
	return {
		events: num("BENCH_BOARD_EVENTS", quick ? 200_000 : 10_000_000),
		users: num("BENCH_BOARD_USERS", quick ? 5_000 : 200_000),
		viewers: num("BENCH_BOARD_VIEWERS", 100),
		cold: Math.max(1, num("BENCH_BOARD_COLD", quick ? 5 : 20)),
		waves: Math.max(1, num("BENCH_BOARD_WAVES", quick ? 2 : 3)),
		warmLoads: Math.max(1, num("BENCH_BOARD_WARM_LOADS", quick ? 5 : 20)),
		duckReps: Math.max(1, num("BENCH_BOARD_DUCK_REPS", quick ? 5 : 20)),
		duckWaves: Math.max(0, num("BENCH_BOARD_DUCK_WAVES", 1)),
	};
}

/**
 * The rolled-up state of this data set, rollup code, preset and schema, made when missing: the
 * events (D1 file and Parquet), then tenant, keys and the support preset (operator API, which adds
 * the rollup settings the board needs), then rollups until caught up. Cached under bench/.data/.
 */
async function preparedState(x, cfg) {
	const plan = supportPlan({ events: cfg.events, now: Date.now(), users: cfg.users });
	const day = plan.to.slice(0, 10);
	const key = `board-v${SUPPORT_DATA_VERSION}-${cfg.events}-${cfg.users}-${day}-${sourceHash(["migrations", "workers/rollup", "workers/sketch", "workers/reports", "scripts"], /(\.ts|\.sql|demo-data\.mjs)$/)}`;
	const cache = join(x.data, key);
	// Another day's or code's state of the same size goes: each is a few GB.
	for (const d of readdirSync(x.data)) if (d !== key && d.startsWith(`board-v${SUPPORT_DATA_VERSION}-${cfg.events}-`)) rmSync(join(x.data, d), { recursive: true, force: true });
	if (existsSync(join(cache, "meta.json"))) {
		x.log(`  cached rolled-up state ${rel(cache)}: generation and rollup skipped`);
		return { cache, cached: true, ...JSON.parse(readFileSync(join(cache, "meta.json"), "utf8")) };
	}
	rmSync(cache, { recursive: true, force: true });
	mkdirSync(cache, { recursive: true });
	const csv = join(cache, "events.csv");
	const generate = seedEvents({
		tmp: join(x.data, "board-gen"),
		into: cache,
		sql: EVENTS_INSERT_SQL,
		csvPath: csv,
		total: cfg.events,
		label: `  generating ${fmt(cfg.events)} support-desk events`,
		each: (add) => forEachSupportEvent(plan, TENANT, add),
	});
	x.log(`  ${fmt(cfg.events)} rows in ${generate.seconds} s; CSV → Parquet for DuckDB…`);
	await x.duck.start();
	const parquet = await x.duck.ask({ cmd: "convert", csv, parquet: join(cache, "events.parquet"), columns: SUPPORT_COLUMNS });
	await x.duck.stop();
	rmSync(csv, { force: true });
	const server = await x.startServer(cache);
	try {
		const admin = DEV.adminToken;
		await api(server.base, "POST", "/v1/admin/tenants", { token: admin, body: { id: TENANT, name: "Board benchmark", timezone: "UTC" } });
		const keyOf = async (scope) => (await api(server.base, "POST", `/v1/admin/tenants/${TENANT}/keys`, { token: admin, body: { scope, name: `bench:query board ${scope}` } })).key;
		const keys = { read: await keyOf("read"), ingest: await keyOf("ingest") };
		// Before the first pass: the preset's pairs and unique properties are rolled up from the start.
		const preset = await api(server.base, "POST", `/v1/admin/tenants/${TENANT}/presets/support`, { token: admin });
		need(preset.board?.layout?.length === 12, "the support preset creates a board of 12 reports", preset);
		const rollup = await rollupUntilCaughtUp(server.base, `  rolling up ${fmt(cfg.events)} events`, cfg.events, x.rollupTimeout);
		delete rollup.pass_reports;
		const meta = { key, plan, keys, board_id: preset.board.id, settings: preset.settings, generate, parquet, rollup, made_at: new Date().toISOString() };
		writeFileSync(join(cache, "meta.json"), `${JSON.stringify(meta, null, 2)}\n`);
		return { cache, cached: false, ...meta };
	} finally {
		await server.stop();
	}
}

/** One board load: client wall time, the worker's took_ms, each tile's meta.cache (or error code). */
async function loadBoard(server, token, id, keep = false) {
	const cpu = cpuWindow(server.pids);
	const t0 = performance.now();
	const body = await api(server.base, "GET", `/v1/boards/${id}/results`, { token });
	const ms = performance.now() - t0;
	const caches = body.tiles.map((t) => t.meta?.cache ?? `error:${t.error?.code}`);
	return { ms, took: body.took_ms, caches, cpu_ms: cpu().server_cpu_s * 1000, took_tiles: body.tiles.map((t) => t.meta?.took_ms ?? null), ...(keep ? { body } : {}) };
}

const count = (loads, what) => loads.reduce((n, l) => n + l.caches.filter((c) => c === what).length, 0);
function stats(loads, extra = {}) {
	const tiles = loads.reduce((n, l) => n + l.caches.length, 0);
	const errors = loads.flatMap((l) => l.caches.filter((c) => c.startsWith("error:")).map((c) => c.slice(6)));
	return { loads: loads.length, ms: summary(loads.map((l) => l.ms)), took_ms: summary(loads.map((l) => l.took)), hits: count(loads, "hit"), misses: count(loads, "miss"), tiles, errors: errors.length, error_codes: [...new Set(errors)], ...extra };
}

/** `viewers` loads at once (each its own connection), `each` times in a row per viewer. */
async function crowd(server, token, id, viewers, each) {
	const cpu = cpuWindow(server.pids);
	const minute0 = Math.floor(Date.now() / 60_000);
	const t0 = performance.now();
	const per = await Promise.all(
		Array.from({ length: viewers }, async () => {
			const out = [];
			for (let i = 0; i < each; i++) out.push(await loadBoard(server, token, id));
			return out;
		}),
	);
	const wall = (performance.now() - t0) / 1000;
	const c = cpu();
	const loads = per.flat();
	return stats(loads, {
		raw: loads, wall_s: round(wall, 2), loads_per_s: round(loads.length / wall, 1), runtime_cpu_ms_per_load: round((c.server_cpu_s * 1000) / loads.length, 1), client_pct: c.generator_cpu_pct, other_pct: c.other_cpu_pct, minutes_crossed: Math.floor(Date.now() / 60_000) - minute0 });
}

/** Epoch ms of an answer's {from, to}. */
const span = (r) => ({ from: Date.parse(r.from), to: Date.parse(r.to) });

async function measureEdgewise(x, cfg, state) {
	const server = await x.startServer(x.state);
	const token = state.keys.read;
	const id = state.board_id;
	const out = {};
	try {
		// The first load: its answers are the ones checked against DuckDB; a tile that fails is reported
		// (and fails the run) but the board is measured all the same, as a viewer would see it.
		const first = await loadBoard(server, token, id, true);
		out.first = { ms: first.ms, took: first.took, now: Date.now() };
		out.tiles = first.body.tiles.map((t) => ({
			name: t.report.name,
			query: t.report.query,
			status: t.status,
			error: t.error ?? null,
			plan: t.meta?.plan ?? null,
			parts: t.meta?.parts?.map((p) => p.plan) ?? null,
			rows_scanned: t.meta?.rows_scanned ?? null,
			range: t.meta ? span(t.meta.date_range) : null,
			prev: t.meta?.comparison ? span(t.meta.comparison.date_range) : null,
			results: t.results ?? null,
		}));
		for (const t of out.tiles.filter((t) => t.status !== 200)) x.log(`  tile failed: ${t.name}: HTTP ${t.status} ${t.error?.code}: ${t.error?.message}`);

		await x.waitQuiet();
		x.log(`  ${cfg.cold} cold loads (one new event flushed before each), each followed by a warm load…`);
		const cold = [];
		const warm = [];
		for (let i = 0; i < cfg.cold; i++) {
			await newData(server.base, state.keys);
			cold.push(await loadBoard(server, token, id));
			warm.push(await loadBoard(server, token, id));
		}
		// /proc counts CPU in 10 ms ticks: the mean over the loads, not a percentile of quantised samples.
		const cpuOf = (loads) => round(loads.reduce((n, l) => n + l.cpu_ms, 0) / loads.length, 1);
		out.cold = stats(cold, { runtime_cpu_ms_per_load: cpuOf(cold), tile_took_ms: first.body.tiles.map((t, i) => summary(cold.map((l) => l.took_tiles[i]))) });
		out.warm = stats(warm, { runtime_cpu_ms_per_load: cpuOf(warm) });
		x.log(`  cold p50 ${out.cold.ms.p50} ms, p95 ${out.cold.ms.p95} ms; warm p50 ${out.warm.ms.p50} ms, p95 ${out.warm.ms.p95} ms`);

		await x.waitQuiet();
		x.log(`  ${cfg.waves} waves of ${cfg.viewers} viewers loading at once after new data (cold)…`);
		const waves = [];
		for (let w = 0; w < cfg.waves; w++) {
			await newData(server.base, state.keys);
			waves.push(await crowd(server, token, id, cfg.viewers, 1));
		}
		out.cold_crowd = stats(
			waves.flatMap((w) => w.raw),
			{ waves: waves.map(({ raw, ...w }) => w), runtime_cpu_ms_per_load: round(waves.reduce((n, w) => n + w.runtime_cpu_ms_per_load, 0) / waves.length, 1) },
		);

		await x.waitQuiet();
		x.log(`  ${cfg.viewers} viewers × ${cfg.warmLoads} loads of the same board (warm)…`);
		await loadBoard(server, token, id);
		const { raw, ...warmCrowd } = await crowd(server, token, id, cfg.viewers, cfg.warmLoads);
		out.warm_crowd = warmCrowd;
		x.log(`  warm crowd p50 ${out.warm_crowd.ms.p50} ms, p95 ${out.warm_crowd.ms.p95} ms, ${out.warm_crowd.hits}/${out.warm_crowd.tiles} tiles from the cache`);
	} finally {
		await server.stop();
	}
	return out;
}

/**
 * The ranges DuckDB answers a tile for: the tile's own (meta.date_range, meta.comparison); a tile
 * that failed takes those of the tiles that answered (every preset report asks for the same 30 days).
 */
function duckRanges(tiles, t, now) {
	const ok = tiles.filter((x) => x.range);
	// No tile answered: "30d" in UTC, as the worker resolves it (today and the 29 days before).
	const today = Math.floor(now / DAY) * DAY;
	const range = t.range ?? ok[0]?.range ?? { from: today - 29 * DAY, to: today + DAY };
	const prev = t.prev ?? ok.find((x) => x.prev)?.prev ?? { from: 2 * range.from - range.to, to: Math.floor(now / 60_000) * 60_000 - (range.to - range.from) };
	return { range, prev };
}

/** The scenario, start to end; returns everything measured (errors are thrown). */
export async function runBoard(x, cfg) {
	const R = {};
	const state = await x.phase("board: data + rollup", () => preparedState(x, cfg));
	R.data = { cached: state.cached, key: state.key, plan: state.plan, generate: state.generate, parquet: state.parquet, rollup: state.rollup, settings: state.settings };
	await x.phase("board: fresh copy of the state", () => {
		rmSync(x.state, { recursive: true, force: true });
		cpSync(join(state.cache, "v3"), join(x.state, "v3"), { recursive: true });
	});
	try {
		R.edgewise = await x.phase("board: Edgewise", () => measureEdgewise(x, cfg, state));
	} finally {
		if (!x.keepState) rmSync(x.state, { recursive: true, force: true });
	}
	R.duckdb = await x.phase("board: DuckDB", async () => {
		await x.duck.start();
		const load = await x.duck.ask({ cmd: "loadTable", parquet: join(state.cache, "events.parquet"), table: "support" });
		x.log(`  loaded ${fmt(load.rows)} rows in ${load.seconds} s`);
		await x.waitQuiet();
		const cpu = cpuWindow(x.duck.pids);
		const tiles = Object.fromEntries(R.edgewise.tiles.map((t) => [t.name, duckRanges(R.edgewise.tiles, t, R.edgewise.first.now)]));
		const r = await x.duck.ask({ cmd: "board", tiles, now: R.edgewise.first.now, reps: cfg.duckReps, viewers: cfg.viewers, waves: cfg.duckWaves });
		const c = cpu();
		await x.duck.stop();
		x.log(`  DuckDB board p50 ${r.board_ms.p50} ms, p95 ${r.board_ms.p95} ms; ${cfg.viewers} viewers p95 ${r.viewers_ms.p95} ms`);
		return { load, ...r, cpu: { duckdb_pct: c.server_cpu_pct, other_pct: c.other_cpu_pct } };
	});
	R.comparison = compareBoard(R.edgewise.tiles, R.duckdb.answers);
	R.failed = R.edgewise.tiles.filter((t) => t.status !== 200).map((t) => ({ name: t.name, status: t.status, code: t.error?.code, message: t.error?.message }));
	return R;
}
