// Shapes of the people and patterns endpoints (issue 16): funnels, retention, people, insights and
// experiments. Requests come from the server's zod schemas where they are exported; answers from the
// routes (what `hc<AppType>` infers), so a field renamed on the server fails `npm run typecheck` here.
// Types only: no runtime code.
import type { InferResponseType } from "hono/client";
import type { z } from "zod";
import type { funnelRequest } from "../../../workers/people/funnel";
import type { retentionRequest } from "../../../workers/people/retention";
import type { peopleRequest } from "../../../workers/people/views";
import type { Filter } from "../lib/query";
import type { Api, QueryInput } from "./types";

export type FunnelInput = z.input<typeof funnelRequest>;
export type RetentionInput = z.input<typeof retentionRequest>;
export type PeopleInput = z.input<typeof peopleRequest>;

export type FunnelAnswer = InferResponseType<Api["v1"]["funnels"]["$post"], 200>;
export type FunnelStep = FunnelAnswer["steps"][number];
export type RetentionAnswer = InferResponseType<Api["v1"]["retention"]["$post"], 200>;
export type CohortAnswer = Extract<RetentionAnswer, { form: "retention" }>;
export type LifecycleAnswer = Extract<RetentionAnswer, { form: "lifecycle" }>;
export type PeopleAnswer = InferResponseType<Api["v1"]["people"]["$post"], 200>;
export type PersonEvents = InferResponseType<Api["v1"]["people"][":id"]["events"]["$get"], 200>;
export type PersonEvent = PersonEvents["events"][number];
export type InsightsAnswer = InferResponseType<Api["v1"]["insights"]["$post"], 200>;
export type ExperimentAnswer = InferResponseType<Api["v1"]["experiments"]["$post"], 200>;

/** POST /v1/insights (docs/api.md, "POST /v1/insights"); the server validates it. */
export type InsightsInput = {
	metrics?: QueryInput["metrics"];
	date_range?: QueryInput["date_range"];
	timezone?: string;
	filters?: Filter[];
	granularity?: string;
	movers?: { dimensions: string[]; limit?: number };
	correlations?: [string, string][];
	forecast?: { horizon: number };
};

/** POST /v1/experiments (docs/api.md, "POST /v1/experiments"); the server validates it. */
export type ExperimentInput = {
	exposure: { event: string; filters?: Filter[]; variant: string };
	goal: { event: string; filters?: Filter[]; metric?: string };
	date_range: QueryInput["date_range"];
	timezone?: string;
	control?: string;
	split?: Record<string, number>;
	window?: { hours: number };
	minimum_effect?: number;
};
