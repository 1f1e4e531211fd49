import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { runDeliveries } from "../../workers/notify/deliver";
import { describe as describeCadence, nextRunAt, type Cadence } from "../../workers/schedules/calendar";
import type { ScheduleRow } from "../../workers/schedules/model";
import { runSchedule, runSchedules } from "../../workers/schedules/run";
import { ADMIN, type AdminTenant, call, fieldOf, json, makeTenant, send, withAdminKey } from "../helpers";
import { fakeExporter, fakeNet, outbox, testDeps, verifyStandardWebhook } from "../notify-kit";
import { dataset, insertRows } from "../rollup-data";

// Scheduled reports: the calendar (DST included), the API, the cron's runs (a missed tick caught up
// once, never twice), and the deliveries of a run once its export is done: email with the PDF and a
// plain-text KPI summary, Slack with the KPIs and the link, a signed webhook with a JSON summary.

const iso = (ms: number) => new Date(ms).toISOString();
const NY = "America/New_York";
const daily = (hour: number, minute: number, timezone = NY): Cadence => ({ frequency: "daily", hour, minute, weekday: null, month_day: null, timezone });
/** The runs of a cadence after `from`, one after the other. */
const runs = (c: Cadence, from: number, n: number) => {
	const out: string[] = [];
	for (let t = from, i = 0; i < n; i++) out.push(iso((t = nextRunAt(c, t))));
	return out;
};

