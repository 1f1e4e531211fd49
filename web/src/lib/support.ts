// The support page, built on the support event convention (README, "Support events"):
//   conversation_started    channel, intent
//   message_sent            channel; agent_id and response_time_ms on an agent's reply
//   conversation_escalated  channel, agent_id
//   conversation_resolved   channel, agent_id
//   csat_submitted          score (1-5), channel, agent_id
// Its questions, as one batch, and the shapes of the answers. Pure.
import type { AnswerBody, QueryInput } from "../api/types";
import { apiRange, effectiveGranularity } from "./range";
import type { BaseView } from "./url";

export const SUPPORT_EVENTS = ["conversation_started", "message_sent", "conversation_escalated", "conversation_resolved", "csat_submitted"] as const;
export const RESPONSE = "response_time_ms";
export const RT_METRICS = [`avg:${RESPONSE}`, `p50:${RESPONSE}`, `p95:${RESPONSE}`] as const;

/** Every query of the support page, for one POST /v1/query/batch. */
export function supportQueries(v: BaseView): Record<string, QueryInput> {
	const base = { date_range: apiRange(v.range), ...(v.tz ? { timezone: v.tz } : {}) };
	const only = (event: string) => [["is", "event", event]] as [["is", "event", string]];
	return {
		totals: { ...base, metrics: ["count"], dimensions: ["event"], filters: [["is", "event", [...SUPPORT_EVENTS]]] },
		response: { ...base, metrics: [...RT_METRICS], filters: only("message_sent"), compare: "previous_period" },
		response_series: { ...base, metrics: [...RT_METRICS], filters: only("message_sent"), granularity: effectiveGranularity(v.range, null) },
		by_channel: { ...base, metrics: ["count", ...RT_METRICS], dimensions: ["prop:channel"], filters: only("message_sent"), limit: 20 },
		by_agent: {
			...base,
			metrics: ["count", ...RT_METRICS],
			dimensions: ["prop:agent_id"],
			// Customers' messages have no agent: only agents' replies.
			filters: [...only("message_sent"), ["is_not", "prop:agent_id", null]],
			limit: 50,
		},
		by_hour: { ...base, metrics: ["count"], dimensions: ["hour_of_day"], filters: only("message_sent"), order_by: [["hour_of_day", "asc"]] },
		heatmap: { ...base, metrics: ["count"], dimensions: ["day_of_week", "hour_of_day"], filters: only("message_sent"), limit: 168 },
		csat: { ...base, metrics: ["count", "avg:score"], filters: only("csat_submitted"), compare: "previous_period" },
		csat_scores: { ...base, metrics: ["count"], dimensions: ["prop:score"], filters: only("csat_submitted") },
		intents: { ...base, metrics: ["count"], dimensions: ["prop:intent"], filters: only("conversation_started"), limit: 10 },
	};
}

/** Events per support event name (0 for those that did not happen). */
export function supportTotals(answer: AnswerBody): Record<(typeof SUPPORT_EVENTS)[number], number> {
	const out = Object.fromEntries(SUPPORT_EVENTS.map((e) => [e, 0])) as Record<(typeof SUPPORT_EVENTS)[number], number>;
	for (const r of answer.results) {
		const name = r.dimensions[0];
		if (typeof name === "string" && name in out) out[name as (typeof SUPPORT_EVENTS)[number]] = r.metrics[0] ?? 0;
	}
	return out;
}

/** Messages per local hour 0–23, zero-filled. */
export function byHour(answer: AnswerBody): number[] {
	const out = new Array<number>(24).fill(0);
	for (const r of answer.results) {
		const h = r.dimensions[0];
		if (typeof h === "number" && h >= 0 && h < 24) out[h] = r.metrics[0] ?? 0;
	}
	return out;
}

/** Messages per weekday (rows, Monday first) × hour (columns), zero-filled, with the largest cell. */
export function heatmap(answer: AnswerBody): { cells: number[][]; max: number } {
	const cells = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
	let max = 0;
	for (const r of answer.results) {
		const [d, h] = r.dimensions;
		if (typeof d !== "number" || typeof h !== "number" || d < 1 || d > 7 || h < 0 || h > 23) continue;
		const n = r.metrics[0] ?? 0;
		cells[d - 1]![h] = n;
		max = Math.max(max, n);
	}
	return { cells, max };
}

/** CSAT responses per score 1–5 (scores arrive as text from a breakdown: "5"), zero-filled. */
export function csatDistribution(answer: AnswerBody): { score: number; count: number; share: number }[] {
	const counts = [0, 0, 0, 0, 0];
	for (const r of answer.results) {
		const s = Number(r.dimensions[0]);
		if (Number.isInteger(s) && s >= 1 && s <= 5) counts[s - 1] = (counts[s - 1] ?? 0) + (r.metrics[0] ?? 0);
	}
	const total = counts.reduce((a, b) => a + b, 0);
	return counts.map((count, i) => ({ score: i + 1, count, share: total ? count / total : 0 }));
}
