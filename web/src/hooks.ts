// Data loading for screens: one batch per view, aborted when the view changes.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiFailure } from "./api/client";

export type Loaded<T> = { status: "loading"; data: T | null; error: null } | { status: "ok"; data: T; error: null } | { status: "error"; data: T | null; error: ApiFailure };

/**
 * Runs `load` whenever `key` changes (a JSON of what it depends on); keeps the previous data while
 * the next loads, so charts update in place instead of flashing empty. `reload()` runs it again.
 */
export function useLoad<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): Loaded<T> & { reload: () => void } {
	const [state, setState] = useState<Loaded<T>>({ status: "loading", data: null, error: null });
	const [n, setN] = useState(0);
	const loadRef = useRef(load);
	loadRef.current = load;
	useEffect(() => {
		if (key == null) return;
		const ctl = new AbortController();
		setState((s) => ({ status: "loading", data: s.data, error: null }));
		loadRef.current(ctl.signal).then(
			(data) => !ctl.signal.aborted && setState({ status: "ok", data, error: null }),
			(err: unknown) => {
				if (ctl.signal.aborted) return;
				const e = err instanceof ApiFailure ? err : new ApiFailure(0, "client_error", String((err as Error)?.message ?? err));
				setState((s) => ({ status: "error", data: s.data, error: e }));
			},
		);
		return () => ctl.abort();
	}, [key, n]);
	return { ...state, reload: () => setN((x) => x + 1) };
}

/** Sets the document title for a screen. */
export function useTitle(title: string) {
	useEffect(() => {
		document.title = `${title} · Edgewise`;
	}, [title]);
}
