import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "../errors";
import type { TenantRow } from "../query/answer";
import { answerReport, type ReportAnswer, reportContext } from "./kinds";
import { type BoardRow, type ReportRow, reportJson, type Tile } from "./model";

/** Board ?1 of tenant ?2. */
export const BOARD_SQL = "SELECT * FROM boards WHERE id = ?1 AND tenant_id = ?2";

/** The reports on board ?1 of tenant ?2 (only the tenant's own: the join is on tenant_id too). */
export const BOARD_REPORTS_SQL = `SELECT r.* FROM boards b, json_each(b.layout) j
	JOIN reports r ON r.tenant_id = b.tenant_id AND r.id = json_extract(j.value, '$.report_id')
	WHERE b.id = ?1 AND b.tenant_id = ?2`;

type Failure = { status: ContentfulStatusCode; error: { code: string; message: string; details: unknown } };
type Shown = ReturnType<typeof reportJson> | Omit<ReturnType<typeof reportJson>, "query" | "created_at" | "updated_at">;

function failure(err: unknown, reportId: string): Failure {
	if (err instanceof ApiError) return { status: err.status, error: { code: err.code, message: err.message, details: err.details } };
	// Never leak internals, as the app's onError: log for operators, a stable shape for clients.
	console.error("unhandled error in a board tile", reportId, err);
	return { status: 500, error: { code: "internal_error", message: "Something went wrong on our side; the board can be reloaded.", details: {} } };
}

/**
 * Answers every tile of a board at once, each as its kind's endpoint answers its report's query
 * (POST /v1/query, /v1/funnels, /v1/retention, /v1/experiments, /v1/insights: `status` 200 and that
 * answer's fields, or its own error), all as of one instant. `full` shows the
 * reports whole (with their queries); a shared board shows only their names, descriptions and charts.
 * `pendingSince` asks the tenant's hub what it has not flushed yet (meta.complete_through): once for
 * the whole board.
 */
export async function answerTiles(
	db: D1Database,
	tenantId: string,
	board: BoardRow,
	reports: ReportRow[],
	tenant: TenantRow | null,
	full: boolean,
	pendingSince: () => Promise<number | null>,
	now = Date.now(),
) {
	let asked: Promise<number | null> | undefined;
	const ctx = reportContext(db, tenantId, tenant, now, () => (asked ??= pendingSince()));
	const byId = new Map(reports.map((r) => [r.id, r]));
	const layout = JSON.parse(board.layout) as Tile[];
	return Promise.all(
		layout.map(async ({ report_id, width }) => {
			const row = byId.get(report_id);
			// A layout only names the tenant's reports, and a report on a board cannot be deleted: this is a safety net.
			if (!row) return { report_id, width, report: null, status: 404, error: { code: "not_found", message: `No report '${report_id}'.`, details: { report: report_id } } };
			const { query, created_at, updated_at, ...summary } = reportJson(row);
			const report: Shown = full ? { ...summary, query, created_at, updated_at } : summary;
			try {
				const answer: ReportAnswer = await answerReport(summary.kind, query, ctx);
				return { report_id, width, report, status: 200 as const, ...answer };
			} catch (err) {
				return { report_id, width, report, ...failure(err, report_id) };
			}
		}),
	);
}
