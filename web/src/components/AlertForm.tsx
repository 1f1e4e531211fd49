import { useState } from "preact/hooks";
import type { ApiFailure } from "../api/client";
import type { Tenant } from "../api/types";
import { type Alert, asFailure, type CreateAlertInput, type OpsClient } from "../api/ops";
import { type DestDraft, destinationsOf, DestinationsField, draftsOf } from "./Destinations";
import { ErrorNote } from "./States";

type Filter = unknown[];
const isEventFilter = (f: unknown): f is ["is", "event", string] => Array.isArray(f) && f[0] === "is" && f[1] === "event" && typeof f[2] === "string";

/** The metrics a rule can watch, as POST /v1/query names them. */
export const metricChoices = (tenant: Tenant) => ["count", "uniques", ...tenant.metric_props.flatMap((p) => [`p95:${p}`, `p50:${p}`, `avg:${p}`, `sum:${p}`])];

/** "count of conversation_escalated above 5 (resolves at or below 5) over 15 min". */
export function conditionText(a: Pick<Alert, "condition" | "window_minutes">): string {
	const c = a.condition;
	const over = `over ${minutes(a.window_minutes)}`;
	if (c.type === "threshold") return `${c.op} ${c.value}${c.clear !== c.value ? ` (resolves ${c.op === "above" ? "at or below" : "at or above"} ${c.clear})` : ""} ${over}`;
	const against = c.method === "seasonal" ? "the seasonal pattern of its buckets" : `${c.weeks} weeks of the same hour`;
	return `anomaly ${c.direction === "both" ? "up or down" : c.direction}: |z| ≥ ${c.z} against ${against} (resolves below ${c.clear_z}) ${over}`;
}
export const minutes = (m: number) => (m % 1440 === 0 ? `${m / 1440} d` : m % 60 === 0 ? `${m / 60} h` : `${m} min`);
export const metricOf = (a: Pick<Alert, "query">) => {
	const m = a.query.metrics.find((x) => !(typeof x === "object" && x && (x as { hidden?: boolean }).hidden));
	return typeof m === "string" ? m : JSON.stringify(m);
};
export const eventOf = (a: Pick<Alert, "query">) => (a.query.filters ?? []).find(isEventFilter)?.[2] ?? null;

const val = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

