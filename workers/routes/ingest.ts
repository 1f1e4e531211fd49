import { Hono } from "hono";
import type { Context } from "hono";
import { type AuthContext, keyFromHeaders, lookupKey, unauthorized } from "../auth/keys";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { bodyFormat, LIMITS, parseBody, readBody } from "../ingest/body";
import { enrich, geoFromCf } from "../ingest/enrich";
import { type CanonicalEvent, type EventType, type Rejection, segmentBatchSchema } from "../ingest/event";
import { type Normalised, normaliseNative, normaliseSegment, payloadSample, type RequestFacts } from "../ingest/normalise";
import { submitToHub } from "../ingest/coalesce";
import { checkShape, MAX_DEPTH, shallowSample } from "../ingest/shape";
import { hubOf } from "../lib/http";

type Mode = { kind: "native" } | { kind: "segment"; type: EventType } | { kind: "segment-batch" };

const MAX_ERRORS_LISTED = 100;

/**
 * Key hash → tenant and scope: both never change for a key, so this isolate-level cache is safe.
 * Revocation is enforced by the tenant's hub, which is authoritative and told at once.
 */
const keyCache = new Map<string, Pick<AuthContext, "tenantId" | "scope" | "keyHash">>();

async function resolveIngestKey(db: D1Database, key: string) {
	const hit = keyCache.get(key);
	if (hit) return hit;
	const found = await lookupKey(db, key);
	if (!found) throw unauthorized("Unknown API key.");
	if (found.revokedAt != null) throw unauthorized("This API key has been revoked.");
	if (keyCache.size > 10_000) keyCache.clear();
	const entry = { tenantId: found.tenantId, scope: found.scope, keyHash: found.keyHash };
	keyCache.set(key, entry);
	return entry;
}

function bodyKey(value: unknown): string | null {
	if (!value || typeof value !== "object" || Array.isArray(value)) return null;
	const o = value as Record<string, unknown>;
	const k = o.writeKey;
	return typeof k === "string" && k ? k : null;
}

/** Fields the native `{"events":[...]}` wrapper takes; anything else is a mistake worth hearing about. */
const WRAPPER_FIELDS = new Set(["events", "writeKey"]);

