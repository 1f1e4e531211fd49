import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type uPlot from "uplot";
import type { ScreenProps } from "../App";
import { API_ORIGIN, ApiFailure } from "../api/client";
import type { InsightsInput } from "../api/people";
import type { QueryAnswer, QueryFailure } from "../api/types";
import { BreakdownCard, valueText } from "../components/Breakdown";
import { Chart } from "../components/Chart";
import { ViewControls } from "../components/Controls";
import { CopyBlock } from "../components/Copy";
import { InsightsPanel } from "../components/InsightsPanel";
import { Empty, ErrorNote, Skeleton } from "../components/States";
import { Behind } from "../components/Table";
import { useLoad, useTitle } from "../hooks";
import { DURATION_INCRS, optionsKey, sparklineOptions, timeSeriesOptions } from "../lib/chart";
import { changeTone, dimLabel, formatChange, formatMetric, formatMetricShort, isDurationMetric, metricLabel } from "../lib/format";
import { pickOf, withPick, type PeoplePick } from "../lib/people";
import { breakdownDims, breakdownName, chartMetric, kpiMetrics, overviewQueries } from "../lib/overview";
import { allowedGranularities, apiRange, effectiveGranularity, type Granularity, rangeLabel } from "../lib/range";
import { breakdownRows, bucketLabel, type Kpi, kpis, seriesData, seriesTable } from "../lib/series";
import { addFilter, type BaseView, type OverviewView, overviewSearch, parseOverview } from "../lib/url";
import { navigate, onLinkClick } from "../router";

const isOk = (a: QueryAnswer | QueryFailure | undefined): a is QueryAnswer => a?.status === 200;

type Extras = typeof import("../components/OverviewExtras");
let extrasModule: Extras | null = null;
/** The insights chart and the people list, loaded on first use (not with the overview). */
function useExtras(needed: boolean): Extras | null {
	const [m, setM] = useState(extrasModule);
	useEffect(() => {
		if (needed && !m)
			void import("../components/OverviewExtras").then((x) => {
				extrasModule = x;
				setM(x);
			});
	}, [needed]);
	return m;
}

/** Marks the moment the overview is complete (KPIs and the main chart drawn), once per page load. */
let marked = false;
function markComplete() {
	if (marked) return;
	marked = true;
	performance.mark("edgewise:overview-complete");
}

