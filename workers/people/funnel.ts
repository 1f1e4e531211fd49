import { z } from "zod";
import { ApiError } from "../errors";
import type { Deadline } from "../query/execute";
import { MAX_RAW_ROWS } from "../query/plan";
import type { Dim, Filter } from "../query/spec";
import { codesOf, deadlineOf, freshness, type PeopleTenant, rate } from "./context";
import { type Attempt, anyAttempt, percentile, type StepEvent, strictAttempt } from "./funnel-core";
import { WEEK_MS, WORD_BITS } from "./build";
import { dayNumbers, periodStart } from "./zone";
import { dateRange, dimSql, dimString, filterSchema, filtersSql, Params, parseWith, valueOut, zoneAndRange } from "./spec";

export const MAX_STEPS = 8;
const MAX_WINDOW_MS = 90 * 86_400_000;
/** Rows per page read (about 60 characters of JSON each, far under D1's 2 MB per value). */
const PAGE_ROWS = 20_000;

const WINDOW_RE = /^(\d{1,6})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

const stepSchema = z
	.object({
		event: z.string().trim().min(1, "name the step's event").max(200),
		filters: z.array(filterSchema).max(10).default([]),
		name: z.string().max(100).optional(),
	})
	.strict();

export const funnelRequest = z
	.object({
		steps: z.array(stepSchema).min(2, "a funnel has at least 2 steps").max(MAX_STEPS, `at most ${MAX_STEPS} steps`),
		date_range: dateRange,
		timezone: z.string().max(64).optional(),
		window: z
			.string()
			.regex(WINDOW_RE, "a duration such as 30m, 12h or 7d")
			.refine((w) => {
				const m = WINDOW_RE.exec(w);
				const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : 1;
				return ms > 0 && ms <= MAX_WINDOW_MS;
			}, "between 1m and 90d")
			.default("7d"),
		order: z.enum(["strict", "any"], { error: "must be strict or any" }).default("strict"),
		filters: z.array(filterSchema).max(10).default([]),
		breakdown: dimString
			.refine((d) => d.kind !== "event", "a breakdown by event is the funnel's steps: use another dimension")
			.optional(),
		breakdown_limit: z.number().int().min(1).max(100).default(10),
		timeout_ms: z.number().int().min(1).max(10_000).optional(),
	})
	.strict();
export type FunnelRequest = z.infer<typeof funnelRequest>;

export const windowMs = (w: string) => {
	const m = WINDOW_RE.exec(w)!;
	return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
};

/** One step of a funnel's answer. */
export interface StepOut {
	step: number;
	event: string;
	name: string;
	/** People who did this step (within the window, in order when strict). */
	entered: number;
	/** Of those, people who went on to do the next step (null for the last). */
	converted: number | null;
	dropped: number | null;
	conversion_from_first: number | null;
	conversion_from_previous: number | null;
	/** From the previous step to this one, over the people who did this one (ms). */
	time_to_convert_ms: { median: number; p90: number } | null;
}

/** The answer of POST /v1/funnels (the dashboard's type is this one). */
export interface FunnelAnswer {
	steps: StepOut[];
	/** Only with a `breakdown` in the request: the steps per value of its dimension, most people first. */
	breakdown?: { dimension: string; values: { value: string | null; steps: StepOut[] }[]; omitted_values: number };
	meta: {
		date_range: { from: string; to: string };
		timezone: string;
		window: string;
		window_ms: number;
		order: "strict" | "any";
		rows_read: number;
		pending_events: number;
		people_as_of: string | null;
		took_ms: number;
	};
}

/** A person past step 1 (strict) or at step 1 or more (any order), and their attempt. */
interface Reached {
	pid: number;
	attempt: Attempt;
}

/** People at step 1 (in all, and per breakdown value), those further, and each one's breakdown value. */
interface Counted {
	entered1: number;
	byValue: Map<string | null, number> | null;
	reached: Reached[];
	valueOf: Map<number, string | null> | null;
}

