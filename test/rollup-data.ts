import { env } from "cloudflare:workers";
import { INSERT_EVENTS_SQL } from "../workers/hub/flush";
import { ADMIN, call, json } from "./helpers";

/** One raw event row as the hub flushes it to D1. */
export interface Row {
	message_id: string;
	event: string;
	user_id: string | null;
	anonymous_id: string | null;
	timestamp: number;
	country: string | null;
	device: string | null;
	browser: string | null;
	os: string | null;
	properties: Record<string, string | number | boolean | null>;
}

/** mulberry32: small, seeded, good enough to make test data reproducible. */
export function prng(seed: number) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

const pick = <T>(r: () => number, items: [T, number][]): T => {
	let x = r();
	for (const [v, w] of items) {
		if ((x -= w) < 0) return v;
	}
	return items[items.length - 1]![0];
};

/** A dataset of `n` events spread over [from, to), with users, dimensions and numeric properties. */
export function dataset(seed: number, n: number, from: number, to: number, prefix = "m"): Row[] {
	const r = prng(seed);
	const rows: Row[] = [];
	for (let i = 0; i < n; i++) {
		const event = pick(r, [["page_view", 0.6], ["message_sent", 0.25], ["purchase", 0.15]]);
		const u = Math.floor(r() ** 2 * 1500);
		const anon = r() < 0.2;
		const props: Row["properties"] = {};
		if (r() < 0.9) props.duration = Math.round(Math.exp(5 + 1.2 * (r() + r() + r() - 1.5)) * 10) / 10;
		if (event === "message_sent") props.channel = pick(r, [["email", 0.5], ["chat", 0.3], ["phone", 0.2]]);
		if (event === "purchase") props.amount = Math.floor(r() * 20_000) + 100;
		rows.push({
			message_id: `${prefix}-${seed}-${i}`,
			event,
			user_id: anon ? null : `u${u}`,
			anonymous_id: anon ? `a${u}` : null,
			timestamp: from + Math.floor(r() * (to - from)),
			country: pick(r, [["US", 0.4], ["FR", 0.2], ["DE", 0.15], ["BR", 0.1], [null, 0.15]]),
			device: pick(r, [["desktop", 0.6], ["mobile", 0.35], ["tablet", 0.05]]),
			browser: pick(r, [["Chrome", 0.6], ["Firefox", 0.2], ["Safari", 0.2]]),
			os: pick(r, [["Windows", 0.4], ["macOS", 0.3], ["Android", 0.2], ["iOS", 0.1]]),
			properties: props,
		});
	}
	return rows;
}

/** Inserts rows into D1 exactly as the hub's flush does (rollups read them from there). */
export async function insertRows(tenantId: string, rows: Row[]): Promise<void> {
	for (let i = 0; i < rows.length; i += 500) {
		const chunk = rows.slice(i, i + 500).map((e) => ({
			...e,
			type: "track",
			group_id: null,
			previous_id: null,
			sent_at: null,
			received_at: Date.now(),
			traits: null,
			context: null,
			region: null,
			city: null,
			colo: null,
			is_bot: 0,
		}));
		await env.DB.prepare(INSERT_EVENTS_SQL).bind(tenantId, JSON.stringify(chunk)).run();
	}
}

/** Runs a cron pass through its admin endpoint (`/v1/admin/<what>/run`) until caught up, at most `max` times; returns the reports. */
export async function passesUntilCaughtUp(what: "rollups" | "people", max: number): Promise<any[]> {
	const reports = [];
	for (let i = 0; i < max; i++) {
		const res = await call(`/v1/admin/${what}/run`, { method: "POST", key: ADMIN });
		if (res.status !== 200) throw new Error(`${what}/run: ${res.status} ${await res.text()}`);
		const rep = await json(res);
		if (rep.errors.length) throw new Error(`${what}/run errors: ${rep.errors.join("; ")}`);
		reports.push(rep);
		if (rep.caught_up) return reports;
	}
	throw new Error(`the ${what} pass did not catch up in ${max} passes`);
}

/** Runs rollup passes through the admin API until everything is rolled up. */
export const rollUp = () => passesUntilCaughtUp("rollups", 50);

/** POST /v1/query with a read key; returns status and parsed body. */
export async function query(key: string, body: unknown): Promise<{ status: number; body: any }> {
	const res = await call("/v1/query", { method: "POST", key, json: body });
	return { status: res.status, body: await res.json() };
}

/** Local calendar date (YYYY-MM-DD) of an instant, straight from Intl (independent of the app). */
const formats = new Map<string, Intl.DateTimeFormat>();
export function localDate(tz: string, t: number): string {
	let f = formats.get(tz);
	if (!f) formats.set(tz, (f = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })));
	return f.format(new Date(t));
}

/** Exact statistics of a list of numbers, with the sketch's rank definition for quantiles. */
export function exact(values: number[]) {
	const v = [...values].sort((a, b) => a - b);
	const q = (p: number) => (v.length ? v[Math.floor(p * (v.length - 1))]! : null);
	return { count: v.length, sum: v.reduce((a, b) => a + b, 0), min: v[0] ?? null, max: v[v.length - 1] ?? null, q };
}

export const userOf = (r: Row) => r.user_id ?? r.anonymous_id;
