import { ByteReader, ByteWriter, SketchDecodeError, decodeBase64, encodeBase64 } from "./codec";
import { hashKey, hashKey2 } from "./hash";

// HyperLogLog for distinct counts in rollups.
//
// How the two 32-bit hashes combine: the register index is the low HLL_P bits of h1, and the rank is
// 1 + the number of leading zeros of h2 (all 32 bits), so 1..33 with 33 meaning h2 == 0. Together
// that is a 46-bit hash (p = 14 index bits + q = 32 rank bits), which is what the estimator's
// formulas are parameterised on; keys lost to hash collisions stay under 0.01% up to ~10 billion.

/** Index bits: m = 2^14 = 16384 registers. */
export const HLL_P = 14;
const M = 1 << HLL_P;
const MASK = M - 1;
// Hash bits behind the rank; registers hold 0..Q+1.
const Q = 32;
/** Relative standard error of `estimate()`: 1.04 / sqrt(m) ≈ 0.81%. */
export const HLL_STANDARD_ERROR = 1.04 / Math.sqrt(M);

const FORMAT_SPARSE = 1;
const FORMAT_DENSE = 2;
const FORMAT_NIBBLES = 3;
// Format 2 packs dense registers 6 bits each (ranks need ≤ 33): 4 registers in 3 bytes.
const DENSE_BYTES = 1 + (M / 4) * 3;
// Format 3 stores each register as a 4-bit offset from a base (the smallest register), two to a
// byte; offsets of 15 or more are "exceptions" listed after the nibbles with their full rank. Once a
// sketch has seen more users than it has registers, ranks crowd into a window of a dozen values
// above the smallest, so exceptions are rare and the text is a third shorter than format 2's.
const NIBBLE_BYTES = M / 2;
const EXCEPTION = 15;
/** Whether a Uint32Array sees byte 0 as its low byte (every platform Workers run on). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const ALPHA_INF = 1 / (2 * Math.LN2);

// σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1), Ertl 2017 (Algorithm 6).
function sigma(x: number): number {
	if (x === 1) return Infinity;
	let y = 1;
	let z = x;
	let prev: number;
	do {
		x *= x;
		prev = z;
		z += x * y;
		y += y;
	} while (z !== prev);
	return z;
}

// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3, Ertl 2017 (Algorithm 6).
function tau(x: number): number {
	if (x === 0 || x === 1) return 0;
	let y = 1;
	let z = 1 - x;
	let prev: number;
	do {
		x = Math.sqrt(x);
		prev = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z !== prev);
	return z / 3;
}

function corrupt(why: string): never {
	throw new SketchDecodeError(`invalid HLL sketch: ${why}`);
}

/**
 * Small sketches stay sparse in memory: an open-addressing set of (index << 6 | rank) entries,
 * doubled as it fills to half, until it holds SPARSE_MAX registers and turns dense. Most rollup
 * buckets (one event × one dimension value × one minute or hour) see a few dozen users; a dense
 * 16 KiB register array each made allocation, zeroing and encoding dominate building them.
 */
const SPARSE_MAX = 1024;
const SPARSE_INITIAL = 16;

export class Hll {
	/** Dense registers, or null while sparse. */
	private reg: Uint8Array | null;
	/** `words()`'s view of the dense registers, made once. */
	private reg32: Uint32Array | null = null;
	/** Sparse entries (index << 6 | rank; 0 = empty slot), or null once dense. */
	private set: Uint32Array | null;
	/** Entries in `set`. */
	private n = 0;

	private constructor(reg: Uint8Array | null) {
		this.reg = reg;
		this.set = reg ? null : new Uint32Array(SPARSE_INITIAL);
	}

	/** An empty sketch: sparse until it has SPARSE_MAX non-zero registers, then 16 KiB of dense registers. */
	static create(): Hll {
		return new Hll(null);
	}

	/** Parses `encode()` output; throws SketchDecodeError if it is not a valid sketch. */
	static decode(s: string): Hll {
		const h = Hll.create();
		h.mergeEncoded(s);
		return h;
	}

