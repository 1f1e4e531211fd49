import type { CohortAnswer, LifecycleAnswer, RetentionAnswer } from "../api/people";
import { formatNumber } from "../lib/format";
import { pct } from "../lib/people";
import { useMemo } from "preact/hooks";
import { optionsKey } from "../lib/chart";
import { type Line, lifecycleLines, lineData, periodLinesOptions, retentionLines, startedPeriods } from "../lib/retention";
import { Chart } from "./Chart";
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

/**
 * Retention as its report's chart says: a cohort heat map (heatmap, the default), the plain table
 * (table) or retention curves (line); the lifecycle as stacked bars (the default), lines (line) or
 * its table (table). The charts a retention report takes are the server's CHARTS_BY_KIND.retention.
 */
export function RetentionView({ answer, chart = "heatmap", title }: { answer: RetentionAnswer; chart?: string; title: string }) {
	if (answer.form === "lifecycle") return <Lifecycle answer={answer} title={title} chart={chart} />;
	if (!answer.cohorts.some((c) => c.people > 0)) return <NoCohorts answer={answer} />;
	if (chart === "line")
		return (
			<>
				<Curves answer={answer} title={title} />
				<Behind label="Show the cohorts as a table">
					<Cohorts answer={answer} title={title} asTable />
				</Behind>
			</>
		);
	return <Cohorts answer={answer} title={title} asTable={chart === "table"} />;
}

const NoCohorts = ({ answer }: { answer: CohortAnswer }) => (
	<p class="muted small" data-testid="retention-empty">
		Nobody started in this range{answer.start_event ? ` with ${answer.start_event}` : ""}: choose a longer range or another start event.
	</p>
);

/** Lines over periods with their legend; `data-series` holds the drawn columns (what the tests read). */
function PeriodLines({ lines, xLabels, yFormat, yMax, testid, caption }: { lines: Line[]; xLabels: string[]; yFormat: (v: number) => string; yMax?: number; testid: string; caption: string }) {
	const data = useMemo(() => lineData(lines), [lines]);
	return (
		<figure class="report-figure" style={{ margin: 0 }} data-testid={testid} data-series={JSON.stringify(data)}>
			<ul class="legend">
				{lines.map((l) => (
					<li style={{ color: `var(--${l.color})` }}>
						<span class="swatch" />
						<span class="muted">{l.label}</span>
					</li>
				))}
			</ul>
			<Chart height={260} optKey={optionsKey([testid, xLabels, lines.map((l) => [l.label, l.color])])} data={data} build={(width, palette) => periodLinesOptions({ width, height: 260, lines, xLabels, yFormat, yMax, palette })} />
			<figcaption class="sr-only">{caption}</figcaption>
		</figure>
	);
}

/** Retention curves: the share of each cohort (and on average) active n periods after its first. */
function Curves({ answer, title }: { answer: CohortAnswer; title: string }) {
	// Periods no cohort has reached yet are left off: the curves use the chart's whole width.
	const lines = useMemo(() => {
		const all = retentionLines(answer, (c) => periodLabel(c, answer.period));
		const n = Math.max(2, startedPeriods(all));
		return all.map((l) => ({ ...l, values: l.values.slice(0, n) }));
	}, [answer]);
	const xLabels = lines[0]!.values.map((_, i) => `${unit(answer.period)} ${i}`);
	return <PeriodLines lines={lines} xLabels={xLabels} yFormat={(v) => pct(v, 0)} yMax={1} testid="retention-curves" caption={`${title}: the share of each cohort active in each ${answer.period} after its first; the table below has the values.`} />;
}

const unit = (p: string) => (p === "day" ? "Day" : p === "week" ? "Week" : "Month");

/** Cohorts × periods: each cell the rate retained (its colour) and the count, the average on top. */
function Cohorts({ answer, title, asTable }: { answer: CohortAnswer; title: string; asTable: boolean }) {
	const k = answer.average.rates.length;
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

/** New, returning and resurrecting people stacked up, dormant ones hanging below the line (or as lines, or the table); churn below. */
function Lifecycle({ answer, title, chart }: { answer: LifecycleAnswer; title: string; chart: string }) {
	const periods = answer.periods;
	const lines = useMemo(() => lifecycleLines(periods), [answer]);
	const up = Math.max(1, ...periods.map((p) => (p.new ?? 0) + (p.returning ?? 0) + (p.resurrecting ?? 0)));
	const down = Math.max(0, ...periods.map((p) => p.dormant ?? 0));
	// The column's height splits between the bars above the line and the tallest dormant bar below
	// it, in proportion: the tallest dormant bar ends at the chart's bottom edge.
	const downShare = down / (up + down);
	const table = (
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
	);
	return (
		<figure class="lifecycle" data-testid="lifecycle" data-chart={chart === "table" || chart === "line" ? chart : "bar"}>
			{chart === "table" ? (
				<div class="table-wrap" tabIndex={0} role="region" aria-label={title}>
					{table}
				</div>
			) : (
				<>
					{chart === "line" ? (
						<PeriodLines lines={lines} xLabels={periods.map((p) => periodLabel(p.period, answer.period))} yFormat={(v) => formatNumber(v)} testid="lifecycle-lines" caption={`${title}: new, returning, resurrecting and dormant people per ${answer.period}; the table below has the values.`} />
					) : (
						<>
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
							<div class="lc-chart" aria-hidden="true" data-testid="lifecycle-bars">
								{periods.map((p) => (
									<div class="lc-col" title={`${periodLabel(p.period, answer.period)}: ${p.new ?? 0} new, ${p.returning ?? 0} returning, ${p.resurrecting ?? 0} resurrecting, ${p.dormant ?? 0} dormant`}>
										<div class="lc-up">
											{(["resurrecting", "returning", "new"] as const).map((k) => (
												<div class={`lc-${k}`} style={{ height: `${(((p[k] ?? 0) / up) * 100).toFixed(2)}%` }} />
											))}
										</div>
										<div class="lc-down" style={{ height: `${(downShare * 100).toFixed(2)}%` }}>
											<div class="lc-dormant" style={{ height: down ? `${(((p.dormant ?? 0) / down) * 100).toFixed(2)}%` : "0" }} />
										</div>
									</div>
								))}
							</div>
							<div class="lc-axis muted small" aria-hidden="true">
								<span>{periods[0] ? periodLabel(periods[0].period, answer.period) : ""}</span>
								<span>{periods.at(-1) ? periodLabel(periods.at(-1)!.period, answer.period) : ""}</span>
							</div>
						</>
					)}
					<Behind label="Show the lifecycle as a table">{table}</Behind>
				</>
			)}
			<figcaption class="muted small" data-testid="churn">
				Churn (dormant ÷ active the period before): {periods.filter((p) => p.churn_rate != null).slice(-3).map((p) => `${periodLabel(p.period, answer.period)} ${pct(p.churn_rate)}`).join(", ") || "–"}
			</figcaption>
		</figure>
	);
}
