// pako 1.x (the zlib port pdf-lib also uses) ships no types: the part the XLSX writer uses.
declare module "pako" {
	export class Deflate {
		constructor(options?: { level?: number; raw?: boolean });
		/** mode: false = no flush, true = finish, 2 = Z_SYNC_FLUSH (a byte boundary; the stream can be continued by another compressor). */
		push(data: Uint8Array, mode?: boolean | number): boolean;
		onData: (chunk: Uint8Array) => void;
		err: number;
		msg: string;
	}
	export function deflateRaw(data: Uint8Array, options?: { level?: number }): Uint8Array;
	export function ungzip(data: Uint8Array): Uint8Array;
	export const constants: { Z_SYNC_FLUSH: number };
}
