/**
 * Structural checks every ingested value passes before validation, whatever its endpoint: a bounded
 * depth, and well-formed Unicode. JSON.parse builds values of any depth without recursion, but
 * everything after it may recurse (structured clone for RPC, JSON.stringify, SQLite's JSON functions,
 * which refuse nesting past 1,000 levels): a value deeper than MAX_DEPTH never gets that far.
 */

/** Levels of nesting an event may have, counting the event object itself as 1. */
export const MAX_DEPTH = 32;

/** The first problem found in a value, with the path (relative to the value) where it is. */
export interface ShapeIssue {
	path: (string | number)[];
	code: "too_deep";
	message: string;
}

/** Defines an own enumerable property, so "__proto__" stays a key like any other. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
	if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
	else target[key] = value;
}

const wellFormed = (s: string) => (s.isWellFormed() ? s : s.toWellFormed());

/**
 * Walks `value` iteratively (no recursion, so any depth is safe), in place:
 * - returns an issue when it nests deeper than `maxDepth` (the walk stops there, so its cost is bounded);
 * - replaces lone UTF-16 surrogates (possible only through `\uD800`-style escapes) in strings and keys
 *   with U+FFFD, as a UTF-8 encoder does: SQLite would otherwise store invalid UTF-8.
 * Returns the value to use (a new object only when a key had to be repaired at the top).
 */
export function checkShape(value: unknown, maxDepth = MAX_DEPTH): { value: unknown; issue: ShapeIssue | null } {
	if (typeof value === "string") return { value: wellFormed(value), issue: null };
	if (value === null || typeof value !== "object") return { value, issue: null };
	const root = { v: value };
	// Each frame: a container, the depth it sits at, and its path (built lazily, only for the issue).
	const stack: { node: Record<string, unknown> | unknown[]; depth: number; parent: number; key: string | number }[] = [
		{ node: value as Record<string, unknown>, depth: 1, parent: -1, key: "" },
	];
	const frames: typeof stack = [];
	while (stack.length) {
		const frame = stack.pop()!;
		frames.push(frame);
		const at = frames.length - 1;
		if (frame.depth > maxDepth) return { value, issue: { path: pathOf(frames, at), code: "too_deep", message: `nested deeper than ${maxDepth} levels` } };
		const node = frame.node;
		if (Array.isArray(node)) {
			for (let i = 0; i < node.length; i++) {
				const v = node[i];
				if (typeof v === "string") {
					if (!v.isWellFormed()) node[i] = v.toWellFormed();
				} else if (v !== null && typeof v === "object") stack.push({ node: v as Record<string, unknown>, depth: frame.depth + 1, parent: at, key: i });
			}
			continue;
		}
		let repaired: Record<string, unknown> | null = null;
		for (const k of Object.keys(node)) {
			const v = node[k];
			let fixed = v;
			if (typeof v === "string") {
				if (!v.isWellFormed()) fixed = v.toWellFormed();
			} else if (v !== null && typeof v === "object") stack.push({ node: v as Record<string, unknown>, depth: frame.depth + 1, parent: at, key: k });
			if (!repaired && !k.isWellFormed()) {
				// Rebuild this object with repaired keys, in the same order.
				repaired = {};
				for (const before of Object.keys(node)) {
					if (before === k) break;
					setOwn(repaired, before, node[before]);
				}
			}
			if (repaired) setOwn(repaired, wellFormed(k), fixed);
			else if (fixed !== v) node[k] = fixed;
		}
		if (repaired) {
			// Re-point the parent (or the root) at the rebuilt object; children already queued are
			// the same objects, so their own repairs still land.
			if (frame.parent < 0) root.v = repaired;
			else {
				const parent = frames[frame.parent]!.node as Record<string | number, unknown>;
				if (Array.isArray(parent)) parent[frame.key as number] = repaired;
				else setOwn(parent as Record<string, unknown>, frame.key as string, repaired);
			}
			frame.node = repaired;
		}
	}
	return { value: root.v, issue: null };
}

function pathOf(frames: { parent: number; key: string | number }[], at: number): (string | number)[] {
	const path: (string | number)[] = [];
	for (let i = at; frames[i]!.parent >= 0; i = frames[i]!.parent) path.unshift(frames[i]!.key);
	return path;
}

/**
 * A JSON sample of a value cut at `maxDepth` levels (deeper parts become "…"), safe for any depth:
 * for storing what a too-deep event looked like.
 */
export function shallowSample(value: unknown, maxDepth = 8): unknown {
	if (value === null || typeof value !== "object") return value;
	if (maxDepth <= 0) return "…";
	if (Array.isArray(value)) return value.slice(0, 50).map((v) => shallowSample(v, maxDepth - 1));
	const out: Record<string, unknown> = {};
	for (const k of Object.keys(value).slice(0, 50)) setOwn(out, k, shallowSample((value as Record<string, unknown>)[k], maxDepth - 1));
	return out;
}
