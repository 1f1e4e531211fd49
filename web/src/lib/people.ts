// URL state of the funnel, retention and experiment screens, and their request bodies; the CSV of
// a list of people. Parsing never throws: what it cannot read falls back to the default. Pure.
import type { ExperimentInput, FunnelInput, PeopleInput, RetentionInput } from "../api/people";
import { checkFilter, type Filter, isDimension } from "./query";
import { apiRange } from "./range";
import { type BaseView, encodeFilter, parseBase, tidyQuery } from "./url";

const NAME = /^[^\u0000-\u001f]{1,200}$/;
const okName = (s: string | null): s is string => !!s && NAME.test(s.trim());

/** A funnel step: an event and its own filters. */
export interface FunnelStepSel {
	event: string;
	filters: Filter[];
}

export interface FunnelView extends BaseView {
	steps: FunnelStepSel[];
	/** A duration: 30m, 12h, 7d. */
	window: string;
	order: "strict" | "any";
	breakdown: string | null;
}

const WINDOW = /^\d{1,6}(m|h|d)$/;

/** A step as a URL parameter: its event, or `{"event":…,"filters":[…]}` when it has filters. */
export function encodeStep(s: FunnelStepSel): string {
	return s.filters.length ? JSON.stringify({ event: s.event, filters: s.filters }) : s.event;
}

export function decodeStep(s: string): FunnelStepSel | null {
	if (s.startsWith("{")) {
		try {
			const v = JSON.parse(s) as { event?: unknown; filters?: unknown };
			if (typeof v.event !== "string" || !okName(v.event) || !Array.isArray(v.filters)) return null;
			const filters = v.filters.map((f) => checkFilter(f)).filter((f): f is Filter => f != null);
			return { event: v.event.trim(), filters };
		} catch {
			return null;
		}
	}
	return okName(s) ? { event: s.trim(), filters: [] } : null;
}

export function parseFunnel(search: string): FunnelView {
	const p = new URLSearchParams(search);
	const w = p.get("w");
	const by = p.get("by");
	return {
		...parseBase(p),
		steps: p.getAll("s").map(decodeStep).filter((s): s is FunnelStepSel => s != null).slice(0, 8),
		window: w && WINDOW.test(w) ? w : "7d",
		order: p.get("order") === "any" ? "any" : "strict",
		breakdown: by && isDimension(by) && by !== "event" && !by.startsWith("bins:") ? by : null,
	};
}

/** Writes the base view (range, zone, filters) as every screen does. */
function base(p: URLSearchParams, v: BaseView) {
	if ("preset" in v.range) {
		if (v.range.preset !== "30d") p.set("range", v.range.preset);
	} else {
		p.set("from", v.range.from);
		p.set("to", v.range.to);
	}
	if (v.tz) p.set("tz", v.tz);
	for (const f of v.filters) p.append("f", encodeFilter(f));
}

export function funnelSearch(v: FunnelView): string {
	const p = new URLSearchParams();
	for (const s of v.steps) p.append("s", encodeStep(s));
	base(p, v);
	if (v.window !== "7d") p.set("w", v.window);
	if (v.order === "any") p.set("order", "any");
	if (v.breakdown) p.set("by", v.breakdown);
	return tidyQuery(p);
}

/** The POST /v1/funnels body of a view (null until it has two steps). */
export function funnelQuery(v: FunnelView): FunnelInput | null {
	if (v.steps.length < 2) return null;
	return {
		steps: v.steps.map((s) => (s.filters.length ? { event: s.event, filters: s.filters } : { event: s.event })),
		date_range: apiRange(v.range),
		...(v.tz ? { timezone: v.tz } : {}),
		window: v.window,
		order: v.order,
		...(v.filters.length ? { filters: v.filters } : {}),
		...(v.breakdown ? { breakdown: v.breakdown } : {}),
	};
}

/** A saved funnel report's body → the view (what the view cannot hold is dropped). */
export function funnelViewOf(q: Record<string, unknown>): FunnelView {
	const p = new URLSearchParams();
	const steps = Array.isArray(q.steps) ? q.steps : [];
	for (const s of steps) if (s && typeof s === "object" && typeof (s as { event?: unknown }).event === "string") p.append("s", JSON.stringify({ event: (s as { event: string }).event, filters: (s as { filters?: unknown }).filters ?? [] }));
	rangeParams(p, q);
	if (typeof q.window === "string") p.set("w", q.window);
	if (q.order === "any") p.set("order", "any");
	if (typeof q.breakdown === "string") p.set("by", q.breakdown);
	return parseFunnel(p.toString());
}

