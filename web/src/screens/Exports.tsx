import { useEffect, useMemo, useState } from "preact/hooks";
import type { ScreenProps } from "../App";
import { bytes, type ExportJob, type ExportState, opsFor } from "../api/ops";
import { Download, FORMAT_LABELS } from "../components/ExportButton";
import { Empty, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { when } from "../lib/format";
import { navigate, onLinkClick } from "../router";
import "../ops.css";

const STATES: ExportState[] = ["queued", "running", "done", "failed"];

/** What an export was of, in words, with a link to it. */
function Source({ job }: { job: ExportJob }) {
	const r = job.request as { report_id?: string; board_id?: string };
	if (r.report_id)
		return (
			<a href={`/explore?report=${r.report_id}`} onClick={onLinkClick}>
				report
			</a>
		);
	if (r.board_id)
		return (
			<a href={`/boards/${r.board_id}`} onClick={onLinkClick}>
				board
			</a>
		);
	return <span>{job.kind === "events" ? "raw events" : "query"}</span>;
}

/**
 * /exports: the workspace's exports, newest first (GET /v1/exports): state, format, rows, bytes,
 * the file while it is kept, and why a failed one failed. `?state=` filters; `?id=` marks one.
 */
export function Exports({ secret, info, search, onAuthError }: ScreenProps) {
	useTitle("Exports");
	const ops = useMemo(() => opsFor(secret), [secret]);
	const params = new URLSearchParams(search);
	const state = STATES.find((s) => s === params.get("state")) ?? null;
	const mark = params.get("id");
	const [more, setMore] = useState<{ after: string; pages: ExportJob[][] } | null>(null);
	const load = useLoad(`exports:${state}`, (signal) => ops.exports.list({ state: state ?? undefined, limit: 50 }, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	useEffect(() => setMore(null), [state]);
	const rows = [...(load.data?.exports ?? []), ...(more?.pages.flat() ?? [])];
	const next = more ? more.after : (load.data?.next_cursor ?? null);
	// While an export runs, the list follows it.
	const active = rows.some((r) => r.state === "queued" || r.state === "running");
	useEffect(() => {
		if (!active || load.status === "loading") return;
		const t = setTimeout(load.reload, 1500);
		return () => clearTimeout(t);
	}, [active, load.data]);

	const loadMore = async () => {
		if (!next) return;
		const page = await ops.exports.list({ state: state ?? undefined, cursor: next, limit: 50 });
		setMore({ after: page.next_cursor ?? "", pages: [...(more?.pages ?? []), page.exports] });
	};
	const setState = (s: string) => navigate(`/exports${s ? `?state=${s}` : ""}`, { replace: true });

	return (
		<div style={{ display: "grid", gap: "1rem" }} class="exports-page" data-state={load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>Exports</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Files of reports, boards and queries (CSV, NDJSON, Parquet, Excel, PDF). Start one with the Export button of a report, a board or a query in Explore.
					</p>
				</div>
				<div class="controls">
					<label>
						State
						<select value={state ?? ""} onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value)}>
							<option value="">all</option>
							{STATES.map((s) => (
								<option value={s}>{s}</option>
							))}
						</select>
					</label>
					<button type="button" onClick={load.reload}>
						Refresh
					</button>
				</div>
			</div>
			{load.error && <ErrorNote error={load.error} title="Exports could not be loaded" onRetry={load.reload} />}
			{!load.data ? (
				!load.error && <Skeleton height={200} />
			) : rows.length === 0 ? (
				<Empty title={state ? `No ${state} exports` : "No exports yet"}>
					<p>
						Open a saved report in{" "}
						<a href="/explore" onClick={onLinkClick}>
							Explore
						</a>{" "}
						or a{" "}
						<a href="/boards" onClick={onLinkClick}>
							board
						</a>{" "}
						and press Export; the file shows up here.
					</p>
				</Empty>
			) : (
				<section class="panel">
					<div class="table-wrap" tabIndex={0} role="region" aria-label="Exports">
						<table data-testid="exports" class="stack">
							<caption class="sr-only">Exports, newest first</caption>
							<thead>
								<tr>
									<th scope="col">
										Created <span class="muted small">({info.tenant.timezone})</span>
									</th>
									<th scope="col">Of</th>
									<th scope="col">Format</th>
									<th scope="col">State</th>
									<th scope="col" class="num">
										Rows
									</th>
									<th scope="col" class="num">
										Size
									</th>
									<th scope="col">File</th>
								</tr>
							</thead>
							<tbody>
								{rows.map((r) => (
									<tr data-export={r.id} data-state={r.state} data-rows={r.rows} aria-current={r.id === mark ? "true" : undefined} class={r.id === mark ? "marked" : undefined}>
										<td data-label={`Created (${info.tenant.timezone})`}>{when(r.created_at, info.tenant.timezone)}</td>
										<td data-label="Of">
											<Source job={r} />
											{r.schedule_id && <span class="muted small"> (scheduled)</span>}
										</td>
										<td data-label="Format">
											{FORMAT_LABELS[r.format]}
											{r.gzip ? " · gzip" : ""}
										</td>
										<td data-label="State">
											<span class={`pill ${r.state === "failed" ? "revoked" : r.state === "done" ? "ok" : ""}`}>{r.state}</span>
											{r.state === "running" && <span class="muted small"> {Math.round(r.progress * 100)} %</span>}
										</td>
										<td class="num" data-label="Rows">{r.rows.toLocaleString("en-US")}</td>
										<td class="num" data-label="Size">{r.state === "done" ? bytes(r.bytes) : "–"}</td>
										<td class="wrap" data-label="File">{r.state === "failed" ? <span class="err-text">{r.error?.message ?? "failed"}</span> : <Download ops={ops} job={r} primary={false} />}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
					{next && (
						<button type="button" onClick={loadMore} style={{ marginTop: "0.75rem" }}>
							Older exports
						</button>
					)}
				</section>
			)}
		</div>
	);
}
