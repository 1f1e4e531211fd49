import type { TenantHub } from "./hub/tenant-hub";

/** Bindings and vars of the Edgewise worker (see wrangler.toml). */
export interface Env {
	DB: D1Database;
	ARCHIVE: R2Bucket;
	AE: AnalyticsEngineDataset;
	TENANT_HUB: DurableObjectNamespace<TenantHub>;
	/** One per tenant: runs its exports in alarms (workers/exports/runner.ts). */
	EXPORT_RUNNER: DurableObjectNamespace<import("./exports/runner").ExportRunner>;
	/** Delay before a new export's first run (ms, default 0); tests raise it to run exports by hand. */
	EXPORT_DELAY_MS?: string;
	/** Work per export alarm (ms, default 15,000); the end-to-end crash test lowers it to get many steps. */
	EXPORT_RUN_BUDGET_MS?: string;
	/** Self service binding to the AeWriter entrypoint: one invocation per 250 AE points. */
	AE_WRITER?: Service<import("./hub/ae-writer").AeWriter>;
	ASSETS?: Fetcher;
	ENVIRONMENT?: string;
	/** Delay from the first buffered write to its flush (ms); tests raise it to drive alarms by hand. */
	FLUSH_DELAY_MS?: string;
	/** How often a hub re-reads its tenant and re-checks its cached keys (ms, default 60 s); tests lower it. */
	HUB_KEY_REFRESH_MS?: string;
	/** Secret in production (`wrangler secret put ADMIN_TOKEN`); `ew_dev_admin` locally. */
	ADMIN_TOKEN?: string;
	/** Signs board share links (HMAC-SHA256). A secret in production (`npm run deploy` generates it); unset: no share links. */
	SHARE_SECRET?: string;
	/** Encrypts tenants' webhook signing secrets (AES-GCM). A secret in production (`npm run deploy` generates it); unset: no webhooks. */
	WEBHOOK_KEY?: string;
	/** Cloudflare Email Service (`send_email` binding): scheduled reports and alerts by email. */
	EMAIL?: SendEmail;
	/** The sender of those emails, e.g. `Edgewise <reports@example.com>` (a verified sender of the account). */
	EMAIL_FROM?: string;
	/** "true" lets webhooks and Slack reach private addresses and any port: local development only, ignored in production. */
	ALLOW_PRIVATE_DESTINATIONS?: string;
}

export type AppEnv = { Bindings: Env; Variables: { auth: import("./auth/keys").AuthContext } };
