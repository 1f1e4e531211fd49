import { env } from "cloudflare:workers";
import { INSERT_EVENTS_SQL } from "../workers/hub/flush";
import { ADMIN, call, json } from "./helpers";

/** One raw event as the tests write it (the rest of the row gets defaults). */
export interface Ev {
	message_id: string;
	event: string;
	type?: string;
	user_id?: string | null;
	anonymous_id?: string | null;
	previous_id?: string | null;
	timestamp: number;
	country?: string | null;
	device?: string | null;
	properties?: Record<string, string | number | boolean | null>;
}

/** Writes events straight into D1 (as the hub's flush would), in the order given (their rowid order). */
export async function insertEvents(tenantId: string, events: Ev[]): Promise<void> {
	for (let i = 0; i < events.length; i += 500) {
		const chunk = events.slice(i, i + 500).map((e) => ({
			type: "track",
			user_id: null,
			anonymous_id: null,
			group_id: null,
			previous_id: null,
			sent_at: null,
			received_at: Date.now(),
			traits: null,
			context: null,
			region: null,
			city: null,
			colo: null,
			country: null,
			device: null,
			browser: null,
			os: null,
			is_bot: 0,
			properties: {},
			...e,
		}));
		await env.DB.prepare(INSERT_EVENTS_SQL).bind(tenantId, JSON.stringify(chunk)).run();
	}
}

/** Runs people passes through the admin API until caught up; returns their reports. */
export async function peopleUp(): Promise<any[]> {
	const reports = [];
	for (let i = 0; i < 100; i++) {
		const res = await call("/v1/admin/people/run", { method: "POST", key: ADMIN });
		if (res.status !== 200) throw new Error(`people/run: ${res.status} ${await res.text()}`);
		const rep = await json(res);
		if (rep.errors.length) throw new Error(`people/run errors: ${rep.errors.join("; ")}`);
		reports.push(rep);
		if (rep.caught_up) return reports;
	}
	throw new Error("the people pass did not catch up in 100 passes");
}

/** mulberry32, seeded. */
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

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
