// 32 symbols (no l, o, 0, 1), so `byte % 32` is unbiased; 16 of them are 80 random bits.
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** A new id such as `sch_k3n9…`: schedules, alerts, deliveries (`msg_`, the webhook-id too), webhook secrets. */
export function newId(prefix: "sch" | "alr" | "msg" | "whk"): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return `${prefix}_${[...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("")}`;
}

export const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());
