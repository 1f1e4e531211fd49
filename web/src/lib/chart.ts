// uPlot options for every chart of the dashboard, built by pure functions (tested in
// test/unit/dashboard-chart.test.ts). Colours come from a palette function, so the canvas follows
// the CSS theme: strokes are functions that read it at every draw, and a theme change is a redraw.
import type uPlot from "uplot";

/** CSS custom property name (without "--") → colour. */
export type Palette = (name: string) => string;

export interface SeriesSpec {
	label: string;
	/** A palette name, e.g. "c1". */
	color: string;
	/** Dashed line (the previous period). */
	dash?: number[];
	/** Fill under the line with the palette's "<color>-fill". */
	fill?: boolean;
	width?: number;
}

const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';

function axis(palette: Palette, extra: uPlot.Axis = {}): uPlot.Axis {
	return {
		stroke: () => palette("muted"),
		font: FONT,
		grid: { stroke: () => palette("grid"), width: 1 },
		ticks: { stroke: () => palette("grid"), width: 1, size: 4 },
		...extra,
	};
}

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
/** Tick steps for an axis of milliseconds: round durations (30 s, 5 min, 2 h…), not 5 h 33 min. */
export const DURATION_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S, MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, H, 2 * H, 3 * H, 6 * H, 12 * H, 24 * H, 48 * H, 168 * H];

/** A y axis that labels values with `format` and leaves room for the longest label. */
function yAxis(palette: Palette, format: (v: number) => string, incrs?: number[]): uPlot.Axis {
	return axis(palette, {
		...(incrs ? { incrs } : {}),
		values: (_u, splits) => splits.map((v) => format(v)),
		size: (_u, values) => Math.max(40, ...(values ?? []).map((s) => String(s).length * 7 + 14)),
	});
}

const DAY_S = 86_400;
/**
 * Time axis labels, 24-hour and day-first (uPlot's format table: tick increment, label, then the
 * label when the year, month, day… changes under it).
 */
export const TIME_LABELS: (string | number | null)[][] = [
	[DAY_S * 365, "{YYYY}", null, null, null, null, null, null, 1],
	[DAY_S * 28, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
	[DAY_S, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
	[3600, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
	[60, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
];

const MO_S = DAY_S * 30;
/**
 * Tick steps of a time axis for a granularity: never finer than one bucket (no "12:00" between
 * daily points), from uPlot's own list of time steps (it treats 30 days as a calendar month).
 */
export function timeIncrs(g: string | null | undefined): number[] | undefined {
	switch (g) {
		case "minute":
			return [60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, DAY_S];
		case "hour":
			return [3600, 7200, 10_800, 14_400, 21_600, 43_200, DAY_S, 2 * DAY_S, 3 * DAY_S, 7 * DAY_S];
		case "day":
			return [DAY_S, 2 * DAY_S, 3 * DAY_S, 4 * DAY_S, 5 * DAY_S, 7 * DAY_S, 10 * DAY_S, 15 * DAY_S, MO_S, 2 * MO_S, 3 * MO_S];
		case "week":
			return [7 * DAY_S, 14 * DAY_S, MO_S, 2 * MO_S, 3 * MO_S, 6 * MO_S];
		case "month":
			return [MO_S, 2 * MO_S, 3 * MO_S, 6 * MO_S, 365 * DAY_S];
		case "quarter":
			return [3 * MO_S, 6 * MO_S, 365 * DAY_S, 2 * 365 * DAY_S];
		case "year":
			return [365 * DAY_S, 2 * 365 * DAY_S, 5 * 365 * DAY_S, 10 * 365 * DAY_S];
		default:
			return undefined;
	}
}

/**
 * A time series: x in epoch seconds, one line per spec. The legend is drawn by the page (it
 * knows the metric's unit); the cursor shows a point per series.
 */
export function timeSeriesOptions(o: {
	width: number;
	height: number;
	series: SeriesSpec[];
	yFormat: (v: number) => string;
	/** Tick steps of the y axis (DURATION_INCRS for milliseconds); uPlot's own by default. */
	yIncrs?: number[];
	/** The series' granularity: x ticks are never finer than one bucket. */
	granularity?: Parameters<typeof timeIncrs>[0];
	palette: Palette;
	bars?: uPlot.Series.PathBuilder;
}): uPlot.Options {
	return {
		width: o.width,
		height: o.height,
		legend: { show: false },
		cursor: { points: { size: 7 }, drag: { x: false, y: false } },
		scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max == null || max <= 0 ? 1 : max * 1.08] } },
		axes: [axis(o.palette, { space: 60, values: TIME_LABELS, ...(timeIncrs(o.granularity) ? { incrs: timeIncrs(o.granularity) } : {}) }), yAxis(o.palette, o.yFormat, o.yIncrs)],
		series: [
			{},
			...o.series.map(
				(s): uPlot.Series => ({
					label: s.label,
					stroke: () => o.palette(s.color),
					width: s.width ?? 2,
					...(s.dash ? { dash: s.dash } : {}),
					...(s.fill ? { fill: () => o.palette(`${s.color}-fill`) } : {}),
					...(o.bars ? { paths: o.bars, fill: () => o.palette(s.color), width: 0 } : {}),
					points: { show: false },
					spanGaps: false,
				}),
			),
		],
	};
}

/** A sparkline: one filled line, no axes, no cursor, no legend. */
export function sparklineOptions(o: { width: number; height: number; color: string; palette: Palette }): uPlot.Options {
	return {
		width: o.width,
		height: o.height,
		legend: { show: false },
		cursor: { show: false },
		select: { show: false, left: 0, top: 0, width: 0, height: 0 },
		padding: [2, 0, 2, 0],
		scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max == null || max <= 0 ? 1 : max] } },
		axes: [{ show: false }, { show: false }],
		series: [{}, { stroke: () => o.palette(o.color), fill: () => o.palette(`${o.color}-fill`), width: 1.5, points: { show: false } }],
	};
}

/**
 * Bars over categories (hours of the day, CSAT scores…): x is the index 0…n-1, labelled with
 * `labels`. `bars` is uPlot.paths.bars(…) (passed in, so this stays free of uPlot's runtime).
 */
export function categoryBarOptions(o: { width: number; height: number; labels: string[]; label: string; yFormat: (v: number) => string; palette: Palette; bars: uPlot.Series.PathBuilder; color?: string }): uPlot.Options {
	const n = o.labels.length;
	return {
		width: o.width,
		height: o.height,
		legend: { show: false },
		cursor: { drag: { x: false, y: false }, points: { show: false } },
		scales: { x: { time: false, range: [-0.5, n - 0.5] }, y: { range: (_u, _min, max) => [0, max == null || max <= 0 ? 1 : max * 1.08] } },
		axes: [
			axis(o.palette, {
				// Room for the longest label (about 7 px a character), so labels never run into each other.
				space: Math.max(28, Math.max(0, ...o.labels.map((l) => l.length)) * 7 + 10),
				incrs: [1, 2, 3, 4, 6, 12, 24, 48],
				values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? (o.labels[i] ?? "") : "")),
			}),
			yAxis(o.palette, o.yFormat),
		],
		series: [{}, { label: o.label, paths: o.bars, fill: () => o.palette(o.color ?? "c1"), stroke: () => o.palette(o.color ?? "c1"), width: 0, points: { show: false } }],
	};
}

/** x values 0…n-1 for categories. */
export const indexes = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * What identifies a chart's options apart from size and data: when it changes, the chart is
 * built anew; otherwise the same uPlot instance takes the new data with setData.
 */
export const optionsKey = (parts: unknown[]) => JSON.stringify(parts);
