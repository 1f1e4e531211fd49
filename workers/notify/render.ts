// What a notification says, per channel, from one stored event (deliveries.payload): an alert that
// fired, resolved or is tested, or a scheduled report ready with its KPIs and its file's link.
// Rendering is a pure function of the event, so a retry sends exactly the same body.

/** A condition as an alert stores it (workers/alerts/model.ts). */
export type ConditionJson =
	| { type: "threshold"; op: "above" | "below"; value: number; clear: number }
	| {
			type: "anomaly";
			/** "weeks" (default): z-score against the same window in past weeks; "seasonal": the insights detector on the window's buckets. */
			method?: "weeks" | "seasonal";
			direction: "up" | "down" | "both";
			z: number;
			clear_z: number;
			weeks: number;
			min_weeks: number;
			min_delta: number;
	  };

export interface AlertEvent {
	type: "alert.fired" | "alert.resolved" | "alert.test";
	at: string;
	alert: { id: string; name: string; url: string | null };
	/** The watched metric's name in the alert's query. */
	metric: string;
	window_minutes: number;
	value: number | null;
	condition: ConditionJson;
	/** Anomalies: the baseline (mean, std, z, weeks used). */
	details: Record<string, unknown>;
}

export interface Kpi {
	report: string;
	metric: string;
	value: number | null;
	previous: number | null;
	change_pct: number | null;
}

export interface ReportEvent {
	type: "report.ready";
	at: string;
	schedule: { id: string; name: string; when: string };
	target: { kind: "report" | "board"; id: string; name: string };
	format: string;
	timezone: string;
	kpis: Kpi[];
	/** Why the KPIs could not be computed (the file may still be fine). */
	kpi_error: string | null;
	/** Filled once the export is done. */
	export: { id: string; url: string; expires_at: string; rows: number; bytes: number; filename: string } | null;
}

export type NotifyEvent = AlertEvent | ReportEvent;

/** 1234567 → "1,234,567"; 0.12345 → "0.123"; null → "–". */
export function formatNumber(v: number | null): string {
	if (v == null || !Number.isFinite(v)) return "–";
	if (Number.isInteger(v)) return v.toLocaleString("en-US");
	const abs = Math.abs(v);
	return v.toLocaleString("en-US", { maximumFractionDigits: abs >= 100 ? 1 : abs >= 1 ? 2 : 3 });
}

/** "+12.5%", "−3.0%", "±0.0%"; "from 0" when the earlier value was 0, "no earlier value" when there was none. */
export function formatChange(pct: number | null, previous?: number | null): string {
	if (pct != null) return `${pct > 0 ? "+" : pct < 0 ? "−" : "±"}${Math.abs(pct).toFixed(1)}%`;
	return previous === 0 ? "from 0" : "no earlier value";
}

