import { ApiError } from "../errors";
import { answerQuery, TENANT_BY_ID_SQL, type TenantRow } from "../query/answer";
import { resolveRange } from "../query/plan";
import { type Filter, parseQuery } from "../query/spec";
import { isValidTimeZone } from "../query/time";
import { nextPageRows, pageHalving } from "../rollup/store";
import type { ReportKind } from "../db/schema";
import { answerReport, type QueryAnswer, type ReportAnswer, reportContext } from "../reports/kinds";
import { type BoardRow, notFound, type ReportRow, reportJson, type Tile } from "../reports/model";
import { BOARD_REPORTS_SQL, BOARD_SQL } from "../reports/tiles";
import { type Kpi, kindKpis, kindTable, rangeOf } from "./kinds";
import type { ExportRequest } from "./model";
import type { Cell, Column, TableHead } from "./table";

// ── raw events ──

/** The columns of an events export, in file order. */
export const EVENT_COLUMNS: Column[] = [
	{ name: "message_id", type: "string" },
	{ name: "timestamp", type: "time" },
	{ name: "event", type: "string" },
	{ name: "type", type: "string" },
	{ name: "user_id", type: "string" },
	{ name: "anonymous_id", type: "string" },
	{ name: "received_at", type: "time" },
	{ name: "country", type: "string" },
	{ name: "region", type: "string" },
	{ name: "city", type: "string" },
	{ name: "device", type: "string" },
	{ name: "browser", type: "string" },
	{ name: "os", type: "string" },
	{ name: "is_bot", type: "int" },
	{ name: "properties", type: "json" },
];
const EVENT_SQL_COLUMNS = EVENT_COLUMNS.map((c) => (c.name === "properties" ? "CASE WHEN json_valid(properties) THEN properties ELSE '{}' END" : c.name));

/** What an events export reads: one tenant, [from, to), rowids up to `snap` (the rows there when it started), its filters. */
export interface EventScope {
	from: number;
	to: number;
	snap: number;
	where: string;
	params: unknown[];
}

/** [timestamp, rowid] of the last row written: the next page starts after it. */
export type EventPos = [number, number];

/** Filter SQL on the raw columns, as POST /v1/query reads raw events; parameters numbered from ?`first`. */
function filterSql(filters: Filter[], first: number): { where: string; params: unknown[] } {
	const params: unknown[] = [];
	const next = (v: unknown) => {
		params.push(v);
		return `?${first + params.length - 1}`;
	};
	let where = "";
	for (const f of filters) {
		const k = f.dim.kind;
		let expr: string;
		if (k === "prop") {
			const path = next(`$."${f.dim.prop}"`);
			expr =
				f.op === "gt" || f.op === "lt"
					? `(CASE WHEN json_type(properties, ${path}) IN ('integer', 'real') THEN json_extract(properties, ${path}) END)`
					: `(CASE json_type(properties, ${path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE CAST(json_extract(properties, ${path}) AS TEXT) END)`;
		} else expr = k; // event, country, device, browser, os: column names from the parser's fixed list
		const vals = f.values.filter((v) => v != null).map((v) => (k === "prop" && f.op !== "gt" && f.op !== "lt" ? String(v) : v));
		const hasNull = vals.length < f.values.length;
		let sql: string;
		if (f.op === "contains") sql = `(${vals.map((v) => `instr(lower(${expr}), lower(${next(String(v))})) > 0`).join(" OR ")})`;
		else if (f.op === "gt" || f.op === "lt") sql = `(${expr} ${f.op === "gt" ? ">" : "<"} ${next(vals[0])})`;
		else {
			const inList = vals.length ? `${expr} IN (${vals.map((v) => next(v)).join(", ")})` : "0";
			sql = f.op === "is" ? (hasNull ? `(${inList} OR ${expr} IS NULL)` : `(${inList})`) : hasNull ? `(NOT (${inList}) AND ${expr} IS NOT NULL)` : `(NOT (${inList}) OR ${expr} IS NULL)`;
		}
		where += ` AND ${sql}`;
	}
	return { where, params };
}

/**
 * Checks an events export (its range in the tenant's zone, its filters, the archive boundary) and
 * fixes what it reads: the rowid snapshot makes the rows a set that cannot change while the export
 * runs (events are never updated; new ones get higher rowids). Errors name `events.<field>`.
 */
