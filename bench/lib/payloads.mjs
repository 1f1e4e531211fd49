// Request bodies for the load generator: realistic demo events (scripts/demo-data.mjs), with a
// message_id unique to every request so the hub's dedupe never short-circuits a write.
import { demoEvents } from "../../scripts/demo-data.mjs";

const MARK = "@@MID@@";

/**
 * Returns `next()` → the JSON body {"events":[...]} of `size` events. Bodies cycle through
 * `variants` pre-serialised batches; only the message_id prefix changes, so making a body is a
 * cheap string join rather than a JSON.stringify (keeps the load generator's CPU low).
 */
export function batchBodies(size, { runId, variants = 16, seed = 1 } = {}) {
	const templates = [];
	for (let v = 0; v < variants; v++) {
		const events = [...demoEvents(size, { seed: seed * 1000 + v, days: 7 })].map((e, i) => ({ ...e, message_id: `${MARK}${i}` }));
		templates.push(JSON.stringify({ events }).split(MARK));
	}
	let n = 0;
	return {
		size,
		next() {
			const parts = templates[n % variants];
			return parts.join(`${runId}-${size}-${n++}-`);
		},
	};
}

/** `count` events with unique ids, as objects (for the node:sqlite baseline). */
export function eventObjects(count, { runId, seed = 7 } = {}) {
	const out = [];
	let i = 0;
	for (const e of demoEvents(count, { seed, days: 7 })) out.push({ ...e, message_id: `${runId}-sq-${i++}` });
	return out;
}
