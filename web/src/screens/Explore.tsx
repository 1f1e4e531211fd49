import { useEffect, useMemo, useState } from "preact/hooks";
import uPlot from "uplot";
import type { ScreenProps } from "../App";
import { API_ORIGIN } from "../api/client";
import type { AnswerBody } from "../api/types";
import { Chart } from "../components/Chart";
import { FilterChips, RangePicker, ZonePicker } from "../components/Controls";
import { CopyBlock } from "../components/Copy";
import { ErrorNote, Skeleton } from "../components/States";
import { Behind } from "../components/Table";
import { useLoad, useTitle } from "../hooks";
import { categoryBarOptions, indexes, optionsKey, timeSeriesOptions } from "../lib/chart";
import { answerTable, categories, curlCommand, exploreQuery, splitSeries } from "../lib/explore";
import { dimLabel, formatMetric, formatMetricShort, metricLabel } from "../lib/format";
import { GRANULARITIES } from "../lib/range";
import { addFilter, CHART_TYPES, COMPARES, type ExploreView, exploreSearch, FILTER_OPS, type FilterOp, isDimension, isMetric, parseExplore } from "../lib/url";
import { navigate } from "../router";

const bars = uPlot.paths.bars!({ size: [0.7, 48] });
const AGGS = ["sum", "avg", "min", "max", "p50", "p90", "p95", "p99"];
const SIMPLE_DIMS = ["event", "country", "device", "browser", "os", "hour_of_day", "day_of_week"];
const COLORS = ["c1", "c3", "c4", "c5", "c6", "c7", "c8", "c2"];

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

