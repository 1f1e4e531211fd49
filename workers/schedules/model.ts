import { z } from "zod";
import { EXPORT_FORMATS } from "../db/schema";
import { ApiError } from "../errors";
import { destinations, type Destination } from "../notify/destinations";
import { iso } from "../notify/ids";
import { type Cadence, describe, FREQUENCIES } from "./calendar";

/** Limits of schedules (docs/api.md, Limits). */
export const SCHEDULE_LIMITS = { perTenant: 50, name: 200 } as const;

/** Formats a board exports to: one table per report (workers/exports/model.ts). */
export const BOARD_FORMATS = ["pdf", "xlsx", "ndjson"] as const;

const WEEKDAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const weekday = z
	.union([z.number().int().min(1).max(7), z.string()], { error: "must be an ISO weekday: 1 (Monday) to 7 (Sunday), or its English name" })
	.transform((v, ctx) => {
		if (typeof v === "number") return v;
		const i = WEEKDAY_NAMES.indexOf(v.trim().toLowerCase());
		if (i < 0) {
			ctx.addIssue({ code: "custom", message: `'${v}' is not a weekday: use 1 (Monday) to 7 (Sunday), or monday … sunday` });
			return z.NEVER;
		}
		return i + 1;
	});
const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-z2-9]{16}$`), `must be a ${prefix}_… id`);
const name = z.string().trim().max(SCHEDULE_LIMITS.name, `at most ${SCHEDULE_LIMITS.name} characters`);

const fields = {
	name,
	report_id: id("rep"),
	board_id: id("brd"),
	frequency: z.enum(FREQUENCIES, { error: `must be one of ${FREQUENCIES.join(", ")}` }),
	hour: z.number({ error: "must be a whole hour, 0-23" }).int("must be a whole hour, 0-23").min(0, "must be a whole hour, 0-23").max(23, "must be a whole hour, 0-23"),
	minute: z.number({ error: "must be a whole minute, 0-59" }).int("must be a whole minute, 0-59").min(0, "must be a whole minute, 0-59").max(59, "must be a whole minute, 0-59"),
	weekday: weekday.nullable(),
	month_day: z.number({ error: "must be a day of the month, 1-31" }).int("must be a day of the month, 1-31").min(1, "must be a day of the month, 1-31").max(31, "must be a day of the month, 1-31").nullable(),
	timezone: z.string().min(1).max(64),
	format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(", ")}` }),
	destinations,
	enabled: z.boolean(),
};

export const createSchedule = z
	.object({ ...fields, name: name.default(""), report_id: fields.report_id.optional(), board_id: fields.board_id.optional(), minute: fields.minute.default(0), weekday: fields.weekday.optional(), month_day: fields.month_day.optional(), timezone: fields.timezone.optional(), format: fields.format.default("pdf"), enabled: fields.enabled.default(true) })
	.strict();
/** The target (report_id / board_id) is fixed: make a new schedule for another. */
export const updateSchedule = z
	.object({ name, frequency: fields.frequency, hour: fields.hour, minute: fields.minute, weekday: fields.weekday, month_day: fields.month_day, timezone: fields.timezone, format: fields.format, destinations, enabled: fields.enabled })
	.partial()
	.strict()
	.refine((o) => Object.keys(o).length > 0, "send at least one field to change");

export type CreateScheduleInput = z.input<typeof createSchedule>;
export type UpdateScheduleInput = z.input<typeof updateSchedule>;

export interface ScheduleRow {
	id: string;
	tenant_id: string;
	name: string;
	target_kind: "report" | "board";
	target_id: string;
	frequency: Cadence["frequency"];
	hour: number;
	minute: number;
	weekday: number | null;
	month_day: number | null;
	timezone: string;
	format: (typeof EXPORT_FORMATS)[number];
	destinations: string;
	enabled: number;
	next_run_at: number;
	last_run_at: number | null;
	origin: string | null;
	created_at: number;
	updated_at: number;
}

const issue = (path: string, message: string) => new ApiError(400, "invalid_request", `${path}: ${message}`, { issues: [{ path, code: "custom", message }] });

/**
 * The rules across fields: a weekly schedule names its weekday and a monthly one its day (and no
 * other's); a board goes out as pdf, xlsx or ndjson (a table per report). 400 naming the field.
 */
export function checkCadence(s: { frequency: Cadence["frequency"]; weekday?: number | null; month_day?: number | null; format: string; target_kind: "report" | "board" }): void {
	if (s.frequency === "weekly" && s.weekday == null) throw issue("weekday", "a weekly schedule needs its weekday: 1 (Monday) to 7 (Sunday)");
	if (s.frequency === "monthly" && s.month_day == null) throw issue("month_day", "a monthly schedule needs its day of the month, 1-31 (31: the last day)");
	if (s.frequency !== "weekly" && s.weekday != null) throw issue("weekday", `a ${s.frequency} schedule takes no weekday`);
	if (s.frequency !== "monthly" && s.month_day != null) throw issue("month_day", `a ${s.frequency} schedule takes no month_day`);
	if (s.target_kind === "board" && !(BOARD_FORMATS as readonly string[]).includes(s.format))
		throw issue("format", `a board holds one table per report: schedule it as ${BOARD_FORMATS.join(", ")}, not ${s.format}`);
}

export const cadenceOf = (r: Pick<ScheduleRow, "frequency" | "hour" | "minute" | "weekday" | "month_day" | "timezone">): Cadence => ({
	frequency: r.frequency,
	hour: r.hour,
	minute: r.minute,
	weekday: r.weekday,
	month_day: r.month_day,
	timezone: r.timezone,
});

export const scheduleJson = (r: ScheduleRow) => ({
	id: r.id,
	name: r.name,
	...(r.target_kind === "report" ? { report_id: r.target_id } : { board_id: r.target_id }),
	frequency: r.frequency,
	hour: r.hour,
	minute: r.minute,
	weekday: r.weekday,
	month_day: r.month_day,
	timezone: r.timezone,
	description: describe(cadenceOf(r)),
	format: r.format,
	destinations: JSON.parse(r.destinations) as Destination[],
	enabled: r.enabled === 1,
	next_run_at: r.enabled === 1 ? iso(r.next_run_at) : null,
	last_run_at: iso(r.last_run_at),
	created_at: iso(r.created_at)!,
	updated_at: iso(r.updated_at)!,
});
