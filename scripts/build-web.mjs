// Builds the dashboard (web/ → web/dist) with Vite, for `npm start`, the deploys, the browser
// tests and bench:dashboard. Settings are build-time (web/vite.config.mjs):
//   devReadKey  prefilled on the sign-in page when opened on localhost (only `npm start` sets it)
//   apiOrigin   the API's origin when the dashboard is served from another one (Pages)
//   outDir      where to write it (default web/dist, what the Worker serves)
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BIN, ROOT } from "./lib.mjs";

/** Runs `vite build`; throws with Vite's output if it fails. */
export function buildDashboard({ devReadKey = "", apiOrigin = "", outDir = join(ROOT, "web", "dist"), quiet = true } = {}) {
	const env = { ...process.env, EDGEWISE_DEV_READ_KEY: devReadKey, EDGEWISE_API_ORIGIN: apiOrigin, PATH: `${BIN}:${process.env.PATH}` };
	const args = ["build", "--config", "web/vite.config.mjs", "--outDir", outDir, "--emptyOutDir", "--logLevel", quiet ? "warn" : "info"];
	const r = spawnSync(join(BIN, "vite"), args, { cwd: ROOT, env, encoding: "utf8", stdio: quiet ? "pipe" : "inherit" });
	if (r.status !== 0) throw new Error(`the dashboard build failed (vite build):\n${r.stdout ?? ""}${r.stderr ?? ""}`);
	return outDir;
}
