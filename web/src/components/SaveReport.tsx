import { useEffect, useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { QueryInput, Report } from "../api/types";
import { useLoad } from "../hooks";
import { addTile, chartLabel } from "../lib/boards";
import type { ExploreView } from "../lib/url";
import { onLinkClick } from "../router";
import { ErrorNote } from "./States";

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
const asError = (err: unknown) => (err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));

/**
 * Saves the query being built as a report (name, description, the chart chosen above), or saves
 * changes to the report it was opened from; then adds it to a board.
 */
export function SaveReport({ api, view, query, saved, onSaved }: { api: ApiClient; view: ExploreView; query: QueryInput; saved: Report | null; onSaved: (id: string) => void }) {
	const [name, setName] = useState(saved?.name ?? "");
	const [description, setDescription] = useState(saved?.description ?? "");
	const [error, setError] = useState<ApiFailure | null>(null);
	const [done, setDone] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	useEffect(() => {
		if (saved) {
			setName(saved.name);
			setDescription(saved.description);
		}
	}, [saved?.id]);
	const changed = saved != null && (JSON.stringify(saved.query) !== JSON.stringify(query) || saved.chart !== view.chart || saved.name !== name.trim() || saved.description !== description);

	const run = async (asNew: boolean) => {
		setBusy(true);
		setError(null);
		setDone(null);
		try {
			const body = { name: name.trim(), description, chart: view.chart, query };
			const r = saved && !asNew ? await api.reports.update(saved.id, body) : await api.reports.create(body);
			setDone(`Saved “${r.name}”.`);
			onSaved(r.id);
		} catch (err) {
			setError(asError(err));
		} finally {
			setBusy(false);
		}
	};

	return (
		<section class="panel" aria-labelledby="save-title" data-testid="save-report">
			<div class="panel-head">
				<h2 id="save-title">{saved ? "Saved report" : "Save as a report"}</h2>
				{saved && (
					<span class="muted small" data-testid="save-state">
						{changed ? "changed since it was saved" : "as saved"} · <code>{saved.id}</code>
					</span>
				)}
			</div>
			<form
				class="form-grid"
				onSubmit={(e) => {
					e.preventDefault();
					if (name.trim()) void run(false);
				}}
			>
				<label>
					Report name
					<input value={name} maxLength={200} required placeholder="e.g. Escalation rate by channel" onInput={(e) => setName(value(e))} />
				</label>
				<label>
					Description
					<input value={description} maxLength={1000} placeholder="optional" onInput={(e) => setDescription(value(e))} />
				</label>
				<div class="actions row-gap">
					<button type="submit" class="primary" disabled={busy || !name.trim() || (saved != null && !changed)}>
						{saved ? "Save changes" : "Save as report"}
					</button>
					{saved && (
						<button type="button" disabled={busy || !name.trim()} onClick={() => void run(true)}>
							Save as a new report
						</button>
					)}
					<span class="muted small">drawn as: {chartLabel(view.chart)} (the chart type above)</span>
				</div>
			</form>
			{error && <ErrorNote error={error} title="The report was not saved" />}
			{done && (
				<p role="status" class="small" data-testid="saved">
					{done}
				</p>
			)}
			{saved && <AddToBoard api={api} reportId={saved.id} />}
		</section>
	);
}

export function AddToBoard({ api, reportId }: { api: ApiClient; reportId: string }) {
	const boards = useLoad("boards", (signal) => api.boards.list(signal));
	const [pick, setPick] = useState("");
	const [done, setDone] = useState<{ id: string; name: string } | null>(null);
	const [error, setError] = useState<ApiFailure | null>(null);
	const list = boards.data?.boards ?? [];
	const chosen = list.find((b) => b.id === pick) ?? list[0];
	if (!list.length)
		return (
			<p class="muted small">
				Put it on a board: create one on{" "}
				<a href="/boards" onClick={onLinkClick}>
					Boards
				</a>
				.
			</p>
		);
	const on = chosen?.layout.some((t) => t.report_id === reportId);
	return (
		<form
			class="form-grid"
			style={{ marginTop: "0.75rem" }}
			onSubmit={async (e) => {
				e.preventDefault();
				if (!chosen || on) return;
				setError(null);
				try {
					// The board as it is now, so a layout changed meanwhile elsewhere is not overwritten.
					const fresh = await api.boards.get(chosen.id);
					await api.boards.update(chosen.id, { layout: addTile(fresh.layout, reportId) });
					setDone({ id: chosen.id, name: chosen.name });
					boards.reload();
				} catch (err) {
					setError(asError(err));
				}
			}}
		>
			<label>
				Add it to a board
				<select value={chosen?.id ?? ""} onChange={(e) => setPick(value(e))}>
					{list.map((b) => (
						<option value={b.id}>{b.name}</option>
					))}
				</select>
			</label>
			<div class="actions row-gap">
				<button type="submit" disabled={!chosen || on}>
					{on ? "Already on this board" : "Add to board"}
				</button>
				{done && (
					<span role="status" class="small">
						Added to{" "}
						<a href={`/boards/${done.id}`} onClick={onLinkClick}>
							{done.name}
						</a>
						.
					</span>
				)}
			</div>
			{error && <ErrorNote error={error} title="The report was not added" />}
		</form>
	);
}
