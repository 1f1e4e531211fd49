import type { ComponentChildren } from "preact";
import { ApiFailure } from "../api/client";
import type { BoardTile, QueryAnswer, QueryFailure, SharedTile } from "../api/types";
import { specsOf } from "../lib/boards";
import { metricFormats, type MetricSpec } from "../lib/query";
import type { AnswerLike } from "../lib/report";
import type { ChartType } from "../lib/url";
import { onLinkClick } from "../router";
import { isOtherKind, KindView, type OtherKind } from "./KindView";
import { ReportView } from "./ReportView";
import { ErrorNote, Skeleton } from "./States";

/** One tile as the grid draws it, from a board's results, a shared board or a batch. */
export interface TileData {
	reportId: string;
	width: number;
	/** `funnel` is the chart of funnel reports (the API's report kinds); drawn as bars until the grid has a funnel chart. */
	report: { id: string; name: string; description: string; kind?: string; chart: ChartType | "funnel"; query?: Record<string, unknown> } | null;
	answer: AnswerLike | null;
	/** A report of another kind (funnel, retention, experiment, insights): its endpoint's answer. */
	other?: { kind: OtherKind; answer: unknown } | null;
	error: ApiFailure | null;
	/** The saved query's metrics (how values read); null when not shown (a shared board). */
	specs: MetricSpec[] | null;
}

const failureOf = (f: { status: number; error: { code: string; message: string; details: unknown } }) => new ApiFailure(f.status, f.error.code, f.error.message, f.error.details);

/** Where a report of each kind is opened (`?report=<id>`): its screen, and the screen's name. */
const KIND_SCREENS: Record<string, [string, string]> = { funnel: ["/funnels", "Funnels"], retention: ["/retention", "Retention"], experiment: ["/experiments", "Experiments"] };
const screenOfKind = (kind: string | undefined) => KIND_SCREENS[kind ?? ""]?.[0] ?? "/explore";

/** A tile of GET /v1/boards/:id/results or GET /v1/shared/:token. */
export function tileData(t: BoardTile | SharedTile): TileData {
	const report = t.report ? { ...t.report, query: "query" in t.report ? t.report.query : undefined } : null;
	const kind = t.report?.kind;
	return {
		reportId: t.report_id,
		width: t.width,
		report,
		answer: "results" in t ? t : null,
		other: isOtherKind(kind) && t.status === 200 ? { kind, answer: t } : null,
		error: "error" in t ? failureOf(t) : null,
		specs: specsOf(report?.query),
	};
}

/** A tile answered by a batch (a board shown over one date range). */
export function batchTile(t: TileData, a: QueryAnswer | QueryFailure | undefined): TileData {
	if (!a) return { ...t, answer: null, error: new ApiFailure(0, "client_error", "The batch did not answer this tile.") };
	return { ...t, answer: "results" in a ? a : null, error: "error" in a ? failureOf(a) : null };
}

/**
 * A board's tiles in a 12-column grid (one column on a phone), each drawn with its report's chart.
 * Keyed by report: moving a tile keeps its chart (one uPlot each, fed with setData).
 */
export function BoardGrid({ tiles, busy, explore, controls }: { tiles: TileData[]; busy?: boolean; explore?: boolean; controls?: (i: number) => ComponentChildren }) {
	return (
		<div class="board-grid" data-testid="board-grid" aria-busy={busy ? "true" : "false"}>
			{tiles.map((t, i) => (
				<Tile key={t.reportId} tile={t} explore={explore} controls={controls?.(i)} />
			))}
		</div>
	);
}

function Tile({ tile, explore, controls }: { tile: TileData; explore?: boolean; controls?: ComponentChildren }) {
	const id = `tile-${tile.reportId}`;
	const name = tile.report?.name ?? "Missing report";
	const wide = tile.width > 6 ? " wide" : tile.width <= 4 ? " narrow" : "";
	return (
		<section class={`panel tile${wide}`} style={{ "--w": String(tile.width) }} aria-labelledby={id} data-report={tile.reportId} data-chart={tile.report?.chart}>
			<div class="tile-head">
				<h2 id={id}>{name}</h2>
				{explore && tile.report && (
					<a class="small" href={`${screenOfKind(tile.report.kind)}?report=${tile.report.id}`} onClick={onLinkClick} aria-label={`Open ${name} in ${KIND_SCREENS[tile.report.kind ?? ""]?.[1] ?? "Explore"}`}>
						{KIND_SCREENS[tile.report.kind ?? ""] ? "Open" : "Explore"}
					</a>
				)}
			</div>
			{tile.report?.description && <p class="muted small tile-desc">{tile.report.description}</p>}
			{tile.error ? (
				<ErrorNote error={tile.error} title={`${name}: no answer`} />
			) : tile.other && tile.report ? (
				<KindView kind={tile.other.kind} chart={tile.report.chart} answer={tile.other.answer} title={name} />
			) : tile.answer && tile.report ? (
				<ReportView answer={tile.answer} chart={tile.report.chart === "funnel" ? "bar" : tile.report.chart} formats={metricFormats(tile.answer.meta.metrics, tile.specs)} title={name} height={200} />
			) : (
				<Skeleton height={160} />
			)}
			{controls && <div class="tile-controls">{controls}</div>}
		</section>
	);
}
