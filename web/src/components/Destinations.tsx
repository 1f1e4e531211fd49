import type { Destination } from "../api/ops";
import { onLinkClick } from "../router";

/** A destination as the form edits it: email addresses comma-separated, or a URL. */
export interface DestDraft {
	type: Destination["type"];
	value: string;
}

export const draftsOf = (list: Destination[]): DestDraft[] => list.map((d) => ({ type: d.type, value: d.type === "email" ? d.to.join(", ") : d.url }));
export const destinationsOf = (drafts: DestDraft[]): Destination[] =>
	drafts
		.filter((d) => d.value.trim())
		.map((d) => (d.type === "email" ? { type: "email", to: d.value.split(",").map((s) => s.trim()).filter(Boolean) } : { type: d.type, url: d.value.trim() }));

const PLACEHOLDER: Record<Destination["type"], string> = {
	email: "ops@example.com, lead@example.com",
	slack: "https://hooks.slack.com/services/…",
	webhook: "https://example.com/edgewise-hook",
};

/** Where notifications go: email, a Slack incoming webhook, or a signed webhook. */
export function DestinationsField({ drafts, onChange, idPrefix }: { drafts: DestDraft[]; onChange: (d: DestDraft[]) => void; idPrefix: string }) {
	const set = (i: number, patch: Partial<DestDraft>) => onChange(drafts.map((d, k) => (k === i ? { ...d, ...patch } : d)));
	return (
		<fieldset class="dests">
			<legend>Destinations</legend>
			{drafts.map((d, i) => (
				<div class="dest-row" data-dest={i}>
					<label>
						Type
						<select name={`${idPrefix}-type-${i}`} value={d.type} onChange={(e) => set(i, { type: (e.currentTarget as HTMLSelectElement).value as Destination["type"] })}>
							<option value="email">Email</option>
							<option value="slack">Slack</option>
							<option value="webhook">Webhook</option>
						</select>
					</label>
					<label class="grow">
						{d.type === "email" ? "Addresses (comma-separated)" : d.type === "slack" ? "Slack incoming-webhook URL" : "Webhook URL"}
						<input
							name={`${idPrefix}-value-${i}`}
							inputMode={d.type === "email" ? "email" : "url"}
							value={d.value}
							placeholder={PLACEHOLDER[d.type]}
							required
							onInput={(e) => set(i, { value: (e.currentTarget as HTMLInputElement).value })}
						/>
					</label>
					{drafts.length > 1 && (
						<button type="button" class="link" onClick={() => onChange(drafts.filter((_, k) => k !== i))} aria-label={`Remove destination ${i + 1}`}>
							Remove
						</button>
					)}
				</div>
			))}
			<div class="row-gap">
				<button type="button" onClick={() => onChange([...drafts, { type: "email", value: "" }])} disabled={drafts.length >= 10}>
					Add a destination
				</button>
				{drafts.some((d) => d.type === "webhook") && (
					<span class="muted small">
						Webhooks are signed with the workspace's secret (
						<a href="/settings" onClick={onLinkClick}>
							Settings
						</a>
						): an admin creates it once.
					</span>
				)}
			</div>
		</fieldset>
	);
}

/** "email: a@b.c" / "webhook: https://…" for lists. */
export const destinationText = (d: Destination) => `${d.type}: ${d.type === "email" ? d.to.join(", ") : d.url}`;
