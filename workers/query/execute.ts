import { ApiError } from "../errors";
import { BucketAcc, DISTINCT_PREFIX, dimValue, distinctValue, RAW_COLUMNS, type RawRow, userKey } from "../rollup/build";
import { rawPages } from "../rollup/store";
import { NumStats } from "../sketch/ddsketch";
import { daySources, parseState, type RollupState, sameRows, stateStatement, tailPages } from "./fresh";
import { MAX_RAW_ROWS, type Plan } from "./plan";
import type { Dim, Filter, Metric } from "./spec";
import { localParts, nextStart } from "./time";

export type DimValue = string | number | null;

/** Numbers a metric reads from a group, whichever source filled it. */
interface Stats {
	count: number;
	sum: number;
	min: number | null;
	max: number | null;
	quantile(q: number): number | null;
}

/** One output group (time bucket × dimension values) being aggregated. */
export interface Acc {
	count: number;
	uniques(): number;
	/** Distinct values of a property. */
	distinctCount(prop: string): number;
	stats(prop: string): Stats | null;
}

/** Raw groups are exact: a set of users, of each property's values, and every value. */
class ExactAcc implements Acc {
	count = 0;
	users: Set<string> | null = null;
	readonly values = new Map<string, number[]>();
	readonly distinct = new Map<string, Set<string>>();
	uniques() {
		return this.users ? this.users.size : 0;
	}
	distinctCount(prop: string) {
		return this.distinct.get(prop)?.size ?? 0;
	}
	stats(prop: string): Stats | null {
		const v = this.values.get(prop);
		if (!v || v.length === 0) return null;
		v.sort((a, b) => a - b);
		let sum = 0;
		for (const x of v) sum += x;
		return { count: v.length, sum, min: v[0]!, max: v[v.length - 1]!, quantile: (q: number) => v[Math.floor(q * (v.length - 1))]! };
	}
}

/**
 * The query's time limit, checked after every read. NOTE: in Workers the clock only moves at
 * I/O, so the check sits right after each D1 call (the answer path also races a timer).
 */
export class Deadline {
	readonly at: number;
	constructor(readonly ms: number) {
		this.at = Date.now() + ms;
	}
	error() {
		return new ApiError(422, "query_timeout", `The query took longer than its time limit of ${this.ms} ms; narrow date_range, drop a dimension or use rolled-up metrics.`, {
			timeout_ms: this.ms,
		});
	}
	check() {
		if (Date.now() > this.at) throw this.error();
	}
}

export interface Group {
	t: number;
	dims: DimValue[];
	/** null for a zero-filled bucket. */
	acc: Acc | null;
}

export interface Execution {
	groups: Map<string, Group>;
	rowsScanned: number;
	/** Rollup plans: hours of the range waiting for a rollup pass (their new events were read raw). */
	pendingHours?: number;
	/** Rollup plans: events the rollups did not hold yet, read raw and merged in. */
	rawTail?: number;
	/** With a `top` selection: the combinations whose sketches were merged (the others hold counts only). */
	merged?: Set<string>;
}

const QUANTILES: Record<string, number> = { p50: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };

/** The bin of a value of a distribution dimension: the lower edge of [edge, next edge), or null below the first edge. */
export function binOf(v: number, edges: readonly number[]): number | null {
	if (!(v >= edges[0]!)) return null;
	let lo = 0;
	let hi = edges.length - 1;
	while (lo < hi) {
		const mid = (lo + hi + 1) >> 1;
		if (edges[mid]! <= v) lo = mid;
		else hi = mid - 1;
	}
	return edges[lo]!;
}

/** The properties a plan reads: numeric sketches (stats), distinct counts, and a distribution's. */
function propsNeeded(p: Plan) {
	const stats = [...new Set(p.metrics.filter((m) => m.prop != null && m.kind !== "uniques").map((m) => m.prop!))];
	const distinct = [...new Set(p.metrics.filter((m) => m.kind === "uniques" && m.prop != null).map((m) => m.prop!))];
	const bins = p.dims.find((d) => d.kind === "bins") ?? null;
	return { stats, distinct, bins };
}

