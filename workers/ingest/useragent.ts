/** What we keep of a User-Agent: coarse, stable families suitable as analytics dimensions. */
export interface UserAgentInfo {
	browser: string | null;
	os: string | null;
	device: "desktop" | "mobile" | "tablet" | "bot" | "server" | null;
	isBot: boolean;
}

const BOT = /bot\b|bot\/|crawl|spider|slurp|bingpreview|mediapartners|facebookexternalhit|embedly|quora link preview|whatsapp|headlesschrome|phantomjs|lighthouse|pingdom|uptimerobot|statuscake|datadog synthetics|python-requests|scrapy|httpclient|go-http-client|java\/|libwww|wget/i;
// HTTP libraries and Segment server SDKs: real traffic from a backend, not a crawler.
const SERVER = /^(analytics-[a-z]+|segment|node-fetch|axios|undici|node|curl|okhttp|ruby|python-urllib|dart|rest-client)\b/i;

const BROWSERS: [RegExp, string][] = [
	[/\bEdgA?\/|\bEdge\//, "Edge"],
	[/\bOPR\/|\bOpera\b/, "Opera"],
	[/\bSamsungBrowser\//, "Samsung Internet"],
	[/\bYaBrowser\//, "Yandex"],
	[/\bVivaldi\//, "Vivaldi"],
	[/\bFxiOS\/|\bFirefox\//, "Firefox"],
	[/\bCriOS\/|\bChrome\/|\bChromium\//, "Chrome"],
	[/\bMSIE |\bTrident\//, "Internet Explorer"],
	[/\bVersion\/[\d.]+.*\bSafari\/|\bAppleWebKit\/.*\bMobile\//, "Safari"],
];

const SYSTEMS: [RegExp, string][] = [
	[/\bWindows Phone\b/, "Windows Phone"],
	[/\bWindows\b/, "Windows"],
	[/\biPhone\b|\biPad\b|\biPod\b|\biOS\b/, "iOS"],
	[/\bAndroid\b/, "Android"],
	[/\bCrOS\b/, "Chrome OS"],
	[/\bMac OS X\b|\bMacintosh\b/, "macOS"],
	[/\bLinux\b|\bX11\b/, "Linux"],
];

const cache = new Map<string, UserAgentInfo>();
const CACHE_SIZE = 2000;

/** Parses a User-Agent into browser / OS / device families and a bot flag (memoised: most requests repeat). */
export function parseUserAgent(ua: string | null | undefined): UserAgentInfo {
	if (!ua) return { browser: null, os: null, device: null, isBot: false };
	const hit = cache.get(ua);
	if (hit) return hit;
	const info = parseUncached(ua);
	if (cache.size >= CACHE_SIZE) cache.clear();
	cache.set(ua, info);
	return info;
}

function parseUncached(ua: string): UserAgentInfo {
	if (BOT.test(ua)) return { browser: null, os: null, device: "bot", isBot: true };
	if (SERVER.test(ua)) return { browser: null, os: null, device: "server", isBot: false };
	const browser = BROWSERS.find(([re]) => re.test(ua))?.[1] ?? null;
	const os = SYSTEMS.find(([re]) => re.test(ua))?.[1] ?? null;
	let device: UserAgentInfo["device"] = "desktop";
	if (/\biPad\b|\bTablet\b/i.test(ua) || (/\bAndroid\b/.test(ua) && !/\bMobile\b/.test(ua))) device = "tablet";
	else if (/\bMobi|\biPhone\b|\biPod\b|\bAndroid\b.*\bMobile\b|\bWindows Phone\b/i.test(ua)) device = "mobile";
	return { browser, os, device, isBot: false };
}
