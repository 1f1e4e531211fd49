import { useMemo } from "preact/hooks";
import uPlot from "uplot";
import { Chart } from "./Chart";
import { Behind } from "./Table";
import { categoryBarOptions, DURATION_INCRS, indexes, optionsKey, timeSeriesOptions } from "../lib/chart";
import { changeTone, formatChange, formatValue, formatValueShort } from "../lib/format";
import type { Format } from "../lib/query";
import { type AnswerLike, answerTable, categories, figures, heatGrid, ordinal, type Table, timeSeries } from "../lib/report";
import type { ChartType } from "../lib/url";

const bars = uPlot.paths.bars!({ size: [0.7, 48] });
const COLORS = ["c1", "c3", "c4", "c5", "c6", "c7", "c8", "c2"];

interface Props {
	answer: AnswerLike;
	chart: ChartType;
	/** Formats of the answer's metrics (metricFormats). */
	formats: Format[];
	/** What the chart shows, for captions and screen readers. */
	title: string;
	height?: number;
}

/**
 * An answer drawn as a line, bars, a table, big numbers or a heat map: one uPlot per chart, and the
 * table behind every chart (a heat map is a table itself).
 */
export function ReportView({ answer, chart, formats, title, height = 240 }: Props) {
	const table = useMemo(() => answerTable(answer, formats), [answer, formats.join()]);
	if (answer.results.length === 0) return <p class="muted small">No rows in this range.</p>;
	const behind = (
		<Behind label="Show the data as a table">
			<AnswerTable table={table} caption={title} />
		</Behind>
	);
	if (chart === "table")
		return (
			<div class="table-wrap report-table" tabIndex={0} role="region" aria-label={`${title}, table`}>
				<AnswerTable table={table} caption={title} />
			</div>
		);
	if (chart === "number") return <Numbers answer={answer} formats={formats} behind={answer.results.length > 1 || answer.results.some((r) => r.comparison) ? behind : null} />;
	if (chart === "heatmap") {
		const grid = heatGrid(answer);
		if (!grid)
			return (
				<>
					<p class="muted small">A heat map needs two dimensions (e.g. day_of_week and hour_of_day), or a granularity and one dimension: here is the table.</p>
					<div class="table-wrap report-table" tabIndex={0} role="region" aria-label={`${title}, table`}>
						<AnswerTable table={table} caption={title} />
					</div>
				</>
			);
		return <HeatMap grid={grid} format={formats[0] ?? "number"} title={title} />;
	}
	const format = formats[0] ?? "number";
	if (answer.meta.granularity != null)
		return chart === "line" ? <LineChart answer={answer} format={format} height={height} title={title} behind={behind} /> : <TimeBars answer={answer} format={format} height={height} behind={behind} />;
	if (!ordinal(answer)) return <BarList table={table} dims={answer.meta.dimensions.length} title={title} />;
	return <CategoryBars answer={answer} format={format} height={height} behind={behind} metricsHead={table.head[answer.meta.dimensions.length] ?? ""} />;
}

