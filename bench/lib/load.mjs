// A small HTTP/1.1 keep-alive load generator on raw sockets.
//
// Why not autocannon for everything: (1) every request needs its own message_ids (else the hub's
// dedupe turns the run into a no-op); (2) autocannon's rate limit sends each second's quota in
// a burst, which is not "80% of peak" for latency purposes; (3) for a fixed-rate pass latency must
// be measured from when a request was *due*, not when a free connection finally sent it
// (coordinated omission). Raw sockets also keep the generator cheap: a few µs of CPU per request.
import net from "node:net";

const CRLF2 = Buffer.from("\r\n\r\n");

/** Percentile of a sorted Float64Array (nearest rank). */
export function percentile(sorted, p) {
	if (!sorted.length) return null;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[i];
}

class Latencies {
	constructor() {
		this.buf = new Float64Array(1 << 16);
		this.n = 0;
	}
	push(v) {
		if (this.n === this.buf.length) {
			const next = new Float64Array(this.buf.length * 2);
			next.set(this.buf);
			this.buf = next;
		}
		this.buf[this.n++] = v;
	}
	summary() {
		const s = this.buf.slice(0, this.n).sort();
		let sum = 0;
		for (const v of s) sum += v;
		const r = (v) => (v == null ? null : Math.round(v * 100) / 100);
		return { n: this.n, mean: r(this.n ? sum / this.n : null), p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? null) };
	}
}

/** One keep-alive connection; one request in flight at a time (no pipelining). */
class Conn {
	constructor(host, port, onResponse, onError) {
		this.socket = net.createConnection({ host, port, noDelay: true });
		this.socket.setKeepAlive(true);
		this.pending = null; // { due, sent }
		this.chunks = [];
		this.size = 0;
		this.onResponse = onResponse;
		this.socket.on("data", (d) => this.data(d));
		this.socket.on("error", (e) => onError(this, e));
		this.socket.on("close", () => {
			this.closed = true;
			if (this.pending) onError(this, new Error("connection closed"));
		});
		this.ready = new Promise((resolve, reject) => {
			this.socket.once("connect", resolve);
			this.socket.once("error", reject);
		});
	}
	send(buf, due) {
		this.pending = { due, sent: performance.now() };
		this.socket.write(buf);
	}
	data(d) {
		this.chunks.push(d);
		this.size += d.length;
		for (;;) {
			const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
			this.chunks = [buf];
			const end = buf.indexOf(CRLF2);
			if (end < 0) return;
			const head = buf.toString("latin1", 0, end);
			const status = Number(head.slice(9, 12));
			const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
			let bodyStart = end + 4;
			let body;
			let consumed;
			if (m) {
				const len = Number(m[1]);
				if (buf.length < bodyStart + len) return;
				body = buf.toString("utf8", bodyStart, bodyStart + len);
				consumed = bodyStart + len;
			} else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
				// Minimal chunked decoding (workerd uses it for streamed bodies).
				const parts = [];
				let at = bodyStart;
				for (;;) {
					const eol = buf.indexOf("\r\n", at);
					if (eol < 0) return;
					const len = Number.parseInt(buf.toString("latin1", at, eol), 16);
					if (buf.length < eol + 2 + len + 2) return;
					if (len === 0) {
						consumed = eol + 4;
						break;
					}
					parts.push(buf.toString("utf8", eol + 2, eol + 2 + len));
					at = eol + 2 + len + 2;
				}
				body = parts.join("");
			} else {
				body = "";
				consumed = bodyStart;
			}
			const rest = buf.subarray(consumed);
			this.chunks = rest.length ? [rest] : [];
			this.size = rest.length;
			const p = this.pending;
			this.pending = null;
			this.onResponse(this, status, body, p);
			if (!this.size) return;
		}
	}
	close() {
		this.socket.destroy();
	}
}

