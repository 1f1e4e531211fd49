import { ByteReader, ByteWriter, SketchDecodeError, decodeBase64, encodeBase64 } from "./codec";

// DDSketch-style quantiles (Masson et al., 2019) plus exact count, sum, min and max.
//
// A positive x lands in bin i = ceil(log_γ x), γ = (1+α)/(1−α), i.e. x ∈ (γ^(i−1), γ^i]; the bin is
// reported as 2γ^i/(γ+1), within α of every value in it. Negative values use a mirrored store of
// |x|, zeros a plain counter. Bins never collapse: every finite double has an index in
// [MIN_INDEX, MAX_INDEX] (≈ ±37k), so a store is bounded even on pathological data, and for real
// metrics (say 1 ms to 1 h) it spans a few hundred bins.

/** Relative accuracy α of `quantile()`. */
export const DD_RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + DD_RELATIVE_ACCURACY) / (1 - DD_RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
const INV_LN_GAMMA = 1 / LN_GAMMA;
const MID = 2 / (1 + GAMMA);

const indexOf = (x: number) => Math.ceil(Math.log(x) * INV_LN_GAMMA);
const MIN_INDEX = indexOf(Number.MIN_VALUE);
const MAX_INDEX = indexOf(Number.MAX_VALUE);
const binValue = (i: number) => Math.exp(i * LN_GAMMA) * MID;

// Distinct from the HLL format bytes (1, 2, 3): a sketch handed to the wrong decoder fails, not parses.
const VERSION = 0x21;
const EMPTY = new Float64Array(0);

function corrupt(why: string): never {
	throw new SketchDecodeError(`invalid NumStats sketch: ${why}`);
}

// Bin counts in a dense window [offset, offset + counts.length) that grows on demand.
class Store {
	counts = EMPTY;
	offset = 0;
	total = 0;

	add(i: number, n: number): void {
		let j = i - this.offset;
		if (j < 0 || j >= this.counts.length) {
			this.extend(i, i);
			j = i - this.offset;
		}
		this.counts[j]! += n;
		this.total += n;
	}

	private extend(lo: number, hi: number): void {
		const len = this.counts.length;
		let newLo: number;
		let newHi: number;
		if (len === 0) {
			newLo = lo - 16;
			newHi = hi + 16;
		} else {
			// Grow by half again on the side that overflowed, so a drifting range costs amortised O(1).
			const slack = Math.max(16, len >> 1);
			const curHi = this.offset + len - 1;
			newLo = lo < this.offset ? lo - slack : this.offset;
			newHi = hi > curHi ? hi + slack : curHi;
		}
		newLo = Math.max(newLo, MIN_INDEX);
		newHi = Math.min(newHi, MAX_INDEX);
		const next = new Float64Array(newHi - newLo + 1);
		if (len > 0) next.set(this.counts, this.offset - newLo);
		this.counts = next;
		this.offset = newLo;
	}

	merge(o: Store): void {
		if (o.total === 0) return;
		const src = o.counts;
		let first = 0;
		let last = src.length - 1;
		while (src[first] === 0) first++;
		while (src[last] === 0) last--;
		const lo = o.offset + first;
		const hi = o.offset + last;
		if (lo < this.offset || hi >= this.offset + this.counts.length) this.extend(lo, hi);
		const dst = this.counts;
		const shift = o.offset - this.offset;
		for (let k = first; k <= last; k++) dst[k + shift]! += src[k]!;
		this.total += o.total;
	}

	// Bin index holding the value of 0-based rank `rank`, counting from the low (or high) end.
	indexAtRank(rank: number, fromHigh: boolean): number {
		const c = this.counts;
		let seen = 0;
		if (fromHigh) {
			for (let j = c.length - 1; j >= 0; j--) {
				seen += c[j]!;
				if (seen > rank) return this.offset + j;
			}
		} else {
			for (let j = 0; j < c.length; j++) {
				seen += c[j]!;
				if (seen > rank) return this.offset + j;
			}
		}
		throw new Error("rank beyond store total");
	}

	write(w: ByteWriter): void {
		const c = this.counts;
		let bins = 0;
		for (let j = 0; j < c.length; j++) if (c[j] !== 0) bins++;
		w.varint(bins);
		let prev: number | null = null;
		for (let j = 0; j < c.length; j++) {
			const n = c[j]!;
			if (n === 0) continue;
			const i = this.offset + j;
			// First index signed (zigzag); then gaps minus one, so runs of adjacent bins cost 0x00.
			if (prev === null) w.svarint(i);
			else w.varint(i - prev - 1);
			w.varint(n);
			prev = i;
		}
	}
}

// Reads one store's bins; validates them and, when `into` is given, adds them. Returns the total.
function readStore(r: ByteReader, into: Store | null): number {
	const bins = r.varint();
	if (bins > MAX_INDEX - MIN_INDEX + 1) corrupt("too many bins");
	let total = 0;
	let i = 0;
	for (let k = 0; k < bins; k++) {
		i = k === 0 ? r.svarint() : i + r.varint() + 1;
		const n = r.varint();
		if (i < MIN_INDEX || i > MAX_INDEX) corrupt("bin index out of range");
		if (n === 0) corrupt("empty bin");
		total += n;
		if (into) into.add(i, n);
	}
	return total;
}

export class NumStats {
	private n = 0;
	// Neumaier-compensated sum: s + c. Float64 throughout; compensation makes the result (nearly
	// always) independent of the order values and partial sketches arrive in.
	private s = 0;
	private c = 0;
	private lo = Infinity;
	private hi = -Infinity;
	private zero = 0;
	private readonly pos = new Store();
	private readonly neg = new Store();

	private constructor() {}

	/** An empty sketch. */
	static create(): NumStats {
		return new NumStats();
	}

	/** Parses `encode()` output; throws SketchDecodeError if it is not a valid sketch. */
	static decode(s: string): NumStats {
		const out = new NumStats();
		out.mergeEncoded(s);
		return out;
	}

	/** Number of values added (NaN and ±Infinity are ignored, not counted). */
	get count(): number {
		return this.n;
	}

	/** Sum of the values as a float64 (compensated; overflows to ±Infinity past ~1.8e308). */
	get sum(): number {
		return Number.isFinite(this.s) ? this.s + this.c : this.s;
	}

	/** Exact smallest value, or null when empty. */
	get min(): number | null {
		return this.n > 0 ? this.lo : null;
	}

	/** Exact largest value, or null when empty. */
	get max(): number | null {
		return this.n > 0 ? this.hi : null;
	}

	/** Adds a value; NaN and ±Infinity are ignored. */
	add(v: number): void {
		if (!Number.isFinite(v)) return;
		this.addBinned(v, NumStats.binOf(v));
	}

	/** The bin of a finite value, for `addBinned`: one logarithm for a value added to many sketches. */
	static binOf(v: number): number {
		return v > 0 ? indexOf(v) : v < 0 ? indexOf(-v) : 0;
	}

	/** Adds a finite value whose bin is `NumStats.binOf(v)`. */
	addBinned(v: number, bin: number): void {
		if (v > 0) this.pos.add(bin, 1);
		else if (v < 0) this.neg.add(bin, 1);
		else {
			v = 0; // -0 would otherwise become the min
			this.zero++;
		}
		this.n++;
		this.addSum(v);
		if (v < this.lo) this.lo = v;
		if (v > this.hi) this.hi = v;
	}

	private addSum(x: number): void {
		const t = this.s + x;
		if (!Number.isFinite(t)) {
			this.s = t;
			this.c = 0;
			return;
		}
		if (Math.abs(this.s) >= Math.abs(x)) this.c += this.s - t + x;
		else this.c += x - t + this.s;
		this.s = t;
	}

	/** Folds `o` in: afterwards this sketch describes both sets of values. */
	merge(o: NumStats): void {
		if (o.n === 0) return;
		this.n += o.n;
		this.addSum(o.s);
		this.addSum(o.c);
		if (o.lo < this.lo) this.lo = o.lo;
		if (o.hi > this.hi) this.hi = o.hi;
		this.zero += o.zero;
		this.pos.merge(o.pos);
		this.neg.merge(o.neg);
	}

	/**
	 * Folds an encoded sketch in without building a second one. The input is validated in full
	 * first, so a corrupt sketch throws SketchDecodeError and leaves this one unchanged.
	 */
	mergeEncoded(s: string): void {
		const bytes = decodeBase64(s);
		this.read(bytes, false);
		this.read(bytes, true);
	}

	private read(bytes: Uint8Array, apply: boolean): void {
		const r = new ByteReader(bytes);
		if (r.byte() !== VERSION) corrupt("unknown version");
		const n = r.varint();
		if (n === 0) {
			r.end();
			return;
		}
		const s = r.float64();
		const c = r.float64();
		const lo = r.float64();
		const hi = r.float64();
		const zero = r.varint();
		if (!Number.isFinite(c) || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) corrupt("bad sum/min/max");
		const posTotal = readStore(r, apply ? this.pos : null);
		const negTotal = readStore(r, apply ? this.neg : null);
		r.end();
		if (zero + posTotal + negTotal !== n) corrupt("bin counts do not add up to count");
		if ((lo < 0) !== (negTotal > 0) || (hi > 0) !== (posTotal > 0)) corrupt("min/max disagree with bins");
		if (!apply) return;
		this.n += n;
		this.addSum(s);
		this.addSum(c);
		if (lo < this.lo) this.lo = lo;
		if (hi > this.hi) this.hi = hi;
		this.zero += zero;
	}

	/**
	 * The value at 0-based rank floor(q·(count−1)) of the sorted values, within 1% relative error
	 * (clamped to [min, max]); null when empty. Throws RangeError unless 0 ≤ q ≤ 1.
	 */
	quantile(q: number): number | null {
		if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be in [0, 1], got ${q}`);
		if (this.n === 0) return null;
		const rank = Math.floor(q * (this.n - 1));
		const negatives = this.neg.total;
		let v: number;
		if (rank < negatives) {
			// Ascending values are descending |x|, so walk the negative store from its high end.
			v = -binValue(this.neg.indexAtRank(rank, true));
		} else if (rank < negatives + this.zero) {
			v = 0;
		} else {
			v = binValue(this.pos.indexAtRank(rank - negatives - this.zero, false));
		}
		return Math.min(this.hi, Math.max(this.lo, v));
	}

	/**
	 * How many values fall below `edges[0]`, in each [edges[k], edges[k+1]), and at or above the last
	 * edge (edges ascending): `edges.length + 1` counts adding up to `count`. A bin whose value range
	 * holds an edge goes to the bin starting at that edge (a value equal to an edge belongs there, as
	 * integer scores do); any other bin goes where its representative value does. So only a value
	 * within 2% below an edge may be counted on the edge's other side.
	 */
	histogram(edges: readonly number[]): number[] {
		const out = new Array<number>(edges.length + 1).fill(0);
		/** Index in `out` of the bin holding x: 0 below the first edge, k + 1 in [edges[k], edges[k + 1]). */
		const slot = (x: number) => {
			let lo = 0;
			let hi = edges.length;
			while (lo < hi) {
				const mid = (lo + hi) >> 1;
				if (x >= edges[mid]!) lo = mid + 1;
				else hi = mid;
			}
			return lo;
		};
		if (this.zero) out[slot(0)]! += this.zero;
		for (const [store, sign] of [[this.pos, 1], [this.neg, -1]] as const) {
			const c = store.counts;
			for (let j = 0; j < c.length; j++) {
				if (!c[j]) continue;
				const i = store.offset + j;
				// |x| in (γ^(i−1), γ^i]: for negatives, x in [−γ^i, −γ^(i−1)).
				const [a, b] = sign > 0 ? [Math.exp((i - 1) * LN_GAMMA), Math.exp(i * LN_GAMMA)] : [-Math.exp(i * LN_GAMMA), -Math.exp((i - 1) * LN_GAMMA)];
				const inner = slot(b) - 1;
				const edge = inner >= 0 ? edges[inner]! : Number.NaN;
				const holdsEdge = sign > 0 ? edge > a && edge <= b : edge >= a && edge < b;
				out[holdsEdge ? inner + 1 : slot(Math.min(this.hi, Math.max(this.lo, sign * binValue(i))))]! += c[j]!;
			}
		}
		return out;
	}

	/**
	 * Base64 of: version byte, varint count, then (if non-empty) float64 sum (two parts), min, max,
	 * varint zero count, and the positive then negative stores as varint bin count, zigzag first
	 * index, then per bin varint(gap − 1) and varint(count).
	 */
	encode(): string {
		const w = new ByteWriter(64);
		w.byte(VERSION);
		w.varint(this.n);
		if (this.n > 0) {
			// Renormalise (TwoSum) so hi = fl(sum) and decoding reproduces the exact same pair.
			const hi = this.s + this.c;
			const v = hi - this.s;
			w.float64(hi);
			w.float64(this.s - (hi - v) + (this.c - v));
			w.float64(this.lo);
			w.float64(this.hi);
			w.varint(this.zero);
			this.pos.write(w);
			this.neg.write(w);
		}
		return encodeBase64(w.bytes());
	}
}
