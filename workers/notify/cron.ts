import { runAlerts } from "../alerts/run";
import type { Env } from "../env";
import { runSchedules } from "../schedules/run";
import { type NotifyDeps, notifyDeps, runDeliveries } from "./deliver";

/** Wall-time budgets of the three passes within one tick (the cron's 30 s of CPU is shared with rollups and exports). */
export const BUDGETS = { schedules: 4_000, alerts: 6_000, deliveries: 6_000 } as const;

async function guarded<T>(what: string, f: () => Promise<T>): Promise<T | { error: string }> {
	try {
		return await f();
	} catch (err) {
		console.error(`cron: ${what} failed`, err);
		return { error: String((err as Error)?.message ?? err).slice(0, 300) };
	}
}

/**
 * The cron's notification work, each part bounded and none able to stop the others: due scheduled
 * reports (their exports started, deliveries queued), alert rules evaluated against fresh data, then
 * due deliveries sent (new ones, retries, reports whose export is done). What does not fit waits for
 * the next tick.
 */
export async function runNotifications(env: Env, opts: { now?: number; deps?: NotifyDeps } = {}) {
	const deps = opts.deps ?? notifyDeps(env);
	const schedules = await guarded("schedules", () => runSchedules(env, deps, { now: opts.now, budgetMs: BUDGETS.schedules }));
	const alerts = await guarded("alerts", () => runAlerts(env, deps, { now: opts.now, budgetMs: BUDGETS.alerts }));
	const deliveries = await guarded("deliveries", () => runDeliveries(env, deps, { now: opts.now, budgetMs: BUDGETS.deliveries }));
	return { schedules, alerts, deliveries };
}
