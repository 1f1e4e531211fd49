import { buildChunk, type BuildState, type ChunkResult, idsOf, type KnownId, type PassRow, WEEK_MS, WORD_BITS } from "./build";
import { dayNumbers } from "./zone";
import { advanceCursor, releaseCursor, takeCursor } from "../rollup/cursor";

/**
 * The people pass: the cron's second job after the rollup pass. It scans new events by rowid past
 * its own watermark (the `rollup_cursor` row 'people', with its own lease), and for each chunk
 * writes, in one D1 batch with the new watermark, the identities, persons, per-person event index,
 * active days and first occurrences those events make (build.ts). A pass cut short (its budget, an
 * error, an eviction) leaves consistent tables and the next pass continues from the watermark.
 */

/** Events per chunk: one read, one build in memory, one batch. */
export const PEOPLE_CHUNK = 50_000;
/** Rowids per read (one JSON page each, far under D1's 2 MB string limit). */
const PAGE = 5_000;
/** Identifiers looked up per statement. */
const ID_LOOKUP = 4_000;
/** JSON text per bound array, under D1's 2 MB per value. */
const JSON_CHARS = 900_000;
const DAY_MS = 86_400_000;

export interface PeopleReport {
	trigger: string;
	started_at: string;
	duration_ms: number;
	/** Another pass holds the lease; this one did nothing. */
	busy: boolean;
	scanned_events: number;
	people_created: number;
	identifiers_created: number;
	/** Links applied (an identifier joined another's person). */
	links: number;
	/** Stored persons merged into another (their rows moved). */
	merges: number;
	/** Tenants whose people_days are rebuilt after a change of time zone (weeks left). */
	rebuilding: Record<string, number>;
	pruned_weeks: number;
	watermark: number;
	pending_events: number;
	caught_up: boolean;
	timings: { read: number; build: number; write: number };
	errors: string[];
}

/** Splits rows into JSON arrays of at most JSON_CHARS characters each. */
export function jsonChunks(rows: unknown[]): string[] {
	const out: string[] = [];
	let parts: string[] = [];
	let size = 2;
	for (const r of rows) {
		const s = JSON.stringify(r);
		if (parts.length && size + s.length + 1 > JSON_CHARS) {
			out.push(`[${parts.join(",")}]`);
			parts = [];
			size = 2;
		}
		parts.push(s);
		size += s.length + 1;
	}
	if (parts.length) out.push(`[${parts.join(",")}]`);
	return out;
}

/** Statements binding each JSON chunk of `rows` as ?1 (then `more`). */
function each(db: D1Database, sql: string, rows: unknown[], ...more: unknown[]): D1PreparedStatement[] {
	return jsonChunks(rows).map((j) => db.prepare(sql).bind(j, ...more));
}

const SQL = {
	names: "INSERT OR IGNORE INTO people_names (code, tenant_id, name, bit) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)",
	people: "INSERT OR REPLACE INTO people (pid, tenant_id, person, first_seen) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1)",
	ids: `INSERT INTO people_ids (tenant_id, id, pid, linked) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?1) WHERE 1
		ON CONFLICT DO UPDATE SET pid = excluded.pid, linked = excluded.linked`,
	events: "INSERT OR IGNORE INTO people_events (tenant_id, wk, pid, code, ts, ref) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?1)",
	// NOTE: the DO UPDATE's WHERE skips the write when the day already has these bits (most events).
	days: `INSERT INTO people_days (tenant_id, day, pid, word, bits) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?1) WHERE 1
		ON CONFLICT DO UPDATE SET bits = bits | excluded.bits WHERE bits != (bits | excluded.bits)`,
	firsts: `INSERT INTO people_firsts (code, pid, first_ts) SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE 1
		ON CONFLICT DO UPDATE SET first_ts = excluded.first_ts WHERE excluded.first_ts < first_ts`,
	seen: `UPDATE people SET first_seen = s.ts FROM (SELECT value ->> 0 AS pid, value ->> 1 AS ts FROM json_each(?1)) s
		WHERE people.pid = s.pid AND s.ts < people.first_seen`,
	renames: "UPDATE people SET person = r.person FROM (SELECT value ->> 0 AS pid, value ->> 1 AS person FROM json_each(?1)) r WHERE people.pid = r.pid",
};

