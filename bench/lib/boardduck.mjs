// The support preset's 12 reports (workers/reports/presets.ts) as SQL over the raw events in DuckDB,
// for bench:query's board scenario: the same questions, answered from the same rows, in the shape
// of Edgewise's answers ({key, metrics, prev?, tol?} per row) so the two can be compared value by
// value. Pairs (first response, resolution) are computed from the raw events in every query, as
// pair_spans defines them: per conversation, the first start, then the first matching end at or
// after it; durations are end − start. Exact percentiles are the value at index floor(q·(n−1)) of
// the sorted values, the definition Edgewise uses (DuckDB's quantile_disc is nearest-rank, ceil(q·n)).
//
// Each tile says how its metrics compare: "exact" (counts, sums, averages, exact percentiles,
// formulas of those), "quantile" (a DDSketch percentile: within its relative accuracy) or "bins" (a
// distribution split from DDSketch bins: off at most by the values just below an edge).

const DAY = 86_400_000;
/** workers/sketch/ddsketch.ts DD_RELATIVE_ACCURACY. */
export const DD_ALPHA = 0.01;

const rate = (a, b) => (b ? (a / b) * 100 : null);
const num = (v) => (v == null ? null : typeof v === "bigint" ? Number(v) : typeof v === "object" && "toDouble" in v ? v.toDouble() : Number(v));
const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
const key = (...dims) => JSON.stringify(dims);
const inRange = (r, col = "ts_ms") => `${col} >= ${r.from} AND ${col} < ${r.to}`;

/** The exact `q` percentile of `x` over the rows where `where` holds, as Edgewise defines it. */
const pct = (x, q, where = "TRUE") => `list_sort(list(${x}) FILTER (WHERE ${x} IS NOT NULL AND ${where}))[floor(${q} * (count(${x}) FILTER (WHERE ${where}) - 1))::BIGINT + 1]`;

/** Pair spans (conversation → start, first end at or after it, the start's channel) as a CTE body. */
const spans = (endWhere) => `SELECT s.k, s.st, s.channel, (SELECT min(x.ts_ms) FROM support x WHERE x.conversation_id = s.k AND ${endWhere} AND x.ts_ms >= s.st) AS en
	FROM (SELECT conversation_id AS k, min(ts_ms) AS st, arg_min(channel, ts_ms) AS channel FROM support WHERE event = 'conversation_started' AND conversation_id IS NOT NULL GROUP BY 1) s`;
const FIRST_RESPONSE = spans("x.event = 'message_sent' AND x.sender_type IN ('agent', 'ai')");
const RESOLUTION = spans("x.event = 'conversation_resolved'");
/** A span is closed when its end is known and not in the future (pairs-exec.ts allows a day of clock skew). */
const closed = (now) => `en IS NOT NULL AND en <= ${now + DAY}`;

/** Bin of `col` by `edges` (the lower edge of [edge, next edge)), and per edge the values within DDSketch's reach below it. */
function binsSql(col, edges) {
	const bin = `CASE ${[...edges].reverse().map((e) => `WHEN ${col} >= ${e} THEN ${e}`).join(" ")} END`;
	const near = edges.map((e, i) => `count(*) FILTER (WHERE ${col} < ${e} AND ${col} >= ${e * (1 - 2 * DD_ALPHA)}) AS near${i}`);
	return { bin, near };
}

/**
 * A distribution tile: `col` of `event` split by `edges`, with per bin how far a sketch may move it
 * (the values just below its two edges).
 */
function binsTile(event, col, edges) {
	return {
		kinds: ["bins"],
		sql({ range }) {
			const b = binsSql(col, edges);
			const where = `event = '${event}' AND ${col} IS NOT NULL AND ${inRange(range)}`;
			return [`SELECT ${b.bin} AS bin, count(*) FROM support WHERE ${where} GROUP BY 1`, `SELECT ${b.near.join(", ")} FROM support WHERE ${where}`];
		},
		shape([counts, near]) {
			const n = near[0].map(num);
			return counts.map(([b, c]) => {
				const i = edges.indexOf(num(b));
				return { key: key(num(b)), metrics: [num(c)], tol: [(n[i] ?? 0) + (n[i + 1] ?? 0)] };
			});
		},
	};
}

/**
 * The tiles, by report name: `sql(ctx)` gives one or more statements (run in order on one
 * connection), `shape(results, ctx)` their rows as Edgewise's visible metrics. ctx = {range, prev,
 * now, buckets}: ranges in epoch ms, as Edgewise resolved them (meta.date_range, meta.comparison).
 */
