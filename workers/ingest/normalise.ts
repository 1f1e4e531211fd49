import type { z } from "zod";
import { formatIssues } from "../errors";
import {
	type CanonicalEvent,
	EARLIEST,
	type EventType,
	MAX_FUTURE_MS,
	MAX_NAME,
	MAX_PROPERTIES,
	nativeEventSchema,
	type Rejection,
	type Scalar,
	segmentMessageSchema,
} from "./event";
import { setOwn } from "./shape";

/** Request-level facts every event of the request shares. */
export interface RequestFacts {
	receivedAt: number;
	/** Batch-level Segment fields applied to every message. */
	batchSentAt?: number | null;
	/** The batch's shared context and its id in shared_contexts (stored once per request). */
	batchContext?: { id: string; value: Record<string, unknown> } | null;
}

export type Normalised = { ok: true; event: CanonicalEvent } | { ok: false; rejection: Omit<Rejection, "payload" | "index"> };

const PAYLOAD_LIMIT = 8 * 1024;

/** Serialises an offending payload for storage, truncated so one bad event cannot bloat D1. */
export function payloadSample(raw: unknown): string {
	let text: string;
	try {
		text = typeof raw === "string" ? raw : (JSON.stringify(raw) ?? String(raw));
	} catch {
		text = String(raw);
	}
	return text.length > PAYLOAD_LIMIT ? `${text.slice(0, PAYLOAD_LIMIT)}…[truncated ${text.length - PAYLOAD_LIMIT} chars]` : text;
}

function invalid(prefix: string, error: z.ZodError): Normalised {
	const issues = formatIssues(error.issues, prefix);
	const first = issues[0]!;
	return {
		ok: false,
		rejection: { path: first.path, code: "invalid_event", message: first.path ? `${first.path}: ${first.message}` : first.message, issues },
	};
}

/**
 * Segment's clock-skew correction: the client's clock may be wrong, but the gap between its
 * `timestamp` and `sentAt` is right, so timestamp = receivedAt - (sentAt - timestamp).
 */
