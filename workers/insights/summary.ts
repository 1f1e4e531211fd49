import { z } from "zod";
import { ApiError, formatIssues } from "../errors";
import { answerQuery, type TenantRow } from "../query/answer";
import { GRANULARITIES, MAX_DIMENSIONS } from "../query/spec";
import { correlation, movers } from "./analyze";

/**
 * POST /v1/insights: what is unusual, where each metric is heading, which values moved, and what moves
 * together, for one range. Built from ordinary queries (the answer cache and the query limits apply):
 * one time series per metric with its insights, one comparison of the totals with the period before,
 * and one breakdown per movers dimension against the period before.
 */
const MAX_SUMMARY_METRICS = 6;

const summaryRequest = z
	.object({
		// Metrics, filters, date_range and timezone are the query's own (validated there, same field names).
		metrics: z.array(z.unknown()).min(1).max(MAX_SUMMARY_METRICS, `at most ${MAX_SUMMARY_METRICS} metrics`).default(["count", "uniques"]),
		date_range: z.unknown().default("30d"),
		timezone: z.string().max(64).optional(),
		granularity: z.enum(GRANULARITIES, { error: `must be one of ${GRANULARITIES.join(", ")}` }).optional(),
		filters: z.array(z.unknown()).max(20).default([]),
		movers: z
			.object({
				dimensions: z.array(z.string().max(200)).min(1).max(MAX_DIMENSIONS, `at most ${MAX_DIMENSIONS} dimensions`),
				limit: z.number().int().min(1).max(50).default(5),
			})
			.strict()
			.default({ dimensions: ["event"], limit: 5 }),
		/** Pairs of metric names; default every pair of the metrics. */
		correlations: z.array(z.tuple([z.string(), z.string()])).max(15).optional(),
		forecast: z.object({ horizon: z.number().int().min(1).max(200) }).strict().optional(),
	})
	.strict();

export type SummaryRequest = z.infer<typeof summaryRequest>;

/** Parses a POST /v1/insights body (its own fields; metrics and filters are the query parser's), or a 400 naming the field. */
export function parseSummary(body: unknown): SummaryRequest {
	const parsed = summaryRequest.safeParse(body ?? {});
	if (parsed.success) return parsed.data;
	const issues = formatIssues(parsed.error.issues);
	throw new ApiError(400, "invalid_insights", `${issues[0]!.path || "body"}: ${issues[0]!.message}`, { issues });
}

/** A metric's name in the answers: a string metric is its own name, an object has `name`. */
const nameOf = (m: unknown) => (typeof m === "string" ? m : ((m as { name?: string })?.name ?? ""));

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;
const fmt = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : String(round(v)));

