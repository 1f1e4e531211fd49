import { describe, expect, it } from "vitest";
import { type LiveEvent, LiveCounters, MINUTE_MS } from "../../workers/live/counters";

const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);
const e = (event: string, user: string | null, at: number, anon: string | null = null): LiveEvent => ({
	event,
	user_id: user,
	anonymous_id: anon,
	timestamp: at - 5000,
	received_at: at,
	country: "FR",
	device: "desktop",
});

describe("LiveCounters", () => {
	it("counts per arrival minute, zero-fills 60 minutes, and breaks down by event", () => {
		const c = new LiveCounters();
		c.record([e("a", "u1", T0), e("a", "u2", T0 + 1000), e("b", "u1", T0 + 61_000), e("a", "u3", T0 - 30 * MINUTE_MS)]);
		const s = c.snapshot(T0 + 90_000, { event: null });
		expect(s.series).toHaveLength(60);
		expect(s.series.at(-1)).toEqual({ t: (T0 + MINUTE_MS) / 1000, count: 1 });
		expect(s.series.at(-2)).toEqual({ t: T0 / 1000, count: 2 });
		// The last entry is T0 + 1 min, so T0 - 30 min sits 31 places before it.
		expect(s.series.at(-32)).toEqual({ t: (T0 - 30 * MINUTE_MS) / 1000, count: 1 });
		expect(s.series.reduce((n, p) => n + p.count, 0)).toBe(4);
		expect(s.current_minute).toEqual({ t: (T0 + MINUTE_MS) / 1000, count: 1 });
		expect(s.last_60m).toBe(4);
		expect(s.by_event).toEqual({ a: 3, b: 1 });
	});

	it("counts exact uniques over 5 and 30 minutes, by user_id else anonymous_id", () => {
		const c = new LiveCounters();
		c.record([
			e("a", "u1", T0),
			e("a", "u1", T0 + 1000),
			e("a", null, T0, "anon1"),
			e("a", "anon1", T0), // a user_id that equals an anonymous_id is another person
			e("b", "u2", T0 - 10 * MINUTE_MS),
			e("b", "u3", T0 - 31 * MINUTE_MS),
			e("b", null, T0 - 2 * MINUTE_MS),
		]);
		const s = c.snapshot(T0 + 1000, { event: null });
		expect(s.uniques).toEqual({ last_5m: 3, last_30m: 4, method: "exact" });
		expect(c.snapshot(T0 + 1000, { event: "b" }).uniques).toEqual({ last_5m: 0, last_30m: 1, method: "exact" });
	});

	it("slides the window: old minutes and users fall out", () => {
		const c = new LiveCounters();
		c.record([e("a", "u1", T0)]);
		const later = c.snapshot(T0 + 60 * MINUTE_MS, { event: null });
		expect(later.last_60m).toBe(0);
		expect(later.uniques.last_30m).toBe(0);
		expect(later.by_event).toEqual({});
	});

	it("filters everything to one event name", () => {
		const c = new LiveCounters();
		c.record([e("a", "u1", T0), e("b", "u2", T0), e("b", "u3", T0)]);
		const s = c.snapshot(T0, { event: "b" });
		expect([s.last_60m, s.current_minute.count, s.by_event, s.latest.map((f) => f.user_id)]).toEqual([2, 2, { b: 2 }, ["u3", "u2"]]);
		expect(c.snapshot(T0, { event: "zzz" })).toMatchObject({ last_60m: 0, by_event: { zzz: 0 }, latest: [] });
	});

	it("keeps the latest 20 events, newest first", () => {
		const c = new LiveCounters();
		c.record(Array.from({ length: 100 }, (_, i) => e("a", `u${i}`, T0 + i)));
		const s = c.snapshot(T0 + 1000, { event: null });
		expect(s.latest).toHaveLength(20);
		expect(s.latest[0]!.user_id).toBe("u99");
		expect(s.latest[19]!.user_id).toBe("u80");
	});

	it("reports only changes since the last take, with absolute totals, per view", () => {
		const c = new LiveCounters();
		c.record([e("a", "u1", T0), e("b", "u2", T0)]);
		c.takeChanges(T0, [{ event: null }]);
		expect(c.dirty).toBe(false);
		c.record([e("a", "u3", T0 + 1000)]);
		expect(c.dirty).toBe(true);
		const changes = c.takeChanges(T0 + 1000, [{ event: null }, { event: "b" }, { event: null }]);
		expect([...changes.keys()]).toEqual(["*", "e:b"]);
		expect(changes.get("*")).toMatchObject({ series: [{ t: T0 / 1000, count: 3 }], last_60m: 3, by_event: { a: 2 }, latest: [{ user_id: "u3" }] });
		expect(changes.get("e:b")).toMatchObject({ series: [{ t: T0 / 1000, count: 1 }], last_60m: 1, by_event: {}, latest: [] });
		// A delta carries at most the 5 newest new events; a snapshot the 20 newest.
		c.record(Array.from({ length: 12 }, (_, i) => e("a", `n${i}`, T0 + 2000 + i)));
		const burst = c.takeChanges(T0 + 3000, [{ event: null }]).get("*")!;
		expect(burst.latest.map((f) => f.user_id)).toEqual(["n11", "n10", "n9", "n8", "n7"]);
		expect(c.snapshot(T0 + 3000, { event: null }).latest).toHaveLength(15);
	});

	it("loads aggregated history (a restart) and adds to it", () => {
		const c = new LiveCounters();
		c.load({
			counts: [{ m: T0 / MINUTE_MS, event: "a", n: 7 }],
			users: [{ u: "u:u1", event: "a", m: T0 / MINUTE_MS }],
			latest: [e("a", "u1", T0)],
		});
		c.record([e("a", "u1", T0 + 10), e("a", "u2", T0 + 20)]);
		const s = c.snapshot(T0 + 30, { event: null });
		expect([s.last_60m, s.uniques.last_5m, s.latest.length]).toEqual([9, 2, 3]);
	});
});
