import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import type { Board, QueryInput, TenantInfo } from "../api/types";
import { BoardEditor, TileControls } from "../components/BoardEditor";
import { batchTile, BoardGrid, type TileData, tileData } from "../components/BoardGrid";
import { answerKind, isOtherKind, type OtherKind } from "../components/KindView";
import { ZonePicker } from "../components/Controls";
import { opsFor } from "../api/ops";
import { ExportButton, exportRange } from "../components/ExportButton";
import { SchedulesPanel } from "../components/SchedulesPanel";
import { SharePanel } from "../components/SharePanel";
import { ErrorNote, Skeleton } from "../components/States";
import { useLoad } from "../hooks";
import { specsOf, type Tile, withRange } from "../lib/boards";
import { PRESET_LABELS, PRESETS, rangeLabel, type RangeSel } from "../lib/range";
import { type BoardViewState, boardSearch, parseBoardView } from "../lib/url";
import { navigate, onLinkClick } from "../router";

interface Loaded {
	board: Board;
	tiles: TileData[];
}

/**
 * A board with one range for every tile: its layout and the reports' queries, then every query with
 * that range in batches of 20 (POST /v1/query/batch).
 */
async function overRange(api: ApiClient, id: string, range: RangeSel | null, tz: string | null, signal: AbortSignal): Promise<Loaded> {
	const [board, { reports }] = await Promise.all([api.boards.get(id, signal), api.reports.list(signal)]);
	const byId = new Map(reports.map((r) => [r.id, r]));
	const tiles: TileData[] = board.layout.map((t) => {
		const r = byId.get(t.report_id);
		return { reportId: t.report_id, width: t.width, report: r ?? null, answer: null, error: r ? null : new ApiFailure(404, "not_found", `No report '${t.report_id}'.`), specs: specsOf(r?.query) };
	});
	// Reports of other kinds (funnels, retention…) are asked of their own endpoints, beside the batch.
	const others = tiles.filter((t) => t.report?.query && isOtherKind(t.report.kind));
	const asking = Promise.all(
		others.map((t) => {
			const kind = t.report!.kind as OtherKind;
			// Retention periods follow the workspace's zone: a board's zone is not sent to it.
			return answerKind(api, kind, withRange(t.report!.query!, range, kind === "retention" ? null : tz), signal).then(
				(answer) => Object.assign(t, { other: { kind, answer }, error: null }),
				(e: unknown) => Object.assign(t, { other: null, error: e instanceof ApiFailure ? e : new ApiFailure(0, "client_error", String(e)) }),
			);
		}),
	);
	const asked = tiles.filter((t) => t.report?.query && !isOtherKind(t.report.kind));
	for (let i = 0; i < asked.length; i += 20) {
		const chunk = asked.slice(i, i + 20);
		// NOTE: saved queries were checked by the API when saved, and are checked again by the batch.
		const queries = Object.fromEntries(chunk.map((t, k) => [`t${k}`, withRange(t.report!.query!, range, tz) as QueryInput]));
		const { answers } = await api.batch(queries, signal);
		chunk.forEach((t, k) => Object.assign(t, batchTile(t, answers[`t${k}`])));
	}
	await asking;
	return { board, tiles };
}

/** The saved answers of a board (GET /v1/boards/:id/results: one round trip, cached per data state). */
async function asSaved(api: ApiClient, id: string, signal: AbortSignal): Promise<Loaded> {
	const r = await api.boards.results(id, signal);
	return { board: r.board, tiles: r.tiles.map(tileData) };
}

/**
 * One board: its tiles in the grid, one range for all of them (or each report's own), the editor
 * (add, remove, move, resize, rename) and share links. `base` is the page's path (/boards/<id>, or
 * /support for the Support board); `head` replaces the board's own title.
 */
