import { useMemo, useRef } from "preact/hooks";
import type uPlot from "uplot";
import type { AnswerBody } from "../api/types";
import { optionsKey, type Palette, timeSeriesOptions } from "../lib/chart";
import { formatDimValue, formatNumber } from "../lib/format";
import { backtestText, insightColumns, type Insights, trendText } from "../lib/insights";
import { Chart } from "./Chart";
import { Behind } from "./Table";
import "../people.css";

/**
 * uPlot options for a series with its insights: the value, the forecast (dashed) inside its 95% and
 * 80% bands, the trend (thin) and the flagged buckets as dots. Pure.
 */
export function insightsOptions(o: { width: number; height: number; palette: Palette; granularity: string | null; yFormat: (v: number) => string; label: string; onPick?: (idx: number) => void }): uPlot.Options {
	const base = timeSeriesOptions({
		width: o.width,
		height: o.height,
		palette: o.palette,
		granularity: o.granularity as never,
		yFormat: o.yFormat,
		series: [
			{ label: o.label, color: "c1", fill: true },
			{ label: "forecast", color: "c3", dash: [6, 4] },
			{ label: "lo95", color: "c3", width: 0 },
			{ label: "hi95", color: "c3", width: 0 },
			{ label: "lo80", color: "c3", width: 0 },
			{ label: "hi80", color: "c3", width: 0 },
			{ label: "trend", color: "c2", width: 1.5, dash: [2, 3] },
			{ label: "unusual", color: "down", width: 0 },
		],
	});
	const series = base.series;
	// The flagged buckets: dots, no line.
	series[8] = { ...series[8], stroke: () => o.palette("down"), width: 0, paths: () => null, points: { show: true, size: 11, width: 2, fill: () => o.palette("down"), stroke: () => o.palette("panel") } };
	return {
		...base,
		bands: [
			{ series: [4, 3], fill: () => o.palette("c3-fill") },
			{ series: [6, 5], fill: () => o.palette("c3-fill") },
		],
		hooks: {
			ready: [
				(u) => {
					// A click on the plot picks the bucket under the cursor (the people behind it).
					u.over.addEventListener("click", () => {
						const i = u.cursor.idx;
						if (i != null && o.onPick) o.onPick(i);
					});
				},
			],
		},
	};
}

/**
 * The first series of an answer with `insights`: value, anomalies, trend and forecast bands, a
 * legend that says what each mark means, the flagged buckets and the model's honesty in words.
 * `onPick` gets a bucket's row time when a point is clicked.
 */