function steps(q: FunnelRequest, entered: number[], times: number[][]): StepOut[] {
	return q.steps.map((s, i) => {
		const sorted = (times[i] ?? []).slice().sort((a, b) => a - b);
		const next = i + 1 < q.steps.length ? entered[i + 1]! : null;
		return {
			step: i + 1,
			event: s.event,
			name: s.name ?? s.event,
			entered: entered[i]!,
			converted: next,
			dropped: next == null ? null : entered[i]! - next,
			conversion_from_first: i === 0 ? (entered[0]! > 0 ? 1 : null) : rate(entered[i]!, entered[0]!),
			conversion_from_previous: i === 0 ? (entered[0]! > 0 ? 1 : null) : rate(entered[i]!, entered[i - 1]!),
			time_to_convert_ms: i === 0 || !sorted.length ? null : { median: percentile(sorted, 0.5)!, p90: percentile(sorted, 0.9)! },
		};
	});
}

/** Counts and times per step from the people who got past step 1, with `entered1` people at step 1. */
function tally(q: FunnelRequest, entered1: number, reached: Reached[]): StepOut[] {
	const n = q.steps.length;
	const entered = new Array<number>(n).fill(0);
	entered[0] = entered1;
	const times: number[][] = Array.from({ length: n }, () => []);
	for (const r of reached) {
		for (let k = 1; k < r.attempt.level; k++) {
			entered[k]!++;
			times[k]!.push(r.attempt.times[k]! - r.attempt.times[k - 1]!);
		}
	}
	return steps(q, entered, times);
}

interface Ctx {
	db: D1Database;
	tenantId: string;
	q: FunnelRequest;
	tz: string;
	from: number;
	to: number;
	win: number;
	/** Per step: its event code (null: the tenant never sent it) and its filters (the funnel's too). */
	codes: (number | null)[];
	/** Step 1's bit in the active-day bitmaps, when those can count its people (see stepOne). */
	dayBits: { bit: number; from: number; to: number } | null;
	filters: Filter[][];
	deadline: Deadline;
	rowsRead: number;
}

const weeksOf = (from: number, to: number) => ({ lo: Math.floor(from / WEEK_MS), hi: Math.floor((to - 1) / WEEK_MS) });

/**
 * SQL over people_events `pe` (joined to its raw event `e` when filters need it) selecting the
 * events of some steps in [?2, ?3) of weeks [?4, ?5], with `mask` = the steps each matches.
 */
function stepEventsSql(c: Ctx, stepIdx: number[], p: Params): { from: string; where: string; mask: string; raw: boolean } {
	const time = { tz: c.tz, from: c.from, to: c.to + c.win };
	const raw = stepIdx.some((k) => c.filters[k]!.length > 0);
	const cases = stepIdx.map((k) => `(CASE WHEN pe.code = ${c.codes[k] ?? -1} AND ${filtersSql(c.filters[k]!, p, time)} THEN ${1 << k} ELSE 0 END)`);
	const codes = [...new Set(stepIdx.map((k) => c.codes[k] ?? -1))];
	return {
		from: `people_events pe${raw ? " JOIN events e ON e.rowid = pe.ref" : ""}`,
		// One week per statement (?4 = ?5): the keyset on the rest of the key then reads the index in order.
		where: `pe.tenant_id = ?1 AND pe.wk = ?4 AND ?5 = ?5 AND pe.ts >= ?2 AND pe.ts < ?3 AND pe.code IN (${codes.join(", ")})`,
		mask: cases.join(" | "),
		raw,
	};
}

/** Refuses before reading more raw events than a raw query may (the 400 names what to narrow). */
async function guard(c: Ctx, what: string, field: string, sql: string, params: unknown[]): Promise<void> {
	const r = await c.db.prepare(sql).bind(...params).first<{ n: number }>();
	c.deadline.check();
	if ((r?.n ?? 0) > MAX_RAW_ROWS)
		throw new ApiError(
			400,
			"query_too_expensive",
			`${field}: this funnel reads ${r!.n} events of ${what} (limit ${MAX_RAW_ROWS}); narrow date_range, shorten the window, or add filters to the steps`,
			{ field, rows: r!.n, limit: MAX_RAW_ROWS },
		);
}

