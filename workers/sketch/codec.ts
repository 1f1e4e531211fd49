// Byte-level helpers shared by the sketches. Pure TypeScript: Workers have no Buffer, and btoa/atob
// work on "binary strings", which would cost a copy per byte on the query hot path.

/** Thrown when an encoded sketch is malformed; callers catch it and treat the sketch as unreadable. */
export class SketchDecodeError extends Error {
	override name = "SketchDecodeError";
}

/** Appends bytes to a buffer that doubles when full. */
export class ByteWriter {
	private buf: Uint8Array;
	private view: DataView;
	private len = 0;

	constructor(initialSize = 64) {
		this.buf = new Uint8Array(Math.max(initialSize, 16));
		this.view = new DataView(this.buf.buffer);
	}

	get length(): number {
		return this.len;
	}

	private ensure(n: number): void {
		if (this.len + n <= this.buf.length) return;
		let size = this.buf.length * 2;
		while (size < this.len + n) size *= 2;
		const next = new Uint8Array(size);
		next.set(this.buf.subarray(0, this.len));
		this.buf = next;
		this.view = new DataView(next.buffer);
	}

	byte(b: number): void {
		this.ensure(1);
		this.buf[this.len++] = b;
	}

	/** Unsigned LEB128 of an integer in [0, 2^53). */
	varint(n: number): void {
		if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) throw new RangeError(`varint out of range: ${n}`);
		this.ensure(8);
		const buf = this.buf;
		let i = this.len;
		// Above 2^31 the bit operators would truncate, so peel 7 bits at a time arithmetically first.
		while (n >= 0x80000000) {
			buf[i++] = (n % 128) | 0x80;
			n = Math.floor(n / 128);
		}
		while (n >= 0x80) {
			buf[i++] = (n & 0x7f) | 0x80;
			n >>>= 7;
		}
		buf[i++] = n;
		this.len = i;
	}

	/** Signed integer as zigzag + varint, so small negative numbers stay short. */
	svarint(n: number): void {
		this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
	}

	float64(x: number): void {
		this.ensure(8);
		this.view.setFloat64(this.len, x, true);
		this.len += 8;
	}

	/** The bytes written so far (a view: copy it before writing more if you keep it). */
	bytes(): Uint8Array {
		return this.buf.subarray(0, this.len);
	}
}

/** Reads what ByteWriter wrote; every read past the end throws SketchDecodeError. */
export class ByteReader {
	pos = 0;
	private readonly view: DataView;

	constructor(private readonly buf: Uint8Array) {
		this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
	}

	get remaining(): number {
		return this.buf.length - this.pos;
	}

	byte(): number {
		if (this.pos >= this.buf.length) throw new SketchDecodeError("truncated sketch");
		return this.buf[this.pos++]!;
	}

	varint(): number {
		const buf = this.buf;
		let result = 0;
		let shift = 0;
		// 8 bytes carry 56 bits; anything longer cannot be a safe integer.
		for (let i = 0; i < 8; i++) {
			if (this.pos >= buf.length) throw new SketchDecodeError("truncated varint");
			const b = buf[this.pos++]!;
			result += shift < 28 ? (b & 0x7f) << shift : (b & 0x7f) * 2 ** shift;
			if (b < 0x80) {
				if (result > Number.MAX_SAFE_INTEGER) break;
				return result;
			}
			shift += 7;
		}
		throw new SketchDecodeError("varint too long");
	}

	svarint(): number {
		const z = this.varint();
		return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
	}

	float64(): number {
		if (this.pos + 8 > this.buf.length) throw new SketchDecodeError("truncated float64");
		const x = this.view.getFloat64(this.pos, true);
		this.pos += 8;
		return x;
	}

	/** Throws unless every byte was consumed: trailing bytes mean the input is not what we wrote. */
	end(): void {
		if (this.pos !== this.buf.length) throw new SketchDecodeError("trailing bytes in sketch");
	}
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENC = new Uint8Array(64);
const DEC = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
	const c = ALPHABET.charCodeAt(i);
	ENC[i] = c;
	DEC[c] = i;
}
const PAD = 61; // "="
// Output is pure ASCII, so UTF-8 decoding is the identity and far faster than String.fromCharCode per char.
const ascii = new TextDecoder();

