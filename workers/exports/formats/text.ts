import { type ByteSink, type Cell, type Column, type FormatWriter, gzip, type TableHead, timeText, utf8 } from "../table";

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(v: string): string {
	return NEEDS_QUOTES.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function csvCell(v: Cell, col: Column): string {
	if (v == null) return "";
	if (col.type === "time") return timeText(v);
	return typeof v === "number" ? String(v) : csvField(v);
}

/**
 * Text formats: CSV (RFC 4180: UTF-8, a header row, CRLF line ends) and NDJSON (one JSON object a
 * line). With gzip, every batch of rows is one gzip member: a file of several members is one valid
 * gzip file (RFC 1952, 2.2), and a checkpoint never has a compressor's state to keep.
 */
export class TextWriter implements FormatWriter {
	private head: TableHead | null;
	private pending = "";
	private prefix = "{";

	constructor(
		private readonly out: ByteSink,
		private readonly format: "csv" | "ndjson",
		private readonly compress: boolean,
		state?: { head: TableHead | null },
	) {
		this.head = state?.head ?? null;
		if (this.head) this.prefix = prefixOf(this.head);
	}

	async startTable(t: TableHead): Promise<void> {
		this.head = t;
		this.prefix = prefixOf(t);
		if (this.format === "csv") this.pending += `${t.columns.map((c) => csvField(c.name)).join(",")}\r\n`;
	}

	async writeRows(rows: Cell[][]): Promise<void> {
		const cols = this.head!.columns;
		const n = cols.length;
		let text = this.pending;
		this.pending = "";
		if (this.format === "csv") {
			for (const row of rows) {
				let line = csvCell(row[0]!, cols[0]!);
				for (let i = 1; i < n; i++) line += `,${csvCell(row[i]!, cols[i]!)}`;
				text += `${line}\r\n`;
			}
		} else {
			const keys = cols.map((c, i) => `${i === 0 ? "" : ","}${JSON.stringify(c.name)}:`);
			for (const row of rows) {
				let line = this.prefix;
				for (let i = 0; i < n; i++) {
					const v = row[i];
					const col = cols[i]!;
					line += keys[i]!;
					if (v == null) line += "null";
					else if (col.type === "json") line += v;
					else if (col.type === "time") line += JSON.stringify(timeText(v));
					else line += typeof v === "number" ? (Number.isFinite(v) ? String(v) : "null") : JSON.stringify(v);
				}
				text += `${line}}\n`;
			}
		}
		await this.emit(text);
	}

	/** Rows already rendered in this format (raw events: SQLite writes the lines, sources.ts). */
	async writeText(lines: string): Promise<void> {
		const text = this.pending + lines;
		this.pending = "";
		await this.emit(text);
	}

	private async emit(text: string): Promise<void> {
		if (!text) return;
		const bytes = utf8(text);
		await this.out.write(this.compress ? await gzip(bytes) : bytes);
	}

	async endTable(): Promise<void> {
		// A table without rows still has its header.
		await this.emit(this.pending);
		this.pending = "";
	}

	async checkpoint(): Promise<unknown> {
		await this.emit(this.pending);
		this.pending = "";
		return { head: this.head };
	}

	async finish(): Promise<void> {
		await this.emit(this.pending);
		this.pending = "";
	}
}

/** NDJSON lines of a board start with the report they belong to. */
function prefixOf(t: TableHead): string {
	const tag = t.tag ? Object.entries(t.tag).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`) : [];
	return `{${tag.join("")}`;
}

