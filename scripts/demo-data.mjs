// Deterministic demo events: a small SaaS product (page views, sign-ups, purchases) with a
// support desk that follows the support event convention (README, "Support events"):
//
//   conversation_started    conversation_id, channel, intent
//   message_sent            conversation_id, channel, sender_type (customer, agent or ai); a reply
//                           also has response_time_ms (how long the customer waited), an agent's
//                           agent_id, the AI's ai_confidence (0-1)
//   conversation_escalated  conversation_id, channel, intent, agent_id
//   conversation_resolved   conversation_id, channel, intent, agent_id, resolution_time_ms
//   csat_submitted          conversation_id, channel, agent_id, score (1-5)
//
//   experiment_viewed       experiment, variant (the pricing page test: control or annual_first)
//
// Traffic has a daily and a weekly rhythm in the workspace's time zone: conversations come in
// office hours and on weekdays, and a message that arrives when the desk is closed waits for it
// to open (the long tail of response times). Three days ago a sign-in outage brought a morning of
// escalated account-access chats (an anomaly to find). Used by `npm start`, the browser tests and the
// benchmarks' payloads. The same arguments give the same events.

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

const HOUR = 3_600_000;
const MINUTE = 60_000;

const pick = (r, list) => list[Math.floor(r() * list.length)];
/** Picks from [value, weight] pairs. */
function weighted(r, pairs) {
	let x = r() * pairs.reduce((a, [, w]) => a + w, 0);
	for (const [v, w] of pairs) if ((x -= w) < 0) return v;
	return pairs[pairs.length - 1][0];
}
/** A log-normal draw around `median`. */
function lognormal(r, median, sigma) {
	const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
	return median * Math.exp(sigma * z);
}

const UAS = [
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
	"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
];
const COUNTRIES = ["US", "US", "US", "FR", "FR", "DE", "GB", "GB", "BR", "IN", "ES", "CA", "JP", "NL"];
const PATHS = [["/", 30], ["/pricing", 14], ["/docs", 12], ["/app", 22], ["/app/inbox", 12], ["/blog/launch", 5], ["/signup", 5]];
const REFERRERS = [["direct", 40], ["google", 32], ["newsletter", 10], ["twitter", 8], ["linkedin", 6], ["github", 4]];

export const CHANNELS = [["chat", 36], ["email", 34], ["whatsapp", 20], ["phone", 10]];
export const INTENTS = [["billing", 26], ["how_to", 22], ["bug_report", 17], ["account_access", 14], ["refund", 9], ["feature_request", 7], ["cancellation", 5]];
/** Agents, and how fast each answers (a factor on the channel's typical wait). */
export const AGENTS = [["ana", 0.75], ["bo", 1], ["chen", 1.3], ["dee", 0.9], ["eli", 1.6], ["fatou", 1.1]];
/** The typical wait for an agent's reply, per channel, while the desk is open (ms). */
const CHANNEL_WAIT = { chat: 75_000, phone: 25_000, whatsapp: 6 * MINUTE, email: 2.2 * HOUR };
/** How long a customer takes to answer, per channel (ms). */
const CUSTOMER_WAIT = { chat: 2 * MINUTE, phone: 40_000, whatsapp: 25 * MINUTE, email: 5 * HOUR };

/** The local hour and ISO weekday (1 = Monday) of an instant in a time zone. */
function localClock(tz) {
	const f = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "numeric", hourCycle: "h23", weekday: "short" });
	const days = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
	const cache = new Map();
	return (ms) => {
		const h = Math.floor(ms / HOUR);
		let v = cache.get(h);
		if (!v) {
			const parts = Object.fromEntries(f.formatToParts(new Date(h * HOUR)).map((p) => [p.type, p.value]));
			v = { hour: Number(parts.hour), weekday: days[parts.weekday] };
			cache.set(h, v);
		}
		return v;
	};
}

const bell = (h, mu, sd) => Math.exp(-((h - mu) ** 2) / (2 * sd ** 2));
/** Conversations per hour, relative: two office-hour peaks, quiet nights and weekends. */
const supportRhythm = ({ hour, weekday }) => (0.04 + bell(hour, 10.5, 1.8) + 0.85 * bell(hour, 15, 2)) * [0, 1.2, 1.1, 1, 1, 0.85, 0.35, 0.3][weekday];
/** Product traffic per hour: a working day and an evening, a little lower at weekends. */
const productRhythm = ({ hour, weekday }) => (0.12 + bell(hour, 11, 2.5) + 0.9 * bell(hour, 20.5, 2.2)) * (weekday >= 6 ? 0.75 : 1);
/** Whether the desk is staffed: weekdays 08-19, weekends 10-16 (local). */
const deskOpen = ({ hour, weekday }) => (weekday <= 5 ? hour >= 8 && hour < 19 : hour >= 10 && hour < 16);

/** When the desk is next open at or after `ms`. */
function nextOpen(clock, ms) {
	let t = ms;
	for (let i = 0; i < 24 * 8 && !deskOpen(clock(t)); i++) t = (Math.floor(t / HOUR) + 1) * HOUR;
	return t;
}

