import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { IngestBatch, TenantHub } from "../../workers/hub/tenant-hub";
import type { CanonicalEvent } from "../../workers/ingest/event";
import { normaliseNative } from "../../workers/ingest/normalise";
import { call, d1Count, ev, flush, hub, json, makeTenant, stats } from "../helpers";

const post = (path: string, key: string | undefined, body: unknown, headers: Record<string, string> = {}) =>
	call(path, { method: "POST", key, headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

/** A value nested `depth` objects deep: {"a":{"a":…{"a":1}}}. */
function nested(depth: number): unknown {
	let v: unknown = 1;
	for (let i = 0; i < depth; i++) v = { a: v };
	return v;
}

async function expectError(res: Response, status: number, code: string) {
	const body = await json(res);
	expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
	expect(typeof body.error.message).toBe("string");
	expect(body.error).toHaveProperty("details");
	return body.error;
}

/** A canonical event as the worker would hand it to the hub, for injecting what validation now refuses. */
function canonical(id: string, extra: Partial<CanonicalEvent> = {}): CanonicalEvent {
	const made = normaliseNative({ event: "injected", user_id: "u1", message_id: id }, "", { receivedAt: Date.now() });
	if (!made.ok) throw new Error("test event invalid");
	return { ...made.event, ...extra };
}

async function inject(t: { id: string; ingestKey: string }, events: CanonicalEvent[]) {
	const { hashKey } = await import("../../workers/auth/keys");
	const batch: IngestBatch = { tenantId: t.id, keyHash: await hashKey(t.ingestKey), origin: null, receivedAt: Date.now(), events, rejections: [], contexts: [] };
	return hub(t.id).ingest(batch);
}

/** A canary sent after a hostile case: it must reach D1, or the tenant's pipeline is stalled. */
async function canaryFlows(t: { id: string; ingestKey: string }, id: string) {
	const res = await post("/v1/events", t.ingestKey, ev("canary", { message_id: id }));
	expect(res.status).toBe(200);
	await flush(t.id);
	expect(await d1Count(t.id, "message_id = ?", id)).toBe(1);
}

describe("1. poison pill: nothing accepted can stall the flush", () => {
	it("refuses context and traits nested past the depth limit, naming the field, and keeps the rest of a batch", async () => {
		const t = await makeTenant("poison-depth");
		const err = await expectError(await post("/v1/events", t.ingestKey, ev("deep", { context: nested(1000) })), 400, "too_deep");
		expect(err.message).toContain("context");
		await expectError(await post("/v1/identify", t.ingestKey, { userId: "u1", traits: nested(1000) }), 400, "too_deep");
		const mixed = await json(await post("/v1/batch", t.ingestKey, { batch: [{ type: "track", event: "ok", userId: "u1" }, { type: "identify", userId: "u2", traits: nested(40) }] }));
		expect(mixed).toMatchObject({ accepted: 1, rejected: 1 });
		expect(mixed.errors[0]).toMatchObject({ index: 1, code: "too_deep" });
		expect(mixed.errors[0].path).toMatch(/^batch\[1\]\.traits/);
		// Shallow enough passes, whatever the shape.
		expect((await post("/v1/events", t.ingestKey, ev("ok-depth", { context: nested(30) }))).status).toBe(200);
		await canaryFlows(t, "poison-depth-canary");
	});

	it("a row D1 refuses is moved aside with its reason and the rest flows on", async () => {
		const t = await makeTenant("poison-flush");
		// Bypass validation, as a hub holding events from before the fix would: D1's JSON functions refuse this nesting.
		const outcome = await inject(t, [canonical("good-1"), canonical("poison", { context: nested(1100) as Record<string, unknown> }), canonical("good-2")]);
		expect(outcome).toMatchObject({ ok: true, accepted: 3 });
		await inject(t, [canonical("good-3")]);
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(3);
		expect(await d1Count(t.id, "message_id = 'poison'")).toBe(0);
		const rejected = await json(await call("/v1/rejected", { key: t.readKey }));
		const moved = rejected.rejected.find((r: { code: string }) => r.code === "storage_refused");
		expect(moved).toBeTruthy();
		expect(moved.details).toMatchObject({ message_id: "poison" });
		expect(moved.message).toMatch(/JSON|json/);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ buffered: 0, flushed: 3, storage_refused: 1 });
		expect(s.received).toBe(s.accepted + s.rejected + s.duplicates);
		const status = await json(await call("/v1/system/status", { key: t.readKey }));
		expect(status.ingest).toMatchObject({ buffered: 0, storage_refused: 1 });
		expect(status.ingest.last_storage_refusal).toMatchObject({ message_id: "poison" });
		await canaryFlows(t, "poison-flush-canary");
	});
});

