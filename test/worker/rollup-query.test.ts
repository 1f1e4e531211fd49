import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { answerQuery, type TenantRow } from "../../workers/query/answer";
import { runRollups } from "../../workers/rollup/run";
import { HLL_STANDARD_ERROR } from "../../workers/sketch/hll";
import { ADMIN, call, json, makeTenant } from "../helpers";
import { dataset, exact, insertRows, localDate, query, type Row, rollUp, userOf } from "../rollup-data";

const NY = "America/New_York";
// 2026-10-30 00:00 to 2026-11-04 00:00 UTC: New York falls back on Sunday 2026-11-01.
const FROM = Date.UTC(2026, 9, 30);
const TO = Date.UTC(2026, 10, 4);

let t: Awaited<ReturnType<typeof makeTenant>>;
let rows: Row[];

/** Exact answers computed from the rows, never from the app's code. */
const only = (pred: (r: Row) => boolean) => rows.filter(pred);
const uniques = (rs: Row[]) => new Set(rs.map(userOf).filter((u) => u != null)).size;
const within3Se = (estimate: number, truth: number) => Math.abs(estimate - truth) <= Math.max(1, 3 * HLL_STANDARD_ERROR * truth);
const inNyDays = (r: Row, from: string, to: string) => {
	const d = localDate(NY, r.timestamp);
	return d >= from && d <= to;
};

beforeAll(async () => {
	t = await makeTenant("rq", { timezone: NY, dimension_props: ["channel"], metric_props: ["duration", "amount"] });
	rows = dataset(42, 8_000, FROM, TO);
	// Both 01:30 of the repeated hour on the fall-back night: one local day, 25 hours long.
	rows.push(
		{ ...rows[0]!, message_id: "dst-edt", timestamp: Date.parse("2026-11-01T05:30:00Z") },
		{ ...rows[1]!, message_id: "dst-est", timestamp: Date.parse("2026-11-01T06:30:00Z") },
		{ ...rows[2]!, message_id: "dst-end", timestamp: Date.parse("2026-11-02T04:59:59Z") },
	);
	await insertRows(t.id, rows);
	await rollUp();
}, 120_000);

