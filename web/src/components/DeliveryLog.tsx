import { useEffect, useRef } from "preact/hooks";
import type { Delivery } from "../api/ops";
import { useLoad } from "../hooks";
import { when } from "../lib/format";
import { ErrorNote, Skeleton } from "./States";
import "../ops.css";

const FOLLOW_MS = 3000;
const FOLLOW_MAX = 40;

/**
 * A delivery log (schedule or alert): when, where, the outcome and the receiver's answer. With
 * `follow`, it reads the log again while a delivery is pending (the cron sends it within a minute
 * or two), for a bounded number of reads, so an outcome shows up without a refresh.
 */
export function DeliveryLog({ load, cacheKey, timezone, empty = "Nothing delivered yet.", follow = false }: { load: (signal: AbortSignal) => Promise<{ deliveries: Delivery[] }>; cacheKey: string; timezone: string; empty?: string; follow?: boolean }) {
	const res = useLoad(cacheKey, load);
	const reads = useRef(0);
	useEffect(() => {
		reads.current = 0;
	}, [cacheKey]);
	const pending = res.data?.deliveries.some((d) => d.status === "pending") ?? false;
	useEffect(() => {
		if (!follow || !pending || res.status !== "ok" || reads.current >= FOLLOW_MAX) return;
		const t = setTimeout(() => {
			reads.current++;
			res.reload();
		}, FOLLOW_MS);
		return () => clearTimeout(t);
	}, [follow, pending, res.data]);
	if (res.error) return <ErrorNote error={res.error} title="The delivery log could not be loaded" onRetry={res.reload} />;
	if (!res.data) return <Skeleton height={40} />;
	return <DeliveryTable deliveries={res.data.deliveries} timezone={timezone} empty={empty} onReload={res.reload} />;
}

/** The log's rows; times in `timezone` (the schedule's or the workspace's), named in the header. */
export function DeliveryTable({ deliveries, timezone, empty, onReload }: { deliveries: Delivery[]; timezone: string; empty: string; onReload?: () => void }) {
	if (!deliveries.length) return <p class="muted small">{empty}</p>;
	return (
		<div class="table-wrap" tabIndex={0} role="region" aria-label="Deliveries">
			<table data-testid="deliveries" class="small stack">
				<caption class="sr-only">Delivery log</caption>
				<thead>
					<tr>
						<th scope="col">
							When <span class="muted">({timezone})</span>
						</th>
						<th scope="col">Event</th>
						<th scope="col">To</th>
						<th scope="col">Outcome</th>
						<th scope="col" class="num">
							Tries
						</th>
					</tr>
				</thead>
				<tbody>
					{deliveries.map((d) => (
						<tr data-delivery={d.id} data-status={d.status} data-channel={d.channel}>
							<td data-label={`When (${timezone})`}>{when(d.created_at, timezone)}</td>
							<td data-label="Event">{d.event ?? "–"}</td>
							<td class="wrap" data-label="To">
								{d.channel}: {d.target}
							</td>
							<td data-label="Outcome">
								<span class={`pill ${d.status === "failed" ? "revoked" : d.status === "sent" ? "ok" : ""}`}>{d.status}</span>
								{d.response_status != null && <span class="muted"> HTTP {d.response_status}</span>}
								{d.error && <div class="muted">{d.error}</div>}
								{d.status === "pending" && d.next_attempt_at && <div class="muted">next try {when(d.next_attempt_at, timezone)}</div>}
							</td>
							<td class="num" data-label="Tries">{d.attempts}</td>
						</tr>
					))}
				</tbody>
			</table>
			{onReload && (
				<button type="button" class="link small" onClick={onReload}>
					Refresh
				</button>
			)}
		</div>
	);
}
