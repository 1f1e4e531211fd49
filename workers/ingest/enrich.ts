import type { CanonicalEvent } from "./event";
import { parseUserAgent } from "./useragent";

/** The parts of `request.cf` we use (absent locally unless the runtime fills them in). */
export interface GeoFacts {
	country: string | null;
	region: string | null;
	city: string | null;
	colo: string | null;
}

export function geoFromCf(cf: unknown): GeoFacts {
	const o = (cf && typeof cf === "object" ? cf : {}) as Record<string, unknown>;
	return { country: str(o.country), region: str(o.region), city: str(o.city), colo: str(o.colo) };
}

function str(v: unknown): string | null {
	return typeof v === "string" && v ? v : null;
}

/**
 * Adds geo and device facts. An event's own `context.userAgent` / `context.location` win over
 * the request's (server-side SDKs forward the end user's), then `request.cf` and the header.
 * `shared` is the request's shared context (a Segment batch's), under the event's own.
 */
export function enrich(event: CanonicalEvent, geo: GeoFacts, headerUserAgent: string | null, shared: Record<string, unknown> | null = null): CanonicalEvent {
	// The effective context: a Segment batch's shared context overlaid with the event's own.
	const ctx = shared ? { ...shared, ...event.context } : event.context;
	const loc = ctx && typeof ctx.location === "object" && ctx.location ? (ctx.location as Record<string, unknown>) : null;
	const ua = parseUserAgent(str(ctx?.userAgent) ?? headerUserAgent);
	// Never mix sources: a forwarded location replaces the request's geo as a whole.
	const own = loc && (str(loc.country) || str(loc.region) || str(loc.city)) ? { country: str(loc.country), region: str(loc.region), city: str(loc.city) } : geo;
	event.country = own.country;
	event.region = own.region;
	event.city = own.city;
	event.colo = geo.colo;
	event.browser = ua.browser;
	event.os = ua.os;
	event.device = ua.device;
	event.is_bot = ua.isBot ? 1 : 0;
	return event;
}
