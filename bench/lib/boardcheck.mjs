// Edgewise's board answers against DuckDB's on the same raw rows, tile by tile and value by value:
// counts, sums, averages, exact percentiles and formulas must be equal (to float noise); a DDSketch
// percentile within the sketch's relative accuracy; a distribution's bins within the values lying
// just below their edges (boardduck.mjs says which metric is which).
import { DD_ALPHA, TILES } from "./boardduck.mjs";

/** Edgewise rows as {key, metrics, prev}: the key is the time (series) and the dimension values. */
const rowsOf = (results) => results.map((r) => ({ key: JSON.stringify(r.time != null ? [r.time, ...r.dimensions] : r.dimensions), metrics: r.metrics, prev: r.comparison?.metrics }));
const empty = (values) => values.every((v) => v == null || v === 0);

/** "exact", "within" (the sketch's error) or a reason it is neither. */
function check(a, b, kind, tol) {
	if (a == null || b == null) return a == null && b == null ? "exact" : `${a} vs ${b}`;
	const diff = Math.abs(a - b);
	if (diff <= 1e-9 * Math.max(1, Math.abs(b))) return "exact";
	if (kind === "quantile" && diff <= DD_ALPHA * Math.abs(b) * (1 + 1e-9)) return "within";
	if (kind === "bins" && diff <= (tol ?? 0)) return "within";
	return `${a} vs ${b} (${kind}${kind === "bins" ? `, ±${tol ?? 0} allowed` : kind === "quantile" ? `, ±${DD_ALPHA * 100}% allowed` : ""})`;
}

/**
 * Per tile: {name, plan, rows, status: "exact" | "within sketch error" | "MISMATCH" | "FAILED", max_rel_diff,
 * problems}. `duck` holds DuckDB's shaped answers by report name.
 */
export function compareBoard(tiles, duck) {
	return tiles.map((t) => {
		if (t.status !== 200) return { name: t.name, plan: null, rows: 0, status: "FAILED", max_rel_diff: 0, problems: [`HTTP ${t.status} ${t.error?.code}: ${t.error?.message}`] };
		const def = TILES[t.name];
		const problems = [];
		let within = false;
		let maxRel = 0;
		const names = t.query.metrics.filter((m) => !m.hidden).map((m) => (typeof m === "string" ? m : m.name));
		const ew = new Map(rowsOf(t.results).map((r) => [r.key, r]));
		const dk = new Map((duck[t.name] ?? []).map((r) => [r.key, r]));
		if (!def || !duck[t.name]) problems.push("no DuckDB answer for this report");
		for (const key of new Set([...ew.keys(), ...dk.keys()])) {
			const e = ew.get(key);
			const d = dk.get(key);
			// A zero-filled bucket (Edgewise) is a row DuckDB has no events for.
			if (!d) {
				if (!empty(e.metrics)) problems.push(`row ${key}: Edgewise ${JSON.stringify(e.metrics)}, DuckDB has no such row`);
				continue;
			}
			if (!e) {
				if (!empty(d.metrics)) problems.push(`row ${key}: DuckDB ${JSON.stringify(d.metrics)}, Edgewise has no such row`);
				continue;
			}
			const pairs = [...d.metrics.map((v, i) => [e.metrics[i], v, i, ""]), ...(d.prev ?? []).map((v, i) => [e.prev?.[i], v, i, " (previous period)"])];
			for (const [a, b, i, which] of pairs) {
				const r = check(a ?? null, b, def.kinds[i], d.tol?.[i]);
				if (r === "within") within = true;
				else if (r !== "exact") problems.push(`row ${key}, ${names[i]}${which}: ${r}`);
				if (a != null && b) maxRel = Math.max(maxRel, Math.abs(a - b) / Math.abs(b));
			}
		}
		return {
			name: t.name,
			plan: t.parts ? `${t.plan} (${t.parts.join(", ")})` : t.plan,
			rows: ew.size,
			status: problems.length ? "MISMATCH" : within ? "within sketch error" : "exact",
			max_rel_diff: maxRel,
			problems: problems.slice(0, 10),
		};
	});
}
