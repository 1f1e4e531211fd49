import { useEffect, useMemo } from "preact/hooks";
import type { ScreenProps } from "../App";
import { API_ORIGIN } from "../api/client";
import type { AnswerBody } from "../api/types";
import { FilterChips, RangePicker, ZonePicker } from "../components/Controls";
import { CopyBlock } from "../components/Copy";
import { MetricsField } from "../components/MetricsField";
import { DimensionsField, FilterForm } from "../components/QueryFields";
import { ExploreResult } from "../components/ExploreExtras";
import { ReportView } from "../components/ReportView";
import { opsFor } from "../api/ops";
import { ExportButton } from "../components/ExportButton";
import { SaveReport } from "../components/SaveReport";
import { SchedulesPanel } from "../components/SchedulesPanel";
import { ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { curlCommand, exploreQuery, prettyJson, viewFromQuery } from "../lib/explore";
import { dimLabel, metricLabel } from "../lib/format";
import { isHidden, metricFormats, metricName, pairsInQueries } from "../lib/query";
import { ALL_GRANULARITIES } from "../lib/range";
import { addFilter, CHART_TYPES, COMPARES, type ExploreView, exploreSearch, parseExplore } from "../lib/url";
import { navigate } from "../router";

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;
const count = (s: string) => {
	const n = Number(s);
	return s && Number.isInteger(n) && n >= 1 && n <= 10_000 ? n : null;
};

export function Explore({ api, secret, info, search, onAuthError }: ScreenProps) {
	const ops = useMemo(() => opsFor(secret), [secret]);
	useTitle("Explore");
	const view = parseExplore(search);
	const tenant = info.tenant;
	const only = new URLSearchParams(search);
	// `/explore?report=<id>` alone opens a saved report: its query becomes the view (and the URL).
	const opening = view.report != null && [...only.keys()].every((k) => k === "report");
	const q = useMemo(() => exploreQuery(view), [search]);
	const body = prettyJson(q);
	const load = useLoad(opening ? null : JSON.stringify(q), (signal) => api.query(q, signal));
	const saved = useLoad(view.report ? `report:${view.report}` : null, (signal) => api.reports.get(view.report!, signal));
	const context = useLoad(`explore:${tenant.id}:${info.key.scope}`, (signal) =>
		Promise.all([api.reports.list(signal), info.key.scope === "admin" ? api.admin.tenant(tenant.id, signal).catch(() => null) : Promise.resolve(null)]),
	);
	useEffect(() => {
		const e = load.error ?? saved.error;
		if (e?.status === 401) onAuthError(e);
	}, [load.error, saved.error]);
	useEffect(() => {
		if (opening && saved.data) {
			const { view: v } = viewFromQuery(saved.data.query, saved.data.chart, saved.data.id);
			navigate(`/explore?${exploreSearch(v)}`, { replace: true });
		}
	}, [opening, saved.data]);
	const set = (patch: Partial<ExploreView>) => navigate(`/explore?${exploreSearch({ ...view, ...patch })}`, { replace: true });
	const reports = context.data?.[0].reports ?? [];
	const pairs = [...new Set([...(context.data?.[1]?.pairs.map((p) => p.name) ?? []), ...pairsInQueries(reports.map((r) => r.query))])].sort();
	const problems = saved.data && !opening ? viewFromQuery(saved.data.query, saved.data.chart, saved.data.id).problems : [];
	const visible = view.metrics.filter((m) => !isHidden(m)).map(metricName);
	const orderKeys = [...visible, ...view.dimensions, ...(view.g ? ["time"] : []), ...(view.compare ? visible.flatMap((m) => [`change:${m}`, `change_pct:${m}`]) : [])];
	const groups = view.dimensions.length + (view.g ? 1 : 0) >= 2;

	// The saved report when the view is exactly its query; any change exports what is shown, as a query.
	const asSaved = saved.data && !opening && JSON.stringify(exploreQuery(viewFromQuery(saved.data.query, saved.data.chart, saved.data.id).view)) === JSON.stringify(q);
	if (opening) return saved.error ? <ErrorNote error={saved.error} title="The saved report could not be opened" /> : <Skeleton height={300} />;
	return (
		<div style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status} class="explore">
			<div class="page-head">
				<div>
					<h1>Explore</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Build any query <code>POST /v1/query</code> takes; copy it as JSON or curl; save it as a report for a board.
					</p>
				</div>
				{reports.length > 0 && (
					<label>
						Open a saved report
						<select value={view.report ?? ""} onChange={(e) => value(e) && navigate(`/explore?report=${value(e)}`)}>
							<option value="">choose…</option>
							{reports.map((r) => (
								<option value={r.id}>{r.name}</option>
							))}
						</select>
					</label>
				)}
			</div>
			{problems.length > 0 && (
				<p class="state warn" role="status">
					This report's query has parts Explore cannot show ({problems.join("; ")}): saving here would leave them out.
				</p>
			)}
			<section class="panel builder" aria-label="Query">
				<div class="row">
					<RangePicker key={JSON.stringify(view.range)} range={view.range} tz={view.tz ?? tenant.timezone} onChange={(range) => set({ range })} />
					<ZonePicker tz={view.tz} tenantTz={tenant.timezone} onChange={(tz) => set({ tz })} />
				</div>
				<MetricsField metrics={view.metrics} metricProps={tenant.metric_props} dimensionProps={tenant.dimension_props} pairs={pairs} onChange={(metrics) => set({ metrics, order: [] })} />
				<DimensionsField view={view} dimensionProps={tenant.dimension_props} metricProps={tenant.metric_props} onChange={(dimensions, bins) => set({ dimensions, bins: bins ?? null, order: [], perGroup: dimensions.length + (view.g ? 1 : 0) >= 2 ? view.perGroup : null })} />
				<fieldset>
					<legend>Filters (every event of the query)</legend>
					<FilterChips filters={view.filters} onChange={(filters) => set({ filters })} />
					<FilterForm dimensionProps={tenant.dimension_props} submitLabel="Add filter" idPrefix="qf" onAdd={(f) => set({ filters: addFilter(view.filters, f) })} />
				</fieldset>
				<fieldset>
					<legend>Shape</legend>
					<label>
						Granularity
						<select value={view.g ?? "none"} onChange={(e) => set({ g: value(e) === "none" ? null : (value(e) as ExploreView["g"]), order: [] })}>
							<option value="none">none (totals)</option>
							{ALL_GRANULARITIES.map((g) => (
								<option value={g}>{g}</option>
							))}
						</select>
					</label>
					<label>
						Compare with
						<select value={view.compare ?? ""} onChange={(e) => set({ compare: (value(e) || null) as ExploreView["compare"], order: view.order.filter(([k]) => !k.startsWith("change")) })}>
							<option value="">nothing</option>
							{COMPARES.map((c) => (
								<option value={c}>{c.replace("_", " ")}</option>
							))}
						</select>
					</label>
					<label>
						Order by
						<select
							value={view.order[0] ? `${view.order[0][0]}:${view.order[0][1]}` : ""}
							onChange={(e) => {
								const v = value(e);
								const i = v.lastIndexOf(":");
								const d = v.slice(i + 1);
								set({ order: i > 0 && (d === "asc" || d === "desc") ? [[v.slice(0, i), d]] : [] });
							}}
						>
							<option value="">default</option>
							{[...new Set([...orderKeys, ...view.order.map(([k]) => k)])].flatMap((k) => [<option value={`${k}:desc`}>{orderText(k)} ↓</option>, <option value={`${k}:asc`}>{orderText(k)} ↑</option>])}
						</select>
					</label>
					<label>
						Limit
						<input type="number" min={1} max={10000} value={view.limit ?? ""} placeholder="default" style={{ width: "7rem" }} onChange={(e) => set({ limit: count(value(e)) })} />
					</label>
					<label title="The top N of the last dimension within each group (needs two dimensions, or a granularity and one)">
						Rows per group
						<input type="number" min={1} max={10000} value={view.perGroup ?? ""} placeholder={groups ? "all" : "–"} disabled={!groups} style={{ width: "7rem" }} onChange={(e) => set({ perGroup: count(value(e)) })} />
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
					<div class="segmented" role="group" aria-label="Patterns">
						<button type="button" aria-pressed={view.insights ? "true" : "false"} disabled={!view.g} title={view.g ? "Anomalies, trend and a forecast with 80% and 95% bands" : "Insights look at a time series: choose a granularity"} onClick={() => set({ insights: !view.insights })}>
							Insights
						</button>
					</div>
					<div class="segmented" role="group" aria-label="Chart type">
						{CHART_TYPES.map((c) => (
							<button type="button" aria-pressed={view.chart === c ? "true" : "false"} onClick={() => set({ chart: c })}>
								{c === "heatmap" ? "heat map" : c}
							</button>
						))}
					</div>
				</div>
				<ExportButton ops={ops} target={asSaved ? { report_id: saved.data!.id } : { query: q }} what={asSaved ? saved.data!.name : "this query's result"} />
				{load.error ? (
					<ErrorNote error={load.error} title="The query was refused" />
				) : load.data ? (
					<div data-testid="explore-result" class="dim-when-busy">
						<ExploreResult api={api} ops={ops} answer={load.data} query={q}>
							<ReportView answer={load.data} chart={view.chart} formats={metricFormats(load.data.meta.metrics, view.metrics)} title={resultTitle(load.data)} height={280} />
						</ExploreResult>
					</div>
				) : (
					<Skeleton height={240} />
				)}
				{load.data && <Meta answer={load.data} />}
			</section>

			<SaveReport api={api} view={view} query={q} saved={saved.data ?? null} onSaved={(id) => set({ report: id })} />
			{saved.data && view.report === saved.data.id && <SchedulesPanel ops={ops} target={{ report_id: saved.data.id }} timezone={tenant.timezone} what="report" />}

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

const orderText = (k: string) => (k.startsWith("change_pct:") ? `change % of ${k.slice(11)}` : k.startsWith("change:") ? `change of ${k.slice(7)}` : k);

const resultTitle = (a: AnswerBody) =>
	`${a.meta.metrics.map(metricLabel).join(", ")}${a.meta.granularity ? ` by ${a.meta.granularity}` : ""}${a.meta.dimensions.length ? `, by ${a.meta.dimensions.map(dimLabel).join(", ")}` : ""}`;

function Meta({ answer }: { answer: AnswerBody }) {
	const m = answer.meta;
	const through = m.complete_through ? new Date(m.complete_through).toLocaleTimeString("en-GB") : null;
	return (
		<dl class="meta" data-testid="explore-meta">
			<div>
				<dt>plan</dt>
				<dd data-plan={m.plan}>
					{m.plan}
					{m.level ? ` (${m.level} buckets)` : ""}
				</dd>
			</div>
			{m.parts && (
				<div>
					<dt>parts</dt>
					<dd>{m.parts.map((p) => `${p.metrics.join(", ")}: ${p.plan}`).join("; ")}</dd>
				</div>
			)}
			<div>
				<dt>rows scanned</dt>
				<dd>{m.rows_scanned.toLocaleString("en-US")}</dd>
			</div>
			<div>
				<dt>took</dt>
				<dd>
					{m.took_ms} ms{m.cache === "hit" ? " (cached)" : ""}
				</dd>
			</div>
			<div>
				<dt>rows</dt>
				<dd>{m.total_rows.toLocaleString("en-US")}</dd>
			</div>
			{m.bins && (
				<div>
					<dt>bins</dt>
					<dd>{m.bins.join(", ")}</dd>
				</div>
			)}
			{through && (
				<div>
					<dt>complete through</dt>
					<dd title={m.complete_through ?? ""}>{through}</dd>
				</div>
			)}
			{m.unrolled_events ? (
				<div>
					<dt>not yet rolled up</dt>
					<dd>{m.unrolled_events.toLocaleString("en-US")} events, read raw</dd>
				</div>
			) : null}
			{m.raw_reason && (
				<div>
					<dt>why raw</dt>
					<dd>{m.raw_reason}</dd>
				</div>
			)}
		</dl>
	);
}
