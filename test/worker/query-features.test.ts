import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { answerQuery, TENANT_BY_ID_SQL, type TenantRow } from "../../workers/query/answer";
import { HLL_STANDARD_ERROR } from "../../workers/sketch/hll";
import { call, json, makeTenant } from "../helpers";
import { insertRows, localDate, query, type Row, rollUp } from "../rollup-data";
import { type Conversation, SUPPORT_SETTINGS, supportDesk } from "../support-data";

// One month of a support desk in New York, rolled up; every answer is checked against values
// computed here from the generated rows, and against the same query answered from raw events.
const NY = "America/New_York";
const FROM = Date.UTC(2026, 9, 1, 4); // 2026-10-01 00:00 in New York (EDT)
const TO = Date.UTC(2026, 10, 1, 4); // 2026-11-01 00:00
const RANGE = { from: "2026-10-01", to: "2026-10-31" };

let t: Awaited<ReturnType<typeof makeTenant>>;
let conversations: Conversation[];
let rows: Row[];

beforeAll(async () => {
	t = await makeTenant("qf", { timezone: NY, ...SUPPORT_SETTINGS });
	({ conversations, rows } = supportDesk(7, 600, FROM, TO - 86_400_000));
	await insertRows(t.id, rows);
	await rollUp();
}, 120_000);

const inRange = (ts: number) => ts >= FROM && ts < TO;
const within3Se = (estimate: number, truth: number) => Math.abs(estimate - truth) <= Math.max(1, 3 * HLL_STANDARD_ERROR * truth);
/** Both answers: the rollups' and the raw events'. */
async function both(body: Record<string, unknown>) {
	const rollup = await query(t.readKey, body);
	const raw = await query(t.readKey, { ...body, source: "raw" });
	expect(rollup.status, JSON.stringify(rollup.body)).toBe(200);
	expect(raw.status, JSON.stringify(raw.body)).toBe(200);
	return { rollup: rollup.body, raw: raw.body };
}
const byDim = (answer: any, i = 0) => Object.fromEntries(answer.results.map((r: any) => [r.dimensions.join("|"), r.metrics[i]]));

describe("metric filters and formulas", () => {
	it("escalation and resolution rates per channel, from rollups, equal the rates counted here", async () => {
		const body = {
			metrics: [
				{ name: "started", metric: "count", filters: [["is", "event", "conversation_started"]] },
				{ name: "escalated", metric: "count", filters: [["is", "event", "conversation_escalated"]], hidden: true },
				{ name: "resolved", metric: "count", filters: [["is", "event", "conversation_resolved"]], hidden: true },
				{ name: "escalation_rate", formula: "escalated / started", percent: true },
				{ name: "resolution_rate", formula: "resolved / started * 100" },
			],
			date_range: RANGE,
			dimensions: ["prop:channel"],
		};
		const { rollup, raw } = await both(body);
		expect(rollup.meta.plan).toBe("rollup");
		expect(rollup.meta.metrics).toEqual(["started", "escalation_rate", "resolution_rate"]);
		for (const channel of ["email", "chat", "phone"]) {
			const mine = conversations.filter((c) => c.channel === channel);
			const started = mine.filter((c) => inRange(c.start)).length;
			const escalated = mine.filter((c) => c.escalatedAt != null && inRange(c.escalatedAt)).length;
			const resolved = mine.filter((c) => c.resolvedAt != null && inRange(c.resolvedAt)).length;
			const row = rollup.results.find((r: any) => r.dimensions[0] === channel);
			expect(row.metrics[0]).toBe(started);
			expect(row.metrics[1]).toBeCloseTo((escalated / started) * 100, 9);
			expect(row.metrics[2]).toBeCloseTo((resolved / started) * 100, 9);
		}
		expect(raw.results).toEqual(rollup.results);
	});

	it("a division by zero is null, and a formula may use a formula listed before it", async () => {
		const { body } = await query(t.readKey, {
			metrics: [
				{ name: "refunds_started", metric: "count", filters: [["is", "event", "conversation_started"], ["is", "prop:intent", "no-such-intent"]] },
				"count",
				{ name: "share", formula: "count / refunds_started" },
				{ name: "half", formula: "(count - 0) / 2" },
				{ name: "twice_half", formula: "half * 2" },
			],
			date_range: RANGE,
		});
		const [zero, count, share, half, twice] = body.results[0].metrics;
		expect(zero).toBe(0);
		expect(share).toBeNull();
		expect(half).toBe(count / 2);
		expect(twice).toBe(count);
	});

	it("AI share of replies by day: a filtered metric over a filtered metric, as a daily series", async () => {
		const { rollup, raw } = await both({
			metrics: [
				{ name: "ai", metric: "count", filters: [["is", "prop:sender_type", "ai"]], hidden: true },
				{ name: "replies", metric: "count", filters: [["is", "prop:sender_type", ["ai", "agent"]]], hidden: true },
				{ name: "ai_share", formula: "ai / replies", percent: true },
			],
			date_range: RANGE,
			granularity: "day",
		});
		expect(rollup.results).toHaveLength(31);
		for (const r of rollup.results) {
			const day = r.time.slice(0, 10);
			const msgs = conversations.flatMap((c) => c.messages).filter((m) => inRange(m.ts) && localDate(NY, m.ts) === day);
			const ai = msgs.filter((m) => m.sender === "ai").length;
			const replies = msgs.filter((m) => m.sender !== "customer").length;
			if (replies === 0) expect(r.metrics[0]).toBeNull();
			else expect(r.metrics[0]).toBeCloseTo((ai / replies) * 100, 9);
		}
		expect(raw.results).toEqual(rollup.results);
	});
});