/** Bars over names (intents, agents): a table whose first metric is drawn behind each label. */
function BarList({ table, dims, title }: { table: Table; dims: number; title: string }) {
	const max = Math.max(0, ...table.rows.map((r) => Number(r[dims]?.value ?? 0)));
	const wide = table.head.length - dims > 2;
	return (
		<div class="table-wrap report-table" tabIndex={0} role="region" aria-label={`${title}, bars`}>
			<table class={wide ? "bars wide" : "bars"} data-testid="answer-table">
				<caption class="sr-only">{title}</caption>
				<thead>
					<tr>
						<th scope="col">{table.head.slice(0, dims).join(" · ")}</th>
						{table.head.slice(dims).map((h) => (
							<th scope="col" class="num">
								{h}
							</th>
						))}
					</tr>
				</thead>
				<tbody>
					{table.rows.map((r) => (
						<tr style={{ "--share": max > 0 ? (Number(r[dims]?.value ?? 0) / max).toFixed(4) : "0" }}>
							<th scope="row">
								<span>{r.slice(0, dims).map((c) => c.text).join(" · ") || "Total"}</span>
							</th>
							{r.slice(dims).map((c) => (
								<td class="num" data-value={c.value ?? ""}>
									{c.text}
								</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}

const yAxis = (format: Format) => ({ yFormat: (v: number) => formatValueShort(format, v), yIncrs: format === "duration" ? DURATION_INCRS : undefined });

function TimeBars({ answer, format, height, behind }: { answer: AnswerLike; format: Format; height: number; behind: preact.JSX.Element }) {
	const split = useMemo(() => timeSeries(answer), [answer]);
	const first = split.series[0] ?? { label: "", ys: [] };
	const data: uPlot.AlignedData = useMemo(() => [split.xs, first.ys], [split]);
	return (
		<figure class="report-figure">
			<Chart
				height={height}
				tz={answer.meta.timezone}
				optKey={optionsKey(["tbar", format, answer.meta.granularity, first.label])}
				data={data}
				build={(width, palette) => timeSeriesOptions({ width, height, palette, bars, granularity: answer.meta.granularity, ...yAxis(format), series: [{ label: first.label, color: "c1" }] })}
			/>
			<figcaption class="muted small">
				{first.label}
				{split.series.length > 1 ? ` (the first of ${split.series.length} series; the table has all)` : ""}
			</figcaption>
			{behind}
		</figure>
	);
}

function CategoryBars({ answer, format, height, behind, metricsHead }: { answer: AnswerLike; format: Format; height: number; behind: preact.JSX.Element; metricsHead: string }) {
	const c = useMemo(() => categories(answer), [answer]);
	const data: uPlot.AlignedData = useMemo(() => [indexes(c.labels.length), c.ys], [c]);
	return (
		<figure class="report-figure">
			<Chart
				height={height}
				optKey={optionsKey(["cbar", format, c.labels])}
				data={data}
				build={(width, palette) => categoryBarOptions({ width, height, palette, bars, labels: c.labels, label: answer.meta.metrics[0] ?? "", yFormat: yAxis(format).yFormat })}
			/>
			{answer.meta.metrics.length > 1 && <figcaption class="muted small">Bars: {metricsHead}; the table has every metric.</figcaption>}
			{behind}
		</figure>
	);
}

function LineChart({ answer, format, height, title, behind }: { answer: AnswerLike; format: Format; height: number; title: string; behind: preact.JSX.Element }) {
	const split = useMemo(() => timeSeries(answer), [answer]);
	const shown = split.series.slice(0, COLORS.length);
	const data: uPlot.AlignedData = useMemo(() => [split.xs, ...shown.map((s) => s.ys)], [split]);
	return (
		<figure class="report-figure">
			<ul class="legend" aria-hidden="true">
				{shown.map((s, i) => (
					<li style={{ color: `var(--${COLORS[i]})` }}>
						<span class="swatch" />
						<span class="muted">{s.label}</span>
					</li>
				))}
			</ul>
			<Chart
				height={height}
				tz={answer.meta.timezone}
				optKey={optionsKey(["line", format, answer.meta.granularity, shown.map((s) => s.label)])}
				data={data}
				build={(width, palette) =>
					timeSeriesOptions({
						width,
						height,
						palette,
						granularity: answer.meta.granularity,
						...yAxis(format),
						series: shown.map((s, i) => ({ label: s.label, color: COLORS[i]!, fill: shown.length === 1 })),
					})
				}
			/>
			{split.series.length > shown.length ? (
				<figcaption class="muted small">
					The first {shown.length} of {split.series.length} series; the table has all.
				</figcaption>
			) : (
				<figcaption class="sr-only">{title}; the table below has the values.</figcaption>
			)}
			{behind}
		</figure>
	);
}

function Numbers({ answer, formats, behind }: { answer: AnswerLike; formats: Format[]; behind: preact.JSX.Element | null }) {
	const figs = figures(answer, formats);
	return (
		<div>
			<dl class="figures">
				{figs.map((f) => {
					const change = formatChange(f.changePct);
					return (
						<div class="figure-item" data-metric={f.name}>
							<dt>{f.label}</dt>
							<dd class="big" data-value={f.value ?? ""}>
								{formatValue(f.format, f.value)}
							</dd>
							{f.previous != null || f.changePct != null ? (
								<dd class={`change ${changeTone(f.name, f.changePct)}`} data-change={f.changePct ?? ""}>
									{change ?? "no earlier data"}
									<span class="sr-only"> against the previous period ({formatValue(f.format, f.previous)})</span>
								</dd>
							) : null}
						</div>
					);
				})}
			</dl>
			{answer.results.length > 1 && <p class="muted small">The first of {answer.results.length} rows.</p>}
			{behind}
		</div>
	);
}

/** The table of an answer; every metric cell carries its exact value in data-value. */
export function AnswerTable({ table, caption }: { table: Table; caption: string }) {
	return (
		<table data-testid="answer-table">
			<caption class="sr-only">{caption}</caption>
			<thead>
				<tr>
					{table.head.map((h, i) => (
						<th scope="col" class={table.numeric[i] ? "num" : undefined}>
							{h}
						</th>
					))}
				</tr>
			</thead>
			<tbody>
				{table.rows.map((r) => (
					<tr>
						{r.map((c, i) =>
							table.numeric[i] ? (
								<td class="num" data-value={c.value ?? ""}>
									{c.text}
								</td>
							) : (
								<td>{c.text}</td>
							),
						)}
					</tr>
				))}
			</tbody>
		</table>
	);
}

/** A heat map is a table: every cell has its number (for screen readers and on hover), the colour only helps. */
function HeatMap({ grid, format, title }: { grid: NonNullable<ReturnType<typeof heatGrid>>; format: Format; title: string }) {
	// Every label when they fit; else every n-th, the others for screen readers only.
	const every = grid.cols.length <= 12 ? 1 : Math.ceil(grid.cols.length / 8);
	return (
		<div class="table-wrap" tabIndex={0} role="region" aria-label={`${title}, heat map, scrollable`}>
			<table class="heat" data-testid="heatmap" style={{ minWidth: `${Math.max(16, grid.cols.length * 0.8 + 3)}rem` }}>
				<caption class="sr-only">
					{title}: {grid.rowTitle} (rows) by {grid.colTitle} (columns)
				</caption>
				<colgroup>
					<col class="day" />
					{grid.cols.map(() => (
						<col />
					))}
				</colgroup>
				<thead>
					<tr>
						<th scope="col">
							<span class="sr-only">{grid.rowTitle}</span>
						</th>
						{grid.cols.map((c, i) => (
							<th scope="col">{i % every === 0 ? c : <span class="sr-only">{c}</span>}</th>
						))}
					</tr>
				</thead>
				<tbody>
					{grid.cells.map((row, r) => (
						<tr>
							<th scope="row">{grid.rows[r]}</th>
							{row.map((v, c) => (
								<td style={{ "--v": grid.max && v != null ? (v / grid.max).toFixed(3) : "0" }} title={`${grid.rows[r]} · ${grid.cols[c]}: ${formatValue(format, v)}`} data-value={v ?? ""}>
									<span class="sr-only">{formatValue(format, v)}</span>
								</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}
