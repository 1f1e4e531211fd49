// Deterministic people data for the funnel and retention of `npm run bench:query`: one tenant
// (UTC), about N events by P people over the 12 weeks (84 UTC days) before today.
//
// People arrive over the 12 weeks (a little more every week) and come back in sessions whose gaps
// grow with their disinterest, so weekly cohorts decay like a product's. Everyone browses with an
// anonymous id; a third sign up (the signup event carries the user id and the anonymous id: one
// person), some later on a second device (anonymous first, then an identify with both ids), and
// 2% first used a legacy user id that an alias links to the new one. Signed-up people add to cart
// and buy; a few buy without a cart (out of order for the funnel). Events are produced day by day
// in time order, so the D1 file's rowids follow time and the bulk load appends to every index.
import { rng } from "../../scripts/demo-data.mjs";

/** Bump when the generated rows change: it is part of the cache key. */
export const PEOPLE_DATA_VERSION = 1;

const DAY = 86_400_000;
export const PEOPLE_DAYS = 84;

/** The funnel and the retention the benchmark asks (and DuckDB computes the same). */
export const FUNNEL_STEPS = ["page_view", "signup", "add_to_cart", "purchase"];

/** The 84 UTC days ending the day before `today` (a UTC midnight). */
export function peoplePlan({ events, people, today }) {
	const start = today - PEOPLE_DAYS * DAY;
	const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
	return { events, people, days: PEOPLE_DAYS, start, end: today, from: iso(start), to: iso(today - DAY) };
}

/** Relative traffic of a UTC hour (a day's rhythm), as a cumulative table for picking an hour. */
const HOURS = (() => {
	const w = Array.from({ length: 24 }, (_, h) => 0.15 + Math.exp(-((h - 14) ** 2) / (2 * 3.5 ** 2)) + 0.5 * Math.exp(-((h - 9) ** 2) / 8));
	const total = w.reduce((a, b) => a + b, 0);
	let acc = 0;
	return w.map((x) => (acc += x / total));
})();
const pickHour = (u) => {
	let h = 0;
	while (u > HOURS[h]) h++;
	return Math.min(h, 23);
};

const PATHS = ["/", "/pricing", "/docs", "/app", "/blog/launch", "/signup", "/changelog"];
const COUNTRIES = ["US", "IN", "GB", "DE", "BR", "FR", "CA", "JP", "ES", "IT"];

/**
 * Pass 1: each person's arrival, session days and habits. Sessions are at most one per day, so
 * day-by-day generation meets each person's sessions in order. Returns per-day lists of people.
 */
function planSessions(plan, seed) {
	const r = rng(seed ^ 0x9e3779b9);
	const P = plan.people;
	const byDay = Array.from({ length: plan.days }, () => []);
	let sessions = 0;
	for (let p = 0; p < P; p++) {
		// Arrivals grow over the 12 weeks; interest (mean gap between visits) varies a lot.
		const arrival = Math.floor(plan.days * r() ** 0.85);
		const gap = 1 + Math.exp(1 + 1.6 * (r() + r() + r() - 1.5)) * 2;
		let d = arrival;
		while (d < plan.days) {
			byDay[d].push(p);
			sessions++;
			// Less likely to come back the longer since arrival (churn), and after a long gap.
			if (r() < 0.12 + (d - arrival) / 300) break;
			d += 1 + Math.floor(-Math.log(1 - r()) * gap);
		}
	}
	return { byDay, sessions };
}

/**
 * Calls `onEvent(e)` for every event in time order with one reused object:
 * { seq, ts, type, event, userId, anonymousId, previousId, props (JSON text), country }.
 * Returns the number of events.
 */
