import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { CreateReportInput, QueryInput, Report, UpdateReportInput } from "../api/types";
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
	const draft = useReportDraft(api, saved, (r) => onSaved(r.id));
	const { setName, setDescription } = draft;
	useEffect(() => {
		if (saved) {
			setName(saved.name);
			setDescription(saved.description);
		}
	}, [saved?.id]);
	const body = { name: draft.name.trim(), description: draft.description, chart: view.chart, query };

	return (
		<ReportSaveForm api={api} draft={draft} body={body} placeholder="e.g. Escalation rate by channel" note={<span class="muted small">drawn as: {chartLabel(view.chart)} (the chart type above)</span>} />
	);
}

type ReportBody = CreateReportInput & UpdateReportInput;

/**
 * The name and description of a report being saved, and the outcome of saving it: as changes to
 * `saved` (the report it was opened from), or as a new report. Shared by SaveReport and SaveKindReport.
 */
export function useReportDraft(api: ApiClient, saved: Report | null, onSaved: (r: Report) => void) {
	const [name, setName] = useState(saved?.name ?? "");
	const [description, setDescription] = useState(saved?.description ?? "");
	const [error, setError] = useState<ApiFailure | null>(null);
	const [done, setDone] = useState<string | null>(null);
	const [busy, setBusy] = useState(false);
	const save = async (body: ReportBody, asNew: boolean) => {
		setBusy(true);
		setError(null);
		setDone(null);
		try {
			const r = saved && !asNew ? await api.reports.update(saved.id, body) : await api.reports.create(body);
			setDone(`Saved “${r.name}”.`);
			onSaved(r);
		} catch (err) {
			setError(asError(err));
		} finally {
			setBusy(false);
		}
	};
	return { saved, name, setName, description, setDescription, error, setError, done, busy, save };
}

/**
 * The save panel of a report: name, description, any `fields` of its own (before the buttons) and a
 * `note` beside them; `body` null asks for the question to be completed first.
 */
export function ReportSaveForm({
	api,
	draft,
	body,
	placeholder,
	heading = "Save as a report",
	fields,
	note,
}: {
	api: ApiClient;
	draft: ReturnType<typeof useReportDraft>;
	body: ReportBody | null;
	placeholder: string;
	heading?: string;
	fields?: ComponentChildren;
	note?: ComponentChildren;
}) {
	const { saved, name, setName, description, setDescription, error, done, busy } = draft;
	// Without a body (the question is incomplete), a saved report counts as changed.
	const changed = saved != null && (!body || JSON.stringify(saved.query) !== JSON.stringify(body.query) || saved.chart !== body.chart || saved.name !== name.trim() || saved.description !== description);
	const run = (asNew: boolean) => (body ? draft.save(body, asNew) : undefined);

	return (
		<section class="panel" aria-labelledby="save-title" data-testid="save-report">
			<div class="panel-head">
				<h2 id="save-title">{saved ? "Saved report" : heading}</h2>
				{saved && (
					<span class="muted small" data-testid="save-state">
						{changed ? "changed since it was saved" : "as saved"} · <code>{saved.id}</code>
					</span>
				)}
			</div>
			{!body ? (
				<p class="muted small">Complete the question above to save it.</p>
			) : (
				<form
					class="form-grid"
					onSubmit={(e) => {
						e.preventDefault();
						if (name.trim()) void run(false);
					}}
				>
					<label>
						Report name
						<input value={name} maxLength={200} required placeholder={placeholder} onInput={(e) => setName(value(e))} />
					</label>
					<label>
						Description
						<input value={description} maxLength={1000} placeholder="optional" onInput={(e) => setDescription(value(e))} />
					</label>
					{fields}
					<div class="actions row-gap">
						<button type="submit" class="primary" disabled={busy || !name.trim() || (saved != null && !changed)}>
							{saved ? "Save changes" : "Save as report"}
						</button>
						{saved && (
							<button type="button" disabled={busy || !name.trim()} onClick={() => void run(true)}>
								Save as a new report
							</button>
						)}
						{note}
					</div>
				</form>
			)}
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
