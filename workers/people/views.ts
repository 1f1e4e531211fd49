import { z } from "zod";
import { ApiError } from "../errors";
import { MAX_RAW_ROWS } from "../query/plan";
import { GRANULARITIES } from "../query/spec";
import { nextStart, parseRangeBound, startOf, type Unit } from "../query/time";
import { WEEK_MS } from "./build";
import { deadlineOf, freshness, type PeopleTenant } from "./context";
import { dateRange, dimSql, dimString, filterSchema, filtersSql, Params, parseWith, zoneAndRange } from "./spec";

const DAY_MS = 86_400_000;
/** Weeks of one person's events read per D1 round trip. */
const WEEKS_PER_READ = 8;

/** A cursor as the API shows it: opaque, URL-safe. */
const encode = (v: unknown) => btoa(JSON.stringify(v)).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
function decode<T>(s: string, field: string, check: (v: unknown) => v is T): T {
	try {
		const v: unknown = JSON.parse(atob(s.replaceAll("-", "+").replaceAll("_", "/")));
		if (check(v)) return v;
	} catch {}
	throw new ApiError(400, "invalid_cursor", `${field}: not a cursor this endpoint returned; start again without it`, { field });
}
const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x));

export const eventsQuery = z
	.object({
		order: z.enum(["desc", "asc"], { error: "must be desc (newest first) or asc" }).default("desc"),
		limit: z.coerce.number().int().min(1).max(500).default(50),
		cursor: z.string().max(200).optional(),
	})
	.strict();

interface PersonRow {
	pid: number;
	person: string;
	first_seen: number;
}

/** The person an identifier belongs to in this tenant (any of their ids), or null. */
async function personOf(db: D1Database, tenantId: string, id: string): Promise<PersonRow | null> {
	return db
		.prepare("SELECT p.pid, p.person, p.first_seen FROM people_ids i JOIN people p ON p.pid = i.pid WHERE i.tenant_id = ?1 AND i.id = ?2 AND p.tenant_id = ?1")
		.bind(tenantId, id)
		.first<PersonRow>();
}

interface EventOut {
	id: string | null;
	type: string | null;
	event: string;
	timestamp: string;
	received_at: string | null;
	user_id: string | null;
	anonymous_id: string | null;
	properties: Record<string, unknown> | null;
	country: string | null;
	region: string | null;
	city: string | null;
	device: string | null;
	browser: string | null;
	os: string | null;
	/** The raw event went to the R2 archive: only its name and time are kept here. */
	archived?: true;
}

const EVENT_COLS = "rowid AS ref, message_id, type, event, user_id, anonymous_id, timestamp, received_at, properties, country, region, city, device, browser, os";
type RawEvent = { ref: number; message_id: string; type: string; event: string; user_id: string | null; anonymous_id: string | null; timestamp: number; received_at: number; properties: string; country: string | null; region: string | null; city: string | null; device: string | null; browser: string | null; os: string | null };

const out = (e: RawEvent): EventOut => ({
	id: e.message_id,
	type: e.type,
	event: e.event,
	timestamp: new Date(e.timestamp).toISOString(),
	received_at: new Date(e.received_at).toISOString(),
	user_id: e.user_id,
	anonymous_id: e.anonymous_id,
	properties: (() => {
		try {
			return JSON.parse(e.properties) as Record<string, unknown>;
		} catch {
			return null;
		}
	})(),
	country: e.country,
	region: e.region,
	city: e.city,
	device: e.device,
	browser: e.browser,
	os: e.os,
});

/**
 * GET /v1/people/{id}/events: one person's events in time order (their merged identities
 * included), from the per-person event index, with the events stored since the last people pass.
 */
