import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { Palette } from "../lib/chart";

interface Props {
	/** Builds the options for a width and palette (a pure function from lib/chart.ts). */
	build: (width: number, palette: Palette) => uPlot.Options;
	/** Identifies the options apart from data and size: a new key builds a new chart. */
	optKey: string;
	data: uPlot.AlignedData;
	height: number;
	/** Time axis labels in this zone (the query's), not the browser's. */
	tz?: string;
	class?: string;
	/** Called after each draw (the overview reports when its main chart is drawn). */
	onDraw?: () => void;
}

/** A palette reading the theme's CSS variables at the element, at draw time. */
const paletteOf = (el: Element): Palette => (name) => getComputedStyle(el).getPropertyValue(`--${name}`).trim() || "#888";

/**
 * One uPlot instance per chart: created once (again only when `optKey` changes), fed with
 * setData, resized with its container, redrawn when the colour scheme changes. The canvas is
 * hidden from screen readers: every chart has its table beside it.
 */
export function Chart({ build, optKey, data, height, tz, class: cls, onDraw }: Props) {
	const ref = useRef<HTMLDivElement>(null);
	const plot = useRef<uPlot | null>(null);
	const shown = useRef<uPlot.AlignedData | null>(null);
	const onDrawRef = useRef(onDraw);
	onDrawRef.current = onDraw;
	const buildRef = useRef(build);
	buildRef.current = build;

	useLayoutEffect(() => {
		const el = ref.current!;
		const opts = buildRef.current(Math.max(50, Math.floor(el.clientWidth)), paletteOf(el));
		opts.height = height;
		if (tz) opts.tzDate = (ts) => uPlot.tzDate(new Date(ts * 1000), tz);
		opts.hooks = { ...opts.hooks, draw: [...(opts.hooks?.draw ?? []), () => onDrawRef.current?.()] };
		const u = new uPlot(opts, data, el);
		plot.current = u;
		shown.current = data;
		const ro = new ResizeObserver(() => {
			const w = Math.floor(el.clientWidth);
			if (w > 0 && w !== u.width) u.setSize({ width: w, height });
		});
		ro.observe(el);
		const scheme = matchMedia("(prefers-color-scheme: dark)");
		// Paths are rebuilt too: bar fills are taken when a path is built.
		const redraw = () => u.redraw(true, true);
		scheme.addEventListener("change", redraw);
		return () => {
			ro.disconnect();
			scheme.removeEventListener("change", redraw);
			u.destroy();
			plot.current = null;
		};
	}, [optKey, tz, height]);

	useEffect(() => {
		if (plot.current && shown.current !== data) {
			shown.current = data;
			plot.current.setData(data);
		}
	}, [data]);

	return <div ref={ref} class={`chart ${cls ?? ""}`} aria-hidden="true" style={{ minHeight: `${height}px` }} />;
}
