import { Hono } from "hono";
import { z } from "zod";
import { authorize, keyFromHeaders, requireKey } from "../auth/keys";
import type { AppEnv, Env } from "../env";
import { ApiError } from "../errors";
import { readExport, signedDownloadUrl, startExport } from "../exports";
import { invalidLink, linkSecret, verifyDownload } from "../exports/links";
import { CONTENT_TYPES, EXPORT_LIMITS, type ExportRow, exportJson, exportNotFound, fileName } from "../exports/model";
import { jsonBody, queryParams } from "../lib/http";

const readKey = requireKey("read", "admin");

const history = z
	.object({
		limit: z.coerce.number().int().min(1).max(EXPORT_LIMITS.historyPageMax).default(20),
		/** The `next_cursor` of the previous page. */
		cursor: z
			.string()
			.regex(/^[0-9]{1,15}:exp_[a-z2-9]{16}$/, "must be the next_cursor of a previous page")
			.optional(),
		state: z.enum(["queued", "running", "done", "failed"], { error: "must be one of queued, running, done, failed" }).optional(),
	})
	.strict();

const linkBody = z
	.object({
		expires_in_hours: z
			.number({ error: `must be a number of hours, up to ${EXPORT_LIMITS.maxLinkHours}` })
			.positive("must be more than 0")
			.max(EXPORT_LIMITS.maxLinkHours, `at most ${EXPORT_LIMITS.maxLinkHours} hours`)
			.default(EXPORT_LIMITS.linkHoursDefault),
	})
	.strict();

/** A signed link for a done export, or none when links are not configured (SHARE_SECRET unset). */
async function linkOf(env: Env, origin: string, row: ExportRow, now: number) {
	if (row.state !== "done" || !env.SHARE_SECRET) return undefined;
	return signedDownloadUrl(env, origin, row, undefined, now);
}

/** One `bytes=` range of a file of `size` bytes (RFC 9110 14.1.2): null to send it whole, "unsatisfiable" for a 416. */
export function parseRange(header: string | undefined, size: number): { offset: number; length: number } | null | "unsatisfiable" {
	const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
	// Several ranges, or a unit other than bytes: a server may ignore the header and send the whole file.
	if (!m || (m[1] === "" && m[2] === "")) return null;
	if (m[1] === "") {
		const n = Number(m[2]);
		if (n === 0 || size === 0) return "unsatisfiable";
		return { offset: Math.max(0, size - n), length: Math.min(n, size) };
	}
	const start = Number(m[1]);
	const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
	if (start >= size) return "unsatisfiable";
	if (end < start) return null;
	return { offset: start, length: end - start + 1 };
}

