import { useEffect, useState } from "preact/hooks";
import type { ScreenProps } from "../App";
import { ApiFailure } from "../api/client";
import type { AdminKey, AdminTenant, NewKey } from "../api/types";
import { ConfirmButton } from "../components/Confirm";
import { CopyButton } from "../components/Copy";
import { ErrorNote, Skeleton } from "../components/States";
import { WebhookSecrets } from "../components/WebhookSecrets";
import { useLoad, useTitle } from "../hooks";
import { when } from "../lib/format";

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
/** "a, b ,c" → ["a", "b", "c"]. */
const names = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);

export function Settings({ api, secret, info, onAuthError }: ScreenProps) {
	useTitle("Settings");
	const id = info.tenant.id;
	const admin = info.key.scope === "admin";
	const load = useLoad(admin ? `settings:${id}` : null, (signal) => Promise.all([api.admin.tenant(id, signal), api.admin.keys(id, signal)]));
	useEffect(() => {
		if (load.error?.status === 401) onAuthError(load.error);
	}, [load.error]);

	if (!admin)
		return (
			<div style={{ display: "grid", gap: "1rem" }}>
				<h1>Settings</h1>
				<div class="state warn" data-testid="needs-admin">
					<h2>Settings need an admin key</h2>
					<p>
						You are signed in with a <strong>{info.key.scope}</strong> key. Keys, the time zone and rollup settings are managed with a workspace admin key. An operator
						creates one with <code>npm run admin -- keys create {id} --scope admin</code>; then sign out and sign in with it.
					</p>
				</div>
				<section class="panel">
					<h2 class="panel-head">This workspace</h2>
					<dl class="meta">
						<div>
							<dt>id</dt>
							<dd>{id}</dd>
						</div>
						<div>
							<dt>time zone</dt>
							<dd>{info.tenant.timezone}</dd>
						</div>
						<div>
							<dt>rolled-up dimensions</dt>
							<dd>{info.tenant.dimension_props.join(", ") || "none"}</dd>
						</div>
						<div>
							<dt>rolled-up metrics</dt>
							<dd>{info.tenant.metric_props.join(", ") || "none"}</dd>
						</div>
					</dl>
				</section>
				<WebhookSecrets secret={secret} admin={false} />
			</div>
		);

	return (
		<div style={{ display: "grid", gap: "1rem" }} data-state={load.status === "ok" ? "ready" : load.status}>
			<h1>Settings</h1>
			{load.error && <ErrorNote error={load.error} title="Settings could not be loaded" onRetry={load.reload} />}
			{load.data ? (
				<>
					<TenantForm tenant={load.data[0]} save={(patch) => api.admin.updateTenant(id, patch)} />
					<Keys
						keys={load.data[1].keys}
						ownKeyId={info.key.id}
						create={(body) => api.admin.createKey(id, body)}
						revoke={(keyId) => api.admin.revokeKey(id, keyId)}
						reload={load.reload}
					/>
					<WebhookSecrets secret={secret} admin />
				</>
			) : (
				!load.error && <Skeleton height={300} />
			)}
		</div>
	);
}

function TenantForm({ tenant, save }: { tenant: AdminTenant; save: (patch: { name?: string; timezone?: string; dimension_props?: string[]; metric_props?: string[] }) => Promise<AdminTenant> }) {
	const [name, setName] = useState(tenant.name);
	const [tz, setTz] = useState(tenant.timezone);
	const [dims, setDims] = useState(tenant.dimension_props.join(", "));
	const [mets, setMets] = useState(tenant.metric_props.join(", "));
	const [status, setStatus] = useState<{ ok: string } | { error: ApiFailure } | null>(null);
	const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
	const submit = async (e: Event) => {
		e.preventDefault();
		const patch = {
			...(name !== tenant.name ? { name } : {}),
			...(tz !== tenant.timezone ? { timezone: tz } : {}),
			...(names(dims).join() !== tenant.dimension_props.join() ? { dimension_props: names(dims) } : {}),
			...(names(mets).join() !== tenant.metric_props.join() ? { metric_props: names(mets) } : {}),
		};
		if (!Object.keys(patch).length) return setStatus({ ok: "Nothing changed." });
		try {
			await save(patch);
			setStatus({ ok: "Saved. Rollups pick up new settings at the next pass (within a minute); reload to see the new settings here." });
		} catch (err) {
			setStatus({ error: err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)) });
		}
	};
	return (
		<section class="panel" aria-labelledby="ws-title">
			<h2 id="ws-title" class="panel-head">
				Workspace
			</h2>
			<form class="form-grid" onSubmit={submit}>
				<label>
					Name
					<input value={name} onInput={(e) => setName(value(e))} required maxLength={200} />
				</label>
				<label>
					Time zone (dates and day buckets)
					<input list="zones" value={tz} onInput={(e) => setTz(value(e))} required />
				</label>
				<datalist id="zones">
					{zones.map((z) => (
						<option value={z} />
					))}
				</datalist>
				<label class="full">
					Rolled-up dimensions (up to 5, comma-separated)
					<input value={dims} onInput={(e) => setDims(value(e))} placeholder="channel, plan" />
				</label>
				<label class="full">
					Rolled-up metrics (up to 10, comma-separated; the first is the overview's headline)
					<input value={mets} onInput={(e) => setMets(value(e))} placeholder="response_time_ms, amount" />
				</label>
				<div class="actions">
					<button type="submit" class="primary">
						Save
					</button>
				</div>
			</form>
			{status && "ok" in status && (
				<p class="muted small" role="status">
					{status.ok}
				</p>
			)}
			{status && "error" in status && <ErrorNote error={status.error} title="Not saved" />}
		</section>
	);
}

