import { useState } from "preact/hooks";
import { API_ORIGIN, ApiFailure, type ApiClient } from "../api/client";
import type { Share } from "../api/types";
import { useLoad } from "../hooks";
import { when } from "../lib/boards";
import { ConfirmRow, useConfirmed } from "./Confirm";
import { CopyButton } from "./Copy";
import { ErrorNote, Skeleton } from "./States";
import { ListHead } from "./Table";

/**
 * A board's share links: an admin key creates one (with an expiry; its URL is shown once), lists
 * them and revokes them. A read key sees the links, and why it cannot make one.
 */
export function SharePanel({ api, boardId, admin }: { api: ApiClient; boardId: string; admin: boolean }) {
	const load = useLoad(`shares:${boardId}`, (signal) => api.boards.shares(boardId, signal));
	const [days, setDays] = useState("30");
	const [made, setMade] = useState<{ id: string; url: string; expires: string } | null>(null);
	const [error, setError] = useState<ApiFailure | null>(null);
	const [busy, setBusy] = useState(false);
	const n = Number(days);
	const okDays = Number.isInteger(n) && n >= 1 && n <= 365;

	const create = async (e: Event) => {
		e.preventDefault();
		if (!okDays) return;
		setBusy(true);
		setError(null);
		try {
			const link = await api.boards.share(boardId, n);
			// A dashboard served from its own origin (Pages) shares its own address; the API's `url` is the Worker's.
			const url = API_ORIGIN === location.origin ? link.url : `${location.origin}/#/shared/${link.token}`;
			setMade({ id: link.id, url, expires: link.expires_at });
			load.reload();
		} catch (err) {
			setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
		} finally {
			setBusy(false);
		}
	};

	return (
		<section class="panel" aria-labelledby="share-title" data-testid="share-panel">
			<h2 id="share-title" class="panel-head">
				Share
			</h2>
			{admin ? (
				<form class="form-grid" onSubmit={create}>
					<label style={{ flex: "0 1 12rem" }}>
						Link expires in (days)
						<input type="number" min={1} max={365} value={days} onInput={(e) => setDays((e.currentTarget as HTMLInputElement).value)} required />
					</label>
					<div>
						<button type="submit" class="primary" disabled={!okDays || busy}>
							Create a share link
						</button>
					</div>
					<p class="muted small" style={{ flexBasis: "100%", margin: 0 }}>
						Anyone with the link sees this board, read-only, until it expires or is revoked: send it as you would a password.
					</p>
				</form>
			) : (
				<div class="state warn" data-testid="share-needs-admin">
					<p style={{ margin: 0 }}>
						Sharing needs a workspace <strong>admin</strong> key: a share link publishes this board's numbers to anyone who holds it. You are signed in with a read key,
						which can see the links below but not create or revoke them.
					</p>
				</div>
			)}
			{error && <ErrorNote error={error} title="No link was created" />}
			{made && (
				<div class="new-key" data-testid="new-share" role="status">
					<label>
						The link (shown once: copy it now)
						<input readOnly value={made.url} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
					</label>
					<div class="row-gap">
						<CopyButton text={made.url} label="Copy link" />
						<a class="button" href={made.url} target="_blank" rel="noopener noreferrer">
							Open it
						</a>
						<span class="muted small">works until {when(made.expires)}</span>
					</div>
				</div>
			)}
			{load.error ? (
				<ErrorNote error={load.error} title="The links could not be listed" onRetry={load.reload} />
			) : load.data ? (
				<Links shares={load.data.shares} admin={admin} revoke={(id) => api.boards.revokeShare(boardId, id)} reload={load.reload} />
			) : (
				<Skeleton height={60} />
			)}
		</section>
	);
}

function Links({ shares, admin, revoke, reload }: { shares: Share[]; admin: boolean; revoke: (id: string) => Promise<Share>; reload: () => void }) {
	const revoking = useConfirmed(revoke, reload);
	if (!shares.length) return <p class="muted small">No share links yet.</p>;
	return (
		<>
			{revoking.error && <ErrorNote error={revoking.error} title="The link was not revoked" />}
			<div class="table-wrap" tabIndex={0} role="region" aria-label="Share links">
				<table data-testid="shares">
					<caption class="sr-only">Share links of this board</caption>
					<ListHead columns={["Link", "Created", "Expires", "Status"]} actions={admin} />
					<tbody>
						{shares.map((s) => (
							<tr data-share={s.id} data-status={s.status}>
								<td>
									<code>{s.id}</code>
								</td>
								<td>{when(s.created_at)}</td>
								<td>{when(s.expires_at)}</td>
								<td>
									<span class={`pill ${s.status === "active" ? "" : "revoked"}`}>{s.status}</span>
								</td>
								{admin && (
									<td class="num">
										{s.status === "active" && (
											<ConfirmRow confirmed={revoking} id={s.id} label="Revoke" yes="Yes, revoke" ariaLabel={`Revoke link ${s.id}`} />
										)}
									</td>
								)}
							</tr>
						))}
					</tbody>
				</table>
			</div>
		</>
	);
}
