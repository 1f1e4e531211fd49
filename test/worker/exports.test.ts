import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { parquetReadObjects } from "hyparquet";
import { ungzip } from "pako";
import { extractText, getDocumentProxy } from "unpdf";
import * as XLSX from "xlsx";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { exportsCron, readExport, signedDownloadUrl, startExport } from "../../workers/exports";
import { formatNumber } from "../../workers/exports/formats/pdf";
import { PART_BYTES } from "../../workers/exports/sink";
import { runExport, SimulatedCrash } from "../../workers/exports/run";
import { ADMIN, BASE, call, json, makeTenant } from "../helpers";
import { dataset, insertRows, type Row } from "../rollup-data";

// Exports through the real worker: real local D1 and R2, runs driven by hand (EXPORT_DELAY_MS keeps
// the runner's alarm from firing on its own). Files are read back by readers that share no code with
// the writers: a strict RFC 4180 parser written here, JSON.parse, hyparquet, SheetJS, pdf.js (unpdf).
// DuckDB reads the Parquet and gzip files too, outside the Workers pool (test/e2e/exports.test.mjs).

// Files are written and read back whole: give each test time on a busy machine (no timing is asserted).
vi.setConfig({ testTimeout: 60_000 });

const FROM = Date.UTC(2026, 10, 2);
const TO = Date.UTC(2026, 10, 9);
const RANGE = { from: "2026-11-02", to: "2026-11-08" };

type Tenant = Awaited<ReturnType<typeof makeTenant>>;
let a: Tenant;
let b: Tenant;
let big: Tenant;

/** Events with 3 KB of hard-to-compress text each: files of several 5 MiB parts from a few thousand rows. */
function bulky(n: number): Row[] {
	let x = 12345;
	const noise = () => {
		let s = "";
		while (s.length < 3_000) {
			x = (x * 1103515245 + 12345) % 2147483648;
			s += x.toString(36);
		}
		return s.slice(0, 3_000);
	};
	return Array.from({ length: n }, (_, i) => ({
		message_id: `big-${i}`,
		event: i % 3 ? "page_view" : "purchase",
		user_id: `u${i % 97}`,
		anonymous_id: null,
		timestamp: FROM + i * 60_000,
		country: ["US", "FR", null][i % 3]!,
		device: "mobile",
		browser: "Safari",
		os: "iOS",
		properties: { i, blob: noise(), amount: i % 3 ? null : i * 1.5 },
	}));
}

const TRICKY: Row[] = (
	[
	["comma", "a,b"],
	["quote", 'say "hi"'],
	["newline", "line1\nline2"],
	["crlf", "x\r\ny"],
	["unicode", "Zoë 東京 🎉 Ωμέγα"],
	["leading space", "  padded  "],
	["empty props", ""],
	] as const
).map(([name, value], i) => ({
	message_id: `tricky-${i}`,
	event: "tricky",
	user_id: value,
	anonymous_id: null,
	timestamp: FROM + 3_600_000 + i * 1000,
	country: i % 2 ? "FR" : null,
	device: "desktop",
	browser: "Chrome",
	os: "Linux",
	// Nested values are stored as sent (insertRows writes the JSON); Row's type only names flat ones.
	properties: { name, value, nested: { list: [1, 2, value] } } as unknown as Row["properties"],
}));

beforeAll(async () => {
	a = await makeTenant("exp-a", { name: "Exports A" });
	b = await makeTenant("exp-b", { name: "Exports B" });
	await insertRows(a.id, dataset(31, 3_000, FROM, TO, "ea"));
	await insertRows(a.id, TRICKY);
	await insertRows(b.id, dataset(32, 500, FROM, TO, "eb"));
	big = await makeTenant("exp-big", { name: "Exports Big" });
	await insertRows(big.id, bulky(4_000));
}, 180_000);

const post = (key: string, body: unknown) => call("/v1/exports", { method: "POST", key, json: body });

/** Starts an export through the API and runs it to the end by hand; returns its final JSON. */
async function exportNow(key: string, body: unknown): Promise<any> {
	const res = await post(key, body);
	const created = await json(res);
	expect(res.status, JSON.stringify(created)).toBe(202);
	for (let i = 0; i < 200; i++) {
		const outcome = await runExport(env, created.id);
		if (outcome === "done" || outcome === "failed") break;
	}
	return json(await call(`/v1/exports/${created.id}`, { key }));
}

async function fileOf(key: string, id: string): Promise<Uint8Array> {
	const res = await call(`/v1/exports/${id}/download`, { key });
	expect(res.status).toBe(200);
	return new Uint8Array(await res.arrayBuffer());
}

