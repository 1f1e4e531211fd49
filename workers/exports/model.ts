import { z } from "zod";
import { EXPORT_FORMATS } from "../db/schema";
import { ApiError } from "../errors";

/** Limits of exports (docs/api.md, Exports). */
export const EXPORT_LIMITS = {
	/** Exports of a tenant queued or running at once; more answer 409 limit_reached. */
	activePerTenant: 5,
	/** A signed download link lives this long unless asked otherwise (hours), and at most maxLinkHours. */
	linkHoursDefault: 24,
	maxLinkHours: 7 * 24,
	/** Excel's sheet holds 1,048,576 rows; one is the header. */
	xlsxRows: 1_048_575,
	/** Runs in a row that made no progress (errors, crashes) before an export is given up. */
	maxAttempts: 5,
	historyPageMax: 100,
} as const;

export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export type ExportKind = "query" | "report" | "board" | "events" | "people";
export const TEXT_FORMATS: readonly ExportFormat[] = ["csv", "ndjson"];

const ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";
/** A new export id, `exp_` + 16 characters (80 random bits). */
export function newExportId(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return `exp_${[...bytes].map((b) => ALPHABET[b % ALPHABET.length]).join("")}`;
}
export const EXPORT_ID = /^exp_[a-z2-9]{16}$/;

const isObject = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
const RANGE_HELP = 'must be one of today, yesterday, 7d, 30d, 90d, 12mo or {"from":"YYYY-MM-DD","to":"YYYY-MM-DD"}';
const dateRange = z.union([z.enum(["today", "yesterday", "7d", "30d", "90d", "12mo"]), z.object({ from: z.string().min(1).max(40), to: z.string().min(1).max(40) }).strict()], {
	error: RANGE_HELP,
});
const id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-z2-9]{16}$`), `must be a ${prefix}_… id`);

/** Raw events of a date range, with the query API's filters (["is","event","signup"], ["gt","prop:amount",10] …). */
const eventsSpec = z
	.object({
		date_range: dateRange,
		timezone: z.string().max(64).optional(),
		filters: z.array(z.unknown()).max(20).default([]),
	})
	.strict();

/** The body of POST /v1/exports: exactly one of query, report_id, board_id, events. */
export const exportRequest = z
	.object({
		format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(", ")}` }),
		gzip: z.boolean().default(false),
		query: z.custom<Record<string, unknown>>(isObject, "must be a query object, as POST /v1/query takes it").optional(),
		report_id: id("rep").optional(),
		board_id: id("brd").optional(),
		events: eventsSpec.optional(),
		/** The people behind a chart point: a POST /v1/people body (every page is exported; limit and cursor are the export's). */
		people: z.custom<Record<string, unknown>>(isObject, "must be an object, as POST /v1/people takes it").optional(),
		/** Replaces the date range (and time zone) of a saved report's or board's queries. */
		date_range: dateRange.optional(),
		timezone: z.string().max(64).optional(),
	})
	.strict()
	.superRefine((r, ctx) => {
		const given = (["query", "report_id", "board_id", "events", "people"] as const).filter((k) => r[k] !== undefined);
		if (given.length !== 1)
			ctx.addIssue({
				code: "custom",
				path: given.length ? [given[1]!] : [],
				message: given.length ? `give one of query, report_id, board_id, events, people (got ${given.join(" and ")})` : "give one of query, report_id, board_id, events or people: what to export",
			});
		const kind = kindOf(r);
		if (r.gzip && !TEXT_FORMATS.includes(r.format)) ctx.addIssue({ code: "custom", path: ["gzip"], message: `gzip applies to csv and ndjson; ${r.format} is compressed already` });
		if (r.format === "pdf" && (kind === "events" || kind === "people"))
			ctx.addIssue({ code: "custom", path: ["format"], message: `a PDF report is of a saved report, a board or a query; export ${kind} as csv, ndjson, parquet or xlsx` });
		for (const k of ["limit", "cursor"] as const)
			if (r.people && r.people[k] !== undefined) ctx.addIssue({ code: "custom", path: ["people", k], message: "an export holds every page: leave limit and cursor out" });
		if (kind === "board" && (r.format === "csv" || r.format === "parquet"))
			ctx.addIssue({ code: "custom", path: ["format"], message: `a board holds one table per report: export it as xlsx (a sheet per report), ndjson (a "report" field per line) or pdf, not ${r.format}` });
		if ((r.date_range || r.timezone) && kind !== "report" && kind !== "board")
			ctx.addIssue({ code: "custom", path: [r.date_range ? "date_range" : "timezone"], message: "replaces a saved report's or board's date range: put it inside query or events instead" });
	});

