import { z } from "zod";
import { checkQuery, invalidField } from "../reports/model";
import { parseQuery } from "../query/spec";
import { destinations, type Destination } from "../notify/destinations";
import { iso } from "../notify/ids";
import type { ConditionJson } from "../notify/render";

/** Limits of alert rules (docs/api.md, Limits). */
export const ALERT_LIMITS = {
	perTenant: 100,
	name: 200,
	windowMinutesMax: 10_080,
	minIntervalMax: 10_080,
	weeksMax: 12,
} as const;

const name = z.string().trim().min(1, "must not be empty").max(ALERT_LIMITS.name, `at most ${ALERT_LIMITS.name} characters`);
const finite = (what: string) => z.number({ error: `must be a number (${what})` }).finite();

// An alert's query is a POST /v1/query body without its range (the window is window_minutes), its
// breakdowns or its order: the metrics (one shown; hidden ones may feed a formula) and filters.
const query = z.strictObject(
	{
		metrics: z.array(z.unknown()).min(1, "list the metric to watch"),
		filters: z.array(z.unknown()).optional(),
		timezone: z.string().max(64).optional(),
		source: z.enum(["auto", "raw"], { error: "must be auto or raw" }).optional(),
	},
	{
		error: (iss) =>
			iss.code === "unrecognized_keys"
				? `an alert's query takes metrics, filters, timezone and source, not ${iss.keys.join(", ")}: its range is window_minutes, and it answers one value`
				: undefined,
	},
);

const threshold = z
	.object({
		type: z.literal("threshold"),
		op: z.enum(["above", "below"], { error: "must be above or below" }),
		value: finite("the threshold"),
		/** Hysteresis: a firing alert resolves only at or past this value (default: the threshold). */
		clear: finite("the value at which it resolves").optional(),
	})
	.strict()
	.transform((c, ctx): ConditionJson => {
		const clear = c.clear ?? c.value;
		if (c.op === "above" ? clear > c.value : clear < c.value)
			ctx.addIssue({ code: "custom", path: ["clear"], message: `must be ${c.op === "above" ? "at most" : "at least"} the threshold ${c.value}: an alert firing ${c.op} ${c.value} resolves ${c.op === "above" ? "at or below" : "at or above"} 'clear'` });
		return { type: "threshold", op: c.op, value: c.value, clear };
	});

const anomaly = z
	.object({
		type: z.literal("anomaly"),
		method: z.enum(["weeks", "seasonal"], { error: "must be weeks (the same window in past weeks) or seasonal (the insights detector on hourly or daily buckets)" }).default("weeks"),
		direction: z.enum(["up", "down", "both"], { error: "must be up, down or both" }).default("up"),
		z: z.number({ error: "must be a number of standard deviations, 0.5-20" }).min(0.5, "at least 0.5").max(20, "at most 20").default(3),
		clear_z: z.number({ error: "must be a number of standard deviations" }).min(0, "at least 0").optional(),
		weeks: z.number({ error: `must be a whole number of weeks, 2-${ALERT_LIMITS.weeksMax}` }).int().min(2, "at least 2").max(ALERT_LIMITS.weeksMax, `at most ${ALERT_LIMITS.weeksMax}`).default(4),
		min_weeks: z.number({ error: "must be a whole number of weeks" }).int().min(2, "at least 2").optional(),
		min_delta: z.number({ error: "must be a number" }).finite().min(0, "at least 0").default(0),
	})
	.strict()
	.transform((c, ctx): ConditionJson => {
		const clear_z = c.clear_z ?? Math.max(0, c.z - 1);
		const min_weeks = c.min_weeks ?? Math.min(3, c.weeks);
		if (clear_z > c.z) ctx.addIssue({ code: "custom", path: ["clear_z"], message: `must be at most z (${c.z}): a firing alert resolves once |z| is below clear_z` });
		if (min_weeks > c.weeks) ctx.addIssue({ code: "custom", path: ["min_weeks"], message: `must be at most weeks (${c.weeks})` });
		// The seasonal method reads its own history (five seasons of buckets); weeks and min_weeks are the weeks method's.
		return { type: "anomaly", ...(c.method === "seasonal" ? { method: c.method } : {}), direction: c.direction, z: c.z, clear_z, weeks: c.weeks, min_weeks, min_delta: c.min_delta };
	});

