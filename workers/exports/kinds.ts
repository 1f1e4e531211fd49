import type { ReportKind } from "../db/schema";
import { formatLocal } from "../query/time";
import type { Trend } from "../insights/analyze";
import type { StepOut } from "../people/funnel";
import type { ExperimentAnswer as ExperimentResult, InsightsAnswer as InsightsResult, ReportAnswer, RetentionAnswer as RetentionOrLifecycle } from "../reports/kinds";
import type { Cell, Column, TableHead } from "./table";

/**
 * The answers of funnel, retention (and lifecycle), experiment and insights reports as tables (for
 * CSV, NDJSON, Parquet, XLSX and the PDF's tables) and as key figures (the PDF's table, scheduled
 * messages). Query reports have theirs in sources.ts (answerTable, kpisOf).
 */

/** A key figure: the value, and the previous period's when the answer has one. */
export interface Kpi {
	metric: string;
	value: number | null;
	previous?: number | null;
	change_pct?: number | null;
}

// The answers as their endpoints type them (a funnel's is built field by field: its steps' type).
type FunnelStep = StepOut;
interface FunnelAnswer {
	steps: FunnelStep[];
	breakdown?: { dimension: string; values: { value: string | number | null; steps: FunnelStep[] }[] };
}
type RetentionAnswer = Extract<RetentionOrLifecycle, { form: "retention" }>;
type LifecycleAnswer = Extract<RetentionOrLifecycle, { form: "lifecycle" }>;
type ExperimentAnswer = ExperimentResult;
type InsightsAnswer = InsightsResult;
/** A variant's value: its conversion rate, or its mean of a numeric goal. */
const valueOf = (v: ExperimentAnswer["variants"][number]) => ("rate" in v ? v.rate : v.mean);

const col = (name: string, type: Column["type"]): Column => ({ name, type });

const FUNNEL_COLUMNS: Column[] = [
	col("step", "int"),
	col("name", "string"),
	col("event", "string"),
	col("entered", "int"),
	col("converted", "int"),
	col("dropped", "int"),
	col("conversion_from_first", "double"),
	col("conversion_from_previous", "double"),
	col("median_time_to_convert_ms", "double"),
	col("p90_time_to_convert_ms", "double"),
];
const stepRow = (s: FunnelStep): Cell[] => [
	s.step,
	s.name,
	s.event,
	s.entered,
	s.converted,
	s.dropped,
	s.conversion_from_first,
	s.conversion_from_previous,
	s.time_to_convert_ms?.median ?? null,
	s.time_to_convert_ms?.p90 ?? null,
];

const isLifecycle = (a: RetentionAnswer | LifecycleAnswer): a is LifecycleAnswer => a.form === "lifecycle";

/**
 * A report's answer as one table: a funnel a row per step (per breakdown value and step, the value
 * first, with a breakdown); retention a row per cohort and period; lifecycle a row per period; an
 * experiment a row per variant of its metric (with its test against the control); insights a row
 * per metric.
 */
export function kindTable(kind: Exclude<ReportKind, "query">, answer: ReportAnswer, name: string): { head: TableHead; rows: Cell[][] } {
	const table = (columns: Column[], rows: Cell[][]) => ({ head: { name, columns }, rows });
	if (kind === "funnel") {
		const f = answer as unknown as FunnelAnswer;
		if (!f.breakdown) return table(FUNNEL_COLUMNS, f.steps.map(stepRow));
		const rows = f.breakdown.values.flatMap((v) => v.steps.map((s) => [v.value == null ? null : String(v.value), ...stepRow(s)]));
		return table([col(f.breakdown.dimension, "string"), ...FUNNEL_COLUMNS], rows);
	}
	if (kind === "retention") {
		const r = answer as unknown as RetentionAnswer | LifecycleAnswer;
		if (isLifecycle(r))
			return table(
				[col("period", "time"), col("new", "int"), col("returning", "int"), col("resurrecting", "int"), col("dormant", "int"), col("active", "int"), col("churn_rate", "double")],
				r.periods.map((p) => [p.period, p.new, p.returning, p.resurrecting, p.dormant, p.active, p.churn_rate]),
			);
		return table(
			[col("cohort", "time"), col("cohort_people", "int"), col(`${r.period}s_after`, "int"), col("retained", "int"), col("rate", "double")],
			r.cohorts.flatMap((c) => c.retained.map((n, i) => [c.cohort, c.people, i, n, c.rates[i] ?? null])),
		);
	}
	if (kind === "experiment") {
		const x = answer as unknown as ExperimentAnswer;
		const rows = x.variants.map((v) => {
			const t = x.tests.find((t) => t.variant === v.variant);
			return [
				v.variant,
				x.metric,
				v.variant === x.control ? 1 : 0,
				v.people,
				v.converted,
				"units" in v ? v.units : v.people,
				valueOf(v),
				"sd" in v ? v.sd : null,
				t?.effect ?? null,
				t?.relative_effect ?? null,
				t?.ci95[0] ?? null,
				t?.ci95[1] ?? null,
				t?.p_value ?? null,
				t?.adjusted_p_value ?? null,
				t ? (t.significant ? 1 : 0) : null,
				t?.more_units_needed ?? null,
			];
		});
		return table(
			[
				col("variant", "string"),
				col("metric", "string"),
				col("control", "int"),
				col("people", "int"),
				col("converted", "int"),
				col("units", "int"),
				col("value", "double"),
				col("sd", "double"),
				col("effect", "double"),
				col("relative_effect", "double"),
				col("ci95_low", "double"),
				col("ci95_high", "double"),
				col("p_value", "double"),
				col("adjusted_p_value", "double"),
				col("significant", "int"),
				col("more_units_needed", "int"),
			],
			rows,
		);
	}
	const s = answer as unknown as InsightsAnswer;
	return table(
		[col("metric", "string"), col("total", "double"), col("previous_total", "double"), col("change_pct", "double"), col("anomalies", "int"), col("trend", "string"), col("trend_slope", "double"), col("trend_p_value", "double")],
		s.metrics.map((m) => {
			const t = m.trend as Trend | null;
			return [m.name, m.total, m.previous_total, m.change_pct, m.anomalies.length, t?.direction ?? null, t?.slope ?? null, t?.p_value ?? null];
		}),
	);
}