describe("distinct counts of a property", () => {
	it("unique conversations and active agents: exact from raw, within 3 standard errors from rollups", async () => {
		const { rollup, raw } = await both({ metrics: ["uniques:conversation_id", "uniques:prop:agent_id"], date_range: RANGE, dimensions: ["prop:channel"] });
		expect(rollup.meta.plan).toBe("rollup");
		expect(rollup.meta.accuracy.uniques_standard_error).toBeGreaterThan(0);
		for (const channel of ["email", "chat", "phone"]) {
			const ids = new Set(rows.filter((r) => inRange(r.timestamp) && r.properties.channel === channel).map((r) => r.properties.conversation_id));
			const agents = new Set(rows.filter((r) => inRange(r.timestamp) && r.properties.channel === channel && r.properties.agent_id != null).map((r) => r.properties.agent_id));
			const exact = raw.results.find((r: any) => r.dimensions[0] === channel).metrics;
			expect(exact).toEqual([ids.size, agents.size]);
			const est = rollup.results.find((r: any) => r.dimensions[0] === channel).metrics;
			expect(within3Se(est[0], ids.size)).toBe(true);
			expect(est[1]).toBe(agents.size);
		}
	});

	it("a property that is not rolled up is counted from raw events, and says why", async () => {
		const { body } = await query(t.readKey, { metrics: ["uniques:prop:intent"], date_range: RANGE });
		expect(body.meta.plan).toBe("raw");
		expect(body.meta.raw_reason).toContain("unique_props");
		expect(body.results[0].metrics[0]).toBe(4);
	});
});

