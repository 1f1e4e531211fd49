#!/usr/bin/env node
// `npm run admin -- <resource> <command>`: a small CLI over the admin HTTP API
// (workers/routes/admin.ts). Node built-ins only, so it runs wherever the repository is checked out.
import { parseArgs } from "node:util";

const DEFAULT_URL = "http://127.0.0.1:8787";
const DEFAULT_TOKEN = "ew_dev_admin";

const HELP = `Edgewise admin CLI: manage tenants and API keys through the admin API.

Usage:
  npm run admin -- <resource> <command> [arguments] [options]

Tenants:
  tenants list
  tenants create [<id>] --name <name> [--timezone <tz>] [--retention-days <n>] [--rate-limit <n>]
  tenants show <id>                     the tenant and its keys
  tenants update <id> [--name <name>] [--timezone <tz>] [--retention-days <n>] [--rate-limit <n>]

Keys (the full key is printed once, when it is created):
  keys list <tenant>
  keys create <tenant> --scope <ingest|read|admin> [--name <name>] [--origins <a,b>]
  keys update <tenant> <key-id> [--name <name>] [--origins <a,b>|any]
  keys revoke <tenant> <key-id>

Options:
  --url <url>            API base URL (default: $EDGEWISE_URL or ${DEFAULT_URL})
  --token <token>        admin token or a tenant's admin key
                         (default: $EDGEWISE_ADMIN_TOKEN or ${DEFAULT_TOKEN}, the local dev token)
  --name <name>          tenant or key name
  --timezone <tz>        IANA time zone of the tenant's reports, e.g. Europe/Paris (default UTC)
  --retention-days <n>   days of raw events kept (default 90)
  --rate-limit <n>       accepted events per second before ingest answers 429 (default 100000)
  --scope <scope>        key scope: ingest (write events), read (stats, queries), admin (manage the tenant)
  --origins <a,b>        comma-separated browser origins allowed to use the key,
                         e.g. https://app.example.com; "any" allows every origin
  --json                 print the API's JSON response instead of a summary
  -h, --help             show this help

Examples:
  npm run admin -- tenants create acme --name "Acme Inc." --timezone America/New_York
  npm run admin -- keys create acme --scope ingest --name website --origins https://acme.example
  npm run admin -- keys revoke acme key_0123456789abcdef
  EDGEWISE_URL=https://edgewise.example.workers.dev EDGEWISE_ADMIN_TOKEN=... npm run admin -- tenants list
`;

class UsageError extends Error {}

const OPTIONS = {
	url: { type: "string" },
	token: { type: "string" },
	name: { type: "string" },
	timezone: { type: "string" },
	"retention-days": { type: "string" },
	"rate-limit": { type: "string" },
	scope: { type: "string" },
	origins: { type: "string" },
	tenant: { type: "string" },
	id: { type: "string" },
	json: { type: "boolean", default: false },
	help: { type: "boolean", short: "h", default: false },
};

/** Which flags each command takes (besides --url, --token, --json, --help). */
const COMMAND_FLAGS = {
	"tenants list": [],
	"tenants create": ["id", "name", "timezone", "retention-days", "rate-limit"],
	"tenants show": [],
	"tenants update": ["name", "timezone", "retention-days", "rate-limit"],
	"keys list": ["tenant"],
	"keys create": ["tenant", "scope", "name", "origins"],
	"keys update": ["tenant", "name", "origins"],
	"keys revoke": ["tenant"],
};
const GLOBAL_FLAGS = new Set(["url", "token", "json", "help"]);
const ALIASES = { tenant: "tenants", key: "keys", ls: "list", new: "create", add: "create", get: "show", set: "update", edit: "update", delete: "revoke", rm: "revoke" };

function parse(argv) {
	let parsed;
	try {
		parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
	} catch (err) {
		throw new UsageError(err.message.replace(/\. To specify a positional argument.*$/s, "."));
	}
	const { values, positionals } = parsed;
	const [rawResource, rawCommand, ...rest] = positionals;
	const resource = ALIASES[rawResource] ?? rawResource;
	const command = ALIASES[rawCommand] ?? rawCommand;
	return { values, resource, command, rest };
}