// The runtime's own base64 (workerd: Uint8Array.fromBase64 / toBase64) is about 20x faster than
// the JavaScript below on a 16 KB sketch (3.5 vs 72 µs to decode, measured in the Workers pool);
// queries decode thousands of sketches. The JavaScript versions serve runtimes without it (Node 22).
const native = Uint8Array as unknown as { fromBase64?: (s: string, o: { lastChunkHandling: "strict" }) => Uint8Array };
const nativeTo = (Uint8Array.prototype as unknown as { toBase64?: () => string }).toBase64;

/** Standard base64 (with padding) of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
	return nativeTo ? nativeTo.call(bytes) : encodeBase64Js(bytes);
}

/** Decodes standard padded base64; throws SketchDecodeError on any other input. */
export function decodeBase64(s: string): Uint8Array {
	if (!native.fromBase64) return decodeBase64Js(s);
	// Strict: padding required, no stray bits; whitespace (which it would skip) cannot keep the length a multiple of 4 and a valid sketch.
	if (s.length % 4 !== 0) throw new SketchDecodeError("base64 length is not a multiple of 4");
	try {
		return native.fromBase64(s, { lastChunkHandling: "strict" });
	} catch {
		throw new SketchDecodeError("invalid base64");
	}
}

/** encodeBase64 in JavaScript. */
export function encodeBase64Js(bytes: Uint8Array): string {
	const n = bytes.length;
	const out = new Uint8Array(Math.ceil(n / 3) * 4);
	const full = n - (n % 3);
	let j = 0;
	for (let i = 0; i < full; i += 3) {
		const w = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
		out[j] = ENC[w >>> 18]!;
		out[j + 1] = ENC[(w >>> 12) & 63]!;
		out[j + 2] = ENC[(w >>> 6) & 63]!;
		out[j + 3] = ENC[w & 63]!;
		j += 4;
	}
	if (n - full === 1) {
		const w = bytes[full]! << 16;
		out[j] = ENC[w >>> 18]!;
		out[j + 1] = ENC[(w >>> 12) & 63]!;
		out[j + 2] = PAD;
		out[j + 3] = PAD;
	} else if (n - full === 2) {
		const w = (bytes[full]! << 16) | (bytes[full + 1]! << 8);
		out[j] = ENC[w >>> 18]!;
		out[j + 1] = ENC[(w >>> 12) & 63]!;
		out[j + 2] = ENC[(w >>> 6) & 63]!;
		out[j + 3] = PAD;
	}
	return ascii.decode(out);
}

function dec(s: string, i: number): number {
	const c = s.charCodeAt(i);
	return c < 256 ? DEC[c]! : -1;
}

/** decodeBase64 in JavaScript. */
export function decodeBase64Js(s: string): Uint8Array {
	const n = s.length;
	if (n % 4 !== 0) throw new SketchDecodeError("base64 length is not a multiple of 4");
	if (n === 0) return new Uint8Array(0);
	const pad = s.charCodeAt(n - 1) === PAD ? (s.charCodeAt(n - 2) === PAD ? 2 : 1) : 0;
	const out = new Uint8Array((n / 4) * 3 - pad);
	const full = pad ? n - 4 : n;
	let j = 0;
	for (let i = 0; i < full; i += 4) {
		const a = dec(s, i);
		const b = dec(s, i + 1);
		const c = dec(s, i + 2);
		const d = dec(s, i + 3);
		// One check per quad: any invalid character is -1, which makes the OR negative.
		if ((a | b | c | d) < 0) throw new SketchDecodeError("invalid base64 character");
		const w = (a << 18) | (b << 12) | (c << 6) | d;
		out[j] = w >>> 16;
		out[j + 1] = (w >>> 8) & 0xff;
		out[j + 2] = w & 0xff;
		j += 3;
	}
	if (pad) {
		const a = dec(s, full);
		const b = dec(s, full + 1);
		const c = pad === 1 ? dec(s, full + 2) : 0;
		if ((a | b | c) < 0) throw new SketchDecodeError("invalid base64 character");
		const w = (a << 18) | (b << 12) | (c << 6);
		out[j] = w >>> 16;
		if (pad === 1) out[j + 1] = (w >>> 8) & 0xff;
	}
	return out;
}
