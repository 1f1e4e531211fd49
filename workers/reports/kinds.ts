import { type ChartType, type ReportKind } from "../db/schema";
import { parseExperiment, runExperiment } from "../insights/experiment";
import { parseSummary, summarize } from "../insights/summary";
import { PEOPLE_TENANT_BY_ID_SQL, type PeopleTenant, tenantOrThrow } from "../people/context";
import { answerFunnel, funnelRequest } from "../people/funnel";
import { answerRetention, retentionRequest } from "../people/retention";
import { parseWith, zoneAndRange } from "../people/spec";
import { answerQuery, type TenantRow } from "../query/answer";
import { parseQuery } from "../query/spec";
import { checkQuery, invalidField, LIMITS, underField } from "./model";

/**
 * Saved reports of every kind: a report's `query` is the body of its kind's endpoint, checked by that
 * endpoint's own parser when saved and answered by that endpoint when read (a board's tiles, exports,
 * schedules), so a report answers exactly what the endpoint answers for the same body.
 */

/** The charts that make sense for each kind (the first is what the dashboard draws by default). */
export const CHARTS_BY_KIND: Record<ReportKind, readonly ChartType[]> = {
	query: ["line", "bar", "table", "number", "heatmap"],
	funnel: ["funnel", "bar", "table"],
	// A cohort heat map, its table, or retention curves.
	retention: ["heatmap", "table", "line"],
	experiment: ["table", "bar"],
	insights: ["table", "line"],
};

/** The endpoint a kind's query is the body of. */
export const ENDPOINTS: Record<ReportKind, string> = {
	query: "POST /v1/query",
	funnel: "POST /v1/funnels",
	retention: "POST /v1/retention",
	experiment: "POST /v1/experiments",
	insights: "POST /v1/insights",
};

/** 400 naming `field` when `chart` makes no sense for `kind`. */
export function checkChart(kind: ReportKind, chart: ChartType, field = "chart"): void {
	const allowed = CHARTS_BY_KIND[kind];
	if (!allowed.includes(chart)) throw invalidField(field, `a ${kind} report is drawn as ${allowed.join(", ")}, not ${chart}`, "invalid_chart");
}

// The checks of each kind beyond POST /v1/query's (checkQuery): the endpoint's parser, then its time
// zone and date range as the endpoint resolves them (in UTC when the request names no zone: the
// tenant's zone only moves the range's ends, it cannot make a valid range invalid).
const CHECKS: Record<Exclude<ReportKind, "query">, (q: Record<string, unknown>, now: number) => void> = {
	funnel: (q, now) => {
		zoneAndRange(parseWith(funnelRequest, q, "invalid_funnel"), "UTC", now, "invalid_funnel");
	},
	retention: (q, now) => {
		const r = parseWith(retentionRequest, q, "invalid_retention");
		zoneAndRange({ date_range: r.date_range, timezone: r.timezone }, "UTC", now, "invalid_retention");
	},
	experiment: (q, now) => {
		zoneAndRange(parseExperiment(q), "UTC", now, "invalid_experiment");
	},
	insights: (q, now) => {
		const s = parseSummary(q);
		// Its metrics, filters and range are the query's own, with the same field names.
		const asQuery = { metrics: s.metrics, date_range: s.date_range, filters: s.filters, ...(s.timezone ? { timezone: s.timezone } : {}) };
		zoneAndRange({ ...parseQuery(asQuery), timezone: s.timezone }, "UTC", now, "invalid_insights");
	},
};

/**
 * Checks a report's query as its kind's endpoint would; returns its JSON. Errors are 400
 * `invalid_request` naming `query.<field>` (`query.steps[1].event`).
 */
export function checkReport(kind: ReportKind, q: Record<string, unknown>, field = "query", now = Date.now()): string {
	if (kind === "query") return checkQuery(q, field);
	const text = JSON.stringify(q);
	if (text.length > LIMITS.queryJson) throw invalidField(field, `at most ${LIMITS.queryJson} characters of JSON (this one has ${text.length})`, "too_big");
	try {
		CHECKS[kind](q, now);
	} catch (err) {
		throw underField(err, field);
	}
	return text;
}

/** What answering a report needs: the tenant (its query settings, and its people settings when a funnel or retention asks). */
export interface ReportContext {
	db: D1Database;
	tenantId: string;
	tenant: TenantRow | null;
	now: number;
	/** The hub's unflushed events (meta.complete_through of queries). */
	pendingSince?: () => Promise<number | null>;
	/** The tenant's people settings, read once at most (reportContext does). */
	people: () => Promise<PeopleTenant>;
}

/** A context for answering reports of tenant `tenantId`, reading its people settings only if a funnel or retention asks. */
export function reportContext(db: D1Database, tenantId: string, tenant: TenantRow | null, now: number, pendingSince?: () => Promise<number | null>): ReportContext {
	let people: Promise<PeopleTenant> | undefined;
	return {
		db,
		tenantId,
		tenant,
		now,
		pendingSince,
		people: () => (people ??= db.prepare(PEOPLE_TENANT_BY_ID_SQL).bind(tenantId).first<PeopleTenant>().then(tenantOrThrow)),
	};
}

export type QueryAnswer = Awaited<ReturnType<typeof answerQuery>>;
export type FunnelAnswer = Awaited<ReturnType<typeof answerFunnel>>;
export type RetentionAnswer = Awaited<ReturnType<typeof answerRetention>>;
export type ExperimentAnswer = Awaited<ReturnType<typeof runExperiment>>;
export type InsightsAnswer = Awaited<ReturnType<typeof summarize>>;
/** A report's answer: what its kind's endpoint answers for its query. */
export type ReportAnswer = QueryAnswer | FunnelAnswer | RetentionAnswer | ExperimentAnswer | InsightsAnswer;

/**
 * A report's answer, exactly as its kind's endpoint answers its query (queries and insights through
 * the answer cache, as POST /v1/query and POST /v1/insights use it).
 */
export async function answerReport(kind: ReportKind, query: Record<string, unknown>, ctx: ReportContext): Promise<ReportAnswer> {
	const { db, tenantId, tenant, now } = ctx;
	switch (kind) {
		case "query":
			return answerQuery(db, tenantId, query, tenant, now, ctx.pendingSince);
		case "insights":
			return summarize(db, tenantId, query, tenant, now, ctx.pendingSince);
		case "experiment":
			return runExperiment(db, tenantId, query, tenant?.timezone ?? "UTC", now);
		case "funnel":
			return answerFunnel(db, tenantId, await ctx.people(), query, now);
		case "retention":
			return answerRetention(db, tenantId, await ctx.people(), query, now);
	}
}