/** A metric's value for a group: counts are numbers, statistics null when there were no values. */
export function metricValue(m: Metric, acc: Acc | null): number | null {
	if (m.kind === "count") return acc?.count ?? 0;
	if (m.kind === "uniques") return acc ? (m.prop == null ? acc.uniques() : acc.distinctCount(m.prop)) : 0;
	const s = acc ? acc.stats(m.prop!) : null;
	if (m.kind === "sum") return s ? s.sum : 0;
	if (!s || s.count === 0) return null;
	if (m.kind === "avg") return s.sum / s.count;
	if (m.kind === "min") return s.min;
	if (m.kind === "max") return s.max;
	return s.quantile(QUANTILES[m.kind]!);
}

/** Index of the output bucket holding `t` (buckets sorted; -1 before the first). */
function bucketIndex(buckets: number[], t: number): number {
	let lo = 0;
	let hi = buckets.length - 1;
	if (t < buckets[0]!) return -1;
	while (lo < hi) {
		const mid = (lo + hi + 1) >> 1;
		if (buckets[mid]! <= t) lo = mid;
		else hi = mid - 1;
	}
	return lo;
}

/** Local hour / ISO weekday of instants, memoised (rows share bucket starts). */
function timeParts(tz: string) {
	const cache = new Map<number, { hour: number; weekday: number }>();
	return (t: number) => {
		let p = cache.get(t);
		if (!p) {
			const l = localParts(tz, t);
			cache.set(t, (p = { hour: l.hour, weekday: l.weekday }));
		}
		return p;
	};
}

const timeFilters = (filters: Filter[]) => filters.filter((f) => f.dim.kind === "hour_of_day" || f.dim.kind === "day_of_week");

function passesTime(filters: Filter[], parts: { hour: number; weekday: number }): boolean {
	for (const f of filters) {
		const v = f.dim.kind === "hour_of_day" ? parts.hour : parts.weekday;
		const nums = f.values.map((x) => (x == null ? Number.NaN : Number(x)));
		if (f.op === "is" && !nums.includes(v)) return false;
		if (f.op === "is_not" && nums.includes(v)) return false;
		if (f.op === "gt" && !(v > nums[0]!)) return false;
		if (f.op === "lt" && !(v < nums[0]!)) return false;
		if (f.op === "contains" && !f.values.some((x) => String(v).includes(String(x)))) return false;
	}
	return true;
}

/** SQL for filters on a text column where '' stands for "no value" (rollups) or NULL does (raw). */
function textFilterSql(expr: string, f: Filter, params: unknown[], nullAs: "empty" | "null"): string {
	const next = () => `?${params.length + 5}`;
	const vals = f.values.filter((v) => v != null);
	const hasNull = vals.length < f.values.length;
	const isNull = nullAs === "empty" ? `${expr} = ''` : `${expr} IS NULL`;
	if (f.op === "contains") {
		const parts = vals.map((v) => {
			const p = next();
			params.push(String(v));
			return `instr(lower(${expr}), lower(${p})) > 0`;
		});
		// A missing value never contains anything (rollups store it as '').
		return nullAs === "empty" ? `(${expr} != '' AND (${parts.join(" OR ")}))` : `(${parts.join(" OR ")})`;
	}
	if (f.op === "gt" || f.op === "lt") {
		const p = next();
		params.push(vals[0]);
		return `(${expr} ${f.op === "gt" ? ">" : "<"} ${p})`;
	}
	const list = vals.map((v) => {
		const p = next();
		params.push(typeof v === "number" && nullAs === "empty" ? String(v) : v);
		return p;
	});
	const inList = list.length ? `${expr} IN (${list.join(", ")})` : "0";
	if (f.op === "is") return hasNull ? `(${inList} OR ${isNull})` : `(${inList})`;
	return hasNull ? `(NOT (${inList}) AND NOT (${isNull}))` : `(NOT (${inList}) OR ${isNull})`;
}

