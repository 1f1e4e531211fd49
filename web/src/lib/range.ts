// Date ranges and granularities as the dashboard offers them; the server resolves them
// (docs/api.md#date-ranges). Pure: `today` is passed in.

export const PRESETS = ["today", "yesterday", "7d", "30d", "90d", "12mo"] as const;
export type Preset = (typeof PRESETS)[number];
export const GRANULARITIES = ["minute", "hour", "day", "week", "month"] as const;
export type Granularity = (typeof GRANULARITIES)[number];
/** Every granularity the API takes: the overview's, and quarters and years (Explore, reports). */
export const ALL_GRANULARITIES = [...GRANULARITIES, "quarter", "year"] as const;
export type AnyGranularity = (typeof ALL_GRANULARITIES)[number];

/** A preset, or local dates (YYYY-MM-DD), both inclusive. */
export type RangeSel = { preset: Preset } | { from: string; to: string };

export const PRESET_LABELS: Record<Preset, string> = {
	today: "Today",
	yesterday: "Yesterday",
	"7d": "Last 7 days",
	"30d": "Last 30 days",
	"90d": "Last 90 days",
	"12mo": "Last 12 months",
};

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** Whether `s` is a real calendar date written YYYY-MM-DD. */
export function isDate(s: string): boolean {
	if (!DATE.test(s)) return false;
	const d = new Date(`${s}T00:00:00Z`);
	return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

export const isPreset = (s: string | null | undefined): s is Preset => !!s && (PRESETS as readonly string[]).includes(s);

/** Days between two dates, inclusive (2026-11-16 → 2026-11-22 is 7). */
export const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;

/** A custom range the API will take: real dates, `to` not before `from`, at most 5 years. */
export function validCustom(from: string, to: string): string | null {
	if (!isDate(from) || !isDate(to)) return "Dates are YYYY-MM-DD.";
	if (to < from) return "The end date is before the start date.";
	if (daysBetween(from, to) > 5 * 366) return "A range is at most 5 years.";
	return null;
}

/** The range as POST /v1/query's `date_range`. */
export const apiRange = (r: RangeSel): Preset | { from: string; to: string } => ("preset" in r ? r.preset : { from: r.from, to: r.to });

/** Approximate length in days (for granularity choices; 12 months count as 366). */
export function rangeDays(r: RangeSel): number {
	if (!("preset" in r)) return daysBetween(r.from, r.to);
	return { today: 1, yesterday: 1, "7d": 7, "30d": 30, "90d": 90, "12mo": 366 }[r.preset];
}

const BUCKETS_PER_DAY: Record<Granularity, number> = { minute: 1440, hour: 24, day: 1, week: 1 / 7, month: 1 / 28 };

/**
 * Granularities whose series stays within the API's limits with a comparison: at most 5,000
 * buckets, and at least two points (a week of a single day says nothing).
 */
export function allowedGranularities(r: RangeSel): Granularity[] {
	const days = rangeDays(r);
	return GRANULARITIES.filter((g) => {
		const buckets = days * BUCKETS_PER_DAY[g];
		return Math.ceil(buckets) <= 5000 && (buckets >= 2 || g === "hour");
	});
}

/** The granularity a range opens with. */
export function defaultGranularity(r: RangeSel): Granularity {
	const days = rangeDays(r);
	if (days <= 2) return "hour";
	if (days <= 120) return "day";
	return days <= 190 ? "week" : "month";
}

/** The granularity to use: the chosen one if the range allows it, else the range's default. */
export function effectiveGranularity(r: RangeSel, chosen: Granularity | null): Granularity {
	return chosen && allowedGranularities(r).includes(chosen) ? chosen : defaultGranularity(r);
}

/** "Last 30 days", "16 Nov – 22 Nov 2026". */
export function rangeLabel(r: RangeSel): string {
	if ("preset" in r) return PRESET_LABELS[r.preset];
	const f = (s: string, year: boolean) =>
		new Date(`${s}T12:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short", ...(year ? { year: "numeric" } : {}), timeZone: "UTC" });
	if (r.from === r.to) return f(r.from, true);
	return `${f(r.from, r.from.slice(0, 4) !== r.to.slice(0, 4))} – ${f(r.to, true)}`;
}

/** Today's local date in a time zone (YYYY-MM-DD), for a given instant. */
export function localToday(tz: string, now: number): string {
	return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(now));
}

/** The local dates a preset covers on `today` (what the server resolves it to), for custom-range inputs. */
export function presetDates(p: Preset, today: string): { from: string; to: string } {
	const shift = (d: string, days: number) => new Date(Date.parse(`${d}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
	switch (p) {
		case "today":
			return { from: today, to: today };
		case "yesterday":
			return { from: shift(today, -1), to: shift(today, -1) };
		case "7d":
			return { from: shift(today, -6), to: today };
		case "30d":
			return { from: shift(today, -29), to: today };
		case "90d":
			return { from: shift(today, -89), to: today };
		case "12mo": {
			const [y, m] = today.split("-").map(Number) as [number, number];
			const start = new Date(Date.UTC(y, m - 12, 1)).toISOString().slice(0, 10);
			return { from: start, to: today };
		}
	}
}
