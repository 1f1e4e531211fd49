import { createScheduledController, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashKey } from "../../workers/auth/keys";
import { AE_POINTS_PER_INVOCATION, analyticsSink, chunk, toDataPoint } from "../../workers/hub/analytics";
import type { TenantHub } from "../../workers/hub/tenant-hub";
import type { CanonicalEvent } from "../../workers/ingest/event";
import { normaliseNative } from "../../workers/ingest/normalise";
import { scheduled } from "../../workers/scheduled";
import { ADMIN, call, d1Count, ev, flush, hub, json, makeTenant, stats } from "../helpers";

const send = (key: string, events: unknown[]) => call("/v1/events", { method: "POST", key, json: { events } });
/** The hub's private "a flush alarm is armed" mark. */
const alarmArmed = (instance: TenantHub) => (instance as unknown as { alarmArmed: boolean }).alarmArmed;

describe("hub buffer → D1 flush", () => {
	it("acknowledges before D1 has the events, then the alarm moves them", async () => {
		const t = await makeTenant("hub-flush");
		const res = await send(t.ingestKey, Array.from({ length: 120 }, (_, i) => ev("e", { message_id: `f${i}` })));
		expect(res.status).toBe(200);
		expect(await d1Count(t.id)).toBe(0);
		expect(await stats(t.readKey)).toMatchObject({ accepted: 120, buffered: 120, flushed: 0, last_flush_at: null });
		expect(await runDurableObjectAlarm(hub(t.id))).toBe(true);
		expect(await d1Count(t.id)).toBe(120);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ buffered: 0, flushed: 120, last_flush_error: null });
		expect(Date.parse(s.last_flush_at)).toBeGreaterThan(Date.now() - 60_000);
		expect(await runDurableObjectAlarm(hub(t.id))).toBe(false);
	});

	it("flushes a large buffer in several D1 batches", async () => {
		const t = await makeTenant("hub-large");
		for (let r = 0; r < 12; r++) await send(t.ingestKey, Array.from({ length: 1000 }, (_, i) => ev("bulk", { message_id: `L${r}-${i}`, properties: { r, i } })));
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(12_000);
		expect(await stats(t.readKey)).toMatchObject({ accepted: 12_000, flushed: 12_000, buffered: 0 });
	});

	it("after a crash between the D1 commit and the hub's bookkeeping, re-flushing neither duplicates nor miscounts", async () => {
		const t = await makeTenant("hub-crash");
		await send(t.ingestKey, Array.from({ length: 50 }, (_, i) => ev("c", { message_id: `c${i}` })));
		// Simulate the crash: commit the buffer to D1 with its marker exactly as a flush would, but
		// leave the hub's buffer untouched (as if the process died before deleting it).
		await runInDurableObject(hub(t.id), async (_instance: TenantHub, state) => {
			const rows = state.storage.sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM buffer").toArray();
			const { INSERT_EVENTS_SQL } = await import("../../workers/hub/flush");
			await env.DB.batch([
				...rows.map((r) => env.DB.prepare(INSERT_EVENTS_SQL).bind(t.id, r.body)),
				env.DB.prepare("INSERT INTO hub_flushes (hub_id, tenant_id, max_seq, flushed_at) VALUES (?, ?, ?, ?)").bind(state.id.toString(), t.id, rows.at(-1)!.seq, Date.now()),
			]);
		});
		expect(await d1Count(t.id)).toBe(50);
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(50);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ received: 50, accepted: 50, duplicates: 0, buffered: 0, flushed: 50 });
	});

	it("counts an id already in D1 but outside the hub's dedupe window as a duplicate at flush time", async () => {
		const t = await makeTenant("hub-backstop");
		await env.DB.prepare("INSERT INTO events (tenant_id, message_id, type, event, timestamp, received_at) VALUES (?, 'old-1', 'track', 'e', 1, 1)").bind(t.id).run();
		await send(t.ingestKey, [ev("e", { message_id: "old-1" }), ev("e", { message_id: "new-1" })]);
		await flush(t.id);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ received: 2, accepted: 1, duplicates: 1, flushed: 1 });
		expect(s.accepted + s.rejected + s.duplicates).toBe(s.received);
	});

	it("a request that arrives during a flush and is flushed by it leaves no stale 'alarm armed' mark", async () => {
		// Regression: the mark stayed set while the alarm that run set at its end (the viewers'
		// minute tick) replaced the request's flush alarm, so later events waited for the tick.
		const t = await makeTenant("hub-rearm");
		await send(t.ingestKey, [ev("e", { message_id: "r0" })]); // key and tenant now cached in the hub
		await flush(t.id);
		await send(t.ingestKey, [ev("e", { message_id: "r1" })]);
		const keyHash = await hashKey(t.ingestKey);
		const armed = await runInDurableObject(hub(t.id), async (instance: TenantHub, state) => {
			const run = instance.alarm();
			// Arrives while the alarm awaits D1 (everything it needs is cached, so it is buffered at
			// once); the alarm's loop then finds its row and flushes it in the same run.
			const e = normaliseNative(ev("e", { message_id: "r2" }), "events[0]", { receivedAt: Date.now() });
			if (!e.ok) throw new Error("test event invalid");
			const [outcome] = await instance.ingestMany([{ tenantId: t.id, keyHash, origin: null, receivedAt: Date.now(), events: [e.event], rejections: [], contexts: [] }]);
			expect(outcome).toMatchObject({ ok: true, accepted: 1 });
			await run;
			expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM buffer").one().n).toBe(0);
			return alarmArmed(instance);
		});
		expect(await d1Count(t.id)).toBe(3);
		expect(armed).toBe(false);
		// So the next request arms a flush of its own.
		await send(t.ingestKey, [ev("e", { message_id: "r3" })]);
		expect(await runInDurableObject(hub(t.id), alarmArmed)).toBe(true);
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(4);
	});

	it("forgets remembered ids after the dedupe window", async () => {
		const t = await makeTenant("hub-prune");
		await send(t.ingestKey, [ev("e", { message_id: "p1" })]);
		await flush(t.id);
		const left = await runInDurableObject(hub(t.id), (_i: TenantHub, state) => {
			state.storage.sql.exec("UPDATE seen SET at = at - 8 * 24 * 3600 * 1000");
			return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM seen").one().n;
		});
		expect(left).toBe(1);
		await send(t.ingestKey, [ev("e", { message_id: "p2" })]);
		await flush(t.id);
		const seen = await runInDurableObject(hub(t.id), (_i: TenantHub, state) => state.storage.sql.exec<{ message_id: string }>("SELECT message_id FROM seen").toArray().map((r) => r.message_id));
		expect(seen).toEqual(["p2"]);
	});
});

