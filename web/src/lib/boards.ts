// Boards in the dashboard: editing a layout, one range for every tile, share links' refusals. Pure.
import { checkMetric, type MetricSpec } from "./query";
import { apiRange, type RangeSel } from "./range";

export interface Tile {
	report_id: string;
	width: number;
}

/** Tile widths offered: columns of the 12-column grid. */
export const WIDTHS = [3, 4, 6, 8, 9, 12] as const;
export const GRID_COLUMNS = 12;
export const DEFAULT_WIDTH = 6;

/** The layout with tile `i` moved by `delta` places (clamped to the ends). */
export function moveTile(layout: Tile[], i: number, delta: number): Tile[] {
	const j = Math.max(0, Math.min(layout.length - 1, i + delta));
	if (i === j || i < 0 || i >= layout.length) return layout;
	const out = [...layout];
	const [t] = out.splice(i, 1);
	out.splice(j, 0, t!);
	return out;
}

export const setWidth = (layout: Tile[], i: number, width: number): Tile[] =>
	layout.map((t, k) => (k === i ? { ...t, width: Math.max(1, Math.min(GRID_COLUMNS, Math.round(width))) } : t));

export const removeTile = (layout: Tile[], i: number): Tile[] => layout.filter((_, k) => k !== i);

/** Adds a report at the end (a report is on a board at most once). */
export const addTile = (layout: Tile[], reportId: string, width = DEFAULT_WIDTH): Tile[] =>
	layout.some((t) => t.report_id === reportId) ? layout : [...layout, { report_id: reportId, width }];

/**
 * A saved query with one date range (and zone) for the whole board: the board's range picker asks
 * every tile's question over the same days.
 */
export function withRange(query: Record<string, unknown>, range: RangeSel | null, tz: string | null): Record<string, unknown> {
	return { ...query, ...(range ? { date_range: apiRange(range) } : {}), ...(tz ? { timezone: tz } : {}) };
}

/** The metric specs of a saved query (for how its values read), or null if it has none we can read. */
export function specsOf(query: Record<string, unknown> | undefined): MetricSpec[] | null {
	if (!query || !Array.isArray(query.metrics)) return null;
	const specs = query.metrics.map(checkMetric);
	return specs.every((m) => m != null) ? (specs as MetricSpec[]) : null;
}

/** Why a share link opens nothing, in words, from the API's 403 `details.reason`. */
export function shareRefusal(status: number, code: string, details: unknown, message: string): { title: string; text: string } {
	const reason = details && typeof details === "object" && "reason" in details ? String(details.reason) : null;
	if (status === 403 && code === "invalid_share_link") {
		switch (reason) {
			case "expired":
				return { title: "This link has expired", text: "Share links work for the number of days they were made for. Ask whoever shared this board for a new link." };
			case "revoked":
				return { title: "This link has been revoked", text: "Whoever shared this board has withdrawn the link. Ask them for a new one if you still need it." };
			case "bad_signature":
				return { title: "This link is not valid", text: "Its signature does not match: it was changed or cut short when it was copied, or the workspace's links were reset. Copy the whole link again." };
			default:
				return { title: "This is not a share link", text: "The address does not hold a valid Edgewise share link. Copy the whole link again." };
		}
	}
	if (status === 404) return { title: "This board no longer exists", text: "The board this link opened was deleted." };
	if (status === 429) return { title: "Opened too often", text: message };
	if (status === 503) return { title: "Sharing is not available", text: message };
	if (status === 0) return { title: "Cannot reach Edgewise", text: message };
	return { title: "This board could not be opened", text: message };
}

/** A chart type in words. */
export const chartLabel = (chart: string) => (chart === "heatmap" ? "heat map" : chart);

/** "12 Jan 2027, 14:05" (lib/format's `when`, kept here for the screens that import it from boards). */
export { when } from "./format";
