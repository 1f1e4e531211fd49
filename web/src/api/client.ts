// The one way the dashboard talks to the API: Hono's typed client over the Worker's own AppType.
import { hc } from "hono/client";
import type { AppType } from "../../../workers/app";
import type {
	AdminKey,
	AdminTenant,
	AnswerBody,
	ApiErrorBody,
	BatchAnswers,
	Board,
	BoardResults,
	CreateBoardInput,
	CreateKeyInput,
	CreateReportInput,
	NewKey,
	NewShare,
	PresetResult,
	QueryInput,
	Report,
	Share,
	SharedBoard,
	TenantInfo,
	UpdateBoardInput,
	UpdateReportInput,
	UpdateTenantInput,
} from "./types";
import type { ExperimentAnswer, ExperimentInput, FunnelAnswer, FunnelInput, InsightsAnswer, InsightsInput, PeopleAnswer, PeopleInput, PersonEvents, RetentionAnswer, RetentionInput } from "./people";

/** The API's origin: the page's own, unless the build named another (a dashboard on Pages). */
export const API_ORIGIN = __API_ORIGIN__ || location.origin;

/** An answer that was not 2xx, with the API's code and message (or a network failure: status 0). */
export class ApiFailure extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details: unknown = {},
	) {
		super(message);
	}
}

/** What the typed client's responses have in common with fetch's. */
interface Answer {
	ok: boolean;
	status: number;
	json(): Promise<unknown>;
}

async function failure(res: Answer): Promise<ApiFailure> {
	try {
		const body = (await res.json()) as ApiErrorBody;
		if (body?.error?.code) return new ApiFailure(res.status, body.error.code, body.error.message, body.error.details);
	} catch {
		// not JSON: fall through
	}
	return new ApiFailure(res.status, "http_error", `The API answered HTTP ${res.status}.`);
}

/** Runs a request of the typed client; throws ApiFailure unless the status is 2xx. */
async function call<T>(send: () => Promise<Answer>): Promise<T> {
	let res: Answer;
	try {
		res = await send();
	} catch (err) {
		if ((err as Error)?.name === "AbortError") throw err;
		throw new ApiFailure(0, "network_error", `Cannot reach the Edgewise API at ${API_ORIGIN}. Check that it is running and reachable.`);
	}
	if (!res.ok) throw await failure(res);
	return (await res.json()) as T;
}

