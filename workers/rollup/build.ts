import type { RollupLevel } from "../db/schema";
import { NumStats } from "../sketch/ddsketch";
import { hashKey, hashKey2 } from "../sketch/hash";
import { Hll } from "../sketch/hll";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/** Built-in dimensions: columns of `events` filled by enrichment. */
export const BUILTIN_DIMS = ["country", "device", "browser", "os"] as const;
export type BuiltinDim = (typeof BUILTIN_DIMS)[number];

/** What a tenant rolls up beyond counts and uniques. */
export interface RollupConfig {
	dimension_props: string[];
	metric_props: string[];
}

/** The columns the rollup reads from `events`, in this order (D1 `.raw()` rows). */
export const RAW_COLUMNS = ["event", "user_id", "anonymous_id", "timestamp", "country", "device", "browser", "os", "properties"] as const;
export type RawRow = [string, string | null, string | null, number, string | null, string | null, string | null, string | null, string];

/** A rollup row as stored (see `rollups` in db/schema.ts). */
export interface RollupRow {
	level: RollupLevel;
	dim: string;
	bucket: number;
	event: string;
	value: string;
	count: number;
	users: string;
	metrics: string;
}

/** The `event` of rollup rows that cover every event (ingest refuses empty event names). */
export const ALL_EVENTS = "";

/** The user a row counts as: the identified user when known, else the anonymous id. */
export const userKey = (userId: string | null, anonymousId: string | null) => userId ?? anonymousId;

/** A dimension value as rollups store it: '' for missing; numbers and booleans as text. */
export function dimValue(v: unknown): string {
	if (v == null) return "";
	if (typeof v === "string") return v.length > 200 ? v.slice(0, 200) : v;
	if (typeof v === "number" || typeof v === "boolean") return String(v);
	return "";
}

/** Count, unique users and numeric-property stats of one bucket while it is being built or merged. */
export class BucketAcc {
	count = 0;
	readonly users = Hll.create();
	readonly metrics = new Map<string, NumStats>();

	stat(prop: string): NumStats {
		let s = this.metrics.get(prop);
		if (!s) this.metrics.set(prop, (s = NumStats.create()));
		return s;
	}

	/** Merges a stored row (count, encoded sketches) into this bucket. */
	mergeStored(count: number, users: string | null, metrics: string | null): void {
		this.count += count;
		if (users) this.users.mergeEncoded(users);
		if (metrics && metrics !== "{}") {
			for (const [prop, enc] of Object.entries(JSON.parse(metrics) as Record<string, string>)) this.stat(prop).mergeEncoded(enc);
		}
	}

	encodeMetrics(): string {
		if (this.metrics.size === 0) return "{}";
		const out: Record<string, string> = {};
		for (const [prop, s] of this.metrics) out[prop] = s.encode();
		return JSON.stringify(out);
	}
}

const keyOf = (level: string, dim: string, bucket: number, event: string, value: string) => `${level}\u0001${dim}\u0001${bucket}\u0001${event}\u0001${value}`;

/**
 * Builds every minute and hour bucket of one (aligned) hour from all of its raw events.
 * Rows are fed page by page with `add`; `finish` encodes the buckets. Minute buckets carry
 * per-event totals; the hour carries totals plus one row per dimension value.
 */
export class HourBuilder {
	private readonly accs = new Map<string, { row: Omit<RollupRow, "count" | "users" | "metrics">; acc: BucketAcc }>();
	private readonly dims: { dim: string; prop: string | null; col: number }[];
	added = 0;

	constructor(
		readonly hourStart: number,
		private readonly config: RollupConfig,
		/** False for hours older than the minute buckets' retention: only hour rows are built. */
		private readonly withMinutes = true,
	) {
		this.dims = [
			...BUILTIN_DIMS.map((d) => ({ dim: d as string, prop: null, col: RAW_COLUMNS.indexOf(d) })),
			...config.dimension_props.map((p) => ({ dim: `prop:${p}`, prop: p, col: -1 })),
		];
	}

