// A month of support-desk traffic for bench:query's board scenario: `npm start`'s demo generator
// (scripts/demo-data.mjs: support conversations on the README's convention, about 40% of the
// events, and product traffic) streamed for any number of events over the 30 days before the hour
// the data is made, in the tenant's zone (UTC). The same plan gives the same rows, so the D1 file
// and DuckDB's copy hold exactly the same events.
import { demoEventStream } from "../../scripts/demo-data.mjs";
import { CSV_COLUMNS, EVENTS_INSERT_SQL } from "./querydata.mjs";
import { toRow } from "./rows.mjs";

/** Bump when the generated rows change: it is part of the cache key. */
export const SUPPORT_DATA_VERSION = 1;
export { EVENTS_INSERT_SQL };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `events` over the 30 days before the whole hour of `now`. */
export function supportPlan({ events, now, users = 200_000, seed = 42 }) {
	const end = Math.floor(now / HOUR) * HOUR;
	const start = end - 30 * DAY;
	return { events, users, seed, start, end, from: new Date(start).toISOString(), to: new Date(end).toISOString() };
}

/** DuckDB's copy: typed columns (the overview data set's, less its own properties), the properties flattened. */
const { anonymous_id, channel, duration_ms, amount, ...BASE_COLUMNS } = CSV_COLUMNS;
export const SUPPORT_COLUMNS = {
	...BASE_COLUMNS,
	conversation_id: "VARCHAR",
	channel: "VARCHAR",
	intent: "VARCHAR",
	sender_type: "VARCHAR",
	agent_id: "VARCHAR",
	response_time_ms: "DOUBLE",
	ai_confidence: "DOUBLE",
	score: "DOUBLE",
	resolution_time_ms: "DOUBLE",
	plan: "VARCHAR",
	amount: "DOUBLE",
	path: "VARCHAR",
	referrer: "VARCHAR",
};
const PROPS = Object.keys(SUPPORT_COLUMNS).slice(Object.keys(BASE_COLUMNS).length);

/**
 * Calls `add(params, csvLine)` for every event of `plan`: the EVENTS_INSERT_SQL parameters of its
 * D1 row (as the ingest path would store it) and its CSV line for DuckDB (no quoting needed: every
 * value comes from the generator's vocabularies).
 */
export function forEachSupportEvent(plan, tenant, add) {
	let i = 0;
	for (const e of demoEventStream(plan.events, { days: 30, now: plan.end, seed: plan.seed, tz: "UTC", users: plan.users })) {
		// Fixed width, so ids sort like their sequence: the bulk load appends to the primary key.
		const id = `s${SUPPORT_DATA_VERSION}-${(i++).toString(36).padStart(7, "0")}`;
		const r = toRow({ ...e, message_id: id, timestamp: e.t }, e.t + 15 + (i % 50));
		const p = e.properties;
		add(
			[tenant, id, r.event, r.user_id, r.anonymous_id, r.timestamp, r.received_at, JSON.stringify(p), r.country, r.browser, r.os, r.device],
			`${id},${r.event},${r.user_id ?? ""},${r.timestamp},${r.received_at},${r.country ?? ""},${r.browser ?? ""},${r.os ?? ""},${r.device ?? ""},${PROPS.map((k) => p[k] ?? "").join(",")}\n`,
		);
	}
	return i;
}