/**
 * Which groups need their sketches merged, when the answer keeps only some of them.
 * `top`: only the `limit` dimension combinations with the largest (smallest, asc) counts are kept:
 * combinations ranked from counts alone, then sketches merged for those (ties at the edge
 * included), not for every value. `combos`: only these combinations (JSON of their dimension
 * values) are looked at, e.g. a comparison period's rows for the main period's top values.
 */
export interface Selection {
	top?: { limit: number; desc: boolean };
	combos?: Set<string>;
}

/** The combinations (JSON of dimension values) whose counts rank in the top `limit`, ties at the edge included. */
function topCombos(totals: Map<string, number>, limit: number, desc: boolean): Set<string> {
	if (totals.size <= limit) return new Set(totals.keys());
	const sorted = [...totals.values()].sort((a, b) => (desc ? b - a : a - b));
	const edge = sorted[limit - 1]!;
	const keep = new Set<string>();
	for (const [k, v] of totals) if (desc ? v >= edge : v <= edge) keep.add(k);
	return keep;
}

/** A raw event in the range the rollups do not hold yet passes the rollup read's filters (the same rules, in JS). */
function passesRollupFilters(filters: Filter[], event: string, value: string): boolean {
	for (const f of filters) {
		const k = f.dim.kind;
		if (k === "hour_of_day" || k === "day_of_week") continue;
		const v = k === "event" ? event : value;
		const vals = f.values.filter((x) => x != null).map(String);
		const hasNull = vals.length < f.values.length;
		if (f.op === "contains") {
			// SQLite's lower() folds ASCII only, and a missing value ('') contains nothing.
			const low = asciiLower(v);
			if (v === "" || !vals.some((x) => low.includes(asciiLower(x)))) return false;
		} else if (f.op === "is") {
			if (!(vals.includes(v) || (hasNull && v === ""))) return false;
		} else if (f.op === "is_not") {
			if (vals.includes(v) || (hasNull && v === "")) return false;
		}
	}
	return true;
}
const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());

/** Raw events read to complete a rollup answer are capped: past this, the answer is the rollups' alone and says so. */
export const MAX_RAW_TAIL = 200_000;

/**
 * Reads the plan's rollup rows, and the events the rollups do not hold yet (fresh.ts), as of one
 * instant, and merges them into output groups: the answer includes every event in D1 when it ran.
 */
