import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { runPeople } from "../../workers/people/pass";
import { call, json, makeTenant } from "../helpers";
import { DAY, type Ev, HOUR, insertEvents, MIN, peopleUp, prng } from "../people-data";

// ── independent answers: brute force over each person's events, written from the documented rules ──

interface P {
	ts: number;
	ref: number;
	event: string;
	props: Record<string, unknown>;
	country: string | null;
}
type Step = { event: string; where?: (e: P) => boolean };

/** People by the identity rules: user_id else anonymous_id; both, or an alias, link once (first link wins), transitively. */
function persons(events: Ev[]): Map<string, P[]> {
	const parent = new Map<string, string>();
	const find = (x: string): string => (parent.has(x) ? find(parent.get(x)!) : x);
	const linked = new Set<string>();
	const seen = new Set<string>();
	const link = (src: string, dst: string) => {
		if (linked.has(src)) return;
		linked.add(src);
		seen.add(src);
		const a = find(src);
		const b = find(dst);
		if (a !== b) parent.set(a, b);
	};
	for (const e of events) {
		const id = e.user_id ?? e.anonymous_id!;
		seen.add(id);
		if (e.user_id && e.anonymous_id && e.anonymous_id !== e.user_id) link(e.anonymous_id, e.user_id);
		if (e.type === "alias" && e.user_id && e.previous_id && e.previous_id !== e.user_id) link(e.previous_id, e.user_id);
	}
	const out = new Map<string, P[]>();
	events.forEach((e, i) => {
		const who = find(e.user_id ?? e.anonymous_id!);
		if (!out.has(who)) out.set(who, []);
		out.get(who)!.push({ ts: e.timestamp, ref: i, event: e.event, props: e.properties ?? {}, country: e.country ?? null });
	});
	for (const list of out.values()) list.sort((a, b) => a.ts - b.ts || a.ref - b.ref);
	return out;
}

const matches = (s: Step, e: P) => e.event === s.event && (!s.where || s.where(e));
const after = (a: P, b: P) => a.ts > b.ts || (a.ts === b.ts && a.ref > b.ref);

/** Strict order: every chain, the longest kept; the attempt is the one ending first, its earlier steps as late as possible. */
function bruteStrict(evs: P[], steps: Step[], win: number, from: number, to: number): { level: number; times: number[]; first: P | null } {
	let best: P[][] = [];
	const grow = (chain: P[]) => {
		const longest = best[0]?.length ?? 0;
		if (chain.length > longest) best = [chain];
		else if (chain.length === longest) best.push(chain);
		if (chain.length === steps.length) return;
		for (const e of evs) if (matches(steps[chain.length]!, e) && after(e, chain.at(-1)!) && e.ts - chain[0]!.ts <= win) grow([...chain, e]);
	};
	for (const e of evs) if (matches(steps[0]!, e) && e.ts >= from && e.ts < to) grow([e]);
	const first = evs.find((e) => matches(steps[0]!, e) && e.ts >= from && e.ts < to) ?? null;
	if (!best.length) return { level: 0, times: [], first };
	const key = (c: P[]) => c.map((e) => e.ts * 1e4 + e.ref);
	best.sort((x, y) => {
		const a = key(x);
		const b = key(y);
		if (a.at(-1) !== b.at(-1)) return a.at(-1)! - b.at(-1)!;
		for (let i = a.length - 2; i >= 0; i--) if (a[i] !== b[i]) return b[i]! - a[i]!;
		return 0;
	});
	return { level: best[0]!.length, times: best[0]!.map((e) => e.ts), first };
}

/** Whether steps 0…k-1 can take distinct events among `evs` (brute force). */
function assignable(evs: P[], steps: Step[], k: number): boolean {
	const used = new Set<number>();
	const go = (i: number): boolean => {
		if (i === k) return true;
		for (let j = 0; j < evs.length; j++) {
			if (used.has(j) || !matches(steps[i]!, evs[j]!)) continue;
			used.add(j);
			if (go(i + 1)) return true;
			used.delete(j);
		}
		return false;
	};
	return go(0);
}

/** Any order: from each step event in the range, the steps that fit in its window; the earliest best start is the attempt. */
function bruteAny(evs: P[], steps: Step[], win: number, from: number, to: number): { level: number; times: number[]; first: P | null } {
	const stepEvs = evs.filter((e) => steps.some((s) => matches(s, e)));
	let best = 0;
	let at = -1;
	stepEvs.forEach((s, i) => {
		if (s.ts < from || s.ts >= to) return;
		const w = stepEvs.slice(i).filter((e) => e.ts - s.ts <= win);
		let k = 0;
		while (k < steps.length && assignable(w, steps, k + 1)) k++;
		if (k > best) {
			best = k;
			at = i;
		}
	});
	if (!best) return { level: 0, times: [], first: null };
	const w = stepEvs.slice(at).filter((e) => e.ts - stepEvs[at]!.ts <= win);
	const times: number[] = [];
	for (let k = 1; k <= best; k++) times.push(w.find((_, j) => assignable(w.slice(0, j + 1), steps, k))!.ts);
	return { level: best, times, first: w.find((e) => matches(steps[0]!, e)) ?? null };
}

