import { ApiError } from "../errors";

/** Body limits. Segment's own limits are 32 KB per message and 500 KB per batch. */
export const LIMITS = {
	segmentBatchBytes: 500 * 1024,
	nativeBodyBytes: 1024 * 1024,
	eventBytes: 32 * 1024,
	maxEventsPerRequest: 1000,
	/**
	 * Segment caps a batch by bytes only and its SDKs' flushAt has no upper bound, so /v1/batch
	 * takes as many messages as fit in 500 KB (a message is at least ~40 bytes).
	 */
	maxSegmentBatch: 20_000,
} as const;

export type BodyFormat = "json" | "ndjson";

const JSON_TYPES = new Set(["application/json", "text/plain", ""]);
const NDJSON_TYPES = new Set(["application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"]);

/** Content types we accept; text/plain is what `navigator.sendBeacon` sends for a string body. */
export function bodyFormat(contentType: string | undefined): BodyFormat {
	const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
	if (JSON_TYPES.has(type)) return "json";
	if (NDJSON_TYPES.has(type)) return "ndjson";
	const hint = type === "application/x-www-form-urlencoded" ? " (curl -d sends this by default: add -H 'Content-Type: application/json')" : "";
	throw new ApiError(415, "unsupported_content_type", `Content-Type '${type}' is not supported${hint}.`, {
		content_type: type,
		supported: ["application/json", "text/plain", ...NDJSON_TYPES],
	});
}

/**
 * Reads the request body as text, decompressing gzip/deflate, and enforcing `limit` on the
 * decompressed size while streaming (so a small gzip bomb cannot blow up memory).
 */
export async function readBody(req: Request, limit: number): Promise<{ text: string; bytes: number }> {
	// received_bytes is a lower bound when we stopped reading early.
	const tooLarge = (received: number) =>
		new ApiError(413, "payload_too_large", `Request body exceeds ${limit} bytes (after decompression).`, { limit_bytes: limit, received_bytes: received });
	const declared = Number(req.headers.get("content-length") ?? "0");
	const encoding = (req.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
	if (encoding === "identity" && declared > limit) throw tooLarge(declared);
	if (!req.body) return { text: "", bytes: 0 };
	if (encoding === "identity" && req.headers.has("content-length")) {
		// The runtime holds the body to its declared length (checked against the limit above): one
		// read beats a chunk loop (2.8x for a 60 KB body in bench:ingest's micro-benchmark).
		const buf = new Uint8Array(await req.arrayBuffer());
		return { text: decodeUtf8(buf), bytes: buf.byteLength };
	}
	let stream: ReadableStream<Uint8Array> = req.body;
	if (encoding === "gzip" || encoding === "deflate") {
		stream = stream.pipeThrough(new DecompressionStream(encoding) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
	} else if (encoding !== "identity") {
		throw new ApiError(415, "unsupported_content_encoding", `Content-Encoding '${encoding}' is not supported.`, {
			content_encoding: encoding,
			supported: ["identity", "gzip", "deflate"],
		});
	}
	const chunks: Uint8Array[] = [];
	let size = 0;
	const reader = stream.getReader();
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			size += value.byteLength;
			if (size > limit) {
				await reader.cancel().catch(() => {});
				throw tooLarge(size);
			}
			chunks.push(value);
		}
	} catch (err) {
		if (err instanceof ApiError) throw err;
		throw new ApiError(400, "malformed_body", `Could not read the ${encoding} request body: ${String((err as Error)?.message ?? err)}`);
	}
	return { text: decodeUtf8(concat(chunks, size)), bytes: size };
}

/**
 * One decoder for every request: a decode() call without `stream` starts from a clean state, so
 * sharing it is safe, and a TextDecoder is a runtime object that cost an allocation per request.
 */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeUtf8(bytes: Uint8Array): string {
	try {
		return UTF8.decode(bytes);
	} catch {
		throw new ApiError(400, "malformed_body", "Request body is not valid UTF-8.");
	}
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
	if (chunks.length === 1) return chunks[0]!;
	const out = new Uint8Array(size);
	let at = 0;
	for (const c of chunks) {
		out.set(c, at);
		at += c.byteLength;
	}
	return out;
}

/** A line of NDJSON that did not parse: it becomes a rejected event, not a failed request. */
export interface BadLine {
	index: number;
	raw: string;
	message: string;
}

/** Parses JSON (one value) or NDJSON (one value per non-empty line). */
export function parseBody(text: string, format: BodyFormat): { values: unknown; badLines: BadLine[] } {
	if (format === "ndjson") {
		const values: unknown[] = [];
		const badLines: BadLine[] = [];
		let index = 0;
		for (const line of text.split("\n")) {
			if (!line.trim()) continue;
			try {
				values.push(JSON.parse(line));
			} catch (err) {
				badLines.push({ index, raw: line, message: (err as Error).message });
				values.push(undefined);
			}
			index++;
		}
		return { values, badLines };
	}
	if (!text.trim()) throw new ApiError(400, "empty_body", "Request body is empty; send a JSON event or {\"events\":[...]}.");
	try {
		return { values: JSON.parse(text), badLines: [] };
	} catch (err) {
		throw new ApiError(400, "malformed_json", `Request body is not valid JSON: ${(err as Error).message}`, {
			sample: text.slice(0, 200),
		});
	}
}
