import { DAY, type Ev, HOUR, MIN } from "./people-data";

/**
 * Hand-built journeys for reports of every kind (tests of reports, boards, exports and schedules):
 * six people over 2-8 Nov 2026 (UTC), one of them anonymous first and identified later.
 */
export const D0 = Date.UTC(2026, 10, 2);
export const KIND_RANGE = { from: "2026-11-02", to: "2026-11-08" };

let n = 0;
const e = (who: { user_id?: string; anonymous_id?: string }, event: string, ts: number, properties: Ev["properties"] = {}, extra: Partial<Ev> = {}): Ev => ({
	message_id: `k${++n}`,
	event,
	timestamp: ts,
	properties,
	...who,
	...extra,
});
const u = (id: string) => ({ user_id: id });

/** The events, in rowid order. */
export function kindEvents(prefix: string): Ev[] {
	n = 0;
	const id = (x: string) => `${prefix}${x}`;
	return [
		e(u(id("u1")), "page_view", D0 + 10 * HOUR, {}, { country: "FR" }),
		e(u(id("u1")), "experiment_viewed", D0 + 10 * HOUR + MIN, { variant: "A" }),
		e(u(id("u1")), "signup", D0 + 10 * HOUR + 5 * MIN),
		e(u(id("u1")), "purchase", D0 + 11 * HOUR, { amount: 30 }),
		e(u(id("u2")), "page_view", D0 + 12 * HOUR, {}, { country: "DE" }),
		e(u(id("u2")), "experiment_viewed", D0 + 12 * HOUR + MIN, { variant: "B" }),
		e(u(id("u2")), "signup", D0 + DAY + 9 * HOUR),
		e(u(id("u3")), "page_view", D0 + DAY + 8 * HOUR, {}, { country: "FR" }),
		e(u(id("u3")), "experiment_viewed", D0 + DAY + 8 * HOUR + MIN, { variant: "A" }),
		// Out of order: a signup, then a page view (strict order: step 1 only).
		e(u(id("u4")), "signup", D0 + 2 * DAY + 8 * HOUR),
		e(u(id("u4")), "page_view", D0 + 2 * DAY + 9 * HOUR, {}, { country: "DE" }),
		e(u(id("u5")), "page_view", D0 + 3 * DAY + 8 * HOUR, {}, { country: "FR" }),
		e(u(id("u5")), "experiment_viewed", D0 + 3 * DAY + 8 * HOUR + MIN, { variant: "B" }),
		e(u(id("u5")), "signup", D0 + 3 * DAY + 9 * HOUR),
		e(u(id("u5")), "purchase", D0 + 4 * DAY + 9 * HOUR, { amount: 50 }),
		e(u(id("u5")), "page_view", D0 + 5 * DAY + 9 * HOUR, {}, { country: "FR" }),
		// An anonymous visitor who signs up: one person (identify links the two ids).
		e({ anonymous_id: id("a6") }, "page_view", D0 + 2 * DAY + 10 * HOUR, {}, { country: "FR" }),
		e({ user_id: id("u6"), anonymous_id: id("a6") }, "signup", D0 + 2 * DAY + 10 * HOUR + 30 * MIN, {}, { type: "identify" }),
		e(u(id("u6")), "page_view", D0 + 3 * DAY + 10 * HOUR, {}, { country: "FR" }),
	];
}

/** The funnel page_view → signup → purchase in strict order, computed by hand from the journeys above. */
export const FUNNEL_BODY = { steps: [{ event: "page_view" }, { event: "signup" }, { event: "purchase" }], date_range: KIND_RANGE, window: "7d" };
/** entered per step: page_view u1 u2 u3 u4 u5 u6; then signup u1 u2 u5 u6 (u4's signup came first); then purchase u1 u5. */
export const FUNNEL_ENTERED = [6, 4, 2];
/** Per day cohort (first seen) of 2-8 Nov: people, and those active 0, 1, 2, 3 days later, by hand from the journeys. */
export const RETENTION_COHORTS = [
	{ people: 2, retained: [2, 1, 0, 0] }, // u1, u2
	{ people: 1, retained: [1, 0, 0, 0] }, // u3
	{ people: 2, retained: [2, 1, 0, 0] }, // u4, u6 (as a6)
	{ people: 1, retained: [1, 1, 1, 0] }, // u5
	{ people: 0, retained: [0, 0, 0, 0] },
	{ people: 0, retained: [0, 0, 0, 0] },
	{ people: 0, retained: [0, 0, 0, 0] },
];

export const RETENTION_BODY = { period: "day", date_range: KIND_RANGE, periods: 3 };
export const LIFECYCLE_BODY = { form: "lifecycle", period: "day", date_range: KIND_RANGE };
export const EXPERIMENT_BODY = { exposure: { event: "experiment_viewed", variant: "prop:variant" }, goal: { event: "purchase" }, date_range: KIND_RANGE, control: "A" };
export const INSIGHTS_BODY = { metrics: ["count"], date_range: KIND_RANGE, granularity: "day", movers: { dimensions: ["country"], limit: 3 } };
