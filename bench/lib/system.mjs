// Process, CPU and memory plumbing for the benchmark: Linux /proc only, no dependencies.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

const read = (p) => {
	try {
		return readFileSync(p, "utf8");
	} catch {
		return null;
	}
};

/** Children we started, each the leader of its own process group. */
const groups = new Set();

/** Spawns `cmd` as the leader of a new process group (so the whole tree can be killed). */
export function spawnGroup(cmd, args, opts = {}) {
	const child = spawn(cmd, args, { ...opts, detached: true });
	// Kept until killGroup: the leader may exit while its group (workerd) lives on.
	groups.add(child.pid);
	return child;
}

function groupAlive(pgid) {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch {
		return false;
	}
}

/** SIGTERM the group, then SIGKILL whatever is left after `graceMs`. */
export async function killGroup(pgid, graceMs = 4000) {
	if (!pgid) return;
	try {
		process.kill(-pgid, "SIGTERM");
	} catch {}
	const until = Date.now() + graceMs;
	while (groupAlive(pgid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
	try {
		process.kill(-pgid, "SIGKILL");
	} catch {}
	groups.delete(pgid);
}

/** Last-resort cleanup (exit handlers): SIGKILL every group we started, synchronously. */
export function killAllSync() {
	for (const pgid of groups) {
		try {
			process.kill(-pgid, "SIGKILL");
		} catch {}
	}
	groups.clear();
}

export async function killAll() {
	await Promise.all([...groups].map((g) => killGroup(g)));
}

/** All descendants of `pid` (via /proc/<pid>/stat ppid). */
export function descendants(pid) {
	const parent = new Map();
	for (const d of readdirSync("/proc")) {
		if (!/^\d+$/.test(d)) continue;
		const s = read(`/proc/${d}/stat`);
		if (!s) continue;
		const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
		parent.set(Number(d), Number(rest[1]));
	}
	const out = [];
	const walk = (p) => {
		for (const [c, pp] of parent) if (pp === p) out.push(c), walk(c);
	};
	walk(pid);
	return out;
}

export function comm(pid) {
	return read(`/proc/${pid}/comm`)?.trim() ?? null;
}

/** workerd processes under `pid`. */
export function workerdPids(pid) {
	return descendants(pid).filter((p) => comm(p) === "workerd");
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid) {
	const s = read(`/proc/${pid}/stat`);
	if (!s) return 0;
	const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
	return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** VmRSS and VmHWM (peak RSS) in MiB. */
export function memory(pid) {
	const s = read(`/proc/${pid}/status`);
	if (!s) return { rss: 0, hwm: 0 };
	const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? 0);
	return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
}

/** Machine-wide busy and total CPU seconds (all cores) from /proc/stat. */
export function machineCpu() {
	const f = read("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
	const idle = f[3] + (f[4] ?? 0);
	const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
	return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

/**
 * Waits up to `maxS` seconds for the machine to be < 25% busy (measured over 1 s; the benchmark's
 * own processes are idle while it waits, so what is busy is someone else's work). Returns the last
 * busy %; says through `log` while it waits (unless `quietly`) and when it gives up. With `maxS` 0
 * it only measures.
 */
export async function waitQuiet(maxS, log = () => {}, { quietly = false } = {}) {
	const until = Date.now() + maxS * 1000;
	for (;;) {
		const m0 = machineCpu();
		await new Promise((r) => setTimeout(r, 1000));
		const m1 = machineCpu();
		const busy = Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100);
		if (busy < 25 || Date.now() >= until) {
			if (busy >= 25) log(`machine is ${busy}% busy (other processes): figures will be pessimistic`);
			return busy;
		}
		if (!quietly) log(`machine is ${busy}% busy (other processes), waiting for quiet…`);
	}
}

/** RSS split into anonymous memory (heaps, caches) and file-backed pages (binary, mmapped files). */
export function memoryBreakdown(pid) {
	const s = read(`/proc/${pid}/smaps_rollup`);
	if (!s) return null;
	const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] ?? 0);
	const rss = kb("Rss") / 1024;
	const anon = kb("Anonymous") / 1024;
	return { rss_mib: Math.round(rss), anonymous_mib: Math.round(anon), file_backed_mib: Math.round(rss - anon) };
}

/**
 * Samples RSS of the processes `pids()` returns every `everyMs`; `.peak` is the highest summed
 * RSS seen since the last `reset()`, `.peakAll` since start.
 */
export function rssSampler(pids, everyMs = 200) {
	const s = { peak: 0, peakAll: 0, last: 0 };
	const tick = () => {
		const rss = pids().reduce((a, p) => a + memory(p).rss, 0);
		s.last = rss;
		s.peak = Math.max(s.peak, rss);
		s.peakAll = Math.max(s.peakAll, rss);
	};
	tick();
	const t = setInterval(tick, everyMs);
	t.unref();
	s.reset = () => {
		tick();
		s.peak = s.last;
	};
	s.stop = () => clearInterval(t);
	s.tick = tick;
	return s;
}

/**
 * CPU accounting over a window: the server (workerd and the process that hosts it), this process
 * (the load generator), and everything else on the machine (other users of the 2 cores skew
 * results: reported, not hidden).
 */
export function cpuWindow(serverPids) {
	const pids = serverPids();
	const w0 = pids.map(cpuSeconds).reduce((a, b) => a + b, 0);
	const g0 = process.cpuUsage();
	const m0 = machineCpu();
	const t0 = performance.now();
	return () => {
		const wall = (performance.now() - t0) / 1000;
		// A process that exited takes its CPU time with it: never report a negative share.
		const w = Math.max(0, serverPids().map(cpuSeconds).reduce((a, b) => a + b, 0) - w0);
		const g = process.cpuUsage(g0);
		const gen = (g.user + g.system) / 1e6;
		const m = machineCpu();
		const busy = m.busy - m0.busy;
		const pct = (x) => Math.round((x / wall) * 100);
		return { wall_s: Math.round(wall * 10) / 10, server_cpu_pct: Math.max(0, pct(w)), generator_cpu_pct: pct(gen), other_cpu_pct: Math.max(0, pct(busy - w - gen)), machine_busy_pct: pct(busy), cores: os.cpus().length, server_cpu_s: w };
	};
}

/** True if nothing listens on 127.0.0.1:`port`. */
export function portFree(port) {
	return new Promise((resolve) => {
		const srv = net.createServer();
		srv.once("error", () => resolve(false));
		srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
	});
}

/** TCP ports in LISTEN state owned by `pid` (socket inodes from /proc/<pid>/fd → /proc/net/tcp*). */
export function listeningPorts(pid) {
	const inodes = new Set();
	try {
		for (const fd of readdirSync(`/proc/${pid}/fd`)) {
			try {
				const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
				if (m) inodes.add(m[1]);
			} catch {}
		}
	} catch {
		return [];
	}
	const ports = [];
	for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		for (const line of (read(table) ?? "").split("\n").slice(1)) {
			const f = line.trim().split(/\s+/);
			if (f.length < 10 || f[3] !== "0A" || !inodes.has(f[9])) continue;
			ports.push(Number.parseInt(f[1].split(":").pop(), 16));
		}
	}
	return [...new Set(ports)];
}

