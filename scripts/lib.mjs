// Small helpers shared by the project's scripts (start, admin, benchmarks, end-to-end tests).
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = join(ROOT, "node_modules", ".bin");

/** Environment for wrangler on these machines: no network, no telemetry. */
export function wranglerEnv(extra = {}) {
	return {
		...process.env,
		CLOUDFLARE_CF_FETCH_ENABLED: "false",
		WRANGLER_SEND_METRICS: "false",
		WRANGLER_LOG: process.env.WRANGLER_LOG ?? "warn",
		PATH: `${BIN}:${process.env.PATH}`,
		...extra,
	};
}

export function ensureDevVars() {
	const vars = join(ROOT, ".dev.vars");
	const example = join(ROOT, ".dev.vars.example");
	if (!existsSync(vars)) return copyFileSync(example, vars);
	// A .dev.vars from before a variable joined the example gets it too; its own values are kept.
	const name = (line) => /^([A-Z_][A-Z0-9_]*)=/.exec(line)?.[1];
	const have = new Set(readFileSync(vars, "utf8").split("\n").map(name).filter(Boolean));
	const missing = readFileSync(example, "utf8").split("\n").filter((line) => name(line) && !have.has(name(line)));
	if (missing.length) appendFileSync(vars, `${readFileSync(vars, "utf8").endsWith("\n") ? "" : "\n"}${missing.join("\n")}\n`);
}

/** Runs wrangler synchronously; throws with its output on failure. */
export function wrangler(args, { persistTo, quiet = true } = {}) {
	const full = persistTo ? [...args, "--persist-to", persistTo] : args;
	// NOTE: below the "log" level wrangler prints nothing at all for --json commands.
	const r = spawnSync(join(BIN, "wrangler"), full, { cwd: ROOT, env: wranglerEnv({ WRANGLER_LOG: "log" }), encoding: "utf8", stdio: quiet ? "pipe" : "inherit" });
	if (r.status !== 0) throw new Error(`wrangler ${full.join(" ")} failed:\n${r.stdout ?? ""}${r.stderr ?? ""}`);
	return r.stdout;
}

/** Starts `wrangler dev` in its own process group so it can be killed whole. */
export function startWranglerDev({ port, persistTo, inspectorPort = false, stdio = "inherit" }) {
	const args = ["dev", "--port", String(port), "--ip", "127.0.0.1", "--test-scheduled", "--show-interactive-dev-session=false"];
	if (persistTo) args.push("--persist-to", persistTo);
	if (inspectorPort === false) args.push("--inspector-port", "0");
	return spawn(join(BIN, "wrangler"), args, { cwd: ROOT, env: wranglerEnv(), stdio, detached: true });
}

/** Polls `url` until it answers 200 or `timeoutMs` passes. */
export async function waitFor(url, timeoutMs = 60_000) {
	const until = Date.now() + timeoutMs;
	let last;
	while (Date.now() < until) {
		try {
			const r = await fetch(url);
			if (r.ok) return;
			last = `HTTP ${r.status}`;
		} catch (err) {
			last = err.message;
		}
		await new Promise((r) => setTimeout(r, 250));
	}
	throw new Error(`${url} did not come up in ${timeoutMs} ms (${last})`);
}

/** Renders a one-line progress bar on stderr. */
export function progress(label, done, total) {
	if (!process.stderr.isTTY && done !== total && done % Math.max(1, Math.floor(total / 10)) !== 0) return;
	const width = 30;
	const filled = Math.round((done / total) * width);
	const line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`;
	process.stderr.write(process.stderr.isTTY ? `\r${line}${done === total ? "\n" : ""}` : `${line}\n`);
}