/**
 * Reads step events page by page (keyset on the people_events key within each week): calls `sink`
 * with [pid, ts, ref, mask, pred] for each event matching a step. `withPred`: events matching step
 * 2 carry the time of their step-1 predecessor (predSql), or -1.
 */
async function readSteps(c: Ctx, stepIdx: number[], to: number, withPred: boolean, sink: (row: [number, number, number, number, number | null]) => void): Promise<void> {
	const pp = new Params(10);
	const pred = withPred ? predSql(c, pp) : null;
	const p = new Params(10 + pp.values.length);
	const s = stepEventsSql(c, stepIdx, p);
	const { lo, hi } = weeksOf(c.from, to);
	const sql = `SELECT json_group_array(json_array(pid, code, ts, ref, mask, pred)) AS p FROM (
		SELECT pe.pid, pe.code, pe.ts, pe.ref, ${s.mask} AS mask, ${pred ? `CASE WHEN (${s.mask}) & 2 THEN ${pred} END` : "NULL"} AS pred
		FROM ${s.from} WHERE ${s.where} AND (pe.pid, pe.code, pe.ts, pe.ref) > (?6, ?7, ?8, ?9)
		ORDER BY pe.pid, pe.code, pe.ts, pe.ref LIMIT ${PAGE_ROWS})`;
	for (let wk = lo; wk <= hi; wk++) {
		let after: [number, number, number, number] = [-1, 0, 0, 0];
		for (;;) {
			const r = await c.db
				.prepare(sql)
				.bind(c.tenantId, c.from, to, wk, wk, ...after, ...pp.values, ...p.values)
				.first<{ p: string }>();
			c.deadline.check();
			const page = JSON.parse(r?.p ?? "[]") as [number, number, number, number, number, number | null][];
			for (const [pid, , ts, ref, mask, pr] of page) if (mask) sink([pid, ts, ref, mask, pr]);
			c.rowsRead += page.length;
			if (page.length < PAGE_ROWS) break;
			const last = page[page.length - 1]!;
			after = [last[0], last[1], last[2], last[3]];
		}
	}
}

/** SQL for the latest step-1 event (its time) before the event `pe`, at most the window earlier and in the range. */
function predSql(c: Ctx, p: Params): string {
	const time = { tz: c.tz, from: c.from, to: c.to + c.win };
	const f = c.filters[0]!;
	const weeks = Math.ceil(c.win / WEEK_MS) + 1;
	const subs: string[] = [];
	for (let i = 0; i < weeks; i++)
		subs.push(`coalesce((SELECT s.ts FROM people_events s${f.length ? " JOIN events e ON e.rowid = s.ref" : ""}
			WHERE s.tenant_id = ?1 AND s.wk = pe.wk - ${i} AND s.pid = pe.pid AND s.code = ${c.codes[0] ?? -1} AND s.ts >= ?2 AND s.ts < ${c.to}
			AND s.ts >= pe.ts - ${c.win} AND (s.ts < pe.ts OR (s.ts = pe.ts AND s.ref < pe.ref))${f.length ? ` AND ${filtersSql(f, p, time)}` : ""}
			ORDER BY s.ts DESC, s.ref DESC LIMIT 1), -1)`);
	return subs.length === 1 ? subs[0]! : `max(${subs.join(", ")})`;
}

/**
 * When step 1's people can be counted from the active-day bitmaps: no filters on it, no breakdown,
 * and a range of whole local days in the zone the bitmaps are kept in. Their local days, else null.
 */
function dayBitsOf(q: FunnelRequest, bit: number | undefined, tz: string, peopleTz: string, range: { from: number; to: number }): Ctx["dayBits"] {
	if (bit == null || q.breakdown || q.filters.length || q.steps[0]!.filters.length || tz !== peopleTz) return null;
	const day = dayNumbers(tz);
	const from = day(range.from);
	const to = day(range.to - 1);
	if (periodStart("day", from, tz) !== range.from || periodStart("day", to + 1, tz) !== range.to) return null;
	return { bit, from, to };
}

