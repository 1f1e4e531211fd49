import { z } from "zod";
import { ApiError, formatIssues } from "../errors";
import { type Expr, parseFormula } from "./formula";

/** Query request vocabulary (POST /v1/query). Everything here is listed in 400 messages. */
export const PRESETS = ["today", "yesterday", "7d", "30d", "90d", "12mo"] as const;
export const GRANULARITIES = ["minute", "hour", "day", "week", "month", "quarter", "year"] as const;
export const SIMPLE_METRICS = ["count", "uniques"] as const;
export const PROP_METRICS = ["sum", "avg", "min", "max", "p50", "p90", "p95", "p99"] as const;
/** Pair metrics (tenants.pairs): keys started in the range, closed (have an end), still open. */
export const PAIR_COUNTS = ["started", "closed", "open"] as const;
export const SIMPLE_DIMS = ["event", "country", "device", "browser", "os", "hour_of_day", "day_of_week"] as const;
export const FILTER_OPS = ["is", "is_not", "contains", "gt", "lt"] as const;
export const COMPARES = ["previous_period", "previous_year"] as const;
export const MAX_DIMENSIONS = 3;
export const MAX_METRICS = 10;
export const MAX_LIMIT = 10_000;
/** Explicit bin edges of a distribution dimension, and automatic bins. */
export const MAX_BIN_EDGES = 50;
export const MAX_AUTO_BINS = 50;

export type Granularity = (typeof GRANULARITIES)[number];
export type MetricKind = (typeof SIMPLE_METRICS)[number] | (typeof PROP_METRICS)[number] | (typeof PAIR_COUNTS)[number];
export type DimKind = (typeof SIMPLE_DIMS)[number] | "prop" | "bins";
export type FilterOp = (typeof FILTER_OPS)[number];

/** A metric computed from events (or, with `pair`, from paired-event spans). */
export interface Metric {
	name: string;
	kind: MetricKind;
	/** The property of a statistic (sum:amount) or a distinct count (uniques:prop:agent_id); null for count and users. */
	prop: string | null;
	/** Pair metrics: the configured pair (avg:pair:first_response, open:first_response); null otherwise. */
	pair: string | null;
	/** Conditions of this metric only, on top of the query's filters. */
	filters: Filter[];
	/** Computed (a formula may use it) but not returned. */
	hidden: boolean;
}
/** A metric computed from other metrics of the same row. */
export interface FormulaMetric {
	name: string;
	kind: "formula";
	expr: Expr;
	/** Multiplied by 100 (a rate as a percentage). */
	percent: boolean;
	hidden: boolean;
	/** Names of the metrics the formula reads. */
	refs: string[];
}
export type AnyMetric = Metric | FormulaMetric;

export interface Dim {
	name: string;
	kind: DimKind;
	prop: string | null;
	/** Distribution dimensions: the bin edges (ascending), or null for automatic bins. */
	edges?: number[] | null;
	/** Automatic bins: how many. */
	bins?: number;
}
export interface Filter {
	op: FilterOp;
	dim: Dim;
	values: (string | number | null)[];
}

const PROP_NAME = /^[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99}$/;
const PAIR_NAME = /^[a-z][a-z0-9_]{0,39}$/;
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const METRIC_HELP = `one of ${SIMPLE_METRICS.join(", ")}, uniques:prop:<property>, <${PROP_METRICS.join("|")}>:<property>, <${PROP_METRICS.filter((k) => k !== "sum").join("|")}>:pair:<pair>, <${PAIR_COUNTS.join("|")}>:<pair>`;
const DIM_HELP = `one of ${SIMPLE_DIMS.join(", ")}, prop:<property> or bins:<property>`;

const base = (name: string, kind: MetricKind, prop: string | null = null, pair: string | null = null): Metric => ({ name, kind, prop, pair, filters: [], hidden: false });

/** A metric name as the API writes it: count, uniques, uniques:prop:agent_id, p95:response_ms, avg:pair:first_response, open:first_response. */
export function parseMetric(name: string): Metric | null {
	if ((SIMPLE_METRICS as readonly string[]).includes(name)) return base(name, name as MetricKind);
	const i = name.indexOf(":");
	if (i < 0) return null;
	const kind = name.slice(0, i);
	const rest = name.slice(i + 1);
	if (kind === "uniques") {
		const prop = rest.startsWith("prop:") ? rest.slice(5) : rest;
		return PROP_NAME.test(prop) ? base(name, "uniques", prop) : null;
	}
	if ((PAIR_COUNTS as readonly string[]).includes(kind)) return PAIR_NAME.test(rest) ? base(name, kind as MetricKind, null, rest) : null;
	if (!(PROP_METRICS as readonly string[]).includes(kind)) return null;
	if (rest.startsWith("pair:")) {
		const pair = rest.slice(5);
		return kind !== "sum" && PAIR_NAME.test(pair) ? base(name, kind as MetricKind, null, pair) : null;
	}
	return PROP_NAME.test(rest) ? base(name, kind as MetricKind, rest) : null;
}

