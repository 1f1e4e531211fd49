import { useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { PeopleAnswer, PeopleInput } from "../api/people";
import type { QueryInput } from "../api/types";
import { useLoad } from "../hooks";
import { formatNumber } from "../lib/format";
import { toCsv } from "../lib/people";
import { onLinkClick } from "../router";
import { personHref } from "../screens/Person";
import { ErrorNote, Skeleton } from "./States";
import "../people.css";

/** A query row: its time (with a granularity) and dimension values. */
export interface RowSel {
	time?: string;
	dimensions: (string | number | null)[];
}

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

/** Pages of people, up to `max`, for the CSV. */
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

/** Downloads text as a file (a Blob URL, revoked after the click). */
function download(name: string, text: string) {
	const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
	const a = document.createElement("a");
	a.href = url;
	a.download = name;
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The people behind one point of a query (most events first), with links to their pages and a CSV. */
export function PeopleBehind({ api, body, label, onClose }: { api: ApiClient; body: PeopleInput; label: string; onClose: () => void }) {
	const [pages, setPages] = useState<PeopleAnswer[]>([]);
	const [more, setMore] = useState<ApiFailure | null>(null);
	const [csv, setCsv] = useState<"idle" | "busy" | ApiFailure>("idle");
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
							try {
								const list = await allPeople(api, body);
								download("people.csv", toCsv(["person", "events", "first_seen"], list.map((p) => [p.id, p.events, p.first_seen ?? ""])));
								setCsv("idle");
							} catch (e) {
								setCsv(asFailure(e));
							}
						}}
					>
						{csv === "busy" ? "Preparing CSV…" : "Download CSV"}
					</button>
					<button type="button" class="link small" onClick={onClose}>
						Close
					</button>
				</div>
			</div>
			{typeof csv === "object" && <ErrorNote error={csv} title="The CSV could not be made" />}
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