/** A strict RFC 4180 reader: quoted fields with doubled quotes, CRLF records; anything else throws. */
function parseCsv(text: string): string[][] {
	const rows: string[][] = [];
	let row: string[] = [];
	let i = 0;
	const field = (): string => {
		if (text[i] === '"') {
			let out = "";
			i++;
			for (;;) {
				if (i >= text.length) throw new Error("unterminated quote");
				if (text[i] === '"') {
					if (text[i + 1] === '"') {
						out += '"';
						i += 2;
					} else {
						i++;
						return out;
					}
				} else out += text[i++];
			}
		}
		let out = "";
		while (i < text.length && text[i] !== "," && text[i] !== "\r") {
			if (text[i] === '"' || text[i] === "\n") throw new Error(`bare ${JSON.stringify(text[i])} at ${i}`);
			out += text[i++];
		}
		return out;
	};
	while (i < text.length) {
		row.push(field());
		if (text[i] === ",") {
			i++;
			continue;
		}
		if (text.slice(i, i + 2) !== "\r\n") throw new Error(`expected CRLF at ${i}`);
		i += 2;
		rows.push(row);
		row = [];
	}
	return rows;
}

/** The tenant's events of the range as D1 holds them, in file order. */
async function eventsOf(tenantId: string, where = "1=1", ...binds: unknown[]) {
	const { results } = await env.DB.prepare(
		`SELECT message_id, timestamp, event, type, user_id, anonymous_id, received_at, country, region, city, device, browser, os, is_bot, properties
		FROM events WHERE tenant_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 AND ${where} ORDER BY timestamp, rowid`,
	)
		.bind(tenantId, FROM, TO, ...binds)
		.all<Record<string, any>>();
	return results;
}

const iso = (ms: number) => new Date(ms).toISOString();

describe("events exports", () => {
	it("CSV: RFC 4180 quoting of commas, quotes, line breaks and unicode, every row as in D1", async () => {
		const done = await exportNow(a.readKey, { format: "csv", events: { date_range: RANGE } });
		expect(done.state, JSON.stringify(done)).toBe("done");
		const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(await fileOf(a.readKey, done.id));
		const rows = parseCsv(text);
		const want = await eventsOf(a.id);
		expect(done.rows).toBe(want.length);
		expect(done.expected_rows).toBe(want.length);
		expect(rows.length).toBe(want.length + 1);
		expect(rows[0]).toEqual(["message_id", "timestamp", "event", "type", "user_id", "anonymous_id", "received_at", "country", "region", "city", "device", "browser", "os", "is_bot", "properties"]);
		rows.slice(1).forEach((r, i) => {
			const e = want[i]!;
			expect(r).toEqual([e.message_id, iso(e.timestamp), e.event, e.type, e.user_id ?? "", e.anonymous_id ?? "", iso(e.received_at), e.country ?? "", "", "", e.device ?? "", e.browser ?? "", e.os ?? "", String(e.is_bot), e.properties]);
		});
		// The tricky values, as sent.
		const byId = new Map(rows.map((r) => [r[0], r]));
		for (const t of TRICKY) {
			expect(byId.get(t.message_id)![4]).toBe(t.user_id);
			expect(JSON.parse(byId.get(t.message_id)![14]!)).toEqual(t.properties);
		}
		expect(text).toContain('"say ""hi"""');
		expect(text).toContain('"line1\nline2"');
	});

	it("NDJSON (gzip): one JSON object a line, typed, the same rows", async () => {
		const done = await exportNow(a.readKey, { format: "ndjson", gzip: true, events: { date_range: RANGE, filters: [["is", "event", ["tricky", "purchase"]]] } });
		expect(done.state, JSON.stringify(done)).toBe("done");
		expect(done.file_name).toMatch(/\.ndjson\.gz$/);
		const res = await call(`/v1/exports/${done.id}/download`, { key: a.readKey });
		expect(res.headers.get("content-type")).toBe("application/gzip");
		const plain = await new Response(res.body!.pipeThrough(new DecompressionStream("gzip"))).text();
		const lines = plain.trimEnd().split("\n").map((l) => JSON.parse(l));
		const want = await eventsOf(a.id, "event IN ('tricky', 'purchase')");
		expect(lines.length).toBe(want.length);
		lines.forEach((l, i) => {
			const e = want[i]!;
			expect(l).toEqual({ ...e, timestamp: iso(e.timestamp), received_at: iso(e.received_at), properties: JSON.parse(e.properties) });
		});
	});
});

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());
const objectsOf = async (tenantId: string, id: string) => (await env.ARCHIVE.list({ prefix: `exports/${tenantId}/${id}/` })).objects.map((o) => o.key);
const rowOf = (id: string) => env.DB.prepare("SELECT * FROM exports WHERE id = ?1").bind(id).first<any>();

