import { blobPart, type ByteSink, type Cell, type Column, type FormatWriter, type TableHead, timeMs, utf8 } from "../table";

/**
 * A small Parquet writer (format 2.x, the parts DuckDB, pandas/pyarrow and Spark read): one flat
 * table of OPTIONAL columns, PLAIN values, data pages v1 with RLE definition levels, GZIP pages
 * (CompressionStream, native in the runtime). Strings are UTF8/STRING, times INT64
 * TIMESTAMP(MILLIS, UTC), integers INT64, other numbers DOUBLE. JSON text (event properties) is a
 * STRING: the JSON logical type needs an extension some readers load from the network.
 *
 * Written for resumable exports: a row group's pages are encoded and compressed as rows arrive and
 * kept (compressed) until the group ends; a checkpoint ends the group, so the footer's metadata of
 * the groups so far is the whole state a later run needs to go on and finish the file.
 */
const GROUP_MAX_ROWS = 250_000;
const GROUP_MAX_BYTES = 16 * 1024 * 1024;
const MAGIC = utf8("PAR1");

// Thrift compact protocol type ids.
const T = { TRUE: 1, FALSE: 2, I32: 5, I64: 6, BINARY: 8, LIST: 9, STRUCT: 12 } as const;
// Parquet enums.
const TYPE = { INT64: 2, DOUBLE: 5, BYTE_ARRAY: 6 } as const;
const CODEC_GZIP = 2;
const ENC_PLAIN = 0;
const ENC_RLE = 3;

/** A growable byte buffer with little-endian writers. */
class Bytes {
	buf = new Uint8Array(1024);
	view = new DataView(this.buf.buffer);
	len = 0;
	private room(n: number) {
		if (this.len + n <= this.buf.length) return;
		let size = this.buf.length * 2;
		while (size < this.len + n) size *= 2;
		const next = new Uint8Array(size);
		next.set(this.buf.subarray(0, this.len));
		this.buf = next;
		this.view = new DataView(next.buffer);
	}
	byte(b: number) {
		this.room(1);
		this.buf[this.len++] = b;
	}
	bytes(b: Uint8Array) {
		this.room(b.length);
		this.buf.set(b, this.len);
		this.len += b.length;
	}
	varint(v: number) {
		// Non-negative, up to 2^53: division instead of bit operations (which are 32-bit).
		while (v >= 0x80) {
			this.byte((v % 0x80) | 0x80);
			v = Math.floor(v / 0x80);
		}
		this.byte(v);
	}
	u32(v: number) {
		this.room(4);
		this.view.setUint32(this.len, v, true);
		this.len += 4;
	}
	i64(v: number) {
		this.room(8);
		const hi = Math.floor(v / 4294967296);
		this.view.setUint32(this.len, v - hi * 4294967296, true);
		this.view.setInt32(this.len + 4, hi, true);
		this.len += 8;
	}
	f64(v: number) {
		this.room(8);
		this.view.setFloat64(this.len, v, true);
		this.len += 8;
	}
	/** A UTF-8 string with its 4-byte length before it (PLAIN BYTE_ARRAY). */
	lenString(s: string) {
		this.room(4 + s.length * 3);
		const { written } = encoder.encodeInto(s, this.buf.subarray(this.len + 4));
		this.view.setUint32(this.len, written, true);
		this.len += 4 + written;
	}
	done(): Uint8Array {
		return this.buf.slice(0, this.len);
	}
}
const encoder = new TextEncoder();

