import { describe, expect, it } from "vitest";
import { DayBuilder, dimValue, HOUR_MS, HourBuilder, hourStartOf, type RawRow, type RollupRow } from "../../workers/rollup/build";
import { NumStats } from "../../workers/sketch/ddsketch";
import { Hll } from "../../workers/sketch/hll";

const H0 = Date.UTC(2026, 10, 1, 4);
const config = { dimension_props: ["channel"], metric_props: ["duration"] };

function rows(n: number, seed = 1): RawRow[] {
	let s = seed;
	const r = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
	return Array.from({ length: n }, (_, i): RawRow => [
		r() < 0.7 ? "page_view" : "message_sent",
		r() < 0.2 ? null : `u${Math.floor(r() * 300)}`,
		`a${i % 50}`,
		H0 + Math.floor(r() * 3 * HOUR_MS),
		r() < 0.1 ? null : ["US", "FR", "DE"][Math.floor(r() * 3)]!,
		"desktop",
		"Chrome",
		"macOS",
		// The values of propsOf(config) = [channel, duration], as rawPages reads them.
		r() < 0.9 ? ((duration: number) => [r() < 0.5 ? "email" : 7, duration])(Math.round(r() * 1000)) : [null, null],
	]);
}

const byKey = (rs: RollupRow[]) => new Map(rs.map((r) => [`${r.level}|${r.dim}|${r.bucket}|${r.event}|${r.value}`, r]));

describe("HourBuilder", () => {
	it("counts each event once per dimension row, ignores other hours, keeps missing values as ''", () => {
		const input = rows(2000);
		const b = new HourBuilder(H0, config);
		for (const r of input) b.add(r);
		const inHour = input.filter((r) => r[3] >= H0 && r[3] < H0 + HOUR_MS);
		expect(b.added).toBe(inHour.length);
		const out = b.finish();
		for (const dim of ["", "country", "device", "browser", "os", "prop:channel"]) {
			const total = out.filter((r) => r.level === "hour" && r.dim === dim && r.event !== "").reduce((s, r) => s + r.count, 0);
			expect(total).toBe(inHour.length);
			// The all-events rows (event '') hold the same events once more.
			expect(out.filter((r) => r.level === "hour" && r.dim === dim && r.event === "").reduce((s, r) => s + r.count, 0)).toBe(inHour.length);
		}
		const minutes = out.filter((r) => r.level === "minute" && r.event !== "");
		expect(minutes.reduce((s, r) => s + r.count, 0)).toBe(inHour.length);
		expect(minutes.every((r) => r.bucket >= H0 && r.bucket < H0 + HOUR_MS && r.bucket % 60_000 === 0)).toBe(true);
		const missing = out.find((r) => r.dim === "country" && r.value === "" && r.event === "page_view")!;
		expect(missing.count).toBe(inHour.filter((r) => r[0] === "page_view" && r[4] == null).length);
		// A numeric property used as a dimension is kept as its text.
		expect(out.some((r) => r.dim === "prop:channel" && r.value === "7")).toBe(true);
	});

	it("sketches hold exactly what the rows say: users, and count/sum/min/max of the metric", () => {
		const input = rows(1500, 9);
		const b = new HourBuilder(H0, config);
		for (const r of input) b.add(r);
		const total = byKey(b.finish()).get(`hour||${H0}|page_view|`)!;
		const mine = input.filter((r) => r[0] === "page_view" && r[3] >= H0 && r[3] < H0 + HOUR_MS);
		const users = new Set(mine.map((r) => r[1] ?? r[2]));
		const h = Hll.decode(total.users);
		expect(Math.abs(h.estimate() - users.size)).toBeLessThanOrEqual(Math.max(1, users.size * 0.03));
		const d = NumStats.decode(JSON.parse(total.metrics).duration);
		const values = mine.map((r) => r[8][1]).filter((v) => typeof v === "number");
		expect(d.count).toBe(values.length);
		expect(d.sum).toBe(values.reduce((a, b) => a + b, 0));
		expect(d.min).toBe(Math.min(...values));
		expect(d.max).toBe(Math.max(...values));
	});
});

describe("DayBuilder", () => {
	it("merging hour rows gives the same buckets as building from all raw rows at once", () => {
		const input = rows(3000, 5);
		const hours: RollupRow[] = [];
		for (let h = 0; h < 3; h++) {
			const b = new HourBuilder(H0 + h * HOUR_MS, config);
			for (const r of input) b.add(r);
			hours.push(...b.finish().filter((r) => r.level === "hour"));
		}
		const day = new DayBuilder(H0);
		for (const r of hours) day.add(r.dim, r.event, r.value, r.count, r.users, r.metrics);
		const merged = byKey(day.finish());
		// Reference: the same three hours' rows fed to one accumulator per key, directly.
		for (const [key, row] of merged) {
			const [, dim, , event, value] = key.split("|");
			const parts = hours.filter((h) => h.dim === dim && h.event === event && h.value === value);
			expect(row.count).toBe(parts.reduce((s, p) => s + p.count, 0));
			const ref = Hll.create();
			for (const p of parts) ref.merge(Hll.decode(p.users));
			expect(Hll.decode(row.users).registers).toEqual(ref.registers);
		}
		expect(merged.size).toBe(new Set(hours.map((h) => `${h.dim}|${h.event}|${h.value}`)).size);
	});
});

describe("helpers", () => {
	it("aligns hours to the tenant clock and normalises dimension values", () => {
		const t = Date.UTC(2026, 10, 1, 7, 10);
		expect(hourStartOf(t, 0)).toBe(Date.UTC(2026, 10, 1, 7));
		expect(hourStartOf(t, 30)).toBe(Date.UTC(2026, 10, 1, 6, 30));
		expect(hourStartOf(t, 15)).toBe(Date.UTC(2026, 10, 1, 6, 15));
		expect([dimValue(null), dimValue("x"), dimValue(3), dimValue(true), dimValue({ a: 1 }), dimValue("y".repeat(300)).length]).toEqual(["", "x", "3", "true", "", 200]);
	});
});
