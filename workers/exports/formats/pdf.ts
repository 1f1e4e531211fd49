import { type PDFFont, type PDFPage, PDFDocument, rgb, StandardFonts } from "pdf-lib";
import type { QueryAnswer } from "../../reports/kinds";
import type { Section } from "../sources";
import { drawKind, kindChartHeight } from "./pdf-kinds";

/**
 * The PDF report of a saved report, a board or a query, drawn inside the Worker with pdf-lib: the
 * title, tenant, range and time zone; a table of key figures (each report's metrics over the whole
 * range, with the previous period when the report compares); then each report with its chart drawn
 * as vector graphics (lines, bars, a heat map, a table or a big number, after its chart type; funnels,
 * retention, experiments and insights as pdf-kinds.ts draws them).
 *
 * NOTE: the 14 standard PDF fonts need no embedding (small files, nothing to load) but know only
 * Windows-1252 characters; any other character is printed as '?'.
 */
export interface PdfInput {
	title: string;
	kind: string;
	tenant: { id: string; name: string };
	sections: Section[];
	generatedAt: number;
}

const A4 = { w: 595.28, h: 841.89 };
const M = 48;
const INK = rgb(0.12, 0.14, 0.18);
const MUTED = rgb(0.42, 0.45, 0.5);
const GRID = rgb(0.86, 0.88, 0.9);
const ZEBRA = rgb(0.96, 0.97, 0.98);
const PALETTE = [rgb(0.16, 0.4, 0.85), rgb(0.9, 0.45, 0.1), rgb(0.2, 0.62, 0.35), rgb(0.8, 0.2, 0.3), rgb(0.5, 0.3, 0.75), rgb(0.1, 0.6, 0.65), rgb(0.65, 0.55, 0.1), rgb(0.45, 0.45, 0.45)];

/** A number as the report prints it: thousands separated, at most two decimals; null as an en dash. */
export function formatNumber(v: number | null | undefined): string {
	if (v == null || !Number.isFinite(v)) return "–";
	return v.toLocaleString("en-US", { maximumFractionDigits: Math.abs(v) < 1 && v !== 0 ? 3 : 2 });
}
const pct = (v: number | null | undefined) => (v == null || !Number.isFinite(v) ? "–" : `${v > 0 ? "+" : ""}${v.toLocaleString("en-US", { maximumFractionDigits: 1 })}%`);

type Meta = { metrics: string[]; dimensions: string[]; granularity: string | null; timezone: string; date_range: { from: string; to: string } };

export class Doc {
	page!: PDFPage;
	y = 0;
	pages: PDFPage[] = [];
	private chars: Set<number>;
	constructor(
		readonly pdf: PDFDocument,
		readonly font: PDFFont,
		readonly bold: PDFFont,
	) {
		this.chars = new Set(font.getCharacterSet());
		this.newPage();
	}
	newPage() {
		this.page = this.pdf.addPage([A4.w, A4.h]);
		this.pages.push(this.page);
		this.y = A4.h - M;
	}
	/** Room for `h` points below the cursor, else a new page. */
	need(h: number) {
		if (this.y - h < M + 20) this.newPage();
	}
	/** Text the standard fonts can print (others become '?'), cut with an ellipsis to `maxW` points. */
	fit(s: string, size: number, maxW = Number.POSITIVE_INFINITY, f = this.font): string {
		let t = "";
		for (const ch of s.replace(/[\r\n\t]+/g, " ")) t += this.chars.has(ch.codePointAt(0)!) ? ch : "?";
		if (f.widthOfTextAtSize(t, size) <= maxW) return t;
		while (t.length > 1 && f.widthOfTextAtSize(`${t}…`, size) > maxW) t = t.slice(0, -1);
		return `${t}…`;
	}
	text(s: string, x: number, y: number, size: number, o: { bold?: boolean; color?: ReturnType<typeof rgb>; maxW?: number; align?: "left" | "right" | "center" } = {}) {
		const f = o.bold ? this.bold : this.font;
		const t = this.fit(s, size, o.maxW, f);
		const w = f.widthOfTextAtSize(t, size);
		const dx = o.align === "right" ? -w : o.align === "center" ? -w / 2 : 0;
		this.page.drawText(t, { x: x + dx, y, size, font: f, color: o.color ?? INK });
	}
}

