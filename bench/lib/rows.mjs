// The canonical `events` row for a native demo event, without validation: shared by the
// node:sqlite baseline and the bare D1 worker so both insert exactly the same rows.
// (The app builds these with zod + normalise + enrich; this is the cheap equivalent.)

/** The `events` columns after tenant_id, in the order of the D1 table and the hub's flush. */
export const COLUMNS = [
	"message_id", "type", "event", "user_id", "anonymous_id", "group_id", "previous_id", "timestamp", "sent_at",
	"received_at", "properties", "traits", "context", "country", "region", "city", "colo", "browser", "os", "device", "is_bot",
];

const uaCache = new Map();

function uaFacts(ua) {
	if (typeof ua !== "string" || !ua) return { browser: null, os: null, device: null };
	let hit = uaCache.get(ua);
	if (!hit) {
		const browser = /Firefox\//.test(ua) ? "Firefox" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : null;
		const os = /iPhone|iPad/.test(ua) ? "iOS" : /Android/.test(ua) ? "Android" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Linux|X11/.test(ua) ? "Linux" : null;
		hit = { browser, os, device: /Mobile|iPhone|Android/.test(ua) ? "mobile" : "desktop" };
		uaCache.set(ua, hit);
	}
	return hit;
}

/** One native event (as `demoEvent` makes it) → one canonical row object. */
export function toRow(e, receivedAt) {
	const ctx = e.context && typeof e.context === "object" ? e.context : null;
	const ua = uaFacts(ctx?.userAgent);
	const ts = typeof e.timestamp === "string" ? Date.parse(e.timestamp) : typeof e.timestamp === "number" ? e.timestamp : receivedAt;
	return {
		message_id: e.message_id,
		type: "track",
		event: e.event,
		user_id: e.user_id ?? null,
		anonymous_id: e.anonymous_id ?? null,
		group_id: null,
		previous_id: null,
		timestamp: ts,
		sent_at: null,
		received_at: receivedAt,
		properties: e.properties ?? {},
		traits: null,
		context: ctx,
		country: ctx?.location?.country ?? null,
		region: null,
		city: null,
		colo: null,
		browser: ua.browser,
		os: ua.os,
		device: ua.device,
		is_bot: 0,
	};
}
