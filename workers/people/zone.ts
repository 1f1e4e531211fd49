import { localParts, offsetMinutes, startOf, zonedToUtc } from "../query/time";

/** The periods of retention and lifecycle. */
export const PERIODS = ["day", "week", "month"] as const;
export type Period = (typeof PERIODS)[number];

const DAY_MS = 86_400_000;
/** Offsets are looked up once per 15 minutes of time: every zone changes its offset on a quarter hour. */
const SLOT_MS = 900_000;

/**
 * Local days (days since 1970-01-01 on the local calendar) of instants in one zone, memoised per
 * quarter hour: the pass turns every event into its local day, and Intl is slow.
 */
export function dayNumbers(tz: string): (at: number) => number {
	const memo = new Map<number, number>();
	return (at) => {
		const slot = Math.floor(at / SLOT_MS);
		let off = memo.get(slot);
		if (off === undefined) {
			if (memo.size > 50_000) memo.clear();
			off = offsetMinutes(tz, slot * SLOT_MS) * 60_000;
			memo.set(slot, off);
		}
		return Math.floor((at + off) / DAY_MS);
	};
}

/** The local date (year, 1-based month, day) of a local day number. */
export function dateOf(day: number): { year: number; month: number; day: number } {
	const d = new Date(day * DAY_MS);
	return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The period index of a local day: the day itself, its ISO week (Monday-based: day 0, a Thursday,
 * is in week 0, which began on Monday 1969-12-29) or its month (months since January 1970).
 * SQL computes the same with `periodSql`.
 */
export function periodOfDay(unit: Period, day: number): number {
	if (unit === "day") return day;
	if (unit === "week") return Math.floor((day + 3) / 7);
	const d = dateOf(day);
	return (d.year - 1970) * 12 + d.month - 1;
}

/** SQL for `periodOfDay` of an integer column of local day numbers (non-negative: events start in 2000). */
export function periodSql(unit: Period, day: string): string {
	if (unit === "day") return day;
	if (unit === "week") return `((${day} + 3) / 7)`;
	return `((CAST(strftime('%Y', ${day} * 86400, 'unixepoch') AS INTEGER) - 1970) * 12 + CAST(strftime('%m', ${day} * 86400, 'unixepoch') AS INTEGER) - 1)`;
}

/** The first local day of a period. */
export function firstDayOf(unit: Period, period: number): number {
	if (unit === "day") return period;
	if (unit === "week") return period * 7 - 3;
	const y = 1970 + Math.floor(period / 12);
	const m = (((period % 12) + 12) % 12) + 1;
	return Math.floor(Date.UTC(y, m - 1, 1) / DAY_MS);
}

/** The instant a period starts in `tz` (what time.ts's startOf gives for any instant in it). */
export function periodStart(unit: Period, period: number, tz: string): number {
	const d = dateOf(firstDayOf(unit, period));
	// Noon of its first date is inside the period whatever the zone does at midnight.
	return startOf(unit, zonedToUtc(tz, d.year, d.month, d.day, 12), tz);
}

/** The period holding an instant. */
export function periodAt(unit: Period, at: number, tz: string): number {
	const p = localParts(tz, at);
	return periodOfDay(unit, Math.floor(Date.UTC(p.year, p.month - 1, p.day) / DAY_MS));
}
