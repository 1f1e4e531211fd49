// Exports end to end, outside the Workers pool (DuckDB cannot run inside workerd): a real `wrangler
// dev`, events sent through the ingest API, exports run by the tenant's ExportRunner alarms as in
// production, the files downloaded and read back by DuckDB (@duckdb/node-api), compared row by row
// with the events in the local D1 file. Then an export made of many small steps (EXPORT_RUN_BUDGET_MS
// = 0: one page per alarm) is interrupted by SIGKILLs of the runtime, and must finish whole and exact.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { DuckDBInstance } from "@duckdb/node-api";
import { DEV, startServer } from "./server.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[exports +${Math.round(performance.now())}ms]`, ...a);
const DAY = 86_400_000;
const T0 = Math.floor(Date.now() / DAY) * DAY - 3 * DAY;
const RANGE = { from: new Date(T0).toISOString().slice(0, 10), to: new Date(T0 + 2 * DAY).toISOString().slice(0, 10) };
const TRICKY = ["a,b", 'say "hi"', "line1\nline2", "Zoë 東京 🎉", "  padded  "];

let server;
let dir;
let duck;
let passed = 0;
const TESTS = 2;

async function sendEvents(n, tag) {
	for (let i = 0; i < n; i += 500) {
		const events = Array.from({ length: Math.min(500, n - i) }, (_, k) => {
			const j = i + k;
			return { event: j % 4 ? "page_view" : "purchase", user_id: `${tag}-${j % 50}-${TRICKY[j % TRICKY.length]}`, message_id: `${tag}-${j}`, timestamp: new Date(T0 + 3_600_000 + j * 1_000).toISOString(), properties: { j, note: TRICKY[j % TRICKY.length], amount: j % 4 ? null : j / 4 } };
		});
		const res = await server.fetch("/v1/events", { method: "POST", key: DEV.ingestKey, json: { events } });
		assert.equal(res.status, 200, await res.text());
	}
	await server.waitFlushed();
}

async function exportDone(body, { onPoll } = {}) {
	const res = await server.fetch("/v1/exports", { method: "POST", key: DEV.readKey, json: body });
	const created = await res.json();
	assert.equal(res.status, 202, JSON.stringify(created));
	for (const until = Date.now() + 120_000; Date.now() < until; await sleep(200)) {
		let x;
		try {
			x = await (await server.fetch(`/v1/exports/${created.id}`, { key: DEV.readKey })).json();
		} catch {
			continue; // the runtime is being restarted
		}
		if (onPoll) await onPoll(x);
		if (x.state === "done" || x.state === "failed") return x;
	}
	throw new Error(`export ${created.id} did not finish in 120 s`);
}

async function download(x, name) {
	const res = await fetch(x.download_url);
	assert.equal(res.status, 200);
	const file = join(dir, name);
	writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
	return file;
}

/** The dev tenant's events of the range as D1 holds them, in file order, as DuckDB will show them. */
function d1Events(tag) {
	return server
		.d1(
			`SELECT message_id, timestamp, event, user_id, received_at, properties FROM events WHERE tenant_id = ? AND timestamp >= ? AND timestamp < ? AND message_id LIKE ? ORDER BY timestamp, rowid`,
			DEV.tenant,
			Date.parse(RANGE.from),
			Date.parse(RANGE.to) + DAY,
			`${tag}-%`,
		)
		.map((r) => ({ ...r, properties: JSON.parse(r.properties) }));
}

async function duckRows(sql) {
	const c = await duck.connect();
	return (await c.runAndReadAll(sql)).getRowObjectsJS();
}

before(
	async () => {
		dir = mkdtempSync(join(tmpdir(), "edgewise-e2e-exports-"));
		server = await startServer({ name: "edgewise-e2e-exports", log, vars: { EXPORT_RUN_BUDGET_MS: "0" } });
		duck = await DuckDBInstance.create(":memory:");
	},
	{ timeout: 240_000 },
);

after(async () => {
	await server?.cleanup({ keepOnFailure: true, failed: passed < TESTS });
	if (dir) rmSync(dir, { recursive: true, force: true });
});

test("DuckDB reads the Parquet and the gzipped CSV of raw events, row for row as in D1", { timeout: 240_000 }, async () => {
	await sendEvents(1_500, "dk");
	const want = d1Events("dk");
	assert.equal(want.length, 1_500);
	const filters = [["contains", "prop:note", ""], ["is", "event", ["page_view", "purchase"]]];
	const pq = await exportDone({ format: "parquet", events: { date_range: RANGE, filters: filters.slice(1) } });
	assert.equal(pq.state, "done", JSON.stringify(pq));
	const pfile = await download(pq, "events.parquet");
	const prow = await duckRows(`SELECT message_id, epoch_ms(timestamp) AS timestamp, event, user_id, epoch_ms(received_at) AS received_at, properties FROM '${pfile}' WHERE message_id LIKE 'dk-%'`);
	assert.deepEqual(
		prow.map((r) => ({ ...r, timestamp: Number(r.timestamp), received_at: Number(r.received_at), properties: JSON.parse(r.properties) })),
		want,
	);
	const cg = await exportDone({ format: "csv", gzip: true, events: { date_range: RANGE } });
	const cfile = await download(cg, "events.csv.gz");
	const crow = await duckRows(`SELECT message_id, epoch_ms(timestamp::TIMESTAMPTZ) AS timestamp, event, user_id, epoch_ms(received_at::TIMESTAMPTZ) AS received_at, properties FROM read_csv('${cfile}', header = true, all_varchar = true) WHERE message_id LIKE 'dk-%'`);
	assert.deepEqual(
		crow.map((r) => ({ ...r, timestamp: Number(r.timestamp), received_at: Number(r.received_at), properties: JSON.parse(r.properties) })),
		want,
	);
	passed++;
});

test("an export interrupted by SIGKILLs of the runtime resumes from its checkpoints and finishes whole", { timeout: 300_000 }, async () => {
	await sendEvents(30_000, "ck");
	const want = d1Events("ck");
	let kills = 0;
	let seenRunning = false;
	const x = await exportDone(
		{ format: "csv", events: { date_range: RANGE, filters: [["contains", "prop:note", ""]] } },
		{
			onPoll: async (s) => {
				if (s.state !== "running" || kills >= 2 || s.progress < 0.2 * (kills + 1)) return;
				seenRunning = true;
				// Not downloadable while running: nothing looks complete.
				assert.equal((await server.fetch(`/v1/exports/${s.id}/download`, { key: DEV.readKey })).status, 409);
				log(`SIGKILL at ${s.rows} rows (${Math.round(s.progress * 100)}%)`);
				await server.crashAndRestart();
				kills++;
			},
		},
	);
	assert.ok(seenRunning, "the export was seen running");
	assert.ok(kills >= 1, "the runtime was killed mid-export");
	assert.equal(x.state, "done", JSON.stringify(x));
	const file = await download(x, "events.csv");
	const rows = await duckRows(`SELECT message_id, epoch_ms(timestamp::TIMESTAMPTZ) AS timestamp, event, user_id, epoch_ms(received_at::TIMESTAMPTZ) AS received_at, properties FROM read_csv('${file}', header = true, all_varchar = true) WHERE message_id LIKE 'ck-%'`);
	assert.equal(rows.length, want.length);
	assert.deepEqual(
		rows.map((r) => ({ ...r, timestamp: Number(r.timestamp), received_at: Number(r.received_at), properties: JSON.parse(r.properties) })),
		want,
	);
	assert.equal(x.rows, x.expected_rows);
	passed++;
});
