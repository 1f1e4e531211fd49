import { describe, expect, it } from "vitest";
import {
	BucketLimitError,
	bucketStarts,
	earlierRange,
	formatLocal,
	hourAlignment,
	isValidTimeZone,
	localParts,
	nextStart,
	offsetMinutes,
	parseRangeBound,
	previousPeriod,
	previousYear,
	resolvePreset,
	startOf,
	zonedToUtc,
} from "../../workers/query/time";

// Expected instants are written in UTC by hand from the published rules: US DST 2026 runs
// 2026-03-08 07:00Z → 2026-11-01 06:00Z; the EU's ends 2026-10-25 01:00Z; Lord Howe (+10:30,
// +11 in summer) springs forward 2026-10-03 15:30Z and falls back 2026-04-04 15:00Z.
const Z = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const NY = "America/New_York";

describe("offsets and local fields", () => {
	it("knows whole, half and quarter-hour zones, summer and winter", () => {
		expect(offsetMinutes(NY, Z("2026-01-15T12:00:00Z"))).toBe(-300);
		expect(offsetMinutes(NY, Z("2026-07-15T12:00:00Z"))).toBe(-240);
		expect(offsetMinutes("Asia/Kolkata", Z("2026-07-15T12:00:00Z"))).toBe(330);
		expect(offsetMinutes("Asia/Kathmandu", Z("2026-07-15T12:00:00Z"))).toBe(345);
		expect(offsetMinutes("America/St_Johns", Z("2026-01-15T12:00:00Z"))).toBe(-210);
		expect(offsetMinutes("UTC", Z("2026-01-15T12:00:00Z"))).toBe(0);
	});

	it("switches at the exact transition, also mid-hour (the memo is per UTC hour)", () => {
		expect(offsetMinutes(NY, Z("2026-11-01T06:00:00Z") - 1)).toBe(-240);
		expect(offsetMinutes(NY, Z("2026-11-01T06:00:00Z"))).toBe(-300);
		expect(offsetMinutes("Australia/Lord_Howe", Z("2026-10-03T15:00:00Z"))).toBe(630);
		expect(offsetMinutes("Australia/Lord_Howe", Z("2026-10-03T15:29:59.999Z"))).toBe(630);
		expect(offsetMinutes("Australia/Lord_Howe", Z("2026-10-03T15:30:00Z"))).toBe(660);
		expect(offsetMinutes("Australia/Lord_Howe", Z("2026-10-03T16:00:00Z"))).toBe(660);
	});

	it("gives local fields with ISO weekdays", () => {
		// 06:30Z on the fall-back day is the second 01:30, in EST; 2026-11-01 is a Sunday.
		expect(localParts(NY, Z("2026-11-01T06:30:00Z"))).toEqual({ year: 2026, month: 11, day: 1, hour: 1, minute: 30, weekday: 7 });
		expect(localParts("Asia/Tokyo", Z("2026-11-22T15:00:00Z"))).toEqual({ year: 2026, month: 11, day: 23, hour: 0, minute: 0, weekday: 1 });
	});

	it("rejects unknown zones", () => {
		expect(isValidTimeZone(NY)).toBe(true);
		expect(isValidTimeZone("Etc/UTC")).toBe(true);
		expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
		expect(isValidTimeZone("")).toBe(false);
		expect(() => offsetMinutes("Mars/Olympus_Mons", 0)).toThrow(RangeError);
		expect(() => startOf("day", 0, "Nowhere")).toThrow(RangeError);
	});
});

