// Standard Webhooks signatures, checked independently of the worker's code (node:crypto): shared by
// the e2e notification tests and the browser's ops tests.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Whether `headers` sign `body`: HMAC-SHA256 of "id.timestamp.body" under the base64 key of the whsec_ secret. */
export function verifyWebhook(secret, headers, body) {
	const key = Buffer.from(secret.slice("whsec_".length), "base64");
	const want = createHmac("sha256", key).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`).digest();
	return String(headers["webhook-signature"] ?? "")
		.split(" ")
		.some((s) => {
			const [v, sig] = s.split(",");
			const b = Buffer.from(sig ?? "", "base64");
			return v === "v1" && b.length === want.length && timingSafeEqual(b, want);
		});
}