describe("rollups answer like the raw events", () => {
	it("counts per New York day are exact, across the November DST change", async () => {
		const { status, body } = await query(t.readKey, { metrics: ["count", "uniques"], date_range: { from: "2026-10-31", to: "2026-11-02" }, granularity: "day" });
		expect(status).toBe(200);
		expect(body.meta).toMatchObject({ plan: "rollup", level: "day", timezone: NY, pending_hours: 0 });
		expect(body.results.map((r: any) => r.time)).toEqual(["2026-10-31T00:00:00-04:00", "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"]);
		for (const r of body.results) {
			const day = r.time.slice(0, 10);
			const truth = only((e) => localDate(NY, e.timestamp) === day);
			expect(r.metrics[0]).toBe(truth.length);
			expect(within3Se(r.metrics[1], uniques(truth))).toBe(true);
		}
		// The 25-hour day holds both 01:30s and the last second before its local midnight.
		const nov1 = only((e) => localDate(NY, e.timestamp) === "2026-11-01").map((e) => e.message_id);
		expect(nov1).toEqual(expect.arrayContaining(["dst-edt", "dst-est", "dst-end"]));
	});

	it("answers other time zones from hour buckets, zero-filled", async () => {
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-28", to: "2026-11-05" }, timezone: "Europe/Paris", granularity: "day" });
		expect(body.meta).toMatchObject({ plan: "rollup", level: "hour", timezone: "Europe/Paris" });
		expect(body.results).toHaveLength(9);
		for (const r of body.results) expect(r.metrics[0]).toBe(only((e) => localDate("Europe/Paris", e.timestamp) === r.time.slice(0, 10)).length);
		expect(body.results[0].metrics[0]).toBe(0);
		expect(body.results[8].metrics[0]).toBe(0);
	});

	it("KPIs: sums, min, max exact; percentiles within 1%; uniques within 3 standard errors", async () => {
		const metrics = ["count", "uniques", "sum:duration", "avg:duration", "min:duration", "max:duration", "p50:duration", "p95:duration", "p99:duration", "sum:amount"];
		const { body } = await query(t.readKey, { metrics, date_range: { from: "2026-10-30", to: "2026-11-02" } });
		expect(body.meta.plan).toBe("rollup");
		const rs = only((e) => inNyDays(e, "2026-10-30", "2026-11-02"));
		const d = exact(rs.map((e) => e.properties.duration).filter((v): v is number => typeof v === "number"));
		const [count, u, sum, avg, min, max, p50, p95, p99, amount] = body.results[0].metrics;
		expect(count).toBe(rs.length);
		expect(within3Se(u, uniques(rs))).toBe(true);
		expect(sum).toBeCloseTo(d.sum, 6);
		expect(avg).toBeCloseTo(d.sum / d.count, 9);
		expect(min).toBe(d.min);
		expect(max).toBe(d.max);
		for (const [got, p] of [[p50, 0.5], [p95, 0.95], [p99, 0.99]] as const) expect(Math.abs(got - d.q(p)!) / d.q(p)!).toBeLessThanOrEqual(0.01);
		expect(amount).toBe(rs.reduce((a, e) => a + (typeof e.properties.amount === "number" ? e.properties.amount : 0), 0));
	});

	it("breakdowns by a built-in dimension, a property dimension and event match raw, in order", async () => {
		for (const dim of ["country", "prop:channel", "event", "device"]) {
			const body = { metrics: ["count", "uniques", "p90:duration"], date_range: { from: "2026-10-30", to: "2026-11-03" }, dimensions: [dim], order_by: [["count", "desc"]], limit: 3 };
			const a = await query(t.readKey, body);
			const b = await query(t.readKey, { ...body, source: "raw" });
			expect(a.body.meta.plan).toBe("rollup");
			expect(b.body.meta.plan).toBe("raw");
			expect(a.body.results.map((r: any) => [r.dimensions, r.metrics[0]])).toEqual(b.body.results.map((r: any) => [r.dimensions, r.metrics[0]]));
			for (let i = 0; i < a.body.results.length; i++) {
				const [x, y] = [a.body.results[i].metrics, b.body.results[i].metrics];
				expect(within3Se(x[1], y[1])).toBe(true);
				if (y[2] != null) expect(Math.abs(x[2] - y[2]) / y[2]).toBeLessThanOrEqual(0.01);
			}
			const counts = a.body.results.map((r: any) => r.metrics[0]);
			expect(counts).toEqual([...counts].sort((p: number, q: number) => q - p));
		}
		// Independent check of one breakdown: missing countries come back as null.
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-30", to: "2026-11-03" }, dimensions: ["country"] });
		const truth = new Map<string | null, number>();
		for (const e of only((e) => inNyDays(e, "2026-10-30", "2026-11-03"))) truth.set(e.country, (truth.get(e.country) ?? 0) + 1);
		expect(new Map(body.results.map((r: any) => [r.dimensions[0], r.metrics[0]]))).toEqual(truth);
	});

	it("filters on event and on the rolled-up dimension stay on rollups and are exact", async () => {
		const filters = [["is", "event", ["message_sent", "purchase"]], ["is_not", "country", ["US"]]];
		const b = { metrics: ["count"], date_range: { from: "2026-10-30", to: "2026-11-03" }, filters, dimensions: ["country"] };
		const a = await query(t.readKey, b);
		expect(a.body.meta.plan).toBe("rollup");
		const truth = only((e) => inNyDays(e, "2026-10-30", "2026-11-03") && (e.event === "message_sent" || e.event === "purchase") && e.country !== "US");
		expect(a.body.results.reduce((s: number, r: any) => s + r.metrics[0], 0)).toBe(truth.length);
		expect(a.body.results.some((r: any) => r.dimensions[0] === "US")).toBe(false);
		const contains = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-30", to: "2026-11-03" }, filters: [["contains", "prop:channel", "MAI"]] });
		expect(contains.body.meta.plan).toBe("rollup");
		expect(contains.body.results[0].metrics[0]).toBe(only((e) => inNyDays(e, "2026-10-30", "2026-11-03") && e.properties.channel === "email").length);
		// An empty 'contains' matches every present value and no missing one, on rollups as on raw.
		const empty = { metrics: ["count"], date_range: { from: "2026-10-30", to: "2026-11-03" }, filters: [["contains", "prop:channel", ""]] };
		const [ra, rr] = [await query(t.readKey, empty), await query(t.readKey, { ...empty, source: "raw" })];
		expect(ra.body.results[0].metrics[0]).toBe(only((e) => inNyDays(e, "2026-10-30", "2026-11-03") && e.properties.channel != null).length);
		expect(rr.body.results[0].metrics[0]).toBe(ra.body.results[0].metrics[0]);
	});

	it("mixing two dimensions, gt/lt or an untracked property falls back to raw with the reason, and raw is exact", async () => {
		const range = { from: "2026-10-31", to: "2026-11-01" };
		const rs = only((e) => inNyDays(e, "2026-10-31", "2026-11-01"));
		const two = await query(t.readKey, { metrics: ["count", "uniques"], date_range: range, dimensions: ["country", "device"], limit: 1000 });
		expect(two.body.meta.plan).toBe("raw");
		expect(two.body.meta.raw_reason).toMatch(/one dimension/);
		const cell = two.body.results.find((r: any) => r.dimensions[0] === "FR" && r.dimensions[1] === "mobile");
		const truth = rs.filter((e) => e.country === "FR" && e.device === "mobile");
		expect(cell.metrics).toEqual([truth.length, uniques(truth)]);
		// Property values compare as text on raw events too, as rollups store them: 5 and "5" agree.
		const some = rs.find((e) => typeof e.properties.duration === "number")!.properties.duration as number;
		const asNumber = await query(t.readKey, { metrics: ["count"], date_range: range, filters: [["is", "prop:duration", some]] });
		const asText = await query(t.readKey, { metrics: ["count"], date_range: range, filters: [["is", "prop:duration", String(some)]] });
		expect(asNumber.body.meta.plan).toBe("raw");
		expect(asNumber.body.results[0].metrics[0]).toBe(rs.filter((e) => e.properties.duration === some).length);
		expect(asText.body.results[0].metrics[0]).toBe(asNumber.body.results[0].metrics[0]);
		const gt = await query(t.readKey, { metrics: ["count"], date_range: range, filters: [["gt", "prop:duration", 200]] });
		expect(gt.body.meta.plan).toBe("raw");
		expect(gt.body.results[0].metrics[0]).toBe(rs.filter((e) => typeof e.properties.duration === "number" && e.properties.duration > 200).length);
	});

	it("a series split by a dimension keeps the top `limit` series, each zero-filled", async () => {
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-28", to: "2026-11-04" }, granularity: "day", dimensions: ["country"], limit: 2 });
		expect(body.meta.plan).toBe("rollup");
		expect(body.results).toHaveLength(2 * 8);
		const byCountry = new Map<string | null, number>();
		for (const e of only((e) => inNyDays(e, "2026-10-29", "2026-11-04"))) byCountry.set(e.country, (byCountry.get(e.country) ?? 0) + 1);
		const top2 = [...byCountry.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([c]) => c);
		expect(new Set(body.results.map((r: any) => r.dimensions[0]))).toEqual(new Set(top2));
		for (const r of body.results) expect(r.metrics[0]).toBe(only((e) => e.country === r.dimensions[0] && localDate(NY, e.timestamp) === r.time.slice(0, 10)).length);
		// 2026-10-28 (New York) has no data at all: zero-filled, not missing.
		expect(body.results.filter((r: any) => r.time.startsWith("2026-10-28")).map((r: any) => r.metrics[0])).toEqual([0, 0]);
	});

	it("top-N by count (sketches merged for the kept values only) answers like the full breakdown, comparison included", async () => {
		const range = { from: "2026-10-31", to: "2026-11-02" };
		// Limit 4 keeps the missing country (null, stored as ''): its sketches are read back too.
		for (const [dir, limit] of [["desc", 2], ["asc", 2], ["desc", 4]] as const) {
			const base = { metrics: ["count", "uniques", "p50:duration"], date_range: range, dimensions: ["country"], order_by: [["count", dir]], compare: "previous_period" };
			const top = await query(t.readKey, { ...base, limit });
			const all = await query(t.readKey, { ...base, limit: 1000 });
			expect(top.body.meta.plan).toBe("rollup");
			expect(top.body.meta.total_rows).toBe(all.body.meta.total_rows);
			expect(top.body.results).toEqual(all.body.results.slice(0, limit));
			if (limit === 4) expect(top.body.results.some((r: any) => r.dimensions[0] === null)).toBe(true);
			// Independently: the kept values' uniques, now and in the previous period.
			for (const r of top.body.results) {
				const now = only((e) => e.country === r.dimensions[0] && inNyDays(e, "2026-10-31", "2026-11-02"));
				const before = only((e) => e.country === r.dimensions[0] && inNyDays(e, "2026-10-28", "2026-10-30"));
				expect(r.metrics[0]).toBe(now.length);
				expect(within3Se(r.metrics[1], uniques(now))).toBe(true);
				expect(within3Se(r.comparison.metrics[1], uniques(before))).toBe(true);
			}
		}
		// A split series ranked by count, and one ranked by uniques (every value merged): both equal their full versions.
		for (const order of [undefined, [["uniques", "desc"]]]) {
			const series = { metrics: ["uniques", "count"], date_range: range, granularity: "day", dimensions: ["event"], order_by: order };
			const top = await query(t.readKey, { ...series, order_by: order ?? [["count", "desc"]], limit: 1 });
			const all = await query(t.readKey, { ...series, order_by: order ?? [["count", "desc"]], limit: 3 });
			expect(top.body.results).toEqual(all.body.results.filter((r: any) => r.dimensions[0] === top.body.results[0].dimensions[0]));
		}
	});

	it("hour_of_day and day_of_week come from hour buckets in the requested zone", async () => {
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-30", to: "2026-11-03" }, timezone: "UTC", dimensions: ["hour_of_day"], order_by: [["hour_of_day", "asc"]] });
		expect(body.meta).toMatchObject({ plan: "rollup", level: "hour" });
		expect(body.results).toHaveLength(24);
		const rs = only((e) => e.timestamp >= Date.UTC(2026, 9, 30) && e.timestamp < Date.UTC(2026, 10, 4));
		for (const r of body.results) expect(r.metrics[0]).toBe(rs.filter((e) => new Date(e.timestamp).getUTCHours() === r.dimensions[0]).length);
	});

	it("compares with the previous period: absolute and % change", async () => {
		const { body } = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-11-01", to: "2026-11-02" }, compare: "previous_period" });
		const cur = only((e) => inNyDays(e, "2026-11-01", "2026-11-02")).length;
		const prev = only((e) => inNyDays(e, "2026-10-30", "2026-10-31")).length;
		expect(body.meta.comparison.date_range).toEqual({ from: "2026-10-30T00:00:00-04:00", to: "2026-11-01T00:00:00-04:00" });
		expect(body.results[0].comparison).toEqual({ metrics: [prev], change: [cur - prev], change_pct: [Math.round(((cur - prev) / prev) * 1000) / 10] });
	});
});

