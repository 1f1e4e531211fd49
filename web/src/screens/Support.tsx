import { useEffect, useState } from "preact/hooks";
import type { ScreenProps } from "../App";
import { API_ORIGIN, ApiFailure } from "../api/client";
import { CopyBlock } from "../components/Copy";
import { ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { onLinkClick } from "../router";
import { BoardPage } from "./Board";

/** The support preset's board is named so (workers/reports/presets.ts). */
const SUPPORT_BOARD = "Support";

/**
 * The Support page: the workspace's "Support" board, the support preset's twelve reports over the
 * support event convention. Without it, an admin key creates it here; a read key is told who can.
 */
export function Support({ api, secret, info, search, onAuthError }: ScreenProps) {
	useTitle("Support");
	const load = useLoad("support-board", (signal) => api.boards.list(signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	const board = load.data?.boards.filter((b) => b.name === SUPPORT_BOARD).sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
	const head = (
		<div>
			<h1>Support</h1>
			<p class="muted small" style={{ margin: 0 }}>
				Conversations, response times, satisfaction and the AI's share, from the support events
				{board ? (
					<>
						{" "}
						(the{" "}
						<a href={`/boards/${board.id}`} onClick={onLinkClick}>
							Support board
						</a>
						).
					</>
				) : (
					"."
				)}
			</p>
		</div>
	);
	if (load.error) return <ErrorNote error={load.error} title="The support board could not be found" onRetry={load.reload} />;
	if (!load.data) return <Skeleton height={300} />;
	if (board) return <BoardPage api={api} secret={secret} info={info} id={board.id} search={search} base="/support" head={head} onAuthError={onAuthError} />;
	return (
		<div style={{ display: "grid", gap: "1rem" }} data-state="missing">
			<div class="page-head">{head}</div>
			<CreateSupportBoard admin={info.key.scope === "admin"} create={() => api.boards.preset("support").then(load.reload)} tenantId={info.tenant.id} />
		</div>
	);
}

function CreateSupportBoard({ admin, create, tenantId }: { admin: boolean; create: () => Promise<void>; tenantId: string }) {
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState<ApiFailure | null>(null);
	const what = (
		<p>
			The Support board answers a support desk's classic questions with twelve reports: conversations started, resolved, escalated and open, resolution and escalation
			rates, first response time, messages by hour and by weekday and hour, by channel and by agent, CSAT and its distribution, top intents, the AI's share of replies
			and its confidence. It reads the support event convention (<code>conversation_started</code>, <code>message_sent</code> with <code>sender_type</code> and{" "}
			<code>response_time_ms</code>, <code>conversation_resolved</code>, <code>conversation_escalated</code>, <code>csat_submitted</code> with <code>score</code>: see the
			README), and creating it adds the rollup settings it needs.
		</p>
	);
	if (!admin)
		return (
			<div class="state warn" data-testid="support-needs-admin">
				<h2>This workspace has no Support board yet</h2>
				{what}
				<p>
					A workspace admin can create it: sign in here with an <strong>admin</strong> key and open this page, or run:
				</p>
				<CopyBlock title="Command" text={`curl -X POST ${API_ORIGIN}/v1/boards/presets/support -H 'Authorization: Bearer <admin key>'`} />
				<p class="small">
					(An operator can also use <code>POST /v1/admin/tenants/{tenantId}/presets/support</code> with the admin token.)
				</p>
			</div>
		);
	return (
		<div class="state" data-testid="support-create">
			<h2>This workspace has no Support board yet</h2>
			{what}
			{error && <ErrorNote error={error} title="The board was not created" />}
			<button
				type="button"
				class="primary"
				disabled={busy}
				onClick={async () => {
					setBusy(true);
					setError(null);
					try {
						await create();
					} catch (err) {
						setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
					} finally {
						setBusy(false);
					}
				}}
			>
				{busy ? "Creating…" : "Create the Support board"}
			</button>
		</div>
	);
}
