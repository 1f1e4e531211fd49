import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside real workerd with real local D1, R2 and Durable Objects (the Workers pool).
export default defineConfig(async () => {
	const migrations = await readD1Migrations("./migrations");
	return {
		plugins: [
			cloudflareTest({
				wrangler: { configPath: "./wrangler.toml" },
				miniflare: {
					// FLUSH_DELAY_MS: flush alarms are run by the tests (runDurableObjectAlarm), not by the clock.
					bindings: { ENVIRONMENT: "test", ADMIN_TOKEN: "ew_dev_admin", SHARE_SECRET: "test-only-share-secret", WEBHOOK_KEY: "test-only-webhook-key", ALLOW_PRIVATE_DESTINATIONS: "false", FLUSH_DELAY_MS: "600000", EXPORT_DELAY_MS: "600000", TEST_MIGRATIONS: migrations },
				},
			}),
		],
		test: {
			include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
			setupFiles: ["./test/setup.ts"],
		},
	};
});
