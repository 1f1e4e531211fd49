import { type ByteSink, concat } from "./table";

/**
 * R2 multipart parts: every part but the last must be the same size, at least 5 MiB (R2's rule, which
 * local R2 enforces too). The smallest allowed keeps an export's memory smallest: at most one part
 * waiting plus one batch being encoded.
 */
export const PART_BYTES = 5 * 1024 * 1024;

export interface UploadState {
	uploadId: string | null;
	parts: R2UploadedPart[];
}

/**
 * The file being written: bytes are cut into equal parts and uploaded as they fill; what is left
 * over (less than a part) is the `carry`, saved at a checkpoint so the next run starts from it.
 * Nothing is visible at the file's key until `complete()`: a multipart upload is invisible until
 * it is completed, and completing it is atomic.
 */
export class PartSink implements ByteSink {
	private chunks: Uint8Array[] = [];
	private pendingLen = 0;
	private upload: R2MultipartUpload | null = null;
	readonly state: UploadState;
	private uploadedBytes: number;

	constructor(
		private readonly bucket: R2Bucket,
		private readonly key: string,
		private readonly options: R2MultipartOptions,
		state: UploadState,
		carry: Uint8Array | null,
		/** Called when a multipart upload is created, before its first part: its id must be on record. */
		private readonly onUpload: (uploadId: string) => Promise<void> = async () => {},
	) {
		this.state = { uploadId: state.uploadId, parts: [...state.parts] };
		this.uploadedBytes = this.state.parts.length * PART_BYTES;
		if (state.uploadId) this.upload = bucket.resumeMultipartUpload(key, state.uploadId);
		if (carry?.length) {
			this.chunks.push(carry);
			this.pendingLen = carry.length;
		}
	}

	get offset(): number {
		return this.uploadedBytes + this.pendingLen;
	}

	async write(bytes: Uint8Array): Promise<void> {
		if (!bytes.length) return;
		this.chunks.push(bytes);
		this.pendingLen += bytes.length;
		while (this.pendingLen >= PART_BYTES) await this.uploadPart(this.take(PART_BYTES));
	}

	/** The first `n` pending bytes, removed from the pending list. */
	private take(n: number): Uint8Array {
		const out = new Uint8Array(n);
		let at = 0;
		while (at < n) {
			const c = this.chunks[0]!;
			const k = Math.min(c.length, n - at);
			out.set(k === c.length ? c : c.subarray(0, k), at);
			at += k;
			if (k === c.length) this.chunks.shift();
			else this.chunks[0] = c.subarray(k);
		}
		this.pendingLen -= n;
		return out;
	}

	private async uploadPart(bytes: Uint8Array): Promise<void> {
		if (!this.upload) {
			this.upload = await this.bucket.createMultipartUpload(this.key, this.options);
			this.state.uploadId = this.upload.uploadId;
			await this.onUpload(this.upload.uploadId);
		}
		const partNumber = this.state.parts.length + 1;
		const part = await this.upload.uploadPart(partNumber, bytes);
		this.state.parts.push({ partNumber, etag: part.etag });
		this.uploadedBytes += bytes.length;
	}

	/** The bytes not uploaded yet (fewer than a part), for the checkpoint's carry object. */
	carry(): Uint8Array {
		const all = concat(this.chunks, this.pendingLen);
		this.chunks = all.length ? [all] : [];
		return all;
	}

	/** Makes the file visible at its key: the last part and the completion, or one put when it fits in a part. */
	async complete(): Promise<R2Object> {
		if (!this.upload) {
			const obj = await this.bucket.put(this.key, concat(this.chunks, this.pendingLen), this.options);
			return obj!;
		}
		if (this.pendingLen > 0) await this.uploadPart(this.take(this.pendingLen));
		return this.upload.complete(this.state.parts);
	}
}
