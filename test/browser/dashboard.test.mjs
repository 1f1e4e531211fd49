// The dashboard in real Chromium (Debian's package, driven by playwright-core) against the
// platform started the way `npm start` starts it (platform.mjs). Figures on screen are compared
// with POST /v1/query answers and with the seeded events themselves. Every screen is saved as a
// screenshot (desktop, 375 px, dark) in test/browser/artifacts/ and checked with axe-core. Reports,
// boards and share links (boards.mjs) are tested on the same platform, after these.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildDashboard } from "../../scripts/build-web.mjs";
import { boardTests, REFUSED } from "./boards.mjs";
import { opsTests } from "./ops.mjs";
import { peopleTests } from "./people.mjs";
import { capture as captureOn, inRange, signIn as signInOn } from "./helpers.mjs";
import { artifactsDir, DEV, launchChromium, query, startPlatform } from "./platform.mjs";

const log = (...a) => console.error("  ·", ...a);

let platform;
let browser;
let page;
let dir;
/** Console errors and uncaught exceptions, by the test that saw them. */
const consoleErrors = [];
let phase = "setup";
/** Tests in which the browser is expected to log failed requests (bad keys, a dropped socket, a refused share link). */
const EXPECTED_NOISE = new Set(["bad-key", "drop", REFUSED]);
const axeReport = [];

const url = (path) => `${platform.url}${path}`;
const search = () => new URL(page.url()).searchParams;
const ready = (sel = ".overview") => page.waitForSelector(`${sel}[data-state="ready"]`, { timeout: 30_000 });
const numberAt = async (locator) => Number(await page.locator(locator).first().getAttribute("data-value"));

const en = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

const signIn = (key) => signInOn(page, platform.url, key);
/** Screenshots of the current screen: desktop, 375 px wide and dark, each checked with axe-core. */
const capture = (name) => captureOn(page, dir, axeReport, name);

/** Records a page's console errors and uncaught exceptions under the current phase. */
function listen(p) {
	p.on("console", (m) => m.type() === "error" && consoleErrors.push({ phase, text: m.text() }));
	p.on("pageerror", (e) => consoleErrors.push({ phase, text: `uncaught: ${e.message}` }));
}

before(async () => {
	dir = artifactsDir();
	platform = await startPlatform({ log });
	browser = await launchChromium();
	page = browser.context.pages()[0] ?? (await browser.context.newPage());
	listen(page);
});

after(async () => {
	if (dir) writeFileSync(join(dir, "axe.json"), `${JSON.stringify(axeReport, null, 1)}\n`);
	await browser?.close();
	await platform?.server.cleanup();
});

/**
 * What the suites in other files (boards.mjs, ops.mjs, people.mjs) share with this one: the platform,
 * page and artifact folder through getters (they are set in before(), after the suites register), the
 * axe check and the console-noise phase; `more` adds what one suite needs besides.
 */
function suiteEnv(more = {}) {
	return Object.assign(
		{
			get platform() {
				return platform;
			},
			get page() {
				return page;
			},
			get dir() {
				return dir;
			},
			axeReport,
			setPhase: (p) => (phase = p),
		},
		more,
	);
}

