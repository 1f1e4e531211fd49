import { WorkerEntrypoint } from "cloudflare:workers";
import type { Env } from "../env";
import { AE_POINTS_PER_INVOCATION } from "./analytics";

/** Writes one invocation's worth of Analytics Engine data points (called via the AE_WRITER binding). */
export class AeWriter extends WorkerEntrypoint<Env> {
	async write(points: AnalyticsEngineDataPoint[]): Promise<number> {
		if (points.length > AE_POINTS_PER_INVOCATION) throw new Error(`at most ${AE_POINTS_PER_INVOCATION} points per call`);
		for (const p of points) this.env.AE.writeDataPoint(p);
		return points.length;
	}
}
