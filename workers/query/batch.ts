import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { ApiError, formatIssues } from "../errors";
import { parseJson } from "../lib/http";
import { answerQuery, type TenantRow } from "./answer";
import type { queryRequest } from "./spec";

/** At most this many queries in one POST /v1/query/batch. */
export const MAX_BATCH_QUERIES = 20;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The body of POST /v1/query/batch: named queries, each exactly what POST /v1/query takes. Each is
 * parsed on its own when it is answered, so one bad query gets its own 400 and the others still
 * answer (a dashboard draws what it can).
 */
export const batchRequest = z
	.object({
		queries: z
			.record(
				z.string().regex(NAME, "query names are 1-64 letters, digits, '_' or '-'"),
				z.custom<z.input<typeof queryRequest>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "must be a query object, as POST /v1/query takes"),
			)
			.refine((q) => Object.keys(q).length >= 1, "send at least one query")
			.refine((q) => Object.keys(q).length <= MAX_BATCH_QUERIES, `at most ${MAX_BATCH_QUERIES} queries per batch`),
	})
	.strict();

/** The body as JSON; an empty body is a 400 with an example. */
export async function readBatchJson(req: Request): Promise<unknown> {
	const text = await req.text();
	if (!text.trim()) throw new ApiError(400, "invalid_query", 'body: send {"queries": {"<name>": <query>, …}}, each query as POST /v1/query takes it', { field: "body" });
	return parseJson(text);
}

export type BatchRequest = z.input<typeof batchRequest>;
type Answer = Awaited<ReturnType<typeof answerQuery>>;
type Failure = { status: ContentfulStatusCode; error: { code: string; message: string; details: unknown } };

function failure(err: unknown, name: string): Failure {
	if (err instanceof ApiError) return { status: err.status, error: { code: err.code, message: err.message, details: err.details } };
	// Never leak internals, as the app's onError: log for operators, a stable shape for clients.
	console.error("unhandled error in query batch", name, err);
	return { status: 500, error: { code: "internal_error", message: "Something went wrong on our side; the query can be retried.", details: {} } };
}

/**
 * Answers a batch for one tenant (from the key; no query can name another). The queries run
 * concurrently, each with its own time limit, and each answer is what POST /v1/query would have
 * answered: `status` 200 with `results` and `meta`, or its error status with `error`.
 */
export async function answerBatch(db: D1Database, tenantId: string, body: unknown, tenant: TenantRow | null, now = Date.now(), pendingSince?: () => Promise<number | null>) {
	const started = Date.now();
	const parsed = batchRequest.safeParse(body);
	if (!parsed.success) {
		const issues = formatIssues(parsed.error.issues);
		const first = issues[0]!;
		throw new ApiError(400, "invalid_query", `${first.path || "body"}: ${first.message}`, { issues });
	}
	const entries = Object.entries(parsed.data.queries);
	// One question to the tenant's hub for the whole batch.
	const pending = pendingSince ? pendingSince() : null;
	const shared = pending ? () => pending : undefined;
	const settled = await Promise.all(
		entries.map(async ([name, q]): Promise<[string, ({ status: 200 } & Answer) | Failure]> => {
			try {
				return [name, { status: 200, ...(await answerQuery(db, tenantId, q, tenant, now, shared)) }];
			} catch (err) {
				return [name, failure(err, name)];
			}
		}),
	);
	return { answers: Object.fromEntries(settled), took_ms: Date.now() - started };
}
