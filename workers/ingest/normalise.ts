import type { z } from "zod";
import { formatIssues } from "../errors";
import {
	type CanonicalEvent,
	type EventType,
	MAX_FUTURE_MS,
	MAX_PROPERTIES,
	nativeEventSchema,
	type Rejection,
	type Scalar,
	segmentMessageSchema,
} from "./event";

/** Request-level facts every event of the request shares. */
export interface RequestFacts {
	receivedAt: number;
	/** Batch-level Segment fields applied to every message. */
	batchSentAt?: number | null;
	batchContext?: Record<string, unknown> | null;
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

function checkFuture(prefix: string, ts: number, receivedAt: number): Normalised | null {
	if (ts - receivedAt <= MAX_FUTURE_MS) return null;
	const path = prefix ? `${prefix}.timestamp` : "timestamp";
	return {
		ok: false,
		rejection: {
			path,
			code: "timestamp_in_future",
			message: `${path}: ${new Date(ts).toISOString()} is more than 24 hours ahead of the server clock (${new Date(receivedAt).toISOString()})`,
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
	const future = checkFuture(prefix, timestamp, facts.receivedAt);
	if (future) return future;
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

/**
 * Segment allows nested properties; analytics dimensions need flat ones, so nested objects
 * become dotted keys ("product.id") and arrays are kept as JSON strings. Nothing is dropped.
 */
export function flattenProperties(input: Record<string, unknown>, out: Record<string, Scalar> = {}, prefix = ""): Record<string, Scalar> {
	for (const [k, v] of Object.entries(input)) {
		const key = prefix ? `${prefix}.${k}` : k;
		if (v === null || typeof v === "string" || typeof v === "boolean") out[key] = v;
		else if (typeof v === "number") out[key] = Number.isFinite(v) ? v : null;
		else if (Array.isArray(v)) out[key] = JSON.stringify(v);
		else if (typeof v === "object") flattenProperties(v as Record<string, unknown>, out, key);
		else if (v !== undefined) out[key] = String(v);
	}
	return out;
}

/** Validates and normalises one Segment message; `type` is forced for single-call endpoints. */
export function normaliseSegment(raw: unknown, prefix: string, facts: RequestFacts, forcedType?: EventType): Normalised {
	const input = forcedType && raw && typeof raw === "object" && !Array.isArray(raw) ? { ...raw, type: forcedType } : raw;
	const parsed = segmentMessageSchema.safeParse(input);
	if (!parsed.success) return invalid(prefix, parsed.error);
	const m = parsed.data;
	const sentAt = m.sentAt ?? facts.batchSentAt ?? null;
	const timestamp = correctSkew(m.timestamp ?? m.originalTimestamp, sentAt, facts.receivedAt);
	const future = checkFuture(prefix, timestamp, facts.receivedAt);
	if (future) return future;
	const properties = flattenProperties(m.properties ?? {});
	if (m.type === "page" || m.type === "screen") {
		if (m.name != null && properties.name === undefined) properties.name = m.name;
		if (m.category != null && properties.category === undefined) properties.category = m.category;
	}
	if (Object.keys(properties).length > MAX_PROPERTIES) {
		const path = prefix ? `${prefix}.properties` : "properties";
		return { ok: false, rejection: { path, code: "too_many_properties", message: `${path}: at most ${MAX_PROPERTIES} properties after flattening` } };
	}
	const context = facts.batchContext ? { ...facts.batchContext, ...(m.context ?? {}) } : (m.context ?? null);
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
			context,
		},
	};
}
