import type { QueryFailure } from "../api/types";
import { ApiFailure } from "../api/client";
import { dimLabel, formatDimValue, formatMetric, metricLabel } from "../lib/format";
import type { BreakdownRow } from "../lib/series";
import { ErrorNote } from "./States";

const TITLES: Record<string, string> = { event: "Events", country: "Countries", device: "Devices", browser: "Browsers", os: "Operating systems" };

let regions: Intl.DisplayNames | null = null;
/** "US" → "United States" (the code is what filters use). */
function countryName(code: string): string | null {
	try {
		regions ??= new Intl.DisplayNames(["en"], { type: "region" });
		const name = regions.of(code);
		return name && name !== code ? name : null;
	} catch {
		return null;
	}
}

export function valueText(dim: string, v: string | number | null) {
	const text = formatDimValue(dim, v);
	if (dim === "country" && typeof v === "string") {
		const name = countryName(v);
		return name ? `${name} (${v})` : text;
	}
	return text;
}

/**
 * A top-10 breakdown as a table with proportional bars. Clicking a value adds it as a filter
 * (the value is a button, so it is reachable from the keyboard).
 */
export function BreakdownCard({
	dim,
	title: titleProp,
	headers,
	metrics,
	rows,
	failure,
	onPick,
	onPeople,
	busy,
}: {
	dim: string;
	/** The card's title (default: the dimension's name, "Countries"…). */
	title?: string;
	/** Column headers of the metrics (default: from the metric names). */
	headers?: string[];
	metrics: string[];
	rows: BreakdownRow[] | null;
	failure: QueryFailure | null;
	onPick?: (value: string | number | null) => void;
	/** Offers the people behind a row: its users count becomes a link. */
	onPeople?: (value: string | number | null) => void;
	busy?: boolean;
}) {
	const title = titleProp ?? TITLES[dim] ?? dimLabel(dim);
	const id = `bd-${dim.replace(/[^a-z0-9]+/gi, "-")}`;
	return (
		<section class="card" aria-labelledby={id} aria-busy={busy ? "true" : "false"} data-dim={dim}>
			<h3 id={id} class="panel-head">
				{title}
			</h3>
			{failure ? (
				<ErrorNote error={new ApiFailure(failure.status, failure.error.code, failure.error.message, failure.error.details)} title={`No ${title.toLowerCase()} breakdown`} />
			) : rows && rows.length === 0 ? (
				<p class="muted small">Nothing in this range.</p>
			) : rows ? (
				// Without buttons in it, a table that scrolls sideways (phones) needs its own tab stop.
				<div class="table-wrap dim-when-busy" {...(onPick ? {} : { tabIndex: 0, role: "region", "aria-label": title })}>
					<table class={metrics.length > 2 ? "bars wide" : "bars"}>
						<caption class="sr-only">
							{title}: top {rows.length} by {metricLabel(metrics[0] ?? "count").toLowerCase()}
						</caption>
						<thead>
							<tr>
								<th scope="col">{dimLabel(dim)}</th>
								{metrics.map((m, i) => (
									<th scope="col" class="num">
										{headers?.[i] ?? (m === "count" ? "Events" : m === "uniques" ? "Users" : metricLabel(m))}
									</th>
								))}
							</tr>
						</thead>
						<tbody>
							{rows.map((r) => (
								<tr style={{ "--share": r.share.toFixed(4) }}>
									<th scope="row">
										{onPick ? (
											<button type="button" class="row-filter" title={`Filter: ${dimLabel(dim)} is ${formatDimValue(dim, r.value)}`} onClick={() => onPick(r.value)}>
												{valueText(dim, r.value)}
											</button>
										) : (
											<span>{valueText(dim, r.value)}</span>
										)}
									</th>
									{r.metrics.map((v, i) => (
										<td class="num">
											{onPeople && metrics[i] === "uniques" ? (
												<button type="button" class="link people-link" aria-label={`People behind ${valueText(dim, r.value)}: ${formatMetric("uniques", v)} users`} title="Who they are" onClick={() => onPeople(r.value)}>
													{formatMetric(metrics[i] ?? "", v)}
												</button>
											) : (
												formatMetric(metrics[i] ?? "", v)
											)}
										</td>
									))}
								</tr>
							))}
						</tbody>
					</table>
				</div>
			) : (
				<div class="skeleton" style={{ height: "180px" }} />
			)}
		</section>
	);
}