const nearest = (v: number[], p: number) => {
	const s = [...v].sort((a, b) => a - b);
	return s[Math.max(1, Math.ceil(p * s.length)) - 1]!;
};

/** The expected steps of a funnel answer, from per-person attempts. */
function expected(attempts: { level: number; times: number[] }[], n: number) {
	const entered = Array.from({ length: n }, (_, k) => attempts.filter((a) => a.level > k).length);
	return entered.map((people, k) => {
		const times = attempts.filter((a) => a.level > k && k > 0).map((a) => a.times[k]! - a.times[k - 1]!);
		return {
			entered: people,
			converted: k + 1 < n ? entered[k + 1] : null,
			conversion_from_first: k === 0 ? (people ? 1 : null) : entered[0] ? Math.round((people / entered[0]!) * 1e6) / 1e6 : null,
			conversion_from_previous: k === 0 ? (people ? 1 : null) : entered[k - 1] ? Math.round((people / entered[k - 1]!) * 1e6) / 1e6 : null,
			time_to_convert_ms: times.length ? { median: nearest(times, 0.5), p90: nearest(times, 0.9) } : null,
		};
	});
}

async function funnel(key: string, body: unknown): Promise<{ status: number; body: any }> {
	const res = await call("/v1/funnels", { method: "POST", key, json: body });
	return { status: res.status, body: await json(res) };
}

const pick = (steps: any[]) =>
	steps.map((s) => ({ entered: s.entered, converted: s.converted, conversion_from_first: s.conversion_from_first, conversion_from_previous: s.conversion_from_previous, time_to_convert_ms: s.time_to_convert_ms }));

// Monday 2026-10-05 00:00 UTC: the range is that week, Monday to Sunday.
const MON = Date.UTC(2026, 9, 5);
const RANGE = { from: "2026-10-05", to: "2026-10-11" };