export function parseDim(name: string): Dim | null {
	if ((SIMPLE_DIMS as readonly string[]).includes(name)) return { name, kind: name as DimKind, prop: null };
	if (name.startsWith("prop:") && PROP_NAME.test(name.slice(5))) return { name, kind: "prop", prop: name.slice(5) };
	if (name.startsWith("bins:") && PROP_NAME.test(name.slice(5))) return { name, kind: "bins", prop: name.slice(5), edges: null, bins: 10 };
	return null;
}

const metricString = z.string().transform((s, ctx) => parseMetric(s) ?? (ctx.addIssue({ code: "custom", message: `unknown metric '${s}': use ${METRIC_HELP}` }), z.NEVER));
const dimString = z.string().transform((s, ctx) => parseDim(s) ?? (ctx.addIssue({ code: "custom", message: `unknown dimension '${s}': use ${DIM_HELP}` }), z.NEVER));

/** A distribution: {"dimension":"bins:response_ms","edges":[0,1000,5000]} or {"dimension":"bins:response_ms","bins":20}. */
const binsObject = z
	.object({
		dimension: z.string().regex(/^bins:/, "an object dimension is a distribution: bins:<property>"),
		edges: z
			.array(z.number().finite())
			.min(1)
			.max(MAX_BIN_EDGES, `at most ${MAX_BIN_EDGES} edges`)
			.refine((e) => e.every((x, i) => i === 0 || x > e[i - 1]!), "edges must be strictly ascending")
			.optional(),
		bins: z.number().int().min(1).max(MAX_AUTO_BINS).optional(),
	})
	.strict()
	.transform((o, ctx): Dim => {
		const d = parseDim(o.dimension);
		if (!d || d.kind !== "bins") {
			ctx.addIssue({ code: "custom", path: ["dimension"], message: `unknown distribution '${o.dimension}': use bins:<property>` });
			return z.NEVER;
		}
		if (o.edges && o.bins != null) ctx.addIssue({ code: "custom", path: ["bins"], message: "give edges or a number of bins, not both" });
		return { ...d, edges: o.edges ?? null, bins: o.bins ?? 10 };
	});
/**
 * One schema for values of several shapes, chosen by the value itself, so the error is the chosen
 * shape's own (a zod union reports every option's). The declared type keeps the options' input types.
 */
function dispatch<O, I>(choose: (v: unknown) => z.ZodType<O> | string): z.ZodType<O, I> {
	return z.unknown().transform((v, ctx) => {
		const schema = choose(v);
		if (typeof schema === "string") {
			ctx.addIssue({ code: "custom", message: schema });
			return z.NEVER;
		}
		const r = schema.safeParse(v);
		if (r.success) return r.data;
		for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path as (string | number)[] });
		return z.NEVER;
	}) as unknown as z.ZodType<O, I>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

const dimSchema = dispatch<Dim, string | z.input<typeof binsObject>>((v) =>
	typeof v === "string" ? dimString : isObject(v) ? binsObject : `must be ${DIM_HELP}, or {"dimension":"bins:<property>","edges":[…]}`,
);

const filterValue = z.union([z.string().max(500), z.number(), z.null()]);
export const filterSchema = z
	.tuple([z.enum(FILTER_OPS, { error: `must be one of ${FILTER_OPS.join(", ")}` }), dimString, z.union([filterValue, z.array(filterValue).min(1).max(100)])])
	.transform(([op, dim, v], ctx): Filter => {
		const values = Array.isArray(v) ? v : [v];
		if (dim.kind === "bins") ctx.addIssue({ code: "custom", path: [1], message: `filter on prop:${dim.prop} (with gt, lt), not on its bins` });
		if (op === "gt" || op === "lt") {
			if (values.length !== 1 || typeof values[0] !== "number") ctx.addIssue({ code: "custom", path: [2], message: `'${op}' takes one number` });
			if (dim.kind !== "prop" && dim.kind !== "hour_of_day" && dim.kind !== "day_of_week")
				ctx.addIssue({ code: "custom", path: [1], message: `'${op}' compares numbers: use it on prop:<property>, hour_of_day or day_of_week, not ${dim.name}` });
		}
		if (op === "contains" && values.some((x) => typeof x !== "string")) ctx.addIssue({ code: "custom", path: [2], message: "'contains' takes strings" });
		return { op, dim, values };
	});

