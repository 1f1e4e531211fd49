import type { Delivery } from "../api/ops";
import { useLoad } from "../hooks";
import { when } from "../lib/boards";
import { ErrorNote, Skeleton } from "./States";

/** A delivery log (schedule or alert): when, where, the outcome and the receiver's answer. */
export function DeliveryLog({ load, cacheKey, empty = "Nothing delivered yet." }: { load: (signal: AbortSignal) => Promise<{ deliveries: Delivery[] }>; cacheKey: string; empty?: string }) {
	const res = useLoad(cacheKey, load);
	if (res.error) return <ErrorNote error={res.error} title="The delivery log could not be loaded" onRetry={res.reload} />;
	if (!res.data) return <Skeleton height={40} />;
	return <DeliveryTable deliveries={res.data.deliveries} empty={empty} onReload={res.reload} />;
}

export function DeliveryTable({ deliveries, empty, onReload }: { deliveries: Delivery[]; empty: string; onReload?: () => void }) {
	if (!deliveries.length) return <p class="muted small">{empty}</p>;
	return (
		<div class="table-wrap" tabIndex={0} role="region" aria-label="Deliveries">
			<table data-testid="deliveries" class="small">
				<caption class="sr-only">Delivery log</caption>
				<thead>
					<tr>
						<th scope="col">When</th>
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
							<td>{when(d.created_at)}</td>
							<td>{d.event ?? "–"}</td>
							<td class="wrap">
								{d.channel}: {d.target}
							</td>
							<td>
								<span class={`pill ${d.status === "failed" ? "revoked" : d.status === "sent" ? "ok" : ""}`}>{d.status}</span>
								{d.response_status != null && <span class="muted"> HTTP {d.response_status}</span>}
								{d.error && <div class="muted">{d.error}</div>}
								{d.status === "pending" && d.next_attempt_at && <div class="muted">next try {when(d.next_attempt_at)}</div>}
							</td>
							<td class="num">{d.attempts}</td>
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
