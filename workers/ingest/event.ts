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
	context: Record<string, unknown> | null;
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
const EARLIEST = Date.UTC(2000, 0, 1);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$/;

const id = z.string().trim().min(1, "must not be empty").max(MAX_ID, `must be at most ${MAX_ID} characters`);
const optionalId = z.union([id, z.number().finite().transform(String)]).nullish();

/** ISO 8601 string or epoch milliseconds → epoch ms. */
export const timestampSchema = z.union([z.string(), z.number(), z.date()]).transform((value, ctx) => {
	let ms: number;
	if (typeof value === "number") {
		if (!Number.isFinite(value)) ms = Number.NaN;
		else if (value > 0 && value < 1e11) {
			ctx.addIssue({ code: "custom", message: "looks like seconds since the epoch; send milliseconds or an ISO 8601 string" });
			return z.NEVER;
		} else ms = value;
	} else if (value instanceof Date) ms = value.getTime();
	else ms = ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
	if (!Number.isFinite(ms) || ms < EARLIEST) {
		ctx.addIssue({ code: "custom", message: "must be an ISO 8601 date-time or epoch milliseconds after 2000-01-01" });
		return z.NEVER;
	}
	return Math.round(ms);
});

const scalar = z.union(
	[z.string().max(MAX_STRING_VALUE, `string values must be at most ${MAX_STRING_VALUE} characters`), z.number().finite(), z.boolean(), z.null()],
	{ error: "must be a string, number, boolean or null (nested objects and arrays are not supported: flatten them, e.g. 'cart.total')" },
);

/** Native properties: a flat map of scalars. */
export const flatProperties = z
	.record(z.string().min(1).max(MAX_NAME), scalar)
	.refine((p) => Object.keys(p).length <= MAX_PROPERTIES, `at most ${MAX_PROPERTIES} properties`);

const freeForm = z.record(z.string(), z.unknown());

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
