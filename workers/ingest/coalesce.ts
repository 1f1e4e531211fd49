import type { Env } from "../env";
import type { IngestBatch, IngestOutcome } from "../hub/tenant-hub";

/**
 * Calls to one tenant's hub in flight at once from this isolate. NOTE: one, so that the requests
 * arriving during a call all go in the next one: with two, calls were smaller (4.2 requests per
 * hub call against 6.3 for single-event requests in bench:ingest) and each call costs an RPC and a
 * storage commit with its fsync; single-event throughput was 25% higher with one, at the same p99.
 */
const MAX_IN_FLIGHT = 1;
/** Events per coalesced call, so one call's arguments stay a modest structured clone. */
const MAX_EVENTS_PER_CALL = 5000;
/**
 * Estimated bytes per coalesced call. NOTE: RPC arguments are limited to 32 MiB serialized; 5,000
 * events of 30 KB each are 150 MB, so events alone do not bound a call. One request is at most a
 * 1 MiB body (about 3 MB as canonical events), so a call of one request always fits.
 */
const MAX_BYTES_PER_CALL = 8 * 1024 * 1024;
/** Serialized size of a canonical event beyond its share of the body (ids, enrichment, field names). */
const EVENT_OVERHEAD_BYTES = 600;
/** How often a waiting request looks at its slot once its call is about due. */
const POLL_MS = 1;
/** The longest a waiting request sleeps before it looks (a cap on a stale estimate). */
const MAX_SLEEP_MS = 20;
/**
 * A call older than this no longer holds a slot: its request may have been cancelled (client gone)
 * before its `finally` could run. Requests waiting longer than this give up with an error; their
 * clients retry, and message_id dedupe makes the retry safe whether or not the call landed.
 */
const STALE_MS = 30_000;

interface Item {
	batch: IngestBatch;
	/** Estimated serialized size of the batch. */
	bytes: number;
	state: "waiting" | "sent" | "done" | "failed";
	outcome?: IngestOutcome;
	error?: unknown;
	/** When the call carrying it started. */
	sentAt?: number;
}

interface Queue {
	waiting: Item[];
	/** Start times of calls in flight. */
	calls: Set<{ at: number }>;
	/** Recent hub call durations, smoothed (ms). */
	callMs: number;
}

const queues = new Map<string, Queue>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Group commit at the edge: requests for one tenant that arrive while this isolate already has
 * calls in flight to the tenant's hub wait, and the next call carries all of them. Under low load
 * nothing waits; under high load one hub call (one storage commit) acknowledges many requests,
 * which also keeps a tenant's Durable Object far below its per-object request limit.
 *
 * NOTE: a promise resolved by another request would resume this one inside that request's I/O
 * context, which the runtime forbids. So requests never await each other: the carrier writes
 * plain data into the item and each waiting request checks it on its own timer. Any waiting
 * request that finds a slot free makes the next call, so a cancelled request cannot stall the
 * others.
 */
export async function submitToHub(env: Env, batch: IngestBatch, bodyBytes: number): Promise<IngestOutcome> {
	let q = queues.get(batch.tenantId);
	if (!q) queues.set(batch.tenantId, (q = { waiting: [], calls: new Set(), callMs: lastCallMs.get(batch.tenantId) ?? 1 }));
	const item: Item = { batch, bytes: bodyBytes + (batch.events.length + batch.rejections.length) * EVENT_OVERHEAD_BYTES, state: "waiting" };
	q.waiting.push(item);
	const since = Date.now();
	for (;;) {
		if (item.state === "done") return item.outcome!;
		if (item.state === "failed") throw item.error;
		const now = Date.now();
		for (const call of q.calls) if (now - call.at > STALE_MS) q.calls.delete(call);
		// Any waiting request that finds a free slot makes the call (it carries the queue from its
		// head). Waiting for the head's next timer tick instead left slots idle: bench:live's p99 at
		// 80% load went from 131 ms to 2.5-3 s.
		if (item.state === "waiting" && q.calls.size < MAX_IN_FLIGHT) {
			await lead(env, batch.tenantId, q);
			continue;
		}
		if (now - since > STALE_MS) {
			const at = q.waiting.indexOf(item);
			if (at >= 0) q.waiting.splice(at, 1);
			throw new Error("timed out waiting for the tenant hub; retry (message_id makes it safe)");
		}
		await sleep(sleepFor(q, item, now));
	}
}