describe("paired-event durations", () => {
	const firstResponse = (c: Conversation) => c.messages.find((m) => m.sender === "agent")?.ts ?? null;

	it("first response time per channel: started, closed, open, avg and p50/p95, exact", async () => {
		const { body } = await query(t.readKey, {
			metrics: ["started:first_response", "closed:first_response", "open:first_response", "avg:pair:first_response", "p50:pair:first_response", "p95:pair:first_response"],
			date_range: RANGE,
			dimensions: ["prop:channel"],
		});
		expect(body.meta.plan).toBe("pairs");
		for (const channel of ["email", "chat", "phone"]) {
			const mine = conversations.filter((c) => c.channel === channel && inRange(c.start));
			const durations = mine.map((c) => (firstResponse(c) == null ? null : firstResponse(c)! - c.start)).filter((d): d is number => d != null).sort((a, b) => a - b);
			const row = body.results.find((r: any) => r.dimensions[0] === channel);
			const q = (p: number) => durations[Math.floor(p * (durations.length - 1))];
			expect(row.metrics).toEqual([mine.length, durations.length, mine.length - durations.length, durations.reduce((s, d) => s + d, 0) / durations.length, q(0.5), q(0.95)].map((x) => (Number.isInteger(x) ? x : Number(x!.toPrecision(12)))));
		}
	});

	it("first response by New York day and by local hour, filtered by the start's intent and country, exact", async () => {
		const startRow = new Map(rows.filter((r) => r.event === "conversation_started").map((r) => [r.properties.conversation_id as string, r]));
		const kept = conversations.filter((c) => inRange(c.start) && c.intent !== "refund" && startRow.get(c.id)!.country !== "FR");
		const filters = [
			["is_not", "prop:intent", "refund"],
			["is_not", "country", "FR"],
		];
		const stats = (cs: Conversation[]) => {
			const d = cs.map((c) => (firstResponse(c) == null ? null : firstResponse(c)! - c.start)).filter((x): x is number => x != null).sort((a, b) => a - b);
			const round = (x: number) => (Number.isInteger(x) ? x : Number(x.toPrecision(12)));
			return [cs.length, d.length ? round(d.reduce((s, x) => s + x, 0) / d.length) : null, d.length ? d[Math.floor(0.95 * (d.length - 1))]! : null];
		};
		const metrics = ["started:first_response", "avg:pair:first_response", "p95:pair:first_response"];
		const daily = (await query(t.readKey, { metrics, date_range: RANGE, granularity: "day", filters })).body;
		expect(daily.meta.plan).toBe("pairs");
		const days = new Map<string, Conversation[]>();
		for (const c of kept) days.set(localDate(NY, c.start), [...(days.get(localDate(NY, c.start)) ?? []), c]);
		const nonEmpty = daily.results.filter((r: any) => r.metrics[0] > 0);
		expect(nonEmpty.length).toBe(days.size);
		for (const r of nonEmpty) expect(r.metrics, r.time).toEqual(stats(days.get(String(r.time).slice(0, 10))!));
		const hourly = (await query(t.readKey, { metrics, date_range: RANGE, dimensions: ["hour_of_day"], filters })).body;
		const hourOf = (ts: number) => Number(new Intl.DateTimeFormat("en-US", { timeZone: NY, hour: "numeric", hourCycle: "h23" }).format(ts));
		for (let h = 0; h < 24; h++) {
			const mine = kept.filter((c) => hourOf(c.start) === h);
			const row = hourly.results.find((r: any) => r.dimensions[0] === h);
			if (!mine.length) expect(row?.metrics[0] ?? 0).toBe(0);
			else expect(row.metrics, `hour ${h}`).toEqual(stats(mine));
		}
	});

	it("an end condition with a list of values: the first reply by an agent or the AI", async () => {
		const { body } = await query(t.readKey, { metrics: ["closed:first_reply", "min:pair:first_reply"], date_range: RANGE });
		const started = conversations.filter((c) => inRange(c.start));
		const replies = started.map((c) => c.messages.find((m) => m.sender !== "customer")?.ts).filter((ts): ts is number => ts != null);
		expect(body.results[0].metrics[0]).toBe(replies.length);
		const durations = started.flatMap((c) => {
			const first = c.messages.find((m) => m.sender !== "customer");
			return first ? [first.ts - c.start] : [];
		});
		expect(body.results[0].metrics[1]).toBe(Math.min(...durations));
	});

	it("resolution time by start week, next to an event count: two parts merged by row", async () => {
		const { body } = await query(t.readKey, {
			metrics: ["avg:pair:resolution", { name: "started", metric: "count", filters: [["is", "event", "conversation_started"]] }],
			date_range: RANGE,
			granularity: "week",
		});
		expect(body.meta.plan).toBe("mixed");
		expect(body.meta.parts.map((p: any) => p.plan)).toEqual(["pairs", "rollup"]);
		const total = body.results.reduce((s: number, r: any) => s + r.metrics[1], 0);
		expect(total).toBe(conversations.filter((c) => inRange(c.start)).length);
	});

	it("an end that arrives before its start (out of order) still closes the key once the start lands", async () => {
		const o = await makeTenant("qf-order", { timezone: "UTC", pairs: SUPPORT_SETTINGS.pairs });
		const base = Date.UTC(2026, 9, 5, 10);
		const ev = (event: string, ts: number, props: Record<string, unknown>, id: string) =>
			({ message_id: id, event, user_id: "u", anonymous_id: null, timestamp: ts, country: null, device: null, browser: null, os: null, properties: props }) as Row;
		await insertRows(o.id, [ev("message_sent", base + 90_000, { conversation_id: "x", sender_type: "agent" }, "o1")]);
		await rollUp();
		await insertRows(o.id, [ev("conversation_started", base, { conversation_id: "x", channel: "chat" }, "o2")]);
		await rollUp();
		const { body } = await query(o.readKey, { metrics: ["started:first_response", "avg:pair:first_response"], date_range: { from: "2026-10-05", to: "2026-10-05" } });
		expect(body.results[0].metrics).toEqual([1, 90_000]);
	});

	it("pairs added after the events arrived are built from the events already stored", async () => {
		const b = await makeTenant("qf-backfill", { timezone: NY });
		const { conversations: cs, rows: rs } = supportDesk(11, 80, FROM, TO - 86_400_000);
		await insertRows(b.id, rs);
		await rollUp();
		const before = await query(b.readKey, { metrics: ["started:first_response"], date_range: RANGE });
		expect(before.status).toBe(400);
		const patched = await call(`/v1/admin/tenants/${b.id}`, { method: "PATCH", headers: { authorization: "Bearer ew_dev_admin" }, json: { pairs: SUPPORT_SETTINGS.pairs } });
		expect(patched.status).toBe(200);
		await rollUp();
		const { body } = await query(b.readKey, { metrics: ["started:first_response", "closed:first_response"], date_range: RANGE });
		const started = cs.filter((c) => inRange(c.start));
		expect(body.results[0].metrics).toEqual([started.length, started.filter((c) => firstResponse(c) != null).length]);
	});

	it("a pair that is not configured is a 400 naming it", async () => {
		const { status, body } = await query(t.readKey, { metrics: ["avg:pair:nope"], date_range: RANGE });
		expect(status).toBe(400);
		expect(body.error.message).toContain("'nope'");
		expect(body.error.message).toContain("first_response");
	});
});