/** Step 1: how many people (and per breakdown value: of their first step-1 event in the range). */
async function stepOne(c: Ctx): Promise<{ total: number; byValue: Map<string | null, number> | null }> {
	const p = new Params(6);
	const time = { tz: c.tz, from: c.from, to: c.to };
	const f = c.filters[0]!;
	const { lo, hi } = weeksOf(c.from, c.to);
	const base = `FROM people_events pe${f.length || c.q.breakdown ? " JOIN events e ON e.rowid = pe.ref" : ""}
		WHERE pe.tenant_id = ?1 AND pe.wk BETWEEN ?4 AND ?5 AND pe.code = ${c.codes[0] ?? -1} AND pe.ts >= ?2 AND pe.ts < ?3`;
	const args = [c.tenantId, c.from, c.to, lo, hi];
	if (f.length || c.q.breakdown)
		await guard(c, `step 1 (${c.q.steps[0]!.event})`, f.length ? "steps[0].filters" : "breakdown", `SELECT count(*) AS n FROM people_events pe WHERE pe.tenant_id = ?1 AND pe.wk BETWEEN ?4 AND ?5 AND pe.code = ${c.codes[0] ?? -1} AND pe.ts >= ?2 AND pe.ts < ?3`, args);
	const cond = f.length ? ` AND ${filtersSql(f, p, time)}` : "";
	if (c.dayBits) {
		// The people with the step's bit on a local day of the range: one row per person and active day
		// rather than one per event (a page view funnel's first step is most of a tenant's events).
		const { bit, from, to } = c.dayBits;
		const r = await c.db
			.prepare(`SELECT count(DISTINCT pid) AS n FROM people_days WHERE tenant_id = ?1 AND day BETWEEN ?2 AND ?3 AND word = ${Math.floor(bit / WORD_BITS)} AND (bits >> ${bit % WORD_BITS}) & 1`)
			.bind(c.tenantId, from, to)
			.first<{ n: number }>();
		c.deadline.check();
		return { total: r?.n ?? 0, byValue: null };
	}
	if (!c.q.breakdown) {
		const r = await c.db.prepare(`SELECT count(DISTINCT pe.pid) AS n ${base}${cond}`).bind(...args, ...p.values).first<{ n: number }>();
		c.deadline.check();
		return { total: r?.n ?? 0, byValue: null };
	}
	const v = dimSql(c.q.breakdown, p, time);
	// NOTE: SQLite takes the bare columns of a min() aggregate from the row holding the minimum.
	const { results } = await c.db
		.prepare(`SELECT v, count(*) AS n FROM (SELECT pe.pid, min(pe.ts) AS ts, ${v} AS v ${base}${cond} GROUP BY pe.pid) GROUP BY v`)
		.bind(...args, ...p.values)
		.all<{ v: string | null; n: number }>();
	c.deadline.check();
	const byValue = new Map<string | null, number>();
	let total = 0;
	for (const r of results) {
		const key = valueOut(r.v) as string | null;
		byValue.set(key, (byValue.get(key) ?? 0) + r.n);
		total += r.n;
	}
	return { total, byValue };
}

/** The breakdown value of some people: that of their first step-1 event in the range (first touch). */
async function valuesOf(c: Ctx, pids: number[], breakdown: Dim): Promise<Map<number, string | null>> {
	const out = new Map<number, string | null>();
	const f = c.filters[0]!;
	const time = { tz: c.tz, from: c.from, to: c.to };
	const { lo, hi } = weeksOf(c.from, c.to);
	for (let i = 0; i < pids.length; i += 2000) {
		const p = new Params(7);
		const v = dimSql(breakdown, p, time);
		const cond = f.length ? ` AND ${filtersSql(f, p, time)}` : "";
		const { results } = await c.db
			.prepare(
				// NOTE: CROSS JOIN keeps the order person × week → key lookups (a week range would scan every person's rows).
				`SELECT pid, v FROM (SELECT pe.pid, min(pe.ts) AS ts, ${v} AS v FROM json_each(?6) j CROSS JOIN json_each(?4) w
				CROSS JOIN people_events pe ON pe.tenant_id = ?1 AND pe.wk = w.value AND pe.pid = j.value
				JOIN events e ON e.rowid = pe.ref WHERE pe.code = ${c.codes[0] ?? -1} AND pe.ts >= ?2 AND pe.ts < ?3 AND ?5 = ?5${cond} GROUP BY pe.pid)`,
			)
			.bind(c.tenantId, c.from, c.to, JSON.stringify(Array.from({ length: hi - lo + 1 }, (_, k) => lo + k)), 0, JSON.stringify(pids.slice(i, i + 2000)), ...p.values)
			.all<{ pid: number; v: string | null }>();
		c.deadline.check();
		for (const r of results) out.set(r.pid, valueOut(r.v) as string | null);
	}
	return out;
}

