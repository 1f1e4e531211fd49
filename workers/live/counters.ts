import type { CanonicalEvent } from "../ingest/event";

export const MINUTE_MS = 60_000;
/** Minutes in the live window (per-minute series). */
export const WINDOW_MINUTES = 60;
export const FEED_SIZE = 20;
/**
 * New feed items per delta. A delta goes to every viewer several times a second: with 20 items
 * it weighed ~4 KB and 1,000 viewers cost ingest 46% of its throughput (docs/benchmarks.md).
 */
export const DELTA_FEED_SIZE = 5;
/** At most this many event names in a snapshot's breakdown (the busiest first). */
export const MAX_EVENT_NAMES = 100;

/** The fields of an event the live view needs (a CanonicalEvent or a D1 row). */
export type LiveEvent = Pick<CanonicalEvent, "event" | "user_id" | "anonymous_id" | "timestamp" | "received_at" | "country" | "device">;

export interface FeedItem {
	event: string;
	user_id: string | null;
	anonymous_id: string | null;
	/** null only for a time no date can hold (events stored before timestamps were bounded). */
	timestamp: string | null;
	received_at: string;
	country: string | null;
	device: string | null;
}

/** What a viewer sees; `event` narrows everything to one event name. */
export interface LiveView {
	event: string | null;
}

export interface LiveNumbers {
	/** Start of each minute (epoch seconds, uPlot's unit) and its count, oldest first, zero-filled. */
	series: { t: number; count: number }[];
	current_minute: { t: number; count: number };
	last_60m: number;
	by_event: Record<string, number>;
	/** Exact distinct users (user_id, else anonymous_id) seen in the window. */
	uniques: { last_5m: number; last_30m: number; method: "exact" };
	latest: FeedItem[];
}

export const minuteOf = (ms: number) => Math.floor(ms / MINUTE_MS);
export const userKey = (e: Pick<CanonicalEvent, "user_id" | "anonymous_id">) =>
	e.user_id != null ? `u:${e.user_id}` : e.anonymous_id != null ? `a:${e.anonymous_id}` : null;

/** ISO 8601 of epoch ms, or null where Date cannot represent it (it would throw). */
const isoOrNull = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null);

function feedItem(e: LiveEvent): FeedItem {
	return {
		event: e.event,
		user_id: e.user_id,
		anonymous_id: e.anonymous_id,
		timestamp: isoOrNull(e.timestamp),
		received_at: new Date(e.received_at).toISOString(),
		country: e.country,
		device: e.device,
	};
}

interface Minute {
	total: number;
	byEvent: Map<string, number>;
}

/**
 * Live counters of one tenant, bucketed by arrival minute (`received_at`): what happened on the
 * wire in the last hour. Exact: per-minute counts, and for uniques the last minute each user was
 * seen (overall and per event name), pruned past 30 minutes. Memory is bounded by the users
 * active in 30 minutes and the event names of the last hour.
 */
export class LiveCounters {
	private minutes = new Map<number, Minute>();
	private lastSeen = new Map<string, number>();
	private lastSeenByEvent = new Map<string, Map<string, number>>();
	private feed: LiveEvent[] = [];
	/** Minutes and event names changed since the last `takeChanges()`. */
	private dirtyMinutes = new Set<number>();
	private dirtyEvents = new Set<string>();
	private fresh: LiveEvent[] = [];
	/** Bumped by every change, so a snapshot built from these numbers can be reused until the next. */
	version = 0;

	/** Counts accepted events (call with non-duplicates only). */
	record(events: Iterable<LiveEvent>) {
		this.version++;
		for (const e of events) {
			const m = minuteOf(e.received_at);
			this.addCount(m, e.event, 1);
			const u = userKey(e);
			if (u) this.seeUser(u, e.event, m);
			this.feed.push(e);
			this.fresh.push(e);
		}
		if (this.feed.length > FEED_SIZE * 4) this.feed = this.feed.slice(-FEED_SIZE);
		if (this.fresh.length > FEED_SIZE * 4) this.fresh = this.fresh.slice(-FEED_SIZE);
	}

	/** Loads pre-aggregated history (from D1 after a restart); `latest` is oldest first. */
	load(history: { counts: { m: number; event: string; n: number }[]; users: { u: string; event: string; m: number }[]; latest: LiveEvent[] }) {
		this.version++;
		for (const c of history.counts) this.addCount(c.m, c.event, c.n);
		for (const u of history.users) this.seeUser(u.u, u.event, u.m);
		this.feed = [...history.latest, ...this.feed].slice(-FEED_SIZE * 4);
	}

	private addCount(m: number, event: string, n: number) {
		let minute = this.minutes.get(m);
		if (!minute) this.minutes.set(m, (minute = { total: 0, byEvent: new Map() }));
		minute.total += n;
		minute.byEvent.set(event, (minute.byEvent.get(event) ?? 0) + n);
		this.dirtyMinutes.add(m);
		this.dirtyEvents.add(event);
	}

