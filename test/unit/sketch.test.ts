import { describe, expect, it } from "vitest";
import { ByteReader, ByteWriter, decodeBase64, decodeBase64Js, encodeBase64, encodeBase64Js } from "../../workers/sketch/codec";
import { NumStats } from "../../workers/sketch/ddsketch";
import { hashKey, hashKey2 } from "../../workers/sketch/hash";
import { HLL_P, HLL_STANDARD_ERROR, Hll } from "../../workers/sketch/hll";

// mulberry32: tiny seeded PRNG so every run sees the same data.
function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) | 0;
		let t = Math.imul(a ^ (a >>> 15), 1 | a);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return (t ^ (t >>> 14)) >>> 0;
	};
}
const uniform = (next: () => number) => () => next() / 4294967296;
function gaussian(seed: number): () => number {
	const u = uniform(prng(seed));
	return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

// A sketch fed `n` distinct random keys (some added twice), and the true distinct count from a Set.
function feed(n: number, seed: number): { hll: Hll; keys: string[]; truth: number } {
	const next = prng(seed);
	const seen = new Set<number>();
	const hll = Hll.create();
	const keys: string[] = [];
	while (seen.size < n) {
		const id = next();
		seen.add(id);
		const key = `user-${id.toString(36)}`;
		hll.add(key);
		if (n <= 50_000) keys.push(key);
		if ((id & 7) === 0) hll.add(key);
	}
	return { hll, keys, truth: seen.size };
}

const copy = (h: Hll) => Hll.decode(h.encode());

/** Format 2 text (6-bit packed registers, four in three bytes), by the test's own packer. */
function pack6(reg: Uint8Array): string {
	const out = new Uint8Array(1 + 12288);
	out[0] = 2;
	for (let i = 0, j = 1; i < 16384; i += 4, j += 3) {
		const w = reg[i]! | (reg[i + 1]! << 6) | (reg[i + 2]! << 12) | (reg[i + 3]! << 18);
		out.set([w & 255, (w >>> 8) & 255, w >>> 16], j);
	}
	return encodeBase64(out);
}

/** Hand-made format 3 text: `offsets` (register index → nibble; others 0) from `base`, then the listed exceptions [index, rank]. */
function nibbles(base: number, offsets: Record<number, number>, exceptions: [number, number][]): string {
	const body = new Uint8Array(8192);
	for (const [i, v] of Object.entries(offsets)) body[Number(i) >> 1] = body[Number(i) >> 1]! | (v << ((Number(i) & 1) * 4));
	const w = new ByteWriter();
	w.varint(exceptions.length);
	let prev = 0;
	for (const [i, r] of exceptions) {
		w.varint(i - prev);
		w.byte(r);
		prev = i;
	}
	return encodeBase64(Uint8Array.of(3, base, ...body, ...w.bytes()));
}
const formatOf = (encoded: string) => decodeBase64(encoded)[0];

describe("codec", () => {
	it("round-trips varints, zigzag varints and float64s", () => {
		const w = new ByteWriter(1);
		const unsigned = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1];
		const signed = [0, -1, 1, -64, 64, -37_221, 35_488, -(2 ** 40)];
		const floats = [0, -0.5, Math.PI, Number.MAX_VALUE, Number.MIN_VALUE, -1e-300];
		for (const n of unsigned) w.varint(n);
		for (const n of signed) w.svarint(n);
		for (const x of floats) w.float64(x);
		const r = new ByteReader(w.bytes());
		expect(unsigned.map(() => r.varint())).toEqual(unsigned);
		expect(signed.map(() => r.svarint())).toEqual(signed);
		expect(floats.map(() => r.float64())).toEqual(floats);
		expect(() => r.end()).not.toThrow();
		expect(() => r.byte()).toThrow(Error);
		expect(() => new ByteWriter().varint(-1)).toThrow(RangeError);
	});

	it("encodes base64 exactly like btoa and decodes it back", () => {
		const next = prng(7);
		for (let len = 0; len < 70; len++) {
			const bytes = new Uint8Array(len).map(() => next() & 0xff);
			const expected = btoa(String.fromCharCode(...bytes));
			// The runtime's base64 (used when present, as in workerd) and the JavaScript fallback agree.
			for (const [enc, dec] of [[encodeBase64, decodeBase64], [encodeBase64Js, decodeBase64Js]] as const) {
				expect(enc(bytes)).toBe(expected);
				expect(dec(expected)).toEqual(bytes);
			}
		}
		for (const bad of ["A", "AB=", "A===", "AB*D", "ABC\u0100", "=AAA", "AB C", " ABC"])
			for (const dec of [decodeBase64, decodeBase64Js]) expect(() => dec(bad), bad).toThrow(Error);
	});
});