async function fromRollups(db: D1Database, tenantId: string, p: Plan, deadline: Deadline, sel: Selection = {}): Promise<Execution> {
	const needUsers = p.metrics.some((m) => m.kind === "uniques" && m.prop == null);
	const { stats: statProps, distinct, bins } = propsNeeded(p);
	const needProps = statProps.length > 0 || distinct.length > 0 || bins != null;
	// The sketches each row's metrics JSON is read for.
	const props = [...statProps, ...distinct.map((d) => DISTINCT_PREFIX + d)];
	const params: unknown[] = [];
	// Rows per event name when the query splits or filters by event, else the all-events rows.
	const byEvent = p.dims.some((d) => d.kind === "event") || p.filters.some((f) => f.dim.kind === "event");
	let where = byEvent ? " AND r.event != ''" : " AND r.event = ''";
	for (const f of p.filters) {
		if (f.dim.kind === "event") where += ` AND ${textFilterSql("r.event", f, params, "empty")}`;
		else if (f.dim.kind !== "hour_of_day" && f.dim.kind !== "day_of_week") where += ` AND ${textFilterSql("r.value", f, params, "empty")}`;
	}
	const [to, weekSpans, dirtyDays, hourSpans] = [params.length + 5, params.length + 6, params.length + 7, params.length + 8];
	const dayPlan = p.level === "day";
	const sourcesOf = (state: RollupState | null) =>
		dayPlan && state
			? daySources(p.range, p.weeks, p.tz, state)
			: { weekSpans: p.weeks && dayPlan ? weekList(p) : [], dirtyDays: [], hourSpans: [] };
	// Day plans read whole clean weeks from week rows, the other clean days from day rows, and dirty
	// days (stale until the pass recomputes them) from their hours. `only` narrows the read to some
	// events / dimension values (JSON lists bound after the others).
	const read = (sketches: boolean, src: ReturnType<typeof sourcesOf>, only: { events: string[] | null; values: string[] | null } = { events: null, values: null }) => {
		const cols = `r.bucket, r.event, r.value, r.count, ${sketches && needUsers ? "r.users" : "''"} AS users, ${sketches && needProps ? "r.metrics" : "'{}'"} AS metrics`;
		let narrow = "";
		const more: string[] = [];
		for (const [col, list] of [["event", only.events], ["value", only.values]] as const) {
			if (!list) continue;
			more.push(JSON.stringify(list));
			narrow += ` AND r.${col} IN (SELECT value FROM json_each(?${hourSpans + more.length}))`;
		}
		const w = where;
		const sql = `SELECT ${cols} FROM rollups r WHERE r.tenant_id = ?1 AND r.level = ?2 AND r.dim = ?3 AND r.bucket >= ?4 AND r.bucket < ?${to}
			AND NOT EXISTS (SELECT 1 FROM json_each(?${weekSpans}) s WHERE r.bucket >= s.value ->> 0 AND r.bucket < s.value ->> 1)
			AND r.bucket NOT IN (SELECT value FROM json_each(?${dirtyDays}))${w}${narrow}
			UNION ALL SELECT ${cols} FROM json_each(?${weekSpans}) s JOIN rollups r ON r.tenant_id = ?1 AND r.level = 'week' AND r.dim = ?3 AND r.bucket = s.value ->> 0 WHERE 1${w}${narrow}
			UNION ALL SELECT ${cols} FROM json_each(?${hourSpans}) s JOIN rollups r ON r.tenant_id = ?1 AND r.level = 'hour' AND r.dim = ?3
				AND r.bucket >= s.value ->> 0 AND r.bucket < s.value ->> 1 WHERE 1${w}${narrow}`;
		return db
			.prepare(sql)
			.bind(tenantId, p.level, p.rollupDim, p.range.from, ...params, p.range.to, JSON.stringify(src.weekSpans), JSON.stringify(src.dirtyDays), JSON.stringify(src.hourSpans), ...more);
	};
	const rowsOf = (res: D1Result) =>
		(res.results as Record<string, unknown>[]).map((r) => [r.bucket, r.event, r.value, r.count, r.users, r.metrics] as [number, string, string, number, string, string]);
	const sketched = needUsers || needProps;
	// With a top-N selection, sketches (11 KB each when dense) are read in a second query, only for
	// the values kept: the country breakdown of a month reads 120 sketches instead of 480. A
	// distribution needs every row's sketch to count its bins.
	const twoReads = sketched && sel.top != null && !bins;
	const narrowed = sel.combos ? narrowTo(p, sel.combos) : undefined;
	// The state and the rows in one batch (one transaction): the rows match the state. A day plan
	// whose range holds dirty days reads again with those days from their hours, until the state
	// it read with is the state it found (a rollup pass may commit in between).
	let src = sourcesOf(null);
	let state: RollupState;
	let first: D1Result;
	for (let attempt = 0; ; attempt++) {
		const [stateRes, rowsRes] = await db.batch([stateStatement(db, tenantId, p.range), read(sketched && !twoReads, src, narrowed)]);
		deadline.check();
		state = parseState(stateRes!.results[0] as Record<string, unknown> | undefined);
		first = rowsRes!;
		const wanted = sourcesOf(state);
		if (!dayPlan || JSON.stringify(wanted) === JSON.stringify(src) || attempt >= 4) break;
		src = wanted;
	}
	const rows = rowsOf(first);
	let scanned = rows.length;
	const pending = state.hours.filter(([b]) => b + 3_600_000 > p.range.from && b < p.range.to).length;
	const groups = new Map<string, Group>();
	const parts = timeParts(p.tz);
	const tf = timeFilters(p.filters);
	/** The output group of a row, or null when the row is filtered out (time filters, outside the buckets, not selected). */
	const groupOf = (bucket: number, event: string, value: string, bin: number | null = null) => {
		if (tf.length && !passesTime(tf, parts(bucket))) return null;
		const t = bucketIndex(p.buckets, bucket);
		if (t < 0) return null;
		const dims = p.dims.map((d): DimValue => {
			if (d.kind === "event") return event;
			if (d.kind === "hour_of_day") return parts(bucket).hour;
			if (d.kind === "day_of_week") return parts(bucket).weekday;
			if (d.kind === "bins") return bin;
			return value === "" ? null : value;
		});
		const combo = JSON.stringify(dims);
		if (sel.combos && !sel.combos.has(combo)) return null;
		return { t, dims, combo, key: `${t}\u0001${combo}` };
	};
	const accOf = (g: { t: number; dims: DimValue[]; key: string }) => {
		let acc = groups.get(g.key)?.acc as BucketAcc | undefined;
		if (!acc) groups.set(g.key, { t: g.t, dims: g.dims, acc: (acc = new BucketAcc()) });
		return acc;
	};
	// Counts into groups (cheap); then sketches, for the groups the answer keeps.
	const combosOf = new Map<string, number>();
	for (const [bucket, event, value, count, users, metrics] of rows) {
		if (bins) {
			// A distribution: the row's count split over the bins by the property's sketch.
			const enc = metrics && metrics !== "{}" ? (JSON.parse(metrics) as Record<string, string>)[bins.prop!] : undefined;
			if (!enc) continue;
			const hist = NumStats.decode(enc).histogram(bins.edges!);
			hist.forEach((n, k) => {
				if (!n) return;
				const g = groupOf(bucket, event, value, k === 0 ? null : bins.edges![k - 1]!);
				if (!g) return;
				accOf(g).count += n;
				combosOf.set(g.combo, (combosOf.get(g.combo) ?? 0) + n);
			});
			continue;
		}
		const g = groupOf(bucket, event, value);
		if (!g) continue;
		const acc = accOf(g);
		acc.count += count;
		combosOf.set(g.combo, (combosOf.get(g.combo) ?? 0) + count);
		if (sketched && !twoReads) acc.mergeStored(0, needUsers ? users : null, needProps ? metrics : null, props);
	}
	// The events the rollups did not hold yet, exactly, as HourBuilder would have counted them.
	const dimProp = p.rollupDim.startsWith("prop:") ? p.rollupDim.slice(5) : null;
	const tailProps = [...new Set([...statProps, ...distinct, ...(dimProp ? [dimProp] : []), ...(bins ? [bins.prop!] : [])])];
	const dimCol = p.rollupDim && !dimProp ? RAW_COLUMNS.indexOf(p.rollupDim as (typeof RAW_COLUMNS)[number]) : -1;
	let tail = 0;
	let tailSkipped = 0;
	const tailRows: RawRow[] = [];
	for await (const page of tailPages(db, tenantId, p.range, tailProps, state)) {
		deadline.check();
		tail += page.length;
		if (tail > MAX_RAW_TAIL) {
			tailSkipped = tail;
			tailRows.length = 0;
			break;
		}
		for (const row of page) tailRows.push(row);
	}
	if (!tailSkipped) {
		scanned += tailRows.length;
		for (const row of tailRows) {
			const value = dimProp ? dimValue(row[8][tailProps.indexOf(dimProp)]) : dimCol >= 0 ? dimValue(row[dimCol]) : "";
			if (!passesRollupFilters(p.filters, row[0], value)) continue;
			let bin: number | null = null;
			if (bins) {
				const v = row[8][tailProps.indexOf(bins.prop!)];
				if (typeof v !== "number" || !Number.isFinite(v)) continue;
				bin = binOf(v, bins.edges!);
			}
			const g = groupOf(row[3], row[0], value, bin);
			if (!g) continue;
			const acc = accOf(g);
			const at = (pr: string) => row[8][tailProps.indexOf(pr)];
			acc.addRaw(needUsers ? userKey(row[1], row[2]) : null, statProps.map(at), statProps, distinct, distinct.map(at));
			combosOf.set(g.combo, (combosOf.get(g.combo) ?? 0) + 1);
		}
	}
	const keep = sel.top ? topCombos(combosOf, sel.top.limit, sel.top.desc) : null;
	if (twoReads) {
		const wanted = keep!;
		const second = rowsOf(await read(true, src, narrowTo(p, wanted)).all());
		deadline.check();
		scanned += second.length;
		for (const [bucket, event, value, , users, metrics] of second) {
			const g = groupOf(bucket, event, value);
			if (!g || !wanted.has(g.combo)) continue;
			(groups.get(g.key)!.acc as BucketAcc).mergeStored(0, needUsers ? users : null, needProps ? metrics : null, props);
		}
	}
	return { groups, rowsScanned: scanned, pendingHours: pending, rawTail: tailSkipped ? -tailSkipped : tailRows.length, merged: keep ?? undefined };
}