function rangeParams(p: URLSearchParams, q: Record<string, unknown>) {
	const r = q.date_range;
	if (typeof r === "string") p.set("range", r);
	else if (r && typeof r === "object") {
		const { from, to } = r as { from?: unknown; to?: unknown };
		if (typeof from === "string" && typeof to === "string") {
			p.set("from", from.slice(0, 10));
			p.set("to", to.slice(0, 10));
		}
	}
	if (typeof q.timezone === "string") p.set("tz", q.timezone);
	if (Array.isArray(q.filters)) for (const f of q.filters) p.append("f", JSON.stringify(f));
}

// ── retention ──

export const PERIODS = ["day", "week", "month"] as const;
export type Period = (typeof PERIODS)[number];

export interface RetentionView extends BaseView {
	form: "retention" | "lifecycle";
	period: Period;
	startEvent: string | null;
	returnEvent: string | null;
	/** Periods after the cohort's (retention); null: the API's default. */
	periods: number | null;
	/** How it is drawn (a retention report's chart): heatmap (lifecycle: stacked bars), line or table. */
	chart: RetentionChart;
}

export const RETENTION_CHARTS = ["heatmap", "line", "table"] as const;
export type RetentionChart = (typeof RETENTION_CHARTS)[number];

export function parseRetention(search: string): RetentionView {
	const p = new URLSearchParams(search);
	const period = p.get("p");
	const n = Number(p.get("n"));
	const start = p.get("start");
	const ret = p.get("ret");
	const form = p.get("form") === "lifecycle" ? "lifecycle" : "retention";
	const chart = p.get("c");
	return {
		...parseBase(p),
		// Retention periods follow the tenant's zone: the view has no zone of its own.
		tz: null,
		filters: [],
		form,
		period: (PERIODS as readonly string[]).includes(period ?? "") ? (period as Period) : "week",
		startEvent: form === "retention" && okName(start) ? start.trim() : null,
		returnEvent: okName(ret) ? ret.trim() : null,
		periods: form === "retention" && Number.isInteger(n) && n >= 1 && n <= 60 ? n : null,
		chart: chart === "line" || chart === "table" ? chart : "heatmap",
	};
}

export function retentionSearch(v: RetentionView): string {
	const p = new URLSearchParams();
	if (v.form === "lifecycle") p.set("form", "lifecycle");
	if (v.period !== "week") p.set("p", v.period);
	base(p, { ...v, tz: null, filters: [] });
	if (v.startEvent && v.form === "retention") p.set("start", v.startEvent);
	if (v.returnEvent) p.set("ret", v.returnEvent);
	if (v.periods != null && v.form === "retention") p.set("n", String(v.periods));
	if (v.chart !== "heatmap") p.set("c", v.chart);
	return tidyQuery(p);
}

export function retentionQuery(v: RetentionView): RetentionInput {
	return {
		form: v.form,
		period: v.period,
		date_range: apiRange(v.range),
		...(v.form === "retention" && v.startEvent ? { start_event: v.startEvent } : {}),
		...(v.returnEvent ? { return_event: v.returnEvent } : {}),
		...(v.form === "retention" && v.periods != null ? { periods: v.periods } : {}),
	};
}

/** A saved retention report's body (and its chart) → the view. */
export function retentionViewOf(q: Record<string, unknown>, chart?: string): RetentionView {
	const p = new URLSearchParams();
	if (chart) p.set("c", chart);
	rangeParams(p, { date_range: q.date_range });
	if (q.form === "lifecycle") p.set("form", "lifecycle");
	if (typeof q.period === "string") p.set("p", q.period);
	if (typeof q.start_event === "string") p.set("start", q.start_event);
	if (typeof q.return_event === "string") p.set("ret", q.return_event);
	if (typeof q.periods === "number") p.set("n", String(q.periods));
	return parseRetention(p.toString());
}

// ── experiments ──

export interface ExperimentView extends BaseView {
	exposure: string;
	/** The experiment's name in `prop:experiment` of the exposure (null: every exposure). */
	experiment: string | null;
	variant: string;
	goal: string | null;
	/** conversion, count, sum:<property>, avg:<property> */
	metric: string;
	control: string | null;
	windowHours: number | null;
	minimumEffect: number | null;
}

