// Alerts and scheduled reports on a real `wrangler dev`, delivering to a real local HTTP receiver
// (ALLOW_PRIVATE_DESTINATIONS lets them reach 127.0.0.1; nothing else does): an alert fired by the
// cron from freshly ingested events, its webhook retried until the receiver accepts it, every
// signature checked with node:crypto (not the worker's code), the email wrangler dev would have sent,
// and a scheduled report whose PDF the webhook links to.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { DatabaseSync } from "node:sqlite";
import { after, before, test } from "node:test";
import { DEV, freePort, startServer } from "./server.mjs";
import { verifyWebhook } from "./webhooks.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[notify +${Math.round(performance.now())}ms]`, ...a);

let server;
let receiver;
let base;
/** What the receiver got, in order: { path, headers, body }. */
const got = [];
/** Statuses the receiver answers per path, in order (the last repeats). */
const answers = new Map();

before(async () => {
	const port = await freePort();
	receiver = createServer((req, res) => {
		let body = "";
		req.on("data", (d) => (body += d));
		req.on("end", () => {
			got.push({ path: req.url, headers: req.headers, body });
			const queue = answers.get(req.url) ?? [404];
			const status = queue.length > 1 ? queue.shift() : queue[0];
			res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "try again");
		});
	});
	await new Promise((r) => receiver.listen(port, "127.0.0.1", r));
	base = `http://127.0.0.1:${port}`;
	server = await startServer({
		name: "edgewise-e2e-notify",
		log,
		vars: { ALLOW_PRIVATE_DESTINATIONS: "true", WEBHOOK_KEY: "e2e-only-webhook-key", EMAIL_FROM: "Edgewise <reports@edgewise.test>" },
	});
}, { timeout: 240_000 });
after(async () => {
	await server?.cleanup();
	receiver?.close();
});

async function api(method, path, key, json) {
	const res = await server.fetch(path, { method, key, json });
	const body = await res.json();
	return { status: res.status, body };
}
async function until(what, check, timeoutMs = 30_000) {
	const t0 = Date.now();
	for (;;) {
		const v = await check();
		if (v) return v;
		if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
		await sleep(250);
	}
}
/** Makes every pending delivery due now (instead of waiting out its backoff), then fires the cron. */
async function retryNow() {
	const db = new DatabaseSync(server.d1File());
	try {
		db.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE status = 'pending'").run();
	} finally {
		db.close();
	}
	await server.scheduled();
}

let adminKey;
let secret;

