import { prng, type Row } from "./rollup-data";

/**
 * A support desk's events (the support convention of the README): conversations with their
 * messages from customers, agents and an AI, resolutions, escalations and CSAT scores. Seeded, so
 * tests can compute every answer from the rows themselves.
 */
export const CHANNELS = ["email", "chat", "phone"] as const;
export const INTENTS = ["billing", "bug", "howto", "refund"] as const;
export const AGENTS = ["ana", "bo", "chen"] as const;

export interface Conversation {
	id: string;
	start: number;
	channel: string;
	intent: string;
	/** Messages in time order. */
	messages: { ts: number; sender: "customer" | "agent" | "ai"; responseMs: number | null; agent: string | null; confidence: number | null }[];
	resolvedAt: number | null;
	escalatedAt: number | null;
	score: number | null;
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

/** `n` conversations starting in [from, to); events may run past `to` (replies come later). */
export function supportDesk(seed: number, n: number, from: number, to: number): { conversations: Conversation[]; rows: Row[] } {
	const r = prng(seed);
	const conversations: Conversation[] = [];
	const rows: Row[] = [];
	let k = 0;
	const row = (event: string, ts: number, user: string, properties: Row["properties"]): Row => ({
		message_id: `sd-${seed}-${k++}`,
		event,
		user_id: user,
		anonymous_id: null,
		timestamp: ts,
		country: pick(r, ["US", "FR", "BR"]),
		device: pick(r, ["desktop", "mobile"]),
		browser: "Chrome",
		os: "macOS",
		properties,
	});
	for (let i = 0; i < n; i++) {
		const id = `c${seed}-${i}`;
		const start = from + Math.floor(r() * (to - from));
		const channel = pick(r, CHANNELS);
		const intent = pick(r, INTENTS);
		const user = `cust${Math.floor(r() * (n / 2))}`;
		const c: Conversation = { id, start, channel, intent, messages: [], resolvedAt: null, escalatedAt: null, score: null };
		rows.push(row("conversation_started", start, user, { conversation_id: id, channel, intent }));
		let t = start;
		const count = 1 + Math.floor(r() * 5);
		for (let m = 0; m < count; m++) {
			const sender = m === 0 ? "customer" : pick(r, ["customer", "agent", "agent", "ai"] as const);
			// Response times avoid the 1% next to the test's bin edges (0, 1,000, 5,000, 30,000 ms), so bins from sketches are exact.
			let responseMs: number | null = null;
			if (sender !== "customer") {
				do responseMs = Math.round(200 + r() * r() * 60_000);
				while ([1000, 5000, 30_000].some((e) => Math.abs(responseMs! - e) < e * 0.02));
			}
			t += responseMs ?? Math.floor(r() * 600_000);
			const agent = sender === "agent" ? pick(r, AGENTS) : null;
			const confidence = sender === "ai" ? Math.round(r() * 100) / 100 : null;
			c.messages.push({ ts: t, sender, responseMs, agent, confidence });
			const props: Row["properties"] = { conversation_id: id, channel, sender_type: sender };
			if (responseMs != null) props.response_time_ms = responseMs;
			if (agent) props.agent_id = agent;
			if (confidence != null) props.ai_confidence = confidence;
			rows.push(row("message_sent", t, user, props));
		}
		const fate = r();
		if (fate < 0.15) {
			c.escalatedAt = t + 60_000;
			rows.push(row("conversation_escalated", c.escalatedAt, user, { conversation_id: id, channel }));
		}
		if (fate < 0.8) {
			c.resolvedAt = t + 120_000;
			rows.push(row("conversation_resolved", c.resolvedAt, user, { conversation_id: id, channel }));
			if (r() < 0.6) {
				c.score = 1 + Math.floor(r() * 5);
				rows.push(row("csat_submitted", c.resolvedAt + 1000, user, { conversation_id: id, channel, score: c.score }));
			}
		}
		conversations.push(c);
	}
	return { conversations, rows };
}

/** The support tenant settings these tests (and the preset board) use. */
export const SUPPORT_SETTINGS = {
	dimension_props: ["channel", "intent", "sender_type", "agent_id"],
	metric_props: ["response_time_ms", "ai_confidence", "score"],
	unique_props: ["conversation_id", "agent_id"],
	pairs: [
		{ name: "first_response", key: "conversation_id", start: "conversation_started", end: "message_sent", end_where: { sender_type: "agent" } },
		{ name: "first_reply", key: "conversation_id", start: "conversation_started", end: "message_sent", end_where: { sender_type: ["agent", "ai"] } },
		{ name: "resolution", key: "conversation_id", start: "conversation_started", end: "conversation_resolved" },
	],
};