describe("hash", () => {
	it("gives two different well-spread 32-bit hashes", () => {
		const lowBits = new Uint32Array(16);
		let outOfRange = 0;
		let equal = 0;
		for (let i = 0; i < 16_000; i++) {
			const h1 = hashKey(`k${i}`);
			const h2 = hashKey2(`k${i}`);
			if (!Number.isInteger(h1) || h1 < 0 || h1 >= 2 ** 32 || h2 < 0 || h2 >= 2 ** 32) outOfRange++;
			if (h1 === h2) equal++;
			lowBits[h1 & 15]!++;
		}
		expect([outOfRange, equal]).toEqual([0, 0]);
		// Each of 16 buckets expects 1000; 5 sigma is ±150.
		for (const c of lowBits) expect(Math.abs(c - 1000)).toBeLessThan(150);
		expect(hashKey("é漢")).not.toBe(hashKey("e漢"));
		expect(hashKey("ab")).not.toBe(hashKey("ba"));
	});
});

describe("Hll", () => {
	it("has p = 14 and a 0.81% standard error", () => {
		expect(HLL_P).toBe(14);
		expect(HLL_STANDARD_ERROR).toBeCloseTo(0.008125, 6);
		expect(Hll.create().registers).toHaveLength(16384);
	});

	it.each([0, 1, 10, 1000, 50_000, 1_000_000])("estimates %i distinct keys within 3 standard errors", (n) => {
		const { hll, truth } = feed(n, 1000 + n);
		expect(truth).toBe(n);
		const est = hll.estimate();
		if (truth <= 10) expect(Math.abs(est - truth)).toBeLessThanOrEqual(1);
		else expect(Math.abs(est - truth)).toBeLessThanOrEqual(3 * HLL_STANDARD_ERROR * truth);
		expect(hll.isEmpty()).toBe(truth === 0);
	}, 30_000);

	it("is exact for small sets", () => {
		for (const n of [1, 2, 3, 5, 10]) expect(feed(n, n).hll.estimate()).toBe(n);
	});

	it("ignores duplicates", () => {
		const { hll, keys } = feed(1000, 3);
		const before = hll.estimate();
		const registers = hll.registers.slice();
		for (const k of keys) hll.add(k);
		for (const k of keys.slice(0, 100)) hll.add(k);
		expect(hll.registers).toEqual(registers);
		expect(hll.estimate()).toBe(before);
	});

	it("merges to exactly the sketch of the union; commutative and idempotent", () => {
		const a = feed(30_000, 11);
		const b = feed(20_000, 12);
		const union = Hll.create();
		for (const k of [...a.keys, ...b.keys]) union.add(k);
		const truth = new Set([...a.keys, ...b.keys]).size;

		const ab = copy(a.hll);
		ab.merge(b.hll);
		const ba = copy(b.hll);
		ba.merge(a.hll);
		expect(ab.registers).toEqual(union.registers);
		expect(ba.registers).toEqual(ab.registers);
		expect(ab.estimate()).toBe(union.estimate());
		expect(Math.abs(ab.estimate() - truth)).toBeLessThanOrEqual(3 * HLL_STANDARD_ERROR * truth);

		const aa = copy(a.hll);
		aa.merge(a.hll);
		aa.mergeEncoded(a.hll.encode());
		expect(aa.registers).toEqual(a.hll.registers);
	});

	it("mergeEncoded equals merge(decode) for sparse, nibble and 6-bit dense input", () => {
		const base = feed(2000, 21).hll;
		const texts: [string, number][] = [
			[feed(300, 322).hll.encode(), 1],
			[feed(40_000, 40_022).hll.encode(), 3],
			// Format 2 is still read (rows written before format 3); built here by the test's own packer.
			[pack6(feed(40_000, 40_023).hll.registers), 2],
		];
		for (const [encoded, format] of texts) {
			expect(formatOf(encoded)).toBe(format);
			const viaDecode = copy(base);
			viaDecode.merge(Hll.decode(encoded));
			const direct = copy(base);
			direct.mergeEncoded(encoded);
			expect(direct.registers).toEqual(viaDecode.registers);
			const union = base.registers.map((r, i) => Math.max(r, Hll.decode(encoded).registers[i]!));
			expect(direct.registers).toEqual(union);
		}
	});

	it("round-trips sparse and dense encodings with identical registers", () => {
		const empty = Hll.create().encode();
		expect(empty.length).toBeLessThanOrEqual(8);
		expect(Hll.decode(empty).isEmpty()).toBe(true);
		for (const n of [1, 500, 3000, 6000, 50_000]) {
			const { hll } = feed(n, 31 + n);
			const encoded = hll.encode();
			const back = Hll.decode(encoded);
			expect(back.registers).toEqual(hll.registers);
			expect(back.encode()).toBe(encoded);
			// Whichever form is smaller: sparse for few registers, 4-bit offsets (~10.9k chars) otherwise.
			expect(encoded.length).toBeLessThan(11_000);
			if (n <= 3000) expect(formatOf(encoded)).toBe(1);
			if (n >= 50_000) expect(formatOf(encoded)).toBe(3);
			// A 6-bit dense copy of the same registers decodes to them and re-encodes to the same text.
			expect(Hll.decode(pack6(hll.registers)).encode()).toBe(encoded);
		}
	});

	it("keeps ranks 15 or more above the smallest register as exceptions", () => {
		// Every register at 5 or more, a few far above: index 0, 1 and the last hold 20, 33 and 31.
		const reg = new Uint8Array(16384);
		for (let i = 0; i < reg.length; i++) reg[i] = 5 + (i % 9);
		reg[0] = 20;
		reg[1] = 33;
		reg[16383] = 31;
		reg[7000] = 19; // offset 14: the largest that fits a nibble
		const h = Hll.decode(pack6(reg));
		const text = h.encode();
		expect(formatOf(text)).toBe(3);
		const bytes = decodeBase64(text);
		expect(bytes[1]).toBe(5); // the base
		expect(bytes.length).toBe(2 + 8192 + 1 + 3 * 2 + 1); // 3 exceptions: deltas 0, 1 (1 byte) and 16382 (2 bytes)
		expect(Hll.decode(text).registers).toEqual(reg);
		// Merged into a sketch holding other registers, exceptions and offsets both take the max.
		const other = Hll.decode(pack6(reg.map((r, i) => (i % 2 ? 6 : 25))));
		other.mergeEncoded(text);
		expect(other.registers).toEqual(reg.map((r, i) => Math.max(r, i % 2 ? 6 : 25)));
		// Hundreds of exceptions make the nibble form longer than 6-bit packing: format 2 is written.
		const wide = reg.map((r, i) => (i % 3 === 0 ? 33 : 1));
		expect(formatOf(Hll.decode(pack6(wide)).encode())).toBe(2);
		expect(Hll.decode(Hll.decode(pack6(wide)).encode()).registers).toEqual(wide);
	});

	it("holds registers the same whether sparse or dense, across the sparse limit (1,024 registers)", () => {
		// An independent register model: index = low 14 bits of hashKey, rank = clz32(hashKey2) + 1.
		const model = (keys: string[]) => {
			const reg = new Uint8Array(16384);
			for (const k of keys) reg[hashKey(k) & 16383] = Math.max(reg[hashKey(k) & 16383]!, Math.clz32(hashKey2(k)) + 1);
			return reg;
		};
		// A dense sketch with every register 0: merging into it converts a sketch to dense form.
		const denseZero = encodeBase64(Uint8Array.of(2, ...new Uint8Array(12288)));
		expect(Hll.decode(denseZero).isEmpty()).toBe(true);
		for (const n of [0, 1, 700, 1000, 1030, 1100, 1500, 3000, 20_000]) {
			const { hll, keys } = feed(n, 51 + n);
			const nonZero = model(keys).filter((r) => r !== 0).length;
			expect(hll.registers, `n=${n}`).toEqual(model(keys));
			const dense = Hll.decode(denseZero);
			dense.merge(hll);
			expect(dense.registers).toEqual(hll.registers);
			expect(dense.encode(), `n=${n}`).toBe(hll.encode());
			expect(dense.estimate()).toBe(hll.estimate());
			expect(dense.isEmpty()).toBe(n === 0);
			// Halves merged sparse-first and dense-first, as objects and as text, meet at the same registers.
			const half = Math.floor(keys.length / 2);
			const a = Hll.create();
			for (const k of keys.slice(0, half)) a.add(k);
			const b = Hll.create();
			for (const k of keys.slice(half)) b.add(k);
			const ab = copy(a);
			ab.merge(b);
			const ba = Hll.decode(b.encode());
			ba.mergeEncoded(a.encode());
			const toDense = Hll.decode(denseZero);
			toDense.mergeEncoded(a.encode());
			toDense.merge(b);
			for (const m of [ab, ba, toDense]) {
				expect(m.registers, `n=${n}`).toEqual(hll.registers);
				expect(m.encode()).toBe(hll.encode());
			}
			if (nonZero > 0 && nonZero <= 3000) expect(formatOf(hll.encode())).toBe(1);
		}
	});

	it("merges dense texts to the register-wise maximum (random registers, every rank 0-33)", () => {
		const next = uniform(prng(77));
		for (let round = 0; round < 6; round++) {
			// Narrow windows (nibble form, few exceptions) and the full range (6-bit form).
			const lo = Math.floor(next() * 20);
			const width = round % 2 ? 34 - lo : 12;
			const make = () => Uint8Array.from({ length: 16384 }, () => Math.min(33, lo + Math.floor(next() * width)));
			const a = make();
			const b = make();
			const max = a.map((x, i) => Math.max(x, b[i]!));
			for (const text of [pack6(b), Hll.decode(pack6(b)).encode()]) {
				const h = Hll.decode(pack6(a));
				h.mergeEncoded(text);
				expect(h.registers).toEqual(max);
			}
		}
	});

	it("rejects garbage with an Error and leaves the target untouched", () => {
		const target = feed(100, 41).hll;
		const before = target.registers.slice();
		const valid = feed(500, 42).hll.encode();
		// The hand-made nibble text below is valid when its parts agree: register 0 at 25, the rest at 5.
		const made = Hll.decode(nibbles(5, { 0: 15 }, [[0, 25]])).registers;
		expect([made[0], made[1], made[16383]]).toEqual([25, 5, 5]);
		const garbage = [
			"",
			"not base64!",
			"AAAA",
			btoa("\u0001\u0001\u0000"), // one sparse entry missing its rank byte
			btoa("\u0001\u0001\u0005\u0000"), // rank 0
			btoa("\u0001\u0002\u0005\u0001\u0000\u0001"), // indices not increasing
			btoa("\u0001\u0001\u0081\u0001"), // a two-byte index delta, then no rank byte
			btoa("\u0001\u0001\u0080\u0080\u0001\u0001"), // a three-byte index delta (past 2^14)
			btoa("\u0002abc"), // dense but short
			btoa("\u0003\u0000abc"), // nibbles but short
			nibbles(30, { 5: 4 }, []), // base 30 + offset 4 > 33
			nibbles(0, { 0: 15 }, []), // an exception nibble with no exception listed
			nibbles(5, { 0: 15, 1: 15 }, [[0, 21]]), // two exception nibbles, one listed
			nibbles(5, { 0: 15 }, [[0, 19]]), // exception rank 19 < base + 15
			nibbles(5, { 0: 3, 1: 15 }, [[0, 30]]), // the listed exception's nibble is not 15
			nibbles(5, { 0: 15 }, [[0, 34]]), // exception rank above 33
			valid.slice(0, valid.length - 8),
			NumStats.create().encode(),
		];
		for (const s of garbage) {
			expect(() => Hll.decode(s), s).toThrow(Error);
			expect(() => target.mergeEncoded(s), s).toThrow(Error);
		}
		expect(target.registers).toEqual(before);
	});
});