export async function eventScope(db: D1Database, tenantId: string, spec: NonNullable<ExportRequest["events"]>, now: number, count: boolean): Promise<EventScope & { expected: number }> {
	const [tenant, archive] = await db.batch([
		db.prepare("SELECT timezone FROM tenants WHERE id = ?1").bind(tenantId),
		db.prepare("SELECT archived_before FROM rollup_tenants WHERE tenant_id = ?1").bind(tenantId),
	]);
	const tz = spec.timezone ?? (tenant!.results[0] as { timezone: string } | undefined)?.timezone ?? "UTC";
	if (!isValidTimeZone(tz)) throw field("events.timezone", `'${tz}' is not an IANA time zone (e.g. UTC, Europe/Paris, America/New_York)`);
	let q: ReturnType<typeof parseQuery>;
	try {
		q = parseQuery({ metrics: ["count"], date_range: spec.date_range, filters: spec.filters });
	} catch (err) {
		throw underEvents(err);
	}
	const bad = q.filters.findIndex((f) => f.dim.kind === "hour_of_day" || f.dim.kind === "day_of_week");
	if (bad >= 0) throw field(`events.filters[${bad}]`, "hour_of_day and day_of_week filters are for queries; an events export filters on event, country, device, browser, os and prop:<name>");
	let range: { from: number; to: number };
	try {
		range = resolveRange(q, tz, now);
	} catch (err) {
		throw underEvents(err);
	}
	const archivedBefore = (archive!.results[0] as { archived_before: number | null } | undefined)?.archived_before ?? 0;
	if (range.from < archivedBefore)
		throw new ApiError(400, "invalid_request", `events.date_range: events before ${new Date(archivedBefore).toISOString()} are archived to R2 and no longer in the database; start the range there or later`, {
			issues: [{ path: "events.date_range", code: "archived", message: `events before ${new Date(archivedBefore).toISOString()} are archived` }],
			archived_before: new Date(archivedBefore).toISOString(),
		});
	const f = filterSql(q.filters, 5);
	if (!count) return { from: range.from, to: range.to, snap: 0, where: f.where, params: f.params, expected: 0 };
	const counted = await db
		.prepare(`SELECT count(*) AS n, (SELECT coalesce(max(rowid), 0) FROM events) AS snap FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND ?4 = ?4${f.where}`)
		.bind(tenantId, range.from, range.to, 0, ...f.params)
		.first<{ n: number; snap: number }>();
	return { from: range.from, to: range.to, snap: counted!.snap, where: f.where, params: f.params, expected: counted!.n };
}

/** The count of a scope's rows at or below its snapshot (checked again before the file is completed). */
export async function countScope(db: D1Database, tenantId: string, s: EventScope): Promise<number> {
	const r = await db
		.prepare(`SELECT count(*) AS n FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND rowid <= ?4${s.where}`)
		.bind(tenantId, s.from, s.to, s.snap, ...s.params)
		.first<{ n: number }>();
	return r!.n;
}

/**
 * Pages of raw events after `pos`, in (timestamp, rowid) order: keyset paging on the
 * (tenant_id, timestamp) index, each page one JSON array built by SQLite (one value to ship instead of
 * 15 per row; rollup/store.ts rawPages measured it halving the read cost), sized from the rows'
 * measured length to stay under D1's 2 MB limit on one string. Filter parameters follow ?7.
 */
export async function* eventPages(db: D1Database, tenantId: string, s: EventScope, pos: EventPos | null, firstRows = 2_000): AsyncGenerator<{ rows: Cell[][]; pos: EventPos; next: number }> {
	// Filters were numbered from ?5 (for the count); here they follow ?6, so renumber by 2.
	const where = s.where.replace(/\?(\d+)/g, (_, n: string) => `?${Number(n) + 2}`);
	const sql = (limit: number) => `SELECT json_group_array(json_array(${EVENT_SQL_COLUMNS.join(", ")}, rid)) AS page FROM (
		SELECT ${EVENT_COLUMNS.map((c) => c.name).join(", ")}, rowid AS rid FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND rowid <= ?6
		AND (timestamp > ?4 OR (timestamp = ?4 AND rowid > ?5))${where} ORDER BY timestamp, rowid LIMIT ${limit})`;
	let [ts, rowid] = pos ?? [s.from, -1];
	let limit = firstRows;
	for (;;) {
		const read = await pageHalving<{ page: string }>((n) => db.prepare(sql(n)).bind(tenantId, s.from, s.to, ts, rowid, s.snap, ...s.params), limit);
		limit = read.limit;
		const text = read.row?.page ?? "[]";
		const rows = JSON.parse(text) as Cell[][];
		if (!rows.length) return;
		// SQLite keeps the subquery's order in json_group_array, but the cursor is the maximum, not the last.
		for (const r of rows) {
			const t = r[1] as number;
			const id = r[15] as number;
			if (t > ts || (t === ts && id > rowid)) {
				ts = t;
				rowid = id;
			}
			r.length = 15;
		}
		const full = rows.length >= limit;
		limit = nextPageRows(rows.length, text.length);
		yield { rows, pos: [ts, rowid], next: limit };
		if (!full) return;
	}
}