describe("funnels on hand-built journeys", () => {
	let t: Awaited<ReturnType<typeof makeTenant>>;
	let other: Awaited<ReturnType<typeof makeTenant>>;
	const evs: Ev[] = [];
	let n = 0;
	const add = (who: Partial<Ev>, event: string, at: number, extra: Partial<Ev> = {}) => evs.push({ message_id: `j${n++}`, event, timestamp: at, ...who, ...extra });
	const STEPS = [{ event: "view" }, { event: "signup" }, { event: "cart" }, { event: "purchase" }];

	beforeAll(async () => {
		t = await makeTenant("pfun");
		other = await makeTenant("pfun2");
		const d = (day: number, h = 10, m = 0) => MON + day * DAY + h * HOUR + m * MIN;
		// p1: the whole funnel in an hour.
		add({ user_id: "p1" }, "view", d(0), { country: "FR" });
		add({ user_id: "p1" }, "signup", d(0, 10, 10));
		add({ user_id: "p1" }, "cart", d(0, 10, 20));
		add({ user_id: "p1" }, "purchase", d(0, 11));
		// p2: out of order (signup before view, cart after): only step 1 in strict order.
		add({ user_id: "p2" }, "signup", d(1));
		add({ user_id: "p2" }, "view", d(1, 11), { country: "US" });
		add({ user_id: "p2" }, "cart", d(1, 12));
		// p3: signup two days after the first view (outside a 1-day window), but a later view is an hour before it.
		add({ user_id: "p3" }, "view", d(1), { country: "US" });
		add({ user_id: "p3" }, "view", d(3, 9), { country: "US" });
		add({ user_id: "p3" }, "signup", d(3, 10));
		// p4: an anonymous visitor who signs up (identify carries both ids), then buys as the user.
		add({ anonymous_id: "a4" }, "view", d(2), { country: "DE" });
		add({ user_id: "u4", anonymous_id: "a4" }, "identify", d(2, 10, 5), { type: "identify" });
		add({ user_id: "u4" }, "signup", d(2, 10, 6));
		add({ user_id: "u4" }, "cart", d(2, 10, 30));
		// p5: repeated steps.
		add({ user_id: "p5" }, "view", d(4, 8));
		add({ user_id: "p5" }, "view", d(4, 9));
		add({ user_id: "p5" }, "signup", d(4, 9, 30));
		add({ user_id: "p5" }, "signup", d(4, 9, 40));
		add({ user_id: "p5" }, "cart", d(4, 12));
		add({ user_id: "p5" }, "cart", d(4, 13));
		add({ user_id: "p5" }, "purchase", d(4, 14));
		// p6: step 1 before the range: not in the funnel.
		add({ user_id: "p6" }, "view", MON - HOUR);
		add({ user_id: "p6" }, "signup", d(0, 1));
		// p7: step 1 on the range's last evening, step 2 after the range but within the window.
		add({ user_id: "p7" }, "view", d(6, 22));
		add({ user_id: "p7" }, "signup", d(7, 8));
		// p8: an alias links an old id: its view counts for the new user's signup.
		add({ user_id: "old8" }, "view", d(5, 10));
		add({ user_id: "new8" }, "alias", d(5, 10, 1), { type: "alias", previous_id: "old8" });
		add({ user_id: "new8" }, "signup", d(5, 10, 2), { properties: { plan: "pro" } });
		// p9: two people on one device: the device's anonymous id belongs to the first who signed in.
		add({ anonymous_id: "dev9" }, "view", d(5, 12));
		add({ user_id: "first9", anonymous_id: "dev9" }, "signup", d(5, 12, 5), { properties: { plan: "free" } });
		add({ user_id: "second9", anonymous_id: "dev9" }, "cart", d(5, 12, 10));
		add({ anonymous_id: "dev9" }, "cart", d(5, 12, 20));
		// p10: a late event arrives after the rest (out of ingest order): still before the signup in time.
		await insertEvents(t.id, evs);
		await insertEvents(other.id, [{ message_id: "x1", event: "view", user_id: "p1", timestamp: d(0) }]);
		await peopleUp();
		const late: Ev[] = [
			{ message_id: "late1", event: "signup", user_id: "p10", timestamp: d(2, 15) },
			{ message_id: "late2", event: "view", user_id: "p10", timestamp: d(2, 14), country: "FR" },
		];
		evs.push(...late);
		await insertEvents(t.id, late);
		await peopleUp();
	}, 60_000);

	const window = (w: number) => (w % DAY === 0 ? `${w / DAY}d` : `${w / HOUR}h`);
	const truth = (steps: Step[], win: number, order: "strict" | "any") => {
		const from = MON;
		const to = MON + 7 * DAY;
		return [...persons(evs).values()].map((list) => (order === "strict" ? bruteStrict(list, steps, win, from, to) : bruteAny(list, steps, win, from, to))).filter((a) => a.level > 0);
	};

	it("strict order: out-of-order steps, steps outside the window, merges, repeats and late events", async () => {
		const { status, body } = await funnel(t.readKey, { steps: STEPS, date_range: RANGE, window: "1d" });
		expect(status).toBe(200);
		expect(pick(body.steps)).toEqual(expected(truth(STEPS, DAY, "strict"), 4));
		// Spelled out: p1 p2 p3 u4 p5 p7 new8 first9 p10 viewed; p1 p3 u4 p5 p7 new8 first9 p10 signed up; p1 u4 p5 first9 added to cart; p1 p5 bought.
		expect(body.steps.map((s: any) => s.entered)).toEqual([9, 8, 4, 2]);
		// Signup times: 2, 5, 6, 10 and 40 minutes, 1 hour twice, 10 hours (p7 signed up the next morning).
		expect(body.steps[1].time_to_convert_ms).toEqual({ median: 10 * MIN, p90: 10 * HOUR });
		expect(body.steps[0]).toMatchObject({ step: 1, event: "view", name: "view", conversion_from_first: 1 });
		expect(body.meta).toMatchObject({ order: "strict", window: "1d", window_ms: DAY, timezone: "UTC", pending_events: 0 });
	});

	it("a 12-hour window drops the journeys that took longer", async () => {
		const { body } = await funnel(t.readKey, { steps: STEPS, date_range: RANGE, window: "12h" });
		expect(pick(body.steps)).toEqual(expected(truth(STEPS, 12 * HOUR, "strict"), 4));
	});

	it("any order", async () => {
		const { status, body } = await funnel(t.readKey, { steps: STEPS, date_range: RANGE, window: "1d", order: "any" });
		expect(status).toBe(200);
		expect(pick(body.steps)).toEqual(expected(truth(STEPS, DAY, "any"), 4));
		// p2 did signup, view and cart within the day: in any order that is 3 steps.
		expect(body.steps[2].entered).toBe(truth(STEPS, DAY, "strict").filter((a) => a.level >= 3).length + 1);
	});

	it("a step repeated in the funnel needs two events", async () => {
		const steps = [{ event: "view" }, { event: "view" }, { event: "signup" }];
		const { body } = await funnel(t.readKey, { steps, date_range: RANGE, window: "1d" });
		expect(pick(body.steps)).toEqual(expected(truth(steps, DAY, "strict"), 3));
		const any = await funnel(t.readKey, { steps, date_range: RANGE, window: "1d", order: "any" });
		expect(pick(any.body.steps)).toEqual(expected(truth(steps, DAY, "any"), 3));
	});

	it("step filters and a breakdown by a dimension of the first step", async () => {
		const steps = [{ event: "view" }, { event: "signup", filters: [["is", "prop:plan", "pro"]] }];
		const { body } = await funnel(t.readKey, { steps, date_range: RANGE, window: "1d", breakdown: "country" });
		const bsteps: Step[] = [{ event: "view" }, { event: "signup", where: (e) => e.props.plan === "pro" }];
		const all = truth(bsteps, DAY, "strict");
		expect(pick(body.steps)).toEqual(expected(all, 2));
		const byCountry = new Map<string | null, typeof all>();
		for (const a of all) {
			const c = a.first!.country;
			if (!byCountry.has(c)) byCountry.set(c, []);
			byCountry.get(c)!.push(a);
		}
		expect(body.breakdown.dimension).toBe("country");
		expect(body.breakdown.values.length).toBe(byCountry.size);
		for (const v of body.breakdown.values) expect(pick(v.steps)).toEqual(expected(byCountry.get(v.value)!, 2));
		expect(body.breakdown.values[0]).toMatchObject({ value: null }); // 4 people without a country lead
	});

	it("another tenant's events never count; its key sees only its own", async () => {
		const { body } = await funnel(other.readKey, { steps: STEPS, date_range: RANGE, window: "1d" });
		expect(body.steps.map((s: any) => s.entered)).toEqual([1, 0, 0, 0]);
	});

	it("one person's events, merged identities included, newest first and paged", async () => {
		const get = async (id: string, qs = "", key = t.readKey) => {
			const res = await call(`/v1/people/${encodeURIComponent(id)}/events${qs}`, { key });
			return { status: res.status, body: await json(res) };
		};
		const { status, body } = await get("a4");
		expect(status).toBe(200);
		expect(body.person).toEqual({ id: "u4", identifiers: ["a4", "u4"], first_seen: new Date(MON + 2 * DAY + 10 * HOUR).toISOString() });
		expect(body.events.map((e: any) => e.event)).toEqual(["cart", "signup", "identify", "view"]);
		expect(body.events[3]).toMatchObject({ id: "j10", type: "track", anonymous_id: "a4", user_id: null, country: "DE", timestamp: new Date(MON + 2 * DAY + 10 * HOUR).toISOString() });
		expect(body.next_cursor).toBeNull();
		// Two at a time, oldest first: the same events, in the other order.
		const first = await get("u4", "?order=asc&limit=2");
		expect(first.body.events.map((e: any) => e.event)).toEqual(["view", "identify"]);
		const second = await get("u4", `?order=asc&limit=2&cursor=${first.body.next_cursor}`);
		expect(second.body.events.map((e: any) => e.event)).toEqual(["signup", "cart"]);
		expect(second.body.next_cursor).toBeNull();
		// The alias's old id finds the new person; the shared device's later user is someone else.
		expect((await get("old8")).body.person.id).toBe("new8");
		expect((await get("second9")).body.events.map((e: any) => e.event)).toEqual(["cart"]);
		expect((await get("dev9")).body.person.id).toBe("first9");
	});

	it("a person's page includes events stored since the last pass, and marks archived ones", async () => {
		await insertEvents(t.id, [{ message_id: "fresh1", event: "refund", user_id: "p1", timestamp: MON + 6 * DAY }]);
		await env.DB.prepare("DELETE FROM events WHERE tenant_id = ?1 AND message_id = 'j1'").bind(t.id).run();
		const res = await call("/v1/people/p1/events", { key: t.readKey });
		const body = await json(res);
		expect(body.events.map((e: any) => e.event)).toEqual(["refund", "purchase", "cart", "signup", "view"]);
		expect(body.events[3]).toEqual({ event: "signup", timestamp: new Date(MON + 10 * HOUR + 10 * MIN).toISOString(), archived: true });
		expect(body.meta.pending_events).toBe(1);
		await peopleUp();
		const again = await json(await call("/v1/people/p1/events", { key: t.readKey }));
		expect(again.events.map((e: any) => e.event)).toEqual(["refund", "purchase", "cart", "signup", "view"]);
		expect(again.meta.pending_events).toBe(0);
	});

	it("another tenant's person is a 404; the same id in another tenant is another person", async () => {
		expect((await call("/v1/people/p5/events", { key: other.readKey })).status).toBe(404);
		const mine = await json(await call("/v1/people/p1/events", { key: other.readKey }));
		expect(mine.events.map((e: any) => e.id)).toEqual(["x1"]);
		expect((await call("/v1/people/nobody/events", { key: t.readKey })).status).toBe(404);
		expect((await json(await call("/v1/people/p1/events?cursor=zzz", { key: t.readKey }))).error).toMatchObject({ code: "invalid_cursor", details: { field: "cursor" } });
		expect((await json(await call("/v1/people/p1/events?limit=0", { key: t.readKey }))).error).toMatchObject({ code: "invalid_request" });
	});

	it("the people behind a query's point", async () => {
		const people = async (b: unknown, key = t.readKey) => json(await call("/v1/people", { method: "POST", key, json: b }));
		// Monday's views (a daily series' first point, filtered to views).
		const views = await people({ date_range: RANGE, granularity: "day", filters: [["is", "event", "view"]], row: { time: "2026-10-05T00:00:00Z" } });
		expect(views.people).toEqual([{ id: "p1", events: 1, first_seen: new Date(MON + 10 * HOUR).toISOString() }]);
		// A breakdown row: country US over the week.
		const us = await people({ date_range: RANGE, dimensions: ["country"], row: { dimensions: ["US"] } });
		expect(us.people.map((p: any) => [p.id, p.events])).toEqual([["p3", 2], ["p2", 1]]);
		// Wednesday: the anonymous visitor's events count for the person they became; paged one by one.
		const wed = { date_range: RANGE, granularity: "day", row: { time: "2026-10-07T00:00:00Z" }, limit: 1 };
		const page1 = await people(wed);
		expect(page1.people.map((p: any) => [p.id, p.events])).toEqual([["u4", 4]]);
		expect(page1.remaining).toBe(2);
		const page2 = await people({ ...wed, cursor: page1.next_cursor });
		expect(page2.people.map((p: any) => [p.id, p.events])).toEqual([["p10", 2]]);
		expect(page2.next_cursor).toBeNull();
		// The other tenant sees its own p1 only.
		expect((await people({ date_range: RANGE }, other.readKey)).people.map((p: any) => p.id)).toEqual(["p1"]);
		const bad = await people({ date_range: RANGE, granularity: "day", row: { time: "2026-10-05T10:00:00Z" } });
		expect(bad.error).toMatchObject({ code: "invalid_people", details: { field: "row.time" } });
		const miss = await people({ date_range: RANGE, dimensions: ["country"] });
		expect(miss.error).toMatchObject({ code: "invalid_people", details: { field: "row.dimensions" } });
	});

	it("refuses what it cannot answer, naming the field", async () => {
		const bad = async (b: unknown) => (await funnel(t.readKey, b)).body.error;
		expect(await bad({ steps: [{ event: "view" }], date_range: "7d" })).toMatchObject({ code: "invalid_funnel", details: { field: "steps" } });
		expect(await bad({ steps: STEPS, date_range: "7d", window: "2w" })).toMatchObject({ code: "invalid_funnel", details: { field: "window" } });
		expect(await bad({ steps: STEPS, date_range: "7d", order: "exact" })).toMatchObject({ code: "invalid_funnel", details: { field: "order" } });
		expect(await bad({ steps: STEPS, date_range: "7d", breakdown: "event" })).toMatchObject({ code: "invalid_funnel", details: { field: "breakdown" } });
		expect(await bad({ steps: [{ event: "view", filters: [["gt", "country", 3]] }, { event: "x" }], date_range: "7d" })).toMatchObject({ code: "invalid_funnel" });
		expect((await funnel(t.ingestKey, { steps: STEPS, date_range: "7d" })).status).toBe(403);
	});
});

