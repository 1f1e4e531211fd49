import { type LiveEvent, LiveCounters, type LiveView, minuteOf, MINUTE_MS, viewKey, WINDOW_MINUTES } from "./counters";

/** Wire protocol version carried by every server message. */
export const PROTOCOL_VERSION = 1;
/** Sub-protocol a browser may offer (with `bearer.<key>`); echoed back when offered. */
export const SUBPROTOCOL = "edgewise.live.v1";
/** At most one broadcast per this interval, however high the ingest rate. */
export const BROADCAST_INTERVAL_MS = 200;

/** Close codes (4000-4999 are application codes); the reason says more. */
export const CLOSE = { badRequest: 4400, unauthorized: 4401, forbidden: 4403, revoked: 4401 } as const;

/** What each hibernatable socket remembers across hibernation (serializeAttachment). */
export interface SocketState {
	keyHash: string;
	view: LiveView;
}

/** Store access the channel needs from its hub. */
export interface LiveStore {
	/** Buffered, not-yet-flushed events with their buffer seq (read synchronously). */
	bufferedEvents(): { seq: number; events: LiveEvent[] }[];
	/** D1 history for the window and the highest buffer seq already in D1. */
	history(sinceMs: number, usersSinceMs: number): Promise<{
		maxSeq: number;
		counts: { m: number; event: string; n: number }[];
		users: { u: string; event: string; m: number }[];
		latest: LiveEvent[];
	}>;
	/** Blocks flushing while the counters are rebuilt, so nothing is counted twice. */
	pauseFlush<T>(fn: () => Promise<T>): Promise<T>;
}

const send = (ws: WebSocket, text: string) => {
	try {
		ws.send(text);
	} catch {
		// The socket closed under us; webSocketClose cleans up.
	}
};

export const stateOf = (ws: WebSocket) => ws.deserializeAttachment() as SocketState | null;

const sendError = (ws: WebSocket, code: string, message: string) => send(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "error", code, message }));

/**
 * The live side of a tenant hub: exact counters, hibernatable viewer sockets and coalesced
 * broadcasts. Counters live in memory; after the object was evicted they are rebuilt from D1
 * plus the unflushed buffer the first time someone looks (an idle tenant pays nothing).
 */
export class LiveChannel {
	private counters: LiveCounters | null = null;
	private rebuilding: Promise<LiveCounters> | null = null;
	private seq = 0;
	private timer: ReturnType<typeof setTimeout> | null = null;
	private lastBroadcastAt = 0;
	private lastMinute = 0;
	/** Viewers hold an older sequence (the object restarted under them): send snapshots next. */
	private resync = false;
	private lastPrune = 0;
	/** Broadcast statistics, for the live benchmark and /v1/system views. */
	readonly metrics = { broadcasts: 0, messages: 0, bytes: 0 };

	constructor(
		private readonly ctx: DurableObjectState,
		private readonly store: LiveStore,
	) {}

	get viewers() {
		return this.ctx.getWebSockets().length;
	}

	/** Counts accepted events if anyone has looked since the object started. */
	record(events: LiveEvent[]) {
		if (!events.length) return;
		if (!this.counters) {
			// Viewers from before an eviction are still connected: rebuild (it reads the buffer these
			// events were just written to, so they are counted) and resend everyone a snapshot.
			if (this.viewers) this.revive();
			return;
		}
		this.counters.record(events);
		const now = Date.now();
		// Without viewers nothing else prunes: keep memory bounded by the window.
		if (now - this.lastPrune > MINUTE_MS) {
			this.lastPrune = now;
			this.counters.prune(now);
		}
		this.schedule();
	}

	/** Rebuilds the counters in the background for sockets that outlived the object. */
	private revive() {
		if (this.rebuilding) return;
		this.ready().catch((err) => console.error("live counters rebuild failed", err));
	}

	private async ready(): Promise<LiveCounters> {
		if (this.counters && !this.rebuilding) return this.counters;
		this.rebuilding ??= this.store.pauseFlush(async () => {
			// Start counting new arrivals now, and read the buffer in the same synchronous step:
			// every event is then either recorded live, in this buffer read, or already in D1.
			const counters = new LiveCounters();
			this.counters = counters;
			// Sockets that survived an eviction hold sequence numbers of the old instance.
			this.resync = this.viewers > 0;
			const buffered = this.store.bufferedEvents();
			const now = Date.now();
			const since = (minuteOf(now) - WINDOW_MINUTES + 1) * MINUTE_MS;
			let history: Awaited<ReturnType<LiveStore["history"]>>;
			try {
				history = await this.store.history(since, (minuteOf(now) - 29) * MINUTE_MS);
			} catch (err) {
				// Never serve half-built numbers as exact: the next look tries again.
				this.counters = null;
				throw err;
			}
			counters.load(history);
			counters.record(buffered.filter((b) => b.seq > history.maxSeq).flatMap((b) => b.events));
			// The snapshot that follows a rebuild carries all of this; deltas start from here.
			counters.takeChanges(now, []);
			this.lastMinute = minuteOf(now);
			return counters;
		});
		void this.rebuilding.then(() => this.schedule()).catch(() => {});
		try {
			return await this.rebuilding;
		} finally {
			this.rebuilding = null;
		}
	}

