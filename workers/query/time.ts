// Calendar arithmetic in IANA time zones with nothing but Intl.DateTimeFormat (Workers has no
// Temporal and we ship no tz database). Instants are epoch milliseconds. A "wall" value is a local
// date-time encoded as if it were UTC (Date.UTC of the local fields), so calendar steps are plain
// Date.UTC arithmetic and only the offset lookup touches Intl.
//
// Assumptions, shared with Temporal's reference implementation: a zone never changes its offset
// twice within one day (so far true in practice), so the offsets one day either side of a wall time
// are the only ones it can have; and offsets change on whole seconds (Intl's resolution).

export type Unit = "minute" | "hour" | "day" | "week" | "month" | "quarter" | "year";

/** A half-open range of instants: `from` inclusive, `to` exclusive (epoch ms). */
export type DateRange = { from: number; to: number };

export interface LocalParts {
	year: number;
	/** 1–12 */
	month: number;
	day: number;
	hour: number;
	minute: number;
	/** ISO: 1 = Monday … 7 = Sunday */
	weekday: number;
}

export const PRESETS = ["today", "yesterday", "7d", "30d", "90d", "12mo"] as const;
export type Preset = (typeof PRESETS)[number];

/** Default cap on `bucketStarts`, so a one-minute grid over ten years cannot eat the CPU budget. */
export const MAX_BUCKETS = 100_000;

/** Thrown by `bucketStarts` when the grid would exceed its cap; callers answer 400. */
export class BucketLimitError extends RangeError {
	constructor(
		readonly unit: Unit,
		readonly max: number,
	) {
		super(`more than ${max} ${unit} buckets`);
	}
}

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
// Date.UTC maps years 0–99 to 1900–1999; 400 Gregorian years are exactly 146,097 days.
const Y400_MS = 146_097 * DAY_MS;
// Memoised offsets across all zones (~10 MB at most; an isolate has 128 MB), all dropped when full.
const MAX_MEMO = 1 << 17;
// Zone names come from requests, and Intl accepts any letter case, so the formatter cache is capped.
const MAX_ZONES = 1000;

interface Zone {
	fmt: Intl.DateTimeFormat;
	/** Offset (ms) at UTC midnights, by epoch day. */
	days: Map<number, number>;
	/** Offset (ms) at exact UTC hour starts, only consulted on days with a transition. */
	hours: Map<number, number>;
	/** Only built if this runtime's ICU stops printing "GMT±hh:mm". */
	parts?: Intl.DateTimeFormat;
}

const zones = new Map<string, Zone>();
let memoised = 0;

const mod = (a: number, b: number) => ((a % b) + b) % b;

function zone(tz: string): Zone {
	let z = zones.get(tz);
	if (!z) {
		// Throws RangeError for unknown zones. Seconds plus the offset name is the cheapest pattern
		// that prints the offset: a third of the cost of formatToParts with every field.
		const fmt = new Intl.DateTimeFormat("en-US", { timeZone: tz, timeZoneName: "longOffset", second: "numeric" });
		if (zones.size >= MAX_ZONES) {
			zones.clear();
			memoised = 0;
		}
		z = { fmt, days: new Map(), hours: new Map() };
		zones.set(tz, z);
	}
	return z;
}

// "GMT-05:00", "GMT+05:45", "GMT-04:56:02" (pre-1900 local mean time), or bare "GMT" for UTC in some ICU versions.
const OFFSET_RE = /GMT(?:([+\-\u2212])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;

function probe(z: Zone, at: number): number {
	const m = OFFSET_RE.exec(z.fmt.format(at));
	if (!m) return probeParts(z, at);
	if (!m[1]) return 0;
	const ms = (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0)) * SECOND_MS;
	return m[1] === "+" ? ms : -ms;
}