/**
 * Pages of raw events rendered as CSV lines or NDJSON lines by SQLite itself, for the text formats:
 * one string per page, no per-row objects in the isolate. (Measured by bench:export, it did not change
 * the runtime's CPU per row locally, where reading the rows dominates: docs/benchmarks.md.) The same
 * rows, order and cursor as eventPages; the text is what the
 * JavaScript writers produce for the same rows (times as ISO 8601 UTC with milliseconds, RFC 4180
 * quoting, SQLite's compact JSON), which the tests check against D1 row by row.
 */
export async function* eventTextPages(db: D1Database, tenantId: string, s: EventScope, pos: EventPos | null, format: "csv" | "ndjson", firstRows = 2_000): AsyncGenerator<{ text: string; rows: number; pos: EventPos; next: number }> {
	const where = s.where.replace(/\?(\d+)/g, (_, n: string) => `?${Number(n) + 3}`);
	// ?7: unused (kept so the parameter numbers stay put). A field is quoted when it holds a quote, a
	// comma, CR or LF: four instr() scans cost less than one GLOB with a character class (perf).
	const iso = (c: string) => `strftime('%Y-%m-%dT%H:%M:%S', ${c} / 1000, 'unixepoch') || '.' || substr('00' || (${c} % 1000), -3) || 'Z'`;
	const q = (c: string) =>
		`CASE WHEN ${c} IS NULL THEN '' WHEN instr(${c}, '"') OR instr(${c}, ',') OR instr(${c}, char(10)) OR instr(${c}, char(13)) THEN '"' || replace(${c}, '"', '""') || '"' ELSE ${c} END`;
	const props = "CASE WHEN json_valid(properties) THEN properties ELSE '{}' END";
	const line =
		format === "csv"
			? EVENT_COLUMNS.map((c) => (c.type === "time" ? iso(c.name) : c.type === "int" ? `${c.name}` : c.type === "json" ? q(props) : q(c.name))).join(" || ',' || ") + " || char(13, 10)"
			: `json_object(${EVENT_COLUMNS.map((c) => `'${c.name}', ${c.type === "time" ? iso(c.name) : c.type === "json" ? `json(${props})` : c.name}`).join(", ")}) || char(10)`;
	const sql = (limit: number) => `WITH page AS MATERIALIZED (
		SELECT ${EVENT_COLUMNS.map((c) => c.name).join(", ")}, rowid AS rid FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND rowid <= ?6
		AND (timestamp > ?4 OR (timestamp = ?4 AND rowid > ?5)) AND ?7 = ?7${where} ORDER BY timestamp, rowid LIMIT ${limit})
		SELECT group_concat(${line}, '') AS text, count(*) AS n, (SELECT json_array(timestamp, rid) FROM page ORDER BY timestamp DESC, rid DESC LIMIT 1) AS last FROM page`;
	let cur: EventPos = pos ?? [s.from, -1];
	let limit = firstRows;
	for (;;) {
		const read = await pageHalving<{ text: string | null; n: number; last: string | null }>((n) => db.prepare(sql(n)).bind(tenantId, s.from, s.to, cur[0], cur[1], s.snap, 0, ...s.params), limit);
		limit = read.limit;
		const r = read.row;
		if (!r || !r.n) return;
		cur = JSON.parse(r.last!) as EventPos;
		const text = r.text ?? "";
		const full = r.n >= limit;
		limit = nextPageRows(r.n, text.length);
		yield { text, rows: r.n, pos: cur, next: limit };
		if (!full) return;
	}
}

// ── query answers: a query, a saved report, a board ──

type Answer = QueryAnswer;
export type { Kpi };

/** One report's answer as a table, with what the PDF needs beside it. */
export interface Section {
	report: { id: string; name: string; description: string; chart: string; kind: ReportKind } | null;
	/** The report's kind (an ad-hoc query's is "query"): which endpoint `answer` is of. */
	kind: ReportKind;
	query: Record<string, unknown>;
	answer: ReportAnswer | null;
	/** The answer's range and zone (null without an answer). */
	range: { from: string; to: string; timezone: string } | null;
	error: { code: string; message: string } | null;
	head: TableHead;
	rows: Cell[][];
	/** For the PDF: each metric over the whole range (and the previous period when the query compares); a funnel's, retention's … key figures. */
	kpis?: Kpi[] | null;
}

