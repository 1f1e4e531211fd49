import { useState } from "preact/hooks";
import { ApiFailure, API_ORIGIN, apiFor } from "../api/client";
import type { TenantInfo } from "../api/types";
import { useTitle } from "../hooks";
import { devKey } from "../session";

/** Why a key was refused, in words a person can act on. */
export function signInMessage(e: ApiFailure): string {
	if (e.status === 0) return e.message;
	if (e.code === "unauthorized") {
		if (/revoked/i.test(e.message)) return "This key has been revoked. Ask an admin of the workspace for a new read key.";
		if (/unknown/i.test(e.message)) return "This key does not exist. Check that you copied all of it (keys look like ew_read_… or ew_admin_…).";
		return "Enter a key to sign in.";
	}
	if (e.code === "forbidden") {
		const scope = (e.details as { scope?: string } | null)?.scope;
		if (scope === "ingest") return "This is an ingest key: it can only send events. Sign in with a read or admin key.";
		return e.message;
	}
	if (e.code === "invalid_authorization") return "That does not look like a key: keys are one word, such as ew_read_….";
	return `${e.message}`;
}

export function SignIn({ message, onSignedIn }: { message: string | null; onSignedIn: (key: string, info: TenantInfo) => void }) {
	useTitle("Sign in");
	const [key, setKey] = useState(devKey());
	const [error, setError] = useState<string | null>(message);
	const [busy, setBusy] = useState(false);
	const submit = async (e: Event) => {
		e.preventDefault();
		const k = key.trim();
		if (!k) return setError("Enter a read or admin key.");
		setBusy(true);
		setError(null);
		try {
			onSignedIn(k, await apiFor(k).tenant());
		} catch (err) {
			setError(err instanceof ApiFailure ? signInMessage(err) : String(err));
		} finally {
			setBusy(false);
		}
	};
	return (
		<main class="signin" id="main">
			<div>
				<h1>Sign in to Edgewise</h1>
				<p class="muted">
					With a <strong>read</strong> key to see the dashboards, or a workspace <strong>admin</strong> key to also manage keys and settings. The key stays in this
					browser.
				</p>
			</div>
			<form class="panel" onSubmit={submit} aria-describedby={error ? "signin-error" : undefined}>
				<label>
					API key
					<input
						name="key"
						type="password"
						autocomplete="off"
						spellcheck={false}
						placeholder="ew_read_…"
						value={key}
						onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
						aria-invalid={error ? "true" : undefined}
						required
					/>
				</label>
				{error && (
					<p class="state error" id="signin-error" role="alert">
						{error}
					</p>
				)}
				<button type="submit" class="primary" disabled={busy}>
					{busy ? "Signing in…" : "Sign in"}
				</button>
			</form>
			<p class="muted small">
				No key yet? An operator creates one: <code>npm run admin -- keys create &lt;tenant&gt; --scope read</code>. API: <code>{API_ORIGIN}</code>
			</p>
		</main>
	);
}