	/** The registers as a dense array, for inspection and tests: do not write to them. */
	get registers(): Uint8Array {
		if (this.reg) return this.reg;
		const out = new Uint8Array(M);
		const set = this.set!;
		for (let s = 0; s < set.length; s++) {
			const e = set[s]!;
			if (e !== 0) out[e >>> 6] = e & 63;
		}
		return out;
	}

	/** The dense registers as 32-bit words (4 registers each), for merging 4 at a time. */
	private words(reg: Uint8Array): Uint32Array {
		return (this.reg32 ??= new Uint32Array(reg.buffer, reg.byteOffset, M / 4));
	}

	/** Switches to dense registers (one way). */
	private densify(): Uint8Array {
		const reg = this.registers;
		this.reg = reg;
		this.set = null;
		this.n = 0;
		return reg;
	}

	/** register[idx] = max(register[idx], rank) on the sparse set; densifies when it holds SPARSE_MAX. */
	private sparseMax(idx: number, rank: number): void {
		let set = this.set!;
		let mask = set.length - 1;
		let s = idx & mask;
		for (;;) {
			const e = set[s]!;
			if (e === 0) break;
			if (e >>> 6 === idx) {
				if (rank > (e & 63)) set[s] = (idx << 6) | rank;
				return;
			}
			s = (s + 1) & mask;
		}
		if (this.n + 1 > SPARSE_MAX) {
			const reg = this.densify();
			if (rank > reg[idx]!) reg[idx] = rank;
			return;
		}
		if (2 * (this.n + 1) > set.length) {
			this.set = set = rehash(set, set.length * 2);
			mask = set.length - 1;
			s = idx & mask;
			while (set[s] !== 0) s = (s + 1) & mask;
		}
		set[s] = (idx << 6) | rank;
		this.n++;
	}

	/** Adds a key given its two hashes: index = h1's low 14 bits, rank = clz32(h2) + 1. */
	addHash(h1: number, h2: number): void {
		const i = h1 & MASK;
		const r = Math.clz32(h2) + 1;
		const reg = this.reg;
		if (reg) {
			if (r > reg[i]!) reg[i] = r;
		} else this.sparseMax(i, r);
	}

	/** Adds a key; equivalent to addHash(hashKey(key), hashKey2(key)). */
	add(key: string): void {
		this.addHash(hashKey(key), hashKey2(key));
	}

	/** Folds `other` in: afterwards this sketch counts the union. */
	merge(other: Hll): void {
		if (other.set) {
			const b = other.set;
			for (let s = 0; s < b.length; s++) {
				const e = b[s]!;
				if (e === 0) continue;
				if (this.reg) {
					if ((e & 63) > this.reg[e >>> 6]!) this.reg[e >>> 6] = e & 63;
				} else this.sparseMax(e >>> 6, e & 63);
			}
			return;
		}
		const a = this.reg ?? this.densify();
		const b = other.reg!;
		if (LITTLE_ENDIAN) {
			// Four registers per step, a per-byte max without a branch each (see mergeNibbles).
			const acc = this.words(a);
			const src = other.words(b);
			for (let k = 0; k < M / 4; k++) acc[k] = maxBytes(acc[k]!, src[k]!);
			return;
		}
		for (let i = 0; i < M; i++) if (b[i]! > a[i]!) a[i] = b[i]!;
	}

	/**
	 * Folds an encoded sketch straight into this one, without building a second register array
	 * (queries merge thousands of buckets). Validates the whole input before touching any register,
	 * so a corrupt sketch throws SketchDecodeError and leaves this one unchanged.
	 */
	mergeEncoded(s: string): void {
		const bytes = decodeBase64(s);
		if (bytes.length === 0) corrupt("empty");
		const format = bytes[0];
		if (format === FORMAT_SPARSE) this.mergeSparse(bytes);
		else if (format === FORMAT_NIBBLES) this.mergeNibbles(bytes);
		else if (format === FORMAT_DENSE) this.mergeDense(bytes);
		else corrupt(`unknown format ${format}`);
	}

