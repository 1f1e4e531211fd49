import type { ChartType } from "../db/schema";
import type { PairDef } from "../query/pairs";

/**
 * Ready-made boards for an event convention. A preset names the rollup settings its reports need
 * (so they are answered from rollups) and the reports themselves, in board order.
 */
export interface Preset {
	name: string;
	description: string;
	settings: { dimension_props: string[]; metric_props: string[]; unique_props: string[]; pairs: PairDef[] };
	reports: { name: string; description: string; chart: ChartType; width: number; query: Record<string, unknown> }[];
}

const count = (name: string, event: string, more: unknown[] = [], hidden = false) => ({ name, metric: "count", filters: [["is", "event", event], ...more], ...(hidden ? { hidden } : {}) });
const RANGE = "30d";

/**
 * The support desk convention (README, "Support events"): conversation_started (conversation_id,
 * channel, intent), message_sent (conversation_id, channel, sender_type customer|agent|ai,
 * response_time_ms on replies, agent_id on an agent's, ai_confidence on the AI's),
 * conversation_resolved, conversation_escalated, csat_submitted (score 1-5).
 */
export const SUPPORT_PRESET: Preset = {
	name: "Support",
	description: "The support desk's classic questions, from the support event convention.",
	settings: {
		dimension_props: ["channel", "intent", "sender_type", "agent_id"],
		metric_props: ["response_time_ms", "ai_confidence", "score"],
		unique_props: ["conversation_id", "agent_id"],
		pairs: [
			{ name: "first_response", key: "conversation_id", start: "conversation_started", end: "message_sent", end_where: { sender_type: ["agent", "ai"] }, use: "first" },
			{ name: "resolution", key: "conversation_id", start: "conversation_started", end: "conversation_resolved", use: "first" },
		],
	},
	reports: [
		{
			name: "Conversations started",
			description: "New conversations, against the period before.",
			chart: "number",
			width: 3,
			query: { metrics: [count("started", "conversation_started")], date_range: RANGE, compare: "previous_period" },
		},
		{
			name: "Resolution and escalation",
			description: "Resolved and escalated conversations, their rates against conversations started, and the conversations still open.",
			chart: "number",
			width: 9,
			query: {
				metrics: [
					count("started", "conversation_started", [], true),
					count("resolved", "conversation_resolved"),
					count("escalated", "conversation_escalated"),
					{ name: "resolution_rate", formula: "resolved / started", percent: true },
					{ name: "escalation_rate", formula: "escalated / started", percent: true },
					"open:resolution",
				],
				date_range: RANGE,
			},
		},
		{
			name: "First response time",
			description: "From a conversation's start to the first reply by an agent or the AI (ms): average, median and 95th percentile, by day of the start.",
			chart: "line",
			width: 12,
			query: { metrics: ["avg:pair:first_response", "p50:pair:first_response", "p95:pair:first_response"], date_range: RANGE, granularity: "day" },
		},
		{
			name: "Messages by hour of day",
			description: "Messages from customers, agents and the AI, by local hour.",
			chart: "bar",
			width: 6,
			query: { metrics: [count("messages", "message_sent")], date_range: RANGE, dimensions: ["hour_of_day"], order_by: [["hour_of_day", "asc"]] },
		},
		{
			name: "Messages by weekday and hour",
			description: "When the desk is busy: messages by ISO weekday (1 is Monday) and local hour.",
			chart: "heatmap",
			width: 6,
			query: { metrics: [count("messages", "message_sent")], date_range: RANGE, dimensions: ["day_of_week", "hour_of_day"], order_by: [["day_of_week", "asc"], ["hour_of_day", "asc"]] },
		},
		{
			name: "By channel",
			description: "Conversations, resolution rate and median first response by channel.",
			chart: "table",
			width: 6,
			query: {
				metrics: [
					count("started", "conversation_started"),
					count("resolved", "conversation_resolved", [], true),
					{ name: "resolution_rate", formula: "resolved / started", percent: true },
					"p50:pair:first_response",
				],
				date_range: RANGE,
				dimensions: ["prop:channel"],
			},
		},
		{
			name: "By agent",
			description: "Replies, response time and satisfaction by agent.",
			chart: "table",
			width: 6,
			// NOTE: rollups hold one dimension at a time, so no sender_type filter here (with agent_id it would
			// be read raw: a month of a busy desk times out). Only an agent's messages carry agent_id.
			query: {
				metrics: [
					count("replies", "message_sent"),
					{ name: "avg_response_ms", metric: "avg:response_time_ms", filters: [["is", "event", "message_sent"]] },
					{ name: "p95_response_ms", metric: "p95:response_time_ms", filters: [["is", "event", "message_sent"]] },
					{ name: "csat", metric: "avg:score", filters: [["is", "event", "csat_submitted"]] },
				],
				date_range: RANGE,
				dimensions: ["prop:agent_id"],
				filters: [["is_not", "prop:agent_id", null]],
			},
		},
		{
			name: "Customer satisfaction",
			description: "Average CSAT score (1-5) and the number of scores, against the period before.",
			chart: "number",
			width: 4,
			query: { metrics: [{ name: "csat", metric: "avg:score", filters: [["is", "event", "csat_submitted"]] }, count("responses", "csat_submitted")], date_range: RANGE, compare: "previous_period" },
		},
		{
			name: "CSAT distribution",
			description: "Scores from 1 to 5.",
			chart: "bar",
			width: 4,
			query: { metrics: ["count"], date_range: RANGE, dimensions: [{ dimension: "bins:score", edges: [1, 2, 3, 4, 5] }], filters: [["is", "event", "csat_submitted"]], order_by: [["bins:score", "asc"]] },
		},
		{
			name: "Top intents",
			description: "What customers write about: conversations started by intent.",
			chart: "bar",
			width: 4,
			query: { metrics: [count("conversations", "conversation_started")], date_range: RANGE, dimensions: ["prop:intent"], limit: 10 },
		},
		{
			name: "AI share of replies",
			description: "Replies written by the AI, as a share of all replies, by day.",
			chart: "line",
			width: 6,
			query: {
				metrics: [
					count("ai", "message_sent", [["is", "prop:sender_type", "ai"]], true),
					count("replies", "message_sent", [["is", "prop:sender_type", ["ai", "agent"]]], true),
					{ name: "ai_share", formula: "ai / replies", percent: true },
				],
				date_range: RANGE,
				granularity: "day",
			},
		},
		{
			name: "AI confidence",
			description: "How sure the AI was of its replies.",
			chart: "bar",
			width: 6,
			query: {
				metrics: ["count"],
				date_range: RANGE,
				dimensions: [{ dimension: "bins:ai_confidence", edges: [0, 0.2, 0.4, 0.6, 0.8, 0.9] }],
				filters: [["is", "event", "message_sent"]],
				order_by: [["bins:ai_confidence", "asc"]],
			},
		},
	],
};

export const PRESETS: Record<string, Preset> = { support: SUPPORT_PRESET };

/**
 * A tenant's rollup lists with a preset's entries first, then the tenant's others, within the lists'
 * limits: what the preset needs is rolled up, and as much of the rest as fits.
 */
export function mergedSettings(tenant: { dimension_props: string[]; metric_props: string[]; unique_props: string[]; pairs: PairDef[] }, preset: Preset, limits: { dimension_props: number; metric_props: number; unique_props: number; pairs: number }) {
	const merge = (mine: string[], theirs: string[], max: number) => [...new Set([...mine, ...theirs])].slice(0, max);
	const pairs = [...preset.settings.pairs, ...tenant.pairs.filter((p) => !preset.settings.pairs.some((q) => q.name === p.name))].slice(0, limits.pairs);
	return {
		dimension_props: merge(preset.settings.dimension_props, tenant.dimension_props, limits.dimension_props),
		metric_props: merge(preset.settings.metric_props, tenant.metric_props, limits.metric_props),
		unique_props: merge(preset.settings.unique_props, tenant.unique_props, limits.unique_props),
		pairs,
	};
}
