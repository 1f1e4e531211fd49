import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { parquetReadObjects } from "hyparquet";
import { ungzip } from "pako";
import { extractText, getDocumentProxy } from "unpdf";
import * as XLSX from "xlsx";
import { beforeAll, describe, expect, it } from "vitest";
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