/** The query of a report's key figures: its metrics over the whole range, without time buckets or breakdowns. */
export function totalsQuery(query: Record<string, unknown>): Record<string, unknown> {
	const { granularity: _g, dimensions: _d, order_by: _o, limit: _l, limit_per_group: _p, ...rest } = query;
	return rest;
}

function kpisOf(answer: Answer): Kpi[] {
	const meta = answer.meta as { metrics: string[] };
	const row = answer.results[0];
	return meta.metrics.map((metric, i) => ({
		metric,
		value: row?.metrics[i] ?? null,
		...(row?.comparison ? { previous: row.comparison.metrics[i] ?? null, change_pct: row.comparison.change_pct[i] ?? null } : {}),
	}));
}

/** The rows of an answer as a flat table: time, dimensions, metrics, then previous/change/change_pct per metric. */
export function answerTable(answer: Answer, name: string): { head: TableHead; rows: Cell[][] } {
	const meta = answer.meta as { metrics: string[]; dimensions: string[]; granularity: string | null };
	const hasTime = meta.granularity != null;
	const compare = answer.results.some((r) => r.comparison);
	const rows: Cell[][] = answer.results.map((r) => [
		...(hasTime ? [r.time ?? null] : []),
		...r.dimensions.map((d) => (d == null ? null : typeof d === "number" ? d : String(d))),
		...r.metrics,
		...(compare ? meta.metrics.flatMap((_, i) => [r.comparison?.metrics[i] ?? null, r.comparison?.change[i] ?? null, r.comparison?.change_pct[i] ?? null]) : []),
	]);
	const names = [
		...(hasTime ? ["time"] : []),
		...meta.dimensions,
		...meta.metrics,
		...(compare ? meta.metrics.flatMap((m) => [`${m}_previous`, `${m}_change`, `${m}_change_pct`]) : []),
	];
	const columns: Column[] = names.map((n, i) => {
		if (hasTime && i === 0) return { name: n, type: "time" };
		const values = rows.map((r) => r[i]).filter((v) => v != null);
		const numeric = values.length > 0 && values.every((v) => typeof v === "number");
		const isDim = i < (hasTime ? 1 : 0) + meta.dimensions.length;
		if (isDim && !numeric) return { name: n, type: "string" };
		return { name: n, type: numeric && values.every((v) => Number.isSafeInteger(v)) ? "int" : isDim ? "string" : "double" };
	});
	// A dimension column that mixes numbers and text is written as text.
	columns.forEach((c, i) => {
		if (c.type === "string") for (const r of rows) if (typeof r[i] === "number") r[i] = String(r[i]);
	});
	return { head: { name, columns }, rows };
}

const field = (path: string, message: string) => new ApiError(400, "invalid_request", `${path}: ${message}`, { issues: [{ path, code: "custom", message }] });

function underEvents(err: unknown): unknown {
	if (!(err instanceof ApiError) || err.status !== 400) return err;
	const d = (err.details ?? {}) as { issues?: { path: string; code?: string; message: string }[]; field?: string };
	const issues = d.issues?.map((i) => ({ ...i, path: `events.${i.path}` })) ?? [{ path: `events.${d.field ?? ""}`, code: "custom", message: err.message.replace(/^[^:]+: /, "") }];
	return new ApiError(400, "invalid_request", `${issues[0]!.path}: ${issues[0]!.message}`, { issues });
}

/**
 * The query of a saved report with the export's overrides (date range, time zone). Retention keeps
 * its own zone: its periods are cut in the tenant's zone only (POST /v1/retention refuses another).
 */
function withOverrides(kind: ReportKind, query: Record<string, unknown>, req: Pick<ExportRequest, "date_range" | "timezone">): Record<string, unknown> {
	return { ...query, ...(req.date_range ? { date_range: req.date_range } : {}), ...(req.timezone && kind !== "retention" ? { timezone: req.timezone } : {}) };
}

type Item = { report: Section["report"]; kind: ReportKind; query: Record<string, unknown> };
const itemOf = (r: ReturnType<typeof reportJson>, req: ExportRequest): Item => ({
	report: { id: r.id, name: r.name, description: r.description, chart: r.chart, kind: r.kind },
	kind: r.kind,
	query: withOverrides(r.kind, r.query, req),
});

