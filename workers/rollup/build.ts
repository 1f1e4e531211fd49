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
	/** Properties with a distinct-count sketch per bucket (absent in layouts from before it existed). */
	unique_props?: string[];
}

/** The columns the rollup reads from `events`, in this order; the properties asked for follow, as one array. */
export const RAW_COLUMNS = ["event", "user_id", "anonymous_id", "timestamp", "country", "device", "browser", "os"] as const;
/** A raw event as rollups and raw queries read it: RAW_COLUMNS, then the values of the requested properties (null when absent). */
export type RawRow = [string, string | null, string | null, number, string | null, string | null, string | null, string | null, unknown[]];

/** The properties an hour's buckets need, each once: dimension properties, then metric properties. */
export const propsOf = (config: RollupConfig): string[] => [...new Set([...config.dimension_props, ...config.metric_props, ...(config.unique_props ?? [])])];

/**
 * In a row's `metrics` JSON, a distinct-count sketch (HLL) of a property is keyed "u:<property>" beside
 * the numeric sketches keyed by property name (names cannot hold ':'). Keys are in string order, so a
 * bucket built whole and the same bucket merged are the same text.
 */
export const DISTINCT_PREFIX = "u:";

/** The text a distinct count counts for a value ('' for none: not counted), as dimension values are written. */
export const distinctValue = (v: unknown): string => dimValue(v);

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

/**
 * Count, unique users and numeric-property stats of stored buckets merged together: day and week
 * buckets from finer ones, and query groups from the rows they read.
 */
export class BucketAcc {
	count = 0;
	/** Allocated on the first merge: a dense sketch is 16 KB, and count-only queries need none. */
	users: Hll | null = null;
	readonly metrics = new Map<string, NumStats>();
	/** Distinct-value sketches of properties (unique_props), by property. */
	readonly distinct = new Map<string, Hll>();

	distinctOf(prop: string): Hll {
		let h = this.distinct.get(prop);
		if (!h) this.distinct.set(prop, (h = Hll.create()));
		return h;
	}

	stat(prop: string): NumStats {
		let s = this.metrics.get(prop);
		if (!s) this.metrics.set(prop, (s = NumStats.create()));
		return s;
	}

	/**
	 * Merges a stored row (count, encoded sketches); `only` limits which sketches are decoded (property
	 * names, and "u:<property>" for distinct counts).
	 */
	mergeStored(count: number, users: string | null, metrics: string | null, only?: readonly string[]): void {
		this.count += count;
		if (users) (this.users ??= Hll.create()).mergeEncoded(users);
		if (metrics && metrics !== "{}") {
			const m = JSON.parse(metrics) as Record<string, string>;
			for (const key of only ?? Object.keys(m)) {
				const enc = m[key];
				if (!enc) continue;
				if (key.startsWith(DISTINCT_PREFIX)) this.distinctOf(key.slice(DISTINCT_PREFIX.length)).mergeEncoded(enc);
				else this.stat(key).mergeEncoded(enc);
			}
		}
	}

	/**
	 * Adds one raw event: its user key (null: none, or not needed), its values of `props` (numeric
	 * sketches) and of `distinct` (distinct-count sketches).
	 */
	addRaw(user: string | null, values: unknown[], props: readonly string[], distinct: readonly string[] = [], distinctValues: unknown[] = []): void {
		this.count++;
		if (user != null) (this.users ??= Hll.create()).addHash(hashKey(user), hashKey2(user));
		for (let i = 0; i < props.length; i++) {
			const v = values[i];
			if (typeof v === "number" && Number.isFinite(v)) this.stat(props[i]!).add(v);
		}
		for (let i = 0; i < distinct.length; i++) {
			const d = distinctValue(distinctValues[i]);
			if (d !== "") this.distinctOf(distinct[i]!).addHash(hashKey(d), hashKey2(d));
		}
	}

	/** Distinct values of a property (an estimate from its sketch). */
	distinctCount(prop: string): number {
		return this.distinct.get(prop)?.estimate() ?? 0;
	}

