import type { D1Migration } from "@cloudflare/vitest-plugin";
import type { Env as WorkerEnv } from "../workers/env";

declare global {
	namespace Cloudflare {
		interface GlobalProps {
			mainModule: typeof import("../workers/index");
		}
		interface Env extends WorkerEnv {
			TEST_MIGRATIONS: D1Migration[];
		}
	}
}