/** {"metric":"count","filters":[…],"name":"escalations"}: a metric with conditions of its own. */
const metricObject = z
	.object({
		name: z.string().regex(METRIC_NAME, "must be 1-64 letters, digits or '_', starting with a letter or '_'").optional(),
		metric: metricString,
		filters: z.array(filterSchema).max(10).default([]),
		hidden: z.boolean().default(false),
	})
	.strict()
	.transform((o, ctx): Metric => {
		if (o.filters.length && !o.name) ctx.addIssue({ code: "custom", path: ["name"], message: "a metric with filters needs a name (the formulas and the rows refer to it)" });
		return { ...o.metric, name: o.name ?? o.metric.name, filters: o.filters, hidden: o.hidden };
	});

/** {"name":"escalation_rate","formula":"escalated / started","percent":true}: arithmetic on other metrics. */
const formulaObject = z
	.object({
		name: z.string().regex(METRIC_NAME, "must be 1-64 letters, digits or '_', starting with a letter or '_'"),
		formula: z.string().min(1).max(500),
		percent: z.boolean().default(false),
		hidden: z.boolean().default(false),
	})
	.strict()
	.transform((o, ctx): FormulaMetric => {
		const parsed = parseFormula(o.formula);
		if (!parsed.ok) {
			ctx.addIssue({ code: "custom", path: ["formula"], message: parsed.message });
			return z.NEVER;
		}
		return { name: o.name, kind: "formula", expr: parsed.expr, percent: o.percent, hidden: o.hidden, refs: parsed.refs };
	});

const metricSchema = dispatch<AnyMetric, string | z.input<typeof metricObject> | z.input<typeof formulaObject>>((v) =>
	typeof v === "string"
		? metricString
		: isObject(v)
			? "formula" in v
				? formulaObject
				: metricObject
			: `must be a metric name (${METRIC_HELP}), {"metric":…,"filters":[…],"name":…} or {"name":…,"formula":"a / b"}`,
);

const RANGE_HELP = `must be one of ${PRESETS.join(", ")} or {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"} (dates inclusive, or ISO 8601 date-times)`;
export const dateRange = z.union([z.enum(PRESETS), z.object({ from: z.string().min(1).max(40), to: z.string().min(1).max(40) }).strict()], { error: RANGE_HELP });

/** Keys order_by takes beside metric and dimension names: the change against the compared period. */
export const CHANGE_KEYS = ["change", "change_pct"] as const;

