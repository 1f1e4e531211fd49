import type { Env } from "../env";
import { ApiError } from "../errors";
import { writerFor } from "./formats";
import { renderPdf } from "./formats/pdf";
import { CONTENT_TYPES, EXPORT_LIMITS, type ExportRequest, type ExportRow, exportPrefix, fileName } from "./model";
import { PartSink } from "./sink";
import { TextWriter } from "./formats/text";
import { PEOPLE_COLUMNS, peopleCount, peoplePages } from "./people";
import { countScope, EVENT_COLUMNS, type EventPos, type EventScope, eventPages, eventScope, eventTextPages, sections } from "./sources";
import type { Cell, TableHead } from "./table";

/** A run holds its export this long past its budget; a run that dies lets go when it runs out. */
export const LEASE_MS = 60_000;
/** Work per run; the cron and Durable Object alarms may get only 30 s of CPU. */
export const RUN_BUDGET_MS = 15_000;

/**
 * Where a paged export (raw events, people) stands after its last checkpoint: the source's fixed
 * scope, the last row written, the rows and bytes so far, the carry object (the file's bytes after
 * its last full part) and the format writer's state.
 */
interface Cursor {
	seq: number;
	scope: unknown;
	pos: unknown;
	/** Rows of the next page (sized from the rows seen, so a new run does not start with an oversized page). */
	page?: number;
	rows: number;
	carry: number;
	enc: unknown;
}

export interface RunOptions {
	budgetMs?: number;
	/** Tests: the run dies (throws, holding its lease, its upload open) after this many pages. */
	crashAfterPages?: number;
}

export type RunOutcome = "done" | "failed" | "more" | "retry" | "busy";

class LostLease extends Error {}
/** What a test's simulated crash throws: nothing is cleaned up, as when a machine dies. */
export class SimulatedCrash extends Error {}

const carryKey = (row: Pick<ExportRow, "tenant_id" | "id">, seq: number) => `${exportPrefix(row.tenant_id, row.id)}.carry-${seq}`;
export const fileKey = (row: ExportRow) => `${exportPrefix(row.tenant_id, row.id)}${fileName(row)}`;

function r2Options(row: ExportRow, expected: number): R2MultipartOptions {
	return {
		httpMetadata: { contentType: CONTENT_TYPES[row.format] },
		customMetadata: { export_id: row.id, tenant_id: row.tenant_id, rows: String(expected) },
	};
}

/**
 * Runs one export for at most a budget: takes its lease (so two runs never write it at once), writes
 * in bounded steps, checkpoints, and lets go. Raw events resume from their cursor; a query, report or
 * board (small by nature: answers are capped) is written in one run, and restarts from scratch if
 * that run dies. The file appears at its key only when it is complete and its row count checked.
 */