/** [start, end) of the whole weeks a day plan reads from week rows (all of them, before the state is known). */
function weekList(p: Plan): [number, number][] {
	const out: [number, number][] = [];
	for (let w = p.weeks!.from; w < p.weeks!.to; w = nextStart("week", w, p.tz)) out.push([w, nextStart("week", w, p.tz)]);
	return out;
}

/**
 * The events and stored dimension values ('' for none) that some combinations (JSON of dimension
 * values) use: a SQL narrowing that reads a superset of their rows, exact ones picked in JS.
 */
function narrowTo(p: Plan, combos: Set<string>): { events: string[] | null; values: string[] | null } {
	const ei = p.dims.findIndex((d) => d.kind === "event");
	const vi = p.dims.findIndex((d) => d.kind !== "event" && d.kind !== "hour_of_day" && d.kind !== "day_of_week");
	const events = new Set<string>();
	const values = new Set<string>();
	for (const c of combos) {
		const dims = JSON.parse(c) as DimValue[];
		if (ei >= 0) events.add(String(dims[ei]));
		if (vi >= 0) values.add(dims[vi] == null ? "" : String(dims[vi]));
	}
	return { events: ei >= 0 ? [...events] : null, values: vi >= 0 ? [...values] : null };
}

const COLUMN_OF: Record<string, number> = Object.fromEntries(RAW_COLUMNS.map((c, i) => [c, i]));

