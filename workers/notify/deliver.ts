import type { Env } from "../env";
import { defaultExporter, type Exporter, type ExportRow } from "../schedules/exporter";
import { allowPrivateDestinations, type Destination, targetOf } from "./destinations";
import { newId } from "./ids";
import { type NotifyEvent, renderEmail, renderSlack, renderWebhook, type ReportEvent } from "./render";
import { signingSecrets } from "./secrets";
import { webhookHeaders } from "./signing";
import { DestinationRefused, dohResolver, ResolveFailed, type Resolver, safeFetch } from "./ssrf";

/** What deliveries use of the outside world; the cron and routes use notifyDeps(env), tests their own. */
export interface NotifyDeps {
	fetch: typeof fetch;
	resolver: Resolver;
	email: SendEmail | undefined;
	emailFrom: string;
	allowPrivate: boolean;
	exporter: Exporter;
}

export function notifyDeps(env: Env, overrides: Partial<NotifyDeps> = {}): NotifyDeps {
	// Bound late, so whatever `fetch` is at call time is used.
	const fetchFn: typeof fetch = (input, init) => fetch(input, init);
	return {
		fetch: fetchFn,
		resolver: dohResolver(fetchFn),
		email: env.EMAIL,
		emailFrom: env.EMAIL_FROM || "Edgewise <edgewise@example.com>",
		allowPrivate: allowPrivateDestinations(env),
		exporter: defaultExporter,
		...overrides,
	};
}

export interface DeliveryRow {
	id: string;
	tenant_id: string;
	source_kind: "schedule" | "alert";
	source_id: string;
	channel: "email" | "slack" | "webhook";
	target: string;
	payload: string;
	status: "pending" | "sent" | "failed";
	attempts: number;
	next_attempt_at: number;
	response_status: number | null;
	error: string | null;
	export_id: string | null;
	created_at: number;
	updated_at: number;
}

/** deliveries.payload: the event, and the destination it goes to. */
export interface Payload {
	destination: Destination;
	event: NotifyEvent;
	/** Schedules: where download links point (the API origin the schedule was saved through). */
	origin?: string | null;
}

/** Attempts before a delivery is given up; the waits between them double from a minute (1, 2, 4 … 60 minutes). */
export const MAX_ATTEMPTS = 8;
const BASE_DELAY_MS = 60_000;
const MAX_DELAY_MS = 3_600_000;
/** A claimed delivery is someone's for this long (longer than an attempt with its redirects can take). */
const LEASE_MS = 120_000;
/** One HTTP attempt, each redirect hop included. */
export const ATTEMPT_TIMEOUT_MS = 10_000;
/** How long a scheduled delivery waits for its export before it gives up. */
const EXPORT_WAIT_MS = 24 * 3_600_000;
/** How often a waiting delivery looks at its export again. */
const EXPORT_POLL_MS = 60_000;
/** A PDF up to this size is attached to the email (as well as linked). */
const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024;
/** How long a download link in a delivery works (at most until the file expires). */
const LINK_TTL_MS = 7 * 24 * 3_600_000;

/** The wait after the `attempts`-th failed attempt: 1, 2, 4, 8, 16, 32, 60 minutes; a longer Retry-After wins (up to an hour). */
export function backoffMs(attempts: number, retryAfterMs?: number): number {
	const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
	return Math.max(exp, Math.min(retryAfterMs ?? 0, MAX_DELAY_MS));
}

/** A condition for statements of a batch (SQL from the placeholder number given, and its values): they run only if it holds. */
export interface Guard {
	sql: (first: number) => string;
	binds: unknown[];
}

/** Statements that queue one pending delivery per destination (to run in the caller's batch). Returns them and the ids. */
export function queueDeliveries(
	db: D1Database,
	tenantId: string,
	source: { kind: "schedule" | "alert"; id: string },
	dests: Destination[],
	event: NotifyEvent,
	now: number,
	extra: { origin?: string | null; exportId?: string | null; guard?: Guard } = {},
): { statements: D1PreparedStatement[]; ids: string[] } {
	const ids: string[] = [];
	const statements = dests.map((destination) => {
		const id = newId("msg");
		ids.push(id);
		const payload: Payload = { destination, event, ...(extra.origin !== undefined ? { origin: extra.origin } : {}) };
		return db
			.prepare(
				`INSERT INTO deliveries (id, tenant_id, source_kind, source_id, channel, target, payload, status, attempts, next_attempt_at, export_id, created_at, updated_at)
				SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?9, ?8, ?8${extra.guard ? ` WHERE ${extra.guard.sql(10)}` : ""}`,
			)
			.bind(id, tenantId, source.kind, source.id, destination.type, targetOf(destination), JSON.stringify(payload), now, extra.exportId ?? null, ...(extra.guard?.binds ?? []));
	});
	return { statements, ids };
}

type Outcome = { ok: true; status: number | null } | { ok: false; status: number | null; error: string; retry: boolean; retryAfterMs?: number };

const retryable = (status: number) => status === 408 || status === 425 || status === 429 || status >= 500;