/**
 * Merges of stored persons, each [tenant, from, to, from's first_seen, [UTC weeks], [local days]]:
 * the weeks and days that can hold `from`'s rows (from its first event to the newest), each a key
 * lookup. Everything `from` had is added to `to` (events, OR of day bits, earliest first times),
 * then `from` is deleted.
 */
function mergeStatements(db: D1Database, merges: unknown[][]): D1PreparedStatement[] {
	const m = "json_each(?1) m";
	// NOTE: CROSS JOIN fixes the join order: without it SQLite reads the table by tenant alone and
	// scans the tenant's whole history for each merge.
	const weeks = `${m} CROSS JOIN json_each(m.value -> 4) w`;
	const days = `${m} CROSS JOIN json_each(m.value -> 5) d`;
	const sql = [
		`UPDATE people_ids SET pid = m.t FROM (SELECT value ->> 0 AS tenant, value ->> 1 AS f, value ->> 2 AS t FROM json_each(?1)) m WHERE people_ids.pid = m.f`,
		`INSERT OR IGNORE INTO people_events (tenant_id, wk, pid, code, ts, ref) SELECT e.tenant_id, e.wk, m.value ->> 2, e.code, e.ts, e.ref
			FROM ${weeks} CROSS JOIN people_events e ON e.tenant_id = m.value ->> 0 AND e.wk = w.value AND e.pid = m.value ->> 1`,
		`DELETE FROM people_events WHERE (tenant_id, wk, pid) IN (SELECT m.value ->> 0, w.value, m.value ->> 1 FROM ${weeks})`,
		`INSERT INTO people_days (tenant_id, day, pid, word, bits) SELECT x.tenant_id, x.day, m.value ->> 2, x.word, x.bits
			FROM ${days} CROSS JOIN people_days x ON x.tenant_id = m.value ->> 0 AND x.day = d.value AND x.pid = m.value ->> 1 WHERE 1
			ON CONFLICT DO UPDATE SET bits = bits | excluded.bits`,
		`DELETE FROM people_days WHERE (tenant_id, day, pid) IN (SELECT m.value ->> 0, d.value, m.value ->> 1 FROM ${days})`,
		`INSERT INTO people_firsts (code, pid, first_ts) SELECT f.code, m.value ->> 2, f.first_ts
			FROM ${m} CROSS JOIN people_names n ON n.tenant_id = m.value ->> 0 CROSS JOIN people_firsts f ON f.code = n.code AND f.pid = m.value ->> 1 WHERE 1
			ON CONFLICT DO UPDATE SET first_ts = min(first_ts, excluded.first_ts)`,
		`DELETE FROM people_firsts WHERE (code, pid) IN (SELECT n.code, m.value ->> 1 FROM ${m} JOIN people_names n ON n.tenant_id = m.value ->> 0)`,
		`UPDATE people SET first_seen = min(people.first_seen, x.fs) FROM (SELECT value ->> 2 AS t, min(value ->> 3) AS fs FROM json_each(?1) GROUP BY 1) x WHERE people.pid = x.t`,
		`DELETE FROM people WHERE pid IN (SELECT value ->> 1 FROM json_each(?1))`,
	];
	const out: D1PreparedStatement[] = [];
	for (const j of jsonChunks(merges)) for (const s of sql) out.push(db.prepare(s).bind(j));
	return out;
}

/** The chunk's raw events, in rowid order, a page at a time. */
async function readRows(db: D1Database, lo: number, hi: number): Promise<PassRow[]> {
	const pages: D1PreparedStatement[] = [];
	for (let a = lo; a < hi; a += PAGE)
		pages.push(
			db
				.prepare(
					`SELECT json_group_array(json_array(rid, tenant_id, type, event, user_id, anonymous_id, previous_id, timestamp)) AS p
					FROM (SELECT rowid AS rid, tenant_id, type, event, user_id, anonymous_id, previous_id, timestamp FROM events WHERE rowid > ?1 AND rowid <= ?2 ORDER BY rowid)`,
				)
				.bind(a, Math.min(a + PAGE, hi)),
		);
	const rows: PassRow[] = [];
	for (const res of await db.batch<{ p: string }>(pages)) for (const r of JSON.parse(res.results[0]?.p ?? "[]") as PassRow[]) rows.push(r);
	return rows;
}