function Keys({
	keys,
	ownKeyId,
	create,
	revoke,
	reload,
}: {
	keys: AdminKey[];
	ownKeyId: string;
	create: (b: { scope: "ingest" | "read" | "admin"; name?: string; allowed_origins?: string[] | null }) => Promise<NewKey>;
	revoke: (keyId: string) => Promise<AdminKey>;
	reload: () => void;
}) {
	const [scope, setScope] = useState<"ingest" | "read" | "admin">("read");
	const [keyName, setKeyName] = useState("");
	const [origins, setOrigins] = useState("");
	const [created, setCreated] = useState<NewKey | null>(null);
	const [confirm, setConfirm] = useState<string | null>(null);
	const [error, setError] = useState<ApiFailure | null>(null);
	const act = async (fn: () => Promise<unknown>) => {
		setError(null);
		try {
			await fn();
			reload();
		} catch (err) {
			setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
		}
	};
	return (
		<section class="panel" aria-labelledby="keys-title">
			<h2 id="keys-title" class="panel-head">
				API keys
			</h2>
			<form
				class="form-grid"
				aria-label="Create a key"
				onSubmit={(e) => {
					e.preventDefault();
					const list = origins.split(/[\s,]+/).filter(Boolean);
					void act(async () => {
						setCreated(await create({ scope, name: keyName.trim(), allowed_origins: scope === "ingest" && list.length ? list : null }));
						setKeyName("");
						setOrigins("");
					});
				}}
			>
				<label>
					Scope
					<select value={scope} onChange={(e) => setScope(value(e) as typeof scope)}>
						<option value="read">read: dashboards and queries</option>
						<option value="ingest">ingest: send events</option>
						<option value="admin">admin: keys and settings</option>
					</select>
				</label>
				<label>
					Name
					<input value={keyName} onInput={(e) => setKeyName(value(e))} placeholder="e.g. website, wall screen" maxLength={200} />
				</label>
				{scope === "ingest" && (
					<label>
						Allowed browser origins (optional)
						<input value={origins} onInput={(e) => setOrigins(value(e))} placeholder="https://app.example.com" />
					</label>
				)}
				<button type="submit" class="primary">
					Create key
				</button>
			</form>
			{created && (
				<div class="state warn new-key" role="status" data-testid="new-key">
					<strong>New {created.scope} key "{created.name || created.prefix}": copy it now, it is not shown again.</strong>
					<code>{created.key}</code>
					<div>
						<CopyButton text={created.key} label="Copy key" />{" "}
						<button type="button" onClick={() => setCreated(null)}>
							Done
						</button>
					</div>
				</div>
			)}
			{error && <ErrorNote error={error} title="That did not work" />}
			<div class="table-wrap" style={{ marginTop: "1rem" }}>
				<table data-testid="keys">
					<thead>
						<tr>
							<th scope="col">Name</th>
							<th scope="col">Key</th>
							<th scope="col" class="hide-narrow">
								Scope
							</th>
							<th scope="col" class="hide-narrow">
								Created
							</th>
							<th scope="col" class="hide-narrow">
								Last used
							</th>
							<th scope="col">
								<span class="sr-only">Status and actions</span>
							</th>
						</tr>
					</thead>
					<tbody>
						{keys.map((k) => (
							<tr data-key-id={k.id}>
								<td>
									{k.name || <span class="muted">(no name)</span>}
									<span class="muted small show-narrow"> · {k.scope}</span>
								</td>
								<td>
									<code>{k.prefix}…</code>
								</td>
								<td class="hide-narrow">{k.scope}</td>
								<td class="hide-narrow">{when(k.created_at)}</td>
								<td class="hide-narrow">{when(k.last_used_at)}</td>
								<td>
									{k.revoked_at ? (
										<span class="pill revoked" title={`revoked ${when(k.revoked_at)}`}>
											revoked<span class="hide-narrow"> {when(k.revoked_at)}</span>
										</span>
									) : k.id === ownKeyId ? (
										<span class="pill">this key</span>
									) : (
										<ConfirmButton
											asking={confirm === k.id}
											onAsk={() => setConfirm(k.id)}
											onCancel={() => setConfirm(null)}
											onConfirm={() => act(async () => (await revoke(k.id), setConfirm(null)))}
											label="Revoke"
											yes="Yes, revoke"
											no="Cancel"
											ariaLabel={`Revoke key ${k.name || k.prefix}`}
										/>
									)}
								</td>
							</tr>
						))}
					</tbody>
				</table>
			</div>
			<p class="muted small">A revoked key is refused at once everywhere, and its live connections are closed.</p>
		</section>
	);
}