export type ExportRequest = z.infer<typeof exportRequest>;
export type ExportRequestInput = z.input<typeof exportRequest>;

export function kindOf(r: Pick<ExportRequest, "query" | "report_id" | "board_id" | "events" | "people">): ExportKind {
	return r.report_id ? "report" : r.board_id ? "board" : r.events ? "events" : r.people ? "people" : "query";
}

/** An export's row as D1 returns it. */
export interface ExportRow {
	id: string;
	tenant_id: string;
	kind: ExportKind;
	format: ExportFormat;
	gzip: number;
	request: string;
	state: "queued" | "running" | "done" | "failed";
	rows: number;
	bytes: number;
	progress: number;
	expected_rows: number | null;
	error: string | null;
	r2_key: string | null;
	upload_id: string | null;
	parts: string;
	cursor: string | null;
	attempts: number;
	lease_until: number;
	schedule_id: string | null;
	created_at: number;
	started_at: number | null;
	finished_at: number | null;
	expires_at: number;
}

const EXTENSIONS: Record<ExportFormat, string> = { csv: "csv", ndjson: "ndjson", parquet: "parquet", xlsx: "xlsx", pdf: "pdf" };
export const CONTENT_TYPES: Record<ExportFormat, string> = {
	csv: "text/csv; charset=utf-8",
	ndjson: "application/x-ndjson; charset=utf-8",
	parquet: "application/vnd.apache.parquet",
	xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	pdf: "application/pdf",
};

/** The file's name: `<kind>-<id>.<ext>[.gz]`. */
export const fileName = (r: Pick<ExportRow, "id" | "kind" | "format" | "gzip">) => `${r.kind}-${r.id.slice(4)}.${EXTENSIONS[r.format]}${r.gzip ? ".gz" : ""}`;

/** Every object an export writes lives under this prefix: the export code deletes nothing else in the bucket. */
export const exportPrefix = (tenantId: string, id: string) => `exports/${tenantId}/${id}/`;

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

/** The API's view of an export (GET /v1/exports/{id}); `downloadUrl` when the file is ready. */
export function exportJson(r: ExportRow, now: number, downloadUrl?: { url: string; expires_at: string }) {
	const expired = r.state === "done" && r.expires_at <= now;
	return {
		id: r.id,
		kind: r.kind,
		format: r.format,
		gzip: r.gzip === 1,
		state: r.state,
		rows: r.rows,
		expected_rows: r.expected_rows,
		bytes: r.bytes,
		progress: Math.round(r.progress * 1000) / 1000,
		error: r.error ? (JSON.parse(r.error) as { code: string; message: string }) : null,
		file_name: fileName(r),
		request: JSON.parse(r.request) as Record<string, unknown>,
		schedule_id: r.schedule_id,
		created_at: iso(r.created_at)!,
		started_at: iso(r.started_at),
		finished_at: iso(r.finished_at),
		expires_at: iso(r.expires_at)!,
		expired,
		...(downloadUrl && !expired ? { download_url: downloadUrl.url, download_url_expires_at: downloadUrl.expires_at } : {}),
	};
}

export const exportNotFound = (id: string) => new ApiError(404, "not_found", `No export '${id}'.`, { export: id });
