import { ApiError } from "../errors";
import type { BucketAcc, RollupConfig } from "../rollup/build";
import { MINUTE_RETENTION_MS } from "../rollup/run";
import { Hll, HLL_STANDARD_ERROR } from "../sketch/hll";
import { DD_RELATIVE_ACCURACY } from "../sketch/ddsketch";
import { Deadline, type DimValue, type Execution, execute, type Group, metricValue, type Selection } from "./execute";
import { comparisonPlan, type Layout, type Plan, plan, resolveRange } from "./plan";
import { parseQuery, type QueryRequest } from "./spec";
import { formatLocal, isValidTimeZone } from "./time";

/** The server's time limit for one query (its comparison included). */
export const QUERY_TIMEOUT_MS = 10_000;

export interface ResultRow {
	time?: string;
	dimensions: DimValue[];
	metrics: (number | null)[];
	comparison?: { metrics: (number | null)[]; change: (number | null)[]; change_pct: (number | null)[] };
}

interface TenantContext {
	timezone: string;
	layout: Layout | null;
}

/** What the planner needs about a tenant: its zone and how its rollups are laid out. */
export interface TenantRow {
	timezone: string;
	day_tz: string | null;
	align_minutes: number | null;
	config: string | null;
	archived_before: number | null;
}

/** The TenantRow of the tenant whose key hash is ?1, for authorizeWith (one D1 round trip with the key check). */
export const TENANT_BY_KEY_SQL = `SELECT t.timezone, s.day_tz, s.align_minutes, s.config, s.archived_before FROM api_keys k JOIN tenants t ON t.id = k.tenant_id LEFT JOIN rollup_tenants s ON s.tenant_id = t.id WHERE k.hash = ?1`;

function tenantContext(row: TenantRow | null, now: number): TenantContext {
	if (!row) throw new ApiError(404, "not_found", "Tenant not found.");
	const layout: Layout | null =
		row.config == null
			? null
			: {
					dayTz: row.day_tz!,
					alignMinutes: row.align_minutes!,
					config: JSON.parse(row.config) as RollupConfig,
					archivedBefore: row.archived_before ?? 0,
					minutesSince: now - MINUTE_RETENTION_MS + 3_600_000,
				};
	return { timezone: row.timezone, layout };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;
/** Float noise off (2773.7599999999998 → 2773.76): 12 significant digits. */
const tidy = (x: number | null) => (x == null || Number.isInteger(x) ? x : Number(x.toPrecision(12)));

function withTimeout<T>(p: Promise<T>, deadline: Deadline): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | null = null;
	const limit = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(deadline.error()), deadline.ms);
	});
	return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/**
 * Runs the plans of a comparison and adds their groups up: a cut comparison reads its whole days
 * and its last partial day with two rollup plans over disjoint ranges and the same output buckets.
 */
async function executeParts(db: D1Database, tenantId: string, parts: Plan[], deadline: Deadline, sel: Selection = {}): Promise<Execution> {
	const [first, ...rest] = await Promise.all(parts.map((p) => execute(db, tenantId, p, deadline, sel)));
	for (const ex of rest) {
		for (const [key, g] of ex.groups) {
			const into = first!.groups.get(key);
			if (!into?.acc) first!.groups.set(key, g);
			else if (g.acc) mergeAcc(into.acc as BucketAcc, g.acc as BucketAcc);
		}
		first!.rowsScanned += ex.rowsScanned;
		first!.pendingHours = (first!.pendingHours ?? 0) + (ex.pendingHours ?? 0);
		if (first!.rawTail != null && ex.rawTail != null) first!.rawTail = first!.rawTail < 0 || ex.rawTail < 0 ? -(Math.abs(first!.rawTail) + Math.abs(ex.rawTail)) : first!.rawTail + ex.rawTail;
	}
	return first!;
}

/** Folds rollup group `b` into `a`: counts add, sketches union. */
function mergeAcc(a: BucketAcc, b: BucketAcc): void {
	a.count += b.count;
	if (b.users) (a.users ??= Hll.create()).merge(b.users);
	for (const [prop, st] of b.metrics) a.stat(prop).merge(st);
}

/**
 * Events in D1 the rollups did not hold yet, read raw and counted in (an answer includes every event
 * in D1 when it ran); past MAX_RAW_TAIL they are left out and the answer says how many.
 */
function unrolled(cur: Execution, before: Execution | null) {
	const all = [cur.rawTail ?? 0, before?.rawTail ?? 0];
	const skipped = all.filter((n) => n < 0).reduce((s, n) => s - n, 0);
	return { unrolled_events: all.filter((n) => n > 0).reduce((s, n) => s + n, 0), ...(skipped ? { unrolled_events_skipped: skipped } : {}) };
}

