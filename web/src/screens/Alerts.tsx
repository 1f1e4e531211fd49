import { useEffect, useMemo, useState } from "preact/hooks";
import type { ScreenProps } from "../App";
import type { ApiFailure } from "../api/client";
import { type Alert, asFailure, type Delivery, type OpsClient, opsFor } from "../api/ops";
import { AlertForm, conditionText, eventOf, metricOf, minutes } from "../components/AlertForm";
import { ConfirmButton } from "../components/Confirm";
import { DeliveryTable } from "../components/DeliveryLog";
import { destinationText } from "../components/Destinations";
import { Empty, ErrorNote, Skeleton } from "../components/States";
import { useLoad, useTitle } from "../hooks";
import { when } from "../lib/format";
import { navigate, onLinkClick } from "../router";
import "../ops.css";

/** ok, firing, or resolved (ok again after having fired): what the rule is now. */
export const stateOf = (a: Alert) => (a.state === "firing" ? "firing" : a.last_resolved_at ? "resolved" : "ok");

function StatePill({ alert }: { alert: Alert }) {
	const s = stateOf(alert);
	return (
		<span class={`pill state-${s}`} data-testid="alert-state" data-value={s}>
			{alert.enabled ? s : `${s} · paused`}
		</span>
	);
}

/**
 * /alerts: the workspace's alert rules and their state (`?new` opens the form); /alerts/<id>: one
 * rule (the link in its notifications): its condition, state, history, deliveries, a Test button,
 * edit (`?edit`) and delete.
 */
export function Alerts(props: ScreenProps) {
	const ops = useMemo(() => opsFor(props.secret), [props.secret]);
	const id = props.path.startsWith("/alerts/") ? decodeURIComponent(props.path.slice("/alerts/".length)) : null;
	return id ? <OneAlert {...props} ops={ops} id={id} /> : <AlertList {...props} ops={ops} />;
}

function AlertList({ ops, info, search, onAuthError }: ScreenProps & { ops: OpsClient }) {
	useTitle("Alerts");
	const creating = new URLSearchParams(search).has("new");
	const load = useLoad("alerts", (signal) => ops.alerts.list(signal));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);
	const alerts = load.data?.alerts ?? null;
	return (
		<div style={{ display: "grid", gap: "1rem" }} class="alerts-page" data-state={load.status === "ok" ? "ready" : load.status}>
			<div class="page-head">
				<div>
					<h1>Alerts</h1>
					<p class="muted small" style={{ margin: 0 }}>
						Rules on any metric over a recent window, checked every minute; notifications by email, Slack or signed webhooks.
					</p>
				</div>
				{!creating && (
					<a class="button primary" href="/alerts?new" onClick={onLinkClick}>
						New alert
					</a>
				)}
			</div>
			{creating && <AlertForm ops={ops} tenant={info.tenant} alert={null} onSaved={(a) => navigate(`/alerts/${a.id}`)} onCancel={() => navigate("/alerts", { replace: true })} />}
			{load.error && <ErrorNote error={load.error} title="Alerts could not be loaded" onRetry={load.reload} />}
			{!alerts ? (
				!load.error && <Skeleton height={160} />
			) : alerts.length === 0 ? (
				!creating && (
					<Empty title="No alerts yet">
						<p>“New alert” watches a metric (for example the count of conversation_escalated over 15 minutes) and tells you when it crosses a threshold or leaves its usual range.</p>
					</Empty>
				)
			) : (
				<section class="panel">
					<div class="table-wrap" tabIndex={0} role="region" aria-label="Alert rules">
						<table data-testid="alert-list" class="stack">
							<caption class="sr-only">Alert rules</caption>
							<thead>
								<tr>
									<th scope="col">Alert</th>
									<th scope="col">Watches</th>
									<th scope="col">State</th>
									<th scope="col" class="num">
										Last value
									</th>
									<th scope="col">
										Last fired <span class="muted small">({info.tenant.timezone})</span>
									</th>
								</tr>
							</thead>
							<tbody>
								{alerts.map((a) => (
									<tr data-alert={a.id} data-state={stateOf(a)}>
										<td data-label="Alert">
											<a href={`/alerts/${a.id}`} onClick={onLinkClick}>
												{a.name}
											</a>
										</td>
										<td class="small" data-label="Watches">
											{metricOf(a)}
											{eventOf(a) ? ` of ${eventOf(a)}` : ""} {conditionText(a)}
										</td>
										<td data-label="State">
											<StatePill alert={a} />
										</td>
										<td class="num" data-label="Last value">{a.last_value == null ? "–" : a.last_value.toLocaleString("en-US")}</td>
										<td data-label={`Last fired (${info.tenant.timezone})`}>{when(a.last_fired_at, info.tenant.timezone)}</td>
									</tr>
								))}
							</tbody>
						</table>
					</div>
				</section>
			)}
		</div>
	);
}

