// Deterministic, fast event data for `npm run bench:query`: one tenant, N events over the 30 UTC
// days before today, with a realistic shape (Zipf-ish user activity, skewed countries, a diurnal
// and weekly rhythm, support-desk and commerce properties). The same seed gives the same rows,
// byte for byte, so the D1 file and DuckDB's copy hold exactly the same events.
//
// Rows are produced in timestamp order with monotonic message ids: the bulk load then appends to
// every index (events_tenant_time, events_tenant_received and the primary key) instead of
// inserting at random places, which keeps a 10M-row load to about a minute.
import { rng } from "../../scripts/demo-data.mjs";

/** Bump when the generated rows change: it is part of the cache key. */
export const DATA_VERSION = 2;

const DAY = 86_400_000;
const HOUR = 3_600_000;

// ── vocabularies ──

/** Cumulative-weight picker over `[value, weight]` pairs, driven by a uniform draw. */
function weighted(pairs) {
	const total = pairs.reduce((a, [, w]) => a + w, 0);
	let acc = 0;
	const cum = pairs.map(([, w]) => (acc += w / total));
	cum[cum.length - 1] = 1;
	const values = pairs.map(([v]) => v);
	return (u) => {
		let i = 0;
		while (u > cum[i]) i++;
		return values[i];
	};
}

/** Event names and their share of traffic (the brief's 60/20/10/5/5, with a few rarer ones). */
export const EVENT_MIX = [
	["page_view", 58],
	["message_sent", 19],
	["conversation_resolved", 9.5],
	["purchase", 4.5],
	["signup", 4.5],
	["add_to_cart", 2],
	["search", 1.5],
	["login", 0.6],
	["invite_sent", 0.2],
	["export_csv", 0.2],
];

/** ~40 countries, Zipf-skewed (s = 1.1). */
export const COUNTRIES = ("US IN GB DE BR FR CA JP ES IT MX AU NL PL ID TR KR SE AR CO " + "PH NG ZA VN EG CH BE AT PT IE DK NO FI CZ RO CL PE IL SG NZ").split(" ");
const COUNTRY_WEIGHTS = COUNTRIES.map((c, i) => [c, 1 / (i + 1) ** 1.1]);

/**
 * Client profiles: the User-Agent sent over HTTP and the browser / os / device the worker's
 * parser (workers/ingest/useragent.ts) derives from it, which direct inserts store as is.
 */