function integer(flag, value) {
	if (value === undefined) return undefined;
	if (!/^\d+$/.test(value.replaceAll("_", ""))) throw new UsageError(`--${flag} must be a whole number, got '${value}'.`);
	return Number(value.replaceAll("_", ""));
}

/** "a,b" → ["a","b"]; "any" / "*" / "" → null (every origin). */
function origins(value) {
	if (value === undefined) return undefined;
	const v = value.trim();
	if (v === "" || v === "any" || v === "*" || v === "null") return null;
	return v
		.split(",")
		.map((s) => s.trim().replace(/\/+$/, ""))
		.filter(Boolean);
}

function pick(obj) {
	return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}

/** A failed API call, carrying the API's {"error":{code,message,details}}. */
class ApiFailure extends Error {
	constructor(status, body, method, path) {
		super(`${method} ${path} → HTTP ${status}`);
		this.status = status;
		this.body = body;
	}
}

function client(url, token) {
	const base = url.replace(/\/+$/, "");
	return async function request(method, path, body) {
		let res;
		try {
			res = await fetch(`${base}${path}`, {
				method,
				headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
				body: body ? JSON.stringify(body) : undefined,
				signal: AbortSignal.timeout(30_000),
			});
		} catch (err) {
			const cause = err.cause?.code ?? err.cause?.message ?? err.message;
			const hint = base === DEFAULT_URL ? " Is the local server running (`npm start`)?" : "";
			throw new Error(`Could not reach ${base} (${cause}).${hint} Set another address with --url or EDGEWISE_URL.`);
		}
		const text = await res.text();
		let json = null;
		try {
			json = text ? JSON.parse(text) : null;
		} catch {
			json = null;
		}
		if (!res.ok) throw new ApiFailure(res.status, json ?? text, method, path);
		return json;
	};
}

function table(rows, columns) {
	if (!rows.length) return "(none)";
	const cell = (v) => (v == null ? "-" : Array.isArray(v) ? v.join(",") : String(v));
	const widths = columns.map(([h, k]) => Math.max(h.length, ...rows.map((r) => cell(r[k]).length)));
	const line = (vals) => vals.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
	return [line(columns.map(([h]) => h)), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map(([, k]) => cell(r[k]))))].join("\n");
}

const TENANT_COLUMNS = [
	["ID", "id"],
	["NAME", "name"],
	["TIMEZONE", "timezone"],
	["RETENTION", "retention_days"],
	["RATE LIMIT/s", "rate_limit_eps"],
	["CREATED", "created_at"],
];
/** Key rows for a table: null origins mean "any origin". */
const keyRows = (keys) => keys.map((k) => ({ ...k, allowed_origins: k.allowed_origins ?? "any" }));
const KEY_COLUMNS = [
	["ID", "id"],
	["SCOPE", "scope"],
	["PREFIX", "prefix"],
	["NAME", "name"],
	["ORIGINS", "allowed_origins"],
	["LAST USED", "last_used_at"],
	["REVOKED", "revoked_at"],
];

function describeTenant(t) {
	return [
		`Tenant ${t.id}`,
		`  name            ${t.name}`,
		`  timezone        ${t.timezone}`,
		`  retention       ${t.retention_days} days`,
		`  rate limit      ${t.rate_limit_eps} events/s`,
		`  created         ${t.created_at}`,
	].join("\n");
}

function describeKey(k) {
	return [
		`Key ${k.id} (tenant ${k.tenant_id})`,
		`  scope           ${k.scope}`,
		`  name            ${k.name || "-"}`,
		`  prefix          ${k.prefix}…`,
		`  origins         ${k.allowed_origins ? k.allowed_origins.join(", ") : "any"}`,
		`  created         ${k.created_at}`,
		`  last used       ${k.last_used_at ?? "never"}`,
		`  revoked         ${k.revoked_at ?? "no"}`,
	].join("\n");
}

function need(value, what, usage) {
	if (value === undefined || value === "") throw new UsageError(`Missing ${what}. Usage: npm run admin -- ${usage}`);
	return value;
}