/** Parquet rows (hyparquet: an independent reader) with times as epoch ms and BigInts as numbers. */
async function readParquet(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
	const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
	// hyparquet decompresses GZIP pages with the function it is given (here pako's, not the writer's CompressionStream).
	const rows = (await parquetReadObjects({ file, compressors: { GZIP: (input: Uint8Array) => ungzip(input) } })) as Record<string, unknown>[];
	return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v])));
}

describe("a long export in steps: progress, a crash, the row count", () => {
	for (const format of ["csv", "parquet", "xlsx"] as const) {
		it(`${format}: moves in checkpoints, survives a crash mid-export, and the file shows only when complete`, async () => {
			const res = await post(big.readKey, { format, events: { date_range: RANGE } });
			const created = await json(res);
			expect(res.status, JSON.stringify(created)).toBe(202);
			expect(created.state).toBe("queued");
			const id = created.id as string;
			const progress: number[] = [];
			// Budget 0: each run writes one page, then checkpoints.
			for (let i = 0; i < 4; i++) {
				expect(await runExport(env, id, { budgetMs: 0 })).toBe("more");
				const now = await json(await call(`/v1/exports/${id}`, { key: big.readKey }));
				expect(now.state).toBe("running");
				progress.push(now.progress);
				// Not downloadable, and nothing at the file's key: only the checkpoint's carry object.
				expect((await call(`/v1/exports/${id}/download`, { key: big.readKey })).status).toBe(409);
				expect((await objectsOf(big.id, id)).every((k) => k.includes("/.carry-"))).toBe(true);
			}
			expect(progress.every((p, i) => p > 0 && p < 1 && (i === 0 || p > progress[i - 1]!))).toBe(true);
			const before = await rowOf(id);
			expect(JSON.parse(before.parts).length).toBeGreaterThan(0);
			// A crash in the middle of a step: the lease is still held, the upload open, nothing cleaned up.
			await expect(runExport(env, id, { crashAfterPages: 2 })).rejects.toBeInstanceOf(SimulatedCrash);
			expect(await runExport(env, id)).toBe("busy");
			expect((await call(`/v1/exports/${id}/download`, { key: big.readKey })).status).toBe(409);
			// Its lease runs out (the clock moved on): the next run resumes from the last checkpoint.
			await env.DB.prepare("UPDATE exports SET lease_until = 1 WHERE id = ?1").bind(id).run();
			let outcome = "";
			for (let i = 0; i < 20 && outcome !== "done"; i++) outcome = await runExport(env, id);
			expect(outcome).toBe("done");
			const done = await json(await call(`/v1/exports/${id}`, { key: big.readKey }));
			expect(done).toMatchObject({ state: "done", rows: 4_000, expected_rows: 4_000, progress: 1, error: null });
			expect(done.bytes).toBeGreaterThan(PART_BYTES);
			expect(await objectsOf(big.id, id)).toEqual([`exports/${big.id}/${id}/${done.file_name}`]);
			const file = await fileOf(big.readKey, id);
			expect(file.length).toBe(done.bytes);
			const want = await eventsOf(big.id);
			if (format === "csv") {
				const rows = parseCsv(new TextDecoder().decode(file)).slice(1);
				expect(rows.map((r) => [r[0], r[14]])).toEqual(want.map((e) => [e.message_id, e.properties]));
			} else if (format === "parquet") {
				const rows = await readParquet(file);
				expect(rows.map((r) => [r.message_id, r.timestamp, r.properties])).toEqual(want.map((e) => [e.message_id, e.timestamp, e.properties]));
			} else {
				const wb = XLSX.read(file, { type: "array", dense: true });
				const rows = XLSX.utils.sheet_to_json<unknown[]>(wb.Sheets[wb.SheetNames[0]!]!, { header: 1, raw: true }).slice(1);
				expect(rows.map((r) => [r[0], r[14]])).toEqual(want.map((e) => [e.message_id, e.properties]));
			}
		}, 120_000);
	}

	it("a run that finds fewer rows than it counted at the start fails, and leaves no file", async () => {
		const created = await json(await post(big.readKey, { format: "csv", events: { date_range: RANGE, filters: [["is", "event", "purchase"]] } }));
		expect(await runExport(env, created.id, { budgetMs: 0 })).toBe("more");
		// Rows of the range disappear while it runs (as the archive would move them to R2).
		const gone = await env.DB.prepare("DELETE FROM events WHERE tenant_id = ?1 AND message_id IN ('big-3990', 'big-3993') RETURNING message_id").bind(big.id).all();
		expect(gone.results.length).toBe(2);
		let outcome = "";
		for (let i = 0; i < 40 && outcome !== "failed" && outcome !== "done"; i++) outcome = await runExport(env, created.id);
		expect(outcome).toBe("failed");
		const failed = await json(await call(`/v1/exports/${created.id}`, { key: big.readKey }));
		expect(failed.state).toBe("failed");
		expect(failed.error.code).toBe("rows_changed");
		expect(await objectsOf(big.id, created.id)).toEqual([]);
		expect((await rowOf(created.id)).upload_id).toBeNull();
		expect((await call(`/v1/exports/${created.id}/download`, { key: big.readKey })).status).toBe(409);
	});
});