export function correctSkew(timestamp: number | null | undefined, sentAt: number | null | undefined, receivedAt: number): number {
	if (timestamp == null) return receivedAt;
	if (sentAt == null) return timestamp;
	return receivedAt - (sentAt - timestamp);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The event time after skew correction must lie between 2000-01-01 and 24 h after the server's
 * clock. Both inputs are bounded by the schema, but their difference is not: a `sent_at` decades
 * ahead of `timestamp` would place the event before 2000 (or before 1970).
 */
function checkTime(prefix: string, ts: number, given: number | null | undefined, sentAt: number | null | undefined, receivedAt: number, sentAtField: string): Normalised | null {
	if (ts >= EARLIEST && ts - receivedAt <= MAX_FUTURE_MS) return null;
	const path = prefix ? `${prefix}.timestamp` : "timestamp";
	if (given != null && sentAt != null && ts !== given) {
		const gap = sentAt - given;
		return {
			ok: false,
			rejection: {
				path,
				code: "timestamp_out_of_range",
				message: `${path}: correcting for clock skew (${sentAtField} ${iso(sentAt)} minus timestamp ${iso(given)} = ${Math.round(gap / 1000)} s before arrival) gives a time outside 2000-01-01 to 24 hours after the server clock (${iso(receivedAt)}); check the client's ${sentAtField}`,
			},
		};
	}
	if (ts < EARLIEST) return { ok: false, rejection: { path, code: "timestamp_out_of_range", message: `${path}: ${iso(ts)} is before 2000-01-01` } };
	return {
		ok: false,
		rejection: {
			path,
			code: "timestamp_in_future",
			message: `${path}: ${iso(ts)} is more than 24 hours ahead of the server clock (${iso(receivedAt)})`,
		},
	};
}

function blank(facts: RequestFacts): Omit<CanonicalEvent, "message_id" | "type" | "event" | "timestamp" | "properties"> {
	return {
		user_id: null,
		anonymous_id: null,
		group_id: null,
		previous_id: null,
		sent_at: null,
		received_at: facts.receivedAt,
		traits: null,
		context: null,
		context_id: null,
		country: null,
		region: null,
		city: null,
		colo: null,
		browser: null,
		os: null,
		device: null,
		is_bot: 0,
	};
}

/** Validates and normalises one native event (POST /v1/events). */
export function normaliseNative(raw: unknown, prefix: string, facts: RequestFacts): Normalised {
	const parsed = nativeEventSchema.safeParse(raw);
	if (!parsed.success) return invalid(prefix, parsed.error);
	const e = parsed.data;
	const timestamp = correctSkew(e.timestamp, e.sent_at, facts.receivedAt);
	const bad = checkTime(prefix, timestamp, e.timestamp, e.sent_at, facts.receivedAt, "sent_at");
	if (bad) return bad;
	return {
		ok: true,
		event: {
			...blank(facts),
			message_id: e.message_id ?? crypto.randomUUID(),
			type: "track",
			event: e.event,
			user_id: e.user_id ?? null,
			anonymous_id: e.anonymous_id ?? null,
			timestamp,
			sent_at: e.sent_at ?? null,
			properties: e.properties ?? {},
			context: e.context ?? null,
		},
	};
}

const SEGMENT_EVENT_NAMES: Record<Exclude<EventType, "track">, string> = {
	page: "page_view",
	screen: "screen_view",
	identify: "identify",
	group: "group",
	alias: "alias",
};

/** Flattened Segment properties may take at most this many characters of keys and values. */
const MAX_FLAT_CHARS = 32 * 1024;

/**
 * Segment allows nested properties; analytics dimensions need flat ones, so nested objects
 * become dotted keys ("product.id") and arrays are kept as JSON strings. Nothing is dropped, but
 * a dotted key longer than a property name may be, or a flattened map larger than an event may
 * be, refuses the event (flattening repeats parent keys, so it can grow what is stored).
 * Depth is bounded before this runs (shape.ts), so the recursion is too.
 */
export function flattenProperties(input: Record<string, unknown>): { ok: true; value: Record<string, Scalar> } | { ok: false; key: string; message: string } {
	const out: Record<string, Scalar> = {};
	let chars = 0;
	const walk = (obj: Record<string, unknown>, prefix: string): { key: string; message: string } | null => {
		for (const k of Object.keys(obj)) {
			const v = obj[k];
			const key = prefix ? `${prefix}.${k}` : k;
			if (v !== null && typeof v === "object" && !Array.isArray(v)) {
				const bad = walk(v as Record<string, unknown>, key);
				if (bad) return bad;
				continue;
			}
			if (v === undefined) continue;
			if (key.length > MAX_NAME) return { key, message: `flattened property name '${key.slice(0, 60)}…' is ${key.length} characters; at most ${MAX_NAME}` };
			const value: Scalar =
				v === null || typeof v === "string" || typeof v === "boolean" ? v : typeof v === "number" ? (Number.isFinite(v) ? v : null) : Array.isArray(v) ? JSON.stringify(v) : String(v);
			chars += key.length + (typeof value === "string" ? value.length : 8);
			if (chars > MAX_FLAT_CHARS) return { key, message: `properties take more than ${MAX_FLAT_CHARS} characters once flattened` };
			setOwn(out, key, value);
		}
		return null;
	};
	const bad = walk(input, "");
	return bad ? { ok: false, ...bad } : { ok: true, value: out };
}

/** Validates and normalises one Segment message; `type` is forced for single-call endpoints. */
export function normaliseSegment(raw: unknown, prefix: string, facts: RequestFacts, forcedType?: EventType): Normalised {
	const input = forcedType && raw && typeof raw === "object" && !Array.isArray(raw) ? { ...raw, type: forcedType } : raw;
	const parsed = segmentMessageSchema.safeParse(input);
	if (!parsed.success) return invalid(prefix, parsed.error);
	const m = parsed.data;
	const sentAt = m.sentAt ?? facts.batchSentAt ?? null;
	const given = m.timestamp ?? m.originalTimestamp;
	const timestamp = correctSkew(given, sentAt, facts.receivedAt);
	const bad = checkTime(prefix, timestamp, given, sentAt, facts.receivedAt, m.sentAt != null ? "sentAt" : "the batch's sentAt");
	if (bad) return bad;
	const flat = flattenProperties(m.properties ?? {});
	if (!flat.ok) {
		const path = prefix ? `${prefix}.properties` : "properties";
		return { ok: false, rejection: { path, code: "invalid_event", message: `${path}: ${flat.message}` } };
	}
	const properties = flat.value;
	if (m.type === "page" || m.type === "screen") {
		if (m.name != null && properties.name === undefined) properties.name = m.name;
		if (m.category != null && properties.category === undefined) properties.category = m.category;
	}
	if (Object.keys(properties).length > MAX_PROPERTIES) {
		const path = prefix ? `${prefix}.properties` : "properties";
		return { ok: false, rejection: { path, code: "too_many_properties", message: `${path}: at most ${MAX_PROPERTIES} properties after flattening` } };
	}
	return {
		ok: true,
		event: {
			...blank(facts),
			message_id: m.messageId ?? crypto.randomUUID(),
			type: m.type,
			event: m.type === "track" ? m.event! : SEGMENT_EVENT_NAMES[m.type],
			user_id: m.userId ?? null,
			anonymous_id: m.anonymousId ?? null,
			group_id: m.groupId ?? null,
			previous_id: m.previousId ?? null,
			timestamp,
			sent_at: sentAt,
			properties,
			traits: m.traits ?? (m.type === "identify" || m.type === "group" ? {} : null),
			context: m.context ?? null,
			context_id: facts.batchContext?.id ?? null,
		},
	};
}
