import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { ScreenProps } from "../App";
import type { LiveSnapshot } from "../api/types";
import { Chart } from "../components/Chart";
import { Behind } from "../components/Table";
import { Empty, Skeleton } from "../components/States";
import { useTitle } from "../hooks";
import { timeSeriesOptions } from "../lib/chart";
import { formatCompact, formatNumber } from "../lib/format";
import { eventCounts } from "../lib/live";
import { liveSearch, parseLive } from "../lib/url";
import { type LiveStatus, LiveSocket } from "../live-socket";
import { navigate } from "../router";

const bars = uPlot.paths.bars!({ size: [0.7, 24] });

function StatusLine({ status, onRetry }: { status: LiveStatus; onRetry: () => void }) {
	const [, tick] = useState(0);
	useEffect(() => {
		if (status.kind !== "retrying") return;
		const t = setInterval(() => tick((n) => n + 1), 500);
		return () => clearInterval(t);
	}, [status]);
	let text: string;
	switch (status.kind) {
		case "connecting":
			text = status.attempt ? `Reconnecting (attempt ${status.attempt + 1})…` : "Connecting…";
			break;
		case "open":
			text = "Live";
			break;
		case "retrying":
			text = `Connection lost; reconnecting in ${Math.max(0, Math.ceil((status.at - Date.now()) / 1000))} s`;
			break;
		case "closed":
			text = `Disconnected: ${status.reason}`;
	}
	return (
		<p class="status" role="status" aria-live="polite" data-status={status.kind}>
			<span class={`dot ${status.kind}`} aria-hidden="true" />
			{text}
			{status.kind === "retrying" && (
				<button type="button" class="link" onClick={onRetry}>
					Reconnect now
				</button>
			)}
		</p>
	);
}

export function Live({ info, search, secret }: ScreenProps) {
	useTitle("Live");
	const view = parseLive(search);
	const [snap, setSnap] = useState<LiveSnapshot | null>(null);
	const [status, setStatus] = useState<LiveStatus>({ kind: "connecting", attempt: 0 });
	const sock = useRef<LiveSocket | null>(null);

	useEffect(() => {
		const s = new LiveSocket(secret, view.event, setSnap, setStatus);
		sock.current = s;
		return () => s.close();
	}, []);
	// The event filter is in the URL; changing it re-subscribes the open socket.
	const first = useRef(true);
	useEffect(() => {
		if (first.current) return void (first.current = false);
		sock.current?.subscribe(view.event);
	}, [view.event]);

	const setEvent = (event: string | null) => navigate(`/live${event ? `?${liveSearch({ event })}` : ""}`);
	const data = useMemo<uPlot.AlignedData | null>(() => (snap ? [snap.series.map((p) => p.t), snap.series.map((p) => p.count)] : null), [snap]);
	const events = snap ? eventCounts(snap.by_event) : [];

	return (
		<div style={{ display: "grid", gap: "1rem" }}>
			<div class="page-head">
				<div>
					<h1>Live</h1>
					<p class="muted small" style={{ margin: 0 }}>
						What arrived in the last hour, by arrival minute, as it arrives.
						{view.event && (
							<>
								{" "}
								Showing <strong>{view.event}</strong> only.{" "}
								<button type="button" class="link" onClick={() => setEvent(null)}>
									Show all events
								</button>
							</>
						)}
					</p>
				</div>
				<StatusLine status={status} onRetry={() => sock.current?.retryNow()} />
			</div>
			<section class="kpis" aria-label="Live figures">
				{(
					[
						["Events, last 60 min", snap?.last_60m, "last-60m"],
						["Events this minute", snap?.current_minute.count, "this-minute"],
						["Users, last 5 min", snap?.uniques.last_5m, "users-5m"],
						["Users, last 30 min", snap?.uniques.last_30m, "users-30m"],
					] as const
				).map(([label, v, id]) => (
					<div class="kpi" data-live={id}>
						<span class="kpi-label">{label}</span>
						{v == null ? (
							<Skeleton height={28} width="50%" />
						) : (
							<span class="kpi-value" data-value={v}>
								{formatNumber(v)}
							</span>
						)}
					</div>
				))}
			</section>
			<section class="panel" aria-labelledby="epm">
				<div class="panel-head">
					<h2 id="epm">Events per minute</h2>
					<span class="muted small">last 60 minutes, exact</span>
				</div>
				{data && snap ? (
					<>
						<Chart
							height={200}
							tz={info.tenant.timezone}
							optKey="live"
							data={data}
							build={(width, palette) => timeSeriesOptions({ width, height: 200, palette, bars, granularity: "minute", yFormat: formatCompact, series: [{ label: "Events", color: "c1" }] })}
						/>
						<Behind label="Show the data as a table">
							<table>
								<thead>
									<tr>
										<th scope="col">Minute</th>
										<th scope="col" class="num">
											Events
										</th>
									</tr>
								</thead>
								<tbody>
									{snap.series.map((p) => (
										<tr>
											<th scope="row">{new Date(p.t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: info.tenant.timezone })}</th>
											<td class="num">{formatNumber(p.count)}</td>
										</tr>
									))}
								</tbody>
							</table>
						</Behind>
					</>
				) : (
					<Skeleton height={200} />
				)}
			</section>
			<div class="grid two">
				<section class="card" aria-labelledby="by-event">
					<h2 id="by-event" class="panel-head">
						Events by name
					</h2>
					{!snap ? (
						<Skeleton height={160} />
					) : events.length === 0 ? (
						<Empty title="Nothing in the last hour">
							<p>Events appear here the moment they are stored.</p>
						</Empty>
					) : (
						<div class="table-wrap">
							<table class="bars" data-testid="live-by-event">
								<thead>
									<tr>
										<th scope="col">Event</th>
										<th scope="col" class="num">
											Last 60 min
										</th>
									</tr>
								</thead>
								<tbody>
									{events.map((e) => (
										<tr style={{ "--share": e.share.toFixed(4) }} data-event={e.event}>
											<th scope="row">
												<button type="button" class="row-filter" title={`Show ${e.event} only`} onClick={() => setEvent(e.event)}>
													{e.event}
												</button>
											</th>
											<td class="num">{formatNumber(e.count)}</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					)}
				</section>
				<section class="card" aria-labelledby="latest">
					<h2 id="latest" class="panel-head">
						Latest events
					</h2>
					{!snap ? (
						<Skeleton height={160} />
					) : snap.latest.length === 0 ? (
						<p class="muted small">No events yet.</p>
					) : (
						<ol class="feed" data-testid="live-feed" aria-live="polite" aria-relevant="additions">
							{snap.latest.map((e) => (
								<li key={`${e.received_at}-${e.event}-${e.user_id ?? e.anonymous_id}`}>
									<time dateTime={e.received_at}>{new Date(e.received_at).toLocaleTimeString([], { hour12: false, timeZone: info.tenant.timezone })}</time>
									<span class="ev">{e.event}</span>
									<span class="who-ev">
										{e.user_id ?? e.anonymous_id}
										{e.country ? ` · ${e.country}` : ""}
									</span>
								</li>
							))}
						</ol>
					)}
				</section>
			</div>
		</div>
	);
}
