import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The dashboard: Preact + uPlot, built to web/dist, served by the Worker's static assets (or by
// Pages, `npm run deploy:pages`). Build settings come from the environment:
//   EDGEWISE_API_ORIGIN    the API's origin when the dashboard is served from another one ("" = same origin)
//   EDGEWISE_DEV_READ_KEY  prefilled on the sign-in page, and only on localhost (`npm start` sets it)
export default defineConfig({
	root: fileURLToPath(new URL(".", import.meta.url)),
	publicDir: false,
	define: {
		__API_ORIGIN__: JSON.stringify((process.env.EDGEWISE_API_ORIGIN ?? "").replace(/\/+$/, "")),
		__DEV_READ_KEY__: JSON.stringify(process.env.EDGEWISE_DEV_READ_KEY ?? ""),
	},
	oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
	build: {
		outDir: "dist",
		emptyOutDir: true,
		target: "es2022",
		// The overview's initial JavaScript is budgeted (60 KB gzipped): bench:dashboard reads the manifest.
		manifest: true,
		modulePreload: { polyfill: false },
		reportCompressedSize: false,
	},
});