/** Reads raw events (exact answers) for plans the rollups cannot serve. */
/**
 * SQL conditions (each starting with " AND ") for filters on raw events, parameters appended to
 * `params` and numbered from ?5 (?1–?4 are the caller's). Hour and weekday filters are not SQL: the
 * caller applies them (or refuses them).
 */
export function rawFilterSql(filters: Filter[], params: unknown[], alias = ""): string {
	let where = "";
	const col = (c: string) => `${alias}${c}`;
	for (const f of filters) {
		const k = f.dim.kind;
		if (k === "hour_of_day" || k === "day_of_week") continue;
		if (k === "prop") {
			const path = `?${params.length + 5}`;
			params.push(`$."${f.dim.prop}"`);
			const props = col("properties");
			if (f.op === "gt" || f.op === "lt")
				where += ` AND json_type(${props}, ${path}) IN ('integer', 'real') AND ${textFilterSql(`json_extract(${props}, ${path})`, f, params, "null")}`;
			else {
				// Compared as text, the way rollups store dimension values (5 → '5', true → 'true').
				const text = `(CASE json_type(${props}, ${path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'object' THEN NULL WHEN 'array' THEN NULL
					ELSE CAST(json_extract(${props}, ${path}) AS TEXT) END)`;
				where += ` AND ${textFilterSql(text, { ...f, values: f.values.map((v) => (v == null ? null : String(v))) }, params, "null")}`;
			}
		} else where += ` AND ${textFilterSql(col(k), f, params, "null")}`;
	}
	return where;
}

