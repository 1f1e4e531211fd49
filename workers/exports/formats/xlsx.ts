/// <reference path="../pako.d.ts" />
import { Deflate, deflateRaw } from "pako";
import { type ByteSink, type Cell, type Column, type FormatWriter, type TableHead, utf8 } from "../table";

/**
 * XLSX (Office Open XML spreadsheet): a ZIP of XML parts, one worksheet per table, written as a
 * stream. Cells are typed: numbers as numbers, times as dates (a date format; Excel has no time zones,
 * so an event's UTC time and a query bucket's local time are shown as written), text as inline
 * strings. The header row is bold and frozen.
 *
 * A worksheet is one deflated ZIP entry, written as rows arrive (a data descriptor after it gives its
 * CRC and sizes). A checkpoint flushes the deflate stream to a byte boundary (zlib's Z_SYNC_FLUSH, with
 * pako, the zlib port pdf-lib also uses): the next run starts a new compressor whose blocks follow on,
 * so the CRC, the sizes and the entries so far are the whole state to keep. (fflate's sync flush was
 * tried first: its output did not inflate once more than a few hundred KB had been pushed.)
 */

const CRC_TABLE = (() => {
	const t = new Int32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c;
	}
	return t;
})();

export function crc32(bytes: Uint8Array, crc = 0): number {
	let c = ~crc;
	for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
	return ~c >>> 0;
}

interface Entry {
	name: string;
	offset: number;
	crc: number;
	csize: number;
	usize: number;
}
interface Sheet extends Entry {
	head: TableHead;
	row: number;
}
interface State {
	entries: Entry[];
	sheets: string[];
	open: Sheet | null;
}

const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
const FLAG_UTF8 = 0x0800;
const FLAG_DESCRIPTOR = 0x0008;

function header(sig: number, fields: [number, 2 | 4][], name?: Uint8Array): Uint8Array {
	const size = 4 + fields.reduce((n, [, w]) => n + w, 0);
	const out = new Uint8Array(size + (name?.length ?? 0));
	const v = new DataView(out.buffer);
	v.setUint32(0, sig, true);
	let at = 4;
	for (const [x, w] of fields) {
		if (w === 2) v.setUint16(at, x, true);
		else v.setUint32(at, x >>> 0, true);
		at += w;
	}
	if (name) out.set(name, size);
	return out;
}

const localHeader = (name: Uint8Array, flags: number, crc: number, csize: number, usize: number) =>
	header(
		0x04034b50,
		[
			[20, 2],
			[flags | FLAG_UTF8, 2],
			[8, 2],
			[0, 2],
			[DOS_DATE, 2],
			[crc, 4],
			[csize, 4],
			[usize, 4],
			[name.length, 2],
			[0, 2],
		],
		name,
	);

