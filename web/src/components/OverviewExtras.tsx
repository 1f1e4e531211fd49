// What the Overview loads only when asked (insights on its main chart, the people behind a bucket
// or a breakdown row): the overview's own JavaScript stays small, and its first load one round trip.
import { useEffect, useMemo, useRef } from "preact/hooks";
import type { ApiClient } from "../api/client";
import { opsFor } from "../api/ops";
import type { AnswerBody } from "../api/types";
import type { Insights } from "../lib/insights";
import { overviewPeopleBody, type PeoplePick } from "../lib/people";
import type { BaseView } from "../lib/url";
import { InsightsChart } from "./InsightsChart";
import { PeopleBehind } from "./PeopleBehind";

export { SaveKindReport } from "./SaveKindReport";

export const hasInsights = (a: AnswerBody): a is AnswerBody & { insights: Insights } => a.insights != null && a.meta.granularity != null;

/** The main chart with its insights; a click on a point (or a flagged bucket's "people") picks that bucket. */
export function OverviewInsights({ answer, onPick }: { answer: AnswerBody & { insights: Insights }; onPick: (time: string) => void }) {
	return <InsightsChart answer={answer} height={260} onPick={(time) => onPick(time)} />;
}

/** The people behind the Overview's pick, scrolled into view when the pick changes. */
export function OverviewPeople({ api, secret, view, granularity, pick, label, onClose }: { api: ApiClient; secret: string; view: BaseView; granularity: string; pick: PeoplePick; label: string; onClose: () => void }) {
	const ops = useMemo(() => opsFor(secret), [secret]);
	const body = useMemo(() => overviewPeopleBody(view, granularity, pick), [JSON.stringify([view.range, view.tz, view.filters, granularity, pick])]);
	const ref = useRef<HTMLDivElement>(null);
	useEffect(() => ref.current?.scrollIntoView({ block: "nearest" }), [JSON.stringify(pick)]);
	return (
		<div ref={ref}>
			<PeopleBehind api={api} ops={ops} body={body} label={label} onClose={onClose} />
		</div>
	);
}