/** The title and reports of a query, report or board export (reading what is saved now). */
export async function loadTarget(db: D1Database, tenantId: string, req: ExportRequest): Promise<{ title: string; items: Item[] }> {
	if (req.query) return { title: "Query", items: [{ report: null, kind: "query", query: req.query }] };
	if (req.report_id) {
		const row = await db.prepare("SELECT * FROM reports WHERE id = ?1 AND tenant_id = ?2").bind(req.report_id, tenantId).first<ReportRow>();
		if (!row) throw notFound("report", req.report_id);
		const r = reportJson(row);
		return { title: r.name, items: [itemOf(r, req)] };
	}
	const [board, reports] = await db.batch([db.prepare(BOARD_SQL).bind(req.board_id, tenantId), db.prepare(BOARD_REPORTS_SQL).bind(req.board_id, tenantId)]);
	const b = board!.results[0] as BoardRow | undefined;
	if (!b) throw notFound("board", req.board_id!);
	const byId = new Map((reports!.results as unknown as ReportRow[]).map((r) => [r.id, reportJson(r)]));
	const items = (JSON.parse(b.layout) as Tile[]).flatMap((t) => {
		const r = byId.get(t.report_id);
		return r ? [itemOf(r, req)] : [];
	});
	return { title: b.name, items };
}

/** Answers every report of the target, as of one instant; a report whose query fails is a section with its error. */
export async function sections(db: D1Database, tenantId: string, req: ExportRequest, now: number, withKpis = false): Promise<{ title: string; tenant: TenantRow & { name: string }; sections: Section[] }> {
	const target = await loadTarget(db, tenantId, req);
	const tenant = await db
		.prepare(TENANT_BY_ID_SQL.replace("SELECT ", "SELECT t.name, "))
		.bind(tenantId)
		.first<TenantRow & { name: string }>();
	if (!tenant) throw new ApiError(404, "not_found", "Tenant not found.");
	const used = new Set<string>();
	const ctx = reportContext(db, tenantId, { ...tenant, stamp: null }, now);
	const out = await Promise.all(
		target.items.map(async ({ report, kind, query }): Promise<Section> => {
			const name = sheetName(report?.name ?? "Query", used);
			const tag = req.board_id ? { tag: { report: report!.name } } : {};
			try {
				if (kind !== "query") {
					const answer = await answerReport(kind, query, ctx);
					const t = kindTable(kind, answer, name);
					return { report, kind, query, answer, range: rangeOf(answer), error: null, head: { ...t.head, ...tag }, rows: t.rows, kpis: withKpis ? kindKpis(kind, answer) : null };
				}
				const answer = await answerQuery(db, tenantId, query, { ...tenant, stamp: null }, now);
				const t = answerTable(answer, name);
				let kpis: Kpi[] | null = null;
				if (withKpis) {
					const meta = answer.meta as { granularity: string | null; dimensions: string[] };
					const totals = meta.granularity == null && meta.dimensions.length === 0 ? answer : await answerQuery(db, tenantId, totalsQuery(query), { ...tenant, stamp: null }, now).catch(() => null);
					kpis = totals ? kpisOf(totals) : null;
				}
				return { report, kind, query, answer, range: rangeOf(answer), error: null, head: { ...t.head, ...tag }, rows: t.rows, kpis };
			} catch (err) {
				// A query saved long ago may no longer run (archived range, a dropped rollup setting): a single
				// report or a query fails the export; a board keeps its other reports and says which failed.
				if (!req.board_id || !(err instanceof ApiError)) throw err;
				return { report, kind, query, answer: null, range: null, error: { code: err.code, message: err.message }, head: { name, columns: [{ name: "error", type: "string" }], tag: { report: report!.name } }, rows: [[err.message]] };
			}
		}),
	);
	return { title: target.title, tenant, sections: out };
}

/** An Excel sheet name: at most 31 characters, none of []:*?/\, unique in the workbook (case-insensitive). */
export function sheetName(name: string, used: Set<string>): string {
	const base = name.replace(/[[\]:*?/\\]/g, " ").replace(/\s+/g, " ").replace(/^'+|'+$/g, "").trim().slice(0, 31).trim() || "Sheet";
	let n = base;
	for (let i = 2; used.has(n.toLowerCase()); i++) n = `${base.slice(0, 31 - String(i).length - 1)} ${i}`;
	used.add(n.toLowerCase());
	return n;
}