interface Dataset {
	name: string;
	values: number[];
}

function datasets(n: number): Dataset[] {
	const g = gaussian(5);
	const u = uniform(prng(6));
	const mixed = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 0 : g() * 50));
	return [
		{ name: "lognormal", values: Array.from({ length: n }, () => Math.exp(3 + 1.5 * g())) },
		{ name: "uniform", values: Array.from({ length: n }, () => u() * 1000) },
		{ name: "negative", values: Array.from({ length: n }, () => -Math.exp(2 + g())) },
		{ name: "mixed-sign", values: mixed },
		{ name: "constant", values: Array.from({ length: n }, () => 42.5) },
		{ name: "wide", values: Array.from({ length: n }, () => (u() < 0.5 ? -1 : 1) * 10 ** (u() * 400 - 200)) },
	];
}

const QUANTILES = [0, 0.5, 0.9, 0.95, 0.99, 1];

function sketchOf(values: number[]): NumStats {
	const s = NumStats.create();
	for (const v of values) s.add(v);
	return s;
}

const quantiles = (s: NumStats) => QUANTILES.map((q) => s.quantile(q));

describe("NumStats", () => {
	const data = datasets(100_000);

	it.each(data)("$name: quantiles within 1% of the exact order statistic; count/sum/min/max exact", ({ values }) => {
		const s = sketchOf(values);
		const sorted = Float64Array.from(values).sort();
		let naive = 0;
		let magnitude = 0;
		for (const v of values) {
			naive += v;
			magnitude += Math.abs(v);
		}
		expect(s.count).toBe(values.length);
		expect(s.min).toBe(sorted[0]);
		expect(s.max).toBe(sorted[sorted.length - 1]);
		expect(Math.abs(s.sum - naive)).toBeLessThanOrEqual(1e-9 * magnitude);
		for (const q of QUANTILES) {
			const exact = sorted[Math.floor(q * (values.length - 1))]!;
			const got = s.quantile(q)!;
			if (exact === 0) expect(got, `q=${q}`).toBe(0);
			else expect(Math.abs(got - exact) / Math.abs(exact), `q=${q}`).toBeLessThanOrEqual(0.01 + 1e-12);
		}
	});

	it.each(data)("$name: merging halves, any order, equals one sketch of all", ({ values }) => {
		const all = sketchOf(values);
		const half = values.length >> 1;
		const a = sketchOf(values.slice(0, half));
		const b = sketchOf(values.slice(half));
		const ab = NumStats.decode(a.encode());
		ab.merge(b);
		const ba = NumStats.decode(b.encode());
		ba.mergeEncoded(a.encode());
		const reversed = sketchOf([...values].reverse());
		for (const m of [ab, ba, reversed]) {
			expect(quantiles(m)).toEqual(quantiles(all));
			expect(m.count).toBe(all.count);
			expect(m.min).toBe(all.min);
			expect(m.max).toBe(all.max);
			expect(m.sum).toBe(all.sum);
		}
	});

	it.each(data)("$name: encode/decode round trip", ({ values }) => {
		const s = sketchOf(values);
		const encoded = s.encode();
		const back = NumStats.decode(encoded);
		expect(quantiles(back)).toEqual(quantiles(s));
		expect([back.count, back.sum, back.min, back.max]).toEqual([s.count, s.sum, s.min, s.max]);
		expect(back.encode()).toBe(encoded);
		const direct = NumStats.create();
		direct.mergeEncoded(encoded);
		expect(direct.encode()).toBe(encoded);
	});

	it("is empty until a finite value arrives", () => {
		const s = NumStats.create();
		expect([s.count, s.sum, s.min, s.max, s.quantile(0.5)]).toEqual([0, 0, null, null, null]);
		expect(s.encode().length).toBeLessThanOrEqual(8);
		expect(NumStats.decode(s.encode()).quantile(0.99)).toBeNull();
		s.add(Number.NaN);
		s.add(Infinity);
		s.add(-Infinity);
		expect(s.count).toBe(0);
		s.add(-0);
		expect([s.count, s.min, s.max, s.quantile(0.5)]).toEqual([1, 0, 0, 0]);
		expect(Object.is(s.min, 0)).toBe(true);
		expect(() => s.quantile(1.5)).toThrow(RangeError);
	});

	it("small sets: quantiles follow the floor(q·(n−1)) rank", () => {
		const s = sketchOf([5, 1, 100, 20]);
		// sorted 1, 5, 20, 100: q=0.5 → rank 1, q=0.9 → rank 2, q=1 → rank 3
		expect(s.quantile(0)).toBe(1);
		expect(Math.abs(s.quantile(0.5)! - 5) / 5).toBeLessThanOrEqual(0.01);
		expect(Math.abs(s.quantile(0.9)! - 20) / 20).toBeLessThanOrEqual(0.01);
		expect(s.quantile(1)).toBe(100);
		expect(s.sum).toBe(126);
	});

	it("compensates the sum so order matters less", () => {
		const values = [1e16, 1, -1e16, 1, 3.5, 1e-3];
		let naive = 0;
		for (const v of values) naive += v;
		expect(naive).toBe(4.501); // one of the 1s is lost against 1e16
		expect(sketchOf(values).sum).toBeCloseTo(5.501, 12);
		expect(sketchOf([...values].reverse()).sum).toBeCloseTo(5.501, 12);
	});

	it("rejects garbage with an Error and leaves the target untouched", () => {
		const target = sketchOf([1, 2, 3, -4, 0]);
		const before = target.encode();
		const valid = sketchOf(data[0]!.values.slice(0, 1000)).encode();
		const bytes = decodeBase64(valid);
		const tampered = bytes.slice();
		tampered[1] = tampered[1]! ^ 1; // count no longer matches the bins
		const garbage = [
			"",
			"%%%%",
			"AAAA",
			btoa("\u0001"),
			valid.slice(0, valid.length - 8),
			encodeBase64(bytes.subarray(0, bytes.length - 1)),
			encodeBase64(tampered),
			Hll.create().encode(),
			feed(50, 1).hll.encode(),
		];
		for (const s of garbage) {
			expect(() => NumStats.decode(s), s).toThrow(Error);
			expect(() => target.mergeEncoded(s), s).toThrow(Error);
		}
		expect(target.encode()).toBe(before);
	});
});