describe("zonedToUtc", () => {
	it("converts ordinary wall times and rolls fields over like Date.UTC", () => {
		expect(zonedToUtc(NY, 2026, 11, 22, 10, 0)).toBe(Z("2026-11-22T15:00:00Z"));
		expect(zonedToUtc("Asia/Kathmandu", 2026, 1, 1)).toBe(Z("2025-12-31T18:15:00Z"));
		expect(zonedToUtc(NY, 2026, 12, 32)).toBe(Z("2027-01-01T05:00:00Z"));
	});

	it("moves a wall time in a spring-forward gap to the end of the gap", () => {
		// 02:00–03:00 does not exist on 2026-03-08; the clock reads 03:00 EDT at 07:00Z.
		expect(zonedToUtc(NY, 2026, 3, 8, 2, 30)).toBe(Z("2026-03-08T07:00:00Z"));
		expect(zonedToUtc(NY, 2026, 3, 8, 2, 0)).toBe(Z("2026-03-08T07:00:00Z"));
		expect(zonedToUtc(NY, 2026, 3, 8, 3, 0)).toBe(Z("2026-03-08T07:00:00Z"));
		expect(zonedToUtc(NY, 2026, 3, 8, 1, 59)).toBe(Z("2026-03-08T06:59:00Z"));
		// Havana skips midnight (00:00 CST → 01:00 CDT at 05:00Z).
		expect(zonedToUtc("America/Havana", 2026, 3, 8)).toBe(Z("2026-03-08T05:00:00Z"));
	});

	it("takes the earlier instant of a fall-back overlap", () => {
		expect(zonedToUtc(NY, 2026, 11, 1, 1, 30)).toBe(Z("2026-11-01T05:30:00Z"));
		expect(zonedToUtc(NY, 2026, 11, 1, 2, 0)).toBe(Z("2026-11-01T07:00:00Z"));
		expect(zonedToUtc("Europe/London", 2026, 10, 25, 1, 0)).toBe(Z("2026-10-25T00:00:00Z"));
	});
});