describe("the dashboard in Chromium", { concurrency: 1 }, () => {
	it("signs in with the read key prefilled (locally), showing the workspace's name and time zone", async () => {
		phase = "sign-in";
		await page.goto(url("/"));
		const input = page.locator("input[name=key]");
		assert.equal(await input.inputValue(), DEV.readKey, "the dev read key is prefilled on localhost");
		await capture("sign-in");
		await page.click("button[type=submit]");
		await ready();
		assert.equal(await page.getByTestId("tenant-name").textContent(), "Demo workspace");
		assert.match(await page.locator(".who").textContent(), /Europe\/Paris/);
		assert.equal(await page.evaluate(() => localStorage.getItem("edgewise.key")), DEV.readKey);
		assert.ok(!page.url().includes(DEV.readKey), "the key is never in the URL");
	});

	it("a wrong, an ingest or a revoked key gets a clear message", async () => {
		phase = "bad-key";
		const message = async () => (await page.locator("#signin-error").textContent()).trim();
		await signIn("ew_read_doesnotexist");
		await page.waitForSelector("#signin-error");
		assert.match(await message(), /This key does not exist/);
		await capture("sign-in-error");
		await signIn(DEV.ingestKey);
		await page.waitForSelector("#signin-error");
		assert.match(await message(), /This is an ingest key: it can only send events/);
		const made = await (await platform.server.fetch("/v1/admin/tenants/demo/keys", { method: "POST", key: DEV.adminToken, json: { scope: "read", name: "to revoke" } })).json();
		await platform.server.fetch(`/v1/admin/tenants/demo/keys/${made.id}`, { method: "DELETE", key: DEV.adminToken });
		await signIn(made.key);
		await page.waitForSelector("#signin-error");
		assert.match(await message(), /This key has been revoked/);
		// The only console errors here are the browser's own notes about the refused requests.
		for (const e of consoleErrors.filter((x) => x.phase === "bad-key")) assert.match(e.text, /status of 40[13]/);
		await signIn(DEV.readKey);
		await ready();
	});

	it("the KPI cards show exactly what POST /v1/query answers, and what was seeded; in one API round trip", async () => {
		phase = "overview";
		// A returning visitor: the key is checked (GET /v1/tenant) beside the overview's one batch.
		const events = [];
		const api = (r) => (new URL(r.url()).pathname.startsWith("/v1/") ? `${r.method()} ${new URL(r.url()).pathname}` : null);
		const onRequest = (r) => api(r) && events.push(`sent ${api(r)}`);
		const onResponse = (r) => api(r.request()) && events.push(`answered ${api(r.request())}`);
		const kpis = { metrics: ["count", "uniques", "p95:response_time_ms"], date_range: "30d", compare: "previous_period" };
		// Asked before and after the page's load: the previous period is cut at the same hour as now, so
		// an hour boundary between the page's answer and the test's would move it. The page's answer is
		// one of the two (both are the same unless a boundary fell in between).
		const before = await query(platform.server, kpis);
		page.on("request", onRequest);
		page.on("response", onResponse);
		await page.goto(url("/"));
		await ready();
		page.off("request", onRequest);
		page.off("response", onResponse);
		assert.deepEqual(events.filter((e) => e.startsWith("sent")).sort(), ["sent GET /v1/tenant", "sent POST /v1/query/batch"]);
		assert.ok(events.indexOf("sent POST /v1/query/batch") < events.indexOf("answered GET /v1/tenant"), `the batch does not wait for the key check: ${events.join(", ")}`);

		const after = await query(platform.server, kpis);
		const shown = Number(await page.locator('[data-metric="count"] .change').getAttribute("data-change"));
		const answer = [before, after].find((a) => a.results[0].comparison.change_pct[0] === shown) ?? after;
		const [count, uniques, p95] = answer.results[0].metrics;
		assert.equal(await numberAt('[data-metric="count"] .kpi-value'), count);
		assert.equal(await numberAt('[data-metric="uniques"] .kpi-value'), uniques);
		assert.equal(await numberAt('[data-metric="p95:response_time_ms"] .kpi-value'), p95);
		assert.equal((await page.locator('[data-metric="count"] .kpi-value').textContent()).trim(), en.format(count));
		const pct = answer.results[0].comparison.change_pct[0];
		assert.equal(Number(await page.locator('[data-metric="count"] .change').getAttribute("data-change")), pct);
		// Counts from rollups are exact: the same as counting the seeded events in the range.
		assert.equal(count, inRange(platform.seeded, answer.meta.date_range).length);
		assert.ok(count > 5000, `the last 30 days hold ${count} seeded events`);
	});

	it("changing the date range and clicking a breakdown row change the chart and the URL", async () => {
		phase = "overview";
		await page.goto(url("/"));
		await ready();
		const tableRows = () => page.locator(".overview figure details tbody tr").count();
		assert.equal(await tableRows(), 30);
		await page.getByLabel("Date range").first().selectOption("7d");
		await page.waitForURL(/range=7d/);
		await ready();
		assert.equal(search().get("range"), "7d");
		assert.equal(await tableRows(), 7, "the chart (and its table) shows 7 days");
		const week = await query(platform.server, { metrics: ["count"], date_range: "7d" });
		assert.equal(await numberAt('[data-metric="count"] .kpi-value'), week.results[0].metrics[0]);

		await page.locator('section[data-dim="country"] button.row-filter', { hasText: "(US)" }).click();
		await page.waitForURL(/f=is:country:US/);
		await ready();
		assert.deepEqual(search().getAll("f"), ["is:country:US"]);
		assert.equal((await page.locator(".chip span").first().textContent()).trim(), "Country is US");
		const us = await query(platform.server, { metrics: ["count"], date_range: "7d", granularity: "day", filters: [["is", "country", "US"]] });
		const usTotal = us.results.reduce((a, r) => a + r.metrics[0], 0);
		assert.equal(await numberAt('[data-metric="count"] .kpi-value'), usTotal);
		const shown = await page.locator(".overview figure details tbody tr td:nth-child(2)").allTextContents();
		assert.deepEqual(
			shown.map((t) => Number(t.replace(/,/g, ""))),
			us.results.map((r) => r.metrics[0]),
			"the chart's table holds the filtered daily counts",
		);
		// The chart's metric switcher is in the URL too.
		await page.locator('[data-metric="uniques"]').click();
		await page.waitForURL(/metric=uniques/);
		await ready();
		assert.equal(await page.locator('[data-metric="uniques"]').getAttribute("aria-pressed"), "true");
	});

	it("reload restores the view from the URL", async () => {
		phase = "overview";
		const before = page.url();
		const value = await numberAt('[data-metric="count"] .kpi-value');
		await page.reload();
		await ready();
		assert.equal(page.url(), before);
		assert.equal(await page.getByLabel("Date range").first().inputValue(), "7d");
		assert.equal((await page.locator(".chip span").first().textContent()).trim(), "Country is US");
		assert.equal(await page.locator('[data-metric="uniques"]').getAttribute("aria-pressed"), "true");
		assert.equal(await numberAt('[data-metric="count"] .kpi-value'), value);
		// Removing the chip brings the unfiltered view back.
		await page.getByRole("button", { name: "Remove filter: Country is US" }).click();
		await page.waitForURL((u) => !u.searchParams.has("f"));
		await ready();
	});

	it("is usable from the keyboard: Tab reaches a breakdown row, Enter filters by it", async () => {
		phase = "overview";
		await page.goto(url("/?range=30d"));
		await ready();
		let reached = null;
		// Each breakdown row has two stops: its value (filter) and its users count (the people behind it).
		for (let i = 0; i < 100 && !reached; i++) {
			await page.keyboard.press("Tab");
			reached = await page.evaluate(() => (document.activeElement?.matches("section[data-dim='device'] button.row-filter") ? document.activeElement.textContent : null));
		}
		assert.ok(reached, "Tab reached the devices breakdown");
		await page.keyboard.press("Enter");
		await page.waitForURL(new RegExp(`f=is:device:${reached}`));
		await ready();
	});

	it("explore: builds a query, draws it, shows its JSON, curl and meta", async () => {
		phase = "explore";
		await page.goto(url("/explore?range=90d&m=count&g=none&chart=table&f=is:event:conversation_started"));
		await ready("[data-state]");
		await page.getByLabel("Dimension", { exact: true }).first().fill("prop:channel");
		await page.getByRole("button", { name: "Add dimension" }).click();
		await page.waitForURL(/d=prop:channel/);
		await page.waitForSelector("[data-testid=explore-result] [data-testid=answer-table] tbody tr");
		await ready("[data-state]");
		const rows = await page.locator("[data-testid=explore-result] [data-testid=answer-table] tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
		const started = platform.seeded.filter((e) => e.event === "conversation_started");
		const expected = Object.entries(Object.groupBy(started, (e) => e.properties.channel)).map(([c, es]) => [c, es.length]);
		assert.deepEqual(
			rows.map(([c, n]) => [c, Number(n.replace(/,/g, ""))]).sort(),
			expected.sort(),
		);
		const json = JSON.parse(await page.locator(".copy-block pre").first().textContent());
		assert.deepEqual(json, { metrics: ["count"], date_range: "90d", dimensions: ["prop:channel"], filters: [["is", "event", "conversation_started"]] });
		assert.match(await page.locator(".copy-block pre").nth(1).textContent(), /^curl -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/query/);
		assert.equal(await page.locator("[data-testid=explore-meta] [data-plan]").getAttribute("data-plan"), "rollup");
	});

	it("every screen: desktop, 375 px and dark screenshots, no serious axe-core violations", async () => {
		phase = "screens";
		for (const [name, path, sel] of [
			["overview", "/", ".overview"],
			["overview-filtered", "/?range=7d&f=is:prop:channel:chat&metric=p95:response_time_ms", ".overview"],
			["explore", "/explore?m=count,uniques&d=country&g=day&range=30d", "[data-state]"],
			["settings-read-key", "/settings", "[data-testid=needs-admin]"],
			["live", "/live", "[data-status=open]"],
		]) {
			await page.goto(url(path));
			if (sel.includes("data-status") || sel.includes("testid")) await page.waitForSelector(sel);
			else await ready(sel);
			if (name === "live") await page.waitForSelector("[data-testid=live-feed]");
			await capture(name);
		}
	});

	it("settings: an admin key creates a key (shown once) and revokes one", async () => {
		phase = "settings";
		const admin = await (await platform.server.fetch("/v1/admin/tenants/demo/keys", { method: "POST", key: DEV.adminToken, json: { scope: "admin", name: "browser admin" } })).json();
		await signIn(admin.key);
		await ready();
		await page.goto(url("/settings"));
		await ready("[data-state]");
		await capture("settings");
		await page.getByLabel("Scope").selectOption("read");
		await page.getByLabel("Name", { exact: true }).last().fill("wall screen");
		await page.getByRole("button", { name: "Create key" }).click();
		const box = page.getByTestId("new-key");
		await box.waitFor();
		const key = (await box.locator("code").textContent()).trim();
		assert.match(key, /^ew_read_[a-z0-9]{32}$/);
		const who = await platform.server.fetch("/v1/tenant", { key });
		assert.equal(who.status, 200, "the new key works");
		await capture("settings-new-key");

		const row = page.locator("[data-testid=keys] tbody tr", { hasText: "wall screen" });
		await row.getByRole("button", { name: /Revoke key/ }).click();
		await row.getByRole("button", { name: "Yes, revoke" }).click();
		await row.locator(".pill.revoked").waitFor();
		const refused = await platform.server.fetch("/v1/tenant", { key });
		assert.equal(refused.status, 401);
		assert.equal((await refused.json()).error.message, "This API key has been revoked.");
		await signIn(DEV.readKey);
		await ready();
	});

	it("an empty tenant gets an empty state that says what to do, with this host in the command", async () => {
		phase = "empty";
		const admin = (path, json) => platform.server.fetch(path, { method: "POST", key: DEV.adminToken, json }).then((r) => r.json());
		await admin("/v1/admin/tenants", { id: "empty", name: "Empty workspace", timezone: "America/New_York" });
		const read = await admin("/v1/admin/tenants/empty/keys", { scope: "read" });
		await signIn(read.key);
		await ready();
		assert.equal(await page.getByTestId("tenant-name").textContent(), "Empty workspace");
		assert.equal(await numberAt('[data-metric="count"] .kpi-value'), 0);
		const empty = page.locator(".state", { hasText: "No events in the last 30 days" });
		await empty.waitFor();
		assert.match(await empty.locator("pre").textContent(), new RegExp(`^curl -X POST ${platform.url.replace(/[.]/g, "\\.")}/v1/events`));
		assert.equal(await page.locator('[data-metric]').count(), 2, "no headline metric without rolled-up metrics");
		await capture("overview-empty");
		await signIn(DEV.readKey);
		await ready();
	});

	it("built for another API origin and served from elsewhere (as on Pages), it works through CORS", async () => {
		phase = "pages";
		const out = mkdtempSync(join(tmpdir(), "edgewise-pages-"));
		buildDashboard({ apiOrigin: platform.url, outDir: out });
		// A static server on another origin, with the single-page fallback Pages applies.
		const site = createServer((req, res) => {
			const path = new URL(req.url, "http://x").pathname;
			const file = join(out, path);
			const found = path !== "/" && existsSync(file) && statSync(file).isFile();
			res.writeHead(200, { "content-type": found ? (path.endsWith(".js") ? "text/javascript" : path.endsWith(".css") ? "text/css" : "application/octet-stream") : "text/html" });
			res.end(readFileSync(found ? file : join(out, "index.html")));
		});
		await new Promise((r) => site.listen(0, "127.0.0.1", r));
		const origin = `http://localhost:${site.address().port}`;
		const other = await browser.context.newPage();
		other.on("console", (m) => m.type() === "error" && consoleErrors.push({ phase, text: m.text() }));
		try {
			await other.goto(`${origin}/explore?range=7d&g=none&chart=table`);
			assert.equal(await other.locator("input[name=key]").inputValue(), "", "no dev key in a build made without one");
			await other.fill("input[name=key]", DEV.readKey);
			await other.click("button[type=submit]");
			await other.waitForSelector('.explore[data-state="ready"] [data-testid=answer-table]');
			assert.equal(new URL(other.url()).origin, origin);
			assert.equal(await other.getByTestId("tenant-name").textContent(), "Demo workspace");
		} finally {
			await other.close();
			site.close();
			rmSync(out, { recursive: true, force: true });
		}
	});

	it("an event sent over the API shows in the live panel within 2 s", async () => {
		phase = "live";
		await page.goto(url("/live"));
		await page.waitForSelector("[data-status=open]");
		await page.waitForSelector("[data-testid=live-feed]");
		const name = `browser_probe_${Date.now().toString(36)}`;
		const t0 = Date.now();
		const res = await platform.server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { event: name, user_id: "probe" } });
		assert.equal(res.status, 200);
		await page.locator("[data-testid=live-feed] .ev", { hasText: name }).first().waitFor({ timeout: 2000 });
		const ms = Date.now() - t0;
		log(`event on screen ${ms} ms after it was sent`);
		assert.ok(ms <= 2000);
		assert.equal(await page.locator(`[data-testid=live-by-event] tr[data-event="${name}"] td`).textContent(), "1");
	});

	it("a dropped socket reconnects by itself and resumes from a fresh snapshot", async () => {
		phase = "drop";
		await page.waitForSelector("[data-status=open]");
		const before = await numberAt('[data-live="last-60m"] .kpi-value');
		// The whole local platform goes down (every process SIGKILLed: the browser's TCP connection
		// is reset) and comes back on the same port and state.
		const port = platform.server.port;
		const killed = await platform.server.crash();
		log(`killed ${killed.length} workerd processes`);
		await page.waitForSelector("[data-status=retrying], [data-status=connecting]", { timeout: 15_000 });
		await platform.server.start();
		assert.equal(platform.server.port, port, "restarted on the same port");
		await page.waitForSelector("[data-status=open]", { timeout: 45_000 });
		const name = `after_drop_${Date.now().toString(36)}`;
		await platform.server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { event: name, user_id: "probe" } });
		await page.locator("[data-testid=live-feed] .ev", { hasText: name }).first().waitFor({ timeout: 5000 });
		assert.equal(await numberAt('[data-live="last-60m"] .kpi-value'), before + 1, "the counters came back whole, plus the new event");
		for (const e of consoleErrors.filter((x) => x.phase === "drop")) assert.match(e.text, /WebSocket/);
	});

	boardTests(suiteEnv({ consoleErrors, listen }));

	// Exports, schedules, alerts and webhook secrets (ops.mjs), on the same platform.
	opsTests(suiteEnv());

	// Funnels, retention, people, insights and experiments (people.mjs), on the same platform.
	peopleTests(suiteEnv());

	it("logged no console errors", () => {
		const unexpected = consoleErrors.filter((e) => !EXPECTED_NOISE.has(e.phase));
		assert.deepEqual(unexpected, []);
	});
});
