// Fixed local-development identities. They exist only in the local D1 database that
// `npm start` seeds; a deployed build never contains them (production keys are random).
import { createHash } from "node:crypto";

export const DEV = {
	tenant: "demo",
	tenantName: "Demo workspace",
	timezone: "Europe/Paris",
	// Rolled up so the demo dashboard's breakdowns and percentiles come from rollups (the support
	// event convention's properties, and the product's pages). The first metric is the overview's headline.
	dimensionProps: ["channel", "agent_id", "intent", "score", "path"],
	metricProps: ["response_time_ms", "amount", "score", "resolution_time_ms"],
	ingestKey: "ew_dev_ingest",
	readKey: "ew_dev_read",
	adminToken: "ew_dev_admin",
};

const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const q = (s) => `'${String(s).replaceAll("'", "''")}'`;

/** SQL that creates the demo tenant and its two keys; safe to run repeatedly. */
export function devSeedSql(now = Date.now()) {
	return [
		`INSERT OR IGNORE INTO tenants (id, name, timezone, retention_days, rate_limit_eps, dimension_props, metric_props, created_at) VALUES (${q(DEV.tenant)}, ${q(DEV.tenantName)}, ${q(DEV.timezone)}, 90, 100000, ${q(JSON.stringify(DEV.dimensionProps))}, ${q(JSON.stringify(DEV.metricProps))}, ${now});`,
		...[
			["key_dev_ingest", "ingest", DEV.ingestKey],
			["key_dev_read", "read", DEV.readKey],
		].map(
			([id, scope, key]) =>
				`INSERT OR IGNORE INTO api_keys (id, tenant_id, name, hash, prefix, scope, created_at) VALUES (${q(id)}, ${q(DEV.tenant)}, ${q(`dev ${scope}`)}, ${q(sha256(key))}, ${q(key.slice(0, 9))}, ${q(scope)}, ${now});`,
		),
	].join("\n");
}
