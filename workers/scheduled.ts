import type { Env } from "./env";
import { hubOf } from "./lib/http";

/**
 * Cron (every minute). Today: a safety net that makes sure every tenant's hub with buffered
 * events has a flush alarm. Rollups and exports hang off this handler in later work.
 */
export async function scheduled(_controller: ScheduledController, env: Env): Promise<{ tenants: number; buffered: number }> {
	const { results } = await env.DB.prepare("SELECT id FROM tenants ORDER BY id").all<{ id: string }>();
	let buffered = 0;
	for (const { id } of results) buffered += await hubOf(env, id).ensureFlushing();
	return { tenants: results.length, buffered };
}
