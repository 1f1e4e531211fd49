import { type LiveEvent, LiveCounters, type LiveView, minuteOf, MINUTE_MS, viewKey, WINDOW_MINUTES } from "./counters";

/** Wire protocol version carried by every server message. */
export const PROTOCOL_VERSION = 1;
/** Sub-protocol a browser may offer (with `bearer.<key>`); echoed back when offered. */
export const SUBPROTOCOL = "edgewise.live.v1";
/** At most one broadcast per this interval, however high the ingest rate. */
export const BROADCAST_INTERVAL_MS = 200;

/** Close codes (4000-4999 are application codes); the reason says more. */
export const CLOSE = { badRequest: 4400, unauthorized: 4401, forbidden: 4403, revoked: 4401, tooManyRequests: 4429 } as const;

/**
 * Snapshot requests a viewer may make (a `snapshot` or `subscribe` message, or GET /v1/live/snapshot):
 * per socket, and per key across its sockets and HTTP calls. A viewer needs one after a gap or a
 * change of view; a flood of them must not cost the tenant's ingest (they share one thread).
 */
export const SNAPSHOT_LIMITS = {
	socket: { burst: 5, perSecond: 1 },
	key: { burst: 20, perSecond: 10 },
	/** A socket that keeps asking while refused this many times in a row is closed (4429). */
	refusalsBeforeClose: 50,
	/** Client messages are a few dozen bytes; anything longer is refused before it is parsed. */
	messageBytes: 1024,
} as const;

/** A token bucket: `take()` says whether a request fits, else how long to wait (ms). */
export class Bucket {
	private tokens: number;
	private at: number;
	constructor(
		private readonly burst: number,
		private readonly perSecond: number,
		now: number,
	) {
		this.tokens = burst;
		this.at = now;
	}
	take(now: number): number {
		this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
		this.at = now;
		if (this.tokens >= 1) {
			this.tokens -= 1;
			return 0;
		}
		return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
	}
}

/** What each hibernatable socket remembers across hibernation (serializeAttachment). */
export interface SocketState {
	keyHash: string;
	view: LiveView;
	/** Set when the socket's key was revoked: it gets nothing more, and the server closes it at this time. */
	closeAt?: number;
}

/**
 * How long a viewer told to close (its key was revoked) has to close the socket itself before the
 * server does. NOTE: a close the server starts ends the connection only when the runtime tears it
 * down, about 10 s later locally, and a client's close event waits for that; a close the client
 * starts ends at once. So the server first says why ({"type":"close"}), and closes after this.
 */