describe("2. storage amplification", () => {
	it("stores a Segment batch's shared context once per request, and every message still reads it", async () => {
		const t = await makeTenant("amplify");
		const shared = { library: { name: "analytics-node", version: "3.1.0" }, pad: "x".repeat(30_000) };
		const batch = Array.from({ length: 250 }, (_, i) => ({ type: "track", event: "e", userId: `u${i}`, messageId: `amp-${i}`, context: i === 0 ? { ip: "10.0.0.1" } : undefined }));
		const body = JSON.stringify({ batch, context: shared });
		const res = await post("/v1/batch", t.ingestKey, body);
		expect(await json(res)).toMatchObject({ accepted: 250 });
		await flush(t.id);
		const stored = await env.DB.prepare(
			"SELECT coalesce(sum(length(context)), 0) + coalesce(sum(length(properties)), 0) AS events, (SELECT coalesce(sum(length(body)), 0) FROM shared_contexts WHERE tenant_id = ?1) AS shared FROM events WHERE tenant_id = ?1",
		)
			.bind(t.id)
			.first<{ events: number; shared: number }>();
		expect(stored!.events + stored!.shared).toBeLessThan(body.length * 1.5);
		// The effective context of a message is the batch's, overlaid with its own.
		const row = await env.DB.prepare("SELECT e.context, c.body FROM events e JOIN shared_contexts c ON c.tenant_id = e.tenant_id AND c.id = e.context_id WHERE e.tenant_id = ? AND e.message_id = 'amp-0'")
			.bind(t.id)
			.first<{ context: string; body: string }>();
		expect({ ...JSON.parse(row!.body), ...JSON.parse(row!.context) }).toEqual({ ...shared, ip: "10.0.0.1" });
	});

	it("refuses a shared context over the per-event size limit with a 4xx naming it", async () => {
		const t = await makeTenant("amplify-big");
		const err = await expectError(await post("/v1/batch", t.ingestKey, { batch: [{ type: "track", event: "e", userId: "u" }], context: { pad: "x".repeat(40_000) } }), 413, "context_too_large");
		expect(err.details).toMatchObject({ path: "context" });
	});
});

describe("3. bad input is a 4xx, never a retryable 500", () => {
	it("timestamps past what a Date can hold", async () => {
		const t = await makeTenant("ts-huge");
		for (const ts of [8.64e15 + 1, 1e300, -1e300])
			await expectError(await post("/v1/events", t.ingestKey, ev("x", { timestamp: ts })), 400, "invalid_event");
		await expectError(await post("/v1/track", t.ingestKey, { userId: "u", event: "x", timestamp: 9e15 }), 400, "invalid_event");
		const mixed = await json(await post("/v1/events", t.ingestKey, { events: [ev("ok"), ev("x", { sent_at: 9e15 })] }));
		expect(mixed).toMatchObject({ accepted: 1, rejected: 1 });
		await canaryFlows(t, "ts-huge-canary");
	});

	it("a 10,000-deep batch context", async () => {
		const t = await makeTenant("deep-batch");
		const err = await expectError(await post("/v1/batch", t.ingestKey, { batch: [{ type: "track", event: "e", userId: "u" }], context: nested(10_000) }), 400, "too_deep");
		expect(err.details).toMatchObject({ path: "context" });
		await canaryFlows(t, "deep-batch-canary");
	});

	it("the largest Segment batch the byte limit allows is accepted whole", async () => {
		const t = await makeTenant("big-batch");
		const batch = Array.from({ length: 7000 }, (_, i) => ({ type: "track", event: "e", userId: `${i}` }));
		const body = JSON.stringify({ batch });
		expect(body.length).toBeLessThan(500 * 1024);
		const res = await post("/v1/batch", t.ingestKey, body);
		expect(res.status).toBe(200);
		expect(await json(res)).toMatchObject({ accepted: 7000 });
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(7000);
	});

	it("bodies deeper than JSON tools can walk", async () => {
		const t = await makeTenant("deep-body");
		const deep = `${"[".repeat(200_000)}${"]".repeat(200_000)}`;
		const arrays = await expectError(await post("/v1/events", t.ingestKey, deep), 400, "invalid_events");
		expect(arrays.details.errors[0]).toMatchObject({ index: 0, code: "too_deep" });
		const obj = `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`;
		await expectError(await post("/v1/events", t.ingestKey, obj), 400, "too_deep");
		await canaryFlows(t, "deep-body-canary");
	});
});