describe("startOf and buckets", () => {
	it("gives New York a 25-hour day on 2026-11-01 and a 23-hour day on 2026-03-08", () => {
		expect(bucketStarts("day", Z("2026-10-31T12:00:00Z"), Z("2026-11-03T00:00:00Z"), NY)).toEqual([
			Z("2026-10-31T04:00:00Z"),
			Z("2026-11-01T04:00:00Z"),
			Z("2026-11-02T05:00:00Z"),
		]);
		const fallBack = Z("2026-11-01T04:00:00Z");
		expect(startOf("day", Z("2026-11-02T04:59:59Z"), NY)).toBe(fallBack);
		expect(nextStart("day", fallBack, NY) - fallBack).toBe(25 * H);
		const springForward = Z("2026-03-08T05:00:00Z");
		expect(startOf("day", Z("2026-03-08T12:00:00Z"), NY)).toBe(springForward);
		expect(nextStart("day", springForward, NY)).toBe(Z("2026-03-09T04:00:00Z"));
	});

	it("lists each elapsed clock hour: 25 on the fall-back day (01:00 twice), 23 on the spring-forward day", () => {
		const fall = bucketStarts("hour", Z("2026-11-01T04:00:00Z"), Z("2026-11-02T05:00:00Z"), NY);
		expect(fall).toHaveLength(25);
		expect(fall.every((t, i) => t === Z("2026-11-01T04:00:00Z") + i * H)).toBe(true);
		expect(fall.slice(1, 4).map((t) => formatLocal(t, NY))).toEqual([
			"2026-11-01T01:00:00-04:00",
			"2026-11-01T01:00:00-05:00",
			"2026-11-01T02:00:00-05:00",
		]);
		expect(startOf("hour", Z("2026-11-01T06:30:00Z"), NY)).toBe(Z("2026-11-01T06:00:00Z"));
		expect(startOf("hour", Z("2026-11-01T05:30:00Z"), NY)).toBe(Z("2026-11-01T05:00:00Z"));
		const spring = bucketStarts("hour", Z("2026-03-08T05:00:00Z"), Z("2026-03-09T04:00:00Z"), NY);
		expect(spring).toHaveLength(23);
		expect(spring.slice(1, 3)).toEqual([Z("2026-03-08T06:00:00Z"), Z("2026-03-08T07:00:00Z")]);
	});

	it("handles London and Berlin across 2026-10-25", () => {
		expect(bucketStarts("day", Z("2026-10-24T12:00:00Z"), Z("2026-10-26T12:00:00Z"), "Europe/London")).toEqual([
			Z("2026-10-23T23:00:00Z"),
			Z("2026-10-24T23:00:00Z"),
			Z("2026-10-26T00:00:00Z"),
		]);
		expect(bucketStarts("day", Z("2026-10-24T12:00:00Z"), Z("2026-10-26T12:00:00Z"), "Europe/Berlin")).toEqual([
			Z("2026-10-23T22:00:00Z"),
			Z("2026-10-24T22:00:00Z"),
			Z("2026-10-25T23:00:00Z"),
		]);
		// 01:00 BST (00:00Z) and 01:00 GMT (01:00Z) are both London hours.
		expect(bucketStarts("hour", Z("2026-10-24T23:00:00Z"), Z("2026-10-25T03:00:00Z"), "Europe/London")).toEqual([
			Z("2026-10-24T23:00:00Z"),
			Z("2026-10-25T00:00:00Z"),
			Z("2026-10-25T01:00:00Z"),
			Z("2026-10-25T02:00:00Z"),
		]);
	});

	it("starts Kolkata hours at :30 UTC and Kathmandu hours at :15 UTC (+05:45)", () => {
		expect(startOf("hour", Z("2026-11-22T15:00:00Z"), "Asia/Kolkata")).toBe(Z("2026-11-22T14:30:00Z"));
		expect(startOf("hour", Z("2026-11-22T15:00:00Z"), "Asia/Kathmandu")).toBe(Z("2026-11-22T14:15:00Z"));
		expect(bucketStarts("hour", Z("2026-11-22T15:00:00Z"), Z("2026-11-22T17:00:00Z"), "Asia/Kolkata")).toEqual([
			Z("2026-11-22T14:30:00Z"),
			Z("2026-11-22T15:30:00Z"),
			Z("2026-11-22T16:30:00Z"),
		]);
		expect(startOf("day", Z("2026-11-22T15:00:00Z"), "Asia/Kolkata")).toBe(Z("2026-11-21T18:30:00Z"));
		expect(startOf("minute", Z("2026-11-22T15:00:59.999Z"), "Asia/Kathmandu")).toBe(Z("2026-11-22T15:00:00Z"));
	});

	it("follows Lord Howe's half-hour changes: an hour may start at the jump or last 90 minutes", () => {
		// 2026-10-04: 00:00 and 01:00 at +10:30, then 02:00 → 02:30 at +11, so hour 02 starts at the jump.
		expect(bucketStarts("hour", Z("2026-10-03T13:30:00Z"), Z("2026-10-03T17:00:00Z"), "Australia/Lord_Howe")).toEqual([
			Z("2026-10-03T13:30:00Z"),
			Z("2026-10-03T14:30:00Z"),
			Z("2026-10-03T15:30:00Z"),
			Z("2026-10-03T16:00:00Z"),
		]);
		// 2026-04-05: 02:00 at +11 → 01:30 at +10:30, so hour 01 runs 14:00Z–15:30Z.
		expect(bucketStarts("hour", Z("2026-04-04T13:00:00Z"), Z("2026-04-04T17:00:00Z"), "Australia/Lord_Howe")).toEqual([
			Z("2026-04-04T13:00:00Z"),
			Z("2026-04-04T14:00:00Z"),
			Z("2026-04-04T15:30:00Z"),
			Z("2026-04-04T16:30:00Z"),
		]);
		expect(startOf("hour", Z("2026-04-04T15:10:00Z"), "Australia/Lord_Howe")).toBe(Z("2026-04-04T14:00:00Z"));
	});

	it("keeps Chatham's quarter-hour changes contiguous (+12:45 ↔ +13:45 at 02:45 standard time)", () => {
		// 2026-04-05 03:45 → 02:45 at 14:00Z: the 03:00 bucket runs on through the repeated 02:45–03:00.
		expect(bucketStarts("hour", Z("2026-04-04T12:15:00Z"), Z("2026-04-04T15:30:00Z"), "Pacific/Chatham")).toEqual([
			Z("2026-04-04T12:15:00Z"),
			Z("2026-04-04T13:15:00Z"),
			Z("2026-04-04T14:15:00Z"),
			Z("2026-04-04T15:15:00Z"),
		]);
		expect(startOf("hour", Z("2026-04-04T14:10:00Z"), "Pacific/Chatham")).toBe(Z("2026-04-04T13:15:00Z"));
		// 2026-09-27 02:45 → 03:45 at 14:00Z skips 03:00, so hour 03 starts at the jump.
		expect(bucketStarts("hour", Z("2026-09-26T13:15:00Z"), Z("2026-09-26T15:30:00Z"), "Pacific/Chatham")).toEqual([
			Z("2026-09-26T13:15:00Z"),
			Z("2026-09-26T14:00:00Z"),
			Z("2026-09-26T14:15:00Z"),
			Z("2026-09-26T15:15:00Z"),
		]);
	});

	it("gives a fall-back just after midnight to the new day (St. John's, 00:01 → 23:01 in 2010)", () => {
		// 2010-11-07 00:00 NDT (-02:30) is 02:30Z; at 02:31Z the clock went back to 11-06 23:01 NST (-03:30).
		expect(bucketStarts("day", Z("2010-11-06T12:00:00Z"), Z("2010-11-08T12:00:00Z"), "America/St_Johns")).toEqual([
			Z("2010-11-06T02:30:00Z"),
			Z("2010-11-07T02:30:00Z"),
			Z("2010-11-08T03:30:00Z"),
		]);
		expect(formatLocal(Z("2010-11-07T03:00:00Z"), "America/St_Johns")).toBe("2010-11-06T23:30:00-03:30");
		expect(startOf("day", Z("2010-11-07T03:00:00Z"), "America/St_Johns")).toBe(Z("2010-11-07T02:30:00Z"));
	});

	it("starts a day at its first instant where midnight is skipped or repeated (Havana)", () => {
		expect(startOf("day", Z("2026-03-08T12:00:00Z"), "America/Havana")).toBe(Z("2026-03-08T05:00:00Z"));
		// 2026-11-01 01:00 CDT → 00:00 CST: midnight at 04:00Z and 05:00Z; the day starts at the first.
		expect(startOf("day", Z("2026-11-01T05:30:00Z"), "America/Havana")).toBe(Z("2026-11-01T04:00:00Z"));
		expect(startOf("hour", Z("2026-11-01T05:30:00Z"), "America/Havana")).toBe(Z("2026-11-01T05:00:00Z"));
		expect(nextStart("day", Z("2026-11-01T04:00:00Z"), "America/Havana")).toBe(Z("2026-11-02T05:00:00Z"));
	});

	it("starts weeks on local Mondays", () => {
		// 15:00Z on Sunday 2026-11-22 is 10:00 Sunday in New York but 00:00 Monday in Tokyo.
		const at = Z("2026-11-22T15:00:00Z");
		expect(startOf("week", at, NY)).toBe(Z("2026-11-16T05:00:00Z"));
		expect(startOf("week", at, "Asia/Tokyo")).toBe(Z("2026-11-22T15:00:00Z"));
		expect(startOf("week", at - 1, "Asia/Tokyo")).toBe(Z("2026-11-15T15:00:00Z"));
		// The week of 2026-11-01 (Sunday) began in EDT and is 7 days and 1 hour long.
		expect(bucketStarts("week", Z("2026-11-01T12:00:00Z"), Z("2026-11-10T00:00:00Z"), NY)).toEqual([
			Z("2026-10-26T04:00:00Z"),
			Z("2026-11-02T05:00:00Z"),
			Z("2026-11-09T05:00:00Z"),
		]);
	});

	it("makes calendar-month buckets", () => {
		expect(bucketStarts("month", Z("2026-10-15T00:00:00Z"), Z("2027-01-01T05:00:00Z"), NY)).toEqual([
			Z("2026-10-01T04:00:00Z"),
			Z("2026-11-01T04:00:00Z"),
			Z("2026-12-01T05:00:00Z"),
		]);
		expect(bucketStarts("month", Z("2028-01-31T00:00:00Z"), Z("2028-03-15T00:00:00Z"), "UTC")).toEqual([
			Z("2028-01-01T00:00:00Z"),
			Z("2028-02-01T00:00:00Z"),
			Z("2028-03-01T00:00:00Z"),
		]);
		expect(startOf("month", Z("2026-11-30T23:59:00Z"), "Asia/Tokyo")).toBe(Z("2026-11-30T15:00:00Z"));
	});

	it("returns minute buckets and nothing for an empty range", () => {
		expect(bucketStarts("minute", Z("2026-11-22T15:00:30Z"), Z("2026-11-22T15:02:00Z"), NY)).toEqual([
			Z("2026-11-22T15:00:00Z"),
			Z("2026-11-22T15:01:00Z"),
		]);
		expect(bucketStarts("day", Z("2026-11-22T15:00:00Z"), Z("2026-11-22T15:00:00Z"), NY)).toEqual([]);
	});

	it("refuses to produce more than max buckets", () => {
		expect(bucketStarts("hour", Z("2026-11-01T00:00:00Z"), Z("2026-11-01T10:00:00Z"), "UTC", 10)).toHaveLength(10);
		expect(() => bucketStarts("hour", Z("2026-11-01T00:00:00Z"), Z("2026-11-01T10:00:01Z"), "UTC", 10)).toThrow(BucketLimitError);
		// Ten years of minutes is refused from the range alone, without iterating.
		expect(() => bucketStarts("minute", Z("2016-01-01T00:00:00Z"), Z("2026-01-01T00:00:00Z"), NY)).toThrow(BucketLimitError);
	});
});