describe("Analytics Engine output", () => {
	it("writes one data point per accepted event, tenant as index, in groups of at most 250", async () => {
		const t = await makeTenant("hub-ae");
		const writes: { tenant: string; events: CanonicalEvent[] }[] = [];
		await runInDurableObject(hub(t.id), (instance: TenantHub) => {
			instance.sink = { write: async (tenant, events) => void writes.push({ tenant, events }) };
		});
		await send(t.ingestKey, [...Array.from({ length: 60 }, (_, i) => ev("ae", { message_id: `ae${i}`, properties: { i } })), ev("ae", { message_id: "ae0" }), { event: "bad" }]);
		await runDurableObjectAlarm(hub(t.id));
		const written = writes.flatMap((w) => w.events);
		expect(writes.every((w) => w.tenant === t.id)).toBe(true);
		expect(written.map((e) => e.message_id).sort()).toEqual(Array.from({ length: 60 }, (_, i) => `ae${i}`).sort());
		const points = written.map((e) => toDataPoint(t.id, e));
		const groups = chunk(points);
		expect(chunk(points, 25).map((g) => g.length)).toEqual([25, 25, 10]);
		expect(groups.map((g) => g.length)).toEqual([60]);
		expect(groups.flat()).toEqual(points);
		expect(points[0]).toMatchObject({ indexes: [t.id], doubles: [written[0]!.timestamp, written[0]!.received_at, 0, 1] });
		expect(points[0]!.blobs!.slice(0, 4)).toEqual(["ae", "track", written[0]!.message_id, "u1"]);
	});

	it("the production sink fans out one AeWriter call per 250 points", async () => {
		const calls: number[] = [];
		const direct: unknown[] = [];
		const fakeEnv = {
			AE: { writeDataPoint: (p: unknown) => direct.push(p) },
			AE_WRITER: { write: async (points: unknown[]) => (calls.push(points.length), { written: points.length }) },
		} as unknown as Parameters<typeof analyticsSink>[0];
		const e = { ...ev("x"), message_id: "m", type: "track", timestamp: 1, received_at: 2, properties: {}, is_bot: 0 } as unknown as CanonicalEvent;
		await analyticsSink(fakeEnv).write("t", Array.from({ length: 560 }, () => e));
		expect(calls).toEqual([250, 250, 60]);
		expect(direct).toEqual([]);
		expect(calls.every((n) => n <= AE_POINTS_PER_INVOCATION)).toBe(true);
	});

	it("the AeWriter entrypoint refuses more than 250 points per invocation", async () => {
		const p = toDataPoint("t", { ...ev("x"), message_id: "m", type: "track", timestamp: 1, received_at: 2, properties: {}, is_bot: 0 } as unknown as CanonicalEvent);
		expect(await env.AE_WRITER!.write(Array.from({ length: 250 }, () => p))).toEqual({ written: 250 });
		expect(await env.AE_WRITER!.write(Array.from({ length: 251 }, () => p))).toEqual({ written: 0, error: "at most 250 points per call" });
	});
});