	private mergeSparse(bytes: Uint8Array): void {
		const r = new ByteReader(bytes);
		r.pos = 1;
		const count = r.varint();
		if (count > M) corrupt("too many registers");
		const start = r.pos;
		const len = bytes.length;
		// Pass 1 validates, pass 2 applies: a half-merged corrupt sketch would be silently wrong.
		// Index deltas are below 2^14, so their varints are read inline, one or two bytes.
		let idx = 0;
		let p = start;
		for (let k = 0; k < count; k++) {
			if (p + 1 >= len) corrupt("truncated sketch");
			let d = bytes[p++]!;
			if (d >= 0x80) {
				const hi = bytes[p++]!;
				if (hi >= 0x80) corrupt("index out of range");
				if (p >= len) corrupt("truncated sketch");
				d = (d & 0x7f) | (hi << 7);
			}
			if (k > 0 && d === 0) corrupt("indices not increasing");
			idx += d;
			const rank = bytes[p++]!;
			if (idx >= M) corrupt("index out of range");
			if (rank === 0 || rank > Q + 1) corrupt("rank out of range");
		}
		if (p !== len) corrupt("trailing bytes");
		// Going dense once up front beats growing the set entry by entry past its limit.
		const reg = this.reg ?? (this.n + count > SPARSE_MAX ? this.densify() : null);
		p = start;
		idx = 0;
		for (let k = 0; k < count; k++) {
			let d = bytes[p++]!;
			if (d >= 0x80) d = (d & 0x7f) | (bytes[p++]! << 7);
			idx += d;
			const rank = bytes[p++]!;
			if (reg) {
				// max without a branch on the (unpredictable) comparison
				const cur = reg[idx]!;
				const diff = cur - rank;
				reg[idx] = cur - (diff & (diff >> 31));
			} else this.sparseMax(idx, rank);
		}
	}