/** Thrift compact protocol, the encoder half, for the few structs Parquet needs. */
class Thrift extends Bytes {
	private last: number[] = [0];
	private field(id: number, type: number) {
		const delta = id - this.last[this.last.length - 1]!;
		if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
		else {
			this.byte(type);
			this.varint((id << 1) ^ (id >> 31));
		}
		this.last[this.last.length - 1] = id;
	}
	int32(id: number, v: number) {
		this.field(id, T.I32);
		this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
	}
	int64(id: number, v: number) {
		this.field(id, T.I64);
		this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
	}
	bool(id: number, v: boolean) {
		this.field(id, v ? T.TRUE : T.FALSE);
	}
	string(id: number, s: string) {
		this.field(id, T.BINARY);
		const b = utf8(s);
		this.varint(b.length);
		this.bytes(b);
	}
	begin(id: number) {
		this.field(id, T.STRUCT);
		this.last.push(0);
	}
	end() {
		this.byte(0);
		this.last.pop();
	}
	list(id: number, type: number, n: number) {
		this.field(id, T.LIST);
		if (n < 15) this.byte((n << 4) | type);
		else {
			this.byte(0xf0 | type);
			this.varint(n);
		}
	}
	/** A struct as a list element: no field header. */
	item(write: () => void) {
		this.last.push(0);
		write();
		this.byte(0);
		this.last.pop();
	}
	listI32(id: number, values: number[]) {
		this.list(id, T.I32, values.length);
		for (const v of values) this.varint(v * 2);
	}
	listString(id: number, values: string[]) {
		this.list(id, T.BINARY, values.length);
		for (const s of values) {
			const b = utf8(s);
			this.varint(b.length);
			this.bytes(b);
		}
	}
}

/** [offset, values, uncompressed bytes, compressed bytes] of one column chunk. */
type ChunkMeta = [number, number, number, number];
/** [rows, column chunks] of one row group. */
type GroupMeta = [number, ChunkMeta[]];
interface State {
	head: TableHead;
	groups: GroupMeta[];
}

const physical = (c: Column) => (c.type === "int" || c.type === "time" ? TYPE.INT64 : c.type === "double" ? TYPE.DOUBLE : TYPE.BYTE_ARRAY);