describe("Parquet and XLSX of raw events, read back row by row", () => {
	it("Parquet: typed columns (strings, UTC timestamps, integers), every row as in D1", async () => {
		const done = await exportNow(a.readKey, { format: "parquet", events: { date_range: RANGE, filters: [["is", "country", ["FR", null]]] } });
		expect(done.state, JSON.stringify(done)).toBe("done");
		const rows = await readParquet(await fileOf(a.readKey, done.id));
		const want = await eventsOf(a.id, "(country = 'FR' OR country IS NULL)");
		expect(rows.length).toBe(want.length);
		expect(rows).toEqual(want.map((e) => ({ ...e, region: null, city: null })));
	});

	it("XLSX: a real spreadsheet, numbers and dates typed, the header row first", async () => {
		const done = await exportNow(a.readKey, { format: "xlsx", events: { date_range: RANGE, filters: [["is", "event", "tricky"]] } });
		expect(done.state, JSON.stringify(done)).toBe("done");
		const wb = XLSX.read(await fileOf(a.readKey, done.id), { type: "array", cellDates: true });
		expect(wb.SheetNames).toEqual(["events"]);
		const sheet = wb.Sheets.events!;
		expect(sheet.B2!.t).toBe("d");
		expect(sheet.N2!.t).toBe("n");
		const rows = XLSX.utils.sheet_to_json<Record<string, unknown>>(sheet, { raw: true, defval: null });
		const want = await eventsOf(a.id, "event = 'tricky'");
		// A date is a day count in a double: the reader rounds it back to the millisecond, give or take one.
		const ms = (d: unknown, exact: number) => (Math.abs((d as Date).getTime() - exact) <= 1 ? exact : (d as Date).getTime());
		expect(rows.map((r, i) => ({ ...r, timestamp: ms(r.timestamp, want[i]!.timestamp), received_at: ms(r.received_at, want[i]!.received_at) }))).toEqual(want);
	});
});

// ── query answers: ad-hoc queries, saved reports, boards ──

const SERIES = { metrics: ["count", "uniques", { name: "buyers", metric: "uniques", filters: [["is", "event", "purchase"]] }], date_range: RANGE, granularity: "day", dimensions: ["country"], compare: "previous_period" };
const BREAKDOWN = { metrics: ["count", "avg:duration"], date_range: RANGE, dimensions: ["event", "device"], order_by: [["count", "desc"]] };
const KPIS = { metrics: ["count", "uniques", "sum:amount"], date_range: RANGE, compare: "previous_period" };
const HEAT = { metrics: ["count"], date_range: RANGE, dimensions: ["day_of_week", "hour_of_day"] };

const answer = async (key: string, q: unknown) => {
	const res = await call("/v1/query", { method: "POST", key, json: q });
	expect(res.status).toBe(200);
	return json(res);
};

/** The answer's rows as the export flattens them: time, dimensions, metrics, then previous / change / change_pct per metric. */
function flat(ans: any): unknown[][] {
	return ans.results.map((r: any) => [
		...(r.time !== undefined ? [r.time] : []),
		...r.dimensions,
		...r.metrics,
		...(r.comparison ? r.metrics.flatMap((_: unknown, i: number) => [r.comparison.metrics[i], r.comparison.change[i], r.comparison.change_pct[i]]) : []),
	]);
}

