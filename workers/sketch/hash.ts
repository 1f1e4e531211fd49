// MurmurHash3 (x86, 32-bit) over the string's UTF-16 code units, two per 32-bit block. Hashing code
// units directly skips UTF-8 encoding (TextEncoder would allocate per event); the hash is only ever
// compared with itself, so it needn't match byte-oriented murmur implementations.
//
// NOTE: these values are persisted inside encoded HLL sketches. Changing the seeds or the block
// layout silently breaks merging with every sketch already stored.

const SEED_1 = 0x9747b28c;
const SEED_2 = 0x3c6ef372;

function murmur3(s: string, seed: number): number {
	const n = s.length;
	const pairs = n & ~1;
	let h = seed;
	let i = 0;
	for (; i < pairs; i += 2) {
		let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
		k = Math.imul(k, 0xcc9e2d51);
		k = (k << 15) | (k >>> 17);
		k = Math.imul(k, 0x1b873593);
		h ^= k;
		h = (h << 13) | (h >>> 19);
		h = (Math.imul(h, 5) + 0xe6546b64) | 0;
	}
	if (i < n) {
		let k = s.charCodeAt(i);
		k = Math.imul(k, 0xcc9e2d51);
		k = (k << 15) | (k >>> 17);
		k = Math.imul(k, 0x1b873593);
		h ^= k;
	}
	// Length in bytes, as murmur3 mixes it in.
	h ^= n << 1;
	h ^= h >>> 16;
	h = Math.imul(h, 0x85ebca6b);
	h ^= h >>> 13;
	h = Math.imul(h, 0xc2b2ae35);
	h ^= h >>> 16;
	return h >>> 0;
}

/** Well-mixed unsigned 32-bit hash of `s` (murmur3_32 over UTF-16 code units, seed 1). */
export function hashKey(s: string): number {
	return murmur3(s, SEED_1);
}

/**
 * A second unsigned 32-bit hash of `s`, independent of `hashKey` for practical purposes (same
 * function, different seed): HLL takes the register index from one and the rank from the other.
 */
export function hashKey2(s: string): number {
	return murmur3(s, SEED_2);
}
