import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, call, makeTenant } from "../helpers";
import { insertRows, prng, type Row } from "../rollup-data";

// An A/B test on a checkout page, built person by person, with the traps a real one has: purchases
// before the exposure, purchases after the window, people who saw both variants, anonymous people,
// a second experiment on the same event, and purchases of another kind. The expected arms and
// statistics are computed here from the generated journeys.
const HOUR = 3_600_000;
const FROM = Date.UTC(2026, 10, 2);
const TO = Date.UTC(2026, 10, 16);
const RANGE = { from: "2026-11-02", to: "2026-11-15" };

interface Person {
	id: string;
	anonymous: boolean;
	variant: string;
	exposedAt: number;
	mixed: boolean;
	/** Purchases: time and amount. */
	purchases: { at: number; amount: number; kind: string }[];
}

let t: Awaited<ReturnType<typeof makeTenant>>;
const people: Person[] = [];

function journeys(seed: number, n: number, rates: Record<string, number>, weights: Record<string, number>) {
	const r = prng(seed);
	const names = Object.keys(rates);
	const total = names.reduce((s, v) => s + weights[v]!, 0);
	for (let i = 0; i < n; i++) {
		let x = r() * total;
		const variant = names.find((v) => (x -= weights[v]!) < 0) ?? names[names.length - 1]!;
		const exposedAt = FROM + Math.floor(r() * (TO - FROM - 2 * HOUR));
		const p: Person = { id: `p${seed}-${i}`, anonymous: r() < 0.2, variant, exposedAt, mixed: r() < 0.02, purchases: [] };
		if (r() < rates[variant]!) p.purchases.push({ at: exposedAt + Math.floor(r() * 48 * HOUR), amount: Math.round(20 + r() * 80 + (variant === "B" ? 10 : 0)), kind: "order" });
		// Noise that must not count: a purchase before the exposure, and a refund-kind purchase after.
		if (r() < 0.1) p.purchases.push({ at: exposedAt - HOUR, amount: 500, kind: "order" });
		if (r() < 0.1) p.purchases.push({ at: exposedAt + HOUR, amount: 700, kind: "gift_card" });
		people.push(p);
	}
}

function rowsOf(p: Person, prefix: string): Row[] {
	const who = p.anonymous ? { user_id: null, anonymous_id: p.id } : { user_id: p.id, anonymous_id: null };
	const base = { country: null, device: null, browser: null, os: null, ...who };
	const rows: Row[] = [
		{ ...base, message_id: `${prefix}-x-${p.id}`, event: "experiment_viewed", timestamp: p.exposedAt, properties: { experiment: "checkout", variant: p.variant } },
		// Seen again later: the person's first exposure is what counts.
		{ ...base, message_id: `${prefix}-x2-${p.id}`, event: "experiment_viewed", timestamp: p.exposedAt + HOUR, properties: { experiment: "checkout", variant: p.variant } },
		// Another experiment on the same event.
		{ ...base, message_id: `${prefix}-o-${p.id}`, event: "experiment_viewed", timestamp: p.exposedAt, properties: { experiment: "pricing", variant: "Z" } },
	];
	if (p.mixed) rows.push({ ...base, message_id: `${prefix}-m-${p.id}`, event: "experiment_viewed", timestamp: p.exposedAt + 2 * HOUR, properties: { experiment: "checkout", variant: p.variant === "A" ? "B" : "A" } });
	p.purchases.forEach((b, i) => rows.push({ ...base, message_id: `${prefix}-b${i}-${p.id}`, event: "purchase", timestamp: b.at, properties: { amount: b.amount, kind: b.kind } }));
	return rows;
}

beforeAll(async () => {
	t = await makeTenant("exp", { timezone: "UTC" });
	journeys(1, 3000, { A: 0.1, B: 0.14 }, { A: 1, B: 1 });
	await insertRows(t.id, people.flatMap((p) => rowsOf(p, "e")));
}, 120_000);

const run = async (body: unknown) => {
	const res = await call("/v1/experiments", { method: "POST", key: t.readKey, json: body });
	return { status: res.status, body: (await res.json()) as any };
};
const checkout = { event: "experiment_viewed", filters: [["is", "prop:experiment", "checkout"]], variant: "prop:variant" };
const orders = { event: "purchase", filters: [["is", "prop:kind", "order"]] };

// Independent references: Φ by Simpson's rule on the density.
const normalPdf = (x: number) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);
function phi(z: number) {
	const n = 20_000;
	const h = z / n;
	let s = normalPdf(0) + normalPdf(z);
	for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * normalPdf(i * h);
	return 0.5 + (s * h) / 3;
}