describe("exports of a query's answer, compared row by row with POST /v1/query", () => {
	it("CSV, NDJSON, Parquet and XLSX of a time series with a comparison", async () => {
		const ans = await answer(a.readKey, SERIES);
		const want = flat(ans);
		expect(want.length).toBeGreaterThan(10);
		const header = ["time", "country", "count", "uniques", "buyers", "count_previous", "count_change", "count_change_pct", "uniques_previous", "uniques_change", "uniques_change_pct", "buyers_previous", "buyers_change", "buyers_change_pct"];

		const csv = await exportNow(a.readKey, { format: "csv", query: SERIES });
		expect(csv).toMatchObject({ state: "done", kind: "query", rows: want.length });
		const rows = parseCsv(new TextDecoder().decode(await fileOf(a.readKey, csv.id)));
		expect(rows[0]).toEqual(header);
		expect(rows.slice(1)).toEqual(want.map((r) => r.map((v) => (v == null ? "" : String(v)))));

		const nd = await exportNow(a.readKey, { format: "ndjson", query: SERIES });
		const lines = new TextDecoder().decode(await fileOf(a.readKey, nd.id)).trimEnd().split("\n").map((l) => JSON.parse(l));
		expect(lines.map((l) => header.map((h) => l[h]))).toEqual(want);

		const pq = await exportNow(a.readKey, { format: "parquet", query: SERIES });
		const prow = await readParquet(await fileOf(a.readKey, pq.id));
		// Times are instants in Parquet (the answer's local time with its offset, as a UTC timestamp).
		expect(prow.map((r) => header.map((h) => (h === "time" ? new Date(r[h] as number).toISOString() : r[h])))).toEqual(want.map((r) => [new Date(r[0] as string).toISOString(), ...r.slice(1)]));

		const xl = await exportNow(a.readKey, { format: "xlsx", query: SERIES });
		const wb = XLSX.read(await fileOf(a.readKey, xl.id), { type: "array", cellDates: true });
		const sheet = wb.Sheets[wb.SheetNames[0]!]!;
		expect(sheet.A2!.t).toBe("d");
		const xrows = XLSX.utils.sheet_to_json<unknown[]>(sheet, { header: 1, raw: true, defval: null });
		expect(xrows[0]).toEqual(header);
		// A bucket's time is the local wall time (Excel has no zones); the answer writes it with its offset.
		expect(xrows.slice(1).map((r) => [(r[0] as Date).toISOString().slice(0, 19), ...r.slice(1)])).toEqual(want.map((r) => [String(r[0]).slice(0, 19), ...r.slice(1)]));
	});

	it("a saved report with another date range; a board as one sheet per report, and as NDJSON lines tagged with their report", async () => {
		const mk = async (name: string, chart: string, query: unknown) => json(await call("/v1/reports", { method: "POST", key: a.readKey, json: { name, chart, query } }));
		const series = await mk("Daily users by country", "line", SERIES);
		const kpis = await mk("Key numbers", "number", KPIS);
		const breakdown = await mk("Events: by device", "bar", BREAKDOWN);
		const board = json(await call("/v1/boards", { method: "POST", key: a.readKey, json: { name: "Weekly review", layout: [{ report_id: kpis.id }, { report_id: series.id }, { report_id: breakdown.id }] } }));
		const boardId = (await board).id as string;

		const rep = await exportNow(a.readKey, { format: "csv", report_id: breakdown.id, date_range: { from: "2026-11-03", to: "2026-11-04" } });
		expect(rep).toMatchObject({ state: "done", kind: "report" });
		const repRows = parseCsv(new TextDecoder().decode(await fileOf(a.readKey, rep.id))).slice(1);
		const repAnswer = await answer(a.readKey, { ...BREAKDOWN, date_range: { from: "2026-11-03", to: "2026-11-04" } });
		expect(repRows).toEqual(flat(repAnswer).map((r) => r.map((v) => (v == null ? "" : String(v)))));

		const xl = await exportNow(a.readKey, { format: "xlsx", board_id: boardId });
		expect(xl).toMatchObject({ state: "done", kind: "board" });
		const wb = XLSX.read(await fileOf(a.readKey, xl.id), { type: "array" });
		expect(wb.SheetNames).toEqual(["Key numbers", "Daily users by country", "Events by device"]);
		const sheets = [KPIS, SERIES, BREAKDOWN];
		for (const [i, q] of sheets.entries()) {
			const want = flat(await answer(a.readKey, q));
			const got = XLSX.utils.sheet_to_json<unknown[]>(wb.Sheets[wb.SheetNames[i]!]!, { header: 1, raw: true, defval: null }).slice(1);
			// (The series' first column is a date cell: compared in the series test above; here the rest.)
			expect(got.map((r) => (i === 1 ? r.slice(1) : r))).toEqual(want.map((r) => (i === 1 ? r.slice(1) : r)));
		}
		expect(xl.rows).toBe(sheets.length ? (await Promise.all(sheets.map((q) => answer(a.readKey, q)))).reduce((n, x) => n + x.results.length, 0) : 0);

		const nd = await exportNow(a.readKey, { format: "ndjson", board_id: boardId });
		const lines = new TextDecoder().decode(await fileOf(a.readKey, nd.id)).trimEnd().split("\n").map((l) => JSON.parse(l));
		const kpiCols = ["count", "uniques", "sum:amount", ...["count", "uniques", "sum:amount"].flatMap((m) => [`${m}_previous`, `${m}_change`, `${m}_change_pct`])];
		const kpiRow = flat(await answer(a.readKey, KPIS))[0]!;
		expect(lines[0]).toEqual({ report: "Key numbers", ...Object.fromEntries(kpiCols.map((c, i) => [c, kpiRow[i]])) });
		expect(new Set(lines.map((l) => l.report))).toEqual(new Set(["Key numbers", "Daily users by country", "Events: by device"]));

		// The PDF report of the board: it parses, and holds the title, the tenant, the range and every key figure.
		const pdf = await exportNow(a.readKey, { format: "pdf", board_id: boardId });
		expect(pdf).toMatchObject({ state: "done", kind: "board", format: "pdf" });
		const bytes = await fileOf(a.readKey, pdf.id);
		expect(new TextDecoder().decode(bytes.slice(0, 5))).toBe("%PDF-");
		const doc = await getDocumentProxy(bytes);
		expect(doc.numPages).toBeGreaterThanOrEqual(1);
		const { text } = await extractText(doc, { mergePages: true });
		for (const s of ["Weekly review", "Exports A", "exp-a", "Key figures", "Daily users by country", "Events: by device", "2026-11-02", "UTC"]) expect(text).toContain(s);
		for (const q of [KPIS, SERIES, BREAKDOWN]) {
			const { granularity: _g, dimensions: _d, order_by: _o, ...totals } = q as Record<string, unknown>;
			const t = await answer(a.readKey, totals);
			t.results[0].metrics.forEach((v: number) => expect(text).toContain(formatNumber(v)));
			if (t.results[0].comparison) t.results[0].comparison.metrics.forEach((v: number) => expect(text).toContain(formatNumber(v)));
		}
		(globalThis as any).__boardPdf = pdf.id;
	});

	it("a PDF of a single report with a heat map", async () => {
		const heat = await json(await call("/v1/reports", { method: "POST", key: a.readKey, json: { name: "Busy hours", chart: "heatmap", query: HEAT } }));
		const pdf = await exportNow(a.readKey, { format: "pdf", report_id: heat.id });
		expect(pdf.state, JSON.stringify(pdf)).toBe("done");
		const { text } = await extractText(await getDocumentProxy(await fileOf(a.readKey, pdf.id)), { mergePages: true });
		expect(text).toContain("Busy hours");
		expect(text).toContain(formatNumber((await answer(a.readKey, { metrics: ["count"], date_range: RANGE })).results[0].metrics[0]));
	});
});