	/** Accepts a viewer socket: tags it with its key (for revocation) and sends a snapshot. */
	async connect(state: SocketState, protocol: string | null): Promise<Response> {
		const counters = await this.ready();
		const pair = new WebSocketPair();
		const [client, server] = [pair[0], pair[1]];
		this.ctx.acceptWebSocket(server, [`key:${state.keyHash}`]);
		server.serializeAttachment(state);
		send(server, this.snapshotMessage(counters, state.view, Date.now()));
		return new Response(null, { status: 101, webSocket: client, headers: protocol ? { "Sec-WebSocket-Protocol": protocol } : {} });
	}

	/** The snapshot over HTTP (GET /v1/live/snapshot). */
	async snapshot(view: LiveView) {
		const counters = await this.ready();
		return JSON.parse(this.snapshotMessage(counters, view, Date.now())) as Record<string, unknown>;
	}

	private snapshotMessage(counters: LiveCounters, view: LiveView, now: number) {
		return JSON.stringify({ v: PROTOCOL_VERSION, type: "snapshot", seq: this.seq, at: new Date(now).toISOString(), view, ...counters.snapshot(now, view) });
	}

	/** A client message: {"type":"snapshot"} to resync after a gap, {"type":"subscribe","event":…} to change view. */
	async message(ws: WebSocket, data: string | ArrayBuffer) {
		const state = stateOf(ws);
		if (!state) return;
		let msg: { type?: unknown; event?: unknown };
		try {
			msg = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
		} catch {
			return sendError(ws, "malformed_message", 'Send JSON: {"type":"snapshot"} or {"type":"subscribe","event":"name"|null}.');
		}
		if (msg.type === "subscribe") {
			if (msg.event != null && (typeof msg.event !== "string" || !msg.event || msg.event.length > 200))
				return sendError(ws, "invalid_view", "event must be a non-empty string of at most 200 characters, or null for all events.");
			state.view = { event: (msg.event as string | null) ?? null };
			ws.serializeAttachment(state);
		} else if (msg.type !== "snapshot") {
			return sendError(ws, "unknown_message", `Unknown message type ${JSON.stringify(msg.type)}; use "snapshot" or "subscribe".`);
		}
		send(ws, this.snapshotMessage(await this.ready(), state.view, Date.now()));
	}

	/** Closes every socket opened with a key (it was revoked). */
	closeKey(keyHash: string) {
		for (const ws of this.ctx.getWebSockets(`key:${keyHash}`)) {
			try {
				ws.close(CLOSE.revoked, "API key revoked");
			} catch {}
		}
	}

	private schedule() {
		if (this.timer || !this.viewers) return;
		const wait = this.resync ? 0 : Math.max(0, this.lastBroadcastAt + BROADCAST_INTERVAL_MS - Date.now());
		this.timer = setTimeout(() => {
			this.timer = null;
			this.broadcast(Date.now());
		}, wait);
	}

	/**
	 * Sends every viewer what changed since the last broadcast (one serialisation per distinct
	 * view). When the minute rolls over the window slides, so everyone gets a fresh snapshot.
	 */
	broadcast(now: number) {
		const counters = this.counters;
		const sockets = this.ctx.getWebSockets();
		if (!sockets.length) return;
		if (!counters || this.rebuilding) {
			this.revive();
			return;
		}
		const rolled = minuteOf(now) !== this.lastMinute || this.resync;
		this.resync = false;
		if (!rolled && !counters.dirty) return;
		this.lastBroadcastAt = now;
		this.lastMinute = minuteOf(now);
		this.seq++;
		const states = sockets.map((ws) => stateOf(ws)?.view ?? { event: null });
		const changes = counters.takeChanges(now, states);
		const texts = new Map<string, string>();
		const at = new Date(now).toISOString();
		sockets.forEach((ws, i) => {
			const view = states[i]!;
			const key = viewKey(view);
			let text = texts.get(key);
			if (!text) {
				text = rolled
					? this.snapshotMessage(counters, view, now)
					: JSON.stringify({ v: PROTOCOL_VERSION, type: "delta", seq: this.seq, at, view, ...changes.get(key)! });
				texts.set(key, text);
			}
			send(ws, text);
			this.metrics.messages++;
			this.metrics.bytes += text.length;
		});
		this.metrics.broadcasts++;
	}

	/** Next time the hub should wake for viewers: the next minute boundary (the window slides). */
	nextTick(now: number): number | null {
		return this.viewers ? (minuteOf(now) + 1) * MINUTE_MS + 50 : null;
	}
}

