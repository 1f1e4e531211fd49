import type { CanonicalEvent } from "../ingest/event";

/**
 * Column list shared by the insert statement and the JSON rows it reads.
 * NOTE: D1 allows 100 bound parameters per statement, so a multi-row VALUES list fits only
 * four 22-column rows. Instead each statement binds two parameters (tenant id and a JSON array
 * of up to ~1 MB) and expands it with json_each: hundreds of rows per statement.
 */
const COLUMNS = [
	"message_id",
	"type",
	"event",
	"user_id",
	"anonymous_id",
	"group_id",
	"previous_id",
	"timestamp",
	"sent_at",
	"received_at",
	"properties",
	"traits",
	"context",
	"context_id",
	"country",
	"region",
	"city",
	"colo",
	"browser",
	"os",
	"device",
	"is_bot",
] as const satisfies readonly (keyof CanonicalEvent)[];

const JSON_COLUMNS = new Set<string>(["properties", "traits", "context"]);

/**
 * NOTE: `value ->> '$.x'` on JSON text re-parses the whole row for every column (22 times a row).
 * Converting each row to JSONB once, in a MATERIALIZED CTE, makes the extractions cheap:
 * 2.5x the rows per second on the same SQLite (see docs/benchmarks.md).
 * A JSON null (no traits, no context) is stored as SQL NULL, not the text 'null'.
 */
export const INSERT_EVENTS_SQL = `WITH r AS MATERIALIZED (SELECT jsonb(value) AS j FROM json_each(?2))
INSERT OR IGNORE INTO events (tenant_id, ${COLUMNS.join(", ")})
SELECT ?1, ${COLUMNS.map((c) => (JSON_COLUMNS.has(c) ? `nullif(json(j -> '$.${c}'), 'null')` : `j ->> '$.${c}'`)).join(", ")}
FROM r
RETURNING message_id`;

/** Shared contexts ({id, body} items) of the events flushed with them: stored once per tenant and id. */
export const INSERT_CONTEXTS_SQL = `INSERT OR IGNORE INTO shared_contexts (tenant_id, id, body, created_at)
SELECT ?1, value ->> '$.id', value ->> '$.body', ?3 FROM json_each(?2)`;

export const INSERT_REJECTED_SQL = `INSERT INTO rejected_events (tenant_id, received_at, code, message, details, payload)
SELECT ?1, value ->> '$.received_at', value ->> '$.code', value ->> '$.message', json_extract(value, '$.details'), value ->> '$.payload'
FROM json_each(?2)`;

/** A shared context as it travels with the events that reference it. */
export interface SharedContextRow {
	id: string;
	body: string;
}

/** A stored rejection as it travels from the hub buffer to D1. */
export interface RejectedRow {
	received_at: number;
	code: string;
	message: string;
	details: { index?: number; path?: string; issues?: unknown; message_id?: string; error?: string };
	payload: string;
}
