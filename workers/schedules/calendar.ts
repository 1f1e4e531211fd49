import { localParts, zonedToUtc } from "../query/time";

// When a schedule runs: at hour:minute local time in its time zone, every day, on one ISO weekday,
// or on one day of the month (the month's last day when it is shorter: 31 → 30 April, 28/29 February).
//
// DST: a wall time that a spring-forward skips runs at the first instant after the gap (02:30 on New
// York's 2026-03-08 runs at 03:00 EDT, the moment the clock jumps past it); one that a fall-back
// repeats runs once, at its first occurrence (01:30 EDT on 2026-11-01, not again at 01:30 EST). So a
// schedule runs exactly once on every day it names, never twice, never zero times. This is
// zonedToUtc's rule (workers/query/time.ts); cron's traditional behaviour is the same for skipped
// times and differs for repeated ones (some crons run those twice).

export const FREQUENCIES = ["daily", "weekly", "monthly"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export interface Cadence {
	frequency: Frequency;
	hour: number;
	minute: number;
	/** ISO weekday, 1 = Monday … 7 = Sunday (weekly). */
	weekday: number | null;
	/** 1–31 (monthly). */
	month_day: number | null;
	timezone: string;
}

const DAY_MS = 86_400_000;
const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** Whether the local date (y, m, d) is one of the cadence's days. */
function runsOn(c: Cadence, y: number, m: number, d: number): boolean {
	if (c.frequency === "daily") return true;
	if (c.frequency === "weekly") return ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1 === c.weekday;
	return d === Math.min(c.month_day ?? 1, daysIn(y, m));
}

/** The first run strictly after `after` (epoch ms). */
export function nextRunAt(c: Cadence, after: number): number {
	const p = localParts(c.timezone, after);
	// A monthly cadence finds its day within two months; the loop bound is a safety net.
	for (let i = 0; i < 400; i++) {
		const date = new Date(Date.UTC(p.year, p.month - 1, p.day + i));
		const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
		if (!runsOn(c, y, m, d)) continue;
		const at = zonedToUtc(c.timezone, y, m, d, c.hour, c.minute);
		if (at > after) return at;
	}
	// Unreachable for valid cadences; a day later rather than a loop.
	return after + DAY_MS;
}

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const ordinal = (n: number) => `${n}${n % 10 === 1 && n !== 11 ? "st" : n % 10 === 2 && n !== 12 ? "nd" : n % 10 === 3 && n !== 13 ? "rd" : "th"}`;

/** "every Monday at 08:00 (Europe/Paris)". */
export function describe(c: Cadence): string {
	const hm = `${String(c.hour).padStart(2, "0")}:${String(c.minute).padStart(2, "0")}`;
	const day =
		c.frequency === "daily"
			? "every day"
			: c.frequency === "weekly"
				? `every ${WEEKDAYS[(c.weekday ?? 1) - 1]}`
				: c.month_day === 31
					? "on the last day of every month"
					: `on the ${ordinal(c.month_day ?? 1)} of every month${(c.month_day ?? 1) > 28 ? " (or its last day)" : ""}`;
	return `${day} at ${hm} (${c.timezone})`;
}
