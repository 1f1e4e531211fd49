// Starts bench/lib/serve.mjs (one Miniflare instance on a pre-built bundle) as its own process
// group and waits for its ready line; shared by bench:ingest and bench:live.
import { join } from "node:path";
import { BIN, ROOT, wranglerEnv } from "../../scripts/lib.mjs";
import { descendants, killGroup, spawnGroup, workerdPids } from "./system.mjs";

/** spec: see serve.mjs. Resolves to { pid, direct: {name: url}, workerd(), group(), stop() }. */
export async function startMiniflare(spec, extraEnv = {}) {
	const child = spawnGroup(join(BIN, "node"), [join(ROOT, "bench/lib/serve.mjs"), JSON.stringify(spec)], {
		cwd: ROOT,
		env: wranglerEnv(extraEnv),
		stdio: ["ignore", "pipe", "pipe"],
	});
	let err = "";
	child.stderr.on("data", (d) => (err += d));
	const ready = await new Promise((resolve, reject) => {
		let out = "";
		const timer = setTimeout(() => reject(new Error(`miniflare did not start in 60 s:\n${err}`)), 60_000);
		child.stdout.on("data", (d) => {
			out += d;
			const line = out.split("\n").find((l) => l.startsWith("{"));
			if (line) {
				clearTimeout(timer);
				resolve(JSON.parse(line));
			}
		});
		child.on("exit", (code) => {
			clearTimeout(timer);
			reject(new Error(`miniflare exited (${code}):\n${err}`));
		});
	});
	child.removeAllListeners("exit");
	return { child, pid: child.pid, direct: ready.direct, workerd: () => workerdPids(child.pid), group: () => [child.pid, ...descendants(child.pid)], stop: () => killGroup(child.pid) };
}
