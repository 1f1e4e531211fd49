import type { Env } from "../env";
import { hubOf } from "../lib/http";
import type { Destination } from "../notify/destinations";
import { type Guard, type NotifyDeps, queueDeliveries } from "../notify/deliver";
import type { AlertEvent, ConditionJson } from "../notify/render";
import { answerQuery, TENANT_BY_ID_SQL, type TenantRow } from "../query/answer";
import { HISTORY_SEASONS, seasonOf } from "../insights/series";
import { startOf } from "../query/time";
import { type AlertQuery, type AlertRow, SEASONAL_WINDOWS } from "./model";
import { anomalyVerdict, seasonalVerdict, step, thresholdVerdict, type Transition, type Verdict, weeksBefore, windowAt } from "./evaluate";

/** An alert is evaluated at most once a minute (a tick may come a little early). */
const EVERY_MS = 55_000;
/** Unflushed events older than a window's end defer its evaluation (a count that is low only because it is late would fire "below" alerts), but never for longer than this. */
const MAX_DEFER_MS = 5 * 60_000;

export interface AlertContext {
	tenant: TenantRow | null;
	pendingSince: () => Promise<number | null>;
	/** The tenant's earliest data (raw events or day rollups): baseline weeks before it do not count. */
	historyStart: () => Promise<number | null>;
}

/** The watched metric over [from, to) as POST /v1/query answers it (fresh: unrolled events included); null when it has no value. */
export async function valueOver(env: Env, tenantId: string, q: AlertQuery, ctx: AlertContext, from: number, to: number, now: number): Promise<number | null> {
	const body = { ...q, date_range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } };
	const answer = await answerQuery(env.DB, tenantId, body, ctx.tenant, now);
	return answer.results[0]?.metrics[0] ?? null;
}

/** The verdict for value `v` of an alert whose window is [from, to). */
async function verdictOf(env: Env, row: AlertRow, q: AlertQuery, c: ConditionJson, v: number, ctx: AlertContext, from: number, to: number, now: number): Promise<Verdict | null> {
	if (c.type === "threshold") return thresholdVerdict(c, v);
	const tz = q.timezone ?? ctx.tenant?.timezone ?? "UTC";
	const start = await ctx.historyStart();
	const weeks = Array.from({ length: c.weeks }, (_, i) => i + 1);
	const values = await Promise.all(
		weeks.map(async (k) => {
			const f = weeksBefore(from, k, tz);
			if (start == null || f < start) return null;
			try {
				return await valueOver(env, row.tenant_id, q, ctx, f, weeksBefore(to, k, tz), now);
			} catch {
				// e.g. a week whose raw events are archived and whose window rollups cannot answer: not history.
				return null;
			}
		}),
	);
	const baseline = values.filter((x): x is number => x != null);
	const verdict = anomalyVerdict(c, v, baseline);
	return verdict ?? { breach: false, clear: false, details: { z: null, weeks: baseline.length, reason: `needs ${c.min_weeks} weeks of history, has ${baseline.length}` } };
}

/**
 * A seasonal anomaly rule: the metric per hour (window 60) or day (1440) over five seasons before the
 * last complete bucket, as POST /v1/query answers it with that granularity, judged by the insights
 * detector. The value is the last complete bucket's: the one in progress is never judged (it is low
 * only for being unfinished), as insights does.
 */
async function seasonalEvaluation(env: Env, row: AlertRow, q: AlertQuery, c: Extract<ConditionJson, { type: "anomaly" }>, ctx: AlertContext, now: number): Promise<{ value: number | null; verdict: Verdict }> {
	const g = SEASONAL_WINDOWS[row.window_minutes]!;
	const tz = q.timezone ?? ctx.tenant?.timezone ?? "UTC";
	const to = startOf(g, now, tz);
	const season = seasonOf(g, 4 * 168);
	const span = (HISTORY_SEASONS * season + 1) * (g === "hour" ? 3_600_000 : 86_400_000);
	const from = startOf(g, to - span, tz);
	const answer = await answerQuery(env.DB, row.tenant_id, { ...q, granularity: g, date_range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } }, ctx.tenant, now);
	const values = answer.results.map((r) => r.metrics[0] ?? null);
	const value = values.at(-1) ?? null;
	const v = seasonalVerdict(c, values, season);
	return { value, verdict: "breach" in v ? v : { breach: false, clear: false, details: { method: "seasonal", z: null, reason: v.reason } } };
}

