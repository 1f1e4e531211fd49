// Exports, schedules, alerts and webhook signing secrets in real Chromium: tests registered by
// dashboard.test.mjs on its platform. What the UI does is checked through the API (an export's file
// against POST /v1/query's answer, a schedule's and an alert's fields as GET returns them) and at a
// webhook receiver on this machine (the platform allows private destinations). Every new screen is
// saved as a screenshot (desktop, 375 px, dark) in test/browser/artifacts/ and checked with axe-core.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { DatabaseSync } from "node:sqlite";
import { after, it } from "node:test";
import { capture as captureOn, signIn as signInOn } from "./helpers.mjs";
import { verifyWebhook } from "../e2e/webhooks.mjs";
import { DEV, query } from "./platform.mjs";

/** RFC 4180 CSV (quotes, doubled quotes, CRLF) into rows of strings. */
export function parseCsv(text) {
	const rows = [];
	let row = [];
	let cell = "";
	let quoted = false;
	for (let i = 0; i < text.length; i++) {
		const ch = text[i];
		if (quoted) {
			if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
			else if (ch === '"') quoted = false;
			else cell += ch;
		} else if (ch === '"') quoted = true;
		else if (ch === ",") row.push(cell), (cell = "");
		else if (ch === "\n" || ch === "\r") {
			if (ch === "\r" && text[i + 1] === "\n") i++;
			row.push(cell), rows.push(row), (row = []), (cell = "");
		} else cell += ch;
	}
	if (cell || row.length) row.push(cell), rows.push(row);
	return rows;
}