export const CLOSE_GRACE_MS = 1000;

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
	readonly metrics = { broadcasts: 0, messages: 0, bytes: 0, snapshots_built: 0, snapshots_served: 0, snapshots_refused: 0 };
	/** The last snapshot text per view, valid while the counters, the minute and seq are unchanged. */
	private snapshots = new Map<string, { stamp: string; text: string }>();
	/** Snapshot allowances per socket (reset when the object wakes from hibernation) and per key. */
	private socketBuckets = new WeakMap<WebSocket, { bucket: Bucket; refusedInARow: number }>();
	private keyBuckets = new Map<string, Bucket>();

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

	/** The snapshot over HTTP (GET /v1/live/snapshot), within the key's allowance. */
	async snapshot(view: LiveView, keyHash: string): Promise<{ ok: true; text: string } | { ok: false; retryAfterMs: number }> {
		const wait = this.keyBucket(keyHash).take(Date.now());
		if (wait) {
			this.metrics.snapshots_refused++;
			return { ok: false, retryAfterMs: wait };
		}
		const counters = await this.ready();
		return { ok: true, text: this.snapshotMessage(counters, view, Date.now()) };
	}

	private keyBucket(keyHash: string): Bucket {
		let b = this.keyBuckets.get(keyHash);
		if (!b) {
			if (this.keyBuckets.size > 1000) this.keyBuckets.clear();
			this.keyBuckets.set(keyHash, (b = new Bucket(SNAPSHOT_LIMITS.key.burst, SNAPSHOT_LIMITS.key.perSecond, Date.now())));
		}
		return b;
	}

	/**
	 * A snapshot's text, built once per view between changes: the numbers only move when events are
	 * recorded, the minute turns (the window slides) or a broadcast bumps seq. Its `at` is when the
	 * numbers were read, which stays true until one of those happens.
	 */
	private snapshotMessage(counters: LiveCounters, view: LiveView, now: number) {
		const key = viewKey(view);
		const stamp = `${counters.version}:${minuteOf(now)}:${this.seq}`;
		const hit = this.snapshots.get(key);
		this.metrics.snapshots_served++;
		if (hit && hit.stamp === stamp) return hit.text;
		this.metrics.snapshots_built++;
		const text = JSON.stringify({ v: PROTOCOL_VERSION, type: "snapshot", seq: this.seq, at: new Date(now).toISOString(), view, ...counters.snapshot(now, view) });
		if (this.snapshots.size > 200) this.snapshots.clear();
		this.snapshots.set(key, { stamp, text });
		return text;
	}

	/**
	 * A client message: {"type":"snapshot"} to resync after a gap, {"type":"subscribe","event":…} to
	 * change view. Each asks for a snapshot, within the socket's and the key's allowances: over them
	 * the viewer is told once (rate_limited, with when to retry) and further asks are ignored; a
	 * socket that keeps asking is closed.
	 */
	async message(ws: WebSocket, data: string | ArrayBuffer) {
		const state = stateOf(ws);
		if (!state || state.closeAt) return;
		const now = Date.now();
		let limits = this.socketBuckets.get(ws);
		if (!limits) this.socketBuckets.set(ws, (limits = { bucket: new Bucket(SNAPSHOT_LIMITS.socket.burst, SNAPSHOT_LIMITS.socket.perSecond, now), refusedInARow: 0 }));
		const wait = limits.bucket.take(now) || this.keyBucket(state.keyHash).take(now);
		if (wait) {
			this.metrics.snapshots_refused++;
			if (++limits.refusedInARow === 1)
				send(ws, JSON.stringify({ v: PROTOCOL_VERSION, type: "error", code: "rate_limited", message: `Too many requests on this socket; retry in ${wait} ms.`, retry_after_ms: wait }));
			else if (limits.refusedInARow >= SNAPSHOT_LIMITS.refusalsBeforeClose) {
				try {
					ws.close(CLOSE.tooManyRequests, "too many requests");
				} catch {}
			}
			return;
		}
		limits.refusedInARow = 0;
		const size = typeof data === "string" ? data.length : data.byteLength;
		if (size > SNAPSHOT_LIMITS.messageBytes)
			return sendError(ws, "message_too_large", `Messages are at most ${SNAPSHOT_LIMITS.messageBytes} bytes: {"type":"snapshot"} or {"type":"subscribe","event":"name"|null}.`);
		let msg: { type?: unknown; event?: unknown };
		try {
			msg = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
		} catch {
			return sendError(ws, "malformed_message", 'Send JSON: {"type":"snapshot"} or {"type":"subscribe","event":"name"|null}.');
		}
		if (!msg || typeof msg !== "object") return sendError(ws, "malformed_message", 'Send a JSON object: {"type":"snapshot"} or {"type":"subscribe","event":"name"|null}.');
		if (msg.type === "subscribe") {
			if (msg.event != null && (typeof msg.event !== "string" || !msg.event || msg.event.length > 200))
				return sendError(ws, "invalid_view", "event must be a non-empty string of at most 200 characters, or null for all events.");
			state.view = { event: (msg.event as string | null) ?? null };
			ws.serializeAttachment(state);
		} else if (msg.type !== "snapshot") {
			return sendError(ws, "unknown_message", `Unknown message type ${JSON.stringify(msg.type)?.slice(0, 50)}; use "snapshot" or "subscribe".`);
		}
		send(ws, this.snapshotMessage(await this.ready(), state.view, Date.now()));
	}

	/**
	 * Ends every socket opened with a key (it was revoked): each is told at once to close with code
	 * 4401 ({"type":"close"}) and gets nothing else; the server closes those still open after
	 * CLOSE_GRACE_MS (see there why the client should be the one to close).
	 */
	closeKey(keyHash: string) {
		const at = Date.now() + CLOSE_GRACE_MS;
		const text = JSON.stringify({ v: PROTOCOL_VERSION, type: "close", code: CLOSE.revoked, reason: "API key revoked" });
		for (const ws of this.ctx.getWebSockets(`key:${keyHash}`)) {
			const state = stateOf(ws);
			if (!state || state.closeAt) continue;
			state.closeAt = at;
			ws.serializeAttachment(state);
			send(ws, text);
		}
		setTimeout(() => this.closeDue(Date.now()), CLOSE_GRACE_MS + 10);
	}

	/** Closes sockets whose grace ran out (also checked at every broadcast, in case the timer was lost). */
	private closeDue(now: number) {
		for (const ws of this.ctx.getWebSockets()) {
			const at = stateOf(ws)?.closeAt;
			if (at == null || at > now) continue;
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
		const attached = sockets.map((ws) => stateOf(ws));
		if (attached.some((a) => a?.closeAt)) this.closeDue(now);
		const states = attached.map((a) => a?.view ?? { event: null });
		const changes = counters.takeChanges(now, states);
		const texts = new Map<string, string>();
		const at = new Date(now).toISOString();
		sockets.forEach((ws, i) => {
			if (attached[i]?.closeAt) return;
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

