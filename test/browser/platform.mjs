// The platform for the browser tests, started the way `npm start` starts it: the dashboard built
// with the dev read key, `wrangler dev` serving the API and web/dist (real workerd, local D1,
// Durable Objects, the static-assets layer), the demo tenant and its keys seeded, the demo events
// sent through the ingest API, and the cron's rollup pass run until it has caught up.
// Differences from `npm start`: a fresh state directory and a port from the tests' range, so a
// developer's own `npm start` is left alone.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { buildDashboard } from "../../scripts/build-web.mjs";
import { demoEvents } from "../../scripts/demo-data.mjs";
import { ROOT } from "../../scripts/lib.mjs";
import { DEV, startServer } from "../e2e/server.mjs";

export { launchChromium } from "../../scripts/chromium.mjs";
export { DEV };
export const ARTIFACTS = join(ROOT, "test", "browser", "artifacts");

/** Starts the platform with `events` demo events ending `now`; returns the server and what was sent. */
export async function startPlatform({ events = 20_000, now = Date.now(), log = () => {} } = {}) {
	const t0 = Date.now();
	buildDashboard({ devReadKey: DEV.readKey });
	log(`dashboard built in ${Date.now() - t0} ms`);
	// Alerts' test notifications go to a receiver on this machine (ops.mjs): allowed only by
	// ALLOW_PRIVATE_DESTINATIONS; WEBHOOK_KEY seals the tenant's webhook signing secret.
	const server = await startServer({ name: "edgewise-browser", log, vars: { ALLOW_PRIVATE_DESTINATIONS: "true", WEBHOOK_KEY: "browser-tests-only-webhook-key" } });
	try {
		const seeded = [...demoEvents(events, { now })];
		for (let i = 0; i < seeded.length; i += 500) {
			// Retried as a client would: message_id makes a repeated batch count as duplicates.
			const body = await retried(server, "/v1/events", { method: "POST", key: DEV.ingestKey, json: { events: seeded.slice(i, i + 500) } });
			if (body.accepted + body.duplicates !== Math.min(500, seeded.length - i)) throw new Error(`seeding: ${JSON.stringify(body).slice(0, 300)}`);
		}
		await server.waitFlushed({ timeoutMs: 60_000 });
		await rollUp(server);
		log(`platform ready on ${server.url} with ${seeded.length} demo events in ${Date.now() - t0} ms`);
		return { server, seeded, url: server.url };
	} catch (err) {
		await server.cleanup({ keepOnFailure: true, failed: true });
		throw err;
	}
}

/**
 * A request that is retried while wrangler dev reloads the worker: it watches the source tree, and
 * an edit there restarts the worker under in-flight requests ("Your worker restarted mid-request").
 */
async function retried(server, path, init, attempts = 5) {
	for (let i = 1; ; i++) {
		const res = await server.fetch(path, { timeoutMs: 60_000, ...init });
		const text = await res.text();
		if (res.ok) return JSON.parse(text);
		if (i >= attempts || !/restarted mid-request|Network connection lost/i.test(text)) throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${res.status} ${text.slice(0, 500)}`);
		await new Promise((r) => setTimeout(r, 500 * i));
	}
}

/**
 * The cron's rollup pass (POST /v1/admin/rollups/run) until everything is rolled up. A pass that
 * answers `busy` found another one holding the lease (on a loaded machine, a pass whose request
 * timed out goes on running): wait for it, rather than spend the attempts at once.
 */
export async function rollUp(server, { timeoutMs = 300_000 } = {}) {
	const until = Date.now() + timeoutMs;
	for (let i = 1; Date.now() < until; i++) {
		const rep = await retried(server, "/v1/admin/rollups/run", { method: "POST", key: DEV.adminToken });
		if (rep.errors?.length) throw new Error(`rollups/run: ${JSON.stringify(rep).slice(0, 500)}`);
		if (rep.caught_up) return rep;
		if (rep.busy) await new Promise((r) => setTimeout(r, 1000));
	}
	throw new Error(`rollups did not catch up in ${timeoutMs / 1000} s`);
}

/** POST /v1/query with a key, as any API client would send it: the independent answer the tests compare with. */
export async function query(server, body, key = DEV.readKey) {
	const res = await server.fetch("/v1/query", { method: "POST", key, json: body });
	const answer = await res.json();
	if (!res.ok) throw new Error(`POST /v1/query: HTTP ${res.status} ${JSON.stringify(answer)}`);
	return answer;
}

export function artifactsDir() {
	mkdirSync(ARTIFACTS, { recursive: true });
	return ARTIFACTS;
}
