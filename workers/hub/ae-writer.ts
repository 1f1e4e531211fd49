import { WorkerEntrypoint } from "cloudflare:workers";
import type { Env } from "../env";
import { AE_POINTS_PER_INVOCATION } from "./analytics";

/** Writes one invocation's worth of Analytics Engine data points (called via the AE_WRITER binding). */
export class AeWriter extends WorkerEntrypoint<Env> {
	/** Returns how many points were written; refuses (writes none) past the per-invocation cap. */
	async write(points: AnalyticsEngineDataPoint[]): Promise<{ written: number; error?: string }> {
		if (points.length > AE_POINTS_PER_INVOCATION) return { written: 0, error: `at most ${AE_POINTS_PER_INVOCATION} points per call` };
		for (const p of points) this.env.AE.writeDataPoint(p);
		return { written: points.length };
	}
}
