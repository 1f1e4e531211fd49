// CPU profile of the workerd process with Linux `perf`, JavaScript frames named through V8's
// --perf-basic-prof map and mapped back to source files through the bundle's source map.
//
// The V8 inspector's sampler is misleading here: every isolate in workerd (the app, the local D1
// object, …) shares one thread, and an isolate that is not running still gets samples. perf
// samples the thread itself, so shares add up to what the core actually did.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";

export function perfUsable() {
	const r = spawnSync("perf", ["--version"], { encoding: "utf8" });
	return r.status === 0;
}

/** What the CPU was doing in the innermost frame. */
function kindOf(frames) {
	const leaf = frames[0];
	const inSqlite = frames.some((f) => f.sym.startsWith("sqlite3_"));
	if (leaf.kernel) return inSqlite ? "kernel: SQLite file I/O (write/fsync)" : "kernel: network & other syscalls";
	if (inSqlite) return "SQLite engine (incl. its JSON functions)";
	const s = leaf.sym;
	if (/v8::internal::Json|Builtins_Json/.test(s)) return "JSON.parse / JSON.stringify";
	if (/ValueSerializer|ValueDeserializer/.test(s)) return "structured clone (RPC arguments)";
	if (/Heap|Scaveng|MarkCompact|Sweeper|Marking|Evacuat|GC/.test(s)) return "V8 garbage collection";
	if (s.startsWith("JS:")) return "JavaScript (JIT code)";
	if (s.startsWith("Builtins_")) return "V8 builtins";
	if (/memmove|memcpy|memset|tcmalloc|malloc|free\b|TCMalloc/.test(s)) return "malloc & memcpy";
	if (/RegExp|irregexp/i.test(s)) return "regular expressions";
	return "workerd / V8 runtime (other)";
}

/**
 * Source-maps a perf-map JS name "JS:^fn index.js:LINE:COL" into a module label; `bundles` maps
 * the module name workerd gave a bundle to its file (the source map is `<file>.map`).
 * Returns { module, fn }.
 */
