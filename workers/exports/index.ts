/**
 * Exports: files of a query's answer, a saved report or board, or raw events, written to R2 by
 * background work (workers/exports/run.ts, driven by the ExportRunner Durable Object's alarms and the
 * cron). The module's surface, for the API routes and for scheduled reports:
 *
 *   const row = await startExport(env, tenantId, { format: "pdf", report_id }, { scheduleId });
 *   // … later (the export runs in the background: poll readExport until state is done or failed)
 *   const done = await readExport(env.DB, tenantId, row.id);
 *   if (done?.state === "done") {
 *     const { url, expires_at } = await signedDownloadUrl(env, "https://edgewise.example", done, 24 * 3600_000);
 *     const file = await env.ARCHIVE.get(done.r2_key!); // the bytes, for an email attachment
 *   }
 *
 * startExport checks the request as POST /v1/exports does (ApiError 400/404/409 otherwise) and
 * returns the new row at once; exports made for a schedule are not counted against the tenant's limit
 * of exports running at once. Signed links work without a key until they expire (capped at the
 * file's own expiry); exportsCron is the cron's part (see scheduled.ts).
 */
import type { Env } from "../env";
import { ApiError, formatIssues } from "../errors";
import { resolveRange } from "../query/plan";
import { isValidTimeZone } from "../query/time";
import { checkQuery } from "../reports/model";
import { linkSecret, signDownload } from "./links";
import { EXPORT_LIMITS, type ExportRow, exportRequest, kindOf, newExportId } from "./model";
import { deleteLeftovers, fileKey } from "./run";
import { peopleCount } from "./people";
import { eventScope } from "./sources";

export type { ExportRequestInput, ExportRow } from "./model";
export { ExportRunner } from "./runner";

const DAY_MS = 86_400_000;

const field = (path: string, message: string, code = "custom") => new ApiError(400, "invalid_request", `${path}: ${message}`, { issues: [{ path, code, message }] });

/** Sets the tenant's runner's alarm (`EXPORT_DELAY_MS` later: tests raise it to run exports by hand). */
export async function kickExports(env: Env, tenantId: string): Promise<void> {
	const stub = env.EXPORT_RUNNER.get(env.EXPORT_RUNNER.idFromName(tenantId));
	await stub.kick(tenantId, Number(env.EXPORT_DELAY_MS ?? 0) || 0);
}

/**
 * Checks and records an export, and starts it in the background; returns its row (state `queued`).
 * `request` is POST /v1/exports's body. Throws ApiError: 400 (invalid, naming the field), 409 (too
 * many exports running; not for schedules).
 */
export async function startExport(env: Env, tenantId: string, request: unknown, opts: { scheduleId?: string; now?: number } = {}): Promise<ExportRow> {
	const now = opts.now ?? Date.now();
	const parsed = exportRequest.safeParse(request);
	if (!parsed.success) {
		const issues = formatIssues(parsed.error.issues);
		throw new ApiError(400, "invalid_request", `${issues[0]!.path || "body"}: ${issues[0]!.message}`, { issues });
	}
	const req = parsed.data;
	const kind = kindOf(req);
	const db = env.DB;
	if (req.query) checkQuery(req.query, "query");
	if (req.events) await eventScope(db, tenantId, req.events, now, false);
	// The people behind a point: checked (and its first page read) as POST /v1/people would.
	if (req.people) await peopleCount(db, tenantId, req.people, now);
	if (req.report_id && !(await db.prepare("SELECT 1 FROM reports WHERE id = ?1 AND tenant_id = ?2").bind(req.report_id, tenantId).first()))
		throw field("report_id", `no report '${req.report_id}' in this tenant`, "unknown_report");
	if (req.board_id && !(await db.prepare("SELECT 1 FROM boards WHERE id = ?1 AND tenant_id = ?2").bind(req.board_id, tenantId).first()))
		throw field("board_id", `no board '${req.board_id}' in this tenant`, "unknown_board");
	if (req.timezone && !isValidTimeZone(req.timezone)) throw field("timezone", `'${req.timezone}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`);
	if (req.date_range) {
		try {
			resolveRange({ date_range: req.date_range }, req.timezone ?? "UTC", now);
		} catch (err) {
			throw err instanceof ApiError ? field("date_range", err.message.replace(/^date_range(\.\w+)?: /, "")) : err;
		}
	}
	const id = newExportId();
	// One statement: the limit is checked where the row is written, so two requests cannot both pass it.
	const row = await db
		.prepare(
			`INSERT INTO exports (id, tenant_id, kind, format, gzip, request, state, created_at, expires_at, schedule_id)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7 + t.export_days * ${DAY_MS}, ?8 FROM tenants t
			WHERE t.id = ?2 AND (?8 IS NOT NULL OR (SELECT count(*) FROM exports WHERE tenant_id = ?2 AND state IN ('queued', 'running')) < ?9)
			RETURNING *`,
		)
		.bind(id, tenantId, kind, req.format, req.gzip ? 1 : 0, JSON.stringify(req), now, opts.scheduleId ?? null, EXPORT_LIMITS.activePerTenant)
		.first<ExportRow>();
	if (!row) {
		if (!(await db.prepare("SELECT 1 FROM tenants WHERE id = ?1").bind(tenantId).first())) throw new ApiError(404, "not_found", "Tenant not found.");
		throw new ApiError(409, "limit_reached", `A tenant has at most ${EXPORT_LIMITS.activePerTenant} exports queued or running at once; wait for one to finish.`, {
			resource: "exports",
			limit: EXPORT_LIMITS.activePerTenant,
		});
	}
	// If this fails the export still runs: the cron starts any export nobody is running.
	await kickExports(env, tenantId).catch((err) => console.warn("export runner not reached", id, err));
	return row;
}