test("an alert fired by the cron reaches a real receiver, signed; a refused webhook is retried until accepted; the email is what wrangler dev logs", async () => {
	adminKey = (await api("POST", `/v1/admin/tenants/${DEV.tenant}/keys`, DEV.adminToken, { scope: "admin", name: "e2e" })).body.key;
	const made = await api("POST", "/v1/webhook-secrets", adminKey, {});
	assert.equal(made.status, 201);
	secret = made.body.secret;
	answers.set("/hook", [503, 503, 200]);
	answers.set("/slack", [200]);
	const alert = await api("POST", "/v1/alerts", DEV.readKey, {
		name: "E2E escalations",
		query: { metrics: ["count"], filters: [["is", "event", "e2e_escalated"]] },
		window_minutes: 5,
		condition: { type: "threshold", op: "above", value: 2 },
		destinations: [
			{ type: "webhook", url: `${base}/hook` },
			{ type: "slack", url: `${base}/slack` },
			{ type: "email", to: ["ops@example.com"] },
		],
	});
	assert.equal(alert.status, 201, JSON.stringify(alert.body));
	const id = alert.body.id;

	// Five escalations 90 s ago: in the window of the next evaluation, flushed but not rolled up.
	const at = new Date(Date.now() - 90_000).toISOString();
	const sent = await api("POST", "/v1/events", DEV.ingestKey, { events: Array.from({ length: 5 }, (_, i) => ({ event: "e2e_escalated", user_id: `c${i}`, timestamp: at })) });
	assert.equal(sent.body.accepted, 5);
	await server.waitFlushed();
	await server.scheduled();

	await until("the first webhook attempt and the Slack message", () => got.some((g) => g.path === "/hook") && got.some((g) => g.path === "/slack"));
	const state = (await api("GET", `/v1/alerts/${id}`, DEV.readKey)).body;
	assert.equal(state.state, "firing");
	assert.equal(state.last_value, 5);
	const slack = JSON.parse(got.find((g) => g.path === "/slack").body);
	assert.match(slack.text, /^\*FIRING: E2E escalations\*\ncount over the last 5 minutes is 5 \(fires above 2\)\./);

	const deliveries = async () => (await api("GET", `/v1/alerts/${id}/deliveries?channel=webhook`, DEV.readKey)).body.deliveries[0];
	let d = await until("the first attempt logged", async () => ((await deliveries())?.attempts === 1 ? deliveries() : null));
	assert.equal(d.status, "pending");
	assert.equal(d.response_status, 503);
	assert.ok(Date.parse(d.next_attempt_at) - Date.parse(d.updated_at) >= 59_000, "the next attempt is a minute later");
	await retryNow();
	d = await until("the second attempt", async () => ((await deliveries())?.attempts === 2 ? deliveries() : null));
	assert.equal(d.status, "pending");
	await retryNow();
	d = await until("the third attempt", async () => ((await deliveries())?.attempts === 3 ? deliveries() : null));
	assert.equal(d.status, "sent");
	assert.equal(d.response_status, 200);

	const hooks = got.filter((g) => g.path === "/hook");
	assert.equal(hooks.length, 3);
	for (const h of hooks) {
		assert.ok(verifyWebhook(secret, h.headers, h.body), "signature verifies");
		assert.equal(h.headers["webhook-id"], d.id);
		assert.ok(Math.abs(Number(h.headers["webhook-timestamp"]) - Date.now() / 1000) < 120);
	}
	assert.ok(!verifyWebhook(`whsec_${Buffer.from("wrong key").toString("base64")}`, hooks[0].headers, hooks[0].body));
	assert.equal(new Set(hooks.map((h) => h.body)).size, 1, "every retry sends the same body");
	const body = JSON.parse(hooks[0].body);
	assert.equal(body.type, "alert.fired");
	assert.equal(body.data.value, 5);
	assert.equal(body.data.alert.id, id);

	// wrangler dev does not send email: it logs what the send_email binding was given.
	const mail = await until("the email in wrangler's log", () => {
		const lines = server.logLines(/Subject: \[Edgewise\] FIRING: E2E escalations|send_email binding called/);
		return lines.length >= 2 ? lines : null;
	});
	assert.ok(mail.some((l) => l.includes("Subject: [Edgewise] FIRING: E2E escalations")));
	assert.equal((await api("GET", `/v1/alerts/${id}/deliveries?channel=email`, DEV.readKey)).body.deliveries[0].status, "sent");
	await api("PATCH", `/v1/alerts/${id}`, DEV.readKey, { enabled: false });
});

test("a scheduled report run now: the real PDF export, then a signed webhook whose link downloads it", async () => {
	answers.set("/report", [200]);
	const report = await api("POST", "/v1/reports", DEV.readKey, { name: "E2E weekly", chart: "number", query: { metrics: ["count", "uniques"], date_range: "7d" } });
	assert.equal(report.status, 201);
	const s = await api("POST", "/v1/schedules", DEV.readKey, { report_id: report.body.id, frequency: "daily", hour: 7, format: "pdf", destinations: [{ type: "webhook", url: `${base}/report` }] });
	assert.equal(s.status, 201, JSON.stringify(s.body));
	const run = await api("POST", `/v1/schedules/${s.body.id}/run`, DEV.readKey);
	assert.equal(run.status, 202, JSON.stringify(run.body));
	await until("the export", async () => (await api("GET", `/v1/exports/${run.body.export_id}`, DEV.readKey)).body.state === "done", 60_000);
	await server.scheduled();
	const hook = await until("the report webhook", () => got.find((g) => g.path === "/report"));
	assert.ok(verifyWebhook(secret, hook.headers, hook.body));
	const body = JSON.parse(hook.body);
	assert.equal(body.type, "report.ready");
	assert.deepEqual(body.data.kpis.map((k) => k.metric), ["count", "uniques"]);
	assert.equal(body.data.export.id, run.body.export_id);
	const file = await fetch(body.data.export.url);
	assert.equal(file.status, 200);
	const bytes = Buffer.from(await file.arrayBuffer());
	assert.equal(bytes.subarray(0, 5).toString(), "%PDF-");
	assert.equal(bytes.length, body.data.export.bytes);
});
