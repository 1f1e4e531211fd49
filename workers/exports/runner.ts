import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { RUN_BUDGET_MS, runTenantExports } from "./run";

/**
 * One per tenant (`idFromName(tenantId)`): runs the tenant's exports in alarms, one budget per alarm,
 * oldest first, and re-arms itself while work is left. A new export sets the alarm (now); the cron
 * re-arms it for any export whose run was lost. The object keeps nothing but its tenant's id: the
 * exports' state is in D1, so any run (this alarm, a retry, another location) can pick one up.
 *
 * NOTE: alarms are at-least-once and retried with backoff when they throw; an export's lease in D1
 * makes a second run of the same export wait rather than write the same file.
 */
export class ExportRunner extends DurableObject<Env> {
	/** Makes sure an alarm runs the tenant's exports within `delayMs` (an earlier one is kept). */
	async kick(tenantId: string, delayMs = 0): Promise<void> {
		if ((await this.ctx.storage.get<string>("tenant")) !== tenantId) await this.ctx.storage.put("tenant", tenantId);
		const at = Date.now() + delayMs;
		const current = await this.ctx.storage.getAlarm();
		if (current == null || current > at) await this.ctx.storage.setAlarm(at);
	}

	override async alarm(): Promise<void> {
		const tenantId = await this.ctx.storage.get<string>("tenant");
		if (!tenantId) return;
		const budget = this.env.EXPORT_RUN_BUDGET_MS ? Number(this.env.EXPORT_RUN_BUDGET_MS) : RUN_BUDGET_MS;
		const { next } = await runTenantExports(this.env, tenantId, budget);
		if (next != null) await this.ctx.storage.setAlarm(next);
	}
}