	private acc(level: RollupLevel, dim: string, bucket: number, event: string, value: string): BucketAcc {
		const k = keyOf(level, dim, bucket, event, value);
		let hit = this.accs.get(k);
		if (!hit) this.accs.set(k, (hit = { row: { level, dim, bucket, event, value }, acc: new BucketAcc() }));
		return hit.acc;
	}

	add(row: RawRow): void {
		const [event, userId, anonymousId, ts] = row;
		if (ts < this.hourStart || ts >= this.hourStart + HOUR_MS) return;
		this.added++;
		const user = userKey(userId, anonymousId);
		const h1 = user == null ? 0 : hashKey(user);
		const h2 = user == null ? 0 : hashKey2(user);
		const needProps = this.config.metric_props.length > 0 || this.config.dimension_props.length > 0;
		let props: Record<string, unknown> = {};
		if (needProps && row[8] && row[8] !== "{}") {
			try {
				props = JSON.parse(row[8]) as Record<string, unknown>;
			} catch {
				props = {};
			}
		}
		const values: number[] = [];
		const metricNames: string[] = [];
		for (const p of this.config.metric_props) {
			const v = props[p];
			if (typeof v === "number" && Number.isFinite(v)) {
				metricNames.push(p);
				values.push(v);
			}
		}
		const feed = (a: BucketAcc) => {
			a.count++;
			if (user != null) a.users.addHash(h1, h2);
			for (let i = 0; i < values.length; i++) a.stat(metricNames[i]!).add(values[i]!);
		};
		const minute = this.hourStart + Math.floor((ts - this.hourStart) / MINUTE_MS) * MINUTE_MS;
		// Each bucket twice: under its event name and under ALL_EVENTS, so the common dashboard
		// question (all events, by country…) reads one row per value instead of one per event.
		for (const name of [event, ALL_EVENTS]) {
			if (this.withMinutes) feed(this.acc("minute", "", minute, name, ""));
			feed(this.acc("hour", "", this.hourStart, name, ""));
			for (const d of this.dims) {
				const v = d.prop == null ? dimValue(row[d.col]) : dimValue(props[d.prop]);
				feed(this.acc("hour", d.dim, this.hourStart, name, v));
			}
		}
	}

	finish(): RollupRow[] {
		const out: RollupRow[] = [];
		for (const { row, acc } of this.accs.values()) out.push({ ...row, count: acc.count, users: acc.users.encode(), metrics: acc.encodeMetrics() });
		return out;
	}
}

/** Builds the day buckets of one local day by merging the stored hour rows it covers. */
export class DayBuilder {
	private readonly accs = new Map<string, { row: Omit<RollupRow, "count" | "users" | "metrics">; acc: BucketAcc }>();

	constructor(readonly dayStart: number) {}

	/** One stored hour row: dim, event, value, count, users, metrics. */
	add(dim: string, event: string, value: string, count: number, users: string, metrics: string): void {
		const k = keyOf("day", dim, this.dayStart, event, value);
		let hit = this.accs.get(k);
		if (!hit) this.accs.set(k, (hit = { row: { level: "day", dim, bucket: this.dayStart, event, value }, acc: new BucketAcc() }));
		hit.acc.mergeStored(count, users, metrics);
	}

	finish(): RollupRow[] {
		const out: RollupRow[] = [];
		for (const { row, acc } of this.accs.values()) out.push({ ...row, count: acc.count, users: acc.users.encode(), metrics: acc.encodeMetrics() });
		return out;
	}
}

/** Start of the aligned hour containing `ts` (hours start at UTC hour + alignMinutes). */
export function hourStartOf(ts: number, alignMinutes: number): number {
	const shift = alignMinutes * MINUTE_MS;
	return Math.floor((ts - shift) / HOUR_MS) * HOUR_MS + shift;
}