	private seeUser(u: string, event: string, m: number) {
		if ((this.lastSeen.get(u) ?? -1) < m) this.lastSeen.set(u, m);
		let perEvent = this.lastSeenByEvent.get(event);
		if (!perEvent) this.lastSeenByEvent.set(event, (perEvent = new Map()));
		if ((perEvent.get(u) ?? -1) < m) perEvent.set(u, m);
	}

	/** Drops minutes and users that left the window. */
	prune(now: number) {
		const first = minuteOf(now) - WINDOW_MINUTES + 1;
		for (const m of this.minutes.keys()) if (m < first) this.minutes.delete(m);
		const firstUser = minuteOf(now) - 29;
		for (const [u, m] of this.lastSeen) if (m < firstUser) this.lastSeen.delete(u);
		for (const [name, users] of this.lastSeenByEvent) {
			for (const [u, m] of users) if (m < firstUser) users.delete(u);
			if (!users.size) this.lastSeenByEvent.delete(name);
		}
	}

	private count(m: number, view: LiveView) {
		const minute = this.minutes.get(m);
		if (!minute) return 0;
		return view.event == null ? minute.total : (minute.byEvent.get(view.event) ?? 0);
	}

	private uniques(now: number, view: LiveView) {
		const users = view.event == null ? this.lastSeen : (this.lastSeenByEvent.get(view.event) ?? new Map<string, number>());
		const cur = minuteOf(now);
		let last5 = 0;
		let last30 = 0;
		for (const m of users.values()) {
			if (m > cur - 30) last30++;
			if (m > cur - 5) last5++;
		}
		return { last_5m: last5, last_30m: last30, method: "exact" as const };
	}

	private byEvent(now: number, names?: Iterable<string>): Record<string, number> {
		const first = minuteOf(now) - WINDOW_MINUTES + 1;
		const totals = new Map<string, number>();
		const wanted = names ? new Set(names) : null;
		for (const [m, minute] of this.minutes) {
			if (m < first) continue;
			for (const [name, n] of minute.byEvent) if (!wanted || wanted.has(name)) totals.set(name, (totals.get(name) ?? 0) + n);
		}
		for (const name of wanted ?? []) if (!totals.has(name)) totals.set(name, 0);
		const sorted = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
		return Object.fromEntries(sorted.slice(0, MAX_EVENT_NAMES));
	}

	private latest(list: LiveEvent[], view: LiveView, size = FEED_SIZE) {
		const items = view.event == null ? list : list.filter((e) => e.event === view.event);
		return items.slice(-size).reverse().map(feedItem);
	}

	/** The whole picture for a view at `now`. */
	snapshot(now: number, view: LiveView): LiveNumbers {
		this.prune(now);
		const cur = minuteOf(now);
		const series = [];
		for (let m = cur - WINDOW_MINUTES + 1; m <= cur; m++) series.push({ t: (m * MINUTE_MS) / 1000, count: this.count(m, view) });
		const byEvent = this.byEvent(now, view.event == null ? undefined : [view.event]);
		return {
			series,
			current_minute: { t: (cur * MINUTE_MS) / 1000, count: this.count(cur, view) },
			last_60m: this.total(now, view),
			by_event: byEvent,
			uniques: this.uniques(now, view),
			latest: this.latest(this.feed, view),
		};
	}

	/** Whether anything was recorded since the last `takeChanges()`. */
	get dirty() {
		return this.dirtyMinutes.size > 0;
	}

	/** Changes since the last call, per view: the changed minutes, event totals and new feed items. */
	takeChanges(now: number, views: LiveView[]): Map<string, LiveDelta> {
		this.prune(now);
		const first = minuteOf(now) - WINDOW_MINUTES + 1;
		const minutes = [...this.dirtyMinutes].filter((m) => m >= first).sort((a, b) => a - b);
		const out = new Map<string, LiveDelta>();
		for (const view of views) {
			const key = viewKey(view);
			if (out.has(key)) continue;
			const names = view.event == null ? [...this.dirtyEvents] : this.dirtyEvents.has(view.event) ? [view.event] : [];
			const cur = minuteOf(now);
			out.set(key, {
				series: minutes.map((m) => ({ t: (m * MINUTE_MS) / 1000, count: this.count(m, view) })),
				current_minute: { t: (cur * MINUTE_MS) / 1000, count: this.count(cur, view) },
				last_60m: this.total(now, view),
				by_event: names.length ? this.byEvent(now, names) : {},
				uniques: this.uniques(now, view),
				latest: this.latest(this.fresh, view, DELTA_FEED_SIZE),
			});
		}
		this.dirtyMinutes.clear();
		this.dirtyEvents.clear();
		this.fresh = [];
		return out;
	}

	private total(now: number, view: LiveView) {
		let total = 0;
		const cur = minuteOf(now);
		for (let m = cur - WINDOW_MINUTES + 1; m <= cur; m++) total += this.count(m, view);
		return total;
	}
}

/** A delta: only what changed, but totals (last_60m, uniques, current minute) are absolute. */
export type LiveDelta = Omit<LiveNumbers, "series"> & { series: { t: number; count: number }[] };

export const viewKey = (view: LiveView) => (view.event == null ? "*" : `e:${view.event}`);