function retryAfter(res: Response): number | undefined {
	const v = res.headers.get("retry-after");
	if (!v) return undefined;
	const s = Number(v);
	if (Number.isFinite(s)) return s * 1000;
	const at = Date.parse(v);
	return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

async function snippet(res: Response): Promise<string> {
	try {
		const text = await res.text();
		return text.slice(0, 300);
	} catch {
		return "";
	}
}

async function post(url: string, body: string, headers: Record<string, string>, deps: NotifyDeps): Promise<Outcome> {
	try {
		const { response } = await safeFetch(
			url,
			{ method: "POST", body, headers: { "content-type": "application/json", "user-agent": "Edgewise-Webhooks/1.0", ...headers }, signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) },
			{ resolver: deps.resolver, allowPrivate: deps.allowPrivate },
			deps.fetch,
		);
		if (response.status >= 200 && response.status < 300) {
			await response.body?.cancel();
			return { ok: true, status: response.status };
		}
		const text = await snippet(response);
		const error = `HTTP ${response.status}${text ? `: ${text}` : ""}`;
		return { ok: false, status: response.status, error, retry: retryable(response.status), retryAfterMs: retryAfter(response) };
	} catch (err) {
		if (err instanceof DestinationRefused) return { ok: false, status: null, error: `refused (${err.code}): ${err.message}`, retry: false };
		if (err instanceof ResolveFailed) return { ok: false, status: null, error: err.message, retry: true };
		const e = err as Error;
		const timeout = e?.name === "TimeoutError" || e?.name === "AbortError";
		return { ok: false, status: null, error: timeout ? `no answer in ${ATTEMPT_TIMEOUT_MS / 1000} s` : `request failed: ${e?.message ?? String(err)}`, retry: true };
	}
}

async function attachmentOf(env: Env, e: ReportEvent, row: ExportRow | null): Promise<EmailAttachment[]> {
	if (e.format !== "pdf" || !e.export || !row?.r2_key || row.bytes > MAX_ATTACHMENT_BYTES) return [];
	const obj = await env.ARCHIVE.get(row.r2_key);
	if (!obj) return [];
	return [{ disposition: "attachment", filename: e.export.filename, type: "application/pdf", content: await obj.arrayBuffer() }];
}

/** Sends one delivery once. */
export async function send(env: Env, deps: NotifyDeps, row: DeliveryRow, payload: Payload, now: number, exportRow: ExportRow | null = null): Promise<Outcome> {
	const { destination: d, event } = payload;
	if (d.type === "email") {
		if (!deps.email) return { ok: false, status: null, error: "no send_email binding (EMAIL) is configured", retry: false };
		const content = renderEmail(event);
		try {
			const attachments = event.type === "report.ready" ? await attachmentOf(env, event, exportRow) : [];
			await deps.email.send({ from: deps.emailFrom, to: d.to, subject: content.subject, text: content.text, html: content.html, ...(attachments.length ? { attachments } : {}) });
			return { ok: true, status: null };
		} catch (err) {
			return { ok: false, status: null, error: `email not sent: ${(err as Error)?.message ?? String(err)}`, retry: true };
		}
	}
	if (d.type === "slack") return post(d.url, JSON.stringify(renderSlack(event)), {}, deps);
	let secrets: string[];
	try {
		secrets = await signingSecrets(env, row.tenant_id, now);
	} catch (err) {
		return { ok: false, status: null, error: `cannot sign: ${(err as Error).message}`, retry: true };
	}
	if (!secrets.length) return { ok: false, status: null, error: "the tenant has no webhook signing secret (POST /v1/webhook-secrets)", retry: false };
	const body = renderWebhook(event);
	// webhook-id is the delivery's id, the same on every retry, so receivers can drop repeats.
	return post(d.url, body, await webhookHeaders(secrets, row.id, Math.floor(now / 1000), body), deps);
}

const extOf = (row: ExportRow) => `${row.format}${row.gzip ? ".gz" : ""}`;
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60) || "report";

type Prepared = { kind: "send"; payload: Payload; exportRow: ExportRow | null } | { kind: "wait"; until: number } | { kind: "fail"; error: string };