const GOAL_METRIC = /^(conversion|count|(sum|avg):[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99})$/;

export function parseExperimentView(search: string): ExperimentView {
	const p = new URLSearchParams(search);
	const ev = p.get("ev");
	const variant = p.get("var");
	const metric = p.get("metric");
	const win = Number(p.get("win"));
	const min = Number(p.get("min"));
	const get = (k: string) => {
		const s = p.get(k);
		return okName(s) ? s.trim() : null;
	};
	return {
		...parseBase(p),
		exposure: okName(ev) ? ev.trim() : "experiment_viewed",
		experiment: get("exp"),
		variant: variant && isDimension(variant) && variant !== "event" && !variant.startsWith("bins:") ? variant : "prop:variant",
		goal: get("goal"),
		metric: metric && GOAL_METRIC.test(metric) ? metric : "conversion",
		control: get("ctl"),
		windowHours: p.get("win") && Number.isInteger(win) && win >= 1 && win <= 8784 ? win : null,
		minimumEffect: p.get("min") && Number.isFinite(min) && min > 0 && min <= 10 ? min : null,
	};
}

export function experimentSearch(v: ExperimentView): string {
	const p = new URLSearchParams();
	if (v.experiment) p.set("exp", v.experiment);
	if (v.exposure !== "experiment_viewed") p.set("ev", v.exposure);
	if (v.variant !== "prop:variant") p.set("var", v.variant);
	if (v.goal) p.set("goal", v.goal);
	if (v.metric !== "conversion") p.set("metric", v.metric);
	if (v.control) p.set("ctl", v.control);
	if (v.windowHours != null) p.set("win", String(v.windowHours));
	if (v.minimumEffect != null) p.set("min", String(v.minimumEffect));
	base(p, v);
	return tidyQuery(p);
}

/** The POST /v1/experiments body (null until a goal is chosen). */
export function experimentQuery(v: ExperimentView): ExperimentInput | null {
	if (!v.goal) return null;
	return {
		exposure: { event: v.exposure, variant: v.variant, ...(v.experiment ? { filters: [["is", "prop:experiment", v.experiment]] } : {}) },
		goal: { event: v.goal, ...(v.metric !== "conversion" ? { metric: v.metric } : {}) },
		date_range: apiRange(v.range),
		...(v.tz ? { timezone: v.tz } : {}),
		...(v.control ? { control: v.control } : {}),
		...(v.windowHours != null ? { window: { hours: v.windowHours } } : {}),
		...(v.minimumEffect != null ? { minimum_effect: v.minimumEffect } : {}),
	};
}

export function experimentViewOf(q: Record<string, unknown>): ExperimentView {
	const p = new URLSearchParams();
	rangeParams(p, { date_range: q.date_range, timezone: q.timezone });
	const exposure = (q.exposure ?? {}) as { event?: unknown; variant?: unknown; filters?: unknown };
	const goal = (q.goal ?? {}) as { event?: unknown; metric?: unknown };
	if (typeof exposure.event === "string") p.set("ev", exposure.event);
	if (typeof exposure.variant === "string") p.set("var", exposure.variant);
	const exp = Array.isArray(exposure.filters) ? exposure.filters.find((f) => Array.isArray(f) && f[0] === "is" && f[1] === "prop:experiment") : null;
	if (exp && typeof exp[2] === "string") p.set("exp", exp[2]);
	if (typeof goal.event === "string") p.set("goal", goal.event);
	if (typeof goal.metric === "string") p.set("metric", goal.metric);
	if (typeof q.control === "string") p.set("ctl", q.control);
	const w = (q.window as { hours?: unknown } | undefined)?.hours;
	if (typeof w === "number") p.set("win", String(w));
	if (typeof q.minimum_effect === "number") p.set("min", String(q.minimum_effect));
	return parseExperimentView(p.toString());
}

// ── people lists ──

