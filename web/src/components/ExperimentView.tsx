import type { ExperimentAnswer } from "../api/people";
import { formatNumber } from "../lib/format";
import { pct, pp, ppRange } from "../lib/people";
import "../people.css";

type Test = ExperimentAnswer["tests"][number];

const num = (v: number | null | undefined, conversion: boolean) => (v == null ? "–" : conversion ? pct(v, 2) : formatNumber(Math.round(v * 100) / 100));
/** An effect: a difference of rates in percentage points (conversion), else in the metric's unit, signed. */
const effect = (v: number | null | undefined, conversion: boolean, long = false) => (v == null ? "–" : conversion ? pp(v, 2, long) : `${v >= 0 ? "+" : ""}${num(v, false)}`);
/** A 95% interval of an effect: "+0.95 to +11.86 pp" (conversion) or "-1.2 to 3.4". */
const interval = (ci: readonly [number, number] | number[], conversion: boolean, long = false, joiner = " to ") => (conversion ? ppRange(ci[0], ci[1], 2, long, joiner) : `${num(ci[0], false)}${joiner}${num(ci[1], false)}`);
const pText = (p: number | null | undefined) => (p == null ? "–" : p < 0.001 ? "< 0.001" : p.toFixed(3));

/** The verdict in plain words, from the test, the sample ratio check and the sample still needed. */
export function verdict(a: ExperimentAnswer, t: Test): { tone: "good" | "bad" | "neutral"; text: string } {
	const conv = a.metric === "conversion";
	const eff = conv ? pp(Math.abs(t.effect), 2, true).replace(/^\+/, "") : formatNumber(Math.round(Math.abs(t.effect) * 100) / 100);
	const rel = t.relative_effect == null ? "" : ` (${t.relative_effect >= 0 ? "+" : ""}${(t.relative_effect * 100).toFixed(0)}%)`;
	if (a.srm?.mismatch)
		return { tone: "bad", text: `Do not trust this result: the variants' sizes do not match the intended split (sample ratio mismatch, p ${pText(a.srm.p_value)}). Check the assignment and the tracking first.` };
	const p = t.adjusted_p_value ?? t.p_value;
	if (p != null && p < 0.05)
		return {
			tone: t.effect > 0 ? "good" : "bad",
			text: `${t.variant} ${t.effect > 0 ? "beats" : "does worse than"} ${t.control} by ${eff}${rel}, and chance alone rarely gives a difference this large (p ${pText(p)}). The true effect is probably between ${interval(t.ci95, conv, true, " and ")}.`,
		};
	const need = t.more_units_needed;
	return {
		tone: "neutral",
		text: `No clear difference yet between ${t.variant} and ${t.control} (p ${pText(p)}): the effect could be anywhere from ${interval(t.ci95, conv, true)}.${need ? ` About ${formatNumber(need)} more ${a.metric === "avg" ? "units" : "people"} per variant would detect an effect of ${conv ? pp(t.powered_for ?? 0, 2, true).replace(/^\+/, "") : formatNumber(t.powered_for ?? 0)}.` : ""}`,
	};
}

/** An experiment's answer: a verdict per variant, the variants' figures and the tests' numbers. */
export function ExperimentView({ answer, title }: { answer: ExperimentAnswer; title: string }) {
	const conv = answer.metric === "conversion";
	if (!answer.variants.length)
		return (
			<p class="muted small" data-testid="experiment-empty">
				Nobody was exposed in this range: check the exposure event, the experiment's name and the variant property.
			</p>
		);
	return (
		<div data-testid="experiment">
			{answer.tests.map((t) => {
				const v = verdict(answer, t);
				return (
					<p class={`verdict ${v.tone}`} data-variant={t.variant} data-testid="verdict">
						{v.text}
					</p>
				);
			})}
			<div class="table-wrap" tabIndex={0} role="region" aria-label={`${title}, variants`}>
				<table data-testid="experiment-variants">
					<caption class="sr-only">{title}: variants</caption>
					<thead>
						<tr>
							<th scope="col">Variant</th>
							<th scope="col" class="num">
								People
							</th>
							<th scope="col" class="num">
								Converted
							</th>
							<th scope="col" class="num">
								{conv ? "Rate" : "Mean"}
							</th>
							<th scope="col" class="num">
								Effect
							</th>
							<th scope="col" class="num">
								95% interval
							</th>
							<th scope="col" class="num">
								p-value
							</th>
							<th scope="col" class="num">
								More needed
							</th>
						</tr>
					</thead>
					<tbody>
						{answer.variants.map((v) => {
							const t = answer.tests.find((x) => x.variant === v.variant);
							const value = "rate" in v ? v.rate : "mean" in v ? v.mean : null;
							return (
								<tr data-variant={v.variant}>
									<th scope="row">
										{v.variant}
										{v.variant === answer.control ? <span class="muted small"> (control)</span> : null}
									</th>
									<td class="num" data-col="people" data-value={v.people}>
										{formatNumber(v.people)}
									</td>
									<td class="num" data-col="converted" data-value={v.converted}>
										{formatNumber(v.converted)}
									</td>
									<td class="num" data-col="value" data-value={value ?? ""}>
										{num(value, conv)}
									</td>
									<td class="num" data-col="effect" data-value={t?.effect ?? ""}>
										{t ? effect(t.effect, conv) : "–"}
									</td>
									<td class="num" data-col="ci" data-lo={t?.ci95[0] ?? ""} data-hi={t?.ci95[1] ?? ""}>
										{t ? interval(t.ci95, conv) : "–"}
									</td>
									<td class="num" data-col="p" data-value={t?.p_value ?? ""}>
										{t ? pText(t.p_value) : "–"}
									</td>
									<td class="num" data-col="needed" data-value={t?.more_units_needed ?? ""}>
										{t ? (t.more_units_needed ? formatNumber(t.more_units_needed) : "enough") : "–"}
									</td>
								</tr>
							);
						})}
					</tbody>
				</table>
			</div>
			<dl class="kv" style={{ marginTop: "0.75rem" }}>
				<div>
					<dt>Sample ratio check</dt>
					<dd data-testid="srm" data-mismatch={answer.srm?.mismatch ? "true" : "false"}>
						{answer.srm ? `${answer.srm.mismatch ? "mismatch: do not trust the result" : "ok"} (χ² ${answer.srm.chi2.toFixed(2)}, p ${pText(answer.srm.p_value)})` : "one variant only"}
					</dd>
				</div>
				<div>
					<dt>Left out</dt>
					<dd>{formatNumber(answer.excluded.mixed_people)} people who saw several variants</dd>
				</div>
			</dl>
			{answer.notes.length > 0 && (
				<ul class="small muted">
					{answer.notes.map((n) => (
						<li>{n}</li>
					))}
				</ul>
			)}
			<p class="muted small">{answer.meta.method}</p>
		</div>
	);
}