describe("distributions", () => {
	const edges = [0, 1000, 5000, 30_000];
	const binOf = (v: number) => (v < 0 ? null : [...edges].reverse().find((e) => v >= e)!);

	it("response time histogram with explicit edges: exact from raw and from rollups (values kept off the edges)", async () => {
		const { rollup, raw } = await both({ metrics: ["count"], date_range: RANGE, dimensions: [{ dimension: "bins:response_time_ms", edges }], order_by: [["bins:response_time_ms", "asc"]] });
		expect(rollup.meta.plan).toBe("rollup");
		expect(rollup.meta.bins).toEqual(edges);
		const expected = new Map<number | null, number>();
		for (const m of conversations.flatMap((c) => c.messages)) if (m.responseMs != null && inRange(m.ts)) expected.set(binOf(m.responseMs), (expected.get(binOf(m.responseMs)) ?? 0) + 1);
		expect(rollup.results.map((r: any) => [r.dimensions[0], r.metrics[0]])).toEqual([...expected.entries()].sort((a, b) => a[0]! - b[0]!));
		expect(raw.results).toEqual(rollup.results);
	});

	it("automatic bins are round edges over the whole range, and the bins add up to the count", async () => {
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: RANGE, dimensions: [{ dimension: "bins:ai_confidence", bins: 10 }] });
		const confidences = conversations.flatMap((c) => c.messages).filter((m) => m.confidence != null && inRange(m.ts)).map((m) => m.confidence!);
		expect(body.meta.bins[0]).toBeLessThanOrEqual(Math.min(...confidences));
		expect(body.meta.bins.at(-1)).toBeLessThanOrEqual(Math.max(...confidences));
		// Equal steps of 1, 2 or 5 times a power of ten, starting on a multiple of the step.
		const step = body.meta.bins[1] - body.meta.bins[0];
		const mantissa = step / 10 ** Math.floor(Math.log10(step));
		expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-9)).toBe(true);
		body.meta.bins.forEach((e: number, i: number) => expect(e).toBeCloseTo(body.meta.bins[0] + i * step, 9));
		expect(Math.abs(body.meta.bins[0] / step - Math.round(body.meta.bins[0] / step))).toBeLessThan(1e-9);
		expect(body.meta.bins.length).toBeLessThanOrEqual(11);
		expect(body.results.reduce((s: number, r: any) => s + r.metrics[0], 0)).toBe(confidences.length);
	});

	it("a distribution with other metrics is answered from raw events", async () => {
		const { body } = await query(t.readKey, { metrics: ["count", "uniques"], date_range: RANGE, dimensions: ["bins:score"] });
		expect(body.meta.plan).toBe("raw");
		const scores = conversations.filter((c) => c.score != null && c.resolvedAt != null && inRange(c.resolvedAt + 1000));
		expect(body.results.reduce((s: number, r: any) => s + r.metrics[0], 0)).toBe(scores.length);
	});
});

