import { useEffect, useMemo } from "preact/hooks";
import type { ScreenProps } from "../App";
import { RangePicker, ZonePicker } from "../components/Controls";
import { NameList, reportParam, useEventNames, withReport } from "../components/EventNames";
import { ExperimentView } from "../components/ExperimentView";
import { SaveKindReport } from "../components/SaveKindReport";
import { AnswerState, Empty, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { type ExperimentView as View, experimentQuery, experimentSearch, experimentViewOf, parseExperimentView } from "../lib/people";
import { apiRange } from "../lib/range";
import { navigate } from "../router";

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

/** An A/B test: who saw which variant (their first exposure), and a conversion or numeric goal after it. */
export function Experiments({ api, info, search, onAuthError }: ScreenProps) {
	useTitle("Experiments");
	const view = parseExperimentView(search);
	const report = reportParam(search);
	const tenant = info.tenant;
	const names = useEventNames(api);
	const q = useMemo(() => experimentQuery(view), [search]);
	const opening = report != null && [...new URLSearchParams(search).keys()].every((k) => k === "report");
	const saved = useLoad(opening ? `report:${report}` : null, (signal) => api.reports.get(report!, signal));
	const load = useLoad(q && !opening ? JSON.stringify(q) : null, (signal) => api.experiment(q!, signal));
	// The experiments and variants seen, to pick from.
	const seen = useLoad(JSON.stringify([view.exposure, view.variant, view.range]), (signal) =>
		api.query({ metrics: ["uniques"], dimensions: ["prop:experiment", view.variant], filters: [["is", "event", view.exposure]], date_range: apiRange(view.range), limit: 200 }, signal),
	);
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	useEffect(() => {
		if (opening && saved.data) navigate(`/experiments?${withReport(experimentSearch(experimentViewOf(saved.data.query)), report)}`, { replace: true });
	}, [opening, saved.data]);
	const set = (patch: Partial<View>) => navigate(`/experiments?${withReport(experimentSearch({ ...view, ...patch }), report)}`, { replace: true });
	const experiments = [...new Set((seen.data?.results ?? []).map((r) => r.dimensions[0]).filter((x): x is string => typeof x === "string"))];
	const variants = [...new Set((seen.data?.results ?? []).filter((r) => !view.experiment || r.dimensions[0] === view.experiment).map((r) => r.dimensions[1]).filter((x): x is string => typeof x === "string"))];
	const metricKind = view.metric.startsWith("sum:") ? "sum" : view.metric.startsWith("avg:") ? "avg" : view.metric;
	const title = `${view.experiment ?? view.exposure}: ${view.goal ?? "no goal yet"}${view.metric !== "conversion" ? ` (${view.metric})` : ""}`;

	if (opening) return saved.error ? <ErrorNote error={saved.error} title="The saved experiment could not be opened" /> : <Skeleton height={300} />;
	return (
		<div class="experiments" style={{ display: "grid", gap: "1rem" }} data-state={!q ? "empty" : load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>Experiments</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Did a change work? Each person counts in the variant of their first exposure; the goal after it (<code>POST /v1/experiments</code>).
					</p>
				</div>
			</div>
			<section class="panel builder" aria-label="Experiment">
				<NameList id="exp-events" names={names} />
				<div class="row">
					<RangePicker key={JSON.stringify(view.range)} range={view.range} tz={view.tz ?? tenant.timezone} onChange={(range) => set({ range })} />
					<ZonePicker tz={view.tz} tenantTz={tenant.timezone} onChange={(tz) => set({ tz })} />
				</div>
				<fieldset>
					<legend>Exposure</legend>
					<label>
						Exposure event
						<input list="exp-events" value={view.exposure} onChange={(e) => set({ exposure: value(e).trim() || "experiment_viewed" })} />
					</label>
					<label>
						Experiment (prop:experiment)
						<select value={view.experiment ?? ""} onChange={(e) => set({ experiment: value(e) || null, control: null })}>
							<option value="">every exposure</option>
							{[...new Set([...experiments, ...(view.experiment ? [view.experiment] : [])])].map((x) => (
								<option value={x}>{x}</option>
							))}
						</select>
					</label>
					<label>
						Variant in
						<input value={view.variant} onChange={(e) => set({ variant: value(e).trim() || "prop:variant" })} style={{ width: "10rem" }} />
					</label>
					<label>
						Control
						<select value={view.control ?? ""} onChange={(e) => set({ control: value(e) || null })}>
							<option value="">first in text order</option>
							{[...new Set([...variants, ...(view.control ? [view.control] : [])])].map((x) => (
								<option value={x}>{x}</option>
							))}
						</select>
					</label>
				</fieldset>
				<fieldset>
					<legend>Goal</legend>
					<label>
						Goal event
						<input name="goal" list="exp-events" value={view.goal ?? ""} placeholder="e.g. purchase" onChange={(e) => set({ goal: value(e).trim() || null })} />
					</label>
					<label>
						Metric
						<select value={metricKind} onChange={(e) => set({ metric: value(e) === "sum" || value(e) === "avg" ? `${value(e)}:${tenant.metric_props[0] ?? "amount"}` : value(e) })}>
							<option value="conversion">conversion (converted or not)</option>
							<option value="count">goal events per person</option>
							<option value="sum">sum of a property per person</option>
							<option value="avg">mean of a property per converted person</option>
						</select>
					</label>
					{(metricKind === "sum" || metricKind === "avg") && (
						<label>
							Property
							<input list="exp-props" value={view.metric.slice(4)} onChange={(e) => value(e).trim() && set({ metric: `${metricKind}:${value(e).trim()}` })} style={{ width: "9rem" }} />
							<datalist id="exp-props">
								{tenant.metric_props.map((p) => (
									<option value={p} />
								))}
							</datalist>
						</label>
					)}
					<label>
						Window after exposure (hours)
						<input type="number" min={1} max={8784} value={view.windowHours ?? ""} placeholder="to the range's end" style={{ width: "9rem" }} onChange={(e) => {
							const n = Number(value(e));
							set({ windowHours: Number.isInteger(n) && n >= 1 && n <= 8784 ? n : null });
						}} />
					</label>
					<label>
						Smallest effect worth finding (%)
						<input type="number" min={0.1} max={1000} step="any" value={view.minimumEffect == null ? "" : String(view.minimumEffect * 100)} placeholder="the observed one" style={{ width: "9rem" }} onChange={(e) => {
							const n = Number(value(e)) / 100;
							set({ minimumEffect: value(e) && Number.isFinite(n) && n > 0 && n <= 10 ? n : null });
						}} />
					</label>
				</fieldset>
			</section>
			<section class="panel" aria-labelledby="exp-title" aria-busy={load.status === "loading" ? "true" : "false"}>
				<div class="panel-head">
					<h2 id="exp-title">{title}</h2>
				</div>
				{!q ? (
					<Empty title="Choose a goal">
						<p class="muted small">Name the event that counts as success (for example a purchase); the exposure above says who saw which variant.</p>
					</Empty>
				) : (
					<AnswerState load={load} refused="The experiment could not be read" height={200}>
						{(answer) => <ExperimentView answer={answer} title={title} />}
					</AnswerState>
				)}
			</section>
			<SaveKindReport api={api} kind="experiment" query={q} reportId={report} onSaved={(id) => navigate(`/experiments?${withReport(experimentSearch(view), id)}`, { replace: true })} />
		</div>
	);
}
