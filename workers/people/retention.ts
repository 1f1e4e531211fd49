import { z } from "zod";
import { ApiError } from "../errors";
import { formatLocal } from "../query/time";
import { WORD_BITS } from "./build";
import { codesOf, deadlineOf, freshness, type PeopleTenant, rate } from "./context";
import { dateRange, offsetSql, parseWith, zoneAndRange } from "./spec";
import { firstDayOf, type Period, PERIODS, periodAt, periodSql, periodStart } from "./zone";

/** Periods after the cohort's (bits of one SQLite integer), and cohorts or lifecycle periods per answer. */
export const MAX_PERIODS = 60;
export const MAX_COHORTS = 400;
const DEFAULT_PERIODS: Record<Period, number> = { day: 30, week: 12, month: 12 };

const eventName = z.string().trim().min(1).max(200);

export const retentionRequest = z
	.object({
		/** "retention" (cohorts by first occurrence, returns per period) or "lifecycle" (new, returning, resurrecting, dormant per period). */
		form: z.enum(["retention", "lifecycle"], { error: "must be retention or lifecycle" }).default("retention"),
		/** Cohorts by the first occurrence of this event; omitted: by the person's first event of any kind. */
		start_event: eventName.optional(),
		/** The event that counts as coming back (lifecycle: as being active); omitted: any event. */
		return_event: eventName.optional(),
		period: z.enum(PERIODS, { error: `must be one of ${PERIODS.join(", ")}` }).default("week"),
		date_range: dateRange,
		/** Retention: periods after the cohort's to report (0 is the cohort's own). */
		periods: z.number().int().min(1).max(MAX_PERIODS).optional(),
		timezone: z.string().max(64).optional(),
		timeout_ms: z.number().int().min(1).max(10_000).optional(),
	})
	.strict()
	.superRefine((q, ctx) => {
		if (q.form === "lifecycle" && q.start_event != null) ctx.addIssue({ code: "custom", path: ["start_event"], message: "lifecycle has one event: use return_event (new means its first occurrence)" });
		if (q.form === "lifecycle" && q.periods != null) ctx.addIssue({ code: "custom", path: ["periods"], message: "lifecycle reports every period of date_range: leave periods out" });
	});
export type RetentionRequest = z.infer<typeof retentionRequest>;

/** SQL testing that a people_days row `d` holds the event of bit `bit` (true for any event when null). */
const bitSql = (bit: number | null) => (bit == null ? "1" : `d.word = ${Math.floor(bit / WORD_BITS)} AND (d.bits >> ${bit % WORD_BITS}) & 1`);

