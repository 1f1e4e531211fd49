import type { Env } from "../env";
import type { Destination } from "../notify/destinations";
import { type NotifyDeps, queueDeliveries } from "../notify/deliver";
import type { ReportEvent } from "../notify/render";
import { TENANT_BY_ID_SQL, type TenantRow } from "../query/answer";
import type { BoardRow, ReportRow } from "../reports/model";
import { BOARD_REPORTS_SQL, BOARD_SQL } from "../reports/tiles";
import { describe, nextRunAt } from "./calendar";
import { kpisOf } from "./kpis";
import { cadenceOf, type ScheduleRow } from "./model";

export interface RunResult {
	schedule: string;
	ran: boolean;
	deliveries: number;
	export_id: string | null;
	error?: string;
}

/**
 * Runs one due schedule at `now`: its KPIs, its deliveries (pending, one per destination) and the
 * export of its report or board in its format. The next run is set from `now`, not from the run that
 * was due, so a schedule that missed runs (an outage) runs once and then keeps its calendar. Claiming
 * the run and queueing its deliveries are one D1 batch guarded by next_run_at: of two overlapping
 * crons, one runs it.
 */
export async function runSchedule(env: Env, deps: NotifyDeps, row: ScheduleRow, now: number): Promise<RunResult> {
	const db = env.DB;
	const next = nextRunAt(cadenceOf(row), now);
	const dests = JSON.parse(row.destinations) as Destination[];

	let target: { name: string; reports: ReportRow[] } | null = null;
	if (row.target_kind === "report") {
		const r = await db.prepare("SELECT * FROM reports WHERE id = ?1 AND tenant_id = ?2").bind(row.target_id, row.tenant_id).first<ReportRow>();
		if (r) target = { name: r.name, reports: [r] };
	} else {
		const [b, rs] = await db.batch([db.prepare(BOARD_SQL).bind(row.target_id, row.tenant_id), db.prepare(BOARD_REPORTS_SQL).bind(row.target_id, row.tenant_id)]);
		const board = b!.results[0] as BoardRow | undefined;
		if (board) {
			const byId = new Map((rs!.results as ReportRow[]).map((r) => [r.id, r]));
			const order = (JSON.parse(board.layout) as { report_id: string }[]).map((t) => byId.get(t.report_id)).filter((r): r is ReportRow => !!r);
			target = { name: board.name, reports: order };
		}
	}
	const claim = db
		.prepare("UPDATE schedules SET next_run_at = ?3, last_run_at = ?4, enabled = ?5, updated_at = ?4 WHERE id = ?1 AND tenant_id = ?2 AND enabled = 1 AND next_run_at = ?6")
		.bind(row.id, row.tenant_id, next, now, target ? 1 : 0, row.next_run_at);
	const mine = { sql: (n: number) => `EXISTS (SELECT 1 FROM schedules WHERE id = ?${n} AND last_run_at = ?${n + 1})`, binds: [row.id, now] };

	const tenant = await db.prepare(TENANT_BY_ID_SQL).bind(row.tenant_id).first<TenantRow>();
	const { kpis, error } = target ? await kpisOf(db, row.tenant_id, tenant, target.reports, now) : { kpis: [], error: null };
	const event: ReportEvent = {
		type: "report.ready",
		at: new Date(now).toISOString(),
		schedule: { id: row.id, name: row.name, when: describe(cadenceOf(row)) },
		target: { kind: row.target_kind, id: row.target_id, name: target?.name ?? row.target_id },
		format: row.format,
		timezone: row.timezone,
		kpis,
		kpi_error: error,
		export: null,
	};
	const { statements, ids } = queueDeliveries(db, row.tenant_id, { kind: "schedule", id: row.id }, dests, event, now, { origin: row.origin, guard: mine });
	const [claimed] = await db.batch([claim, ...statements]);
	if (!claimed!.meta.changes) return { schedule: row.id, ran: false, deliveries: 0, export_id: null };

	const failAll = (message: string) =>
		db.prepare(`UPDATE deliveries SET status = 'failed', error = ?2, updated_at = ?3 WHERE status = 'pending' AND id IN (SELECT value FROM json_each(?1))`).bind(JSON.stringify(ids), message, now).run();
	if (!target) {
		// The report or board was deleted: the schedule is switched off (its log says why) rather than failing every day.
		await failAll(`${row.target_kind} '${row.target_id}' no longer exists; the schedule was disabled`);
		return { schedule: row.id, ran: true, deliveries: ids.length, export_id: null, error: "target_missing" };
	}
	try {
		const exportId = await deps.exporter.start(env, row.tenant_id, { kind: row.target_kind, id: row.target_id, format: row.format }, { scheduleId: row.id });
		await db.prepare("UPDATE deliveries SET export_id = ?2 WHERE id IN (SELECT value FROM json_each(?1))").bind(JSON.stringify(ids), exportId).run();
		return { schedule: row.id, ran: true, deliveries: ids.length, export_id: exportId };
	} catch (err) {
		const message = `the export could not start: ${(err as Error)?.message ?? String(err)}`;
		await failAll(message);
		return { schedule: row.id, ran: true, deliveries: ids.length, export_id: null, error: message };
	}
}

export interface SchedulesReport {
	due: number;
	ran: number;
	deliveries: number;
	errors: number;
	left: number;
}

/** The cron's schedule pass: due schedules, the most overdue first, within `budgetMs`. */
export async function runSchedules(env: Env, deps: NotifyDeps, opts: { now?: number; budgetMs?: number; limit?: number } = {}): Promise<SchedulesReport> {
	const now = opts.now ?? Date.now();
	const started = Date.now();
	const { results } = await env.DB.prepare("SELECT * FROM schedules WHERE enabled = 1 AND next_run_at <= ?1 ORDER BY next_run_at, id LIMIT ?2")
		.bind(now, opts.limit ?? 10)
		.all<ScheduleRow>();
	const report: SchedulesReport = { due: results.length, ran: 0, deliveries: 0, errors: 0, left: 0 };
	for (const row of results) {
		if (Date.now() - started > (opts.budgetMs ?? 8_000)) {
			report.left++;
			continue;
		}
		try {
			const r = await runSchedule(env, deps, row, now);
			if (r.ran) report.ran++;
			report.deliveries += r.deliveries;
			if (r.error) report.errors++;
		} catch (err) {
			report.errors++;
			console.error("scheduled report failed", row.id, err);
		}
	}
	return report;
}
