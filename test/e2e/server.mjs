// A real local Edgewise for end-to-end tests: `wrangler dev` (workerd, local D1, Durable Objects)
// on a fresh persist directory, with migrations applied and the dev tenant seeded. It can be
// stopped, crashed (SIGKILL) and restarted on the same state. Every process it starts lives in one
// process group, and that group is SIGKILLed when the test process exits, however it exits.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { DEV, devSeedSql } from "../../scripts/dev-keys.mjs";
import { BIN, ROOT, wranglerEnv } from "../../scripts/lib.mjs";

export { DEV };

/** Tests may only use this range. */
export const PORT_MIN = 8900;
export const PORT_MAX = 8999;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A deadline for Promise.race that does not keep the process alive once the race is over. */
const deadline = (ms, value) => new Promise((r) => setTimeout(() => r(value), ms).unref());

/** Process groups we started and have not seen die: SIGKILLed on exit, whatever the exit. */
const liveGroups = new Set();
/** Temp dirs of servers not cleaned up yet: removed on an exit that skipped `cleanup()`. */
const liveDirs = new Set();
function killAllGroups() {
	for (const pgid of liveGroups) {
		try {
			process.kill(-pgid, "SIGKILL");
		} catch {}
	}
	liveGroups.clear();
	for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
	liveDirs.clear();
}
process.on("exit", killAllGroups);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.once(sig, () => {
		killAllGroups();
		process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] ?? 0));
	});
}

/** True if nothing listens on 127.0.0.1:port (or 0.0.0.0:port) right now. */
function portFree(port) {
	return new Promise((resolve) => {
		const srv = createNetServer();
		srv.once("error", () => resolve(false));
		srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
	});
}

/** A free port in 8900-8999, starting from a pid-dependent offset so parallel runs rarely collide. */
export async function freePort(preferred) {
	// A killed server's port can take a moment to be released: give it a few tries.
	for (let i = 0; preferred && i < 20; i++) {
		if (await portFree(preferred)) return preferred;
		await sleep(100);
	}
	const span = PORT_MAX - PORT_MIN + 1;
	const start = (process.pid * 7 + Math.floor(Math.random() * span)) % span;
	for (let i = 0; i < span; i++) {
		const port = PORT_MIN + ((start + i) % span);
		if (port !== preferred && (await portFree(port))) return port;
	}
	throw new Error(`no free port in ${PORT_MIN}-${PORT_MAX}`);
}

/** Live (non-zombie) processes of a process group, with their command lines. */
export function groupProcesses(pgid) {
	const out = [];
	for (const name of readdirSync("/proc")) {
		if (!/^\d+$/.test(name)) continue;
		try {
			const stat = readFileSync(`/proc/${name}/stat`, "utf8");
			// Fields after the parenthesised command name: state ppid pgrp ...
			const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			if (Number(rest[2]) !== pgid || rest[0] === "Z" || rest[0] === "X") continue;
			const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean);
			out.push({ pid: Number(name), ppid: Number(rest[1]), cmd });
		} catch {
			// the process went away while we looked
		}
	}
	return out;
}

/**
 * Runs a wrangler command to completion (like scripts/lib.mjs `wrangler()`, but async and with a
 * deadline: a hung wrangler must fail the test, not hang CI). Its process group is killed on timeout.
 */