describe("cron", () => {
	it("re-arms a flush alarm for a hub whose buffer is not empty", async () => {
		const t = await makeTenant("hub-cron");
		await send(t.ingestKey, [ev("e"), ev("e")]);
		await runInDurableObject(hub(t.id), (_i: TenantHub, state) => state.storage.deleteAlarm());
		expect(await runDurableObjectAlarm(hub(t.id))).toBe(false);
		const result = await scheduled(createScheduledController({ cron: "* * * * *" }), env);
		expect(result.tenants).toBeGreaterThanOrEqual(1);
		expect(result.buffered).toBe(2);
		// The re-armed alarm fires on its own; wait for the buffer to drain.
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(2);
	});
});

describe("group commit", () => {
	it("coalesces concurrent requests into few hub calls, each request keeping its own outcome", async () => {
		const t = await makeTenant("hub-coalesce");
		const other = await json(await call(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "ingest", allowed_origins: ["https://ok.example"] } }));
		const requests = Array.from({ length: 40 }, (_, i) => {
			if (i === 7) return call("/v1/events", { method: "POST", key: other.key, headers: { origin: "https://bad.example" }, json: ev("x") });
			const events = [ev("c", { message_id: `g${i}` }), ev("c", { message_id: `g${i % 5}` })];
			return send(t.ingestKey, i === 9 ? [{ event: "nouser" }] : events);
		});
		const responses = await Promise.all(requests);
		const bodies = await Promise.all(responses.map((r) => r.json() as Promise<any>));
		expect(responses[7]!.status).toBe(403);
		expect(bodies[7].error.code).toBe("origin_not_allowed");
		expect(responses[9]!.status).toBe(400);
		const ok = bodies.filter((_, i) => i !== 7 && i !== 9);
		expect(ok.every((b) => b.accepted + b.duplicates === 2)).toBe(true);
		// g0..g39 minus g7, g9 are new once each; the second event of each request repeats g0..g4.
		expect(ok.reduce((n, b) => n + b.accepted, 0)).toBe(38);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ received: 77, accepted: 38, rejected: 1, duplicates: 38 });
		expect(s.hub.requests).toBe(40);
		expect(s.hub.ingest_calls).toBeLessThan(40);
		await flush(t.id);
		expect(await d1Count(t.id)).toBe(38);
	});
});

describe("stats endpoint", () => {
	it("needs a read key of the tenant", async () => {
		const t = await makeTenant("hub-stats");
		expect((await call("/v1/ingest/stats")).status).toBe(401);
		const s = await json(await call("/v1/ingest/stats", { key: t.readKey }));
		expect(Object.keys(s).sort()).toEqual([
			"accepted",
			"buffered",
			"duplicates",
			"flushed",
			"hub",
			"last_flush_at",
			"last_flush_error",
			"last_ingest_at",
			"last_storage_refusal",
			"received",
			"rejected",
			"storage_refused",
			"tenant_id",
		]);
	});
});