describe("4. a bad request fails alone", () => {
	it("concurrent requests coalesced into one hub call: the good ones all succeed", async () => {
		const t = await makeTenant("neighbours");
		const big = { event: "big", user_id: "u", properties: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, "y".repeat(700)])) };
		const requests = Array.from({ length: 60 }, (_, i) =>
			i % 10 === 5
				? post("/v1/events", t.ingestKey, ev("bad", { context: nested(2000) }))
				: post("/v1/events", t.ingestKey, { events: Array.from({ length: 30 }, (_, j) => ({ ...big, message_id: `n-${i}-${j}` })) }),
		);
		const statuses = (await Promise.all(requests)).map((r) => r.status);
		expect(statuses.filter((s) => s === 200)).toHaveLength(54);
		expect(statuses.filter((s) => s === 400)).toHaveLength(6);
		await flush(t.id);
		expect(await d1Count(t.id, "event = 'big'")).toBe(54 * 30);
	});
});

describe("5. clock-skew correction stays in bounds", () => {
	it("refuses an event whose corrected time falls outside the accepted range, and the snapshot never fails", async () => {
		const t = await makeTenant("skew");
		const now = Date.now();
		const res = await post("/v1/events", t.ingestKey, ev("skewed", { timestamp: new Date(now).toISOString(), sent_at: new Date(now + 80 * 365 * 86_400_000).toISOString() }));
		const err = await expectError(res, 400, "timestamp_out_of_range");
		expect(err.message).toContain("2000-01-01");
		expect(err.message).toContain("sent_at");
		// Past what the field may hold at all: the schema names it.
		const huge = await expectError(await post("/v1/events", t.ingestKey, ev("skewed", { sent_at: 8e15 })), 400, "invalid_event");
		expect(huge.message).toContain("sent_at");
		const segment = await json(await post("/v1/batch", t.ingestKey, { sentAt: new Date(now + 80 * 365 * 86_400_000).toISOString(), batch: [{ type: "track", event: "e", userId: "u", timestamp: new Date(now).toISOString() }] }));
		expect(segment.error.code).toBe("invalid_events");
		expect(segment.error.details.errors[0]).toMatchObject({ code: "timestamp_out_of_range" });
		// A fair skew is still corrected: the client clock is 1 h fast, the event happened 5 s before sending.
		const fast = now + 3_600_000;
		await post("/v1/events", t.ingestKey, ev("fair", { message_id: "fair", timestamp: new Date(fast - 5000).toISOString(), sent_at: new Date(fast).toISOString() }));
		await flush(t.id);
		const row = await env.DB.prepare("SELECT timestamp, received_at FROM events WHERE tenant_id = ? AND message_id = 'fair'").bind(t.id).first<{ timestamp: number; received_at: number }>();
		expect(row!.received_at - row!.timestamp).toBe(5000);
		// Events stored before the bound existed: the live snapshot still answers.
		await inject(t, [canonical("ancient", { timestamp: -1e300 }), canonical("far", { timestamp: 1e300 })]);
		const snap = await call("/v1/live/snapshot", { key: t.readKey });
		expect(snap.status).toBe(200);
		expect((await json(snap)).last_60m).toBe(3);
	});
});