/** Strict order: step 1 counted in SQL, later steps read with each step-2 event's step-1 predecessor. */
async function strict(c: Ctx): Promise<Counted> {
	const one = await stepOne(c);
	const later = c.q.steps.map((_, i) => i).slice(1);
	const to = c.to + c.win;
	const { lo, hi } = weeksOf(c.from, to);
	await guard(
		c,
		`steps 2-${c.q.steps.length}`,
		"date_range",
		`SELECT count(*) AS n FROM people_events pe WHERE pe.tenant_id = ?1 AND pe.wk BETWEEN ?4 AND ?5 AND pe.ts >= ?2 AND pe.ts < ?3 AND pe.code IN (${[...new Set(later.map((k) => c.codes[k] ?? -1))].join(", ")})`,
		[c.tenantId, c.from, to, lo, hi],
	);
	const byPerson = new Map<number, StepEvent[]>();
	await readSteps(c, later, to, true, (r) => {
		let list = byPerson.get(r[0]);
		if (!list) byPerson.set(r[0], (list = []));
		const e: StepEvent = { ts: r[1], ref: r[2], mask: r[3] };
		if (r[3] & 2) e.pred = r[4] != null && r[4] >= 0 ? r[4] : null;
		list.push(e);
	});
	const reached: Reached[] = [];
	for (const [pid, list] of byPerson) {
		list.sort((a, b) => a.ts - b.ts || a.ref - b.ref);
		const attempt = strictAttempt(list, c.q.steps.length, c.win);
		if (attempt) reached.push({ pid, attempt });
	}
	const valueOf = c.q.breakdown ? await valuesOf(c, reached.map((r) => r.pid), c.q.breakdown) : null;
	return { entered1: one.total, byValue: one.byValue, reached, valueOf };
}

/** Any order: every step event of the range and window, per person. */
async function anyOrder(c: Ctx): Promise<Counted> {
	const all = c.q.steps.map((_, i) => i);
	const to = c.to + c.win;
	const { lo, hi } = weeksOf(c.from, to);
	await guard(
		c,
		"the funnel's steps",
		"date_range",
		`SELECT count(*) AS n FROM people_events pe WHERE pe.tenant_id = ?1 AND pe.wk BETWEEN ?4 AND ?5 AND pe.ts >= ?2 AND pe.ts < ?3 AND pe.code IN (${[...new Set(all.map((k) => c.codes[k] ?? -1))].join(", ")})`,
		[c.tenantId, c.from, to, lo, hi],
	);
	const byPerson = new Map<number, StepEvent[]>();
	await readSteps(c, all, to, false, (r) => {
		let list = byPerson.get(r[0]);
		if (!list) byPerson.set(r[0], (list = []));
		list.push({ ts: r[1], ref: r[2], mask: r[3] });
	});
	const reached: Reached[] = [];
	for (const [pid, list] of byPerson) {
		list.sort((a, b) => a.ts - b.ts || a.ref - b.ref);
		const attempt = anyAttempt(list, c.q.steps.length, c.win, c.from, c.to);
		if (attempt) reached.push({ pid, attempt });
	}
	if (!c.q.breakdown) return { entered1: reached.length, byValue: null, reached, valueOf: null };
	// First touch: the step-1 event of each person's attempt.
	const values = await valuesByRef(c, reached.map((r) => r.attempt.firstRef!), c.q.breakdown);
	const byValue = new Map<string | null, number>();
	const valueOf = new Map<number, string | null>();
	for (const r of reached) {
		const v = values.get(r.attempt.firstRef!) ?? null;
		valueOf.set(r.pid, v);
		byValue.set(v, (byValue.get(v) ?? 0) + 1);
	}
	return { entered1: reached.length, byValue, reached, valueOf };
}

