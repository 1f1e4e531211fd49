import type { Env } from "./env";
import { exportsCron } from "./exports";
import { hubOf } from "./lib/http";
import { runNotifications } from "./notify/cron";
import { type PeopleReport, runPeople } from "./people/pass";
import { type RollupReport, runRollups } from "./rollup/run";

/**
 * Cron (every minute): make sure every tenant's hub with buffered events has a flush alarm,
 * then one bounded rollup pass (which also archives expired raw events). A pass cut short by
 * its budget continues on the next tick.
 * NOTE: sub-hourly crons may get only 30 s of CPU; the rollup budget stays well under it.
 */
export async function scheduled(controller: ScheduledController, env: Env): Promise<{ tenants: number; buffered: number; rollups: RollupReport; people: PeopleReport | null }> {
	const { results } = await env.DB.prepare("SELECT id FROM tenants ORDER BY id").all<{ id: string }>();
	let buffered = 0;
	for (const { id } of results) buffered += await hubOf(env, id).ensureFlushing();
	const rollups = await runRollups(env, { trigger: `cron ${controller.cron}`, budgetMs: 20_000 });
	// Per-person tables for funnels, retention and person views (people/pass.ts): mostly D1 work, bounded.
	const people = await runPeople(env, { trigger: `cron ${controller.cron}`, budgetMs: 15_000 }).catch((err) => {
		console.error("people pass", err);
		return null;
	});
	// Exports: wake runners nobody is running, delete expired files, finish failed exports' cleanup.
	await exportsCron(env).catch((err) => console.error("exports cron", err));
	// Scheduled reports, alerts and their deliveries (workers/notify/cron.ts): bounded, each part unable to stop the rest.
	await runNotifications(env);
	return { tenants: results.length, buffered, rollups, people };
}
