import { z } from "zod";
import { ApiError, formatIssues } from "../errors";
import { rawFilterSql } from "../query/execute";
import { MAX_RAW_ROWS, resolveRange } from "../query/plan";
import { dateRange, type Filter, filterSchema, parseDim } from "../query/spec";
import { formatLocal, isValidTimeZone } from "../query/time";
import { type Arm, proportionTest, sampleRatioMismatch, type TestResult, welchTest } from "./analyze";

/**
 * POST /v1/experiments: an A/B test read from raw events. A person (user_id, else anonymous_id, with
 * identities merged by identify and alias as the people pass has seen them) is in
 * the variant of their first exposure event (an event with the experiment's filters and a variant
 * value); people exposed to more than one variant are left out and counted. The goal is counted per
 * person from their first exposure to the end of the range (or of the conversion window):
 * converted or not (two-proportion test), or goal events, a property's sum per exposed person, or its
 * mean per converted person (Welch's t-test). Each variant is compared with the control; with more
 * than one comparison, p-values are also given Holm-adjusted. A sample ratio mismatch check compares
 * the arms' sizes with the intended split.
 */

const PROP = /^[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99}$/;
const GOAL_METRICS = "conversion, count, sum:<property> or avg:<property>";

const eventName = z.string().min(1).max(200);
const sqlFilters = z
	.array(filterSchema)
	.max(20)
	.default([])
	.superRefine((fs, ctx) =>
		fs.forEach((f, i) => {
			if (f.dim.kind === "hour_of_day" || f.dim.kind === "day_of_week")
				ctx.addIssue({ code: "custom", path: [i, 1], message: `experiments filter on event fields and properties, not on ${f.dim.kind}` });
		}),
	);

const experimentRequest = z
	.object({
		exposure: z
			.object({
				event: eventName,
				filters: sqlFilters,
				/** Where the variant is read: prop:<property> (or a column such as device). */
				variant: z.string().refine((v) => {
					const d = parseDim(v);
					return d != null && d.kind !== "bins" && d.kind !== "event" && d.kind !== "hour_of_day" && d.kind !== "day_of_week";
				}, "must be prop:<property>, country, device, browser or os"),
			})
			.strict(),
		goal: z
			.object({
				event: eventName,
				filters: sqlFilters,
				metric: z
					.string()
					.default("conversion")
					.refine((m) => m === "conversion" || m === "count" || (/^(sum|avg):/.test(m) && PROP.test(m.slice(4))), `must be ${GOAL_METRICS}`),
			})
			.strict(),
		date_range: dateRange,
		timezone: z.string().max(64).optional(),
		/** The control variant; default the first variant in text order. */
		control: z.string().max(200).optional(),
		/** The intended split by variant (weights; default equal) for the sample ratio check. */
		split: z.record(z.string().max(200), z.number().positive().finite()).optional(),
		/** Goal events count within this long of a person's first exposure. */
		window: z
			.object({ hours: z.number().int().min(1).max(24 * 366) })
			.strict()
			.optional(),
		/** The smallest effect worth detecting, relative to the control (0.05 = 5%): the sample size is computed for it. */
		minimum_effect: z.number().positive().max(100).optional(),
	})
	.strict();

type ExperimentRequest = z.infer<typeof experimentRequest>;

/** Parses a POST /v1/experiments body, or a 400 `invalid_experiment` naming the field. */
export function parseExperiment(body: unknown): ExperimentRequest {
	const parsed = experimentRequest.safeParse(body);
	if (parsed.success) return parsed.data;
	const issues = formatIssues(parsed.error.issues);
	throw new ApiError(400, "invalid_experiment", `${issues[0]!.path || "body"}: ${issues[0]!.message}`, { issues });
}

/** A property's value as text (as rollups and filters compare it), or a column. */
function textOf(dim: string, params: unknown[], alias = ""): string {
	const d = parseDim(dim)!;
	if (d.kind !== "prop") return `${alias}${d.kind}`;
	params.push(`$."${d.prop}"`);
	const p = `?${params.length + 4}`;
	return `(CASE json_type(${alias}properties, ${p}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE CAST(json_extract(${alias}properties, ${p}) AS TEXT) END)`;
}

/** A property's value as a number, else NULL. */
function numberOf(prop: string, params: unknown[], alias = ""): string {
	params.push(`$."${prop}"`);
	const p = `?${params.length + 4}`;
	return `(CASE WHEN json_type(${alias}properties, ${p}) IN ('integer', 'real') THEN json_extract(${alias}properties, ${p}) END)`;
}

/**
 * The person of an event (alias `e`) given its people_ids row (alias `i`, LEFT JOINed on the event's
 * user_id, else anonymous_id): merged identities (identify, alias) are one person once the people pass
 * has seen them; an identifier it has not seen yet is its own person until then.
 */
