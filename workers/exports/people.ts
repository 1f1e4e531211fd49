import { PEOPLE_TENANT_BY_ID_SQL, type PeopleTenant, tenantOrThrow } from "../people/context";
import { peopleAt } from "../people/views";
import { underField } from "../reports/model";
import type { Cell, Column } from "./table";

/**
 * The people behind a chart point as an export source: the body of POST /v1/people, every page of it,
 * read a page of PEOPLE_PAGE people at a time (the endpoint's largest) from its cursor, so a run
 * checkpoints between pages as raw events do. Presets of date_range are resolved at the export's
 * creation (`now`), so every run reads the same range.
 */

export const PEOPLE_COLUMNS: Column[] = [
	{ name: "person", type: "string" },
	{ name: "events", type: "int" },
	{ name: "first_seen", type: "time" },
];
export const PEOPLE_PAGE = 1000;
/** The position after the last page (the endpoint's next_cursor is null there). */
const END = "end";

const tenantOf = async (db: D1Database, tenantId: string): Promise<PeopleTenant> => tenantOrThrow(await db.prepare(PEOPLE_TENANT_BY_ID_SQL).bind(tenantId).first<PeopleTenant>());

/** POST /v1/people's answer for `body` at `now`, its 400s naming `people.<field>`. */
async function page(db: D1Database, tenantId: string, t: PeopleTenant, body: Record<string, unknown>, now: number, extra: { limit: number; cursor?: string }) {
	try {
		return await peopleAt(db, tenantId, t, { ...body, ...extra }, now);
	} catch (err) {
		throw underField(err, "people");
	}
}

/**
 * Checks a people export as POST /v1/people would (its parser, range, archive and cost limits: 400
 * naming `people.<field>`) and counts its people (the list's size, from its first page).
 */
export async function peopleCount(db: D1Database, tenantId: string, body: Record<string, unknown>, now: number): Promise<number> {
	const first = await page(db, tenantId, await tenantOf(db, tenantId), body, now, { limit: 1 });
	return first.remaining;
}

/** Pages of people after `pos` (a POST /v1/people cursor, null to start), as rows of PEOPLE_COLUMNS. */
export async function* peoplePages(db: D1Database, tenantId: string, body: Record<string, unknown>, now: number, pos: string | null): AsyncGenerator<{ rows: Cell[][]; pos: string; next: number }> {
	if (pos === END) return;
	const t = await tenantOf(db, tenantId);
	let cursor = pos;
	for (;;) {
		const p = await page(db, tenantId, t, body, now, { limit: PEOPLE_PAGE, ...(cursor ? { cursor } : {}) });
		cursor = p.next_cursor;
		yield { rows: p.people.map((x) => [x.id, x.events, x.first_seen]), pos: cursor ?? END, next: PEOPLE_PAGE };
		if (!cursor) return;
	}
}