/** A client for one key. `signal` aborts a request when the view it was for is gone. */
export function apiFor(key: string) {
	const api = hc<AppType>(API_ORIGIN, { headers: { authorization: `Bearer ${key}` } });
	const opts = (signal?: AbortSignal) => (signal ? { init: { signal } } : undefined);
	return {
		tenant: (signal?: AbortSignal) => call<TenantInfo>(() => api.v1.tenant.$get(undefined, opts(signal))),
		/** One query (POST /v1/query), as the query builder shows it. */
		query: (json: QueryInput, signal?: AbortSignal) => call<AnswerBody>(() => api.v1.query.$post({ json }, opts(signal))),
		/** Named queries in one round trip (POST /v1/query/batch); each answer has its own status. */
		batch: <K extends string>(queries: Record<K, QueryInput>, signal?: AbortSignal) =>
			call<BatchAnswers & { answers: Record<K, BatchAnswers["answers"][string]> }>(() => api.v1.query.batch.$post({ json: { queries } }, opts(signal))),
		// Reports and boards validate their bodies themselves (zod): the client's type for them is the schema's.
		reports: {
			list: (signal?: AbortSignal) => call<{ reports: Report[] }>(() => api.v1.reports.$get(undefined, opts(signal))),
			get: (id: string, signal?: AbortSignal) => call<Report>(() => api.v1.reports[":id"].$get({ param: { id } }, opts(signal))),
			create: (json: CreateReportInput) => {
				const args = { json };
				return call<Report>(() => api.v1.reports.$post(args));
			},
			update: (id: string, json: UpdateReportInput) => {
				const args = { param: { id }, json };
				return call<Report>(() => api.v1.reports[":id"].$patch(args));
			},
			remove: (id: string) => call<{ id: string; deleted: true }>(() => api.v1.reports[":id"].$delete({ param: { id } })),
		},
		boards: {
			list: (signal?: AbortSignal) => call<{ boards: Board[] }>(() => api.v1.boards.$get(undefined, opts(signal))),
			get: (id: string, signal?: AbortSignal) => call<Board>(() => api.v1.boards[":id"].$get({ param: { id } }, opts(signal))),
			/** The board with every tile's answer (GET /v1/boards/:id/results). */
			results: (id: string, signal?: AbortSignal) => call<BoardResults>(() => api.v1.boards[":id"].results.$get({ param: { id } }, opts(signal))),
			create: (json: CreateBoardInput) => {
				const args = { json };
				return call<Board>(() => api.v1.boards.$post(args));
			},
			update: (id: string, json: UpdateBoardInput) => {
				const args = { param: { id }, json };
				return call<Board>(() => api.v1.boards[":id"].$patch(args));
			},
			remove: (id: string) => call<{ id: string; deleted: true }>(() => api.v1.boards[":id"].$delete({ param: { id } })),
			shares: (id: string, signal?: AbortSignal) => call<{ shares: Share[] }>(() => api.v1.boards[":id"].shares.$get({ param: { id } }, opts(signal))),
			share: (id: string, expiresInDays: number) => {
				const args = { param: { id }, json: { expires_in_days: expiresInDays } };
				return call<NewShare>(() => api.v1.boards[":id"].shares.$post(args));
			},
			revokeShare: (id: string, shareId: string) => call<Share>(() => api.v1.boards[":id"].shares[":shareId"].$delete({ param: { id, shareId } })),
			/** Creates a preset's board and reports (POST /v1/boards/presets/:preset, admin key). */
			preset: (name: string) => call<PresetResult>(() => api.v1.boards.presets[":preset"].$post({ param: { preset: name } })),
		},
		// People and patterns (issue 16): these routes validate their bodies themselves (zod).
		funnel: (json: FunnelInput, signal?: AbortSignal) => {
			const args = { json };
			return call<FunnelAnswer>(() => api.v1.funnels.$post(args, opts(signal)));
		},
		retention: (json: RetentionInput, signal?: AbortSignal) => {
			const args = { json };
			return call<RetentionAnswer>(() => api.v1.retention.$post(args, opts(signal)));
		},
		/** The people behind a query row (POST /v1/people). */
		people: (json: PeopleInput, signal?: AbortSignal) => {
			const args = { json };
			return call<PeopleAnswer>(() => api.v1.people.$post(args, opts(signal)));
		},
		/** One person's events (GET /v1/people/:id/events); the query string is read by the route itself. */
		personEvents: (id: string, query: { order?: "asc" | "desc"; limit?: string; cursor?: string }, signal?: AbortSignal) => {
			const args = { param: { id }, query };
			return call<PersonEvents>(() => api.v1.people[":id"].events.$get(args, opts(signal)));
		},
		insights: (json: InsightsInput, signal?: AbortSignal) => {
			const args = { json };
			return call<InsightsAnswer>(() => api.v1.insights.$post(args, opts(signal)));
		},
		experiment: (json: ExperimentInput, signal?: AbortSignal) => {
			const args = { json };
			return call<ExperimentAnswer>(() => api.v1.experiments.$post(args, opts(signal)));
		},
		admin: {
			tenant: (id: string, signal?: AbortSignal) => call<AdminTenant>(() => api.v1.admin.tenants[":id"].$get({ param: { id } }, opts(signal))),
			updateTenant: (id: string, json: UpdateTenantInput) => {
				// The admin routes validate bodies themselves (zod): the client's type for them is the schema's.
				const args = { param: { id }, json };
				return call<AdminTenant>(() => api.v1.admin.tenants[":id"].$patch(args));
			},
			keys: (id: string, signal?: AbortSignal) => call<{ keys: AdminKey[] }>(() => api.v1.admin.tenants[":id"].keys.$get({ param: { id } }, opts(signal))),
			createKey: (id: string, json: CreateKeyInput) => {
				const args = { param: { id }, json };
				return call<NewKey>(() => api.v1.admin.tenants[":id"].keys.$post(args));
			},
			revokeKey: (id: string, keyId: string) => call<AdminKey>(() => api.v1.admin.tenants[":id"].keys[":keyId"].$delete({ param: { id, keyId } })),
		},
	};
}

export type ApiClient = ReturnType<typeof apiFor>;

/**
 * A shared board (GET /v1/shared/:token): no key is sent, whatever this browser has stored. The
 * token is the link's; it opens this board and nothing else.
 */
export function sharedBoard(token: string, signal?: AbortSignal): Promise<SharedBoard> {
	const api = hc<AppType>(API_ORIGIN);
	return call<SharedBoard>(() => api.v1.shared[":token"].$get({ param: { token } }, signal ? { init: { signal } } : undefined));
}

/** The WebSocket URL of the live view (the key travels in the sub-protocol, never in the URL). */
export function liveUrl(event: string | null): string {
	const u = new URL("/v1/live", API_ORIGIN);
	u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
	if (event) u.searchParams.set("event", event);
	return u.toString();
}
