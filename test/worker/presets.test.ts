import { describe, expect, it } from "vitest";
import { ADMIN, call, json, makeTenant } from "../helpers";
import { insertRows, rollUp } from "../rollup-data";
import { supportDesk } from "../support-data";

const DAY = 86_400_000;

describe("the support preset board", () => {
	it("adds the rollup settings it needs, its 12 reports and a board; answers every tile from rollups and pairs; is idempotent", async () => {
		const t = await makeTenant("preset-support", { timezone: "UTC", dimension_props: ["plan", "path", "a", "b", "c"], metric_props: ["amount"] });
		const admin = await json(await call(`/v1/admin/tenants/${t.id}/keys`, { method: "POST", key: ADMIN, json: { scope: "admin" } }));
		// A read key may build boards, but not change the tenant's rollup settings.
		expect((await call("/v1/boards/presets/support", { method: "POST", key: t.readKey })).status).toBe(403);
		const unknown = await call("/v1/boards/presets/sales", { method: "POST", key: admin.key });
		expect(unknown.status).toBe(404);
		expect((await json(unknown)).error.message).toContain("support");

		const created = await call("/v1/boards/presets/support", { method: "POST", key: admin.key });
		expect(created.status).toBe(201);
		const body = await json(created);
		expect(body.board.layout).toHaveLength(12);
		// The preset's properties first, then as many of the tenant's as fit.
		expect(body.settings.dimension_props).toEqual(["channel", "intent", "sender_type", "agent_id", "plan"]);
		expect(body.settings.metric_props).toEqual(["response_time_ms", "ai_confidence", "score", "amount"]);
		const tenant = await json(await call(`/v1/admin/tenants/${t.id}`, { key: ADMIN }));
		expect(tenant.pairs.map((p: any) => p.name)).toEqual(["first_response", "resolution"]);

		const again = await call("/v1/boards/presets/support", { method: "POST", key: admin.key });
		expect(again.status).toBe(200);
		expect((await json(again)).board.id).toBe(body.board.id);
		expect((await json(await call("/v1/reports", { key: t.readKey }))).reports).toHaveLength(12);

		const now = Date.now();
		const { conversations, rows } = supportDesk(3, 300, now - 28 * DAY, now - 2 * DAY);
		await insertRows(t.id, rows);
		await rollUp();
		const results = await json(await call(`/v1/boards/${body.board.id}/results`, { key: t.readKey }));
		expect(results.tiles.map((x: any) => x.status)).toEqual(Array(12).fill(200));
		// Every part from rollups or pair spans: nothing read raw.
		for (const tile of results.tiles)
			for (const plan of tile.meta.parts?.map((p: any) => p.plan) ?? [tile.meta.plan]) expect(["rollup", "pairs"], `${tile.report.name}: ${tile.meta.raw_reason}`).toContain(plan);
		const tile = (name: string) => results.tiles.find((x: any) => x.report.name === name);
		expect(tile("Conversations started").results[0].metrics[0]).toBe(conversations.length);
		const scores = new Map<number, number>();
		for (const c of conversations) if (c.score != null && c.resolvedAt! + 1000 < now) scores.set(c.score, (scores.get(c.score) ?? 0) + 1);
		expect(tile("CSAT distribution").results.map((r: any) => [r.dimensions[0], r.metrics[0]])).toEqual([...scores.entries()].sort((a, b) => a[0] - b[0]));
		const open = conversations.filter((c) => c.resolvedAt == null).length;
		expect(tile("Resolution and escalation").results[0].metrics.at(-1)).toBe(open);
		expect(tile("Messages by weekday and hour").report.chart).toBe("heatmap");
		// An agent's replies are the messages carrying its agent_id (from rollups: no sender_type filter).
		const replies = new Map<string, number>();
		for (const c of conversations) for (const m of c.messages) if (m.agent && m.ts < now) replies.set(m.agent, (replies.get(m.agent) ?? 0) + 1);
		expect(Object.fromEntries(tile("By agent").results.map((r: any) => [r.dimensions[0], r.metrics[0]]))).toEqual(Object.fromEntries(replies));
	}, 60_000);
});