	uniques(): number {
		return this.users ? this.users.estimate() : 0;
	}

	stats(prop: string): NumStats | null {
		return this.metrics.get(prop) ?? null;
	}

	encodeUsers(): string {
		return (this.users ?? Hll.create()).encode();
	}

	encodeMetrics(): string {
		if (this.metrics.size === 0 && this.distinct.size === 0) return "{}";
		// Keys in string order, as HourBuilder writes them: equal buckets are equal text however they were merged.
		const entries: [string, string][] = [...this.metrics].map(([k, st]) => [k, st.encode()]);
		for (const [k, h] of this.distinct) entries.push([DISTINCT_PREFIX + k, h.encode()]);
		entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
		return JSON.stringify(Object.fromEntries(entries));
	}
}

const keyOf = (level: string, dim: string, bucket: number, event: string, value: string) => `${level}\u0001${dim}\u0001${bucket}\u0001${event}\u0001${value}`;

/** One bucket being built from raw rows: metric sketches by position in `metric_props`, distinct sketches in `unique_props`. */
class RawAcc {
	count = 0;
	readonly users = Hll.create();
	readonly stats: (NumStats | undefined)[] = [];
	readonly distinct: (Hll | undefined)[] = [];

	/** Folds another bucket in (counts add, sketches union): the same as having fed its rows here. */
	merge(o: RawAcc): void {
		this.count += o.count;
		this.users.merge(o.users);
		for (let j = 0; j < o.stats.length; j++) {
			const st = o.stats[j];
			if (st) (this.stats[j] ??= NumStats.create()).merge(st);
		}
		for (let j = 0; j < o.distinct.length; j++) {
			const h = o.distinct[j];
			if (h) (this.distinct[j] ??= Hll.create()).merge(h);
		}
	}
}

/** The buckets of one event name (or ALL_EVENTS) within the hour. */
interface EventAccs {
	minutes: (RawAcc | undefined)[];
	/** Per dimension (BUILTIN_DIMS, then dimension_props): value → bucket. */
	dims: Map<string, RawAcc>[];
}

/**
 * Builds every minute and hour bucket of one (aligned) hour from all of its raw events.
 * Rows are fed page by page with `add`; `finish` encodes the buckets. Minute buckets carry
 * per-event totals; the hour carries totals plus one row per dimension value.
 * NOTE: this is the rollups' hot loop (millions of rows per pass): buckets are found through
 * arrays and per-dimension maps, never through composed string keys. A row feeds only its
 * event's minute and dimension buckets (6 with the bench's config); the event's hour and every
 * ALL_EVENTS bucket are merged from those in `finish` (sketches merge exactly), which is a few
 * thousand merges per hour instead of 8 more feeds per row.
 */
export class HourBuilder {
	private readonly perEvent = new Map<string, EventAccs>();
	/** col: the RawRow column of a built-in dimension; prop: the index in `propsOf(config)` of a property one (else -1). */
	private readonly dims: { dim: string; col: number; prop: number }[];
	private readonly metricProps: string[];
	/** Index of each metric property in the row's property values. */
	private readonly metricAt: number[];
	/** The keys of the encoded metrics JSON in string order: numeric sketches (m) and distinct sketches (u) by index. */
	private readonly encodeOrder: { key: string; kind: "m" | "u"; j: number }[];
	/** Index of each unique property in the row's property values. */
	private readonly uniqueAt: number[];
	added = 0;

