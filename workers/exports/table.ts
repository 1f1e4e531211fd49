/**
 * What the file writers take: tables of typed columns, written a batch of rows at a time.
 *
 * - `string`: text; `json`: JSON text (NDJSON embeds it as a value, the others write the text);
 * - `int`, `double`: numbers; `time`: an instant, either epoch ms (raw events, UTC) or an ISO 8601
 *   string with its offset (a query's local buckets, written as the answer wrote them).
 */
export type ColType = "string" | "json" | "int" | "double" | "time";
export interface Column {
	name: string;
	type: ColType;
}
export type Cell = string | number | null;

export interface TableHead {
	/** A sheet's name (XLSX), the `report` field of NDJSON lines of a board. */
	name: string;
	columns: Column[];
	/** NDJSON of a board: fields put first on every line ({"report": …}). */
	tag?: Record<string, string>;
}

/** Where a writer's bytes go; `offset` is how many bytes the file holds so far (what Parquet and ZIP offsets count). */
export interface ByteSink {
	write(bytes: Uint8Array): Promise<void>;
	readonly offset: number;
}

/**
 * A file format. A writer is made fresh for each run of an export, from the state its last
 * `checkpoint()` returned: a checkpoint brings the file to a point where that state and the bytes
 * written so far are all that is needed to go on (a Parquet row group ends, a deflate stream is
 * flushed to a byte boundary), so a later run, on another machine, continues the same file.
 */
export interface FormatWriter {
	startTable(t: TableHead): Promise<void>;
	writeRows(rows: Cell[][]): Promise<void>;
	endTable(): Promise<void>;
	checkpoint(): Promise<unknown>;
	finish(): Promise<void>;
}

const enc = new TextEncoder();
export const utf8 = (s: string) => enc.encode(s);

/** The time cell as epoch ms (NaN if it is not an instant). */
export const timeMs = (v: Cell): number => (typeof v === "number" ? v : v == null ? Number.NaN : Date.parse(v));

/** The time cell as text: ISO 8601 (UTC for epoch ms, the answer's own offset for strings). */
export const timeText = (v: Cell): string => (typeof v === "number" ? new Date(v).toISOString() : (v ?? ""));

/** Gzip of bytes: one complete gzip member (RFC 1952). Members may follow each other in one file. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
	const stream = new Blob([blobPart(bytes)]).stream().pipeThrough(new CompressionStream("gzip"));
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** NOTE: the DOM typings' Blob wants ArrayBuffer-backed arrays; ours never sit on a SharedArrayBuffer. */
export const blobPart = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

/** Concatenates byte arrays. */
export function concat(chunks: Uint8Array[], total = chunks.reduce((n, c) => n + c.length, 0)): Uint8Array {
	const out = new Uint8Array(total);
	let at = 0;
	for (const c of chunks) {
		out.set(c, at);
		at += c.length;
	}
	return out;
}
