import type { Env } from "../env";
import { signedDownloadUrl, startExport } from "../exports";

/** An `exports` row, as far as deliveries need it (workers/db/schema.ts). */
export interface ExportRow {
	id: string;
	tenant_id: string;
	kind: string;
	format: string;
	gzip: number;
	state: "queued" | "running" | "done" | "failed";
	rows: number;
	bytes: number;
	error: string | null;
	r2_key: string | null;
	created_at: number;
	expires_at: number;
	[k: string]: unknown;
}

/**
 * What scheduled reports need of exports (workers/exports): start the export of a saved report or
 * board in a format (the file is written in the background), and an expiring link to a done one.
 * An interface so the cron and the tests can be given another one.
 */
export interface Exporter {
	start(env: Env, tenantId: string, request: { kind: "report" | "board"; id: string; format: string }, opts: { scheduleId: string }): Promise<string>;
	signedUrl(env: Env, origin: string, row: ExportRow, ttlMs: number): Promise<string>;
}

/** workers/exports: the export runs in the background (its runner's alarms); links are signed with its key. */
export const defaultExporter: Exporter = {
	async start(env, tenantId, request, opts) {
		const target = request.kind === "report" ? { report_id: request.id } : { board_id: request.id };
		const row = await startExport(env, tenantId, { format: request.format, ...target }, { scheduleId: opts.scheduleId });
		return row.id;
	},
	async signedUrl(env, origin, row, ttlMs) {
		return (await signedDownloadUrl(env, origin, row, ttlMs)).url;
	},
};
