import { describe, expect, it } from "vitest";
import { ApiError } from "../../workers/errors";
import { bodyFormat, parseBody, readBody } from "../../workers/ingest/body";

async function gzip(text: string, format: "gzip" | "deflate" = "gzip"): Promise<ArrayBuffer> {
	const stream = new Blob([text]).stream().pipeThrough(new CompressionStream(format) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
	return new Response(stream).arrayBuffer();
}

async function caught(p: Promise<unknown> | (() => unknown)): Promise<ApiError> {
	try {
		await (typeof p === "function" ? p() : p);
	} catch (err) {
		if (err instanceof ApiError) return err;
		throw err;
	}
	throw new Error("expected an ApiError");
}

describe("readBody", () => {
	it("reads plain, gzip and deflate bodies", async () => {
		const text = JSON.stringify({ event: "é✓", n: 1 });
		expect(await readBody(new Request("http://x", { method: "POST", body: text }), 1000)).toEqual({ text, bytes: new TextEncoder().encode(text).byteLength });
		for (const enc of ["gzip", "deflate"] as const) {
			const req = new Request("http://x", { method: "POST", body: await gzip(text, enc), headers: { "content-encoding": enc } });
			expect((await readBody(req, 1000)).text).toBe(text);
		}
	});
	it("refuses bodies over the limit by Content-Length and while streaming (gzip bomb)", async () => {
		const big = "x".repeat(5000);
		const e1 = await caught(readBody(new Request("http://x", { method: "POST", body: big }), 1000));
		expect([e1.status, e1.code]).toEqual([413, "payload_too_large"]);
		expect(e1.details).toMatchObject({ limit_bytes: 1000 });
		expect((e1.details as { received_bytes: number }).received_bytes).toBeGreaterThan(1000);
		const bomb = await gzip("0".repeat(2_000_000));
		expect(bomb.byteLength).toBeLessThan(10_000);
		const e2 = await caught(readBody(new Request("http://x", { method: "POST", body: bomb, headers: { "content-encoding": "gzip" } }), 100_000));
		expect([e2.status, e2.code]).toEqual([413, "payload_too_large"]);
	});
	it("streams chunked bodies (no Content-Length) and stops reading past the limit", async () => {
		const chunked = (parts: string[]) =>
			new Request("http://x", {
				method: "POST",
				body: new ReadableStream({
					start(c) {
						for (const p of parts) c.enqueue(new TextEncoder().encode(p));
						c.close();
					},
				}),
			});
		const ok = chunked(['{"a":', '"é"}']);
		expect(ok.headers.has("content-length")).toBe(false);
		expect(await readBody(ok, 100)).toEqual({ text: '{"a":"é"}', bytes: 10 });
		const big = await caught(readBody(chunked(["x".repeat(600), "y".repeat(600)]), 1000));
		expect([big.status, big.code, (big.details as { received_bytes: number }).received_bytes]).toEqual([413, "payload_too_large", 1200]);
	});

	it("rejects unknown encodings, corrupt gzip and invalid UTF-8", async () => {
		const e1 = await caught(readBody(new Request("http://x", { method: "POST", body: "x", headers: { "content-encoding": "br" } }), 100));
		expect([e1.status, e1.code]).toEqual([415, "unsupported_content_encoding"]);
		const e2 = await caught(readBody(new Request("http://x", { method: "POST", body: "not gzip", headers: { "content-encoding": "gzip" } }), 100));
		expect([e2.status, e2.code]).toEqual([400, "malformed_body"]);
		const e3 = await caught(readBody(new Request("http://x", { method: "POST", body: new Uint8Array([0xff, 0xfe, 0x7b]) }), 100));
		expect([e3.status, e3.code]).toEqual([400, "malformed_body"]);
	});
});

describe("bodyFormat and parseBody", () => {
	it("accepts JSON, text/plain (sendBeacon) and NDJSON; 415 otherwise", async () => {
		expect(bodyFormat("application/json; charset=utf-8")).toBe("json");
		expect(bodyFormat("text/plain;charset=UTF-8")).toBe("json");
		expect(bodyFormat(undefined)).toBe("json");
		expect(bodyFormat("application/x-ndjson")).toBe("ndjson");
		const e = await caught(() => bodyFormat("application/x-www-form-urlencoded"));
		expect([e.status, e.code]).toEqual([415, "unsupported_content_type"]);
		expect(e.message).toContain("curl -d");
	});
	it("parses NDJSON line by line, keeping bad lines with their index", () => {
		const { values, badLines } = parseBody('{"a":1}\n\n{oops\n{"b":2}\n', "ndjson");
		expect(values).toEqual([{ a: 1 }, undefined, { b: 2 }]);
		expect(badLines.map((b) => [b.index, b.raw])).toEqual([[1, "{oops"]]);
	});
	it("400s malformed or empty JSON", async () => {
		expect((await caught(() => parseBody("{", "json"))).code).toBe("malformed_json");
		expect((await caught(() => parseBody("  ", "json"))).code).toBe("empty_body");
	});
});