describe("shapes: quarters and years in a DST zone, top N per group, trending", () => {
	it("quarter and year buckets follow New York's calendar across DST, from rollups and raw", async () => {
		const y = await makeTenant("qf-years", { timezone: NY, retention_days: 3650 });
		// Events a minute after and before local midnight at each quarter's start, in 2025 and 2026.
		const stamps: number[] = [];
		for (const year of [2025, 2026])
			for (const month of [0, 3, 6, 9]) {
				const midnight = Date.parse(`${year}-${String(month + 1).padStart(2, "0")}-01T00:00:00${month === 0 ? "-05:00" : "-04:00"}`);
				stamps.push(midnight + 60_000, midnight - 60_000);
			}
		await insertRows(y.id, stamps.map((ts, i) => ({ message_id: `y${i}`, event: "e", user_id: "u", anonymous_id: null, timestamp: ts, country: null, device: null, browser: null, os: null, properties: {} })));
		await rollUp();
		const body = { metrics: ["count"], date_range: { from: "2025-01-01", to: "2026-12-31" }, granularity: "quarter" };
		const rollup = await query(y.readKey, body);
		const raw = await query(y.readKey, { ...body, source: "raw" });
		const quarterOf = (ts: number) => {
			const d = localDate(NY, ts);
			return `${d.slice(0, 4)}-${String(Math.floor((Number(d.slice(5, 7)) - 1) / 3) * 3 + 1).padStart(2, "0")}`;
		};
		const expected = new Map<string, number>();
		for (const ts of stamps) if (ts >= Date.parse("2025-01-01T05:00:00Z")) expected.set(quarterOf(ts), (expected.get(quarterOf(ts)) ?? 0) + 1);
		expect(rollup.body.results).toHaveLength(8);
		expect(rollup.body.results.map((r: any) => [r.time.slice(0, 7), r.metrics[0]])).toEqual([...expected.entries()].sort());
		expect(rollup.body.results[1].time).toBe("2025-04-01T00:00:00-04:00");
		expect(raw.body.results).toEqual(rollup.body.results);
		const years = await query(y.readKey, { ...body, granularity: "year" });
		expect(years.body.results.map((r: any) => [r.time, r.metrics[0]])).toEqual([
			["2025-01-01T00:00:00-05:00", 8],
			["2026-01-01T00:00:00-05:00", 7],
		]);
	});

	it("the top 2 intents of each channel", async () => {
		const { rollup } = await both({ metrics: ["count"], date_range: RANGE, dimensions: ["prop:channel", "prop:intent"], filters: [["is", "event", "conversation_started"]], limit_per_group: 2 });
		const counts = new Map<string, number>();
		for (const c of conversations) if (inRange(c.start)) counts.set(`${c.channel}|${c.intent}`, (counts.get(`${c.channel}|${c.intent}`) ?? 0) + 1);
		for (const channel of ["email", "chat", "phone"]) {
			const got = rollup.results.filter((r: any) => r.dimensions[0] === channel).map((r: any) => r.metrics[0]);
			const want = [...counts.entries()].filter(([k]) => k.startsWith(`${channel}|`)).map(([, n]) => n).sort((a, b) => b - a).slice(0, 2);
			expect(got).toEqual(want);
		}
		expect(rollup.results).toHaveLength(6);
		// The rows of a group come together.
		const channels = rollup.results.map((r: any) => r.dimensions[0]);
		expect(channels.filter((c: string, i: number) => i === 0 || c !== channels[i - 1])).toHaveLength(3);
	});

	it("trending: ordered by the change against the previous period", async () => {
		const { body } = await query(t.readKey, {
			metrics: ["count"],
			date_range: { from: "2026-10-16", to: "2026-10-30" },
			dimensions: ["prop:intent"],
			compare: "previous_period",
			order_by: [["change:count", "desc"]],
		});
		const changes = body.results.map((r: any) => r.comparison.change[0]);
		expect(changes).toEqual([...changes].sort((a: number, b: number) => b - a));
		for (const r of body.results) expect(r.comparison.change[0]).toBe(r.metrics[0] - r.comparison.metrics[0]);
	});
});

