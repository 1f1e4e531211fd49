#!/usr/bin/env node
// Holds N live-view WebSockets in its own process (so the load generator's event loop is not
// shared) and measures what viewers see. Driven over IPC by bench/live.mjs:
//   {cmd:"connect", url, count} → {connected, failed, ms}
//   {cmd:"reset"}               → starts a measuring window
//   {cmd:"report"}              → {messages, bytes, per_viewer_per_s, latency_ms:{p50,p90,p99,max}, gaps, closed}
//   {cmd:"disconnect"}          → closes every socket, answers once all are closed
//   {cmd:"close"}               → closes every socket and exits
// Latency: for every feed item in a message, now − the event's received_at (set by the worker
// as the request arrived), i.e. ingest-to-viewer including the hub's coalescing window. It is
// split at the message's `at` (when the hub broadcast it): received → broadcast is the ingest
// request, the hub and the coalescing wait; broadcast → viewer is the fan-out.

const sockets = [];
const state = { measuring: false, t0: 0, messages: 0, bytes: 0, gaps: 0, closed: 0, hist: new Uint32Array(60_001), hub: new Uint32Array(60_001), fanout: new Uint32Array(60_001) };

/** Histogram bin of a latency in ms (clamped to 0..60 s). */
const bin = (ms) => Math.min(60_000, Math.max(0, ms));

function onMessage(v, data) {
	const now = Date.now();
	if (typeof data !== "string") return;
	const msg = JSON.parse(data);
	if (msg.type === "delta" && v.seq != null && msg.seq !== v.seq + 1) state.gaps++;
	v.seq = msg.seq;
	if (!state.measuring) return;
	state.messages++;
	state.bytes += data.length;
	const at = Date.parse(msg.at);
	if (msg.type === "delta")
		for (const item of msg.latest ?? []) {
			const received = Date.parse(item.received_at);
			state.hist[bin(now - received)]++;
			state.hub[bin(at - received)]++;
		}
	// Fan-out alone: from the hub's broadcast (`at`) to this socket.
	state.fanout[bin(now - at)]++;
}

function percentile(p, hist = state.hist) {
	const total = hist.reduce((a, b) => a + b, 0);
	if (!total) return null;
	let seen = 0;
	for (let ms = 0; ms < hist.length; ms++) {
		seen += hist[ms];
		if (seen >= total * p) return ms;
	}
	return null;
}

async function connect(url, count) {
	const t0 = Date.now();
	let connected = 0;
	let failed = 0;
	for (let i = 0; i < count; i += 50) {
		await Promise.all(
			Array.from({ length: Math.min(50, count - i) }, () =>
				new Promise((resolve) => {
					const ws = new WebSocket(url);
					const v = { ws, seq: null };
					ws.addEventListener("message", (m) => {
						if (v.seq == null) {
							connected++;
							resolve();
						}
						onMessage(v, m.data);
					});
					ws.addEventListener("close", () => {
						state.closed++;
						resolve();
					});
					ws.addEventListener("error", () => {
						failed++;
						resolve();
					});
					sockets.push(v);
				}),
			),
		);
	}
	// What the server agreed to (e.g. permessage-deflate): it decides the per-socket send cost.
	const extensions = sockets.find((v) => v.ws.readyState === WebSocket.OPEN)?.ws.extensions ?? "";
	return { connected, failed, ms: Date.now() - t0, extensions };
}

process.on("message", async (m) => {
	if (m.cmd === "connect") process.send(await connect(m.url, m.count));
	else if (m.cmd === "reset") {
		Object.assign(state, { measuring: true, t0: Date.now(), cpu0: process.cpuUsage(), messages: 0, bytes: 0, gaps: 0, hist: new Uint32Array(60_001), hub: new Uint32Array(60_001), fanout: new Uint32Array(60_001) });
		process.send({ ok: true });
	} else if (m.cmd === "report") {
		const secs = (Date.now() - state.t0) / 1000;
		const max = state.hist.findLastIndex((n) => n > 0);
		const cpu = process.cpuUsage(state.cpu0);
		process.send({
			seconds: Math.round(secs * 10) / 10,
			viewers: sockets.length,
			messages: state.messages,
			messages_per_s: Math.round(state.messages / secs),
			per_viewer_per_s: Math.round((state.messages / sockets.length / secs) * 100) / 100,
			bytes_per_s: Math.round(state.bytes / secs),
			latency_ms: { p50: percentile(0.5), p90: percentile(0.9), p99: percentile(0.99), max: max < 0 ? null : max },
			hub_ms: { p50: percentile(0.5, state.hub), p99: percentile(0.99, state.hub) },
			fanout_ms: { p50: percentile(0.5, state.fanout), p99: percentile(0.99, state.fanout) },
			gaps: state.gaps,
			closed: state.closed,
			// This process's CPU: on a 2-core machine the viewers compete with the runtime for cores.
			cpu_pct: Math.round(((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100),
		});
	} else if (m.cmd === "disconnect") {
		const open = sockets.filter((v) => v.ws.readyState !== WebSocket.CLOSED);
		// A socket whose close never completes must not hang the bench: give up on it after 10 s.
		await Promise.all(
			open.map(
				(v) =>
					new Promise((resolve) => {
						v.ws.addEventListener("close", resolve);
						setTimeout(resolve, 10_000).unref();
						v.ws.close(1000, "bench pass without viewers");
					}),
			),
		);
		sockets.length = 0;
		process.send({ closed: open.length });
	} else if (m.cmd === "close") {
		for (const v of sockets) v.ws.close(1000, "bench done");
		setTimeout(() => process.exit(0), 200);
	}
});
