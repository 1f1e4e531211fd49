#!/usr/bin/env node
// `npm start`: the whole platform locally on http://localhost:8787 — API, Durable Objects,
// local D1 (migrations applied), R2, cron (triggered every minute), dashboard — with a demo tenant.
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildDashboard } from "./build-web.mjs";
import { DEV, devSeedSql } from "./dev-keys.mjs";
import { demoEvents } from "./demo-data.mjs";
import { ensureDevVars, progress, ROOT, startWranglerDev, waitFor, wrangler } from "./lib.mjs";

const HELP = `Usage: npm start [-- options]

Runs Edgewise locally with a demo tenant (keys: ew_dev_ingest, ew_dev_read; admin token ew_dev_admin).

Options:
  --port <n>     the port to serve on (default: $PORT or 8787)
  --reset        delete the local data (.wrangler/state) first, then migrate and seed afresh
  -h, --help     show this help

Environment:
  PORT           the port, as --port (the option wins)
  DEMO_EVENTS    demo events seeded into an empty demo tenant, spread over the 60 days before
                 (default 20000; 0 seeds none)
`;

let args;
try {
	args = parseArgs({ options: { port: { type: "string" }, reset: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } } }).values;
} catch (err) {
	console.error(`${err.message}\n\n${HELP}`);
	process.exit(2);
}
if (args.help) {
	console.log(HELP);
	process.exit(0);
}
const PORT = Number(args.port ?? process.env.PORT ?? 8787);
const DEMO_EVENTS = Number(process.env.DEMO_EVENTS ?? 20_000);
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) fail(`not a port: ${args.port ?? process.env.PORT}`);
if (!Number.isInteger(DEMO_EVENTS) || DEMO_EVENTS < 0) fail(`DEMO_EVENTS must be a whole number ≥ 0, not '${process.env.DEMO_EVENTS}'`);
const BASE = `http://127.0.0.1:${PORT}`;
// wrangler's default place for local D1, R2 and Durable Object data.
const STATE = join(ROOT, ".wrangler", "state");

function fail(message) {
	console.error(`npm start: ${message}`);
	process.exit(1);
}

/** Whether something already listens on 127.0.0.1:port (wrangler would fail later with a less useful message). */
function portInUse(port) {
	return new Promise((resolve) => {
		const probe = createServer()
			.once("error", (err) => resolve(err.code === "EADDRINUSE"))
			.once("listening", () => probe.close(() => resolve(false)))
			.listen(port, "127.0.0.1");
	});
}

// Checked before --reset, so a running server keeps its data.
if (await portInUse(PORT))
	fail(`port ${PORT} is already in use: stop the server using it (another npm start?), or choose another port: npm start -- --port ${PORT + 1}`);

ensureDevVars();
if (args.reset) {
	console.log(`• --reset: deleting the local data in ${STATE}…`);
	rmSync(STATE, { recursive: true, force: true });
}
console.log("• applying D1 migrations (local)…");
wrangler(["d1", "migrations", "apply", "DB", "--local"]);
console.log("• seeding the demo tenant and its keys…");
wrangler(["d1", "execute", "DB", "--local", "--command", devSeedSql()]);

// The dashboard in web/dist, with the dev read key prefilled on its sign-in page (on localhost only).
console.log("• building the dashboard (npm run dev:web rebuilds it on every change)…");
buildDashboard({ devReadKey: DEV.readKey });

console.log(`• starting the worker on ${BASE} …`);
const dev = startWranglerDev({ port: PORT });
const stop = () => {
	try {
		process.kill(-dev.pid, "SIGTERM");
	} catch {}
	process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => {
	console.error(`wrangler dev exited (${code})`);
	process.exit(code ?? 1);
});

await waitFor(`${BASE}/healthz`, 120_000);

const auth = (key) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });
const stats = await (await fetch(`${BASE}/v1/ingest/stats`, { headers: auth(DEV.readKey) })).json();
if (stats.received === 0 && DEMO_EVENTS > 0) {
	const all = [...demoEvents(DEMO_EVENTS)];
	for (let i = 0; i < all.length; i += 500) {
		const res = await fetch(`${BASE}/v1/events`, { method: "POST", headers: auth(DEV.ingestKey), body: JSON.stringify({ events: all.slice(i, i + 500) }) });
		if (!res.ok) throw new Error(`seeding failed: ${res.status} ${await res.text()}`);
		progress("• demo events", Math.min(i + 500, all.length), all.length);
	}
} else if (stats.received > 0) console.log(`• demo tenant already has ${stats.received} events (npm start -- --reset starts over)`);

// The support preset board (its reports, and the rollup settings it needs; nothing twice).
{
	const res = await fetch(`${BASE}/v1/admin/tenants/${DEV.tenant}/presets/support`, { method: "POST", headers: auth(DEV.adminToken) });
	if (!res.ok) console.error(`• support preset board: HTTP ${res.status} ${await res.text()}`);
	else if (res.status === 201) console.log("• support preset board created");
}

// The dashboard opens with charts: roll up the demo events now rather than at the next cron tick
// (once the hub has flushed them to D1; the rollup pass reads D1).
if (stats.received === 0 && DEMO_EVENTS > 0) {
	for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
		const s = await (await fetch(`${BASE}/v1/ingest/stats`, { headers: auth(DEV.readKey) })).json();
		if (s.buffered === 0) break;
	}
	for (let pass = 0; pass < 20; pass++) {
		const res = await fetch(`${BASE}/v1/admin/rollups/run`, { method: "POST", headers: auth(DEV.adminToken) });
		const report = await res.json().catch(() => ({}));
		if (!res.ok || report.caught_up) break;
	}
	console.log("• demo events rolled up");
}

// Local cron: wrangler dev does not fire schedules by itself, so tick it every minute.
// NOTE: through /cdn-cgi/handler/scheduled; the older /__scheduled is answered by the dashboard's
// single-page-application fallback (index.html), so the cron would silently never run.
const tick = async () => {
	try {
		const res = await fetch(`${BASE}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`);
		await res.arrayBuffer();
		if (!res.ok) console.error(`• cron tick: HTTP ${res.status}`);
	} catch (err) {
		console.error(`• cron tick failed: ${err.message}`);
	}
};
setInterval(tick, 60_000);
tick();

console.log(`
Edgewise is running on http://localhost:${PORT}

  dashboard     http://localhost:${PORT}/  (the read key is prefilled; npm run dev:web rebuilds it on change)

  tenant        ${DEV.tenant}
  ingest key    ${DEV.ingestKey}
  read key      ${DEV.readKey}
  admin token   ${DEV.adminToken}

  curl -X POST http://localhost:${PORT}/v1/events -H 'Authorization: Bearer ${DEV.ingestKey}' \\
       -H 'Content-Type: application/json' -d '{"event":"signup","user_id":"u1","properties":{"plan":"pro"}}'
  curl http://localhost:${PORT}/v1/ingest/stats -H 'Authorization: Bearer ${DEV.readKey}'
  curl -X POST http://localhost:${PORT}/v1/query -H 'Authorization: Bearer ${DEV.readKey}' \\
       -H 'Content-Type: application/json' -d '{"metrics":["count","uniques"],"date_range":"7d","granularity":"day"}'

  Rollups are computed by the cron every minute (and by POST /v1/admin/rollups/run).

Ctrl-C stops it. Local data lives in .wrangler/state (npm start -- --reset starts over).
`);