// Fallback: read the local fields and subtract. Slower, but independent of the offset name's layout.
function probeParts(z: Zone, at: number): number {
	z.parts ??= new Intl.DateTimeFormat("en-US", {
		timeZone: z.fmt.resolvedOptions().timeZone,
		hourCycle: "h23",
		year: "numeric",
		month: "numeric",
		day: "numeric",
		hour: "numeric",
		minute: "numeric",
		second: "numeric",
	});
	const f: Record<string, number> = {};
	for (const p of z.parts.formatToParts(at)) if (p.type !== "literal") f[p.type] = Number(p.value);
	// Old V8 printed midnight as hour 24 even with h23.
	const w = wall(f.year ?? 1970, f.month ?? 1, f.day ?? 1, (f.hour ?? 0) % 24, f.minute ?? 0, f.second ?? 0);
	return w - (at - mod(at, SECOND_MS));
}

function memo(map: Map<number, number>, key: number, at: number, z: Zone): number {
	let o = map.get(key);
	if (o === undefined) {
		o = probe(z, at);
		if (++memoised > MAX_MEMO) {
			for (const other of zones.values()) {
				other.days.clear();
				other.hours.clear();
			}
			memoised = 1;
		}
		map.set(key, o);
	}
	return o;
}

// The hot path. Memo entries are exact (the offset at that very midnight or hour start), so they
// are never wrong. Any other instant uses the offsets at both ends of its UTC day: if they agree,
// nothing changed in between (no zone changes twice within a day) and two Map lookups answer. On
// the few days with a transition the same is done per UTC hour, and an hour that holds the
// transition — possibly mid-hour, like Lord Howe's at 15:30Z — asks Intl directly.
function offsetMs(z: Zone, at: number): number {
	const d = Math.floor(at / DAY_MS);
	const a = memo(z.days, d, d * DAY_MS, z);
	if (a === memo(z.days, d + 1, (d + 1) * DAY_MS, z) || at === d * DAY_MS) return a;
	const h = at - mod(at, HOUR_MS);
	const b = memo(z.hours, h, h, z);
	if (h === at || b === memo(z.hours, h + HOUR_MS, h + HOUR_MS, z)) return b;
	return probe(z, at);
}

function wall(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
	return Date.UTC(y + 400, mo - 1, d, h, mi, s, ms) - Y400_MS;
}

function fieldsOf(w: number): LocalParts {
	const d = new Date(w);
	return {
		year: d.getUTCFullYear(),
		month: d.getUTCMonth() + 1,
		day: d.getUTCDate(),
		hour: d.getUTCHours(),
		minute: d.getUTCMinutes(),
		weekday: mod(d.getUTCDay() + 6, 7) + 1,
	};
}

const daysInMonth = (y: number, m: number) => new Date(wall(y, m + 1, 0)).getUTCDate();

// The instants whose wall time is w, ascending: one normally, two in a fall-back overlap, none in a gap.
function instantsOf(z: Zone, w: number): number[] {
	const before = offsetMs(z, w - DAY_MS);
	const after = offsetMs(z, w + DAY_MS);
	const a = w - before;
	const b = w - after;
	const aOk = offsetMs(z, a) === before;
	const bOk = after !== before && offsetMs(z, b) === after;
	if (aOk && bOk) return a < b ? [a, b] : [b, a];
	return aOk ? [a] : bOk ? [b] : [];
}

// The first whole second in (lo, hi] with another offset than lo's, given one change there.
function transitionIn(z: Zone, lo: number, hi: number): number {
	lo = Math.floor(lo / SECOND_MS) * SECOND_MS;
	hi = Math.ceil(hi / SECOND_MS) * SECOND_MS;
	const loOffset = offsetMs(z, lo);
	while (hi - lo > SECOND_MS) {
		const mid = lo + Math.floor((hi - lo) / (2 * SECOND_MS)) * SECOND_MS;
		if (offsetMs(z, mid) === loOffset) lo = mid;
		else hi = mid;
	}
	return hi;
}

// For a wall time skipped by a spring-forward: the transition, i.e. the first instant after the
// gap. It lies in (w - after, w - before]; bisecting takes ~12 probes for an hour's gap.
function gapEnd(z: Zone, w: number): number {
	return transitionIn(z, w - offsetMs(z, w + DAY_MS), w - offsetMs(z, w - DAY_MS));
}