	constructor(
		readonly hourStart: number,
		config: RollupConfig,
		/** False for hours older than the minute buckets' retention: only hour rows are built. */
		private readonly withMinutes = true,
	) {
		const props = propsOf(config);
		this.dims = [
			...BUILTIN_DIMS.map((d) => ({ dim: d as string, col: RAW_COLUMNS.indexOf(d), prop: -1 })),
			...config.dimension_props.map((p) => ({ dim: `prop:${p}`, col: -1, prop: props.indexOf(p) })),
		];
		this.metricProps = config.metric_props;
		this.metricAt = config.metric_props.map((p) => props.indexOf(p));
		const uniques = config.unique_props ?? [];
		this.uniqueAt = uniques.map((p) => props.indexOf(p));
		this.encodeOrder = [
			...config.metric_props.map((key, j) => ({ key, kind: "m" as const, j })),
			...uniques.map((p, j) => ({ key: DISTINCT_PREFIX + p, kind: "u" as const, j })),
		].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
		this.uh1 = new Float64Array(uniques.length);
		this.uh2 = new Float64Array(uniques.length);
		this.uHas = new Uint8Array(uniques.length);
		this.vals = new Float64Array(this.metricProps.length);
		this.bins = new Int32Array(this.metricProps.length);
		this.dimValues = this.dims.map(() => "");
	}

	private accsOf(name: string): EventAccs {
		let e = this.perEvent.get(name);
		if (!e) this.perEvent.set(name, (e = { minutes: [], dims: this.dims.map(() => new Map()) }));
		return e;
	}

	// Per-row scratch, reused: the hot loop allocates nothing per row.
	private readonly vals: Float64Array;
	private readonly bins: Int32Array;
	private readonly uh1: Float64Array;
	private readonly uh2: Float64Array;
	private readonly uHas: Uint8Array;
	private readonly dimValues: string[];
	private lastName: string | null = null;
	private lastAccs: EventAccs | null = null;

	/** Adds a raw event read with the properties `propsOf(config)`; events outside the hour are skipped. */
	add(row: RawRow): void {
		const ts = row[3];
		if (ts < this.hourStart || ts >= this.hourStart + HOUR_MS) return;
		this.added++;
		const user = userKey(row[1], row[2]);
		const hasUser = user != null;
		const h1 = hasUser ? hashKey(user) : 0;
		const h2 = hasUser ? hashKey2(user) : 0;
		const props = row[8];
		const nm = this.metricProps.length;
		const vals = this.vals;
		const bins = this.bins;
		for (let j = 0; j < nm; j++) {
			const v = props[this.metricAt[j]!];
			if (typeof v === "number" && Number.isFinite(v)) {
				vals[j] = v;
				bins[j] = NumStats.binOf(v); // once per value, not once per bucket it goes to
			} else vals[j] = Number.NaN;
		}
		for (let j = 0; j < this.uniqueAt.length; j++) {
			const d = distinctValue(props[this.uniqueAt[j]!]);
			this.uHas[j] = d === "" ? 0 : 1;
			if (d !== "") {
				this.uh1[j] = hashKey(d);
				this.uh2[j] = hashKey2(d);
			}
		}
		const dims = this.dims;
		const dv = this.dimValues;
		for (let i = 0; i < dims.length; i++) {
			const d = dims[i]!;
			dv[i] = d.prop < 0 ? dimValue(row[d.col]) : dimValue(props[d.prop]);
		}
		const minute = Math.floor((ts - this.hourStart) / MINUTE_MS);
		let named = this.lastAccs;
		if (this.lastName !== row[0] || !named) {
			named = this.lastAccs = this.accsOf(row[0]);
			this.lastName = row[0];
		}
		this.feedEvent(named, minute, hasUser, h1, h2);
	}

	private feedEvent(e: EventAccs, minute: number, hasUser: boolean, h1: number, h2: number): void {
		this.feed((e.minutes[minute] ??= new RawAcc()), hasUser, h1, h2);
		const dv = this.dimValues;
		for (let i = 0; i < dv.length; i++) {
			const m = e.dims[i]!;
			let a = m.get(dv[i]!);
			if (!a) m.set(dv[i]!, (a = new RawAcc()));
			this.feed(a, hasUser, h1, h2);
		}
	}

	private feed(a: RawAcc, hasUser: boolean, h1: number, h2: number): void {
		a.count++;
		if (hasUser) a.users.addHash(h1, h2);
		const vals = this.vals;
		for (let j = 0; j < vals.length; j++) {
			const v = vals[j]!;
			if (v === v) (a.stats[j] ??= NumStats.create()).addBinned(v, this.bins[j]!);
		}
		for (let j = 0; j < this.uHas.length; j++) if (this.uHas[j]) (a.distinct[j] ??= Hll.create()).addHash(this.uh1[j]!, this.uh2[j]!);
	}

