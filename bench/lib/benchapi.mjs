// The worker's API as the benchmarks drive it: one `api()` whose non-2xx answers are errors that
// show status and body, new data flushed on demand (so the answer cache cannot answer), rollups run
// until caught up. Shared by bench:query (overview and board) and
// bench:dashboard.
import { DEV } from "../../scripts/dev-keys.mjs";
import { round, summary } from "./querystats.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (n, d = 0) => (n == null || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));

/** An unexpected HTTP answer: its message is the whole story (no stack needed). */
export class HttpError extends Error {}

/** JSON over HTTP with a bearer token; 429/503 and network errors are retried `retries` times. */
export async function api(base, method, path, { token, body, retries = 0 } = {}) {
	for (let attempt = 0; ; attempt++) {
		let res;
		let text;
		try {
			res = await fetch(`${base}${path}`, {
				method,
				headers: { authorization: `Bearer ${token}`, ...(body != null ? { "content-type": "application/json" } : {}) },
				body: body == null ? undefined : typeof body === "string" ? body : JSON.stringify(body),
			});
			text = await res.text();
		} catch (err) {
			if (attempt < retries) {
				await sleep(200 * 2 ** attempt);
				continue;
			}
			throw new HttpError(`${method} ${path}: request failed (${err.cause?.message ?? err.message})`);
		}
		if ((res.status === 429 || res.status === 503) && attempt < retries) {
			await sleep(Math.max(200 * 2 ** attempt, Number(res.headers.get("retry-after") ?? 0) * 1000));
			continue;
		}
		if (!res.ok) throw new HttpError(`${method} ${path} → HTTP ${res.status}: ${text.slice(0, 2000) || "(empty body)"}`);
		try {
			return JSON.parse(text);
		} catch {
			throw new HttpError(`${method} ${path} → HTTP ${res.status} but the body is not JSON: ${text.slice(0, 500)}`);
		}
	}
}

/** Throws a readable error when an answer does not have the shape the benchmark relies on. */
export function need(cond, what, value) {
	if (!cond) throw new HttpError(`unexpected answer: ${what}; got ${JSON.stringify(value)?.slice(0, 1500)}`);
}

/**
 * One new event through the ingest API, waited for until the hub has flushed it to D1: the data
 * stamp changes, so the next answers are computed, not taken from the worker's answer cache.
 */
export async function newData(base, keys) {
	await api(base, "POST", "/v1/events", { token: keys.ingest, body: { event: "bench_tick", user_id: "bench" } });
	for (const until = Date.now() + 10_000; Date.now() < until; await sleep(20)) {
		if ((await api(base, "GET", "/v1/ingest/stats", { token: keys.read })).buffered === 0) return;
	}
	throw new Error("the hub did not flush the new event in 10 s");
}

/** One status line, rewritten in place on a terminal (every 10 s otherwise). */
export function statusLine() {
	let last = 0;
	return (text, done = false) => {
		if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}${done ? "\n" : ""}`);
		else if (done || Date.now() - last > 10_000) {
			last = Date.now();
			process.stderr.write(`${text}\n`);
		}
	};
}

/**
 * POST /v1/admin/rollups/run until it reports caught_up. "Cron work" is the sum of the passes'
 * own duration_ms (what the scheduled handler would spend); wall time includes HTTP and waits.
 */
export async function rollupUntilCaughtUp(base, label, expected, timeoutS) {
	const t0 = performance.now();
	const passes = [];
	const details = [];
	const line = statusLine();
	let processed = 0;
	let buckets = 0;
	let idle = 0;
	for (;;) {
		const r = await api(base, "POST", "/v1/admin/rollups/run", { token: DEV.adminToken });
		// NOTE: the contract says processed_events; the worker in progress reports scanned_events.
		const n = r.processed_events ?? r.scanned_events;
		need(Number.isFinite(n) && Number.isFinite(r.duration_ms) && typeof r.caught_up === "boolean", "rollups/run returns {processed_events, buckets_written, duration_ms, caught_up}", r);
		details.push(r);
		passes.push(r.duration_ms);
		processed += n;
		buckets += r.buckets_written ?? 0;
		const work = passes.reduce((a, b) => a + b, 0);
		// pending_* are not in the contract: shown when the worker reports them.
		const pending = Number.isFinite(r.pending_hours) ? `, pending ${fmt(r.pending_hours)} hours / ${fmt(r.pending_days ?? 0)} days` : "";
		line(`${label}: pass ${passes.length}, ${fmt(processed)}/${fmt(expected)} events scanned, ${fmt(buckets)} buckets written${pending}, ${fmt(work / 1000, 1)} s cron work${r.caught_up ? ", caught up" : ""}`, r.caught_up);
		if (r.caught_up) break;
		idle = n === 0 && !r.buckets_written ? idle + 1 : 0;
		if (idle >= 20) throw new Error(`rollups are not progressing: 20 passes in a row processed nothing and were not caught up (last: ${JSON.stringify(r)})`);
		if ((performance.now() - t0) / 1000 > timeoutS) throw new Error(`rollups not caught up after ${timeoutS} s (${passes.length} passes, ${processed} events; last pass: ${JSON.stringify(r).slice(0, 600)}); raise BENCH_QUERY_ROLLUP_TIMEOUT`);
	}
	const work = passes.reduce((a, b) => a + b, 0);
	return {
		passes: passes.length,
		cron_work_s: round(work / 1000, 2),
		wall_s: round((performance.now() - t0) / 1000, 2),
		processed_events: processed,
		buckets_written: buckets,
		events_per_cron_s: work ? Math.round(processed / (work / 1000)) : null,
		pass_ms: summary(passes),
		// Every pass's own report, as the worker returned it (for the rollup's authors).
		pass_reports: details,
	};
}