async function gzipBytes(b: Uint8Array): Promise<Uint8Array> {
	const s = new Blob([blobPart(b)]).stream().pipeThrough(new CompressionStream("gzip"));
	return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Definition levels (1 = value, 0 = null) in the RLE/bit-packed hybrid, as runs, with the 4-byte length before them. */
function defLevels(out: Bytes, defined: Uint8Array) {
	const start = out.len;
	out.u32(0);
	let i = 0;
	while (i < defined.length) {
		let j = i + 1;
		while (j < defined.length && defined[j] === defined[i]) j++;
		out.varint((j - i) * 2);
		out.byte(defined[i]!);
		i = j;
	}
	out.view.setUint32(start, out.len - start - 4, true);
}

export class ParquetWriter implements FormatWriter {
	private head: TableHead | null;
	private groups: GroupMeta[];
	/** The open row group: per column, its pages (header + compressed body) and sizes. */
	private pages: { parts: Uint8Array[]; values: number; unc: number; comp: number }[] = [];
	private groupRows = 0;
	private groupBytes = 0;

	constructor(
		private readonly out: ByteSink,
		state?: State,
	) {
		this.head = state?.head ?? null;
		this.groups = state?.groups ?? [];
		if (this.head) this.resetGroup();
	}

	private resetGroup() {
		this.pages = this.head!.columns.map(() => ({ parts: [], values: 0, unc: 0, comp: 0 }));
		this.groupRows = 0;
		this.groupBytes = 0;
	}

	async startTable(t: TableHead): Promise<void> {
		if (this.head) throw new Error("a Parquet file holds one table");
		this.head = t;
		this.resetGroup();
		await this.out.write(MAGIC);
	}

	async writeRows(rows: Cell[][]): Promise<void> {
		const cols = this.head!.columns;
		for (let c = 0; c < cols.length; c++) {
			const col = cols[c]!;
			const defined = new Uint8Array(rows.length);
			const body = new Bytes();
			const values = new Bytes();
			for (let r = 0; r < rows.length; r++) {
				const v = rows[r]![c];
				if (v == null) continue;
				if (col.type === "int" || col.type === "time") {
					const n = col.type === "time" ? timeMs(v) : Number(v);
					if (!Number.isFinite(n)) continue;
					values.i64(Math.trunc(n));
				} else if (col.type === "double") {
					const n = Number(v);
					if (typeof v !== "number" && Number.isNaN(n)) continue;
					values.f64(n);
				} else values.lenString(typeof v === "string" ? v : String(v));
				defined[r] = 1;
			}
			defLevels(body, defined);
			body.bytes(values.buf.subarray(0, values.len));
			const raw = body.done();
			const packed = await gzipBytes(raw);
			const header = new Thrift();
			header.int32(1, 0); // DATA_PAGE
			header.int32(2, raw.length);
			header.int32(3, packed.length);
			header.begin(5);
			header.int32(1, rows.length);
			header.int32(2, ENC_PLAIN);
			header.int32(3, ENC_RLE);
			header.int32(4, ENC_RLE);
			header.end();
			header.byte(0);
			const h = header.done();
			const p = this.pages[c]!;
			p.parts.push(h, packed);
			p.values += rows.length;
			p.unc += h.length + raw.length;
			p.comp += h.length + packed.length;
			this.groupBytes += h.length + packed.length;
		}
		this.groupRows += rows.length;
		if (this.groupRows >= GROUP_MAX_ROWS || this.groupBytes >= GROUP_MAX_BYTES) await this.endGroup();
	}

	/** Writes the open row group's column chunks one after the other and records where they are. */
	private async endGroup(): Promise<void> {
		if (this.groupRows === 0) return;
		const chunks: ChunkMeta[] = [];
		for (const p of this.pages) {
			const offset = this.out.offset;
			for (const part of p.parts) await this.out.write(part);
			chunks.push([offset, p.values, p.unc, p.comp]);
		}
		this.groups.push([this.groupRows, chunks]);
		this.resetGroup();
	}

	async endTable(): Promise<void> {
		await this.endGroup();
	}

	async checkpoint(): Promise<unknown> {
		await this.endGroup();
		return { head: this.head!, groups: this.groups } satisfies State;
	}

	async finish(): Promise<void> {
		await this.endGroup();
		const cols = this.head!.columns;
		const rows = this.groups.reduce((n, g) => n + g[0], 0);
		const m = new Thrift();
		m.int32(1, 1); // version
		m.list(2, T.STRUCT, cols.length + 1);
		m.item(() => {
			m.string(4, "schema");
			m.int32(5, cols.length);
		});
		for (const c of cols)
			m.item(() => {
				m.int32(1, physical(c));
				m.int32(3, 1); // OPTIONAL
				m.string(4, c.name);
				if (c.type === "string" || c.type === "json") {
					m.int32(6, 0); // converted_type UTF8
					m.begin(10);
					m.begin(1); // LogicalType.STRING
					m.end();
					m.end();
				} else if (c.type === "time") {
					m.int32(6, 9); // converted_type TIMESTAMP_MILLIS
					m.begin(10);
					m.begin(8); // LogicalType.TIMESTAMP
					m.bool(1, true); // isAdjustedToUTC
					m.begin(2);
					m.begin(1); // TimeUnit.MILLIS
					m.end();
					m.end();
					m.end();
					m.end();
				}
			});
		m.int64(3, rows);
		m.list(4, T.STRUCT, this.groups.length);
		for (const [groupRows, chunks] of this.groups)
			m.item(() => {
				m.list(1, T.STRUCT, chunks.length);
				chunks.forEach(([offset, values, unc, comp], i) =>
					m.item(() => {
						m.int64(2, offset); // file_offset
						m.begin(3);
						m.int32(1, physical(cols[i]!));
						m.listI32(2, [ENC_PLAIN, ENC_RLE]);
						m.listString(3, [cols[i]!.name]);
						m.int32(4, CODEC_GZIP);
						m.int64(5, values);
						m.int64(6, unc);
						m.int64(7, comp);
						m.int64(9, offset); // data_page_offset
						m.end();
					}),
				);
				m.int64(2, chunks.reduce((n, c) => n + c[2], 0));
				m.int64(3, groupRows);
			});
		m.string(6, "edgewise");
		m.byte(0);
		const footer = m.done();
		const tail = new Bytes();
		tail.bytes(footer);
		tail.u32(footer.length);
		tail.bytes(MAGIC);
		await this.out.write(tail.done());
	}
}