describe("freshness", () => {
	it("meta.complete_through: the oldest acknowledged event still in the hub's buffer, or now", async () => {
		const f = await makeTenant("qf-through");
		const { flush } = await import("../helpers");
		const before = Date.now();
		await call("/v1/events", { method: "POST", key: f.ingestKey, json: { events: [{ event: "a", user_id: "u" }] } });
		const acked = Date.now();
		await new Promise((r) => setTimeout(r, 50));
		const buffered = await query(f.readKey, { metrics: ["count"], date_range: "today" });
		// Not flushed (the test pool's flush delay is ten minutes): in the buffer, so not in the answer.
		expect(buffered.body.results[0].metrics[0]).toBe(0);
		const through = Date.parse(buffered.body.meta.complete_through);
		// The event's arrival, not the query's time: complete only up to what is not waiting.
		expect(through).toBeGreaterThanOrEqual(before - 1);
		expect(through).toBeLessThanOrEqual(acked);
		await flush(f.id);
		const t0 = Date.now();
		const flushed = await query(f.readKey, { metrics: ["count"], date_range: "today" });
		expect(flushed.body.results[0].metrics[0]).toBe(1);
		expect(Date.parse(flushed.body.meta.complete_through)).toBeGreaterThanOrEqual(t0 - 1);
	});

	it("a query over the current minute agrees with the live counters", async () => {
		const f = await makeTenant("qf-live");
		const { flush } = await import("../helpers");
		await call("/v1/events", { method: "POST", key: f.ingestKey, json: { events: Array.from({ length: 7 }, (_, i) => ({ event: "tick", user_id: `u${i}` })) } });
		await flush(f.id);
		const snap = await json(await call("/v1/live/snapshot", { key: f.readKey }));
		const minute = snap.current_minute.t * 1000;
		const { body } = await query(f.readKey, { metrics: ["count", "uniques"], date_range: { from: new Date(minute).toISOString(), to: new Date(minute + 60_000).toISOString() } });
		expect(body.results[0].metrics).toEqual([snap.current_minute.count, snap.uniques.last_5m]);
	});
});

describe("new 400s name their field", () => {
	const cases: [string, unknown, string][] = [
		["formula over an unknown metric", { metrics: ["count", { name: "r", formula: "count / nope" }] }, "metrics[1].formula"],
		["formula syntax", { metrics: ["count", { name: "r", formula: "count / (2" }] }, "metrics[1].formula"],
		["formula listed before the formula it uses", { metrics: ["count", { name: "a", formula: "b * 2" }, { name: "b", formula: "count" }] }, "metrics[1].formula"],
		["filtered metric without a name", { metrics: [{ metric: "count", filters: [["is", "event", "x"]] }] }, "metrics[0].name"],
		["unknown metric in an object", { metrics: [{ metric: "median", name: "m" }] }, "metrics[0].metric"],
		["every metric hidden", { metrics: [{ metric: "count", hidden: true }] }, "metrics"],
		["edges not ascending", { metrics: ["count"], dimensions: [{ dimension: "bins:response_time_ms", edges: [5, 1] }] }, "dimensions[0].edges"],
		["edges and bins both", { metrics: ["count"], dimensions: [{ dimension: "bins:response_time_ms", edges: [1], bins: 3 }] }, "dimensions[0].bins"],
		["two distributions", { metrics: ["count"], dimensions: ["bins:score", "bins:ai_confidence"] }, "dimensions"],
		["limit_per_group without groups", { metrics: ["count"], dimensions: ["prop:channel"], limit_per_group: 2 }, "limit_per_group"],
		["change without compare", { metrics: ["count"], dimensions: ["prop:channel"], order_by: [["change:count", "desc"]] }, "order_by[0][0]"],
		["bad pair metric", { metrics: ["sum:pair:first_response"] }, "metrics[0]"],
		["pair with a distribution", { metrics: ["started:first_response"], dimensions: ["bins:score"] }, "dimensions"],
		["bad granularity lists quarter and year", { metrics: ["count"], granularity: "decade" }, "granularity"],
	];
	it.each(cases)("%s", async (_name, body, field) => {
		const { status, body: res } = await query(t.readKey, { date_range: RANGE, ...(body as object) });
		expect(status).toBe(400);
		expect(res.error.code).toBe("invalid_query");
		const paths = [res.error.details.field, ...(res.error.details.issues ?? []).map((i: any) => i.path)];
		expect(paths).toContain(field);
	});

	it("the granularity message lists quarter and year", async () => {
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: RANGE, granularity: "decade" });
		expect(body.error.message).toMatch(/month, quarter, year/);
	});
});

