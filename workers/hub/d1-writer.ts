import type { CanonicalEvent } from "../ingest/event";
import { payloadSample } from "../ingest/normalise";
import { shallowSample } from "../ingest/shape";
import { INSERT_CONTEXTS_SQL, INSERT_EVENTS_SQL, INSERT_REJECTED_SQL, type RejectedRow, type SharedContextRow } from "./flush";

/** One row of the hub's buffer, as the flush reads it (a type, so SqlStorage can return it). */
export type BufferRow = {
	seq: number;
	kind: "events" | "rejected";
	n: number;
	/** JSON array of CanonicalEvent or RejectedRow. */
	body: string;
	/** JSON array of SharedContextRow (events rows of Segment batches with a shared context). */
	contexts: string | null;
};

/** An item D1 refused to store, with D1's reason. */
export interface Refusal {
	kind: "events" | "rejected" | "contexts";
	item: unknown;
	error: string;
}

/** What writing some buffer rows did. */
export interface Written {
	/** message_ids D1 newly stored (an id already there is ignored: a duplicate). */
	stored: Set<string>;
	refused: Refusal[];
}

/** Bytes of JSON per statement: D1 caps a bound value at 2 MB. */
export const STATEMENT_MAX_BYTES = 900_000;

/**
 * Errors that say D1 or the path to it is unwell, not that a row is wrong: the flush stops and its
 * alarm retries later. Anything else D1 answers about a single row is that row's fault.
 */
const TRANSIENT =
	/SQLITE_BUSY|SQLITE_LOCKED|SQLITE_IOERR|SQLITE_FULL|SQLITE_NOMEM|SQLITE_CANTOPEN|SQLITE_CORRUPT|database is locked|overload|network|timed? ?out|reset|unavailable|try again|internal error|exceeded|too many|D1_RESET|Durable Object|disconnected|fetch failed|connection/i;

export function isTransient(err: unknown): boolean {
	return TRANSIENT.test(messageOf(err));
}

export const messageOf = (err: unknown) => String((err as Error)?.message ?? err);

/** Joins JSON arrays' texts into one array text. */
const joinArrays = (texts: string[]) => `[${texts.map((t) => t.slice(1, -1)).filter((t) => t.trim()).join(",")}]`;

/**
 * Writes buffer rows and their shared contexts to D1, with `extra` statements, in one batch
 * (one transaction). Consecutive rows of a kind share statements of up to STATEMENT_MAX_BYTES.
 * Throws what D1 throws.
 */
export async function writeRows(db: D1Database, tenantId: string, rows: BufferRow[], extra: D1PreparedStatement[], now: number): Promise<Set<string>> {
	const statements: D1PreparedStatement[] = [];
	const contexts = rows.filter((r) => r.contexts).map((r) => r.contexts!);
	if (contexts.length) statements.push(db.prepare(INSERT_CONTEXTS_SQL).bind(tenantId, joinArrays(contexts), now));
	const eventStatements: number[] = [];
	let parts: string[] = [];
	let kind: BufferRow["kind"] | null = null;
	let size = 0;
	const cut = () => {
		if (!parts.length) return;
		if (kind === "events") eventStatements.push(statements.length);
		statements.push(db.prepare(kind === "events" ? INSERT_EVENTS_SQL : INSERT_REJECTED_SQL).bind(tenantId, joinArrays(parts)));
		parts = [];
		size = 0;
	};
	for (const r of rows) {
		if (kind !== r.kind || (parts.length && size + r.body.length > STATEMENT_MAX_BYTES)) cut();
		kind = r.kind;
		parts.push(r.body);
		size += r.body.length;
	}
	cut();
	const results = await db.batch<{ message_id: string }>([...statements, ...extra]);
	const stored = new Set<string>();
	for (const i of eventStatements) for (const r of results[i]!.results) stored.add(r.message_id);
	return stored;
}

/**
 * Writes one buffer row item by item where it must: the whole row first; if D1 refuses it, each
 * half, down to single items. A single item D1 refuses twice, while a write to D1 right after
 * succeeds (`probe`), is refused for good and returned; any transient error is thrown, so the
 * flush stops and retries later without blaming a row for an outage.
 * Re-running after a crash is safe: events are INSERT OR IGNORE, and the caller commits the
 * refusals with the row's flush marker.
 */
export async function writeRowIsolating(db: D1Database, tenantId: string, row: BufferRow, probe: () => Promise<void>, now: number): Promise<Written> {
	const refused: Refusal[] = [];
	if (row.contexts) {
		// Shared contexts on their own: one D1 refuses costs its events their shared part, not their place.
		const ctxs = JSON.parse(row.contexts) as SharedContextRow[];
		for (const c of ctxs) {
			const r = await attempt(() => db.batch([db.prepare(INSERT_CONTEXTS_SQL).bind(tenantId, JSON.stringify([c]), now)]), probe);
			if (r) refused.push({ kind: "contexts", item: c, error: r });
		}
	}
	const stored = new Set<string>();
	const items = JSON.parse(row.body) as unknown[];
	const write = async (part: unknown[]): Promise<void> => {
		const body = JSON.stringify(part);
		try {
			for (const id of await writeRows(db, tenantId, [{ ...row, n: part.length, body, contexts: null }], [], now)) stored.add(id);
			return;
		} catch (err) {
			if (isTransient(err)) throw err;
			if (part.length > 1) {
				const half = Math.ceil(part.length / 2);
				await write(part.slice(0, half));
				await write(part.slice(half));
				return;
			}
		}
		const error = await attempt(async () => {
			for (const id of await writeRows(db, tenantId, [{ ...row, n: 1, body, contexts: null }], [], now)) stored.add(id);
		}, probe);
		if (error) refused.push({ kind: row.kind, item: part[0], error });
	};
	await write(items);
	return { stored, refused };
}

/** Runs `fn`; returns null when it worked, or D1's reason when it was refused and D1 is otherwise well. */
async function attempt(fn: () => Promise<unknown>, probe: () => Promise<void>): Promise<string | null> {
	try {
		await fn();
		return null;
	} catch (err) {
		if (isTransient(err)) throw err;
		// A refusal only counts while D1 takes other writes: otherwise it is an outage.
		await probe();
		return messageOf(err).slice(0, 500);
	}
}

/** The rejected_events row that keeps an event D1 refused, with D1's reason. */
export function refusalRow(r: Refusal, at: number): RejectedRow {
	const e = r.item as Partial<CanonicalEvent>;
	const id = r.kind === "events" ? (e.message_id ?? null) : null;
	return {
		received_at: r.kind === "events" && typeof e.received_at === "number" ? e.received_at : at,
		code: "storage_refused",
		message:
			r.kind === "events"
				? `Accepted, then refused by the database when stored: ${r.error}`
				: r.kind === "contexts"
					? `A batch's shared context was refused by the database when stored (its events were kept without it): ${r.error}`
					: `A rejected item could not be stored as it was: ${r.error}`,
		details: { ...(id ? { message_id: id } : {}), error: r.error },
		payload: payloadSample(r.kind === "rejected" ? JSON.stringify((r.item as RejectedRow).payload ?? null) : shallowSample(r.item)),
	};
}