/** Creates or edits an alert rule (POST /v1/alerts, PATCH /v1/alerts/{id}). */
export function AlertForm({ ops, tenant, alert, onSaved, onCancel }: { ops: OpsClient; tenant: Tenant; alert: Alert | null; onSaved: (a: Alert) => void; onCancel: () => void }) {
	const c = alert?.condition;
	const [name, setName] = useState(alert?.name ?? "");
	const [metric, setMetric] = useState(alert ? metricOf(alert) : "count");
	const [event, setEvent] = useState(alert ? (eventOf(alert) ?? "") : "");
	const [windowMin, setWindowMin] = useState(String(alert?.window_minutes ?? 15));
	const [type, setType] = useState<"threshold" | "anomaly">(c?.type ?? "threshold");
	const [op, setOp] = useState<"above" | "below">(c?.type === "threshold" ? c.op : "above");
	const [value, setValue] = useState(c?.type === "threshold" ? String(c.value) : "");
	const [clear, setClear] = useState(c?.type === "threshold" && c.clear !== c.value ? String(c.clear) : "");
	const [direction, setDirection] = useState<"up" | "down" | "both">(c?.type === "anomaly" ? c.direction : "up");
	const [z, setZ] = useState(c?.type === "anomaly" ? String(c.z) : "3");
	const [weeks, setWeeks] = useState(c?.type === "anomaly" ? String(c.weeks) : "4");
	const [method, setMethod] = useState<"weeks" | "seasonal">(c?.type === "anomaly" && c.method === "seasonal" ? "seasonal" : "weeks");
	const [interval, setInterval] = useState(String(alert?.min_interval_minutes ?? 60));
	const [enabled, setEnabled] = useState(alert?.enabled ?? true);
	const [dests, setDests] = useState<DestDraft[]>(alert ? draftsOf(alert.destinations) : [{ type: "email", value: "" }]);
	const [error, setError] = useState<ApiFailure | null>(null);
	const [busy, setBusy] = useState(false);
	// Filters other than the event's are kept as they are (the API takes any query filter).
	const otherFilters: Filter[] = ((alert?.query.filters ?? []) as Filter[]).filter((f) => !isEventFilter(f));

	const submit = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		const filters = [...(event.trim() ? [["is", "event", event.trim()]] : []), ...otherFilters];
		const condition =
			type === "threshold"
				? { type: "threshold" as const, op, value: Number(value), ...(clear.trim() ? { clear: Number(clear) } : {}) }
				: { type: "anomaly" as const, direction, z: Number(z), ...(method === "seasonal" ? { method } : { weeks: Number(weeks) }) };
		const body: CreateAlertInput = {
			name: name.trim(),
			query: { ...(alert ? alert.query : {}), metrics: [metric.trim()], filters },
			window_minutes: Number(windowMin),
			condition,
			min_interval_minutes: Number(interval),
			destinations: destinationsOf(dests),
			enabled,
		};
		try {
			onSaved(alert ? await ops.alerts.update(alert.id, body) : await ops.alerts.create(body));
		} catch (err) {
			setError(asFailure(err));
		} finally {
			setBusy(false);
		}
	};

	return (
		<form class="form-grid panel" onSubmit={submit} data-testid="alert-form" aria-label={alert ? "Edit alert" : "New alert"}>
			<h2 style={{ flexBasis: "100%", margin: 0 }}>{alert ? `Edit “${alert.name}”` : "New alert"}</h2>
			<label class="full">
				Name
				<input name="alert-name" value={name} required maxLength={200} placeholder="Escalations spike" onInput={(e) => setName(val(e))} />
			</label>
			<label>
				Metric
				<input name="metric" value={metric} required list="alert-metrics" onInput={(e) => setMetric(val(e))} />
				<datalist id="alert-metrics">
					{metricChoices(tenant).map((m) => (
						<option value={m} />
					))}
				</datalist>
			</label>
			<label>
				Of the event (empty: every event)
				<input name="event" value={event} placeholder="conversation_escalated" onInput={(e) => setEvent(val(e))} />
			</label>
			<label>
				Over the last (minutes)
				<input name="window" type="number" min={1} max={10080} required value={windowMin} onInput={(e) => setWindowMin(val(e))} />
			</label>
			{otherFilters.length > 0 && (
				<p class="muted small" style={{ flexBasis: "100%", margin: 0 }}>
					Also filtered by <code>{JSON.stringify(otherFilters)}</code> (kept as saved).
				</p>
			)}
			<fieldset class="full-set">
				<legend>Condition</legend>
				<div class="form-grid">
					<label>
						Type
						<select name="condition" value={type} onChange={(e) => setType(val(e) === "anomaly" ? "anomaly" : "threshold")}>
							<option value="threshold">threshold</option>
							<option value="anomaly">anomaly (unusual for the hour)</option>
						</select>
					</label>
					{type === "threshold" ? (
						<>
							<label>
								Fires when the value is
								<select name="op" value={op} onChange={(e) => setOp(val(e) === "below" ? "below" : "above")}>
									<option value="above">above</option>
									<option value="below">below</option>
								</select>
							</label>
							<label>
								Threshold
								<input name="threshold" type="number" step="any" required value={value} onInput={(e) => setValue(val(e))} />
							</label>
							<label>
								Resolves at (hysteresis; empty: the threshold)
								<input name="clear" type="number" step="any" value={clear} onInput={(e) => setClear(val(e))} />
							</label>
						</>
					) : (
						<>
							<label>
								Direction
								<select name="direction" value={direction} onChange={(e) => setDirection(val(e) as "up" | "down" | "both")}>
									<option value="up">up (spikes)</option>
									<option value="down">down (drops)</option>
									<option value="both">both</option>
								</select>
							</label>
							<label>
								Standard deviations (z)
								<input name="z" type="number" step="any" min={0.5} max={20} required value={z} onInput={(e) => setZ(val(e))} />
							</label>
							<label>
								Baseline
								<select name="method" value={method} onChange={(e) => setMethod(val(e) === "seasonal" ? "seasonal" : "weeks")}>
									<option value="weeks">the same window in past weeks</option>
									<option value="seasonal">seasonal (window of 60 or 1440 min)</option>
								</select>
							</label>
							{method === "weeks" && (
								<label>
									Baseline weeks
									<input name="weeks" type="number" min={2} max={12} required value={weeks} onInput={(e) => setWeeks(val(e))} />
								</label>
							)}
						</>
					)}
					<label>
						At most one notification every (minutes)
						<input name="min_interval" type="number" min={0} max={10080} required value={interval} onInput={(e) => setInterval(val(e))} />
					</label>
				</div>
			</fieldset>
			<div style={{ flexBasis: "100%" }}>
				<DestinationsField drafts={dests} onChange={setDests} idPrefix="alert" />
			</div>
			<label class="check">
				<input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled((e.currentTarget as HTMLInputElement).checked)} />
				Enabled (evaluated every minute)
			</label>
			{error && (
				<div style={{ flexBasis: "100%" }}>
					<ErrorNote error={error} title="The alert was not saved" />
				</div>
			)}
			<div class="actions row-gap">
				<button type="submit" class="primary" disabled={busy}>
					{alert ? "Save alert" : "Create alert"}
				</button>
				<button type="button" onClick={onCancel}>
					Cancel
				</button>
			</div>
		</form>
	);
}
