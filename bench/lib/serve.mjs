#!/usr/bin/env node
// Runs one Miniflare instance for the benchmark, in its own process (and process group, set by
// the parent), so the load generator never shares a Node event loop with it. Every worker gets
// an `unsafeDirectSockets` port: a workerd socket that goes straight to the user worker, with no
// Miniflare entry worker and no wrangler-dev proxy in between.
//
// Usage: node bench/lib/serve.mjs '<json spec>'
//   spec = { persist, entryPort, inspectorPort?, workers: [{ name, config?, scriptPath, directPort }] }
// Prints one JSON line {"ready":true,"pid":…,"direct":{name:url}} on stdout when it can serve.
import { dirname, join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { ROOT } from "../../scripts/lib.mjs";

const spec = JSON.parse(process.argv[2]);
process.chdir(ROOT);

const workers = spec.workers.map((w) => {
	// Bindings, compatibility settings, DO classes, service bindings: exactly what wrangler dev
	// would derive from the worker's wrangler.toml. Only the code is the pre-built bundle.
	const base = w.config ? unstable_getMiniflareWorkerOptions(join(ROOT, w.config)).workerOptions : { compatibilityDate: "2026-11-01" };
	// The bundle is one ES module: module rules are for wrangler's bundler, not for us.
	delete base.modulesRules;
	// The benches call only the API (/v1/*, run_worker_first), which never reaches the assets. With
	// `assets`, Miniflare puts two JS workers of its own in front (an RPC proxy and the assets
	// router): every request and every WebSocket message then crosses three workers on the one
	// runtime thread, which the baselines (hello-world, bare D1 worker) do not pay. BENCH_ASSETS=1
	// keeps them, to measure that difference.
	if (process.env.BENCH_ASSETS !== "1") delete base.assets;
	return {
		...base,
		name: w.name,
		modules: true,
		scriptPath: join(ROOT, w.scriptPath),
		// Module names are relative to modulesRoot, which must contain the bundle.
		modulesRoot: dirname(join(ROOT, w.scriptPath)),
		unsafeDirectSockets: [{ host: "127.0.0.1", port: w.directPort }],
	};
});

const mf = new Miniflare(
	convertV4MiniflareOptions({
		workers,
		host: "127.0.0.1",
		port: spec.entryPort,
		...(spec.inspectorPort ? { inspectorPort: spec.inspectorPort } : {}),
		resourcePersistencePath: resolve(ROOT, spec.persist, "v3"),
	}),
);

let closing = false;
async function close(code = 0) {
	if (closing) return;
	closing = true;
	await mf.dispose().catch(() => {});
	process.exit(code);
}
process.on("SIGTERM", () => close(0));
process.on("SIGINT", () => close(0));

try {
	const entry = await mf.ready;
	const direct = {};
	for (const w of spec.workers) direct[w.name] = (await mf.unsafeGetDirectURL(w.name)).href;
	process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, entry: entry.href, direct })}\n`);
} catch (err) {
	process.stderr.write(`miniflare failed to start: ${err?.stack ?? err}\n`);
	await close(1);
}