const XML_BAD = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;
/** Text for an XML element: characters XML cannot hold removed, markup escaped, cut at Excel's 32,767 characters. */
export function xmlText(s: string): string {
	return s.slice(0, 32_767).replace(XML_BAD, "").replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
const attr = (s: string) => xmlText(s).replaceAll('"', "&quot;");

/** Excel's date serial of an instant: days since 1899-12-30. Times with an offset count their wall time. */
function serial(v: Cell): number | null {
	const ms = typeof v === "number" ? v : typeof v === "string" ? Date.parse(`${v.slice(0, 19)}Z`) : Number.NaN;
	return Number.isFinite(ms) ? ms / 86_400_000 + 25_569 : null;
}

function cell(v: Cell, col: Column): string {
	if (v == null) return "<c/>";
	if (col.type === "time") {
		const d = serial(v);
		return d == null ? "<c/>" : `<c s="1"><v>${d}</v></c>`;
	}
	if (typeof v === "number") return Number.isFinite(v) ? `<c><v>${v}</v></c>` : "<c/>";
	const space = /^\s|\s$/.test(v) ? ' xml:space="preserve"' : "";
	return `<c t="inlineStr"><is><t${space}>${xmlText(v)}</t></is></c>`;
}

const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';
const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const width = (c: Column) => (c.type === "time" ? 20 : c.type === "json" ? 50 : c.type === "string" ? 20 : 12);

export class XlsxWriter implements FormatWriter {
	private state: State;
	private deflate: Deflate | null = null;
	private out_: Uint8Array[] = [];

	constructor(
		private readonly out: ByteSink,
		state?: State,
	) {
		this.state = state ?? { entries: [], sheets: [], open: null };
	}

	private compressor(): Deflate {
		if (!this.deflate) {
			this.deflate = new Deflate({ level: 6, raw: true });
			this.deflate.onData = (chunk) => {
				this.out_.push(chunk);
			};
		}
		return this.deflate;
	}

	/** Deflates text into the open sheet's entry. */
	private async put(text: string, final = false): Promise<void> {
		const s = this.state.open!;
		const raw = utf8(text);
		s.crc = crc32(raw, s.crc);
		s.usize += raw.length;
		this.compressor().push(raw, final);
		const chunks = this.out_;
		this.out_ = [];
		for (const c of chunks) {
			s.csize += c.length;
			await this.out.write(c);
		}
	}

	async startTable(t: TableHead): Promise<void> {
		const index = this.state.sheets.length + 1;
		this.state.sheets.push(t.name);
		const name = `xl/worksheets/sheet${index}.xml`;
		const offset = this.out.offset;
		await this.out.write(localHeader(utf8(name), FLAG_DESCRIPTOR, 0, 0, 0));
		this.state.open = { name, offset, crc: 0, csize: 0, usize: 0, head: t, row: 1 };
		const cols = t.columns.map((c, i) => `<col min="${i + 1}" max="${i + 1}" width="${width(c)}" customWidth="1"/>`).join("");
		const headRow = `<row r="1">${t.columns.map((c) => `<c t="inlineStr" s="2"><is><t>${xmlText(c.name)}</t></is></c>`).join("")}</row>`;
		await this.put(
			`${XML}<worksheet ${NS}><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><cols>${cols}</cols><sheetData>${headRow}`,
		);
	}

	async writeRows(rows: Cell[][]): Promise<void> {
		const s = this.state.open!;
		const cols = s.head.columns;
		let text = "";
		for (const r of rows) {
			text += `<row r="${++s.row}">`;
			for (let i = 0; i < cols.length; i++) text += cell(r[i]!, cols[i]!);
			text += "</row>";
		}
		await this.put(text);
	}

	async endTable(): Promise<void> {
		const s = this.state.open!;
		await this.put("</sheetData></worksheet>", true);
		this.deflate = null;
		await this.out.write(header(0x08074b50, [[s.crc, 4], [s.csize, 4], [s.usize, 4]]));
		const { head: _, row: __, ...entry } = s;
		this.state.entries.push(entry);
		this.state.open = null;
	}

	async checkpoint(): Promise<unknown> {
		if (this.deflate && this.state.open) {
			// A sync flush ends on a byte boundary with nothing pending: a new compressor can carry on.
			this.deflate.push(new Uint8Array(0), 2); // Z_SYNC_FLUSH
			const s = this.state.open;
			for (const c of this.out_) {
				s.csize += c.length;
				await this.out.write(c);
			}
			this.out_ = [];
			this.deflate = null;
		}
		return structuredClone(this.state);
	}

	/** Writes a small part whole (its CRC and sizes in its local header). */
	private async part(name: string, text: string): Promise<void> {
		const raw = utf8(text);
		const packed = deflateRaw(raw, { level: 6 });
		const n = utf8(name);
		const entry: Entry = { name, offset: this.out.offset, crc: crc32(raw), csize: packed.length, usize: raw.length };
		await this.out.write(localHeader(n, 0, entry.crc, entry.csize, entry.usize));
		await this.out.write(packed);
		this.state.entries.push(entry);
	}

	async finish(): Promise<void> {
		if (this.state.open) await this.endTable();
		if (!this.state.sheets.length) await this.startTable({ name: "Sheet1", columns: [] }).then(() => this.endTable());
		const sheets = this.state.sheets;
		await this.part(
			"[Content_Types].xml",
			`${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>${sheets
				.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`)
				.join("")}</Types>`,
		);
		await this.part(
			"_rels/.rels",
			`${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		);
		await this.part(
			"xl/workbook.xml",
			`${XML}<workbook ${NS}><bookViews><workbookView/></bookViews><sheets>${sheets.map((n, i) => `<sheet name="${attr(n)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join("")}</sheets></workbook>`,
		);
		await this.part(
			"xl/_rels/workbook.xml.rels",
			`${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
				.map((_, i) => `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`)
				.join("")}<Relationship Id="rId${sheets.length + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`,
		);
		await this.part(
			"xl/styles.xml",
			`${XML}<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`,
		);
		// The central directory: every entry with its CRC, sizes and where its local header is.
		const start = this.out.offset;
		let size = 0;
		for (const e of this.state.entries) {
			const n = utf8(e.name);
			const flags = e.name.startsWith("xl/worksheets/") ? FLAG_DESCRIPTOR : 0;
			const h = header(
				0x02014b50,
				[
					[20, 2],
					[20, 2],
					[flags | FLAG_UTF8, 2],
					[8, 2],
					[0, 2],
					[DOS_DATE, 2],
					[e.crc, 4],
					[e.csize, 4],
					[e.usize, 4],
					[n.length, 2],
					[0, 2],
					[0, 2],
					[0, 2],
					[0, 2],
					[0, 4],
					[e.offset, 4],
				],
				n,
			);
			size += h.length;
			await this.out.write(h);
		}
		const count = this.state.entries.length;
		await this.out.write(
			header(0x06054b50, [
				[0, 2],
				[0, 2],
				[count, 2],
				[count, 2],
				[size, 4],
				[start, 4],
				[0, 2],
			]),
		);
	}
}