/** The request body; shapes and messages are the API's contract (docs/api.md, docs/openapi.yaml). */
export const queryRequest = z
	.object({
		metrics: z.array(metricSchema).min(1, `list at least one metric: ${METRIC_HELP}`).max(MAX_METRICS),
		date_range: dateRange,
		timezone: z.string().max(64).optional(),
		granularity: z.enum(GRANULARITIES, { error: `must be one of ${GRANULARITIES.join(", ")}` }).nullish(),
		dimensions: z.array(dimSchema).max(MAX_DIMENSIONS, `at most ${MAX_DIMENSIONS} dimensions`).default([]),
		filters: z.array(filterSchema).max(20).default([]),
		compare: z.enum(COMPARES, { error: `must be one of ${COMPARES.join(", ")}` }).nullish(),
		order_by: z
			.array(z.tuple([z.string(), z.enum(["asc", "desc"], { error: "must be asc or desc" })]))
			.max(5)
			.optional(),
		/** Rows (breakdowns), or series (time series split by dimensions); see answer.ts. */
		limit: z.number().int().min(1).max(MAX_LIMIT).optional(),
		/** Rows per group: the first N of each combination of the other dimensions (top 3 intents per channel). */
		limit_per_group: z.number().int().min(1).max(MAX_LIMIT).optional(),
		/** "raw" answers from raw events even when rollups could (exact uniques and percentiles). */
		source: z.enum(["auto", "raw"], { error: "must be auto or raw" }).default("auto"),
		/** A lower time limit than the server's, for clients with their own deadline. */
		timeout_ms: z.number().int().min(1).max(10_000).optional(),
		/** Patterns in a time series: anomalies, the trend, a forecast (workers/insights). */
		insights: z
			.object({
				/** The metric to look at (default the first shown). */
				metric: z.string().max(200).optional(),
				anomalies: z.boolean().default(false),
				trend: z.boolean().default(false),
				forecast: z.object({ horizon: z.number().int().min(1).max(200) }).strict().optional(),
			})
			.strict()
			.optional(),
	})
	.strict()
	.superRefine((q, ctx) => {
		const dims = q.dimensions.map((d) => d.name);
		const dup = dims.find((d, i) => dims.indexOf(d) !== i);
		if (dup) ctx.addIssue({ code: "custom", path: ["dimensions"], message: `dimension '${dup}' is listed twice` });
		if (q.dimensions.filter((d) => d.kind === "bins").length > 1) ctx.addIssue({ code: "custom", path: ["dimensions"], message: "one distribution (bins:) per query" });
		const metrics = q.metrics.map((m) => m.name);
		const dupM = metrics.find((m, i) => metrics.indexOf(m) !== i);
		if (dupM) ctx.addIssue({ code: "custom", path: ["metrics"], message: `metric '${dupM}' is listed twice: give one a name` });
		q.metrics.forEach((m, i) => {
			if (m.kind !== "formula") return;
			for (const ref of m.refs) {
				const at = metrics.indexOf(ref);
				if (at < 0) ctx.addIssue({ code: "custom", path: ["metrics", i, "formula"], message: `'${ref}' is not a metric of this query (metrics: ${metrics.join(", ")})` });
				else if (at >= i && q.metrics[at]!.kind === "formula") ctx.addIssue({ code: "custom", path: ["metrics", i, "formula"], message: `'${ref}' is a formula listed after this one: list it first` });
			}
		});
		if (q.metrics.every((m) => m.hidden)) ctx.addIssue({ code: "custom", path: ["metrics"], message: "every metric is hidden: show at least one" });
		const pairs = q.metrics.filter((m): m is Metric => m.kind !== "formula" && m.pair != null);
		if (pairs.length && q.dimensions.some((d) => d.kind === "bins"))
			ctx.addIssue({ code: "custom", path: ["dimensions"], message: "pair metrics take no distribution dimension" });
		const visible = q.metrics.filter((m) => !m.hidden).map((m) => m.name);
		const orderable = [...visible, ...dims, ...(q.granularity ? ["time"] : []), ...(q.compare ? CHANGE_KEYS.flatMap((k) => visible.map((m) => `${k}:${m}`)) : [])];
		q.order_by?.forEach(([key], i) => {
			if (!orderable.includes(key))
				ctx.addIssue({
					code: "custom",
					path: ["order_by", i, 0],
					message: `cannot order by '${key}': use one of ${orderable.join(", ")}${q.compare || !/^change(_pct)?:/.test(key) ? "" : " (change and change_pct need compare)"}`,
				});
		});
		if (q.insights) {
			if (!q.granularity) ctx.addIssue({ code: "custom", path: ["insights"], message: "insights look at a time series: give a granularity" });
			if (!q.insights.anomalies && !q.insights.trend && !q.insights.forecast) ctx.addIssue({ code: "custom", path: ["insights"], message: "ask for anomalies, trend or forecast" });
			if (q.insights.metric != null && !visible.includes(q.insights.metric))
				ctx.addIssue({ code: "custom", path: ["insights", "metric"], message: `'${q.insights.metric}' is not a metric of this query (shown: ${visible.join(", ")})` });
		}
		if (q.limit_per_group != null && q.dimensions.length + (q.granularity ? 1 : 0) < 2)
			ctx.addIssue({ code: "custom", path: ["limit_per_group"], message: "needs groups: two dimensions, or a granularity and a dimension (the last dimension is ranked within each group)" });
	});

export type QueryRequest = z.infer<typeof queryRequest>;

/** The metrics computed from events or spans (not formulas). */
export const baseMetrics = (q: { metrics: AnyMetric[] }): Metric[] => q.metrics.filter((m): m is Metric => m.kind !== "formula");

/** Parses a query body, or throws a 400 naming the first offending field and the valid options. */
export function parseQuery(body: unknown): QueryRequest {
	const parsed = queryRequest.safeParse(body);
	if (parsed.success) return parsed.data;
	const issues = formatIssues(parsed.error.issues);
	const first = issues[0]!;
	throw new ApiError(400, "invalid_query", `${first.path || "body"}: ${first.message}`, { issues });
}
