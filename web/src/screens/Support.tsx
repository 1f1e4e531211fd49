import { useEffect, useMemo } from "preact/hooks";
import uPlot from "uplot";
import type { ScreenProps } from "../App";
import { API_ORIGIN, ApiFailure } from "../api/client";
import type { QueryAnswer, QueryFailure } from "../api/types";
import { BreakdownCard } from "../components/Breakdown";
import { Chart } from "../components/Chart";
import { ViewControls } from "../components/Controls";
import { CopyBlock } from "../components/Copy";
import { Empty, ErrorNote, Skeleton } from "../components/States";
import { Behind } from "../components/Table";
import { useLoad, useTitle } from "../hooks";
import { categoryBarOptions, DURATION_INCRS, indexes, timeSeriesOptions } from "../lib/chart";
import { formatChange, formatCompact, formatDuration, formatNumber, WEEKDAYS } from "../lib/format";
import { effectiveGranularity, rangeLabel } from "../lib/range";
import { breakdownRows, multiSeriesData, seriesTable } from "../lib/series";
import { byHour, csatDistribution, heatmap, RT_METRICS, supportQueries, supportTotals } from "../lib/support";
import { type BaseView, parseSupport, supportSearch } from "../lib/url";
import { navigate } from "../router";

const bars = uPlot.paths.bars!({ size: [0.75, 40] });
const isOk = (a: QueryAnswer | QueryFailure | undefined): a is QueryAnswer => a?.status === 200;
const fail = (a: QueryFailure) => new ApiFailure(a.status, a.error.code, a.error.message, a.error.details);
const vsPrevious = (pct: number | null | undefined) => (pct == null ? "" : `; ${formatChange(pct)} vs previous period`);
const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));

/** A panel that shows its answer, its error, or a placeholder. */
function Part({ a, title, children, height = 160 }: { a: QueryAnswer | QueryFailure | undefined; title: string; children: (a: QueryAnswer) => preact.ComponentChildren; height?: number }) {
	if (!a) return <Skeleton height={height} />;
	if (!isOk(a)) return <ErrorNote error={fail(a)} title={`${title} unavailable`} />;
	return <>{children(a)}</>;
}

function Figure({ label, value, sub, id, raw }: { label: string; value: string; sub?: string | null; id: string; raw?: number | null }) {
	return (
		<div class="kpi figure" data-support={id}>
			<span class="kpi-label">{label}</span>
			<span class="kpi-value" data-value={raw ?? ""}>
				{value}
			</span>
			{sub && <span class="sub">{sub}</span>}
		</div>
	);
}

