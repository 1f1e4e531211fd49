import { z } from "zod";
import { ApiError, formatIssues } from "../errors";
import { resolveRange } from "../query/plan";
import { type Dim, type Filter, parseDim } from "../query/spec";
import type { dateRange } from "../query/spec";
import { type DateRange, isValidTimeZone, offsetMinutes } from "../query/time";

/**
 * Request pieces shared by funnels, retention and the people list: date ranges, time zones and
 * filters have the syntax and meaning of POST /v1/query (workers/query/spec.ts), and filters
 * compile to SQL over a raw event `e` the way raw queries read them.
 */

const DIMS = "country, device, browser, os, prop:<property>, hour_of_day or day_of_week";

/** A dimension of a raw event: the query's, without distributions. */
export const dimString = z.string().transform((s, ctx) => {
	const d = parseDim(s);
	if (!d || d.kind === "bins") {
		ctx.addIssue({ code: "custom", message: `unknown dimension '${s}': use event, ${DIMS}` });
		return z.NEVER;
	}
	return d;
});

/**
 * The filter syntax ([op, dimension, value or values]) and date ranges of POST /v1/query, the query
 * parser's own schemas: a people request takes exactly what a query takes.
 */
export { dateRange, filterSchema } from "../query/spec";

/** Parses a body with `schema`, or a 400 `code` naming the first offending field. */
export function parseWith<T extends z.ZodType>(schema: T, body: unknown, code: string): z.infer<T> {
	const parsed = schema.safeParse(body);
	if (parsed.success) return parsed.data;
	const issues = formatIssues(parsed.error.issues);
	const first = issues[0]!;
	throw new ApiError(400, code, `${first.path || "body"}: ${first.message}`, { field: first.path || "body", issues });
}

/** The request's zone (the tenant's unless given) and its range in it. */
export function zoneAndRange(q: { timezone?: string; date_range: z.infer<typeof dateRange> }, tenantTz: string, now: number, code: string): { tz: string; range: DateRange } {
	const tz = q.timezone ?? tenantTz;
	if (!isValidTimeZone(tz)) throw new ApiError(400, code, `timezone: '${tz}' is not an IANA time zone such as Europe/Paris`, { field: "timezone" });
	try {
		return { tz, range: resolveRange(q, tz, now) };
	} catch (err) {
		if (err instanceof ApiError) throw new ApiError(400, code, err.message, err.details);
		throw err;
	}
}

/**
 * SQL for the UTC offset (ms) at `col` in `tz`, exact over [from, to): a CASE over the zone's
 * transitions in the span (found by daily samples: no zone changes twice in a day), so hour_of_day
 * and day_of_week filters run in SQL.
 */
export function offsetSql(tz: string, from: number, to: number, col: string): string {
	const at = (t: number) => offsetMinutes(tz, t) * 60_000;
	const parts: string[] = [];
	let prev = at(from);
	for (let t = from + 86_400_000; t < to + 86_400_000; t += 86_400_000) {
		const o = at(Math.min(t, to));
		if (o === prev) continue;
		// Bisect the change to the millisecond.
		let lo = t - 86_400_000;
		let hi = Math.min(t, to);
		while (hi - lo > 1) {
			const mid = Math.floor((lo + hi) / 2);
			if (at(mid) === prev) lo = mid;
			else hi = mid;
		}
		parts.push(`WHEN ${col} < ${hi} THEN ${prev}`);
		prev = o;
	}
	return parts.length ? `(CASE ${parts.join(" ")} ELSE ${prev} END)` : `${prev}`;
}

/** Numbered parameters appended as a statement is built. */
export class Params {
	readonly values: unknown[] = [];
	constructor(private readonly first: number) {}
	add(v: unknown): string {
		this.values.push(v);
		return `?${this.first + this.values.length - 1}`;
	}
}

/** SQL for a dimension of the raw event `e` as text ('' never: NULL when missing), as rollups store values. */
export function dimSql(d: Dim, p: Params, time: { tz: string; from: number; to: number }): string {
	if (d.kind === "prop") {
		const path = p.add(`$."${d.prop}"`);
		return `(CASE json_type(e.properties, ${path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'object' THEN NULL WHEN 'array' THEN NULL
			ELSE substr(CAST(json_extract(e.properties, ${path}) AS TEXT), 1, 200) END)`;
	}
	if (d.kind === "hour_of_day" || d.kind === "day_of_week") {
		const local = `(e.timestamp + ${offsetSql(time.tz, time.from, time.to, "e.timestamp")})`;
		return d.kind === "hour_of_day" ? `((${local} / 3600000) % 24)` : `(((${local} / 86400000) + 3) % 7 + 1)`;
	}
	return `e.${d.kind}`;
}

/** SQL for one filter on the raw event `e` (the rules of raw queries: text compares, numeric gt/lt). */
export function filterSql(f: Filter, p: Params, time: { tz: string; from: number; to: number }): string {
	const k = f.dim.kind;
	let expr: string;
	if (k === "prop" && (f.op === "gt" || f.op === "lt")) {
		const path = p.add(`$."${f.dim.prop}"`);
		return `(json_type(e.properties, ${path}) IN ('integer', 'real') AND json_extract(e.properties, ${path}) ${f.op === "gt" ? ">" : "<"} ${p.add(f.values[0])})`;
	}
	if (k === "hour_of_day" || k === "day_of_week") {
		expr = dimSql(f.dim, p, time);
		const nums = f.values.map((v) => (v == null ? null : Number(v)));
		if (f.op === "gt" || f.op === "lt") return `(${expr} ${f.op === "gt" ? ">" : "<"} ${p.add(nums[0])})`;
		if (f.op === "contains") return `(${f.values.map((v) => `instr(CAST(${expr} AS TEXT), ${p.add(String(v))}) > 0`).join(" OR ")})`;
		const list = nums.filter((v) => v != null && Number.isFinite(v)).map((v) => p.add(v));
		const inList = list.length ? `${expr} IN (${list.join(", ")})` : "0";
		return f.op === "is" ? `(${inList})` : `(NOT (${inList}))`;
	}
	expr = k === "event" ? "e.event" : dimSql(f.dim, p, time);
	const vals = f.values.filter((v) => v != null).map(String);
	const hasNull = vals.length < f.values.length;
	if (f.op === "contains") return `(${vals.map((v) => `instr(lower(${expr}), lower(${p.add(v)})) > 0`).join(" OR ")})`;
	const inList = vals.length ? `${expr} IN (${vals.map((v) => p.add(v)).join(", ")})` : "0";
	if (f.op === "is") return hasNull ? `(${inList} OR ${expr} IS NULL)` : `(${inList})`;
	return hasNull ? `(NOT (${inList}) AND ${expr} IS NOT NULL)` : `(NOT (${inList}) OR ${expr} IS NULL)`;
}

/** All filters ANDed ('1' when none). */
export function filtersSql(filters: Filter[], p: Params, time: { tz: string; from: number; to: number }): string {
	return filters.length ? filters.map((f) => filterSql(f, p, time)).join(" AND ") : "1";
}

/** A dimension value as the API returns it: null for missing. */
export const valueOut = (v: unknown): string | number | null => (v == null || v === "" ? null : (v as string | number));