const groupKey = (t: number, dims: DimValue[]) => `${t}\u0001${JSON.stringify(dims)}`;

/**
 * Zero-fills time series: every output bucket for every dimension combination kept. A series
 * split by dimensions keeps the `limit` combinations (default 10) with the largest total of
 * the first metric (of the order_by metric, if one is given), the way a chart shows top series.
 */
function fill(q: QueryRequest, p: Plan, ex: Execution): Group[] {
	const groups = [...ex.groups.values()];
	if (!p.granularity) return groups.length || p.dims.length ? groups : [{ t: 0, dims: [], acc: null }];
	const combos = new Map<string, DimValue[]>();
	if (p.dims.length === 0) combos.set("[]", []);
	else {
		// Ranked by the first metric in order_by (else the first metric), largest first unless asc.
		// NOTE: totals add bucket values up: exact for counts and sums, a ranking heuristic for uniques.
		const first = q.order_by?.find(([k]) => q.metrics.some((m) => m.name === k));
		const rankBy = q.metrics.find((m) => m.name === first?.[0]) ?? q.metrics[0]!;
		const sign = first?.[1] === "asc" ? 1 : -1;
		const totals = new Map<string, { dims: DimValue[]; total: number }>();
		for (const g of groups) {
			const k = JSON.stringify(g.dims);
			const hit = totals.get(k) ?? { dims: g.dims, total: 0 };
			hit.total += metricValue(rankBy, g.acc) ?? 0;
			totals.set(k, hit);
		}
		const top = [...totals.entries()].sort((a, b) => sign * (a[1].total - b[1].total)).slice(0, q.limit ?? 10);
		for (const [k, v] of top) combos.set(k, v.dims);
	}
	const out: Group[] = [];
	for (const dims of combos.values())
		for (let t = 0; t < p.buckets.length; t++) out.push(ex.groups.get(groupKey(t, dims)) ?? { t, dims, acc: null });
	return out;
}

/**
 * When rows are split by dimensions and the answer keeps the top `limit` of them by `count` (the
 * first ordering key of a breakdown, the ranking metric of a split series; see fill and order),
 * the rollup read only needs sketches for those: returns that selection, else null.
 */
function rankedByCount(q: QueryRequest): { limit: number; desc: boolean } | null {
	if (q.dimensions.length === 0) return null;
	let key: [string, "asc" | "desc"] | undefined;
	if (q.granularity) key = q.order_by?.find(([k]) => q.metrics.some((m) => m.name === k)) ?? [q.metrics[0]!.name, "desc"];
	else key = q.order_by?.[0] ?? [q.metrics[0]!.name, "desc"];
	const metric = q.metrics.find((m) => m.name === key![0]);
	if (metric?.kind !== "count") return null;
	return { limit: q.limit ?? (q.granularity ? 10 : 1000), desc: key[1] === "desc" };
}

function compareValues(a: DimValue | number | null, b: DimValue | number | null): number {
	if (a === b) return 0;
	if (a == null) return 1;
	if (b == null) return -1;
	if (typeof a === "number" && typeof b === "number") return a - b;
	return String(a) < String(b) ? -1 : 1;
}

/** Orders rows: as asked, else by time, then the first metric (largest first), then dimensions. */
function order(q: QueryRequest, rows: { t: number; row: ResultRow }[]): void {
	const metricIdx = new Map(q.metrics.map((m, i) => [m.name, i]));
	const dimIdx = new Map(q.dimensions.map((d, i) => [d.name, i]));
	const keys: [string, "asc" | "desc"][] = q.order_by ?? [...(q.granularity ? [["time", "asc"] as [string, "asc"]] : []), [q.metrics[0]!.name, "desc"]];
	rows.sort((x, y) => {
		for (const [k, dir] of keys) {
			const s = dir === "asc" ? 1 : -1;
			if (k === "time") {
				if (x.t !== y.t) return (x.t - y.t) * s;
				continue;
			}
			const [a, b] = metricIdx.has(k) ? [x.row.metrics[metricIdx.get(k)!]!, y.row.metrics[metricIdx.get(k)!]!] : [x.row.dimensions[dimIdx.get(k)!]!, y.row.dimensions[dimIdx.get(k)!]!];
			// Rows without a value go last in either direction.
			if (a == null || b == null) {
				if (a !== b) return a == null ? 1 : -1;
				continue;
			}
			const c = compareValues(a, b);
			if (c !== 0) return c * s;
		}
		for (let i = 0; i < x.row.dimensions.length; i++) {
			const c = compareValues(x.row.dimensions[i]!, y.row.dimensions[i]!);
			if (c !== 0) return c;
		}
		return 0;
	});
}

