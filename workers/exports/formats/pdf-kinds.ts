import { rgb } from "pdf-lib";
import type { Section } from "../sources";
import type { Cell } from "../table";
import { type Doc, formatNumber } from "./pdf";

/**
 * The PDF's drawings of funnel, retention, experiment and insights reports, from the section's table
 * (workers/exports/kinds.ts): a funnel as horizontal bars per step (a bar per breakdown value), a
 * retention as a cohort heat map of rates (or its table), a lifecycle, an experiment and insights as
 * tables of their key columns.
 */

type Box = { x: number; y: number; w: number; h: number };
const INK = rgb(0.12, 0.14, 0.18);
const MUTED = rgb(0.42, 0.45, 0.5);
const GRID = rgb(0.86, 0.88, 0.9);
const BARS = [rgb(0.16, 0.4, 0.85), rgb(0.9, 0.45, 0.1), rgb(0.2, 0.62, 0.35), rgb(0.8, 0.2, 0.3), rgb(0.5, 0.3, 0.75)];
const TABLE_ROWS = 15;
const MAX_COHORTS = 16;
const MAX_PERIODS = 13;

/** Which table columns a section's PDF table shows (all would not fit a page's width). */
const TABLE_COLUMNS: Record<string, string[]> = {
	funnel: ["step", "name", "entered", "converted", "conversion_from_first", "conversion_from_previous", "median_time_to_convert_ms"],
	lifecycle: ["period", "new", "returning", "resurrecting", "dormant", "active", "churn_rate"],
	experiment: ["variant", "people", "converted", "value", "effect", "ci95_low", "ci95_high", "p_value", "adjusted_p_value"],
	insights: ["metric", "total", "previous_total", "change_pct", "anomalies", "trend"],
};
const pctText = (v: Cell) => (typeof v === "number" ? `${(v * 100).toLocaleString("en-US", { maximumFractionDigits: 1 })}%` : "–");
/** A difference of two rates, in percentage points (signed). */
const ppText = (v: Cell) => (typeof v === "number" ? `${v > 0 ? "+" : ""}${(v * 100).toLocaleString("en-US", { maximumFractionDigits: 2 })} pp` : "–");
/** Columns of a conversion experiment that are differences of rates, not rates. */
const DIFFERENCE_COLUMNS = new Set(["effect", "ci95_low", "ci95_high"]);
const RATE_COLUMNS = new Set(["conversion_from_first", "conversion_from_previous", "churn_rate", "rate"]);
/** An experiment on conversion: its value, effect and interval are rates. */
const CONVERSION_COLUMNS = new Set(["value", "effect", "ci95_low", "ci95_high"]);
const idx = (s: Section, name: string) => s.head.columns.findIndex((c) => c.name === name);
const isLifecycle = (s: Section) => s.kind === "retention" && s.head.columns[0]?.name === "period";

/** How a section of this kind is drawn: funnel bars, a heat map or a table. */
function drawing(s: Section): "funnel" | "heatmap" | "table" {
	const chart = s.report?.chart ?? "table";
	if (s.kind === "funnel") return chart === "table" ? "table" : "funnel";
	if (s.kind === "retention" && !isLifecycle(s)) return chart === "table" ? "table" : "heatmap";
	return "table";
}

function cohorts(s: Section): { names: string[]; periods: number; cell: Map<string, Cell[]> } {
	const [c, p] = [idx(s, "cohort"), 2];
	const names = [...new Set(s.rows.map((r) => String(r[c])))];
	const periods = Math.max(0, ...s.rows.map((r) => Number(r[p]) + 1));
	return { names, periods, cell: new Map(s.rows.map((r) => [`${r[c]}\u0001${r[p]}`, r])) };
}