// Whether the clock change at t, from offset `before` to `after`, jumps over the start of a
// minute or hour (a wall time in [t + before, t + after) on the grid of `size`).
function skipsStart(t: number, before: number, after: number, size: number): boolean {
	const w = t + before;
	return w + mod(-w, size) < t + after;
}

// The first instant at which the local clock reads w or later.
function firstInstant(z: Zone, w: number): number {
	return instantsOf(z, w)[0] ?? gapEnd(z, w);
}

/** Whether Intl (and so every function here) knows this IANA time zone name. */
export function isValidTimeZone(tz: string): boolean {
	try {
		zone(tz);
		return true;
	} catch {
		return false;
	}
}

/**
 * Local time minus UTC at `at`, in minutes: -300 for New York in winter, 330 for Asia/Kolkata,
 * 345 for Asia/Kathmandu. Pre-1900 local-mean-time offsets (with seconds) are rounded.
 * Throws RangeError for an unknown zone.
 */
export function offsetMinutes(tz: string, at: number): number {
	return Math.round(offsetMs(zone(tz), at) / MINUTE_MS);
}

/** The local calendar fields of `at` in `tz`. */
export function localParts(tz: string, at: number): LocalParts {
	return fieldsOf(at + offsetMs(zone(tz), at));
}

/**
 * Local wall time → instant. Out-of-range fields roll over like Date.UTC (day 32 is next month).
 * A wall time skipped by a spring-forward gives the first instant after the gap (02:30 on New
 * York's 2026-03-08 → 03:00 EDT); one repeated by a fall-back gives the earlier instant (01:30 on
 * 2026-11-01 → 01:30 EDT). So the result is always the first instant whose local time is at or
 * past the given one, and [zonedToUtc(a), zonedToUtc(b)) holds exactly the instants whose wall time
 * lies in [a, b). NB Temporal's and java.time's default differ in gaps (they give 03:30).
 */
export function zonedToUtc(tz: string, year: number, month: number, day: number, hour = 0, minute = 0): number {
	return firstInstant(zone(tz), wall(year, month, day, hour, minute));
}

/**
 * The start of the local minute, hour, day, ISO week (Monday) or month containing `at`.
 * A day, week or month starts at the first instant of its first local date, even where midnight
 * is skipped (→ 01:00) or repeated (→ the first 00:00). Minute and hour buckets start wherever
 * the clock reads a whole minute or hour, each time it does: New York's repeated 01:00 on
 * 2026-11-01 makes two one-hour buckets, Lord Howe's 02:00 → 01:30 makes one of 90 minutes; and
 * where a spring-forward skips an hour's start (Lord Howe's 02:00 → 02:30) the hour starts at the
 * jump. Asia/Kolkata hours start at hh:30 UTC, Asia/Kathmandu's at hh:15 UTC.
 */
export function startOf(unit: Unit, at: number, tz: string): number {
	const z = zone(tz);
	const off = offsetMs(z, at);
	const w = at + off;
	if (unit === "minute" || unit === "hour") {
		const size = unit === "minute" ? MINUTE_MS : HOUR_MS;
		const s = w - mod(w, size) - off;
		// Usually no transition lies between the start and `at`, so the start has the same offset.
		if (offsetMs(z, s) === off) return s;
		const t = transitionIn(z, s, at);
		const before = offsetMs(z, s);
		// A spring-forward that skips a clock hour's start begins that hour itself; otherwise the
		// bucket is the one running when the clock changed (which may show an hour twice, or
		// absorb a repeated quarter hour as at Pacific/Chatham's 03:45 → 02:45).
		if (skipsStart(t, before, off, size)) return t;
		const wb = t - 1 + before;
		return wb - mod(wb, size) - before;
	}
	const p = fieldsOf(w);
	// Quarters start in January, April, July and October (month is 1-based).
	const q = p.month - ((p.month - 1) % 3);
	const [first, next] =
		unit === "day"
			? [wall(p.year, p.month, p.day), wall(p.year, p.month, p.day + 1)]
			: unit === "week"
				? [wall(p.year, p.month, p.day + 1 - p.weekday), wall(p.year, p.month, p.day + 8 - p.weekday)]
				: unit === "quarter"
					? [wall(p.year, q, 1), wall(p.year, q + 3, 1)]
					: unit === "year"
						? [wall(p.year, 1, 1), wall(p.year + 1, 1, 1)]
						: [wall(p.year, p.month, 1), wall(p.year, p.month + 1, 1)];
	// A fall-back just after midnight (St. John's went 00:01 → 23:01 until 2011) shows the old
	// date again after the new one began; buckets are contiguous, so those minutes are the new one's.
	if (offsetMs(z, at - DAY_MS) > off) {
		const n = firstInstant(z, next);
		if (n <= at) return n;
	}
	return firstInstant(z, first);
}

