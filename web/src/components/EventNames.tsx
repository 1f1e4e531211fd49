import type { ApiClient } from "../api/client";
import { useLoad } from "../hooks";

/** The tenant's event names of the last 90 days, most frequent first (for pickers' suggestions). */
export function useEventNames(api: ApiClient): string[] {
	const names = useLoad("event-names", (signal) => api.query({ metrics: ["count"], dimensions: ["event"], date_range: "90d", limit: 200 }, signal));
	return (names.data?.results ?? []).map((r) => String(r.dimensions[0] ?? "")).filter(Boolean);
}

/** A datalist of names for inputs with `list={id}`. */
export function NameList({ id, names }: { id: string; names: string[] }) {
	return (
		<datalist id={id}>
			{names.map((n) => (
				<option value={n} />
			))}
		</datalist>
	);
}

/** `?report=<id>` of a screen's URL, when it is a report id. */
export const reportParam = (search: string) => {
	const r = new URLSearchParams(search).get("report");
	return r && /^[A-Za-z0-9_-]{1,64}$/.test(r) ? r : null;
};

/** A screen's query string with `report` kept in front (saving updates that report). */
export const withReport = (qs: string, report: string | null) => (report ? `report=${report}${qs ? `&${qs}` : ""}` : qs);
