import { useState } from "preact/hooks";
import { ApiFailure } from "../api/client";

/**
 * A destructive button that asks first: `label` puts "Yes, <verb>" (`yes`) and `no` in its place.
 * Controlled (`asking`), so a table keeps one row asking at a time.
 */
export function ConfirmButton({ asking, onAsk, onCancel, onConfirm, label, yes, no = "Keep", ariaLabel }: { asking: boolean; onAsk: () => void; onCancel: () => void; onConfirm: () => void; label: string; yes: string; no?: string; ariaLabel?: string }) {
	if (!asking)
		return (
			<button type="button" class="danger" onClick={onAsk} aria-label={ariaLabel}>
				{label}
			</button>
		);
	return (
		<span class="row-gap">
			<button type="button" class="danger" onClick={onConfirm}>
				{yes}
			</button>
			<button type="button" onClick={onCancel}>
				{no}
			</button>
		</span>
	);
}

/**
 * The state of a table's confirmed deletes or revokes: which row is asking, and `run(id)`, which
 * does `act(id)`, keeps its failure as `error`, stops asking and calls `after` (a reload) either way.
 */
export function useConfirmed(act: (id: string) => Promise<unknown>, after: () => void) {
	const [asking, setAsking] = useState<string | null>(null);
	const [error, setError] = useState<ApiFailure | null>(null);
	const run = async (id: string) => {
		setError(null);
		try {
			await act(id);
		} catch (err) {
			setError(err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String(err)));
		}
		setAsking(null);
		after();
	};
	return { asking, setAsking, error, run };
}

/** A row's ConfirmButton wired to a table's useConfirmed state: asking when `id` is, running `confirmed.run(id)`. */
export function ConfirmRow({ confirmed, id, ...rest }: { confirmed: ReturnType<typeof useConfirmed>; id: string; label: string; yes: string; no?: string; ariaLabel?: string }) {
	return <ConfirmButton asking={confirmed.asking === id} onAsk={() => confirmed.setAsking(id)} onCancel={() => confirmed.setAsking(null)} onConfirm={() => confirmed.run(id)} {...rest} />;
}
