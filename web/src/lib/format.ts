// Numbers, durations, times, metric and dimension names as the dashboard shows them. Pure: no DOM.

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const dec = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** 20,017 / 1,853.61 / "–" for null. */
export function formatNumber(v: number | null | undefined): string {
	if (v == null || Number.isNaN(v)) return "–";
	return Math.abs(v) >= 100 || Number.isInteger(v) ? int.format(v) : dec.format(v);
}

/** 20K, 1.2M: for axes and tight spots. */
export function formatCompact(v: number | null | undefined): string {
	if (v == null || Number.isNaN(v)) return "–";
	return Math.abs(v) < 1000 ? formatNumber(v) : compact.format(v);
}

/** Milliseconds as people read them: 850 ms, 4.2 s, 3 min 20 s, 2 h 05 min, 1 d 3 h. */
export function formatDuration(ms: number | null | undefined): string {
	if (ms == null || Number.isNaN(ms)) return "–";
	const a = Math.abs(ms);
	const sign = ms < 0 ? "−" : "";
	if (a < 1000) return `${sign}${Math.round(a)} ms`;
	if (a < 60_000) return `${sign}${(a / 1000).toFixed(a < 10_000 ? 1 : 0)} s`;
	if (a < 3_600_000) {
		const m = Math.floor(a / 60_000);
		const s = Math.round((a % 60_000) / 1000);
		return s === 60 ? `${sign}${m + 1} min` : s ? `${sign}${m} min ${s} s` : `${sign}${m} min`;
	}
	if (a < 86_400_000) {
		const h = Math.floor(a / 3_600_000);
		const m = Math.round((a % 3_600_000) / 60_000);
		return m === 60 ? `${sign}${h + 1} h` : m === 0 ? `${sign}${h} h` : `${sign}${h} h ${String(m).padStart(2, "0")} min`;
	}
	const d = Math.floor(a / 86_400_000);
	const h = Math.round((a % 86_400_000) / 3_600_000);
	return h === 24 ? `${sign}${d + 1} d` : `${sign}${d} d ${h} h`;
}

const whenFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * "12 Jan 2027, 14:05": an instant in `timeZone` (an IANA zone), or in the browser's zone without
 * one; "–" for none. Schedules, alerts, deliveries and exports pass their workspace's zone, the one
 * their hours are set in, so a 06:00 schedule's next run reads 06:00 wherever it is looked at.
 */
