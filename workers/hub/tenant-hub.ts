import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { activeKey } from "../auth/keys";
import { tenants } from "../db/schema";
import type { Env } from "../env";
import type { CanonicalEvent, Rejection } from "../ingest/event";
import type { LiveEvent, LiveView } from "../live/counters";
import { LiveChannel, type SocketState } from "../live/channel";
import { type AnalyticsSink, analyticsSink } from "./analytics";
import { type BufferRow, messageOf, type Refusal, refusalRow, STATEMENT_MAX_BYTES, writeRowIsolating, writeRows, isTransient } from "./d1-writer";
import type { RejectedRow, SharedContextRow } from "./flush";
import { migrateHub, readStats } from "./storage";

/** What the API worker hands the hub for one request. */
export interface IngestBatch {
	tenantId: string;
	keyHash: string;
	origin: string | null;
	receivedAt: number;
	events: CanonicalEvent[];
	rejections: Rejection[];
	/** Shared contexts the events reference by context_id (a Segment batch's), stored once. */
	contexts: SharedContextRow[];
}

export type IngestOutcome =
	| { ok: true; accepted: number; rejected: number; duplicates: number; duplicate_indexes: number[] }
	| { ok: false; status: 401 | 403 | 429 | 500; code: string; message: string; retryAfter?: number };

interface KeyState {
	scope: string;
	allowedOrigins: string[] | null;
	lastUsed: number;
	lastUsedWritten: number;
}

/** Delay between the first buffered write and the flush that follows it. */
export const FLUSH_DELAY_MS = 200;
/**
 * One D1 batch: at most this many events / bytes of JSON (D1 caps a value at 2 MB). Modest
 * batches keep each D1 call short, so ingest and broadcasts interleave with flushing.
 */
const FLUSH_MAX_EVENTS = 2000;
const FLUSH_MAX_BYTES = 1_500_000;
/** One buffer row's JSON stays under this, so it fits one D1 bound value (D1 caps them at 2 MB). */
const MAX_ROW_BYTES = STATEMENT_MAX_BYTES;
/** One alarm run flushes at most this much, then re-arms at once (bounded work per invocation). */
const ALARM_MAX_EVENTS = 25_000;
/** How long message_ids are remembered here for exact dedupe; D1's primary key backs it up after. */
export const DEDUPE_WINDOW_MS = 7 * 24 * 3600_000;
const KEY_REFRESH_MS = 60_000;
/** After a failed refresh (D1 unavailable), the next try. */
const KEY_RETRY_MS = 5_000;

/** A request the hub could not store: retryable, and safe to retry (message_ids dedupe it). */
const HUB_STORE_FAILED: IngestOutcome = { ok: false, status: 500, code: "internal_error", message: "The tenant hub could not store this request; retrying it is safe." };

/** Splits items into buffer rows small enough to flush as one D1 value each (appended to `rows`). */
function bufferRows(rows: [kind: "events" | "rejected", n: number, body: string, contexts: string | null][], kind: "events" | "rejected", items: unknown[], contexts: string | null) {
	const body = JSON.stringify(items);
	if (body.length > MAX_ROW_BYTES && items.length > 1) {
		const half = Math.ceil(items.length / 2);
		// Each half carries the shared contexts: they are small (≤ 32 KB) and stored once anyway.
		bufferRows(rows, kind, items.slice(0, half), contexts);
		bufferRows(rows, kind, items.slice(half), contexts);
		return;
	}
	rows.push([kind, items.length, body, contexts]);
}

/**
 * One per tenant. The durable write-ahead buffer of ingest: a request is acknowledged only once
 * its events are committed to this object's SQLite storage (the output gate holds the response
 * until then). An alarm then flushes the buffer to D1 in large idempotent chunks.
 * It is also the authority on the tenant's keys for ingest, so a revoked key stops at once.
 */
