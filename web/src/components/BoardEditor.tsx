import { useState } from "preact/hooks";
import { ApiFailure, type ApiClient } from "../api/client";
import { useLoad } from "../hooks";
import { addTile, chartLabel, DEFAULT_WIDTH, moveTile, removeTile, setWidth, type Tile, WIDTHS } from "../lib/boards";
import { onLinkClick } from "../router";
import { ErrorNote } from "./States";

type Save = (patch: { layout?: Tile[]; name?: string; description?: string }, reload?: boolean) => Promise<void>;
const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

/** The board's editor: its name and description, a saved report to add, deleting the board. */
export function BoardEditor({ api, boardId, name, description, layout, onSave, onDeleted }: { api: ApiClient; boardId: string; name: string; description: string; layout: Tile[]; onSave: Save; onDeleted: () => void }) {
	const reports = useLoad("reports", (signal) => api.reports.list(signal));
	const [newName, setNewName] = useState(name);
	const [newDesc, setNewDesc] = useState(description);
	const [pick, setPick] = useState("");
	const [width, setW] = useState(String(DEFAULT_WIDTH));
	const [confirm, setConfirm] = useState(false);
	const [error, setError] = useState<ApiFailure | null>(null);
	const available = (reports.data?.reports ?? []).filter((r) => !layout.some((t) => t.report_id === r.id));
	const chosen = available.find((r) => r.id === pick) ?? available[0];

	return (
		<section class="panel editor" aria-labelledby="editor-title" data-testid="board-editor">
			<h2 id="editor-title" class="panel-head">
				Edit the board
			</h2>
			<div class="editor-grid">
				<form
					class="form-grid"
					onSubmit={(e) => {
						e.preventDefault();
						if (newName.trim()) void onSave({ name: newName.trim(), description: newDesc });
					}}
				>
					<label>
						Board name
						<input value={newName} maxLength={200} required onInput={(e) => setNewName(value(e))} />
					</label>
					<label>
						Description
						<input value={newDesc} maxLength={1000} onInput={(e) => setNewDesc(value(e))} />
					</label>
					<div class="actions">
						<button type="submit" disabled={!newName.trim() || (newName.trim() === name && newDesc === description)}>
							Rename
						</button>
					</div>
				</form>
				<form
					class="form-grid"
					onSubmit={(e) => {
						e.preventDefault();
						if (chosen) void onSave({ layout: addTile(layout, chosen.id, Number(width)) }, true).then(() => setPick(""));
					}}
				>
					<label>
						Saved report to add
						<select value={chosen?.id ?? ""} onChange={(e) => setPick(value(e))} disabled={!available.length}>
							{available.map((r) => (
								<option value={r.id}>
									{r.name} ({chartLabel(r.chart)})
								</option>
							))}
							{!available.length && <option value="">{reports.data ? "every saved report is on this board" : "loading…"}</option>}
						</select>
					</label>
					<label style={{ flex: "0 1 8rem", minWidth: "7rem" }}>
						Width
						<select value={width} onChange={(e) => setW(value(e))}>
							{WIDTHS.map((w) => (
								<option value={w}>{widthLabel(w)}</option>
							))}
						</select>
					</label>
					<div class="actions">
						<button type="submit" class="primary" disabled={!chosen}>
							Add to board
						</button>{" "}
						<span class="muted small">
							New reports are saved from{" "}
							<a href="/explore" onClick={onLinkClick}>
								Explore
							</a>
							.
						</span>
					</div>
				</form>
			</div>
			{reports.error && <ErrorNote error={reports.error} title="Saved reports could not be listed" />}
			{error && <ErrorNote error={error} title="The board was not deleted" />}
			<div class="row-gap" style={{ marginTop: "0.75rem" }}>
				{confirm ? (
					<>
						<span>Delete this board and its share links? Its reports are kept.</span>
						<button
							type="button"
							class="danger"
							onClick={async () => {
								try {
									await api.boards.remove(boardId);
									onDeleted();
								} catch (err) {
									setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
								}
							}}
						>
							Yes, delete the board
						</button>
						<button type="button" onClick={() => setConfirm(false)}>
							Keep it
						</button>
					</>
				) : (
					<button type="button" class="danger" onClick={() => setConfirm(true)}>
						Delete board
					</button>
				)}
			</div>
		</section>
	);
}

const widthLabel = (w: number) => (w === 12 ? "full (12)" : w === 6 ? "half (6)" : w === 4 ? "third (4)" : w === 3 ? "quarter (3)" : w === 8 ? "two thirds (8)" : w === 9 ? "three quarters (9)" : String(w));

/** A tile's own controls in the editor: move, resize, remove. */
export function TileControls({ index, layout, name, onChange }: { index: number; layout: Tile[]; name: string; onChange: (layout: Tile[]) => void }) {
	const tile = layout[index]!;
	const widths = [...new Set([...WIDTHS, tile.width])].sort((a, b) => a - b);
	// A moved tile's DOM node moves, and loses focus: give it back to the same button.
	const move = (delta: number, which: string) => {
		onChange(moveTile(layout, index, delta));
		requestAnimationFrame(() => {
			const el = document.querySelector<HTMLButtonElement>(`.tile[data-report="${tile.report_id}"] button[data-move="${which}"]`);
			(el && !el.disabled ? el : document.querySelector<HTMLButtonElement>(`.tile[data-report="${tile.report_id}"] button[data-move]:not(:disabled)`))?.focus();
		});
	};
	return (
		<div class="row-gap" role="group" aria-label={`Arrange ${name}`}>
			<button type="button" data-move="up" aria-label={`Move ${name} up`} disabled={index === 0} onClick={() => move(-1, "up")}>
				↑ Up
			</button>
			<button type="button" data-move="down" aria-label={`Move ${name} down`} disabled={index === layout.length - 1} onClick={() => move(1, "down")}>
				↓ Down
			</button>
			<select aria-label={`Width of ${name}`} value={String(tile.width)} onChange={(e) => onChange(setWidth(layout, index, Number(value(e))))}>
				{widths.map((w) => (
					<option value={w}>{widthLabel(w)}</option>
				))}
			</select>
			<button type="button" class="danger" aria-label={`Remove ${name} from the board`} onClick={() => onChange(removeTile(layout, index))}>
				Remove
			</button>
		</div>
	);
}