/**
 * Answers POST /v1/query for one tenant (the tenant comes from the key, never the body); `tenant`
 * is its row as TENANT_BY_KEY_SQL reads it (null: the tenant is gone).
 */
export async function answerQuery(db: D1Database, tenantId: string, body: unknown, tenant: TenantRow | null, now = Date.now()) {
	const started = Date.now();
	const q = parseQuery(body);
	const ctx = tenantContext(tenant, now);
	const tz = q.timezone ?? ctx.timezone;
	if (!isValidTimeZone(tz)) throw new ApiError(400, "invalid_query", `timezone: '${tz}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`, { field: "timezone" });
	const range = resolveRange(q, tz, now);
	const main = plan(q, ctx.layout, tz, range);
	const comparison = q.compare ? comparisonPlan(q, ctx.layout, tz, range, now, main) : null;
	const [prevRange, prev] = comparison ? [comparison.range, comparison.parts] : [null, null];
	const deadline = new Deadline(Math.min(q.timeout_ms ?? QUERY_TIMEOUT_MS, QUERY_TIMEOUT_MS));
	const top = rankedByCount(q);
	const [cur, before] = await withTimeout(
		top && prev
			? // The comparison only needs the combinations the main period keeps.
				execute(db, tenantId, main, deadline, { top }).then(async (c) => [c, await executeParts(db, tenantId, prev, deadline, { combos: c.merged })] as const)
			: Promise.all([execute(db, tenantId, main, deadline, top ? { top } : {}), prev ? executeParts(db, tenantId, prev, deadline) : null]),
		deadline,
	);

	const rows = fill(q, main, cur).map((g) => {
		const row: ResultRow = {
			...(main.granularity ? { time: formatLocal(main.buckets[g.t]!, tz) } : {}),
			dimensions: g.dims,
			metrics: q.metrics.map((m) => tidy(metricValue(m, g.acc ?? null))),
		};
		if (before) {
			const pg = before.groups.get(groupKey(g.t, g.dims)) ?? null;
			const pm = q.metrics.map((m) => tidy(metricValue(m, pg?.acc ?? null)));
			row.comparison = {
				metrics: pm,
				change: row.metrics.map((v, i) => (v == null || pm[i] == null ? null : round(v - pm[i]!))),
				change_pct: row.metrics.map((v, i) => (v == null || pm[i] == null || pm[i] === 0 ? null : Math.round(((v - pm[i]!) / Math.abs(pm[i]!)) * 1000) / 10)),
			};
		}
		return { t: g.t, row };
	});
	order(q, rows);
	const total = rows.length;
	// Series are already cut to their top combinations; breakdowns and totals keep `limit` rows.
	const results = (main.granularity ? rows : rows.slice(0, q.limit ?? 1000)).map((r) => r.row);
	const uses = (k: string) => q.metrics.some((m) => m.kind === k || (k === "quantile" && m.kind.startsWith("p")));
	const span = (r: { from: number; to: number }) => ({ from: formatLocal(r.from, tz), to: formatLocal(r.to, tz) });
	return {
		results,
		meta: {
			metrics: q.metrics.map((m) => m.name),
			dimensions: q.dimensions.map((d) => d.name),
			plan: main.source,
			level: main.level,
			...(main.weeks ? { weeks: span(main.weeks) } : {}),
			granularity: main.granularity,
			timezone: tz,
			date_range: span(range),
			...(main.reason ? { raw_reason: main.reason } : {}),
			...(prev && prevRange ? { comparison: { kind: q.compare, date_range: span(prevRange), plan: prev[0]!.source, level: prev[prev.length - 1]!.level, rows_scanned: before!.rowsScanned } } : {}),
			rows_scanned: cur.rowsScanned,
			...(main.source === "rollup" ? { pending_hours: (cur.pendingHours ?? 0) + (before?.pendingHours ?? 0), ...unrolled(cur, before) } : {}),
			total_rows: total,
			...(main.source === "rollup" && (uses("uniques") || uses("quantile"))
				? { accuracy: { uniques_standard_error: round(HLL_STANDARD_ERROR), quantile_relative_error: DD_RELATIVE_ACCURACY } }
				: {}),
			took_ms: Date.now() - started,
		},
	};
}