/** Smoothed hub call durations per tenant, kept when its queue empties. */
const lastCallMs = new Map<string, number>();

/**
 * How long a waiting request sleeps before it looks again: until about when the call that
 * carries it (or the call it waits behind) should be answered, judged from recent calls, then
 * every POLL_MS. NOTE: requests cannot wake each other (see submitToHub), and a timer callback
 * into a request costs the runtime thread more than the few lines it runs. Looking every
 * millisecond from the start meant tens of thousands of callbacks a second at 32 concurrent
 * single-event requests, most finding nothing to do (timer callbacks, work included, were 9.5% of
 * the thread in bench:ingest's profile).
 */
function sleepFor(q: Queue, item: Item, now: number): number {
	let due = 0;
	if (item.state === "sent" && item.sentAt != null) due = item.sentAt + q.callMs;
	else for (const call of q.calls) due = Math.max(due, call.at + q.callMs);
	// Three quarters of the estimate: waking a little early costs a look, waking late costs latency.
	return Math.min(MAX_SLEEP_MS, Math.max(POLL_MS, Math.round((due - now) * 0.75)));
}

/**
 * Durable Object ids by tenant. NOTE: idFromName hashes the name with the namespace's key on every
 * call; an id is a plain value (unlike a stub, which belongs to the request that made it), so the
 * isolate keeps them. The stub is made per call, as hubOf does.
 */
const hubIds = new Map<string, DurableObjectId>();

function hubStub(env: Env, tenantId: string) {
	let id = hubIds.get(tenantId);
	if (!id) {
		if (hubIds.size > 10_000) hubIds.clear();
		hubIds.set(tenantId, (id = env.TENANT_HUB.idFromName(tenantId)));
	}
	return env.TENANT_HUB.get(id);
}

async function lead(env: Env, tenantId: string, q: Queue): Promise<void> {
	const group: Item[] = [];
	let events = 0;
	let bytes = 0;
	while (q.waiting.length) {
		const next = q.waiting[0]!;
		if (group.length && (events + next.batch.events.length > MAX_EVENTS_PER_CALL || bytes + next.bytes > MAX_BYTES_PER_CALL)) break;
		q.waiting.shift();
		next.state = "sent";
		group.push(next);
		events += next.batch.events.length;
		bytes += next.bytes;
	}
	const call = { at: Date.now() };
	for (const item of group) item.sentAt = call.at;
	q.calls.add(call);
	try {
		await deliver(env, tenantId, group);
	} finally {
		const ms = Date.now() - call.at;
		q.callMs = Math.min(MAX_SLEEP_MS, q.callMs * 0.8 + ms * 0.2);
		if (lastCallMs.size > 10_000) lastCallMs.clear();
		lastCallMs.set(tenantId, q.callMs);
		q.calls.delete(call);
		if (!q.calls.size && !q.waiting.length) queues.delete(tenantId);
	}
}

/**
 * One hub call for a group. If the call fails as a whole, each request is sent again on its own,
 * so a request that breaks a call fails alone and its neighbours still get their answer. Sending
 * again is safe: a request keeps its message_ids (generated ones too), so whatever the failed
 * call may have committed comes back as duplicates, never as a second copy.
 */
async function deliver(env: Env, tenantId: string, group: Item[]): Promise<void> {
	try {
		const result = await hubStub(env, tenantId).ingestMany(group.map((i) => i.batch));
		// An RPC result belongs to the request that made the call: hand out plain copies.
		const outcomes = JSON.parse(JSON.stringify(result)) as IngestOutcome[];
		group.forEach((item, i) => {
			item.outcome = outcomes[i];
			item.state = "done";
		});
	} catch (err) {
		if (group.length > 1) {
			for (const item of group) await deliver(env, tenantId, [item]);
			return;
		}
		const item = group[0]!;
		item.error = err instanceof Error ? new Error(err.message) : new Error(String(err));
		item.state = "failed";
	}
}
