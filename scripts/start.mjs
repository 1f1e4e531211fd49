#!/usr/bin/env node
// `npm start`: the whole platform locally on http://localhost:8787 — API, Durable Objects,
// local D1 (migrations applied), R2, cron (triggered every minute), dashboard — with a demo tenant.
import { DEV, devSeedSql } from "./dev-keys.mjs";
import { demoEvents } from "./demo-data.mjs";
import { ensureDevVars, progress, startWranglerDev, waitFor, wrangler } from "./lib.mjs";

const PORT = Number(process.env.PORT ?? 8787);
const BASE = `http://127.0.0.1:${PORT}`;
const DEMO_EVENTS = Number(process.env.DEMO_EVENTS ?? 20_000);

ensureDevVars();
console.log("• applying D1 migrations (local)…");
wrangler(["d1", "migrations", "apply", "DB", "--local"]);
console.log("• seeding the demo tenant and its keys…");
wrangler(["d1", "execute", "DB", "--local", "--command", devSeedSql()]);

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
} else console.log(`• demo tenant already has ${stats.received} events`);

// Local cron: wrangler dev does not fire schedules by itself, so tick it every minute.
const tick = () => fetch(`${BASE}/__scheduled?cron=*+*+*+*+*`).catch(() => {});
setInterval(tick, 60_000);
tick();

console.log(`
Edgewise is running on http://localhost:${PORT}

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

Ctrl-C stops it. Local data lives in .wrangler/state.
`);
