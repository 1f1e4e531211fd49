/**
 * What one chunk of new events changes in the per-person tables, computed in memory (pure: the
 * pass in pass.ts does the reading and writing). Identity rules, in ingest (rowid) order:
 *
 * - an event's person is that of its `user_id`, else of its `anonymous_id`;
 * - an event carrying both links the anonymous id to the user id (Segment's identify does, and so
 *   may any event); an `alias` links its `previous_id` to its `user_id`;
 * - a link merges the source's person into the destination's, unless the source identifier was
 *   linked before: the first link of an identifier wins (a shared device stays with the first
 *   user who signed in on it), later ones are ignored;
 * - merges are transitive: an anonymous id merged into user A follows A when A is aliased to B.
 *
 * Every per-person structure is a union of per-event facts (OR of bits, minimum of times), so a
 * merge adds one person's rows into the other's and the result does not depend on when it ran.
 */

/** A raw event as the pass reads it. */
export type PassRow = [rowid: number, tenant: string, type: string, event: string, userId: string | null, anonymousId: string | null, previousId: string | null, ts: number];

export interface KnownId {
	pid: number;
	linked: number;
}

export interface NameCode {
	code: number;
	bit: number;
}

export const WEEK_MS = 604_800_000;
/** Event-name bits per people_days word: below 2^53, so JS numbers hold them exactly. */
export const WORD_BITS = 52;

/** The pass's state across chunks: identifiers and names known so far, and the next free numbers. */
export interface BuildState {
	/** `${tenant}\u0001${id}` → person (only identifiers of this chunk need be loaded). */
	known: Map<string, KnownId>;
	/** `${tenant}\u0001${name}` → code and bit. */
	names: Map<string, NameCode>;
	/** Names per tenant so far (the next bit). */
	bits: Map<string, number>;
	nextCode: number;
	nextPid: number;
	/** Local day numbers in a tenant's zone. */
	dayOf: (tenant: string) => (ts: number) => number;
}

export interface ChunkResult {
	names: [code: number, tenant: string, name: string, bit: number][];
	people: [pid: number, tenant: string, person: string, firstSeen: number][];
	/** New identifiers, and known ones newly linked: [tenant, id, pid, linked]. */
	ids: [string, string, number, number][];
	/** Persons stored before this chunk that now belong to another: move their rows. */
	merges: { tenant: string; from: number; to: number }[];
	/** Stored persons whose shown id changes (an anonymous visitor who signed up). */
	renames: [pid: number, person: string][];
	events: [tenant: string, wk: number, pid: number, code: number, ts: number, ref: number][];
	days: [tenant: string, day: number, pid: number, word: number, bits: number][];
	firsts: [code: number, pid: number, ts: number][];
	/** Stored persons and the earliest time of this chunk's events (first_seen moves back if earlier). */
	seen: [pid: number, ts: number][];
	links: number;
	/** Identifiers seen for the first time. */
	created: number;
}

const key = (tenant: string, id: string) => `${tenant}\u0001${id}`;

/** Adds bit `b` (a power of two below 2^52) to `v` without 32-bit bitwise operators. */
const orBit = (v: number, b: number) => (Math.floor(v / b) % 2 === 0 ? v + b : v);

/** The identifiers a chunk needs looked up: each event's user, anonymous and previous ids. */
export function idsOf(rows: PassRow[]): Map<string, Set<string>> {
	const out = new Map<string, Set<string>>();
	for (const r of rows) {
		let s = out.get(r[1]);
		if (!s) out.set(r[1], (s = new Set()));
		for (const id of [r[4], r[5], r[6]]) if (id != null) s.add(id);
	}
	return out;
}

