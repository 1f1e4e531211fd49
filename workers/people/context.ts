import { ApiError } from "../errors";
import { Deadline } from "../query/execute";
import { QUERY_TIMEOUT_MS } from "../query/answer";
import { formatLocal } from "../query/time";

/** What people queries need about the tenant, read with the key check (TENANT_SQL). */
export interface PeopleTenant {
	timezone: string;
	/** The zone its people_days are in (null before the first people pass). */
	people_tz: string | null;
	archived_before: number | null;
	watermark: number | null;
	pass_at: number | null;
}

/** The tenant of the key whose hash is ?1 (for authorizeWith: one round trip with the key check). */
const PEOPLE_TENANT_COLUMNS = `t.timezone, p.tz AS people_tz, s.archived_before,
	(SELECT watermark FROM rollup_cursor WHERE id = 'people') AS watermark, (SELECT updated_at FROM rollup_cursor WHERE id = 'people') AS pass_at`;
export const PEOPLE_TENANT_SQL = `SELECT ${PEOPLE_TENANT_COLUMNS}
	FROM api_keys k JOIN tenants t ON t.id = k.tenant_id LEFT JOIN people_tenants p ON p.tenant_id = t.id LEFT JOIN rollup_tenants s ON s.tenant_id = t.id
	WHERE k.hash = ?1`;
/** The same of tenant ?1 (for answers given without a key: share links, exports, schedules). */
export const PEOPLE_TENANT_BY_ID_SQL = `SELECT ${PEOPLE_TENANT_COLUMNS}
	FROM tenants t LEFT JOIN people_tenants p ON p.tenant_id = t.id LEFT JOIN rollup_tenants s ON s.tenant_id = t.id
	WHERE t.id = ?1`;

export function tenantOrThrow(row: PeopleTenant | null): PeopleTenant {
	if (!row) throw new ApiError(404, "not_found", "Tenant not found.");
	return row;
}

/** The time limit of a people query: the query API's, or lower if the request asks. */
export const deadlineOf = (timeoutMs?: number) => new Deadline(Math.min(timeoutMs ?? QUERY_TIMEOUT_MS, QUERY_TIMEOUT_MS));

/** Event codes of a tenant's names (names it never sent are absent). */
export async function codesOf(db: D1Database, tenantId: string, names: string[]): Promise<Map<string, { code: number; bit: number }>> {
	const out = new Map<string, { code: number; bit: number }>();
	if (!names.length) return out;
	const { results } = await db
		.prepare("SELECT name, code, bit FROM people_names WHERE tenant_id = ?1 AND name IN (SELECT value FROM json_each(?2))")
		.bind(tenantId, JSON.stringify([...new Set(names)]))
		.all<{ name: string; code: number; bit: number }>();
	for (const r of results) out.set(r.name, { code: r.code, bit: r.bit });
	return out;
}

/** The code standing for "any event" in queries (people_days rows exist only for active days). */
export const ANY = -1;

/** How fresh the per-person tables are: events of the tenant stored but not yet in them, and when the pass last ran. */
export async function freshness(db: D1Database, tenantId: string, t: PeopleTenant): Promise<{ pending_events: number; people_as_of: string | null }> {
	const r = await db
		// NOTE: `+tenant_id` keeps SQLite on the rowid range; on the tenant's index it would count all its events.
		.prepare("SELECT count(*) AS n FROM events WHERE rowid > ?1 AND +tenant_id = ?2")
		.bind(t.watermark ?? 0, tenantId)
		.first<{ n: number }>();
	return { pending_events: r?.n ?? 0, people_as_of: t.pass_at ? new Date(t.pass_at).toISOString() : null };
}

/** Rounds a rate to 6 decimals (null when there is nobody to divide by). */
export const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 1e6) / 1e6 : null);

export const localIso = formatLocal;