	private mergeNibbles(bytes: Uint8Array): void {
		if (bytes.length < 3 + NIBBLE_BYTES) corrupt("nibble length");
		const base = bytes[1]!;
		const at = 2;
		const end = at + NIBBLE_BYTES;
		// Pass 1 validates, 8 nibbles at a time: offsets in range (only a base above 19 lets
		// base + 14 pass 33), and one listed exception per EXCEPTION nibble.
		let exceptions = 0;
		for (let j = at; j < end; j += 4) {
			const x = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16) | (bytes[j + 3]! << 24);
			// Bit 0 of each nibble: set when all four of its bits are (the nibble is 15).
			const fifteens = x & (x >>> 1) & (x >>> 2) & (x >>> 3) & 0x11111111;
			if (fifteens !== 0) exceptions += Math.imul(fifteens, 0x11111111) >>> 28;
		}
		if (base + EXCEPTION - 1 > Q + 1) {
			for (let j = at; j < end; j++) {
				const lo = bytes[j]! & 15;
				const hi = bytes[j]! >>> 4;
				if ((lo !== EXCEPTION && base + lo > Q + 1) || (hi !== EXCEPTION && base + hi > Q + 1)) corrupt("rank out of range");
			}
		}
		const r = new ByteReader(bytes);
		r.pos = end;
		const count = r.varint();
		if (count !== exceptions) corrupt("exception count");
		const start = r.pos;
		let idx = 0;
		for (let k = 0; k < count; k++) {
			const d = r.varint();
			if (k > 0 && d === 0) corrupt("indices not increasing");
			idx += d;
			if (idx >= M) corrupt("index out of range");
			const rank = r.byte();
			if (rank < base + EXCEPTION || rank > Q + 1) corrupt("rank out of range");
			if (((bytes[at + (idx >>> 1)]! >>> ((idx & 1) * 4)) & 15) !== EXCEPTION) corrupt("exception without its marker");
		}
		r.end();
		const reg = this.reg ?? this.densify();
		if (LITTLE_ENDIAN) {
			// Pass 2, four registers per step, without a branch per register (merging many
			// sketches, "is this rank larger" is a coin flip the CPU cannot predict):
			// spread 4 nibbles into 4 bytes, zero the exceptions (15), add the base to each byte,
			// then a per-byte max against the accumulator.
			const acc = this.words(reg);
			const baseBytes = Math.imul(base, 0x01010101);
			for (let k = 0, j = at; k < M / 4; k++, j += 2) {
				const x = bytes[j]! | (bytes[j + 1]! << 8);
				const b = (x & 0xf) | ((x & 0xf0) << 4) | ((x & 0xf00) << 8) | ((x & 0xf000) << 12);
				const isException = Math.imul(((b + 0x01010101) & 0x10101010) >>> 4, 0xff);
				acc[k] = maxBytes(acc[k]!, (b + baseBytes) & ~isException);
			}
		} else {
			for (let j = at, i = 0; i < M; j++, i += 2) {
				const lo = bytes[j]! & 15;
				const hi = bytes[j]! >>> 4;
				if (lo !== EXCEPTION && base + lo > reg[i]!) reg[i] = base + lo;
				if (hi !== EXCEPTION && base + hi > reg[i + 1]!) reg[i + 1] = base + hi;
			}
		}
		r.pos = start;
		idx = 0;
		for (let k = 0; k < count; k++) {
			idx += r.varint();
			const rank = r.byte();
			if (rank > reg[idx]!) reg[idx] = rank;
		}
	}

	private mergeDense(bytes: Uint8Array): void {
		if (bytes.length !== DENSE_BYTES) corrupt("dense length");
		for (let j = 1; j < DENSE_BYTES; j += 3) {
			const w = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16);
			if ((w & 63) > Q + 1 || ((w >>> 6) & 63) > Q + 1 || ((w >>> 12) & 63) > Q + 1 || (w >>> 18) > Q + 1) {
				corrupt("rank out of range");
			}
		}
		const reg = this.reg ?? this.densify();
		if (LITTLE_ENDIAN) {
			// As in mergeNibbles: four registers per step, per-byte max without a branch each.
			const acc = this.words(reg);
			for (let k = 0, j = 1; k < M / 4; k++, j += 3) {
				const w = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16);
				acc[k] = maxBytes(acc[k]!, (w & 63) | (((w >>> 6) & 63) << 8) | (((w >>> 12) & 63) << 16) | ((w >>> 18) << 24));
			}
			return;
		}
		for (let i = 0, j = 1; i < M; i += 4, j += 3) {
			const w = bytes[j]! | (bytes[j + 1]! << 8) | (bytes[j + 2]! << 16);
			const r0 = w & 63;
			const r1 = (w >>> 6) & 63;
			const r2 = (w >>> 12) & 63;
			const r3 = w >>> 18;
			if (r0 > reg[i]!) reg[i] = r0;
			if (r1 > reg[i + 1]!) reg[i + 1] = r1;
			if (r2 > reg[i + 2]!) reg[i + 2] = r2;
			if (r3 > reg[i + 3]!) reg[i + 3] = r3;
		}
	}

	isEmpty(): boolean {
		const reg = this.reg;
		if (!reg) return this.n === 0;
		for (let i = 0; i < M; i++) if (reg[i] !== 0) return false;
		return true;
	}

	/**
	 * Distinct-count estimate, rounded. Ertl's improved raw estimator (2017): no bias tables or
	 * linear-counting switch, the relative error stays ≈ 0.81% from 0 to billions, and small
	 * counts come out (nearly) exact.
	 */
	estimate(): number {
		const c = new Float64Array(Q + 2);
		const reg = this.reg;
		if (reg) for (let i = 0; i < M; i++) c[reg[i]!]!++;
		else {
			const set = this.set!;
			for (let s = 0; s < set.length; s++) if (set[s] !== 0) c[set[s]! & 63]!++;
			c[0] = M - this.n;
		}
		if (c[0] === M) return 0;
		let z = M * tau(1 - c[Q + 1]! / M);
		for (let k = Q; k >= 1; k--) z = 0.5 * (z + c[k]!);
		z += M * sigma(c[0]! / M);
		return Math.round((ALPHA_INF * M * M) / z);
	}

	/**
	 * Compact base64 text, the smallest of: format 1 (sparse: varint count, then per non-zero
	 * register in index order varint(index delta) and a rank byte); format 3 (base byte, 4-bit
	 * offsets from it, then the exceptions as a sparse list: about 10.9k characters); format 2
	 * (6-bit packed registers, 16,388 characters; still read, written only when a sketch has
	 * hundreds of exceptions). An empty sketch is "AQA=". The text depends only on the registers,
	 * not on whether they were held sparse or dense.
	 */
	encode(): string {
		if (this.set) {
			// At most SPARSE_MAX entries: the sparse format always wins. Packed entries sort by index.
			const set = this.set;
			const entries = new Uint32Array(this.n);
			for (let s = 0, k = 0; s < set.length; s++) if (set[s] !== 0) entries[k++] = set[s]!;
			return encodeBase64(sparseBytes(entries.sort()));
		}
		const reg = this.reg!;
		let count = 0;
		let base = Q + 1;
		for (let i = 0; i < M; i++) {
			const r = reg[i]!;
			if (r !== 0) count++;
			if (r < base) base = r;
		}
		// The nibble form (format 3): its exceptions, as sparse entries, and its exact size.
		const exceptions: number[] = [];
		for (let i = 0; i < M; i++) if (reg[i]! - base >= EXCEPTION) exceptions.push((i << 6) | reg[i]!);
		const exceptionBytes = entriesBytes(exceptions);
		const nibbleLength = 2 + NIBBLE_BYTES + exceptionBytes.length;
		const denseLength = Math.min(nibbleLength, DENSE_BYTES);
		// Each sparse entry takes at least 2 bytes, so skip the attempt when it cannot win.
		if (2 * count + 3 < denseLength) {
			const entries = new Uint32Array(count);
			for (let i = 0, k = 0; i < M; i++) if (reg[i] !== 0) entries[k++] = (i << 6) | reg[i]!;
			const sparse = sparseBytes(entries);
			if (sparse.length <= denseLength) return encodeBase64(sparse);
		}
		if (nibbleLength <= DENSE_BYTES) {
			const out = new Uint8Array(nibbleLength);
			out[0] = FORMAT_NIBBLES;
			out[1] = base;
			for (let i = 0, j = 2; i < M; i += 2, j++) {
				out[j] = Math.min(reg[i]! - base, EXCEPTION) | (Math.min(reg[i + 1]! - base, EXCEPTION) << 4);
			}
			out.set(exceptionBytes, 2 + NIBBLE_BYTES);
			return encodeBase64(out);
		}
		const out = new Uint8Array(DENSE_BYTES);
		out[0] = FORMAT_DENSE;
		for (let i = 0, j = 1; i < M; i += 4, j += 3) {
			const w = reg[i]! | (reg[i + 1]! << 6) | (reg[i + 2]! << 12) | (reg[i + 3]! << 18);
			out[j] = w & 0xff;
			out[j + 1] = (w >>> 8) & 0xff;
			out[j + 2] = w >>> 16;
		}
		return encodeBase64(out);
	}
}