async function valuesByRef(c: Ctx, refs: number[], d: Dim): Promise<Map<number, string | null>> {
	const out = new Map<number, string | null>();
	const time = { tz: c.tz, from: c.from, to: c.to + c.win };
	for (let i = 0; i < refs.length; i += 5000) {
		const p = new Params(2);
		const v = dimSql(d, p, time);
		const { results } = await c.db
			.prepare(`SELECT e.rowid AS ref, ${v} AS v FROM json_each(?1) j JOIN events e ON e.rowid = j.value`)
			.bind(JSON.stringify(refs.slice(i, i + 5000)), ...p.values)
			.all<{ ref: number; v: string | null }>();
		c.deadline.check();
		for (const r of results) out.set(r.ref, valueOut(r.v) as string | null);
	}
	return out;
}

/** Answers POST /v1/funnels for one tenant (from the key). */
export async function answerFunnel(db: D1Database, tenantId: string, t: PeopleTenant, body: unknown, now = Date.now()) {
	const started = Date.now();
	const q = parseWith(funnelRequest, body, "invalid_funnel");
	const { tz, range } = zoneAndRange(q, t.timezone, now, "invalid_funnel");
	if (t.archived_before && range.from < t.archived_before)
		throw new ApiError(
			400,
			"needs_raw_events",
			`date_range: funnels read the events still in D1, and events before ${new Date(t.archived_before).toISOString()} are archived to R2; start the range later`,
			{ field: "date_range", archived_before: new Date(t.archived_before).toISOString() },
		);
	const deadline = deadlineOf(q.timeout_ms);
	const names = await codesOf(db, tenantId, q.steps.map((s) => s.event));
	const c: Ctx = {
		db,
		tenantId,
		q,
		tz,
		from: range.from,
		to: range.to,
		win: windowMs(q.window),
		codes: q.steps.map((s) => names.get(s.event)?.code ?? null),
		dayBits: dayBitsOf(q, names.get(q.steps[0]!.event)?.bit, tz, t.people_tz ?? t.timezone, range),
		filters: q.steps.map((s) => [...q.filters, ...s.filters]),
		deadline,
		rowsRead: 0,
	};
	const res = q.order === "strict" ? await strict(c) : await anyOrder(c);
	const steps = tally(q, res.entered1, res.reached);
	let breakdown: FunnelAnswer["breakdown"];
	if (q.breakdown) {
		const groups = new Map<string | null, Reached[]>();
		for (const r of res.reached) {
			const v = res.valueOf!.get(r.pid) ?? null;
			let g = groups.get(v);
			if (!g) groups.set(v, (g = []));
			g.push(r);
		}
		const ranked = [...res.byValue!.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
		breakdown = {
			dimension: q.breakdown.name,
			values: ranked.slice(0, q.breakdown_limit).map(([v, n]) => ({ value: v, steps: tally(q, n, groups.get(v) ?? []) })),
			omitted_values: Math.max(0, ranked.length - q.breakdown_limit),
		};
	}
	const meta: FunnelAnswer["meta"] = {
		date_range: { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() },
		timezone: tz,
		window: q.window,
		window_ms: c.win,
		order: q.order,
		rows_read: c.rowsRead,
		...(await freshness(db, tenantId, t)),
		took_ms: Date.now() - started,
	};
	// Keys in the order the answer has always had: steps, breakdown (only with one), meta.
	const out: FunnelAnswer = breakdown ? { steps, breakdown, meta } : { steps, meta };
	return out;
}