/** Samples instants in [from, to) following `rhythm` (per hour), growing by `growth` over the span. */
function sampler(r, clock, from, to, rhythm, growth = 0.15) {
	const hours = Math.ceil((to - from) / HOUR);
	const cum = new Float64Array(hours);
	let acc = 0;
	for (let h = 0; h < hours; h++) {
		acc += rhythm(clock(from + h * HOUR)) * (1 + (growth * h) / hours);
		cum[h] = acc;
	}
	return () => {
		const x = r() * acc;
		let lo = 0;
		let hi = hours - 1;
		while (lo < hi) {
			const mid = (lo + hi) >> 1;
			if (cum[mid] < x) lo = mid + 1;
			else hi = mid;
		}
		return Math.min(to - 1, from + lo * HOUR + Math.floor(r() * HOUR));
	};
}

/** The user's stable facts: user agent and country. */
const context = (u) => ({ userAgent: UAS[u % UAS.length], location: { country: COUNTRIES[(u * 5 + (u >> 3)) % COUNTRIES.length] } });

/** One support conversation: its events, in time order. */
function conversation(r, clock, start, n, users, force = {}) {
	const u = Math.floor(r() ** 1.4 * users);
	const channel = force.channel ?? weighted(r, CHANNELS);
	const intent = force.intent ?? weighted(r, INTENTS);
	const [agent, speed] = pick(r, AGENTS);
	const id = `conv_${n}`;
	const base = { user_id: `user_${u}`, context: context(u) };
	const out = [];
	const add = (t, event, properties) => out.push({ ...base, t, event, properties: { conversation_id: id, channel, ...properties } });
	add(start, "conversation_started", { intent });
	let t = start + Math.floor(r() * 30_000);
	let slowest = 0;
	const rounds = 1 + Math.floor(r() ** 1.6 * 4);
	let escalatedAt = null;
	for (let k = 0; k < rounds; k++) {
		add(t, "message_sent", { sender_type: "customer" });
		// On chat and email the AI answers some first messages at once, day or night; the unsure
		// answers (low confidence) still get an agent's reply after it.
		if (k === 0 && (channel === "chat" || channel === "email") && r() < 0.4) {
			const confidence = Math.round(Math.min(0.99, 0.3 + 0.7 * r() ** 0.45) * 100) / 100;
			const wait = Math.round(1500 + r() * 6000);
			add(t + wait, "message_sent", { sender_type: "ai", ai_confidence: confidence, response_time_ms: wait });
			if (confidence >= 0.7) {
				t += wait;
				if (k < rounds - 1) t += Math.round(lognormal(r, CUSTOMER_WAIT[channel], 0.8));
				continue;
			}
		}
		// The agent's reply comes after the desk opens, then after the agent's own pace on this channel.
		const opens = nextOpen(clock, t);
		const wait = opens - t + lognormal(r, CHANNEL_WAIT[channel] * speed, 0.75);
		t += Math.round(wait);
		slowest = Math.max(slowest, wait);
		add(t, "message_sent", { sender_type: "agent", agent_id: agent, response_time_ms: Math.round(wait) });
		if (k === 0 && escalatedAt == null && r() < (force.escalate ?? (intent === "bug_report" || intent === "refund" ? 0.3 : 0.07))) {
			escalatedAt = t + Math.round(lognormal(r, 4 * MINUTE, 0.6));
			add(escalatedAt, "conversation_escalated", { intent, agent_id: agent });
			t = escalatedAt;
		}
		if (k < rounds - 1) t += Math.round(lognormal(r, CUSTOMER_WAIT[channel], 0.8));
	}
	if (r() < 0.88) {
		const end = t + Math.round(lognormal(r, 3 * MINUTE, 0.7));
		add(end, "conversation_resolved", { intent, agent_id: agent, resolution_time_ms: end - start });
		if (r() < 0.45) {
			// Slow answers and escalations cost satisfaction.
			const mood = (slowest > 8 * HOUR ? 1 : slowest > 2 * HOUR ? 0.45 : 0) + (escalatedAt ? 0.6 : 0) + (speed > 1.4 ? 0.35 : 0);
			const score = Math.max(1, Math.min(5, Math.round(5.5 - mood - r() ** 2.6 * 3.6)));
			add(end + Math.round(lognormal(r, 20 * MINUTE, 1)), "csat_submitted", { agent_id: agent, score });
		}
	}
	return out;
}

/** One product event of user `u` at `t`. */
function productEvent(r, t, users) {
	const u = Math.floor(r() ** 1.7 * users);
	const roll = r();
	const base = { user_id: `user_${u}`, context: context(u), t };
	if (roll < 0.86) return { ...base, event: "page_view", properties: { path: weighted(r, PATHS), referrer: weighted(r, REFERRERS) } };
	if (roll < 0.93) return { ...base, event: "signup", properties: { plan: weighted(r, [["free", 60], ["pro", 30], ["team", 10]]) } };
	return { ...base, event: "purchase", properties: { plan: weighted(r, [["pro", 75], ["team", 25]]), amount: Math.round(lognormal(r, 49, 0.6) * 100) / 100 } };
}