export async function personEvents(db: D1Database, tenantId: string, t: PeopleTenant, id: string, params: Record<string, string>, now = Date.now()) {
	const started = Date.now();
	const q = parseWith(eventsQuery, params, "invalid_request");
	const deadline = deadlineOf();
	const p = await personOf(db, tenantId, id);
	const watermark = t.watermark ?? 0;
	const { results: idRows } = p
		? await db.prepare("SELECT id FROM people_ids WHERE pid = ?1 AND tenant_id = ?2 ORDER BY id LIMIT 1000").bind(p.pid, tenantId).all<{ id: string }>()
		: { results: [{ id }] };
	const ids = idRows.map((r) => r.id);
	const desc = q.order === "desc";
	const cursor = q.cursor ? decode(q.cursor, "cursor", isPair) : null;
	const beyond = (ts: number, ref: number) => !cursor || (desc ? ts < cursor[0] || (ts === cursor[0] && ref < cursor[1]) : ts > cursor[0] || (ts === cursor[0] && ref > cursor[1]));
	// Events stored since the last pass, of this person's identifiers (as their events will be attributed).
	const { results: fresh } = await db
		.prepare(`SELECT ${EVENT_COLS} FROM events WHERE rowid > ?1 AND +tenant_id = ?2 AND coalesce(user_id, anonymous_id) IN (SELECT value FROM json_each(?3))`)
		.bind(watermark, tenantId, JSON.stringify(ids))
		.all<RawEvent>();
	deadline.check();
	if (!p && !fresh.length) throw new ApiError(404, "not_found", `No person '${id}' in this tenant.`, { id });
	const found: { ts: number; ref: number; raw: RawEvent | null; code?: number }[] = fresh.filter((e) => beyond(e.timestamp, e.ref)).map((e) => ({ ts: e.timestamp, ref: e.ref, raw: e }));
	if (p) {
		// Weeks from the cursor (or the newest possible) towards the first event, or the other way.
		const lo = Math.floor(p.first_seen / WEEK_MS);
		const hi = Math.floor((now + 2 * DAY_MS) / WEEK_MS);
		const weeks: number[] = [];
		if (desc) for (let w = Math.min(hi, cursor ? Math.floor(cursor[0] / WEEK_MS) : hi); w >= lo; w--) weeks.push(w);
		else for (let w = Math.max(lo, cursor ? Math.floor(cursor[0] / WEEK_MS) : lo); w <= hi; w++) weeks.push(w);
		const cmp = desc ? "<" : ">";
		const dir = desc ? "DESC" : "ASC";
		let indexed = 0;
		// One more than the page, to know whether there is a next one.
		for (let i = 0; i < weeks.length && indexed <= q.limit; i += WEEKS_PER_READ) {
			const stmts = weeks.slice(i, i + WEEKS_PER_READ).map((w) =>
				db
					.prepare(
						`SELECT ts, ref, code FROM people_events WHERE tenant_id = ?1 AND wk = ?2 AND pid = ?3 AND (ts, ref) ${cmp} (?4, ?5) ORDER BY ts ${dir}, ref ${dir} LIMIT ${q.limit + 1}`,
					)
					.bind(tenantId, w, p.pid, cursor ? cursor[0] : desc ? Number.MAX_SAFE_INTEGER : -1, cursor ? cursor[1] : 0),
			);
			for (const res of await db.batch<{ ts: number; ref: number; code: number }>(stmts)) {
				for (const r of res.results) found.push({ ts: r.ts, ref: r.ref, raw: null, code: r.code });
				indexed += res.results.length;
			}
			deadline.check();
		}
	}
	// Indexed and fresh events in one order; a fresh event may also be indexed by now (a pass ran in between).
	const seen = new Set<number>();
	const page = found
		.sort((a, b) => (desc ? b.ts - a.ts || b.ref - a.ref : a.ts - b.ts || a.ref - b.ref))
		.filter((e) => (seen.has(e.ref) ? false : (seen.add(e.ref), true)))
		.slice(0, q.limit + 1);
	const more = page.length > q.limit;
	const shown = page.slice(0, q.limit);
	const missing = shown.filter((e) => !e.raw).map((e) => e.ref);
	const raws = new Map<number, RawEvent>();
	if (missing.length) {
		const { results } = await db
			.prepare(`SELECT ${EVENT_COLS} FROM events WHERE rowid IN (SELECT value FROM json_each(?1)) AND tenant_id = ?2`)
			.bind(JSON.stringify(missing), tenantId)
			.all<RawEvent>();
		for (const r of results) raws.set(r.ref, r);
	}
	const names = new Map<number, string>();
	const archived = shown.filter((e) => !e.raw && !raws.has(e.ref));
	if (archived.length) {
		const { results } = await db
			.prepare("SELECT code, name FROM people_names WHERE tenant_id = ?1 AND code IN (SELECT value FROM json_each(?2))")
			.bind(tenantId, JSON.stringify([...new Set(archived.map((e) => e.code))]))
			.all<{ code: number; name: string }>();
		for (const r of results) names.set(r.code, r.name);
	}
	const last = shown.at(-1);
	return {
		person: p ? { id: p.person, identifiers: ids, first_seen: new Date(p.first_seen).toISOString() } : { id, identifiers: ids, first_seen: null },
		events: shown.map((e) => {
			const raw = e.raw ?? raws.get(e.ref);
			if (raw) return out(raw);
			return { event: names.get(e.code!) ?? "", timestamp: new Date(e.ts).toISOString(), archived: true as const };
		}),
		next_cursor: more && last ? encode([last.ts, last.ref]) : null,
		meta: { order: q.order, ...(await freshness(db, tenantId, t)), took_ms: Date.now() - started },
	};
}