describe("8. fidelity", () => {
	it("stores lone surrogates as U+FFFD, keeps __proto__ keys, bounds flattened keys and refuses unknown wrapper fields", async () => {
		const t = await makeTenant("fidelity");
		const res = await post("/v1/events", t.ingestKey, `{"event":"s\\ud800","user_id":"u","message_id":"sur","properties":{"k\\udc00":"v\\ud83d","__proto__":"kept"}}`);
		expect(res.status).toBe(200);
		const segment = await post("/v1/track", t.ingestKey, `{"userId":"u","event":"p","messageId":"proto","properties":{"__proto__":{"polluted":true},"a":1},"context":{"__proto__":"ctx"}}`);
		expect(segment.status).toBe(200);
		await flush(t.id);
		const row = await env.DB.prepare("SELECT event, properties FROM events WHERE tenant_id = ? AND message_id = 'sur'").bind(t.id).first<{ event: string; properties: string }>();
		expect(row!.event).toBe("s\ufffd");
		expect(JSON.parse(row!.properties)).toEqual(JSON.parse('{"k\ufffd":"v\ufffd","__proto__":"kept"}'));
		const proto = await env.DB.prepare("SELECT properties, context FROM events WHERE tenant_id = ? AND message_id = 'proto'").bind(t.id).first<{ properties: string; context: string }>();
		expect(JSON.parse(proto!.properties)).toEqual(JSON.parse('{"__proto__.polluted":true,"a":1}'));
		expect(Object.keys(JSON.parse(proto!.context))).toContain("__proto__");
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();

		const long = { type: "track", event: "e", userId: "u", properties: { ["k".repeat(150)]: { ["j".repeat(100)]: 1 } } };
		const longRes = await post("/v1/track", t.ingestKey, long);
		const err = await expectError(longRes, 400, "invalid_event");
		expect(err.message).toContain("properties");
		const extra = await expectError(await post("/v1/events", t.ingestKey, { events: [ev("x")], evnts: [] }), 400, "invalid_batch");
		expect(err.message.length).toBeGreaterThan(0);
		expect(JSON.stringify(extra)).toContain("evnts");
		expect((await post("/v1/events", t.ingestKey, { events: [ev("x")], writeKey: t.ingestKey })).status).toBe(200);
	});
});

describe("9. over the rate limit is refused before the body is read", () => {
	it("answers 429 to a request whose body would be a 400, while the tenant is over its limit", async () => {
		const t = await makeTenant("rate-cheap", { rate_limit_eps: 5 });
		const first = await post("/v1/events", t.ingestKey, { events: Array.from({ length: 5 }, () => ev("x")) });
		expect(first.status).toBe(200);
		const over = await post("/v1/events", t.ingestKey, { events: Array.from({ length: 5 }, () => ev("x")) });
		expect(over.status).toBe(429);
		const retry = Number(over.headers.get("retry-after"));
		expect(retry).toBeGreaterThanOrEqual(1);
		const garbage = await post("/v1/events", t.ingestKey, "{not json");
		expect(garbage.status).toBe(429);
		expect(garbage.headers.get("retry-after")).toBeTruthy();
		const s = await stats(t.readKey);
		expect(s.received).toBe(5);
	});
});

describe("10. Analytics Engine gets only what D1 newly stored", () => {
	it("a duplicate re-sent after the hub's dedupe window is not written again", async () => {
		const t = await makeTenant("ae-dup");
		const written: string[] = [];
		await runInDurableObject(hub(t.id), (instance: TenantHub) => {
			instance.sink = { write: async (_tenant, events) => void written.push(...events.map((e) => e.message_id)) };
		});
		await post("/v1/events", t.ingestKey, { events: [ev("a", { message_id: "ae-1" }), ev("a", { message_id: "ae-2" })] });
		await flush(t.id);
		// The hub forgets ids after its window; D1's primary key still knows them.
		await runInDurableObject(hub(t.id), (_i: TenantHub, state) => state.storage.sql.exec("DELETE FROM seen"));
		await post("/v1/events", t.ingestKey, { events: [ev("a", { message_id: "ae-1" }), ev("a", { message_id: "ae-3" })] });
		await flush(t.id);
		expect(written.sort()).toEqual(["ae-1", "ae-2", "ae-3"]);
		expect(await d1Count(t.id)).toBe(3);
		expect(await stats(t.readKey)).toMatchObject({ received: 4, accepted: 3, duplicates: 1 });
	});
});

