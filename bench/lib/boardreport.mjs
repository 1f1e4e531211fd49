// The board scenario's part of bench:query's printed report and targets (bench/lib/board.mjs).
import { round, table } from "./querystats.mjs";

const ms = (v) => (v == null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: 1 }));
const both = (s) => (s ? `${ms(s.p50)} / ${ms(s.p95)} ms` : "–");
const ratio = (a, b) => (a && b ? `${round(a / b, 1)}×` : "–");
const pct = (n, d) => (d ? `${round((n / d) * 100, 1)}%` : "–");

/** Lines of text: the board's figures next to DuckDB's, the cache's hit rate and gain, each tile. */
export function boardLines(B, cfg) {
	const out = [];
	const p = B.data?.plan;
	const e = B.edgewise;
	const d = B.duckdb;
	out.push(
		`Board: the support preset (12 reports) on ${cfg.events.toLocaleString("en-US")} events (${p?.from} … ${p?.to}, UTC; npm start's support-desk generator)${B.data?.cached ? ", cached rolled-up state" : `, rolled up in ${B.data?.rollup?.cron_work_s} s of cron work`}.`,
		"GET /v1/boards/:id/results, client wall time. Cold: one new event flushed before the load (the answer cache's data stamp changes: every tile computed). Warm: the same board again (answer cache).",
		`DuckDB: the same 12 questions in SQL on the same raw rows (in-memory table), a board = its 12 queries fired together on a pool of 12 connections, wall time of all 12.`,
		"",
	);
	if (!e) return out;
	const c = e.cold_crowd;
	const w = e.warm_crowd;
	const rows = [
		{ f: `cold, 1 viewer (${e.cold.loads} loads), p50 / p95`, ew: both(e.cold.ms), dk: both(d?.board_ms), x: ratio(d?.board_ms.p95, e.cold.ms.p95) },
		{ f: "warm, 1 viewer, p50 / p95", ew: both(e.warm.ms), dk: "(no cache) same", x: ratio(d?.board_ms.p95, e.warm.ms.p95) },
		{ f: `cold, ${cfg.viewers} viewers at once (${c.waves.length} waves), p50 / p95`, ew: both(c.ms), dk: `${both(d?.viewers_ms)} (${cfg.duckWaves} wave${cfg.duckWaves === 1 ? "" : "s"})`, x: ratio(d?.viewers_ms.p95, c.ms.p95) },
		{ f: `warm, ${cfg.viewers} viewers × ${cfg.warmLoads} loads, p50 / p95`, ew: both(w.ms), dk: "(no cache) same", x: ratio(d?.viewers_ms.p95, w.ms.p95) },
		{ f: "crowds: board loads/s, cold / warm", ew: `${ms(round(c.loads / c.waves.reduce((n, x) => n + x.wall_s, 0), 1))} / ${ms(w.loads_per_s)} (client ${w.client_pct}% of a core)`, dk: d?.wave_ms?.n ? ms(round((cfg.viewers * 1000) / d.wave_ms.p50, 1)) : "–", x: "" },
		{ f: "runtime CPU per board load: cold 1 viewer / warm 1 viewer / warm crowd", ew: `${ms(e.cold.runtime_cpu_ms_per_load)} / ${ms(e.warm.runtime_cpu_ms_per_load)} / ${ms(w.runtime_cpu_ms_per_load)} ms`, dk: "", x: "" },
		{ f: "answer cache hit rate, warm crowd (tiles)", ew: `${pct(w.hits, w.tiles)} (${w.hits}/${w.tiles}; ${w.minutes_crossed} minute boundar${w.minutes_crossed === 1 ? "y" : "ies"} crossed)`, dk: "", x: "" },
		{ f: "answer cache hit rate, cold crowds (tiles)", ew: `${pct(c.hits, c.tiles)} (${c.misses} tiles computed for ${c.loads} loads)`, dk: "", x: "" },
		{ f: "tiles that failed: cold / warm / cold crowds / warm crowd", ew: [e.cold, e.warm, c, w].map((x) => `${x.errors}/${x.tiles}`).join(" / ") + ([e.cold, e.warm, c, w].some((x) => x.errors) ? ` (${[...new Set([e.cold, e.warm, c, w].flatMap((x) => x.error_codes))].join(", ")})` : ""), dk: "", x: "" },
		{ f: "gain of the cache: cold ÷ warm, 1 viewer p50 / CPU per load (warm crowd)", ew: `${ratio(e.cold.ms.p50, e.warm.ms.p50)} / ${ratio(e.cold.runtime_cpu_ms_per_load, w.runtime_cpu_ms_per_load)}`, dk: "", x: "" },
		{ f: `gain of the cache: cold ÷ warm, ${cfg.viewers} viewers p95`, ew: ratio(c.ms.p95, w.ms.p95), dk: "", x: "" },
	];
	out.push(table(rows, [{ h: "board load", f: (r) => r.f }, { h: "Edgewise", f: (r) => r.ew }, { h: "DuckDB, same rows", f: (r) => r.dk }, { h: "DuckDB p95 ÷ Edgewise p95", f: (r) => r.x }]), "");
	const others = [e.cold, e.warm, ...c.waves, w].map((x) => x.other_pct).filter((x) => x != null);
	if (others.some((x) => x > 25)) out.push(`Note: other processes used up to ${Math.max(...others)}% of a core during the Edgewise loads (pessimistic figures; BENCH_WAIT_QUIET=120 waits for a quiet machine).`, "");
	if (B.comparison) {
		const cmp = new Map(B.comparison.map((x) => [x.name, x]));
		out.push("Tiles (took = meta.took_ms inside the worker over the cold loads; check = against DuckDB on the same rows):");
		out.push(
			table(
				e.tiles.map((t, i) => ({ t, took: e.cold.tile_took_ms[i], dk: d?.tile_ms?.[t.name], c: cmp.get(t.name) })),
				[
					{ h: "report", f: (r) => r.t.name },
					{ h: "plan", f: (r) => r.c?.plan ?? r.t.plan },
					{ h: "rows", f: (r) => r.c?.rows ?? "–" },
					{ h: "rows scanned", f: (r) => ms(r.t.rows_scanned) },
					{ h: "took p50 / p95", f: (r) => both(r.took) },
					{ h: "DuckDB p50 / p95", f: (r) => both(r.dk) },
					{ h: "check", f: (r) => (r.c ? `${r.c.status}${r.c.status === "within sketch error" ? ` (max ${round(r.c.max_rel_diff * 100, 2)}%)` : ""}` : "–") },
				],
			),
		);
		for (const x of B.comparison.filter((x) => x.problems.length)) out.push(`  ${x.name}: ${x.problems.join("; ")}`);
		out.push("");
	}
	return out;
}

/** The scenario's checks, in bench:query's targets list. */
export function boardTargets(B) {
	const cmp = B?.comparison;
	const ok = cmp?.filter((c) => c.status === "exact" || c.status === "within sketch error").length;
	return [
		{
			id: "board_answers_agree",
			target: "board: every tile answers and agrees with DuckDB (exact; sketch percentiles and bins within the sketch's error)",
			value: cmp ? ok === cmp.length : null,
			pass: cmp ? ok === cmp.length : null,
			measured: cmp ? `${ok}/${cmp.length} (${cmp.filter((c) => c.status === "exact").length} exact${cmp.some((c) => c.status === "FAILED") ? `; failed: ${cmp.filter((c) => c.status === "FAILED").map((c) => c.name).join(", ")}` : ""})` : "not compared",
		},
	];
}
