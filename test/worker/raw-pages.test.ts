import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { rawPages } from "../../workers/rollup/store";
import { makeTenant } from "../helpers";
import { dataset, insertRows } from "../rollup-data";

it("rawPages returns every event of the range once, across pages whose boundary splits equal timestamps, with the asked properties", async () => {
	const t = await makeTenant("pages", {});
	const FROM = Date.UTC(2026, 10, 2);
	const rows = dataset(3, 6_000, FROM, FROM + 3_600_000, "pg");
	// 3,000 events on one millisecond: the first page (2,000 rows) ends in the middle of them.
	for (let i = 0; i < 3_000; i++) rows[i]!.timestamp = FROM + 1_000;
	rows[0]!.properties = { "plan tier.v2": "pro", duration: 12.5 };
	await insertRows(t.id, rows);
	const seen = new Map<number, unknown[]>();
	let pages = 0;
	for await (const page of rawPages(env.DB, t.id, FROM, FROM + 3_600_000, ["duration", "plan tier.v2", "missing"])) {
		pages++;
		for (const r of page) {
			const rowid = (r as unknown as unknown[])[9] as number;
			expect(seen.has(rowid)).toBe(false);
			seen.set(rowid, r);
		}
	}
	expect(pages).toBeGreaterThan(1);
	expect(seen.size).toBe(rows.length);
	// Values come back typed as ingested; absent properties as null.
	const first = [...seen.values()].find((r) => (r[8] as unknown[])[1] === "pro")!;
	expect(first[8]).toEqual([12.5, "pro", null]);
	const key = (e: unknown[]) => JSON.stringify(e);
	const got = [...seen.values()].map((r) => key([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], (r[8] as unknown[])[0]])).sort();
	const want = rows.map((r) => key([r.event, r.user_id, r.anonymous_id, r.timestamp, r.country, r.device, r.browser, r.os, r.properties.duration ?? null])).sort();
	expect(got).toEqual(want);
	// A range and an extra condition (the rollups' rowid window) narrow it.
	const ids = [...seen.keys()].sort((a, b) => a - b);
	let n = 0;
	for await (const page of rawPages(env.DB, t.id, FROM, FROM + 3_600_000, [], { sql: " AND rowid > ?5 AND rowid <= ?6", params: [ids[99]!, ids[199]!] })) n += page.length;
	expect(n).toBe(100);
});
