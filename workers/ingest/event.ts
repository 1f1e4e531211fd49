import { z } from "zod";

export const EVENT_TYPES = ["track", "identify", "page", "screen", "group", "alias"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type Scalar = string | number | boolean | null;

/** The one shape every accepted event takes after validation and normalisation. */
export interface CanonicalEvent {
	message_id: string;
	type: EventType;
	event: string;
	user_id: string | null;
	anonymous_id: string | null;
	group_id: string | null;
	previous_id: string | null;
	/** Epoch ms, after clock-skew correction. */
	timestamp: number;
	sent_at: number | null;
	received_at: number;
	properties: Record<string, Scalar>;
	traits: Record<string, unknown> | null;
	/**
	 * The event's own context. A Segment batch's shared `context` is stored once per request
	 * (shared_contexts) and referenced here; the effective context is the shared one overlaid
	 * with the event's own keys.
	 */
	context: Record<string, unknown> | null;
	context_id: string | null;
	country: string | null;
	region: string | null;
	city: string | null;
	colo: string | null;
	browser: string | null;
	os: string | null;
	device: string | null;
	is_bot: 0 | 1;
}

/** Why one event was refused: stored with the event and echoed in the response. */
export interface Rejection {
	index: number;
	path: string;
	code: string;
	message: string;
	issues?: { path: string; code: string; message: string }[];
	payload: string;
}

export const MAX_ID = 255;
export const MAX_NAME = 200;
export const MAX_PROPERTIES = 250;
export const MAX_STRING_VALUE = 8192;
/** Events timestamped further ahead than this (after skew correction) are refused. */
export const MAX_FUTURE_MS = 24 * 3600_000;
/** The earliest timestamp accepted, after clock-skew correction too. */
export const EARLIEST = Date.UTC(2000, 0, 1);
/** The latest instant a timestamp field may hold at all (the end of year 9999). */
export const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:[Zz]|[+-](\d{2})(?::?(\d{2}))?)?)?$/;

/**
 * An ISO 8601 date or date-time as epoch ms, or NaN. NOTE: Date.parse rolls impossible dates over
 * ("2026-02-30" is March 2nd), so the calendar is checked first.
 */
export function parseIso(value: string): number {
	const m = ISO_8601.exec(value);
	if (!m) return Number.NaN;
	const [y, mo, d, h = "0", mi = "0", sec = "0", oh = "0", om = "0"] = m.slice(1).map((x) => x ?? undefined) as string[];
	const month = Number(mo);
	const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
	if (month < 1 || month > 12 || Number(d) < 1 || Number(d) > daysInMonth) return Number.NaN;
	if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59 || Number(oh) > 23 || Number(om) > 59) return Number.NaN;
	return Date.parse(value);
}

const id = z.string().trim().min(1, "must not be empty").max(MAX_ID, `must be at most ${MAX_ID} characters`);
const optionalId = z.union([id, z.number().finite().transform(String)]).nullish();

/** ISO 8601 string or epoch milliseconds → epoch ms, between 2000-01-01 and the end of year 9999. */
export const timestampSchema = z.union([z.string(), z.number(), z.date()]).transform((value, ctx) => {
	let ms: number;
	if (typeof value === "number") {
		if (!Number.isFinite(value)) ms = Number.NaN;
		else if (value > 0 && value < 1e11) {
			ctx.addIssue({ code: "custom", message: "looks like seconds since the epoch; send milliseconds or an ISO 8601 string" });
			return z.NEVER;
		} else ms = value;
	} else if (value instanceof Date) ms = value.getTime();
	else ms = parseIso(value);
	if (!Number.isFinite(ms) || ms < EARLIEST || ms > LATEST) {
		ctx.addIssue({ code: "custom", message: "must be an ISO 8601 date-time or epoch milliseconds between 2000-01-01 and 9999-12-31" });
		return z.NEVER;
	}
	return Math.round(ms);
});

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * A JSON object, kept as it was sent. NOTE: not z.record: zod copies records key by key, and an
 * assignment to "__proto__" sets the copy's prototype instead of a key, so the key was silently lost.
 */
const freeForm = z.custom<Record<string, unknown>>(isPlainObject, { error: "must be a JSON object" });