describe("the calendar", () => {
	it("02:30 on a spring-forward day runs when the clock jumps past it (03:00), once; the days around it at 02:30", () => {
		// New York, 2026-03-08: 02:00 EST → 03:00 EDT.
		expect(runs(daily(2, 30), Date.UTC(2026, 2, 6, 12), 4)).toEqual([
			"2026-03-07T07:30:00.000Z", // 02:30 EST
			"2026-03-08T07:00:00.000Z", // 03:00 EDT: 02:30 does not exist
			"2026-03-09T06:30:00.000Z", // 02:30 EDT
			"2026-03-10T06:30:00.000Z",
		]);
	});

	it("01:30 on a fall-back day runs once, at its first occurrence (EDT), not again an hour later (EST)", () => {
		// New York, 2026-11-01: 02:00 EDT → 01:00 EST, so 01:30 happens twice.
		const r = runs(daily(1, 30), Date.UTC(2026, 9, 30, 12), 3);
		expect(r).toEqual(["2026-10-31T05:30:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
		// Right after the first 01:30, the next run is the next day's, not the repeated 01:30 (06:30Z).
		expect(iso(nextRunAt(daily(1, 30), Date.UTC(2026, 10, 1, 5, 30)))).toBe("2026-11-02T06:30:00.000Z");
	});

	it("Europe too: weekly on Mondays 09:00 Paris across the October change; 02:30 on the March change", () => {
		const weekly: Cadence = { frequency: "weekly", hour: 9, minute: 0, weekday: 1, month_day: null, timezone: "Europe/Paris" };
		expect(runs(weekly, Date.UTC(2026, 9, 15), 3)).toEqual(["2026-10-19T07:00:00.000Z", "2026-10-26T08:00:00.000Z", "2026-11-02T08:00:00.000Z"]);
		expect(runs(daily(2, 30, "Europe/Paris"), Date.UTC(2026, 2, 28, 12), 2)).toEqual(["2026-03-29T01:00:00.000Z", "2026-03-30T00:30:00.000Z"]);
	});

	it("monthly: day 31 is each month's last day; day 15 in a time zone", () => {
		const last: Cadence = { frequency: "monthly", hour: 8, minute: 0, weekday: null, month_day: 31, timezone: "UTC" };
		expect(runs(last, Date.UTC(2027, 0, 1), 4)).toEqual(["2027-01-31T08:00:00.000Z", "2027-02-28T08:00:00.000Z", "2027-03-31T08:00:00.000Z", "2027-04-30T08:00:00.000Z"]);
		const mid: Cadence = { frequency: "monthly", hour: 0, minute: 15, weekday: null, month_day: 15, timezone: "Asia/Kolkata" };
		expect(runs(mid, Date.UTC(2026, 11, 20), 2)).toEqual(["2027-01-14T18:45:00.000Z", "2027-02-14T18:45:00.000Z"]);
		expect(describeCadence(last)).toBe("on the last day of every month at 08:00 (UTC)");
		expect(describeCadence(mid)).toBe("on the 15th of every month at 00:15 (Asia/Kolkata)");
		expect(describeCadence({ ...mid, frequency: "weekly", weekday: 5 })).toBe("every Friday at 00:15 (Asia/Kolkata)");
	});
});

const FROM = Date.UTC(2026, 10, 2);
const TO = Date.UTC(2026, 10, 16);
const kpiQuery = { metrics: ["count", "uniques"], date_range: { from: "2026-11-09", to: "2026-11-15" } };
let a: AdminTenant;
let b: AdminTenant;
let report: string;
let board: string;
let secretA: string;
const HOOK = "https://hooks.example.com/reports";
const SLACK = "https://hooks.slack.example.com/services/T/B/C";
const DNS = { "hooks.example.com": ["93.184.216.34"], "hooks.slack.example.com": ["34.200.1.1"] };

beforeAll(async () => {
	a = await withAdminKey(await makeTenant("sch-a", { timezone: NY }));
	b = await withAdminKey(await makeTenant("sch-b"));
	await insertRows(a.id, dataset(31, 1_500, FROM, TO, "sa"));
	report = (await send("POST", "/v1/reports", a.readKey, { name: "Weekly KPIs", chart: "number", query: kpiQuery })).body.id;
	const second = (await send("POST", "/v1/reports", a.readKey, { name: "Purchases", chart: "line", query: { metrics: ["count", "sum:amount"], date_range: kpiQuery.date_range, filters: [["is", "event", "purchase"]], granularity: "day" } })).body.id;
	board = (await send("POST", "/v1/boards", a.readKey, { name: "Monday board", layout: [{ report_id: report }, { report_id: second }] })).body.id;
	secretA = (await send("POST", "/v1/webhook-secrets", a.adminKey, {})).body.secret;
}, 60_000);

const base = () => ({ name: "Monday KPIs", report_id: report, frequency: "weekly", weekday: 1, hour: 8, destinations: [{ type: "email", to: ["team@example.com"] }] });

describe("schedules (API)", () => {
	it("are created, listed, read, updated and deleted; the tenant's time zone by default; other tenants' answer 404", async () => {
		const before = Date.now();
		const created = await send("POST", "/v1/schedules", a.readKey, { ...base(), enabled: false });
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		const s = created.body;
		expect(s).toEqual({
			id: expect.stringMatching(/^sch_[a-z2-9]{16}$/),
			name: "Monday KPIs",
			report_id: report,
			frequency: "weekly",
			hour: 8,
			minute: 0,
			weekday: 1,
			month_day: null,
			timezone: NY,
			description: "every Monday at 08:00 (America/New_York)",
			format: "pdf",
			destinations: [{ type: "email", to: ["team@example.com"] }],
			enabled: false,
			next_run_at: null,
			last_run_at: null,
			created_at: expect.any(String),
			updated_at: s.created_at,
		});
		expect((await send("GET", `/v1/schedules/${s.id}`, a.adminKey)).body).toEqual(s);
		expect((await send("GET", "/v1/schedules", a.readKey)).body.schedules.map((x: any) => x.id)).toContain(s.id);
		const on = await send("PATCH", `/v1/schedules/${s.id}`, a.readKey, { enabled: true, weekday: "friday", minute: 30, timezone: "Europe/Paris" });
		expect(on.status, JSON.stringify(on.body)).toBe(200);
		expect(on.body).toMatchObject({ enabled: true, weekday: 5, minute: 30, timezone: "Europe/Paris", description: "every Friday at 08:30 (Europe/Paris)" });
		const next = Date.parse(on.body.next_run_at);
		expect(next).toBe(nextRunAt({ frequency: "weekly", hour: 8, minute: 30, weekday: 5, month_day: null, timezone: "Europe/Paris" }, Date.parse(on.body.updated_at)));
		expect(next).toBeGreaterThan(before);
		// Monthly: the weekday goes with the change of frequency.
		const monthly = await send("PATCH", `/v1/schedules/${s.id}`, a.readKey, { frequency: "monthly", month_day: 31 });
		expect(monthly.body).toMatchObject({ frequency: "monthly", weekday: null, month_day: 31, description: "on the last day of every month at 08:30 (Europe/Paris)" });
		for (const [m, path] of [["GET", ""], ["PATCH", ""], ["DELETE", ""], ["GET", "/deliveries"], ["POST", "/run"]] as const) {
			const other = await send(m, `/v1/schedules/${s.id}${path}`, b.readKey, m === "PATCH" ? { hour: 9 } : undefined);
			expect(other.status, `${m} ${path}`).toBe(404);
		}
		expect((await send("GET", "/v1/schedules", b.readKey)).body.schedules).toEqual([]);
		expect((await send("GET", "/v1/schedules", a.ingestKey)).status).toBe(403);
		expect((await send("DELETE", `/v1/schedules/${s.id}`, a.readKey)).body).toEqual({ id: s.id, deleted: true });
		expect((await send("GET", `/v1/schedules/${s.id}`, a.readKey)).status).toBe(404);
	});

	it("refuse invalid schedules with a 400 naming the field", async () => {
		const bad = async (body: Record<string, unknown>) => fieldOf(await send("POST", "/v1/schedules", a.readKey, { ...base(), ...body }));
		expect(await bad({ weekday: undefined })).toBe("weekday");
		expect(await bad({ weekday: 8 })).toBe("weekday");
		expect(await bad({ weekday: "someday" })).toBe("weekday");
		expect(await bad({ frequency: "monthly", weekday: undefined })).toBe("month_day");
		expect(await bad({ frequency: "daily" })).toBe("weekday");
		expect(await bad({ frequency: "hourly" })).toBe("frequency");
		expect(await bad({ hour: 24 })).toBe("hour");
		expect(await bad({ minute: 7.5 })).toBe("minute");
		expect(await bad({ timezone: "Mars/Olympus" })).toBe("timezone");
		expect(await bad({ format: "docx" })).toBe("format");
		expect(await bad({ report_id: undefined })).toBe("report_id");
		expect(await bad({ board_id: board })).toBe("board_id");
		expect(await bad({ report_id: undefined, board_id: board, format: "csv" })).toBe("format");
		expect(await bad({ destinations: [{ type: "webhook", url: "http://192.168.1.1/" }] })).toBe("destinations[0].url");
		expect(await bad({ destinations: [{ type: "email", to: [] }] })).toBe("destinations[0].to");
		// Another tenant's report is not there for this tenant.
		const theirs = (await send("POST", "/v1/reports", b.readKey, { name: "B's", chart: "number", query: kpiQuery })).body.id;
		const r = await send("POST", "/v1/schedules", a.readKey, { ...base(), report_id: theirs });
		expect(fieldOf(r)).toBe("report_id");
		expect(r.body.error.message).toBe(`report_id: no report '${theirs}' (the tenant's own reports only)`);
		// A board as xlsx is fine.
		expect((await send("POST", "/v1/schedules", a.readKey, { ...base(), report_id: undefined, board_id: board, format: "xlsx", enabled: false })).status).toBe(201);
	});
});

/** Puts a schedule's next run where a test wants it. */
async function dueAt(id: string, at: number) {
	await env.DB.prepare("UPDATE schedules SET next_run_at = ?2, enabled = 1 WHERE id = ?1").bind(id, at).run();
}
const scheduleRow = async (id: string) => (await env.DB.prepare("SELECT * FROM schedules WHERE id = ?1").bind(id).first<ScheduleRow>())!;
const deliveriesOf = async (id: string) => (await send("GET", `/v1/schedules/${id}/deliveries`, a.readKey)).body.deliveries as any[];

describe("runs", () => {
	it("follow the calendar across a DST change: 02:30 daily in New York around 2026-03-08", async () => {
		const s = (await send("POST", "/v1/schedules", a.readKey, { ...base(), frequency: "daily", weekday: undefined, hour: 2, minute: 30, enabled: false })).body;
		const kit = fakeExporter();
		const deps = testDeps(fakeNet(), outbox(), kit.exporter);
		await dueAt(s.id, Date.UTC(2026, 2, 7, 7, 30));
		const ranAt: string[] = [];
		// The cron every minute (with a tick's jitter) from 2026-03-07 07:00Z to 03-09 08:00Z, running only this schedule.
		for (let t = Date.UTC(2026, 2, 7, 7, 0); t <= Date.UTC(2026, 2, 9, 8, 0); t += 60_000) {
			const row = await scheduleRow(s.id);
			if (row.next_run_at > t + 7_000) {
				t = Math.max(t, Math.floor(row.next_run_at / 60_000) * 60_000 - 60_000);
				continue;
			}
			const r = await runSchedule(env, deps, row, t + 7_000);
			if (r.ran) ranAt.push(iso(t));
		}
		expect(ranAt).toEqual(["2026-03-07T07:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-09T06:30:00.000Z"]);
		expect(kit.started.filter((x) => x.scheduleId === s.id)).toHaveLength(3);
		await send("PATCH", `/v1/schedules/${s.id}`, a.readKey, { enabled: false });
	});

	it("a missed tick (an outage of three days) is caught up once, not three times", async () => {
		const s = (await send("POST", "/v1/schedules", a.readKey, { ...base(), frequency: "daily", weekday: undefined, hour: 8, destinations: [{ type: "email", to: ["team@example.com"] }, { type: "slack", url: SLACK }] })).body;
		const kit = fakeExporter();
		const deps = testDeps(fakeNet(DNS), outbox(), kit.exporter);
		const now = Date.now();
		await dueAt(s.id, now - 3 * 86_400_000);
		const first = await runSchedules(env, deps, { now });
		expect(first.ran).toBeGreaterThanOrEqual(1);
		const row = await scheduleRow(s.id);
		expect(row.last_run_at).toBe(now);
		expect(row.next_run_at).toBe(nextRunAt(daily(8, 0), now));
		expect(row.next_run_at).toBeGreaterThan(now);
		await runSchedules(env, deps, { now: now + 60_000 });
		await runSchedules(env, deps, { now: now + 120_000 });
		expect(kit.started.filter((x) => x.scheduleId === s.id)).toHaveLength(1);
		expect((await deliveriesOf(s.id)).map((d) => d.channel).sort()).toEqual(["email", "slack"]);
		// Two crons at once run it once.
		await dueAt(s.id, now);
		const both = await Promise.all([runSchedule(env, deps, await scheduleRow(s.id), now + 1), runSchedule(env, deps, await scheduleRow(s.id), now + 2)]);
		expect(both.filter((r) => r.ran)).toHaveLength(1);
		expect(kit.started.filter((x) => x.scheduleId === s.id)).toHaveLength(2);
		expect(await deliveriesOf(s.id)).toHaveLength(4);
		await send("DELETE", `/v1/schedules/${s.id}`, a.readKey);
	});

	it("delivers once its export is done: email with the PDF and the KPIs, Slack, a signed webhook", async () => {
		const s = (
			await send("POST", "/v1/schedules", a.readKey, {
				name: "Weekly KPIs to the team",
				report_id: report,
				frequency: "weekly",
				weekday: "monday",
				hour: 8,
				format: "pdf",
				destinations: [{ type: "email", to: ["team@example.com"] }, { type: "slack", url: SLACK }, { type: "webhook", url: HOOK }],
			})
		).body;
		const kit = fakeExporter();
		const net = fakeNet(DNS);
		net.on(SLACK, () => new Response("ok"));
		net.on(HOOK, 202);
		const mail = outbox();
		const deps = testDeps(net, mail, kit.exporter);
		const now = Date.UTC(2026, 10, 16, 13, 0, 5); // Monday 08:00:05 in New York
		await dueAt(s.id, Date.UTC(2026, 10, 16, 13, 0));
		const run = await runSchedule(env, deps, await scheduleRow(s.id), now);
		expect(run).toMatchObject({ ran: true, deliveries: 3, export_id: kit.started.at(-1)!.id });
		expect(kit.started.at(-1)).toMatchObject({ tenantId: a.id, request: { kind: "report", id: report, format: "pdf" }, scheduleId: s.id });

		// The export is still running: the deliveries wait, without using an attempt.
		await runDeliveries(env, deps, { now: now + 1_000 });
		let log = await deliveriesOf(s.id);
		expect(log.map((d) => [d.channel, d.status, d.attempts, d.export_id])).toEqual(expect.arrayContaining([["email", "pending", 0, run.export_id]]));
		expect(log.every((d) => d.status === "pending" && d.attempts === 0 && Date.parse(d.next_attempt_at) === now + 1_000 + 60_000)).toBe(true);
		expect(net.received).toHaveLength(0);

		await kit.finish(run.export_id!, 2048);
		const sentAt = now + 61_000;
		await runDeliveries(env, deps, { now: sentAt });
		log = await deliveriesOf(s.id);
		expect(log.map((d) => [d.channel, d.status, d.attempts, d.event]).sort()).toEqual([
			["email", "sent", 1, "report.ready"],
			["slack", "sent", 1, "report.ready"],
			["webhook", "sent", 1, "report.ready"],
		]);

		// The KPIs are the report's totals against the previous period, as POST /v1/query answers them.
		const q = await send("POST", "/v1/query", a.readKey, { ...kpiQuery, compare: "previous_period" });
		const [count, users] = q.body.results[0].metrics as [number, number];
		const [pc, pu] = q.body.results[0].comparison.metrics as [number, number];
		const [cc, cu] = q.body.results[0].comparison.change_pct as [number, number];
		const fmt = (n: number) => n.toLocaleString("en-US");
		const pct = (p: number) => `${p > 0 ? "+" : p < 0 ? "−" : "±"}${Math.abs(p).toFixed(1)}%`;
		const link = `https://edgewise.test/v1/exports/${run.export_id}/download?expires=${7 * 86_400}&sig=test`;
		const until = iso(sentAt + 7 * 86_400_000);

		const m = mail.sent.find((x) => x.subject === "[Edgewise] Weekly KPIs to the team: 2026-11-16")!;
		expect(m.to).toEqual(["team@example.com"]);
		expect(m.text).toBe(
			[
				"Weekly KPIs (report), every Monday at 08:00 (America/New_York).",
				"",
				"Key figures, against the previous period:",
				`• Weekly KPIs · count: ${fmt(count)} (${pct(cc)})`,
				`• Weekly KPIs · uniques: ${fmt(users)} (${pct(cu)})`,
				"",
				`Download weekly-kpis-2026-11-16.pdf (PDF, 2.0 KB; the link works until ${until}):`,
				link,
				"",
			].join("\n"),
		);
		expect(m.attachments).toEqual([{ filename: "weekly-kpis-2026-11-16.pdf", type: "application/pdf", bytes: 2048 }]);
		expect(m.html).toContain(`<a href="${link.replace(/&/g, "&amp;")}">`);
		expect(count).toBeGreaterThan(0);
		expect(pc).toBeGreaterThan(0);
		expect(pu).toBeGreaterThan(0);

		const slack = JSON.parse(net.to(SLACK)[0]!.body).text as string;
		expect(slack).toBe(
			[
				"*Weekly KPIs* (report), every Monday at 08:00 (America/New_York)",
				`• Weekly KPIs · count: ${fmt(count)} (${pct(cc)})`,
				`• Weekly KPIs · uniques: ${fmt(users)} (${pct(cu)})`,
				`<${link}|Download weekly-kpis-2026-11-16.pdf (PDF, 2.0 KB; the link works until ${until})>`,
			].join("\n"),
		);

		const hook = net.to(HOOK)[0]!;
		expect(verifyStandardWebhook(secretA, hook.headers, hook.body, Math.floor(sentAt / 1000))).toBe(true);
		expect(JSON.parse(hook.body)).toEqual({
			type: "report.ready",
			timestamp: iso(now),
			data: {
				schedule: { id: s.id, name: "Weekly KPIs to the team", when: "every Monday at 08:00 (America/New_York)" },
				target: { kind: "report", id: report, name: "Weekly KPIs" },
				format: "pdf",
				timezone: NY,
				kpis: [
					{ report: "Weekly KPIs", metric: "count", value: count, previous: pc, change_pct: cc },
					{ report: "Weekly KPIs", metric: "uniques", value: users, previous: pu, change_pct: cu },
				],
				kpi_error: null,
				export: { id: run.export_id, url: link, expires_at: until, rows: 3, bytes: 2048, filename: "weekly-kpis-2026-11-16.pdf" },
			},
		});
		// Retries later send the same body.
		const stored = await env.DB.prepare("SELECT payload FROM deliveries WHERE source_id = ?1 AND channel = 'webhook'").bind(s.id).first<{ payload: string }>();
		expect(JSON.parse(stored!.payload).event.export.url).toBe(link);
		await send("PATCH", `/v1/schedules/${s.id}`, a.readKey, { enabled: false });
	});

	it("a board's KPIs cover its reports; a failed export fails the deliveries with its reason", async () => {
		const s = (await send("POST", "/v1/schedules", a.readKey, { ...base(), report_id: undefined, board_id: board, format: "xlsx", destinations: [{ type: "email", to: ["team@example.com"] }] })).body;
		const kit = fakeExporter();
		const mail = outbox();
		const deps = testDeps(fakeNet(), mail, kit.exporter);
		const now = Date.now();
		await dueAt(s.id, now);
		const run = await runSchedule(env, deps, await scheduleRow(s.id), now);
		const payload = JSON.parse((await env.DB.prepare("SELECT payload FROM deliveries WHERE source_id = ?1").bind(s.id).first<{ payload: string }>())!.payload);
		expect(payload.event.kpis.map((k: any) => `${k.report}/${k.metric}`)).toEqual(["Weekly KPIs/count", "Weekly KPIs/uniques", "Purchases/count", "Purchases/sum:amount"]);
		await kit.fail(run.export_id!, "something broke");
		await runDeliveries(env, deps, { now: now + 1 });
		const [d] = await deliveriesOf(s.id);
		expect(d).toMatchObject({ status: "failed", attempts: 0, error: `export ${run.export_id} failed: something broke` });
		expect(mail.sent).toHaveLength(0);
		await send("DELETE", `/v1/schedules/${s.id}`, a.readKey);
	});

	it("a schedule whose report was deleted is switched off, and its log says why", async () => {
		const gone = (await send("POST", "/v1/reports", a.readKey, { name: "Soon gone", chart: "number", query: kpiQuery })).body.id;
		const s = (await send("POST", "/v1/schedules", a.readKey, { ...base(), report_id: gone })).body;
		await send("DELETE", `/v1/reports/${gone}`, a.readKey);
		const kit = fakeExporter();
		const now = Date.now();
		await dueAt(s.id, now);
		const r = await runSchedule(env, testDeps(fakeNet(), outbox(), kit.exporter), await scheduleRow(s.id), now);
		expect(r).toMatchObject({ ran: true, error: "target_missing" });
		expect((await send("GET", `/v1/schedules/${s.id}`, a.readKey)).body).toMatchObject({ enabled: false, next_run_at: null });
		expect((await deliveriesOf(s.id))[0]).toMatchObject({ status: "failed", error: `report '${gone}' no longer exists; the schedule was disabled` });
		expect(kit.started.length).toBe(0);
	});
});

describe("with the real exports", () => {
	it("POST /v1/schedules/{id}/run makes the PDF; the email carries it, its link downloads it", async () => {
		const { runExport } = await import("../../workers/exports/run");
		const s = (await send("POST", "/v1/schedules", a.readKey, { ...base(), destinations: [{ type: "email", to: ["team@example.com"] }] })).body;
		const started = await send("POST", `/v1/schedules/${s.id}/run`, a.readKey);
		expect(started.status, JSON.stringify(started.body)).toBe(202);
		expect(started.body).toMatchObject({ schedule: s.id, export_id: expect.stringMatching(/^exp_/), error: null, deliveries: [{ channel: "email", status: "pending", export_id: started.body.export_id }] });
		// The calendar did not move.
		expect((await send("GET", `/v1/schedules/${s.id}`, a.readKey)).body.next_run_at).toBe(s.next_run_at);
		for (let i = 0; i < 20 && (await runExport(env, started.body.export_id)) !== "done"; i++);
		const mail = outbox();
		const { defaultExporter } = await import("../../workers/schedules/exporter");
		await runDeliveries(env, testDeps(fakeNet(), mail, defaultExporter), { now: Date.now() });
		const m = mail.sent.at(-1)!;
		expect(m.attachments[0]).toMatchObject({ type: "application/pdf", filename: expect.stringMatching(/^weekly-kpis-\d{4}-\d\d-\d\d\.pdf$/) });
		const url = m.text.split("\n").find((l) => l.startsWith("https://edgewise.test/v1/exports/"))!;
		const file = await call(url.slice("https://edgewise.test".length));
		expect(file.status).toBe(200);
		const bytes = new Uint8Array(await file.arrayBuffer());
		expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");
		expect(bytes.length).toBe(m.attachments[0]!.bytes);
	});
});