describe("funnels on random journeys", () => {
	let t: Awaited<ReturnType<typeof makeTenant>>;
	const evs: Ev[] = [];
	beforeAll(async () => {
		t = await makeTenant("pfunr", { timezone: "America/New_York" });
		const r = prng(7);
		const names = ["view", "signup", "cart", "purchase", "other"];
		for (let p = 0; p < 150; p++) {
			const anon = `anon${p}`;
			const user = r() < 0.6 ? `user${p}` : null;
			const n = 1 + Math.floor(r() * 9);
			let at = MON - DAY + Math.floor(r() * 9 * DAY);
			for (let i = 0; i < n; i++) {
				at += Math.floor(r() ** 3 * 2 * DAY);
				const signedIn = user && r() < 0.5;
				evs.push({
					message_id: `r${p}-${i}`,
					event: names[Math.floor(r() * names.length)]!,
					user_id: signedIn ? user : null,
					anonymous_id: signedIn && r() < 0.5 ? null : anon,
					timestamp: at,
					country: r() < 0.5 ? "FR" : "US",
					properties: { plan: r() < 0.5 ? "pro" : "free" },
				});
			}
		}
		// Inserted in a shuffled order: ingest order is not time order.
		const shuffled = [...evs].sort(() => r() - 0.5);
		evs.length = 0;
		evs.push(...shuffled);
		await insertEvents(t.id, evs);
		await peopleUp();
	}, 60_000);

	for (const order of ["strict", "any"] as const)
		for (const win of [6 * HOUR, 2 * DAY])
			it(`${order} order, ${win / HOUR}h window, matches the brute force`, async () => {
				const steps = [{ event: "view" }, { event: "signup" }, { event: "cart", filters: [["is", "prop:plan", "pro"]] }, { event: "purchase" }];
				const bsteps: Step[] = [{ event: "view" }, { event: "signup" }, { event: "cart", where: (e) => e.props.plan === "pro" }, { event: "purchase" }];
				// New York dates: the range starts at local midnight.
				const from = Date.parse("2026-10-05T04:00:00Z");
				const to = Date.parse("2026-10-12T04:00:00Z");
				const { status, body } = await funnel(t.readKey, { steps, date_range: RANGE, window: `${win / HOUR}h`, order });
				expect(status).toBe(200);
				const attempts = [...persons(evs).values()].map((l) => (order === "strict" ? bruteStrict(l, bsteps, win, from, to) : bruteAny(l, bsteps, win, from, to))).filter((a) => a.level > 0);
				expect(attempts.length).toBeGreaterThan(20);
				expect(pick(body.steps)).toEqual(expected(attempts, 4));
			});
});