function OneAlert({ ops, id, info, search, onAuthError }: ScreenProps & { ops: OpsClient; id: string }) {
	const editing = new URLSearchParams(search).has("edit");
	const load = useLoad(`alert:${id}`, (signal) => Promise.all([ops.alerts.get(id, signal), ops.alerts.events(id, signal), ops.alerts.deliveries(id, signal)]));
	const [testing, setTesting] = useState(false);
	const [tested, setTested] = useState<Delivery[] | null>(null);
	const [error, setError] = useState<{ what: string; e: ApiFailure } | null>(null);
	const [confirm, setConfirm] = useState(false);
	useTitle(load.data ? `Alert: ${load.data[0].name}` : "Alert");
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);

	if (load.error && !load.data)
		return load.error.status === 404 ? (
			<div class="state" data-testid="alert-missing">
				<h1>No such alert</h1>
				<p>
					It may have been deleted, or it belongs to another workspace than the one you are signed in to.{" "}
					<a href="/alerts" onClick={onLinkClick}>
						See the alerts
					</a>
				</p>
			</div>
		) : (
			<ErrorNote error={load.error} title="The alert could not be loaded" onRetry={load.reload} />
		);
	if (!load.data) return <Skeleton height={300} />;
	const [alert, { events }, { deliveries }] = load.data;

	const test = async () => {
		setTesting(true);
		setError(null);
		setTested(null);
		try {
			setTested((await ops.alerts.test(id)).deliveries);
			load.reload();
		} catch (err) {
			setError({ what: "No test notification was sent", e: asFailure(err) });
		} finally {
			setTesting(false);
		}
	};
	const remove = async () => {
		try {
			await ops.alerts.remove(id);
			navigate("/alerts");
		} catch (err) {
			setError({ what: "The alert was not deleted", e: asFailure(err) });
		}
	};
	const toggle = async () => {
		try {
			await ops.alerts.update(id, { enabled: !alert.enabled });
			load.reload();
		} catch (err) {
			setError({ what: "The alert was not changed", e: asFailure(err) });
		}
	};

	return (
		<div style={{ display: "grid", gap: "1rem" }} class="alert-page" data-state={load.status === "ok" ? "ready" : load.status} data-alert={id}>
			<div class="page-head">
				<div>
					<p class="crumbs small">
						<a href="/alerts" onClick={onLinkClick}>
							Alerts
						</a>
					</p>
					<h1 data-testid="alert-name">{alert.name}</h1>
				</div>
				<div class="controls">
					<button type="button" class="primary" onClick={test} disabled={testing}>
						{testing ? "Sending…" : "Test"}
					</button>
					<a class="button" href={editing ? `/alerts/${id}` : `/alerts/${id}?edit`} onClick={onLinkClick}>
						{editing ? "Close editor" : "Edit"}
					</a>
					<button type="button" onClick={toggle}>
						{alert.enabled ? "Pause" : "Resume"}
					</button>
					<ConfirmButton asking={confirm} onAsk={() => setConfirm(true)} onCancel={() => setConfirm(false)} onConfirm={remove} label="Delete" yes="Yes, delete" />
				</div>
			</div>
			{error && <ErrorNote error={error.e} title={error.what} />}
			{tested && (
				<p class="state" role="status" data-testid="test-result">
					Test sent to {tested.length} destination{tested.length === 1 ? "" : "s"}: {tested.map((d) => `${d.channel} ${d.status}${d.response_status ? ` (HTTP ${d.response_status})` : ""}`).join(", ")}.
				</p>
			)}
			{editing && (
				<AlertForm
					ops={ops}
					tenant={info.tenant}
					alert={alert}
					onSaved={() => {
						navigate(`/alerts/${id}`, { replace: true });
						load.reload();
					}}
					onCancel={() => navigate(`/alerts/${id}`, { replace: true })}
				/>
			)}
			<section class="panel" aria-labelledby="rule-title">
				<h2 id="rule-title" class="panel-head">
					Rule
				</h2>
				<dl class="meta rule">
					<div>
						<dt>state</dt>
						<dd>
							<StatePill alert={alert} />
						</dd>
					</div>
					<div>
						<dt>watches</dt>
						<dd data-testid="alert-metric">
							{metricOf(alert)}
							{eventOf(alert) ? ` of ${eventOf(alert)}` : " of every event"}
						</dd>
					</div>
					<div>
						<dt>fires</dt>
						<dd data-testid="alert-condition">{conditionText(alert)}</dd>
					</div>
					<div>
						<dt>notifies at most every</dt>
						<dd>{minutes(alert.min_interval_minutes)}</dd>
					</div>
					<div>
						<dt>last value</dt>
						<dd>
							{alert.last_value == null ? "–" : alert.last_value.toLocaleString("en-US")}
							{alert.last_evaluated_at && <span class="muted"> at {when(alert.last_evaluated_at, info.tenant.timezone)} ({info.tenant.timezone})</span>}
						</dd>
					</div>
					<div>
						<dt>destinations</dt>
						<dd>{alert.destinations.map(destinationText).join("; ")}</dd>
					</div>
				</dl>
			</section>
			<div class="grid two">
				<section class="panel" aria-labelledby="history-title">
					<h2 id="history-title" class="panel-head">
						History
					</h2>
					{events.length === 0 ? (
						<p class="muted small">Not fired yet. “Test” sends a test notification to every destination now.</p>
					) : (
						<div class="table-wrap" tabIndex={0} role="region" aria-label="History">
							<table data-testid="alert-events" class="small">
								<caption class="sr-only">Fired, resolved and test events</caption>
								<thead>
									<tr>
										<th scope="col">
											When <span class="muted">({info.tenant.timezone})</span>
										</th>
										<th scope="col">Event</th>
										<th scope="col" class="num">
											Value
										</th>
									</tr>
								</thead>
								<tbody>
									{events.map((e) => (
										<tr data-kind={e.kind}>
											<td>{when(e.at, info.tenant.timezone)}</td>
											<td>
												<span class={`pill state-${e.kind === "fired" ? "firing" : e.kind}`}>{e.kind}</span>
												{typeof e.details.error === "string" && <div class="muted">{e.details.error}</div>}
											</td>
											<td class="num">{e.value == null ? "–" : e.value.toLocaleString("en-US")}</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					)}
				</section>
				<section class="panel" aria-labelledby="deliveries-title">
					<h2 id="deliveries-title" class="panel-head">
						Deliveries
					</h2>
					<DeliveryTable deliveries={deliveries} timezone={info.tenant.timezone} empty="Nothing delivered yet." onReload={load.reload} />
				</section>
			</div>
		</div>
	);
}
