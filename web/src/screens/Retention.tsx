import { useEffect, useMemo } from "preact/hooks";
import type { ScreenProps } from "../App";
import { RangePicker } from "../components/Controls";
import { NameList, reportParam, useEventNames, withReport } from "../components/EventNames";
import { RetentionView } from "../components/RetentionView";
import { SaveKindReport } from "../components/SaveKindReport";
import { AnswerState, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { PERIODS, type Period, parseRetention, type RetentionView as View, retentionQuery, retentionSearch, retentionViewOf } from "../lib/people";
import { navigate } from "../router";

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

/** Retention: cohorts by first occurrence as a heat map; the lifecycle of active people and churn. */
export function Retention({ api, info, search, onAuthError }: ScreenProps) {
	useTitle("Retention");
	const view = parseRetention(search);
	const report = reportParam(search);
	const names = useEventNames(api);
	const q = useMemo(() => retentionQuery(view), [search]);
	const opening = report != null && [...new URLSearchParams(search).keys()].every((k) => k === "report");
	const saved = useLoad(opening ? `report:${report}` : null, (signal) => api.reports.get(report!, signal));
	const load = useLoad(opening ? null : JSON.stringify(q), (signal) => api.retention(q, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	useEffect(() => {
		if (opening && saved.data) navigate(`/retention?${withReport(retentionSearch(retentionViewOf(saved.data.query, saved.data.chart)), report)}`, { replace: true });
	}, [opening, saved.data]);
	const set = (patch: Partial<View>) => navigate(`/retention?${withReport(retentionSearch({ ...view, ...patch }), report)}`, { replace: true });
	const lifecycle = view.form === "lifecycle";
	const title = lifecycle
		? `Lifecycle of ${view.returnEvent ? `people doing ${view.returnEvent}` : "active people"} by ${view.period}`
		: `Retention by ${view.period}: ${view.startEvent ?? "first seen"} → ${view.returnEvent ?? "any event"}`;
	const shown = load.data && load.data.form === view.form ? load.data : null;
	const charts: [View["chart"], string][] = lifecycle
		? [
				["heatmap", "Bars"],
				["line", "Lines"],
				["table", "Table"],
			]
		: [
				["heatmap", "Heat map"],
				["line", "Curves"],
				["table", "Table"],
			];

	if (opening) return saved.error ? <ErrorNote error={saved.error} title="The saved retention could not be opened" /> : <Skeleton height={300} />;
	return (
		<div class="retention" style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>Retention</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Who comes back: cohorts by their first {view.period} (<code>POST /v1/retention</code>), and the lifecycle of active people (new, returning, resurrecting, dormant) with churn. Periods follow the workspace's time zone ({info.tenant.timezone}).
					</p>
				</div>
				<div class="segmented" role="group" aria-label="View">
					<button type="button" aria-pressed={!lifecycle ? "true" : "false"} onClick={() => set({ form: "retention" })}>
						Cohorts
					</button>
					<button type="button" aria-pressed={lifecycle ? "true" : "false"} onClick={() => set({ form: "lifecycle", startEvent: null, periods: null })}>
						Lifecycle
					</button>
				</div>
			</div>
			<section class="panel builder" aria-label="Retention">
				<NameList id="retention-events" names={names} />
				<div class="row">
					<RangePicker key={JSON.stringify(view.range)} range={view.range} tz={info.tenant.timezone} onChange={(range) => set({ range })} />
					<label>
						Period
						<select value={view.period} onChange={(e) => set({ period: value(e) as Period })}>
							{PERIODS.map((p) => (
								<option value={p}>{p}</option>
							))}
						</select>
					</label>
					{!lifecycle && (
						<label>
							Cohort by first
							<input list="retention-events" value={view.startEvent ?? ""} placeholder="any event (first seen)" onChange={(e) => set({ startEvent: value(e).trim() || null })} />
						</label>
					)}
					<label>
						{lifecycle ? "Active means doing" : "Coming back means doing"}
						<input list="retention-events" value={view.returnEvent ?? ""} placeholder="any event" onChange={(e) => set({ returnEvent: value(e).trim() || null })} />
					</label>
					{!lifecycle && (
						<label>
							Periods shown
							<input type="number" min={1} max={60} value={view.periods ?? ""} placeholder="default" style={{ width: "6rem" }} onChange={(e) => {
								const n = Number(value(e));
								set({ periods: Number.isInteger(n) && n >= 1 && n <= 60 ? n : null });
							}} />
						</label>
					)}
				</div>
			</section>
			<section class="panel" aria-labelledby="retention-title" aria-busy={load.status === "loading" ? "true" : "false"}>
				<div class="panel-head">
					<h2 id="retention-title">{title}</h2>
					{shown?.meta.unknown_event && <span class="state warn small">No event named “{shown.meta.unknown_event}” yet: check the name.</span>}
					<div class="segmented" role="group" aria-label="Chart">
						{charts.map(([c, label]) => (
							<button type="button" aria-pressed={view.chart === c ? "true" : "false"} onClick={() => set({ chart: c })}>
								{label}
							</button>
						))}
					</div>
				</div>
				<AnswerState load={load} data={shown} refused="The retention question was refused" height={260}>
					{(answer) => (
						<>
							<RetentionView answer={answer} title={title} chart={view.chart} />
							{!lifecycle && view.chart === "heatmap" && <p class="muted small">Each cell: the share of the cohort active in that {view.period} after their first (and how many people); empty cells have not started yet.</p>}
						</>
					)}
				</AnswerState>
			</section>
			<SaveKindReport
				api={api}
				kind="retention"
				query={q}
				reportId={report}
				chart={view.chart}
				onChart={(c) => set({ chart: c === "line" || c === "table" ? c : "heatmap" })}
				chartLabels={Object.fromEntries(charts.map(([c, label]) => [c, label.toLowerCase()]))}
				onSaved={(id) => navigate(`/retention?${withReport(retentionSearch(view), id)}`, { replace: true })} />
		</div>
	);
}
