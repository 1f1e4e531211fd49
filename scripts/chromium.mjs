// Debian's Chromium for the dashboard's browser tests and bench:dashboard, driven by
// playwright-core. Never a downloaded browser: CI installs Debian's package (.ci/run).
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.EDGEWISE_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/**
 * Chromium with a fresh profile directory (--user-data-dir), removed by `close()`. Fails with
 * the way to install it when it is missing.
 */
export async function launchChromium({ viewport = { width: 1280, height: 900 }, colorScheme = "light" } = {}) {
	if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: install Debian's package (apt-get install -y chromium) or set EDGEWISE_CHROMIUM to a Chromium binary.`);
	const profile = mkdtempSync(join(tmpdir(), "edgewise-chromium-"));
	const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, colorScheme });
	return {
		context,
		async close() {
			await context.close().catch(() => {});
			rmSync(profile, { recursive: true, force: true });
		},
	};
}