/**
 * The start of the bucket after the one starting at `bucketStart` (a `startOf` result),
 * calendar-aware: New York's day 2026-11-01 lasts 25 hours, 2026-03-08 lasts 23.
 */
export function nextStart(unit: Unit, bucketStart: number, tz: string): number {
	const z = zone(tz);
	const off = offsetMs(z, bucketStart);
	const w = bucketStart + off;
	if (unit === "minute" || unit === "hour") {
		const size = unit === "minute" ? MINUTE_MS : HOUR_MS;
		const e = bucketStart + size - mod(w, size);
		if (offsetMs(z, e) === off) return e;
		const t = transitionIn(z, bucketStart, e);
		const after = offsetMs(z, t);
		if (skipsStart(t, off, after, size)) return t;
		// Otherwise the next clock reading on the grid, which after a fall-back repeats an hour.
		return t + mod(-(t + after), size);
	}
	const p = fieldsOf(w);
	if (unit === "day") return firstInstant(z, wall(p.year, p.month, p.day + 1));
	if (unit === "week") return firstInstant(z, wall(p.year, p.month, p.day + 8 - p.weekday));
	if (unit === "quarter") return firstInstant(z, wall(p.year, p.month - ((p.month - 1) % 3) + 3, 1));
	if (unit === "year") return firstInstant(z, wall(p.year + 1, 1, 1));
	return firstInstant(z, wall(p.year, p.month + 1, 1));
}

// More than any bucket can last, so the cap can be enforced before iterating. A clock minute or
// hour that a fall-back repeats becomes two buckets, so they stay under twice their length (Lord
// Howe's 90-minute hour); the calendar units allow a repeated day, which no zone needs since 1867.
const LONGEST_MS: Record<Unit, number> = {
	minute: 2 * MINUTE_MS,
	hour: 2 * HOUR_MS,
	day: 2 * DAY_MS,
	week: 8 * DAY_MS,
	month: 32 * DAY_MS,
	quarter: 93 * DAY_MS,
	year: 367 * DAY_MS,
};

/**
 * Starts of every bucket intersecting [from, to), the first being `startOf(unit, from)`.
 * Throws BucketLimitError if there would be more than `max`, before doing the work where the range
 * alone proves it.
 */
export function bucketStarts(unit: Unit, from: number, to: number, tz: string, max = MAX_BUCKETS): number[] {
	if (!(from < to)) return [];
	if ((to - from) / LONGEST_MS[unit] > max + 1) throw new BucketLimitError(unit, max);
	const out: number[] = [];
	for (let t = startOf(unit, from, tz); t < to; t = nextStart(unit, t, tz)) {
		if (out.length === max) throw new BucketLimitError(unit, max);
		out.push(t);
	}
	return out;
}

/** Narrows a query parameter to a preset name. */
export const isPreset = (v: string): v is Preset => (PRESETS as readonly string[]).includes(v);

const PRESET_DAYS = { today: 1, "7d": 7, "30d": 30, "90d": 90 } as const;

/**
 * A named range relative to `now`, in whole local days or months: today and Nd end at tomorrow's
 * local midnight (Nd includes today); yesterday is the previous local day; 12mo is the 12 calendar
 * months ending with the current one.
 */
