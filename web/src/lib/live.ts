// The live view's state machine (docs/live.md): a snapshot replaces the state, a delta with the
// next `seq` is applied, any other delta means something was missed and a snapshot is asked for.
// Pure: the socket itself is in ../live-socket.ts.
import type { LiveDeltaMessage, LiveMessage, LiveSnapshot } from "../api/types";

export const FEED_SIZE = 20;

export interface LiveState {
	snapshot: LiveSnapshot | null;
	/** A snapshot was asked for: deltas are ignored until it arrives. */
	resyncing: boolean;
}

export const initialLive: LiveState = { snapshot: null, resyncing: false };

/** Applies a delta to a snapshot: absolute counts replace, changed minutes replace or slide in. */
export function applyDelta(s: LiveSnapshot, d: LiveDeltaMessage): LiveSnapshot {
	const series = [...s.series];
	for (const p of d.series) {
		const i = series.findIndex((q) => q.t === p.t);
		if (i >= 0) series[i] = p;
		else if (series.length === 0 || p.t > series[series.length - 1]!.t) {
			series.push(p);
			if (series.length > s.series.length && s.series.length > 0) series.shift();
		}
	}
	return {
		...s,
		seq: d.seq,
		at: d.at,
		series,
		current_minute: d.current_minute,
		last_60m: d.last_60m,
		uniques: d.uniques,
		by_event: { ...s.by_event, ...d.by_event },
		latest: [...d.latest, ...s.latest].slice(0, FEED_SIZE),
	};
}

/** One server message → the next state, and whether to ask the server for a snapshot. */
export function step(state: LiveState, msg: LiveMessage): { state: LiveState; askSnapshot: boolean } {
	if (msg.type === "snapshot") return { state: { snapshot: msg, resyncing: false }, askSnapshot: false };
	if (msg.type === "error") return { state, askSnapshot: false };
	if (state.resyncing) return { state, askSnapshot: false };
	if (!state.snapshot || msg.seq !== state.snapshot.seq + 1) return { state: { ...state, resyncing: true }, askSnapshot: true };
	return { state: { snapshot: applyDelta(state.snapshot, msg), resyncing: false }, askSnapshot: false };
}

/** Close codes after which reconnecting cannot help: a refused or revoked key (4401), another scope (4403). */
export const FATAL_CLOSE_CODES = [4400, 4401, 4403];

/** Delay before reconnect attempt `attempt` (0, 1, …): 1 s doubling to 30 s, with jitter (×0.5–1). */
export function backoffMs(attempt: number, random: number): number {
	return Math.round(Math.min(30_000, 1000 * 2 ** attempt) * (0.5 + random / 2));
}

/** Events by name, busiest first, with each one's share of the busiest (for the bars). */
export function eventCounts(byEvent: Record<string, number>) {
	const rows = Object.entries(byEvent)
		.filter(([, n]) => n > 0)
		.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
	const max = rows[0]?.[1] ?? 0;
	return rows.map(([event, count]) => ({ event, count, share: max ? count / max : 0 }));
}