export function BoardPage({ api, secret, info, id, search, base, head, onAuthError }: { api: ApiClient; secret: string; info: TenantInfo; id: string; search: string; base: string; head?: ComponentChildren; onAuthError: (e: ApiFailure) => void }) {
	const ops = useMemo(() => opsFor(secret), [secret]);
	const view = parseBoardView(search);
	const override = view.range != null || view.tz != null;
	const load = useLoad(JSON.stringify([id, view.range, view.tz]), (signal) => (override ? overRange(api, id, view.range, view.tz, signal) : asSaved(api, id, signal)));
	const [layout, setLayout] = useState<Tile[] | null>(null);
	const [meta, setMeta] = useState<{ name: string; description: string } | null>(null);
	const [saveError, setSaveError] = useState<ApiFailure | null>(null);
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	useEffect(() => {
		if (load.data) {
			setLayout(load.data.board.layout);
			setMeta({ name: load.data.board.name, description: load.data.board.description });
		}
	}, [load.data]);
	const go = (v: BoardViewState) => navigate(`${base}${boardSearch(v) ? `?${boardSearch(v)}` : ""}`, { replace: true });
	const admin = info.key.scope === "admin";

	if (load.error && !load.data)
		return load.error.status === 404 ? (
			<div class="state">
				<h1>No such board</h1>
				<p>
					It may have been deleted. <a href="/boards" onClick={onLinkClick}>See the boards</a>
				</p>
			</div>
		) : (
			<ErrorNote error={load.error} title="The board could not be loaded" onRetry={load.reload} />
		);
	if (!load.data || !layout || !meta) return <Skeleton height={300} />;

	// Tiles in the edited order, each with the answer it was loaded with (a new tile: after the reload).
	const byReport = new Map(load.data.tiles.map((t) => [t.reportId, t]));
	const tiles = layout.map((t) => ({ ...(byReport.get(t.report_id) ?? { reportId: t.report_id, report: null, answer: null, error: null, specs: null }), width: t.width }));

	/** Saves a change of the board; on a refusal the board is read again. */
	const save = async (patch: { layout?: Tile[]; name?: string; description?: string }, reload = false) => {
		setSaveError(null);
		if (patch.layout) setLayout(patch.layout);
		if (patch.name != null || patch.description != null) setMeta({ name: patch.name ?? meta.name, description: patch.description ?? meta.description });
		try {
			await api.boards.update(id, patch);
			if (reload) load.reload();
		} catch (err) {
			setSaveError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
			load.reload();
		}
	};

	return (
		<div class="board-page" data-state={load.status === "ok" ? "ready" : load.status} data-board={id}>
			<div class="page-head">
				{head ?? (
					<div>
						<p class="crumbs small">
							<a href="/boards" onClick={onLinkClick}>
								Boards
							</a>
						</p>
						<h1 data-testid="board-name">{meta.name}</h1>
						{meta.description && <p class="muted" style={{ margin: 0 }}>{meta.description}</p>}
					</div>
				)}
				<div class="controls" role="group" aria-label="View">
					<label>
						Date range
						<select
							value={view.range && "preset" in view.range ? view.range.preset : view.range ? "custom" : ""}
							onChange={(e) => {
								const v = (e.currentTarget as HTMLSelectElement).value;
								const preset = PRESETS.find((p) => p === v);
								go({ ...view, range: preset ? { preset } : null });
							}}
						>
							<option value="">As saved in each report</option>
							{PRESETS.map((p) => (
								<option value={p}>{PRESET_LABELS[p]}</option>
							))}
							{view.range && !("preset" in view.range) && <option value="custom">{rangeLabel(view.range)}</option>}
						</select>
					</label>
					<ZonePicker tz={view.tz} tenantTz={info.tenant.timezone} onChange={(tz) => go({ ...view, tz })} />
					<ExportButton ops={ops} target={{ board_id: id, ...(view.range || view.tz ? exportRange(view.range, view.tz) : {}) }} what={meta.name} />
					<button type="button" aria-pressed={view.edit ? "true" : "false"} onClick={() => go({ ...view, edit: !view.edit })}>
						{view.edit ? "Done editing" : "Edit board"}
					</button>
				</div>
			</div>
			{saveError && <ErrorNote error={saveError} title="The change was not saved" />}
			{view.edit && (
				<BoardEditor
					api={api}
					name={meta.name}
					description={meta.description}
					layout={layout}
					onSave={save}
					onDeleted={() => navigate("/boards")}
					boardId={id}
				/>
			)}
			{tiles.length === 0 ? (
				<div class="state">
					<h2>This board is empty</h2>
					<p>
						{view.edit ? "Add a saved report above." : "Edit the board to add saved reports."} Reports are saved from{" "}
						<a href="/explore" onClick={onLinkClick}>
							Explore
						</a>
						.
					</p>
				</div>
			) : (
				<BoardGrid
					tiles={tiles}
					busy={load.status === "loading"}
					explore
					controls={(i) => (
						<>
							{view.edit && <TileControls index={i} layout={layout} name={tiles[i]?.report?.name ?? tiles[i]!.reportId} onChange={(l) => save({ layout: l })} />}
							{tiles[i]?.report && <ExportButton ops={ops} target={{ report_id: tiles[i]!.reportId }} what={tiles[i]!.report!.name} compact />}
						</>
					)}
				/>
			)}
			<SchedulesPanel ops={ops} target={{ board_id: id }} timezone={info.tenant.timezone} what="board" />
			<SharePanel api={api} boardId={id} admin={admin} />
		</div>
	);
}