export function resolvePreset(preset: Preset, tz: string, now: number): DateRange {
	const z = zone(tz);
	const p = fieldsOf(now + offsetMs(z, now));
	const day = (n: number) => firstInstant(z, wall(p.year, p.month, p.day + n));
	if (preset === "yesterday") return { from: day(-1), to: day(0) };
	if (preset === "12mo") {
		return { from: firstInstant(z, wall(p.year, p.month - 11, 1)), to: firstInstant(z, wall(p.year, p.month + 1, 1)) };
	}
	return { from: day(1 - PRESET_DAYS[preset]), to: day(1) };
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?$/i;

/**
 * One end of a user-supplied range, or null if unparseable (callers answer 400).
 * `YYYY-MM-DD` is a local date in `tz`, inclusive at both ends: as "from" its first instant, as
 * "to" the first instant of the next day. An ISO 8601 date-time with `Z` or an offset is that exact
 * instant; without one it is a local wall time in `tz` (gaps and overlaps as in `zonedToUtc`).
 * Date-times are used as given for "to", which is exclusive. Throws RangeError for an unknown zone.
 */
export function parseRangeBound(value: string, tz: string, which: "from" | "to"): number | null {
	const d = DATE_RE.exec(value);
	if (d) {
		const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
		if (!validDate(y, m, day)) return null;
		return firstInstant(zone(tz), wall(y, m, which === "to" ? day + 1 : day));
	}
	const t = DATE_TIME_RE.exec(value);
	if (!t) return null;
	const n = (i: number) => Number(t[i] ?? 0);
	const [y, m, day, h, mi, s] = [n(1), n(2), n(3), n(4), n(5), n(6)];
	if (!validDate(y, m, day) || h > 23 || mi > 59 || s > 59) return null;
	const w = wall(y, m, day, h, mi, s, Number((t[7] ?? "").slice(0, 3).padEnd(3, "0")));
	if (t[8] === undefined) return firstInstant(zone(tz), w);
	if (t[9] === undefined) return w; // Z
	if (n(10) > 23 || n(11) > 59) return null;
	const offset = (n(10) * 60 + n(11)) * MINUTE_MS;
	return t[9] === "-" ? w + offset : w - offset;
}

const validDate = (y: number, m: number, d: number) => y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);

// The local date of `at` if `at` is the first instant of that date, else null.
function dayStart(z: Zone, at: number): LocalParts | null {
	const w = at + offsetMs(z, at);
	return firstInstant(z, w - mod(w, DAY_MS)) === at ? fieldsOf(w) : null;
}

// `at` moved back in the zone's calendar: by whole months (the day clamped to the target month's
// length, 29 February → 28) or by whole local days, keeping its wall-clock time of day.
function backInCalendar(z: Zone, at: number, months: number, days: number): number {
	const w = at + offsetMs(z, at);
	const p = fieldsOf(w);
	const m = p.year * 12 + p.month - 1 - months;
	const [y, mo] = [Math.floor(m / 12), mod(m, 12) + 1];
	const day = Math.min(p.day, daysInMonth(y, mo)) - days;
	return firstInstant(z, wall(y, mo, day) + mod(w, DAY_MS));
}

/** How a comparison moves instants of `range` back: previousPeriod's and previousYear's rule for any instant. */
function shiftBack(kind: "previous_period" | "previous_year", range: DateRange, tz: string): (at: number) => number {
	const z = zone(tz);
	if (kind === "previous_year") return (at) => backInCalendar(z, at, 12, 0);
	const { from, to } = range;
	const a = dayStart(z, from);
	const b = a && dayStart(z, to);
	if (!a || !b) return (at) => at - (to - from);
	if (a.day === 1 && b.day === 1) {
		const months = b.year * 12 + b.month - (a.year * 12 + a.month);
		return (at) => backInCalendar(z, at, months, 0);
	}
	const days = Math.round((wall(b.year, b.month, b.day) - wall(a.year, a.month, a.day)) / DAY_MS);
	return (at) => backInCalendar(z, at, 0, days);
}

/**
 * The range of the same length just before `range`. If both ends are local first-of-month
 * midnights, the previous same number of calendar months; else if both are local midnights, the
 * previous same number of local days (which may differ in hours across a DST change); else the
 * range shifted back by its duration. Whole-month ranges win: 2026-04-01..05-01 (also 30 days) → March.
 */
