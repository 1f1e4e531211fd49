import { useEffect, useState } from "preact/hooks";
import type { ScreenProps } from "../App";
import { ApiFailure } from "../api/client";
import type { Board, Report } from "../api/types";
import { ConfirmRow, useConfirmed } from "../components/Confirm";
import { Empty, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { chartLabel, when } from "../lib/boards";
import { navigate, onLinkClick } from "../router";
import { BoardPage } from "./Board";
import { ListHead } from "../components/Table";

/** /boards: the tenant's boards and saved reports; /boards/<id>: one board. */
export function Boards(props: ScreenProps) {
	const id = props.path.startsWith("/boards/") ? decodeURIComponent(props.path.slice("/boards/".length)) : null;
	return id ? <OneBoard {...props} id={id} /> : <BoardList {...props} />;
}

function OneBoard({ id, ...props }: ScreenProps & { id: string }) {
	useTitle("Board");
	return <BoardPage api={props.api} secret={props.secret} info={props.info} id={id} search={props.search} base={`/boards/${id}`} onAuthError={props.onAuthError} />;
}

function BoardList({ api, onAuthError }: ScreenProps) {
	useTitle("Boards");
	const load = useLoad("boards", (signal) => Promise.all([api.boards.list(signal), api.reports.list(signal)]));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	const [boards, reports] = load.data ? [load.data[0].boards, load.data[1].reports] : [null, null];
	return (
		<div style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status} class="boards-page">
			<div class="page-head">
				<div>
					<h1>Boards</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Saved reports arranged on a board; a board can be shared read-only with a link.
					</p>
				</div>
			</div>
			{load.error && <ErrorNote error={load.error} title="Boards could not be loaded" onRetry={load.reload} />}
			<section class="panel" aria-labelledby="boards-title">
				<h2 id="boards-title" class="panel-head">
					Boards
				</h2>
				{boards ? <BoardTable boards={boards} reports={reports ?? []} /> : <Skeleton height={120} />}
				<NewBoard create={(name) => api.boards.create({ name })} />
			</section>
			<section class="panel" aria-labelledby="reports-title">
				<h2 id="reports-title" class="panel-head">
					Saved reports
				</h2>
				{reports ? <ReportTable reports={reports} boards={boards ?? []} remove={(rid) => api.reports.remove(rid)} reload={load.reload} /> : <Skeleton height={120} />}
			</section>
		</div>
	);
}

function BoardTable({ boards, reports }: { boards: Board[]; reports: Report[] }) {
	if (!boards.length) return <p class="muted">No boards yet: create one below, then add saved reports to it.</p>;
	const names = new Map(reports.map((r) => [r.id, r.name]));
	return (
		<div class="table-wrap">
			<table class="list-table" data-testid="board-list">
				<caption class="sr-only">Boards of this workspace</caption>
				<thead>
					<tr>
						<th scope="col">Board</th>
						<th scope="col" class="hide-narrow">
							Reports
						</th>
						<th scope="col" class="num">
							Updated
						</th>
					</tr>
				</thead>
				<tbody>
					{boards.map((b) => (
						<tr data-board={b.id}>
							<th scope="row">
								<a href={`/boards/${b.id}`} onClick={onLinkClick}>
									{b.name}
								</a>
								{b.description && <div class="muted small">{b.description}</div>}
							</th>
							<td class="muted small hide-narrow">
								{b.layout.length ? `${b.layout.length}: ${b.layout.slice(0, 3).map((t) => names.get(t.report_id) ?? t.report_id).join(", ")}${b.layout.length > 3 ? "…" : ""}` : "empty"}
							</td>
							<td class="num small">{when(b.updated_at)}</td>
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}

function NewBoard({ create }: { create: (name: string) => Promise<Board> }) {
	const [name, setName] = useState("");
	const [error, setError] = useState<ApiFailure | null>(null);
	return (
		<form
			class="form-grid"
			style={{ marginTop: "1rem" }}
			onSubmit={async (e) => {
				e.preventDefault();
				setError(null);
				try {
					const b = await create(name.trim());
					navigate(`/boards/${b.id}?edit=1`);
				} catch (err) {
					setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
				}
			}}
		>
			<label>
				New board
				<input value={name} maxLength={200} placeholder="Support weekly" required onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
			</label>
			<div>
				<button type="submit" class="primary" disabled={!name.trim()}>
					Create board
				</button>
			</div>
			{error && (
				<div style={{ flexBasis: "100%" }}>
					<ErrorNote error={error} title="The board was not created" />
				</div>
			)}
		</form>
	);
}

function ReportTable({ reports, boards, remove, reload }: { reports: Report[]; boards: Board[]; remove: (id: string) => Promise<unknown>; reload: () => void }) {
	const deleting = useConfirmed(remove, reload);
	if (!reports.length)
		return (
			<Empty title="No saved reports yet">
				<p>
					Build a query in{" "}
					<a href="/explore" onClick={onLinkClick}>
						Explore
					</a>{" "}
					and save it as a report; then add it to a board.
				</p>
			</Empty>
		);
	const onBoards = (id: string) => boards.filter((b) => b.layout.some((t) => t.report_id === id)).length;
	return (
		<>
			{deleting.error && <ErrorNote error={deleting.error} title="The report was not deleted" />}
			<div class="table-wrap">
				<table class="list-table" data-testid="report-list">
					<caption class="sr-only">Saved reports of this workspace</caption>
					<ListHead columns={["Report", "Chart", ["Boards", "num hide-narrow"]]} />
					<tbody>
						{reports.map((r) => (
							<tr data-report={r.id}>
								<th scope="row">
									<a href={`/explore?report=${r.id}`} onClick={onLinkClick} title="Open in Explore">
										{r.name}
									</a>
								</th>
								<td>{chartLabel(r.chart)}</td>
								<td class="num hide-narrow">{onBoards(r.id)}</td>
								<td class="num">
									<ConfirmRow confirmed={deleting} id={r.id} label="Delete" yes="Yes, delete" ariaLabel={`Delete report ${r.name}`} />
								</td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
		</>
	);
}