export function Support({ api, info, search, onAuthError }: ScreenProps) {
	useTitle("Support");
	const view = parseSupport(search);
	const tenant = info.tenant;
	const queries = useMemo(() => supportQueries(view), [search]);
	const load = useLoad(JSON.stringify(queries), (signal) => api.batch(queries, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	const go = (v: BaseView) => navigate(`/support${supportSearch(v) ? `?${supportSearch(v)}` : ""}`);
	const a = load.data?.answers;
	const totals = isOk(a?.totals) ? supportTotals(a.totals) : null;
	const empty = totals && Object.values(totals).every((n) => n === 0);
	const g = effectiveGranularity(view.range, null);
	const rt = isOk(a?.response) ? a.response.results[0] : null;
	const csat = isOk(a?.csat) ? a.csat.results[0] : null;
	const rate = (n: number, of: number) => (of ? `${Math.round((n / of) * 100)}% of conversations` : null);

	return (
		<div style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status} aria-busy={load.status === "loading" ? "true" : "false"}>
			<div class="page-head">
				<div>
					<h1>Support</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Conversations, response times and satisfaction, from the support events ({rangeLabel(view.range).toLowerCase()}).
					</p>
				</div>
				<ViewControls view={view} tenantTz={tenant.timezone} onChange={go} showFilters={false} />
			</div>
			{load.error && <ErrorNote error={load.error} title="The support figures could not be loaded" onRetry={load.reload} />}
			{empty && <NoSupportEvents />}
			<section class="kpis many" aria-label="Support figures">
				{totals ? (
					<>
						<Figure id="conversations" label="Conversations" raw={totals.conversation_started} value={formatNumber(totals.conversation_started)} sub={`${formatNumber(totals.message_sent)} messages`} />
						<Figure id="resolved" label="Resolved" raw={totals.conversation_resolved} value={formatNumber(totals.conversation_resolved)} sub={rate(totals.conversation_resolved, totals.conversation_started)} />
						<Figure id="escalated" label="Escalated" raw={totals.conversation_escalated} value={formatNumber(totals.conversation_escalated)} sub={rate(totals.conversation_escalated, totals.conversation_started)} />
					</>
				) : (
					<Skeleton height={90} />
				)}
				{rt && (
					<>
						<Figure id="median-response" label="Median response time" raw={rt.metrics[1]} value={formatDuration(rt.metrics[1])} sub={`average ${formatDuration(rt.metrics[0])}${vsPrevious(rt.comparison?.change_pct[1])}`} />
						<Figure id="p95-response" label="p95 response time" raw={rt.metrics[2]} value={formatDuration(rt.metrics[2])} sub={`1 reply in 20 waits longer${vsPrevious(rt.comparison?.change_pct[2])}`} />
					</>
				)}
				{csat && (
					<Figure
						id="csat"
						label="CSAT (1–5)"
						raw={csat.metrics[1]}
						value={csat.metrics[1] == null ? "–" : csat.metrics[1].toFixed(2)}
						sub={`${formatNumber(csat.metrics[0])} responses${vsPrevious(csat.comparison?.change_pct[1])}`}
					/>
				)}
			</section>

			<section class="panel" aria-labelledby="rt-title">
				<div class="panel-head">
					<h2 id="rt-title">Response time</h2>
					<span class="muted small">agents' replies (message_sent with response_time_ms), by {g}</span>
				</div>
				<Part a={a?.response_series} title="Response time" height={240}>
					{(ans) => <ResponseChart answer={ans} g={g} />}
				</Part>
			</section>

			<div class="grid two">
				{(["by_channel", "by_agent"] as const).map((name) => (
					<BreakdownCard
						dim={name === "by_channel" ? "prop:channel" : "prop:agent_id"}
						title={name === "by_channel" ? "Response time by channel" : "Response time by agent"}
						headers={[name === "by_channel" ? "Messages" : "Replies", "Average", "Median", "p95"]}
						metrics={["count", ...RT_METRICS]}
						rows={isOk(a?.[name]) ? breakdownRows(a[name]) : null}
						failure={a?.[name] && !isOk(a[name]) ? (a[name] as QueryFailure) : null}
					/>
				))}
			</div>

			<div class="grid two">
				<section class="panel" aria-labelledby="hour-title">
					<h2 id="hour-title" class="panel-head">
						Messages by hour of day
					</h2>
					<Part a={a?.by_hour} title="Messages by hour">
						{(ans) => {
							const counts = byHour(ans);
							return (
								<>
									<Chart
										height={180}
										optKey="hours"
										data={[indexes(24), counts]}
										build={(width, palette) => categoryBarOptions({ width, height: 180, palette, bars, labels: HOURS, label: "Messages", yFormat: formatCompact })}
									/>
									<Behind label="Show the data as a table">
										<table>
											<thead>
												<tr>
													<th scope="col">Hour ({ans.meta.timezone})</th>
													<th scope="col" class="num">
														Messages
													</th>
												</tr>
											</thead>
											<tbody>
												{counts.map((n, h) => (
													<tr>
														<th scope="row">{HOURS[h]}:00</th>
														<td class="num">{formatNumber(n)}</td>
													</tr>
												))}
											</tbody>
										</table>
									</Behind>
								</>
							);
						}}
					</Part>
				</section>
				<section class="panel" aria-labelledby="heat-title">
					<div class="panel-head">
						<h2 id="heat-title">Messages by weekday and hour</h2>
						<span class="muted small">{view.tz ?? tenant.timezone}</span>
					</div>
					<Part a={a?.heatmap} title="Heat map">
						{(ans) => <HeatMap answer={ans} />}
					</Part>
				</section>
			</div>

			<div class="grid two">
				<section class="panel" aria-labelledby="csat-title">
					<h2 id="csat-title" class="panel-head">
						Satisfaction (CSAT)
					</h2>
					<Part a={a?.csat_scores} title="CSAT">
						{(ans) => (
							<table class="bars" data-testid="csat-distribution">
								<caption class="sr-only">CSAT responses by score</caption>
								<thead>
									<tr>
										<th scope="col">Score</th>
										<th scope="col" class="num">
											Responses
										</th>
										<th scope="col" class="num">
											Share
										</th>
									</tr>
								</thead>
								<tbody>
									{csatDistribution(ans)
										.reverse()
										.map((s) => (
											<tr style={{ "--share": s.share.toFixed(4) }} data-score={s.score}>
												<th scope="row">
													<span>{"★".repeat(s.score)}<span class="sr-only"> {s.score} of 5</span></span>
												</th>
												<td class="num">{formatNumber(s.count)}</td>
												<td class="num">{Math.round(s.share * 100)}%</td>
											</tr>
										))}
								</tbody>
							</table>
						)}
					</Part>
				</section>
				<BreakdownCard
					dim="prop:intent"
					title="Top intents"
					headers={["Conversations"]}
					metrics={["count"]}
					rows={isOk(a?.intents) ? breakdownRows(a.intents) : null}
					failure={a?.intents && !isOk(a.intents) ? a.intents : null}
				/>
			</div>
		</div>
	);
}

function ResponseChart({ answer, g }: { answer: QueryAnswer; g: ReturnType<typeof effectiveGranularity> }) {
	const data = useMemo(() => multiSeriesData(answer.results, [0, 1, 2]), [answer]);
	const labels = ["Average", "Median", "p95"];
	const colors = ["c1", "c4", "c3"];
	const table = seriesTable(answer.results, g, labels.map((label, idx) => ({ label, idx })));
	return (
		<figure style={{ margin: 0 }}>
			<ul class="legend">
				{labels.map((l, i) => (
					<li style={{ color: `var(--${colors[i]})` }}>
						<span class="swatch" />
						<span class="muted">{l}</span>
					</li>
				))}
			</ul>
			<Chart
				height={240}
				tz={answer.meta.timezone}
				optKey={`rt-${g}`}
				data={data}
				build={(width, palette) =>
					timeSeriesOptions({ width, height: 240, palette, yFormat: formatDuration, yIncrs: DURATION_INCRS, granularity: g, series: labels.map((label, i) => ({ label, color: colors[i]!, width: i === 1 ? 2.5 : 1.75 })) })
				}
			/>
			<Behind label="Show the data as a table">
				<table>
					<thead>
						<tr>
							{table.head.map((h, i) => (
								<th scope="col" class={i ? "num" : undefined}>
									{h}
								</th>
							))}
						</tr>
					</thead>
					<tbody>
						{table.rows.map(([label, ...vals]) => (
							<tr>
								<th scope="row">{label}</th>
								{vals.map((v) => (
									<td class="num">{formatDuration(v)}</td>
								))}
							</tr>
						))}
					</tbody>
				</table>
			</Behind>
		</figure>
	);
}

/** The weekday × hour heat map is a table: every cell has its number, the colour only helps. */
function HeatMap({ answer }: { answer: QueryAnswer }) {
	const { cells, max } = heatmap(answer);
	return (
		<div class="table-wrap" tabIndex={0} role="region" aria-label="Messages by weekday and hour, scrollable">
			<table class="heat" data-testid="heatmap">
				<caption class="sr-only">Messages by weekday (rows) and local hour (columns)</caption>
				<colgroup>
					<col class="day" />
					{HOURS.map(() => (
						<col />
					))}
				</colgroup>
				<thead>
					<tr>
						<th scope="col">
							<span class="sr-only">Day</span>
						</th>
						{HOURS.map((h, i) => (
							<th scope="col">{i % 3 === 0 ? h : <span class="sr-only">{h}</span>}</th>
						))}
					</tr>
				</thead>
				<tbody>
					{cells.map((row, d) => (
						<tr>
							<th scope="row">{WEEKDAYS[d]}</th>
							{row.map((n, h) => (
								<td style={{ "--v": max ? (n / max).toFixed(3) : "0" }} title={`${WEEKDAYS[d]} ${HOURS[h]}:00: ${formatNumber(n)} messages`}>
									<span class="sr-only">{formatNumber(n)}</span>
								</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}

function NoSupportEvents() {
	const curl = `curl -X POST ${API_ORIGIN}/v1/events \\
  -H 'Authorization: Bearer <your ingest key>' -H 'Content-Type: application/json' \\
  -d '{"events":[
    {"event":"conversation_started","user_id":"cust_1","properties":{"conversation_id":"c_1","channel":"chat","intent":"billing"}},
    {"event":"message_sent","user_id":"cust_1","properties":{"conversation_id":"c_1","channel":"chat","agent_id":"ana","response_time_ms":42000}},
    {"event":"conversation_resolved","user_id":"cust_1","properties":{"conversation_id":"c_1","channel":"chat","agent_id":"ana"}},
    {"event":"csat_submitted","user_id":"cust_1","properties":{"conversation_id":"c_1","channel":"chat","agent_id":"ana","score":5}}]}'`;
	return (
		<Empty title="No support events in this range">
			<p>
				This page reads the support event convention: <code>conversation_started</code>, <code>message_sent</code> (with <code>response_time_ms</code>, <code>channel</code>,{" "}
				<code>agent_id</code>), <code>conversation_escalated</code>, <code>conversation_resolved</code> and <code>csat_submitted</code> (with <code>score</code>). For
				answers from rollups, add <code>channel</code>, <code>agent_id</code>, <code>intent</code> and <code>score</code> to the workspace's rolled-up dimensions and{" "}
				<code>response_time_ms</code> to its metrics (Settings).
			</p>
			<CopyBlock title="Example" text={curl} />
		</Empty>
	);
}