export function previousPeriod(range: DateRange, tz: string): DateRange {
	const { from, to } = range;
	if (!(from < to)) return { from, to: from };
	return { from: shiftBack("previous_period", range, tz)(from), to: from };
}

/** The same local wall times one year earlier (Feb 29 → Feb 28), for year-over-year comparison. */
export function previousYear(range: DateRange, tz: string): DateRange {
	const back = shiftBack("previous_year", range, tz);
	return { from: back(range.from), to: back(range.to) };
}

/**
 * The range a comparison reads: previousPeriod or previousYear of `range`, compared like with like.
 * When `range` holds `now` (the presets do: `7d` runs to tomorrow's midnight), only its part up to
 * `now` has happened, so the earlier range is cut at the same point: at `now` moved back the same
 * way (7 local days back for `7d`, a year back for previous_year), floored to a whole `unit` so
 * rollups of that unit can answer, and never shorter than its first `unit`. Without `now`, or with
 * a range wholly in the past or the future, the earlier range is whole.
 */
export function earlierRange(kind: "previous_period" | "previous_year", range: DateRange, tz: string, now?: number, unit: "minute" | "hour" = "hour"): DateRange {
	const whole = kind === "previous_year" ? previousYear(range, tz) : previousPeriod(range, tz);
	if (now === undefined || !(range.from <= now && now < range.to) || !(whole.from < whole.to)) return whole;
	const cut = startOf(unit, shiftBack(kind, range, tz)(now), tz);
	return { from: whole.from, to: Math.min(whole.to, Math.max(cut, nextStart(unit, whole.from, tz))) };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * ISO 8601 local time with its offset, e.g. `2026-11-01T00:00:00-04:00`; milliseconds only when
 * non-zero. The zone named exactly "UTC" is written with `Z`; every other zone (Etc/UTC included)
 * with ±HH:MM, so the suffix never depends on what a zone's offset happens to be.
 */
export function formatLocal(at: number, tz: string): string {
	// Rounded so the printed wall time and offset agree even for pre-1900 offsets with seconds.
	const off = Math.round(offsetMs(zone(tz), at) / MINUTE_MS);
	const w = at + off * MINUTE_MS;
	const d = new Date(w);
	const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
	let s = `${date}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
	if (d.getUTCMilliseconds() !== 0) s += `.${pad(d.getUTCMilliseconds(), 3)}`;
	if (tz === "UTC") return `${s}Z`;
	const abs = Math.abs(off);
	return `${s}${off < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

const alignmentOf = (offset: number) => (offset % MINUTE_MS === 0 ? mod(offset / MINUTE_MS, 60) : null);

/**
 * The zone's UTC offset in minutes modulo 60 (0 for whole-hour zones, 30 for Kolkata or
 * Newfoundland, 45 for Kathmandu) if that stays the same throughout [from, to) and every local
 * hour start in the range sits at it; else null (Australia/Lord_Howe switches between +10:30 and
 * +11). Local hours then start at minute (60 - result) % 60 of each UTC hour — :15 for Kathmandu —
 * so UTC-hour rollups can serve local hours and days iff this is 0. Costs a lookup per day of the
 * range; ranges over 400 years get null rather than a scan.
 */
export function hourAlignment(tz: string, from: number, to: number): number | null {
	const z = zone(tz);
	if (to - from > 400 * 365 * DAY_MS) return null;
	let prevAt = from;
	let prev = offsetMs(z, from);
	const align = alignmentOf(prev);
	if (align === null) return null;
	// Daily samples see every change, as no zone changes its offset twice within a day.
	for (let t = from + DAY_MS; prevAt < to - 1; t += DAY_MS) {
		const at = Math.min(t, to - 1);
		const o = offsetMs(z, at);
		if (o !== prev) {
			if (alignmentOf(o) !== align) return null;
			// After a spring-forward the next hour starts at the transition itself, which then needs
			// the same alignment (the jump is whole hours here, so it always skips an hour start).
			if (o > prev && mod(transitionIn(z, prevAt, at) + o, HOUR_MS) !== 0) return null;
			prev = o;
		}
		prevAt = at;
	}
	return align;
}