export function when(iso: string | null | undefined, timeZone?: string): string {
	if (!iso) return "–";
	const key = timeZone ?? "";
	let f = whenFormats.get(key);
	if (!f) whenFormats.set(key, (f = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", ...(timeZone ? { timeZone } : {}) })));
	return f.format(new Date(iso));
}

/** A metric's property, if it has one: "p95:response_time_ms" → "response_time_ms". */
export const metricProp = (metric: string): string | null => (metric.includes(":") ? metric.slice(metric.indexOf(":") + 1) : null);

/** Properties named *_ms (or *_millis) hold durations; their values are shown as durations. */
export const isDurationMetric = (metric: string) => {
	const p = metricProp(metric);
	return !!p && /(_ms|_millis|Ms)$/.test(p) && !metric.startsWith("sum:");
};

/** A metric's value as text, in its unit. */
export function formatMetric(metric: string, v: number | null | undefined): string {
	if (isDurationMetric(metric)) return formatDuration(v);
	return formatNumber(v);
}

/** Axis labels: compact numbers, or durations. */
export function formatMetricShort(metric: string, v: number | null | undefined): string {
	return isDurationMetric(metric) ? formatDuration(v) : formatCompact(v);
}

const AGG_LABELS: Record<string, string> = { sum: "Total", avg: "Average", min: "Minimum", max: "Maximum", p50: "Median", p90: "p90", p95: "p95", p99: "p99" };

/** "resolution_rate" → "Resolution rate": a name given in a query, as words. */
const humanize = (name: string) => {
	const words = name.replace(/_+/g, " ").trim();
	return words ? words[0]!.toUpperCase() + words.slice(1) : name;
};

/**
 * "count" → "Events", "uniques" → "Unique users", "p95:response_time_ms" → "p95 response_time_ms",
 * "uniques:prop:agent_id" → "Distinct agent_id", "p50:pair:first_response" → "Median first_response",
 * "open:resolution" → "Open resolution", a name of the query's own ("escalation_rate") → "Escalation rate".
 */
export function metricLabel(metric: string): string {
	if (metric === "count") return "Events";
	if (metric === "uniques") return "Unique users";
	const distinct = /^uniques:(?:prop:)?(.+)$/.exec(metric);
	if (distinct) return `Distinct ${distinct[1]}`;
	const pair = /^(\w+):pair:(.+)$/.exec(metric);
	if (pair) return `${AGG_LABELS[pair[1]!] ?? pair[1]} ${pair[2]}`;
	const count = /^(started|closed|open):(.+)$/.exec(metric);
	if (count) return `${humanize(count[1]!)} ${count[2]}`;
	const i = metric.indexOf(":");
	if (i < 0) return humanize(metric);
	const agg = metric.slice(0, i);
	return `${AGG_LABELS[agg] ?? agg} ${metric.slice(i + 1)}`;
}

const DIM_LABELS: Record<string, string> = {
	event: "Event",
	country: "Country",
	device: "Device",
	browser: "Browser",
	os: "OS",
	hour_of_day: "Hour of day",
	day_of_week: "Day of week",
};

/** "country" → "Country", "prop:channel" → "channel", "bins:score" → "score (bins)". */
export const dimLabel = (dim: string) => DIM_LABELS[dim] ?? (dim.startsWith("prop:") ? dim.slice(5) : dim.startsWith("bins:") ? `${dim.slice(5)} (bins)` : dim);

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** A dimension value as text: null → "(none)", day_of_week 1 → "Mon", hour_of_day 9 → "09:00". */
export function formatDimValue(dim: string, v: string | number | null | undefined): string {
	if (v == null) return "(none)";
	if (dim === "day_of_week" && typeof v === "number") return WEEKDAYS[v - 1] ?? String(v);
	if (dim === "hour_of_day" && typeof v === "number") return `${String(v).padStart(2, "0")}:00`;
	if (v === "") return "(empty)";
	return String(v);
}

const pct = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** A value in its format: 1,234 / 12.5% / 4.2 s. */
export function formatValue(format: "number" | "percent" | "duration", v: number | null | undefined): string {
	if (v == null || Number.isNaN(v)) return "–";
	if (format === "percent") return `${pct.format(v)}%`;
	return format === "duration" ? formatDuration(v) : formatNumber(v);
}

/** Axis labels in a format: 1.2K / 12% / 4.2 s. */
export function formatValueShort(format: "number" | "percent" | "duration", v: number | null | undefined): string {
	if (v == null || Number.isNaN(v)) return "–";
	if (format === "percent") return `${formatCompact(v)}%`;
	return format === "duration" ? formatDuration(v) : formatCompact(v);
}

/**
 * Labels of a distribution's bins, from the edges the answer used (meta.bins): a bin's value is its
 * lower edge, null the values below the first edge. Bins one wide on whole numbers (scores) read as
 * the number; the last bin is open-ended.
 */
export function binLabel(edges: number[], v: number | string | null, fmt: (n: number) => string = formatNumber): string {
	if (v == null) return edges.length ? `< ${fmt(edges[0]!)}` : "(none)";
	const n = Number(v);
	const k = edges.indexOf(n);
	if (k < 0) return fmt(n);
	const next = edges[k + 1];
	if (next === undefined) return `≥ ${fmt(n)}`;
	if (Number.isInteger(n) && next - n === 1) return fmt(n);
	return `${fmt(n)}–${fmt(next)}`;
}

/** "+4.7%", "−8.7%", "0%", or null when there is nothing to compare with. */
export function formatChange(pct: number | null | undefined): string | null {
	if (pct == null || Number.isNaN(pct)) return null;
	if (pct === 0) return "0%";
	return `${pct > 0 ? "+" : "−"}${Math.abs(pct).toLocaleString("en-US", { maximumFractionDigits: 1 })}%`;
}

/**
 * Whether a change is good news: more events and users are, a higher response time is not.
 * Durations and anything named like a time or error count are "lower is better".
 */
export function changeTone(metric: string, pct: number | null | undefined): "up" | "down" | "flat" | "none" {
	if (pct == null) return "none";
	if (pct === 0) return "flat";
	const lowerIsBetter = isDurationMetric(metric) || /error|latency|time|duration|churn/i.test(metricProp(metric) ?? "");
	return (pct > 0) !== lowerIsBetter ? "up" : "down";
}