const condition = z.unknown().transform((v, ctx): ConditionJson => {
	const type = typeof v === "object" && v !== null && "type" in v ? (v as { type: unknown }).type : undefined;
	const schema = type === "threshold" ? threshold : type === "anomaly" ? anomaly : null;
	if (!schema) {
		ctx.addIssue({ code: "custom", path: ["type"], message: `must be threshold ({"type":"threshold","op":"above","value":10}) or anomaly ({"type":"anomaly","z":3})` });
		return z.NEVER;
	}
	const r = schema.safeParse(v);
	if (r.success) return r.data;
	for (const i of r.error.issues) ctx.addIssue({ code: "custom", message: i.message, path: i.path as (string | number)[] });
	return z.NEVER;
});

const windowMinutes = z
	.number({ error: `must be a whole number of minutes, 1-${ALERT_LIMITS.windowMinutesMax}` })
	.int(`must be a whole number of minutes, 1-${ALERT_LIMITS.windowMinutesMax}`)
	.min(1, "at least 1 minute")
	.max(ALERT_LIMITS.windowMinutesMax, `at most ${ALERT_LIMITS.windowMinutesMax} minutes (7 days)`);
const minInterval = z
	.number({ error: `must be a whole number of minutes, 0-${ALERT_LIMITS.minIntervalMax}` })
	.int(`must be a whole number of minutes, 0-${ALERT_LIMITS.minIntervalMax}`)
	.min(0, "at least 0")
	.max(ALERT_LIMITS.minIntervalMax, `at most ${ALERT_LIMITS.minIntervalMax} minutes`);

export const createAlert = z
	.object({ name, query, window_minutes: windowMinutes, condition, min_interval_minutes: minInterval.default(60), destinations, enabled: z.boolean().default(true) })
	.strict();
export const updateAlert = z
	.object({ name, query, window_minutes: windowMinutes, condition, min_interval_minutes: minInterval, destinations, enabled: z.boolean() })
	.partial()
	.strict()
	.refine((o) => Object.keys(o).length > 0, "send at least one field to change");

export type AlertQuery = z.infer<typeof query>;

/** The bucket a seasonal anomaly rule judges, by its window: the last complete hour or day. */
export const SEASONAL_WINDOWS: Record<number, "hour" | "day"> = { 60: "hour", 1440: "day" };

/**
 * A seasonal anomaly rule judges whole buckets of the insights detector (hours or days): its window
 * must be 60 or 1440 minutes. 400 naming `window_minutes` (or `condition.method` when only it was sent).
 */
export function checkSeasonalWindow(c: ConditionJson, windowMinutes: number, path: "window_minutes" | "condition.method" = "window_minutes"): void {
	if (c.type === "anomaly" && c.method === "seasonal" && !SEASONAL_WINDOWS[windowMinutes])
		throw invalidField(path, `a seasonal anomaly rule judges whole hours or days: window_minutes must be 60 or 1440 (this rule's is ${windowMinutes})`);
}
export type CreateAlertInput = z.input<typeof createAlert>;

/**
 * Checks an alert's query as POST /v1/query would (with a range put in), and that it shows exactly
 * one metric: the value the condition is about. Errors name `query.<field>`. Returns the metric's name.
 */
export function checkAlertQuery(q: AlertQuery): string {
	checkQuery({ ...q, date_range: "today" });
	const visible = parseQuery({ ...q, date_range: "today" }).metrics.filter((m) => !m.hidden);
	if (visible.length !== 1)
		throw invalidField("query.metrics", `an alert watches one metric, and this query shows ${visible.length} (${visible.map((m) => m.name).join(", ")}): hide the others ("hidden": true) or leave them out`);
	return visible[0]!.name;
}

export interface AlertRow {
	id: string;
	tenant_id: string;
	name: string;
	query: string;
	window_minutes: number;
	condition: string;
	min_interval_minutes: number;
	destinations: string;
	state: "ok" | "firing";
	last_value: number | null;
	last_evaluated_at: number | null;
	last_fired_at: number | null;
	last_resolved_at: number | null;
	origin: string | null;
	enabled: number;
	created_at: number;
	updated_at: number;
}

export const alertJson = (r: AlertRow) => ({
	id: r.id,
	name: r.name,
	query: JSON.parse(r.query) as AlertQuery,
	window_minutes: r.window_minutes,
	condition: JSON.parse(r.condition) as ConditionJson,
	min_interval_minutes: r.min_interval_minutes,
	destinations: JSON.parse(r.destinations) as Destination[],
	enabled: r.enabled === 1,
	state: r.state,
	last_value: r.last_value,
	last_evaluated_at: iso(r.last_evaluated_at),
	last_fired_at: iso(r.last_fired_at),
	last_resolved_at: iso(r.last_resolved_at),
	created_at: iso(r.created_at)!,
	updated_at: iso(r.updated_at)!,
});
