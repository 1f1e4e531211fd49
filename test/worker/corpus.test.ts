import { describe, expect, it } from "vitest";
import { type Case, CASES } from "../corpus/ingest";
import { call, d1Count, flush, json, makeTenant, stats } from "../helpers";

async function send(c: Case, keys: { ingestKey: string; readKey: string }) {
	const headers = new Headers();
	if (c.type !== null) headers.set("content-type", c.type ?? "application/json");
	if (c.encoding) headers.set("content-encoding", c.encoding);
	const auth = c.auth ?? "ingest";
	if (auth === "ingest") headers.set("authorization", `Bearer ${keys.ingestKey}`);
	else if (auth === "read") headers.set("authorization", `Bearer ${keys.readKey}`);
	else if (auth !== "none") headers.set("authorization", auth.header);
	const body = typeof c.body === "function" ? await c.body() : c.body;
	return call(c.path, { method: "POST", headers, body });
}

describe("the bad-input corpus, against the real worker", () => {
	it(`answers each of ${CASES.length} cases as expected, and the tenant's pipeline flows after every one`, async () => {
		const t = await makeTenant("corpus");
		const failures: string[] = [];
		let canary = 0;
		for (const c of CASES) {
			const res = await send(c, t);
			const text = await res.text();
			let body: any = null;
			try {
				body = JSON.parse(text);
			} catch {}
			const got: Record<string, unknown> = { status: res.status };
			if (res.status >= 400) {
				got.code = body?.error?.code;
				// Every refusal is the structured error: a code, a message, details.
				if (typeof body?.error?.message !== "string" || !body.error.message || !("details" in body.error)) failures.push(`${c.name}: not the error JSON: ${text.slice(0, 200)}`);
				if (c.names && !`${body?.error?.message} ${JSON.stringify(body?.error?.details)}`.includes(c.names)) failures.push(`${c.name}: the error does not name '${c.names}': ${text.slice(0, 300)}`);
			} else {
				if (c.code) got.code = body?.errors?.[0]?.code;
				if (c.accepted != null) got.accepted = body?.accepted;
				if (c.rejected != null) got.rejected = body?.rejected;
			}
			const want = { status: c.status, ...(c.code ? { code: c.code } : {}), ...(c.accepted != null && c.status < 400 ? { accepted: c.accepted } : {}), ...(c.rejected != null && c.status < 400 ? { rejected: c.rejected } : {}) };
			if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(`${c.category} / ${c.name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}; ${text.slice(0, 300)}`);
			if (res.status >= 500) continue;
			// The canary: an event sent after the case reaches D1.
			const id = `canary-${canary++}`;
			const sent = await call("/v1/events", { method: "POST", key: t.ingestKey, json: { event: "canary", user_id: "c", message_id: id } });
			if (sent.status !== 200) failures.push(`${c.name}: canary refused ${sent.status}`);
			await flush(t.id);
			if ((await d1Count(t.id, "message_id = ?", id)) !== 1) failures.push(`${c.name}: canary did not reach D1`);
		}
		expect(failures).toEqual([]);
		const s = await stats(t.readKey);
		expect(s).toMatchObject({ buffered: 0, storage_refused: 0, last_flush_error: null });
		expect(s.received).toBe(s.accepted + s.rejected + s.duplicates);
	}, 120_000);

	it("covers every category the hardening issue names", () => {
		const categories = new Set(CASES.map((c) => c.category));
		for (const c of ["encodings", "sizes", "depths", "numbers", "dates", "keys", "content types", "compression", "batch shapes"]) expect(categories).toContain(c);
	});
});