/** Splits a parsed body into the raw items to validate, per endpoint. */
async function items(mode: Mode, values: unknown, ndjson: boolean): Promise<{ raw: unknown[]; prefix: (i: number) => string; facts: Partial<RequestFacts>; shared: SharedContext | null; single: boolean }> {
	if (ndjson) return { raw: values as unknown[], prefix: (i) => `[${i}]`, facts: {}, shared: null, single: false };
	if (mode.kind === "segment-batch") {
		const parsed = segmentBatchSchema.safeParse(values);
		if (!parsed.success)
			throw new ApiError(400, "invalid_batch", "Body must be {\"batch\": [message, ...]}.", {
				issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
			});
		const shared = parsed.data.context ? await sharedContext(parsed.data.context) : null;
		return {
			raw: parsed.data.batch,
			prefix: (i) => `batch[${i}]`,
			facts: { batchSentAt: parsed.data.sentAt ?? null, batchContext: shared ? { id: shared.id, value: shared.value } : null },
			shared,
			single: false,
		};
	}
	if (mode.kind === "native") {
		if (Array.isArray(values)) return { raw: values, prefix: (i) => `[${i}]`, facts: {}, shared: null, single: false };
		if (values && typeof values === "object" && "events" in values) {
			const list = (values as { events: unknown }).events;
			if (!Array.isArray(list)) throw new ApiError(400, "invalid_batch", "'events' must be an array of events.", { path: "events" });
			const unknown = Object.keys(values).filter((k) => !WRAPPER_FIELDS.has(k));
			if (unknown.length)
				throw new ApiError(400, "invalid_batch", `Unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k.slice(0, 100)}'`).join(", ")} beside 'events'; the batch wrapper takes only 'events' and 'writeKey'.`, {
					path: unknown[0]!.slice(0, 100),
					unknown_fields: unknown.slice(0, 20).map((k) => k.slice(0, 100)),
				});
			return { raw: list, prefix: (i) => `events[${i}]`, facts: {}, shared: null, single: false };
		}
	}
	if (!values || typeof values !== "object" || Array.isArray(values))
		throw new ApiError(400, "invalid_event", "Body must be a JSON object.", { path: "" });
	return { raw: [values], prefix: () => "", facts: {}, shared: null, single: true };
}

/** A Segment batch's `context`, stored once per request and referenced by each of its events. */
interface SharedContext {
	id: string;
	value: Record<string, unknown>;
	body: string;
}

/**
 * Checks a batch-level context like an event's own (depth, size) and names it by the hash of its
 * JSON, so a context every batch of an SDK repeats is stored once for the tenant.
 */
async function sharedContext(context: Record<string, unknown>): Promise<SharedContext> {
	// The context sits one level under the batch wrapper, like an event's under the event.
	const shape = checkShape(context, MAX_DEPTH - 1);
	if (shape.issue)
		throw new ApiError(400, "too_deep", `context: nested deeper than ${MAX_DEPTH} levels (at context.${shape.issue.path.join(".")})`, { path: "context", limit: MAX_DEPTH });
	const value = shape.value as Record<string, unknown>;
	const body = JSON.stringify(value);
	const bytes = ENCODER.encode(body).byteLength;
	if (bytes > LIMITS.eventBytes)
		throw new ApiError(413, "context_too_large", `context: the batch's shared context is ${bytes} bytes; at most ${LIMITS.eventBytes}.`, { path: "context", limit_bytes: LIMITS.eventBytes, bytes });
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", ENCODER.encode(body)));
	const id = [...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
	return { id, value, body };
}

/**
 * Tenants over their rate limit, as their hub last said (tenant → until, epoch ms). Requests for
 * them are refused before their body is read: a 429 then costs a map lookup, not a parse,
 * validation and hub call. The hub stays the authority: the mark lasts at most a second, then
 * the next request asks it again.
 */
const throttled = new Map<string, number>();
const THROTTLE_MARK_MS = 1000;

function refuseIfThrottled(tenantId: string, now: number) {
	const until = throttled.get(tenantId);
	if (until == null) return;
	if (until <= now) {
		throttled.delete(tenantId);
		return;
	}
	throw new ApiError(429, "rate_limited", `Tenant is over its rate limit; retry after ${Math.ceil((until - now) / 1000)} s.`, {}, { "Retry-After": String(Math.ceil((until - now) / 1000)) });
}

function checkScope(auth: { scope: string }) {
	if (auth.scope !== "ingest")
		throw new ApiError(403, "forbidden", `This key has the '${auth.scope}' scope; ingest needs an 'ingest' key.`, { scope: auth.scope, required: ["ingest"] });
}

/** What we know of a request as it goes, so a refusal can be stored with its reason. */
interface Seen {
	key: string | null;
	origin: string | null;
	receivedAt: number;
	text: string | null;
}

const ENCODER = new TextEncoder();
const byteLength = (value: unknown) => ENCODER.encode(JSON.stringify(value)).byteLength;

async function ingest(c: Context<AppEnv>, mode: Mode) {
	const req = c.req.raw;
	const seen: Seen = { key: null, origin: req.headers.get("origin"), receivedAt: Date.now(), text: null };
	try {
		seen.key = keyFromHeaders(req);
		return await ingestBody(c, mode, seen);
	} catch (err) {
		// A refused request from a known key is kept with its reason (one rejected item), never
		// silently dropped. Auth and rate-limit refusals are not: nothing was accepted for storage.
		if (err instanceof ApiError && (err.status === 400 || err.status === 413 || err.status === 415) && seen.key && !err.stored)
			// The sender still gets its 4xx if keeping the refusal fails (it is logged for operators).
			await storeRefusal(c, seen, err).catch((e) => console.error("could not store a refused request", e));
		throw err;
	}
}

async function ingestBody(c: Context<AppEnv>, mode: Mode, seen: Seen) {
	const req = c.req.raw;
	const limit = mode.kind === "native" ? LIMITS.nativeBodyBytes : mode.kind === "segment" ? LIMITS.eventBytes : LIMITS.segmentBatchBytes;
	const format = bodyFormat(req.headers.get("content-type") ?? undefined);
	if (format === "ndjson" && mode.kind !== "native")
		throw new ApiError(415, "unsupported_content_type", "Segment endpoints take application/json; NDJSON goes to POST /v1/events.", {
			supported: ["application/json", "text/plain"],
		});
	// A key in a header names the tenant before the body is read: unknown keys and tenants over
	// their limit are refused without reading it.
	let auth = seen.key ? await resolveIngestKey(c.env.DB, seen.key) : null;
	if (auth) {
		checkScope(auth);
		refuseIfThrottled(auth.tenantId, Date.now());
	}
	const { text, bytes } = await readBody(req, limit);
	seen.text = text;
	const parsed = parseBody(text, format);
	if (!auth) {
		const key = bodyKey(parsed.values);
		if (!key) throw unauthorized("Missing write key: send 'Authorization: Bearer <key>', HTTP Basic auth with the key as user name, or \"writeKey\" in the JSON body.");
		auth = await resolveIngestKey(c.env.DB, key);
		checkScope(auth);
		refuseIfThrottled(auth.tenantId, Date.now());
		// From here on, refusals can be stored under this key's tenant.
		seen.key = key;
	}

	const { raw, prefix, facts, shared, single } = await items(mode, parsed.values, format === "ndjson");
	const cap = mode.kind === "native" ? LIMITS.maxEventsPerRequest : LIMITS.maxSegmentBatch;
	if (raw.length > cap)
		throw new ApiError(413, "too_many_events", `At most ${cap} events per request; got ${raw.length}. Split the batch.`, { limit: cap, count: raw.length });
	const requestFacts: RequestFacts = { receivedAt: seen.receivedAt, ...facts };
	const geo = geoFromCf((req as { cf?: unknown }).cf);
	const ua = req.headers.get("user-agent");
	const badLines = new Map(parsed.badLines.map((b) => [b.index, b]));
	// Only a body over the per-event limit can hold an event over it: skip the re-serialisation otherwise.
	const checkSize = bytes > LIMITS.eventBytes;
	const events: CanonicalEvent[] = [];
	const eventIndexes: number[] = [];
	const rejections: Rejection[] = [];
	raw.forEach((given, index) => {
		const path = prefix(index);
		const bad = badLines.get(index);
		let result: Normalised;
		let item = given;
		if (bad) result = { ok: false, rejection: { path, code: "malformed_json", message: `${path}: not valid JSON: ${bad.message}` } };
		else {
			// Depth and Unicode first: everything after this may recurse into the value.
			const shape = checkShape(given);
			item = shape.value;
			if (shape.issue) {
				const at = [path, ...shape.issue.path].filter((p) => p !== "").join(".").replace(/\.(\d+)(?=\.|$)/g, "[$1]");
				result = { ok: false, rejection: { path: at, code: "too_deep", message: `${at || "event"}: ${shape.issue.message}` } };
				item = shallowSample(given);
			} else if (checkSize && byteLength(item) > LIMITS.eventBytes)
				result = { ok: false, rejection: { path, code: "event_too_large", message: `${path || "event"}: larger than ${LIMITS.eventBytes} bytes` } };
			else result = mode.kind === "native" ? normaliseNative(item, path, requestFacts) : normaliseSegment(item, path, requestFacts, mode.kind === "segment" ? mode.type : undefined);
		}
		if (result.ok) {
			events.push(enrich(result.event, geo, ua, shared?.value ?? null));
			eventIndexes.push(index);
		} else rejections.push({ index, ...result.rejection, payload: payloadSample(bad ? bad.raw : item) });
	});

	const batch = {
		tenantId: auth.tenantId,
		keyHash: auth.keyHash,
		origin: seen.origin,
		receivedAt: seen.receivedAt,
		events,
		rejections,
		contexts: shared && events.length ? [{ id: shared.id, body: shared.body }] : [],
	};
	const outcome = await submitToHub(c.env, batch, bytes);
	if (!outcome.ok) {
		if (outcome.status === 401) throw unauthorized(outcome.message);
		if (outcome.status === 429) throttled.set(auth.tenantId, Date.now() + THROTTLE_MARK_MS);
		throw new ApiError(outcome.status, outcome.code, outcome.message, {}, outcome.retryAfter ? { "Retry-After": String(outcome.retryAfter) } : {});
	}

	const errors = rejections.slice(0, MAX_ERRORS_LISTED).map(({ index, path, code, message, issues }) => ({ index, path, code, message, ...(issues ? { issues } : {}) }));
	const summary = {
		accepted: outcome.accepted,
		rejected: outcome.rejected,
		duplicates: outcome.duplicates,
		...(outcome.duplicate_indexes.length ? { duplicate_indexes: outcome.duplicate_indexes.slice(0, MAX_ERRORS_LISTED).map((i) => eventIndexes[i]!) } : {}),
		errors,
		...(rejections.length > MAX_ERRORS_LISTED ? { errors_truncated: true } : {}),
	};
	if (rejections.length && !events.length) {
		// Nothing usable: a 400 the sender can act on. The rejections are already stored.
		const first = errors[0]!;
		const err = new ApiError(400, single ? first.code : "invalid_events", single ? first.message : `All ${rejections.length} events were rejected; first: ${first.message}`, summary);
		err.stored = true;
		throw err;
	}
	return c.json(mode.kind === "native" ? summary : { success: true, ...summary }, 200);
}

/** A request refused as a whole, from a known key: stored as one rejected item with the reason. */
async function storeRefusal(c: Context<AppEnv>, seen: Seen, err: ApiError) {
	const auth = await resolveIngestKey(c.env.DB, seen.key!).catch(() => null);
	if (!auth || auth.scope !== "ingest") return;
	const payload = seen.text != null ? payloadSample(seen.text) : `[body not read: ${c.req.header("content-length") ?? "unknown"} bytes, ${c.req.header("content-type") ?? "no content type"}]`;
	await hubOf(c.env, auth.tenantId).ingest({
		tenantId: auth.tenantId,
		keyHash: auth.keyHash,
		origin: seen.origin,
		receivedAt: seen.receivedAt,
		events: [],
		rejections: [{ index: 0, path: "", code: err.code, message: err.message, payload }],
		contexts: [],
	});
}

const SEGMENT_TYPES: EventType[] = ["track", "identify", "page", "screen", "group", "alias"];

/** Ingest endpoints: native and Segment-compatible. */
export const ingestRoutes = SEGMENT_TYPES.reduce(
	(app, type) => app.post(`/${type}`, (c) => ingest(c, { kind: "segment", type })),
	new Hono<AppEnv>()
		.post("/events", (c) => ingest(c, { kind: "native" }))
		.post("/batch", (c) => ingest(c, { kind: "segment-batch" }))
		// analytics.js and some SDKs post to /v1/import for historical batches.
		.post("/import", (c) => ingest(c, { kind: "segment-batch" })),
);

/** Paths that take browser traffic: CORS is answered for these. */
export const INGEST_PATHS = ["/v1/events", "/v1/batch", "/v1/import", ...SEGMENT_TYPES.map((t) => `/v1/${t}`)];