function requestBytes({ method, path, host, port, headers, body }) {
	const b = body == null ? null : Buffer.from(body);
	let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n`;
	for (const [k, v] of Object.entries(headers ?? {})) head += `${k}: ${v}\r\n`;
	head += `Content-Length: ${b ? b.length : 0}\r\n\r\n`;
	return b ? Buffer.concat([Buffer.from(head, "latin1"), b]) : Buffer.from(head, "latin1");
}

/**
 * Runs load against `url`.
 * - closed loop (rate = 0): `connections` connections each send back-to-back for the duration.
 * - open loop (rate > 0 req/s): requests are *due* at evenly spaced times; each goes out on a free
 *   connection (pool of `connections`), or waits for one. Latency counts from the due time.
 * Closed loop counts the responses completed inside the measuring window (after `warmupMs`); open loop
 * counts the requests *due* inside it, however late they complete (the backlog is sent after the end).
 * `makeBody()` gives each request's body; `count(status, body)` returns the events it accounts for.
 */
export async function runLoad({ url, method = "POST", headers = {}, makeBody, count = () => 1, connections = 16, durationMs = 10_000, warmupMs = 2_000, rate = 0 }) {
	const { hostname: host, port } = new URL(url);
	const path = new URL(url).pathname;
	const build = () => requestBytes({ method, path, host, port, headers, body: makeBody ? makeBody() : null });
	const lat = new Latencies();
	const service = new Latencies(); // open loop only: from actual send, excludes queueing here
	const statuses = {};
	let ok = 0;
	let events = 0;
	let errors = 0;
	let firstError = null;
	let measuring = false;
	let stopping = false;
	let tStart = 0;
	let tEnd = 0;
	let inFlight = 0;
	const queue = []; // open loop: due times of requests waiting for a connection
	const idle = [];
	let settle;
	const settled = new Promise((r) => (settle = r));

	const next = (c) => {
		if (stopping && !(rate > 0 && queue.length)) {
			if (inFlight === 0) settle();
			return;
		}
		if (rate > 0) {
			if (queue.length) dispatch(c, queue.shift());
			else idle.push(c);
		} else dispatch(c, performance.now());
	};
	const dispatch = (c, due) => {
		inFlight++;
		c.send(build(), due);
	};
	const onResponse = (c, status, body, p) => {
		inFlight--;
		const now = performance.now();
		const counted = rate > 0 ? p.due >= tStart && p.due <= tEnd : measuring && now <= tEnd;
		if (counted) {
			statuses[status] = (statuses[status] ?? 0) + 1;
			if (status === 200) {
				ok++;
				events += count(status, body);
			}
			lat.push(now - p.due);
			if (rate > 0) service.push(now - p.sent);
		}
		next(c);
	};
	const onError = (c, e) => {
		if (c.pending) inFlight--;
		c.pending = null;
		errors++;
		firstError ??= e.message;
		if (stopping && inFlight === 0) settle();
	};

	const conns = Array.from({ length: connections }, () => new Conn(host, port, onResponse, onError));
	await Promise.all(conns.map((c) => c.ready));
	const cpu0 = process.cpuUsage();
	const t0 = performance.now();
	tStart = t0 + warmupMs;
	tEnd = tStart + durationMs;
	const warm = setTimeout(() => (measuring = true), warmupMs);
	let ticker = null;
	if (rate > 0) {
		let due = 0; // requests made due so far
		idle.push(...conns);
		ticker = setInterval(() => {
			const now = performance.now();
			const target = Math.floor(((now - t0) / 1000) * rate);
			for (; due < target; due++) {
				const at = t0 + (due * 1000) / rate;
				const c = idle.pop();
				if (c) dispatch(c, at);
				else queue.push(at);
			}
		}, 1);
	} else for (const c of conns) next(c);

	await new Promise((r) => setTimeout(r, warmupMs + durationMs));
	stopping = true;
	measuring = false;
	clearTimeout(warm);
	if (ticker) clearInterval(ticker);
	const cpu = process.cpuUsage(cpu0);
	const backlog = queue.length;
	if (inFlight === 0) settle();
	let giveUp;
	await Promise.race([settled, new Promise((r) => (giveUp = setTimeout(r, 30_000)))]);
	clearTimeout(giveUp);
	for (const c of conns) c.close();
	const seconds = durationMs / 1000;
	return {
		connections,
		rate_target: rate || null,
		seconds,
		requests: Object.values(statuses).reduce((a, b) => a + b, 0),
		ok,
		statuses,
		errors,
		first_error: firstError,
		req_per_s: Math.round(ok / seconds),
		events_per_s: Math.round(events / seconds),
		events,
		latency_ms: lat.summary(),
		...(rate > 0 ? { service_latency_ms: service.summary(), backlog_at_end: backlog } : {}),
		generator_cpu_pct: Math.round(((cpu.user + cpu.system) / 1000 / (warmupMs + durationMs)) * 100),
	};
}
