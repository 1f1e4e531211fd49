#!/usr/bin/env node
// `npm run deploy:pages`: the dashboard on its own origin, Cloudflare Pages, against an Edgewise API
// deployed elsewhere (`npm run deploy`). The API's origin is a build setting: the dashboard is
// built for it, then web/dist is uploaded with `wrangler pages deploy`. See docs/deploy.md.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildDashboard } from "./build-web.mjs";
import { BIN, ROOT } from "./lib.mjs";

const HELP = `Deploy the Edgewise dashboard to Cloudflare Pages.

Usage:
  npm run deploy:pages -- --api-origin https://edgewise.<you>.workers.dev [options]

Options:
  --api-origin <url>     the Edgewise API the dashboard calls (or EDGEWISE_API_ORIGIN); required
  --project <name>       the Pages project, created when missing (default: edgewise-dashboard)
  --branch <name>        the branch to deploy as (default: main, the production branch)
  --dry-run              build web/dist for that API and print the commands, without uploading
  -h, --help             this text

The API answers CORS for the endpoints the dashboard calls, for any origin (keys travel in the
Authorization header, never in cookies), so nothing needs configuring on the API side.
`;

const WRANGLER = join(BIN, "wrangler");
const env = () => ({ ...process.env, PATH: `${BIN}:${process.env.PATH}`, WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? "false" });

/** An origin: https (or http for localhost), a host, no path, query or fragment. */
export function apiOrigin(value) {
	let u;
	try {
		u = new URL(value);
	} catch {
		throw new Error(`--api-origin: '${value}' is not a URL; give the API's origin, such as https://edgewise.example.workers.dev`);
	}
	const local = ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
	if (u.protocol !== "https:" && !(local && u.protocol === "http:")) throw new Error(`--api-origin: use https (got ${u.protocol})`);
	if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) throw new Error(`--api-origin: give the origin only (scheme and host), not '${value}'`);
	return u.origin;
}

function run(args, { allowFail = false } = {}) {
	console.log(`  $ wrangler ${args.join(" ")}`);
	const r = spawnSync(WRANGLER, args, { cwd: ROOT, env: env(), stdio: allowFail ? "pipe" : "inherit", encoding: "utf8" });
	if (r.status !== 0 && !allowFail) throw new Error(`wrangler ${args[0]} ${args[1] ?? ""} failed`);
	return r;
}

function main() {
	const { values } = parseArgs({
		options: {
			"api-origin": { type: "string" },
			project: { type: "string", default: "edgewise-dashboard" },
			branch: { type: "string", default: "main" },
			"dry-run": { type: "boolean", default: false },
			help: { type: "boolean", short: "h", default: false },
		},
	});
	if (values.help) return console.log(HELP);
	const raw = values["api-origin"] ?? process.env.EDGEWISE_API_ORIGIN;
	if (!raw) throw new Error("--api-origin is required: the origin of your Edgewise API (npm run deploy prints it)");
	const origin = apiOrigin(raw);
	if (!/^[a-z0-9][a-z0-9-]{0,57}$/.test(values.project)) throw new Error("--project: 1-58 lower-case letters, digits and '-'");

	console.log(`• building the dashboard for the API at ${origin}…`);
	buildDashboard({ apiOrigin: origin });
	const create = ["pages", "project", "create", values.project, "--production-branch", "main"];
	const deploy = ["pages", "deploy", "web/dist", "--project-name", values.project, "--branch", values.branch, "--commit-dirty=true"];
	if (values["dry-run"]) {
		console.log(`\nDry run: web/dist is built for ${origin}. The deploy would run:\n  wrangler ${create.join(" ")}   (only when the project does not exist)\n  wrangler ${deploy.join(" ")}`);
		return;
	}
	const projects = run(["pages", "project", "list", "--json"], { allowFail: true });
	const exists = projects.status === 0 && projects.stdout.includes(`"${values.project}"`);
	if (!exists) run(create);
	run(deploy);
	console.log(`\nThe dashboard is on Pages (project ${values.project}), calling the API at ${origin}. Sign in with a read or admin key.`);
}

try {
	main();
} catch (err) {
	console.error(`Error: ${err.message}\nRun 'npm run deploy:pages -- --help' for usage.`);
	process.exit(1);
}