export function Overview({ api, secret, info, search, onAuthError }: ScreenProps) {
	useTitle("Overview");
	const view = parseOverview(search);
	const tenant = info.tenant;
	const tz = view.tz ?? tenant.timezone;
	const queries = useMemo(() => overviewQueries(tenant, view), [search, tenant]);
	const load = useLoad(JSON.stringify(queries), (signal) => api.batch(queries, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);

	const go = (v: OverviewView) => navigate(`/${overviewSearch(v) ? `?${overviewSearch(v)}` : ""}`);
	// The people behind a bucket of the main chart or a breakdown row: in the URL (`who`), kept by nothing else.
	const who = pickOf(search);
	const setWho = (p: PeoplePick | null) => {
		const q = withPick(search, p);
		navigate(`/${q ? `?${q}` : ""}`);
	};
	// "What stands out" saved as an insights report (its POST /v1/insights body), for boards.
	const [saving, setSaving] = useState(false);
	const [savedId, setSavedId] = useState<string | null>(null);
	const extras = useExtras(!!view.insights || who != null || saving);
	const insightsBody: InsightsInput = { metrics: ["count", "uniques"], date_range: apiRange(view.range), ...(view.tz ? { timezone: view.tz } : {}), ...(view.filters.length ? { filters: view.filters } : {}), movers: { dimensions: ["event"], limit: 5 } };
	const metrics = kpiMetrics(tenant);
	const metric = chartMetric(tenant, view);
	const g = effectiveGranularity(view.range, view.g);
	const answers = load.data?.answers;
	const kpiAnswer = answers?.kpis;
	const seriesAnswer = answers?.series;
	const cards = isOk(kpiAnswer) ? kpis(kpiAnswer) : null;
	const empty = cards?.[0]?.value === 0 && view.filters.length === 0;
	const busy = load.status === "loading";
	const complete = isOk(kpiAnswer) && isOk(seriesAnswer) && !busy;

	return (
		<div class="overview" data-state={complete ? "ready" : busy ? "loading" : "error"} aria-busy={busy ? "true" : "false"} style={{ display: "grid", gap: "1rem" }}>
			<div class="page-head">
				<h1>Overview</h1>
				<ViewControls view={view} tenantTz={tenant.timezone} onChange={(v: BaseView) => go({ ...view, ...v })} />
			</div>
			{load.error && <ErrorNote error={load.error} title="The overview could not be loaded" onRetry={load.reload} />}
			{answers && !isOk(kpiAnswer) && kpiAnswer && <ErrorNote error={failureOf(kpiAnswer)} title="Key figures unavailable" />}
			<section class="kpis" aria-label="Key figures">
				{metrics.map((m, i) => (
					<KpiCard
						metric={m}
						kpi={cards?.[i] ?? null}
						spark={isOk(seriesAnswer) ? seriesData(seriesAnswer.results, i, false) : null}
						selected={m === metric}
						onSelect={() => go({ ...view, metric: m === "count" ? null : m })}
					/>
				))}
			</section>
			{empty && <EmptyTenant range={rangeLabel(view.range)} onWiden={() => go({ ...view, range: { preset: "12mo" } })} />}
			<section class="panel" aria-labelledby="main-chart-title">
				<div class="panel-head">
					<h2 id="main-chart-title">
						{metricLabel(metric)} <span class="muted small">{rangeLabel(view.range)}, by {g}</span>
					</h2>
					<div class="row-gap">
					<div class="segmented" role="group" aria-label="Patterns">
						<button type="button" aria-pressed={view.insights ? "true" : "false"} title="Unusual buckets, the trend and a forecast with 80% and 95% bands" onClick={() => go({ ...view, insights: !view.insights })}>
							Insights
						</button>
					</div>
					<div class="segmented" role="group" aria-label="Granularity">
						{allowedGranularities(view.range)
							.filter((x) => x !== "minute")
							.map((x) => (
								<button type="button" aria-pressed={x === g ? "true" : "false"} onClick={() => go({ ...view, g: x })}>
									{x}
								</button>
							))}
					</div>
					</div>
				</div>
				{isOk(seriesAnswer) && view.insights && extras && extras.hasInsights(seriesAnswer) ? (
					<extras.OverviewInsights answer={seriesAnswer} onPick={(time) => setWho({ time, dimensions: [] })} />
				) : isOk(seriesAnswer) && view.insights && !extras ? (
					<Skeleton height={260} />
				) : isOk(seriesAnswer) ? (
					<MainChart answer={seriesAnswer} metric={metric} metricIdx={metrics.indexOf(metric)} g={g} onDrawn={complete ? markComplete : undefined} />
				) : seriesAnswer ? (
					<ErrorNote error={failureOf(seriesAnswer)} title="The chart could not be drawn" />
				) : (
					<Skeleton height={260} />
				)}
			</section>
			<div class="grid breakdowns">
				{breakdownDims(tenant).map((dim, i) => {
					const a = answers?.[breakdownName(i)];
					return (
						<BreakdownCard
							dim={dim}
							metrics={["count", "uniques"]}
							rows={isOk(a) ? breakdownRows(a) : null}
							failure={a && !isOk(a) ? a : null}
							busy={busy}
							onPick={(value) => go({ ...view, filters: addFilter(view.filters, ["is", dim, value]) })}
							onPeople={(value) => setWho({ by: [dim], dimensions: [value] })}
						/>
					);
				})}
			</div>
			{who && extras && (
				<extras.OverviewPeople api={api} secret={secret} view={view} granularity={g} pick={who} label={pickLabel(who, tz, g)} onClose={() => setWho(null)} />
			)}
			{!empty && <InsightsPanel api={api} body={insightsBody} onSave={() => setSaving(true)} />}
			{saving && extras && (
				<extras.SaveKindReport api={api} kind="insights" query={insightsBody} reportId={savedId} chartLabels={{ table: "summary", line: "summary (boards draw no lines of it yet)" }} heading="Save “What stands out” as a report" onSaved={setSavedId} />
			)}
		</div>
	);
}

/** A pick in words: "30 Nov 2026" (a bucket) or "Country United States (US)" (a breakdown row). */
function pickLabel(p: PeoplePick, tz: string, g: string): string {
	if (p.time) return new Intl.DateTimeFormat("en-GB", { timeZone: tz, dateStyle: "medium", ...(g === "hour" ? { timeStyle: "short" } : {}) }).format(new Date(p.time));
	return (p.by ?? []).map((d, i) => `${dimLabel(d)} ${valueText(d, p.dimensions[i] ?? null)}`).join(" · ") || "the whole range";
}

const failureOf = (f: QueryFailure) => new ApiFailure(f.status, f.error.code, f.error.message, f.error.details);

function KpiCard({ metric, kpi, spark, selected, onSelect }: { metric: string; kpi: Kpi | null; spark: uPlot.AlignedData | null; selected: boolean; onSelect: () => void }) {
	const change = formatChange(kpi?.changePct);
	const tone = changeTone(metric, kpi?.changePct);
	return (
		<button type="button" class="kpi" aria-pressed={selected ? "true" : "false"} onClick={onSelect} data-metric={metric}>
			<span class="kpi-label">{metricLabel(metric)}</span>
			{kpi ? (
				<span class="kpi-value" data-value={kpi.value ?? ""}>
					{formatMetric(metric, kpi.value)}
				</span>
			) : (
				<Skeleton height={28} width="60%" />
			)}
			<span class={`change ${tone}`} data-change={kpi?.changePct ?? ""}>
				{kpi ? (change ?? "no earlier data") : ""}
				<span class="sr-only"> against the previous period ({formatMetric(metric, kpi?.previous)})</span>
			</span>
			<span class="spark">
				{spark && <Chart height={36} optKey="spark" data={spark} build={(width, palette) => sparklineOptions({ width, height: 36, color: "c1", palette })} />}
			</span>
		</button>
	);
}

function MainChart({ answer, metric, metricIdx, g, onDrawn }: { answer: QueryAnswer; metric: string; metricIdx: number; g: Granularity; onDrawn?: () => void }) {
	// The formatter is read through a ref: switching the metric is setData, not a new chart.
	const fmt = useRef(metric);
	fmt.current = metric;
	const data = useMemo(() => seriesData(answer.results, metricIdx, true), [answer, metricIdx]);
	const table = seriesTable(answer.results, g, [
		{ label: "This period", idx: metricIdx },
		{ label: "Previous period", idx: metricIdx, previous: true },
	]);
	const prev = answer.meta.comparison?.date_range;
	return (
		<figure style={{ margin: 0 }}>
			<ul class="legend">
				<li style={{ color: "var(--c1)" }}>
					<span class="swatch" />
					<span class="muted">This period</span>
				</li>
				<li style={{ color: "var(--c2)" }}>
					<span class="swatch dashed" />
					<span class="muted">Previous period{prev ? ` (${bucketLabel(prev.from, "day")} – ${bucketLabel(new Date(Date.parse(prev.to) - 1).toISOString(), "day")})` : ""}</span>
				</li>
			</ul>
			<Chart
				height={260}
				tz={answer.meta.timezone}
				optKey={optionsKey(["main", isDurationMetric(metric), g])}
				data={data}
				onDraw={onDrawn}
				build={(width, palette) =>
					timeSeriesOptions({
						width,
						height: 260,
						palette,
						yFormat: (v) => formatMetricShort(fmt.current, v),
						yIncrs: isDurationMetric(metric) ? DURATION_INCRS : undefined,
						granularity: g,
						series: [
							{ label: "This period", color: "c1", fill: true },
							{ label: "Previous period", color: "c2", dash: [5, 4], width: 1.5 },
						],
					})
				}
			/>
			<figcaption class="sr-only">
				{metricLabel(metric)} by {g}, this period against the previous one; the table below has the values.
			</figcaption>
			<Behind label="Show the data as a table">
				<table>
					<thead>
						<tr>
							{table.head.map((h, i) => (
								<th scope="col" class={i ? "num" : undefined}>
									{h}
								</th>
							))}
						</tr>
					</thead>
					<tbody>
						{table.rows.map(([label, ...vals]) => (
							<tr>
								<th scope="row">{label}</th>
								{vals.map((v) => (
									<td class="num">{formatMetric(metric, v)}</td>
								))}
							</tr>
						))}
					</tbody>
				</table>
			</Behind>
		</figure>
	);
}

function EmptyTenant({ range, onWiden }: { range: string; onWiden: () => void }) {
	const curl = `curl -X POST ${API_ORIGIN}/v1/events \\
  -H 'Authorization: Bearer <your ingest key>' \\
  -H 'Content-Type: application/json' \\
  -d '{"event":"signup","user_id":"u_1","properties":{"plan":"pro"}}'`;
	return (
		<Empty title={/^(today|yesterday)$/i.test(range) ? `No events ${range.toLowerCase()}` : `No events in ${range.startsWith("Last") ? "the " : ""}${range.replace(/^Last/, "last")}`}>
			<p>
				Send an event with an ingest key of this workspace, and it shows up here within a minute (at once on the{" "}
				<a href="/live" onClick={onLinkClick}>
					Live
				</a>{" "}
				page). Or{" "}
				<button type="button" class="link" onClick={onWiden}>
					look at the last 12 months
				</button>
				.
			</p>
			<CopyBlock title="Command" text={curl} />
		</Empty>
	);
}
