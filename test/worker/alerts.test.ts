import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { anomalyVerdict, step, thresholdVerdict, weeksBefore, windowAt } from "../../workers/alerts/evaluate";
import type { AlertRow } from "../../workers/alerts/model";
import { alertContext, evaluateAlert, runAlerts } from "../../workers/alerts/run";
import { backoffMs, MAX_ATTEMPTS, queueDeliveries, runDeliveries } from "../../workers/notify/deliver";
import { ipBlock, parseIPv6 } from "../../workers/notify/ip";
import type { AlertEvent, ConditionJson } from "../../workers/notify/render";
import { openSecret, webhookKey } from "../../workers/notify/secrets";
import { signV1 } from "../../workers/notify/signing";
import { checkDestination, DestinationRefused, ResolveFailed, safeFetch } from "../../workers/notify/ssrf";
import { TENANT_BY_ID_SQL, type TenantRow } from "../../workers/query/answer";
import { ADMIN, type AdminTenant, call, ev, fieldOf, flush, json, makeTenant, send, withAdminKey } from "../helpers";
import { fakeNet, outbox, testDeps, verifyStandardWebhook } from "../notify-kit";
import { insertRows, type Row } from "../rollup-data";

// Alerts: rules, their evaluation against fresh data, the state machine, notifications by email,
// Slack and signed webhooks, retries, the delivery log, and the SSRF rules every outbound URL obeys.


const MIN = 60_000;
const HOOK = "https://hooks.example.com/edgewise";
const SLACK = "https://hooks.slack.example.com/services/T0/B0/xyz";
const DNS = { "hooks.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"], "hooks.slack.example.com": ["34.200.1.1"] };
const escalations = { metrics: ["count"], filters: [["is", "event", "conversation_escalated"]] };

let a: AdminTenant;
let b: AdminTenant;
let secretA: string;

beforeAll(async () => {
	a = await withAdminKey(await makeTenant("alr-a", { timezone: "America/New_York" }));
	b = await withAdminKey(await makeTenant("alr-b"));
	const s = await send("POST", "/v1/webhook-secrets", a.adminKey, {});
	expect(s.status).toBe(201);
	secretA = s.body.secret;
}, 60_000);

afterEach(() => {
	vi.restoreAllMocks();
});

let seq = 0;
const esc = (timestamp: number): Row => ({
	message_id: `esc-${++seq}`,
	event: "conversation_escalated",
	user_id: `c${seq % 7}`,
	anonymous_id: null,
	timestamp,
	country: null,
	device: null,
	browser: null,
	os: null,
	properties: { channel: "chat" },
});

async function alertRow(id: string): Promise<AlertRow> {
	return (await env.DB.prepare("SELECT * FROM alerts WHERE id = ?1").bind(id).first<AlertRow>())!;
}
async function ctxOf(tenantId: string) {
	return alertContext(env, tenantId, await env.DB.prepare(TENANT_BY_ID_SQL).bind(tenantId).first<TenantRow>());
}