/** The export `id` of the tenant, or null (another tenant's export is null too). */
export function readExport(db: D1Database, tenantId: string, id: string): Promise<ExportRow | null> {
	return db.prepare("SELECT * FROM exports WHERE id = ?1 AND tenant_id = ?2").bind(id, tenantId).first<ExportRow>();
}

/**
 * A link to a done export's file that works without a key until it expires: `ttlMs` from now (24 h by
 * default), but never past the file's own expiry. `origin` is the API's (https://host).
 */
export async function signedDownloadUrl(env: Env, origin: string, row: Pick<ExportRow, "id" | "expires_at">, ttlMs = EXPORT_LIMITS.linkHoursDefault * 3_600_000, now = Date.now()) {
	const { query, expiresAt } = await signDownload(linkSecret(env), row.id, Math.min(now + ttlMs, row.expires_at));
	return { url: `${origin}/v1/exports/${row.id}/download?${query}`, expires_at: new Date(expiresAt).toISOString() };
}

/**
 * The cron's part, bounded per tick: (1) wake the runner of every tenant with an export nobody holds
 * (a lost alarm, a runner that died); (2) delete the files of expired exports; (3) finish the cleanup
 * of failed exports (abort their multipart upload, delete their objects).
 */
export async function exportsCron(env: Env, now = Date.now()): Promise<{ kicked: number; expired: number; cleaned: number }> {
	const db = env.DB;
	const [waiting, expired, failed] = await db.batch([
		db.prepare("SELECT DISTINCT tenant_id FROM exports WHERE state IN ('queued', 'running') AND lease_until < ?1 LIMIT 100").bind(now),
		db.prepare("SELECT * FROM exports WHERE state = 'done' AND expires_at <= ?1 AND r2_key IS NOT NULL LIMIT 200").bind(now),
		db.prepare("SELECT * FROM exports WHERE state = 'failed' AND upload_id IS NOT NULL LIMIT 50"),
	]);
	let kicked = 0;
	for (const { tenant_id } of waiting!.results as { tenant_id: string }[]) {
		await kickExports(env, tenant_id).then(
			() => kicked++,
			(err) => console.warn("export runner not reached", tenant_id, err),
		);
	}
	const gone = expired!.results as unknown as ExportRow[];
	if (gone.length) {
		await env.ARCHIVE.delete(gone.map((r) => r.r2_key!).filter((k) => k.startsWith("exports/")));
		await db.batch(gone.map((r) => db.prepare("UPDATE exports SET r2_key = NULL WHERE id = ?1 AND state = 'done'").bind(r.id)));
	}
	let cleaned = 0;
	for (const r of failed!.results as unknown as ExportRow[]) {
		try {
			await env.ARCHIVE.resumeMultipartUpload(fileKey(r), r.upload_id!).abort();
		} catch {
			// Already aborted or completed: nothing of it is left to abort.
		}
		await deleteLeftovers(env, r, null);
		await db.prepare("UPDATE exports SET upload_id = NULL, parts = '[]' WHERE id = ?1").bind(r.id).run();
		cleaned++;
	}
	return { kicked, expired: gone.length, cleaned };
}