export async function runExport(env: Env, id: string, opts: RunOptions = {}): Promise<RunOutcome> {
	const budget = opts.budgetMs ?? RUN_BUDGET_MS;
	const started = Date.now();
	let lease = started + budget + LEASE_MS;
	// attempts counts runs since the last progress: a checkpoint or completion resets it, a crash or an error does not.
	const row = await env.DB.prepare(
		`UPDATE exports SET state = 'running', lease_until = ?2, started_at = coalesce(started_at, ?3), attempts = attempts + 1
		WHERE id = ?1 AND state IN ('queued', 'running') AND lease_until < ?3 RETURNING *`,
	)
		.bind(id, lease, started)
		.first<ExportRow>();
	if (!row) return "busy";
	const ctx = {
		env,
		row,
		get lease() {
			return lease;
		},
		/** Writes with the lease held, renewing it (or letting it go: `release`); throws LostLease if another run took it. */
		async commit(sql: string, binds: unknown[] = [], release = false): Promise<void> {
			const next = release ? 0 : Date.now() + budget + LEASE_MS;
			const { meta } = await env.DB.prepare(`UPDATE exports SET ${sql}, lease_until = ?2 WHERE id = ?1 AND lease_until = ?3`)
				.bind(row.id, next, lease, ...binds)
				.run();
			if (!meta.changes) throw new LostLease();
			lease = next;
		},
	};
	try {
		if (row.attempts > EXPORT_LIMITS.maxAttempts) {
			const last = row.error ? (JSON.parse(row.error) as { message: string }).message : "the run stopped (it was cut off or its machine went away)";
			throw new ApiError(500, "gave_up", `Stopped after ${row.attempts - 1} runs in a row that made no progress; the last: ${last}`);
		}
		if (await finishedBefore(ctx)) return "done";
		const paged = row.kind === "events" ? await eventsSource(ctx) : row.kind === "people" ? peopleSource(ctx) : null;
		return paged ? await runPaged(ctx, paged, started + budget, opts) : await runWhole(ctx);
	} catch (err) {
		if (err instanceof LostLease) return "busy";
		if (err instanceof SimulatedCrash) throw err;
		const now = Date.now();
		if (err instanceof ApiError && (err.status < 500 || err.code === "gave_up")) {
			await fail(ctx, { code: err.code, message: err.message }, now);
			return "failed";
		}
		// Anything else (D1 or R2 unavailable, a bug) is retried with backoff: the lease is the wait.
		console.error("export run failed", row.id, err);
		const message = String((err as Error)?.message ?? err).slice(0, 500);
		const wait = Math.min(300_000, 5_000 * 2 ** (row.attempts - 1));
		await env.DB.prepare("UPDATE exports SET lease_until = ?2, error = ?4 WHERE id = ?1 AND lease_until = ?3")
			.bind(row.id, now + wait, lease, JSON.stringify({ code: "retrying", message: `A run failed and is retried in ${Math.round(wait / 1000)} s: ${message}` }))
			.run();
		return "retry";
	}
}

type Ctx = { env: Env; row: ExportRow; readonly lease: number; commit(sql: string, binds?: unknown[], release?: boolean): Promise<void> };

/** A run that completed the upload and died before saying so: the file is there, with this export's row count. */
async function finishedBefore(ctx: Ctx): Promise<boolean> {
	const { row, env } = ctx;
	if (!row.upload_id && !row.cursor) return false;
	const obj = await env.ARCHIVE.head(fileKey(row));
	if (!obj || obj.customMetadata?.export_id !== row.id || row.expected_rows == null || obj.customMetadata?.rows !== String(row.expected_rows)) return false;
	await markDone(ctx, row.expected_rows, obj.size);
	return true;
}

async function markDone(ctx: Ctx, rows: number, bytes: number): Promise<void> {
	const { row, env } = ctx;
	await ctx.commit(
		"state = 'done', rows = ?4, bytes = ?5, progress = 1, r2_key = ?6, upload_id = NULL, parts = '[]', cursor = NULL, error = NULL, attempts = 0, finished_at = ?7",
		[rows, bytes, fileKey(row), Date.now()],
		true,
	);
	// The checkpoints' leftovers (carry objects) go; the file stays.
	await deleteLeftovers(env, row, fileKey(row)).catch((err) => console.warn("export cleanup", row.id, err));
}

/** Deletes an export's objects other than `keep` (its carries, or everything of a failed export). */
export async function deleteLeftovers(env: Env, row: Pick<ExportRow, "tenant_id" | "id">, keep: string | null): Promise<void> {
	const prefix = exportPrefix(row.tenant_id, row.id);
	let cursor: string | undefined;
	do {
		const list = await env.ARCHIVE.list({ prefix, cursor });
		const keys = list.objects.map((o) => o.key).filter((k) => k !== keep && k.startsWith(prefix));
		if (keys.length) await env.ARCHIVE.delete(keys);
		cursor = list.truncated ? list.cursor : undefined;
	} while (cursor);
}

async function abortUpload(env: Env, row: ExportRow): Promise<void> {
	if (row.upload_id) await env.ARCHIVE.resumeMultipartUpload(fileKey(row), row.upload_id).abort();
}

