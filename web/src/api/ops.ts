// Exports, schedules, alerts, webhook signing secrets and the delivery log: the typed client for
// the dashboard's operations screens (docs/api.md, "Exports", "Scheduled reports", "Alerts").
import { hc, type InferResponseType } from "hono/client";
import type { AppType } from "../../../workers/app";
import type { CreateAlertInput } from "../../../workers/alerts/model";
import type { ExportRequestInput } from "../../../workers/exports/model";
import type { CreateScheduleInput, UpdateScheduleInput } from "../../../workers/schedules/model";
import type { ApiErrorBody } from "./types";
import { API_ORIGIN, ApiFailure } from "./client";

type Api = ReturnType<typeof hc<AppType>>;

export type ExportJob = InferResponseType<Api["v1"]["exports"][":id"]["$get"], 200>;
export type ExportState = ExportJob["state"];
export type ExportFormat = ExportJob["format"];
export type Schedule = InferResponseType<Api["v1"]["schedules"][":id"]["$get"], 200>;
export type Alert = InferResponseType<Api["v1"]["alerts"][":id"]["$get"], 200>;
export type AlertEvent = InferResponseType<Api["v1"]["alerts"][":id"]["events"]["$get"], 200>["events"][number];
export type Delivery = InferResponseType<Api["v1"]["deliveries"]["$get"], 200>["deliveries"][number];
export type WebhookSecret = InferResponseType<Api["v1"]["webhook-secrets"]["$get"], 200>["secrets"][number];
export type NewWebhookSecret = InferResponseType<Api["v1"]["webhook-secrets"]["$post"], 201>;
export type Destination = Schedule["destinations"][number];
export type { CreateAlertInput, CreateScheduleInput, ExportRequestInput, UpdateScheduleInput };
export type UpdateAlertInput = Partial<CreateAlertInput>;

/** Runs a request; throws ApiFailure (the API's code and message, or status 0 offline) unless 2xx. */
async function call<T>(send: () => Promise<Response | { ok: boolean; status: number; json(): Promise<unknown> }>): Promise<T> {
	let res;
	try {
		res = await send();
	} catch (err) {
		if ((err as Error)?.name === "AbortError") throw err;
		throw new ApiFailure(0, "network_error", `Cannot reach the Edgewise API at ${API_ORIGIN}. Check that it is running and reachable.`);
	}
	if (res.ok) return (await res.json()) as T;
	const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
	if (body?.error?.code) throw new ApiFailure(res.status, body.error.code, body.error.message, body.error.details);
	throw new ApiFailure(res.status, "http_error", `The API answered HTTP ${res.status}.`);
}

/** The operations API for one key (the key goes in the Authorization header, never in a URL). */
export function opsFor(key: string) {
	const api = hc<AppType>(API_ORIGIN, { headers: { authorization: `Bearer ${key}` } });
	const opts = (signal?: AbortSignal) => (signal ? { init: { signal } } : undefined);
	// These routes validate their bodies themselves (zod): the client's type for a body is the schema's input.
	return {
		exports: {
			start: (json: ExportRequestInput) => call<ExportJob>(() => api.v1.exports.$post({ json } as never)),
			get: (id: string, signal?: AbortSignal) => call<ExportJob>(() => api.v1.exports[":id"].$get({ param: { id } }, opts(signal))),
			list: (q: { state?: ExportState; cursor?: string; limit?: number }, signal?: AbortSignal) =>
				call<{ exports: ExportJob[]; next_cursor: string | null }>(() =>
					api.v1.exports.$get({ query: { ...(q.state ? { state: q.state } : {}), ...(q.cursor ? { cursor: q.cursor } : {}), limit: String(q.limit ?? 20) } } as never, opts(signal)),
				),
			link: (id: string) => call<{ url: string; expires_at: string }>(() => api.v1.exports[":id"].link.$post({ param: { id }, json: {} } as never)),
			/** The file through the authenticated download (the key in a header), for when no signed link is configured. */
			download: async (id: string): Promise<Blob> => {
				const res = await fetch(new URL(`/v1/exports/${encodeURIComponent(id)}/download`, API_ORIGIN), { headers: { authorization: `Bearer ${key}` } });
				if (!res.ok) throw new ApiFailure(res.status, "http_error", `The download answered HTTP ${res.status}.`);
				return res.blob();
			},
		},
		schedules: {
			list: (signal?: AbortSignal) => call<{ schedules: Schedule[] }>(() => api.v1.schedules.$get(undefined, opts(signal))),
			create: (json: CreateScheduleInput) => call<Schedule>(() => api.v1.schedules.$post({ json } as never)),
			update: (id: string, json: UpdateScheduleInput) => call<Schedule>(() => api.v1.schedules[":id"].$patch({ param: { id }, json } as never)),
			remove: (id: string) => call<{ id: string; deleted: true }>(() => api.v1.schedules[":id"].$delete({ param: { id } })),
			run: (id: string) => call<{ export_id: string | null; error: string | null; deliveries: Delivery[] }>(() => api.v1.schedules[":id"].run.$post({ param: { id } })),
			deliveries: (id: string, signal?: AbortSignal) => call<{ deliveries: Delivery[] }>(() => api.v1.schedules[":id"].deliveries.$get({ param: { id }, query: {} } as never, opts(signal))),
		},
		alerts: {
			list: (signal?: AbortSignal) => call<{ alerts: Alert[] }>(() => api.v1.alerts.$get(undefined, opts(signal))),
			get: (id: string, signal?: AbortSignal) => call<Alert>(() => api.v1.alerts[":id"].$get({ param: { id } }, opts(signal))),
			create: (json: CreateAlertInput) => call<Alert>(() => api.v1.alerts.$post({ json } as never)),
			update: (id: string, json: UpdateAlertInput) => call<Alert>(() => api.v1.alerts[":id"].$patch({ param: { id }, json } as never)),
			remove: (id: string) => call<{ id: string; deleted: true }>(() => api.v1.alerts[":id"].$delete({ param: { id } })),
			events: (id: string, signal?: AbortSignal) => call<{ events: AlertEvent[] }>(() => api.v1.alerts[":id"].events.$get({ param: { id }, query: {} } as never, opts(signal))),
			deliveries: (id: string, signal?: AbortSignal) => call<{ deliveries: Delivery[] }>(() => api.v1.alerts[":id"].deliveries.$get({ param: { id }, query: {} } as never, opts(signal))),
			test: (id: string) => call<{ deliveries: Delivery[] }>(() => api.v1.alerts[":id"].test.$post({ param: { id } })),
		},
		secrets: {
			list: (signal?: AbortSignal) => call<{ secrets: WebhookSecret[] }>(() => api.v1["webhook-secrets"].$get(undefined, opts(signal))),
			rotate: (previousValidHours: number) => call<NewWebhookSecret>(() => api.v1["webhook-secrets"].$post({ json: { previous_valid_hours: previousValidHours } } as never)),
			remove: (id: string) => call<{ id: string; deleted: true }>(() => api.v1["webhook-secrets"][":id"].$delete({ param: { id } })),
		},
	};
}

export type OpsClient = ReturnType<typeof opsFor>;

/** Any thrown value as an ApiFailure (what the error notes show). */
export const asFailure = (err: unknown) => (err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String((err as Error)?.message ?? err)));

/** 1234567 → "1.2 MB". */
export function bytes(n: number): string {
	if (n < 1024) return `${n} B`;
	const units = ["KB", "MB", "GB", "TB"];
	let v = n / 1024;
	let i = 0;
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
