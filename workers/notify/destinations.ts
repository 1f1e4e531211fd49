import { z } from "zod";
import { ApiError } from "../errors";
import { checkUrlShape, DestinationRefused } from "./ssrf";

/** Where a schedule's report or an alert's notifications go. */
export type Destination = { type: "email"; to: string[] } | { type: "slack"; url: string } | { type: "webhook"; url: string };

export const DESTINATION_TYPES = ["email", "slack", "webhook"] as const;
export const MAX_DESTINATIONS = 10;
export const MAX_RECIPIENTS = 20;

// Deliberately simple: one @, no spaces, a dot in the domain. The mail service is the real judge.
const EMAIL_RE = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;
const address = z.string().trim().max(254, "at most 254 characters").regex(EMAIL_RE, "must be an email address such as ops@example.com");

const destination = z
	.object({
		type: z.enum(DESTINATION_TYPES, { error: `must be one of ${DESTINATION_TYPES.join(", ")}` }),
		to: z.array(address).min(1, "list at least one address").max(MAX_RECIPIENTS, `at most ${MAX_RECIPIENTS} addresses`).optional(),
		url: z.string().trim().min(1, "must not be empty").max(2048, "at most 2,048 characters").optional(),
	})
	.strict()
	.transform((d, ctx): Destination => {
		if (d.type === "email") {
			if (!d.to) ctx.addIssue({ code: "custom", path: ["to"], message: "an email destination needs 'to': a list of addresses" });
			if (d.url !== undefined) ctx.addIssue({ code: "custom", path: ["url"], message: "an email destination takes 'to', not 'url'" });
			return { type: "email", to: [...new Set(d.to ?? [])] };
		}
		if (!d.url) ctx.addIssue({ code: "custom", path: ["url"], message: `a ${d.type} destination needs 'url'` });
		if (d.to !== undefined) ctx.addIssue({ code: "custom", path: ["to"], message: `a ${d.type} destination takes 'url', not 'to'` });
		return { type: d.type, url: d.url ?? "" };
	});

export const destinations = z
	.array(destination)
	.min(1, "list at least one destination")
	.max(MAX_DESTINATIONS, `at most ${MAX_DESTINATIONS} destinations`);

/**
 * The SSRF rules that need no DNS, at save time, so a refused URL is named in the 400 at once
 * (the full check, DNS included, runs again before every request). 400 naming `destinations[i].url`.
 */
export function checkDestinationUrls(list: Destination[], allowPrivate: boolean, field = "destinations"): void {
	list.forEach((d, i) => {
		if (d.type === "email") return;
		try {
			checkUrlShape(d.url, allowPrivate);
		} catch (err) {
			if (!(err instanceof DestinationRefused)) throw err;
			const path = `${field}[${i}].url`;
			throw new ApiError(400, "invalid_request", `${path}: ${err.message}`, { issues: [{ path, code: err.code, message: err.message }] });
		}
	});
}

/** The delivery log's `target` of a destination: its URL, or its addresses joined by ", ". */
export const targetOf = (d: Destination) => (d.type === "email" ? d.to.join(", ") : d.url);

/** Whether private addresses and any port are allowed: only by ALLOW_PRIVATE_DESTINATIONS=true, and never in production. */
export function allowPrivateDestinations(env: { ALLOW_PRIVATE_DESTINATIONS?: string; ENVIRONMENT?: string }): boolean {
	return env.ALLOW_PRIVATE_DESTINATIONS === "true" && env.ENVIRONMENT !== "production";
}
