#!/usr/bin/env node
// `npm run deploy`: puts Edgewise into your own Cloudflare account. Idempotent: run it again after
// every change. It creates what is missing (D1 database, R2 bucket, ADMIN_TOKEN and SHARE_SECRET secrets), applies the
// D1 migrations remotely, then runs `wrangler deploy`. See docs/deploy.md.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { buildDashboard } from "./build-web.mjs";
import { BIN, ROOT } from "./lib.mjs";

const HELP = `Deploy Edgewise to your Cloudflare account.

Usage:
  npm run deploy [-- options]
  node scripts/deploy.mjs [options]

Steps (each is skipped when already done):
  1. check that wrangler is logged in (wrangler login) or CLOUDFLARE_API_TOKEN is set
  2. D1: if wrangler.toml still has the placeholder database_id, find or create the
     'edgewise' database and write its id into wrangler.toml (commit that change)
  3. R2: create the archive bucket if it does not exist
  4. apply the D1 migrations to the remote database
  5. ADMIN_TOKEN secret: keep the existing one, or generate a strong one and print it once;
     SHARE_SECRET (signs board share links): keep the existing one, or generate one (never shown)
     WEBHOOK_KEY (encrypts tenants' webhook signing secrets): keep it, or generate one (never shown)
  6. wrangler deploy (Worker, TenantHub Durable Object with its SQLite migration, static
     dashboard, cron trigger, Analytics Engine dataset binding)

Options:
  --dry-run              print the steps and commands without touching your account,
                         then build the bundle with 'wrangler deploy --dry-run' (works offline)
  -y, --yes              do not ask for confirmation before changing the account
  --admin-token <token>  set ADMIN_TOKEN to this value (or set EDGEWISE_ADMIN_TOKEN)
  --rotate-admin-token   generate a new ADMIN_TOKEN even if one is set (the old one stops working)
  --rotate-share-secret  generate a new SHARE_SECRET (every share link made so far stops working)
  --d1-location <hint>   location hint when creating the D1 database (weur, eeur, apac, oc, wnam, enam)
  -h, --help             show this help

Environment:
  CLOUDFLARE_API_TOKEN   API token with Workers Scripts, D1 and Workers R2 Storage: Edit; else 'wrangler login'
  CLOUDFLARE_ACCOUNT_ID  which account to use when the login can see several
  EDGEWISE_ADMIN_TOKEN   ADMIN_TOKEN value to set (same as --admin-token)
`;

const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const CONFIG = join(ROOT, "wrangler.toml");
const WRANGLER = join(BIN, "wrangler");

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (n, title) => console.log(`\n${bold(`[${n}/6] ${title}`)}`);
const info = (s) => console.log(`      ${s}`);
const shown = (args) => `wrangler ${args.map((a) => (/[\s"'$]/.test(a) ? `'${a}'` : a)).join(" ")}`;

class DeployError extends Error {}

/** Environment for wrangler: the project's Node 22 first on PATH, no telemetry unless asked for. */
function env() {
	return { ...process.env, PATH: `${BIN}:${process.env.PATH}`, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" };
}

/** Runs wrangler and captures its output (no prompts: wrangler sees a non-interactive terminal). */
function capture(args, { input } = {}) {
	const r = spawnSync(WRANGLER, args, { cwd: ROOT, env: env(), encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 });
	if (r.error) throw new DeployError(`could not run wrangler: ${r.error.message}`);
	return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, stdout: r.stdout ?? "" };
}

/** Runs wrangler with its output streamed to the terminal and also returned. */
function stream(args) {
	console.log(`      $ ${shown(args)}`);
	return new Promise((resolve, reject) => {
		const child = spawn(WRANGLER, args, { cwd: ROOT, env: env(), stdio: ["inherit", "pipe", "pipe"] });
		let out = "";
		child.stdout.on("data", (d) => {
			out += d;
			process.stdout.write(d);
		});
		child.stderr.on("data", (d) => {
			out += d;
			process.stderr.write(d);
		});
		child.on("error", (err) => reject(new DeployError(`could not run wrangler: ${err.message}`)));
		child.on("close", (code) => resolve({ ok: code === 0, out }));
	});
}

function must(result, what) {
	if (!result.ok) throw new DeployError(`${what} failed:\n${result.out.trim()}`);
	return result;
}