describe("tenant settings", () => {
	it("unique_props and pairs are validated and returned by the admin API", async () => {
		const admin = { authorization: "Bearer ew_dev_admin" };
		const bad = await call(`/v1/admin/tenants/${t.id}`, { method: "PATCH", headers: admin, json: { pairs: [{ name: "x", key: "k", start: "a", end: "b" }, { name: "x", key: "k", start: "a", end: "b" }] } });
		expect(bad.status).toBe(400);
		expect(JSON.stringify(await json(bad))).toContain("pairs");
		const got = await json(await call(`/v1/admin/tenants/${t.id}`, { headers: admin }));
		expect(got.unique_props).toEqual(SUPPORT_SETTINGS.unique_props);
		expect(got.pairs.map((p: any) => p.name)).toEqual(["first_response", "first_reply", "resolution"]);
	});
});

describe("the answer cache", () => {
	it("serves an identical query on unchanged data from the cache, and never after a flush or a pass", async () => {
		const c = await makeTenant("qf-cache");
		const { flush } = await import("../helpers");
		const send = async (n: number) => {
			await call("/v1/events", { method: "POST", key: c.ingestKey, json: { events: Array.from({ length: n }, (_, i) => ({ event: "e", user_id: `u${i}` })) } });
			await flush(c.id);
		};
		await send(3);
		const body = { metrics: ["count"], date_range: "7d" };
		const first = await query(c.readKey, body);
		const second = await query(c.readKey, body);
		if (first.body.meta.cache === "miss" && second.body.meta.cache === "hit") expect(second.body.results).toEqual(first.body.results);
		else {
			// The minute turned between the two: the next two agree.
			const again = await query(c.readKey, body);
			expect(again.body.meta.cache).toBe("hit");
		}
		await send(2);
		const afterFlush = await query(c.readKey, body);
		expect(afterFlush.body.meta.cache).toBe("miss");
		expect(afterFlush.body.results[0].metrics[0]).toBe(5);
		await rollUp();
		const afterPass = await query(c.readKey, body);
		expect(afterPass.body.meta.cache).toBe("miss");
		expect(afterPass.body.results[0].metrics[0]).toBe(5);
		// Another tenant's identical query is its own.
		const other = await makeTenant("qf-cache-2");
		expect((await query(other.readKey, body)).body.results[0].metrics[0]).toBe(0);
	});

	it("identical queries arriving together share one computation (many viewers opening one board at once)", async () => {
		// answerQuery itself, called six times in one tick: over HTTP the requests' arrival would
		// depend on timing. The first computes; the five others wait for its answer.
		const tenant = await env.DB.prepare(TENANT_BY_ID_SQL).bind(t.id).first<TenantRow>();
		const body = { metrics: ["count", "p95:response_time_ms"], date_range: RANGE, dimensions: ["prop:channel"], filters: [["is", "event", "message_sent"]] };
		const now = Date.now();
		const answers = await Promise.all(Array.from({ length: 6 }, () => answerQuery(env.DB, t.id, body, tenant, now)));
		expect(answers.map((a) => a.meta.cache)).toEqual(["miss", "hit", "hit", "hit", "hit", "hit"]);
		for (const a of answers) expect(a.results).toEqual(answers[0]!.results);
	});
});