const ID = (e: string) => `coalesce(${e}.user_id, ${e}.anonymous_id)`;
const person = (e: string, i: string) => `CASE WHEN ${i}.pid IS NOT NULL THEN 'p:' || ${i}.pid ELSE 'i:' || ${ID(e)} END`;
const identity = (e: string, i: string) => `LEFT JOIN people_ids ${i} ON ${i}.tenant_id = ?1 AND ${i}.id = ${ID(e)}`;

interface ArmRow {
	variant: string;
	mixed: number;
	people: number;
	converted: number;
	units: number;
	s: number | null;
	ss: number | null;
}

/** Holm's step-down adjustment of p-values (family-wise error at the stated level). */
export function holm(ps: readonly number[]): number[] {
	const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
	const out = new Array<number>(ps.length);
	let running = 0;
	order.forEach(([p, i], k) => {
		running = Math.max(running, Math.min(1, (ps.length - k) * p));
		out[i] = running;
	});
	return out;
}

export async function runExperiment(db: D1Database, tenantId: string, body: unknown, tenantTz: string, now: number) {
	const req = parseExperiment(body);
	const tz = req.timezone ?? tenantTz;
	if (!isValidTimeZone(tz)) throw new ApiError(400, "invalid_experiment", `timezone: '${tz}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`, { field: "timezone" });
	const range = resolveRange(req, tz, now);
	const windowMs = req.window ? req.window.hours * 3_600_000 : null;
	// With a window, goals after the range's end still count for people exposed near it (up to now).
	const goalsTo = windowMs ? Math.min(range.to + windowMs, Math.max(range.to, now)) : range.to;

	// Refuse scans over the raw limit before reading (both event names use the (tenant, event, time) index).
	const counts = await db
		.prepare(
			"SELECT (SELECT count(*) FROM events WHERE tenant_id = ?1 AND event = ?2 AND timestamp >= ?3 AND timestamp < ?4) AS exposures, (SELECT count(*) FROM events WHERE tenant_id = ?1 AND event = ?5 AND timestamp >= ?3 AND timestamp < ?6) AS goals",
		)
		.bind(tenantId, req.exposure.event, range.from, range.to, req.goal.event, goalsTo)
		.first<{ exposures: number; goals: number }>();
	const read = (counts?.exposures ?? 0) + (counts?.goals ?? 0);
	if (read > MAX_RAW_ROWS)
		throw new ApiError(400, "query_too_expensive", `This experiment reads ${read} raw events (limit ${MAX_RAW_ROWS}). Narrow date_range.`, { field: "date_range", raw_rows: read, limit: MAX_RAW_ROWS });

	// ?1 tenant, ?2 from, ?3 to, ?4 goals' end; everything else numbered after them, in one array
	// (rawFilterSql numbers its parameters the same way: from ?5 by the array's length).
	const params: unknown[] = [];
	const add = (v: unknown) => {
		params.push(v);
		return `?${params.length + 4}`;
	};
	const exposureEvent = add(req.exposure.event);
	const variant = textOf(req.exposure.variant, params, "x.");
	const exposureWhere = rawFilterSql(req.exposure.filters as Filter[], params, "x.");
	const goalEvent = add(req.goal.event);
	const goalWhere = rawFilterSql(req.goal.filters as Filter[], params, "g.");
	const metric = req.goal.metric;
	const prop = metric.includes(":") ? metric.slice(4) : null;
	const value = prop ? numberOf(prop, params, "g.") : "1";
	const window = windowMs ? `AND g.timestamp < e.first_at + ${add(windowMs)}` : "";
	// Per person: converted (0/1), goal events, the property's sum and how many goal events had it.
	const unit =
		metric === "conversion" ? "(g.n IS NOT NULL)" : metric === "count" ? "coalesce(g.n, 0)" : metric.startsWith("sum:") ? "coalesce(g.total, 0)" : "(CASE WHEN g.valued > 0 THEN g.total * 1.0 / g.valued END)";
	const sql = `
WITH exposed AS (
	SELECT ${person("x", "xi")} AS person, min(x.timestamp) AS first_at, min(${variant}) AS variant, count(DISTINCT ${variant}) AS variants
	FROM events x ${identity("x", "xi")}
	WHERE x.tenant_id = ?1 AND x.event = ${exposureEvent} AND x.timestamp >= ?2 AND x.timestamp < ?3 AND ${ID("x")} IS NOT NULL AND ${variant} IS NOT NULL${exposureWhere}
	GROUP BY 1
),
goals AS (
	SELECT e.person AS person, count(*) AS n, sum(${value}) AS total, count(${value}) AS valued
	-- CROSS JOIN keeps the goal events the outer loop: each probes the exposed people's automatic index.
	FROM events g ${identity("g", "gi")} CROSS JOIN exposed e ON e.person = ${person("g", "gi")}
	WHERE g.tenant_id = ?1 AND g.event = ${goalEvent} AND g.timestamp >= ?2 AND g.timestamp < ?4 AND e.variants = 1 AND g.timestamp >= e.first_at ${window}${goalWhere}
	GROUP BY 1
)
SELECT e.variant AS variant, e.variants > 1 AS mixed, count(*) AS people, sum(g.n IS NOT NULL) AS converted,
	count(${unit}) AS units, sum(${unit}) AS s, sum(${unit} * ${unit}) AS ss
FROM exposed e LEFT JOIN goals g ON g.person = e.person
GROUP BY 1, 2`;
	const { results } = await db
		.prepare(sql)
		.bind(tenantId, range.from, range.to, goalsTo, ...params)
		.all<ArmRow>();
	const mixed = results.filter((r) => r.mixed).reduce((s, r) => s + r.people, 0);
	const arms = results.filter((r) => !r.mixed).sort((a, b) => (a.variant < b.variant ? -1 : a.variant > b.variant ? 1 : 0));
	const control = req.control ?? arms[0]?.variant;
	// The control first, then the other variants in text order.
	arms.sort((a, b) => Number(b.variant === control) - Number(a.variant === control));
	const names = arms.map((a) => a.variant);
	const notes: string[] = [];
	if (req.control != null && !names.includes(req.control))
		throw new ApiError(400, "invalid_experiment", `control: no person saw variant '${req.control}' in this range (variants seen: ${names.join(", ") || "none"})`, { field: "control", variants: names });
	if (req.split)
		for (const v of Object.keys(req.split))
			if (!names.includes(v)) notes.push(`split names '${v}', which no person saw in this range`);

	const variants = arms.map((a) => {
		const n = a.units;
		const mean = n ? (a.s ?? 0) / n : null;
		const variance = n > 1 ? Math.max(0, ((a.ss ?? 0) - ((a.s ?? 0) * (a.s ?? 0)) / n) / (n - 1)) : null;
		return {
			variant: a.variant,
			people: a.people,
			converted: a.converted,
			...(metric === "conversion" ? { rate: a.people ? a.converted / a.people : null } : { units: n, mean, sd: variance == null ? null : Math.sqrt(variance) }),
		};
	});
	const armOf = (name: string): Arm => {
		const a = arms.find((x) => x.variant === name)!;
		const v = variants.find((x) => x.variant === name)!;
		if (metric === "conversion") return { name, n: a.people, conversions: a.converted };
		return { name, n: a.units, mean: (v as { mean: number | null }).mean ?? 0, variance: (v as { sd: number | null }).sd == null ? 0 : (v as { sd: number }).sd ** 2 };
	};
	let tests: (TestResult & { adjusted_p_value: number })[] = [];
	if (control != null) {
		const c = armOf(control);
		const others = names.filter((n) => n !== control);
		const raw = others
			.map((n) => armOf(n))
			.filter((v) => {
				const enough = metric === "conversion" ? v.n > 0 && c.n > 0 : v.n > 1 && c.n > 1;
				if (!enough) notes.push(`variant '${v.name}' has too few ${metric === "conversion" ? "people" : "units"} to test`);
				return enough;
			})
			.map((v) => {
				const base = metric === "conversion" ? c.conversions! / c.n : c.mean!;
				const mde = req.minimum_effect != null ? req.minimum_effect * Math.abs(base) : undefined;
				return metric === "conversion" ? proportionTest(c, v, 0.05, mde) : welchTest(c, v, 0.05, mde);
			});
		const adjusted = holm(raw.map((t) => t.p_value));
		tests = raw.map((t, i) => ({ ...t, adjusted_p_value: adjusted[i]! }));
		if (raw.length > 1) notes.push(`${raw.length} variants are each compared with '${control}': read adjusted_p_value (Holm), which keeps the chance of any false positive at 5%`);
	}
	if (mixed) notes.push(`${mixed} people saw more than one variant and are left out`);
	const weights = names.map((n) => req.split?.[n] ?? 1);
	const srm = names.length > 1 ? { ...sampleRatioMismatch(arms.map((a) => a.people), weights), expected_split: Object.fromEntries(names.map((n, i) => [n, weights[i]! / weights.reduce((s, w) => s + w, 0)])) } : null;
	if (srm?.mismatch) notes.push("sample ratio mismatch: the arms' sizes are unlikely under the intended split (p < 0.001); assignment or tracking is broken, and the results should not be trusted");
	return {
		control: control ?? null,
		metric,
		variants,
		tests,
		srm,
		excluded: { mixed_people: mixed },
		notes,
		meta: {
			date_range: { from: formatLocal(range.from, tz), to: formatLocal(range.to, tz) },
			timezone: tz,
			window_hours: req.window?.hours ?? null,
			goals_counted_until: formatLocal(goalsTo, tz),
			rows_scanned: read,
			method: `${metric === "conversion" ? "two-proportion z-test (pooled p-value, unpooled 95% interval)" : "Welch's t-test"} per variant against the control; people are user_id, else anonymous_id, merged by identify and alias; sample ratio by χ²`,
		},
	};
}