/** Fails an export for good: its error recorded, its upload aborted, its objects deleted. */
async function fail(ctx: Ctx, error: { code: string; message: string }, now: number): Promise<void> {
	const { row, env } = ctx;
	await env.DB.prepare("UPDATE exports SET state = 'failed', error = ?4, lease_until = 0, finished_at = ?3, cursor = NULL WHERE id = ?1 AND lease_until = ?2")
		.bind(row.id, ctx.lease, now, JSON.stringify(error))
		.run();
	try {
		await abortUpload(env, row);
		await deleteLeftovers(env, row, null);
		await env.DB.prepare("UPDATE exports SET upload_id = NULL, parts = '[]' WHERE id = ?1").bind(row.id).run();
	} catch (err) {
		// The cron's cleanup retries (failed exports that still have an upload_id).
		console.warn("export cleanup after failure", row.id, err);
	}
}

/** A query, report, board or PDF: answered and written in one run (answers are capped in size). */
async function runWhole(ctx: Ctx): Promise<RunOutcome> {
	const { row, env } = ctx;
	// A previous run of this export died: start over, leaving nothing of it behind.
	if (row.upload_id || row.cursor) {
		await abortUpload(env, row).catch(() => {});
		await deleteLeftovers(env, row, null);
	}
	const req = JSON.parse(row.request) as ExportRequest;
	const now = Date.now();
	const { title, tenant, sections: secs } = await sections(env.DB, row.tenant_id, req, now, row.format === "pdf");
	const expected = secs.reduce((n, s) => n + s.rows.length, 0);
	const sink = new PartSink(env.ARCHIVE, fileKey(row), r2Options(row, expected), { uploadId: null, parts: [] }, null, (uploadId) => ctx.commit("upload_id = ?4", [uploadId]));
	if (row.format === "pdf") await sink.write(await renderPdf({ title, kind: row.kind, tenant: { id: row.tenant_id, name: tenant.name }, sections: secs, generatedAt: now }));
	else {
		const writer = writerFor(row.format, sink, row.gzip === 1, undefined);
		for (const s of secs) {
			await writer.startTable(s.head);
			if (row.format === "xlsx" && s.rows.length > EXPORT_LIMITS.xlsxRows) throw tooManyRows(s.rows.length);
			for (let i = 0; i < s.rows.length; i += 5_000) await writer.writeRows(s.rows.slice(i, i + 5_000));
			await writer.endTable();
		}
		await writer.finish();
	}
	await ctx.commit("expected_rows = ?4", [expected]);
	const obj = await sink.complete();
	if (obj.size !== sink.offset) throw new Error(`the completed file has ${obj.size} bytes, ${sink.offset} were written`);
	await markDone(ctx, expected, obj.size);
	return "done";
}

const tooManyRows = (n: number) =>
	new ApiError(400, "too_many_rows", `${n} rows do not fit in a spreadsheet (Excel's limit is ${EXPORT_LIMITS.xlsxRows} rows a sheet): export them as csv, ndjson or parquet, or narrow the range`, {
		rows: n,
		limit: EXPORT_LIMITS.xlsxRows,
	});

type Page = { rows: Cell[][]; pos: unknown; next: number } | { text: string; rows: number; pos: unknown; next: number };

/** A source read in pages from a position, with checkpoints between pages: raw events, the people behind a point. */
interface PagedSource {
	table: TableHead;
	/** The first run: the rows expected and what stays fixed for the export (stored in its cursor). */
	start(): Promise<{ expected: number; scope: unknown }>;
	/** Pages after `pos` (null: from the start); `text`: CSV or NDJSON lines rendered by the source, when it can. */
	pages(scope: unknown, pos: unknown, pageRows: number | undefined, text: "csv" | "ndjson" | null): AsyncIterable<Page>;
	/** Before the file is completed: throws if the rows written are not what the scope holds. */
	verify(scope: unknown, rows: number, expected: number): Promise<void>;
}

const rowsChanged = (what: string, rows: number, expected: number, now: number | null) =>
	new ApiError(409, "rows_changed", `The export wrote ${rows} rows where ${expected} were expected${now == null ? "" : ` (${now} are there now)`}: ${what} while it ran. Export again.`, { rows, expected });