export function forEachPeopleEvent(plan, onEvent, seed = 424242) {
	const { byDay, sessions } = planSessions(plan, seed);
	const perSession = plan.events / sessions;
	const P = plan.people;
	// Per person: 0 anonymous, 1 signed up; legacy id users; second device used.
	const signed = new Uint8Array(P);
	const legacy = new Uint8Array(P);
	const device2 = new Uint8Array(P);
	const country = new Uint8Array(P);
	const pr = rng(seed ^ 0x51ed);
	for (let p = 0; p < P; p++) {
		legacy[p] = pr() < 0.02 ? 1 : 0;
		country[p] = Math.min(COUNTRIES.length - 1, Math.floor(COUNTRIES.length * pr() ** 2));
	}
	const anon = (p) => `anon-${p.toString(36)}`;
	const anon2 = (p) => `anon2-${p.toString(36)}`;
	const user = (p) => `user-${p.toString(36)}`;
	const legacyId = (p) => `legacy-${p.toString(36)}`;
	const r = rng(seed);
	const e = { seq: 0, ts: 0, type: "track", event: "", userId: null, anonymousId: null, previousId: null, props: "{}", country: "" };
	let seq = 0;
	for (let d = 0; d < plan.days; d++) {
		const day = [];
		for (const p of byDay[d]) {
			const n = Math.max(1, Math.round(perSession * (0.4 + 1.2 * r())));
			let t = plan.start + d * DAY + pickHour(r()) * 3_600_000 + Math.floor(r() * 3_600_000);
			const step = () => (t += 5_000 + Math.floor(-Math.log(1 - r()) * 45_000));
			const push = (type, event, userId, anonymousId, previousId, props) => day.push([t, type, event, userId, anonymousId, previousId, props, COUNTRIES[country[p]]]);
			// Who the session's events say they are.
			let uid = signed[p] ? user(p) : legacy[p] ? legacyId(p) : null;
			let aid = anon(p);
			if (signed[p] && !device2[p] && r() < 0.08) {
				// A second device: anonymous first, then signing in links it.
				device2[p] = 1;
				aid = anon2(p);
				push("page", "page_view", null, aid, null, `{"path":"/login"}`);
				step();
				push("identify", "identify", user(p), aid, null, "{}");
				step();
			} else if (device2[p] && r() < 0.5) aid = anon2(p);
			let left = n;
			let carted = false;
			while (left-- > 0) {
				const u = r();
				if (!signed[p] && u < 0.06) {
					// Sign up: legacy-id users get an alias from the old id to the new one.
					signed[p] = 1;
					if (legacy[p]) {
						push("alias", "alias", user(p), null, legacyId(p), "{}");
						step();
					}
					uid = user(p);
					push("track", "signup", uid, aid, null, `{"plan":"${r() < 0.7 ? "free" : "pro"}"}`);
				} else if (signed[p] && !carted && u < 0.12) {
					carted = true;
					push("track", "add_to_cart", uid, aid, null, `{"sku":"sku-${Math.floor(r() * 50)}"}`);
				} else if (carted && u < 0.35) {
					carted = false;
					push("track", "purchase", uid, aid, null, `{"amount":${Math.round(20 + r() * 200)}}`);
				} else if (signed[p] && u >= 0.35 && u < 0.36) {
					// Bought without a cart this session: out of order for the funnel.
					push("track", "purchase", uid, aid, null, `{"amount":${Math.round(20 + r() * 200)}}`);
				} else if (u < 0.5) push("track", "search", uid, aid, null, `{"results":${Math.floor(r() * 40)}}`);
				else push("page", "page_view", uid, aid, null, `{"path":"${PATHS[Math.floor(r() * PATHS.length)]}"}`);
				step();
			}
		}
		day.sort((a, b) => a[0] - b[0]);
		for (const x of day) {
			e.seq = ++seq;
			[e.ts, e.type, e.event, e.userId, e.anonymousId, e.previousId, e.props, e.country] = x;
			onEvent(e);
		}
	}
	return seq;
}

export const PEOPLE_INSERT_SQL =
	"INSERT INTO events (tenant_id, message_id, type, event, user_id, anonymous_id, previous_id, timestamp, received_at, properties, country, browser, os, device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'Chrome', 'macOS', 'desktop')";

/** EVENTS_INSERT parameters of one event. */
export const peopleParams = (tenant, e) => [tenant, `p${e.seq.toString(36).padStart(7, "0")}`, e.type, e.event, e.userId, e.anonymousId, e.previousId, e.ts, e.ts + 20, e.props, e.country];

/** DuckDB's copy: the columns its funnel and retention read (seq is the D1 rowid: ingest order). */
export const PEOPLE_CSV_COLUMNS = { seq: "BIGINT", ts_ms: "BIGINT", type: "VARCHAR", event: "VARCHAR", user_id: "VARCHAR", anonymous_id: "VARCHAR", previous_id: "VARCHAR", country: "VARCHAR" };
export const peopleCsv = (e) => `${e.seq},${e.ts},${e.type},${e.event},${e.userId ?? ""},${e.anonymousId ?? ""},${e.previousId ?? ""},${e.country}\n`;
