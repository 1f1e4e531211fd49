import { useMemo, useState } from "preact/hooks";
import type { ApiFailure } from "../api/client";
import { asFailure, type NewWebhookSecret, opsFor } from "../api/ops";
import { useLoad } from "../hooks";
import { when } from "../lib/boards";
import { CopyButton } from "./Copy";
import { ErrorNote, Skeleton } from "./States";
import "../ops.css";
import { ListHead } from "./Table";

/**
 * The workspace's webhook signing secrets (`/v1/webhook-secrets`, Standard Webhooks `whsec_…`):
 * every key sees which are valid; an admin key creates or rotates (the previous secret stays valid
 * for a while, so receivers can switch) and revokes. A new secret is shown once.
 */
export function WebhookSecrets({ secret, admin }: { secret: string; admin: boolean }) {
	const ops = useMemo(() => opsFor(secret), [secret]);
	const load = useLoad("webhook-secrets", (signal) => ops.secrets.list(signal));
	const [hours, setHours] = useState("24");
	const [made, setMade] = useState<NewWebhookSecret | null>(null);
	const [error, setError] = useState<{ what: string; e: ApiFailure } | null>(null);
	const [busy, setBusy] = useState(false);
	const secrets = load.data?.secrets ?? null;
	const hasCurrent = secrets?.some((s) => s.status === "current") ?? false;

	const rotate = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		try {
			setMade(await ops.secrets.rotate(Number(hours)));
			load.reload();
		} catch (err) {
			setError({ what: "No secret was created", e: asFailure(err) });
		} finally {
			setBusy(false);
		}
	};
	const revoke = async (id: string) => {
		setError(null);
		try {
			await ops.secrets.remove(id);
		} catch (err) {
			setError({ what: "The secret was not revoked", e: asFailure(err) });
		}
		load.reload();
	};

	return (
		<section class="panel" aria-labelledby="whsec-title" data-testid="webhook-secrets" data-state={load.status === "ok" ? "ready" : load.status}>
			<h2 id="whsec-title" class="panel-head">
				Webhook signing secret
			</h2>
			<p class="muted small" style={{ marginTop: 0 }}>
				Alerts and scheduled reports sent to a webhook are signed the Standard Webhooks way (<code>webhook-id</code>, <code>webhook-timestamp</code>,{" "}
				<code>webhook-signature</code>): the receiver checks them with this secret. A webhook destination needs one.
			</p>
			{admin ? (
				<form class="form-grid" onSubmit={rotate}>
					{hasCurrent && (
						<label style={{ flex: "0 1 16rem" }}>
							Keep the current secret valid for (hours)
							<input name="previous_valid_hours" type="number" min={0} max={168} value={hours} onInput={(e) => setHours((e.currentTarget as HTMLInputElement).value)} required />
						</label>
					)}
					<div>
						<button type="submit" class="primary" disabled={busy}>
							{hasCurrent ? "Rotate the secret" : "Create a signing secret"}
						</button>
					</div>
				</form>
			) : (
				<div class="state warn" data-testid="whsec-needs-admin">
					<p style={{ margin: 0 }}>
						Creating, rotating and revoking the signing secret needs a workspace <strong>admin</strong> key (it lets anyone forge this workspace's webhooks). You are
						signed in with a read key: you can see below whether one exists.
					</p>
				</div>
			)}
			{error && <ErrorNote error={error.e} title={error.what} />}
			{made && (
				<div class="new-key" role="status" data-testid="new-secret">
					<label>
						The new secret (shown once: copy it to your receiver now)
						<input readOnly value={made.secret} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
					</label>
					<div class="row-gap">
						<CopyButton text={made.secret} label="Copy secret" />
						{made.previous && <span class="muted small">The previous secret stays valid until {when(made.previous.expires_at)}; webhooks are signed with both until then.</span>}
					</div>
				</div>
			)}
			{load.error ? (
				<ErrorNote error={load.error} title="The secrets could not be listed" onRetry={load.reload} />
			) : !secrets ? (
				<Skeleton height={40} />
			) : secrets.length === 0 ? (
				<p class="muted small">No signing secret yet: webhook destinations are refused until an admin creates one.</p>
			) : (
				<div class="table-wrap" tabIndex={0} role="region" aria-label="Signing secrets">
					<table data-testid="secrets" class="small stack">
						<caption class="sr-only">Valid webhook signing secrets</caption>
						<ListHead columns={["Secret", "Created", "Status"]} actions={admin} />
						<tbody>
							{secrets.map((s) => (
								<tr data-secret={s.id} data-status={s.status}>
									<td data-label="Secret">
										<code>{s.id}</code>
									</td>
									<td data-label="Created">{when(s.created_at)}</td>
									<td data-label="Status">{s.status === "current" ? <span class="pill ok">current</span> : <span class="pill">valid until {when(s.expires_at)}</span>}</td>
									{admin && (
										<td class="num">
											<button type="button" class="danger" onClick={() => revoke(s.id)} aria-label={`Revoke secret ${s.id}`}>
												Revoke
											</button>
										</td>
									)}
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
		</section>
	);
}
