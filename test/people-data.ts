import { env } from "cloudflare:workers";
import { INSERT_EVENTS_SQL } from "../workers/hub/flush";
import { passesUntilCaughtUp, prng } from "./rollup-data";

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
export const peopleUp = () => passesUntilCaughtUp("people", 100);

export { prng };

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