describe("comparisons of a range that holds now", () => {
	it("read the earlier range up to the same hour: whole days from day buckets plus the last day's hours, added up", async () => {
		// answerQuery with `now` inside the data: 10:42 EST on 2026-11-03. Two days back is 10:42 EST on the
		// 25-hour 2026-11-01, so the earlier range is 2026-10-31 00:00 EDT to 2026-11-01 10:00 EST (15:00Z).
		const now = Date.parse("2026-11-03T15:42:10Z");
		const tenant = await env.DB.prepare("SELECT t.timezone, s.day_tz, s.align_minutes, s.config, s.archived_before FROM tenants t LEFT JOIN rollup_tenants s ON s.tenant_id = t.id WHERE t.id = ?1")
			.bind(t.id)
			.first<TenantRow>();
		const metrics = ["count", "uniques", "sum:duration", "max:duration"];
		const body = { metrics, date_range: { from: "2026-11-02", to: "2026-11-03" }, dimensions: ["prop:channel"], compare: "previous_period" };
		const answer = await answerQuery(env.DB, t.id, body, tenant, now);
		expect(answer.meta).toMatchObject({ plan: "rollup", level: "day" });
		expect(answer.meta.comparison).toMatchObject({ plan: "rollup", level: "hour", date_range: { from: "2026-10-31T00:00:00-04:00", to: "2026-11-01T10:00:00-05:00" } });
		const [from, to] = [Date.parse("2026-10-31T04:00:00Z"), Date.parse("2026-11-01T15:00:00Z")];
		expect(answer.results.length).toBeGreaterThan(1);
		for (const r of answer.results) {
			const before = only((e) => e.timestamp >= from && e.timestamp < to && (e.properties.channel ?? null) === r.dimensions[0]);
			const durations = before.map((e) => e.properties.duration).filter((v): v is number => typeof v === "number");
			const [count, u, sum, max] = r.comparison!.metrics;
			expect(count).toBe(before.length);
			expect(within3Se(u!, uniques(before))).toBe(true);
			expect(sum).toBeCloseTo(durations.reduce((a, b) => a + b, 0), 6);
			expect(max).toBe(durations.length ? Math.max(...durations) : null);
		}
	});
});