/**
 * A report's key figures: a funnel's people at its first step, converted at its last and the
 * conversion; a retention's people in cohorts and average rate one and k periods after; a
 * lifecycle's last started period; an experiment's value per variant and each test's p-value;
 * insights' totals against the previous period.
 */
export function kindKpis(kind: Exclude<ReportKind, "query">, answer: ReportAnswer): Kpi[] {
	if (kind === "funnel") {
		const { steps } = answer as unknown as FunnelAnswer;
		const first = steps[0];
		const last = steps.at(-1);
		if (!first || !last) return [];
		return [
			{ metric: `entered ${first.name}`, value: first.entered },
			{ metric: `reached ${last.name}`, value: last.entered },
			{ metric: "conversion", value: last.conversion_from_first },
		];
	}
	if (kind === "retention") {
		const r = answer as unknown as RetentionAnswer | LifecycleAnswer;
		if (isLifecycle(r)) {
			const p = [...r.periods].reverse().find((x) => x.active != null);
			if (!p) return [];
			return [
				{ metric: `active (${p.period.slice(0, 10)})`, value: p.active },
				{ metric: "new", value: p.new },
				{ metric: "returning", value: p.returning },
				{ metric: "resurrecting", value: p.resurrecting },
				{ metric: "dormant", value: p.dormant },
				{ metric: "churn rate", value: p.churn_rate },
			];
		}
		const k = r.average.rates.length - 1;
		return [
			{ metric: "people in cohorts", value: r.average.people[0] ?? 0 },
			...(k >= 1 ? [{ metric: `retained 1 ${r.period} after`, value: r.average.rates[1] ?? null }] : []),
			...(k > 1 ? [{ metric: `retained ${k} ${r.period}s after`, value: r.average.rates[k] ?? null }] : []),
		];
	}
	if (kind === "experiment") {
		const x = answer as unknown as ExperimentAnswer;
		const what = x.metric === "conversion" ? "conversion" : x.metric;
		return [
			...x.variants.map((v) => ({ metric: `${v.variant}: ${what}`, value: valueOf(v) })),
			...x.tests.map((t) => ({ metric: `${t.variant} vs ${x.control}: p-value`, value: t.adjusted_p_value })),
		];
	}
	return (answer as unknown as InsightsAnswer).metrics.map((m) => ({ metric: m.name, value: m.total, previous: m.previous_total, change_pct: m.change_pct }));
}

/**
 * The range and zone an answer covers, as local times with their offset (every kind says it in its
 * own place; funnels and retention as UTC instants).
 */
export function rangeOf(answer: ReportAnswer): { from: string; to: string; timezone: string } | null {
	const a = answer as { date_range?: { from: string; to: string }; meta?: { date_range?: { from: string; to: string }; timezone?: string } };
	const r = a.meta?.date_range ?? a.date_range;
	const tz = a.meta?.timezone;
	if (!r || !tz) return null;
	const local = (t: string) => (Number.isNaN(Date.parse(t)) ? t : formatLocal(Date.parse(t), tz));
	return { from: local(r.from), to: local(r.to), timezone: tz };
}
