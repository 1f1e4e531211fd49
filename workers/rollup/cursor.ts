/**
 * The cron passes' progress rows (`rollup_cursor`: 'events' for the rollup pass, 'people' for the
 * people pass): a watermark (the last rowid a pass finished) and a lease, so two passes of one kind
 * never interleave. A pass takes the lease, moves the watermark in the batch that writes each chunk
 * (extending the lease), and gives the lease back when it stops.
 */
export type CursorId = "events" | "people";

/** How long a lease lasts without being extended: a pass that died gives way after this. */
export const LEASE_MS = 90_000;

/** Takes the lease of cursor `id` for `owner` at `now`: its watermark, or null when another pass holds it. */
export async function takeCursor(db: D1Database, id: CursorId, owner: string, now: number): Promise<number | null> {
	const row = await db
		.prepare(
			`INSERT INTO rollup_cursor (id, watermark, lease_owner, lease_until, updated_at) VALUES (?1, 0, ?2, ?3, ?4)
			ON CONFLICT(id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
			WHERE rollup_cursor.lease_until < ?4 RETURNING watermark`,
		)
		.bind(id, owner, now + LEASE_MS, now)
		.first<{ watermark: number }>();
	return row ? row.watermark : null;
}

/** The statement that moves the watermark to `watermark` and extends the lease (run it in the chunk's batch). */
export function advanceCursor(db: D1Database, id: CursorId, owner: string, watermark: number, now: number): D1PreparedStatement {
	return db.prepare("UPDATE rollup_cursor SET watermark = ?1, updated_at = ?2, lease_until = ?3 WHERE id = ?4 AND lease_owner = ?5").bind(watermark, now, now + LEASE_MS, id, owner);
}

/** Gives the lease back (if `owner` still holds it). */
export async function releaseCursor(db: D1Database, id: CursorId, owner: string): Promise<void> {
	await db.prepare("UPDATE rollup_cursor SET lease_until = 0 WHERE id = ?1 AND lease_owner = ?2").bind(id, owner).run();
}
