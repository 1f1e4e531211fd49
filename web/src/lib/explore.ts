// The query builder: its URL state → a POST /v1/query body, the curl command to copy, and how
// the answer is drawn. Pure.
import type { AnswerBody, QueryInput } from "../api/types";
import { formatDimValue } from "./format";
import { apiRange } from "./range";
import type { ExploreView } from "./url";

/** The request body, exactly as the page sends it (and as the JSON and curl panes show it). */
export function exploreQuery(v: ExploreView): QueryInput {
	return {
		metrics: v.metrics,
		date_range: apiRange(v.range),
		...(v.tz ? { timezone: v.tz } : {}),
		...(v.g ? { granularity: v.g } : {}),
		...(v.dimensions.length ? { dimensions: v.dimensions } : {}),
		...(v.filters.length ? { filters: v.filters } : {}),
		...(v.compare ? { compare: v.compare } : {}),
		...(v.order ? { order_by: [v.order] } : {}),
		...(v.limit != null ? { limit: v.limit } : {}),
		...(v.source === "raw" ? { source: "raw" as const } : {}),
	};
}

/** Single-quotes a string for a POSIX shell. */
const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The same request as a curl command; the key comes from $EDGEWISE_KEY, never pasted in. */
export function curlCommand(origin: string, body: QueryInput): string {
	return [
		`curl -X POST ${origin}/v1/query`,
		`  -H "Authorization: Bearer $EDGEWISE_KEY"`,
		`  -H 'Content-Type: application/json'`,
		`  -d ${shellQuote(JSON.stringify(body))}`,
	].join(" \\\n");
}

/** Everything a table needs: a header, and rows of text or numbers. */
export interface Table {
	head: string[];
	rows: (string | number | null)[][];
	/** Which columns are metrics (numbers, right-aligned). */
	numeric: boolean[];
}

/** The answer as a table: time, dimensions, metrics, and the previous values when compared. */
export function answerTable(answer: AnswerBody): Table {
	const { metrics, dimensions, granularity } = answer.meta;
	const compared = answer.results.some((r) => r.comparison);
	const head = [...(granularity ? ["time"] : []), ...dimensions, ...metrics, ...(compared ? metrics.map((m) => `${m} (previous)`) : [])];
	const rows = answer.results.map((r) => [
		...(granularity ? [r.time ?? ""] : []),
		...r.dimensions.map((d, i) => formatDimValue(dimensions[i] ?? "", d)),
		...r.metrics,
		...(compared ? (r.comparison?.metrics ?? metrics.map(() => null)) : []),
	]);
	const numeric = head.map((_, i) => i >= (granularity ? 1 : 0) + dimensions.length);
	return { head, rows, numeric };
}

/** Line and bar charts of a series split by dimensions: one series per combination of values. */
export function splitSeries(answer: AnswerBody, metricIdx: number): { xs: number[]; series: { label: string; ys: (number | null)[] }[] } {
	const times = [...new Set(answer.results.map((r) => r.time ?? ""))];
	const index = new Map(times.map((t, i) => [t, i]));
	const groups = new Map<string, { label: string; ys: (number | null)[] }>();
	for (const r of answer.results) {
		const key = JSON.stringify(r.dimensions);
		let g = groups.get(key);
		if (!g) {
			const label = r.dimensions.length ? r.dimensions.map((d, i) => formatDimValue(answer.meta.dimensions[i] ?? "", d)).join(" · ") : (answer.meta.metrics[metricIdx] ?? "");
			groups.set(key, (g = { label, ys: times.map(() => null) }));
		}
		g.ys[index.get(r.time ?? "")!] = r.metrics[metricIdx] ?? null;
	}
	return { xs: times.map((t) => Date.parse(t) / 1000), series: [...groups.values()] };
}

/** Bars of a breakdown (no granularity): one bar per row, labelled with its dimension values. */
export function categories(answer: AnswerBody, metricIdx: number): { labels: string[]; ys: (number | null)[] } {
	return {
		labels: answer.results.map((r) => (r.dimensions.length ? r.dimensions.map((d, i) => formatDimValue(answer.meta.dimensions[i] ?? "", d)).join(" · ") : "total")),
		ys: answer.results.map((r) => r.metrics[metricIdx] ?? null),
	};
}

/** How an answer can be drawn: a time chart needs a granularity, a number needs one row. */
export function drawable(answer: AnswerBody): { line: boolean; bar: boolean; number: boolean } {
	const timed = answer.meta.granularity != null;
	return { line: timed, bar: true, number: answer.results.length >= 1 };
}
