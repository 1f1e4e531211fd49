// What the browser tests share: screenshots of a screen in its three looks, checked with axe-core,
// and the seeded events counted the way the API counts them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { DEV } from "./platform.mjs";

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export const VARIANTS = [
	["desktop", { width: 1280, height: 900 }, "light"],
	["375px", { width: 375, height: 812 }, "light"],
	["dark", { width: 1280, height: 900 }, "dark"],
];

/**
 * Screenshots of the page's current screen: desktop, 375 px wide and dark, into `dir`, each
 * checked with axe-core (results pushed to `report`). Nothing may stick out sideways on a phone.
 */
export async function capture(page, dir, report, name) {
	for (const [variant, size, scheme] of VARIANTS) {
		await page.setViewportSize(size);
		await page.emulateMedia({ colorScheme: scheme });
		await page.waitForTimeout(350); // ResizeObserver → uPlot setSize, and the dark redraw
		await page.screenshot({ path: join(dir, `${name}-${variant}.png`), fullPage: true });
		if (variant === "375px") {
			const width = await page.evaluate(() => document.documentElement.scrollWidth);
			assert.ok(width <= 375, `${name} is ${width} px wide at 375 px`);
		}
		await axe(page, report, `${name} (${variant})`);
	}
	await page.setViewportSize({ width: 1280, height: 900 });
	await page.emulateMedia({ colorScheme: "light" });
}

/** Runs axe-core on the page; fails on serious or critical violations. */
export async function axe(page, report, label) {
	if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: AXE });
	const result = await page.evaluate(async () => {
		const r = await window.axe.run(document, { resultTypes: ["violations"], runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } });
		return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
	});
	report.push({ screen: label, violations: result });
	const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
	assert.deepEqual(serious, [], `${label}: axe-core found serious violations:\n${JSON.stringify(serious, null, 1)}`);
}

/** Signs in on the page with `key` (the stored key cleared first). */
export async function signIn(page, base, key) {
	await page.goto(`${base}/`);
	await page.evaluate(() => localStorage.clear());
	await page.goto(`${base}/`);
	await page.fill("input[name=key]", key);
	await page.click("button[type=submit]");
}

/** Local weekday and hour of an instant in the demo tenant's zone, straight from Intl. */
export const local = (() => {
	const f = new Intl.DateTimeFormat("en-GB", { timeZone: DEV.timezone, weekday: "short", hour: "numeric", hourCycle: "h23" });
	return (iso) => {
		const p = Object.fromEntries(f.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
		return { weekday: p.weekday, hour: Number(p.hour) };
	};
})();

/** The seeded events inside a resolved range (`meta.date_range`: from inclusive, to exclusive). */
export const inRange = (events, range) => events.filter((e) => Date.parse(e.timestamp) >= Date.parse(range.from) && Date.parse(e.timestamp) < Date.parse(range.to));
