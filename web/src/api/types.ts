// The API's shapes, derived from the server's own code: responses from the Hono app's routes
// (what `hc<AppType>` infers), requests from the zod schemas that validate them. A field renamed on
// the server fails `npm run typecheck` here. Types only: no runtime code, no DOM.
import type { hc, InferResponseType } from "hono/client";
import type { AppType } from "../../../workers/app";
import type { LiveDelta, LiveNumbers, LiveView } from "../../../workers/live/counters";
import type { BatchRequest } from "../../../workers/query/batch";
import type { CreateKeyInput, UpdateTenantInput } from "../../../workers/routes/admin";

export type Api = ReturnType<typeof hc<AppType>>;

/** GET /v1/tenant */
export type TenantInfo = InferResponseType<Api["v1"]["tenant"]["$get"], 200>;
export type Tenant = TenantInfo["tenant"];
export type KeyScope = TenantInfo["key"]["scope"];

/** One query of POST /v1/query (its body, as the zod schema takes it). */
export type QueryInput = BatchRequest["queries"][string];
export type BatchAnswers = InferResponseType<Api["v1"]["query"]["batch"]["$post"], 200>;
/** One answer of a batch: a POST /v1/query answer with `status: 200`, or an error with its status. */
export type BatchAnswer = BatchAnswers["answers"][string];
export type QueryAnswer = Extract<BatchAnswer, { status: 200 }>;
/** The body of a POST /v1/query answer: `results` and `meta` (a batch answer has these too). */
export type AnswerBody = InferResponseType<Api["v1"]["query"]["$post"], 200>;
export type QueryFailure = Exclude<BatchAnswer, { status: 200 }>;
export type ResultRow = QueryAnswer["results"][number];
export type QueryMeta = QueryAnswer["meta"];

/** Admin API (settings). */
export type AdminTenant = InferResponseType<Api["v1"]["admin"]["tenants"][":id"]["$get"], 200>;
export type AdminKey = InferResponseType<Api["v1"]["admin"]["tenants"][":id"]["keys"]["$get"], 200>["keys"][number];
export type NewKey = InferResponseType<Api["v1"]["admin"]["tenants"][":id"]["keys"]["$post"], 201>;
export type { CreateKeyInput, UpdateTenantInput };

/** Live WebSocket messages (docs/live.md). */
interface Envelope {
	v: number;
	seq: number;
	at: string;
	view: LiveView;
}
export type LiveSnapshot = Envelope & { type: "snapshot" } & LiveNumbers;
export type LiveDeltaMessage = Envelope & { type: "delta" } & LiveDelta;
export type LiveError = { v: number; type: "error"; code: string; message: string };
export type LiveMessage = LiveSnapshot | LiveDeltaMessage | LiveError;

/** The API's error body. */
export interface ApiErrorBody {
	error: { code: string; message: string; details: unknown };
}

/** Saved reports, boards and share links (docs/api.md, "Reports, boards and share links"). */
export type Report = InferResponseType<Api["v1"]["reports"][":id"]["$get"]>;
export type Board = InferResponseType<Api["v1"]["boards"][":id"]["$get"]>;
export type BoardResults = InferResponseType<Api["v1"]["boards"][":id"]["results"]["$get"]>;
export type BoardTile = BoardResults["tiles"][number];
export type SharedBoard = InferResponseType<Api["v1"]["shared"][":token"]["$get"]>;
export type SharedTile = SharedBoard["tiles"][number];
export type Share = InferResponseType<Api["v1"]["boards"][":id"]["shares"]["$get"]>["shares"][number];
export type NewShare = InferResponseType<Api["v1"]["boards"][":id"]["shares"]["$post"]>;
export type PresetResult = InferResponseType<Api["v1"]["boards"]["presets"][":preset"]["$post"]>;
export type ChartKind = Report["chart"];
export type { CreateBoardInput, CreateReportInput, UpdateBoardInput, UpdateReportInput } from "../../../workers/reports/model";