export interface Evaluation {
	alert: string;
	value: number | null;
	transition: Transition;
	deferred?: true;
	error?: string;
	details?: Record<string, unknown>;
}

/** The event notifications carry. */
export function alertEvent(row: AlertRow, type: AlertEvent["type"], metric: string, value: number | null, details: Record<string, unknown>, at: number): AlertEvent {
	return {
		type,
		at: new Date(at).toISOString(),
		alert: { id: row.id, name: row.name, url: row.origin ? `${row.origin}/alerts/${row.id}` : null },
		metric,
		window_minutes: row.window_minutes,
		value,
		condition: JSON.parse(row.condition) as ConditionJson,
		details,
	};
}

/**
 * Evaluates one rule at `now` and applies its transition. The state change, its alert_events row and
 * its deliveries are one D1 batch, each statement guarded by the rule still being as it was read
 * (last_evaluated_at), so two overlapping crons never both fire it.
 */
export async function evaluateAlert(env: Env, row: AlertRow, ctx: AlertContext, now: number): Promise<Evaluation> {
	const q = JSON.parse(row.query) as AlertQuery;
	const c = JSON.parse(row.condition) as ConditionJson;
	const { from, to } = windowAt(now, row.window_minutes);
	const pending = await ctx.pendingSince().catch(() => null);
	if (pending != null && pending < to && now - to < MAX_DEFER_MS) return { alert: row.id, value: null, transition: null, deferred: true };
	let value: number | null;
	let verdict: Verdict | null;
	if (c.type === "anomaly" && c.method === "seasonal") ({ value, verdict } = await seasonalEvaluation(env, row, q, c, ctx, now));
	else {
		value = await valueOver(env, row.tenant_id, q, ctx, from, to, now);
		verdict = value == null ? null : await verdictOf(env, row, q, c, value, ctx, from, to, now);
	}
	const effective = verdict && (verdict.details.z === null ? null : verdict);
	const transition = step(row.state, effective, now, row.last_fired_at, row.min_interval_minutes * 60_000);
	const db = env.DB;
	const guard = "coalesce(last_evaluated_at, -1) = coalesce(?9, -1)";
	const state = transition === "fire" ? "firing" : transition === "resolve" ? "ok" : row.state;
	const update = db
		.prepare(
			`UPDATE alerts SET state = ?2, last_value = ?3, last_evaluated_at = ?4,
			last_fired_at = CASE WHEN ?5 THEN ?4 ELSE last_fired_at END, last_resolved_at = CASE WHEN ?6 THEN ?4 ELSE last_resolved_at END
			WHERE id = ?1 AND tenant_id = ?7 AND state = ?8 AND ${guard}`,
		)
		.bind(row.id, state, value, now, transition === "fire" ? 1 : 0, transition === "resolve" ? 1 : 0, row.tenant_id, row.state, row.last_evaluated_at);
	const details = verdict?.details ?? {};
	if (!transition) {
		await update.run();
		return { alert: row.id, value, transition, details };
	}
	const kind = transition === "fire" ? "fired" : "resolved";
	// The statements after the UPDATE see its effect: they run only if it moved the rule to this evaluation.
	const mine: Guard = { sql: (n) => `EXISTS (SELECT 1 FROM alerts WHERE id = ?${n} AND last_evaluated_at = ?${n + 1} AND state = ?${n + 2})`, binds: [row.id, now, state] };
	const event = db
		.prepare(`INSERT INTO alert_events (tenant_id, alert_id, kind, value, details, at) SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE ${mine.sql(7)}`)
		.bind(row.tenant_id, row.id, kind, value, JSON.stringify(details), now, ...mine.binds);
	const metric = metricName(q);
	const dests = JSON.parse(row.destinations) as Destination[];
	const { statements } = queueDeliveries(db, row.tenant_id, { kind: "alert", id: row.id }, dests, alertEvent(row, transition === "fire" ? "alert.fired" : "alert.resolved", metric, value, details, now), now, { guard: mine });
	await db.batch([update, event, ...statements]);
	return { alert: row.id, value, transition, details };
}