async function run({ values, resource, command, rest }) {
	const key = `${resource} ${command}`;
	const allowed = COMMAND_FLAGS[key];
	if (!resource) throw new UsageError("Missing command.");
	if (!["tenants", "keys"].includes(resource)) throw new UsageError(`Unknown resource '${resource}': use 'tenants' or 'keys'.`);
	if (!allowed) {
		const cmds = Object.keys(COMMAND_FLAGS).filter((k) => k.startsWith(`${resource} `)).map((k) => k.split(" ")[1]);
		throw new UsageError(command ? `Unknown command '${resource} ${command}': use one of ${cmds.join(", ")}.` : `Missing command: '${resource}' takes one of ${cmds.join(", ")}.`);
	}
	for (const flag of Object.keys(values)) {
		if (values[flag] === undefined || GLOBAL_FLAGS.has(flag)) continue;
		if (!allowed.includes(flag)) throw new UsageError(`'${key}' does not take --${flag}.`);
	}
	const url = values.url ?? process.env.EDGEWISE_URL ?? DEFAULT_URL;
	const token = values.token ?? process.env.EDGEWISE_ADMIN_TOKEN ?? DEFAULT_TOKEN;
	const api = client(url, token);
	const out = (json, text) => console.log(values.json ? JSON.stringify(json, null, 2) : text);
	// Positional arguments in order; a key command's tenant may also come from --tenant.
	const args = [...rest];
	const tenantArg = () => (resource === "keys" && values.tenant !== undefined ? values.tenant : args.shift());
	const done = () => {
		if (args.length) throw new UsageError(`Unexpected argument '${args[0]}' for '${key}'.`);
	};
	const tenantFields = () =>
		pick({
			name: values.name,
			timezone: values.timezone,
			retention_days: integer("retention-days", values["retention-days"]),
			rate_limit_eps: integer("rate-limit", values["rate-limit"]),
		});
	const enc = encodeURIComponent;

	switch (key) {
		case "tenants list": {
			done();
			const r = await api("GET", "/v1/admin/tenants");
			return out(r, table(r.tenants, TENANT_COLUMNS));
		}
		case "tenants create": {
			const id = args.shift() ?? values.id;
			done();
			if (values.name === undefined) throw new UsageError("Missing --name. Usage: npm run admin -- tenants create [<id>] --name <name> [--timezone <tz>]");
			const t = await api("POST", "/v1/admin/tenants", pick({ id, ...tenantFields() }));
			return out(t, `Created tenant '${t.id}'.\n\n${describeTenant(t)}\n\nNext: npm run admin -- keys create ${t.id} --scope ingest`);
		}
		case "tenants show": {
			const id = need(args.shift(), "tenant id", "tenants show <id>");
			done();
			const t = await api("GET", `/v1/admin/tenants/${enc(id)}`);
			const k = await api("GET", `/v1/admin/tenants/${enc(id)}/keys`);
			return out({ ...t, keys: k.keys }, `${describeTenant(t)}\n\nKeys:\n${table(keyRows(k.keys), KEY_COLUMNS)}`);
		}
		case "tenants update": {
			const id = need(args.shift(), "tenant id", "tenants update <id> [--name ...] [--timezone ...] [--retention-days N] [--rate-limit N]");
			done();
			const body = tenantFields();
			if (!Object.keys(body).length) throw new UsageError("Nothing to update: pass at least one of --name, --timezone, --retention-days, --rate-limit.");
			const t = await api("PATCH", `/v1/admin/tenants/${enc(id)}`, body);
			return out(t, `Updated tenant '${t.id}'.\n\n${describeTenant(t)}`);
		}
		case "keys list": {
			const tenant = need(tenantArg(), "tenant id", "keys list <tenant>");
			done();
			const r = await api("GET", `/v1/admin/tenants/${enc(tenant)}/keys`);
			return out(r, table(keyRows(r.keys), KEY_COLUMNS));
		}
		case "keys create": {
			const tenant = need(tenantArg(), "tenant id", "keys create <tenant> --scope <ingest|read|admin>");
			done();
			need(values.scope, "--scope (ingest, read or admin)", "keys create <tenant> --scope <ingest|read|admin> [--name ...] [--origins a,b]");
			const k = await api("POST", `/v1/admin/tenants/${enc(tenant)}/keys`, pick({ scope: values.scope, name: values.name, allowed_origins: origins(values.origins) }));
			const text = [
				`Created ${k.scope} key ${k.id} for tenant '${k.tenant_id}'.`,
				"",
				`    ${k.key}`,
				"",
				"WARNING: this is the only time the full key is shown; only its hash is stored.",
				"Copy it now into your secret store. If it is lost, create a new key and revoke this one.",
				"",
				describeKey(k),
			].join("\n");
			if (values.json) console.error("WARNING: the response holds the full key; this is the only time it is shown.");
			return out(k, text);
		}
		case "keys update": {
			const usage = "keys update <tenant> <key-id> [--name ...] [--origins a,b|any]";
			const tenant = need(tenantArg(), "tenant id", usage);
			const keyId = need(args.shift(), "key id", usage);
			done();
			const body = pick({ name: values.name, allowed_origins: origins(values.origins) });
			if (!Object.keys(body).length) throw new UsageError("Nothing to update: pass --name and/or --origins.");
			const k = await api("PATCH", `/v1/admin/tenants/${enc(tenant)}/keys/${enc(keyId)}`, body);
			return out(k, `Updated key ${k.id}.\n\n${describeKey(k)}`);
		}
		case "keys revoke": {
			const usage = "keys revoke <tenant> <key-id>";
			const tenant = need(tenantArg(), "tenant id", usage);
			const keyId = need(args.shift(), "key id", usage);
			done();
			const k = await api("DELETE", `/v1/admin/tenants/${enc(tenant)}/keys/${enc(keyId)}`);
			return out(k, `Revoked key ${k.id} (${k.scope}, ${k.prefix}…) at ${k.revoked_at}. It is refused from now on.`);
		}
	}
}

