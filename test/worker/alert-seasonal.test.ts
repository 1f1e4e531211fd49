import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { seasonalVerdict, step, type Transition } from "../../workers/alerts/evaluate";
import type { AlertRow } from "../../workers/alerts/model";
import { alertContext, evaluateAlert } from "../../workers/alerts/run";
import { anomalies } from "../../workers/insights/analyze";
import type { ConditionJson } from "../../workers/notify/render";
import { TENANT_BY_ID_SQL, type TenantRow } from "../../workers/query/answer";
import { call, json, makeTenant } from "../helpers";
import { insertRows, type Row } from "../rollup-data";

// Alerts on an anomaly as `insights` flags it: the seasonal method runs the insights detector
// (workers/insights/analyze.ts) over the rule's hourly or daily buckets and judges the last one.

const DAY = 86_400_000;
/** A weekly shape, a little noise, and a spike of +60 on day `spike` (none when null). */
const WEEK = [40, 52, 58, 55, 47, 22, 18];
const NOISE = [0, 1, -1, 2, -2, 1, -1, 0, 2, -1, 1];
const series = (days: number, spike: number | null) => Array.from({ length: days }, (_, d) => WEEK[d % 7]! + NOISE[d % NOISE.length]! + (d === spike ? 60 : 0));
const cond: Extract<ConditionJson, { type: "anomaly" }> = { type: "anomaly", method: "seasonal", direction: "up", z: 4.5, clear_z: 3.5, weeks: 4, min_weeks: 3, min_delta: 0 };

/** Evaluates day by day (each evaluation sees the days before it, as the rule's query would), through the state machine. */
function run(values: number[], firstJudged: number): { day: number; t: Transition }[] {
	let state: "ok" | "firing" = "ok";
	const out: { day: number; t: Transition }[] = [];
	for (let d = firstJudged; d < values.length; d++) {
		const v = seasonalVerdict(cond, values.slice(d - 35, d + 1), 7);
		const t = step(state, "breach" in v ? v : null, d * DAY, null, 0);
		if (t) out.push({ day: d, t });
		if (t === "fire") state = "firing";
		if (t === "resolve") state = "ok";
	}
	return out;
}

describe("seasonal anomaly rules: the insights detector on the rule's buckets", () => {
	it("on a scripted series: an injected spike fires once and resolves once; a clean seasonal series never fires", () => {
		expect(run(series(60, 47), 40)).toEqual([
			{ day: 47, t: "fire" },
			{ day: 48, t: "resolve" },
		]);
		expect(run(series(60, null), 40)).toEqual([]);
		// It is the same judgement insights makes of that day over the same buckets.
		const values = series(48, 47).slice(12);
		const flagged = anomalies(values, 7, { threshold: 4.5 }).points.filter((p) => p.anomaly);
		expect(flagged.map((p) => p.index)).toEqual([values.length - 1]);
		expect((seasonalVerdict(cond, values, 7) as any).details.z).toBeCloseTo(flagged[0]!.score, 4);
	}, 60_000);

	it("give no verdict (and say why) with too little history", () => {
		const v = seasonalVerdict(cond, series(10, null), 7);
		expect("breach" in v).toBe(false);
		expect((v as { reason: string }).reason).toMatch(/needs at least 21 buckets of history/);
	}, 60_000);

	it("evaluated on real events: fires on the spike day and resolves the day after; windows other than an hour or a day are refused", async () => {
		const t = await makeTenant("alr-seasonal");
		const start = Date.UTC(2026, 8, 1);
		const counts = series(60, 47);
		const rows: Row[] = [];
		counts.forEach((n, d) => {
			for (let j = 0; j < n; j++)
				rows.push({ message_id: `s${d}-${j}`, event: "ticket_opened", user_id: `u${j}`, anonymous_id: null, timestamp: start + d * DAY + 9 * 3_600_000 + j * 60_000, country: null, device: null, browser: null, os: null, properties: {} });
		});
		await insertRows(t.id, rows);
		const body = { name: "Unusual tickets", query: { metrics: ["count"], filters: [["is", "event", "ticket_opened"]] }, window_minutes: 1440, condition: { type: "anomaly", method: "seasonal", z: 4.5 }, min_interval_minutes: 0, destinations: [{ type: "email", to: ["ops@example.com"] }], enabled: false };
		const created = await json(await call("/v1/alerts", { method: "POST", key: t.readKey, json: body }));
		expect(created.condition).toMatchObject({ type: "anomaly", method: "seasonal", z: 4.5, clear_z: 3.5 });
		const tenant = await env.DB.prepare(TENANT_BY_ID_SQL).bind(t.id).first<TenantRow>();
		const seen: { day: number; t: Transition; value: number | null }[] = [];
		for (let d = 41; d < 52; d++) {
			const row = (await env.DB.prepare("SELECT * FROM alerts WHERE id = ?1").bind(created.id).first<AlertRow>())!;
			// At 01:00 on day d+1 the last complete day is d.
			const ctx = { ...alertContext(env, t.id, tenant), pendingSince: async () => null };
			const r = await evaluateAlert(env, row, ctx, start + (d + 1) * DAY + 3_600_000);
			expect(r.value).toBe(counts[d]);
			if (r.transition) seen.push({ day: d, t: r.transition, value: r.value });
		}
		expect(seen).toEqual([
			{ day: 47, t: "fire", value: counts[47] },
			{ day: 48, t: "resolve", value: counts[48] },
		]);
		const events = await json(await call(`/v1/alerts/${created.id}/events`, { key: t.readKey }));
		expect((events.events as any[]).map((e) => e.kind).sort()).toEqual(["fired", "resolved"]);

		const bad = await call("/v1/alerts", { method: "POST", key: t.readKey, json: { ...body, window_minutes: 15 } });
		const err = await json(bad);
		expect(bad.status).toBe(400);
		expect(err.error.details.issues[0].path).toBe("window_minutes");
		const patch = await call(`/v1/alerts/${created.id}`, { method: "PATCH", key: t.readKey, json: { window_minutes: 30 } });
		expect(patch.status).toBe(400);
		expect((await json(patch)).error.message).toMatch(/^window_minutes: a seasonal anomaly rule judges whole hours or days/);
	}, 60_000);
});