export class TenantHub extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	private tenantId: string | null = null;
	private keys = new Map<string, KeyState>();
	/** The keys known before the last refresh, re-checked as they are used; the fallback while D1 is unavailable. */
	private staleKeys = new Map<string, KeyState>();
	private keysLoadedAt = 0;
	/** Bumped by every key change notification, so a D1 read that raced one is not cached. */
	private keyEpoch = 0;
	private rateLimitEps = 0;
	private tokens = 0;
	private tokensAt = 0;
	private alarmArmed = false;
	/** Ingest calls and the requests they carried since this instance started (coalescing factor). */
	private calls = { calls: 0, requests: 0, since: Date.now() };
	/** Highest buffer seq known to be in D1 (read from hub_flushes once per instance). */
	private flushedSeq: number | null = null;
	/** Where accepted events go after D1; tests swap it for a recorder. */
	sink: AnalyticsSink;
	readonly live: LiveChannel;
	/** Serialises D1 flushes with live-counter rebuilds (see LiveChannel.ready). */
	private flushLock: Promise<unknown> = Promise.resolve();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		migrateHub(this.sql);
		this.sink = analyticsSink(env);
		// Viewers' keep-alive pings are answered by the runtime without waking the object.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
		this.live = new LiveChannel(ctx, {
			bufferedEvents: () =>
				this.sql
					.exec<{ seq: number; body: string }>("SELECT seq, body FROM buffer WHERE kind = 'events' ORDER BY seq")
					.toArray()
					.map((r) => ({ seq: r.seq, events: JSON.parse(r.body) as LiveEvent[] })),
			history: (since, usersSince) => this.history(since, usersSince),
			pauseFlush: (fn) => this.withFlushLock(fn),
		});
		const meta = this.sql.exec<{ tenant_id: string | null }>("SELECT tenant_id FROM stats WHERE id = 1").one();
		this.tenantId = meta.tenant_id;
	}

	private bindTenant(tenantId: string) {
		if (this.tenantId === tenantId) return;
		if (this.tenantId && this.tenantId !== tenantId) throw new Error(`hub of ${this.tenantId} asked to serve ${tenantId}`);
		this.tenantId = tenantId;
		this.sql.exec("UPDATE stats SET tenant_id = ? WHERE id = 1", tenantId);
	}

	private async loadTenant(now: number) {
		const refreshMs = Number(this.env.HUB_KEY_REFRESH_MS) || KEY_REFRESH_MS;
		if (this.rateLimitEps && now - this.keysLoadedAt < refreshMs) return;
		let row: typeof tenants.$inferSelect | undefined;
		try {
			row = await drizzle(this.env.DB).select().from(tenants).where(eq(tenants.id, this.tenantId!)).get();
		} catch (err) {
			// D1 unavailable at a periodic refresh: a hub that has its tenant keeps its rate limit and the
			// keys it knows (revocations reach it directly), so ingest goes on through an outage; it tries
			// again in a few seconds. Without a first load there is nothing to go on: the error stands.
			if (!this.rateLimitEps) throw err;
			console.warn("hub: tenant refresh failed; keeping the cached settings and keys", String(err));
			this.keysLoadedAt = now - refreshMs + KEY_RETRY_MS;
			return;
		}
		this.rateLimitEps = row?.rateLimitEps ?? 0;
		if (!this.tokensAt) {
			this.tokens = this.rateLimitEps;
			this.tokensAt = now;
		}
		// Periodic re-check of cached keys: a backstop for a revoke notification that failed.
		this.staleKeys = this.keys;
		this.keys = new Map();
		this.keysLoadedAt = now;
	}

	private async key(keyHash: string, now: number): Promise<KeyState | null> {
		const cached = this.keys.get(keyHash);
		if (cached) return cached;
		const epoch = this.keyEpoch;
		let row: Awaited<ReturnType<typeof activeKey>>;
		try {
			row = await activeKey(this.env.DB, this.tenantId!, keyHash);
		} catch (err) {
			// D1 unavailable: a key this hub knew before its last refresh stays good until D1 answers
			// (a revocation since would have reached the hub and removed it); an unknown key cannot be checked.
			const stale = this.staleKeys.get(keyHash);
			if (!stale) throw err;
			this.keys.set(keyHash, stale);
			return stale;
		}
		if (!row) return null;
		const state = { scope: row.scope, allowedOrigins: row.allowedOrigins ?? null, lastUsed: now, lastUsedWritten: 0 };
		// A revoke that arrived while D1 answered may have read the row before its update: re-check.
		if (epoch !== this.keyEpoch) return this.key(keyHash, now);
		this.keys.set(keyHash, state);
		return state;
	}

	/** Token bucket on events per second; returns seconds to wait, or 0 when admitted. */
	private admit(n: number, now: number): number {
		const rate = this.rateLimitEps;
		if (rate <= 0) return 1;
		this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) / 1000) * rate);
		this.tokensAt = now;
		const need = Math.min(n, rate);
		if (this.tokens >= need) {
			this.tokens -= n;
			return 0;
		}
		return Math.max(1, Math.ceil((need - this.tokens) / rate));
	}

	/** Durably buffers a request's events and rejections; resolves only after they are committed. */
	async ingest(batch: IngestBatch): Promise<IngestOutcome> {
		return (await this.ingestMany([batch]))[0]!;
	}

	/**
	 * Several requests' batches in one call (the API worker coalesces concurrent requests): each is
	 * checked and written on its own, so one that fails fails alone; all are committed together
	 * (one storage commit for the lot: group commit).
	 */
	async ingestMany(batches: IngestBatch[]): Promise<IngestOutcome[]> {
		const now = Date.now();
		this.calls.calls++;
		this.calls.requests += batches.length;
		for (const b of batches) this.bindTenant(b.tenantId);
		await this.loadTenant(now);
		const hashes = [...new Set(batches.map((b) => b.keyHash))];
		const found = await Promise.all(hashes.map((h) => this.key(h, now)));
		const keys = new Map(hashes.map((h, i) => [h, found[i] ?? null]));
		// NOTE: no await below this line: every write lands in the same implicit transaction.
		let stored: { outcomes: IngestOutcome[]; fresh: CanonicalEvent[] };
		try {
			stored = this.ctx.storage.transactionSync(() => this.storeAll(batches, keys, now));
		} catch (err) {
			if (batches.length === 1) {
				console.error("hub could not store a request", this.tenantId, err);
				stored = { outcomes: [HUB_STORE_FAILED], fresh: [] };
			} else {
				// The call's shared writes failed (nothing of it stayed): each request on its own, so
				// a request that breaks them fails alone.
				console.error("hub could not store a group of requests; storing them one by one", this.tenantId, err);
				stored = { outcomes: [], fresh: [] };
				for (const batch of batches) {
					try {
						const one = this.ctx.storage.transactionSync(() => this.storeAll([batch], keys, now));
						stored.outcomes.push(one.outcomes[0]!);
						stored.fresh.push(...one.fresh);
					} catch (e) {
						console.error("hub could not store a request", this.tenantId, e);
						stored.outcomes.push(HUB_STORE_FAILED);
					}
				}
			}
		}
		this.live.record(stored.fresh);
		if (stored.outcomes.some((o) => o.ok && o.accepted + o.rejected > 0)) await this.armAlarm(now);
		return stored.outcomes;
	}

	/**
	 * Stores a call's batches, in one transaction (the caller's): one dedupe lookup for all their
	 * message_ids, each request's buffer rows, then one insert of the new ids and one update of
	 * the counters for the requests that were stored.
	 * NOTE: these per-call statements replace four statements and a savepoint per request (a
	 * dedupe lookup, an insert into `seen`, the counters, the request's own transaction): SQLite
	 * work in the hub was about 10% of the runtime thread for single-event requests in
	 * bench:ingest's profile, most of it the fixed cost of each statement.
	 */
	private storeAll(batches: IngestBatch[], keys: Map<string, KeyState | null>, now: number) {
		const ids: string[] = [];
		for (const b of batches) for (const e of b.events) ids.push(e.message_id);
		// Ids remembered here, plus those of the requests stored earlier in this call.
		const known = this.knownIds(ids);
		const outcomes: IngestOutcome[] = [];
		const fresh: CanonicalEvent[] = [];
		const freshIds: string[] = [];
		const counts = { received: 0, accepted: 0, rejected: 0, duplicates: 0 };
		for (const batch of batches) {
			let r: ReturnType<TenantHub["admitOne"]>;
			try {
				r = this.admitOne(batch, keys.get(batch.keyHash) ?? null, now, known);
			} catch (err) {
				// Its rows are not there: a single statement or its own nested transaction rolled back.
				console.error("hub could not store a request", this.tenantId, err);
				outcomes.push(HUB_STORE_FAILED);
				continue;
			}
			outcomes.push(r.outcome);
			if (!r.outcome.ok) continue;
			for (const e of r.accepted) {
				known.add(e.message_id);
				freshIds.push(e.message_id);
				fresh.push(e);
			}
			counts.received += batch.events.length + batch.rejections.length;
			counts.accepted += r.outcome.accepted;
			counts.rejected += r.outcome.rejected;
			counts.duplicates += r.outcome.duplicates;
		}
		if (freshIds.length) this.sql.exec("INSERT INTO seen (message_id, at) SELECT value, ? FROM json_each(?)", now, JSON.stringify(freshIds));
		if (counts.received)
			this.sql.exec(
				`UPDATE stats SET received = received + ?, accepted = accepted + ?, rejected = rejected + ?,
				 duplicates = duplicates + ?, buffered = buffered + ?, last_ingest_at = ? WHERE id = 1`,
				counts.received,
				counts.accepted,
				counts.rejected,
				counts.duplicates,
				counts.accepted + counts.rejected,
				now,
			);
		return { outcomes, fresh };
	}

	/**
	 * Checks one request's batch (key, origin, rate), dedupes it against `known` (not changed
	 * here) and writes its buffer rows: all of them or none. The caller records its ids and counts.
	 */
	private admitOne(batch: IngestBatch, key: KeyState | null, now: number, known: ReadonlySet<string>): { outcome: IngestOutcome; accepted: CanonicalEvent[] } {
		const refuse = (outcome: IngestOutcome) => ({ outcome, accepted: [] });
		if (!key) return refuse({ ok: false, status: 401, code: "unauthorized", message: "This API key has been revoked." });
		if (key.scope !== "ingest")
			return refuse({ ok: false, status: 403, code: "forbidden", message: `This key has the '${key.scope}' scope; ingest needs an 'ingest' key.` });
		if (batch.origin && key.allowedOrigins && !key.allowedOrigins.includes(batch.origin))
			return refuse({ ok: false, status: 403, code: "origin_not_allowed", message: `Origin '${batch.origin}' is not allowed for this key.` });
		const wait = this.admit(batch.events.length + batch.rejections.length, now);
		if (wait)
			return refuse({
				ok: false,
				status: 429,
				code: "rate_limited",
				message: `Tenant is over its limit of ${this.rateLimitEps} events per second; retry after ${wait} s.`,
				retryAfter: wait,
			});
		key.lastUsed = now;
		// Exact dedupe against the ids seen in the window, and within the batch itself.
		const accepted: CanonicalEvent[] = [];
		const duplicateIndexes: number[] = [];
		const mine = new Set<string>();
		batch.events.forEach((e, i) => {
			if (known.has(e.message_id) || mine.has(e.message_id)) duplicateIndexes.push(i);
			else {
				mine.add(e.message_id);
				accepted.push(e);
			}
		});
		const rejected: RejectedRow[] = batch.rejections.map((r) => ({
			received_at: batch.receivedAt,
			code: r.code,
			message: r.message,
			details: { index: r.index, path: r.path, ...(r.issues ? { issues: r.issues } : {}) },
			payload: r.payload,
		}));
		const rows: [kind: "events" | "rejected", n: number, body: string, contexts: string | null][] = [];
		if (accepted.length) {
			const used = new Set(accepted.map((e) => e.context_id).filter((id) => id != null));
			const contexts = batch.contexts.filter((c) => used.has(c.id));
			bufferRows(rows, "events", accepted, contexts.length ? JSON.stringify(contexts) : null);
		}
		if (rejected.length) bufferRows(rows, "rejected", rejected, null);
		const insert = (r: (typeof rows)[number]) => this.sql.exec("INSERT INTO buffer (kind, n, body, contexts) VALUES (?, ?, ?, ?)", ...r);
		// One statement is all or nothing by itself; several need a transaction of their own.
		if (rows.length === 1) insert(rows[0]!);
		else if (rows.length > 1) this.ctx.storage.transactionSync(() => rows.forEach(insert));
		return { outcome: { ok: true, accepted: accepted.length, rejected: rejected.length, duplicates: duplicateIndexes.length, duplicate_indexes: duplicateIndexes }, accepted };
	}

	/** Which of `ids` the hub remembers (within the dedupe window). */
	private knownIds(ids: string[]): Set<string> {
		if (!ids.length) return new Set();
		return new Set(
			this.sql
				.exec<{ id: string }>("SELECT j.value AS id FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM seen s WHERE s.message_id = j.value)", JSON.stringify(ids))
				.toArray()
				.map((r) => r.id),
		);
	}

	private async armAlarm(now: number) {
		if (this.alarmArmed) return;
		this.alarmArmed = true;
		const at = now + (Number(this.env.FLUSH_DELAY_MS) || FLUSH_DELAY_MS);
		const current = await this.ctx.storage.getAlarm();
		// An alarm may already be set for the viewers' next minute tick: flush sooner than that.
		if (current == null || current > at) await this.ctx.storage.setAlarm(at);
	}

	/** Flushes buffered events to D1; at-least-once, and idempotent thanks to INSERT OR IGNORE. */
	override async alarm(): Promise<void> {
		this.alarmArmed = false;
		await this.withFlushLock(async () => {
			let done = 0;
			try {
				while (done < ALARM_MAX_EVENTS) {
					const n = await this.flushOnce();
					if (!n) break;
					done += n;
				}
				this.pruneSeen(Date.now());
			} catch (err) {
				this.sql.exec("UPDATE stats SET last_flush_error = ? WHERE id = 1", String((err as Error)?.message ?? err));
				throw err; // the runtime retries the alarm with backoff
			}
		});
		const now = Date.now();
		// The live window slides each minute: viewers get a fresh snapshot at the boundary.
		this.live.broadcast(now);
		const left = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM buffer").one().n;
		const next = left ? now : this.live.nextTick(now);
		// NOTE: a request during this run may have set alarmArmed and its alarm, and the loop above
		// then flushed its events. The alarm set below replaces that one, so the flag must say
		// what this alarm is: armed for a flush only if events are left. A stale true would keep
		// the next requests from arming theirs, and with viewers connected their events would wait
		// for the minute tick (seconds of backlog, flushed in one long stall).
		this.alarmArmed = left > 0;
		if (next != null) await this.ctx.storage.setAlarm(next);
	}

	private withFlushLock<T>(fn: () => Promise<T>): Promise<T> {
		const run = this.flushLock.then(fn, fn);
		this.flushLock = run.catch(() => {});
		return run;
	}

	/** D1 history of the live window, for rebuilding counters after the object restarted. */
	private async history(since: number, usersSince: number) {
		const db = this.env.DB;
		const tenant = this.tenantId;
		if (!tenant) return { maxSeq: 0, counts: [], users: [], latest: [] };
		// NOTE: one batch = one D1 transaction, so the marker and the rows agree.
		const [marker, counts, users, latest] = await db.batch<Record<string, unknown>>([
			db.prepare("SELECT max_seq FROM hub_flushes WHERE hub_id = ?").bind(this.ctx.id.toString()),
			db.prepare("SELECT received_at / 60000 AS m, event, count(*) AS n FROM events WHERE tenant_id = ? AND received_at >= ? GROUP BY m, event").bind(tenant, since),
			db
				.prepare(
					`SELECT CASE WHEN user_id IS NOT NULL THEN 'u:' || user_id ELSE 'a:' || anonymous_id END AS u, event, max(received_at) / 60000 AS m
					 FROM events WHERE tenant_id = ? AND received_at >= ? AND (user_id IS NOT NULL OR anonymous_id IS NOT NULL) GROUP BY u, event`,
				)
				.bind(tenant, usersSince),
			db
				.prepare("SELECT event, user_id, anonymous_id, timestamp, received_at, country, device FROM events WHERE tenant_id = ? AND received_at >= ? ORDER BY received_at DESC LIMIT 20")
				.bind(tenant, since),
		]);
		return {
			maxSeq: Number(marker!.results[0]?.max_seq ?? 0),
			counts: counts!.results as { m: number; event: string; n: number }[],
			users: users!.results as { u: string; event: string; m: number }[],
			latest: (latest!.results as LiveEvent[]).reverse(),
		};
	}

	/** WebSocket upgrades for GET /v1/live, already authenticated by the API worker. */
	override async fetch(request: Request): Promise<Response> {
		const tenantId = request.headers.get("x-edgewise-tenant");
		const keyHash = request.headers.get("x-edgewise-key");
		if (request.headers.get("upgrade")?.toLowerCase() !== "websocket" || !tenantId || !keyHash)
			return new Response("expected an authenticated WebSocket upgrade", { status: 400 });
		this.bindTenant(tenantId);
		const view = JSON.parse(request.headers.get("x-edgewise-view") ?? "{}") as Partial<LiveView>;
		const state: SocketState = { keyHash, view: { event: view.event ?? null } };
		const response = await this.live.connect(state, request.headers.get("x-edgewise-protocol") || null);
		const next = this.live.nextTick(Date.now());
		if (next != null && (await this.ctx.storage.getAlarm()) == null) await this.ctx.storage.setAlarm(next);
		return response;
	}

	override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
		await this.live.message(ws, message);
	}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		try {
			// 1005/1006 mean "no code" and may not be sent back: answer a plain close with 1000.
			ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
		} catch {
			// already closed
		}
	}

	/** The live snapshot over plain HTTP, as JSON text (or how long the key must wait). */
	async liveSnapshot(tenantId: string, view: LiveView, keyHash: string) {
		this.bindTenant(tenantId);
		return this.live.snapshot(view, keyHash);
	}

	/** One D1 batch: returns the number of buffered items it moved. */
	private async flushOnce(): Promise<number> {
		// Sizes first, bodies only for the rows this batch takes: after an outage the buffer may hold
		// hundreds of megabytes, and an isolate has 128 MB.
		const rows = this.sql
			.exec<{ seq: number; kind: string; n: number; bytes: number }>(
				"SELECT seq, kind, n, length(CAST(body AS BLOB)) + coalesce(length(CAST(contexts AS BLOB)), 0) AS bytes FROM buffer ORDER BY seq LIMIT 200",
			)
			.toArray();
		if (!rows.length || !this.tenantId) return 0;
		const db = this.env.DB;
		const hubId = this.ctx.id.toString();
		if (this.flushedSeq == null) {
			const row = await db.prepare("SELECT max_seq FROM hub_flushes WHERE hub_id = ?").bind(hubId).first<{ max_seq: number }>();
			this.flushedSeq = row?.max_seq ?? 0;
		}
		if (rows[0]!.seq <= this.flushedSeq) return this.dropFlushed(this.flushedSeq);
		const picked: typeof rows = [];
		let events = 0;
		let bytes = 0;
		for (const r of rows) {
			if (picked.length && (events + r.n > FLUSH_MAX_EVENTS || bytes + r.bytes > FLUSH_MAX_BYTES)) break;
			picked.push(r);
			events += r.n;
			bytes += r.bytes;
		}
		const maxSeq = picked[picked.length - 1]!.seq;
		const take = this.sql
			.exec<BufferRow>("SELECT seq, kind, n, body, contexts FROM buffer WHERE seq BETWEEN ? AND ? ORDER BY seq", picked[0]!.seq, maxSeq)
			.toArray();
		const now = Date.now();
		let stored: Set<string>;
		try {
			// NOTE: D1's batch() is one transaction: all rows and the flush marker land or none do.
			stored = await writeRows(db, this.tenantId, take, [...this.keyUpdates(now), this.marker(maxSeq, now)], now);
		} catch (err) {
			if (isTransient(err)) throw err;
			// D1 refused something in these rows: find it, row by row, and move it aside.
			return this.flushIsolating(take[0]!, now, err);
		}
		const written = this.finishRows(take, stored, [], now);
		if (written.length) await this.sink.write(this.tenantId, written);
		return events;
	}

	/**
	 * Flushes one buffer row item by item after D1 refused a batch holding it. What D1 refuses for
	 * good (see writeRowIsolating) goes to rejected_events with D1's reason, committed with the
	 * row's flush marker; the rest of the row lands as usual. The flush then goes on with the next
	 * rows, so no event can hold up the ones after it.
	 */
	private async flushIsolating(row: BufferRow, now: number, cause: unknown): Promise<number> {
		const db = this.env.DB;
		const hubId = this.ctx.id.toString();
		console.warn("hub flush: D1 refused a batch; isolating row", this.tenantId, row.seq, messageOf(cause));
		const probe = async () => {
			await db.prepare("UPDATE hub_flushes SET flushed_at = flushed_at WHERE hub_id = ?").bind(hubId).run();
		};
		const written = await writeRowIsolating(db, this.tenantId!, row, probe, now);
		const refusals = written.refused.map((r) => refusalRow(r, now));
		await writeRows(
			db,
			this.tenantId!,
			refusals.length ? [{ seq: row.seq, kind: "rejected", n: refusals.length, body: JSON.stringify(refusals), contexts: null }] : [],
			[...this.keyUpdates(now), this.marker(row.seq, now)],
			now,
		);
		const fresh = this.finishRows([row], written.stored, written.refused, now);
		if (fresh.length) await this.sink.write(this.tenantId!, fresh);
		return row.n;
	}

	/** D1 statements recording each key's last use (at most once a minute per key). */
	private keyUpdates(now: number): D1PreparedStatement[] {
		const out: D1PreparedStatement[] = [];
		for (const [hash, k] of this.keys) {
			if (k.lastUsed > k.lastUsedWritten && now - k.lastUsedWritten > 60_000) {
				out.push(this.env.DB.prepare("UPDATE api_keys SET last_used_at = ? WHERE hash = ? AND tenant_id = ?").bind(k.lastUsed, hash, this.tenantId));
				k.lastUsedWritten = now;
			}
		}
		return out;
	}

	/** The D1 statement that records how far this hub's buffer is in D1 (committed with the rows). */
	private marker(maxSeq: number, now: number): D1PreparedStatement {
		return this.env.DB.prepare(
			`INSERT INTO hub_flushes (hub_id, tenant_id, max_seq, flushed_at) VALUES (?, ?, ?, ?)
			 ON CONFLICT (hub_id) DO UPDATE SET max_seq = excluded.max_seq, flushed_at = excluded.flushed_at`,
		).bind(this.ctx.id.toString(), this.tenantId, maxSeq, now);
	}

	/**
	 * Bookkeeping after rows landed in D1: drop them from the buffer, count, forget refused ids (so a
	 * corrected resend is not a duplicate), and hand Analytics Engine exactly the events D1 newly
	 * stored: an id D1 already had (a resend after the dedupe window) is not written twice.
	 */
	private finishRows(rows: BufferRow[], stored: Set<string>, refused: Refusal[], now: number): CanonicalEvent[] {
		const maxSeq = rows[rows.length - 1]!.seq;
		this.flushedSeq = maxSeq;
		const items = rows.reduce((n, r) => n + r.n, 0);
		const events = rows.filter((r) => r.kind === "events").flatMap((r) => JSON.parse(r.body) as CanonicalEvent[]);
		const refusedEvents = refused.filter((r) => r.kind === "events");
		const refusedIds = refusedEvents.map((r) => (r.item as CanonicalEvent).message_id);
		const written = events.filter((e) => stored.has(e.message_id));
		const ignored = events.length - written.length - refusedEvents.length;
		this.sql.exec("DELETE FROM buffer WHERE seq <= ?", maxSeq);
		if (refusedIds.length) this.sql.exec("DELETE FROM seen WHERE message_id IN (SELECT value FROM json_each(?))", JSON.stringify(refusedIds));
		const last = refused[refused.length - 1];
		this.sql.exec(
			`UPDATE stats SET buffered = buffered - ?, flushed = flushed + ?, accepted = accepted - ?, duplicates = duplicates + ?,
			 rejected = rejected + ?, storage_refused = storage_refused + ?, last_storage_refusal = coalesce(?, last_storage_refusal),
			 last_flush_at = ?, last_flush_error = NULL WHERE id = 1`,
			items,
			written.length,
			ignored + refusedEvents.length,
			ignored,
			refusedEvents.length,
			refusedEvents.length,
			last ? JSON.stringify({ at: new Date(now).toISOString(), message_id: last.kind === "events" ? (last.item as CanonicalEvent).message_id : null, error: last.error }) : null,
			now,
		);
		if (refused.length) console.warn("hub flush: D1 refused", refused.length, "item(s)", this.tenantId, last!.error);
		// The caller writes these to Analytics Engine after this bookkeeping, so a failed AE write
		// (the alarm retries) cannot flush the rows twice.
		return written;
	}

	/**
	 * Rows a previous run committed to D1 but crashed before deleting here: drop them without
	 * re-inserting. NOTE: their analytics-engine points may be lost or doubled (AE is sampled anyway).
	 */
	private dropFlushed(upTo: number): number {
		const r = this.sql
			.exec<{ items: number; events: number }>(
				"SELECT coalesce(sum(n), 0) AS items, coalesce(sum(CASE WHEN kind = 'events' THEN n END), 0) AS events FROM buffer WHERE seq <= ?",
				upTo,
			)
			.one();
		this.sql.exec("DELETE FROM buffer WHERE seq <= ?", upTo);
		this.sql.exec("UPDATE stats SET buffered = buffered - ?, flushed = flushed + ? WHERE id = 1", r.items, r.events);
		return r.items;
	}

	private pruneSeen(now: number) {
		this.sql.exec("DELETE FROM seen WHERE at < ?", now - DEDUPE_WINDOW_MS);
	}

	/**
	 * Flushes buffered rejections to D1 now, so GET /v1/rejected reads its own writes (a refusal is
	 * otherwise in D1 only after the flush delay). Bounded like one alarm run; errors are left to the
	 * alarm, which retries.
	 */
	async flushRejections(): Promise<void> {
		const pending = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM buffer WHERE kind = 'rejected'").one().n;
		if (!pending) return;
		await this.withFlushLock(async () => {
			for (let done = 0; done < ALARM_MAX_EVENTS; ) {
				const left = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM buffer WHERE kind = 'rejected'").one().n;
				if (!left) return;
				const n = await this.flushOnce();
				if (!n) return;
				done += n;
			}
		}).catch((err) => console.warn("flush for /v1/rejected failed; the alarm retries", messageOf(err)));
	}

	/**
	 * When the oldest acknowledged event not yet in D1 was received (null: none). Queries read D1, so
	 * their answers are complete up to this instant (meta.complete_through). The buffer is in arrival
	 * order, so it is the first row's first item.
	 */
	async pendingSince(): Promise<number | null> {
		const row = this.sql.exec<{ t: number | null }>("SELECT json_extract(body, '$[0].received_at') AS t FROM buffer ORDER BY seq LIMIT 1").toArray()[0];
		return row?.t ?? null;
	}

	/** Readiness: this object answers and its storage reads (GET /readyz). */
	async ping(): Promise<{ ok: true; buffered: number }> {
		return { ok: true, buffered: this.sql.exec<{ n: number }>("SELECT coalesce(sum(n), 0) AS n FROM buffer").one().n };
	}

	/** Counters for GET /v1/ingest/stats. */
	async stats() {
		return {
			...readStats(this.sql),
			// This instance's activity since it started (in memory): coalescing and live fan-out.
			hub: {
				since: new Date(this.calls.since).toISOString(),
				ingest_calls: this.calls.calls,
				requests: this.calls.requests,
				live_viewers: this.live.viewers,
				live_broadcasts: this.live.metrics.broadcasts,
				live_messages: this.live.metrics.messages,
				live_snapshots: { built: this.live.metrics.snapshots_built, served: this.live.metrics.snapshots_served, refused: this.live.metrics.snapshots_refused },
			},
		};
	}

	/** Forget a key at once (changed); the next request re-reads it from D1. */
	async forgetKey(keyHash: string): Promise<void> {
		this.keyEpoch++;
		this.keys.delete(keyHash);
		this.staleKeys.delete(keyHash);
	}

	/** A key was revoked: refuse it from now on and close the live sockets opened with it. */
	async revokeKey(keyHash: string): Promise<void> {
		await this.forgetKey(keyHash);
		this.live.closeKey(keyHash);
	}

	/** Re-read the tenant's settings (rate limit) on the next request. */
	async tenantChanged(): Promise<void> {
		this.rateLimitEps = 0;
		this.tokensAt = 0;
	}

	/** Cron safety net: make sure a non-empty buffer has an alarm. Returns the buffered item count. */
	async ensureFlushing(): Promise<number> {
		const left = this.sql.exec<{ n: number }>("SELECT coalesce(sum(n), 0) AS n FROM buffer").one().n;
		if (left && (await this.ctx.storage.getAlarm()) == null) await this.ctx.storage.setAlarm(Date.now());
		return left;
	}
}
