// A query's answer → what each chart type draws: the table behind every chart, series for lines
// and bars, categories, a heat map's grid, big numbers. Used by Explore, boards, shared boards and
// the Support page. Pure.
import type { ResultRow } from "../api/types";
import { binLabel, dimLabel, formatDimValue, formatDuration, formatNumber, formatValue, metricLabel } from "./format";
import type { Format } from "./query";
import type { AnyGranularity } from "./range";
import { bucketLabel } from "./series";

type DimValue = ResultRow["dimensions"][number];

/** What of an answer the charts read (a POST /v1/query answer, a board tile, a batch answer). */
export interface AnswerLike {
	results: ResultRow[];
	meta: { metrics: string[]; dimensions: string[]; granularity: string | null; timezone: string; bins?: number[] | null };
}

const granularity = (a: AnswerLike) => a.meta.granularity as AnyGranularity | null;

/** A dimension value as text, bins of a distribution as their ranges ("0.2–0.4", "≥ 0.9"). */
export function dimText(a: AnswerLike): (i: number, v: DimValue) => string {
	return (i, v) => {
		const dim = a.meta.dimensions[i] ?? "";
		if (dim.startsWith("bins:") && a.meta.bins) return binLabel(a.meta.bins, v, /(_ms|_millis|Ms)$/.test(dim) ? formatDuration : formatNumber);
		return formatDimValue(dim, v);
	};
}

export interface Cell {
	text: string;
	/** The raw value (numbers exactly as answered), for data-value attributes and copy-paste. */
	value: string | number | null;
}
export interface Table {
	head: string[];
	rows: Cell[][];
	/** Which columns are metrics (numbers, right-aligned). */
	numeric: boolean[];
}

/** The answer as a table: time, dimensions, metrics, and the previous values when compared. */
export function answerTable(a: AnswerLike, formats: Format[]): Table {
	const { metrics, dimensions } = a.meta;
	const g = granularity(a);
	const text = dimText(a);
	const compared = a.results.some((r) => r.comparison);
	const labels = metrics.map(metricLabel);
	const head = [...(g ? ["Period"] : []), ...dimensions.map(dimLabel), ...labels, ...(compared ? labels.map((m) => `${m} (previous)`) : [])];
	const cell = (i: number, v: number | null): Cell => ({ text: formatValue(formats[i] ?? "number", v), value: v });
	const rows = a.results.map((r) => [
		...(g ? [{ text: bucketLabel(r.time ?? "", g), value: r.time ?? null }] : []),
		...r.dimensions.map((d, i) => ({ text: text(i, d), value: d })),
		...r.metrics.map((v, i) => cell(i, v)),
		...(compared ? metrics.map((_, i) => cell(i, r.comparison?.metrics[i] ?? null)) : []),
	]);
	const first = (g ? 1 : 0) + dimensions.length;
	return { head, rows, numeric: head.map((_, i) => i >= first) };
}

export interface Series {
	label: string;
	ys: (number | null)[];
}

/**
 * Time series: one line per combination of dimension values (of metric `metricIdx`), or, without
 * dimensions, one line per metric. x in epoch seconds.
 */
export function timeSeries(a: AnswerLike, metricIdx = 0): { xs: number[]; series: Series[]; byMetric: boolean } {
	const times = [...new Set(a.results.map((r) => r.time ?? ""))];
	const index = new Map(times.map((t, i) => [t, i]));
	const xs = times.map((t) => Date.parse(t) / 1000);
	if (a.meta.dimensions.length === 0) {
		const series = a.meta.metrics.map((m, i) => ({ label: metricLabel(m), ys: times.map(() => null as number | null) }));
		for (const r of a.results) r.metrics.forEach((v, i) => (series[i]!.ys[index.get(r.time ?? "")!] = v));
		return { xs, series, byMetric: true };
	}
	const text = dimText(a);
	const groups = new Map<string, Series>();
	for (const r of a.results) {
		const key = JSON.stringify(r.dimensions);
		let s = groups.get(key);
		if (!s) groups.set(key, (s = { label: r.dimensions.map((d, i) => text(i, d)).join(" · "), ys: times.map(() => null) }));
		s.ys[index.get(r.time ?? "")!] = r.metrics[metricIdx] ?? null;
	}
	return { xs, series: [...groups.values()], byMetric: false };
}

/** Labels on a narrow axis: hours as "09" (the axis or heat map says they are hours). */
const axisText = (dim: string, v: DimValue, text: (i: number, v: DimValue) => string) => (dim === "hour_of_day" && typeof v === "number" ? String(v).padStart(2, "0") : text(0, v));

/** Whole domains of a dimension: every hour, every weekday (zero-filled, in order). */
function domain(dim: string): DimValue[] | null {
	if (dim === "hour_of_day") return Array.from({ length: 24 }, (_, h) => h);
	if (dim === "day_of_week") return [1, 2, 3, 4, 5, 6, 7];
	return null;
}

/**
 * Bars of a breakdown (no granularity): one bar per row, labelled with its dimension values; a
 * breakdown by hour of day, weekday or bins alone has every hour, day or bin, in order.
 */