export const TILES = {
	"Conversations started": {
		kinds: ["exact"],
		sql: ({ range, prev }) => [`SELECT count(*) FILTER (WHERE ${inRange(range)}), count(*) FILTER (WHERE ${inRange(prev)}) FROM support WHERE event = 'conversation_started'`],
		shape: ([[[c, p]]]) => [{ key: key(), metrics: [num(c)], prev: [num(p)] }],
	},
	"Resolution and escalation": {
		kinds: ["exact", "exact", "exact", "exact", "exact"],
		sql: ({ range, now }) => [
			`SELECT count(*) FILTER (WHERE event = 'conversation_started'), count(*) FILTER (WHERE event = 'conversation_resolved'), count(*) FILTER (WHERE event = 'conversation_escalated'),
				(SELECT count(*) FILTER (WHERE NOT (${closed(now)})) FROM (${RESOLUTION}) WHERE ${inRange(range, "st")})
			FROM support WHERE ${inRange(range)} AND event IN ('conversation_started', 'conversation_resolved', 'conversation_escalated')`,
		],
		shape: ([[[s, r, e, open]]]) => {
			const [started, resolved, escalated] = [num(s), num(r), num(e)];
			return [{ key: key(), metrics: [resolved, escalated, rate(resolved, started), rate(escalated, started), num(open)] }];
		},
	},
	"First response time": {
		kinds: ["exact", "exact", "exact"],
		sql: ({ range, now }) => [
			`SELECT st // ${DAY} * ${DAY} AS day, avg(en - st), ${pct("en - st", 0.5)}, ${pct("en - st", 0.95)}
			FROM (${FIRST_RESPONSE}) WHERE ${inRange(range, "st")} AND ${closed(now)} GROUP BY 1`,
		],
		shape: ([rows]) => rows.map(([d, ...m]) => ({ key: key(iso(num(d))), metrics: m.map(num) })),
	},
	"Messages by hour of day": {
		kinds: ["exact"],
		sql: ({ range }) => [`SELECT ts_ms // 3600000 % 24, count(*) FROM support WHERE event = 'message_sent' AND ${inRange(range)} GROUP BY 1`],
		shape: ([rows]) => rows.map(([h, c]) => ({ key: key(num(h)), metrics: [num(c)] })),
	},
	"Messages by weekday and hour": {
		kinds: ["exact"],
		sql: ({ range }) => [`SELECT isodow(epoch_ms(ts_ms)), ts_ms // 3600000 % 24, count(*) FROM support WHERE event = 'message_sent' AND ${inRange(range)} GROUP BY 1, 2`],
		shape: ([rows]) => rows.map(([d, h, c]) => ({ key: key(num(d), num(h)), metrics: [num(c)] })),
	},
	"By channel": {
		kinds: ["exact", "exact", "exact"],
		sql: ({ range, now }) => [
			`WITH c AS (SELECT channel, count(*) FILTER (WHERE event = 'conversation_started') AS started, count(*) FILTER (WHERE event = 'conversation_resolved') AS resolved
				FROM support WHERE ${inRange(range)} AND event IN ('conversation_started', 'conversation_resolved') GROUP BY 1),
			p AS (SELECT channel, ${pct("en - st", 0.5)} AS p50 FROM (${FIRST_RESPONSE}) WHERE ${inRange(range, "st")} AND ${closed(now)} GROUP BY 1)
			SELECT coalesce(c.channel, p.channel), coalesce(c.started, 0), coalesce(c.resolved, 0), p.p50 FROM c FULL OUTER JOIN p ON c.channel IS NOT DISTINCT FROM p.channel`,
		],
		shape: ([rows]) => rows.map(([ch, s, r, p50]) => ({ key: key(ch), metrics: [num(s), rate(num(r), num(s)), num(p50)] })),
	},
	"By agent": {
		kinds: ["exact", "exact", "quantile", "exact"],
		sql: ({ range }) => [
			`SELECT agent_id, count(*) FILTER (WHERE event = 'message_sent'), avg(response_time_ms) FILTER (WHERE event = 'message_sent'),
				${pct("response_time_ms", 0.95, "event = 'message_sent'")}, avg(score) FILTER (WHERE event = 'csat_submitted')
			FROM support WHERE ${inRange(range)} AND event IN ('message_sent', 'csat_submitted') AND agent_id IS NOT NULL GROUP BY 1`,
		],
		shape: ([rows]) => rows.map(([a, ...m]) => ({ key: key(a), metrics: m.map(num) })),
	},
	"Customer satisfaction": {
		kinds: ["exact", "exact"],
		sql: ({ range, prev }) => [
			`SELECT avg(score) FILTER (WHERE ${inRange(range)}), count(*) FILTER (WHERE ${inRange(range)}), avg(score) FILTER (WHERE ${inRange(prev)}), count(*) FILTER (WHERE ${inRange(prev)})
			FROM support WHERE event = 'csat_submitted'`,
		],
		shape: ([[[a, c, pa, pc]]]) => [{ key: key(), metrics: [num(a), num(c)], prev: [num(pa), num(pc)] }],
	},
	"CSAT distribution": binsTile("csat_submitted", "score", [1, 2, 3, 4, 5]),
	"Top intents": {
		kinds: ["exact"],
		sql: ({ range }) => [`SELECT intent, count(*) AS c FROM support WHERE event = 'conversation_started' AND ${inRange(range)} GROUP BY 1 ORDER BY c DESC, intent LIMIT 10`],
		shape: ([rows]) => rows.map(([i, c]) => ({ key: key(i), metrics: [num(c)] })),
	},
	"AI share of replies": {
		kinds: ["exact"],
		sql: ({ range }) => [
			`SELECT ts_ms // ${DAY} * ${DAY}, count(*) FILTER (WHERE sender_type = 'ai'), count(*) FILTER (WHERE sender_type IN ('ai', 'agent'))
			FROM support WHERE event = 'message_sent' AND ${inRange(range)} GROUP BY 1`,
		],
		shape: ([rows]) => rows.map(([d, ai, all]) => ({ key: key(iso(num(d))), metrics: [rate(num(ai), num(all))] })),
	},
	"AI confidence": binsTile("message_sent", "ai_confidence", [0, 0.2, 0.4, 0.6, 0.8, 0.9]),
};
