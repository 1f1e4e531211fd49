// IP address parsing and classification for outbound destinations (SSRF rules, docs/api.md).
// Only globally routable unicast addresses are public; everything else — private, loopback,
// link-local, CGNAT, documentation, multicast, IPv6 ULA, IPv4-mapped or -embedded IPv6 — is not.

/** An IPv4 address in dotted decimal (exactly four parts 0-255), as a 32-bit number; null otherwise. */
export function parseIPv4(s: string): number | null {
	const parts = s.split(".");
	if (parts.length !== 4) return null;
	let n = 0;
	for (const p of parts) {
		if (!/^\d{1,3}$/.test(p)) return null;
		const v = Number(p);
		if (v > 255) return null;
		n = n * 256 + v;
	}
	return n;
}

/** An IPv6 address (with `::` and a dotted IPv4 tail allowed, no zone id) as eight 16-bit groups; null otherwise. */
export function parseIPv6(input: string): number[] | null {
	let s = input.toLowerCase();
	if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
	if (!/^[0-9a-f:.]+$/.test(s)) return null;
	if (s.includes(".")) {
		// A dotted IPv4 tail ("::ffff:1.2.3.4") is two groups written another way.
		const cut = s.lastIndexOf(":");
		const v4 = parseIPv4(s.slice(cut + 1));
		if (v4 == null) return null;
		s = `${s.slice(0, cut + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
	}
	const halves = s.split("::");
	if (halves.length > 2) return null;
	const groups = (h: string) => (h === "" ? [] : h.split(":"));
	const head = groups(halves[0]!);
	const rest = halves.length === 2 ? groups(halves[1]!) : [];
	if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
	const fill = 8 - head.length - rest.length;
	if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
	return [...head, ...new Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...rest].map((g) => parseInt(g, 16));
}

const V4_BLOCKS: [string, number, string][] = [
	["0.0.0.0", 8, "'this network'"],
	["10.0.0.0", 8, "private"],
	["100.64.0.0", 10, "shared address space (CGNAT)"],
	["127.0.0.0", 8, "loopback"],
	["169.254.0.0", 16, "link-local"],
	["172.16.0.0", 12, "private"],
	["192.0.0.0", 24, "IETF protocol assignments"],
	["192.0.2.0", 24, "documentation"],
	["192.88.99.0", 24, "6to4 relay"],
	["192.168.0.0", 16, "private"],
	["198.18.0.0", 15, "benchmarking"],
	["198.51.100.0", 24, "documentation"],
	["203.0.113.0", 24, "documentation"],
	["224.0.0.0", 4, "multicast"],
	["240.0.0.0", 4, "reserved"],
];
const V4 = V4_BLOCKS.map(([a, bits, why]) => ({ net: parseIPv4(a)!, mask: bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0, why }));

/** Why an IPv4 address is not public ("private", "loopback", …), or null when it is. */
export function ipv4Block(n: number): string | null {
	for (const b of V4) if (((n & b.mask) >>> 0) === b.net) return b.why;
	return null;
}

/** Why an IPv6 address (eight groups) is not public, or null when it is. */
export function ipv6Block(g: number[]): string | null {
	const [a, b] = [g[0]!, g[1]!];
	if (g.every((x) => x === 0)) return "unspecified";
	if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return "loopback";
	if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return "IPv4-mapped";
	if (g.slice(0, 6).every((x) => x === 0)) return "IPv4-compatible";
	if (a === 0x64 && b === 0xff9b) return "NAT64 (embeds an IPv4 address)";
	if ((a & 0xfe00) === 0xfc00) return "unique local (ULA)";
	if ((a & 0xffc0) === 0xfe80) return "link-local";
	if ((a & 0xffc0) === 0xfec0) return "site-local";
	if ((a & 0xff00) === 0xff00) return "multicast";
	// Global unicast is 2000::/3; within it, special-purpose blocks.
	if ((a & 0xe000) !== 0x2000) return "not global unicast";
	if (a === 0x2001 && b === 0x0db8) return "documentation";
	if (a === 0x2001 && b < 0x0200) return "IETF protocol assignments (Teredo, ORCHID…)";
	if (a === 0x2002) return "6to4 (embeds an IPv4 address)";
	if (a === 0x3fff && b < 0x1000) return "documentation";
	return null;
}

/** Why an IP address literal is not public, null when it is public, undefined when `s` is not an IP literal. */
export function ipBlock(s: string): string | null | undefined {
	const v4 = parseIPv4(s);
	if (v4 != null) return ipv4Block(v4);
	const v6 = s.includes(":") ? parseIPv6(s) : null;
	if (v6) return ipv6Block(v6);
	return undefined;
}