/** Renders the report; returns the PDF file's bytes. */
export async function renderPdf(input: PdfInput): Promise<Uint8Array> {
	const pdf = await PDFDocument.create();
	pdf.setTitle(input.title);
	pdf.setAuthor(input.tenant.name);
	pdf.setProducer("Edgewise");
	pdf.setCreator("Edgewise exports");
	pdf.setCreationDate(new Date(input.generatedAt));
	pdf.setModificationDate(new Date(input.generatedAt));
	const doc = new Doc(pdf, await pdf.embedFont(StandardFonts.Helvetica), await pdf.embedFont(StandardFonts.HelveticaBold));
	const W = A4.w - 2 * M;

	// Title block.
	doc.text(input.title, M, doc.y - 20, 20, { bold: true, maxW: W });
	doc.y -= 40;
	const first = input.sections.find((s) => s.range)?.range;
	const lines = [
		`Tenant: ${input.tenant.name} (${input.tenant.id})`,
		first ? `Range: ${first.from.slice(0, 16).replace("T", " ")} to ${first.to.slice(0, 16).replace("T", " ")}   Time zone: ${first.timezone}` : "Range: –",
		`Generated: ${new Date(input.generatedAt).toISOString().slice(0, 16).replace("T", " ")} UTC   ${input.sections.length} report${input.sections.length === 1 ? "" : "s"}`,
	];
	for (const l of lines) {
		doc.text(l, M, doc.y, 10, { color: MUTED, maxW: W });
		doc.y -= 14;
	}
	doc.y -= 10;

	kpiTable(doc, input.sections, W);

	for (const s of input.sections) {
		const h = !s.answer ? 20 : s.kind === "query" ? chartHeight(s) : kindChartHeight(s);
		doc.need(h + 48);
		doc.y -= 14;
		doc.text(s.report?.name ?? "Query", M, doc.y, 13, { bold: true, maxW: W });
		doc.y -= 14;
		if (s.report?.description) {
			doc.text(s.report.description, M, doc.y, 9, { color: MUTED, maxW: W });
			doc.y -= 12;
		}
		const meta = s.answer?.meta as Meta | undefined;
		const range = s.range;
		if (!s.answer || !meta || !range) {
			doc.text(`This report could not be answered: ${s.error?.message ?? "unknown error"}`, M, doc.y - 10, 9, { color: rgb(0.7, 0.1, 0.1), maxW: W });
			doc.y -= 24;
			continue;
		}
		if (range.from !== first?.from || range.to !== first?.to || range.timezone !== first?.timezone) {
			doc.text(`${range.from.slice(0, 10)} to ${range.to.slice(0, 10)}, ${range.timezone}`, M, doc.y, 8, { color: MUTED });
			doc.y -= 11;
		}
		const box = { x: M, y: doc.y - h - 4, w: W, h };
		if (s.kind === "query") chart(doc, s, meta, box);
		else drawKind(doc, s, box);
		doc.y = box.y - 8;
	}

	// Page numbers, once the number of pages is known.
	doc.pages.forEach((p, i) => {
		const label = doc.fit(`${input.title} · Edgewise · page ${i + 1} of ${doc.pages.length}`, 8);
		p.drawText(label, { x: A4.w - M - doc.font.widthOfTextAtSize(label, 8), y: M - 20, size: 8, font: doc.font, color: MUTED });
	});
	return pdf.save({ useObjectStreams: true });
}

/** Each report's metrics over the whole range: value, previous period, change. */
function kpiTable(doc: Doc, sections: Section[], W: number) {
	const cols = [
		{ name: "Report", w: W * 0.36, align: "left" as const },
		{ name: "Metric", w: W * 0.22, align: "left" as const },
		{ name: "Value", w: W * 0.15, align: "right" as const },
		{ name: "Previous", w: W * 0.15, align: "right" as const },
		{ name: "Change", w: W * 0.12, align: "right" as const },
	];
	const rows: string[][] = [];
	for (const s of sections) {
		const k = s.kpis;
		if (!k) {
			rows.push([s.report?.name ?? "Query", "–", "–", "–", "–"]);
			continue;
		}
		k.forEach((m) => rows.push([s.report?.name ?? "Query", m.metric, formatNumber(m.value), m.previous === undefined ? "" : formatNumber(m.previous), m.change_pct === undefined ? "" : pct(m.change_pct)]));
	}
	doc.text("Key figures", M, doc.y - 4, 13, { bold: true });
	doc.y -= 22;
	const rowH = 16;
	const header = () => {
		doc.page.drawRectangle({ x: M, y: doc.y - 4, width: W, height: rowH, color: rgb(0.9, 0.92, 0.95) });
		let x = M;
		for (const c of cols) {
			doc.text(c.name, c.align === "right" ? x + c.w - 6 : x + 6, doc.y + 1, 9, { bold: true, align: c.align });
			x += c.w;
		}
		doc.y -= rowH;
	};
	header();
	rows.forEach((r, i) => {
		if (doc.y - rowH < M + 20) {
			doc.newPage();
			header();
		}
		if (i % 2 === 1) doc.page.drawRectangle({ x: M, y: doc.y - 4, width: W, height: rowH, color: ZEBRA });
		let x = M;
		r.forEach((v, j) => {
			const c = cols[j]!;
			doc.text(v, c.align === "right" ? x + c.w - 6 : x + 6, doc.y + 1, 9, { align: c.align, maxW: c.w - 12, bold: j === 2 });
			x += c.w;
		});
		doc.y -= rowH;
	});
	doc.page.drawLine({ start: { x: M, y: doc.y + rowH - 4 }, end: { x: M + W, y: doc.y + rowH - 4 }, thickness: 0.5, color: GRID });
	doc.y -= 6;
}