describe("11. readiness", () => {
	it("/readyz touches D1 and a hub and says how each answered", async () => {
		const res = await call("/readyz");
		expect(res.status).toBe(200);
		const body = await json(res);
		expect(body).toMatchObject({ ok: true, checks: { d1: { ok: true }, hub: { ok: true } } });
		expect(typeof body.checks.d1.ms).toBe("number");
		expect((await call("/healthz")).status).toBe(200);
	});
});

describe("12. a query between the flush and the rollup pass", () => {
	const q = async (key: string, body: Record<string, unknown>) => {
		const res = await call("/v1/query", { method: "POST", key, json: body });
		const out = await json(res);
		if (res.status !== 200) throw new Error(`query ${res.status}: ${JSON.stringify(out)}`);
		return out;
	};
	const sum = (out: any, i = 0) => out.results.reduce((s: number, r: any) => s + (r.metrics[i] ?? 0), 0);

	it("counts every event in D1: totals, breakdowns and raw answers agree at every step of ingest, flush and partial passes", async () => {
		const t = await makeTenant("fresh-steps", { timezone: "America/New_York", metric_props: ["ms"] });
		const now = Date.now();
		let n = 0;
		const batch = (k: number) =>
			Array.from({ length: 30 }, (_, i) => {
				// Half now, half late, over more days than one pass step rebuilds (8): dirty days and weeks stay between passes.
				const late = i % 2 === 0;
				const at = late ? now - (1 + ((i + k) % 20)) * 86_400_000 - i * 60_000 : now - (i % 3) * 1000;
				return ev(["open", "reply", "close"][i % 3]!, { message_id: `fs-${n++}`, timestamp: new Date(at).toISOString(), properties: { ms: 100 + i * 7 } });
			});
		const { runRollups } = await import("../../workers/rollup/run");
		const compare = async (step: string) => {
			for (const date_range of ["today", "7d", "30d"]) {
				const total = await q(t.readKey, { metrics: ["count", "sum:ms"], date_range });
				const byEvent = await q(t.readKey, { metrics: ["count", "sum:ms"], date_range, dimensions: ["event"] });
				const raw = await q(t.readKey, { metrics: ["count", "sum:ms"], date_range, source: "raw" });
				const exact = { count: raw.results[0].metrics[0], sum: raw.results[0].metrics[1] };
				expect({ step, date_range, plan: total.meta.plan, count: total.results[0].metrics[0], sum: total.results[0].metrics[1] }).toEqual({ step, date_range, plan: "rollup", ...exact });
				expect({ step, date_range, count: sum(byEvent), sum: sum(byEvent, 1) }).toEqual({ step, date_range, ...exact });
			}
		};
		await call("/v1/events", { method: "POST", key: t.ingestKey, json: { events: batch(0) } });
		await flush(t.id);
		for (let p = 0; p < 20 && !(await runRollups(env, { trigger: "test" })).caught_up; p++);
		await compare("caught up");
		for (let k = 1; k <= 3; k++) {
			await call("/v1/events", { method: "POST", key: t.ingestKey, json: { events: batch(k) } });
			await flush(t.id);
			const fresh = await q(t.readKey, { metrics: ["count"], date_range: "7d" });
			expect(fresh.meta.unrolled_events).toBeGreaterThan(0);
			await compare(`after flush ${k}`);
			// Passes with no budget stop after one step each: hours merged, days still dirty, weeks stale.
			for (let p = 0; p < 6; p++) {
				const rep = await runRollups(env, { trigger: "test", budgetMs: 0 });
				await compare(`flush ${k}, pass ${p}`);
				if (rep.caught_up) break;
			}
		}
		const done = await q(t.readKey, { metrics: ["count"], date_range: "7d" });
		expect(done.meta.unrolled_events).toBe(0);
	}, 60_000);
});