export function formatBytes(n: number): string {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
	return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const STATE = { "alert.fired": "FIRING", "alert.resolved": "RESOLVED", "alert.test": "TEST" } as const;

/** One sentence: what the value is against the condition. */
export function alertSentence(e: AlertEvent): string {
	const c = e.condition;
	const what = `${e.metric} over the last ${e.window_minutes} minutes is ${formatNumber(e.value)}`;
	if (c.type === "threshold") {
		const band = c.clear === c.value ? "" : `; it resolves ${c.op === "above" ? "at or below" : "at or above"} ${formatNumber(c.clear)}`;
		return `${what} (fires ${c.op} ${formatNumber(c.value)}${band}).`;
	}
	const d = e.details as { mean?: number; std?: number; z?: number | null; weeks?: number };
	if (d.z == null) return `${what}; no anomaly verdict: ${String(e.details.reason ?? "not enough history")}.`;
	return `${what}, ${formatNumber(Math.abs(d.z))} standard deviations ${d.z >= 0 ? "above" : "below"} its usual ${formatNumber(d.mean ?? null)} ± ${formatNumber(d.std ?? null)} (the same ${e.window_minutes} minutes of the week over the ${d.weeks} weeks before; fires at |z| ≥ ${c.z}, resolves below ${c.clear_z}).`;
}

export function alertSubject(e: AlertEvent): string {
	return `[Edgewise] ${STATE[e.type]}: ${e.alert.name}`;
}

function reportLines(e: ReportEvent): string[] {
	const lines = e.kpis.map((k) => `• ${k.report} · ${k.metric}: ${formatNumber(k.value)} (${formatChange(k.change_pct, k.previous)})`);
	if (e.kpi_error) lines.push(`(The key figures could not be computed: ${e.kpi_error})`);
	return lines;
}

const fileLine = (e: ReportEvent) =>
	e.export ? `${e.export.filename} (${e.format.toUpperCase()}, ${formatBytes(e.export.bytes)}; the link works until ${e.export.expires_at})` : "";

export function reportSubject(e: ReportEvent): string {
	return `[Edgewise] ${e.schedule.name || e.target.name}: ${e.at.slice(0, 10)}`;
}

export interface EmailContent {
	subject: string;
	text: string;
	html: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

export function renderEmail(e: NotifyEvent): EmailContent {
	if (e.type === "report.ready") {
		const text = [
			`${e.target.name} (${e.target.kind}), ${e.schedule.when}.`,
			"",
			e.kpis.length ? "Key figures, against the previous period:" : "",
			...reportLines(e),
			"",
			e.export ? `Download ${fileLine(e)}:` : "",
			e.export?.url ?? "",
		]
			.filter((l, i, all) => l !== "" || (i > 0 && all[i - 1] !== ""))
			.join("\n")
			.trim();
		const rows = e.kpis
			.map((k) => `<tr><td>${esc(k.report)}</td><td>${esc(k.metric)}</td><td style="text-align:right">${esc(formatNumber(k.value))}</td><td style="text-align:right">${esc(formatChange(k.change_pct, k.previous))}</td></tr>`)
			.join("");
		const html = [
			`<p><strong>${esc(e.target.name)}</strong> (${e.target.kind}), ${esc(e.schedule.when)}.</p>`,
			e.kpis.length ? `<table cellpadding="4"><thead><tr><th>Report</th><th>Metric</th><th>Value</th><th>Change</th></tr></thead><tbody>${rows}</tbody></table>` : "",
			e.kpi_error ? `<p>The key figures could not be computed: ${esc(e.kpi_error)}</p>` : "",
			e.export ? `<p><a href="${esc(e.export.url)}">Download ${esc(fileLine(e))}</a></p>` : "",
		].join("");
		return { subject: reportSubject(e), text: `${text}\n`, html };
	}
	const sentence = alertSentence(e);
	const link = e.alert.url ? `\n\n${e.alert.url}` : "";
	const head = e.type === "alert.test" ? "This is a test notification of the alert below; nothing has changed.\n\n" : "";
	const text = `${head}${STATE[e.type]}: ${e.alert.name}\n${sentence}\nAt ${e.at}.${link}\n`;
	const html = `${head ? `<p>${esc(head.trim())}</p>` : ""}<p><strong>${STATE[e.type]}: ${esc(e.alert.name)}</strong></p><p>${esc(sentence)}</p><p>At ${esc(e.at)}.</p>${e.alert.url ? `<p><a href="${esc(e.alert.url)}">${esc(e.alert.url)}</a></p>` : ""}`;
	return { subject: alertSubject(e), text, html };
}

/** Slack escapes: &, < and > (https://api.slack.com/reference/surfaces/formatting#escaping). */
const slackEsc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An incoming-webhook message: `text` in Slack's mrkdwn. */
export function renderSlack(e: NotifyEvent): { text: string } {
	if (e.type === "report.ready") {
		const lines = [`*${slackEsc(e.target.name)}* (${e.target.kind}), ${slackEsc(e.schedule.when)}`, ...reportLines(e).map(slackEsc)];
		if (e.export) lines.push(`<${e.export.url}|Download ${slackEsc(fileLine(e))}>`);
		return { text: lines.join("\n") };
	}
	const link = e.alert.url ? `\n<${e.alert.url}|Open in Edgewise>` : "";
	return { text: `*${STATE[e.type]}: ${slackEsc(e.alert.name)}*\n${slackEsc(alertSentence(e))}${link}` };
}

/** A webhook body, Standard Webhooks' payload convention: {type, timestamp, data}. */
export function renderWebhook(e: NotifyEvent): string {
	const { type, at, ...data } = e;
	return JSON.stringify({ type, timestamp: at, data });
}
