// Funnels, retention and lifecycle, person pages, the people behind a point, insights on Explore's
// time chart and the Overview, experiments, and board tiles of those report kinds, in real
// Chromium: tests registered by dashboard.test.mjs on its platform. Every figure on screen is
// compared with the API's own answer to the same request, asked here; every new screen is saved as
// a screenshot (desktop, 375 px, dark) in test/browser/artifacts/ and checked with axe-core.
import assert from "node:assert/strict";
import { it } from "node:test";
import { capture as captureOn, signIn as signInOn } from "./helpers.mjs";
import { REFUSED } from "./boards.mjs";
import { DEV } from "./platform.mjs";

/** Registers the tests, in order, in the caller's suite (`env` as boardTests takes it). */
export function peopleTests(env) {
	let page;
	let platform;
	const setPhase = (p) => env.setPhase(p);
	const url = (path) => `${platform.url}${path}`;
	const capture = (name) => captureOn(page, env.dir, env.axeReport, name);
	const ready = (sel) => page.waitForSelector(`${sel}[data-state="ready"]`, { timeout: 60_000 });
	const api = async (path, { key = DEV.readKey, ...init } = {}) => {
		const res = await platform.server.fetch(path, { key, timeoutMs: 60_000, ...init });
		const body = await res.json();
		assert.ok(res.ok, `${init.method ?? "GET"} ${path}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 500)}`);
		return body;
	};
	const post = (path, json) => api(path, { method: "POST", json });
	/** Waits that fail after 30 s rather than hang. */
	const T = { timeout: 30_000 };
	/** Numbers of a locator's cells, from their exact data-value. */
	const values = (locator) => locator.evaluateAll((els) => els.map((el) => (el.dataset.value === "" ? null : Number(el.dataset.value))));

	const FUNNEL = { steps: [{ event: "page_view" }, { event: "signup" }, { event: "purchase" }], date_range: "30d", window: "7d", order: "strict" };

	it("people: the people pass has run; the funnel's steps on screen equal POST /v1/funnels", async () => {
		({ page, platform } = env);
		setPhase("people");
		// The cron's people pass, until it has seen every event (funnels and retention read its tables).
		for (let i = 0; i < 50; i++) {
			const rep = await api("/v1/admin/people/run", { method: "POST", key: DEV.adminToken });
			if (rep.caught_up) break;
			if (rep.busy) await new Promise((r) => setTimeout(r, 1000));
		}
		await signInOn(page, platform.url, DEV.readKey);
		await page.waitForSelector(".overview", T);
		await page.goto(url("/funnels?s=page_view&s=signup&s=purchase"));
		await ready(".funnels");
		const answer = await post("/v1/funnels", FUNNEL);
		assert.ok(answer.steps[0].entered > 0 && answer.steps[1].entered > 0, "the demo has people at two steps at least");
		const table = page.getByTestId("funnel-table");
		assert.deepEqual(await values(table.locator('td[data-col="entered"]')), answer.steps.map((s) => s.entered));
		assert.deepEqual(await values(table.locator('td[data-col="converted"]')), answer.steps.map((s) => s.converted));
		assert.deepEqual(await values(table.locator('td[data-col="from-first"]')), answer.steps.map((s) => s.conversion_from_first));
		assert.deepEqual(await values(table.locator('td[data-col="from-previous"]')), answer.steps.map((s) => s.conversion_from_previous));
		assert.deepEqual(await values(table.locator('td[data-col="median"]')), answer.steps.map((s) => s.time_to_convert_ms?.median ?? null));
		assert.equal(await page.locator(".funnel-bars li").count(), 3, "a bar per step");
		await capture("funnels");

		// Any order and a breakdown: the URL holds them, the answer follows.
		await page.getByLabel("Order").selectOption("any");
		await page.getByLabel("Breakdown (first step's)").selectOption("device");
		await page.waitForFunction(() => new URL(location.href).searchParams.get("by") === "device");
		await ready(".funnels");
		await page.getByTestId("funnel-breakdown").waitFor();
		const any = await post("/v1/funnels", { ...FUNNEL, order: "any", breakdown: "device" });
		assert.deepEqual(await values(page.getByTestId("funnel-table").locator('td[data-col="entered"]')), any.steps.map((s) => s.entered));
		assert.deepEqual(await values(page.getByTestId("funnel-breakdown").locator("tbody tr td:nth-child(2)")), any.breakdown.values.map((v) => v.steps[0].entered));
	});

	it("people: the cohort heat map's cells equal POST /v1/retention's rates; the lifecycle's bars its counts", async () => {
		setPhase("people");
		await page.goto(url("/retention"));
		await ready(".retention");
		const r = await post("/v1/retention", { form: "retention", period: "week", date_range: "30d" });
		const rows = page.getByTestId("cohorts").locator("tbody tr[data-cohort]:not(.average)");
		assert.equal(await rows.count(), r.cohorts.length);
		for (let i = 0; i < r.cohorts.length; i++) assert.deepEqual(await values(rows.nth(i).locator("td.cell")), r.cohorts[i].rates, `cohort ${r.cohorts[i].cohort}`);
		assert.deepEqual(await values(page.locator('tr[data-cohort="average"] td.cell')), r.average.rates);
		assert.ok(r.cohorts.some((c) => c.people > 0), "the demo has cohorts");
		await capture("retention");

		// Retention curves: the drawn columns are the API's rates, the average first, a line per cohort with people.
		await page.getByRole("group", { name: "Chart" }).getByRole("button", { name: "Curves" }).click();
		await page.waitForFunction(() => new URL(location.href).searchParams.get("c") === "line");
		const curves = page.getByTestId("retention-curves");
		await curves.locator("canvas").first().waitFor(T);
		const drawn = JSON.parse(await curves.getAttribute("data-series"));
		const withPeople = r.cohorts.filter((c) => c.people > 0);
		// Periods no cohort has reached are left off the x axis.
		const started = Math.max(2, ...[r.average.rates, ...withPeople.map((c) => c.rates)].map((rs) => rs.findLastIndex((v) => v != null) + 1));
		assert.deepEqual(drawn, [r.average.rates.slice(0, started).map((_, i) => i), r.average.rates.slice(0, started), ...withPeople.map((c) => c.rates.slice(0, started))]);
		assert.equal(await page.getByTestId("save-report").getByLabel("Drawn on a board as").inputValue(), "line", "the report would be saved as drawn");
		await capture("retention-curves");
		await page.getByRole("group", { name: "Chart" }).getByRole("button", { name: "Table" }).click();
		await page.waitForFunction(() => new URL(location.href).searchParams.get("c") === "table");
		assert.equal(await page.locator('[data-testid="cohorts"].plain').count(), 1, "the plain table");
		await page.getByRole("group", { name: "Chart" }).getByRole("button", { name: "Heat map" }).click();
		await page.waitForFunction(() => !new URL(location.href).searchParams.has("c"));

		await page.getByRole("button", { name: "Lifecycle" }).click();
		await page.waitForFunction(() => new URL(location.href).searchParams.get("form") === "lifecycle");
		await page.getByTestId("lifecycle").waitFor();
		await ready(".retention");
		const l = await post("/v1/retention", { form: "lifecycle", period: "week", date_range: "30d" });
		const table = page.getByTestId("lifecycle-table");
		for (const k of ["new", "returning", "resurrecting", "dormant", "churn"])
			assert.deepEqual(await values(table.locator(`td[data-col="${k}"]`)), l.periods.map((p) => (k === "churn" ? p.churn_rate : p[k])), k);
		assert.equal(await page.locator(".lc-col").count(), l.periods.length, "a stacked bar per period");
		// The y range holds the bars exactly: the tallest stack starts at the top, the tallest dormant bar ends at the bottom.
		const box = await page.locator(".lc-chart").boundingBox();
		const tops = await page.locator(".lc-up").evaluateAll((els) => els.map((e) => e.firstElementChild.getBoundingClientRect().top + scrollY));
		const bottoms = await page.locator(".lc-dormant").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().bottom + scrollY));
		const ys = await page.locator(".lc-chart").evaluate((e) => ({ top: e.getBoundingClientRect().top + scrollY, bottom: e.getBoundingClientRect().bottom + scrollY }));
		assert.ok(box.height > 100);
		assert.ok(Math.abs(Math.min(...tops) - ys.top) <= 1, `tallest stack at the top (${Math.min(...tops)} vs ${ys.top})`);
		if (l.periods.some((p) => p.dormant > 0)) assert.ok(Math.abs(Math.max(...bottoms) - ys.bottom) <= 1, `tallest dormant bar at the bottom (${Math.max(...bottoms)} vs ${ys.bottom})`);
		await capture("lifecycle");
		await page.getByRole("group", { name: "Chart" }).getByRole("button", { name: "Lines" }).click();
		await page.waitForFunction(() => new URL(location.href).searchParams.get("c") === "line");
		const lines = JSON.parse(await page.getByTestId("lifecycle-lines").getAttribute("data-series"));
		assert.deepEqual(lines, [l.periods.map((_, i) => i), ...["new", "returning", "resurrecting", "dormant"].map((k) => l.periods.map((p) => p[k]))]);
		await capture("lifecycle-lines");
		await page.getByRole("group", { name: "Chart" }).getByRole("button", { name: "Table" }).click();
		await page.waitForFunction(() => new URL(location.href).searchParams.get("c") === "table");
		assert.equal(await page.locator(".lc-chart").count(), 0, "no bars");
		assert.ok(await page.getByTestId("lifecycle-table").isVisible(), "the table, not behind a disclosure");
	});

	it("people: Explore's insights mark the flagged buckets; a flagged bucket's people and one person's events in order", async () => {
		setPhase("people");
		const q = { metrics: ["count"], date_range: "30d", filters: [["is", "event", "conversation_escalated"]], granularity: "day", insights: { anomalies: true, trend: true, forecast: { horizon: 7 } } };
		const answer = await post("/v1/query", q);
		const flagged = answer.insights.series[0].anomalies;
		assert.ok(flagged.length > 0, "the outage three days ago is flagged by the API");
		await page.goto(url("/explore?f=is:event:conversation_escalated&ins=1"));
		await ready(".explore");
		const marks = page.getByTestId("anomalies").locator("li");
		await marks.first().waitFor();
		assert.deepEqual(await marks.evaluateAll((els) => els.map((e) => e.dataset.time)), flagged.map((a) => a.time), "a marker at each flagged bucket");
		// The chart's anomaly series holds the flagged values at those buckets only (uPlot draws its dots).
		assert.equal(await page.getByTestId("insights-chart").locator("canvas").count() > 0, true);
		await capture("explore-insights");

		// The people behind the largest flag.
		await marks.first().getByRole("button", { name: "people" }).click();
		await ready('[data-testid="people-behind"]');
		const people = await post("/v1/people", { date_range: "30d", filters: q.filters, granularity: "day", dimensions: [], row: { time: flagged[0].time, dimensions: [] }, limit: 100 });
		const listed = page.getByTestId("people-behind").locator("li[data-person]");
		assert.deepEqual(await listed.evaluateAll((els) => els.map((e) => e.dataset.person)), people.people.map((p) => p.id));
		assert.match(await page.getByTestId("people-total").textContent(), new RegExp(`^${people.remaining} people`));
		// The picked bucket is in the URL: a reload (a bookmark) shows the same people.
		assert.deepEqual(JSON.parse(new URL(page.url()).searchParams.get("who")), { t: flagged[0].time, d: [] });
		await page.reload();
		await ready('[data-testid="people-behind"]');
		assert.deepEqual(await listed.evaluateAll((els) => els.map((e) => e.dataset.person)), people.people.map((p) => p.id), "the bookmarked view lists the same people");

		// Download CSV is the server's export of every page (POST /v1/exports with people): its rows are POST /v1/people's whole list.
		const every = [];
		for (let cursor; ; ) {
			const pg = await post("/v1/people", { date_range: "30d", filters: q.filters, granularity: "day", dimensions: [], row: { time: flagged[0].time, dimensions: [] }, limit: 1000, ...(cursor ? { cursor } : {}) });
			every.push(...pg.people);
			if (!(cursor = pg.next_cursor)) break;
		}
		const readCsv = async (download) => (await (await import("node:fs/promises")).readFile(await download.path(), "utf8")).trim().split(/\r?\n/);
		const [download] = await Promise.all([page.waitForEvent("download", { timeout: 60_000 }), page.getByRole("button", { name: "Download CSV" }).click()]);
		const lines = await readCsv(download);
		assert.equal(lines[0], "person,events,first_seen");
		assert.deepEqual(lines.slice(1).map((l) => l.split(",").slice(0, 2)), every.map((p) => [p.id, String(p.events)]), "the export lists the same people with their events");
		const exportId = await page.getByTestId("people-export").getAttribute("data-export");
		const job = await api(`/v1/exports/${exportId}`);
		assert.equal(job.kind, "people");
		assert.equal(job.rows, every.length);
		await capture("people-behind");

		// When the API refuses the export, the browser makes the CSV (same people). The refusal is a 403 the browser logs: expected noise.
		setPhase(REFUSED);
		await page.route("**/v1/exports", (route) => (route.request().method() === "POST" ? route.fulfill({ status: 403, contentType: "application/json", body: JSON.stringify({ error: { code: "forbidden", message: "exports are off for this key" } }) }) : route.continue()));
		const [fallback] = await Promise.all([page.waitForEvent("download", T), page.getByRole("button", { name: "Download CSV" }).click()]);
		assert.deepEqual((await readCsv(fallback)).slice(1).map((l) => l.split(",")[0]), every.map((p) => p.id), "the browser's CSV lists the same people");
		await page.getByTestId("people-export-fallback").waitFor(T);
		await page.unroute("**/v1/exports");
		setPhase("people");

		// A person's page: their events in time order, as GET /v1/people/:id/events lists them.
		const who = people.people[0].id;
		await listed.first().getByRole("link").click();
		await page.waitForURL(/\/people\//);
		await ready(".person");
		const events = await api(`/v1/people/${encodeURIComponent(who)}/events?limit=50`);
		const shown = await page.getByTestId("person-events").locator("li").evaluateAll((els) => els.map((e) => [e.dataset.ts, e.dataset.event]));
		assert.deepEqual(shown, events.events.map((e) => [e.timestamp, e.event]));
		const times = shown.map(([t]) => Date.parse(t));
		assert.deepEqual(times, [...times].sort((a, b) => b - a), "newest first");
		await capture("person");
		await page.getByRole("button", { name: "Oldest first" }).click();
		await page.waitForFunction(() => new URL(location.href).searchParams.get("order") === "asc");
		await ready(".person");
		const asc = await api(`/v1/people/${encodeURIComponent(who)}/events?order=asc&limit=50`);
		assert.deepEqual(await page.getByTestId("person-events").locator("li").evaluateAll((els) => els.map((e) => e.dataset.ts)), asc.events.map((e) => e.timestamp));
	});

	it("people: the Experiments page shows POST /v1/experiments' variants, test and sample ratio check, with a verdict", async () => {
		setPhase("people");
		await page.goto(url("/experiments?exp=pricing_page&goal=purchase&ctl=control&win=168"));
		await ready(".experiments");
		const x = await post("/v1/experiments", {
			exposure: { event: "experiment_viewed", variant: "prop:variant", filters: [["is", "prop:experiment", "pricing_page"]] },
			goal: { event: "purchase" },
			date_range: "30d",
			control: "control",
			window: { hours: 168 },
		});
		const rows = page.getByTestId("experiment-variants").locator("tbody tr");
		assert.deepEqual(await rows.evaluateAll((els) => els.map((e) => e.dataset.variant)), x.variants.map((v) => v.variant));
		assert.deepEqual(await values(rows.locator('td[data-col="people"]')), x.variants.map((v) => v.people));
		assert.deepEqual(await values(rows.locator('td[data-col="converted"]')), x.variants.map((v) => v.converted));
		assert.deepEqual(await values(rows.locator('td[data-col="p"]')), x.variants.map((v) => x.tests.find((t) => t.variant === v.variant)?.p_value ?? null));
		assert.equal(await page.getByTestId("srm").getAttribute("data-mismatch"), String(x.srm.mismatch));
		// A conversion's effect and interval are differences of rates: percentage points, signed.
		const ppText = (d) => `${Number((d * 100).toFixed(2)) > 0 ? "+" : ""}${Number((d * 100).toFixed(2)) === 0 ? "0.00" : (d * 100).toFixed(2)}`;
		for (const t of x.tests) {
			const row = rows.and(page.locator(`[data-variant="${t.variant}"]`));
			assert.equal((await row.locator('td[data-col="ci"]').textContent()).trim(), `${ppText(t.ci95[0])} to ${ppText(t.ci95[1])} pp`);
			assert.equal((await row.locator('td[data-col="effect"]').textContent()).trim(), `${ppText(t.effect)} pp`);
			if (!x.srm?.mismatch) assert.match(await page.locator(`[data-testid="verdict"][data-variant="${t.variant}"]`).textContent(), new RegExp(`${ppText(t.ci95[0]).replace("+", "\\+")} (to|and) ${ppText(t.ci95[1]).replace("+", "\\+")} percentage points`));
		}
		const verdict = await page.getByTestId("verdict").first().textContent();
		assert.match(verdict, x.tests[0].p_value < 0.05 ? /beats|does worse/ : /No clear difference/);
		await capture("experiments");
	});

	it("people: a funnel saved as a report is a funnel tile on a board; the overview says what stands out", { timeout: 180_000 }, async () => {
		setPhase("people");
		const admin = (await api("/v1/admin/tenants/demo/keys", { method: "POST", key: DEV.adminToken, json: { scope: "admin", name: "people admin" } })).key;
		await signInOn(page, platform.url, admin);
		await page.waitForSelector(".overview", T);
		await page.goto(url("/funnels?s=page_view&s=signup&s=purchase"));
		await ready(".funnels");
		const save = page.getByTestId("save-report");
		await save.getByLabel("Report name").fill("Sign-up funnel", T);
		await save.getByRole("button", { name: "Save as report" }).click(T);
		await save.getByTestId("saved").waitFor(T);
		const { reports } = await api("/v1/reports", { key: admin });
		const report = reports.find((r) => r.name === "Sign-up funnel");
		assert.equal(report.kind, "funnel");
		assert.deepEqual(report.query.steps.map((s) => s.event), ["page_view", "signup", "purchase"]);
		const board = await api("/v1/boards", { method: "POST", key: admin, json: { name: "People", layout: [{ report_id: report.id, width: 12 }] } });
		await page.goto(url(`/boards/${board.id}`));
		await page.waitForSelector(`.tile[data-report="${report.id}"] [data-testid="funnel-table"]`, { state: "attached", timeout: 60_000 });
		const { tiles } = await api(`/v1/boards/${board.id}/results`, { key: admin });
		assert.deepEqual(await values(page.locator(`.tile[data-report="${report.id}"] td[data-col="entered"]`)), tiles[0].steps.map((s) => s.entered));
		await capture("board-funnel");

		// Retention saved as curves and a lifecycle saved as a table are drawn so on a board.
		const mk = (name, chart, query) => api("/v1/reports", { method: "POST", key: admin, json: { name, kind: "retention", chart, query } });
		const curvesReport = await mk("Weekly retention curves", "line", { form: "retention", period: "week", date_range: "30d" });
		const lcReport = await mk("Weekly lifecycle table", "table", { form: "lifecycle", period: "week", date_range: "30d" });
		const board2 = await api("/v1/boards", { method: "POST", key: admin, json: { name: "Retention", layout: [{ report_id: curvesReport.id, width: 12 }, { report_id: lcReport.id, width: 12 }] } });
		await page.goto(url(`/boards/${board2.id}`));
		const curvesTile = page.locator(`.tile[data-report="${curvesReport.id}"] [data-testid="retention-curves"]`);
		await curvesTile.waitFor({ timeout: 60_000 });
		const r2 = await post("/v1/retention", { form: "retention", period: "week", date_range: "30d" });
		const drawn2 = JSON.parse(await curvesTile.getAttribute("data-series"));
		assert.deepEqual(drawn2.slice(1), [r2.average.rates, ...r2.cohorts.filter((c) => c.people > 0).map((c) => c.rates)].map((rs) => rs.slice(0, drawn2[0].length)), "the tile's curves are the API's rates");
		const lcTile = page.locator(`.tile[data-report="${lcReport.id}"]`);
		await lcTile.getByTestId("lifecycle-table").waitFor({ timeout: 60_000 });
		assert.equal(await lcTile.locator(".lc-chart").count(), 0, "a lifecycle saved as a table has no bars");
		await capture("board-retention");

		await page.goto(url("/"));
		await ready(".overview");
		await page.getByRole("button", { name: "Find what stands out" }).click(T);
		await ready('[data-testid="insights-panel"]');
		const summary = await post("/v1/insights", { metrics: ["count", "uniques"], date_range: "30d", movers: { dimensions: ["event"], limit: 5 } });
		assert.deepEqual(await page.getByTestId("highlights").locator("li").allTextContents(), summary.highlights);
		await page.getByTestId("insights-panel").scrollIntoViewIfNeeded();
		await capture("overview-insights");

		// Saved as an insights report (its POST /v1/insights body), it is a board tile with the same highlights.
		await page.getByTestId("insights-panel").getByRole("button", { name: "Save as report" }).click(T);
		const saveIns = page.getByTestId("save-report");
		await saveIns.getByLabel("Report name").fill("What stands out, 30 days", T);
		await saveIns.getByRole("button", { name: "Save as report" }).click(T);
		await saveIns.getByTestId("saved").waitFor(T);
		await capture("overview-insights-save");
		const insReport = (await api("/v1/reports", { key: admin })).reports.find((r) => r.name === "What stands out, 30 days");
		assert.equal(insReport.kind, "insights");
		assert.deepEqual(insReport.query, { metrics: ["count", "uniques"], date_range: "30d", movers: { dimensions: ["event"], limit: 5 } });
		const board3 = await api("/v1/boards", { method: "POST", key: admin, json: { name: "Stands out", layout: [{ report_id: insReport.id, width: 12 }] } });
		await page.goto(url(`/boards/${board3.id}`));
		const insTile = page.locator(`.tile[data-report="${insReport.id}"] [data-testid="insights-summary"]`);
		await insTile.waitFor({ timeout: 60_000 });
		const insTiles = (await api(`/v1/boards/${board3.id}/results`, { key: admin })).tiles;
		assert.deepEqual(await insTile.getByTestId("highlights").locator("li").allTextContents(), insTiles[0].highlights);
		await signInOn(page, platform.url, DEV.readKey);
	});

	it("people: the Overview's insights mark the flagged buckets in one round trip; a breakdown row's people, bookmarkable", async () => {
		setPhase("people");
		await page.waitForSelector(".overview", T);
		const filters = [["is", "event", "conversation_escalated"]];
		const flagged = (await post("/v1/query", { metrics: ["count"], date_range: "30d", filters, granularity: "day", insights: { anomalies: true, trend: true, forecast: { horizon: 7 } } })).insights.series[0].anomalies;
		assert.ok(flagged.length > 0, "the API flags the outage");
		const sent = [];
		const onRequest = (r) => new URL(r.url()).pathname.startsWith("/v1/") && sent.push(`${r.method()} ${new URL(r.url()).pathname}`);
		page.on("request", onRequest);
		await page.goto(url("/?f=is:event:conversation_escalated&g=day&ins=1"));
		await ready(".overview");
		const marks = page.getByTestId("anomalies").locator("li");
		await marks.first().waitFor(T);
		page.off("request", onRequest);
		assert.deepEqual(sent.filter((r) => r !== "GET /v1/tenant"), ["POST /v1/query/batch"], "insights ride in the overview's one batch");
		assert.deepEqual(await marks.evaluateAll((els) => els.map((e) => e.dataset.time)), flagged.map((a) => a.time), "a marker at each flagged bucket");
		assert.deepEqual(await marks.evaluateAll((els) => els.map((e) => Number(e.dataset.value))), flagged.map((a) => a.value));
		await capture("overview-insights-chart");
		// Off again: the ordinary chart, no `ins` in the URL.
		await page.getByRole("button", { name: "Insights", exact: true }).click();
		await page.waitForFunction(() => !new URL(location.href).searchParams.has("ins"));
		assert.equal(await page.getByTestId("insights-chart").count(), 0);

		// The people behind a breakdown row: its users count is the link; the list is POST /v1/people's for that value.
		await page.goto(url("/"));
		await ready(".overview");
		const us = page.locator('section[data-dim="country"] tr', { has: page.locator("button.row-filter", { hasText: "(US)" }) });
		await us.locator("button.people-link").click();
		await page.waitForFunction(() => new URL(location.href).searchParams.has("who"));
		assert.deepEqual(JSON.parse(new URL(page.url()).searchParams.get("who")), { d: ["US"], by: ["country"] });
		assert.equal(new URL(page.url()).searchParams.getAll("f").length, 0, "the filter-on-click is not used");
		await ready('[data-testid="people-behind"]');
		const people = await post("/v1/people", { date_range: "30d", dimensions: ["country"], row: { dimensions: ["US"] }, limit: 100 });
		const listed = () => page.getByTestId("people-behind").locator("li[data-person]").evaluateAll((els) => els.map((e) => e.dataset.person));
		assert.deepEqual(await listed(), people.people.map((p) => p.id));
		assert.match(await page.getByTestId("people-total").textContent(), new RegExp(`^${people.remaining.toLocaleString("en-US")} people`));
		await capture("overview-people");
		await page.reload();
		await ready('[data-testid="people-behind"]');
		assert.deepEqual(await listed(), people.people.map((p) => p.id), "the bookmarked overview lists the same people");
		await page.getByTestId("people-behind").getByRole("button", { name: "Close" }).click();
		await page.waitForFunction(() => !new URL(location.href).searchParams.has("who"));
	});
}
