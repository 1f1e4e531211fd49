import { useEffect } from "preact/hooks";
import type { ScreenProps } from "../App";
import type { PersonEvent } from "../api/people";
import { Empty, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { tidyQuery } from "../lib/url";
import { navigate, onLinkClick } from "../router";
import "../people.css";

const PAGE = 50;

/** `/people/<id>`: the person's id (any of their identifiers), or null. */
export const personIdOf = (path: string) => {
	if (!path.startsWith("/people/")) return null;
	try {
		const id = decodeURIComponent(path.slice("/people/".length));
		return id ? id : null;
	} catch {
		return null;
	}
};

/** A person's page's link. */
export const personHref = (id: string) => `/people/${encodeURIComponent(id)}`;

/** One person's events in time order (every identity merged into them), a page at a time. */
export function Person({ api, info, path, search, onAuthError }: ScreenProps) {
	const id = personIdOf(path) ?? "";
	useTitle(`Person ${id}`);
	const p = new URLSearchParams(search);
	const order = p.get("order") === "asc" ? "asc" : "desc";
	const cursor = p.get("cursor");
	const load = useLoad(id ? JSON.stringify([id, order, cursor]) : null, (signal) => api.personEvents(id, { order, limit: String(PAGE), ...(cursor ? { cursor } : {}) }, signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	const go = (o: string, c: string | null) => navigate(`${personHref(id)}${(() => {
		const q = new URLSearchParams();
		if (o === "asc") q.set("order", "asc");
		if (c) q.set("cursor", c);
		const s = tidyQuery(q);
		return s ? `?${s}` : "";
	})()}`);
	const data = load.data;
	const fmt = new Intl.DateTimeFormat("en-GB", { timeZone: info.tenant.timezone, dateStyle: "medium", timeStyle: "medium" });

	return (
		<div class="person" style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>
						Person <code data-testid="person-id">{data?.person.id ?? id}</code>
					</h1>
					{data && (
						<p class="muted small" style={{ margin: 0 }} data-testid="person-ids">
							{data.person.identifiers.length > 1 ? `Identities merged: ${data.person.identifiers.join(", ")}` : `Identifier: ${data.person.identifiers.join(", ")}`}
							{data.person.first_seen ? ` · first seen ${fmt.format(new Date(data.person.first_seen))}` : ""}
						</p>
					)}
				</div>
				<div class="segmented" role="group" aria-label="Order">
					<button type="button" aria-pressed={order === "desc" ? "true" : "false"} onClick={() => go("desc", null)}>
						Newest first
					</button>
					<button type="button" aria-pressed={order === "asc" ? "true" : "false"} onClick={() => go("asc", null)}>
						Oldest first
					</button>
				</div>
			</div>
			<section class="panel" aria-labelledby="events-title" aria-busy={load.status === "loading" ? "true" : "false"}>
				<div class="panel-head">
					<h2 id="events-title">Events{cursor ? " (a later page)" : ""}</h2>
					<span class="muted small">times in {info.tenant.timezone}</span>
				</div>
				{load.error ? (
					load.error.status === 404 ? (
						<Empty title="No such person">
							<p class="muted small">
								Nobody in this workspace has the identifier “{id}”. People appear after their first event; open one from a list of people (Explore: click a point, then “People behind this point”).
							</p>
						</Empty>
					) : (
						<ErrorNote error={load.error} title="This person's events could not be loaded" onRetry={load.reload} />
					)
				) : data ? (
					data.events.length === 0 ? (
						<Empty title="No events on this page">
							<p class="muted small">Go back to the first page.</p>
						</Empty>
					) : (
						<ol class="events-list" data-testid="person-events">
							{data.events.map((e) => (
								<EventItem e={e} fmt={fmt} />
							))}
						</ol>
					)
				) : (
					<Skeleton height={300} />
				)}
				<div class="row" style={{ marginTop: "0.75rem" }}>
					{cursor && (
						<button type="button" onClick={() => go(order, null)}>
							First page
						</button>
					)}
					{data?.next_cursor && (
						<button type="button" data-testid="next-page" onClick={() => go(order, data.next_cursor)}>
							{order === "desc" ? "Older events" : "Later events"}
						</button>
					)}
					{data && data.meta.pending_events > 0 && <span class="muted small">Events of the last minute may not be merged across identities yet.</span>}
				</div>
			</section>
			<p class="small">
				<a href="/explore" onClick={onLinkClick}>
					Back to Explore
				</a>
			</p>
		</div>
	);
}

function EventItem({ e, fmt }: { e: PersonEvent; fmt: Intl.DateTimeFormat }) {
	const full = "id" in e ? e : null;
	const props = full?.properties ? Object.entries(full.properties).slice(0, 12) : [];
	const where = full ? [full.country, full.device, full.browser, full.os].filter(Boolean).join(" · ") : "";
	return (
		<li data-ts={e.timestamp} data-event={e.event}>
			<time datetime={e.timestamp} class="muted small">
				{fmt.format(new Date(e.timestamp))}
			</time>
			<span>
				<strong>{e.event}</strong>
				{full && full.user_id == null && full.anonymous_id ? <span class="muted small"> · anonymous {full.anonymous_id}</span> : full?.user_id ? <span class="muted small"> · {full.user_id}</span> : null}
				{"archived" in e && e.archived ? <span class="muted small"> · archived (only its name and time are kept here)</span> : null}
			</span>
			{(props.length > 0 || where) && (
				<span class="props">
					{props.map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(" · ")}
					{where ? `${props.length ? " · " : ""}${where}` : ""}
				</span>
			)}
		</li>
	);
}
