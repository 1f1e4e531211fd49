import { describe, expect, it } from "vitest";
import { MAX_FUTURE_MS, parseIso } from "../../workers/ingest/event";
import { correctSkew, flattenProperties, normaliseNative, normaliseSegment, payloadSample } from "../../workers/ingest/normalise";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const facts = { receivedAt: NOW };

describe("correctSkew", () => {
	it("shifts the client timestamp by the client clock's error (receivedAt - sentAt)", () => {
		// Client clock is 1 h behind: it says it sent at 11:00:05 what happened at 11:00:00.
		const ts = NOW - 3600_000;
		expect(correctSkew(ts, ts + 5000, NOW)).toBe(NOW - 5000);
	});
	it("keeps the timestamp without sentAt, and uses receivedAt without a timestamp", () => {
		expect(correctSkew(123_000_000_000, null, NOW)).toBe(123_000_000_000);
		expect(correctSkew(undefined, NOW - 10, NOW)).toBe(NOW);
	});
});

describe("normaliseNative", () => {
	it("accepts a valid event and fills defaults", () => {
		const r = normaliseNative({ event: "signup", user_id: 42, properties: { plan: "pro", seats: 3, trial: false, note: null } }, "", facts);
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(r.event).toMatchObject({ type: "track", event: "signup", user_id: "42", anonymous_id: null, timestamp: NOW, received_at: NOW });
		expect(r.event.properties).toEqual({ plan: "pro", seats: 3, trial: false, note: null });
		expect(r.event.message_id).toMatch(/^[0-9a-f-]{36}$/);
	});
	it("parses ISO 8601 and epoch-ms timestamps, and applies sent_at skew", () => {
		const r = normaliseNative({ event: "e", anonymous_id: "a", timestamp: "2026-11-22T11:00:00Z", sent_at: "2026-11-22T11:00:10.000Z" }, "", facts);
		expect(r.ok && r.event.timestamp).toBe(NOW - 10_000);
		const ms = normaliseNative({ event: "e", anonymous_id: "a", timestamp: NOW - 1 }, "", facts);
		expect(ms.ok && ms.event.timestamp).toBe(NOW - 1);
	});
	it.each([
		[{ user_id: "u" }, "events[2].event", "required (string)"],
		[{ event: "", user_id: "u" }, "events[2].event", "must not be empty"],
		[{ event: "x" }, "events[2].user_id", "user_id or anonymous_id"],
		[{ event: "x", user_id: "u", timestamp: 1_700_000_000 }, "events[2].timestamp", "looks like seconds"],
		[{ event: "x", user_id: "u", timestamp: "yesterday" }, "events[2].timestamp", "ISO 8601"],
		[{ event: "x", user_id: "u", properties: { cart: { total: 3 } } }, "events[2].properties.cart", "flatten"],
		[{ event: "x", user_id: "u", properties: { list: [1] } }, "events[2].properties.list", "flatten"],
		[{ event: "x", user_id: "u", propertes: {} }, "events[2]", "propertes"],
		[{ event: "x".repeat(201), user_id: "u" }, "events[2].event", "at most 200"],
	])("rejects %j at %s", (input, path, message) => {
		const r = normaliseNative(input, "events[2]", facts);
		expect(r.ok).toBe(false);
		if (r.ok) return;
		expect(r.rejection.path).toBe(path);
		expect(JSON.stringify(r.rejection)).toContain(message);
	});
	it("rejects timestamps more than 24 h in the future, accepts just under", () => {
		const far = normaliseNative({ event: "x", user_id: "u", timestamp: NOW + MAX_FUTURE_MS + 1000 }, "", facts);
		expect(far.ok ? null : far.rejection.code).toBe("timestamp_in_future");
		const near = normaliseNative({ event: "x", user_id: "u", timestamp: NOW + MAX_FUTURE_MS - 1000 }, "", facts);
		expect(near.ok).toBe(true);
	});
});