type Box = { x: number; y: number; w: number; h: number };

/** How tall a report's chart is drawn: what it shows needs, so a page holds as many as fit. */
function chartHeight(s: Section): number {
	const meta = s.answer!.meta as Meta;
	const n = (s.answer as QueryAnswer).results.length;
	const type = chartType(s, meta);
	if (!n) return 60;
	if (type === "number") return 110;
	if (type === "table") return 22 + (Math.min(n, TABLE_ROWS) + 1) * 13 + (n > TABLE_ROWS ? 10 : 0);
	if (type === "bar") return Math.min(230, 28 + Math.min(n, MAX_BARS) * 16);
	return 190;
}

const MAX_BARS = 24;
const TABLE_ROWS = 15;

function chartType(s: Section, meta: Meta): "number" | "table" | "heatmap" | "line" | "bar" {
	const type = s.report?.chart ?? (meta.granularity ? "line" : meta.dimensions.length ? "bar" : "number");
	if (type === "number" || (!meta.granularity && !meta.dimensions.length && type !== "table")) return "number";
	if (type === "table") return "table";
	if (type === "heatmap" && (meta.dimensions.length >= 2 || (meta.granularity && meta.dimensions.length === 1))) return "heatmap";
	return meta.granularity ? "line" : "bar";
}

/** An axis label: 25M, 12.5k, 0.25. */
function compact(v: number): string {
	const a = Math.abs(v);
	if (a >= 1e9) return `${formatNumber(v / 1e9)}G`;
	if (a >= 1e6) return `${formatNumber(v / 1e6)}M`;
	if (a >= 1e4) return `${formatNumber(v / 1e3)}k`;
	return formatNumber(v);
}
type Row = { time?: string; dimensions: unknown[]; metrics: (number | null)[]; comparison?: { change_pct: (number | null)[] } };

const dimLabel = (r: Row) => (r.dimensions.length ? r.dimensions.map((d) => (d == null ? "(none)" : String(d))).join(" / ") : "total");

function chart(doc: Doc, s: Section, meta: Meta, box: Box) {
	const rows = (s.answer as QueryAnswer).results as Row[];
	doc.page.drawRectangle({ x: box.x, y: box.y, width: box.w, height: box.h, borderColor: GRID, borderWidth: 0.75 });
	if (!rows.length) {
		doc.text("No data in this range", box.x + box.w / 2, box.y + box.h / 2, 10, { color: MUTED, align: "center" });
		return;
	}
	const type = chartType(s, meta);
	if (type === "number") return numberChart(doc, rows, meta, box);
	if (type === "table") return tableChart(doc, rows, meta, box);
	if (type === "heatmap") return heatmap(doc, rows, meta, box);
	if (type === "line") return lineChart(doc, rows, meta, box);
	return barChart(doc, rows, meta, box);
}

function numberChart(doc: Doc, rows: Row[], meta: Meta, box: Box) {
	const n = Math.min(meta.metrics.length, 4);
	const w = box.w / n;
	for (let i = 0; i < n; i++) {
		const cx = box.x + w * i + w / 2;
		doc.text(formatNumber(rows[0]!.metrics[i]), cx, box.y + box.h / 2, 30, { bold: true, align: "center", maxW: w - 12 });
		doc.text(meta.metrics[i]!, cx, box.y + box.h / 2 - 22, 10, { color: MUTED, align: "center", maxW: w - 12 });
		const change = rows[0]!.comparison?.change_pct[i];
		if (change !== undefined) doc.text(`${pct(change)} vs previous period`, cx, box.y + box.h / 2 - 38, 9, { color: MUTED, align: "center", maxW: w - 12 });
	}
}

