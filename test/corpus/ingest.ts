/**
 * Bad (and borderline) input for the ingest endpoints, by category. Each case is one request and
 * what the API must answer; corpus.test.ts sends them to the real worker and checks that the
 * tenant's pipeline still flows after each one. Bodies are text, bytes, or built by a function
 * (for sizes and compression). `accepted` checks a 200's count of stored events.
 */
export interface Case {
	name: string;
	category: "encodings" | "sizes" | "depths" | "numbers" | "dates" | "keys" | "content types" | "compression" | "batch shapes" | "auth" | "fidelity";
	path: string;
	/** Content-Type; default application/json. null sends none. */
	type?: string | null;
	encoding?: string;
	/** The key as a Bearer token (default), none, another scheme, or the tenant's read key. */
	auth?: "ingest" | "none" | "read" | { header: string };
	body: string | Uint8Array | (() => string | Uint8Array | Promise<Uint8Array>);
	status: number;
	/** error.code of a 4xx; for a 200, the code of the first rejected event, if any. */
	code?: string;
	accepted?: number;
	rejected?: number;
	/** A field the error's message or first rejection must name. */
	names?: string;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
const ev = (extra: Record<string, unknown> = {}) => ({ event: "corpus", user_id: "u1", ...extra });
const J = (v: unknown) => JSON.stringify(v);
const nest = (depth: number, leaf: unknown = 1): unknown => {
	let v = leaf;
	for (let i = 0; i < depth; i++) v = { a: v };
	return v;
};
async function compress(text: string | Uint8Array, format: "gzip" | "deflate"): Promise<Uint8Array> {
	const bytes = typeof text === "string" ? utf8(text) : text;
	const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format) as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

export const CASES: Case[] = [
	// Encodings
	{ name: "invalid UTF-8 bytes", category: "encodings", path: "/v1/events", body: new Uint8Array([0x7b, 0x22, 0x65, 0xff, 0xfe, 0x22, 0x7d]), status: 400, code: "malformed_body" },
	{ name: "overlong UTF-8 encoding of '/'", category: "encodings", path: "/v1/events", body: new Uint8Array([...utf8('{"event":"'), 0xc0, 0xaf, ...utf8('","user_id":"u"}')]), status: 400, code: "malformed_body" },
	{ name: "UTF-8 with a byte order mark", category: "encodings", path: "/v1/events", body: new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(J(ev()))]), status: 200, accepted: 1 },
	{ name: "UTF-16LE body", category: "encodings", path: "/v1/events", body: new Uint8Array([...utf8(J(ev()))].flatMap((b) => [b, 0])), status: 400, code: "malformed_json" },
	{ name: "escaped lone surrogates", category: "encodings", path: "/v1/events", body: '{"event":"a\\udc00","user_id":"\\ud800","properties":{"k":"\\ud83d"}}', status: 200, accepted: 1 },
	{ name: "NUL characters in strings", category: "encodings", path: "/v1/events", body: J(ev({ event: "nul\u0000name", properties: { p: "a\u0000b" } })), status: 200, accepted: 1 },
	{ name: "emoji and right-to-left text", category: "encodings", path: "/v1/events", body: J(ev({ event: "🎉 שלום", properties: { "ключ": "值" } })), status: 200, accepted: 1 },

	// Sizes
	{ name: "native body over 1 MiB", category: "sizes", path: "/v1/events", body: () => J({ events: [ev({ properties: { pad: "x".repeat(8000) } })] }).padEnd(1024 * 1024 + 10, " "), status: 413, code: "payload_too_large" },
	{ name: "Segment single call over 32 KB", category: "sizes", path: "/v1/track", body: () => J({ userId: "u", event: "e", properties: { pad: "x".repeat(33_000) } }), status: 413, code: "payload_too_large" },
	{ name: "Segment batch over 500 KB", category: "sizes", path: "/v1/batch", body: () => J({ batch: Array.from({ length: 20 }, () => ({ type: "track", userId: "u", event: "e", properties: { pad: "x".repeat(26_000) } })) }), status: 413, code: "payload_too_large" },
	{ name: "one event over 32 KB in a batch", category: "sizes", path: "/v1/events", body: () => J({ events: [ev(), { ...ev(), properties: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p${i}`, "x".repeat(7000)])) }] }), status: 200, accepted: 1, rejected: 1, code: "event_too_large" },
	{ name: "1,001 events", category: "sizes", path: "/v1/events", body: () => J({ events: Array.from({ length: 1001 }, () => ev()) }), status: 413, code: "too_many_events" },
	{ name: "string value of 8,193 characters", category: "sizes", path: "/v1/events", body: J(ev({ properties: { s: "x".repeat(8193) } })), status: 400, code: "invalid_event", names: "properties.s" },
	{ name: "251 properties", category: "sizes", path: "/v1/events", body: J(ev({ properties: Object.fromEntries(Array.from({ length: 251 }, (_, i) => [`p${i}`, i])) })), status: 400, code: "invalid_event", names: "properties" },
	{ name: "event name of 201 characters", category: "sizes", path: "/v1/events", body: J(ev({ event: "e".repeat(201) })), status: 400, code: "invalid_event", names: "event" },
	{ name: "user_id of 256 characters", category: "sizes", path: "/v1/events", body: J(ev({ user_id: "u".repeat(256) })), status: 400, code: "invalid_event", names: "user_id" },
	{ name: "empty body", category: "sizes", path: "/v1/events", body: "", status: 400, code: "empty_body" },
	{ name: "whitespace body", category: "sizes", path: "/v1/events", body: " \n\t ", status: 400, code: "empty_body" },
	{ name: "Segment shared context over 32 KB", category: "sizes", path: "/v1/batch", body: J({ batch: [{ type: "track", userId: "u", event: "e" }], context: { pad: "x".repeat(33_000) } }), status: 413, code: "context_too_large", names: "context" },
	{ name: "flattened Segment properties growing past 32 KB", category: "sizes", path: "/v1/track", body: J({ userId: "u", event: "e", properties: { ["p".repeat(150)]: Object.fromEntries(Array.from({ length: 240 }, (_, i) => [`k${i}`.padEnd(40, "x"), 1])) } }), status: 400, code: "invalid_event", names: "properties" },

	// Depths
	{ name: "context 33 levels deep", category: "depths", path: "/v1/events", body: J(ev({ context: nest(32) })), status: 400, code: "too_deep", names: "context" },
	{ name: "context 31 levels deep", category: "depths", path: "/v1/events", body: J(ev({ context: nest(30) })), status: 200, accepted: 1 },
	{ name: "traits 1,000 levels deep", category: "depths", path: "/v1/identify", body: J({ userId: "u", traits: nest(1000) }), status: 400, code: "too_deep", names: "traits" },
	{ name: "Segment properties 40 levels deep", category: "depths", path: "/v1/track", body: J({ userId: "u", event: "e", properties: nest(40) }), status: 400, code: "too_deep", names: "properties" },
	{ name: "batch context 10,000 levels deep", category: "depths", path: "/v1/batch", body: () => J({ batch: [{ type: "track", userId: "u", event: "e" }], context: nest(10_000) }), status: 400, code: "too_deep", names: "context" },
	{ name: "arrays 200,000 levels deep", category: "depths", path: "/v1/events", body: () => `${"[".repeat(200_000)}${"]".repeat(200_000)}`, status: 400, code: "invalid_events" },
	{ name: "objects 100,000 levels deep", category: "depths", path: "/v1/events", body: () => `${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}`, status: 400, code: "too_deep" },
	{ name: "deep value inside an NDJSON line", category: "depths", path: "/v1/events", type: "application/x-ndjson", body: `${J(ev())}\n${J(ev({ context: nest(50) }))}\n`, status: 200, accepted: 1, rejected: 1, code: "too_deep" },
	{ name: "nested native properties", category: "depths", path: "/v1/events", body: J(ev({ properties: { a: { b: 1 } } })), status: 400, code: "invalid_event", names: "properties.a" },

	// Numbers
	{ name: "timestamp in seconds", category: "numbers", path: "/v1/events", body: J(ev({ timestamp: 1_795_000_000 })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "timestamp past what a Date holds", category: "numbers", path: "/v1/events", body: J(ev({ timestamp: 8.64e15 + 1 })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "timestamp 1e400 (Infinity)", category: "numbers", path: "/v1/events", body: '{"event":"e","user_id":"u","timestamp":1e400}', status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "negative timestamp", category: "numbers", path: "/v1/events", body: J(ev({ timestamp: -1 })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "native property 1e400", category: "numbers", path: "/v1/events", body: '{"event":"e","user_id":"u","properties":{"n":1e400}}', status: 400, code: "invalid_event", names: "properties.n" },
	{ name: "Segment property 1e400 becomes null", category: "numbers", path: "/v1/track", body: '{"userId":"u","event":"e","properties":{"n":1e400}}', status: 200, accepted: 1 },
	{ name: "negative zero, 2^64 and tiny floats", category: "numbers", path: "/v1/events", body: '{"event":"e","user_id":"u","properties":{"z":-0,"big":18446744073709551616,"tiny":5e-324}}', status: 200, accepted: 1 },
	{ name: "numeric user_id", category: "numbers", path: "/v1/events", body: J(ev({ user_id: 12345 })), status: 200, accepted: 1 },
	{ name: "user_id Infinity", category: "numbers", path: "/v1/events", body: '{"event":"e","user_id":1e999}', status: 400, code: "invalid_event", names: "user_id" },

	// Dates
	{ name: "not a date", category: "dates", path: "/v1/events", body: J(ev({ timestamp: "yesterday" })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "February 30th", category: "dates", path: "/v1/events", body: J(ev({ timestamp: "2026-02-30T10:00:00Z" })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "hour 25", category: "dates", path: "/v1/events", body: J(ev({ timestamp: "2026-11-22T25:00:00Z" })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "offset +25:00", category: "dates", path: "/v1/events", body: J(ev({ timestamp: "2026-11-22T10:00:00+25:00" })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "year 1999", category: "dates", path: "/v1/events", body: J(ev({ timestamp: "1999-12-31T23:59:59Z" })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "year 10000", category: "dates", path: "/v1/events", body: J(ev({ timestamp: "+010000-01-01T00:00:00Z" })), status: 400, code: "invalid_event", names: "timestamp" },
	{ name: "a week ahead", category: "dates", path: "/v1/events", body: () => J(ev({ timestamp: new Date(Date.now() + 7 * 86_400_000).toISOString() })), status: 400, code: "timestamp_in_future", names: "timestamp" },
	{ name: "sent_at decades ahead", category: "dates", path: "/v1/events", body: () => J(ev({ timestamp: new Date().toISOString(), sent_at: new Date(Date.now() + 60 * 365 * 86_400_000).toISOString() })), status: 400, code: "timestamp_out_of_range", names: "sent_at" },
	{ name: "date only, and a space separator", category: "dates", path: "/v1/events", body: () => J({ events: [ev({ timestamp: new Date().toISOString().slice(0, 10) }), ev({ timestamp: new Date().toISOString().replace("T", " ") })] }), status: 200, accepted: 2 },
	{ name: "nanosecond fraction", category: "dates", path: "/v1/events", body: () => J(ev({ timestamp: new Date().toISOString().replace("Z", "123456Z") })), status: 200, accepted: 1 },

	// Keys
	{ name: "__proto__ and constructor properties", category: "keys", path: "/v1/events", body: '{"event":"e","user_id":"u","properties":{"__proto__":"p","constructor":"c","toString":1}}', status: 200, accepted: 1 },
	{ name: "__proto__ at the top of an event", category: "keys", path: "/v1/events", body: '{"event":"e","user_id":"u","__proto__":{"admin":true}}', status: 400, code: "invalid_event" },
	{ name: "empty property name", category: "keys", path: "/v1/events", body: J(ev({ properties: { "": 1 } })), status: 400, code: "invalid_event", names: "properties" },
	{ name: "property name of 201 characters", category: "keys", path: "/v1/events", body: J(ev({ properties: { ["k".repeat(201)]: 1 } })), status: 400, code: "invalid_event", names: "properties" },
	{ name: "flattened key of 201 characters", category: "keys", path: "/v1/track", body: J({ userId: "u", event: "e", properties: { ["a".repeat(100)]: { ["b".repeat(100)]: 1 } } }), status: 400, code: "invalid_event", names: "properties" },
	{ name: "unknown field on a native event", category: "keys", path: "/v1/events", body: J(ev({ userid: "typo" })), status: 400, code: "invalid_event", names: "userid" },
	{ name: "duplicate keys (the last wins)", category: "keys", path: "/v1/events", body: '{"event":"first","event":"last","user_id":"u"}', status: 200, accepted: 1 },

	// Content types
	{ name: "form-encoded (curl -d)", category: "content types", path: "/v1/events", type: "application/x-www-form-urlencoded", body: J(ev()), status: 415, code: "unsupported_content_type" },
	{ name: "multipart", category: "content types", path: "/v1/events", type: "multipart/form-data; boundary=x", body: J(ev()), status: 415, code: "unsupported_content_type" },
	{ name: "text/plain (sendBeacon)", category: "content types", path: "/v1/events", type: "text/plain;charset=UTF-8", body: J(ev()), status: 200, accepted: 1 },
	{ name: "no content type", category: "content types", path: "/v1/events", type: null, body: J(ev()), status: 200, accepted: 1 },
	{ name: "NDJSON to a Segment endpoint", category: "content types", path: "/v1/batch", type: "application/x-ndjson", body: `${J({ type: "track", userId: "u", event: "e" })}\n`, status: 415, code: "unsupported_content_type" },
	{ name: "NDJSON sent as JSON", category: "content types", path: "/v1/events", body: `${J(ev())}\n${J(ev())}\n`, status: 400, code: "malformed_json" },
	{ name: "NDJSON with blank lines and a broken line", category: "content types", path: "/v1/events", type: "application/x-ndjson", body: `\n${J(ev())}\n\n{broken\n${J(ev())}`, status: 200, accepted: 2, rejected: 1, code: "malformed_json" },

	// Compression
	{ name: "gzip", category: "compression", path: "/v1/events", encoding: "gzip", body: () => compress(J({ events: [ev(), ev()] }), "gzip"), status: 200, accepted: 2 },
	{ name: "deflate", category: "compression", path: "/v1/events", encoding: "deflate", body: () => compress(J(ev()), "deflate"), status: 200, accepted: 1 },
	{ name: "gzip header on a plain body", category: "compression", path: "/v1/events", encoding: "gzip", body: J(ev()), status: 400, code: "malformed_body" },
	{ name: "truncated gzip", category: "compression", path: "/v1/events", encoding: "gzip", body: async () => (await compress(J({ events: Array.from({ length: 50 }, () => ev()) }), "gzip")).slice(0, 40), status: 400, code: "malformed_body" },
	{ name: "gzip bomb (10 MB of zeros)", category: "compression", path: "/v1/events", encoding: "gzip", body: () => compress(new Uint8Array(10 * 1024 * 1024).fill(0x20), "gzip"), status: 413, code: "payload_too_large" },
	{ name: "brotli", category: "compression", path: "/v1/events", encoding: "br", body: J(ev()), status: 415, code: "unsupported_content_encoding" },
	{ name: "gzip of invalid UTF-8", category: "compression", path: "/v1/events", encoding: "gzip", body: () => compress(new Uint8Array([0x7b, 0xff, 0x7d]), "gzip"), status: 400, code: "malformed_body" },

	// Batch shapes
	{ name: "events is an object", category: "batch shapes", path: "/v1/events", body: J({ events: {} }), status: 400, code: "invalid_batch" },
	{ name: "unknown field beside events", category: "batch shapes", path: "/v1/events", body: J({ events: [ev()], sent_at: 1 }), status: 400, code: "invalid_batch", names: "sent_at" },
	{ name: "empty events list", category: "batch shapes", path: "/v1/events", body: J({ events: [] }), status: 200, accepted: 0 },
	{ name: "a JSON string", category: "batch shapes", path: "/v1/events", body: '"hello"', status: 400, code: "invalid_event" },
	{ name: "JSON null", category: "batch shapes", path: "/v1/events", body: "null", status: 400, code: "invalid_event" },
	{ name: "an array of numbers", category: "batch shapes", path: "/v1/events", body: "[1,2,3]", status: 400, code: "invalid_events" },
	{ name: "batch is a string", category: "batch shapes", path: "/v1/batch", body: J({ batch: "x" }), status: 400, code: "invalid_batch" },
	{ name: "Segment batch with non-object items", category: "batch shapes", path: "/v1/batch", body: J({ batch: [1, null, { type: "track", userId: "u", event: "e" }] }), status: 200, accepted: 1, rejected: 2, code: "invalid_event" },
	{ name: "unknown Segment type", category: "batch shapes", path: "/v1/batch", body: J({ batch: [{ type: "purchase", userId: "u" }] }), status: 400, code: "invalid_events" },
	{ name: "track without an event", category: "batch shapes", path: "/v1/track", body: J({ userId: "u" }), status: 400, code: "invalid_event", names: "event" },
	{ name: "alias without previousId", category: "batch shapes", path: "/v1/alias", body: J({ userId: "u" }), status: 400, code: "invalid_event", names: "previousId" },
	{ name: "no user_id nor anonymous_id", category: "batch shapes", path: "/v1/events", body: J({ event: "e" }), status: 400, code: "invalid_event", names: "user_id" },
	{ name: "the same message_id twice in one batch", category: "batch shapes", path: "/v1/events", body: () => J({ events: [ev({ message_id: "corpus-twice" }), ev({ message_id: "corpus-twice" })] }), status: 200, accepted: 1 },

	// Auth
	{ name: "no key", category: "auth", path: "/v1/events", auth: "none", body: J(ev()), status: 401, code: "unauthorized" },
	{ name: "unknown key", category: "auth", path: "/v1/events", auth: { header: "Bearer ew_ingest_nope" }, body: J(ev()), status: 401, code: "unauthorized" },
	{ name: "a read key", category: "auth", path: "/v1/events", auth: "read", body: J(ev()), status: 403, code: "forbidden" },
	{ name: "Basic auth that is not base64", category: "auth", path: "/v1/track", auth: { header: "Basic %%%" }, body: J({ userId: "u", event: "e" }), status: 401, code: "invalid_authorization" },
	{ name: "an unknown scheme", category: "auth", path: "/v1/events", auth: { header: "Token abc" }, body: J(ev()), status: 401, code: "invalid_authorization" },

	// Fidelity
	{ name: "Segment page name and category", category: "fidelity", path: "/v1/page", body: J({ userId: "u", name: "Pricing", category: "Docs", properties: { path: "/pricing" } }), status: 200, accepted: 1 },
	{ name: "Segment arrays kept as JSON", category: "fidelity", path: "/v1/track", body: J({ userId: "u", event: "e", properties: { items: [{ id: 1 }, { id: 2 }] } }), status: 200, accepted: 1 },
];