/** The JSON value in wrangler's output (it may print a banner or warnings around it). */
function json(text) {
	const t = text.trim();
	try {
		return JSON.parse(t);
	} catch {}
	const start = t.search(/[[{]/);
	if (start < 0) return null;
	const close = t[start] === "[" ? "]" : "}";
	for (let end = t.lastIndexOf(close); end > start; end = t.lastIndexOf(close, end - 1)) {
		try {
			return JSON.parse(t.slice(start, end + 1));
		} catch {}
	}
	return null;
}

/** The `[[name]]` / `[name]` blocks of a TOML file, as raw text with their offsets (enough for our config). */
function tomlBlocks(text, header) {
	const blocks = [];
	const re = new RegExp(`^\\[\\[?${header.replace(".", "\\.")}\\]\\]?\\s*$`, "gm");
	for (let m = re.exec(text); m; m = re.exec(text)) {
		const start = m.index;
		const rest = text.slice(start + m[0].length);
		const next = rest.search(/^\[/m);
		const end = next < 0 ? text.length : start + m[0].length + next;
		blocks.push({ start, end, body: text.slice(start, end) });
	}
	return blocks;
}

const tomlValue = (body, key) => body.match(new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m"))?.[1];

function readConfig() {
	if (!existsSync(CONFIG)) throw new DeployError(`${CONFIG} not found`);
	const text = readFileSync(CONFIG, "utf8");
	const top = text.slice(0, text.search(/^\[/m) < 0 ? text.length : text.search(/^\[/m));
	const d1 = tomlBlocks(text, "d1_databases").find((b) => tomlValue(b.body, "binding") === "DB");
	const r2 = tomlBlocks(text, "r2_buckets").find((b) => tomlValue(b.body, "binding") === "ARCHIVE");
	const ae = tomlBlocks(text, "analytics_engine_datasets")[0];
	if (!d1) throw new DeployError("wrangler.toml has no [[d1_databases]] block with binding = \"DB\"");
	if (!r2) throw new DeployError("wrangler.toml has no [[r2_buckets]] block with binding = \"ARCHIVE\"");
	return {
		text,
		name: tomlValue(top, "name") ?? "edgewise",
		accountId: tomlValue(top, "account_id"),
		d1: { block: d1, name: tomlValue(d1.body, "database_name") ?? "edgewise", id: tomlValue(d1.body, "database_id") },
		bucket: tomlValue(r2.body, "bucket_name") ?? "edgewise-archive",
		dataset: ae ? tomlValue(ae.body, "dataset") : null,
		crons: text.match(/^crons\s*=\s*(\[.*\])/m)?.[1] ?? "[]",
		hasSelfBinding: tomlBlocks(text, "services").some((b) => tomlValue(b.body, "service") === (tomlValue(top, "name") ?? "edgewise")),
	};
}

/** Writes the D1 database id into wrangler.toml, touching only that one line. */
function writeDatabaseId(config, id) {
	const { block } = config.d1;
	const body = block.body.replace(/^(\s*database_id\s*=\s*)"[^"]*"/m, `$1"${id}"`);
	writeFileSync(CONFIG, config.text.slice(0, block.start) + body + config.text.slice(block.end));
}

async function confirm(question) {
	if (!process.stdin.isTTY) return true;
	const rl = createInterface({ input: process.stdin, output: process.stdout });
	try {
		return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
	} finally {
		rl.close();
	}
}

function newAdminToken() {
	return `ew_root_${randomBytes(32).toString("base64url")}`;
}

// ---------------------------------------------------------------------------------------------

function checkTools() {
	if (!existsSync(WRANGLER)) throw new DeployError("wrangler is not installed: run `npm install` first.");
	const v = capture(["--version"]);
	if (!v.ok) throw new DeployError(`wrangler does not start (it needs Node.js >= 22; npm scripts use the project's node_modules/.bin/node):\n${v.out.trim()}`);
	return v.out.trim().split("\n").pop();
}

function checkAuth(config) {
	const r = capture(["whoami", "--json"]);
	const who = json(r.stdout);
	if (!r.ok || !who?.loggedIn) {
		const offline = /fetch failed|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|network/i.test(r.out);
		throw new DeployError(
			offline
				? `cannot reach the Cloudflare API (${r.out.trim().split("\n").pop()}). Check your network, or use --dry-run to build offline.`
				: "wrangler is not logged in. Run `npx wrangler login` (opens a browser), or set CLOUDFLARE_API_TOKEN to an API token\n" +
						"with the Workers Scripts, D1 and Workers R2 Storage edit permissions (and CLOUDFLARE_ACCOUNT_ID). See docs/deploy.md.",
		);
	}
	const accounts = who.accounts ?? [];
	const chosen = process.env.CLOUDFLARE_ACCOUNT_ID ?? config.accountId;
	if (!chosen && accounts.length > 1)
		throw new DeployError(
			`this login can see ${accounts.length} accounts; choose one with CLOUDFLARE_ACCOUNT_ID:\n` +
				accounts.map((a) => `        CLOUDFLARE_ACCOUNT_ID=${a.id}   # ${a.name}`).join("\n"),
		);
	const account = accounts.find((a) => a.id === chosen) ?? accounts[0];
	return { who, account: account ? `${account.name} (${account.id})` : chosen ?? "unknown account" };
}

function findDatabase(name) {
	const r = must(capture(["d1", "list", "--json"]), "wrangler d1 list");
	const list = json(r.stdout);
	if (!Array.isArray(list)) throw new DeployError(`could not read the output of wrangler d1 list:\n${r.out.trim()}`);
	return list.find((d) => d.name === name) ?? null;
}

function ensureDatabase(config, location) {
	const { name, id } = config.d1;
	if (id && id !== PLACEHOLDER_ID) {
		const db = findDatabase(name);
		if (!db) info(`warning: no database named '${name}' is visible to this account; using database_id ${id} from wrangler.toml as is.`);
		else if (db.uuid !== id) info(`warning: the account's '${name}' database has id ${db.uuid}, but wrangler.toml says ${id}; keeping wrangler.toml's.`);
		else info(`D1 database '${name}' (${id}) exists.`);
		return id;
	}
	let db = findDatabase(name);
	if (db) info(`found the existing D1 database '${name}' (${db.uuid}).`);
	else {
		const args = ["d1", "create", name, ...(location ? ["--location", location] : [])];
		console.log(`      $ ${shown(args)}`);
		const r = must(capture(args), "wrangler d1 create");
		const created = r.out.match(new RegExp(`database_id\\s*[=:]\\s*"(${UUID.source})"`, "i"))?.[1] ?? findDatabase(name)?.uuid;
		if (!created) throw new DeployError(`created the D1 database but could not read its id:\n${r.out.trim()}`);
		db = { uuid: created };
		info(`created the D1 database '${name}' (${created}).`);
	}
	writeDatabaseId(config, db.uuid);
	info(`wrote database_id = "${db.uuid}" into wrangler.toml (commit this change).`);
	return db.uuid;
}

function ensureBucket(bucket) {
	const list = must(capture(["r2", "bucket", "list"]), "wrangler r2 bucket list");
	const names = [...list.out.matchAll(/^name:\s+(\S+)\s*$/gm)].map((m) => m[1]);
	if (names.includes(bucket)) return info(`R2 bucket '${bucket}' exists.`);
	const args = ["r2", "bucket", "create", bucket];
	console.log(`      $ ${shown(args)}`);
	const r = capture(args);
	if (!r.ok && !/already exists/i.test(r.out)) must(r, "wrangler r2 bucket create");
	info(r.ok ? `created the R2 bucket '${bucket}'.` : `R2 bucket '${bucket}' already exists.`);
}

/** Existing secret names of the worker; [] when the worker does not exist yet. */
function secretNames(worker) {
	const r = capture(["secret", "list", "--format", "json"]);
	if (r.ok) {
		const list = json(r.stdout);
		if (Array.isArray(list)) return list.map((s) => s.name);
	}
	if (/10007|not[ _]found|couldn't find a Worker|does not exist/i.test(r.out)) return [];
	throw new DeployError(
		`could not list the secrets of '${worker}', so cannot tell whether ADMIN_TOKEN is set:\n${r.out.trim()}\n` +
			"Pass --admin-token <token> (or --rotate-admin-token) to set it explicitly.",
	);
}

/** A config without the AeWriter self-binding, for a first deploy the platform refuses because the worker does not exist yet. */
function withoutSelfBinding(config) {
	let text = config.text;
	for (const b of tomlBlocks(text, "services").reverse()) if (tomlValue(b.body, "service") === config.name) text = text.slice(0, b.start) + text.slice(b.end);
	return text;
}

async function deploy(config, secretsFile) {
	const args = ["deploy", ...(secretsFile ? ["--secrets-file", secretsFile] : [])];
	let r = await stream(args);
	if (!r.ok && config.hasSelfBinding && /script_not_found|10007|service binding|could not resolve service/i.test(r.out)) {
		// NOTE: the AeWriter entrypoint is bound to this very worker; if the platform refuses the
		// binding because the worker does not exist yet, deploy once without it (analytics writes then
		// go straight to AE), then again with it.
		info("first deploy: the self service binding needs the worker to exist; deploying once without it…");
		const bootstrap = join(ROOT, "wrangler.bootstrap.toml");
		writeFileSync(bootstrap, withoutSelfBinding(readConfig()));
		try {
			must(await stream([...args, "--config", bootstrap]), "wrangler deploy (bootstrap)");
		} finally {
			rmSync(bootstrap, { force: true });
		}
		r = await stream(args);
	}
	must(r, "wrangler deploy");
	return r.out.match(/https:\/\/[a-z0-9.-]+\.workers\.dev/i)?.[0] ?? null;
}

// ---------------------------------------------------------------------------------------------

function plan(config) {
	const placeholder = !config.d1.id || config.d1.id === PLACEHOLDER_ID;
	console.log(bold("Dry run: nothing in your Cloudflare account is changed.\n"));
	console.log(`Worker '${config.name}', from ${CONFIG}:\n`);
	const lines = [
		["1. check login", "wrangler whoami --json   (or CLOUDFLARE_API_TOKEN)"],
		[
			"2. D1 database",
			placeholder
				? `wrangler d1 list --json; if '${config.d1.name}' is missing: wrangler d1 create ${config.d1.name}\n       then write its database_id into wrangler.toml (now the placeholder ${PLACEHOLDER_ID})`
				: `use database_id ${config.d1.id} from wrangler.toml`,
		],
		["3. R2 bucket", `wrangler r2 bucket list; if '${config.bucket}' is missing: wrangler r2 bucket create ${config.bucket}`],
		["4. migrations", "wrangler d1 migrations apply DB --remote"],
		["5. secrets", "wrangler secret list; if ADMIN_TOKEN is missing, generate one (printed once), and SHARE_SECRET and WEBHOOK_KEY likewise (not printed); upload them with the deploy"],
		["6. deploy", "wrangler deploy [--secrets-file <temporary file holding the new secrets>]"],
	];
	for (const [what, how] of lines) console.log(`  ${what.padEnd(16)} ${how}`);
	console.log(`
Created by the deploy itself, nothing to do beforehand:
  - Durable Object class TenantHub with SQLite storage (the [[migrations]] tag in wrangler.toml)
  - Analytics Engine dataset '${config.dataset ?? "(none)"}' (appears with its first data point)
  - cron trigger ${config.crons}
  - the dashboard, served as static assets

Building the bundle (wrangler deploy --dry-run --outdir dist):
`);
}

async function main() {
	let values;
	try {
		({ values } = parseArgs({
			options: {
				"dry-run": { type: "boolean", default: false },
				yes: { type: "boolean", short: "y", default: false },
				"admin-token": { type: "string" },
				"rotate-admin-token": { type: "boolean", default: false },
				"rotate-share-secret": { type: "boolean", default: false },
				"d1-location": { type: "string" },
				help: { type: "boolean", short: "h", default: false },
			},
			strict: true,
		}));
	} catch (err) {
		console.error(`Error: ${err.message}\nRun 'node scripts/deploy.mjs --help' for usage.`);
		return 2;
	}
	if (values.help) {
		console.log(HELP);
		return 0;
	}
	const explicitToken = values["admin-token"] ?? process.env.EDGEWISE_ADMIN_TOKEN;
	if (explicitToken !== undefined && explicitToken.length < 24) {
		console.error("Error: the admin token must be at least 24 characters (it guards every tenant).");
		return 2;
	}
	const config = readConfig();
	// The dashboard Wrangler uploads as static assets (web/dist), built for production: no dev key.
	buildDashboard();

	if (values["dry-run"]) {
		plan(config);
		checkTools();
		const r = await stream(["deploy", "--dry-run", "--outdir", "dist"]);
		if (!r.ok) throw new DeployError("wrangler deploy --dry-run failed");
		console.log(`\n${bold("Dry run OK.")} Run 'npm run deploy' to deploy for real.`);
		return 0;
	}

	step(1, "Checking wrangler and your Cloudflare login");
	info(`wrangler ${checkTools()}`);
	const { who, account } = checkAuth(config);
	info(`logged in${who.email ? ` as ${who.email}` : ""} (${who.authType ?? "token"}); account: ${account}`);
	if (!values.yes && !(await confirm(`      Deploy '${config.name}' to ${account}?`))) {
		console.log("Nothing changed.");
		return 1;
	}

	step(2, "D1 database");
	ensureDatabase(config, values["d1-location"]);

	step(3, "R2 bucket");
	ensureBucket(config.bucket);

	step(4, "D1 migrations (remote)");
	must(await stream(["d1", "migrations", "apply", "DB", "--remote"]), "wrangler d1 migrations apply");

	step(5, "ADMIN_TOKEN and SHARE_SECRET secrets");
	let token = null;
	let generated = false;
	if (explicitToken !== undefined) {
		token = explicitToken;
		info("setting ADMIN_TOKEN to the value you passed.");
	} else if (values["rotate-admin-token"]) {
		token = newAdminToken();
		generated = true;
		info("generating a new ADMIN_TOKEN (the old one stops working with this deploy).");
	} else if (secretNames(config.name).includes("ADMIN_TOKEN")) {
		info("ADMIN_TOKEN is already set; keeping it (--rotate-admin-token replaces it).");
	} else {
		token = newAdminToken();
		generated = true;
		info("no ADMIN_TOKEN yet: generated a strong one; it is uploaded with the deploy and printed at the end.");
	}
	// SHARE_SECRET signs board share links (GET /v1/shared/<token>). Nobody needs to know it, so it is
	// never printed; a new one ends every share link made with the old one.
	let shareSecret = null;
	if (values["rotate-share-secret"]) {
		shareSecret = randomBytes(32).toString("base64url");
		info("generating a new SHARE_SECRET (share links made so far stop working with this deploy).");
	} else if (secretNames(config.name).includes("SHARE_SECRET")) {
		info("SHARE_SECRET is already set; keeping it (--rotate-share-secret replaces it).");
	} else {
		shareSecret = randomBytes(32).toString("base64url");
		info("no SHARE_SECRET yet: generated one; it is uploaded with the deploy.");
	}

	// WEBHOOK_KEY encrypts the tenants' webhook signing secrets in D1. It is never replaced by a deploy:
	// a new one would leave every stored secret unreadable (tenants would have to make new ones).
	let webhookKey = null;
	if (secretNames(config.name).includes("WEBHOOK_KEY")) info("WEBHOOK_KEY is already set; keeping it.");
	else {
		webhookKey = randomBytes(32).toString("base64url");
		info("no WEBHOOK_KEY yet: generated one; it is uploaded with the deploy.");
	}

	step(6, "Deploying");
	let url;
	const secrets = { ...(token ? { ADMIN_TOKEN: token } : {}), ...(shareSecret ? { SHARE_SECRET: shareSecret } : {}), ...(webhookKey ? { WEBHOOK_KEY: webhookKey } : {}) };
	const dir = Object.keys(secrets).length ? mkdtempSync(join(tmpdir(), "edgewise-deploy-")) : null;
	try {
		let secretsFile;
		if (dir) {
			secretsFile = join(dir, "secrets.json");
			writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 });
		}
		url = await deploy(readConfig(), secretsFile);
	} finally {
		if (dir) rmSync(dir, { recursive: true, force: true });
	}

	const base = url ?? "https://<your-worker>.workers.dev";
	console.log(`\n${bold("Edgewise is deployed.")} ${url ? url : "(see the URL in wrangler's output above)"}`);
	if (generated) {
		console.log(`
  ADMIN_TOKEN  ${token}

  This is the only time the token is shown; only Cloudflare holds it now. Store it in your
  password manager. It can manage every tenant. Replace it with: npm run deploy -- --rotate-admin-token`);
	}
	console.log(`
Next: create your first tenant and its keys

  export EDGEWISE_URL=${base}
  export EDGEWISE_ADMIN_TOKEN=${generated ? token : "<your ADMIN_TOKEN>"}
  npm run admin -- tenants create mysite --name "My site" --timezone Europe/Paris
  npm run admin -- keys create mysite --scope ingest --name website --origins https://mysite.example
  npm run admin -- keys create mysite --scope read --name dashboard
`);
	return 0;
}

try {
	process.exitCode = await main();
} catch (err) {
	if (!(err instanceof DeployError)) throw err;
	console.error(`\nDeploy stopped: ${err.message}`);
	process.exitCode = 1;
}
