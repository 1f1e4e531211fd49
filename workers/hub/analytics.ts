import type { Env } from "../env";
import type { CanonicalEvent } from "../ingest/event";

/** Where accepted events go after D1: Workers Analytics Engine in production. */
export interface AnalyticsSink {
	write(tenantId: string, events: CanonicalEvent[]): Promise<void>;
}

/**
 * Analytics Engine takes at most 250 data points per Worker invocation (its limits page; older copies
 * of the page said 25). A point's blobs stay far under its 16 KB per point (properties cut at 4 KB).
 */
export const AE_POINTS_PER_INVOCATION = 250;
const PROPERTIES_BLOB_BYTES = 4096;

/**
 * One event → one data point. Layout (documented in docs/architecture.md, queried with SQL):
 * index1 = tenant; blob1..12 = event, type, message_id, user_id, anonymous_id, country, region,
 * city, device, browser, os, properties JSON (≤4 KB); double1..4 = timestamp ms, received_at ms,
 * is_bot, 1 (count, so SUM(_sample_interval * double4) counts events).
 */
export function toDataPoint(tenantId: string, e: CanonicalEvent): AnalyticsEngineDataPoint {
	let props = JSON.stringify(e.properties);
	if (props.length > PROPERTIES_BLOB_BYTES) props = props.slice(0, PROPERTIES_BLOB_BYTES);
	return {
		indexes: [tenantId],
		blobs: [
			e.event,
			e.type,
			e.message_id,
			e.user_id ?? "",
			e.anonymous_id ?? "",
			e.country ?? "",
			e.region ?? "",
			e.city ?? "",
			e.device ?? "",
			e.browser ?? "",
			e.os ?? "",
			props,
		],
		doubles: [e.timestamp, e.received_at, e.is_bot, 1],
	};
}

/** Splits points into groups that each fit one invocation's quota. */
export function chunk<T>(items: T[], size = AE_POINTS_PER_INVOCATION): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
	return out;
}

/**
 * The production sink. NOTE: a hub flush moves thousands of events per alarm, far above AE's
 * 250-points-per-invocation cap, so each group of 250 is written by its own invocation of the
 * `AeWriter` entrypoint through the AE_WRITER service binding (a self-binding, set in
 * wrangler.toml). Without the binding (unit tests) points are written directly.
 */
export function analyticsSink(env: Env): AnalyticsSink {
	return {
		async write(tenantId, events) {
			const groups = chunk(events.map((e) => toDataPoint(tenantId, e)));
			if (env.AE_WRITER) {
				const results = await Promise.all(groups.map((g) => env.AE_WRITER!.write(g)));
				const failed = results.find((r) => r.error);
				if (failed) throw new Error(`analytics engine write refused: ${failed.error}`);
				return;
			}
			for (const p of groups.flat()) env.AE.writeDataPoint(p);
		},
	};
}
