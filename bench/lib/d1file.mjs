// The local D1 database file of a Miniflare persist directory, and bulk loads into it with the
// runtime stopped (node:sqlite): how the benchmarks seed millions of events in a minute or two.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { progress, ROOT, wrangler } from "../../scripts/lib.mjs";

const D1_DIR = join("v3", "d1", "miniflare-D1DatabaseObject");

/** The D1 database file of a persist dir: the *.sqlite that has an `events` table. */
export function findD1File(persist) {
	const dir = join(persist, D1_DIR);
	for (const f of existsSync(dir) ? readdirSync(dir) : []) {
		if (!f.endsWith(".sqlite") || f === "metadata.sqlite") continue;
		const db = new DatabaseSync(join(dir, f), { readOnly: true });
		try {
			if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get()) return join(dir, f);
		} finally {
			db.close();
		}
	}
	throw new Error(`no D1 sqlite file with an events table under ${dir.replace(`${ROOT}/`, "")}`);
}

/** A short hash of files under `dirs` (relative to the repository) whose names match `re`: part of a cache key. */
export function sourceHash(dirs, re = /\.(ts|sql)$/) {
	const h = createHash("sha256");
	for (const d of dirs) for (const f of readdirSync(join(ROOT, d), { recursive: true }).sort()) if (re.test(f)) h.update(f).update(readFileSync(join(ROOT, d, f)));
	return h.digest("hex").slice(0, 10);
}

/**
 * Inserts rows into the D1 file `file` with one prepared statement `sql`: `fill(insert)` calls
 * `insert(...params)` once per row. Returns the rows inserted and the file's journal mode.
 *
 * Bulk load: no journal, no fsync, a large cache, and the events table's secondary indexes built
 * once at the end (1.5x the rows/s). A failed load is thrown away, so no journal is needed. The
 * file gets its own journal mode back for workerd, and the indexes are re-created from their exact DDL.
 */
export function bulkLoad(file, sql, fill) {
	const db = new DatabaseSync(file);
	try {
		const mode = db.prepare("PRAGMA journal_mode").get().journal_mode;
		db.exec("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY;");
		const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL").all();
		for (const i of indexes) db.exec(`DROP INDEX "${i.name}"`);
		const stmt = db.prepare(sql);
		let n = 0;
		db.exec("BEGIN");
		fill((...params) => {
			stmt.run(...params);
			if (++n % 100_000 === 0) db.exec("COMMIT; BEGIN");
		});
		db.exec("COMMIT");
		for (const i of indexes) db.exec(i.sql);
		db.exec(`PRAGMA journal_mode = ${mode}`);
		return { rows: n, journal_mode: mode };
	} finally {
		db.close();
	}
}

/**
 * A fresh local D1 (migrations applied in `tmp`) filled with `total` events, and the same events as
 * CSV lines in `csvPath` (for DuckDB); then the D1 state moves to `into`/v3. `each(add)` calls
 * `add(params, csvLine)` once per event (params of `sql`). Checks the count; returns timings.
 */
export function seedEvents({ tmp, into, sql, csvPath, total, label, each }) {
	rmSync(tmp, { recursive: true, force: true });
	wrangler(["d1", "migrations", "apply", "DB", "--local"], { persistTo: tmp });
	const file = findD1File(tmp);
	const fd = openSync(csvPath, "w");
	const every = Math.max(1, Math.floor(total / 200));
	let csv = [];
	let n = 0;
	const t0 = performance.now();
	const { journal_mode } = bulkLoad(file, sql, (insert) =>
		each((params, line) => {
			insert(...params);
			csv.push(line);
			if (csv.length === 20_000) {
				writeSync(fd, csv.join(""));
				csv = [];
			}
			if (++n % every === 0 || n === total) progress(label, n, total);
		}),
	);
	writeSync(fd, csv.join(""));
	closeSync(fd);
	const seconds = (performance.now() - t0) / 1000;
	const db = new DatabaseSync(file, { readOnly: true });
	const count = db.prepare("SELECT count(*) AS n FROM events").get().n;
	db.close();
	if (count !== total) throw new Error(`generated ${total} events but the D1 file holds ${count}`);
	rmSync(join(into, "v3"), { recursive: true, force: true });
	renameSync(join(tmp, "v3"), join(into, "v3"));
	rmSync(tmp, { recursive: true, force: true });
	return { seconds: Math.round(seconds * 10) / 10, events_per_s: Math.round(total / seconds), journal_mode };
}