export const PROFILES = [
	{ w: 24, device: "desktop", os: "Windows", browser: "Chrome", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" },
	{ w: 8, device: "desktop", os: "Windows", browser: "Edge", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0" },
	{ w: 4, device: "desktop", os: "Windows", browser: "Firefox", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0" },
	{ w: 8, device: "desktop", os: "macOS", browser: "Safari", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15" },
	{ w: 8, device: "desktop", os: "macOS", browser: "Chrome", ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" },
	{ w: 1.5, device: "desktop", os: "Linux", browser: "Firefox", ua: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" },
	{ w: 1.5, device: "desktop", os: "Linux", browser: "Chrome", ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" },
	{ w: 17, device: "mobile", os: "iOS", browser: "Safari", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1" },
	{ w: 3, device: "mobile", os: "iOS", browser: "Chrome", ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1" },
	{ w: 15, device: "mobile", os: "Android", browser: "Chrome", ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36" },
	{ w: 3, device: "mobile", os: "Android", browser: "Samsung Internet", ua: "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36" },
	{ w: 5, device: "tablet", os: "iOS", browser: "Safari", ua: "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1" },
	{ w: 2, device: "tablet", os: "Android", browser: "Chrome", ua: "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36" },
];

export const CHANNELS = ["email", "chat", "whatsapp", "phone", "sms"];
const pickChannel = weighted([["email", 35], ["chat", 30], ["whatsapp", 18], ["phone", 10], ["sms", 7]]);
const pickPath = weighted([["/", 30], ["/pricing", 12], ["/docs", 10], ["/app", 20], ["/app/inbox", 12], ["/blog/launch", 4], ["/blog/edge-analytics", 3], ["/signup", 4], ["/login", 3], ["/changelog", 2]]);
const pickReferrer = weighted([["direct", 40], ["google", 30], ["newsletter", 8], ["twitter", 6], ["linkedin", 6], ["github", 5], ["bing", 5]]);
const pickPlan = weighted([["free", 55], ["pro", 35], ["team", 10]]);
const pickPaidPlan = weighted([["pro", 75], ["team", 25]]);
const pickMethod = weighted([["password", 45], ["google", 40], ["github", 15]]);
const AGENTS = ["ana", "bo", "chen", "dee", "eli", "fatou", "gus", "hana"];

// ── per-user facts ──

/** Users and their stable facts (country, client, identified or anonymous), from the seed. */
function makeUsers(count, seed) {
	const r = rng(seed ^ 0x5eed);
	const country = weighted(COUNTRY_WEIGHTS);
	const profile = weighted(PROFILES.map((p, i) => [i, p.w]));
	const users = { count, country: new Array(count), profile: new Uint8Array(count), userId: new Array(count), anonId: new Array(count) };
	for (let u = 0; u < count; u++) {
		users.country[u] = country(r());
		users.profile[u] = profile(r());
		// Everyone has a stable anonymous id; ~60% have signed in and carry a user_id too.
		// Uniques are counted on user_id, else anonymous_id: one identity per person either way.
		users.anonId[u] = `anon-${(Math.floor(r() * 2 ** 32) >>> 0).toString(16).padStart(8, "0")}${u.toString(36)}`;
		users.userId[u] = r() < 0.6 ? `user_${u}` : null;
	}
	return users;
}

// ── the time plan ──

/** Relative traffic for an hour of day (UTC) and a weekday (0 = Sunday). */
function hourWeight(hour, weekday) {
	const afternoon = Math.exp(-((hour - 14) ** 2) / (2 * 3.5 ** 2));
	const morning = 0.5 * Math.exp(-((hour - 9) ** 2) / (2 * 2 ** 2));
	const night = 0.12;
	const week = weekday === 0 || weekday === 6 ? 0.65 : weekday === 1 ? 1.05 : 1;
	return (night + afternoon + morning) * week;
}

/**
 * The days and per-hour event counts: `days` UTC days ending the day before `today` (epoch ms of
 * a UTC midnight). Counts add up to exactly `events` (largest remainders). Each day also gets a
 * little noise (±8%) and the product grows ~0.4% a day, so no two days look the same.
 */
export function dataPlan({ events, days = 30, today, seed = 777 }) {
	const r = rng(seed);
	const start = today - days * DAY;
	const hours = days * 24;
	const w = [];
	let dayFactor = 1;
	for (let h = 0; h < hours; h++) {
		const t = start + h * HOUR;
		const d = new Date(t);
		if (h % 24 === 0) dayFactor = (0.92 + 0.16 * r()) * (1 + 0.004 * (h / 24));
		w.push(hourWeight(d.getUTCHours(), d.getUTCDay()) * dayFactor);
	}
	const total = w.reduce((a, b) => a + b, 0);
	const exact = w.map((x) => (x / total) * events);
	const counts = exact.map(Math.floor);
	const left = events - counts.reduce((a, b) => a + b, 0);
	const order = exact.map((x, i) => [x - Math.floor(x), i]).sort((a, b) => b[0] - a[0]);
	for (let k = 0; k < left; k++) counts[order[k][1]]++;
	const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
	return { events, days, start, end: today, from: iso(start), to: iso(today - DAY), hourCounts: counts };
}

// ── one event ──

/** Reused per event: what the row writers serialise. */
function blankEvent() {
	return { i: 0, ts: 0, receivedAt: 0, u: 0, event: "", props: "", channel: null, duration: null, amount: null };
}

function lognormal(r, median, sigma) {
	// Box-Muller; 1 - r() keeps log() away from 0.
	const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
	return median * Math.exp(sigma * z);
}

/** Fills `e` (event name, properties JSON, typed copies of channel / duration_ms / amount). */
function fillEvent(e, r, pickEvent) {
	const name = pickEvent(r());
	e.event = name;
	e.channel = null;
	e.amount = null;
	e.duration = null;
	switch (name) {
		case "page_view":
			e.duration = Math.round(lognormal(r, 320, 0.7));
			e.props = `{"path":"${pickPath(r())}","referrer":"${pickReferrer(r())}","duration_ms":${e.duration}}`;
			break;
		case "message_sent":
			e.channel = pickChannel(r());
			e.duration = Math.round(lognormal(r, 900, 0.9));
			e.props = `{"channel":"${e.channel}","direction":"${r() < 0.55 ? "inbound" : "outbound"}","duration_ms":${e.duration}}`;
			break;
		case "conversation_resolved":
			e.channel = pickChannel(r());
			e.duration = Math.round(lognormal(r, 240_000, 1.1));
			e.props = `{"channel":"${e.channel}","agent":"${AGENTS[Math.floor(r() * AGENTS.length)]}","satisfaction":${1 + Math.floor(r() ** 0.6 * 5)},"duration_ms":${e.duration}}`;
			break;
		case "purchase":
			e.amount = Math.round(lognormal(r, 4900, 0.75));
			e.duration = Math.round(lognormal(r, 1400, 0.6));
			e.props = `{"plan":"${pickPaidPlan(r())}","amount":${e.amount},"currency":"USD","duration_ms":${e.duration}}`;
			break;
		case "signup":
			e.duration = Math.round(lognormal(r, 2200, 0.6));
			e.props = `{"plan":"${pickPlan(r())}","method":"${pickMethod(r())}","duration_ms":${e.duration}}`;
			break;
		case "add_to_cart":
			e.duration = Math.round(lognormal(r, 450, 0.6));
			e.props = `{"sku":"sku-${Math.floor(r() ** 2 * 400)}","quantity":${1 + Math.floor(r() ** 3 * 4)},"duration_ms":${e.duration}}`;
			break;
		case "search":
			e.duration = Math.round(lognormal(r, 180, 0.8));
			e.props = `{"results":${Math.floor(r() ** 2 * 120)},"duration_ms":${e.duration}}`;
			break;
		case "login":
			e.props = `{"method":"${pickMethod(r())}"}`;
			break;
		case "invite_sent":
			e.props = `{"role":"${r() < 0.8 ? "member" : "admin"}"}`;
			break;
		default: // export_csv
			e.duration = Math.round(lognormal(r, 6000, 0.9));
			e.props = `{"rows":${Math.floor(r() * 50_000)},"duration_ms":${e.duration}}`;
	}
}

/** A user index, Zipf-ish: low indexes are the power users (the least active still show up). */
const pickUser = (r, count) => Math.floor(count * r() ** 2.5);

/**
 * Events come in sessions: 80% of events continue one of the sessions started in about the last
 * five minutes (a ring sized to the current traffic), 20% start a new one for a Zipf-picked user.
 * Sessions of ~5 events keep daily uniques realistic (a fraction of the monthly ones).
 */
class Sessions {
	constructor(r, userCount) {
		this.r = r;
		this.userCount = userCount;
		this.ring = new Int32Array(1 << 16).fill(-1);
		this.size = 8;
		this.next = 0;
	}
	/** Traffic of the current hour → how many sessions are open at once (~5 minutes' worth). */
	perHour(n) {
		this.size = Math.min(this.ring.length, Math.max(8, Math.round(n / 60)));
	}
	user() {
		const r = this.r;
		if (r() < 0.8) {
			const u = this.ring[Math.floor(r() * this.size)];
			if (u >= 0) return u;
		}
		const u = pickUser(r, this.userCount);
		this.ring[this.next++ % this.size] = u;
		return u;
	}
}

/** Events in this run's id space are `q<version>-<seq>`: fixed width, so sorted like their seq. */
const messageId = (prefix, i) => `${prefix}${i.toString(36).padStart(7, "0")}`;

/**
 * Calls `onEvent(e, users)` for every event of `plan`, in timestamp order, with one reused object:
 * { i, ts, receivedAt, u, event, props (JSON text), channel, duration, amount }.
 */
export function forEachEvent(plan, { seed = 20261122, users: userCount = 200_000 } = {}, onEvent) {
	const users = makeUsers(userCount, seed);
	const r = rng(seed);
	const pickEvent = weighted(EVENT_MIX);
	const e = blankEvent();
	let i = 0;
	const sessions = new Sessions(r, userCount);
	for (let h = 0; h < plan.hourCounts.length; h++) {
		const n = plan.hourCounts[h];
		const t0 = plan.start + h * HOUR;
		const step = HOUR / n;
		sessions.perHour(n);
		for (let k = 0; k < n; k++) {
			e.i = i++;
			e.ts = t0 + Math.floor((k + r()) * step);
			// A small delivery delay: mostly tens of ms, a tail of seconds (mobile batching).
			e.receivedAt = e.ts + 15 + Math.floor(r() ** 6 * 20_000);
			e.u = sessions.user();
			fillEvent(e, r, pickEvent);
			onEvent(e, users);
		}
	}
	return users;
}

export const EVENTS_INSERT_SQL =
	"INSERT INTO events (tenant_id, message_id, type, event, user_id, anonymous_id, timestamp, received_at, properties, country, browser, os, device) VALUES (?, ?, 'track', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/** Bound parameters of EVENTS_INSERT_SQL for one event (the other columns keep their defaults). */
export function sqliteParams(tenant, prefix, e, users) {
	const p = PROFILES[users.profile[e.u]];
	return [tenant, messageId(prefix, e.i), e.event, users.userId[e.u], users.anonId[e.u], e.ts, e.receivedAt, e.props, users.country[e.u], p.browser, p.os, p.device];
}

/** DuckDB's copy: typed columns, properties flattened to channel / duration_ms / amount. */
export const CSV_COLUMNS = {
	message_id: "VARCHAR",
	event: "VARCHAR",
	user_id: "VARCHAR",
	anonymous_id: "VARCHAR",
	ts_ms: "BIGINT",
	received_ms: "BIGINT",
	country: "VARCHAR",
	browser: "VARCHAR",
	os: "VARCHAR",
	device: "VARCHAR",
	channel: "VARCHAR",
	duration_ms: "DOUBLE",
	amount: "DOUBLE",
};

/** One CSV line (no quoting needed: every value comes from the vocabularies above). */
export function csvLine(prefix, e, users) {
	const p = PROFILES[users.profile[e.u]];
	return `${messageId(prefix, e.i)},${e.event},${users.userId[e.u] ?? ""},${users.anonId[e.u]},${e.ts},${e.receivedAt},${users.country[e.u]},${p.browser},${p.os},${p.device},${e.channel ?? ""},${e.duration ?? ""},${e.amount ?? ""}\n`;
}

/**
 * Fresh traffic for the freshness pass: `count` events timestamped in the `recentMs` before `now`
 * (in order), plus a `lateShare` of late arrivals up to `lateMs` old, shuffled in. Yields native
 * API events as JSON text (what an SDK would send) and the facts a direct insert needs.
 */
export function* freshEvents(count, { now, seed = 7_000_001, runId, users: userCount = 200_000, recentMs = 2 * HOUR, lateShare = 0.005, lateMs = 3 * DAY }) {
	const users = makeUsers(userCount, 20261122); // the same people as the 30 days of history
	const r = rng(seed);
	const pickEvent = weighted(EVENT_MIX);
	const e = blankEvent();
	const prefix = `fresh-${runId}-`;
	const sessions = new Sessions(r, userCount);
	sessions.perHour((count / recentMs) * HOUR);
	for (let i = 0; i < count; i++) {
		const late = r() < lateShare;
		e.i = i;
		e.ts = late ? now - recentMs - Math.floor(r() * (lateMs - recentMs)) : now - recentMs + Math.floor(((i + r()) / count) * recentMs);
		// A late event is a device that was offline: one of anybody's, outside the live sessions.
		e.u = late ? pickUser(r, userCount) : sessions.user();
		fillEvent(e, r, pickEvent);
		const p = PROFILES[users.profile[e.u]];
		const uid = users.userId[e.u];
		const id = messageId(prefix, i);
		yield {
			late,
			json: `{"event":"${e.event}",${uid ? `"user_id":"${uid}",` : ""}"anonymous_id":"${users.anonId[e.u]}","message_id":"${id}","timestamp":${e.ts},"properties":${e.props},"context":{"userAgent":"${p.ua}","location":{"country":"${users.country[e.u]}"}}}`,
			/** EVENTS_INSERT_SQL parameters (for a direct insert) once the tenant and received_at are known. */
			params: [null, id, e.event, uid, users.anonId[e.u], e.ts, null, e.props, users.country[e.u], p.browser, p.os, p.device],
		};
	}
}
