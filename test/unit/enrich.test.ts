import { describe, expect, it } from "vitest";
import { enrich, geoFromCf } from "../../workers/ingest/enrich";
import type { CanonicalEvent } from "../../workers/ingest/event";
import { normaliseNative } from "../../workers/ingest/normalise";

const event = (context?: Record<string, unknown>): CanonicalEvent => {
	const r = normaliseNative({ event: "e", user_id: "u", context }, "", { receivedAt: Date.now() });
	if (!r.ok) throw new Error("invalid");
	return r.event;
};

describe("enrich", () => {
	const geo = geoFromCf({ country: "DE", region: "Berlin", city: "Berlin", colo: "FRA", asn: 3320 });

	it("takes geo from request.cf and device facts from the User-Agent header", () => {
		expect(geo).toEqual({ country: "DE", region: "Berlin", city: "Berlin", colo: "FRA" });
		const e = enrich(event(), geo, "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
		expect(e).toMatchObject({ country: "DE", region: "Berlin", city: "Berlin", colo: "FRA", browser: "Firefox", os: "Linux", device: "desktop", is_bot: 0 });
	});

	it("prefers the end user's context (server-side SDKs forward it) over the request's", () => {
		const e = enrich(
			event({ userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1)", location: { country: "BR", city: "Recife" } }),
			geo,
			"analytics-node-next/latest",
		);
		// The forwarded location replaces the request's as a whole: no Berlin region for Recife.
		expect(e).toMatchObject({ country: "BR", city: "Recife", region: null, colo: "FRA", device: "bot", is_bot: 1 });
	});

	it("copes with a missing or odd cf object", () => {
		expect(geoFromCf(undefined)).toEqual({ country: null, region: null, city: null, colo: null });
		expect(geoFromCf({ country: 5, city: "" })).toEqual({ country: null, region: null, city: null, colo: null });
	});
});
