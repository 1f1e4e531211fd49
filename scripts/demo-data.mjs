// Deterministic demo events: a product (page views, sign-ups, purchases) with a support desk
// (conversations, messages, resolution times, satisfaction). Used by `npm start` and benchmarks.

/** Mulberry32: small, fast, seedable. */
export function rng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const pick = (r, list) => list[Math.floor(r() * list.length)];
const UAS = [
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];
const COUNTRIES = ["US", "US", "US", "FR", "DE", "GB", "BR", "IN", "JP", "CA"];
const PATHS = ["/", "/pricing", "/docs", "/blog/launch", "/signup", "/app"];
const CHANNELS = ["email", "chat", "whatsapp"];
const AGENTS = ["ana", "bo", "chen", "dee"];

/** One event for user `u` at time `ts`, as the native API takes it. */
export function demoEvent(r, ts, i, users = 500) {
	const u = Math.floor(r() * users);
	const roll = r();
	const base = {
		user_id: `user_${u}`,
		timestamp: new Date(ts).toISOString(),
		message_id: `demo-${ts}-${i}`,
		context: { userAgent: UAS[u % UAS.length], location: { country: COUNTRIES[u % COUNTRIES.length] } },
	};
	if (roll < 0.55) return { ...base, event: "page_view", properties: { path: pick(r, PATHS), referrer: pick(r, ["google", "direct", "twitter", "newsletter"]) } };
	if (roll < 0.6) return { ...base, event: "signup", properties: { plan: pick(r, ["free", "pro", "team"]) } };
	if (roll < 0.65) return { ...base, event: "purchase", properties: { plan: pick(r, ["pro", "team"]), amount: Math.round((19 + r() * 180) * 100) / 100 } };
	if (roll < 0.85) return { ...base, event: "message_sent", properties: { channel: pick(r, CHANNELS), agent: pick(r, AGENTS), direction: pick(r, ["inbound", "outbound"]) } };
	return {
		...base,
		event: "conversation_resolved",
		properties: { channel: pick(r, CHANNELS), agent: pick(r, AGENTS), response_time_s: Math.round(30 + r() * r() * 7200), satisfaction: 1 + Math.floor(r() * 5) },
	};
}

/** `count` events spread over the `days` before `now`, oldest first. */
export function* demoEvents(count, { days = 30, now = Date.now(), seed = 42 } = {}) {
	const r = rng(seed);
	const span = days * 86400_000;
	for (let i = 0; i < count; i++) yield demoEvent(r, now - span + Math.floor((i / count) * span), i);
}