/**
 * Per-byte maximum of two words of four registers each, without a branch per register (merging
 * many similar sketches, "is this rank larger" is a coin flip the CPU cannot predict). Ranks stay
 * below 128, so no byte borrows from its neighbour.
 */
function maxBytes(a: number, b: number): number {
	const aWins = Math.imul((((a | 0x80808080) - b) & 0x80808080) >>> 7, 0xff);
	return (a & aWins) | (b & ~aWins);
}

/** Register entries (index << 6 | rank, in index order) as a varint count, then per entry varint(index delta) and the rank. */
function entriesBytes(entries: ArrayLike<number>): Uint8Array {
	const w = new ByteWriter(3 + 3 * entries.length);
	w.varint(entries.length);
	let prev = 0;
	for (let k = 0; k < entries.length; k++) {
		const i = entries[k]! >>> 6;
		w.varint(i - prev);
		w.byte(entries[k]! & 63);
		prev = i;
	}
	return w.bytes();
}

/** Format 1: the format byte, then the non-zero registers as entries. */
function sparseBytes(entries: Uint32Array): Uint8Array {
	const body = entriesBytes(entries);
	const out = new Uint8Array(1 + body.length);
	out[0] = FORMAT_SPARSE;
	out.set(body, 1);
	return out;
}

/** The sparse set's entries in a new, larger table (`size` a power of two). */
function rehash(set: Uint32Array, size: number): Uint32Array {
	const out = new Uint32Array(size);
	const mask = size - 1;
	for (let s = 0; s < set.length; s++) {
		const e = set[s]!;
		if (e === 0) continue;
		let t = (e >>> 6) & mask;
		while (out[t] !== 0) t = (t + 1) & mask;
		out[t] = e;
	}
	return out;
}