describe("the independent Standard Webhooks verifier", () => {
	it("accepts the specification's published example, and our signer produces it", async () => {
		const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
		const headers = new Headers({ "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330", "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" });
		expect(verifyStandardWebhook(secret, headers, '{"test": 2432232314}', 1614265330)).toBe(true);
		expect(verifyStandardWebhook(secret, headers, '{"test": 2432232315}', 1614265330)).toBe(false);
		expect(verifyStandardWebhook(secret, headers, '{"test": 2432232314}', 1614265330 + 3600)).toBe(false);
		expect(await signV1(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	});
});

describe("SSRF rules", () => {
	const net = fakeNet({
		"public.example.com": ["93.184.216.34"],
		"inside.example.com": ["10.1.2.3"],
		"metadata.example.com": ["169.254.169.254"],
		"mixed.example.com": ["93.184.216.34", "192.168.1.10"],
		"v6-ula.example.com": ["fd12:3456::1"],
		"v6-mapped.example.com": ["::ffff:127.0.0.1"],
		"cgnat.example.com": ["100.64.0.7"],
	});
	const policy = { resolver: net.resolver, allowPrivate: false };
	const refused = async (url: string) => {
		try {
			await checkDestination(url, policy);
		} catch (err) {
			if (err instanceof DestinationRefused) return err.code;
			throw err;
		}
		return "allowed";
	};

	it("refuses private, loopback, link-local and CGNAT IPv4 addresses, however they are written", async () => {
		for (const url of [
			"http://127.0.0.1/",
			"http://10.0.0.1/hook",
			"https://172.16.5.4/",
			"https://192.168.0.10/",
			"http://169.254.169.254/latest/meta-data/",
			"http://100.64.1.1/",
			"http://0.0.0.0/",
			"http://2130706433/", // 127.0.0.1 as one number
			"http://0x7f.1/", // 127.0.0.1 in hex, short
			"http://017700000001/", // 127.0.0.1 in octal
			"http://224.0.0.1/",
			"http://127.0.0.1./", // a trailing dot
		])
			expect(await refused(url), url).toBe("private_address");
	});

	it("refuses IPv6 loopback, ULA, link-local, IPv4-mapped and documentation addresses", async () => {
		for (const url of ["http://[::1]/", "https://[fd00::1]/", "https://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:a00:1]/", "http://[64:ff9b::a00:1]/", "http://[2001:db8::1]/", "http://[::]/"])
			expect(await refused(url), url).toBe("private_address");
		// The parser and the ranges, directly.
		expect(parseIPv6("::ffff:10.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001]);
		expect(ipBlock("fc00::abcd")).toBe("unique local (ULA)");
		expect(ipBlock("2606:4700:4700::1111")).toBeNull();
		expect(ipBlock("1.1.1.1")).toBeNull();
		expect(ipBlock("hooks.example.com")).toBeUndefined();
	});

	it("refuses DNS names that resolve to a private address (any of their addresses), and local names", async () => {
		for (const host of ["inside", "metadata", "mixed", "v6-ula", "v6-mapped", "cgnat"]) expect(await refused(`https://${host}.example.com/hook`), host).toBe("private_address");
		for (const url of ["http://localhost/", "http://localhost./", "http://api.localhost/", "https://printer.local/", "https://db.internal/", "https://intranet/"]) expect(await refused(url), url).toBe("private_name");
		expect(net.lookups).not.toContain("localhost");
		await expect(checkDestination("https://nowhere.example.com/", policy)).rejects.toBeInstanceOf(ResolveFailed);
	});

	it("allows only http on 80 and https on 443, and no credentials", async () => {
		expect(await refused("https://public.example.com/hook")).toBe("allowed");
		expect(await refused("https://public.example.com:443/hook")).toBe("allowed");
		expect(await refused("http://public.example.com:80/hook")).toBe("allowed");
		expect(await refused("https://93.184.216.34/hook")).toBe("allowed");
		expect(await refused("https://public.example.com:8443/hook")).toBe("port_not_allowed");
		expect(await refused("http://public.example.com:22/")).toBe("port_not_allowed");
		expect(await refused("ftp://public.example.com/")).toBe("scheme_not_allowed");
		expect(await refused("file:///etc/passwd")).toBe("scheme_not_allowed");
		expect(await refused("https://user:pw@public.example.com/")).toBe("credentials_in_url");
		expect(await refused("not a url")).toBe("invalid_url");
		// The local-development setting lets a receiver on localhost (any port) through.
		expect((await checkDestination("http://127.0.0.1:8999/hook", { ...policy, allowPrivate: true })).port).toBe("8999");
	});

	it("follows redirects by hand, checking every hop: a redirect to a private address is refused before it is requested", async () => {
		net.on("https://public.example.com/r1", () => new Response(null, { status: 302, headers: { location: "https://public.example.com/r2" } }));
		net.on("https://public.example.com/r2", () => new Response(null, { status: 307, headers: { location: "http://169.254.169.254/latest/meta-data/" } }));
		await expect(safeFetch("https://public.example.com/r1", { method: "POST", body: "{}" }, policy, net.fetch)).rejects.toMatchObject({ code: "private_address" });
		expect(net.received.map((r) => r.url)).toEqual(["https://public.example.com/r1", "https://public.example.com/r2"]);
		// Via a name that resolves privately, and via a relative Location to a public host's private port.
		net.on("https://public.example.com/r3", () => new Response(null, { status: 301, headers: { location: "https://inside.example.com/x" } }));
		await expect(safeFetch("https://public.example.com/r3", { method: "POST" }, policy, net.fetch)).rejects.toMatchObject({ code: "private_address" });
		net.on("https://public.example.com/r4", () => new Response(null, { status: 308, headers: { location: "//public.example.com:8080/x" } }));
		await expect(safeFetch("https://public.example.com/r4", { method: "POST" }, policy, net.fetch)).rejects.toMatchObject({ code: "port_not_allowed" });
		expect(net.received.some((r) => /inside|169\.254|:8080/.test(r.url))).toBe(false);
		// A redirect loop ends.
		net.on("https://public.example.com/loop", () => new Response(null, { status: 302, headers: { location: "/loop" } }));
		await expect(safeFetch("https://public.example.com/loop", { method: "POST" }, policy, net.fetch)).rejects.toMatchObject({ code: "too_many_redirects" });
		// A public chain is followed, the same method and body to every hop.
		net.on("https://public.example.com/ok1", () => new Response(null, { status: 308, headers: { location: "/ok2" } }));
		net.on("https://public.example.com/ok2", 204);
		const r = await safeFetch("https://public.example.com/ok1", { method: "POST", body: "hello" }, policy, net.fetch);
		expect([r.response.status, r.url, r.hops]).toEqual([204, "https://public.example.com/ok2", 1]);
		expect(net.to("https://public.example.com/ok2")[0]).toMatchObject({ method: "POST", body: "hello" });
	});

	it("the API refuses a private or non-standard-port URL when a rule is saved, naming the field", async () => {
		for (const [url, code] of [
			["http://10.0.0.1/hook", "private_address"],
			["https://[::1]/", "private_address"],
			["https://hooks.example.com:8443/", "port_not_allowed"],
			["http://localhost:9999/", "port_not_allowed"],
			["https://intranet/", "private_name"],
		] as const) {
			const r = await send("POST", "/v1/alerts", a.readKey, { name: "x", query: escalations, window_minutes: 15, condition: { type: "threshold", op: "above", value: 1 }, destinations: [{ type: "email", to: ["ops@example.com"] }, { type: "slack", url }] });
			expect(fieldOf(r), url).toBe("destinations[1].url");
			expect(r.body.error.details.issues[0].code).toBe(code);
		}
	});
});

describe("the state machine", () => {
	const c: Extract<ConditionJson, { type: "threshold" }> = { type: "threshold", op: "above", value: 10, clear: 5 };
	it("fires once and resolves once on a flapping series: hysteresis in value (clear) and in time (min interval)", () => {
		// Values each minute: up past 10, down, up again, wobbling, then calm.
		const series = [2, 6, 11, 9, 12, 4, 11, 3, 2, 12, 9, 8, 1, 0, 0, 11, 13, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
		let state: "ok" | "firing" = "ok";
		let firedAt: number | null = null;
		const log: string[] = [];
		series.forEach((v, i) => {
			const now = i * MIN;
			const t = step(state, thresholdVerdict(c, v), now, firedAt, 30 * MIN);
			if (t === "fire") [state, firedAt] = ["firing", now];
			if (t === "resolve") state = "ok";
			if (t) log.push(`${t}@${i}`);
		});
		// A naive rule (fire above 10, resolve at or below) would have flapped 6 times each way.
		const crossings = series.filter((v, i) => i > 0 && v > 10 !== series[i - 1]! > 10).length;
		expect(crossings).toBeGreaterThanOrEqual(10);
		expect(log).toEqual(["fire@2", "resolve@32"]);
	});

	it("no value, or no anomaly verdict, changes nothing; below-thresholds mirror above", () => {
		expect(step("ok", null, 0, null, 0)).toBeNull();
		expect(step("firing", null, 10 * MIN, 0, 0)).toBeNull();
		const below: Extract<ConditionJson, { type: "threshold" }> = { type: "threshold", op: "below", value: 100, clear: 120 };
		expect(thresholdVerdict(below, 99)).toMatchObject({ breach: true, clear: false });
		expect(thresholdVerdict(below, 110)).toMatchObject({ breach: false, clear: false });
		expect(thresholdVerdict(below, 120)).toMatchObject({ breach: false, clear: true });
	});

	it("anomaly: z-score against the baseline weeks; no verdict with too little history; a flat baseline is not infinitely significant", () => {
		const c3: Extract<ConditionJson, { type: "anomaly" }> = { type: "anomaly", direction: "up", z: 3, clear_z: 2, weeks: 4, min_weeks: 3, min_delta: 0 };
		const v = anomalyVerdict(c3, 40, [10, 12, 9, 11])!;
		// mean 10.5, sample std 1.290994…, z = 29.5 / 1.290994 = 22.85
		expect(v.details).toMatchObject({ mean: 10.5, std: 1.29099, weeks: 4 });
		expect(v.details.z as number).toBeCloseTo(22.8504, 3);
		expect(v.breach).toBe(true);
		expect(anomalyVerdict(c3, 12, [10, 12, 9, 11])).toMatchObject({ breach: false, clear: true });
		expect(anomalyVerdict(c3, 40, [10, 12])).toBeNull();
		expect(anomalyVerdict({ ...c3, direction: "down" }, 40, [10, 12, 9, 11])!.breach).toBe(false);
		expect(anomalyVerdict({ ...c3, direction: "both" }, 2, [10, 12, 9, 11])!.breach).toBe(true);
		// Every week 100: sigma is floored at 1 (1% of the mean), so 101 is z = 1, not infinity.
		expect(anomalyVerdict(c3, 101, [100, 100, 100])!.details.z).toBe(1);
		expect(anomalyVerdict({ ...c3, min_delta: 5 }, 104, [100, 100, 100])!.breach).toBe(false);
	});

	it("seasonality looks at the same local time of the week, across a DST change", () => {
		// Monday 2026-11-09 09:00 in New York (EST, -05:00); two weeks before was EDT (-04:00).
		const now = Date.UTC(2026, 10, 9, 14, 0);
		expect(new Date(weeksBefore(now, 1, "America/New_York")).toISOString()).toBe("2026-11-02T14:00:00.000Z");
		expect(new Date(weeksBefore(now, 2, "America/New_York")).toISOString()).toBe("2026-10-26T13:00:00.000Z");
		expect(windowAt(Date.UTC(2026, 10, 9, 14, 0, 42), 15)).toEqual({ from: Date.UTC(2026, 10, 9, 13, 45), to: Date.UTC(2026, 10, 9, 14, 0) });
	});
});

describe("alert rules (API)", () => {
	const base = { name: "Escalation spike", query: escalations, window_minutes: 15, condition: { type: "threshold", op: "above", value: 10, clear: 5 }, min_interval_minutes: 30, destinations: [{ type: "email", to: ["ops@example.com"] }] };

	it("are created, listed, read, updated and deleted; other tenants' answer 404", async () => {
		const created = await send("POST", "/v1/alerts", a.readKey, { ...base, enabled: false });
		expect(created.status, JSON.stringify(created.body)).toBe(201);
		const r = created.body;
		expect(r).toEqual({
			id: expect.stringMatching(/^alr_[a-z2-9]{16}$/),
			name: "Escalation spike",
			query: escalations,
			window_minutes: 15,
			condition: { type: "threshold", op: "above", value: 10, clear: 5 },
			min_interval_minutes: 30,
			destinations: [{ type: "email", to: ["ops@example.com"] }],
			enabled: false,
			state: "ok",
			last_value: null,
			last_evaluated_at: null,
			last_fired_at: null,
			last_resolved_at: null,
			created_at: expect.any(String),
			updated_at: r.created_at,
		});
		expect((await send("GET", `/v1/alerts/${r.id}`, a.adminKey)).body).toEqual(r);
		expect((await send("GET", "/v1/alerts", a.readKey)).body.alerts.map((x: any) => x.id)).toContain(r.id);
		// Defaults of an anomaly condition are filled in.
		const p = await send("PATCH", `/v1/alerts/${r.id}`, a.readKey, { condition: { type: "anomaly", z: 2.5 }, name: "Spike (anomaly)" });
		expect(p.status).toBe(200);
		expect(p.body.condition).toEqual({ type: "anomaly", direction: "up", z: 2.5, clear_z: 1.5, weeks: 4, min_weeks: 3, min_delta: 0 });
		expect(p.body.name).toBe("Spike (anomaly)");
		for (const [m, path] of [["GET", ""], ["PATCH", ""], ["DELETE", ""], ["GET", "/events"], ["GET", "/deliveries"], ["POST", "/test"]] as const) {
			const other = await send(m, `/v1/alerts/${r.id}${path}`, b.readKey, m === "PATCH" ? { name: "x" } : undefined);
			expect(other.status, `${m} ${path}`).toBe(404);
			expect(other.body.error.code).toBe("not_found");
		}
		expect((await send("GET", "/v1/alerts", b.readKey)).body.alerts).toEqual([]);
		expect((await send("DELETE", `/v1/alerts/${r.id}`, a.readKey)).body).toEqual({ id: r.id, deleted: true });
		expect((await send("GET", `/v1/alerts/${r.id}`, a.readKey)).status).toBe(404);
		// An ingest key cannot.
		expect((await send("GET", "/v1/alerts", a.ingestKey)).status).toBe(403);
	});

	it("refuse invalid rules with a 400 naming the field", async () => {
		const bad = async (body: Record<string, unknown>) => fieldOf(await send("POST", "/v1/alerts", a.readKey, { ...base, ...body }));
		expect(await bad({ window_minutes: 0 })).toBe("window_minutes");
		expect(await bad({ window_minutes: 20_000 })).toBe("window_minutes");
		expect(await bad({ condition: { type: "threshold", op: "over", value: 1 } })).toBe("condition.op");
		expect(await bad({ condition: { type: "threshold", op: "above", value: 10, clear: 12 } })).toBe("condition.clear");
		expect(await bad({ condition: { type: "sometimes" } })).toBe("condition.type");
		expect(await bad({ condition: { type: "anomaly", z: 3, clear_z: 4 } })).toBe("condition.clear_z");
		expect(await bad({ condition: { type: "anomaly", weeks: 1 } })).toBe("condition.weeks");
		expect(await bad({ query: { metrics: ["count", "uniques"] } })).toBe("query.metrics");
		expect(await bad({ query: { metrics: ["p95:"] } })).toBe("query.metrics[0]");
		expect(await bad({ query: { metrics: ["count"], date_range: "7d" } })).toBe("query");
		expect(await bad({ query: { metrics: ["count"], timezone: "Mars/Olympus" } })).toBe("query.timezone");
		expect(await bad({ destinations: [] })).toBe("destinations");
		expect(await bad({ destinations: [{ type: "email", to: ["not-an-address"] }] })).toBe("destinations[0].to[0]");
		expect(await bad({ destinations: [{ type: "slack" }] })).toBe("destinations[0].url");
		expect(await bad({ destinations: [{ type: "pager", url: HOOK }] })).toBe("destinations[0].type");
		expect(await bad({ name: "" })).toBe("name");
		// A rate (a formula over two hidden counts) and a p95 are single values: accepted.
		const rate = {
			metrics: [
				{ name: "escalated", metric: "count", filters: [["is", "event", "conversation_escalated"]], hidden: true },
				{ name: "started", metric: "count", filters: [["is", "event", "conversation_started"]], hidden: true },
				{ name: "escalation_rate", formula: "escalated / started", percent: true },
			],
		};
		expect((await send("POST", "/v1/alerts", a.readKey, { ...base, enabled: false, query: rate })).status).toBe(201);
		expect((await send("POST", "/v1/alerts", a.readKey, { ...base, enabled: false, window_minutes: 60, query: { metrics: ["p95:response_time_ms"], filters: [["is", "event", "message_sent"]] } })).status).toBe(201);
	});

	it("a webhook destination needs the tenant's signing secret first", async () => {
		const r = await send("POST", "/v1/alerts", b.readKey, { ...base, destinations: [{ type: "webhook", url: HOOK }] });
		expect(r.status).toBe(409);
		expect(r.body.error.code).toBe("webhook_secret_required");
	});
});

describe("webhook signing secrets", () => {
	it("are shown once, stored encrypted, listed without their value; only an admin key makes them", async () => {
		const t = await withAdminKey(await makeTenant("alr-sec"));
		expect((await send("POST", "/v1/webhook-secrets", t.readKey, {})).status).toBe(403);
		const made = await send("POST", "/v1/webhook-secrets", t.adminKey, {});
		expect(made.status).toBe(201);
		expect(made.body).toEqual({ id: expect.stringMatching(/^whk_/), secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/), status: "current", created_at: expect.any(String), expires_at: null, previous: null });
		const row = await env.DB.prepare("SELECT * FROM webhook_secrets WHERE id = ?1").bind(made.body.id).first<any>();
		expect(row.secret).not.toContain(made.body.secret.slice(6, 20));
		expect(row.secret).toMatch(/^v1\./);
		const key = await webhookKey(env);
		expect(await openSecret(key, t.id, made.body.id, row.secret)).toBe(made.body.secret);
		// Bound to its tenant and row: the same ciphertext under another tenant does not decrypt.
		await expect(openSecret(key, "someone-else", made.body.id, row.secret)).rejects.toThrow();
		const listed = await send("GET", "/v1/webhook-secrets", t.readKey);
		expect(listed.body).toEqual({ secrets: [{ id: made.body.id, status: "current", created_at: made.body.created_at, expires_at: null }] });
		expect(JSON.stringify(listed.body)).not.toContain("whsec_");
		expect((await send("POST", "/v1/webhook-secrets", t.adminKey, { previous_valid_hours: 500 })).status).toBe(400);
		expect((await send("DELETE", `/v1/webhook-secrets/${made.body.id}`, b.adminKey)).status).toBe(404);
	});
});

describe("evaluation by the cron, on a scripted series of real events", () => {
	const T0 = Date.UTC(2026, 10, 2, 15, 0); // Monday 2026-11-02 10:00 in New York
	let id: string;
	const mail = outbox();
	const net = fakeNet(DNS);
	net.on(HOOK, 200);
	net.on(SLACK, () => new Response("ok"));

	beforeAll(async () => {
		// Two escalations a minute in minutes 20-25, six a minute in 40-41: the 15-minute count goes
		// 0 → 12 → 2 → 12 → 0, crossing the threshold of 10 four times.
		const rows: Row[] = [];
		for (let m = 20; m < 26; m++) rows.push(esc(T0 + m * MIN + 1000), esc(T0 + m * MIN + 2000));
		for (let m = 40; m < 42; m++) for (let i = 0; i < 6; i++) rows.push(esc(T0 + m * MIN + i * 1000));
		await insertRows(a.id, rows);
		const created = await send("POST", "/v1/alerts", a.readKey, {
			name: "Escalation spike",
			query: escalations,
			window_minutes: 15,
			condition: { type: "threshold", op: "above", value: 10, clear: 5 },
			min_interval_minutes: 30,
			destinations: [{ type: "webhook", url: HOOK }, { type: "slack", url: SLACK }, { type: "email", to: ["ops@example.com", "oncall@example.com"] }],
			enabled: false,
		});
		expect(created.status).toBe(201);
		id = created.body.id;
	});

	it("fires once and resolves once, each with its event and its notifications", async () => {
		const ctx = await ctxOf(a.id);
		const values: (number | null)[] = [];
		const transitions: string[] = [];
		for (let k = 15; k <= 75; k++) {
			const r = await evaluateAlert(env, await alertRow(id), ctx, T0 + k * MIN + 5_000);
			values.push(r.value);
			if (r.transition) transitions.push(`${r.transition}@${k}`);
		}
		expect(values.slice(5, 12)).toEqual([0, 2, 4, 6, 8, 10, 12]); // k = 20 … 26
		expect(Math.max(...(values as number[]))).toBe(12);
		expect(transitions).toEqual(["fire@26", "resolve@57"]);
		const row = await alertRow(id);
		expect(row).toMatchObject({ state: "ok", last_value: 0, last_fired_at: T0 + 26 * MIN + 5_000, last_resolved_at: T0 + 57 * MIN + 5_000 });

		const events = await send("GET", `/v1/alerts/${id}/events`, a.readKey);
		expect(events.body.events.map((e: any) => [e.kind, e.value, e.at])).toEqual([
			["resolved", 0, new Date(T0 + 57 * MIN + 5_000).toISOString()],
			["fired", 12, new Date(T0 + 26 * MIN + 5_000).toISOString()],
		]);
		expect(events.body.events[1].details).toEqual({ threshold: 10, clear: 5 });

		// Two notifications per destination, sent by the delivery pass.
		const deps = testDeps(net, mail);
		const sentAt = T0 + 80 * MIN;
		const report = await runDeliveries(env, deps, { now: sentAt });
		expect(report.sent).toBeGreaterThanOrEqual(6);
		const hooks = net.to(HOOK);
		expect(hooks).toHaveLength(2);
		for (const h of hooks) {
			expect(verifyStandardWebhook(secretA, h.headers, h.body, Math.floor(sentAt / 1000))).toBe(true);
			expect(verifyStandardWebhook("whsec_" + btoa("not the secret"), h.headers, h.body, Math.floor(sentAt / 1000))).toBe(false);
			expect(h.headers.get("content-type")).toBe("application/json");
		}
		const bodies = hooks.map((h) => JSON.parse(h.body));
		expect(bodies.map((b) => b.type).sort()).toEqual(["alert.fired", "alert.resolved"]);
		const fired = bodies.find((b) => b.type === "alert.fired");
		expect(fired).toEqual({
			type: "alert.fired",
			timestamp: new Date(T0 + 26 * MIN + 5_000).toISOString(),
			data: {
				alert: { id, name: "Escalation spike", url: `https://edgewise.test/alerts/${id}` },
				metric: "count",
				window_minutes: 15,
				value: 12,
				condition: { type: "threshold", op: "above", value: 10, clear: 5 },
				details: { threshold: 10, clear: 5 },
			},
		});
		const slack = net.to(SLACK).map((r) => JSON.parse(r.body).text as string);
		expect(slack).toHaveLength(2);
		expect(slack.find((t) => t.startsWith("*FIRING"))).toBe(
			`*FIRING: Escalation spike*\ncount over the last 15 minutes is 12 (fires above 10; it resolves at or below 5).\n<https://edgewise.test/alerts/${id}|Open in Edgewise>`,
		);
		const mails = mail.sent.filter((m) => m.subject.endsWith("Escalation spike"));
		expect(mails.map((m) => m.subject).sort()).toEqual(["[Edgewise] FIRING: Escalation spike", "[Edgewise] RESOLVED: Escalation spike"]);
		expect(mails[0]!.to).toEqual(["ops@example.com", "oncall@example.com"]);
		expect(mails[0]!.from).toBe("Edgewise <reports@edgewise.test>");
		const resolvedMail = mails.find((m) => m.subject.includes("RESOLVED"))!;
		expect(resolvedMail.text).toBe(
			`RESOLVED: Escalation spike\ncount over the last 15 minutes is 0 (fires above 10; it resolves at or below 5).\nAt ${new Date(T0 + 57 * MIN + 5_000).toISOString()}.\n\nhttps://edgewise.test/alerts/${id}\n`,
		);

		// The log: every delivery of the rule, sent, with its outcome.
		const log = await send("GET", `/v1/alerts/${id}/deliveries`, a.readKey);
		expect(log.body.deliveries).toHaveLength(6);
		expect(log.body.deliveries.every((d: any) => d.status === "sent" && d.attempts === 1)).toBe(true);
		expect(log.body.deliveries.filter((d: any) => d.channel === "webhook").map((d: any) => d.response_status)).toEqual([200, 200]);
		expect(new Set(log.body.deliveries.map((d: any) => d.event))).toEqual(new Set(["alert.fired", "alert.resolved"]));
	});

	it("an evaluation that overlaps another applies its transition once", async () => {
		const created = await send("POST", "/v1/alerts", a.readKey, { name: "Twice", query: escalations, window_minutes: 15, condition: { type: "threshold", op: "above", value: 10 }, destinations: [{ type: "email", to: ["x@example.com"] }], enabled: false });
		const row = await alertRow(created.body.id);
		const ctx = await ctxOf(a.id);
		const now = T0 + 26 * MIN;
		const both = await Promise.all([evaluateAlert(env, row, ctx, now), evaluateAlert(env, row, ctx, now + 1)]);
		expect(both.map((r) => r.transition)).toEqual(["fire", "fire"]);
		const { n } = (await env.DB.prepare("SELECT count(*) AS n FROM alert_events WHERE alert_id = ?1").bind(row.id).first<{ n: number }>())!;
		const { d } = (await env.DB.prepare("SELECT count(*) AS d FROM deliveries WHERE source_id = ?1").bind(row.id).first<{ d: number }>())!;
		expect([n, d]).toEqual([1, 1]);
	});

	it("runAlerts evaluates enabled rules at most once a minute", async () => {
		const created = await send("POST", "/v1/alerts", b.readKey, { name: "Once a minute", query: escalations, window_minutes: 15, condition: { type: "threshold", op: "above", value: 1000 }, destinations: [{ type: "email", to: ["x@example.com"] }] });
		const deps = testDeps(net, mail);
		const now = Date.now();
		const first = await runAlerts(env, deps, { now });
		expect(first.evaluated).toBeGreaterThanOrEqual(1);
		expect((await alertRow(created.body.id)).last_evaluated_at).toBe(now);
		await runAlerts(env, deps, { now: now + 30_000 });
		expect((await alertRow(created.body.id)).last_evaluated_at).toBe(now);
		await runAlerts(env, deps, { now: now + 60_000 });
		expect((await alertRow(created.body.id)).last_evaluated_at).toBe(now + 60_000);
		await send("PATCH", `/v1/alerts/${created.body.id}`, b.readKey, { enabled: false });
	});
});

describe("fresh data", () => {
	it("counts events flushed a moment ago (no rollup pass yet), and waits while the hub still holds older ones", async () => {
		const t = await makeTenant("alr-fresh");
		const created = await send("POST", "/v1/alerts", t.readKey, { name: "Fresh", query: escalations, window_minutes: 5, condition: { type: "threshold", op: "above", value: 2 }, destinations: [{ type: "email", to: ["x@example.com"] }], enabled: false });
		const sent = await call("/v1/events", { method: "POST", key: t.ingestKey, json: { events: [ev("conversation_escalated"), ev("conversation_escalated"), ev("conversation_escalated")] } });
		expect(sent.status).toBe(200);
		const now = Date.now() + 61_000; // the events' minute is over
		// Acknowledged but not flushed yet: the evaluation waits for them rather than see 0.
		const waiting = await evaluateAlert(env, await alertRow(created.body.id), await ctxOf(t.id), now);
		expect(waiting).toMatchObject({ deferred: true, transition: null });
		await flush(t.id);
		const r = await evaluateAlert(env, await alertRow(created.body.id), await ctxOf(t.id), now);
		expect(r).toMatchObject({ value: 3, transition: "fire" });
	});
});

describe("anomaly rules", () => {
	const T = Date.UTC(2026, 10, 23, 15, 0); // Monday 2026-11-23 10:00 in New York
	it("fire on a value far from the same window in the previous weeks, and give no verdict without enough history", async () => {
		const t = await makeTenant("alr-anom", { timezone: "America/New_York" });
		const rows: Row[] = [];
		// The same 15 minutes on the four Mondays before: 10, 12, 9, 11 escalations; now 40.
		[10, 12, 9, 11].forEach((n, i) => {
			const start = weeksBefore(T - 15 * MIN, i + 1, "America/New_York");
			for (let j = 0; j < n; j++) rows.push(esc(start + j * 20_000));
		});
		for (let j = 0; j < 40; j++) rows.push(esc(T - 15 * MIN + j * 20_000));
		await insertRows(t.id, rows);
		const created = await send("POST", "/v1/alerts", t.readKey, { name: "Unusual escalations", query: escalations, window_minutes: 15, condition: { type: "anomaly", z: 3 }, destinations: [{ type: "email", to: ["x@example.com"] }], enabled: false });
		const r = await evaluateAlert(env, await alertRow(created.body.id), await ctxOf(t.id), T);
		expect(r.value).toBe(40);
		expect(r.transition).toBe("fire");
		expect(r.details).toMatchObject({ mean: 10.5, weeks: 4, baseline: expect.any(Array) });
		expect((r.details!.baseline as number[]).slice().sort((x, y) => x - y)).toEqual([9, 10, 11, 12]);

		// A tenant whose data starts two weeks ago: two baseline weeks, three needed, no verdict.
		const young = await makeTenant("alr-young", { timezone: "America/New_York" });
		const rows2: Row[] = [];
		[10, 12].forEach((n, i) => {
			const start = weeksBefore(T - 15 * MIN, i + 1, "America/New_York");
			for (let j = 0; j < n; j++) rows2.push(esc(start + j * 20_000));
		});
		for (let j = 0; j < 40; j++) rows2.push(esc(T - 15 * MIN + j * 20_000));
		await insertRows(young.id, rows2);
		const c2 = await send("POST", "/v1/alerts", young.readKey, { name: "Too young", query: escalations, window_minutes: 15, condition: { type: "anomaly", z: 3 }, destinations: [{ type: "email", to: ["x@example.com"] }], enabled: false });
		const r2 = await evaluateAlert(env, await alertRow(c2.body.id), await ctxOf(young.id), T);
		expect(r2).toMatchObject({ value: 40, transition: null });
		expect(r2.details).toMatchObject({ z: null, weeks: 2, reason: "needs 3 weeks of history, has 2" });
		expect(await alertRow(c2.body.id)).toMatchObject({ state: "ok", last_value: 40 });
	});
});

describe("deliveries: retries and outcomes", () => {
	const now0 = Date.UTC(2026, 10, 3, 12, 0);
	const event = (name: string): AlertEvent => ({
		type: "alert.test",
		at: new Date(now0).toISOString(),
		alert: { id: "alr_test", name, url: null },
		metric: "count",
		window_minutes: 15,
		value: 1,
		condition: { type: "threshold", op: "above", value: 10, clear: 10 },
		details: {},
	});
	const queue = async (url: string, name: string, channel: "webhook" | "slack" = "webhook") => {
		const { statements, ids } = queueDeliveries(env.DB, a.id, { kind: "alert", id: "alr_retry" }, [{ type: channel, url }], event(name), now0);
		await env.DB.batch(statements);
		return ids[0]!;
	};
	const row = (id: string) => env.DB.prepare("SELECT * FROM deliveries WHERE id = ?1").bind(id).first<any>();

	it("retries with exponential backoff, the same webhook-id each time, until it is accepted", async () => {
		const net = fakeNet(DNS);
		const url = "https://hooks.example.com/flaky";
		net.on(url, 503, 500, () => new Response("ok", { status: 200 }));
		const deps = testDeps(net, outbox());
		const id = await queue(url, "flaky");
		await runDeliveries(env, deps, { now: now0 });
		expect(await row(id)).toMatchObject({ status: "pending", attempts: 1, response_status: 503, error: "HTTP 503: status 503", next_attempt_at: now0 + backoffMs(1) });
		expect(backoffMs(1)).toBe(60_000);
		// Not due yet: nothing is sent.
		await runDeliveries(env, deps, { now: now0 + 59_000 });
		expect(net.to(url)).toHaveLength(1);
		await runDeliveries(env, deps, { now: now0 + 60_000 });
		expect(await row(id)).toMatchObject({ status: "pending", attempts: 2, response_status: 500, next_attempt_at: now0 + 60_000 + 120_000 });
		await runDeliveries(env, deps, { now: now0 + 180_000 });
		expect(await row(id)).toMatchObject({ status: "sent", attempts: 3, response_status: 200, error: null });
		const tries = net.to(url);
		expect(tries).toHaveLength(3);
		expect(new Set(tries.map((t) => t.headers.get("webhook-id")))).toEqual(new Set([id]));
		expect(tries.map((t) => Number(t.headers.get("webhook-timestamp")))).toEqual([now0, now0 + 60_000, now0 + 180_000].map((t) => t / 1000));
		expect(new Set(tries.map((t) => t.body)).size).toBe(1);
		for (const t of tries) expect(verifyStandardWebhook(secretA, t.headers, t.body, Number(t.headers.get("webhook-timestamp")))).toBe(true);
	});

	it("gives up after MAX_ATTEMPTS; a 4xx is not retried; a refused address never is; Retry-After is honoured", async () => {
		const net = fakeNet({ ...DNS, "evil.example.com": ["127.0.0.1"] });
		const down = "https://hooks.example.com/down";
		const gone = "https://hooks.example.com/gone";
		const slow = "https://hooks.example.com/slow";
		net.on(down); // no answer: connection refused
		net.on(gone, 410);
		net.on(slow, () => new Response("busy", { status: 429, headers: { "retry-after": "600" } }));
		const deps = testDeps(net, outbox());
		const [d, g, s, e] = [await queue(down, "down"), await queue(gone, "gone"), await queue(slow, "slow"), await queue("https://evil.example.com/x", "evil", "slack")];
		let t = now0;
		await runDeliveries(env, deps, { now: t });
		expect(await row(g)).toMatchObject({ status: "failed", attempts: 1, response_status: 410 });
		expect(await row(e)).toMatchObject({ status: "failed", attempts: 1 });
		expect((await row(e)).error).toMatch(/^refused \(private_address\): evil\.example\.com resolves to 127\.0\.0\.1/);
		expect(net.received.some((r) => r.url.includes("evil"))).toBe(false);
		expect(await row(s)).toMatchObject({ status: "pending", next_attempt_at: t + 600_000 });
		for (let i = 1; i < MAX_ATTEMPTS; i++) {
			t = (await row(d)).next_attempt_at;
			await runDeliveries(env, deps, { now: t });
		}
		const last = await row(d);
		expect(last).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS });
		expect(last.error).toMatch(/connection refused.*\(gave up after 8 attempts\)$/);
		expect(net.to(down)).toHaveLength(MAX_ATTEMPTS);
		// The waits between attempts: 1, 2, 4, 8, 16, 32, 60 minutes.
		expect(Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => backoffMs(i + 1) / 60_000)).toEqual([1, 2, 4, 8, 16, 32, 60]);
	});

	it("an email that fails is retried too", async () => {
		const mail = outbox();
		mail.failNext(1);
		const { statements, ids } = queueDeliveries(env.DB, a.id, { kind: "alert", id: "alr_retry" }, [{ type: "email", to: ["ops@example.com"] }], event("mail"), now0);
		await env.DB.batch(statements);
		const deps = testDeps(fakeNet(), mail);
		await runDeliveries(env, deps, { now: now0 });
		expect(await row(ids[0]!)).toMatchObject({ status: "pending", attempts: 1, error: "email not sent: email service unavailable" });
		await runDeliveries(env, deps, { now: now0 + 60_000 });
		expect(await row(ids[0]!)).toMatchObject({ status: "sent", attempts: 2 });
		expect(mail.sent.map((m) => m.subject)).toEqual(["[Edgewise] TEST: mail"]);
	});
});

describe("POST /v1/alerts/{id}/test", () => {
	it("sends a test notification to every destination at once, signed, and logs each", async () => {
		const outside: { url: string; headers: Headers; body: string }[] = [];
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const req = new Request(input as RequestInfo, init);
			outside.push({ url: req.url, headers: req.headers, body: await req.text() });
			const url = new URL(req.url);
			// Cloudflare's DNS over HTTPS (the production resolver), then the receivers.
			if (url.hostname === "cloudflare-dns.com") {
				const name = url.searchParams.get("name")!;
				const type = url.searchParams.get("type");
				const answers = type === "A" ? (DNS as Record<string, string[]>)[name]?.filter((x) => !x.includes(":")) : (DNS as Record<string, string[]>)[name]?.filter((x) => x.includes(":"));
				return Response.json({ Status: answers ? 0 : 3, Answer: (answers ?? []).map((data) => ({ name, type: type === "A" ? 1 : 28, TTL: 60, data })) });
			}
			if (req.url === HOOK || req.url === SLACK) return new Response("ok");
			throw new TypeError("fetch failed");
		});
		const sends: any[] = [];
		vi.spyOn(env.EMAIL as any, "send").mockImplementation(async (m: any) => {
			sends.push(m);
			return { messageId: "<t@x>" };
		});
		const created = await send("POST", "/v1/alerts", a.readKey, {
			name: "Response time p95",
			query: { metrics: ["p95:response_time_ms"], filters: [["is", "event", "message_sent"]] },
			window_minutes: 60,
			condition: { type: "threshold", op: "above", value: 60_000 },
			destinations: [{ type: "webhook", url: HOOK }, { type: "slack", url: SLACK }, { type: "email", to: ["ops@example.com"] }],
			enabled: false,
		});
		expect(created.status).toBe(201);
		const before = Math.floor(Date.now() / 1000);
		const r = await send("POST", `/v1/alerts/${created.body.id}/test`, a.readKey);
		expect(r.status, JSON.stringify(r.body)).toBe(200);
		expect(r.body.event).toMatchObject({ type: "alert.test", metric: "p95:response_time_ms", value: null, alert: { id: created.body.id, name: "Response time p95" } });
		expect(r.body.deliveries.map((d: any) => [d.channel, d.status, d.attempts, d.event]).sort()).toEqual([
			["email", "sent", 1, "alert.test"],
			["slack", "sent", 1, "alert.test"],
			["webhook", "sent", 1, "alert.test"],
		]);
		const hook = outside.find((q) => q.url === HOOK)!;
		const body = hook.body;
		expect(verifyStandardWebhook(secretA, hook.headers, body, before, 60)).toBe(true);
		expect(JSON.parse(body).type).toBe("alert.test");
		expect(outside.filter((q) => q.url.startsWith("https://cloudflare-dns.com/dns-query?name=hooks.example.com")).map((q) => new URL(q.url).searchParams.get("type")).sort()).toEqual(["A", "AAAA"]);
		expect(sends).toHaveLength(1);
		expect(sends[0]).toMatchObject({ to: ["ops@example.com"], subject: "[Edgewise] TEST: Response time p95" });
		expect(sends[0].text).toMatch(/^This is a test notification of the alert below; nothing has changed\.\n\nTEST: Response time p95\np95:response_time_ms over the last 60 minutes is – \(fires above 60,000\)\./);
		const events = await send("GET", `/v1/alerts/${created.body.id}/events`, a.readKey);
		expect(events.body.events.map((e: any) => e.kind)).toEqual(["test"]);
		// The rule itself did not change.
		expect((await send("GET", `/v1/alerts/${created.body.id}`, a.readKey)).body).toMatchObject({ state: "ok", last_evaluated_at: null });
		const log = await send("GET", `/v1/deliveries?source_kind=alert&source_id=${created.body.id}&channel=webhook`, a.readKey);
		expect(log.body.deliveries).toHaveLength(1);
		expect(log.body.deliveries[0]).toMatchObject({ target: HOOK, status: "sent", response_status: 200 });
	});
});

