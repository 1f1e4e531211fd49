import { z } from "zod";
import { CHART_TYPES, type ChartType, REPORT_KINDS, type ReportKind } from "../db/schema";
import { ApiError } from "../errors";
import { resolveRange } from "../query/plan";
import { parseQuery } from "../query/spec";
import { isValidTimeZone } from "../query/time";

/** Limits of saved reports, boards and share links (docs/api.md, Limits). */
export const LIMITS = {
	name: 200,
	description: 1_000,
	/** Characters of a saved query's JSON. */
	queryJson: 16_384,
	reportsPerTenant: 200,
	boardsPerTenant: 50,
	tilesPerBoard: 40,
	/** Tile widths are columns of a 12-column grid. */
	gridColumns: 12,
	defaultWidth: 6,
	shareDaysDefault: 30,
	shareDaysMax: 365,
	/** Unexpired, unrevoked links per board. */
	activeSharesPerBoard: 20,
} as const;

// 32 symbols (no l, o, 0, 1), so `byte % 32` is unbiased; 16 of them are 80 random bits.
const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** A new id such as `rep_k3n9…` (prefix `rep`, `brd` or `shr`). */
export function newId(prefix: "rep" | "brd" | "shr"): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return `${prefix}_${[...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("")}`;
}

const name = z.string().trim().min(1, "must not be empty").max(LIMITS.name, `at most ${LIMITS.name} characters`);
const description = z.string().max(LIMITS.description, `at most ${LIMITS.description} characters`);
const chart = z.enum(CHART_TYPES, { error: `must be one of ${CHART_TYPES.join(", ")}` });
const kind = z.enum(REPORT_KINDS, { error: `must be one of ${REPORT_KINDS.join(", ")}` });
// The query itself is checked by its kind's own parser (checkReport in kinds.ts), so that whatever the
// kind's endpoint takes can be saved, and nothing else.
const query = z.custom<Record<string, unknown>>(
	(v) => typeof v === "object" && v !== null && !Array.isArray(v),
	"must be an object: the body of the kind's endpoint (POST /v1/query, /v1/funnels, /v1/retention, /v1/experiments or /v1/insights)",
);
const nonEmpty = (o: object) => Object.keys(o).length > 0;

export const createReport = z.object({ name, description: description.default(""), kind: kind.default("query"), query, chart }).strict();
export const updateReport = z
	.object({ name, description, kind, query, chart })
	.partial()
	.strict()
	.refine(nonEmpty, "send at least one of name, description, kind, query, chart");

const tile = z
	.object({
		report_id: z.string().min(1, "must not be empty").max(64, "at most 64 characters"),
		width: z
			.number({ error: `must be a whole number of columns, 1-${LIMITS.gridColumns}` })
			.int(`must be a whole number of columns, 1-${LIMITS.gridColumns}`)
			.min(1, `at least 1 column`)
			.max(LIMITS.gridColumns, `at most ${LIMITS.gridColumns} columns`)
			.default(LIMITS.defaultWidth),
	})
	.strict();
const layout = z
	.array(tile)
	.max(LIMITS.tilesPerBoard, `at most ${LIMITS.tilesPerBoard} tiles`)
	.superRefine((tiles, ctx) => {
		const seen = new Map<string, number>();
		tiles.forEach((t, i) => {
			const first = seen.get(t.report_id);
			if (first !== undefined) ctx.addIssue({ code: "custom", path: [i, "report_id"], message: `report '${t.report_id}' is already on this board, at layout[${first}]` });
			else seen.set(t.report_id, i);
		});
	});

export const createBoard = z.object({ name, description: description.default(""), layout: layout.default([]) }).strict();
export const updateBoard = z
	.object({ name, description, layout })
	.partial()
	.strict()
	.refine(nonEmpty, "send at least one of name, description, layout");

export const createShare = z
	.object({
		expires_in_days: z
			.number({ error: `must be a whole number of days, 1-${LIMITS.shareDaysMax}` })
			.int(`must be a whole number of days, 1-${LIMITS.shareDaysMax}`)
			.min(1, "at least 1 day")
			.max(LIMITS.shareDaysMax, `at most ${LIMITS.shareDaysMax} days`)
			.default(LIMITS.shareDaysDefault),
	})
	.strict();