export function runWrangler(args, { timeoutMs = 120_000, logPath } = {}) {
	return new Promise((resolve, reject) => {
		// NOTE: wranglerEnv() defaults WRANGLER_LOG to "warn"; below "log" level wrangler also drops `--json` output.
		const env = wranglerEnv({ WRANGLER_LOG: "log", ...(logPath ? { WRANGLER_LOG_PATH: logPath } : {}) });
		const child = spawn(join(BIN, "wrangler"), args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
		liveGroups.add(child.pid);
		let out = "";
		let err = "";
		child.stdout.on("data", (d) => (out += d));
		child.stderr.on("data", (d) => (err += d));
		const timer = setTimeout(() => {
			try {
				process.kill(-child.pid, "SIGKILL");
			} catch {}
		}, timeoutMs);
		child.once("error", reject);
		child.once("close", (code, signal) => {
			clearTimeout(timer);
			try {
				process.kill(-child.pid, "SIGKILL"); // stragglers (workerd) of a finished command
			} catch {}
			liveGroups.delete(child.pid);
			if (code === 0) resolve(out);
			else reject(new Error(`wrangler ${args.slice(0, 4).join(" ")} failed (${signal ?? code}${signal ? `, timeout ${timeoutMs} ms` : ""}):\n${out}${err}`));
		});
	});
}

/**
 * Starts a fresh local Edgewise. Options: `name` (temp dir prefix), `log` (function for progress
 * lines; defaults to silence). Returns a handle; call `cleanup()` in an `after` hook.
 */
export async function startServer({ name = "edgewise-e2e", log = () => {}, vars = {} } = {}) {
	const dir = mkdtempSync(join(tmpdir(), `${name}-`));
	const persistTo = join(dir, "state");
	const logFile = join(dir, "wrangler-dev.log");
	liveDirs.add(dir);
	const server = new EdgewiseServer({ dir, persistTo, logFile, log, vars });
	try {
		const t0 = Date.now();
		const logPath = join(dir, "wrangler-logs");
		await runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], { logPath });
		await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--command", devSeedSql()], { logPath });
		log(`migrations applied and dev keys seeded in ${Date.now() - t0} ms (${persistTo})`);
		await server.start();
	} catch (err) {
		await server.cleanup({ keepOnFailure: true, failed: true });
		throw err;
	}
	return server;
}

class EdgewiseServer {
	constructor({ dir, persistTo, logFile, log, vars = {} }) {
		/** More `--var NAME:value` for wrangler dev (e.g. ALLOW_PRIVATE_DESTINATIONS for a local receiver). */
		this.vars = vars;
		this.dir = dir;
		this.persistTo = persistTo;
		this.logFile = logFile;
		this.log = log;
		this.port = null;
		this.child = null;
		this.pgid = null;
		this.starts = 0;
	}

	get url() {
		return `http://127.0.0.1:${this.port}`;
	}

	/** Starts `wrangler dev` on the persist dir (same port as before when it is still free). */
	async start() {
		if (this.child) throw new Error("server already running");
		let lastErr;
		for (let attempt = 0; attempt < 4; attempt++) {
			const port = await freePort(this.port ?? undefined);
			try {
				await this.#spawn(port);
				return;
			} catch (err) {
				lastErr = err;
				this.log(`start on port ${port} failed (${err.message.split("\n")[0]}); retrying`);
				await this.#killGroup();
			}
		}
		throw lastErr;
	}

	async #spawn(port) {
		const t0 = Date.now();
		const fd = openSync(this.logFile, "a");
		const args = [
			"dev",
			"--port",
			String(port),
			"--ip",
			"127.0.0.1",
			"--test-scheduled",
			"--show-interactive-dev-session=false",
			"--inspector-port",
			"0",
			"--persist-to",
			this.persistTo,
			// The dev identities, independent of a .dev.vars file (gitignored, so absent on a fresh checkout).
			"--var",
			`ADMIN_TOKEN:${DEV.adminToken}`,
			"--var",
			"ENVIRONMENT:development",
			...Object.entries(this.vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
			// Share links are signed with it (.dev.vars.example's development-only value).
			"--var",
			"SHARE_SECRET:dev-only-share-secret-never-deploy-this",
		];
		const child = spawn(join(BIN, "wrangler"), args, {
			cwd: ROOT,
			// info level so the log shows requests and runtime restarts; debug logs stay in the temp dir.
			env: wranglerEnv({ WRANGLER_LOG: "info", WRANGLER_LOG_PATH: join(this.dir, "wrangler-logs") }),
			stdio: ["ignore", fd, fd],
			detached: true, // own process group: killed whole
		});
		closeSync(fd);
		this.child = child;
		this.pgid = child.pid;
		this.port = port;
		this.starts++;
		liveGroups.add(child.pid);
		child.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
		await this.waitHealthy(90_000);
		// Guard against answering for someone else's server: our own proxy must hold the port.
		const proxy = this.workerdProcesses().find((p) => p.cmd.some((a) => a.includes(`entry=127.0.0.1:${port}`)));
		if (!proxy) throw new Error(`port ${port} answered, but not from our workerd`);
		this.log(`wrangler dev #${this.starts} ready on ${this.url} in ${Date.now() - t0} ms`);
	}