describe("presets", () => {
	const now = Z("2026-11-22T15:00:00Z");

	it("resolves in New York (10:00 EST on Sunday 2026-11-22)", () => {
		expect(resolvePreset("today", NY, now)).toEqual({ from: Z("2026-11-22T05:00:00Z"), to: Z("2026-11-23T05:00:00Z") });
		expect(resolvePreset("yesterday", NY, now)).toEqual({ from: Z("2026-11-21T05:00:00Z"), to: Z("2026-11-22T05:00:00Z") });
		expect(resolvePreset("7d", NY, now)).toEqual({ from: Z("2026-11-16T05:00:00Z"), to: Z("2026-11-23T05:00:00Z") });
		// 30 local days from 2026-10-24 (EDT) to the end of today (EST): 30 × 24 h + 1 h.
		const d30 = resolvePreset("30d", NY, now);
		expect(d30).toEqual({ from: Z("2026-10-24T04:00:00Z"), to: Z("2026-11-23T05:00:00Z") });
		expect(d30.to - d30.from).toBe(30 * 24 * H + H);
		expect(resolvePreset("90d", NY, now)).toEqual({ from: Z("2026-08-25T04:00:00Z"), to: Z("2026-11-23T05:00:00Z") });
		expect(resolvePreset("12mo", NY, now)).toEqual({ from: Z("2025-12-01T05:00:00Z"), to: Z("2026-12-01T05:00:00Z") });
	});

	it("resolves in Tokyo, where the same instant is already Monday 2026-11-23", () => {
		expect(resolvePreset("today", "Asia/Tokyo", now)).toEqual({ from: Z("2026-11-22T15:00:00Z"), to: Z("2026-11-23T15:00:00Z") });
		expect(resolvePreset("yesterday", "Asia/Tokyo", now)).toEqual({ from: Z("2026-11-21T15:00:00Z"), to: Z("2026-11-22T15:00:00Z") });
		expect(resolvePreset("7d", "Asia/Tokyo", now)).toEqual({ from: Z("2026-11-16T15:00:00Z"), to: Z("2026-11-23T15:00:00Z") });
		expect(resolvePreset("12mo", "Asia/Tokyo", now)).toEqual({ from: Z("2025-11-30T15:00:00Z"), to: Z("2026-11-30T15:00:00Z") });
	});
});

