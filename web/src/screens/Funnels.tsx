import { useEffect, useMemo, useState } from "preact/hooks";
import type { ScreenProps } from "../App";
import { FilterChips, RangePicker, ZonePicker } from "../components/Controls";
import { NameList, reportParam, useEventNames, withReport } from "../components/EventNames";
import { FunnelView } from "../components/FunnelView";
import { FilterForm } from "../components/QueryFields";
import { SaveKindReport } from "../components/SaveKindReport";
import { AnswerState, Empty, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { SIMPLE_DIMS } from "../lib/query";
import { type FunnelView as View, funnelQuery, funnelSearch, funnelViewOf, parseFunnel } from "../lib/people";
import { addFilter } from "../lib/url";
import { navigate } from "../router";

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

/** Funnels: steps (an event and its filters), a window, strict or any order, a breakdown; bars and a table. */
export function Funnels({ api, info, search, onAuthError }: ScreenProps) {
	useTitle("Funnels");
	const view = parseFunnel(search);
	const report = reportParam(search);
	const tenant = info.tenant;
	const names = useEventNames(api);
	const q = useMemo(() => funnelQuery(view), [search]);
	const opening = report != null && [...new URLSearchParams(search).keys()].every((k) => k === "report");
	const saved = useLoad(opening ? `report:${report}` : null, (signal) => api.reports.get(report!, signal));
	const load = useLoad(q && !opening ? JSON.stringify(q) : null, (signal) => api.funnel(q!, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	useEffect(() => {
		if (opening && saved.data) navigate(`/funnels?${withReport(funnelSearch(funnelViewOf(saved.data.query)), report)}`, { replace: true });
	}, [opening, saved.data]);
	const set = (patch: Partial<View>) => navigate(`/funnels?${withReport(funnelSearch({ ...view, ...patch }), report)}`, { replace: true });
	const title = view.steps.map((s) => s.event).join(" → ") || "Funnel";

	if (opening) return saved.error ? <ErrorNote error={saved.error} title="The saved funnel could not be opened" /> : <Skeleton height={300} />;
	return (
		<div class="funnels" style={{ display: "grid", gap: "1rem" }} data-state={!q ? "empty" : load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>Funnels</h1>
					<p class="muted small" style={{ margin: 0 }}>
						How many people go from one step to the next, within a window: <code>POST /v1/funnels</code>. People are merged across their identities.
					</p>
				</div>
			</div>
			<section class="panel builder" aria-label="Funnel">
				<div class="row">
					<RangePicker key={JSON.stringify(view.range)} range={view.range} tz={view.tz ?? tenant.timezone} onChange={(range) => set({ range })} />
					<ZonePicker tz={view.tz} tenantTz={tenant.timezone} onChange={(tz) => set({ tz })} />
				</div>
				<NameList id="funnel-events" names={names} />
				<fieldset>
					<legend>Steps</legend>
					<div class="steps-block">
					<ol class="steps-editor">
						{view.steps.map((s, i) => (
							<li>
								<span>
									<strong>{i + 1}.</strong> {s.event}
								</span>
								<FilterChips filters={s.filters} onChange={(filters) => set({ steps: view.steps.map((x, k) => (k === i ? { ...x, filters } : x)) })} />
								<StepFilter dimensionProps={tenant.dimension_props} idPrefix={`sf${i}`} onAdd={(f) => set({ steps: view.steps.map((x, k) => (k === i ? { ...x, filters: addFilter(x.filters, f) } : x)) })} />
								<button type="button" class="link small" aria-label={`Remove step ${i + 1}: ${s.event}`} onClick={() => set({ steps: view.steps.filter((_, k) => k !== i) })}>
									Remove
								</button>
							</li>
						))}
					</ol>
					{view.steps.length < 8 && <AddStep names={names} onAdd={(event) => set({ steps: [...view.steps, { event, filters: [] }] })} />}
					</div>
				</fieldset>
				<fieldset>
					<legend>Counting</legend>
					<label>
						Conversion window
						<select value={view.window} onChange={(e) => set({ window: value(e) })}>
							{[...new Set(["30m", "1h", "1d", "7d", "14d", "30d", "90d", view.window])].map((w) => (
								<option value={w}>{w}</option>
							))}
						</select>
					</label>
					<label>
						Order
						<select value={view.order} onChange={(e) => set({ order: value(e) === "any" ? "any" : "strict" })}>
							<option value="strict">strict (steps in this order)</option>
							<option value="any">any order</option>
						</select>
					</label>
					<label>
						Breakdown (first step's)
						<select value={view.breakdown ?? ""} onChange={(e) => set({ breakdown: value(e) || null })}>
							<option value="">none</option>
							{[...SIMPLE_DIMS.filter((d) => d !== "event"), ...tenant.dimension_props.map((p) => `prop:${p}`)].map((d) => (
								<option value={d}>{d}</option>
							))}
						</select>
					</label>
				</fieldset>
				<fieldset>
					<legend>Filters (every step)</legend>
					<FilterChips filters={view.filters} onChange={(filters) => set({ filters })} />
					<FilterForm dimensionProps={tenant.dimension_props} submitLabel="Add filter" idPrefix="ff" onAdd={(f) => set({ filters: addFilter(view.filters, f) })} />
				</fieldset>
			</section>

			<section class="panel" aria-labelledby="funnel-title" aria-busy={load.status === "loading" ? "true" : "false"}>
				<div class="panel-head">
					<h2 id="funnel-title">{title}</h2>
					{load.data && (
						<span class="muted small">
							{load.data.meta.order} order, within {load.data.meta.window}
							{load.data.meta.pending_events ? ` · ${load.data.meta.pending_events} newest events not yet counted (the people pass runs every minute)` : ""}
						</span>
					)}
				</div>
				{!q ? (
					<Empty title="Add at least two steps">
						<p class="muted small">Pick the event of each step above, in the order people should do them (for example a page view, then a sign-up).</p>
					</Empty>
				) : (
					<AnswerState load={load} refused="The funnel was refused" height={240}>
						{(answer) => <FunnelView answer={answer} title={title} />}
					</AnswerState>
				)}
			</section>
			<SaveKindReport api={api} kind="funnel" query={q} reportId={report} onSaved={(id) => navigate(`/funnels?${withReport(funnelSearch(view), id)}`, { replace: true })} />
		</div>
	);
}

function AddStep({ names, onAdd }: { names: string[]; onAdd: (event: string) => void }) {
	const [event, setEvent] = useState("");
	return (
		<form
			class="row"
			onSubmit={(e) => {
				e.preventDefault();
				if (event.trim()) onAdd(event.trim());
				setEvent("");
			}}
		>
			<label>
				Next step's event
				<input name="step-event" list="funnel-events" value={event} onInput={(e) => setEvent(value(e))} placeholder="e.g. signup" style={{ width: "14rem" }} />
			</label>
			<button type="submit" disabled={!event.trim()}>
				Add step
			</button>
		</form>
	);
}

/** A step's own filter, behind a toggle (most steps have none). */
function StepFilter(props: Parameters<typeof FilterForm>[0] extends infer P ? Omit<P & object, "submitLabel"> : never) {
	const [open, setOpen] = useState(false);
	if (!open)
		return (
			<button type="button" class="link small" onClick={() => setOpen(true)}>
				+ filter
			</button>
		);
	return <FilterForm {...props} submitLabel="Add step filter" onAdd={(f) => (props.onAdd(f), setOpen(false))} />;
}