async function fromRaw(db: D1Database, tenantId: string, p: Plan, deadline: Deadline): Promise<Execution> {
	const params: unknown[] = [];
	const where = rawFilterSql(p.filters, params);
	// Counting first keeps an accidental full scan from tying up the database: refuse big reads.
	// (Filter parameters are numbered from ?5 for rawPages; ?4 is its paging cursor, unused here.)
	const counted = await db
		.prepare(`SELECT count(*) AS n FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND ?4 = ?4${where}`)
		.bind(tenantId, p.range.from, p.range.to, 0, ...params)
		.first<{ n: number }>();
	deadline.check();
	if (counted!.n > MAX_RAW_ROWS)
		throw new ApiError(400, "query_too_expensive", `This query reads ${counted!.n} raw events (limit ${MAX_RAW_ROWS}): ${p.reason}. Narrow date_range or filters, or roll the property up.`, {
			field: "date_range",
			raw_rows: counted!.n,
			limit: MAX_RAW_ROWS,
			reason: p.reason,
		});
	const needUsers = p.metrics.some((m) => m.kind === "uniques" && m.prop == null);
	const { stats: props, distinct, bins } = propsNeeded(p);
	// The properties read: metric ones, then dimension ones (each once); values arrive in row[8] in this order.
	const read = [...new Set([...props, ...distinct, ...p.dims.filter((d) => d.kind === "prop" || d.kind === "bins").map((d) => d.prop!)])];
	const at = new Map(read.map((name, i) => [name, i]));
	const groups = new Map<string, Group>();
	const parts = timeParts(p.tz);
	const tf = timeFilters(p.filters);
	let scanned = 0;
	for await (const page of rawPages(db, tenantId, p.range.from, p.range.to, read, { sql: where, params })) {
		deadline.check();
		scanned += page.length;
		for (const row of page) add(row);
	}
	function add(row: RawRow) {
		const ts = row[3];
		if (tf.length && !passesTime(tf, parts(ts))) return;
		const t = bucketIndex(p.buckets, ts);
		if (t < 0) return;
		const values = row[8];
		// A distribution counts the events that have a number for its property, and only those.
		if (bins) {
			const v = values[at.get(bins.prop!)!];
			if (typeof v !== "number" || !Number.isFinite(v)) return;
		}
		const dims = p.dims.map((d: Dim): DimValue => {
			if (d.kind === "event") return row[0];
			if (d.kind === "hour_of_day") return parts(ts).hour;
			if (d.kind === "day_of_week") return parts(ts).weekday;
			if (d.kind === "bins") return binOf(values[at.get(d.prop!)!] as number, d.edges!);
			const v = d.kind === "prop" ? dimValue(values[at.get(d.prop!)!]) : dimValue(row[COLUMN_OF[d.kind]!]);
			return v === "" ? null : v;
		});
		const key = `${t}\u0001${JSON.stringify(dims)}`;
		let acc = groups.get(key)?.acc as ExactAcc | undefined;
		if (!acc) groups.set(key, { t, dims, acc: (acc = new ExactAcc()) });
		acc.count++;
		const user = userKey(row[1], row[2]);
		if (needUsers && user != null) (acc.users ??= new Set()).add(user);
		for (const prop of props) {
			const v = values[at.get(prop)!];
			if (typeof v !== "number" || !Number.isFinite(v)) continue;
			let arr = acc.values.get(prop);
			if (!arr) acc.values.set(prop, (arr = []));
			arr.push(v);
		}
		for (const prop of distinct) {
			const d = distinctValue(values[at.get(prop)!]);
			if (d === "") continue;
			let set = acc.distinct.get(prop);
			if (!set) acc.distinct.set(prop, (set = new Set()));
			set.add(d);
		}
	}
	return { groups, rowsScanned: scanned };
}

/** Runs a plan against D1. */
export function execute(db: D1Database, tenantId: string, p: Plan, deadline: Deadline, sel: Selection = {}): Promise<Execution> {
	return p.source === "rollup" ? fromRollups(db, tenantId, p, deadline, sel) : fromRaw(db, tenantId, p, deadline);
}