export function Explore({ api, info, search, onAuthError }: ScreenProps) {
	useTitle("Explore");
	const view = parseExplore(search);
	const tenant = info.tenant;
	const q = useMemo(() => exploreQuery(view), [search]);
	const body = JSON.stringify(q, null, 2);
	const load = useLoad(JSON.stringify(q), (signal) => api.query(q, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	const set = (patch: Partial<ExploreView>) => navigate(`/explore?${exploreSearch({ ...view, ...patch })}`, { replace: true });

	return (
		<div style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>Explore</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Build any query <code>POST /v1/query</code> takes; copy it as JSON or curl.
					</p>
				</div>
			</div>
			<section class="panel builder" aria-label="Query">
				<div class="row">
					<RangePicker key={JSON.stringify(view.range)} range={view.range} tz={view.tz ?? tenant.timezone} onChange={(range) => set({ range })} />
					<ZonePicker tz={view.tz} tenantTz={tenant.timezone} onChange={(tz) => set({ tz })} />
				</div>
				<MetricsField view={view} metricProps={tenant.metric_props} onChange={(metrics) => set({ metrics, order: null })} />
				<DimensionsField view={view} dimensionProps={tenant.dimension_props} onChange={(dimensions) => set({ dimensions, order: null })} />
				<FiltersField view={view} dimensionProps={tenant.dimension_props} onChange={(filters) => set({ filters })} />
				<fieldset>
					<legend>Shape</legend>
					<label>
						Granularity
						<select value={view.g ?? "none"} onChange={(e) => set({ g: value(e) === "none" ? null : (value(e) as ExploreView["g"]) })}>
							<option value="none">none (totals)</option>
							{GRANULARITIES.map((g) => (
								<option value={g}>{g}</option>
							))}
						</select>
					</label>
					<label>
						Compare with
						<select value={view.compare ?? ""} onChange={(e) => set({ compare: (value(e) || null) as ExploreView["compare"] })}>
							<option value="">nothing</option>
							{COMPARES.map((c) => (
								<option value={c}>{c.replace("_", " ")}</option>
							))}
						</select>
					</label>
					<label>
						Order by
						<select
							value={view.order ? `${view.order[0]}:${view.order[1]}` : ""}
							onChange={(e) => {
								const [k, d] = value(e).split(/:(?=asc$|desc$)/);
								set({ order: k && (d === "asc" || d === "desc") ? [k, d] : null });
							}}
						>
							<option value="">default</option>
							{[...view.metrics, ...view.dimensions, ...(view.g ? ["time"] : [])].flatMap((k) => [
								<option value={`${k}:desc`}>{k} ↓</option>,
								<option value={`${k}:asc`}>{k} ↑</option>,
							])}
						</select>
					</label>
					<label>
						Limit
						<input
							type="number"
							min={1}
							max={10000}
							value={view.limit ?? ""}
							placeholder="default"
							style={{ width: "7rem" }}
							onChange={(e) => {
								const n = Number(value(e));
								set({ limit: value(e) && Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : null });
							}}
						/>
					</label>
					<label>
						Source
						<select value={view.source} onChange={(e) => set({ source: value(e) === "raw" ? "raw" : "auto" })}>
							<option value="auto">auto (rollups when they can)</option>
							<option value="raw">raw events (exact)</option>
						</select>
					</label>
				</fieldset>
			</section>

			<section class="panel" aria-labelledby="result-title" aria-busy={load.status === "loading" ? "true" : "false"}>
				<div class="panel-head">
					<h2 id="result-title">Result</h2>
					<div class="segmented" role="group" aria-label="Chart type">
						{CHART_TYPES.map((c) => (
							<button type="button" aria-pressed={view.chart === c ? "true" : "false"} onClick={() => set({ chart: c })}>
								{c}
							</button>
						))}
					</div>
				</div>
				{load.error ? (
					<ErrorNote error={load.error} title="The query was refused" />
				) : load.data ? (
					<Result answer={load.data} view={view} />
				) : (
					<Skeleton height={240} />
				)}
				{load.data && <Meta answer={load.data} />}
			</section>

			<div class="grid two">
				<section class="panel">
					<CopyBlock title="JSON request" text={body} />
				</section>
				<section class="panel">
					<CopyBlock title="curl" text={curlCommand(API_ORIGIN, q)} />
					<p class="muted small">
						Set <code>EDGEWISE_KEY</code> to a read key first: <code>export EDGEWISE_KEY=ew_read_…</code>
					</p>
				</section>
			</div>
		</div>
	);
}

function MetricsField({ view, metricProps, onChange }: { view: ExploreView; metricProps: string[]; onChange: (m: string[]) => void }) {
	const [agg, setAgg] = useState("p95");
	const [prop, setProp] = useState(metricProps[0] ?? "");
	const candidate = `${agg}:${prop.trim()}`;
	const add = (m: string) => !view.metrics.includes(m) && view.metrics.length < 10 && onChange([...view.metrics, m]);
	return (
		<fieldset>
			<legend>Metrics</legend>
			<ul class="chips" aria-label="Metrics">
				{view.metrics.map((m) => (
					<li class="chip">
						<span>{m}</span>
						<button type="button" aria-label={`Remove metric ${m}`} disabled={view.metrics.length === 1} onClick={() => onChange(view.metrics.filter((x) => x !== m))}>
							×
						</button>
					</li>
				))}
			</ul>
			{["count", "uniques"]
				.filter((m) => !view.metrics.includes(m))
				.map((m) => (
					<button type="button" onClick={() => add(m)}>
						+ {m}
					</button>
				))}
			<form
				class="row"
				onSubmit={(e) => {
					e.preventDefault();
					if (isMetric(candidate)) add(candidate);
				}}
			>
				<label>
					Aggregate
					<select value={agg} onChange={(e) => setAgg(value(e))}>
						{AGGS.map((a) => (
							<option value={a}>{a}</option>
						))}
					</select>
				</label>
				<label>
					of property
					<input list="metric-props" value={prop} onInput={(e) => setProp(value(e))} placeholder="response_time_ms" style={{ width: "12rem" }} />
				</label>
				<datalist id="metric-props">
					{metricProps.map((p) => (
						<option value={p} />
					))}
				</datalist>
				<button type="submit" disabled={!isMetric(candidate)}>
					Add metric
				</button>
			</form>
		</fieldset>
	);
}

function DimensionsField({ view, dimensionProps, onChange }: { view: ExploreView; dimensionProps: string[]; onChange: (d: string[]) => void }) {
	const [pick, setPick] = useState("");
	const options = [...SIMPLE_DIMS, ...dimensionProps.map((p) => `prop:${p}`)].filter((d) => !view.dimensions.includes(d));
	return (
		<fieldset>
			<legend>Break down by (up to 3)</legend>
			<ul class="chips" aria-label="Dimensions">
				{view.dimensions.map((d) => (
					<li class="chip">
						<span>{dimLabel(d)}</span>
						<button type="button" aria-label={`Remove dimension ${d}`} onClick={() => onChange(view.dimensions.filter((x) => x !== d))}>
							×
						</button>
					</li>
				))}
			</ul>
			<form
				class="row"
				onSubmit={(e) => {
					e.preventDefault();
					const d = pick.trim();
					if (isDimension(d) && view.dimensions.length < 3) {
						onChange([...view.dimensions, d]);
						setPick("");
					}
				}}
			>
				<label>
					Dimension
					<input list="dims" value={pick} onInput={(e) => setPick(value(e))} placeholder="country or prop:plan" style={{ width: "13rem" }} />
				</label>
				<datalist id="dims">
					{options.map((d) => (
						<option value={d} />
					))}
				</datalist>
				<button type="submit" disabled={!isDimension(pick.trim()) || view.dimensions.length >= 3}>
					Add dimension
				</button>
			</form>
		</fieldset>
	);
}

function FiltersField({ view, dimensionProps, onChange }: { view: ExploreView; dimensionProps: string[]; onChange: (f: ExploreView["filters"]) => void }) {
	const [op, setOp] = useState<FilterOp>("is");
	const [dim, setDim] = useState("event");
	const [val, setVal] = useState("");
	const numeric = op === "gt" || op === "lt" || dim === "hour_of_day" || dim === "day_of_week";
	const parsed = numeric ? Number(val) : val;
	const ok = isDimension(dim.trim()) && (numeric ? val !== "" && Number.isFinite(parsed) : true);
	return (
		<fieldset>
			<legend>Filters</legend>
			<FilterChips filters={view.filters} onChange={onChange} />
			<form
				class="row"
				onSubmit={(e) => {
					e.preventDefault();
					if (!ok) return;
					onChange(addFilter(view.filters, [op, dim.trim(), val === "" && op !== "contains" ? null : parsed]));
					setVal("");
				}}
			>
				<label>
					Dimension
					<input list="filter-dims" value={dim} onInput={(e) => setDim(value(e))} style={{ width: "11rem" }} />
				</label>
				<datalist id="filter-dims">
					{[...SIMPLE_DIMS, ...dimensionProps.map((p) => `prop:${p}`)].map((d) => (
						<option value={d} />
					))}
				</datalist>
				<label>
					Operator
					<select value={op} onChange={(e) => setOp(value(e) as FilterOp)}>
						{FILTER_OPS.map((o) => (
							<option value={o}>{o}</option>
						))}
					</select>
				</label>
				<label>
					Value
					<input value={val} onInput={(e) => setVal(value(e))} placeholder={numeric ? "a number" : "empty = missing"} style={{ width: "10rem" }} />
				</label>
				<button type="submit" disabled={!ok}>
					Add filter
				</button>
			</form>
		</fieldset>
	);
}

function Result({ answer, view }: { answer: AnswerBody; view: ExploreView }) {
	const metric = answer.meta.metrics[0] ?? "count";
	const table = answerTable(answer);
	const tableEl = (
		<table data-testid="explore-table">
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
						{r.map((v, i) => (
							<td class={table.numeric[i] ? "num" : undefined}>{table.numeric[i] ? formatMetric(table.head[i]!.replace(" (previous)", ""), v as number | null) : String(v ?? "")}</td>
						))}
					</tr>
				))}
			</tbody>
		</table>
	);
	if (answer.results.length === 0) return <p class="muted">No rows.</p>;
	if (view.chart === "table") return <div class="table-wrap" style={{ maxHeight: "28rem" }} tabIndex={0}>{tableEl}</div>;
	if (view.chart === "number") {
		const v = answer.results[0]?.metrics[0] ?? null;
		return (
			<div>
				<div class="big-number" data-value={v ?? ""}>
					{formatMetric(metric, v)}
				</div>
				<p class="muted">
					{metricLabel(metric)}
					{answer.results.length > 1 ? ` (first of ${answer.results.length} rows)` : ""}
				</p>
				<Behind label="Show all rows as a table">{tableEl}</Behind>
			</div>
		);
	}
	const timed = answer.meta.granularity != null;
	let chart;
	if (timed && view.chart === "line") {
		const split = splitSeries(answer, 0);
		const data: uPlot.AlignedData = [split.xs, ...split.series.map((s) => s.ys)];
		chart = (
			<>
				<ul class="legend">
					{split.series.map((s, i) => (
						<li style={{ color: `var(--${COLORS[i % COLORS.length]})` }}>
							<span class="swatch" />
							<span class="muted">{s.label}</span>
						</li>
					))}
				</ul>
				<Chart
					height={280}
					tz={answer.meta.timezone}
					optKey={optionsKey(["line", metric, answer.meta.granularity, split.series.map((s) => s.label)])}
					data={data}
					build={(width, palette) =>
						timeSeriesOptions({ width, height: 280, palette, granularity: answer.meta.granularity, yFormat: (v) => formatMetricShort(metric, v), series: split.series.map((s, i) => ({ label: s.label, color: COLORS[i % COLORS.length]! })) })
					}
				/>
			</>
		);
	} else if (timed) {
		const split = splitSeries(answer, 0);
		const first = split.series[0]!;
		chart = (
			<Chart
				height={280}
				tz={answer.meta.timezone}
				optKey={optionsKey(["tbar", metric, answer.meta.granularity])}
				data={[split.xs, first.ys]}
				build={(width, palette) => timeSeriesOptions({ width, height: 280, palette, bars, granularity: answer.meta.granularity, yFormat: (v) => formatMetricShort(metric, v), series: [{ label: first.label, color: "c1" }] })}
			/>
		);
	} else {
		const c = categories(answer, 0);
		chart = (
			<Chart
				height={280}
				optKey={optionsKey(["cbar", metric, c.labels])}
				data={[indexes(c.labels.length), c.ys]}
				build={(width, palette) => categoryBarOptions({ width, height: 280, palette, bars, labels: c.labels, label: metric, yFormat: (v) => formatMetricShort(metric, v) })}
			/>
		);
	}
	return (
		<figure style={{ margin: 0 }}>
			{chart}
			<figcaption class="muted small">
				{metricLabel(metric)}
				{timed ? ` by ${answer.meta.granularity}` : ""}
				{answer.meta.dimensions.length ? `, by ${answer.meta.dimensions.map(dimLabel).join(", ")}` : ""}
			</figcaption>
			<Behind label="Show the data as a table">{tableEl}</Behind>
		</figure>
	);
}

function Meta({ answer }: { answer: AnswerBody }) {
	const m = answer.meta;
	return (
		<dl class="meta" data-testid="explore-meta">
			<div>
				<dt>plan</dt>
				<dd data-plan={m.plan}>
					{m.plan}
					{m.level ? ` (${m.level} buckets)` : ""}
				</dd>
			</div>
			<div>
				<dt>rows scanned</dt>
				<dd>{m.rows_scanned.toLocaleString("en-US")}</dd>
			</div>
			<div>
				<dt>took</dt>
				<dd>{m.took_ms} ms</dd>
			</div>
			<div>
				<dt>rows</dt>
				<dd>{m.total_rows.toLocaleString("en-US")}</dd>
			</div>
			{m.raw_reason && (
				<div>
					<dt>why raw</dt>
					<dd>{m.raw_reason}</dd>
				</div>
			)}
		</dl>
	);
}
