import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";

// A missing field reads "required (array)" rather than zod's "Invalid input: expected array, received
// undefined"; messages a schema sets itself still win.
z.config({ customError: (iss) => (iss.code === "invalid_type" && iss.input === undefined ? `required (${iss.expected})` : undefined) });

/** The one error type the API throws; `onError` renders it as {"error":{code,message,details}}. */
export class ApiError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly code: string,
		message: string,
		readonly details: unknown = {},
		readonly headers: Record<string, string> = {},
	) {
		super(message);
	}
	/** Set when the refused events were already kept (rejected_events), so nobody stores them twice. */
	stored = false;
}

export const badRequest = (code: string, message: string, details: unknown = {}) =>
	new ApiError(400, code, message, details);

/** zod issues → [{ path: "events[3].timestamp", message }] for error details. */
export function formatIssues(
	issues: readonly { path: readonly PropertyKey[]; message: string; code?: string }[],
	prefix = "",
): { path: string; code: string; message: string }[] {
	return issues.map((i) => ({
		path: joinPath(prefix, i.path),
		code: i.code ?? "invalid",
		message: i.message,
	}));
}

export function joinPath(prefix: string, path: readonly PropertyKey[]): string {
	let out = prefix;
	for (const p of path) {
		if (typeof p === "number") out += `[${p}]`;
		else out += out ? `.${String(p)}` : String(p);
	}
	return out;
}