/** Raw events: a rowid snapshot fixes the rows (events are never updated; new ones get higher rowids). */
async function eventsSource(ctx: Ctx): Promise<PagedSource> {
	const { row, env } = ctx;
	const req = JSON.parse(row.request) as ExportRequest;
	// The filters are compiled again from the request every run; the range and the snapshot were fixed by the first run.
	const fresh = await eventScope(env.DB, row.tenant_id, req.events!, row.created_at, false);
	const full = (scope: unknown): EventScope => ({ ...(scope as Omit<EventScope, "where" | "params">), where: fresh.where, params: fresh.params });
	return {
		table: { name: "events", columns: EVENT_COLUMNS },
		async start() {
			const counted = await eventScope(env.DB, row.tenant_id, req.events!, row.created_at, true);
			return { expected: counted.expected, scope: { from: counted.from, to: counted.to, snap: counted.snap } };
		},
		pages: (scope, pos, pageRows, text) =>
			text ? eventTextPages(env.DB, row.tenant_id, full(scope), pos as EventPos | null, text, pageRows) : eventPages(env.DB, row.tenant_id, full(scope), pos as EventPos | null, pageRows),
		async verify(scope, rows, expected) {
			// Twice: what was written against what the snapshot holds now (rows archived away meanwhile
			// would make a file that looks complete but is not).
			const now = await countScope(env.DB, row.tenant_id, full(scope));
			if (rows !== expected || now !== expected) throw rowsChanged("events of the range were archived or deleted", rows, expected, now);
		},
	};
}

/**
 * The people behind a point: POST /v1/people page after page, its range fixed at the export's
 * creation. The list is read again page by page, so a people pass that merges identities (or late
 * events) while it runs changes it: the count is checked at the end.
 */
function peopleSource(ctx: Ctx): PagedSource {
	const { row, env } = ctx;
	const body = (JSON.parse(row.request) as ExportRequest).people!;
	return {
		table: { name: "people", columns: PEOPLE_COLUMNS },
		start: async () => ({ expected: await peopleCount(env.DB, row.tenant_id, body, row.created_at), scope: null }),
		pages: (_scope, pos) => peoplePages(env.DB, row.tenant_id, body, row.created_at, (pos as string | null) ?? null),
		async verify(_scope, rows, expected) {
			if (rows !== expected) throw rowsChanged("the list of people changed (identities merged or late events)", rows, expected, null);
		},
	};
}