/** The height a section of a funnel, retention, experiment or insights report needs. */
export function kindChartHeight(s: Section): number {
	const d = drawing(s);
	if (d === "funnel") {
		const values = idx(s, "step") === 0 ? 1 : Math.min(BARS.length, new Set(s.rows.map((r) => r[0])).size);
		const steps = new Set(s.rows.map((r) => r[idx(s, "step")])).size;
		return 36 + steps * (values * 11 + 12);
	}
	if (d === "heatmap") return 40 + (Math.min(cohorts(s).names.length, MAX_COHORTS) + 1) * 15;
	const n = s.kind === "retention" && !isLifecycle(s) ? Math.min(cohorts(s).names.length, MAX_COHORTS) : Math.min(s.rows.length, TABLE_ROWS);
	return 30 + (n + 1) * 13;
}

/** Draws a funnel, retention, experiment or insights section in `box`. */
export function drawKind(doc: Doc, s: Section, box: Box): void {
	doc.page.drawRectangle({ x: box.x, y: box.y, width: box.w, height: box.h, borderColor: GRID, borderWidth: 0.75 });
	if (!s.rows.length) {
		doc.text("No data in this range", box.x + box.w / 2, box.y + box.h / 2, 10, { color: MUTED, align: "center" });
		return;
	}
	const d = drawing(s);
	if (d === "funnel") return funnelBars(doc, s, box);
	if (d === "heatmap" || (s.kind === "retention" && !isLifecycle(s))) return cohortGrid(doc, s, box, d === "heatmap");
	return table(doc, s, box, TABLE_COLUMNS[isLifecycle(s) ? "lifecycle" : s.kind] ?? s.head.columns.map((c) => c.name));
}

/** A bar per step (per breakdown value and step), its length the people who entered it, labelled with the conversion from the first step. */
function funnelBars(doc: Doc, s: Section, box: Box) {
	const [iStep, iName, iEntered, iRate] = [idx(s, "step"), idx(s, "name"), idx(s, "entered"), idx(s, "conversion_from_first")];
	const byValue = iStep > 0;
	const values = byValue ? [...new Set(s.rows.map((r) => r[0]))].slice(0, BARS.length) : [null];
	const steps = [...new Set(s.rows.map((r) => Number(r[iStep])))];
	const max = Math.max(1, ...s.rows.map((r) => Number(r[iEntered]) || 0));
	const labelW = 140;
	const plot = { x: box.x + labelW, w: box.w - labelW - 110 };
	let y = box.y + box.h - 24;
	doc.text(byValue ? `people entering each step, by ${s.head.columns[0]!.name}` : "people entering each step", plot.x, y + 8, 8, { color: MUTED });
	for (const step of steps) {
		const rows = s.rows.filter((r) => Number(r[iStep]) === step && (!byValue || values.includes(r[0])));
		const name = String(rows[0]?.[iName] ?? step);
		doc.text(`${step}. ${name}`, plot.x - 8, y - 10, 8, { align: "right", maxW: labelW - 16, bold: true });
		for (const r of rows) {
			y -= 11;
			const v = Number(r[iEntered]) || 0;
			const color = BARS[byValue ? values.indexOf(r[0]) : 0]!;
			if (v > 0) doc.page.drawRectangle({ x: plot.x, y, width: Math.max(0.5, (plot.w * v) / max), height: 9, color });
			doc.text(`${formatNumber(v)} (${pctText(r[iRate]!)})${byValue ? `  ${r[0] ?? "(none)"}` : ""}`, plot.x + (plot.w * v) / max + 5, y + 1.5, 7.5, { maxW: 105 });
		}
		y -= 12;
	}
	doc.page.drawLine({ start: { x: plot.x, y: y + 10 }, end: { x: plot.x, y: box.y + box.h - 16 }, thickness: 0.8, color: MUTED });
}

