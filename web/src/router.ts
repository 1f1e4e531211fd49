// A small router over the History API: the path is the screen, the query string the view's state.
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();
const notify = () => {
	for (const l of listeners) l();
};
addEventListener("popstate", notify);
// A shared board's link is a fragment (/#/shared/<token>): it never reaches a server's logs.
addEventListener("hashchange", notify);

/** Goes to `to` (path and query); `replace` for changes that should not fill the back button. */
export function navigate(to: string, { replace = false } = {}) {
	if (to === location.pathname + location.search) return;
	history[replace ? "replaceState" : "pushState"](null, "", to);
	notify();
}

/** The current path, query string and fragment; re-renders on every navigation. */
export function useLocation(): { path: string; search: string; hash: string } {
	const [, force] = useState(0);
	useEffect(() => {
		const l = () => force((n) => n + 1);
		listeners.add(l);
		return () => listeners.delete(l);
	}, []);
	return { path: location.pathname, search: location.search, hash: location.hash };
}

/** Link clicks stay in the app (a modified click still opens a new tab). */
export function onLinkClick(e: MouseEvent) {
	const a = e.currentTarget as HTMLAnchorElement;
	if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
	e.preventDefault();
	navigate(a.pathname + a.search);
}
