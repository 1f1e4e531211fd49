import { sharedBoard } from "../api/client";
import { BoardGrid, tileData } from "../components/BoardGrid";
import { Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { shareRefusal, when } from "../lib/boards";

/**
 * A shared board (`/#/shared/<token>`): read-only, without a key and without the workspace around
 * it. The link opens this board and nothing else, so there is nothing here to navigate to.
 */
export function Shared({ token }: { token: string }) {
	const load = useLoad(token ? `shared:${token}` : null, (signal) => sharedBoard(token, signal));
	const board = load.data;
	useTitle(board ? board.board.name : "Shared board");
	const refusal = !token
		? shareRefusal(403, "invalid_share_link", { reason: "malformed" }, "")
		: load.error
			? shareRefusal(load.error.status, load.error.code, load.error.details, load.error.message)
			: null;
	const state = refusal ? "refused" : board && load.status === "ok" ? "ready" : load.status;
	return (
		<>
			<header class="top shared-top">
				<span class="brand">
					<svg viewBox="0 0 32 32" aria-hidden="true">
						<rect width="32" height="32" rx="7" fill="var(--accent)" />
						<path d="M7 22l6-8 5 5 7-10" stroke="var(--accent-fg)" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round" />
					</svg>
					Edgewise
				</span>
				<span class="pill">Shared board · read-only</span>
			</header>
			<main id="main" class="shared" data-state={state} aria-busy={load.status === "loading" ? "true" : "false"}>
				{refusal ? (
					<div class="state error" role="alert" data-testid="share-refused" data-reason={reasonOf(load.error?.details) ?? (token ? "" : "malformed")}>
						<h1>{refusal.title}</h1>
						<p>{refusal.text}</p>
					</div>
				) : board ? (
					<>
						<div class="page-head">
							<div>
								<h1>{board.board.name}</h1>
								{board.board.description && <p class="muted" style={{ margin: 0 }}>{board.board.description}</p>}
							</div>
							<p class="muted small" style={{ margin: 0 }}>
								This link works until {when(board.expires_at)}.
							</p>
						</div>
						<BoardGrid tiles={board.tiles.map(tileData)} />
					</>
				) : (
					<>
						<Skeleton height={40} width="40%" />
						<Skeleton height={300} />
					</>
				)}
			</main>
		</>
	);
}

const reasonOf = (details: unknown) => (details && typeof details === "object" && "reason" in details ? String(details.reason) : null);