/** Applies one chunk (rows in rowid order) to the state; returns the rows to write. */
export function buildChunk(rows: PassRow[], st: BuildState): ChunkResult {
	const firstNew = st.nextPid;
	const existing = (pid: number) => pid < firstNew;
	const parent = new Map<number, number>();
	const find = (p: number): number => {
		let r = p;
		while (parent.has(r)) r = parent.get(r)!;
		while (parent.has(p)) {
			const n = parent.get(p)!;
			parent.set(p, r);
			p = n;
		}
		return r;
	};
	const display = new Map<number, string>();
	const renamed = new Map<number, string>();
	const tenantOf = new Map<number, string>();
	const out: ChunkResult = { names: [], people: [], ids: [], merges: [], renames: [], events: [], days: [], firsts: [], seen: [], links: 0, created: 0 };
	const newIds = new Map<string, [string, string]>();
	const relinked = new Set<string>();

	const ensure = (tenant: string, id: string): KnownId => {
		const k = key(tenant, id);
		let known = st.known.get(k);
		if (!known) {
			known = { pid: st.nextPid++, linked: 0 };
			st.known.set(k, known);
			newIds.set(k, [tenant, id]);
			display.set(known.pid, id);
			tenantOf.set(known.pid, tenant);
		}
		return known;
	};
	/** The destination's person absorbs the source's; a stored person survives a new one (no rows to move). */
	const union = (tenant: string, src: number, dst: number) => {
		const a = find(src);
		const b = find(dst);
		if (a === b) return;
		const shown = renamed.get(b) ?? display.get(b);
		let keep = b;
		let lose = a;
		if (existing(a) && !existing(b)) {
			keep = a;
			lose = b;
			// The survivor takes the destination's id (an anonymous visitor who signed up shows as the user).
			if (shown != null) renamed.set(a, shown);
		}
		parent.set(lose, keep);
		if (existing(lose)) out.merges.push({ tenant, from: lose, to: keep });
		out.links++;
	};
	const link = (tenant: string, src: string, dst: KnownId) => {
		const k = key(tenant, src);
		const known = st.known.get(k);
		if (!known) {
			// Never seen on its own: it joins the destination's person directly.
			st.known.set(k, { pid: dst.pid, linked: 1 });
			newIds.set(k, [tenant, src]);
			out.links++;
			return;
		}
		if (known.linked) return;
		known.linked = 1;
		if (!newIds.has(k)) relinked.add(k);
		union(tenant, known.pid, dst.pid);
	};

	for (const r of rows) {
		const [, tenant, type, , userId, anonymousId, previousId] = r;
		const idn = userId ?? anonymousId;
		if (idn == null) continue;
		const dst = ensure(tenant, idn);
		if (userId != null && anonymousId != null && anonymousId !== userId) link(tenant, anonymousId, dst);
		if (type === "alias" && userId != null && previousId != null && previousId !== userId) link(tenant, previousId, dst);
	}

	const days = new Map<string, [string, number, number, number, number]>();
	const firsts = new Map<string, [number, number, number]>();
	const seen = new Map<number, number>();
	for (const r of rows) {
		const [ref, tenant, , event, userId, anonymousId, , ts] = r;
		const idn = userId ?? anonymousId;
		if (idn == null) continue;
		const pid = find(st.known.get(key(tenant, idn))!.pid);
		const nk = key(tenant, event);
		let name = st.names.get(nk);
		if (!name) {
			const bit = st.bits.get(tenant) ?? 0;
			st.bits.set(tenant, bit + 1);
			name = { code: st.nextCode++, bit };
			st.names.set(nk, name);
			out.names.push([name.code, tenant, event, bit]);
		}
		out.events.push([tenant, Math.floor(ts / WEEK_MS), pid, name.code, ts, ref]);
		const day = st.dayOf(tenant)(ts);
		const word = Math.floor(name.bit / WORD_BITS);
		const dk = `${pid}\u0001${day}\u0001${word}`;
		const d = days.get(dk);
		const b = 2 ** (name.bit % WORD_BITS);
		if (d) d[4] = orBit(d[4], b);
		else days.set(dk, [tenant, day, pid, word, b]);
		const fk = `${name.code}\u0001${pid}`;
		const f = firsts.get(fk);
		if (!f) firsts.set(fk, [name.code, pid, ts]);
		else if (ts < f[2]) f[2] = ts;
		const s = seen.get(pid);
		if (s === undefined || ts < s) seen.set(pid, ts);
		if (!tenantOf.has(pid)) tenantOf.set(pid, tenant);
	}
	out.days = [...days.values()];
	out.firsts = [...firsts.values()];
	for (const [pid, ts] of seen) {
		if (existing(pid)) out.seen.push([pid, ts]);
		else out.people.push([pid, tenantOf.get(pid)!, display.get(pid)!, ts]);
	}
	out.created = newIds.size;
	for (const [k, [tenant, id]] of newIds) out.ids.push([tenant, id, find(st.known.get(k)!.pid), st.known.get(k)!.linked]);
	for (const k of relinked) {
		const i = k.indexOf("\u0001");
		out.ids.push([k.slice(0, i), k.slice(i + 1), find(st.known.get(k)!.pid), 1]);
	}
	out.merges = out.merges.map((m) => ({ ...m, to: find(m.to) }));
	for (const [pid, person] of renamed) if (find(pid) === pid) out.renames.push([pid, person]);
	// Known identifiers follow their person into the next chunk.
	for (const v of st.known.values()) v.pid = find(v.pid);
	return out;
}