describe("parseRangeBound", () => {
	it("reads a date as a local day, inclusive at both ends", () => {
		expect(parseRangeBound("2026-11-01", NY, "from")).toBe(Z("2026-11-01T04:00:00Z"));
		expect(parseRangeBound("2026-11-01", NY, "to")).toBe(Z("2026-11-02T05:00:00Z"));
		expect(parseRangeBound("2026-12-31", "UTC", "to")).toBe(Z("2027-01-01T00:00:00Z"));
		expect(parseRangeBound("2028-02-29", "Asia/Tokyo", "from")).toBe(Z("2028-02-28T15:00:00Z"));
	});

	it("takes a date-time with Z or an offset as the exact instant, whichever end", () => {
		expect(parseRangeBound("2026-11-01T12:00:00+01:00", NY, "from")).toBe(Z("2026-11-01T11:00:00Z"));
		expect(parseRangeBound("2026-11-01T12:00:00+01:00", NY, "to")).toBe(Z("2026-11-01T11:00:00Z"));
		expect(parseRangeBound("2026-11-01T12:00:00.25Z", NY, "to")).toBe(Z("2026-11-01T12:00:00.250Z"));
		expect(parseRangeBound("2026-11-01T12:00-0545", "UTC", "from")).toBe(Z("2026-11-01T17:45:00Z"));
		expect(parseRangeBound("2026-11-01t12:00z", NY, "from")).toBe(Z("2026-11-01T12:00:00Z"));
	});

	it("reads a date-time without offset as local wall time", () => {
		expect(parseRangeBound("2026-11-22T10:00", NY, "from")).toBe(Z("2026-11-22T15:00:00Z"));
		expect(parseRangeBound("2026-11-22T10:00:00", "Asia/Kolkata", "to")).toBe(Z("2026-11-22T04:30:00Z"));
		expect(parseRangeBound("2026-03-08T02:30", NY, "from")).toBe(Z("2026-03-08T07:00:00Z"));
		expect(parseRangeBound("2026-11-01T01:30", NY, "from")).toBe(Z("2026-11-01T05:30:00Z"));
	});

	it("returns null for anything else", () => {
		for (const bad of [
			"",
			"yesterday",
			"1793505600000",
			"2026-11-1",
			"2026-02-29",
			"2026-13-01",
			"2026-11-01T24:00:00Z",
			"2026-11-01T12:60Z",
			"2026-11-01T12:00+24:00",
			"2026-11-01 12:00",
			"2026-11-01T12:00:00+01:00 ",
			"2026-11-01T12:00:00 01:00",
		]) {
			expect(parseRangeBound(bad, NY, "from"), bad).toBeNull();
		}
	});
});