describe("normaliseSegment", () => {
	it("maps each call type to its event name and keeps traits", () => {
		const base = { userId: "u1", timestamp: "2026-11-22T11:59:00Z" };
		const cases = [
			[{ ...base, type: "track", event: "Order Completed" }, "Order Completed"],
			[{ ...base, type: "page", name: "Home", category: "Docs" }, "page_view"],
			[{ ...base, type: "screen", name: "Inbox" }, "screen_view"],
			[{ ...base, type: "identify", traits: { email: "a@b.c", plan: "pro" } }, "identify"],
			[{ ...base, type: "group", groupId: "g1", traits: { employees: 12 } }, "group"],
			[{ ...base, type: "alias", previousId: "anon-1" }, "alias"],
		] as const;
		for (const [msg, name] of cases) {
			const r = normaliseSegment(msg, "", facts);
			expect(r.ok, JSON.stringify(r)).toBe(true);
			if (!r.ok) continue;
			expect(r.event.type).toBe(msg.type);
			expect(r.event.event).toBe(name);
			expect(r.event.timestamp).toBe(Date.parse("2026-11-22T11:59:00Z"));
		}
		const page = normaliseSegment(cases[1][0], "", facts);
		expect(page.ok && page.event.properties).toEqual({ name: "Home", category: "Docs" });
		const identify = normaliseSegment(cases[3][0], "", facts);
		expect(identify.ok && identify.event.traits).toEqual({ email: "a@b.c", plan: "pro" });
		const group = normaliseSegment(cases[4][0], "", facts);
		expect(group.ok && [group.event.group_id, group.event.traits]).toEqual(["g1", { employees: 12 }]);
		const alias = normaliseSegment(cases[5][0], "", facts);
		expect(alias.ok && alias.event.previous_id).toBe("anon-1");
	});
	it("forces the type from the endpoint, applies the batch sentAt and references the batch's shared context", () => {
		const r = normaliseSegment(
			{ type: "identify", event: "Signed Up", anonymousId: "a", timestamp: "2026-11-22T10:00:00Z", context: { app: "x" } },
			"batch[0]",
			{ receivedAt: NOW, batchSentAt: Date.parse("2026-11-22T10:00:30Z"), batchContext: { id: "c0ffee", value: { library: { name: "analytics-node" }, app: "y" } } },
			"track",
		);
		expect(r.ok).toBe(true);
		if (!r.ok) return;
		expect(r.event.type).toBe("track");
		expect(r.event.timestamp).toBe(NOW - 30_000);
		// Only the message's own context is kept on the event; the shared one is stored once, by id.
		expect(r.event.context).toEqual({ app: "x" });
		expect(r.event.context_id).toBe("c0ffee");
	});
	it.each([
		[{ type: "track", userId: "u" }, "batch[1].event"],
		[{ type: "group", userId: "u" }, "batch[1].groupId"],
		[{ type: "alias", userId: "u" }, "batch[1].previousId"],
		[{ type: "page" }, "batch[1].userId"],
		[{ type: "frobnicate", userId: "u" }, "batch[1].type"],
	])("rejects %j at %s", (msg, path) => {
		const r = normaliseSegment(msg, "batch[1]", facts);
		expect(r.ok ? null : r.rejection.path).toBe(path);
	});
});

describe("flattenProperties", () => {
	it("flattens nested objects to dotted keys and keeps arrays as JSON", () => {
		expect(flattenProperties({ a: 1, b: { c: "x", d: { e: true } }, f: [1, 2], g: null, h: Number.NaN })).toEqual({
			ok: true,
			value: { a: 1, "b.c": "x", "b.d.e": true, f: "[1,2]", g: null, h: null },
		});
	});

	it("keeps __proto__ as an ordinary key, at any level", () => {
		const flat = flattenProperties(JSON.parse('{"__proto__":{"x":1},"a":{"__proto__":2}}'));
		expect(flat.ok && Object.keys(flat.value)).toEqual(["__proto__.x", "a.__proto__"]);
		expect(flat.ok && Object.getPrototypeOf(flat.value)).toBe(Object.prototype);
	});

	it("refuses a dotted key longer than a property name may be, and a map that grows past an event's size", () => {
		const long = flattenProperties({ ["a".repeat(120)]: { ["b".repeat(100)]: 1 } });
		expect(long).toMatchObject({ ok: false, key: `${"a".repeat(120)}.${"b".repeat(100)}` });
		// 250 keys of 199 characters each: 8 KB of keys sent, 50 KB once the parent is repeated.
		const wide = flattenProperties({ ["p".repeat(150)]: Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`k${i}`.padEnd(45, "x"), 1])) });
		expect(wide).toMatchObject({ ok: false });
		expect(!wide.ok && wide.message).toContain("flattened");
	});
});

describe("payloadSample", () => {
	it("truncates large payloads and says so", () => {
		const s = payloadSample({ big: "x".repeat(20_000) });
		expect(s.length).toBeLessThan(8300);
		expect(s).toMatch(/…\[truncated \d+ chars\]$/);
		expect(payloadSample("abc")).toBe("abc");
	});
});

describe("parseIso", () => {
	it("reads ISO 8601 dates and date-times, with offsets and fractions", () => {
		expect(parseIso("2026-11-22")).toBe(Date.UTC(2026, 10, 22));
		expect(parseIso("2026-11-22T10:00:00Z")).toBe(Date.UTC(2026, 10, 22, 10));
		expect(parseIso("2026-11-22 10:00:00.5+05:30")).toBe(Date.UTC(2026, 10, 22, 4, 30, 0, 500));
		expect(parseIso("2024-02-29T00:00:00Z")).toBe(Date.UTC(2024, 1, 29));
	});
	it("refuses what the calendar does not have, which Date.parse rolls over", () => {
		for (const bad of ["2026-02-29", "2026-02-30T10:00:00Z", "2026-04-31", "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-22T24:00:00Z", "2026-11-22T10:60:00Z", "2026-11-22T10:00:60Z", "2026-11-22T10:00:00+24:00", "22/11/2026"])
			expect([bad, parseIso(bad)]).toEqual([bad, Number.NaN]);
	});
});