export const peopleRequest = z
	.object({
		date_range: dateRange,
		timezone: z.string().max(64).optional(),
		filters: z.array(filterSchema).max(20).default([]),
		granularity: z.enum(GRANULARITIES, { error: `must be one of ${GRANULARITIES.join(", ")}` }).nullish(),
		dimensions: z.array(dimString).max(3).default([]),
		/** The point: a query row's `time` (with a granularity) and `dimensions` values. */
		row: z
			.object({
				time: z.string().max(40).optional(),
				dimensions: z.array(z.union([z.string().max(500), z.number(), z.null()])).max(3).default([]),
			})
			.strict()
			.default({ dimensions: [] }),
		limit: z.number().int().min(1).max(1000).default(100),
		cursor: z.string().max(500).optional(),
		timeout_ms: z.number().int().min(1).max(10_000).optional(),
	})
	.strict()
	.superRefine((q, ctx) => {
		if (q.row.dimensions.length !== q.dimensions.length)
			ctx.addIssue({ code: "custom", path: ["row", "dimensions"], message: `give one value per dimension (${q.dimensions.length}: ${q.dimensions.map((d) => d.name).join(", ") || "none"})` });
		if (q.granularity && q.row.time == null) ctx.addIssue({ code: "custom", path: ["row", "time"], message: "with a granularity, give the point's time (a query row's time)" });
		if (!q.granularity && q.row.time != null) ctx.addIssue({ code: "custom", path: ["granularity"], message: "row.time needs the query's granularity" });
	});

const isCursor = (v: unknown): v is [number, string] => Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === "string";

/**
 * POST /v1/people: the people behind a query's point (the same range, zone, filters, granularity
 * and dimensions as POST /v1/query, and the row's time and values), most events first, exact
 * from the raw events (merged identities as the people pass knows them).
 */