	private encode(level: RollupLevel, dim: string, bucket: number, event: string, value: string, a: RawAcc): RollupRow {
		let metrics = "{}";
		if (a.stats.length || a.distinct.length) {
			const out: Record<string, string> = {};
			for (const { key, kind, j } of this.encodeOrder) {
				const sketch = kind === "m" ? a.stats[j] : a.distinct[j];
				if (sketch) out[key] = sketch.encode();
			}
			metrics = JSON.stringify(out);
		}
		return { level, dim, bucket, event, value, count: a.count, users: a.users.encode(), metrics };
	}

	finish(): RollupRow[] {
		if (this.perEvent.size === 0) return [];
		// Every bucket under its event name and under ALL_EVENTS, so the common dashboard question
		// (all events, by country…) reads one row per value instead of one per event.
		const all: EventAccs = { minutes: [], dims: this.dims.map(() => new Map()) };
		for (const e of this.perEvent.values()) {
			e.minutes.forEach((a, i) => a && (all.minutes[i] ??= new RawAcc()).merge(a));
			e.dims.forEach((m, i) => {
				const into = all.dims[i]!;
				for (const [value, a] of m) {
					let t = into.get(value);
					if (!t) into.set(value, (t = new RawAcc()));
					t.merge(a);
				}
			});
		}
		const out: RollupRow[] = [];
		for (const [event, e] of [...this.perEvent, [ALL_EVENTS, all] as const]) {
			const hour = new RawAcc();
			e.minutes.forEach((a, i) => {
				if (!a) return;
				hour.merge(a);
				if (this.withMinutes) out.push(this.encode("minute", "", this.hourStart + i * MINUTE_MS, event, "", a));
			});
			out.push(this.encode("hour", "", this.hourStart, event, "", hour));
			e.dims.forEach((m, i) => {
				for (const [value, a] of m) out.push(this.encode("hour", this.dims[i]!.dim, this.hourStart, event, value, a));
			});
		}
		return out;
	}
}

/** Rows merged by bucket key (level, dim, bucket, event, value): counts add, sketches union. */
export class RowMerger {
	private readonly accs = new Map<string, { row: Omit<RollupRow, "count" | "users" | "metrics">; acc: BucketAcc }>();

	add(level: RollupLevel, dim: string, bucket: number, event: string, value: string, count: number, users: string, metrics: string): void {
		const k = keyOf(level, dim, bucket, event, value);
		let hit = this.accs.get(k);
		if (!hit) this.accs.set(k, (hit = { row: { level, dim, bucket, event, value }, acc: new BucketAcc() }));
		hit.acc.mergeStored(count, users, metrics);
	}

	finish(): RollupRow[] {
		const out: RollupRow[] = [];
		for (const { row, acc } of this.accs.values()) out.push({ ...row, count: acc.count, users: acc.encodeUsers(), metrics: acc.encodeMetrics() });
		return out;
	}
}

/** Builds the buckets of one local day (or ISO week) by merging the stored rows it covers. */
export class DayBuilder {
	private readonly merged = new RowMerger();

	constructor(
		readonly dayStart: number,
		readonly level: "day" | "week" = "day",
	) {}

	/** One stored finer row (hours for a day, days for a week): dim, event, value, count, users, metrics. */
	add(dim: string, event: string, value: string, count: number, users: string, metrics: string): void {
		this.merged.add(this.level, dim, this.dayStart, event, value, count, users, metrics);
	}

	finish(): RollupRow[] {
		return this.merged.finish();
	}
}

/** Start of the aligned hour containing `ts` (hours start at UTC hour + alignMinutes). */
export function hourStartOf(ts: number, alignMinutes: number): number {
	const shift = alignMinutes * MINUTE_MS;
	return Math.floor((ts - shift) / HOUR_MS) * HOUR_MS + shift;
}