// ── retention and lifecycle: matrices computed from the raw events with Intl's local dates ──

const PARIS = "Europe/Paris";
const dates = new Intl.DateTimeFormat("en-CA", { timeZone: PARIS, year: "numeric", month: "2-digit", day: "2-digit" });
const localDay = (t: number) => dates.format(new Date(t));
/** The period of a local date: itself, the Monday of its week, or its month. */
function periodOf(unit: "day" | "week" | "month", date: string): string {
	if (unit === "day") return date;
	if (unit === "month") return date.slice(0, 7);
	const d = new Date(`${date}T00:00:00Z`);
	d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
	return d.toISOString().slice(0, 10);
}
const labelOf = (unit: "day" | "week" | "month", iso: string) => periodOf(unit, iso.slice(0, 10));

describe("retention and lifecycle", () => {
	let t: Awaited<ReturnType<typeof makeTenant>>;
	const evs: Ev[] = [];
	// Monday 2026-09-07 to Sunday 2026-11-22 in Paris (summer time ends on 2026-10-25).
	const START = Date.parse("2026-09-06T22:00:00Z");
	const END = Date.parse("2026-11-22T23:00:00Z");
	beforeAll(async () => {
		t = await makeTenant("pret", { timezone: PARIS });
		const r = prng(11);
		for (let p = 0; p < 300; p++) {
			const anon = `v${p}`;
			const user = r() < 0.5 ? `m${p}` : null;
			let at = START + Math.floor(r() * (END - START) * 0.8);
			const stickiness = r();
			let signedUp = false;
			while (at < END) {
				const signupNow = user && !signedUp && r() < 0.4;
				if (signupNow) signedUp = true;
				evs.push({
					message_id: `k${evs.length}`,
					event: signupNow ? "signup" : r() < 0.3 ? "purchase" : "view",
					user_id: signedUp ? user : null,
					anonymous_id: signupNow || !signedUp ? anon : null,
					timestamp: at,
				});
				at += r() < 0.6 ? Math.floor(r() * 6 * HOUR) : Math.floor((1 + r() * 20) * DAY * (1.2 - stickiness));
			}
		}
		// Two people active just now: their periods have not ended.
		evs.push({ message_id: "now1", event: "view", user_id: "now1", timestamp: Date.now() - HOUR });
		evs.push({ message_id: "now2", event: "signup", user_id: "now2", timestamp: Date.now() - 2 * HOUR });
		await insertEvents(t.id, evs);
		await peopleUp();
	}, 60_000);

	/** Per person: local dates by event, and the first instant of each event (and of any). */
	const facts = () =>
		[...persons(evs).values()].map((list) => ({
			days: (name?: string) => new Set(list.filter((e) => !name || e.event === name).map((e) => localDay(e.ts))),
			first: (name?: string) => list.find((e) => !name || e.event === name)?.ts ?? null,
		}));

	async function retention(body: unknown) {
		const res = await call("/v1/retention", { method: "POST", key: t.readKey, json: body });
		return { status: res.status, body: await json(res) };
	}

	for (const unit of ["day", "week", "month"] as const)
		for (const [start, ret] of [[undefined, undefined], ["signup", "purchase"]] as const)
			it(`retention by ${unit}, cohorts by ${start ?? "first seen"}, returning with ${ret ?? "any event"}`, async () => {
				const periods = unit === "day" ? 10 : unit === "week" ? 6 : 2;
				const range = unit === "day" ? { from: "2026-10-20", to: "2026-10-31" } : { from: "2026-09-07", to: "2026-11-22" };
				const { status, body } = await retention({ period: unit, date_range: range, periods, start_event: start, return_event: ret });
				expect(status).toBe(200);
				const from = Date.parse(`${range.from}T00:00:00+02:00`);
				const to = Date.parse(`${range.to}T00:00:00+01:00`) + DAY;
				// Offsets from the cohort's period, counted in periods; those not started yet are null.
				const order = (p: string) => (unit === "month" ? Number(p.slice(0, 4)) * 12 + Number(p.slice(5, 7)) : Date.parse(`${p}T00:00:00Z`) / (unit === "week" ? 7 * DAY : DAY));
				const nowAt = order(periodOf(unit, localDay(Date.now())));
				const want = new Map<string, { people: number; retained: (number | null)[] }>();
				for (const f of facts()) {
					const first = f.first(start);
					if (first == null || first < from || first >= to) continue;
					const c = periodOf(unit, localDay(first));
					if (!want.has(c)) want.set(c, { people: 0, retained: new Array(periods + 1).fill(0) });
					const w = want.get(c)!;
					w.people++;
					const active = new Set([...f.days(ret)].map((d) => periodOf(unit, d)));
					for (const a of active) {
						const k = Math.round(order(a) - order(c));
						if (k >= 0 && k <= periods) w.retained[k]!++;
					}
				}
				for (const [c, w] of want) w.retained = w.retained.map((x, k) => (Math.round(order(c)) + k > Math.round(nowAt) ? null : x));
				const got = body.cohorts.filter((c: any) => c.people > 0);
				expect(got.map((c: any) => labelOf(unit, c.cohort))).toEqual([...want.keys()].sort());
				for (const c of got) {
					const w = want.get(labelOf(unit, c.cohort))!;
					expect(c.people).toBe(w.people);
					expect(c.retained).toEqual(w.retained);
					expect(c.rates[0]).toBe(Math.round((w.retained[0]! / w.people) * 1e6) / 1e6);
				}
				expect(body.meta).toMatchObject({ timezone: PARIS, pending_events: 0 });
			});

	for (const unit of ["day", "week"] as const)
		for (const ev of [undefined, "purchase"] as const)
			it(`lifecycle by ${unit} (${ev ?? "any event"})`, async () => {
				const range = unit === "day" ? { from: "2026-10-22", to: "2026-10-28" } : { from: "2026-09-14", to: "2026-11-22" };
				const { status, body } = await retention({ form: "lifecycle", period: unit, date_range: range, return_event: ev });
				expect(status).toBe(200);
				const labels: string[] = body.periods.map((p: any) => labelOf(unit, p.period));
				const prev = (p: string) => {
					const d = new Date(`${p}T00:00:00Z`);
					d.setUTCDate(d.getUTCDate() - (unit === "week" ? 7 : 1));
					return d.toISOString().slice(0, 10);
				};
				const people = facts().map((f) => ({ active: new Set([...f.days(ev)].map((d) => periodOf(unit, d))), first: f.first(ev) }));
				labels.forEach((p, i) => {
					const q = prev(p);
					const firstIn = (x: { first: number | null }) => x.first != null && periodOf(unit, localDay(x.first)) === p;
					const firstBefore = (x: { first: number | null }) => x.first != null && periodOf(unit, localDay(x.first)) < p;
					const want = {
						new: people.filter((x) => x.active.has(p) && firstIn(x)).length,
						returning: people.filter((x) => x.active.has(p) && x.active.has(q) && firstBefore(x)).length,
						resurrecting: people.filter((x) => x.active.has(p) && !x.active.has(q) && firstBefore(x)).length,
						dormant: people.filter((x) => !x.active.has(p) && x.active.has(q)).length,
					};
					const activeBefore = people.filter((x) => x.active.has(q)).length;
					expect({ period: p, ...body.periods[i], period_: undefined }).toMatchObject({ period: body.periods[i].period, ...want, active: want.new + want.returning + want.resurrecting });
					expect(body.periods[i].churn_rate).toBe(activeBefore ? Math.round((want.dormant / activeBefore) * 1e6) / 1e6 : null);
				});
				expect(body.periods.reduce((s: number, p: any) => s + p.new, 0)).toBeGreaterThan(0);
			});

	it("periods that have not started are null, not zero", async () => {
		const { body } = await retention({ period: "day", date_range: "7d", periods: 3 });
		const today = body.cohorts.at(-1);
		expect(today.people).toBeGreaterThanOrEqual(2);
		expect(today.retained.slice(1)).toEqual([null, null, null]);
		expect(today.retained[0]).toBe(today.people);
	});

	it("refuses another time zone, and names the field", async () => {
		const r = await retention({ period: "week", date_range: "30d", timezone: "UTC" });
		expect(r.status).toBe(400);
		expect(r.body.error).toMatchObject({ code: "invalid_retention", details: { field: "timezone" } });
		const l = await retention({ form: "lifecycle", period: "week", date_range: "30d", start_event: "signup" });
		expect(l.body.error).toMatchObject({ code: "invalid_retention", details: { field: "start_event" } });
	});
});

