import type { FunnelAnswer, FunnelStep } from "../api/people";
import { formatDimValue, formatDuration, formatNumber } from "../lib/format";
import { pct } from "../lib/people";
import { Behind } from "./Table";
import "../people.css";

/** A funnel's answer: bars per step (people entering, the share of the first step), and its table. */
export function FunnelView({ answer, chart = "funnel", title }: { answer: FunnelAnswer; chart?: string; title: string }) {
	const first = answer.steps[0]?.entered ?? 0;
	if (first === 0)
		return (
			<p class="muted small" data-testid="funnel-empty">
				Nobody did the first step ({answer.steps[0]?.name}) in this range: choose a longer range or another first event.
			</p>
		);
	const table = <FunnelTable steps={answer.steps} caption={title} />;
	return (
		<div class="funnel-view" data-testid="funnel">
			{chart === "table" ? (
				<div class="table-wrap" tabIndex={0} role="region" aria-label={`${title}, table`}>
					{table}
				</div>
			) : (
				<>
					<FunnelBars steps={answer.steps} />
					<Behind label="Show the funnel as a table">{table}</Behind>
				</>
			)}
			{answer.breakdown && <FunnelBreakdown breakdown={answer.breakdown} title={title} />}
		</div>
	);
}

/** One bar per step, as wide as its share of the first step; entered and converted beside it. */
function FunnelBars({ steps }: { steps: FunnelStep[] }) {
	return (
		<ol class="funnel-bars" aria-hidden="true">
			{steps.map((s) => (
				<li data-step={s.step}>
					<div class="funnel-label">
						<strong>
							{s.step}. {s.name}
						</strong>
						<span class="muted small">
							{formatNumber(s.entered)} people · {pct(s.conversion_from_first)} of step 1
							{s.step > 2 ? ` · ${pct(s.conversion_from_previous)} of step ${s.step - 1}` : ""}
						</span>
					</div>
					<div class="funnel-track">
						<div class="funnel-bar" style={{ width: `${((s.conversion_from_first ?? 0) * 100).toFixed(2)}%` }} />
					</div>
					{s.time_to_convert_ms && (
						<span class="muted small">
							median {formatDuration(s.time_to_convert_ms.median)}, p90 {formatDuration(s.time_to_convert_ms.p90)} from step {s.step - 1}
						</span>
					)}
				</li>
			))}
		</ol>
	);
}

/** The steps as a table: every number with its exact value in data-value. */
export function FunnelTable({ steps, caption }: { steps: FunnelStep[]; caption: string }) {
	return (
		<table data-testid="funnel-table">
			<caption class="sr-only">{caption}</caption>
			<thead>
				<tr>
					<th scope="col">Step</th>
					<th scope="col" class="num">
						Entered
					</th>
					<th scope="col" class="num">
						Converted
					</th>
					<th scope="col" class="num">
						From first
					</th>
					<th scope="col" class="num">
						From previous
					</th>
					<th scope="col" class="num">
						Median time
					</th>
					<th scope="col" class="num">
						p90 time
					</th>
				</tr>
			</thead>
			<tbody>
				{steps.map((s) => (
					<tr data-step={s.step}>
						<th scope="row">
							{s.step}. {s.name}
						</th>
						<td class="num" data-col="entered" data-value={s.entered}>
							{formatNumber(s.entered)}
						</td>
						<td class="num" data-col="converted" data-value={s.converted ?? ""}>
							{s.converted == null ? "–" : formatNumber(s.converted)}
						</td>
						<td class="num" data-col="from-first" data-value={s.conversion_from_first ?? ""}>
							{pct(s.conversion_from_first)}
						</td>
						<td class="num" data-col="from-previous" data-value={s.conversion_from_previous ?? ""}>
							{pct(s.conversion_from_previous)}
						</td>
						<td class="num" data-col="median" data-value={s.time_to_convert_ms?.median ?? ""}>
							{s.time_to_convert_ms ? formatDuration(s.time_to_convert_ms.median) : "–"}
						</td>
						<td class="num" data-col="p90" data-value={s.time_to_convert_ms?.p90 ?? ""}>
							{s.time_to_convert_ms ? formatDuration(s.time_to_convert_ms.p90) : "–"}
						</td>
					</tr>
				))}
			</tbody>
		</table>
	);
}

/** Per breakdown value: people at step 1 and the conversion to each later step. */
function FunnelBreakdown({ breakdown, title }: { breakdown: NonNullable<FunnelAnswer["breakdown"]>; title: string }) {
	const names = breakdown.values[0]?.steps.map((s) => s.name) ?? [];
	return (
		<div class="table-wrap" tabIndex={0} role="region" aria-label={`${title}, by ${breakdown.dimension}`}>
			<table data-testid="funnel-breakdown">
				<caption>
					By {breakdown.dimension} (of the first step){breakdown.omitted_values ? `; ${breakdown.omitted_values} smaller values left out` : ""}
				</caption>
				<thead>
					<tr>
						<th scope="col">{breakdown.dimension}</th>
						<th scope="col" class="num">
							Step 1
						</th>
						{names.slice(1).map((n, i) => (
							<th scope="col" class="num">
								{i + 2}. {n}
							</th>
						))}
					</tr>
				</thead>
				<tbody>
					{breakdown.values.map((v) => (
						<tr>
							<th scope="row">{formatDimValue(breakdown.dimension, v.value)}</th>
							<td class="num" data-value={v.steps[0]?.entered ?? 0}>
								{formatNumber(v.steps[0]?.entered ?? 0)}
							</td>
							{v.steps.slice(1).map((s) => (
								<td class="num" data-value={s.conversion_from_first ?? ""}>
									{formatNumber(s.entered)} ({pct(s.conversion_from_first)})
								</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}