describe("comparison periods", () => {
	it("puts the previous N local days before a day range, whatever their length in hours", () => {
		const week = resolvePreset("7d", NY, Z("2026-11-22T15:00:00Z"));
		expect(previousPeriod(week, NY)).toEqual({ from: Z("2026-11-09T05:00:00Z"), to: Z("2026-11-16T05:00:00Z") });
		// The day after the fall-back: the previous period is the 25-hour 2026-11-01.
		expect(previousPeriod({ from: Z("2026-11-02T05:00:00Z"), to: Z("2026-11-03T05:00:00Z") }, NY)).toEqual({
			from: Z("2026-11-01T04:00:00Z"),
			to: Z("2026-11-02T05:00:00Z"),
		});
	});

	it("puts the previous calendar months before a month range", () => {
		expect(previousPeriod({ from: Z("2026-11-01T04:00:00Z"), to: Z("2026-12-01T05:00:00Z") }, NY)).toEqual({
			from: Z("2026-10-01T04:00:00Z"),
			to: Z("2026-11-01T04:00:00Z"),
		});
		const year = resolvePreset("12mo", NY, Z("2026-11-22T15:00:00Z"));
		expect(previousPeriod(year, NY)).toEqual({ from: Z("2024-12-01T05:00:00Z"), to: Z("2025-12-01T05:00:00Z") });
		expect(previousPeriod({ from: Z("2026-03-01T00:00:00Z"), to: Z("2026-04-01T00:00:00Z") }, "UTC")).toEqual({
			from: Z("2026-02-01T00:00:00Z"),
			to: Z("2026-03-01T00:00:00Z"),
		});
	});

	it("shifts any other range by its duration", () => {
		expect(previousPeriod({ from: Z("2026-11-22T10:00:00Z"), to: Z("2026-11-22T13:00:00Z") }, NY)).toEqual({
			from: Z("2026-11-22T07:00:00Z"),
			to: Z("2026-11-22T10:00:00Z"),
		});
	});

	it("goes back a year in local wall time, Feb 29 becoming Feb 28", () => {
		expect(previousYear({ from: Z("2028-02-29T00:00:00Z"), to: Z("2028-03-01T00:00:00Z") }, "UTC")).toEqual({
			from: Z("2027-02-28T00:00:00Z"),
			to: Z("2027-03-01T00:00:00Z"),
		});
		// 2026-11-01 00:00 EDT → 2025-11-01 00:00 EDT (2025's change came on 11-02); 10:00 EST → 10:00 EST.
		expect(previousYear({ from: Z("2026-11-01T04:00:00Z"), to: Z("2026-11-22T15:00:00Z") }, NY)).toEqual({
			from: Z("2025-11-01T04:00:00Z"),
			to: Z("2025-11-22T15:00:00Z"),
		});
		// 2026-07-01 00:00 EDT → 2025-07-01 00:00 EDT; 2026-01-01 00:00 EST → 2025-01-01 00:00 EST.
		expect(previousYear({ from: Z("2026-01-01T05:00:00Z"), to: Z("2026-07-01T04:00:00Z") }, NY)).toEqual({
			from: Z("2025-01-01T05:00:00Z"),
			to: Z("2025-07-01T04:00:00Z"),
		});
	});
});