/** Answers POST /v1/retention (both forms) for one tenant (from the key). */
export async function answerRetention(db: D1Database, tenantId: string, t: PeopleTenant, body: unknown, now = Date.now()) {
	const started = Date.now();
	const q = parseWith(retentionRequest, body, "invalid_retention");
	// Active days are kept in one zone (the tenant's): periods can only be cut there.
	const zone = t.people_tz ?? t.timezone;
	if (q.timezone != null && q.timezone !== zone)
		throw new ApiError(400, "invalid_retention", `timezone: retention and lifecycle periods follow the tenant's time zone (${zone}); leave timezone out`, { field: "timezone", timezone: zone });
	const { tz, range } = zoneAndRange({ date_range: q.date_range }, zone, now, "invalid_retention");
	const deadline = deadlineOf(q.timeout_ms);
	const unit = q.period;
	const first = periodAt(unit, range.from, tz);
	const last = periodAt(unit, range.to - 1, tz);
	if (last - first + 1 > MAX_COHORTS)
		throw new ApiError(400, "query_too_expensive", `date_range: ${last - first + 1} ${unit}s; at most ${MAX_COHORTS}: use a longer period or a shorter range`, { field: "date_range", limit: MAX_COHORTS });
	const codes = await codesOf(db, tenantId, [q.start_event, q.return_event].filter((x): x is string => x != null));
	const unknown = [q.start_event, q.return_event].find((e) => e != null && !codes.has(e));
	const returnBit = q.return_event != null ? (codes.get(q.return_event)?.bit ?? null) : null;
	const nowPeriod = periodAt(unit, now, tz);
	const label = (p: number) => formatLocal(periodStart(unit, p, tz), tz);
	const meta = async () => ({
		date_range: { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() },
		timezone: tz,
		...(unknown ? { unknown_event: unknown } : {}),
		...(await freshness(db, tenantId, t)),
		took_ms: Date.now() - started,
	});

	if (q.form === "lifecycle") {
		if (last - first + 1 > MAX_PERIODS)
			throw new ApiError(400, "query_too_expensive", `date_range: ${last - first + 1} ${unit}s; lifecycle reports at most ${MAX_PERIODS}: use a longer period or a shorter range`, { field: "date_range", limit: MAX_PERIODS });
		// Index 0 is the period before the range's first (who was active just before); 1 … n the range's.
		const n = last - first + 1;
		const starts = Array.from({ length: n + 2 }, (_, i) => periodStart(unit, first - 1 + i, tz));
		const cols: string[] = [];
		for (let i = 0; i <= n; i++) cols.push(`sum((m >> ${i}) & 1) AS a${i}`);
		for (let i = 1; i <= n; i++) {
			const on = `(m >> ${i}) & 1`;
			const before = `(m >> ${i - 1}) & 1`;
			cols.push(
				`sum(CASE WHEN ${on} AND f >= ${starts[i]} THEN 1 ELSE 0 END) AS n${i}`,
				`sum(CASE WHEN ${on} AND ${before} AND f < ${starts[i]} THEN 1 ELSE 0 END) AS r${i}`,
				`sum(CASE WHEN ${on} AND NOT ${before} AND f < ${starts[i]} THEN 1 ELSE 0 END) AS s${i}`,
				`sum(CASE WHEN NOT ${on} AND ${before} THEN 1 ELSE 0 END) AS d${i}`,
			);
		}
		const firstTs =
			q.return_event == null
				? "(SELECT p.first_seen FROM people p WHERE p.pid = a.pid)"
				: `(SELECT f.first_ts FROM people_firsts f WHERE f.code = ${codes.get(q.return_event)?.code ?? -1} AND f.pid = a.pid)`;
		const sql = `WITH a AS (SELECT d.pid, sum(DISTINCT 1 << (${periodSql(unit, "d.day")} - ${first - 1})) AS m FROM people_days d
				WHERE d.tenant_id = ?1 AND d.day >= ?2 AND d.day < ?3 AND ${bitSql(returnBit)} GROUP BY d.pid)
			SELECT ${cols.join(", ")} FROM (SELECT a.m, ${firstTs} AS f FROM a)`;
		const row = unknown
			? null
			: await db.prepare(sql).bind(tenantId, firstDayOf(unit, first - 1), firstDayOf(unit, last + 1)).first<Record<string, number | null>>();
		deadline.check();
		const v = (k: string) => row?.[k] ?? 0;
		return {
			form: "lifecycle" as const,
			period: unit,
			event: q.return_event ?? null,
			periods: Array.from({ length: n }, (_, j) => {
				const i = j + 1;
				const started = first + j <= nowPeriod;
				const active = v(`n${i}`) + v(`r${i}`) + v(`s${i}`);
				return {
					period: label(first + j),
					new: started ? v(`n${i}`) : null,
					returning: started ? v(`r${i}`) : null,
					resurrecting: started ? v(`s${i}`) : null,
					dormant: started ? v(`d${i}`) : null,
					active: started ? active : null,
					churn_rate: started ? rate(v(`d${i}`), v(`a${i - 1}`)) : null,
				};
			}),
			meta: await meta(),
		};
	}

	const k = q.periods ?? DEFAULT_PERIODS[unit];
	const startCode = q.start_event != null ? (codes.get(q.start_event)?.code ?? -1) : null;
	// The cohort of a person: the period of their first occurrence (local day of the instant).
	const fDay = `((f + ${offsetSql(tz, range.from, range.to, "f")}) / 86400000)`;
	const cohort =
		startCode == null
			? `SELECT pid, first_seen AS f FROM people WHERE tenant_id = ?1 AND first_seen >= ?2 AND first_seen < ?3`
			: `SELECT pid, first_ts AS f FROM people_firsts WHERE code = ${startCode} AND first_ts >= ?2 AND first_ts < ?3`;
	const offs = `(${periodSql(unit, "d.day")} - c.cp)`;
	const sums = Array.from({ length: k + 1 }, (_, i) => `sum((coalesce(a.m, 0) >> ${i}) & 1) AS r${i}`);
	const sql = `WITH c AS MATERIALIZED (SELECT pid, ${periodSql(unit, fDay)} AS cp FROM (${cohort})),
		a AS (SELECT d.pid, sum(DISTINCT 1 << ${offs}) AS m FROM people_days d JOIN c ON c.pid = d.pid
			WHERE d.tenant_id = ?1 AND d.day >= ?4 AND d.day < ?5 AND ${bitSql(returnBit)} AND ${offs} BETWEEN 0 AND ${k} GROUP BY d.pid)
		SELECT c.cp, count(*) AS people, ${sums.join(", ")} FROM c LEFT JOIN a ON a.pid = c.pid GROUP BY c.cp ORDER BY c.cp`;
	const { results } = unknown
		? { results: [] as Record<string, number>[] }
		: await db
				.prepare(sql)
				.bind(tenantId, range.from, range.to, firstDayOf(unit, first), firstDayOf(unit, Math.min(last + k, nowPeriod) + 1))
				.all<Record<string, number>>();
	deadline.check();
	const byPeriod = new Map(results.map((r) => [r.cp!, r]));
	const cohorts = [];
	const sumRetained = new Array<number>(k + 1).fill(0);
	const sumPeople = new Array<number>(k + 1).fill(0);
	for (let p = first; p <= last; p++) {
		const r = byPeriod.get(p);
		const people = r?.people ?? 0;
		const retained = Array.from({ length: k + 1 }, (_, i) => (p + i <= nowPeriod ? (r?.[`r${i}`] ?? 0) : null));
		retained.forEach((x, i) => {
			if (x == null) return;
			sumRetained[i]! += x;
			sumPeople[i]! += people;
		});
		cohorts.push({ cohort: label(p), people, retained, rates: retained.map((x) => (x == null ? null : rate(x, people))) });
	}
	return {
		form: "retention" as const,
		period: unit,
		start_event: q.start_event ?? null,
		return_event: q.return_event ?? null,
		cohorts,
		// Over the cohorts whose period i has started: retained people / cohort people.
		average: { people: sumPeople, retained: sumRetained, rates: sumRetained.map((x, i) => rate(x, sumPeople[i]!)) },
		meta: await meta(),
	};
}