describe("the people pass", () => {
	let t: Awaited<ReturnType<typeof makeTenant>>;
	const evs: Ev[] = [];
	/** The tenant's per-person tables, by the ids people are shown with (pids are the pass's own numbers). */
	async function snapshot() {
		const q = async (sql: string) => (await env.DB.prepare(sql).bind(t.id).all<Record<string, unknown>>()).results.map((r) => JSON.stringify(r));
		return {
			ids: await q("SELECT i.id, i.linked, p.person FROM people_ids i JOIN people p ON p.pid = i.pid WHERE i.tenant_id = ?1 ORDER BY i.id"),
			people: await q("SELECT person, first_seen FROM people WHERE tenant_id = ?1 ORDER BY person"),
			events: await q("SELECT p.person, n.name, e.ts, e.ref FROM people_events e JOIN people p ON p.pid = e.pid JOIN people_names n ON n.code = e.code WHERE e.tenant_id = ?1 ORDER BY e.ref"),
			days: await q("SELECT p.person, d.day, d.word, d.bits FROM people_days d JOIN people p ON p.pid = d.pid WHERE d.tenant_id = ?1 ORDER BY p.person, d.day, d.word"),
			firsts: await q("SELECT p.person, n.name, f.first_ts FROM people_firsts f JOIN people p ON p.pid = f.pid JOIN people_names n ON n.code = f.code WHERE n.tenant_id = ?1 ORDER BY p.person, n.name"),
		};
	}
	const clear = () =>
		env.DB.batch(
			["people_events", "people_days", "people_ids"].map((tb) => env.DB.prepare(`DELETE FROM ${tb} WHERE tenant_id = ?1`).bind(t.id)).concat([
				env.DB.prepare("DELETE FROM people_firsts WHERE code IN (SELECT code FROM people_names WHERE tenant_id = ?1)").bind(t.id),
				env.DB.prepare("DELETE FROM people WHERE tenant_id = ?1").bind(t.id),
			]),
		);
	const setWatermark = (w: number) => env.DB.prepare("UPDATE rollup_cursor SET watermark = ?1 WHERE id = 'people'").bind(w).run();

	beforeAll(async () => {
		t = await makeTenant("ppass", { timezone: "Asia/Kolkata" });
		const r = prng(5);
		for (let i = 0; i < 400; i++) {
			const p = Math.floor(r() * 40);
			const kind = r();
			evs.push({
				message_id: `q${i}`,
				event: kind < 0.1 ? "alias" : ["view", "signup", "buy"][Math.floor(r() * 3)]!,
				type: kind < 0.1 ? "alias" : "track",
				user_id: kind < 0.1 ? `n${p}` : r() < 0.5 ? `u${p % 25}` : null,
				anonymous_id: r() < 0.7 ? `a${p}` : kind < 0.1 ? null : `b${p}`,
				previous_id: kind < 0.1 ? `u${p % 25}` : null,
				timestamp: MON + Math.floor(r() * 20 * DAY),
			});
		}
		await insertEvents(t.id, evs);
	}, 60_000);

	it("gives the same tables whatever its chunks, and a second run over the same events changes nothing", async () => {
		const before = (await env.DB.prepare("SELECT coalesce((SELECT watermark FROM rollup_cursor WHERE id = 'people'), 0) AS w").first<{ w: number }>())!.w;
		const mine = (await env.DB.prepare("SELECT min(rowid) AS lo FROM events WHERE tenant_id = ?1").bind(t.id).first<{ lo: number }>())!.lo;
		await setWatermark(Math.min(before, mine - 1));
		for (let i = 0; i < 200; i++) if ((await runPeople(env, { trigger: "test", chunk: 7 })).caught_up) break;
		const small = await snapshot();
		expect(small.ids.length).toBeGreaterThan(40);
		expect(small.events.length).toBe(400);
		await clear();
		await setWatermark(mine - 1);
		await peopleUp();
		expect(await snapshot()).toEqual(small);
		// Everything read again: the same rows (links are not applied twice, bits and minima are idempotent).
		await setWatermark(mine - 1);
		await peopleUp();
		expect(await snapshot()).toEqual(small);
	});

	it("rebuilds active days in the new zone after a change of time zone", async () => {
		const local = (tz: string) => {
			const f = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" });
			return new Set(evs.map((e) => Math.round(Date.parse(`${f.format(new Date(e.timestamp))}T00:00:00Z`) / DAY)));
		};
		const days = async () => new Set((await env.DB.prepare("SELECT DISTINCT day FROM people_days WHERE tenant_id = ?1").bind(t.id).all<{ day: number }>()).results.map((r) => r.day));
		expect(await days()).toEqual(local("Asia/Kolkata"));
		const res = await call(`/v1/admin/tenants/${t.id}`, { method: "PATCH", key: "ew_dev_admin", json: { timezone: "America/Los_Angeles" } });
		expect(res.status).toBe(200);
		await peopleUp();
		expect(await days()).toEqual(local("America/Los_Angeles"));
		expect((await env.DB.prepare("SELECT tz, rebuild_from, rebuild_to FROM people_tenants WHERE tenant_id = ?1").bind(t.id).first())).toMatchObject({ tz: "America/Los_Angeles" });
	});
});
