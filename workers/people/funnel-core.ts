/**
 * How far one person got through a funnel, from their step events (pure; funnel.ts feeds it).
 * Events are ordered by (time, ingest order), and one event counts for one step at most.
 *
 * Strict order: steps 1…k done in the listed order (other events, other steps' included, may come
 * in between), the k-th at most `window` after the first, the first in the date range. The
 * person's level is the largest such k over every attempt (every step-1 event in the range). The
 * attempt reported (for times to convert) ends at their earliest event completing that level,
 * each earlier step being the latest one before the next: the attempt that converted.
 *
 * Any order: steps 1…k each done by a distinct event, all within `window` of the attempt's first
 * event (an event of any step, in the date range). The attempt reported is the earliest one
 * reaching the person's level; a step's time is when the first k steps were all done.
 */

export interface StepEvent {
	ts: number;
	ref: number;
	/** Bit i set: the event matches step i+1 (0-based step i). */
	mask: number;
	/** Strict order, events matching step 2: the latest step-1 event before it in the range (its time), if any. */
	pred?: number | null;
}

export interface Attempt {
	/** Steps reached (1 … steps). */
	level: number;
	/** When each reached step was done, steps 1 … level. */
	times: number[];
	/** Any order: the event that did step 1 in the attempt (its ref). */
	firstRef?: number;
}

const before = (a: StepEvent, b: StepEvent) => a.ts < b.ts || (a.ts === b.ts && a.ref < b.ref);

/**
 * Strict order, from the events matching steps 2 … n (each with `pred` if it matches step 2); step 1
 * itself is known only through `pred`. Null when no step-2 event has a step-1 event within reach.
 */
export function strictAttempt(events: StepEvent[], steps: number, windowMs: number): Attempt | null {
	// lists[k]: events matching 0-based step k (k ≥ 1), in order; start[k][i]: the latest possible first-step time of a chain ending there.
	const lists: StepEvent[][] = [];
	const start: (number | null)[][] = [];
	let best = 0;
	let bestAt = -1;
	for (let k = 1; k < steps; k++) {
		const list = events.filter((e) => (e.mask >> k) & 1);
		const s: (number | null)[] = new Array(list.length).fill(null);
		if (k === 1) list.forEach((e, i) => (s[i] = e.pred ?? null));
		else {
			// The latest step-(k-1) event before each: start times are non-decreasing along a list, so it is the best.
			const prev = lists[k - 1]!;
			let j = -1;
			list.forEach((e, i) => {
				while (j + 1 < prev.length && before(prev[j + 1]!, e)) j++;
				s[i] = j >= 0 ? start[k - 1]![j]! : null;
			});
		}
		lists[k] = list;
		start[k] = s;
		const first = s.findIndex((m, i) => m != null && list[i]!.ts - m <= windowMs);
		if (first >= 0) {
			best = k;
			bestAt = first;
		}
	}
	if (best === 0) return null;
	const times: number[] = new Array(best + 1);
	let cur = lists[best]![bestAt]!;
	times[best] = cur.ts;
	for (let k = best - 1; k >= 1; k--) {
		const prev = lists[k]!;
		let j = -1;
		while (j + 1 < prev.length && before(prev[j + 1]!, cur)) j++;
		cur = prev[j]!;
		times[k] = cur.ts;
	}
	times[0] = start[1]![lists[1]!.indexOf(cur)]!;
	return { level: best + 1, times };
}

/** Largest k such that steps 0 … k-1 can each take a distinct event of the window (Hall's condition on the masks present). */
function matchable(counts: Map<number, number>, steps: number, from = 0): number {
	let k = from;
	for (; k < steps; k++) {
		// Subsets holding step k (those without it passed for k - 1).
		const size = 1 << k;
		for (let sub = 0; sub < size; sub++) {
			const set = sub | size;
			let have = 0;
			for (const [m, n] of counts) if (m & set) have += n;
			let need = 0;
			for (let x = set; x; x &= x - 1) need++;
			if (have < need) return k;
		}
	}
	return k;
}

/** Any order, from every step event of the person in [from, to + window), in order. */
export function anyAttempt(events: StepEvent[], steps: number, windowMs: number, from: number, to: number): Attempt | null {
	let best = 0;
	let bestStart = -1;
	const counts = new Map<number, number>();
	const add = (m: number, d: number) => {
		const n = (counts.get(m) ?? 0) + d;
		if (n) counts.set(m, n);
		else counts.delete(m);
	};
	let j = 0;
	for (let i = 0; i < events.length; i++) {
		const s = events[i]!;
		if (s.ts >= to) break;
		while (j < events.length && events[j]!.ts - s.ts <= windowMs) add(events[j++]!.mask, 1);
		if (s.ts >= from && best < steps) {
			// Only a window covering every step up to best + 1 can do better.
			let cover = 0;
			for (const m of counts.keys()) cover |= m;
			const want = (1 << (best + 1)) - 1;
			if ((cover & want) === want) {
				const level = matchable(counts, steps);
				if (level > best) {
					best = level;
					bestStart = i;
				}
			}
		}
		add(s.mask, -1);
	}
	if (best === 0) return null;
	// Replay the best attempt to find when each level was first complete.
	const s0 = events[bestStart]!;
	const times: number[] = [];
	const win = new Map<number, number>();
	let firstRef: number | undefined;
	for (let k = bestStart; k < events.length && events[k]!.ts - s0.ts <= windowMs && times.length < best; k++) {
		const e = events[k]!;
		win.set(e.mask, (win.get(e.mask) ?? 0) + 1);
		if (firstRef === undefined && e.mask & 1) firstRef = e.ref;
		const level = matchable(win, best, times.length);
		while (times.length < level) times.push(e.ts);
	}
	return { level: best, times, firstRef };
}

/** Nearest-rank percentile of sorted values (p in (0, 1]): the value at rank ceil(p·n). */
export function percentile(sorted: number[], p: number): number | null {
	if (!sorted.length) return null;
	return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1]!;
}
