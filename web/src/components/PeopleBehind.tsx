import { useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { ExportJob, OpsClient } from "../api/ops";
import type { PeopleAnswer, PeopleInput } from "../api/people";
import type { QueryInput } from "../api/types";
import { useLoad } from "../hooks";
import { formatNumber } from "../lib/format";
import { type PeoplePick, peopleExportBody, toCsv } from "../lib/people";
import { onLinkClick } from "../router";
import { personHref } from "../screens/Person";
import { ErrorNote, Skeleton } from "./States";
import "../people.css";

/** A query row: its time (with a granularity) and dimension values. */
export type RowSel = PeoplePick;

/** The POST /v1/people body for a row of a POST /v1/query answer (null: the query has a distribution, which has no people list). */
export function peopleBody(q: QueryInput, row: RowSel): PeopleInput | null {
	const dims = q.dimensions ?? [];
	if (dims.some((d) => typeof d !== "string")) return null;
	return {
		date_range: q.date_range,
		...(q.timezone ? { timezone: q.timezone } : {}),
		...(q.filters?.length ? { filters: q.filters } : {}),
		...(q.granularity ? { granularity: q.granularity } : {}),
		dimensions: dims as string[],
		row: { ...(q.granularity && row.time ? { time: row.time } : {}), dimensions: row.dimensions },
		limit: 100,
	};
}

const asFailure = (e: unknown) => (e instanceof ApiFailure ? e : new ApiFailure(0, "client_error", String((e as Error)?.message ?? e)));

/** Pages of people, up to `max`, for the CSV made in the browser (when the API refuses the export). */
async function allPeople(api: ApiClient, body: PeopleInput, max = 10_000): Promise<PeopleAnswer["people"]> {
	const out: PeopleAnswer["people"] = [];
	let cursor: string | undefined;
	do {
		const page = await api.people({ ...body, limit: 1000, ...(cursor ? { cursor } : {}) });
		out.push(...page.people);
		cursor = page.next_cursor ?? undefined;
	} while (cursor && out.length < max);
	return out;
}

/** Saves a file: a URL (the export's signed link) or a Blob (revoked after the click). */
function save(name: string, what: string | Blob) {
	const url = typeof what === "string" ? what : URL.createObjectURL(what);
	const a = document.createElement("a");
	a.href = url;
	a.download = name;
	a.rel = "noopener";
	document.body.appendChild(a);
	a.click();
	a.remove();
	if (typeof what !== "string") setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const POLL_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The whole list as the server's export (POST /v1/exports with `people`: every page, no cap),
 * followed until done and downloaded. Returns the job, or the API's refusal (an ApiFailure with an
 * HTTP status, or a failed export) for the caller to fall back on.
 */
async function exportPeople(ops: OpsClient, body: PeopleInput): Promise<{ job: ExportJob } | { refused: string }> {
	let job: ExportJob;
	try {
		job = await ops.exports.start({ format: "csv", people: peopleExportBody(body) });
		while (job.state === "queued" || job.state === "running") {
			await sleep(POLL_MS);
			job = await ops.exports.get(job.id);
		}
	} catch (e) {
		if (e instanceof ApiFailure && e.status >= 400) return { refused: e.message };
		throw e;
	}
	if (job.state !== "done") return { refused: `the export ${job.id} failed${"error" in job && job.error ? `: ${String(job.error)}` : ""}` };
	if ("download_url" in job && job.download_url) save(job.file_name, job.download_url);
	else save(job.file_name, await ops.exports.download(job.id));
	return { job };
}

/** The people behind one point of a query (most events first), with links to their pages and a CSV. */
export function PeopleBehind({ api, ops, body, label, onClose }: { api: ApiClient; ops?: OpsClient; body: PeopleInput; label: string; onClose: () => void }) {
	const [pages, setPages] = useState<PeopleAnswer[]>([]);
	const [more, setMore] = useState<ApiFailure | null>(null);
	const [csv, setCsv] = useState<"idle" | "busy" | ApiFailure>("idle");
	/** What the last download was: the server's export, or the browser's CSV and why. */
	const [made, setMade] = useState<{ job: ExportJob } | { fallback: string; rows: number } | null>(null);
	const first = useLoad(JSON.stringify(body), async (signal) => {
		setPages([]);
		return api.people(body, signal);
	});
	const all = first.data ? [first.data, ...pages] : [];
	const people = all.flatMap((p) => p.people);
	const next = all.at(-1)?.next_cursor ?? null;
	return (
		<section class="panel people-list" aria-labelledby="people-title" data-testid="people-behind" data-state={first.status === "ok" ? "ready" : first.status}>
			<div class="panel-head">
				<h2 id="people-title">People behind {label}</h2>
				<div class="row">
					<button
						type="button"
						disabled={!first.data || csv === "busy"}
						onClick={async () => {
							setCsv("busy");
							setMade(null);
							try {
								const server = ops ? await exportPeople(ops, body) : { refused: "no export client" };
								if ("job" in server) setMade(server);
								else {
									// The API refused the export (scope, limits): the browser makes the CSV, up to 10,000 people.
									const list = await allPeople(api, body);
									save("people.csv", new Blob([toCsv(["person", "events", "first_seen"], list.map((p) => [p.id, p.events, p.first_seen ?? ""]))], { type: "text/csv;charset=utf-8" }));
									setMade({ fallback: server.refused, rows: list.length });
								}
								setCsv("idle");
							} catch (e) {
								setCsv(asFailure(e));
							}
						}}
					>
						{csv === "busy" ? "Exporting…" : "Download CSV"}
					</button>
					<button type="button" class="link small" onClick={onClose}>
						Close
					</button>
				</div>
			</div>
			{typeof csv === "object" && <ErrorNote error={csv} title="The CSV could not be made" />}
			{made && "job" in made && (
				<p class="muted small" role="status" data-testid="people-export" data-export={made.job.id}>
					Exported {formatNumber(made.job.rows)} people as {made.job.file_name} ·{" "}
					<a href={`/exports?id=${made.job.id}`} onClick={onLinkClick}>
						All exports
					</a>
				</p>
			)}
			{made && "fallback" in made && (
				<p class="state warn small" role="status" data-testid="people-export-fallback">
					The export was refused ({made.fallback}): this CSV was made in the browser, with the first {formatNumber(made.rows)} people (at most 10,000).
				</p>
			)}
			{first.error ? (
				<ErrorNote error={first.error} title="The people behind this point could not be listed" onRetry={first.reload} />
			) : first.data ? (
				people.length === 0 ? (
					<p class="muted small">Nobody: no events with a person match this point.</p>
				) : (
					<>
						<p class="muted small" data-testid="people-total">
							{formatNumber(first.data.remaining)} people, {formatNumber(first.data.meta.events)} events; most events first.
						</p>
						<ol>
							{people.map((p) => (
								<li data-person={p.id}>
									<a href={personHref(p.id)} onClick={onLinkClick}>
										{p.id}
									</a>{" "}
									<span class="muted small" data-value={p.events}>
										{formatNumber(p.events)} {p.events === 1 ? "event" : "events"}
									</span>
								</li>
							))}
						</ol>
						{next && (
							<button
								type="button"
								onClick={async () => {
									setMore(null);
									try {
										const page = await api.people({ ...body, cursor: next });
										setPages((ps) => [...ps, page]);
									} catch (e) {
										setMore(asFailure(e));
									}
								}}
							>
								More people
							</button>
						)}
						{more && <ErrorNote error={more} title="More people could not be loaded" />}
					</>
				)
			) : (
				<Skeleton height={120} />
			)}
		</section>
	);
}
