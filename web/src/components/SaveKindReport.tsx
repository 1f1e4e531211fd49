import { useEffect, useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { Report } from "../api/types";
import { AddToBoard } from "./SaveReport";
import { ErrorNote } from "./States";

/** The report kinds of these screens and the charts each is drawn as (the server's CHARTS_BY_KIND; the first is the default). */
export const KIND_CHARTS = {
	funnel: ["funnel", "bar", "table"],
	retention: ["heatmap", "table", "line"],
	experiment: ["table", "bar"],
	insights: ["table", "line"],
} as const;
export type PeopleKind = keyof typeof KIND_CHARTS;

const CHART_NAMES: Record<string, string> = { funnel: "funnel bars", heatmap: "heat map", table: "table", line: "lines", bar: "bars" };
const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/**
 * Saves a funnel, retention, experiment or insights request as a report of that kind (its `query`
 * is the endpoint's body), or its changes to the report it was opened from; then adds it to a board.
 */
export function SaveKindReport({
	api,
	kind,
	query,
	reportId,
	onSaved,
	chart: shownChart,
	onChart,
	chartLabels,
	heading = "Save as a report",
}: {
	api: ApiClient;
	kind: PeopleKind;
	query: Record<string, unknown> | null;
	reportId: string | null;
	onSaved: (id: string) => void;
	/** The chart the screen shows (the screen then owns it: a change goes through onChart). */
	chart?: string;
	onChart?: (chart: string) => void;
	/** Names of the charts where the kind's defaults do not fit (a lifecycle's heatmap is drawn as bars). */
	chartLabels?: Record<string, string>;
	heading?: string;
}) {
	const [saved, setSaved] = useState<Report | null>(null);
	const [name, setName] = useState("");
	const [description, setDescription] = useState("");
	const [ownChart, setOwnChart] = useState<string>(shownChart ?? KIND_CHARTS[kind][0]);
	const chart = shownChart ?? ownChart;
	const setChart = (c: string) => (onChart ? onChart(c) : setOwnChart(c));
	const [error, setError] = useState<ApiFailure | null>(null);
	const [done, setDone] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	useEffect(() => {
		if (!reportId || saved?.id === reportId) return;
		api.reports.get(reportId).then(
			(r) => {
				setSaved(r);
				setName(r.name);
				setDescription(r.description);
				setChart(r.chart);
			},
			(e: unknown) => setError(e instanceof ApiFailure ? e : new ApiFailure(0, "client_error", String(e))),
		);
	}, [reportId]);
	const changed = saved != null && (JSON.stringify(saved.query) !== JSON.stringify(query) || saved.chart !== chart || saved.name !== name.trim() || saved.description !== description);

	const run = async (asNew: boolean) => {
		if (!query) return;
		setBusy(true);
		setError(null);
		setDone(null);
		try {
			const body = { name: name.trim(), description, kind, chart: chart as Report["chart"], query };
			const r = saved && !asNew ? await api.reports.update(saved.id, body) : await api.reports.create(body);
			setSaved(r);
			setDone(`Saved “${r.name}”.`);
			onSaved(r.id);
		} catch (err) {
			setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
		} finally {
			setBusy(false);
		}
	};

	return (
		<section class="panel" aria-labelledby="save-title" data-testid="save-report">
			<div class="panel-head">
				<h2 id="save-title">{saved ? "Saved report" : heading}</h2>
				{saved && (
					<span class="muted small" data-testid="save-state">
						{changed ? "changed since it was saved" : "as saved"} · <code>{saved.id}</code>
					</span>
				)}
			</div>
			{!query ? (
				<p class="muted small">Complete the question above to save it.</p>
			) : (
				<form
					class="form-grid"
					onSubmit={(e) => {
						e.preventDefault();
						if (name.trim()) void run(false);
					}}
				>
					<label>
						Report name
						<input value={name} maxLength={200} required placeholder="e.g. Sign-up funnel" onInput={(e) => setName(value(e))} />
					</label>
					<label>
						Description
						<input value={description} maxLength={1000} placeholder="optional" onInput={(e) => setDescription(value(e))} />
					</label>
					<label>
						Drawn on a board as
						<select value={chart} onChange={(e) => setChart(value(e))}>
							{KIND_CHARTS[kind].map((c) => (
								<option value={c}>{chartLabels?.[c] ?? CHART_NAMES[c] ?? c}</option>
							))}
						</select>
					</label>
					<div class="actions row-gap">
						<button type="submit" class="primary" disabled={busy || !name.trim() || (saved != null && !changed)}>
							{saved ? "Save changes" : "Save as report"}
						</button>
						{saved && (
							<button type="button" disabled={busy || !name.trim()} onClick={() => void run(true)}>
								Save as a new report
							</button>
						)}
					</div>
				</form>
			)}
			{error && <ErrorNote error={error} title="The report was not saved" />}
			{done && (
				<p role="status" class="small" data-testid="saved">
					{done}
				</p>
			)}
			{saved && <AddToBoard api={api} reportId={saved.id} />}
		</section>
	);
}
