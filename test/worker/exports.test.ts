import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
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
}, 120_000);

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