function printApiFailure(err) {
	const e = err.body && typeof err.body === "object" ? err.body.error : null;
	if (!e) {
		console.error(`Error: HTTP ${err.status}${typeof err.body === "string" && err.body ? `: ${err.body.slice(0, 500)}` : ""}`);
		return;
	}
	console.error(`Error (HTTP ${err.status} ${e.code}): ${e.message}`);
	const details = e.details ?? {};
	if (Array.isArray(details.issues)) {
		// The message already names the first issue; list them all only when there are several.
		if (details.issues.length > 1) for (const i of details.issues) console.error(`  - ${i.path || "(body)"}: ${i.message}`);
	} else if (Object.keys(details).length) {
		console.error(`  details: ${JSON.stringify(details)}`);
	}
	if (err.status === 401) console.error("Hint: pass the admin token with --token or EDGEWISE_ADMIN_TOKEN (locally it is ew_dev_admin).");
	else if (err.status === 403 && details.required) console.error("Hint: use the admin token or an 'admin'-scoped key of the tenant (--token or EDGEWISE_ADMIN_TOKEN).");
	else if (err.status === 403) console.error("Hint: this needs the global admin token (EDGEWISE_ADMIN_TOKEN), not a tenant's admin key.");
}

async function main() {
	let args;
	try {
		args = parse(process.argv.slice(2));
	} catch (err) {
		if (!(err instanceof UsageError)) throw err;
		console.error(`Error: ${err.message}\nRun 'npm run admin -- --help' for usage.`);
		return 2;
	}
	if (args.values.help || !args.resource || args.resource === "help") {
		console.log(HELP);
		return args.values.help || args.resource === "help" ? 0 : 2;
	}
	try {
		await run(args);
		return 0;
	} catch (err) {
		if (err instanceof UsageError) {
			console.error(`Error: ${err.message}\nRun 'npm run admin -- --help' for usage.`);
			return 2;
		}
		if (err instanceof ApiFailure) {
			printApiFailure(err);
			return 1;
		}
		console.error(`Error: ${err.message}`);
		return 1;
	}
}

process.exitCode = await main();
