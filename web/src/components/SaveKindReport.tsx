import { useEffect, useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { Report } from "../api/types";
import { ReportSaveForm, useReportDraft } from "./SaveReport";

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
	const draft = useReportDraft(api, saved, (r) => {
		setSaved(r);
		onSaved(r.id);
	});
	const { setName, setDescription, setError } = draft;
	const [ownChart, setOwnChart] = useState<string>(shownChart ?? KIND_CHARTS[kind][0]);
	const chart = shownChart ?? ownChart;
	const setChart = (c: string) => (onChart ? onChart(c) : setOwnChart(c));
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
	const body = query && { name: draft.name.trim(), description: draft.description, kind, chart: chart as Report["chart"], query };

	return (
		<ReportSaveForm
			api={api}
			draft={draft}
			body={body}
			placeholder="e.g. Sign-up funnel"
			heading={heading}
			fields={
				<label>
					Drawn on a board as
					<select value={chart} onChange={(e) => setChart(value(e))}>
						{KIND_CHARTS[kind].map((c) => (
							<option value={c}>{chartLabels?.[c] ?? CHART_NAMES[c] ?? c}</option>
						))}
					</select>
				</label>
			}
		/>
	);
}