/** Events per conversation, on average (for the support share of `count`). */
const EVENTS_PER_CONVERSATION = 6.4;
/** Events per trial user of the pricing experiment, on average (for its share of `count`). */
const EVENTS_PER_TRIAL = 2.12;

/**
 * The morning of a sign-in outage, three days before `now`: five hours (09:00-14:00 local) of extra
 * chat conversations about account access, half of them escalated. The demo's anomaly to find.
 */
function* incident(clock, now, conversations, users, seed) {
	const r = rng(seed + 2);
	let from = Math.floor((now - 3 * 24 * HOUR) / HOUR) * HOUR;
	for (let i = 0; i < 24 && clock(from).hour !== 9; i++) from -= HOUR;
	const extra = Math.round(conversations * 0.03);
	for (let n = 0; n < extra; n++) {
		const start = from + Math.floor(r() * 5 * HOUR);
		for (const e of conversation(r, clock, start, `outage_${n}`, users, { intent: "account_access", channel: r() < 0.7 ? "chat" : "email", escalate: 0.5 })) if (e.t < now) yield e;
	}
}

/**
 * The pricing page experiment: new trial users (trial_<n>) see the page's control or its
 * "annual_first" variant (experiment_viewed with experiment and variant, half each), over the last 30
 * days; 10% of control and 13.5% of annual_first buy within a few days (purchase). The demo's A/B test.
 */
function* pricingExperiment(clock, now, trials, seed) {
	const r = rng(seed + 1);
	const next = sampler(r, clock, now - 30 * 24 * HOUR, now, productRhythm);
	for (let k = 0; k < trials; k++) {
		const t = next();
		const variant = r() < 0.5 ? "control" : "annual_first";
		const user = { user_id: `trial_${k}`, context: context(k) };
		yield { ...user, t, event: "experiment_viewed", properties: { experiment: "pricing_page", variant, path: "/pricing" } };
		if (r() < (variant === "control" ? 0.1 : 0.135)) {
			const at = t + Math.round(lognormal(r, 20 * HOUR, 1.2));
			const plan = variant === "annual_first" && r() < 0.5 ? "pro_annual" : weighted(r, [["pro", 75], ["team", 25]]);
			if (at < now) yield { ...user, t: at, event: "purchase", properties: { plan, amount: Math.round(lognormal(r, plan === "pro_annual" ? 390 : 49, 0.3) * 100) / 100 } };
		}
	}
}

/**
 * The events of `demoEvents`, unordered and unnumbered, one at a time: every support conversation
 * (whole, cut at `now`) with the outage's, the pricing experiment, then the product traffic, each
 * `{t, event, user_id, properties, context}`. Memory stays small for any `count` (bench:query's board
 * seeds 10M of them this way).
 */
export function* demoEventStream(count, { days = 60, now = Date.now(), seed = 42, tz = "Europe/Paris", users = 600 } = {}) {
	if (count <= 0) return;
	const r = rng(seed);
	const clock = localClock(tz);
	const from = now - days * 24 * HOUR;
	const conversations = Math.round((count * 0.4) / EVENTS_PER_CONVERSATION);
	const nextStart = sampler(r, clock, from, now, supportRhythm);
	const starts = Float64Array.from({ length: conversations }, nextStart).sort();
	let made = 0;
	for (let n = 0; n < starts.length; n++)
		for (const e of conversation(r, clock, starts[n], n, users))
			if (e.t < now && made < count) {
				made++;
				yield e;
			}
	if (days >= 4)
		for (const e of incident(clock, now, conversations, users, seed))
			if (made < count) {
				made++;
				yield e;
			}
	for (const e of pricingExperiment(clock, now, Math.round((count * 0.05) / EVENTS_PER_TRIAL), seed))
		if (made < count) {
			made++;
			yield e;
		}
	const nextProduct = sampler(r, clock, from, now, productRhythm);
	for (let k = made; k < count; k++) yield productEvent(r, nextProduct(), users);
}

/**
 * `count` events over the `days` before `now` (default 60: the default 30-day view has a previous
 * period to compare with), oldest first: about 40% support conversations
 * (whole conversations, cut at `now`) and the rest product traffic. Each event is what the native
 * API takes: `event`, `user_id`, ISO `timestamp`, a unique `message_id`, `properties`, `context`.
 */
export function* demoEvents(count, { days = 60, now = Date.now(), seed = 42, tz = "Europe/Paris", users = 600 } = {}) {
	const all = [...demoEventStream(count, { days, now, seed, tz, users })].sort((a, b) => a.t - b.t);
	let i = 0;
	for (const { t, ...e } of all) yield { event: e.event, user_id: e.user_id, timestamp: new Date(t).toISOString(), message_id: `demo-${seed}-${t}-${i++}`, properties: e.properties, context: e.context };
}