describe("time zones with half-hour offsets, weeks and months", () => {
	it("a Kolkata tenant's hours start at :30 UTC; its days, weeks and months are exact; UTC days fall back correctly", async () => {
		const k = await makeTenant("rq-kolkata", { timezone: "Asia/Kolkata" });
		const kr = dataset(11, 1500, Date.UTC(2026, 9, 26), Date.UTC(2026, 10, 3), "k");
		await insertRows(k.id, kr);
		await rollUp();
		const status = await json(await call("/v1/system/status", { key: k.readKey }));
		expect(status.rollups.layout.align_minutes).toBe(30);
		const days = await query(k.readKey, { metrics: ["count"], date_range: { from: "2026-10-26", to: "2026-11-02" }, granularity: "day" });
		expect(days.body.meta).toMatchObject({ plan: "rollup", level: "day" });
		expect(days.body.results[0].time).toBe("2026-10-26T00:00:00+05:30");
		for (const r of days.body.results) expect(r.metrics[0]).toBe(kr.filter((e) => localDate("Asia/Kolkata", e.timestamp) === r.time.slice(0, 10)).length);
		const weeks = await query(k.readKey, { metrics: ["count"], date_range: { from: "2026-10-26", to: "2026-11-08" }, granularity: "week" });
		expect(weeks.body.results.map((r: any) => r.time)).toEqual(["2026-10-26T00:00:00+05:30", "2026-11-02T00:00:00+05:30"]);
		expect(weeks.body.results[0].metrics[0]).toBe(kr.filter((e) => localDate("Asia/Kolkata", e.timestamp) <= "2026-11-01").length);
		expect(weeks.body.meta.weeks).toEqual({ from: "2026-10-26T00:00:00+05:30", to: "2026-11-09T00:00:00+05:30" });
		// Totals over a whole week plus edge days: week buckets + day buckets, equal to raw.
		const mixed = { metrics: ["count", "uniques"], date_range: { from: "2026-10-24", to: "2026-11-03" }, dimensions: ["country"] };
		const [wk, raw] = [await query(k.readKey, mixed), await query(k.readKey, { ...mixed, source: "raw" })];
		expect(wk.body.meta.weeks).toEqual({ from: "2026-10-26T00:00:00+05:30", to: "2026-11-02T00:00:00+05:30" });
		expect(wk.body.results.map((r: any) => [r.dimensions, r.metrics[0]])).toEqual(raw.body.results.map((r: any) => [r.dimensions, r.metrics[0]]));
		wk.body.results.forEach((r: any, i: number) => expect(within3Se(r.metrics[1], raw.body.results[i].metrics[1])).toBe(true));
		const months = await query(k.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-11-30" }, granularity: "month" });
		expect(months.body.results.map((r: any) => r.metrics[0])).toEqual([
			kr.filter((e) => localDate("Asia/Kolkata", e.timestamp) < "2026-11-01").length,
			kr.filter((e) => localDate("Asia/Kolkata", e.timestamp) >= "2026-11-01").length,
		]);
		// UTC days split Kolkata's :30 hours: answered exactly from minute buckets or raw events.
		const utc = await query(k.readKey, { metrics: ["count"], date_range: { from: "2026-10-27", to: "2026-10-30" }, timezone: "UTC", granularity: "day" });
		expect(utc.body.meta.level).not.toBe("hour");
		for (const r of utc.body.results) expect(r.metrics[0]).toBe(kr.filter((e) => new Date(e.timestamp).toISOString().slice(0, 10) === r.time.slice(0, 10)).length);
	}, 30_000);
});

describe("late events and re-runs", () => {
	it("a late event lands in its old bucket; re-running changes nothing", async () => {
		const before = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-31", to: "2026-10-31" } });
		const late: Row = { ...rows[5]!, message_id: "late-1", timestamp: Date.parse("2026-10-31T15:00:00Z"), country: "JP" };
		await insertRows(t.id, [late]);
		rows.push(late);
		const reps = await rollUp();
		expect(reps.reduce((s, r) => s + r.hours, 0)).toBe(1);
		const after = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-31", to: "2026-10-31" } });
		expect(after.body.results[0].metrics[0]).toBe(before.body.results[0].metrics[0] + 1);
		const jp = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-31", to: "2026-10-31" }, dimensions: ["country"], filters: [["is", "country", "JP"]] });
		expect(jp.body.results).toEqual([{ dimensions: ["JP"], metrics: [1] }]);

		// More late events, some in hours with data (merged into their buckets), one in an hour
		// that had none (built whole): every answer equals the raw events'.
		const more: Row[] = [0, 1, 2, 3].map((i) => ({ ...rows[10 + i]!, message_id: `late-more-${i}`, timestamp: Date.parse("2026-10-30T12:10:00Z") + i * 7_200_000 }));
		more.push({ ...rows[20]!, message_id: "late-empty-hour", timestamp: Date.parse("2026-10-28T09:00:00Z") });
		await insertRows(t.id, more);
		rows.push(...more);
		const merged = await rollUp();
		expect(merged.reduce((s, r) => s + r.hours_merged, 0)).toBe(4);
		expect(merged.reduce((s, r) => s + r.raw_rows_read, 0)).toBe(5);
		// The day of the four merged hours takes their new rows into its stored rows; the day of the
		// hour built whole is recomputed from its hours. The byte-for-byte rebuild below checks both.
		expect(merged.reduce((s, r) => s + r.days_merged, 0)).toBe(1);
		expect(merged.reduce((s, r) => s + r.days, 0)).toBe(2);
		for (const dim of ["country", "event"]) {
			const body = { metrics: ["count", "uniques", "sum:amount", "max:duration"], date_range: { from: "2026-10-27", to: "2026-11-03" }, granularity: "day", dimensions: [dim], limit: 20 };
			const [a, b] = [await query(t.readKey, body), await query(t.readKey, { ...body, source: "raw" })];
			expect(a.body.meta.plan).toBe("rollup");
			expect(a.body.results.map((r: any) => [r.time, r.dimensions, r.metrics[0], r.metrics[2], r.metrics[3]])).toEqual(
				b.body.results.map((r: any) => [r.time, r.dimensions, r.metrics[0], r.metrics[2], r.metrics[3]]),
			);
		}

		// Re-running from the start of ingest order finds nothing new: every hour's mark covers its events.
		const snapshot = async () =>
			(await env.DB.prepare("SELECT level, dim, bucket, event, value, count, users, metrics FROM rollups WHERE tenant_id = ?1 ORDER BY 1, 2, 3, 4, 5").bind(t.id).raw()).map(
				(r) => JSON.stringify(r),
			);
		const first = await snapshot();
		await env.DB.prepare("UPDATE rollup_cursor SET watermark = 0").run();
		const again = await rollUp();
		expect(again.reduce((s, r) => s + r.raw_rows_read + r.hours_merged, 0)).toBe(0);
		expect(await snapshot()).toEqual(first);

		// Merged buckets equal whole ones: forget the marks and rebuild every hour whole, in bounded
		// passes: with a tiny budget each pass does a little and the next goes on from there.
		const hours = (await env.DB.prepare("SELECT count(*) AS n FROM rollup_hours WHERE tenant_id = ?1").bind(t.id).first<{ n: number }>())!.n;
		expect(hours).toBeGreaterThan(100);
		await env.DB.batch([env.DB.prepare("DELETE FROM rollup_hours WHERE tenant_id = ?1").bind(t.id), env.DB.prepare("UPDATE rollup_cursor SET watermark = 0")]);
		let fake = Date.now();
		const clock = () => (fake += 7);
		const passes = [];
		for (let i = 0; i < 400; i++) {
			const rep = await runRollups(env, { trigger: "test", budgetMs: 25, now: clock });
			passes.push(rep);
			if (rep.caught_up) break;
		}
		expect(passes.at(-1)!, JSON.stringify(passes.slice(-2))).toMatchObject({ caught_up: true });
		expect(passes.length).toBeGreaterThan(5);
		expect(Math.max(...passes.map((p) => p.hours))).toBeLessThanOrEqual(16);
		expect(passes.reduce((s, p) => s + p.hours, 0)).toBe(hours);
		expect(passes.reduce((s, p) => s + p.hours_merged, 0)).toBe(0);
		expect(passes.reduce((s, p) => s + p.raw_rows_read, 0)).toBe(only(() => true).length);
		expect(await snapshot()).toEqual(first);

		// A day already dirty when a pass starts (an earlier pass changed its hours and stopped) may
		// miss more than this pass's additions: it is recomputed whole, never merged.
		await env.DB.prepare("INSERT OR IGNORE INTO rollup_dirty (tenant_id, level, bucket, marked_at) SELECT tenant_id, 'day', bucket, 0 FROM rollups WHERE tenant_id = ?1 AND level = 'day' GROUP BY bucket")
			.bind(t.id)
			.run();
		const last: Row = { ...rows[30]!, message_id: "late-dirty-day", timestamp: Date.parse("2026-10-30T13:20:00Z") };
		await insertRows(t.id, [last]);
		rows.push(last);
		const redo = await rollUp();
		expect(redo.reduce((s, r) => s + r.hours_merged, 0)).toBe(1);
		expect(redo.reduce((s, r) => s + r.days_merged, 0)).toBe(0);
		const body = { metrics: ["count", "sum:amount"], date_range: { from: "2026-10-27", to: "2026-11-03" }, granularity: "day", dimensions: ["country"], limit: 50 };
		const [a, b] = [await query(t.readKey, body), await query(t.readKey, { ...body, source: "raw" })];
		expect(a.body.meta.plan).toBe("rollup");
		expect(a.body.results).toEqual(b.body.results);
	}, 120_000);

	it("the cron's scheduled handler rolls up too, and status reports it", async () => {
		const { createScheduledController } = await import("cloudflare:test");
		const { scheduled } = await import("../../workers/scheduled");
		await insertRows(t.id, [{ ...rows[7]!, message_id: "cron-1", timestamp: Date.parse("2026-11-02T12:00:00Z") }]);
		const status0 = await json(await call("/v1/system/status", { key: t.readKey }));
		expect(status0.rollups).toMatchObject({ caught_up: false, pending_events: 1 });
		const out = await scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env);
		expect(out.rollups).toMatchObject({ caught_up: true, hours: 1 });
		const status = await json(await call("/v1/system/status", { key: t.readKey }));
		expect(status.rollups).toMatchObject({ caught_up: true, pending_events: 0, pending_hours: 0, pending_days: 0, lag_ms: 0 });
		expect(status.rollups.layout).toMatchObject({ day_tz: NY, align_minutes: 0, dimension_props: ["channel"] });
		expect(status.cron.last_runs[0]).toMatchObject({ trigger: "cron * * * * *", caught_up: true, ok: true });
		expect(status.cron.last_runs[0].duration_ms).toBeGreaterThanOrEqual(0);
		// The operator's token reads any tenant's status, with the full pass reports.
		expect((await call("/v1/system/status", { key: ADMIN })).status).toBe(400);
		expect((await call("/v1/system/status?tenant=nope", { key: ADMIN })).status).toBe(404);
		const op = await json(await call(`/v1/system/status?tenant=${t.id}`, { key: ADMIN }));
		expect(op.tenant_id).toBe(t.id);
		expect(op.cron.reports[0]).toMatchObject({ trigger: "cron * * * * *", caught_up: true, hours: 1 });
	});
});