/** Cohorts down, periods after across: each cell the rate (shaded by it in a heat map) and, in a table, the people too. */
function cohortGrid(doc: Doc, s: Section, box: Box, shade: boolean) {
	const { names, periods, cell } = cohorts(s);
	const shownCohorts = names.slice(0, MAX_COHORTS);
	const n = Math.min(periods, MAX_PERIODS);
	const left = 118;
	const cw = (box.w - left - 12) / n;
	const rowH = 15;
	let y = box.y + box.h - 20;
	doc.text("cohort", box.x + 6, y, 8, { bold: true });
	doc.text("people", box.x + left - 8, y, 8, { bold: true, align: "right" });
	for (let i = 0; i < n; i++) doc.text(`${s.head.columns[2]!.name.replace("s_after", "")} ${i}`, box.x + left + (i + 0.5) * cw, y, 8, { bold: true, align: "center" });
	const iRate = idx(s, "rate");
	const iRet = idx(s, "retained");
	for (const c of shownCohorts) {
		y -= rowH;
		doc.text(c.slice(0, 10), box.x + 6, y, 8);
		doc.text(formatNumber(Number(cell.get(`${c}\u00010`)?.[1] ?? 0)), box.x + left - 8, y, 8, { align: "right" });
		for (let i = 0; i < n; i++) {
			const r = cell.get(`${c}\u0001${i}`);
			const rate = r?.[iRate];
			const x = box.x + left + i * cw;
			if (shade && typeof rate === "number") {
				const t = Math.max(0, Math.min(1, rate));
				doc.page.drawRectangle({ x, y: y - 4, width: cw, height: rowH, color: rgb(1 - 0.84 * t, 1 - 0.6 * t, 1 - 0.15 * t), borderColor: rgb(1, 1, 1), borderWidth: 0.4 });
			}
			const text = rate == null ? "" : shade ? pctText(rate) : `${formatNumber(Number(r?.[iRet]))} · ${pctText(rate)}`;
			doc.text(text, x + cw / 2, y, 7, { align: "center", maxW: cw - 2, color: shade && typeof rate === "number" && rate > 0.55 ? rgb(1, 1, 1) : INK });
		}
	}
	const more = [names.length > shownCohorts.length ? `${names.length - shownCohorts.length} more cohorts` : "", periods > n ? `${periods - n} more periods` : ""].filter(Boolean);
	if (more.length) doc.text(`… ${more.join(" and ")} in the file exports`, box.x + 6, box.y + 5, 7, { color: MUTED });
}

/** The section's table, `names` of its columns: numbers right-aligned, rates as percentages. */
function table(doc: Doc, s: Section, box: Box, names: string[]) {
	const cols = names.map((n) => ({ n, i: idx(s, n) })).filter((c) => c.i >= 0);
	const w = (box.w - 12) / cols.length;
	const numeric = (i: number) => ["int", "double"].includes(s.head.columns[i]!.type);
	const x = (k: number, i: number) => box.x + 6 + w * k + (numeric(i) ? w - 6 : 0);
	let y = box.y + box.h - 16;
	cols.forEach(({ n, i }, k) => doc.text(n.replace(/_/g, " "), x(k, i), y, 7.5, { bold: true, maxW: w - 6, align: numeric(i) ? "right" : "left" }));
	const rows = s.rows.slice(0, TABLE_ROWS);
	for (const r of rows) {
		y -= 13;
		cols.forEach(({ n, i }, k) => {
			const v = r[i] ?? null;
			const rate = RATE_COLUMNS.has(n) || (s.kind === "experiment" && CONVERSION_COLUMNS.has(n) && r[idx(s, "metric")] === "conversion");
			const text = rate ? (s.kind === "experiment" && DIFFERENCE_COLUMNS.has(n) ? ppText(v) : pctText(v)) : typeof v === "number" ? formatNumber(v) : v == null ? "–" : s.head.columns[i]!.type === "time" ? String(v).slice(0, 10) : String(v);
			doc.text(text, x(k, i), y, 8, { maxW: w - 6, align: numeric(i) ? "right" : "left" });
		});
	}
	if (s.rows.length > rows.length) doc.text(`… ${s.rows.length - rows.length} more rows in the file exports`, box.x + 6, box.y + 5, 7, { color: MUTED });
}
