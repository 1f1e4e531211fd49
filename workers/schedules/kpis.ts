import { kindKpis } from "../exports/kinds";
import type { Kpi } from "../notify/render";
import { answerQuery, type TenantRow } from "../query/answer";
import { answerReport, reportContext } from "../reports/kinds";
import type { ReportRow } from "../reports/model";

/** KPIs listed in one message, and reports of a board read for them. */
export const MAX_KPIS = 30;
export const MAX_KPI_REPORTS = 12;

/**
 * A report's key figures: its metrics' totals over its own date range, against the previous period
 * (or its own comparison), as POST /v1/query answers them — the report's query without its
 * breakdowns, time buckets and ordering.
 */
export function totalsQuery(query: Record<string, unknown>): Record<string, unknown> {
	const { metrics, date_range, filters, timezone, source, compare } = query;
	return {
		metrics,
		date_range,
		...(filters !== undefined ? { filters } : {}),
		...(timezone !== undefined ? { timezone } : {}),
		...(source !== undefined ? { source } : {}),
		compare: compare ?? "previous_period",
	};
}

/**
 * The KPIs of some reports, each report's failure kept as a message beside the others' figures. A
 * funnel, retention, experiment or insights report gives its key figures (workers/exports/kinds.ts:
 * conversion, retained rates, the last period's lifecycle, each variant's value and p-value, totals).
 */
export async function kpisOf(db: D1Database, tenantId: string, tenant: TenantRow | null, reports: ReportRow[], now: number): Promise<{ kpis: Kpi[]; error: string | null }> {
	const kpis: Kpi[] = [];
	const errors: string[] = [];
	const ctx = reportContext(db, tenantId, tenant, now);
	for (const r of reports.slice(0, MAX_KPI_REPORTS)) {
		try {
			const kind = r.kind ?? "query";
			if (kind !== "query") {
				const figures = kindKpis(kind, await answerReport(kind, JSON.parse(r.query) as Record<string, unknown>, ctx));
				for (const k of figures) kpis.push({ report: r.name, metric: k.metric, value: k.value, previous: k.previous ?? null, change_pct: k.change_pct ?? null });
				continue;
			}
			const answer = await answerQuery(db, tenantId, totalsQuery(JSON.parse(r.query) as Record<string, unknown>), tenant, now);
			const row = answer.results[0];
			answer.meta.metrics.forEach((metric, i) => {
				kpis.push({
					report: r.name,
					metric,
					value: row?.metrics[i] ?? null,
					previous: row?.comparison?.metrics[i] ?? null,
					change_pct: row?.comparison?.change_pct[i] ?? null,
				});
			});
		} catch (err) {
			errors.push(`${r.name}: ${(err as Error)?.message ?? String(err)}`);
		}
	}
	return { kpis: kpis.slice(0, MAX_KPIS), error: errors.length ? errors.join("; ") : null };
}
