// Saved reports, boards, share links and the Support board, in real Chromium: tests registered by
// dashboard.test.mjs on its platform (one platform for every browser test: it takes the longest to
// start). Numbers on screen are compared with POST /v1/query, with the board's own results and with
// the seeded events themselves. Every new screen is saved as a screenshot (desktop, 375 px, dark) in
// test/browser/artifacts/ and checked with axe-core.
import assert from "node:assert/strict";
import { it } from "node:test";
import { capture as captureOn, inRange, local, signIn as signInOn } from "./helpers.mjs";
import { DEV, launchChromium, query } from "./platform.mjs";

/** The phase in which the browser is expected to log refused requests (a revoked or altered share link). */
export const REFUSED = "refused";

/**
 * Registers the tests, in order, in the caller's suite. `env` is read when they run: the platform,
 * the browser and its page, the artifacts' directory and axe report, the console errors and the
 * setter of the phase they are recorded under.
 */
export function boardTests(env) {
	let page;
	let platform;
	let adminKey;
	/** What the tests hand on to each other. */
	const made = {};
	const setPhase = (p) => env.setPhase(p);
	const url = (path) => `${platform.url}${path}`;
	const signIn = (key) => signInOn(page, platform.url, key);
	const capture = (name, on = page) => captureOn(on, env.dir, env.axeReport, name);
	const ready = (sel, on = page) => on.waitForSelector(`${sel}[data-state="ready"]`, { timeout: 30_000 });
	const api = async (path, { key = DEV.readKey, ...init } = {}) => {
		const res = await platform.server.fetch(path, { key, ...init });
		const body = await res.json();
		assert.ok(res.ok, `${init.method ?? "GET"} ${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
		return body;
	};
	/** Numbers of a locator's cells, from their exact data-value. */
	const values = (locator) => locator.evaluateAll((els) => els.map((el) => (el.dataset.value === "" ? null : Number(el.dataset.value))));

	it("support: a read key is told that an admin creates the Support board", async () => {
		({ page, platform } = env);
		setPhase("support");
		adminKey = (await api("/v1/admin/tenants/demo/keys", { method: "POST", key: DEV.adminToken, json: { scope: "admin", name: "boards admin" } })).key;
		await signIn(DEV.readKey);
		await page.waitForSelector(".overview");
		await page.goto(url("/support"));
		const note = page.getByTestId("support-needs-admin");
		await note.waitFor();
		assert.match(await note.textContent(), /A workspace admin can create it/);
		assert.match(await note.locator("pre").textContent(), /\/v1\/boards\/presets\/support/);
		assert.equal(await page.getByRole("button", { name: "Create the Support board" }).count(), 0);
		await capture("support-missing-read-key");
	});

	it("support: an admin key creates the board; its figures equal the seeded events", async () => {
		setPhase("support");
		await signIn(adminKey);
		await page.waitForSelector(".overview");
		await page.goto(url("/support"));
		await page.getByTestId("support-create").waitFor();
		await capture("support-create");
		await page.getByRole("button", { name: "Create the Support board" }).click();
		await ready(".board-page");
		await page.waitForSelector(".tile[data-report] .figure-item");
		const { boards } = await api("/v1/boards");
		const board = boards.find((b) => b.name === "Support");
		assert.equal(board.layout.length, 12, "the preset's twelve reports");
		made.support = board;
		const { tiles } = await api(`/v1/boards/${board.id}/results`);
		const byName = Object.fromEntries(tiles.map((t) => [t.report.name, t]));
		const tile = (name) => page.locator(`.tile[data-report="${byName[name].report_id}"]`);
		const figure = async (name, metric) => Number(await tile(name).locator(`.figure-item[data-metric="${metric}"] .big`).getAttribute("data-value"));
		const seeded = (name) => inRange(platform.seeded, byName[name].meta.date_range);
		const count = (events, name) => events.filter((e) => e.event === name).length;

		// Counts and rates, exact (rollups count exactly).
		const rr = seeded("Resolution and escalation");
		const started = count(rr, "conversation_started");
		assert.equal(await figure("Conversations started", "started"), count(seeded("Conversations started"), "conversation_started"));
		assert.equal(await figure("Resolution and escalation", "resolved"), count(rr, "conversation_resolved"));
		assert.equal(await figure("Resolution and escalation", "escalated"), count(rr, "conversation_escalated"));
		assert.ok(Math.abs((await figure("Resolution and escalation", "resolution_rate")) - (count(rr, "conversation_resolved") / started) * 100) < 1e-9);
		assert.ok(Math.abs((await figure("Resolution and escalation", "escalation_rate")) - (count(rr, "conversation_escalated") / started) * 100) < 1e-9);
		assert.equal(await tile("Resolution and escalation").locator('.figure-item[data-metric="escalation_rate"] .big').textContent(), `${((count(rr, "conversation_escalated") / started) * 100).toFixed(1)}%`);

		// CSAT: the average and the distribution of scores.
		const scores = seeded("Customer satisfaction").filter((e) => e.event === "csat_submitted").map((e) => e.properties.score);
		assert.ok(Math.abs((await figure("Customer satisfaction", "csat")) - scores.reduce((a, b) => a + b, 0) / scores.length) < 1e-9, "CSAT average is exact");
		assert.equal(await figure("Customer satisfaction", "responses"), scores.length);
		const dist = seeded("CSAT distribution").filter((e) => e.event === "csat_submitted");
		const bars = await values(tile("CSAT distribution").locator("[data-testid=answer-table] tbody td.num"));
		assert.deepEqual(bars, [1, 2, 3, 4, 5].map((s) => dist.filter((e) => e.properties.score === s).length).filter((n) => n > 0));

		// The weekday × hour heat map: every message, in the right local weekday and hour.
		const messages = seeded("Messages by weekday and hour").filter((e) => e.event === "message_sent");
		const cells = await tile("Messages by weekday and hour").locator("[data-testid=heatmap] tbody tr").evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll("td")].map((td) => Number(td.dataset.value))));
		assert.equal(cells.flat().reduce((a, b) => a + b, 0), messages.length);
		const monday10 = messages.filter((e) => local(e.timestamp).weekday === "Mon" && local(e.timestamp).hour === 10).length;
		assert.equal(cells[0][10], monday10);
		assert.ok(monday10 > cells[6][3], "Monday mornings are busier than Sunday nights");

		// Top intents, and the first response time by channel (a paired-event duration).
		const intents = await tile("Top intents").locator("tbody tr").evaluateAll((rows) => rows.map((r) => [r.querySelector("th").textContent, Number(r.querySelector("td").dataset.value)]));
		const convs = seeded("Top intents").filter((e) => e.event === "conversation_started");
		for (const [intent, n] of intents) assert.equal(n, convs.filter((e) => e.properties.intent === intent).length, intent);
		const ch = seeded("By channel");
		const firstReply = new Map();
		for (const e of platform.seeded)
			if (e.event === "message_sent" && ["agent", "ai"].includes(e.properties.sender_type)) {
				const list = firstReply.get(e.properties.conversation_id) ?? [];
				firstReply.set(e.properties.conversation_id, [...list, Date.parse(e.timestamp)]);
			}
		const rows = await tile("By channel").locator("tbody tr").evaluateAll((trs) => trs.map((r) => [r.querySelector("td").textContent, ...[...r.querySelectorAll("td.num")].map((td) => Number(td.dataset.value))]));
		for (const [channel, startedHere, rate, p50] of rows) {
			const mine = ch.filter((e) => e.event === "conversation_started" && e.properties.channel === channel);
			assert.equal(startedHere, mine.length, channel);
			const waits = mine
				.map((e) => (firstReply.get(e.properties.conversation_id) ?? []).filter((t) => t >= Date.parse(e.timestamp)).sort((a, b) => a - b)[0] - Date.parse(e.timestamp))
				.filter((d) => Number.isFinite(d))
				.sort((a, b) => a - b);
			const exact = waits[Math.floor(0.5 * (waits.length - 1))];
			assert.ok(Math.abs(p50 - exact) <= exact * 0.01 + 1, `${channel}: p50 first response ${p50} vs exact ${exact}`);
			const resolved = ch.filter((e) => e.event === "conversation_resolved" && e.properties.channel === channel).length;
			assert.ok(Math.abs(rate - (resolved / mine.length) * 100) < 1e-9, `${channel} resolution rate ${rate}`);
		}
		await capture("support");
	});

	it("explore: a formula built in the page equals POST /v1/query's answer, and is saved as a report", async () => {
		setPhase("explore");
		await page.goto(url("/explore?range=30d&g=none&chart=table"));
		await ready(".explore");
		const metrics = page.locator("fieldset", { hasText: "Metrics" });
		// Two counts with conditions of their own.
		await metrics.getByRole("button", { name: "With its own filter" }).click();
		for (const [name, event] of [
			["started", "conversation_started"],
			["escalated", "conversation_escalated"],
		]) {
			await metrics.getByLabel("Name", { exact: true }).fill(name);
			await metrics.getByLabel("Metric", { exact: true }).fill("count");
			await metrics.getByLabel("Dimension", { exact: true }).fill("event");
			await metrics.getByLabel("Value", { exact: true }).fill(event);
			await metrics.getByRole("button", { name: "Add condition" }).click();
			await metrics.getByRole("button", { name: "Add metric with this condition" }).click();
			await page.waitForURL(new RegExp(`${name}`));
		}
		await metrics.getByRole("button", { name: "Remove metric count" }).click();
		await metrics.getByRole("button", { name: "Hide metric escalated" }).click();
		await metrics.getByRole("button", { name: "Formula", exact: true }).click();
		await metrics.getByLabel("Name", { exact: true }).fill("escalation_rate");
		await metrics.getByLabel(/^Formula/).fill("escalated / started");
		await metrics.getByRole("button", { name: "Add formula" }).click();
		await page.waitForURL(/escalation_rate/);
		await page.getByLabel("Dimension", { exact: true }).first().fill("prop:channel");
		await page.getByRole("button", { name: "Add dimension" }).click();
		await page.waitForURL(/d=prop:channel/);
		await ready(".explore");
		await page.waitForSelector("[data-testid=explore-result] tbody tr");

		const json = JSON.parse(await page.locator(".copy-block pre").first().textContent());
		assert.deepEqual(json, {
			metrics: [
				{ metric: "count", name: "started", filters: [["is", "event", "conversation_started"]] },
				{ metric: "count", name: "escalated", filters: [["is", "event", "conversation_escalated"]], hidden: true },
				{ name: "escalation_rate", formula: "escalated / started", percent: true },
			],
			date_range: "30d",
			dimensions: ["prop:channel"],
		});
		const answer = await query(platform.server, json);
		assert.deepEqual(answer.meta.metrics, ["started", "escalation_rate"]);
		const shown = await page.locator("[data-testid=explore-result] tbody tr").evaluateAll((trs) => trs.map((r) => [r.querySelector("td").textContent, ...[...r.querySelectorAll("td.num")].map((td) => Number(td.dataset.value))]));
		assert.deepEqual(shown, answer.results.map((r) => [r.dimensions[0], ...r.metrics]));
		// And independently: conversations started and escalated per channel, counted here.
		const events = inRange(platform.seeded, answer.meta.date_range);
		for (const [channel, startedHere, rate] of shown) {
			const n = (name) => events.filter((e) => e.event === name && e.properties.channel === channel).length;
			assert.equal(startedHere, n("conversation_started"));
			assert.ok(Math.abs(rate - (n("conversation_escalated") / n("conversation_started")) * 100) < 1e-9, channel);
		}
		await capture("explore-formula");

		await page.getByLabel("Report name").fill("Escalation rate by channel");
		await page.getByRole("button", { name: "Save as report" }).click();
		await page.waitForURL(/report=rep_/);
		await page.getByTestId("saved").waitFor();
		const id = new URL(page.url()).searchParams.get("report");
		const saved = await api(`/v1/reports/${id}`);
		assert.equal(saved.name, "Escalation rate by channel");
		assert.equal(saved.chart, "table");
		assert.deepEqual(saved.query, json);
		made.report = saved;

		// Opened again from its id alone, the builder shows the same query.
		await page.goto(url(`/explore?report=${id}`));
		await page.waitForURL(/m=/);
		await ready(".explore");
		assert.deepEqual(JSON.parse(await page.locator(".copy-block pre").first().textContent()), json);
		assert.equal(await page.getByTestId("save-state").textContent().then((t) => t.startsWith("as saved")), true);
	});

	it("explore: a heat map of weekday × hour, a distribution with its bins, and ordering by change", async () => {
		setPhase("explore");
		await page.goto(url("/explore?range=30d&g=none&m=count&d=day_of_week,hour_of_day&f=is:event:message_sent&chart=heatmap"));
		await ready(".explore");
		const answer = await query(platform.server, JSON.parse(await page.locator(".copy-block pre").first().textContent()));
		const cells = await values(page.locator("[data-testid=heatmap] tbody td"));
		assert.equal(cells.length, 7 * 24);
		assert.equal(cells.reduce((a, b) => a + b, 0), answer.results.reduce((a, r) => a + r.metrics[0], 0));
		await capture("explore-heatmap");

		await page.goto(url("/explore?range=30d&g=none&m=count&d=bins:ai_confidence&bins=0,0.5,0.8,0.9&f=is:event:message_sent&chart=bar"));
		await ready(".explore");
		const body = JSON.parse(await page.locator(".copy-block pre").first().textContent());
		assert.deepEqual(body.dimensions, [{ dimension: "bins:ai_confidence", edges: [0, 0.5, 0.8, 0.9] }]);
		const bins = await query(platform.server, body);
		await page.locator("[data-testid=explore-result] details summary").click();
		const rows = await page.locator("[data-testid=explore-result] tbody tr").evaluateAll((trs) => trs.map((r) => [r.querySelector("td").textContent, Number(r.querySelector("td.num").dataset.value)]));
		assert.deepEqual(rows.map((r) => r[1]), bins.results.map((r) => r.metrics[0]));
		assert.ok(rows.some(([label]) => label === "≥ 0.9"), JSON.stringify(rows));
		const ai = platform.seeded.filter((e) => e.properties.ai_confidence != null);
		assert.equal(rows.reduce((a, r) => a + r[1], 0), inRange(ai, bins.meta.date_range).length, "every AI reply is in a bin");
		await capture("explore-bins");

		// A paired-event duration and a distinct count, added from their forms.
		await page.goto(url("/explore?range=30d&g=none&m=count&d=prop:channel&chart=table"));
		await ready(".explore");
		const metrics = page.locator("fieldset", { hasText: "Metrics" });
		await metrics.getByRole("button", { name: "Paired events", exact: true }).click();
		await metrics.getByLabel("Statistic").selectOption("p50");
		await metrics.getByLabel("of pair").fill("first_response");
		await metrics.getByRole("button", { name: "Add pair metric" }).click();
		await page.waitForURL(/p50:pair:first_response/);
		await metrics.getByRole("button", { name: "Distinct values", exact: true }).click();
		await metrics.getByLabel("Distinct values of property").fill("agent_id");
		await metrics.getByRole("button", { name: "Add distinct count" }).click();
		await page.waitForURL(/uniques:prop:agent_id/);
		await ready(".explore");
		const paired = await query(platform.server, JSON.parse(await page.locator(".copy-block pre").first().textContent()));
		assert.deepEqual(paired.meta.metrics, ["count", "p50:pair:first_response", "uniques:prop:agent_id"]);
		assert.deepEqual(await values(page.locator("[data-testid=explore-result] tbody td.num")), paired.results.flatMap((r) => r.metrics));
		assert.match(await page.locator("[data-testid=explore-result] thead").textContent(), /Median first_response.*Distinct agent_id/);

		// Trending intents: ordered by the change against the previous period, top 2 per channel.
		await page.goto(url("/explore?range=30d&g=none&m=count&d=prop:channel,prop:intent&f=is:event:conversation_started&cmp=previous_period&o=change:count:desc&lpg=2&chart=table"));
		await ready(".explore");
		const trending = await query(platform.server, JSON.parse(await page.locator(".copy-block pre").first().textContent()));
		const table = await values(page.locator("[data-testid=explore-result] tbody td.num"));
		assert.deepEqual(table, trending.results.flatMap((r) => [...r.metrics, ...r.comparison.metrics]));
		assert.ok(trending.results.length <= 8);
	});

	it("boards: a board is built from saved reports, rearranged and resized; the order persists after a reload", async () => {
		setPhase("boards");
		await page.goto(url("/boards"));
		await ready(".boards-page");
		await page.getByLabel("New board").fill("Browser board");
		await page.getByRole("button", { name: "Create board" }).click();
		await page.waitForURL(/\/boards\/brd_[a-z0-9]+\?edit=1/);
		const id = new URL(page.url()).pathname.split("/").pop();
		await ready(".board-page");
		let tiles = 0;
		const add = async (label, width) => {
			await page.getByLabel("Saved report to add").selectOption({ label });
			await page.getByTestId("board-editor").getByLabel(/^Width/).selectOption(String(width));
			const saved = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().endsWith(`/v1/boards/${id}`));
			await page.getByRole("button", { name: "Add to board" }).click();
			await saved;
			// The new tile is drawn once the board is read again with its answer.
			await page.waitForFunction((n) => document.querySelectorAll(".board-grid .tile").length === n && !document.querySelector(".board-grid .skeleton"), ++tiles);
		};
		await add("Escalation rate by channel (table)", 6);
		await add("Conversations started (number)", 3);
		await add("Messages by weekday and hour (heat map)", 12);
		const order = () => page.locator(".board-grid .tile").evaluateAll((ts) => ts.map((t) => t.dataset.report));
		const ids = { rate: made.report.id, ...Object.fromEntries((await api(`/v1/boards/${id}`)).layout.slice(1).map((t, i) => [["started", "heat"][i], t.report_id])) };
		assert.deepEqual(await order(), [ids.rate, ids.started, ids.heat]);
		await page.locator(`.tile[data-report="${ids.heat}"] [data-testid=heatmap]`).waitFor();
		await capture("board-edit");

		const patched = () => page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().endsWith(`/v1/boards/${id}`));
		let saved = patched();
		await page.getByRole("button", { name: "Move Conversations started up" }).click();
		await saved;
		saved = patched();
		await page.getByRole("combobox", { name: "Width of Escalation rate by channel" }).selectOption("9");
		await saved;
		saved = patched();
		await page.getByRole("button", { name: "Move Messages by weekday and hour up" }).click();
		await saved;
		const expected = [
			{ report_id: ids.started, width: 3 },
			{ report_id: ids.heat, width: 12 },
			{ report_id: ids.rate, width: 9 },
		];
		assert.deepEqual((await api(`/v1/boards/${id}`)).layout, expected);
		await page.getByLabel("Board name").fill("Support weekly");
		saved = patched();
		await page.getByRole("button", { name: "Rename" }).click();
		await saved;

		// A reload (and the editor closed): the same order and widths, read back from the API.
		await page.goto(url(`/boards/${id}`));
		await ready(".board-page");
		assert.deepEqual(await order(), expected.map((t) => t.report_id));
		assert.equal(await page.getByTestId("board-name").textContent(), "Support weekly");
		const widths = await page.locator(".board-grid .tile").evaluateAll((ts) => ts.map((t) => Number(t.style.getPropertyValue("--w"))));
		assert.deepEqual(widths, [3, 12, 9]);
		// The tile answers as POST /v1/query does for its saved query.
		const direct = await query(platform.server, made.report.query);
		assert.deepEqual(await values(page.locator(`.tile[data-report="${ids.rate}"] tbody td.num`)), direct.results.flatMap((r) => r.metrics));
		await capture("board");
		made.board = { id, expected };

		// A tile added and removed again leaves the board as it was.
		await page.getByRole("button", { name: "Edit board" }).click();
		await page.waitForURL(/edit=1/);
		await add("Messages by hour of day (bar)", 6);
		saved = patched();
		await page.getByRole("button", { name: "Remove Messages by hour of day from the board" }).click();
		await saved;
		assert.deepEqual((await api(`/v1/boards/${id}`)).layout, expected);
		assert.deepEqual(await order(), expected.map((t) => t.report_id));

		await page.goto(url("/boards"));
		await ready(".boards-page");
		assert.equal(await page.locator(`[data-testid=board-list] tr[data-board="${id}"] a`).textContent(), "Support weekly");
		await capture("boards");
	});

	it("sharing: a read key sees why it cannot; an admin's link opens the board without a key, until it is revoked", async () => {
		setPhase("share");
		const { id, expected } = made.board;
		await signIn(DEV.readKey);
		await page.waitForSelector(".overview");
		await page.goto(url(`/boards/${id}`));
		await ready(".board-page");
		assert.match(await page.getByTestId("share-needs-admin").textContent(), /needs a workspace admin key/);
		assert.equal(await page.getByRole("button", { name: "Create a share link" }).count(), 0);

		await signIn(adminKey);
		await page.waitForSelector(".overview");
		await page.goto(url(`/boards/${id}`));
		await ready(".board-page");
		await page.getByLabel("Link expires in (days)").fill("7");
		await page.getByRole("button", { name: "Create a share link" }).click();
		const box = page.getByTestId("new-share");
		await box.waitFor();
		const link = await box.getByRole("textbox").inputValue();
		assert.match(link, new RegExp(`^${platform.url.replace(/[.]/g, "\\.")}/#/shared/shr_[a-z2-9]{16}\\.\\d+\\.[A-Za-z0-9_-]{43}$`));
		await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: platform.url });
		await box.getByRole("button", { name: "Copy link" }).click();
		assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
		const row = page.locator("[data-testid=shares] tbody tr").first();
		assert.equal(await row.getAttribute("data-status"), "active");
		const expires = Date.parse((await api(`/v1/boards/${id}/shares`)).shares[0].expires_at);
		assert.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 120_000, "expires in 7 days");
		await capture("board-share");

		// A fresh browser (no stored key, no cookies) opens the link: the board, read-only, and nothing else.
		const fresh = await launchChromium();
		try {
			const viewer = fresh.context.pages()[0] ?? (await fresh.context.newPage());
			env.listen(viewer);
			const calls = [];
			viewer.on("request", (r) => new URL(r.url()).pathname.startsWith("/v1/") && calls.push({ path: new URL(r.url()).pathname, auth: r.headers().authorization ?? null }));
			await viewer.goto(link);
			await ready("main.shared", viewer);
			assert.deepEqual(
				calls.map((c) => [c.path.replace(/\/shared\/.+$/, "/shared/<token>"), c.auth]),
				[["/v1/shared/<token>", null]],
				"one request, without a key",
			);
			assert.equal(await viewer.locator("input[name=key]").count(), 0, "no sign-in");
			assert.equal(await viewer.locator("nav, a[href^='/']").count(), 0, "no navigation");
			assert.equal(await viewer.locator("h1").textContent(), "Support weekly");
			assert.deepEqual(await viewer.locator(".board-grid .tile").evaluateAll((ts) => ts.map((t) => t.dataset.report)), expected.map((t) => t.report_id));
			const keyed = await api(`/v1/boards/${id}/results`);
			const rate = keyed.tiles.find((t) => t.report_id === made.report.id);
			assert.deepEqual(await values(viewer.locator(`.tile[data-report="${made.report.id}"] tbody td.num`)), rate.results.flatMap((r) => r.metrics));
			assert.equal(await viewer.evaluate(() => localStorage.getItem("edgewise.key")), null);
			await capture("shared", viewer);

			// Revoked from the dashboard: the link stops at once, and says why.
			await row.getByRole("button", { name: /Revoke link/ }).click();
			await row.getByRole("button", { name: "Yes, revoke" }).click();
			await page.locator("[data-testid=shares] tbody tr[data-status=revoked]").waitFor();
			setPhase(REFUSED);
			await viewer.reload();
			const refused = viewer.getByTestId("share-refused");
			await refused.waitFor();
			assert.equal(await refused.getAttribute("data-reason"), "revoked");
			assert.match(await refused.textContent(), /This link has been revoked/);
			assert.equal(await viewer.locator(".board-grid").count(), 0);
			await capture("shared-revoked", viewer);
			// An altered link (one character of its signature changed) is refused as such.
			// (Not its last character: that one holds padding bits, and a changed one reads as malformed.)
			const altered = `${link.slice(0, -10)}${link.at(-10) === "A" ? "B" : "A"}${link.slice(-9)}`;
			await viewer.goto("about:blank");
			await viewer.goto(altered);
			await refused.waitFor();
			assert.equal(await refused.getAttribute("data-reason"), "bad_signature");
			assert.match(await refused.textContent(), /This link is not valid/);
		} finally {
			await fresh.close();
		}
		// The only console errors there are the browser's notes about the refused requests.
		for (const e of env.consoleErrors.filter((x) => x.phase === REFUSED)) assert.match(e.text, /status of 403/);
		setPhase("share");
	});
}