/** A CSV field: quoted when it holds a comma, a quote or a line break; formulas defused. */
function csvField(v: unknown): string {
	let s = v == null ? "" : String(v);
	// A text starting like a formula is defused; a number (-1) is a number.
	if (typeof v === "string" && /^[=+\-@]/.test(s)) s = `'${s}`;
	return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Rows as CSV text with a header line. */
export function toCsv(head: string[], rows: unknown[][]): string {
	return [head, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** A rate as a percentage with one decimal ("–" for none). */
export const pct = (r: number | null | undefined, digits = 1) => (r == null ? "–" : `${(r * 100).toFixed(digits)}%`);

/**
 * An absolute difference of two rates in percentage points, signed: 0.0095 → "+0.95 pp" ("–" for
 * none). `long` spells the unit out ("+0.95 percentage points").
 */
export function pp(d: number | null | undefined, digits = 2, long = false): string {
	if (d == null || !Number.isFinite(d)) return "–";
	const s = (d * 100).toFixed(digits);
	const n = Number(s);
	// "-0.00" reads as no difference.
	return `${n > 0 ? "+" : ""}${n === 0 ? (0).toFixed(digits) : s} ${long ? "percentage points" : "pp"}`;
}

/** An interval of a difference of rates: [0.0095, 0.1186] → "+0.95 to +11.86 pp". */
export function ppRange(lo: number | null | undefined, hi: number | null | undefined, digits = 2, long = false, joiner = " to "): string {
	if (lo == null || hi == null) return "–";
	return `${pp(lo, digits).replace(/ pp$/, "")}${joiner}${pp(hi, digits, long)}`;
}

// ── the people behind a row or point ──

/**
 * A picked row or point whose people are shown: its time bucket (with a granularity), its
 * dimensions' values, and on the Overview the dimensions' names (Explore's come from its query).
 */
export interface PeoplePick {
	time?: string;
	dimensions: (string | number | null)[];
	by?: string[];
}

/** The URL parameter of the picked row: `who={"t":…,"d":[…],"by":[…]}`. */
export const PICK_PARAM = "who";

const ISO = /^\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})$/;
const okValue = (v: unknown): v is string | number | null => v === null || (typeof v === "string" && v.length <= 500) || (typeof v === "number" && Number.isFinite(v));

export function encodePick(p: PeoplePick): string {
	return JSON.stringify({ ...(p.time ? { t: p.time } : {}), d: p.dimensions, ...(p.by ? { by: p.by } : {}) });
}

/** A `who` parameter → the pick (null when absent or unreadable). */
export function decodePick(s: string | null): PeoplePick | null {
	if (!s || s.length > 2000) return null;
	try {
		const v = JSON.parse(s) as { t?: unknown; d?: unknown; by?: unknown };
		if (!v || typeof v !== "object" || !Array.isArray(v.d) || v.d.length > 3 || !v.d.every(okValue)) return null;
		if (v.t !== undefined && (typeof v.t !== "string" || !ISO.test(v.t))) return null;
		if (v.by !== undefined && (!Array.isArray(v.by) || v.by.length !== v.d.length || !v.by.every((d) => typeof d === "string" && isDimension(d) && !d.startsWith("bins:")))) return null;
		return { ...(typeof v.t === "string" ? { time: v.t } : {}), dimensions: v.d, ...(v.by ? { by: v.by as string[] } : {}) };
	} catch {
		return null;
	}
}

export const pickOf = (search: string): PeoplePick | null => decodePick(new URLSearchParams(search).get(PICK_PARAM));

/** The query string (without "?") with the pick set, or removed (null); every other parameter kept. */
export function withPick(search: string, pick: PeoplePick | null): string {
	const p = new URLSearchParams(search);
	if (pick) p.set(PICK_PARAM, encodePick(pick));
	else p.delete(PICK_PARAM);
	return tidyQuery(p);
}

/**
 * The POST /v1/people body of an Overview pick: a breakdown row (its dimension's value) or a
 * bucket of the main chart (its time at the chart's granularity), under the overview's range,
 * zone and filters.
 */
export function overviewPeopleBody(v: BaseView, granularity: string, pick: PeoplePick): PeopleInput {
	return {
		date_range: apiRange(v.range),
		...(v.tz ? { timezone: v.tz } : {}),
		...(v.filters.length ? { filters: v.filters } : {}),
		...(pick.time ? { granularity: granularity as PeopleInput["granularity"] } : {}),
		dimensions: pick.by ?? [],
		row: { ...(pick.time ? { time: pick.time } : {}), dimensions: pick.by ? pick.dimensions : [] },
		limit: 100,
	};
}

/** A people list's body as an export takes it: every page, so no limit or cursor. */
export function peopleExportBody(body: PeopleInput): Record<string, unknown> {
	const { limit: _l, cursor: _c, ...rest } = body as PeopleInput & { cursor?: string };
	return rest;
}