/** Registers the tests in the caller's suite; `env` as boards.mjs takes it. */
export function opsTests(env) {
	let page;
	let platform;
	let adminKey;
	let receiver;
	let hookUrl;
	/** What the webhook receiver got: { path, headers, body }. */
	const got = [];
	const made = {};
	const setPhase = (p) => env.setPhase(p);
	const url = (path) => `${platform.url}${path}`;
	const signIn = (key) => signInOn(page, platform.url, key);
	const capture = (name) => captureOn(page, env.dir, env.axeReport, name);
	const ready = (sel) => page.waitForSelector(`${sel}[data-state="ready"]`, { timeout: 30_000 });
	const api = async (path, { key = DEV.readKey, ...init } = {}) => {
		const res = await platform.server.fetch(path, { key, ...init });
		const body = await res.json();
		assert.ok(res.ok, `${init.method ?? "GET"} ${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
		return body;
	};
	/** Starts the export of the panel `root` in `format`; returns its id once the UI says it is done. */
	const exportFrom = async (root, format, { gzip = false } = {}) => {
		await root.getByRole("button", { name: /^Export/ }).first().click();
		await root.locator("select[name=format]").selectOption(format);
		if (gzip) await root.locator("input[name=gzip]").check();
		await root.getByRole("button", { name: "Start export" }).click();
		const status = root.locator('[data-testid=export-status][data-state="done"]');
		await status.waitFor({ timeout: 120_000 });
		return status.getAttribute("data-export");
	};

	after(() => receiver?.close());

	it("ops: a read key sees the webhook signing secrets and is told an admin makes them; an admin creates one", async () => {
		({ page, platform } = env);
		setPhase("ops");
		receiver = createServer((req, res) => {
			let body = "";
			req.on("data", (d) => (body += d));
			req.on("end", () => {
				got.push({ path: req.url, headers: req.headers, body });
				res.writeHead(200, { "content-type": "text/plain" }).end("ok");
			});
		});
		await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
		hookUrl = `http://127.0.0.1:${receiver.address().port}/edgewise-hook`;
		adminKey = (await api("/v1/admin/tenants/demo/keys", { method: "POST", key: DEV.adminToken, json: { scope: "admin", name: "ops admin" } })).key;

		await signIn(DEV.readKey);
		await page.waitForSelector(".overview");
		await page.goto(url("/settings"));
		await ready("[data-testid=webhook-secrets]");
		assert.match(await page.getByTestId("whsec-needs-admin").textContent(), /needs a workspace admin key/);
		assert.equal(await page.getByRole("button", { name: /signing secret|Rotate/ }).count(), 0, "a read key gets no create button");
		await capture("settings-webhook-secret-read-key");

		await signIn(adminKey);
		await page.waitForSelector(".overview");
		await page.goto(url("/settings"));
		await ready("[data-testid=webhook-secrets]");
		await page.getByRole("button", { name: /Create a signing secret|Rotate the secret/ }).click();
		const secret = await page.getByTestId("new-secret").locator("input").inputValue();
		assert.match(secret, /^whsec_[A-Za-z0-9+/=]{20,}$/);
		const { secrets } = await api("/v1/webhook-secrets");
		assert.equal(secrets.filter((s) => s.status === "current").length, 1);
		await page.locator(`[data-testid=secrets] tr[data-secret="${secrets.find((s) => s.status === "current").id}"][data-status="current"]`).waitFor();
		await capture("settings-webhook-secret");
		made.secret = secret;
	});

	it("exports: a saved report exported as CSV from Explore reaches done; the file's rows are the report's answer", async () => {
		setPhase("ops");
		await signIn(DEV.readKey);
		await page.waitForSelector(".overview");
		const report = await api("/v1/reports", { method: "POST", json: { name: "Events by name", query: { metrics: ["count", "uniques"], dimensions: ["event"], date_range: "30d" }, chart: "table" } });
		made.report = report;
		await page.goto(url(`/explore?report=${report.id}`));
		await ready(".explore");
		const panel = page.locator("section[aria-labelledby=result-title]");
		const id = await exportFrom(panel, "csv");
		const link = await panel.getByTestId("export-download").getAttribute("href");
		assert.ok(link.includes(`/v1/exports/${id}/download?`), link);
		assert.ok(!link.includes(DEV.readKey) && !page.url().includes(DEV.readKey), "the key is never in a URL");
		await capture("explore-export-done");

		// The signed link works without a key; its rows are POST /v1/query's answer to the report's query.
		const res = await fetch(link);
		assert.equal(res.status, 200);
		const [head, ...rows] = parseCsv(await res.text());
		assert.deepEqual(head, ["event", "count", "uniques"]);
		const answer = await query(platform.server, report.query);
		const want = answer.results.map((r) => [String(r.dimensions[0]), String(r.metrics[0]), String(r.metrics[1])]);
		assert.ok(want.length >= 5, `the demo data has several events (${want.length})`);
		assert.deepEqual(rows.sort(), want.sort());
		const job = await api(`/v1/exports/${id}`);
		assert.equal(job.state, "done");
		assert.equal(job.kind, "report");
		assert.equal(job.rows, want.length);
		made.csv = job;
		made.csvRows = want.sort();
	});

	it("exports: the export in progress is in the URL (export=<id>); a reload shows the same export, done, with its link", async () => {
		setPhase("ops");
		const id = made.csv.id;
		const at = new URL(page.url());
		assert.equal(at.searchParams.get("export"), id, "starting the export put it in the URL");
		assert.equal(at.searchParams.get("report"), made.report.id, "the screen's own parameters stay");
		await page.reload();
		await ready(".explore");
		const panel = page.locator("section[aria-labelledby=result-title]");
		const status = panel.locator(`[data-testid=export-status][data-export="${id}"][data-state="done"]`);
		await status.waitFor({ timeout: 30_000 });
		assert.equal(await panel.locator("select[name=format]").inputValue(), "csv", "the export's format is chosen again");
		const link = await status.getByTestId("export-download").getAttribute("href");
		assert.ok(link.includes(`/v1/exports/${id}/download?`) && link.includes("signature="), link);
		assert.match(await status.textContent(), new RegExp(`${made.csv.rows} rows`));
		await capture("explore-export-reloaded");
		// Closing the panel takes the export out of the URL.
		await panel.getByRole("button", { name: /^Export/ }).first().click();
		await page.waitForFunction(() => !new URL(location.href).searchParams.has("export"));
		assert.equal(new URL(page.url()).searchParams.get("report"), made.report.id);
	});

	it("exports: an ad-hoc query in Explore exports what is shown (NDJSON, gzip)", async () => {
		setPhase("ops");
		await page.goto(url("/explore"));
		await ready(".explore");
		const panel = page.locator("section[aria-labelledby=result-title]");
		const id = await exportFrom(panel, "ndjson", { gzip: true });
		const job = await api(`/v1/exports/${id}`);
		assert.equal(job.kind, "query");
		assert.equal(job.gzip, true);
		assert.equal(job.format, "ndjson");
		const answer = await query(platform.server, job.request.query);
		assert.equal(job.rows, answer.results.length);
	});

	it("exports: a board (as Excel) and one of its tiles export from the board's page", async () => {
		setPhase("ops");
		const board = await api("/v1/boards", { method: "POST", json: { name: "Ops board", layout: [{ report_id: made.report.id, width: 12 }] } });
		made.board = board;
		await page.goto(url(`/boards/${board.id}`));
		await ready(".board-page");
		const head = page.locator(".board-page .page-head");
		const boardExport = await exportFrom(head, "xlsx");
		const job = await api(`/v1/exports/${boardExport}`);
		assert.equal(job.kind, "board");
		assert.equal(job.format, "xlsx");
		assert.equal(job.request.board_id, board.id);
		const tile = page.locator(`.tile[data-report="${made.report.id}"]`);
		const tileExport = await exportFrom(tile, "csv");
		const tileJob = await api(`/v1/exports/${tileExport}`);
		assert.equal(tileJob.request.report_id, made.report.id);
		assert.equal(tileJob.rows, made.csv.rows);
		await capture("board-export");
	});

	it("exports: the Exports page lists them with state, format, rows and size", async () => {
		setPhase("ops");
		await page.goto(url("/exports"));
		await ready(".exports-page");
		const row = page.locator(`[data-testid=exports] tr[data-export="${made.csv.id}"]`);
		assert.equal(await row.getAttribute("data-state"), "done");
		assert.equal(Number(await row.getAttribute("data-rows")), made.csv.rows);
		assert.match(await row.textContent(), /CSV/);
		const { exports } = await api("/v1/exports?limit=100");
		assert.equal(await page.locator("[data-testid=exports] tbody tr").count(), exports.length);
		assert.ok(!("download_url" in exports.find((e) => e.id === made.csv.id)), "the list comes without signed links");

		// Download makes a signed link (POST /v1/exports/{id}/link) and leaves it as a plain link: it
		// works without a key, and the file's rows are the report's answer.
		const [download] = await Promise.all([page.waitForEvent("download"), row.getByTestId("export-download").click()]);
		const link = await row.locator("a[data-testid=export-download]").getAttribute("href");
		assert.ok(link.startsWith(url(`/v1/exports/${made.csv.id}/download?`)) && link.includes("signature="), link);
		assert.ok(!link.includes(DEV.readKey), "the key is never in a URL");
		assert.equal(download.url(), link, "the click downloaded through the signed link");
		assert.equal(download.suggestedFilename(), made.csv.file_name);
		const res = await fetch(link);
		assert.equal(res.status, 200);
		const [head, ...rows] = parseCsv(await res.text());
		assert.deepEqual(head, ["event", "count", "uniques"]);
		assert.deepEqual(rows.sort(), made.csvRows);
		await capture("exports");
		await page.goto(url("/exports?state=failed"));
		await ready(".exports-page");
		await page.getByText("No failed exports").waitFor();
	});

	it("schedules: one created on the report in the UI is what the API returns; edited; deleted", async () => {
		setPhase("ops");
		await page.goto(url(`/explore?report=${made.report.id}`));
		await ready(".explore");
		const panel = page.getByTestId("schedules");
		await panel.getByText("No schedules yet").waitFor();
		await panel.getByRole("button", { name: "New schedule" }).click();
		const form = panel.getByTestId("schedule-form");
		await form.locator("input[name=schedule-name]").fill("Weekly events");
		await form.locator("select[name=frequency]").selectOption("weekly");
		await form.locator("select[name=weekday]").selectOption("3");
		await form.locator("select[name=hour]").selectOption("7");
		await form.locator("select[name=minute]").selectOption("30");
		await form.locator("select[name=schedule-format]").selectOption("xlsx");
		await form.locator("input[name=sch-new-value-0]").fill("ops@example.com, lead@example.com");
		await capture("schedule-form");
		await form.getByRole("button", { name: "Create schedule" }).click();
		await panel.locator("[data-testid=schedule-list] tr[data-schedule]").waitFor();
		const { schedules } = await api("/v1/schedules");
		const s = schedules.find((x) => x.name === "Weekly events");
		assert.ok(s, "the API returns the schedule");
		assert.deepEqual(
			{ report_id: s.report_id, frequency: s.frequency, weekday: s.weekday, month_day: s.month_day, hour: s.hour, minute: s.minute, timezone: s.timezone, format: s.format, destinations: s.destinations, enabled: s.enabled },
			{ report_id: made.report.id, frequency: "weekly", weekday: 3, month_day: null, hour: 7, minute: 30, timezone: DEV.timezone, format: "xlsx", destinations: [{ type: "email", to: ["ops@example.com", "lead@example.com"] }], enabled: true },
		);
		await panel.getByRole("button", { name: "Deliveries" }).click();
		await panel.getByText("Nothing delivered yet.").waitFor();
		await capture("schedules");

		await panel.getByRole("button", { name: "Edit Weekly events" }).click();
		await form.locator("select[name=frequency]").selectOption("monthly");
		await form.locator("input[name=month_day]").fill("15");
		await form.locator("select[name=hour]").selectOption("8");
		await form.getByRole("button", { name: "Save schedule" }).click();
		await form.waitFor({ state: "detached" });
		const edited = await api(`/v1/schedules/${s.id}`);
		assert.deepEqual([edited.frequency, edited.month_day, edited.weekday, edited.hour, edited.minute], ["monthly", 15, null, 8, 30]);
		await panel.locator(`tr[data-schedule="${s.id}"]`, { hasText: "08:30" }).waitFor();
		assert.match(await panel.locator(`tr[data-schedule="${s.id}"]`).textContent(), /15/);

		await panel.getByRole("button", { name: "Delete Weekly events" }).click();
		await panel.getByRole("button", { name: "Yes, delete" }).click();
		await panel.getByText("No schedules yet").waitFor();
		assert.equal((await api("/v1/schedules")).schedules.filter((x) => x.id === s.id).length, 0);
	});

	it("schedules: Run now starts its export and queues a delivery; the cron sends it (signed webhook) and the log shows it sent", async () => {
		setPhase("ops");
		const s = await api("/v1/schedules", { method: "POST", json: { report_id: made.report.id, name: "Daily to a webhook", frequency: "daily", hour: 6, minute: 0, format: "csv", destinations: [{ type: "webhook", url: hookUrl }] } });
		await page.goto(url(`/explore?report=${made.report.id}`));
		await ready(".explore");
		const panel = page.getByTestId("schedules");
		await panel.locator(`tr[data-schedule="${s.id}"]`).waitFor();
		// Its next run reads in its own zone (06:00 there, whatever the browser's zone), and names it.
		const row = panel.locator(`tr[data-schedule="${s.id}"]`);
		const inZone = new Intl.DateTimeFormat("en-GB", { timeZone: s.timezone, dateStyle: "medium", timeStyle: "short" }).format(new Date(s.next_run_at));
		assert.match(inZone, /06:00$/);
		assert.equal(await row.getByTestId("next-run").textContent(), inZone);
		assert.equal(await row.getByTestId("next-run").getAttribute("datetime"), s.next_run_at);
		assert.match(await row.locator("td[data-label='Next run']").textContent(), new RegExp(`\\(${s.timezone}\\)`));
		await panel.getByRole("button", { name: "Run now: Daily to a webhook" }).click();
		const result = panel.getByTestId("run-result");
		await result.waitFor();
		const exportId = await result.getAttribute("data-export");
		assert.match(exportId, /^exp_/);
		assert.equal(await result.getAttribute("data-deliveries"), "1");
		assert.match(await result.textContent(), /1 delivery of its export queued/);

		// The API's log holds the new delivery, for the export Run now started; the screen shows it.
		const logged = async () => (await api(`/v1/schedules/${s.id}/deliveries`)).deliveries;
		const [d] = await logged();
		assert.deepEqual([d.channel, d.target, d.event, d.export_id, d.status], ["webhook", hookUrl, "report.ready", exportId, "pending"]);
		await panel.locator(`[data-testid=deliveries] tr[data-delivery="${d.id}"]`).waitFor();
		assert.equal((await api(`/v1/schedules/${s.id}`)).next_run_at, s.next_run_at, "its calendar did not move");

		// The export finishes; the cron's delivery pass sends the webhook (made due at once if an
		// earlier pass found the export still running and put it off).
		for (let i = 0; (await api(`/v1/exports/${exportId}`)).state !== "done"; i++) {
			assert.ok(i < 240, "the schedule's export finishes");
			await new Promise((r) => setTimeout(r, 500));
		}
		const before = got.length;
		for (let i = 0; (await logged())[0].status === "pending"; i++) {
			assert.ok(i < 10, "the delivery leaves pending");
			if (i > 0) {
				const db = new DatabaseSync(platform.server.d1File());
				try {
					db.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE id = ? AND status = 'pending'").run(d.id);
				} finally {
					db.close();
				}
			}
			await platform.server.scheduled();
		}
		const [sent] = await logged();
		assert.deepEqual([sent.id, sent.status, sent.response_status, sent.attempts], [d.id, "sent", 200, 1]);
		const hook = got.slice(before).find((g) => g.body.includes(exportId));
		assert.ok(hook, "the receiver got the report");
		assert.ok(verifyWebhook(made.secret, hook.headers, hook.body), "signed with the workspace's secret");
		const body = JSON.parse(hook.body);
		assert.deepEqual([body.type, body.data.schedule.id, body.data.export.id, body.data.export.rows], ["report.ready", s.id, exportId, made.csv.rows]);
		// The log on screen follows the delivery to its outcome.
		await panel.locator(`[data-testid=deliveries] tr[data-delivery="${d.id}"][data-status="sent"]`).waitFor({ timeout: 30_000 });
		await capture("schedule-run");
		await api(`/v1/schedules/${s.id}`, { method: "DELETE" });
	});

	it("alerts: a rule created in the UI is what the API returns; Test delivers a signed webhook, logged as sent", async () => {
		setPhase("ops");
		await page.goto(url("/alerts"));
		await ready(".alerts-page");
		await page.getByText("No alerts yet").waitFor();
		await capture("alerts-empty");
		await page.getByRole("link", { name: "New alert" }).click();
		const form = page.getByTestId("alert-form");
		await form.locator("input[name=alert-name]").fill("Escalations spike");
		await form.locator("input[name=metric]").fill("count");
		await form.locator("input[name=event]").fill("conversation_escalated");
		await form.locator("input[name=window]").fill("15");
		await form.locator("select[name=op]").selectOption("above");
		await form.locator("input[name=threshold]").fill("5");
		await form.locator("input[name=clear]").fill("3");
		await form.locator("input[name=min_interval]").fill("30");
		await form.locator("select[name=alert-type-0]").selectOption("webhook");
		await form.locator("input[name=alert-value-0]").fill(hookUrl);
		await capture("alert-form");
		await form.getByRole("button", { name: "Create alert" }).click();
		await ready(".alert-page");
		const id = new URL(page.url()).pathname.split("/").pop();
		assert.match(id, /^alr_/);
		const a = await api(`/v1/alerts/${id}`);
		assert.deepEqual(
			{ name: a.name, query: a.query, window_minutes: a.window_minutes, condition: a.condition, min_interval_minutes: a.min_interval_minutes, destinations: a.destinations, enabled: a.enabled },
			{
				name: "Escalations spike",
				query: { metrics: ["count"], filters: [["is", "event", "conversation_escalated"]] },
				window_minutes: 15,
				condition: { type: "threshold", op: "above", value: 5, clear: 3 },
				min_interval_minutes: 30,
				destinations: [{ type: "webhook", url: hookUrl }],
				enabled: true,
			},
		);
		assert.equal(await page.getByTestId("alert-state").first().getAttribute("data-value"), "ok");

		const before = got.length;
		await page.getByRole("button", { name: "Test" }).click();
		await page.getByTestId("test-result").waitFor();
		await page.locator('[data-testid=deliveries] tr[data-status="sent"][data-channel="webhook"]').waitFor();
		const { deliveries } = await api(`/v1/alerts/${id}/deliveries`);
		assert.equal(deliveries.length, 1);
		assert.deepEqual([deliveries[0].status, deliveries[0].channel, deliveries[0].target, deliveries[0].event, deliveries[0].response_status], ["sent", "webhook", hookUrl, "alert.test", 200]);
		assert.equal(got.length, before + 1, "the receiver got the test notification");
		const hook = got.at(-1);
		assert.equal(hook.path, "/edgewise-hook");
		assert.match(String(hook.headers["webhook-signature"]), /^v1,/);
		assert.ok(verifyWebhook(made.secret, hook.headers, hook.body), "signed with the secret Settings showed (checked with node:crypto)");
		assert.match(hook.body, /"alert\.test"/);
		made.alert = { id, link: hook.body.match(/"(http[^"]*\/alerts\/alr_[a-z2-9]+)"/)?.[1] };
		await page.locator('[data-testid=alert-events] tr[data-kind="test"]').waitFor();
		await capture("alert");
	});

	it("alerts: /alerts/<id>, the link in notifications, opens that alert; editing it changes the API's rule", async () => {
		setPhase("ops");
		const { id, link } = made.alert;
		assert.equal(link, url(`/alerts/${id}`), "the notification links to the dashboard's alert page");
		await page.goto(link);
		await ready(".alert-page");
		assert.equal(await page.getByTestId("alert-name").textContent(), "Escalations spike");
		assert.match(await page.getByTestId("alert-condition").textContent(), /above 5 \(resolves at or below 3\) over 15 min/);
		await page.getByRole("link", { name: "Edit" }).click();
		assert.ok(new URL(page.url()).searchParams.has("edit"), "editing is in the URL");
		await page.getByTestId("alert-form").locator("input[name=threshold]").fill("10");
		await page.getByTestId("alert-form").getByRole("button", { name: "Save alert" }).click();
		await page.getByTestId("alert-form").waitFor({ state: "detached" });
		assert.deepEqual((await api(`/v1/alerts/${id}`)).condition, { type: "threshold", op: "above", value: 10, clear: 3 });
		await page.goto(url("/alerts"));
		await ready(".alerts-page");
		assert.equal(await page.locator(`[data-testid=alert-list] tr[data-alert="${id}"]`).getAttribute("data-state"), "ok");
		await capture("alerts");
	});
}
