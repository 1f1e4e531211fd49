import { useEffect, useState } from "preact/hooks";
import { ApiFailure } from "../api/client";
import { asFailure, bytes, type ExportFormat, type ExportJob, type ExportRequestInput, type OpsClient } from "../api/ops";
import { withRange } from "../lib/boards";
import type { RangeSel } from "../lib/range";
import { onLinkClick } from "../router";
import { ErrorNote } from "./States";

type Override = Pick<ExportRequestInput, "date_range" | "timezone">;
/** What an export is of: a saved report or board (with the range shown, if not its own), or an ad-hoc query (POST /v1/exports takes one). */
export type ExportTarget = (({ report_id: string } | { board_id: string }) & Override) | { query: Record<string, unknown> };

/** A board's range and zone as shown (null: each report's own), as an export's overrides. */
export const exportRange = (range: RangeSel | null, tz: string | null): Override => withRange({}, range, tz) as Override;

export const FORMAT_LABELS: Record<ExportFormat, string> = { csv: "CSV", ndjson: "NDJSON", parquet: "Parquet", xlsx: "Excel (XLSX)", pdf: "PDF report" };
/** What the API takes for each source: a board is one table per report (no CSV or Parquet). */
export const formatsFor = (t: ExportTarget): ExportFormat[] => ("board_id" in t ? ["xlsx", "pdf", "ndjson"] : ["csv", "xlsx", "parquet", "ndjson", "pdf"]);
const TEXT: ExportFormat[] = ["csv", "ndjson"];
const POLL_MS = 1000;

/**
 * An Export button: pick a format (and gzip for text), start the export, follow it while it runs
 * (GET /v1/exports/{id}) and offer the file when it is done: the API's signed link, or the
 * authenticated download (the key in a header) when links are not configured.
 */
export function ExportButton({ ops, target, what, compact = false }: { ops: OpsClient; target: ExportTarget; what: string; compact?: boolean }) {
	const [open, setOpen] = useState(false);
	const formats = formatsFor(target);
	const [format, setFormat] = useState<ExportFormat>(formats[0]!);
	const [gzip, setGzip] = useState(false);
	const [job, setJob] = useState<ExportJob | null>(null);
	const [error, setError] = useState<ApiFailure | null>(null);
	const [busy, setBusy] = useState(false);
	const id = `export-${"report_id" in target ? target.report_id : "board_id" in target ? target.board_id : "query"}`;

	// Follows a queued or running export until it is done or failed.
	useEffect(() => {
		if (!job || job.state === "done" || job.state === "failed") return;
		let stop = false;
		const t = setTimeout(async () => {
			try {
				const next = await ops.exports.get(job.id);
				if (!stop) setJob(next);
			} catch (err) {
				if (!stop) setError(asFailure(err));
			}
		}, POLL_MS);
		return () => {
			stop = true;
			clearTimeout(t);
		};
	}, [job]);

	const start = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		setJob(null);
		try {
			const body: ExportRequestInput = { ...target, format, ...(TEXT.includes(format) && gzip ? { gzip: true } : {}) };
			setJob(await ops.exports.start(body));
		} catch (err) {
			setError(asFailure(err));
		} finally {
			setBusy(false);
		}
	};

	return (
		<div class={`export${compact ? " compact" : ""}`} data-testid="export">
			<button type="button" aria-expanded={open ? "true" : "false"} aria-controls={id} onClick={() => setOpen(!open)} aria-label={compact ? `Export ${what}` : undefined}>
				Export
			</button>
			{open && (
				<div class="export-panel" id={id} role="group" aria-label={`Export ${what}`}>
					<form class="row-gap" onSubmit={start}>
						<label>
							Format
							<select name="format" value={format} onChange={(e) => setFormat((e.currentTarget as HTMLSelectElement).value as ExportFormat)}>
								{formats.map((f) => (
									<option value={f}>{FORMAT_LABELS[f]}</option>
								))}
							</select>
						</label>
						{TEXT.includes(format) && (
							<label class="check">
								<input type="checkbox" name="gzip" checked={gzip} onChange={(e) => setGzip((e.currentTarget as HTMLInputElement).checked)} />
								gzip
							</label>
						)}
						<button type="submit" class="primary" disabled={busy || (job != null && job.state !== "done" && job.state !== "failed")}>
							Start export
						</button>
					</form>
					{error && <ErrorNote error={error} title="The export did not start" />}
					{job && <JobStatus ops={ops} job={job} />}
				</div>
			)}
		</div>
	);
}

/** An export's state: progress while it runs, the file when done, the reason when it failed. */
export function JobStatus({ ops, job }: { ops: OpsClient; job: ExportJob }) {
	return (
		<div class="export-status" data-testid="export-status" data-state={job.state} data-export={job.id} role="status" aria-live="polite">
			{job.state === "queued" || job.state === "running" ? (
				<>
					<progress max={1} value={job.state === "queued" ? undefined : job.progress} aria-label="Export progress" />
					<span class="small">
						{job.state === "queued" ? "Queued: starts in a moment…" : `Running: ${job.rows.toLocaleString("en-US")} rows so far (${Math.round(job.progress * 100)} %)`}
					</span>
				</>
			) : job.state === "failed" ? (
				<p class="state error" style={{ margin: 0 }}>
					Failed: {job.error?.message ?? "no reason given"}. Start it again; if it fails again, narrow the date range.
				</p>
			) : (
				<span class="row-gap">
					<Download ops={ops} job={job} />
					<span class="muted small">
						{job.rows.toLocaleString("en-US")} rows · {bytes(job.bytes)}
					</span>
				</span>
			)}
			<a class="small" href={`/exports?id=${job.id}`} onClick={onLinkClick}>
				All exports
			</a>
		</div>
	);
}

/** The file of a done export: its signed link, or else a download through the key (never in a URL). */
export function Download({ ops, job, primary = true }: { ops: OpsClient; job: ExportJob; primary?: boolean }) {
	const [error, setError] = useState<string | null>(null);
	if (job.expired) return <span class="muted small">File expired</span>;
	if (job.state !== "done") return null;
	if ("download_url" in job && job.download_url)
		return (
			<a class={`button${primary ? " primary" : ""}`} href={job.download_url} download={job.file_name} data-testid="export-download" rel="noopener">
				Download {job.file_name}
			</a>
		);
	const fetchIt = async () => {
		setError(null);
		try {
			const blob = await ops.exports.download(job.id);
			const a = document.createElement("a");
			a.href = URL.createObjectURL(blob);
			a.download = job.file_name;
			a.click();
			setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
		} catch (err) {
			setError(asFailure(err).message);
		}
	};
	return (
		<>
			<button type="button" class={primary ? "primary" : undefined} onClick={fetchIt} data-testid="export-download">
				Download {job.file_name}
			</button>
			{error && <span class="small" role="alert">{error}</span>}
		</>
	);
}