/** The name of the query's one visible metric. */
export function metricName(q: AlertQuery): string {
	const m = q.metrics.find((x) => !(typeof x === "object" && x !== null && (x as { hidden?: boolean }).hidden));
	if (typeof m === "string") return m;
	const o = (m ?? {}) as { name?: string; metric?: string };
	return o.name ?? o.metric ?? "value";
}

/** What a tenant's rules share within one pass: its row, its hub's backlog, its first data. */
export function alertContext(env: Env, tenantId: string, tenant: TenantRow | null): AlertContext {
	let pending: Promise<number | null> | undefined;
	let start: Promise<number | null> | undefined;
	return {
		tenant,
		pendingSince: () => (pending ??= hubOf(env, tenantId).pendingSince()),
		historyStart: () =>
			(start ??= env.DB.prepare(
				`SELECT min(coalesce((SELECT min(timestamp) FROM events WHERE tenant_id = ?1), 9e15),
				            coalesce((SELECT min(bucket) FROM rollups WHERE tenant_id = ?1 AND level = 'day' AND dim = ''), 9e15)) AS t`,
			)
				.bind(tenantId)
				.first<{ t: number }>()
				.then((r) => (r && r.t < 9e15 ? r.t : null))),
	};
}

export interface AlertsReport {
	due: number;
	evaluated: number;
	fired: number;
	resolved: number;
	deferred: number;
	errors: number;
	left: number;
}

/** The cron's alert pass: rules not evaluated for a minute, least recently evaluated first, within `budgetMs`. */
export async function runAlerts(env: Env, _deps: NotifyDeps, opts: { now?: number; budgetMs?: number; limit?: number } = {}): Promise<AlertsReport> {
	const now = opts.now ?? Date.now();
	const started = Date.now();
	const { results } = await env.DB.prepare(
		"SELECT * FROM alerts WHERE enabled = 1 AND (last_evaluated_at IS NULL OR last_evaluated_at <= ?1) ORDER BY coalesce(last_evaluated_at, 0), id LIMIT ?2",
	)
		.bind(now - EVERY_MS, opts.limit ?? 100)
		.all<AlertRow>();
	const report: AlertsReport = { due: results.length, evaluated: 0, fired: 0, resolved: 0, deferred: 0, errors: 0, left: 0 };
	const contexts = new Map<string, Promise<AlertContext>>();
	for (const row of results) {
		if (Date.now() - started > (opts.budgetMs ?? 8_000)) {
			report.left++;
			continue;
		}
		let ctx = contexts.get(row.tenant_id);
		if (!ctx) {
			ctx = env.DB.prepare(TENANT_BY_ID_SQL).bind(row.tenant_id).first<TenantRow>().then((t) => alertContext(env, row.tenant_id, t));
			contexts.set(row.tenant_id, ctx);
		}
		try {
			const r = await evaluateAlert(env, row, await ctx, now);
			if (r.deferred) report.deferred++;
			else report.evaluated++;
			if (r.transition === "fire") report.fired++;
			if (r.transition === "resolve") report.resolved++;
		} catch (err) {
			report.errors++;
			// A rule whose query no longer runs (a setting changed) is marked evaluated, so it does not block the others.
			console.warn("alert evaluation failed", row.id, (err as Error)?.message ?? err);
			await env.DB.prepare("UPDATE alerts SET last_evaluated_at = ?2 WHERE id = ?1").bind(row.id, now).run();
		}
	}
	return report;
}