async function download(env: Env, row: ExportRow, rangeHeader: string | undefined, now: number): Promise<Response> {
	if (row.state !== "done")
		throw new ApiError(409, "export_not_ready", `Export '${row.id}' is ${row.state}${row.state === "failed" ? "" : `; its file is ready when state is done (GET /v1/exports/${row.id})`}.`, { state: row.state });
	if (row.expires_at <= now || !row.r2_key) throw new ApiError(410, "export_expired", `The file of export '${row.id}' expired on ${new Date(row.expires_at).toISOString()} and was deleted.`, { expires_at: new Date(row.expires_at).toISOString() });
	const range = parseRange(rangeHeader, row.bytes);
	if (range === "unsatisfiable")
		throw new ApiError(416, "range_not_satisfiable", `The file has ${row.bytes} bytes; the range '${rangeHeader}' is outside it.`, { size: row.bytes }, { "Content-Range": `bytes */${row.bytes}` });
	const obj = await env.ARCHIVE.get(row.r2_key, range ? { range } : {});
	if (!obj) throw new ApiError(410, "export_expired", `The file of export '${row.id}' is no longer there.`, {});
	const headers = new Headers({
		"Content-Type": row.gzip ? "application/gzip" : CONTENT_TYPES[row.format],
		"Content-Disposition": `attachment; filename="${fileName(row)}"`,
		"Accept-Ranges": "bytes",
		ETag: obj.httpEtag,
		// Links are bearer secrets that expire: nothing on the way keeps a copy.
		"Cache-Control": "private, no-store",
		"X-Export-Rows": String(row.rows),
	});
	if (range) {
		headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${row.bytes}`);
		headers.set("Content-Length", String(range.length));
		return new Response(obj.body, { status: 206, headers });
	}
	headers.set("Content-Length", String(row.bytes));
	return new Response(obj.body, { status: 200, headers });
}

/**
 * Exports (`/v1/exports`): start one, follow it, list them, download the file (with a key, or with a
 * signed link that needs none). A tenant sees only its own: another tenant's export answers 404.
 */
export const exportRoutes = new Hono<AppEnv>()
	.post("/exports", readKey, async (c) => {
		const body = await jsonBody(c, z.unknown());
		const now = Date.now();
		const row = await startExport(c.env, c.get("auth").tenantId, body, { now });
		c.header("Location", `/v1/exports/${row.id}`);
		return c.json(exportJson(row, now), 202);
	})
	.get("/exports", readKey, async (c) => {
		const q = queryParams(c, history);
		const [at, id] = q.cursor ? [Number(q.cursor.split(":")[0]), q.cursor.split(":")[1]!] : [Number.MAX_SAFE_INTEGER, ""];
		const { results } = await c.env.DB.prepare(
			`SELECT * FROM exports WHERE tenant_id = ?1 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) AND (?4 IS NULL OR state = ?4)
			ORDER BY created_at DESC, id DESC LIMIT ?5`,
		)
			.bind(c.get("auth").tenantId, at, id || "\uffff", q.state ?? null, q.limit + 1)
			.all<ExportRow>();
		const now = Date.now();
		const page = results.slice(0, q.limit);
		const last = page.at(-1);
		return c.json({ exports: page.map((r) => exportJson(r, now)), next_cursor: results.length > q.limit && last ? `${last.created_at}:${last.id}` : null });
	})
	.get("/exports/:id", readKey, async (c) => {
		const id = c.req.param("id");
		const row = await readExport(c.env.DB, c.get("auth").tenantId, id);
		if (!row) throw exportNotFound(id);
		const now = Date.now();
		return c.json(exportJson(row, now, row.expires_at > now ? await linkOf(c.env, new URL(c.req.url).origin, row, now) : undefined));
	})
	.post("/exports/:id/link", readKey, async (c) => {
		const id = c.req.param("id");
		const body = await jsonBody(c, linkBody);
		const row = await readExport(c.env.DB, c.get("auth").tenantId, id);
		if (!row) throw exportNotFound(id);
		const now = Date.now();
		if (row.state !== "done") throw new ApiError(409, "export_not_ready", `Export '${id}' is ${row.state}: a link is for a done export.`, { state: row.state });
		if (row.expires_at <= now) throw new ApiError(410, "export_expired", `The file of export '${id}' expired on ${new Date(row.expires_at).toISOString()}.`, {});
		linkSecret(c.env);
		const link = await signedDownloadUrl(c.env, new URL(c.req.url).origin, row, body.expires_in_hours * 3_600_000, now);
		return c.json({ id, ...link, file_expires_at: new Date(row.expires_at).toISOString() }, 201);
	})
	.get("/exports/:id/download", async (c) => {
		const id = c.req.param("id");
		const now = Date.now();
		const { expires, signature } = c.req.query();
		let row: ExportRow | null;
		if (expires !== undefined || signature !== undefined) {
			// A signed link: the signature is the authority, no key is asked (nor looked at).
			const check = await verifyDownload(linkSecret(c.env), id, expires, signature, now);
			if (!check.ok) throw invalidLink(check.reason);
			row = await c.env.DB.prepare("SELECT * FROM exports WHERE id = ?1").bind(id).first<ExportRow>();
		} else {
			const auth = await authorize(c.env.DB, keyFromHeaders(c.req.raw), ["read", "admin"]);
			row = await readExport(c.env.DB, auth.tenantId, id);
		}
		if (!row) throw exportNotFound(id);
		return download(c.env, row, c.req.header("range"), now);
	});