/** A scheduled report's delivery needs its export done: link it, wait for it, or give up. */
async function prepare(env: Env, deps: NotifyDeps, row: DeliveryRow, payload: Payload, now: number): Promise<Prepared> {
	const event = payload.event;
	if (event.type !== "report.ready" || event.export) return { kind: "send", payload, exportRow: null };
	if (now - row.created_at > EXPORT_WAIT_MS) return { kind: "fail", error: `the export did not finish within ${EXPORT_WAIT_MS / 3_600_000} hours` };
	if (!row.export_id) return { kind: "wait", until: now + EXPORT_POLL_MS };
	const ex = await env.DB.prepare("SELECT * FROM exports WHERE id = ?1 AND tenant_id = ?2").bind(row.export_id, row.tenant_id).first<ExportRow>();
	if (!ex) return { kind: "fail", error: `export ${row.export_id} no longer exists` };
	if (ex.state === "failed") return { kind: "fail", error: `export ${ex.id} failed: ${ex.error ?? "no reason given"}` };
	if (ex.state !== "done") return { kind: "wait", until: now + EXPORT_POLL_MS };
	const ttl = Math.min(LINK_TTL_MS, ex.expires_at - now);
	if (ttl <= 0) return { kind: "fail", error: `export ${ex.id} expired before it could be delivered` };
	const origin = payload.origin ?? "";
	const url = await deps.exporter.signedUrl(env, origin, ex, ttl);
	const filename = `${slug(event.target.name)}-${event.at.slice(0, 10)}.${extOf(ex)}`;
	const ready: Payload = { ...payload, event: { ...event, export: { id: ex.id, url, expires_at: new Date(now + ttl).toISOString(), rows: ex.rows, bytes: ex.bytes, filename } } };
	// Kept, so every retry sends the same body.
	await env.DB.prepare("UPDATE deliveries SET payload = ?2 WHERE id = ?1").bind(row.id, JSON.stringify(ready)).run();
	return { kind: "send", payload: ready, exportRow: ex };
}

const CLAIM_SQL = "UPDATE deliveries SET next_attempt_at = ?3, updated_at = ?2 WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2 RETURNING *";
const DONE_SQL = "UPDATE deliveries SET status = ?2, attempts = attempts + ?3, next_attempt_at = ?4, response_status = ?5, error = ?6, updated_at = ?7 WHERE id = ?1";

export type DeliveryResult = "sent" | "failed" | "retrying" | "waiting" | "skipped";

/**
 * Claims one due delivery (a conditional UPDATE: two crons never both take it), attempts it and
 * records the outcome: sent; failed (a permanent error, or MAX_ATTEMPTS used); or pending again
 * with the next attempt `backoffMs` later. A scheduled report whose export is still running waits
 * without using an attempt.
 */
export async function deliverOne(env: Env, deps: NotifyDeps, id: string, now: number): Promise<DeliveryResult> {
	const row = await env.DB.prepare(CLAIM_SQL).bind(id, now, now + LEASE_MS).first<DeliveryRow>();
	if (!row) return "skipped";
	const payload = JSON.parse(row.payload) as Payload;
	let prepared: Prepared;
	try {
		prepared = await prepare(env, deps, row, payload, now);
	} catch (err) {
		prepared = { kind: "wait", until: now + EXPORT_POLL_MS };
		console.warn("delivery: preparing", row.id, err);
	}
	if (prepared.kind === "wait") {
		await env.DB.prepare("UPDATE deliveries SET next_attempt_at = ?2, updated_at = ?3 WHERE id = ?1").bind(row.id, prepared.until, now).run();
		return "waiting";
	}
	if (prepared.kind === "fail") {
		await env.DB.prepare(DONE_SQL).bind(row.id, "failed", 0, now, null, prepared.error, now).run();
		return "failed";
	}
	const out = await send(env, deps, row, prepared.payload, now, prepared.exportRow);
	const attempts = row.attempts + 1;
	const done = Date.now();
	if (out.ok) {
		await env.DB.prepare(DONE_SQL).bind(row.id, "sent", 1, now, out.status, null, done).run();
		return "sent";
	}
	if (out.retry && attempts < MAX_ATTEMPTS) {
		await env.DB.prepare(DONE_SQL).bind(row.id, "pending", 1, now + backoffMs(attempts, out.retryAfterMs), out.status, out.error, done).run();
		return "retrying";
	}
	const error = out.retry ? `${out.error} (gave up after ${attempts} attempts)` : out.error;
	await env.DB.prepare(DONE_SQL).bind(row.id, "failed", 1, now, out.status, error, done).run();
	return "failed";
}

export interface DeliveryReport {
	due: number;
	sent: number;
	failed: number;
	retrying: number;
	waiting: number;
	left: number;
}

/**
 * The cron's delivery pass: due deliveries, oldest first, a few at a time, until `budgetMs` is used;
 * what is left waits for the next tick.
 */
export async function runDeliveries(env: Env, deps: NotifyDeps, opts: { now?: number; budgetMs?: number; limit?: number; concurrency?: number } = {}): Promise<DeliveryReport> {
	const now = opts.now ?? Date.now();
	const started = Date.now();
	const budget = opts.budgetMs ?? 8_000;
	const { results } = await env.DB.prepare("SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2")
		.bind(now, opts.limit ?? 50)
		.all<{ id: string }>();
	const report: DeliveryReport = { due: results.length, sent: 0, failed: 0, retrying: 0, waiting: 0, left: 0 };
	const queue = results.map((r) => r.id);
	const worker = async () => {
		for (let id = queue.shift(); id; id = queue.shift()) {
			if (Date.now() - started > budget) {
				report.left++;
				continue;
			}
			try {
				const r = await deliverOne(env, deps, id, opts.now ?? Date.now());
				if (r !== "skipped") report[r]++;
			} catch (err) {
				// The lease runs out and the next tick tries again.
				console.error("delivery failed unexpectedly", id, err);
			}
		}
	};
	await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker));
	return report;
}