	/** Polls /healthz until it answers 200; fails early if wrangler exits. */
	async waitHealthy(timeoutMs = 60_000) {
		const until = Date.now() + timeoutMs;
		let last = "no answer yet";
		while (Date.now() < until) {
			if (!this.child) throw new Error("server is not running");
			if (this.child.exitCode != null || this.child.signalCode != null)
				throw new Error(`wrangler dev exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.logTail()}`);
			try {
				const r = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5000) });
				await r.arrayBuffer();
				if (r.ok) return;
				last = `HTTP ${r.status}`;
			} catch (err) {
				last = err.cause?.code ?? err.message;
			}
			await sleep(200);
		}
		throw new Error(`${this.url}/healthz not ready in ${timeoutMs} ms (${last}):\n${this.logTail()}`);
	}

	/** workerd processes of this server: the proxy (holds our port) and the runtime (runs the worker). */
	workerdProcesses() {
		if (!this.pgid) return [];
		return groupProcesses(this.pgid).filter((p) => /(^|\/)workerd$/.test(p.cmd[0] ?? ""));
	}

	/** The runtime workerd(s): every workerd of the group except the proxy that holds our port. */
	runtimeProcesses() {
		return this.workerdProcesses().filter((p) => !p.cmd.some((a) => a.includes(`entry=127.0.0.1:${this.port}`)));
	}

	/**
	 * SIGKILLs the runtime workerd only. wrangler notices and starts a new runtime on the same
	 * state; resolves once /healthz answers again. Returns the pids killed.
	 */
	async killRuntime() {
		const victims = this.runtimeProcesses();
		if (!victims.length) throw new Error("no runtime workerd found to kill");
		for (const p of victims) {
			try {
				process.kill(p.pid, "SIGKILL");
			} catch {}
		}
		// wait for the new runtime: a different pid, then healthy
		const old = new Set(victims.map((p) => p.pid));
		const until = Date.now() + 60_000;
		while (Date.now() < until) {
			const now = this.runtimeProcesses();
			if (now.length && now.every((p) => !old.has(p.pid))) break;
			await sleep(100);
		}
		await this.waitHealthy(60_000);
		return [...old];
	}

	/** SIGKILLs every workerd of the server first, then the whole wrangler process group. */
	async crash() {
		const pids = this.workerdProcesses().map((p) => p.pid);
		for (const pid of pids) {
			try {
				process.kill(pid, "SIGKILL");
			} catch {}
		}
		await this.#killGroup();
		return pids;
	}

	/** Crash, then start again on the same persist dir. */
	async crashAndRestart() {
		const pids = await this.crash();
		await this.start();
		return pids;
	}

	/** Graceful stop (SIGTERM to the group), SIGKILL after `graceMs`. */
	async stop({ graceMs = 5000 } = {}) {
		if (!this.child) return;
		const t0 = Date.now();
		try {
			process.kill(-this.pgid, "SIGTERM");
		} catch {}
		const done = await Promise.race([this.child.exited.then(() => true), deadline(graceMs, false)]);
		if (!done) this.log(`wrangler dev did not exit ${graceMs} ms after SIGTERM; killing it`);
		await this.#killGroup();
		this.log(`wrangler dev stopped in ${Date.now() - t0} ms`);
	}

	async #killGroup() {
		if (!this.child) return;
		const pgid = this.pgid;
		try {
			process.kill(-pgid, "SIGKILL");
		} catch {}
		await Promise.race([this.child.exited, deadline(10_000)]);
		// Grandchildren are reparented away from us: wait until none of the group is left.
		const until = Date.now() + 10_000;
		while (groupProcesses(pgid).length && Date.now() < until) {
			try {
				process.kill(-pgid, "SIGKILL");
			} catch {}
			await sleep(50);
		}
		const left = groupProcesses(pgid);
		if (left.length) throw new Error(`processes of group ${pgid} survived SIGKILL: ${left.map((p) => p.pid).join(", ")}`);
		liveGroups.delete(pgid);
		this.child = null;
		this.pgid = null;
	}

	/** Stops everything and removes the temp dir (kept, and logged, when `keepOnFailure` is set). */
	async cleanup({ keepOnFailure = false, failed = false } = {}) {
		try {
			await this.stop({ graceMs: 3000 });
		} finally {
			liveDirs.delete(this.dir);
			if (keepOnFailure && failed) this.log(`keeping ${this.dir} for inspection (wrangler log: ${this.logFile})`);
			else rmSync(this.dir, { recursive: true, force: true });
		}
	}

	logTail(lines = 40) {
		if (!existsSync(this.logFile)) return "(no log)";
		return readFileSync(this.logFile, "utf8").split("\n").slice(-lines).join("\n");
	}

	/** Lines of the wrangler dev log that match `re`. */
	logLines(re) {
		if (!existsSync(this.logFile)) return [];
		return readFileSync(this.logFile, "utf8").split("\n").filter((l) => re.test(l));
	}

	/** fetch against the server, with a key and a JSON body when given. */
	fetch(path, { key, json, headers, timeoutMs = 30_000, ...init } = {}) {
		const h = new Headers(headers);
		if (key) h.set("authorization", `Bearer ${key}`);
		if (json !== undefined) h.set("content-type", "application/json");
		return fetch(`${this.url}${path}`, {
			...init,
			headers: h,
			body: json !== undefined ? JSON.stringify(json) : init.body,
			signal: AbortSignal.timeout(timeoutMs),
		});
	}

	/** GET /v1/ingest/stats with the dev read key. */
	async stats() {
		const res = await this.fetch("/v1/ingest/stats", { key: DEV.readKey });
		if (!res.ok) throw new Error(`stats: HTTP ${res.status} ${await res.text()}`);
		return res.json();
	}

	/** Fires the cron handler once (wrangler dev runs with --test-scheduled). */
	async scheduled() {
		for (const path of ["/cdn-cgi/handler/scheduled?cron=*+*+*+*+*", "/__scheduled?cron=*+*+*+*+*"]) {
			const res = await this.fetch(path, { timeoutMs: 15_000 });
			await res.arrayBuffer();
			if (res.ok) return path;
		}
		throw new Error("could not trigger the scheduled handler");
	}

	/**
	 * Waits until the hub has flushed everything to D1 (buffered == 0). It first gives the flush
	 * alarm `alarmGraceMs` on its own, then also fires the cron safety net on each poll. Returns the
	 * final stats and whether the cron had to be fired.
	 */
	async waitFlushed({ timeoutMs = 30_000, alarmGraceMs = 3000 } = {}) {
		const t0 = Date.now();
		let usedCron = false;
		let stats;
		while (Date.now() - t0 < timeoutMs) {
			stats = await this.stats();
			if (stats.buffered === 0) return { stats, usedCron, ms: Date.now() - t0 };
			if (Date.now() - t0 > alarmGraceMs) {
				await this.scheduled();
				usedCron = true;
			}
			await sleep(250);
		}
		throw new Error(`hub did not flush within ${timeoutMs} ms: ${JSON.stringify(stats)}`);
	}

	#sqliteFile(...parts) {
		const d = join(this.persistTo, "v3", ...parts);
		const files = existsSync(d) ? readdirSync(d).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite") : [];
		if (files.length !== 1) throw new Error(`expected one database under ${d}, found ${files.length}`);
		return join(d, files[0]);
	}

	/** Path of the local D1 database file of the DB binding. */
	d1File() {
		return this.#sqliteFile("d1", "miniflare-D1DatabaseObject");
	}

	/** Path of the dev tenant's TenantHub Durable Object SQLite file (GET /readyz wakes a hub of its own). */
	hubFile() {
		const d = join(this.persistTo, "v3", "do", "edgewise-TenantHub");
		const files = existsSync(d) ? readdirSync(d).filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite") : [];
		const mine = files.filter((f) => {
			try {
				return readOnlyQuery(join(d, f), "SELECT tenant_id FROM stats", [])[0]?.tenant_id === DEV.tenant;
			} catch {
				return false;
			}
		});
		if (mine.length !== 1) throw new Error(`expected one hub of ${DEV.tenant} under ${d}, found ${mine.length} (of ${files.length})`);
		return join(d, mine[0]);
	}

	/** Runs a read-only query on the local D1 database file (works while the server runs: WAL). */
	d1(sql, ...params) {
		return readOnlyQuery(this.d1File(), sql, params);
	}

	/** Read-only query on the hub's own storage, from the outside: it does not wake the object. */
	hub(sql, ...params) {
		return readOnlyQuery(this.hubFile(), sql, params);
	}

	/** The same through wrangler (slower; spawns its own workerd). Use with the server stopped. */
	async d1Wrangler(sql) {
		const out = await runWrangler(["d1", "execute", "DB", "--local", "--persist-to", this.persistTo, "--json", "--command", sql], {
			logPath: join(this.dir, "wrangler-logs"),
		});
		return JSON.parse(out)[0].results;
	}
}

function readOnlyQuery(file, sql, params) {
	const db = new DatabaseSync(file, { readOnly: true });
	try {
		return db.prepare(sql).all(...params);
	} finally {
		db.close();
	}
}
