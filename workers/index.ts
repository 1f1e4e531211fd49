import { app } from "./app";
import type { Env } from "./env";
import { scheduled } from "./scheduled";

export { AeWriter } from "./hub/ae-writer";
export { ExportRunner } from "./exports/runner";
export { TenantHub } from "./hub/tenant-hub";
export type { AppType } from "./app";

export default {
	fetch: app.fetch,
	async scheduled(controller, env, ctx) {
		ctx.waitUntil(scheduled(controller, env));
	},
} satisfies ExportedHandler<Env>;