describe("rotation: two valid secrets", () => {
	it("signs with both while the previous one is valid, then with the new one only", async () => {
		const t = await withAdminKey(await makeTenant("alr-rot"));
		const first = (await send("POST", "/v1/webhook-secrets", t.adminKey, {})).body.secret as string;
		const rotated = await send("POST", "/v1/webhook-secrets", t.adminKey, { previous_valid_hours: 2 });
		expect(rotated.status).toBe(201);
		expect(rotated.body.previous).toEqual({ id: expect.stringMatching(/^whk_/), expires_at: expect.any(String) });
		const second = rotated.body.secret as string;
		expect((await send("GET", "/v1/webhook-secrets", t.readKey)).body.secrets.map((s: any) => s.status)).toEqual(["current", "previous"]);
		const net = fakeNet(DNS);
		net.on(HOOK, 200);
		const deps = testDeps(net, outbox());
		const ev1: AlertEvent = { type: "alert.test", at: new Date().toISOString(), alert: { id: "alr_x", name: "rot", url: null }, metric: "count", window_minutes: 5, value: 0, condition: { type: "threshold", op: "above", value: 1, clear: 1 }, details: {} };
		const now = Date.now();
		for (const at of [now, now + 3 * 3_600_000]) {
			const { statements } = queueDeliveries(env.DB, t.id, { kind: "alert", id: "alr_x" }, [{ type: "webhook", url: HOOK }], ev1, at);
			await env.DB.batch(statements);
			await runDeliveries(env, deps, { now: at });
		}
		const [during, after] = net.to(HOOK);
		const sec = (r: typeof during) => Number(r!.headers.get("webhook-timestamp"));
		expect(during!.headers.get("webhook-signature")!.split(" ")).toHaveLength(2);
		expect(verifyStandardWebhook(first, during!.headers, during!.body, sec(during))).toBe(true);
		expect(verifyStandardWebhook(second, during!.headers, during!.body, sec(during))).toBe(true);
		expect(after!.headers.get("webhook-signature")!.split(" ")).toHaveLength(1);
		expect(verifyStandardWebhook(second, after!.headers, after!.body, sec(after))).toBe(true);
		expect(verifyStandardWebhook(first, after!.headers, after!.body, sec(after))).toBe(false);
		// A third rotation ends the oldest at once: never more than two valid.
		await send("POST", "/v1/webhook-secrets", t.adminKey, {});
		expect((await send("GET", "/v1/webhook-secrets", t.readKey)).body.secrets).toHaveLength(2);
	});
});
