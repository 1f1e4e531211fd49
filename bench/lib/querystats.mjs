// Small helpers shared by bench/query.mjs and its DuckDB child: percentiles and a text table.

export const round = (v, d = 1) => (v == null || Number.isNaN(v) ? null : Math.round(v * 10 ** d) / 10 ** d);

/** Nearest-rank percentiles (as bench/lib/load.mjs computes them), in the unit given. */
export function summary(values) {
	const s = values.filter((v) => v != null).sort((a, b) => a - b);
	const p = (q) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : null);
	return { n: s.length, p50: round(p(0.5)), p95: round(p(0.95)), max: round(s[s.length - 1] ?? null), mean: round(s.length ? s.reduce((a, b) => a + b, 0) / s.length : null) };
}

/** Left-aligned first column, right-aligned others; `cols` = [{h, f(row)}]. */
export function table(rows, cols) {
	const w = cols.map((c) => Math.max(c.h.length, ...rows.map((r) => String(c.f(r)).length)));
	const line = (cells) => cells.map((s, i) => (i === 0 ? String(s).padEnd(w[i]) : String(s).padStart(w[i]))).join("  ");
	return [line(cols.map((c) => c.h)), line(w.map((n) => "─".repeat(n))), ...rows.map((r) => line(cols.map((c) => c.f(r))))].join("\n");
}
