import type { ExportFormat } from "../model";
import type { ByteSink, FormatWriter } from "../table";
import { ParquetWriter } from "./parquet";
import { TextWriter } from "./text";
import { XlsxWriter } from "./xlsx";

/** The streaming writer of a table format, continuing from a checkpoint's `state` when given. */
export function writerFor(format: ExportFormat, out: ByteSink, gzip: boolean, state: unknown): FormatWriter {
	switch (format) {
		case "csv":
		case "ndjson":
			return new TextWriter(out, format, gzip, state as ConstructorParameters<typeof TextWriter>[3]);
		case "parquet":
			return new ParquetWriter(out, state as ConstructorParameters<typeof ParquetWriter>[1]);
		case "xlsx":
			return new XlsxWriter(out, state as ConstructorParameters<typeof XlsxWriter>[1]);
		case "pdf":
			throw new Error("a PDF is drawn whole (formats/pdf.ts), not streamed");
	}
}