/** A paged source: pages from the cursor on, a checkpoint when the budget is spent, the file completed at the end. */
async function runPaged(ctx: Ctx, source: PagedSource, deadline: number, opts: RunOptions): Promise<RunOutcome> {
	const { row, env } = ctx;
	let cursor = row.cursor ? (JSON.parse(row.cursor) as Cursor) : null;
	let expected = row.expected_rows ?? 0;
	if (!cursor || row.expected_rows == null) {
		const first = await source.start();
		expected = first.expected;
		if (row.format === "xlsx" && expected > EXPORT_LIMITS.xlsxRows) throw tooManyRows(expected);
		if (row.upload_id) await abortUpload(env, row).catch(() => {});
		cursor = { seq: 0, scope: first.scope, pos: null, rows: 0, carry: 0, enc: undefined };
		await ctx.commit("expected_rows = ?4, cursor = NULL, upload_id = NULL, parts = '[]', rows = 0, bytes = 0, progress = 0", [expected]);
		row.upload_id = null;
		row.parts = "[]";
	}
	let carry: Uint8Array | null = null;
	if (cursor.carry) {
		const obj = await env.ARCHIVE.get(carryKey(row, cursor.seq));
		if (!obj) throw new Error(`the checkpoint's carry object ${carryKey(row, cursor.seq)} is missing`);
		carry = new Uint8Array(await obj.arrayBuffer());
		if (carry.length !== cursor.carry) throw new Error(`the checkpoint's carry object has ${carry.length} bytes, not ${cursor.carry}`);
	}
	// A new upload's id is recorded at once: a run that dies before its first checkpoint leaves nothing unnamed behind.
	const sink = new PartSink(env.ARCHIVE, fileKey(row), r2Options(row, expected), { uploadId: row.upload_id, parts: JSON.parse(row.parts) as R2UploadedPart[] }, carry, (uploadId) =>
		ctx.commit("upload_id = ?4", [uploadId]),
	);
	const writer = writerFor(row.format, sink, row.gzip === 1, cursor.enc);
	if (!cursor.pos && cursor.rows === 0 && cursor.enc === undefined) await writer.startTable(source.table);
	let rows = cursor.rows;
	let pos = cursor.pos;
	let pages = 0;
	let finished = true;
	let pageRows = cursor.page;
	// CSV and NDJSON lines come rendered by SQLite; Parquet and XLSX take typed values.
	const text = writer instanceof TextWriter && (row.format === "csv" || row.format === "ndjson") ? row.format : null;
	for await (const page of source.pages(cursor.scope, pos, pageRows, text)) {
		if ("text" in page) await (writer as TextWriter).writeText(page.text);
		else await writer.writeRows(page.rows);
		rows += typeof page.rows === "number" ? page.rows : page.rows.length;
		pos = page.pos;
		pageRows = page.next;
		if (opts.crashAfterPages != null && ++pages >= opts.crashAfterPages) throw new SimulatedCrash(`simulated crash after ${pages} pages`);
		if (Date.now() >= deadline) {
			finished = false;
			break;
		}
	}
	if (!finished) {
		// Checkpoint: the writer reaches a boundary, the leftover bytes go to a new carry object, then D1 says so.
		const enc = await writer.checkpoint();
		const bytes = sink.carry();
		const seq = cursor.seq + 1;
		if (bytes.length) await env.ARCHIVE.put(carryKey(row, seq), bytes);
		const next: Cursor = { ...cursor, seq, pos, page: pageRows, rows, carry: bytes.length, enc };
		await ctx.commit(
			"cursor = ?4, upload_id = ?5, parts = ?6, rows = ?7, bytes = ?8, progress = ?9, attempts = 0, error = NULL",
			[JSON.stringify(next), sink.state.uploadId, JSON.stringify(sink.state.parts), rows, sink.offset, expected ? Math.min(0.99, rows / expected) : 0],
			true,
		);
		if (cursor.carry) await env.ARCHIVE.delete(carryKey(row, cursor.seq)).catch(() => {});
		return "more";
	}
	await writer.endTable();
	await writer.finish();
	await source.verify(cursor.scope, rows, expected);
	await ctx.commit("parts = ?4", [JSON.stringify(sink.state.parts)]);
	const obj = await sink.complete();
	if (obj.size !== sink.offset) throw new Error(`the completed file has ${obj.size} bytes, ${sink.offset} were written`);
	await markDone(ctx, rows, obj.size);
	return "done";
}

/**
 * Runs a tenant's exports, oldest first, for one budget. Returns when to run again: now (work is
 * left), at the earliest lease's end (a run holds one, or waits out a backoff), or never (none left).
 */
export async function runTenantExports(env: Env, tenantId: string, budgetMs = RUN_BUDGET_MS): Promise<{ ran: number; next: number | null }> {
	const until = Date.now() + budgetMs;
	let ran = 0;
	const tried = new Set<string>();
	// At least one run per call, whatever the budget: an alarm always makes progress.
	for (let first = true; first || Date.now() < until; first = false) {
		const next = await env.DB.prepare(
			"SELECT id FROM exports WHERE tenant_id = ?1 AND state IN ('queued', 'running') AND lease_until < ?2 ORDER BY created_at, id LIMIT 10",
		)
			.bind(tenantId, Date.now())
			.all<{ id: string }>();
		const id = next.results.find((r) => !tried.has(r.id))?.id;
		if (!id) break;
		const outcome = await runExport(env, id, { budgetMs: Math.max(0, until - Date.now()) });
		ran++;
		if (outcome !== "more") tried.add(id);
	}
	const left = await env.DB.prepare("SELECT min(lease_until) AS at FROM exports WHERE tenant_id = ?1 AND state IN ('queued', 'running')").bind(tenantId).first<{ at: number | null }>();
	return { ran, next: left?.at == null ? null : Math.max(Date.now(), left.at + 1) };
}