describe("tenant isolation", () => {
	it("a key only ever reads its own tenant's rollups and raw events", async () => {
		const other = await makeTenant("rq-other", { timezone: NY });
		await insertRows(other.id, dataset(7, 50, FROM, TO, "o"));
		await rollUp();
		for (const source of ["auto", "raw"]) {
			const mine = await query(other.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-11-10" }, source });
			expect(mine.body.results[0].metrics[0]).toBe(50);
		}
		const theirs = await query(t.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-11-10" } });
		expect(theirs.body.results[0].metrics[0]).toBe(rows.length + 1);
		// The body cannot name a tenant: unknown fields are refused.
		const sneaky = await query(other.readKey, { metrics: ["count"], date_range: "7d", tenant_id: "rq" });
		expect(sneaky.status).toBe(400);
		const ingestKey = await query(t.ingestKey, { metrics: ["count"], date_range: "7d" });
		expect(ingestKey.status).toBe(403);
	});
});

describe("retention", () => {
	it("archives expired raw events to R2, keeps rollups, and refuses raw-only queries over archived days", async () => {
		const old = await makeTenant("rq-old", { timezone: "UTC", retention_days: 1 });
		const day = Date.UTC(2026, 9, 1);
		const oldRows = dataset(9, 300, day, day + 86_400_000, "old");
		await insertRows(old.id, oldRows);
		// A newer event keeps the highest rowid: the archiver never deletes that one.
		await insertRows(old.id, [{ ...oldRows[0]!, message_id: "recent", timestamp: Date.now() }]);
		await rollUp();
		const left = await env.DB.prepare("SELECT count(*) AS n FROM events WHERE tenant_id = ?1").bind(old.id).first<{ n: number }>();
		expect(left!.n).toBe(1);
		const listed = await env.ARCHIVE.list({ prefix: `archive/${old.id}/events/2026-10-01/` });
		expect(listed.objects).toHaveLength(1);
		const obj = await env.ARCHIVE.get(listed.objects[0]!.key);
		const text = await new Response(obj!.body.pipeThrough(new DecompressionStream("gzip"))).text();
		const lines = text.trim().split("\n").map((l) => JSON.parse(l));
		expect(lines.map((l) => l.message_id).sort()).toEqual(oldRows.map((r) => r.message_id).sort());
		expect(lines[0].properties).toBeTypeOf("object");
		const kept = await query(old.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-10-01" }, dimensions: ["country"] });
		expect(kept.body.meta.plan).toBe("rollup");
		expect(kept.body.results.reduce((s: number, r: any) => s + r.metrics[0], 0)).toBe(300);
		const raw = await query(old.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-10-01" }, dimensions: ["country", "device"] });
		expect(raw.status).toBe(400);
		expect(raw.body.error.code).toBe("needs_raw_events");

		// A late event for an archived hour merges into its buckets (the hour's mark says which
		// events are in), then goes to R2 in a part of its own.
		const lateOld = { ...oldRows[1]!, message_id: "late-archived", timestamp: day + 10 * 3_600_000 + 5, country: "NZ" };
		await insertRows(old.id, [lateOld, { ...oldRows[0]!, message_id: "recent-2", timestamp: Date.now() }]);
		const reps = await rollUp();
		// The archived hour merged (and the recent events' hour, unless the clock moved to a new hour).
		expect(reps.reduce((s, r) => s + r.hours_merged, 0)).toBeGreaterThanOrEqual(1);
		expect(reps.reduce((s, r) => s + r.late_beyond_retention, 0)).toBe(0);
		const nz = await query(old.readKey, { metrics: ["count"], date_range: { from: "2026-10-01", to: "2026-10-01" }, dimensions: ["country"] });
		expect(nz.body.results.reduce((s: number, r: any) => s + r.metrics[0], 0)).toBe(301);
		expect(nz.body.results.find((r: any) => r.dimensions[0] === "NZ").metrics).toEqual([1]);
		const parts = await env.ARCHIVE.list({ prefix: `archive/${old.id}/events/2026-10-01/` });
		expect(parts.objects).toHaveLength(2);
	});
});

describe("archive lines", () => {
	it("carry each event's effective context: its batch's shared context overlaid with its own", async () => {
		const t = await makeTenant("rq-archive-ctx", { timezone: "UTC", retention_days: 1 });
		const day = Date.UTC(2026, 9, 2);
		const [row] = dataset(11, 1, day, day + 3_600_000, "ctx");
		await insertRows(t.id, [row!, { ...row!, message_id: "ctx-recent", timestamp: Date.now() }]);
		await env.DB.batch([
			env.DB.prepare("INSERT INTO shared_contexts (tenant_id, id, body, created_at) VALUES (?1, 'c1', ?2, 0)").bind(t.id, JSON.stringify({ library: { name: "analytics-node" }, app: "shared" })),
			env.DB.prepare("UPDATE events SET context = ?2, context_id = 'c1' WHERE tenant_id = ?1 AND message_id = ?3").bind(t.id, JSON.stringify({ app: "own" }), row!.message_id),
		]);
		await rollUp();
		const listed = await env.ARCHIVE.list({ prefix: `archive/${t.id}/events/2026-10-02/` });
		expect(listed.objects).toHaveLength(1);
		const text = await new Response((await env.ARCHIVE.get(listed.objects[0]!.key))!.body.pipeThrough(new DecompressionStream("gzip"))).text();
		const line = JSON.parse(text.trim());
		expect(line.message_id).toBe(row!.message_id);
		expect(line.context).toEqual({ library: { name: "analytics-node" }, app: "own" });
		expect(line).not.toHaveProperty("context_id");
	});
});

describe("every 400", () => {
	const cases: [string, unknown, string, string][] = [
		["no metrics", { date_range: "7d" }, "invalid_query", "metrics"],
		["empty metrics", { metrics: [], date_range: "7d" }, "invalid_query", "metrics"],
		["unknown metric", { metrics: ["median"], date_range: "7d" }, "invalid_query", "metrics[0]"],
		["metric without property", { metrics: ["sum:"], date_range: "7d" }, "invalid_query", "metrics[0]"],
		["duplicate metric", { metrics: ["count", "count"], date_range: "7d" }, "invalid_query", "metrics"],
		["no date_range", { metrics: ["count"] }, "invalid_query", "date_range"],
		["unknown preset", { metrics: ["count"], date_range: "last_week" }, "invalid_query", "date_range"],
		["bad date", { metrics: ["count"], date_range: { from: "2026-13-01", to: "2026-12-01" } }, "invalid_query", "date_range.from"],
		["to before from", { metrics: ["count"], date_range: { from: "2026-11-05", to: "2026-11-01" } }, "invalid_query", "date_range"],
		["bad timezone", { metrics: ["count"], date_range: "7d", timezone: "Mars/Olympus" }, "invalid_query", "timezone"],
		["bad granularity", { metrics: ["count"], date_range: "7d", granularity: "fortnight" }, "invalid_query", "granularity"],
		["unknown dimension", { metrics: ["count"], date_range: "7d", dimensions: ["city"] }, "invalid_query", "dimensions[0]"],
		["too many dimensions", { metrics: ["count"], date_range: "7d", dimensions: ["event", "country", "os", "device"] }, "invalid_query", "dimensions"],
		["duplicate dimension", { metrics: ["count"], date_range: "7d", dimensions: ["os", "os"] }, "invalid_query", "dimensions"],
		["bad filter op", { metrics: ["count"], date_range: "7d", filters: [["matches", "event", "x"]] }, "invalid_query", "filters[0][0]"],
		["bad filter dimension", { metrics: ["count"], date_range: "7d", filters: [["is", "planet", "x"]] }, "invalid_query", "filters[0][1]"],
		["gt needs a number", { metrics: ["count"], date_range: "7d", filters: [["gt", "prop:duration", "big"]] }, "invalid_query", "filters[0][2]"],
		["gt on a text dimension", { metrics: ["count"], date_range: "7d", filters: [["gt", "country", 3]] }, "invalid_query", "filters[0][1]"],
		["filter not a triple", { metrics: ["count"], date_range: "7d", filters: [["is", "event"]] }, "invalid_query", "filters[0]"],
		["bad compare", { metrics: ["count"], date_range: "7d", compare: "last_month" }, "invalid_query", "compare"],
		["order_by unknown key", { metrics: ["count"], date_range: "7d", order_by: [["uniques", "desc"]] }, "invalid_query", "order_by[0][0]"],
		["order_by bad direction", { metrics: ["count"], date_range: "7d", order_by: [["count", "down"]] }, "invalid_query", "order_by[0][1]"],
		["limit too big", { metrics: ["count"], date_range: "7d", limit: 100_000 }, "invalid_query", "limit"],
		["unknown field", { metrics: ["count"], date_range: "7d", group_by: ["event"] }, "invalid_query", ""],
		["too many buckets", { metrics: ["count"], date_range: "90d", granularity: "minute" }, "query_too_expensive", "granularity"],
		["cost limit", { metrics: ["count"], date_range: "90d", granularity: "hour", dimensions: ["event", "os", "device"], compare: "previous_period" }, "query_too_expensive", "granularity"],
	];
	it.each(cases)("%s", async (_name, body, code, field) => {
		const { status, body: res } = await query(t.readKey, body);
		expect(status).toBe(400);
		expect(res.error.code).toBe(code);
		expect(res.error.message.length).toBeGreaterThan(10);
		const paths = [res.error.details.field, ...(res.error.details.issues ?? []).map((i: any) => i.path)];
		expect(paths).toContain(field);
	});

	it("names the valid options", async () => {
		const { body } = await query(t.readKey, { metrics: ["median"], date_range: "7d" });
		expect(body.error.message).toMatch(/count, uniques/);
		const preset = await query(t.readKey, { metrics: ["count"], date_range: "last_week" });
		expect(preset.body.error.message).toMatch(/today, yesterday, 7d, 30d, 90d, 12mo/);
		const g = await query(t.readKey, { metrics: ["count"], date_range: "7d", granularity: "fortnight" });
		expect(g.body.error.message).toMatch(/minute, hour, day, week, month/);
	});

	it("malformed JSON, an empty body and a missing key", async () => {
		const bad = await call("/v1/query", { method: "POST", key: t.readKey, body: "{nope", headers: { "content-type": "application/json" } });
		expect(bad.status).toBe(400);
		expect((await json(bad)).error.code).toBe("malformed_json");
		const empty = await call("/v1/query", { method: "POST", key: t.readKey });
		expect(empty.status).toBe(400);
		const anon = await call("/v1/query", { method: "POST", json: { metrics: ["count"], date_range: "7d" } });
		expect(anon.status).toBe(401);
	});

	it("a query over its time limit gets 422 query_timeout", async () => {
		const { status, body } = await query(t.readKey, { metrics: ["count", "uniques", "p99:duration"], date_range: { from: "2026-10-01", to: "2026-11-10" }, dimensions: ["country", "os"], filters: [["contains", "prop:channel", "a"]], source: "raw", timeout_ms: 1 });
		expect(status).toBe(422);
		expect(body.error).toMatchObject({ code: "query_timeout", details: { timeout_ms: 1 } });
	});
});

describe("admin", () => {
	it("validates rollup settings on tenants", async () => {
		const res = await call(`/v1/admin/tenants/${t.id}`, { method: "PATCH", key: ADMIN, json: { metric_props: ["a", "a"] } });
		expect(res.status).toBe(400);
		const many = await call(`/v1/admin/tenants/${t.id}`, { method: "PATCH", key: ADMIN, json: { dimension_props: ["a", "b", "c", "d", "e", "f"] } });
		expect(many.status).toBe(400);
		const run = await call("/v1/admin/rollups/run", { method: "POST", key: t.readKey });
		expect(run.status).toBe(403);
	});
});
