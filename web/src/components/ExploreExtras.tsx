import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { ApiClient } from "../api/client";
import type { OpsClient } from "../api/ops";
import type { AnswerBody, QueryInput } from "../api/types";
import { dimText } from "../lib/report";
import type { Insights } from "../lib/insights";
import { pickOf, withPick } from "../lib/people";
import { navigate, useLocation } from "../router";
import { InsightsChart } from "./InsightsChart";
import { PeopleBehind, peopleBody, type RowSel } from "./PeopleBehind";

const hasInsights = (a: AnswerBody): a is AnswerBody & { insights: Insights } => a.insights != null && a.meta.granularity != null;

/**
 * Explore's result with the people and patterns of issue 16: with insights, the time chart shows
 * anomalies, trend and forecast bands (`children` is the ordinary chart otherwise); a row (a chart's
 * point, a flagged bucket, or a row picked from the list) opens the people behind it. The picked row
 * is in the URL (`who`), so the list can be bookmarked; a change of the query leaves it out.
 */
export function ExploreResult({ api, ops, answer, query, children }: { api: ApiClient; ops?: OpsClient; answer: AnswerBody; query: QueryInput; children: ComponentChildren }) {
	const { path, search } = useLocation();
	const row = pickOf(search);
	const setRow = (r: RowSel | null) => navigate(`${path}?${withPick(search, r ? { ...(r.time ? { time: r.time } : {}), dimensions: r.dimensions } : null)}`);
	const [pick, setPick] = useState(0);
	const body = row ? peopleBody(query, row) : null;
	const text = dimText(answer);
	const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: answer.meta.timezone, dateStyle: "medium", ...(answer.meta.granularity === "hour" || answer.meta.granularity === "minute" ? { timeStyle: "short" } : {}) });
	const rowLabel = (r: RowSel) => [r.time ? fmt.format(new Date(r.time)) : "", ...r.dimensions.map((d, i) => text(i, d))].filter(Boolean).join(" · ") || "the whole range";
	const rows = answer.results.slice(0, 500).map((r) => ({ ...(r.time ? { time: r.time } : {}), dimensions: r.dimensions }));
	const distribution = peopleBody(query, { dimensions: [] }) == null;
	// The list's choice follows the picked row (a clicked point, a bookmark).
	const rowKey = row ? JSON.stringify([row.time ?? null, row.dimensions]) : null;
	useEffect(() => {
		const i = rowKey ? rows.findIndex((r) => JSON.stringify([r.time ?? null, r.dimensions]) === rowKey) : -1;
		if (i >= 0) setPick(i);
	}, [rowKey]);
	return (
		<>
			{hasInsights(answer) ? <InsightsChart answer={answer} onPick={(time, dimensions) => setRow({ time, dimensions })} /> : children}
			{!distribution && rows.length > 0 && (
				<form
					class="row people-pick"
					style={{ marginTop: "0.75rem" }}
					onSubmit={(e) => {
						e.preventDefault();
						if (rows[pick]) setRow(rows[pick]);
					}}
				>
					<label>
						People behind a row{hasInsights(answer) ? " (or click a point)" : ""}
						<select name="row" style={{ maxWidth: "20rem" }} value={String(pick)} onChange={(e) => setPick(Number(e.currentTarget.value))}>
							{rows.map((r, i) => (
								<option value={i}>{rowLabel(r)}</option>
							))}
						</select>
					</label>
					<button type="submit">Show people</button>
				</form>
			)}
			{body && row && <PeopleBehind api={api} ops={ops} body={body} label={rowLabel(row)} onClose={() => setRow(null)} />}
		</>
	);
}