/** The stored persons of the chunk's identifiers. */
async function loadKnown(db: D1Database, rows: PassRow[]): Promise<Map<string, KnownId>> {
	const known = new Map<string, KnownId>();
	const reads: [string, D1PreparedStatement][] = [];
	for (const [tenant, ids] of idsOf(rows)) {
		const list = [...ids];
		for (let i = 0; i < list.length; i += ID_LOOKUP)
			reads.push([
				tenant,
				db
					.prepare("SELECT json_group_array(json_array(id, pid, linked)) AS p FROM people_ids WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
					.bind(tenant, JSON.stringify(list.slice(i, i + ID_LOOKUP))),
			]);
	}
	if (!reads.length) return known;
	const res = await db.batch<{ p: string }>(reads.map((r) => r[1]));
	res.forEach((r, i) => {
		const tenant = reads[i]![0];
		for (const [id, pid, linked] of JSON.parse(r.results[0]?.p ?? "[]") as [string, number, number][]) known.set(`${tenant}\u0001${id}`, { pid, linked });
	});
	return known;
}

interface TenantZone {
	id: string;
	timezone: string;
	tz: string | null;
	rebuild_from: number;
	rebuild_to: number;
	archived_before: number | null;
}

/**
 * Per tenant, the zone its people_days are in. A new tenant starts in its zone; a change of zone
 * deletes the days the per-person event index can rebuild (its weeks, from the oldest kept) and
 * queues them, a week per step (`rebuildDays`). Older days keep the zone they were built in.
 */
async function syncZones(db: D1Database, now: number): Promise<TenantZone[]> {
	const { results } = await db
		.prepare(
			`SELECT t.id, t.timezone, p.tz, coalesce(p.rebuild_from, 0) AS rebuild_from, coalesce(p.rebuild_to, 0) AS rebuild_to, s.archived_before
			FROM tenants t LEFT JOIN people_tenants p ON p.tenant_id = t.id LEFT JOIN rollup_tenants s ON s.tenant_id = t.id`,
		)
		.all<TenantZone>();
	for (const t of results) {
		if (t.tz === t.timezone) continue;
		if (t.tz == null) {
			await db.prepare("INSERT INTO people_tenants (tenant_id, tz, updated_at) VALUES (?1, ?2, ?3)").bind(t.id, t.timezone, now).run();
		} else {
			const span = await db.prepare("SELECT min(wk) AS lo, max(wk) AS hi FROM people_events WHERE tenant_id = ?1").bind(t.id).first<{ lo: number | null; hi: number | null }>();
			const lo = span?.lo ?? 0;
			const hi = span?.hi == null ? 0 : span.hi + 1;
			// Days from the second day of the oldest kept week on are rebuilt whole from the events.
			const fromDay = Math.floor((lo * WEEK_MS) / DAY_MS) + 2;
			await db.batch([
				db.prepare("DELETE FROM people_days WHERE tenant_id = ?1 AND day >= ?2").bind(t.id, hi > lo ? fromDay : 0),
				db.prepare("UPDATE people_tenants SET tz = ?2, rebuild_from = ?3, rebuild_to = ?4, updated_at = ?5 WHERE tenant_id = ?1").bind(t.id, t.timezone, lo, hi, now),
			]);
			t.rebuild_from = lo;
			t.rebuild_to = hi;
		}
		t.tz = t.timezone;
	}
	return results;
}

/** One week of a tenant's people_days rebuilt from its people_events (after a change of zone). */
async function rebuildDays(db: D1Database, t: TenantZone): Promise<void> {
	const wk = t.rebuild_from;
	const { results } = await db
		.prepare(
			`SELECT json_group_array(json_array(e.pid, e.ts, n.bit)) AS p FROM people_events e JOIN people_names n ON n.code = e.code
			WHERE e.tenant_id = ?1 AND e.wk = ?2`,
		)
		.bind(t.id, wk)
		.all<{ p: string }>();
	const dayOf = dayNumbers(t.timezone);
	const days = new Map<string, [string, number, number, number, number]>();
	for (const [pid, ts, bit] of JSON.parse(results[0]?.p ?? "[]") as [number, number, number][]) {
		const day = dayOf(ts);
		const word = Math.floor(bit / WORD_BITS);
		const k = `${pid}\u0001${day}\u0001${word}`;
		const b = 2 ** (bit % WORD_BITS);
		const d = days.get(k);
		if (!d) days.set(k, [t.id, day, pid, word, b]);
		else if (Math.floor(d[4] / b) % 2 === 0) d[4] += b;
	}
	await db.batch([...each(db, SQL.days, [...days.values()]), db.prepare("UPDATE people_tenants SET rebuild_from = ?2 WHERE tenant_id = ?1").bind(t.id, wk + 1)]);
	t.rebuild_from = wk + 1;
}

/** The statements writing one chunk's result (before the watermark's move, in the same batch). */
async function chunkStatements(db: D1Database, r: ChunkResult, dayOf: (tenant: string) => (ts: number) => number, maxTs: number): Promise<D1PreparedStatement[]> {
	const stmts: D1PreparedStatement[] = [];
	if (r.names.length) stmts.push(...each(db, SQL.names, r.names));
	if (r.people.length) stmts.push(...each(db, SQL.people, r.people));
	if (r.ids.length) stmts.push(...each(db, SQL.ids, r.ids));
	if (r.merges.length) {
		// Where the merged persons' rows can be: every week and local day from their first event on.
		const froms = [...new Set(r.merges.map((m) => m.from))];
		const first = new Map<number, number>();
		for (let i = 0; i < froms.length; i += 5000) {
			const { results } = await db
				.prepare("SELECT pid, first_seen FROM people WHERE pid IN (SELECT value FROM json_each(?1))")
				.bind(JSON.stringify(froms.slice(i, i + 5000)))
				.all<{ pid: number; first_seen: number }>();
			for (const p of results) first.set(p.pid, p.first_seen);
		}
		const rows = r.merges.map((m) => {
			const fs = Math.min(first.get(m.from) ?? maxTs, maxTs);
			const day = dayOf(m.tenant);
			const weeks: number[] = [];
			for (let w = Math.floor(fs / WEEK_MS); w <= Math.floor(maxTs / WEEK_MS); w++) weeks.push(w);
			const days: number[] = [];
			for (let d = day(fs) - 1; d <= day(maxTs) + 1; d++) days.push(d);
			return [m.tenant, m.from, m.to, first.get(m.from) ?? maxTs, weeks, days];
		});
		stmts.push(...mergeStatements(db, rows));
	}
	if (r.renames.length) stmts.push(...each(db, SQL.renames, r.renames));
	if (r.events.length) stmts.push(...each(db, SQL.events, r.events));
	if (r.days.length) stmts.push(...each(db, SQL.days, r.days));
	if (r.firsts.length) stmts.push(...each(db, SQL.firsts, r.firsts));
	if (r.seen.length) stmts.push(...each(db, SQL.seen, r.seen));
	return stmts;
}

/**
 * One bounded people pass (the cron's, also `POST /v1/admin/people/run`). Each chunk of events
 * commits with the watermark; at least one chunk per pass, however small the budget.
 */
export async function runPeople(env: { DB: D1Database }, opts: { trigger: string; budgetMs?: number; now?: () => number; chunk?: number }): Promise<PeopleReport> {
	const clock = opts.now ?? Date.now;
	const t0 = clock();
	const deadline = t0 + (opts.budgetMs ?? 15_000);
	const chunk = opts.chunk ?? PEOPLE_CHUNK;
	const db = env.DB;
	const owner = crypto.randomUUID();
	const report: PeopleReport = {
		trigger: opts.trigger,
		started_at: new Date(t0).toISOString(),
		duration_ms: 0,
		busy: false,
		scanned_events: 0,
		people_created: 0,
		identifiers_created: 0,
		links: 0,
		merges: 0,
		rebuilding: {},
		pruned_weeks: 0,
		watermark: 0,
		pending_events: 0,
		caught_up: false,
		timings: { read: 0, build: 0, write: 0 },
		errors: [],
	};
	const taken = await takeCursor(db, "people", owner, t0);
	if (taken == null) {
		report.busy = true;
		report.duration_ms = clock() - t0;
		return report;
	}
	let w = taken;
	try {
		const zones = await syncZones(db, t0);
		const tzOf = new Map(zones.map((z) => [z.id, z.timezone]));
		const dayFns = new Map<string, (ts: number) => number>();
		const dayOf = (tenant: string) => {
			let f = dayFns.get(tenant);
			if (!f) dayFns.set(tenant, (f = dayNumbers(tzOf.get(tenant) ?? "UTC")));
			return f;
		};
		const [namesRes, maxRes] = await db.batch([
			db.prepare("SELECT code, tenant_id, name, bit FROM people_names"),
			db.prepare("SELECT max(coalesce((SELECT max(pid) FROM people), 0), coalesce((SELECT max(pid) FROM people_ids), 0)) AS m, (SELECT coalesce(max(rowid), 0) FROM events) AS top"),
		]);
		const st: BuildState = { known: new Map(), names: new Map(), bits: new Map(), nextCode: 1, nextPid: 1, dayOf };
		for (const n of namesRes!.results as { code: number; tenant_id: string; name: string; bit: number }[]) {
			st.names.set(`${n.tenant_id}\u0001${n.name}`, { code: n.code, bit: n.bit });
			st.bits.set(n.tenant_id, Math.max(st.bits.get(n.tenant_id) ?? 0, n.bit + 1));
			st.nextCode = Math.max(st.nextCode, n.code + 1);
		}
		const max = maxRes!.results[0] as { m: number; top: number };
		st.nextPid = max.m + 1;
		const top = max.top;
		while (w < top && (report.scanned_events === 0 || clock() < deadline)) {
			const hi = Math.min(w + chunk, top);
			let t = clock();
			const rows = await readRows(db, w, hi);
			st.known = await loadKnown(db, rows);
			report.timings.read += clock() - t;
			t = clock();
			const res = buildChunk(rows, st);
			report.timings.build += clock() - t;
			t = clock();
			const maxTs = rows.reduce((m, r) => Math.max(m, r[7]), 0);
			// Merged persons' rows may reach a day past now (ingest takes timestamps up to 24 hours ahead).
			const stmts = await chunkStatements(db, res, dayOf, Math.max(maxTs, clock() + 2 * DAY_MS));
			const now = clock();
			await db.batch([
				...stmts,
				advanceCursor(db, "people", owner, hi, now),
			]);
			report.timings.write += clock() - t;
			report.scanned_events += hi - w;
			report.people_created += res.people.length;
			report.identifiers_created += res.created;
			report.links += res.links;
			report.merges += res.merges.length;
			w = hi;
		}
		for (const z of zones) {
			while (z.rebuild_from < z.rebuild_to && clock() < deadline) await rebuildDays(db, z);
			if (z.rebuild_from < z.rebuild_to) report.rebuilding[z.id] = z.rebuild_to - z.rebuild_from;
		}
		// The per-person event index goes with the raw events it points to (whole weeks before the archive boundary).
		for (const z of zones) {
			if (!z.archived_before || clock() >= deadline) continue;
			const res = await db.prepare("DELETE FROM people_events WHERE tenant_id = ?1 AND wk < ?2").bind(z.id, Math.floor(z.archived_before / WEEK_MS)).run();
			if (res.meta.changes) report.pruned_weeks++;
		}
	} catch (err) {
		report.errors.push(err instanceof Error ? err.message : String(err));
	} finally {
		await releaseCursor(db, "people", owner);
	}
	const top = await db.prepare("SELECT coalesce(max(rowid), 0) AS m FROM events").first<{ m: number }>();
	report.watermark = w;
	report.pending_events = Math.max(0, (top?.m ?? 0) - w);
	report.caught_up = report.pending_events === 0 && Object.keys(report.rebuilding).length === 0 && report.errors.length === 0;
	report.duration_ms = clock() - t0;
	return report;
}