/** The arms as counted here: first exposure's variant, mixed people out, goals from the exposure on. */
function arms(windowMs = Number.POSITIVE_INFINITY, until = TO) {
	const out = new Map<string, { people: number; converted: number; sums: number[] }>();
	for (const p of people) {
		if (p.mixed) continue;
		let a = out.get(p.variant);
		if (!a) out.set(p.variant, (a = { people: 0, converted: 0, sums: [] }));
		a.people++;
		const counted = p.purchases.filter((b) => b.kind === "order" && b.at >= p.exposedAt && b.at < p.exposedAt + windowMs && b.at < until);
		if (counted.length) a.converted++;
		a.sums.push(counted.reduce((s, b) => s + b.amount, 0));
	}
	return out;
}

describe("POST /v1/experiments", () => {
	it("conversion: arms, effect, interval and p-value equal a two-proportion test computed here", async () => {
		const { status, body } = await run({ exposure: checkout, goal: orders, date_range: RANGE, control: "A" });
		expect(status, JSON.stringify(body)).toBe(200);
		const mine = arms();
		const A = mine.get("A")!;
		const B = mine.get("B")!;
		expect(body.variants).toEqual([
			{ variant: "A", people: A.people, converted: A.converted, rate: A.converted / A.people },
			{ variant: "B", people: B.people, converted: B.converted, rate: B.converted / B.people },
		]);
		expect(body.excluded.mixed_people).toBe(people.filter((p) => p.mixed).length);
		const [p1, p2] = [A.converted / A.people, B.converted / B.people];
		const pooled = (A.converted + B.converted) / (A.people + B.people);
		const z = (p2 - p1) / Math.sqrt(pooled * (1 - pooled) * (1 / A.people + 1 / B.people));
		const test = body.tests[0];
		expect(test).toMatchObject({ kind: "proportion", control: "A", variant: "B" });
		expect(test.effect).toBeCloseTo(p2 - p1, 12);
		expect(test.p_value).toBeCloseTo(2 * (1 - phi(Math.abs(z))), 6);
		const se = Math.sqrt((p1 * (1 - p1)) / A.people + (p2 * (1 - p2)) / B.people);
		expect(test.ci95[0]).toBeCloseTo(p2 - p1 - 1.959964 * se, 5);
		expect(test.ci95[1]).toBeCloseTo(p2 - p1 + 1.959964 * se, 5);
		// A 50/50 split that held: no mismatch; one comparison: the adjusted p-value is the p-value.
		expect(body.srm.mismatch).toBe(false);
		expect(body.srm.expected_split).toEqual({ A: 0.5, B: 0.5 });
		expect(test.adjusted_p_value).toBe(test.p_value);
		// B as the control: listed first, the effect reversed.
		const reversed = (await run({ exposure: checkout, goal: orders, date_range: RANGE, control: "B" })).body;
		expect(reversed.variants.map((v: any) => v.variant)).toEqual(["B", "A"]);
		expect(reversed.tests[0].effect).toBeCloseTo(p1 - p2, 12);
		expect(reversed.meta.date_range).toEqual({ from: "2026-11-02T00:00:00Z", to: "2026-11-16T00:00:00Z" });
	});

	it("a conversion window counts only goals within it of the first exposure", async () => {
		const { body } = await run({ exposure: checkout, goal: orders, date_range: RANGE, window: { hours: 12 } });
		const mine = arms(12 * HOUR, TO + 12 * HOUR);
		expect(body.variants.map((v: any) => v.converted)).toEqual([mine.get("A")!.converted, mine.get("B")!.converted]);
		expect(mine.get("A")!.converted).toBeLessThan(arms().get("A")!.converted);
		expect(body.meta.window_hours).toBe(12);
	});

	it("revenue per exposed person: Welch's t-test on the sums computed here", async () => {
		const { body } = await run({ exposure: checkout, goal: { ...orders, metric: "sum:amount" }, date_range: RANGE });
		const mine = arms();
		const stats = (xs: number[]) => {
			const m = xs.reduce((s, x) => s + x, 0) / xs.length;
			return { n: xs.length, m, v: xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) };
		};
		const a = stats(mine.get("A")!.sums);
		const b = stats(mine.get("B")!.sums);
		expect(body.variants[0].units).toBe(a.n);
		expect(body.variants[0].mean).toBeCloseTo(a.m, 9);
		expect(body.variants[1].sd).toBeCloseTo(Math.sqrt(b.v), 6);
		const test = body.tests[0];
		expect(test.kind).toBe("mean");
		expect(test.effect).toBeCloseTo(b.m - a.m, 9);
		const tStat = (b.m - a.m) / Math.sqrt(a.v / a.n + b.v / b.n);
		// Thousands of degrees of freedom: the t distribution is the normal to 3 decimals.
		expect(test.p_value).toBeCloseTo(2 * (1 - phi(Math.abs(tStat))), 3);
	});

	it("a split that did not hold is flagged as a sample ratio mismatch", async () => {
		// Said to be 70/30: 50/50 is far from it.
		const { body } = await run({ exposure: checkout, goal: orders, date_range: RANGE, split: { A: 7, B: 3 } });
		const mine = arms();
		const total = mine.get("A")!.people + mine.get("B")!.people;
		const chi2 = (mine.get("A")!.people - 0.7 * total) ** 2 / (0.7 * total) + (mine.get("B")!.people - 0.3 * total) ** 2 / (0.3 * total);
		expect(body.srm.chi2).toBeCloseTo(chi2, 6);
		expect(body.srm.mismatch).toBe(true);
		expect(body.notes.join(" ")).toMatch(/sample ratio mismatch/);
	});

	it("with a minimum effect, the sample size is computed for it", async () => {
		const { body } = await run({ exposure: checkout, goal: orders, date_range: RANGE, minimum_effect: 0.05 });
		const A = arms().get("A")!;
		const p1 = A.converted / A.people;
		expect(body.tests[0].powered_for).toBeCloseTo(0.05 * p1, 12);
		const p2 = p1 * 1.05;
		const need = Math.ceil(((1.959964 + 0.841621) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2))) / (0.05 * p1) ** 2);
		expect(Math.abs(body.tests[0].more_units_needed - (need - Math.min(A.people, arms().get("B")!.people)))).toBeLessThanOrEqual(1);
	});

	it("an anonymous visitor who signs in and buys is one converted person, once the people pass has linked the two ids", async () => {
		const other = await makeTenant("exp-ids", { timezone: "UTC" });
		const at = FROM + 5 * HOUR;
		const base = { country: null, device: null, browser: null, os: null };
		const rows: Row[] = [
			{ ...base, message_id: "ids-1", event: "experiment_viewed", user_id: null, anonymous_id: "anon-1", timestamp: at, properties: { experiment: "checkout", variant: "A" } },
			{ ...base, message_id: "ids-2", event: "signed_in", user_id: "u-1", anonymous_id: "anon-1", timestamp: at + HOUR, properties: {} },
			{ ...base, message_id: "ids-3", event: "purchase", user_id: "u-1", anonymous_id: null, timestamp: at + 2 * HOUR, properties: { kind: "order", amount: 50 } },
			// A second visitor who never signs in or buys.
			{ ...base, message_id: "ids-4", event: "experiment_viewed", user_id: null, anonymous_id: "anon-2", timestamp: at, properties: { experiment: "checkout", variant: "A" } },
		];
		await insertRows(other.id, rows);
		const ask = () => call("/v1/experiments", { method: "POST", key: other.readKey, json: { exposure: checkout, goal: orders, date_range: RANGE } }).then((r) => r.json() as Promise<any>);
		// Before the pass, the purchase's user id is a stranger to the exposure's anonymous id.
		expect((await ask()).variants).toEqual([{ variant: "A", people: 2, converted: 0, rate: 0 }]);
		const pass = await call("/v1/admin/people/run", { method: "POST", key: ADMIN });
		expect(pass.status).toBe(200);
		expect((await ask()).variants).toEqual([{ variant: "A", people: 2, converted: 1, rate: 0.5 }]);
	});

	it("names the field when an experiment is asked wrongly", async () => {
		const cases: [unknown, RegExp][] = [
			[{ exposure: { ...checkout, variant: "hour_of_day" }, goal: orders, date_range: RANGE }, /exposure\.variant/],
			[{ exposure: checkout, goal: { ...orders, metric: "p95:amount" }, date_range: RANGE }, /goal\.metric/],
			[{ exposure: checkout, goal: orders }, /date_range/],
			[{ exposure: checkout, goal: orders, date_range: RANGE, control: "C" }, /control/],
			[{ exposure: { ...checkout, filters: [["is", "hour_of_day", 3]] }, goal: orders, date_range: RANGE }, /exposure\.filters\[0\]/],
			[{ exposure: checkout, goal: orders, date_range: RANGE, extra: 1 }, /extra|Unrecognized/i],
		];
		for (const [body, field] of cases) {
			const res = await run(body);
			expect(res.status, JSON.stringify(body)).toBe(400);
			expect(res.body.error.code).toBe("invalid_experiment");
			expect(JSON.stringify(res.body.error)).toMatch(field);
		}
	});

	it("reads only the key's tenant", async () => {
		const other = await makeTenant("exp-other", { timezone: "UTC" });
		const res = await call("/v1/experiments", { method: "POST", key: other.readKey, json: { exposure: checkout, goal: orders, date_range: RANGE } });
		const body = (await res.json()) as any;
		expect(res.status).toBe(200);
		expect(body.variants).toEqual([]);
		expect(body.tests).toEqual([]);
	});
});
