import { z } from "zod";

/**
 * Paired events (tenants.pairs): for each value of a key property, the time from a start event to the
 * first (or last) end event at or after it. Example, first response time of a support desk:
 * { "name": "first_response", "key": "conversation_id", "start": "conversation_started",
 *   "end": "message_sent", "end_where": { "sender_type": "agent" } }.
 */
export const MAX_PAIRS = 5;
const propName = z.string().regex(/^[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99}$/, "must be a property name of 1-100 letters, digits, '_', '$', '.', '-' or spaces");
const eventName = z.string().trim().min(1).max(200);
/** A condition's value; a list means any of them ({"sender_type": ["agent", "ai"]}). */
const scalar = z.union([z.string().max(200), z.number().finite(), z.boolean()]);

export const pairSchema = z
	.object({
		name: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, "must be 1-40 characters of a-z, 0-9 or '_', starting with a letter"),
		key: propName,
		start: eventName,
		end: eventName,
		/** Which end event closes a key: the first at or after the start (default), or the last. */
		use: z.enum(["first", "last"], { error: "must be first or last" }).default("first"),
		/** The end event counts only when these properties have these values (a list: any of them). */
		end_where: z
			.record(propName, z.union([scalar, z.array(scalar).min(1).max(20)]))
			.refine((o) => Object.keys(o).length <= 5, "at most 5 conditions")
			.optional(),
	})
	.strict();
export type PairDef = z.output<typeof pairSchema>;

export const pairsSchema = z
	.array(pairSchema)
	.max(MAX_PAIRS, `at most ${MAX_PAIRS} pairs`)
	.refine((a) => new Set(a.map((p) => p.name)).size === a.length, "each pair needs its own name");