const scalarError = "must be a string, number, boolean or null (nested objects and arrays are not supported: flatten them, e.g. 'cart.total')";

/** Native properties: a flat map of scalars, kept as sent (see freeForm). */
export const flatProperties = freeForm.superRefine((p, ctx) => {
	const keys = Object.keys(p);
	if (keys.length > MAX_PROPERTIES) ctx.addIssue({ code: "custom", message: `at most ${MAX_PROPERTIES} properties` });
	for (const k of keys) {
		if (k.length < 1 || k.length > MAX_NAME) ctx.addIssue({ code: "custom", path: [k], message: `property names must be 1-${MAX_NAME} characters` });
		const v = p[k];
		if (typeof v === "string") {
			if (v.length > MAX_STRING_VALUE) ctx.addIssue({ code: "custom", path: [k], message: `string values must be at most ${MAX_STRING_VALUE} characters` });
		} else if (typeof v === "number") {
			if (!Number.isFinite(v)) ctx.addIssue({ code: "custom", path: [k], message: scalarError });
		} else if (v !== null && typeof v !== "boolean") ctx.addIssue({ code: "custom", path: [k], message: scalarError });
	}
}) as unknown as z.ZodType<Record<string, Scalar>>;

/** A native event (POST /v1/events). */
export const nativeEventSchema = z
	.object({
		event: z.string().trim().min(1, "must not be empty").max(MAX_NAME, `must be at most ${MAX_NAME} characters`),
		user_id: optionalId,
		anonymous_id: optionalId,
		timestamp: timestampSchema.optional(),
		sent_at: timestampSchema.optional(),
		message_id: optionalId,
		properties: flatProperties.optional(),
		context: freeForm.nullish(),
		/** The key may travel in the body (sendBeacon cannot set headers); it is not stored. */
		writeKey: z.string().optional(),
	})
	.strict()
	.refine((e) => e.user_id != null || e.anonymous_id != null, {
		message: "an event needs user_id or anonymous_id",
		path: ["user_id"],
	});
export type NativeEvent = z.infer<typeof nativeEventSchema>;

/** A Segment message; `type` comes from the path for single calls and from the item in /v1/batch. */
export const segmentMessageSchema = z
	.object({
		type: z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(", ")}` }),
		event: z.string().trim().min(1).max(MAX_NAME).optional(),
		name: z.string().max(MAX_NAME).nullish(),
		category: z.string().max(MAX_NAME).nullish(),
		userId: optionalId,
		anonymousId: optionalId,
		groupId: optionalId,
		previousId: optionalId,
		messageId: optionalId,
		timestamp: timestampSchema.nullish(),
		originalTimestamp: timestampSchema.nullish(),
		sentAt: timestampSchema.nullish(),
		properties: freeForm.nullish(),
		traits: freeForm.nullish(),
		context: freeForm.nullish(),
		integrations: z.unknown().optional(),
		writeKey: z.string().optional(),
		receivedAt: z.unknown().optional(),
		version: z.unknown().optional(),
		channel: z.unknown().optional(),
		_metadata: z.unknown().optional(),
	})
	.passthrough()
	.superRefine((m, ctx) => {
		if (m.userId == null && m.anonymousId == null && m.type !== "alias")
			ctx.addIssue({ code: "custom", path: ["userId"], message: "a message needs userId or anonymousId" });
		if (m.type === "track" && !m.event) ctx.addIssue({ code: "custom", path: ["event"], message: "track needs an event name" });
		if (m.type === "group" && m.groupId == null) ctx.addIssue({ code: "custom", path: ["groupId"], message: "group needs a groupId" });
		if (m.type === "alias") {
			if (m.previousId == null) ctx.addIssue({ code: "custom", path: ["previousId"], message: "alias needs a previousId" });
			if (m.userId == null) ctx.addIssue({ code: "custom", path: ["userId"], message: "alias needs a userId" });
		}
	});
export type SegmentMessage = z.infer<typeof segmentMessageSchema>;

export const segmentBatchSchema = z.object({
	batch: z.array(z.unknown(), { error: "must be an array of messages" }),
	context: freeForm.nullish(),
	sentAt: timestampSchema.nullish(),
	writeKey: z.string().optional(),
	integrations: z.unknown().optional(),
});
