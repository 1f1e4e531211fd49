import { ipBlock, parseIPv4 } from "./ip";

// Outbound requests to URLs a tenant chose (webhooks, Slack) must not reach the deployment's own
// network or anyone's private one: only http on port 80 and https on 443, to public addresses, and
// every redirect hop checked again. A DNS name is resolved first and refused if any of its
// addresses is not public. NOTE: fetch() resolves the name again; a name that changes its answer in
// between (DNS rebinding) is not caught here. On Cloudflare a Worker's subrequests leave from
// Cloudflare's network, which reaches no private network of the deployer, so this check is the
// second line there, and the first for anyone running the Worker elsewhere.

/** Resolves a DNS name to its IPv4 and IPv6 addresses (A and AAAA, CNAMEs followed); [] when it has none. */
export interface Resolver {
	resolve(host: string): Promise<string[]>;
}

/** Why a destination is refused: `code` is stable (docs/api.md, SSRF rules). Never worth a retry. */
export class DestinationRefused extends Error {
	constructor(
		readonly code: "invalid_url" | "scheme_not_allowed" | "port_not_allowed" | "credentials_in_url" | "private_address" | "private_name" | "too_many_redirects",
		message: string,
	) {
		super(message);
	}
}

/** The resolver could not answer (network, DoH error): the delivery is retried later. */
export class ResolveFailed extends Error {}

const DOH_URL = "https://cloudflare-dns.com/dns-query";
const DOH_TIMEOUT_MS = 5_000;

/** Cloudflare's DNS over HTTPS (JSON API), through `fetchFn`: A and AAAA records. */
export function dohResolver(fetchFn: typeof fetch, endpoint = DOH_URL): Resolver {
	const ask = async (host: string, type: "A" | "AAAA") => {
		const url = `${endpoint}?name=${encodeURIComponent(host)}&type=${type}`;
		let res: Response;
		try {
			res = await fetchFn(url, { headers: { accept: "application/dns-json" }, signal: AbortSignal.timeout(DOH_TIMEOUT_MS) });
		} catch (err) {
			throw new ResolveFailed(`DNS lookup of ${host} failed: ${(err as Error).message}`);
		}
		if (!res.ok) throw new ResolveFailed(`DNS lookup of ${host} failed: HTTP ${res.status}`);
		const body = (await res.json()) as { Status?: number; Answer?: { type: number; data: string }[] };
		// 3 = NXDOMAIN: no addresses. Any other non-zero status (SERVFAIL …) may pass: try again later.
		if (body.Status === 3) return [];
		if (body.Status !== 0) throw new ResolveFailed(`DNS lookup of ${host} failed: status ${body.Status}`);
		const want = type === "A" ? 1 : 28;
		return (body.Answer ?? []).filter((a) => a.type === want).map((a) => a.data);
	};
	return {
		async resolve(host) {
			const [a, aaaa] = await Promise.all([ask(host, "A"), ask(host, "AAAA")]);
			return [...a, ...aaaa];
		},
	};
}

// Names that are never public, whatever a resolver says.
const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa|lan)$/i;

export interface DestinationPolicy {
	resolver: Resolver;
	/** Local development only (ALLOW_PRIVATE_DESTINATIONS): any address and port. */
	allowPrivate: boolean;
}

/**
 * The checks that need no DNS: a valid absolute URL, http on 80 or https on 443, no credentials in
 * it, and, for an IP literal or a local name, a public one. Returns the parsed URL.
 */
export function checkUrlShape(raw: string, allowPrivate: boolean): URL {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw new DestinationRefused("invalid_url", `'${raw.slice(0, 200)}' is not an absolute URL`);
	}
	if (url.protocol !== "https:" && url.protocol !== "http:") throw new DestinationRefused("scheme_not_allowed", `scheme '${url.protocol.slice(0, -1)}' is not allowed: use https (or http)`);
	if (url.username || url.password) throw new DestinationRefused("credentials_in_url", "a URL with a user name or password is not allowed");
	if (allowPrivate) return url;
	// URL parsing drops a default port, so a non-empty port is never 443 for https or 80 for http.
	if (url.port !== "") throw new DestinationRefused("port_not_allowed", `port ${url.port} is not allowed: https uses 443, http uses 80`);
	// WHATWG URL parsing has already turned 2130706433, 0x7f.1 and 127.1 into 127.0.0.1, and IPv6 into its short form.
	const host = url.hostname;
	const block = ipBlock(host.startsWith("[") ? host.slice(1, -1) : host);
	if (block) throw new DestinationRefused("private_address", `${host} is a ${block} address: only public addresses are allowed`);
	// A trailing dot ("localhost.") names the same host.
	const bare = host.replace(/\.$/, "");
	if (block === undefined && (LOCAL_NAMES.test(bare) || !bare.includes(".")))
		throw new DestinationRefused("private_name", `'${host}' is a local name: only public DNS names are allowed`);
	return url;
}

/** checkUrlShape, then (for a DNS name) every address it resolves to must be public. */
export async function checkDestination(raw: string, policy: DestinationPolicy): Promise<URL> {
	const url = checkUrlShape(raw, policy.allowPrivate);
	if (policy.allowPrivate) return url;
	const host = url.hostname;
	if (parseIPv4(host) != null || host.startsWith("[")) return url;
	let addresses: string[];
	try {
		addresses = await policy.resolver.resolve(host);
	} catch (err) {
		throw err instanceof ResolveFailed ? err : new ResolveFailed(`DNS lookup of ${host} failed: ${(err as Error).message}`);
	}
	if (!addresses.length) throw new ResolveFailed(`${host} has no A or AAAA record`);
	for (const a of addresses) {
		const block = ipBlock(a);
		if (block !== null) throw new DestinationRefused("private_address", `${host} resolves to ${a}, ${block === undefined ? "not an IP address" : `a ${block} address`}: only public addresses are allowed`);
	}
	return url;
}

export const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * POSTs (or sends `init`) to a checked destination, following up to MAX_REDIRECTS redirects by hand,
 * each hop checked again as the first (a public URL may redirect to http://169.254.169.254/). The
 * same method and body are sent to every hop. Throws DestinationRefused or ResolveFailed.
 */
export async function safeFetch(raw: string, init: RequestInit, policy: DestinationPolicy, fetchFn: typeof fetch): Promise<{ response: Response; url: string; hops: number }> {
	let target = raw;
	for (let hop = 0; ; hop++) {
		const url = await checkDestination(target, policy);
		const response = await fetchFn(url.toString(), { ...init, redirect: "manual" });
		const location = response.headers.get("location");
		if (!REDIRECTS.has(response.status) || !location) return { response, url: url.toString(), hops: hop };
		await response.body?.cancel();
		if (hop >= MAX_REDIRECTS) throw new DestinationRefused("too_many_redirects", `more than ${MAX_REDIRECTS} redirects (the last to ${location.slice(0, 200)})`);
		target = new URL(location, url).toString();
	}
}
