// Retention curves and lifecycle lines as the columns uPlot draws, and their options: x is the
// period's index (0 = the cohort's own period for curves, the first period for the lifecycle). Pure.
import type uPlot from "uplot";
import type { Palette } from "./chart";

/** A line: its label, its palette colour, its width, and a value per x (null: not started yet). */
export interface Line {
	label: string;
	color: string;
	width: number;
	values: (number | null)[];
}

/** Colours of the cohorts' lines (the average is c1, drawn thicker). */
const COHORT_COLORS = ["c3", "c4", "c5", "c6", "c7", "c8", "c2"];

/**
 * Retention curves: the average (first) and each cohort with people, the share retained by
 * periods since the cohort's own period, exactly the answer's rates.
 */
export function retentionLines(a: { average: { rates: (number | null)[] }; cohorts: { cohort: string; people: number; rates: (number | null)[] }[] }, label: (cohort: string) => string): Line[] {
	const k = a.average.rates.length;
	const pad = (r: (number | null)[]) => Array.from({ length: k }, (_, i) => r[i] ?? null);
	return [
		{ label: "Average", color: "c1", width: 3, values: pad(a.average.rates) },
		...a.cohorts
			.filter((c) => c.people > 0)
			.map((c, i) => ({ label: label(c.cohort), color: COHORT_COLORS[i % COHORT_COLORS.length]!, width: 1.5, values: pad(c.rates) })),
	];
}

/** The periods up to the last one any line has a value for (later periods have not started). */
export function startedPeriods(lines: Line[]): number {
	let n = 0;
	for (const l of lines) l.values.forEach((v, i) => v != null && (n = Math.max(n, i + 1)));
	return n;
}

/** Lifecycle as lines: new, returning, resurrecting and dormant people per period. */
export function lifecycleLines(periods: { new: number | null; returning: number | null; resurrecting: number | null; dormant: number | null }[]): Line[] {
	const kinds = [
		["new", "New", "c1"],
		["returning", "Returning", "c4"],
		["resurrecting", "Resurrecting", "c3"],
		["dormant", "Dormant", "c6"],
	] as const;
	return kinds.map(([k, label, color]) => ({ label, color, width: 2, values: periods.map((p) => p[k] ?? null) }));
}

/** The columns uPlot takes: x = 0…n-1, then each line's values. */
export const lineData = (lines: Line[]): uPlot.AlignedData => [lines[0] ? lines[0].values.map((_, i) => i) : [], ...lines.map((l) => l.values)];

const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';

/**
 * Lines over periods: x is an index labelled with `xLabels` (never between two periods), y from 0
 * (`yMax` fixes the top, e.g. 1 for rates). Points are shown: a cohort may have a period or two.
 */
export function periodLinesOptions(o: { width: number; height: number; lines: Line[]; xLabels: string[]; yFormat: (v: number) => string; yMax?: number; palette: Palette }): uPlot.Options {
	const n = o.xLabels.length;
	const axis = (extra: uPlot.Axis): uPlot.Axis => ({
		stroke: () => o.palette("muted"),
		font: FONT,
		grid: { stroke: () => o.palette("grid"), width: 1 },
		ticks: { stroke: () => o.palette("grid"), width: 1, size: 4 },
		...extra,
	});
	return {
		width: o.width,
		height: o.height,
		legend: { show: false },
		cursor: { drag: { x: false, y: false }, points: { size: 7 } },
		scales: {
			x: { time: false, range: [0, Math.max(1, n - 1)] },
			y: { range: (_u, _min, max) => [0, o.yMax ?? (max == null || max <= 0 ? 1 : max * 1.08)] },
		},
		axes: [
			axis({
				space: Math.max(40, Math.max(0, ...o.xLabels.map((l) => l.length)) * 7 + 10),
				incrs: [1, 2, 3, 4, 6, 12, 24, 48],
				values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? (o.xLabels[i] ?? "") : "")),
			}),
			axis({ values: (_u, splits) => splits.map((v) => o.yFormat(v)), size: (_u, values) => Math.max(40, ...(values ?? []).map((s) => String(s).length * 7 + 14)) }),
		],
		series: [
			{},
			...o.lines.map(
				(l): uPlot.Series => ({
					label: l.label,
					stroke: () => o.palette(l.color),
					width: l.width,
					points: { show: true, size: l.width > 2 ? 6 : 4, fill: () => o.palette(l.color) },
					spanGaps: false,
				}),
			),
		],
	};
}