export function InsightsChart({ answer, height = 280, onPick }: { answer: AnswerBody & { insights: Insights }; height?: number; onPick?: (time: string, dims: (string | number | null)[]) => void }) {
	const ins = answer.insights;
	const s = ins.series[0];
	const cols = useMemo(() => (s ? insightColumns(answer, ins, s) : null), [answer]);
	const pick = useRef(onPick);
	pick.current = onPick;
	if (!s || !cols) return <p class="muted small">No series to look at in this range.</p>;
	const data: uPlot.AlignedData = [cols.xs, cols.value, cols.forecast, cols.lo95, cols.hi95, cols.lo80, cols.hi80, cols.trend, cols.anomaly];
	const dims = s.dimensions.map((v, i) => formatDimValue(answer.meta.dimensions[i] ?? "", v)).join(" · ");
	const label = `${ins.metric}${dims ? ` (${dims})` : ""}`;
	const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: answer.meta.timezone, dateStyle: "medium", ...(answer.meta.granularity === "hour" || answer.meta.granularity === "minute" ? { timeStyle: "short" } : {}) });
	const when = (iso: string) => fmt.format(new Date(iso));
	const trend = trendText(s, answer.meta.granularity);
	const backtest = backtestText(s);
	return (
		<figure class="report-figure insights-figure" data-testid="insights-chart">
			<ul class="legend">
				<li style={{ color: "var(--c1)" }}>
					<span class="swatch" />
					<span class="muted">{label}</span>
				</li>
				{s.anomalies && (
					<li title={s.anomaly_method ?? ""}>
						<span class="swatch anomaly" />
						<span class="muted">unusual bucket (far from what the trailing weeks lead one to expect)</span>
					</li>
				)}
				{s.forecast && (
					<li style={{ color: "var(--c3)" }} title={s.forecast_method ?? ""}>
						<span class="swatch dashed" />
						<span class="muted">forecast</span>
					</li>
				)}
				{s.forecast && (
					<li title="The forecast's 80% (inner) and 95% (outer) prediction intervals">
						<span class="swatch band" />
						<span class="muted">80% / 95% bands</span>
					</li>
				)}
				{s.trend && (
					<li style={{ color: "var(--c2)" }}>
						<span class="swatch dashed" />
						<span class="muted">trend</span>
					</li>
				)}
			</ul>
			<Chart
				height={height}
				tz={answer.meta.timezone}
				optKey={optionsKey(["insights", answer.meta.granularity, label])}
				data={data}
				build={(width, palette) =>
					insightsOptions({
						width,
						height,
						palette,
						granularity: answer.meta.granularity,
						yFormat: (v) => formatNumber(v),
						label,
						onPick: (i) => {
							const t = cols.times[i];
							if (t && cols.value[i] != null) pick.current?.(t, s.dimensions);
						},
					})
				}
			/>
			<figcaption class="small">
				{s.anomalies && s.anomalies.length > 0 ? (
					<ul class="insight-list" data-testid="anomalies">
						{s.anomalies.map((a) => (
							<li data-time={a.time} data-value={a.value}>
								<strong>{when(a.time)}</strong>: {formatNumber(a.value)} against {formatNumber(Math.round(a.expected * 10) / 10)} expected ({a.score > 0 ? "above" : "below"}, score {a.score.toFixed(1)})
								{onPick && (
									<>
										{" "}
										<button type="button" class="link small" onClick={() => onPick(a.time, s.dimensions)}>
											people
										</button>
									</>
								)}
							</li>
						))}
					</ul>
				) : s.anomalies ? (
					<p class="muted" data-testid="anomalies-none">
						No unusual buckets{s.anomaly_note ? `: ${s.anomaly_note}` : "."}
					</p>
				) : null}
				{trend && <p class="muted">{trend}</p>}
				{backtest && <p class="muted">{backtest}</p>}
				{ins.series.length > 1 && <p class="muted">The first of {ins.series.length} series; the answer has each one's insights.</p>}
			</figcaption>
			<Behind label="Show the series and its forecast as a table">
				<table>
					<caption class="sr-only">{label}, forecast and flags</caption>
					<thead>
						<tr>
							<th scope="col">Bucket</th>
							<th scope="col" class="num">
								Value
							</th>
							<th scope="col" class="num">
								Forecast
							</th>
							<th scope="col" class="num">
								80% band
							</th>
							<th scope="col" class="num">
								95% band
							</th>
							<th scope="col">Flag</th>
						</tr>
					</thead>
					<tbody>
						{cols.xs.map((_, i) => (
							<tr>
								<th scope="row">{cols.times[i] ? when(cols.times[i]!) : ""}</th>
								<td class="num">{cols.value[i] == null ? "" : formatNumber(cols.value[i])}</td>
								<td class="num">{cols.forecast[i] == null ? "" : formatNumber(Math.round(cols.forecast[i]! * 10) / 10)}</td>
								<td class="num">{cols.lo80[i] == null ? "" : `${formatNumber(Math.round(cols.lo80[i]!))}–${formatNumber(Math.round(cols.hi80[i]!))}`}</td>
								<td class="num">{cols.lo95[i] == null ? "" : `${formatNumber(Math.round(cols.lo95[i]!))}–${formatNumber(Math.round(cols.hi95[i]!))}`}</td>
								<td>{cols.anomaly[i] != null ? "unusual" : ""}</td>
							</tr>
						))}
					</tbody>
				</table>
			</Behind>
		</figure>
	);
}
