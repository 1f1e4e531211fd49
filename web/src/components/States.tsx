import type { ComponentChildren } from "preact";
import type { ApiFailure } from "../api/client";
import type { Loaded } from "../hooks";

/** What to do about an error, in words, by its code. */
export function advice(e: ApiFailure): string {
	switch (e.code) {
		case "network_error":
			return "Check your connection and that the API is running, then retry.";
		case "query_too_expensive":
			return "Choose a shorter date range, a coarser granularity, or fewer filters.";
		case "needs_raw_events":
			return "These raw events are archived: narrow the date range, or filter and break down by one rolled-up dimension at a time.";
		case "query_timeout":
			return "Narrow the date range or drop a filter, then retry.";
		case "unauthorized":
			return "Sign in again with a valid key.";
		case "forbidden":
			return "This key's scope does not allow it.";
		default:
			return e.status >= 500 ? "The server had a problem; retrying usually helps." : "";
	}
}

export function ErrorNote({ error, title = "Could not load this", onRetry }: { error: ApiFailure; title?: string; onRetry?: () => void }) {
	const tip = advice(error);
	return (
		<div class="state error" role="alert">
			<h3>{title}</h3>
			<p>
				{error.message}
				{tip && ` ${tip}`}
			</p>
			{onRetry && (
				<button type="button" onClick={onRetry}>
					Retry
				</button>
			)}
		</div>
	);
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
	return (
		<div class="state">
			<h3>{title}</h3>
			{children}
		</div>
	);
}

export function Skeleton({ height = 16, width = "100%" }: { height?: number; width?: string }) {
	return <div class="skeleton" style={{ height: `${height}px`, width }} />;
}

/**
 * An answer as it loads: the error with a Retry (titled `refused`), the answer (dimmed while a newer
 * one loads; `data` when only part of what loaded may be shown) or a skeleton of `height` px.
 */
export function AnswerState<T>({ load, data = load.data, refused, height, children }: { load: Loaded<T> & { reload: () => void }; data?: T | null; refused: string; height: number; children: (data: T) => ComponentChildren }) {
	return load.error ? (
		<ErrorNote error={load.error} title={refused} onRetry={load.reload} />
	) : data ? (
		<div class="dim-when-busy">{children(data)}</div>
	) : (
		<Skeleton height={height} />
	);
}
