// Benchmark baseline (b): POST /v1/events {"events":[...]} → the same canonical rows the hub
// flushes, inserted with the app's own INSERT … SELECT FROM json_each statement, one statement
// per request. No auth, no zod, no Durable Object: the floor cost of "request → row in local D1".
import { INSERT_EVENTS_SQL } from "../../workers/hub/flush";
import { toRow } from "../lib/rows.mjs";

interface Env {
	DB: D1Database;
}

export default {
	async fetch(req: Request, env: Env): Promise<Response> {
		const url = new URL(req.url);
		if (url.pathname === "/healthz") return new Response("ok");
		if (req.method !== "POST" || url.pathname !== "/v1/events") return new Response("not found", { status: 404 });
		const body = (await req.json()) as { events: Record<string, unknown>[] };
		const now = Date.now();
		const rows = body.events.map((e) => toRow(e, now));
		const r = await env.DB.prepare(INSERT_EVENTS_SQL).bind("demo", JSON.stringify(rows)).run();
		return Response.json({ accepted: r.meta.changes });
	},
} satisfies ExportedHandler<Env>;
