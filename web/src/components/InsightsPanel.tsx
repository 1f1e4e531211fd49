import { useState } from "preact/hooks";
import type { ApiClient } from "../api/client";
import type { InsightsAnswer, InsightsInput } from "../api/people";
import { useLoad } from "../hooks";
import { formatChange, formatDimValue, formatNumber } from "../lib/format";
import { pct } from "../lib/people";
import { ErrorNote, Skeleton } from "./States";
import "../people.css";

/** A POST /v1/insights answer: the highlights in words, each metric's total and change, the biggest movers. */
export function InsightsSummary({ answer }: { answer: InsightsAnswer }) {
	const movers = answer.movers.flatMap((m) => m.rows.slice(0, 5).map((r) => ({ ...r, dimension: m.dimension })));
	return (
		<div class="insights-summary" data-testid="insights-summary">
			{answer.highlights.length ? (
				<ul class="insight-list" data-testid="highlights">
					{answer.highlights.map((h) => (
						<li>{h}</li>
					))}
				</ul>
			) : (
				<p class="muted small">Nothing stands out: no unusual buckets, no clear trends, no large changes.</p>
			)}
			<dl class="kv" style={{ marginTop: "0.75rem" }}>
				{answer.metrics.map((m) => (
					<div data-insight-metric={m.name}>
						<dt>{m.name}</dt>
						<dd data-value={m.total ?? ""}>
							{formatNumber(m.total)} <span class="muted small">{formatChange(m.change_pct) ?? ""}</span>
						</dd>
					</div>
				))}
			</dl>
			{movers.length > 0 && (
				<div class="table-wrap" tabIndex={0} role="region" aria-label="Biggest movers">
					<table data-testid="movers">
						<caption class="small muted" style={{ textAlign: "left" }}>
							Biggest movers: share of events against the period before
						</caption>
						<thead>
							<tr>
								<th scope="col">Value</th>
								<th scope="col" class="num">
									Share
								</th>
								<th scope="col" class="num">
									Before
								</th>
								<th scope="col" class="num">
									Change
								</th>
							</tr>
						</thead>
						<tbody>
							{movers.map((r) => (
								<tr>
									<th scope="row">{formatDimValue(r.dimension, r.value)}</th>
									<td class="num">{pct(r.share)}</td>
									<td class="num">{pct(r.previous_share)}</td>
									<td class="num" data-value={r.change_points}>
										{r.change_points >= 0 ? "+" : ""}
										{r.change_points.toFixed(1)} <abbr title="percentage points">pp</abbr>{r.p_value != null && r.p_value < 0.01 ? "" : " (could be chance)"}
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
		</div>
	);
}

/**
 * What stands out in a range (POST /v1/insights), as a panel: the overview's. It asks only when
 * opened: the summary runs a query per metric over weeks of history, and the overview stays one
 * round trip. `onSave` (when given) offers to save the summary as an insights report once it is shown.
 */
export function InsightsPanel({ api, body, onSave }: { api: ApiClient; body: InsightsInput; onSave?: () => void }) {
	const [open, setOpen] = useState(false);
	const load = useLoad(open ? JSON.stringify(body) : null, (signal) => api.insights(body, signal));
	return (
		<section class="panel" aria-labelledby="insights-title" data-testid="insights-panel" data-state={!open ? "closed" : load.status === "ok" ? "ready" : load.status}>
			<div class="panel-head">
				<h2 id="insights-title">What stands out</h2>
				{open ? (
					<span class="row-gap">
						<span class="muted small">anomalies, trends, changes and movers against the period before</span>
						{onSave && load.data && (
							<button type="button" onClick={onSave}>
								Save as report
							</button>
						)}
					</span>
				) : (
					<button type="button" onClick={() => setOpen(true)}>
						Find what stands out
					</button>
				)}
			</div>
			{!open ? (
				<p class="muted small" style={{ margin: 0 }}>
					Unusual days, clear trends, large changes and the events whose share moved most, in this range.
				</p>
			) : load.error ? (
				<ErrorNote error={load.error} title="The summary could not be made" onRetry={load.reload} />
			) : load.data ? (
				<InsightsSummary answer={load.data} />
			) : (
				<Skeleton height={100} />
			)}
		</section>
	);
}