describe("downloads: signed links, ranges, isolation, expiry", () => {
	let done: any;
	let file: Uint8Array;
	beforeAll(async () => {
		done = await exportNow(a.readKey, { format: "csv", events: { date_range: RANGE, filters: [["is", "event", "purchase"]] } });
		file = await fileOf(a.readKey, done.id);
	});

	it("a signed link works without a key, and answers 403 once altered or expired", async () => {
		expect(done.download_url).toMatch(new RegExp(`^${BASE}/v1/exports/${done.id}/download\\?expires=\\d+&signature=[A-Za-z0-9_-]{43}$`));
		const exp = Date.parse(done.download_url_expires_at);
		expect(exp - Date.now()).toBeGreaterThan(23.9 * 3600_000);
		expect(exp - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
		const res = await call(done.download_url.slice(BASE.length));
		expect(res.status).toBe(200);
		expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${done.file_name}"`);
		expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
		expect(await bytesOf(res)).toEqual(file);

		const url = new URL(done.download_url);
		const sig = url.searchParams.get("signature")!;
		const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
		const tampered = [
			`/v1/exports/${done.id}/download?expires=${url.searchParams.get("expires")}&signature=${flip(sig, 5)}`,
			`/v1/exports/${done.id}/download?expires=${Number(url.searchParams.get("expires")) + 3600}&signature=${sig}`,
			`/v1/exports/exp_${"a".repeat(16)}/download?expires=${url.searchParams.get("expires")}&signature=${sig}`,
			`/v1/exports/${done.id}/download?expires=${url.searchParams.get("expires")}&signature=${sig.slice(0, -1)}`,
		];
		for (const path of tampered) {
			const r = await call(path);
			const body = await json(r);
			expect(r.status, path).toBe(403);
			expect(body.error.code).toBe("invalid_download_link");
			expect(["bad_signature", "malformed"]).toContain(body.error.details.reason);
		}
		// A link signed a day ago for one hour has expired.
		const row = await readExport(env.DB, a.id, done.id);
		const old = await signedDownloadUrl(env, BASE, row!, 3600_000, Date.now() - 86_400_000);
		const r = await call(old.url.slice(BASE.length));
		expect(r.status).toBe(403);
		expect((await json(r)).error.details.reason).toBe("expired");
		// A link for a chosen time, through the API.
		const made = await call(`/v1/exports/${done.id}/link`, { method: "POST", key: a.readKey, json: { expires_in_hours: 1 } });
		const link = await json(made);
		expect(made.status).toBe(201);
		expect(Math.abs(Date.parse(link.expires_at) - Date.now() - 3600_000)).toBeLessThan(5_000);
		expect((await call(link.url.slice(BASE.length))).status).toBe(200);
	});

	it("ranges: 206 with Content-Range, suffix ranges, 416 outside the file", async () => {
		const size = file.length;
		const r1 = await call(`/v1/exports/${done.id}/download`, { key: a.readKey, headers: { range: "bytes=10-99" } });
		expect(r1.status).toBe(206);
		expect(r1.headers.get("content-range")).toBe(`bytes 10-99/${size}`);
		expect(r1.headers.get("accept-ranges")).toBe("bytes");
		expect(await bytesOf(r1)).toEqual(file.slice(10, 100));
		const r2 = await call(done.download_url.slice(BASE.length), { headers: { range: "bytes=-25" } });
		expect(r2.status).toBe(206);
		expect(await bytesOf(r2)).toEqual(file.slice(size - 25));
		const r3 = await call(`/v1/exports/${done.id}/download`, { key: a.readKey, headers: { range: `bytes=${size - 5}-` } });
		expect(await bytesOf(r3)).toEqual(file.slice(size - 5));
		const r4 = await call(`/v1/exports/${done.id}/download`, { key: a.readKey, headers: { range: `bytes=${size}-` } });
		expect(r4.status).toBe(416);
		expect(r4.headers.get("content-range")).toBe(`bytes */${size}`);
		expect((await json(r4)).error.code).toBe("range_not_satisfiable");
	});

	it("another tenant's export answers 404 everywhere, and the history lists only the tenant's own", async () => {
		for (const [method, path, body] of [
			["GET", `/v1/exports/${done.id}`, undefined],
			["GET", `/v1/exports/${done.id}/download`, undefined],
			["POST", `/v1/exports/${done.id}/link`, {}],
		] as const) {
			const r = await call(path, { method, key: b.readKey, ...(body ? { json: body } : {}) });
			expect(r.status, path).toBe(404);
			expect((await json(r)).error).toMatchObject({ code: "not_found", details: { export: done.id } });
		}
		const mine = await json(await call("/v1/exports?limit=100", { key: b.readKey }));
		expect(mine.exports.every((e: any) => e.id !== done.id)).toBe(true);
		// No key, no download (a link needs its signature).
		expect((await call(`/v1/exports/${done.id}/download`)).status).toBe(401);
	});

	it("history: newest first, paginated with next_cursor, filtered by state", async () => {
		const all: any[] = [];
		let cursor: string | null = null;
		do {
			const page: any = await json(await call(`/v1/exports?limit=3${cursor ? `&cursor=${cursor}` : ""}`, { key: a.readKey }));
			expect(page.exports.length).toBeLessThanOrEqual(3);
			all.push(...page.exports);
			cursor = page.next_cursor;
		} while (cursor);
		const { results } = await env.DB.prepare("SELECT id FROM exports WHERE tenant_id = ?1 ORDER BY created_at DESC, id DESC").bind(a.id).all<{ id: string }>();
		expect(all.map((e) => e.id)).toEqual(results.map((r) => r.id));
		const doneOnly = await json(await call("/v1/exports?state=done&limit=100", { key: a.readKey }));
		expect(doneOnly.exports.length).toBeGreaterThan(0);
		expect(doneOnly.exports.every((e: any) => e.state === "done")).toBe(true);
		const bad = await call("/v1/exports?limit=500", { key: a.readKey });
		expect(bad.status).toBe(400);
		expect((await json(bad)).error.details.issues[0].path).toBe("limit");
	});

	it("files expire: the cron deletes them after the tenant's export_days, and the export says so", async () => {
		const other = await exportNow(a.readKey, { format: "ndjson", events: { date_range: RANGE, filters: [["is", "event", "tricky"]] } });
		const row = await readExport(env.DB, a.id, other.id);
		expect(row!.expires_at - row!.created_at).toBe(7 * 86_400_000);
		await env.DB.prepare("UPDATE exports SET expires_at = ?2 WHERE id = ?1").bind(other.id, Date.now() - 1).run();
		const gone = await call(`/v1/exports/${other.id}/download`, { key: a.readKey });
		expect(gone.status).toBe(410);
		const cron = await exportsCron(env);
		expect(cron.expired).toBeGreaterThanOrEqual(1);
		expect(await env.ARCHIVE.head(row!.r2_key!)).toBeNull();
		const after = await json(await call(`/v1/exports/${other.id}`, { key: a.readKey }));
		expect(after).toMatchObject({ state: "done", expired: true });
		expect(after.download_url).toBeUndefined();
		// The tenant's setting is used for new exports.
		await call(`/v1/admin/tenants/${b.id}`, { method: "PATCH", key: ADMIN, json: { export_days: 2 } });
		const two = await readExport(env.DB, b.id, (await json(await post(b.readKey, { format: "csv", query: KPIS }))).id);
		expect(two!.expires_at - two!.created_at).toBe(2 * 86_400_000);
	});
});

describe("requests and the runner", () => {
	it("refuses what it cannot export, naming the field", async () => {
		const cases: [unknown, string][] = [
			[{ format: "csv" }, ""],
			[{ format: "csv", query: KPIS, events: { date_range: RANGE } }, "events"],
			[{ format: "docx", query: KPIS }, "format"],
			[{ format: "parquet", gzip: true, query: KPIS }, "gzip"],
			[{ format: "pdf", events: { date_range: RANGE } }, "format"],
			[{ format: "csv", board_id: `brd_${"a".repeat(16)}` }, "format"],
			[{ format: "xlsx", board_id: `brd_${"a".repeat(16)}` }, "board_id"],
			[{ format: "csv", report_id: `rep_${"a".repeat(16)}` }, "report_id"],
			[{ format: "csv", query: { metrics: ["nope"], date_range: "7d" } }, "query.metrics[0]"],
			[{ format: "csv", events: { date_range: { from: "2026-11-09", to: "2026-11-01" } } }, "events.date_range"],
			[{ format: "csv", events: { date_range: RANGE, filters: [["is", "hour_of_day", 3]] } }, "events.filters[0]"],
			[{ format: "csv", query: KPIS, date_range: "7d" }, "date_range"],
		];
		for (const [body, path] of cases) {
			const r = await post(a.readKey, body);
			const e = await json(r);
			expect(r.status, JSON.stringify(body)).toBe(400);
			expect(e.error.code).toBe("invalid_request");
			expect(e.error.details.issues[0].path, JSON.stringify(e)).toBe(path);
		}
		// An ingest key cannot export.
		expect((await post(a.ingestKey, { format: "csv", query: KPIS })).status).toBe(403);
	});

	it("at most 5 exports of a tenant queued or running at once (409), schedules apart", async () => {
		const t = await makeTenant("exp-limit");
		for (let i = 0; i < 5; i++) expect((await post(t.readKey, { format: "csv", query: KPIS })).status).toBe(202);
		const r = await post(t.readKey, { format: "csv", query: KPIS });
		expect(r.status).toBe(409);
		expect((await json(r)).error).toMatchObject({ code: "limit_reached", details: { resource: "exports", limit: 5 } });
		const scheduled = await startExport(env, t.id, { format: "pdf", query: KPIS }, { scheduleId: "sch_test" });
		expect(scheduled).toMatchObject({ state: "queued", schedule_id: "sch_test", kind: "query", format: "pdf" });
	});

	it("the tenant's runner (a Durable Object alarm) runs its exports to the end; the cron wakes it", async () => {
		const t = await makeTenant("exp-runner");
		await insertRows(t.id, dataset(33, 300, FROM, TO, "er"));
		const ids = [];
		for (const format of ["csv", "parquet", "pdf"]) ids.push((await json(await post(t.readKey, format === "pdf" ? { format, query: KPIS } : { format, events: { date_range: RANGE } }))).id);
		const runner = env.EXPORT_RUNNER.get(env.EXPORT_RUNNER.idFromName(t.id));
		expect(await runDurableObjectAlarm(runner)).toBe(true);
		for (const id of ids) expect((await json(await call(`/v1/exports/${id}`, { key: t.readKey }))).state).toBe("done");
		// A queued export nobody runs (its kick was lost): the cron sets the runner's alarm again.
		const lost = await json(await post(t.readKey, { format: "csv", query: KPIS }));
		await runDurableObjectAlarm(runner); // (runs it: the kick had set the alarm)
		expect((await json(await call(`/v1/exports/${lost.id}`, { key: t.readKey }))).state).toBe("done");
		await env.DB.prepare("INSERT INTO exports (id, tenant_id, kind, format, request, created_at, expires_at) VALUES (?1, ?2, 'query', 'csv', ?3, ?4, ?4 + 86400000)")
			.bind(`exp_${"z".repeat(16)}`, t.id, JSON.stringify({ format: "csv", gzip: false, query: KPIS }), Date.now())
			.run();
		expect((await exportsCron(env)).kicked).toBeGreaterThanOrEqual(1);
		expect(await runDurableObjectAlarm(runner)).toBe(true);
		expect((await readExport(env.DB, t.id, `exp_${"z".repeat(16)}`))!.state).toBe("done");
	});
});