describe("12. a query after a rollup pass stopped between its steps", () => {
	it("reads stale days from their hours: answers equal the exact count until the next pass repairs them", async () => {
		const t = await makeTenant("fresh-stale-days", { timezone: "UTC" });
		const now = Date.now();
		const { runRollups } = await import("../../workers/rollup/run");
		const catchUp = async () => {
			for (let p = 0; p < 20; p++) if ((await runRollups(env, { trigger: "test" })).caught_up) return;
		};
		// Events over 25 days, then late ones for the same days: their hours merge, their days go dirty.
		const events = Array.from({ length: 600 }, (_, i) =>
			ev(["open", "reply"][i % 2]!, { message_id: `fs-${i}`, timestamp: new Date(now - (1 + (i % 25)) * 86_400_000 - (i % 24) * 3_600_000).toISOString() }),
		);
		await call("/v1/events", { method: "POST", key: t.ingestKey, json: { events: events.slice(0, 300) } });
		await flush(t.id);
		await catchUp();
		await call("/v1/events", { method: "POST", key: t.ingestKey, json: { events: events.slice(300) } });
		await flush(t.id);
		// The pass dies after its hour step: D1 refuses its day rows (as a crash or a timeout would leave it).
		await env.DB.prepare(
			`CREATE TRIGGER test_stop_days BEFORE INSERT ON rollups WHEN NEW.level = 'day' AND NEW.tenant_id = '${t.id}' BEGIN SELECT RAISE(ABORT, 'day step stopped by the test'); END`,
		).run();
		try {
			const rep = await runRollups(env, { trigger: "test" });
			expect(rep.errors.join()).toContain("day step stopped by the test");
		} finally {
			await env.DB.prepare("DROP TRIGGER test_stop_days").run();
		}
		const dirty = await env.DB.prepare("SELECT count(*) AS n FROM rollup_dirty WHERE tenant_id = ? AND level = 'day'").bind(t.id).first<{ n: number }>();
		expect(dirty!.n).toBeGreaterThan(10);
		const q = async (body: Record<string, unknown>) => (await json(await call("/v1/query", { method: "POST", key: t.readKey, json: body }))).results.map((r: any) => [r.dimensions[0] ?? null, r.metrics[0]]).sort();
		for (const date_range of ["30d", "7d"]) {
			const exact = await q({ metrics: ["count"], date_range, dimensions: ["event"], source: "raw" });
			expect(exact.reduce((s: number, r: any) => s + r[1], 0)).toBeGreaterThan(0);
			expect(await q({ metrics: ["count"], date_range, dimensions: ["event"] })).toEqual(exact);
			const total = await q({ metrics: ["count"], date_range });
			expect(total[0][1]).toBe(exact.reduce((s: number, r: any) => s + r[1], 0));
		}
		await catchUp();
		const exact = await q({ metrics: ["count"], date_range: "30d", dimensions: ["event"], source: "raw" });
		expect(await q({ metrics: ["count"], date_range: "30d", dimensions: ["event"] })).toEqual(exact);
	}, 60_000);
});

describe("/v1/rejected reads its own writes", () => {
	it("lists a refusal at once, before the hub's flush delay has passed", async () => {
		const t = await makeTenant("rejected-now");
		const res = await post("/v1/events", t.ingestKey, { events: [ev("ok"), { event: "no-user" }] });
		expect(await json(res)).toMatchObject({ accepted: 1, rejected: 1 });
		// No flush here: the test pool's flush delay is ten minutes.
		const listed = await json(await call("/v1/rejected", { key: t.readKey }));
		expect(listed.rejected).toHaveLength(1);
		expect(listed.rejected[0]).toMatchObject({ code: "invalid_event", details: { index: 1, path: "events[1].user_id" } });
	});
});
