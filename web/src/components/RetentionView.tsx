import type { CohortAnswer, LifecycleAnswer, RetentionAnswer } from "../api/people";
import { formatNumber } from "../lib/format";
import { pct } from "../lib/people";
import { Behind } from "./Table";
import "../people.css";

/** A period's label from the API's local time ("2026-11-30T00:00:00+01:00" → "30 Nov", or "Nov 2026"). */
export function periodLabel(iso: string, period: string): string {
	const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
	const date = new Date(Date.UTC(y!, m! - 1, d!));
	return period === "month"
		? date.toLocaleDateString("en-GB", { month: "short", year: "numeric", timeZone: "UTC" })
		: date.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
}

/** Retention (a cohort heat map, its table, or curves drawn as a table) or the lifecycle bars. */
export function RetentionView({ answer, chart = "heatmap", title }: { answer: RetentionAnswer; chart?: string; title: string }) {
	return answer.form === "lifecycle" ? <Lifecycle answer={answer} title={title} /> : <Cohorts answer={answer} title={title} asTable={chart === "table"} />;
}

const unit = (p: string) => (p === "day" ? "Day" : p === "week" ? "Week" : "Month");

/** Cohorts × periods: each cell the rate retained (its colour) and the count, the average on top. */
function Cohorts({ answer, title, asTable }: { answer: CohortAnswer; title: string; asTable: boolean }) {
	const k = answer.average.rates.length;
	if (!answer.cohorts.some((c) => c.people > 0))
		return (
			<p class="muted small" data-testid="retention-empty">
				Nobody started in this range{answer.start_event ? ` with ${answer.start_event}` : ""}: choose a longer range or another start event.
			</p>
		);
	return (
		<div class="table-wrap" tabIndex={0} role="region" aria-label={`${title}, cohorts by ${answer.period}, scrollable`}>
			<table class={asTable ? "cohorts plain" : "cohorts"} data-testid="cohorts">
				<caption class="sr-only">
					{title}: cohorts (rows) by {answer.period}s since (columns), the share of the cohort active
				</caption>
				<thead>
					<tr>
						<th scope="col">Cohort</th>
						<th scope="col" class="num">
							People
						</th>
						{Array.from({ length: k }, (_, i) => (
							<th scope="col" class="num">
								{unit(answer.period)} {i}
							</th>
						))}
					</tr>
				</thead>
				<tbody>
					<tr class="average" data-cohort="average">
						<th scope="row">Average</th>
						<td class="num">{formatNumber(answer.average.people[0] ?? 0)}</td>
						{answer.average.rates.map((r, i) => (
							<td class="num cell" data-period={i} data-value={r ?? ""} style={{ "--v": (r ?? 0).toFixed(3) }} title={`${pct(r)} of ${formatNumber(answer.average.people[i] ?? 0)}`}>
								{pct(r, 0)}
							</td>
						))}
					</tr>
					{answer.cohorts.map((c) => (
						<tr data-cohort={c.cohort}>
							<th scope="row">{periodLabel(c.cohort, answer.period)}</th>
							<td class="num" data-value={c.people}>
								{formatNumber(c.people)}
							</td>
							{c.rates.map((r, i) => (
								<td
									class={`num cell${r == null ? " future" : ""}`}
									data-period={i}
									data-value={r ?? ""}
									data-count={c.retained[i] ?? ""}
									style={{ "--v": (r ?? 0).toFixed(3) }}
									title={r == null ? "not started yet" : `${formatNumber(c.retained[i] ?? 0)} of ${formatNumber(c.people)} people`}
								>
									{r == null ? <span class="sr-only">not yet</span> : pct(r, 0)}
									{r != null && <span class="count">{formatNumber(c.retained[i] ?? 0)}</span>}
								</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}

const KINDS = [
	["new", "New", "first active this period"],
	["returning", "Returning", "active this period and the one before"],
	["resurrecting", "Resurrecting", "active again after at least one period away"],
	["dormant", "Dormant", "active the period before, not this one"],
] as const;

/** New, returning and resurrecting people stacked up, dormant ones hanging below the line; churn beside. */
function Lifecycle({ answer, title }: { answer: LifecycleAnswer; title: string }) {
	const periods = answer.periods;
	const up = Math.max(1, ...periods.map((p) => (p.new ?? 0) + (p.returning ?? 0) + (p.resurrecting ?? 0)));
	const down = Math.max(0, ...periods.map((p) => p.dormant ?? 0));
	const scale = up + down;
	return (
		<figure class="lifecycle" data-testid="lifecycle">
			<ul class="legend">
				{KINDS.map(([k, label, help]) => (
					<li title={help}>
						<span class={`swatch lc-${k}`} />
						<span class="muted">
							{label}: {help}
						</span>
					</li>
				))}
			</ul>
			<div class="lc-chart" aria-hidden="true" style={{ "--up": String(up / scale) }}>
				{periods.map((p) => (
					<div class="lc-col" title={`${periodLabel(p.period, answer.period)}: ${p.new ?? 0} new, ${p.returning ?? 0} returning, ${p.resurrecting ?? 0} resurrecting, ${p.dormant ?? 0} dormant`}>
						<div class="lc-up">
							{(["resurrecting", "returning", "new"] as const).map((k) => (
								<div class={`lc-${k}`} style={{ height: `${(((p[k] ?? 0) / up) * 100).toFixed(2)}%` }} />
							))}
						</div>
						<div class="lc-down" style={{ height: `${((down / scale) * 100).toFixed(2)}%` }}>
							<div class="lc-dormant" style={{ height: down ? `${(((p.dormant ?? 0) / down) * 100).toFixed(2)}%` : "0" }} />
						</div>
					</div>
				))}
			</div>
			<div class="lc-axis muted small" aria-hidden="true">
				<span>{periods[0] ? periodLabel(periods[0].period, answer.period) : ""}</span>
				<span>{periods.at(-1) ? periodLabel(periods.at(-1)!.period, answer.period) : ""}</span>
			</div>
			<Behind label="Show the lifecycle as a table">
				<table data-testid="lifecycle-table">
					<caption class="sr-only">{title}</caption>
					<thead>
						<tr>
							<th scope="col">{unit(answer.period)}</th>
							{KINDS.map(([, label]) => (
								<th scope="col" class="num">
									{label}
								</th>
							))}
							<th scope="col" class="num">
								Active
							</th>
							<th scope="col" class="num">
								Churn
							</th>
						</tr>
					</thead>
					<tbody>
						{periods.map((p) => (
							<tr data-period={p.period}>
								<th scope="row">{periodLabel(p.period, answer.period)}</th>
								{KINDS.map(([k]) => (
									<td class="num" data-col={k} data-value={p[k] ?? ""}>
										{p[k] == null ? "–" : formatNumber(p[k])}
									</td>
								))}
								<td class="num" data-col="active" data-value={p.active ?? ""}>
									{p.active == null ? "–" : formatNumber(p.active)}
								</td>
								<td class="num" data-col="churn" data-value={p.churn_rate ?? ""}>
									{pct(p.churn_rate)}
								</td>
							</tr>
						))}
					</tbody>
				</table>
			</Behind>
			<figcaption class="muted small" data-testid="churn">
				Churn (dormant ÷ active the period before): {periods.filter((p) => p.churn_rate != null).slice(-3).map((p) => `${periodLabel(p.period, answer.period)} ${pct(p.churn_rate)}`).join(", ") || "–"}
			</figcaption>
		</figure>
	);
}
