// A DuckDB worker process (a module under bench/lib that answers `{cmd, …}` messages with
// `{ok, result | error}`), so that DuckDB's threads never share the benchmark's event loop.
import { fork } from "node:child_process";
import { join } from "node:path";
import { BIN, ROOT } from "../../scripts/lib.mjs";

/** start / ask / stop a child running `bench/lib/<file>`; `pid()` is null when none runs. */
export function duckChild(file) {
	let duck = null;
	return {
		start() {
			if (duck) return;
			duck = fork(join(ROOT, "bench/lib", file), [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execPath: join(BIN, "node") });
			duck.on("exit", () => (duck = null));
		},
		ask(msg) {
			return new Promise((resolve, reject) => {
				const child = duck;
				if (!child) return reject(new Error(`DuckDB child not running (${msg.cmd})`));
				const onExit = (code) => reject(new Error(`DuckDB child exited (${code}) during ${msg.cmd}`));
				child.once("exit", onExit);
				child.once("message", (m) => {
					child.off("exit", onExit);
					if (m.ok) resolve(m.result);
					else reject(new Error(`DuckDB ${msg.cmd}: ${m.error}`));
				});
				child.send(msg);
			});
		},
		async stop() {
			if (!duck) return;
			const child = duck;
			child.send({ cmd: "close" });
			await new Promise((r) => {
				child.once("exit", r);
				setTimeout(() => {
					child.kill("SIGKILL");
					r();
				}, 5000).unref();
			});
			duck = null;
		},
		kill() {
			duck?.kill("SIGKILL");
		},
		pid: () => duck?.pid ?? null,
	};
}