describe("comparisons like with like: a range that holds now", () => {
	it("cuts the previous N days at now moved back N local days, floored to the hour or minute", () => {
		const now = Z("2026-11-22T15:42:10Z"); // 10:42 in New York
		const week = resolvePreset("7d", NY, now);
		expect(earlierRange("previous_period", week, NY)).toEqual({ from: Z("2026-11-09T05:00:00Z"), to: Z("2026-11-16T05:00:00Z") });
		expect(earlierRange("previous_period", week, NY, now, "hour")).toEqual({ from: Z("2026-11-09T05:00:00Z"), to: Z("2026-11-15T15:00:00Z") });
		expect(earlierRange("previous_period", week, NY, now, "minute")).toEqual({ from: Z("2026-11-09T05:00:00Z"), to: Z("2026-11-15T15:42:00Z") });
	});

	it("keeps the local time of day across a DST change (elapsed wall time, not milliseconds)", () => {
		// 10:30 EST on 2026-11-03; a week earlier 10:30 was EDT, 14:30Z.
		const now = Z("2026-11-03T15:30:00Z");
		const cut = earlierRange("previous_period", resolvePreset("7d", NY, now), NY, now, "hour");
		expect(cut).toEqual({ from: Z("2026-10-21T04:00:00Z"), to: Z("2026-10-27T14:00:00Z") });
	});

	it("is never shorter than its first unit, so just after midnight it is not empty", () => {
		const today = resolvePreset("today", "UTC", Z("2026-11-22T00:00:30Z"));
		expect(earlierRange("previous_period", today, "UTC", Z("2026-11-22T00:00:30Z"), "minute")).toEqual({ from: Z("2026-11-21T00:00:00Z"), to: Z("2026-11-21T00:01:00Z") });
		expect(earlierRange("previous_period", today, "UTC", Z("2026-11-22T00:10:00Z"), "hour")).toEqual({ from: Z("2026-11-21T00:00:00Z"), to: Z("2026-11-21T01:00:00Z") });
		expect(earlierRange("previous_period", today, "UTC", Z("2026-11-22T00:10:00Z"), "minute")).toEqual({ from: Z("2026-11-21T00:00:00Z"), to: Z("2026-11-21T00:10:00Z") });
	});

	it("moves now back by calendar months for month ranges (the day clamped) and by a year for previous_year", () => {
		const now = Z("2026-03-31T12:20:00Z");
		const march = { from: Z("2026-03-01T00:00:00Z"), to: Z("2026-04-01T00:00:00Z") };
		expect(earlierRange("previous_period", march, "UTC", now, "hour")).toEqual({ from: Z("2026-02-01T00:00:00Z"), to: Z("2026-02-28T12:00:00Z") });
		const year = resolvePreset("12mo", "UTC", now);
		expect(earlierRange("previous_period", year, "UTC", now, "hour")).toEqual({ from: Z("2024-04-01T00:00:00Z"), to: Z("2025-03-31T12:00:00Z") });
		const leap = Z("2028-02-29T12:20:00Z");
		expect(earlierRange("previous_year", resolvePreset("7d", "UTC", leap), "UTC", leap, "hour")).toEqual({ from: Z("2027-02-23T00:00:00Z"), to: Z("2027-02-28T12:00:00Z") });
	});

	it("moves now back by the duration for other ranges", () => {
		const range = { from: Z("2026-11-22T10:00:00Z"), to: Z("2026-11-22T13:00:00Z") };
		expect(earlierRange("previous_period", range, NY, Z("2026-11-22T11:30:00Z"), "hour")).toEqual({ from: Z("2026-11-22T07:00:00Z"), to: Z("2026-11-22T08:00:00Z") });
	});

	it("leaves ranges wholly in the past or the future whole", () => {
		const week = resolvePreset("7d", NY, Z("2026-11-22T15:00:00Z"));
		const whole = { from: Z("2026-11-09T05:00:00Z"), to: Z("2026-11-16T05:00:00Z") };
		expect(earlierRange("previous_period", week, NY, week.to, "hour")).toEqual(whole);
		expect(earlierRange("previous_period", week, NY, week.from - 1, "hour")).toEqual(whole);
		expect(earlierRange("previous_period", week, NY, week.from, "hour")).toEqual({ from: whole.from, to: whole.from + H });
	});
});

