// Fixed local-development identities. They exist only in the local D1 database that
// `npm start` seeds; a deployed build never contains them (production keys are random).
import { createHash } from "node:crypto";

export const DEV = {
	tenant: "demo",
	tenantName: "Demo workspace",
	timezone: "Europe/Paris",
	// Rolled up so the demo dashboard's breakdowns and percentiles come from rollups (the support
	// event convention's properties, and the product's pages). The first metric is the overview's headline.
	dimensionProps: ["channel", "intent", "sender_type", "agent_id", "path"],
	metricProps: ["response_time_ms", "ai_confidence", "score", "amount", "resolution_time_ms"],
	// Distinct conversations and agents from rollups; the support preset's pairs (workers/reports/presets.ts).
	uniqueProps: ["conversation_id", "agent_id"],
	pairs: [
		{ name: "first_response", key: "conversation_id", start: "conversation_started", end: "message_sent", end_where: { sender_type: ["agent", "ai"] }, use: "first" },
		{ name: "resolution", key: "conversation_id", start: "conversation_started", end: "conversation_resolved", use: "first" },
	],
	ingestKey: "ew_dev_ingest",
	readKey: "ew_dev_read",
	adminToken: "ew_dev_admin",
};

const sha256 = (s) => createHash("sha256").update(s).digest("hex");
const q = (s) => `'${String(s).replaceAll("'", "''")}'`;

/** SQL that creates the demo tenant and its two keys; safe to run repeatedly. */
export function devSeedSql(now = Date.now()) {
	return [
		`INSERT OR IGNORE INTO tenants (id, name, timezone, retention_days, rate_limit_eps, dimension_props, metric_props, unique_props, pairs, created_at) VALUES (${q(DEV.tenant)}, ${q(DEV.tenantName)}, ${q(DEV.timezone)}, 90, 100000, ${q(JSON.stringify(DEV.dimensionProps))}, ${q(JSON.stringify(DEV.metricProps))}, ${q(JSON.stringify(DEV.uniqueProps))}, ${q(JSON.stringify(DEV.pairs))}, ${now});`,
		...[
			["key_dev_ingest", "ingest", DEV.ingestKey],
			["key_dev_read", "read", DEV.readKey],
		].map(
			([id, scope, key]) =>
				`INSERT OR IGNORE INTO api_keys (id, tenant_id, name, hash, prefix, scope, created_at) VALUES (${q(id)}, ${q(DEV.tenant)}, ${q(`dev ${scope}`)}, ${q(sha256(key))}, ${q(key.slice(0, 9))}, ${q(scope)}, ${now});`,
		),
	].join("\n");
}
