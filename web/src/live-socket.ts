// The live WebSocket: connects with the key in the sub-protocol, applies snapshots and deltas
// (lib/live.ts), pings to stay open, and reconnects by itself with backoff. Each connection starts
// from a fresh snapshot, which the server sends first.
import { liveUrl } from "./api/client";
import type { LiveMessage, LiveSnapshot } from "./api/types";
import { backoffMs, FATAL_CLOSE_CODES, initialLive, type LiveState, step } from "./lib/live";

export type LiveStatus =
	| { kind: "connecting"; attempt: number }
	| { kind: "open"; since: number }
	| { kind: "retrying"; attempt: number; at: number; code: number }
	| { kind: "closed"; code: number; reason: string };

const PING_MS = 25_000;
/**
 * Nothing for this long, not even a pong (the server also sends a snapshot every minute): the
 * connection is dead without having said so (a half-open TCP connection); start a new one.
 */
const SILENCE_MS = 65_000;

export class LiveSocket {
	private ws: WebSocket | null = null;
	private state: LiveState = initialLive;
	private attempt = 0;
	private stopped = false;
	private retryTimer: ReturnType<typeof setTimeout> | null = null;
	private pingTimer: ReturnType<typeof setInterval> | null = null;
	private lastData = Date.now();

	constructor(
		private readonly key: string,
		private event: string | null,
		private readonly onSnapshot: (s: LiveSnapshot | null) => void,
		private readonly onStatus: (s: LiveStatus) => void,
	) {
		this.open();
		this.pingTimer = setInterval(() => this.tick(), PING_MS);
	}

	private open() {
		if (this.stopped) return;
		this.onStatus({ kind: "connecting", attempt: this.attempt });
		const ws = new WebSocket(liveUrl(this.event), ["edgewise.live.v1", `bearer.${this.key}`]);
		this.ws = ws;
		ws.onopen = () => {
			this.attempt = 0;
			this.lastData = Date.now();
			this.onStatus({ kind: "open", since: Date.now() });
		};
		ws.onmessage = ({ data }) => {
			if (ws !== this.ws || typeof data !== "string") return;
			this.lastData = Date.now();
			if (data === "pong") return;
			let msg: LiveMessage;
			try {
				msg = JSON.parse(data) as LiveMessage;
			} catch {
				return;
			}
			const next = step(this.state, msg);
			if (next.askSnapshot) this.send({ type: "snapshot" });
			if (next.state.snapshot !== this.state.snapshot) this.onSnapshot(next.state.snapshot);
			this.state = next.state;
		};
		ws.onclose = ({ code, reason }) => {
			if (ws !== this.ws) return;
			this.ws = null;
			if (this.stopped) return;
			if (FATAL_CLOSE_CODES.includes(code)) {
				this.onStatus({ kind: "closed", code, reason: reason || "The key was refused." });
				return;
			}
			const delay = backoffMs(this.attempt++, Math.random());
			this.onStatus({ kind: "retrying", attempt: this.attempt, at: Date.now() + delay, code });
			this.retryTimer = setTimeout(() => this.open(), delay);
		};
	}

	private send(msg: unknown) {
		if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
	}

	private tick() {
		const ws = this.ws;
		if (ws?.readyState !== WebSocket.OPEN) return;
		if (Date.now() - this.lastData > SILENCE_MS) {
			// Forget the silent socket (its close may never come) and reconnect as after a drop.
			ws.onclose = ws.onmessage = null;
			ws.close(3000, "no answer");
			this.ws = null;
			const delay = backoffMs(this.attempt++, Math.random());
			this.onStatus({ kind: "retrying", attempt: this.attempt, at: Date.now() + delay, code: 3000 });
			this.retryTimer = setTimeout(() => this.open(), delay);
			return;
		}
		this.send("ping");
	}

	/** Reconnects at once (a "Reconnect now" button while waiting for a retry). */
	retryNow() {
		if (this.retryTimer) clearTimeout(this.retryTimer);
		this.retryTimer = null;
		if (!this.ws) this.open();
	}

	/** Narrows the view to one event name (null: all); the server answers with its snapshot. */
	subscribe(event: string | null) {
		this.event = event;
		this.state = { ...this.state, resyncing: true };
		this.send({ type: "subscribe", event });
	}

	close() {
		this.stopped = true;
		if (this.retryTimer) clearTimeout(this.retryTimer);
		if (this.pingTimer) clearInterval(this.pingTimer);
		// A close without a code ends as 1006 after a while; 1000 closes cleanly at once.
		this.ws?.close(1000, "bye");
		this.ws = null;
	}
}