function makeOwner(bundles) {
	const maps = new Map();
	for (const [name, file] of Object.entries(bundles)) {
		const mapFile = `${file}.map`;
		if (existsSync(mapFile)) maps.set(name, new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))));
	}
	const cache = new Map();
	return (sym) => {
		const hit = cache.get(sym);
		if (hit) return hit;
		const m = /^JS:[~^+*']*(.*?) (\S+):(\d+):(\d+)$/.exec(sym);
		let out;
		if (!m) out = { module: "JavaScript (unnamed)", fn: sym.slice(3) || "(anonymous)" };
		else {
			const [, fnName, file, line, col] = m;
			const fn = fnName || "(anonymous)";
			const map = maps.get(file);
			if (map) {
				const e = map.findEntry(Number(line) - 1, Number(col) - 1);
				let src = e?.originalSource ?? file;
				src = src.replace(/^.*?node_modules\//, "node_modules/").replace(/^(\.\.\/)+/, "");
				const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(src)?.[1];
				out = { module: pkg ? `${pkg} (npm)` : src, fn };
			} else if (/database\.worker\.js/.test(file)) out = { module: "local D1 (miniflare D1 object)", fn };
			else if (/router-worker|assets|rpc-proxy/.test(file)) out = { module: "Workers Assets router (runs first, as deployed)", fn };
			else out = { module: `runtime JS: ${file.split("/").pop()}`, fn };
		}
		cache.set(sym, out);
		return out;
	};
}

/**
 * What the runtime thread was serving when a sample was taken: the outermost workerd event on the
 * stack (the kj event loop runs one event at a time, and each enters JavaScript through one of these).
 */
const EVENTS = [
	["HTTP request into the worker (fetch handler, up to its first await)", /WorkerEntrypoint::request/],
	["RPC into a Durable Object (hub calls, AeWriter calls)", /JsRpcTargetBase/],
	["timer callbacks (setTimeout)", /setTimeoutImpl/],
	["Durable Object alarm", /runAlarm|AlarmScheduler/],
	["continuations after I/O (awaits resuming: body read, RPC answer, D1 answer)", /resumeAfterIo/],
	["local D1's own Durable Object (SQLite for D1)", /blockConcurrencyWhile/],
	["other JavaScript entries", /IoContext::run/],
	["storage commits and file I/O outside JavaScript (fsync)", /ActorSqlite|sqlite3|ext4|Vfs|fsync/],
	["HTTP server and network (no JavaScript)", /hyper|tcp_|listen_http|IncomingRequest|HttpServer/],
];
function eventOf(frames) {
	for (let i = frames.length - 1; i >= 0; i--) for (const [name, re] of EVENTS) if (re.test(frames[i].sym)) return name;
	return "runtime, other (event loop, GC, no JavaScript)";
}

/** Who owns a sample without JavaScript on its stack. */
function nativeOwner(frames) {
	const all = frames.map((f) => f.sym).join("\n");
	if (/ActorSqlite|commitImpl|SqliteDatabase::.*[Cc]ommit/.test(all)) return "DO storage commit (no JS on stack)";
	if (/HttpServer|HttpInputStream|HttpOutputStream|HttpService|kj::.*Http/.test(all)) return "HTTP server (no JS on stack)";
	if (/Heap|GC|Scaveng|MarkCompact/.test(all)) return "V8 GC (no JS on stack)";
	return "runtime, I/O and event loop (no JS on stack)";
}

/**
 * Parses `perf script` output into shares:
 * - events: what the runtime thread was serving (HTTP request, Durable Object RPC, timer, …);
 * - kinds: what the CPU was doing (SQLite, JSON, GC, JS, kernel I/O…);
 * - modules / functions: the innermost JavaScript frame that caused it (native work such as a
 *   sql.exec() or JSON.parse() is charged to the JS function that called it).
 */
export function analysePerf(perfData, { bundles, top = 15 }) {
	const r = spawnSync("perf", ["script", "-i", perfData, "-F", "comm,tid,ip,sym,dso"], { encoding: "utf8", maxBuffer: 1 << 30 });
	if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
	const owner = makeOwner(bundles);
	const kinds = new Map();
	const events = new Map();
	const modules = new Map();
	const fns = new Map();
	let total = 0;
	const add = (map, k, sub) => {
		let e = map.get(k);
		if (!e) map.set(k, (e = { n: 0, sub: new Map() }));
		e.n++;
		if (sub) e.sub.set(sub, (e.sub.get(sub) ?? 0) + 1);
	};
	for (const block of r.stdout.split("\n\n")) {
		const lines = block.split("\n").filter((l) => /^\s+[0-9a-f]+ /.test(l));
		if (!lines.length) continue;
		const frames = lines.map((l) => {
			const m = /^\s+[0-9a-f]+ (.*?) \(([^)]*)\)\s*$/.exec(l);
			const sym = (m ? m[1] : l.trim().split(/\s+/).slice(1).join(" ")).replace(/\+0x[0-9a-f]+$/, "");
			const dso = m?.[2] ?? "";
			return { sym, kernel: dso.includes("kernel") };
		});
		total++;
		const kind = kindOf(frames);
		add(kinds, kind);
		add(events, eventOf(frames));
		const js = frames.find((f) => f.sym.startsWith("JS:"));
		if (js) {
			const o = owner(js.sym);
			add(modules, o.module, kind);
			add(fns, `${o.fn} — ${o.module}`, kind);
		} else {
			const o = nativeOwner(frames);
			add(modules, o, kind);
			add(fns, o, kind);
		}
	}
	const pct = (n) => Math.round((n / total) * 1000) / 10;
	const list = (map) =>
		[...map]
			.sort((a, b) => b[1].n - a[1].n)
			.slice(0, top)
			.map(([name, e]) => ({
				name,
				pct: pct(e.n),
				...(e.sub.size
					? {
							doing: [...e.sub]
								.sort((a, b) => b[1] - a[1])
								.slice(0, 3)
								.map(([k, n]) => `${k} ${Math.round((n / e.n) * 100)}%`)
								.join(", "),
						}
					: {}),
			}));
	return { samples: total, events: list(events), kinds: list(kinds), modules: list(modules), functions: list(fns) };
}
