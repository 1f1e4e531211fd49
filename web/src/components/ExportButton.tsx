import { useEffect, useState } from "preact/hooks";
import { ApiFailure } from "../api/client";
import { asFailure, bytes, type ExportFormat, type ExportJob, type ExportRequestInput, type OpsClient } from "../api/ops";
import { withRange } from "../lib/boards";
import type { RangeSel } from "../lib/range";
import { navigate, onLinkClick } from "../router";
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
/** The URL parameter that holds the export in progress, so a reload (or a shared link) shows it again. */
export const EXPORT_PARAM = "export";

/** Sets or removes `export=<id>` in the current URL, keeping the screen's own parameters. */
function setExportParam(id: string | null) {
	const params = new URLSearchParams(location.search);
	if ((params.get(EXPORT_PARAM) ?? null) === id) return;
	if (id) params.set(EXPORT_PARAM, id);
	else params.delete(EXPORT_PARAM);
	const q = params.toString();
	navigate(`${location.pathname}${q ? `?${q}` : ""}`, { replace: true });
}

/** Whether an export is of this button's target (a board page has the board's button and one per tile). */
const isOf = (job: ExportJob, t: ExportTarget) => {
	const r = job.request as { report_id?: string; board_id?: string };
	return "report_id" in t ? r.report_id === t.report_id : "board_id" in t ? r.board_id === t.board_id : job.kind === "query";
};

// One request per export id for every button of a screen that looks at the URL's export.
const fromUrl = new Map<string, Promise<ExportJob | null>>();

/**
 * An Export button: pick a format (and gzip for text), start the export, follow it while it runs
 * (GET /v1/exports/{id}) and offer the file when it is done: the API's signed link, or the
 * authenticated download (the key in a header) when links are not configured. The export shown is
 * in the URL (`export=<id>`): a reload opens the panel on it again.
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

	// `export=<id>` in the URL: the button of that export's target opens on it again (after a reload).
	useEffect(() => {
		const want = new URLSearchParams(location.search).get(EXPORT_PARAM);
		if (!want || job?.id === want) return;
		let stop = false;
		if (!fromUrl.has(want)) fromUrl.set(want, ops.exports.get(want).catch(() => null));
		fromUrl.get(want)!.then((found) => {
			fromUrl.delete(want);
			if (stop) return;
			if (!found) return setExportParam(null); // gone, or never this workspace's: nothing to show
			if (!isOf(found, target)) return;
			setFormat(found.format);
			setGzip(found.gzip);
			setJob(found);
			setOpen(true);
		});
		return () => {
			stop = true;
		};
	}, [id]);

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
			const started = await ops.exports.start(body);
			setJob(started);
			setExportParam(started.id);
		} catch (err) {
			setError(asFailure(err));
		} finally {
			setBusy(false);
		}
	};

	return (
		<div class={`export${compact ? " compact" : ""}`} data-testid="export">
			<button type="button" aria-expanded={open ? "true" : "false"} aria-controls={id} onClick={() => {
					// Closing the panel forgets its export (the Exports page still lists it).
					if (open && job) setExportParam(null);
					setOpen(!open);
				}} aria-label={compact ? `Export ${what}` : undefined}>
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

/**
 * The file of a done export as a plain link: its signed link (made on the first click with
 * POST /v1/exports/{id}/link when the job came without one, as GET /v1/exports lists them), or,
 * where links are not configured, a download through the key in a header. The key is never in a URL.
 */
export function Download({ ops, job, primary = true }: { ops: OpsClient; job: ExportJob; primary?: boolean }) {
	const [error, setError] = useState<string | null>(null);
	const [made, setMade] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	if (job.expired) return <span class="muted small">File expired</span>;
	if (job.state !== "done") return null;
	const url = ("download_url" in job && job.download_url) || made;
	if (url)
		return (
			<a class={`button${primary ? " primary" : ""}`} href={url} download={job.file_name} data-testid="export-download" rel="noopener">
				Download {job.file_name}
			</a>
		);
	const save = (href: string) => {
		const a = document.createElement("a");
		a.href = href;
		a.download = job.file_name;
		a.rel = "noopener";
		a.click();
	};
	const fetchIt = async () => {
		setError(null);
		setBusy(true);
		try {
			const link = await ops.exports.link(job.id);
			setMade(link.url);
			save(link.url);
		} catch (err) {
			const failure = asFailure(err);
			if (failure.code !== "download_links_unavailable") setError(failure.message);
			else {
				try {
					const blob = await ops.exports.download(job.id);
					const href = URL.createObjectURL(blob);
					save(href);
					setTimeout(() => URL.revokeObjectURL(href), 10_000);
				} catch (err2) {
					setError(asFailure(err2).message);
				}
			}
		} finally {
			setBusy(false);
		}
	};
	return (
		<>
			<button type="button" class={primary ? "primary" : undefined} onClick={fetchIt} disabled={busy} data-testid="export-download">
				Download {job.file_name}
			</button>
			{error && (
				<span class="small" role="alert">
					{error}
				</span>
			)}
		</>
	);
}