function niceMax(v: number): number {
	if (v <= 0) return 1;
	const p = 10 ** Math.floor(Math.log10(v));
	for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
	return 10 * p;
}

/** The plot area inside a box (room for axis labels), with the y axis, its grid and labels drawn. */
function axes(doc: Doc, box: Box, max: number, legendRows: number) {
	const plot = { x: box.x + 52, y: box.y + 24 + legendRows * 12, w: box.w - 64, h: box.h - 44 - legendRows * 12 };
	for (let i = 0; i <= 4; i++) {
		const y = plot.y + (plot.h * i) / 4;
		doc.page.drawLine({ start: { x: plot.x, y }, end: { x: plot.x + plot.w, y }, thickness: i === 0 ? 0.8 : 0.4, color: i === 0 ? MUTED : GRID });
		doc.text(compact((max * i) / 4), plot.x - 6, y - 3, 7, { color: MUTED, align: "right" });
	}
	return plot;
}

function lineChart(doc: Doc, rows: Row[], meta: Meta, box: Box) {
	const times = [...new Set(rows.map((r) => r.time ?? ""))];
	const at = new Map(times.map((t, i) => [t, i]));
	// Split by dimensions: a line per combination, of the first metric. Otherwise a line per metric.
	const byMetric = meta.dimensions.length === 0;
	const series = new Map<string, (number | null)[]>();
	for (const r of rows)
		for (const [m, name] of (byMetric ? meta.metrics : [meta.metrics[0]!]).entries()) {
			const k = byMetric ? name : dimLabel(r);
			let s = series.get(k);
			if (!s) series.set(k, (s = new Array<number | null>(times.length).fill(null)));
			s[at.get(r.time ?? "")!] = r.metrics[m] ?? null;
		}
	const shown = [...series.entries()].slice(0, PALETTE.length);
	const max = niceMax(Math.max(0, ...shown.flatMap(([, v]) => v.filter((x): x is number => x != null))));
	const legendRows = shown.length > 1 ? Math.ceil(shown.length / 4) : 0;
	const plot = axes(doc, box, max, legendRows);
	const xOf = (i: number) => plot.x + (times.length === 1 ? plot.w / 2 : (plot.w * i) / (times.length - 1));
	const yOf = (v: number) => plot.y + (plot.h * v) / max;
	shown.forEach(([, values], si) => {
		const color = PALETTE[si]!;
		let prev: { x: number; y: number } | null = null;
		values.forEach((v, i) => {
			if (v == null) {
				prev = null;
				return;
			}
			const p = { x: xOf(i), y: yOf(v) };
			if (prev) doc.page.drawLine({ start: prev, end: p, thickness: 1.4, color });
			else if (values[i + 1] == null) doc.page.drawCircle({ x: p.x, y: p.y, size: 1.6, color });
			prev = p;
		});
	});
	// x labels: first, middle and last bucket.
	const label = (t: string) => (meta.granularity === "hour" || meta.granularity === "minute" ? t.slice(5, 16).replace("T", " ") : t.slice(0, 10));
	const picks = times.length > 2 ? [0, Math.floor((times.length - 1) / 2), times.length - 1] : times.map((_, i) => i);
	for (const i of picks) doc.text(label(times[i]!), xOf(i), plot.y - 11, 7, { color: MUTED, align: i === 0 ? "left" : i === times.length - 1 ? "right" : "center" });
	// The metric's name, unless the legend names the lines by metric.
	if (!byMetric || !legendRows) doc.text(meta.metrics[0]!, box.x + 8, box.y + box.h - 11, 8, { color: MUTED });
	if (legendRows) {
		shown.forEach(([name], i) => {
			const x = box.x + 12 + (i % 4) * ((box.w - 24) / 4);
			const y = box.y + 8 + (legendRows - 1 - Math.floor(i / 4)) * 12;
			doc.page.drawRectangle({ x, y, width: 8, height: 6, color: PALETTE[i]! });
			doc.text(name, x + 12, y, 7, { maxW: (box.w - 24) / 4 - 16 });
		});
	}
}