export function categories(a: AnswerLike, metricIdx = 0): { labels: string[]; ys: (number | null)[] } {
	const text = dimText(a);
	const dims = a.meta.dimensions;
	const whole = dims.length !== 1 ? null : dims[0]!.startsWith("bins:") && a.meta.bins ? [...(a.results.some((r) => r.dimensions[0] == null) ? [null] : []), ...a.meta.bins] : domain(dims[0]!);
	if (whole) {
		const found = new Map(a.results.map((r) => [r.dimensions[0], r.metrics[metricIdx] ?? null]));
		return { labels: whole.map((v) => axisText(dims[0]!, v, text)), ys: whole.map((v) => (found.has(v) ? found.get(v)! : 0)) };
	}
	return {
		labels: a.results.map((r) => (r.dimensions.length ? r.dimensions.map((d, i) => text(i, d)).join(" · ") : "Total")),
		ys: a.results.map((r) => r.metrics[metricIdx] ?? null),
	};
}

/**
 * Whether a breakdown's bars go on an axis (an order of hours, days, bins, or short labels), or are
 * better as a list of labelled bars (names of intents, agents: too long for an axis).
 */
export function ordinal(a: AnswerLike): boolean {
	const dims = a.meta.dimensions;
	if (dims.length === 1 && (domain(dims[0]!) || dims[0]!.startsWith("bins:"))) return true;
	const labels = categories(a).labels;
	return labels.every((l) => l.length <= 8) && labels.reduce((n, l) => n + l.length + 2, 0) <= 60;
}

export interface HeatGrid {
	rowTitle: string;
	colTitle: string;
	rows: string[];
	cols: string[];
	/** cells[row][col]; null where the answer has no row. */
	cells: (number | null)[][];
	max: number;
}

const MAX_AXIS = 60;

/** The values of one axis, in order: a whole domain, a distribution's bins, numbers sorted, text as answered. */
function axisValues(dim: string, seen: DimValue[], bins: number[] | null | undefined): DimValue[] {
	const whole = domain(dim);
	if (whole) return whole;
	const uniq = [...new Map(seen.map((v) => [JSON.stringify(v), v])).values()];
	if (dim.startsWith("bins:") && bins) return [...(uniq.includes(null) ? [null] : []), ...bins];
	if (uniq.every((v) => typeof v === "number" || v == null)) return uniq.sort((x, y) => (x == null ? -1 : y == null ? 1 : (x as number) - (y as number)));
	return uniq;
}

/**
 * A heat map: two dimensions (rows × columns, e.g. day_of_week × hour_of_day), or one dimension over
 * time (rows × periods). Null when the answer has another shape.
 */
export function heatGrid(a: AnswerLike, metricIdx = 0): HeatGrid | null {
	const dims = a.meta.dimensions;
	const g = granularity(a);
	const text = dimText(a);
	let rowOf: (r: ResultRow) => DimValue;
	let colOf: (r: ResultRow) => DimValue;
	let cols: DimValue[];
	let colText: (v: DimValue) => string;
	let colTitle: string;
	if (!g && dims.length === 2) {
		rowOf = (r) => r.dimensions[0] ?? null;
		colOf = (r) => r.dimensions[1] ?? null;
		cols = axisValues(dims[1]!, a.results.map(colOf), a.meta.bins);
		colText = dims[1] === "hour_of_day" ? (v) => axisText("hour_of_day", v, text) : (v) => text(1, v);
		colTitle = dimLabel(dims[1]!);
	} else if (g && dims.length === 1) {
		rowOf = (r) => r.dimensions[0] ?? null;
		colOf = (r) => r.time ?? null;
		cols = [...new Set(a.results.map((r) => r.time ?? ""))];
		colText = (v) => bucketLabel(String(v), g);
		colTitle = "Period";
	} else return null;
	const rows = axisValues(dims[0]!, a.results.map(rowOf), a.meta.bins).slice(0, MAX_AXIS);
	cols = cols.slice(0, MAX_AXIS);
	const ri = new Map(rows.map((v, i) => [JSON.stringify(v), i]));
	const ci = new Map(cols.map((v, i) => [JSON.stringify(v), i]));
	const cells = rows.map(() => cols.map(() => null as number | null));
	let max = 0;
	for (const r of a.results) {
		const i = ri.get(JSON.stringify(rowOf(r)));
		const j = ci.get(JSON.stringify(colOf(r)));
		const v = r.metrics[metricIdx] ?? null;
		if (i === undefined || j === undefined) continue;
		cells[i]![j] = v;
		if (v != null) max = Math.max(max, v);
	}
	// Counts (whole numbers everywhere): a cell the answer has no row for had no events, a zero. An
	// average there has no value, and stays a gap.
	const counts = a.results.every((r) => Number.isInteger(r.metrics[metricIdx] ?? 0));
	if (counts) for (const row of cells) row.forEach((v, j) => v == null && (row[j] = 0));
	return { rowTitle: dimLabel(dims[0]!), colTitle, rows: rows.map((v) => text(0, v)), cols: cols.map(colText), cells, max };
}

export interface Figure {
	name: string;
	label: string;
	value: number | null;
	format: Format;
	/** Against the compared period, in percent; null without a comparison or a previous value. */
	changePct: number | null;
	previous: number | null;
}

/** The big numbers of a "number" chart: every metric of the first row. */
export function figures(a: AnswerLike, formats: Format[]): Figure[] {
	const row = a.results[0];
	return a.meta.metrics.map((name, i) => ({
		name,
		label: metricLabel(name),
		value: row?.metrics[i] ?? null,
		format: formats[i] ?? "number",
		changePct: row?.comparison?.change_pct[i] ?? null,
		previous: row?.comparison?.metrics[i] ?? null,
	}));
}