describe("NumStats.histogram", () => {
	it("counts integer values on the edges exactly (CSAT scores 1-5)", () => {
		const s = NumStats.create();
		const want = [0, 7, 3, 11, 20, 40];
		for (let v = 1; v <= 5; v++) for (let k = 0; k < want[v]!; k++) s.add(v);
		expect(s.histogram([1, 2, 3, 4, 5])).toEqual(want);
		expect(s.histogram([2, 4])).toEqual([7, 14, 60]);
	});

	it("counts values at least 2% from every edge exactly, negatives and zero included", () => {
		const r = prng(5);
		const edges = [-100, -10, 0, 0.5, 10, 1000];
		const s = NumStats.create();
		const want = new Array(edges.length + 1).fill(0);
		for (let i = 0; i < 5000; i++) {
			const v = (r() - 0.3) * 2000 * r() ** 3;
			if (edges.some((e) => Math.abs(v - e) <= Math.max(Math.abs(e) * 0.02, 1e-9)) && v !== 0) continue;
			s.add(v);
			want[edges.filter((e) => v >= e).length]++;
		}
		s.add(0);
		want[edges.filter((e) => 0 >= e).length]++;
		expect(s.histogram(edges)).toEqual(want);
		expect(s.histogram(edges).reduce((a, b) => a + b, 0)).toBe(s.count);
	});
});