function barChart(doc: Doc, rows: Row[], meta: Meta, box: Box) {
	const shown = rows.slice(0, MAX_BARS);
	const max = niceMax(Math.max(0, ...shown.map((r) => r.metrics[0] ?? 0)));
	const labelW = 150;
	const plot = { x: box.x + labelW, y: box.y + 10, w: box.w - labelW - 70, h: box.h - 26 };
	const barH = Math.min(12, plot.h / shown.length - 3);
	doc.text(rows.length > shown.length ? `${meta.metrics[0]} (the first ${shown.length} of ${rows.length} rows)` : meta.metrics[0]!, plot.x, box.y + box.h - 11, 8, { color: MUTED });
	shown.forEach((r, i) => {
		const y = plot.y + plot.h - (i + 1) * (plot.h / shown.length) + 2;
		const v = r.metrics[0] ?? 0;
		doc.text(dimLabel(r), plot.x - 8, y + barH / 2 - 3, 8, { align: "right", maxW: labelW - 16 });
		if (v > 0) doc.page.drawRectangle({ x: plot.x, y, width: Math.max(0.5, (plot.w * v) / max), height: barH, color: PALETTE[0]! });
		doc.text(formatNumber(r.metrics[0]), plot.x + (plot.w * Math.max(0, v)) / max + 5, y + barH / 2 - 3, 8);
	});
	doc.page.drawLine({ start: { x: plot.x, y: plot.y }, end: { x: plot.x, y: plot.y + plot.h }, thickness: 0.8, color: MUTED });
}

function tableChart(doc: Doc, rows: Row[], meta: Meta, box: Box) {
	const head = [...(meta.granularity ? ["time"] : []), ...meta.dimensions, ...meta.metrics];
	const n = head.length;
	const w = (box.w - 12) / n;
	const rowH = 13;
	const max = Math.min(rows.length, TABLE_ROWS);
	let y = box.y + box.h - 16;
	head.forEach((h, i) => doc.text(h, box.x + 6 + w * i + (i >= n - meta.metrics.length ? w - 6 : 0), y, 8, { bold: true, maxW: w - 6, align: i >= n - meta.metrics.length ? "right" : "left" }));
	y -= rowH;
	for (const r of rows.slice(0, max)) {
		const cells = [...(meta.granularity ? [String(r.time ?? "").slice(0, 16).replace("T", " ")] : []), ...r.dimensions.map((d) => (d == null ? "(none)" : String(d))), ...r.metrics.map(formatNumber)];
		cells.forEach((c, i) => doc.text(c, box.x + 6 + w * i + (i >= n - meta.metrics.length ? w - 6 : 0), y, 8, { maxW: w - 6, align: i >= n - meta.metrics.length ? "right" : "left" }));
		y -= rowH;
	}
	if (rows.length > max) doc.text(`… ${rows.length - max} more rows in the file exports`, box.x + 6, box.y + 5, 7, { color: MUTED });
}

function heatmap(doc: Doc, rows: Row[], meta: Meta, box: Box) {
	const xKey = (r: Row) => (meta.granularity ? String(r.time ?? "").slice(0, 10) : String(r.dimensions[1] ?? "(none)"));
	const yKey = (r: Row) => String(r.dimensions[0] ?? "(none)");
	const byValue = (a: string, b: string) => (a.trim() && b.trim() && Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0);
	const xs = [...new Set(rows.map(xKey))].sort(byValue);
	const ys = [...new Set(rows.map(yKey))].sort(byValue);
	const max = Math.max(1e-9, ...rows.map((r) => r.metrics[0] ?? 0));
	const plot = { x: box.x + 60, y: box.y + 20, w: box.w - 72, h: box.h - 32 };
	const cw = plot.w / xs.length;
	const ch = plot.h / ys.length;
	for (const r of rows) {
		const v = r.metrics[0] ?? 0;
		const t = Math.max(0, Math.min(1, v / max));
		doc.page.drawRectangle({ x: plot.x + xs.indexOf(xKey(r)) * cw, y: plot.y + plot.h - (ys.indexOf(yKey(r)) + 1) * ch, width: cw, height: ch, color: rgb(1 - 0.84 * t, 1 - 0.6 * t, 1 - 0.15 * t), borderColor: rgb(1, 1, 1), borderWidth: 0.3 });
	}
	ys.forEach((y, i) => {
		if (ys.length <= 14 || i % Math.ceil(ys.length / 14) === 0) doc.text(y, plot.x - 4, plot.y + plot.h - (i + 0.5) * ch - 3, 7, { align: "right", maxW: 54 });
	});
	const step = Math.max(1, Math.ceil(xs.length / 12));
	xs.forEach((x, i) => {
		if (i % step === 0) doc.text(x, plot.x + (i + 0.5) * cw, plot.y - 10, 7, { align: "center", color: MUTED });
	});
	doc.text(`${meta.metrics[0]}: 0 to ${formatNumber(max)}`, plot.x, box.y + box.h - 11, 8, { color: MUTED });
}