export async function peopleAt(db: D1Database, tenantId: string, t: PeopleTenant, body: unknown, now = Date.now()) {
	const started = Date.now();
	const q = parseWith(peopleRequest, body, "invalid_people");
	const { tz, range } = zoneAndRange(q, t.timezone, now, "invalid_people");
	const deadline = deadlineOf(q.timeout_ms);
	let { from, to } = range;
	if (q.granularity) {
		const at = parseRangeBound(q.row.time!, tz, "from");
		const g = q.granularity as Unit;
		if (at == null || startOf(g, at, tz) !== at)
			throw new ApiError(400, "invalid_people", `row.time: '${q.row.time}' is not the start of a ${g} in ${tz}: use a row's time from POST /v1/query`, { field: "row.time" });
		from = Math.max(from, at);
		to = Math.min(to, nextStart(g, at, tz));
		if (from >= to) throw new ApiError(400, "invalid_people", "row.time: the point lies outside date_range", { field: "row.time" });
	}
	if (t.archived_before && from < t.archived_before)
		throw new ApiError(400, "needs_raw_events", `date_range: the people behind a point are read from raw events, and events before ${new Date(t.archived_before).toISOString()} are archived to R2`, {
			field: "date_range",
			archived_before: new Date(t.archived_before).toISOString(),
		});
	const p = new Params(4);
	const time = { tz, from, to };
	const conds = [filtersSql(q.filters, p, time)];
	q.dimensions.forEach((d, i) => {
		const v = q.row.dimensions[i];
		const expr = d.kind === "event" ? "e.event" : dimSql(d, p, time);
		conds.push(v == null ? `${expr} IS NULL` : d.kind === "hour_of_day" || d.kind === "day_of_week" ? `${expr} = ${p.add(Number(v))}` : `${expr} = ${p.add(String(v))}`);
	});
	const where = `e.tenant_id = ?1 AND e.timestamp >= ?2 AND e.timestamp < ?3 AND ${conds.join(" AND ")}`;
	const counted = await db.prepare(`SELECT count(*) AS n FROM events e WHERE ${where}`).bind(tenantId, from, to, ...p.values).first<{ n: number }>();
	deadline.check();
	if ((counted?.n ?? 0) > MAX_RAW_ROWS)
		throw new ApiError(400, "query_too_expensive", `This point holds ${counted!.n} events (limit ${MAX_RAW_ROWS}); narrow date_range, use a finer granularity or add filters`, {
			field: "date_range",
			raw_rows: counted!.n,
			limit: MAX_RAW_ROWS,
		});
	const cursor = q.cursor ? decode(q.cursor, "cursor", isCursor) : null;
	const c = new Params(4 + p.values.length);
	// Identifiers the pass has not seen yet count as people of their own (they join their person at the next pass).
	const sql = `SELECT person, n, first_seen, count(*) OVER () AS total FROM (
			SELECT coalesce(pp.person, coalesce(e.user_id, e.anonymous_id)) AS person, count(*) AS n, pp.first_seen
			FROM events e LEFT JOIN people_ids i ON i.tenant_id = e.tenant_id AND i.id = coalesce(e.user_id, e.anonymous_id)
			LEFT JOIN people pp ON pp.pid = i.pid
			WHERE ${where} GROUP BY coalesce(CAST(i.pid AS TEXT), 'id:' || coalesce(e.user_id, e.anonymous_id)))
		${cursor ? `WHERE n < ${c.add(cursor[0])} OR (n = ${c.add(cursor[0])} AND person > ${c.add(cursor[1])})` : ""}
		ORDER BY n DESC, person LIMIT ${q.limit + 1}`;
	const { results } = await db
		.prepare(sql)
		.bind(tenantId, from, to, ...p.values, ...c.values)
		.all<{ person: string; n: number; first_seen: number | null; total: number }>();
	deadline.check();
	const more = results.length > q.limit;
	const rows = results.slice(0, q.limit);
	const last = rows.at(-1);
	return {
		people: rows.map((r) => ({ id: r.person, events: r.n, first_seen: r.first_seen == null ? null : new Date(r.first_seen).toISOString() })),
		// People from here on (this page included): the whole list's size on the first page.
		remaining: results[0]?.total ?? 0,
		next_cursor: more && last ? encode([last.n, last.person]) : null,
		meta: {
			range: { from: new Date(from).toISOString(), to: new Date(to).toISOString() },
			timezone: tz,
			events: counted?.n ?? 0,
			...(await freshness(db, tenantId, t)),
			took_ms: Date.now() - started,
		},
	};
}
