import type { ApiClient } from "../api/client";
import type { ExperimentAnswer, ExperimentInput, FunnelAnswer, FunnelInput, InsightsAnswer, InsightsInput, RetentionAnswer, RetentionInput } from "../api/people";
import { ExperimentView } from "./ExperimentView";
import { FunnelView } from "./FunnelView";
import { InsightsSummary } from "./InsightsPanel";
import { RetentionView } from "./RetentionView";

/** Report kinds other than a query (POST /v1/query): each is drawn by its own view. */
export type OtherKind = "funnel" | "retention" | "experiment" | "insights";
export const isOtherKind = (k: unknown): k is OtherKind => k === "funnel" || k === "retention" || k === "experiment" || k === "insights";

/**
 * A saved report of another kind asked again (a board over one range): its query is the body of its
 * kind's endpoint, so the endpoint answers it.
 * NOTE: the server checked the query when it was saved, and the endpoint checks it again.
 */
export function answerKind(api: ApiClient, kind: OtherKind, query: Record<string, unknown>, signal?: AbortSignal): Promise<unknown> {
	switch (kind) {
		case "funnel":
			return api.funnel(query as FunnelInput, signal);
		case "retention":
			return api.retention(query as RetentionInput, signal);
		case "experiment":
			return api.experiment(query as unknown as ExperimentInput, signal);
		case "insights":
			return api.insights(query as InsightsInput, signal);
	}
}

/** A board tile's answer of another kind (the tile's fields are the endpoint's answer). */
export function KindView({ kind, chart, answer, title }: { kind: OtherKind; chart: string; answer: unknown; title: string }) {
	switch (kind) {
		case "funnel":
			return <FunnelView answer={answer as FunnelAnswer} chart={chart} title={title} />;
		case "retention":
			return <RetentionView answer={answer as RetentionAnswer} chart={chart} title={title} />;
		case "experiment":
			return <ExperimentView answer={answer as ExperimentAnswer} title={title} />;
		case "insights":
			return <InsightsSummary answer={answer as InsightsAnswer} />;
	}
}