describe("formatLocal", () => {
	it("writes local time with its offset", () => {
		expect(formatLocal(Z("2026-11-01T04:00:00Z"), NY)).toBe("2026-11-01T00:00:00-04:00");
		expect(formatLocal(Z("2026-11-02T05:00:00Z"), NY)).toBe("2026-11-02T00:00:00-05:00");
		expect(formatLocal(Z("2026-11-22T15:00:00Z"), "Asia/Kathmandu")).toBe("2026-11-22T20:45:00+05:45");
		expect(formatLocal(Z("2026-11-22T15:00:00Z"), "America/St_Johns")).toBe("2026-11-22T11:30:00-03:30");
		expect(formatLocal(Z("2026-11-22T15:00:00.042Z"), "Asia/Tokyo")).toBe("2026-11-23T00:00:00.042+09:00");
	});

	it("uses Z for the zone named UTC only", () => {
		expect(formatLocal(Z("2026-11-01T00:00:00Z"), "UTC")).toBe("2026-11-01T00:00:00Z");
		expect(formatLocal(Z("2026-11-01T00:00:00Z"), "Etc/UTC")).toBe("2026-11-01T00:00:00+00:00");
		expect(formatLocal(Z("2026-11-01T00:00:00Z"), "Europe/London")).toBe("2026-11-01T00:00:00+00:00");
	});
});

describe("hourAlignment", () => {
	const from = Z("2026-01-01T00:00:00Z");
	const to = Z("2027-01-01T00:00:00Z");

	it("is the offset modulo 60 when it holds over the whole range", () => {
		expect(hourAlignment(NY, from, to)).toBe(0);
		expect(hourAlignment("Europe/London", from, to)).toBe(0);
		expect(hourAlignment("UTC", from, to)).toBe(0);
		expect(hourAlignment("Asia/Kolkata", from, to)).toBe(30);
		expect(hourAlignment("America/St_Johns", from, to)).toBe(30);
		expect(hourAlignment("Asia/Kathmandu", from, to)).toBe(45);
	});

	it("is null when the offset changes by a fraction of an hour in the range", () => {
		expect(hourAlignment("Australia/Lord_Howe", from, to)).toBeNull();
		// Chatham stays at 45 past, but the 02:45 → 03:45 jump starts an hour at 14:00Z.
		expect(hourAlignment("Pacific/Chatham", from, to)).toBeNull();
		expect(hourAlignment("Pacific/Chatham", Z("2026-05-01T00:00:00Z"), Z("2026-09-01T00:00:00Z"))).toBe(45);
		expect(hourAlignment("Australia/Lord_Howe", Z("2026-06-01T00:00:00Z"), Z("2026-07-01T00:00:00Z"))).toBe(30);
		// Kathmandu moved from +05:30 to +05:45 on 1986-01-01.
		expect(hourAlignment("Asia/Kathmandu", Z("1985-12-01T00:00:00Z"), Z("1986-02-01T00:00:00Z"))).toBeNull();
	});
});