/** Request bodies, for typed clients (the dashboard). */
export type CreateReportInput = z.input<typeof createReport>;
export type UpdateReportInput = z.input<typeof updateReport>;
export type CreateBoardInput = z.input<typeof createBoard>;
export type UpdateBoardInput = z.input<typeof updateBoard>;
export type Tile = z.infer<typeof tile>;

/** A 400 naming one field, in the shape jsonBody gives (`details.issues`). */
export function invalidField(path: string, message: string, code = "custom"): ApiError {
	return new ApiError(400, "invalid_request", `${path}: ${message}`, { issues: [{ path, code, message }] });
}

/** The query parser's 400 (or the planner's date and zone checks), with every path under `field`. */
export function underField(err: unknown, field: string): unknown {
	if (!(err instanceof ApiError) || err.status !== 400) return err;
	const details = (err.details ?? {}) as { issues?: { path: string; code?: string; message: string }[]; field?: string };
	const at = (p: string) => (p ? `${field}.${p}` : field);
	const issues = details.issues
		? details.issues.map((i) => ({ ...i, path: at(i.path) }))
		: [{ path: at(details.field ?? ""), code: "custom", message: details.field && err.message.startsWith(`${details.field}: `) ? err.message.slice(details.field.length + 2) : err.message }];
	const first = issues[0]!;
	return new ApiError(400, "invalid_request", `${first.path}: ${first.message}`, { issues });
}

/**
 * Checks a query to be saved as POST /v1/query would (its parser, its time zone, its date range), so a
 * saved report runs unless the tenant's data or settings change. Errors name `query.<field>`.
 */
export function checkQuery(q: Record<string, unknown>, field = "query"): string {
	const text = JSON.stringify(q);
	if (text.length > LIMITS.queryJson) throw invalidField(field, `at most ${LIMITS.queryJson} characters of JSON (this one has ${text.length})`, "too_big");
	try {
		const parsed = parseQuery(q);
		if (parsed.timezone && !isValidTimeZone(parsed.timezone))
			throw invalidField(`${field}.timezone`, `'${parsed.timezone}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`);
		resolveRange(parsed, parsed.timezone ?? "UTC", Date.now());
	} catch (err) {
		throw err instanceof ApiError && err.code === "invalid_request" ? err : underField(err, field);
	}
	return text;
}

// Rows as D1 returns them.
export interface ReportRow {
	id: string;
	tenant_id: string;
	name: string;
	description: string;
	/** Absent in rows read before migration 0011 by older code paths: a query. */
	kind?: ReportKind | null;
	query: string;
	chart: ChartType;
	created_at: number;
	updated_at: number;
}
export interface BoardRow {
	id: string;
	tenant_id: string;
	name: string;
	description: string;
	layout: string;
	created_at: number;
	updated_at: number;
}
export interface ShareRow {
	id: string;
	tenant_id: string;
	board_id: string;
	created_at: number;
	expires_at: number;
	revoked_at: number | null;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

export const reportJson = (r: ReportRow) => ({
	id: r.id,
	name: r.name,
	description: r.description,
	kind: (r.kind ?? "query") as ReportKind,
	chart: r.chart,
	query: JSON.parse(r.query) as Record<string, unknown>,
	created_at: iso(r.created_at)!,
	updated_at: iso(r.updated_at)!,
});

export const boardJson = (b: BoardRow) => ({
	id: b.id,
	name: b.name,
	description: b.description,
	layout: JSON.parse(b.layout) as Tile[],
	created_at: iso(b.created_at)!,
	updated_at: iso(b.updated_at)!,
});

export const shareJson = (s: ShareRow, now: number) => ({
	id: s.id,
	board_id: s.board_id,
	created_at: iso(s.created_at)!,
	expires_at: iso(s.expires_at)!,
	revoked_at: iso(s.revoked_at),
	status: s.revoked_at != null ? ("revoked" as const) : s.expires_at <= now ? ("expired" as const) : ("active" as const),
});

export const notFound = (what: "report" | "board" | "share_link", id: string) =>
	new ApiError(404, "not_found", `No ${what.replace("_", " ")} '${id}'.`, { [what]: id });

/** 409 for a count limit: `resource` is `reports`, `boards` or `share_links`. */
export const limitReached = (resource: "reports" | "boards" | "share_links", limit: number, message: string) =>
	new ApiError(409, "limit_reached", message, { resource, limit });