export async function summarize(db: D1Database, tenantId: string, body: unknown, tenant: TenantRow | null, now: number, pendingSince?: () => Promise<number | null>) {
	const req = parseSummary(body);
	const names = req.metrics.map(nameOf);
	const base = { date_range: req.date_range, filters: req.filters, ...(req.timezone ? { timezone: req.timezone } : {}) };
	// Totals against the period before: also validates the metrics, range and filters once, with the
	// query's messages (a bad metric fails here, before the other queries run).
	const totals = await answerQuery(db, tenantId, { ...base, metrics: req.metrics, compare: "previous_period" }, tenant, now, pendingSince);
	const pairs = req.correlations ?? names.flatMap((a, i) => names.slice(i + 1).map((b) => [a, b] as [string, string]));
	for (const [i, pair] of pairs.entries())
		for (const [j, n] of pair.entries())
			if (!names.includes(n)) throw new ApiError(400, "invalid_insights", `correlations[${i}][${j}]: '${n}' is not one of the metrics (${names.join(", ")})`, { field: `correlations[${i}][${j}]` });
	// Hourly up to three days, else daily: enough buckets for a trend, few enough for a season of history.
	const span = Date.parse(totals.meta.date_range.to) - Date.parse(totals.meta.date_range.from);
	const granularity = req.granularity ?? (span <= 3 * 86_400_000 ? "hour" : "day");
	const horizon = req.forecast?.horizon ?? (granularity === "hour" ? 24 : granularity === "day" ? 7 : 3);
	const series = await Promise.all(
		names.map((metric) =>
			answerQuery(db, tenantId, { ...base, metrics: req.metrics, granularity, insights: { metric, anomalies: true, trend: true, forecast: { horizon } } }, tenant, now, pendingSince),
		),
	);
	const breakdowns = await Promise.all(
		req.movers.dimensions.map((d) => answerQuery(db, tenantId, { ...base, metrics: ["count"], dimensions: [d], compare: "previous_period", limit: 1000 }, tenant, now, pendingSince)),
	);

	const row = totals.results[0] as { metrics: (number | null)[]; comparison?: { metrics: (number | null)[]; change_pct: (number | null)[] } } | undefined;
	const metrics = names.map((name, i) => {
		const ins = (series[i] as { insights?: { series: { anomalies?: unknown[]; trend?: unknown; forecast?: unknown[]; backtest?: unknown; anomaly_note?: string; forecast_note?: string; anomaly_method?: string; forecast_method?: string }[] } }).insights!.series[0];
		return {
			name,
			total: row?.metrics[i] ?? null,
			previous_total: row?.comparison?.metrics[i] ?? null,
			change_pct: row?.comparison?.change_pct[i] ?? null,
			anomalies: ins?.anomalies ?? [],
			...(ins?.anomaly_note ? { anomaly_note: ins.anomaly_note } : {}),
			trend: ins?.trend ?? null,
			forecast: ins?.forecast ?? [],
			backtest: ins?.backtest ?? null,
			...(ins?.forecast_note ? { forecast_note: ins.forecast_note } : {}),
		};
	});
	// Series values per metric, bucket by bucket (one series: no dimensions), for correlations.
	// Only buckets that are over: the one in progress is low because it is not finished.
	const valuesOf = (i: number) => {
		const from = (series[i] as { insights?: { series: { incomplete_from?: string }[] } }).insights?.series[0]?.incomplete_from;
		const cut = from ? Date.parse(from) : Number.POSITIVE_INFINITY;
		return (series[i]!.results as { time: string; metrics: (number | null)[] }[]).filter((r) => Date.parse(r.time) < cut).map((r) => r.metrics[i] ?? null);
	};
	const correlations = pairs.map(([a, b]) => ({ a, b, ...correlation(valuesOf(names.indexOf(a)), valuesOf(names.indexOf(b))) }));
	const moved = req.movers.dimensions.map((dimension, k) => {
		const rows = breakdowns[k]!.results as { dimensions: (string | number | null)[]; metrics: number[]; comparison?: { metrics: (number | null)[] } }[];
		// Shares among the events that have a value: events without the property are another population.
		const valued = rows.filter((r) => r.dimensions[0] != null);
		const cur = new Map(valued.map((r) => [r.dimensions[0]!, r.metrics[0] ?? 0]));
		const prev = new Map(valued.map((r) => [r.dimensions[0]!, r.comparison?.metrics[0] ?? 0]));
		return { dimension, rows: movers(cur, prev, req.movers.limit) };
	});

	return {
		date_range: totals.meta.date_range,
		granularity,
		metrics,
		movers: moved,
		correlations,
		highlights: highlights(metrics, moved, correlations, granularity),
		meta: {
			timezone: totals.meta.timezone,
			previous_range: (totals.meta as { comparison?: { date_range?: unknown } }).comparison?.date_range ?? null,
			complete_through: totals.meta.complete_through,
			methods: {
				anomalies: (series[0] as { insights?: { series: { anomaly_method?: string }[] } }).insights?.series[0]?.anomaly_method ?? null,
				trend: (metrics[0]?.trend as { method?: string } | null)?.method ?? null,
				forecast: (series[0] as { insights?: { series: { forecast_method?: string }[] } }).insights?.series[0]?.forecast_method ?? null,
				movers: "share of the count among events with a value, in each period; p-value of a two-proportion z-test",
				correlation: "Pearson and Spearman over the buckets where both metrics have a value; p-value from t with n − 2 df",
			},
		},
	};
}

/** Plain sentences for the summary's most telling findings, most important first. */
function highlights(
	metrics: { name: string; total: number | null; change_pct: number | null; anomalies: unknown[]; trend: unknown }[],
	moved: { dimension: string; rows: ReturnType<typeof movers> }[],
	correlations: ({ a: string; b: string } & ReturnType<typeof correlation>)[],
	granularity: string,
): string[] {
	const out: string[] = [];
	for (const m of metrics) {
		const a = m.anomalies as { time: string; value: number; expected: number; score: number }[];
		if (a.length) {
			const top = [...a].sort((x, y) => Math.abs(y.score) - Math.abs(x.score))[0]!;
			out.push(
				`${m.name}: ${a.length} unusual ${granularity}${a.length > 1 ? "s" : ""}; the largest at ${top.time}: ${fmt(top.value)} against ${fmt(top.expected)} expected (${top.score > 0 ? "above" : "below"}, z ${round(top.score, 1)})`,
			);
		}
	}
	for (const m of metrics) {
		const t = m.trend as { direction: string; slope: number; slope_ci95: [number, number] } | null;
		if (t && t.direction !== "flat")
			out.push(`${m.name} is ${t.direction === "up" ? "rising" : "falling"} by ${fmt(Math.abs(t.slope))} a ${granularity} (95% interval ${fmt(t.slope_ci95[0])} to ${fmt(t.slope_ci95[1])})`);
		if (m.change_pct != null && Math.abs(m.change_pct) >= 10) out.push(`${m.name}: ${fmt(m.total ?? 0)}, ${m.change_pct > 0 ? "up" : "down"} ${Math.abs(m.change_pct)}% on the period before`);
	}
	for (const d of moved)
		for (const r of d.rows)
			if (r.p_value != null && r.p_value < 0.01 && Math.abs(r.change_points) >= 1)
				out.push(`${d.dimension} ${r.value}: ${round(r.share * 100, 1)}% of events with a value, ${r.change_points > 0 ? "up" : "down"} ${round(Math.abs(r.change_points), 1)} points on the period before`);
	for (const c of correlations)
		if (c.pearson && Math.abs(c.pearson.r) >= 0.7 && c.pearson.p_value < 0.01)
			out.push(`${c.a} and ${c.b} move ${c.pearson.r > 0 ? "together" : "in opposite directions"} (r ${round(c.pearson.r)}, ${c.points} ${granularity}s); not evidence that one causes the other`);
	return out;
}