export function machineInfo() {
	const cpus = os.cpus();
	return { cores: cpus.length, cpu_model: cpus[0]?.model ?? "?", mem_gib: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100) };
}

export function git(root) {
	const run = (...a) => spawnSync("git", a, { cwd: root, encoding: "utf8" }).stdout?.trim() ?? "";
	// Only what changes the figures: uncommitted edits to docs do not make a run "dirty".
	const status = spawnSync("git", ["status", "--porcelain", "--", "workers", "migrations", "wrangler.toml", "bench", "package-lock.json"], { cwd: root, encoding: "utf8" }).stdout ?? "";
	const changed = status.split("\n").filter(Boolean).map((l) => l.slice(3));
	return { commit: run("rev-parse", "--short", "HEAD"), dirty: changed.length > 0, changed };
}

/**
 * What a benchmark records about its run: when, which commit, which machine, Node, and the
 * versions of `packages` ({ key: package name }, resolved from the repository), then `extra` and its config.
 */
export function runMeta(root, { packages = {}, config, ...extra }) {
	const require = createRequire(join(root, "package.json"));
	const versions = Object.fromEntries(Object.entries(packages).map(([key, name]) => [key, require(`${name}/package.json`).version]));
	return { date: new Date().toISOString(), git: git(root), machine: machineInfo(), node: process.versions.node, ...versions, ...extra, config };
}
