import { z } from "zod";
import { ApiError, formatIssues } from "../errors";

/** Query request vocabulary (POST /v1/query). Everything here is listed in 400 messages. */
export const PRESETS = ["today", "yesterday", "7d", "30d", "90d", "12mo"] as const;
export const GRANULARITIES = ["minute", "hour", "day", "week", "month"] as const;
export const SIMPLE_METRICS = ["count", "uniques"] as const;
export const PROP_METRICS = ["sum", "avg", "min", "max", "p50", "p90", "p95", "p99"] as const;
export const SIMPLE_DIMS = ["event", "country", "device", "browser", "os", "hour_of_day", "day_of_week"] as const;
export const FILTER_OPS = ["is", "is_not", "contains", "gt", "lt"] as const;
export const COMPARES = ["previous_period", "previous_year"] as const;
export const MAX_DIMENSIONS = 3;
export const MAX_METRICS = 10;
export const MAX_LIMIT = 10_000;

export type Granularity = (typeof GRANULARITIES)[number];
export type MetricKind = (typeof SIMPLE_METRICS)[number] | (typeof PROP_METRICS)[number];
export type DimKind = (typeof SIMPLE_DIMS)[number] | "prop";
export type FilterOp = (typeof FILTER_OPS)[number];

export interface Metric {
	name: string;
	kind: MetricKind;
	prop: string | null;
}
export interface Dim {
	name: string;
	kind: DimKind;
	prop: string | null;
}
export interface Filter {
	op: FilterOp;
	dim: Dim;
	values: (string | number | null)[];
}

const PROP_NAME = /^[A-Za-z0-9_$][A-Za-z0-9_$.\- ]{0,99}$/;
const METRIC_HELP = `one of ${SIMPLE_METRICS.join(", ")} or <${PROP_METRICS.join("|")}>:<property>`;
const DIM_HELP = `one of ${SIMPLE_DIMS.join(", ")} or prop:<property>`;

export function parseMetric(name: string): Metric | null {
	if ((SIMPLE_METRICS as readonly string[]).includes(name)) return { name, kind: name as MetricKind, prop: null };
	const i = name.indexOf(":");
	if (i < 0) return null;
	const kind = name.slice(0, i);
	const prop = name.slice(i + 1);
	if (!(PROP_METRICS as readonly string[]).includes(kind) || !PROP_NAME.test(prop)) return null;
	return { name, kind: kind as MetricKind, prop };
}

export function parseDim(name: string): Dim | null {
	if ((SIMPLE_DIMS as readonly string[]).includes(name)) return { name, kind: name as DimKind, prop: null };
	if (name.startsWith("prop:") && PROP_NAME.test(name.slice(5))) return { name, kind: "prop", prop: name.slice(5) };
	return null;
}

const metricSchema = z.string().transform((s, ctx) => parseMetric(s) ?? (ctx.addIssue({ code: "custom", message: `unknown metric '${s}': use ${METRIC_HELP}` }), z.NEVER));
const dimSchema = z.string().transform((s, ctx) => parseDim(s) ?? (ctx.addIssue({ code: "custom", message: `unknown dimension '${s}': use ${DIM_HELP}` }), z.NEVER));
const filterValue = z.union([z.string().max(500), z.number(), z.null()]);
const filterSchema = z
	.tuple([z.enum(FILTER_OPS, { error: `must be one of ${FILTER_OPS.join(", ")}` }), dimSchema, z.union([filterValue, z.array(filterValue).min(1).max(100)])])
	.transform(([op, dim, v], ctx): Filter => {
		const values = Array.isArray(v) ? v : [v];
		if (op === "gt" || op === "lt") {
			if (values.length !== 1 || typeof values[0] !== "number") ctx.addIssue({ code: "custom", path: [2], message: `'${op}' takes one number` });
			if (dim.kind !== "prop" && dim.kind !== "hour_of_day" && dim.kind !== "day_of_week")
				ctx.addIssue({ code: "custom", path: [1], message: `'${op}' compares numbers: use it on prop:<property>, hour_of_day or day_of_week, not ${dim.name}` });
		}
		if (op === "contains" && values.some((x) => typeof x !== "string")) ctx.addIssue({ code: "custom", path: [2], message: "'contains' takes strings" });
		return { op, dim, values };
	});

const RANGE_HELP = `must be one of ${PRESETS.join(", ")} or {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"} (dates inclusive, or ISO 8601 date-times)`;
const dateRange = z.union([z.enum(PRESETS), z.object({ from: z.string().min(1).max(40), to: z.string().min(1).max(40) }).strict()], { error: RANGE_HELP });

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
		/** "raw" answers from raw events even when rollups could (exact uniques and percentiles). */
		source: z.enum(["auto", "raw"], { error: "must be auto or raw" }).default("auto"),
		/** A lower time limit than the server's, for clients with their own deadline. */
		timeout_ms: z.number().int().min(1).max(10_000).optional(),
	})
	.strict()
	.superRefine((q, ctx) => {
		const dims = q.dimensions.map((d) => d.name);
		const dup = dims.find((d, i) => dims.indexOf(d) !== i);
		if (dup) ctx.addIssue({ code: "custom", path: ["dimensions"], message: `dimension '${dup}' is listed twice` });
		const metrics = q.metrics.map((m) => m.name);
		const dupM = metrics.find((m, i) => metrics.indexOf(m) !== i);
		if (dupM) ctx.addIssue({ code: "custom", path: ["metrics"], message: `metric '${dupM}' is listed twice` });
		const orderable = [...metrics, ...dims, ...(q.granularity ? ["time"] : [])];
		q.order_by?.forEach(([key], i) => {
			if (!orderable.includes(key)) ctx.addIssue({ code: "custom", path: ["order_by", i, 0], message: `cannot order by '${key}': use one of ${orderable.join(", ")}` });
		});
	});

export type QueryRequest = z.infer<typeof queryRequest>;

/** Parses a query body, or throws a 400 naming the first offending field and the valid options. */
export function parseQuery(body: unknown): QueryRequest {
	const parsed = queryRequest.safeParse(body);
	if (parsed.success) return parsed.data;
	const issues = formatIssues(parsed.error.issues);
	const first = issues[0]!;
	throw new ApiError(400, "invalid_query", `${first.path || "body"}: ${first.message}`, { issues });
}
