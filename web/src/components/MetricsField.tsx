import { useState } from "preact/hooks";
import {
	AGGS,
	describeMetric,
	type Filter,
	isFormula,
	isHidden,
	isMetricName,
	isMetricString,
	type MetricSpec,
	metricName,
	PAIR_AGGS,
	PAIR_COUNTS,
	PAIR_NAME,
	PROP_NAME,
} from "../lib/query";
import { addFilter } from "../lib/url";
import { FilterChips } from "./Controls";
import { FilterForm } from "./QueryFields";

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;
const KINDS = [
	["prop", "Of a property"],
	["distinct", "Distinct values"],
	["pair", "Paired events"],
	["filtered", "With its own filter"],
	["formula", "Formula"],
] as const;
type Kind = (typeof KINDS)[number][0];

/** The metrics: chips to hide or remove, and a form per kind of metric to add. */
export function MetricsField({ metrics, metricProps, dimensionProps, pairs, onChange }: { metrics: MetricSpec[]; metricProps: string[]; dimensionProps: string[]; pairs: string[]; onChange: (m: MetricSpec[]) => void }) {
	const [kind, setKind] = useState<Kind>("prop");
	const names = metrics.map(metricName);
	const add = (m: MetricSpec) => !names.includes(metricName(m)) && metrics.length < 10 && onChange([...metrics, m]);
	const toggle = (i: number) =>
		onChange(
			metrics.map((m, k) => {
				if (k !== i) return m;
				if (typeof m === "string") return { metric: m, hidden: true };
				if (!m.hidden) return { ...m, hidden: true };
				if (isFormula(m)) return { name: m.name, formula: m.formula, ...(m.percent ? { percent: true } : {}) };
				// A plain metric shown again is its name alone, as it was added.
				return m.name || m.filters?.length ? { metric: m.metric, ...(m.name ? { name: m.name } : {}), ...(m.filters?.length ? { filters: m.filters } : {}) } : m.metric;
			}),
		);
	return (
		<fieldset>
			<legend>Metrics (up to 10; formulas may use the names of those before them)</legend>
			<ul class="chips" aria-label="Metrics" style={{ flexBasis: "100%" }}>
				{metrics.map((m, i) => (
					<li class={`chip${isHidden(m) ? " hidden-metric" : ""}`} data-metric={metricName(m)}>
						<span>
							{describeMetric(m)}
							{isHidden(m) && <em> (hidden)</em>}
						</span>
						<button type="button" class="chip-text" aria-label={`${isHidden(m) ? "Show" : "Hide"} metric ${metricName(m)}`} title={isHidden(m) ? "Show it in the answer" : "Compute it for formulas, without showing it"} onClick={() => toggle(i)}>
							{isHidden(m) ? "show" : "hide"}
						</button>
						<button type="button" aria-label={`Remove metric ${metricName(m)}`} disabled={metrics.length === 1} onClick={() => onChange(metrics.filter((_, k) => k !== i))}>
							×
						</button>
					</li>
				))}
			</ul>
			<div class="row" style={{ flexBasis: "100%" }}>
				{["count", "uniques"]
					.filter((m) => !names.includes(m))
					.map((m) => (
						<button type="button" onClick={() => add(m)}>
							+ {m}
						</button>
					))}
				<div class="segmented" role="group" aria-label="Kind of metric to add">
					{KINDS.map(([k, label]) => (
						<button type="button" aria-pressed={kind === k ? "true" : "false"} onClick={() => setKind(k)}>
							{label}
						</button>
					))}
				</div>
			</div>
			{kind === "prop" && <PropMetric props={metricProps} onAdd={add} />}
			{kind === "distinct" && <DistinctMetric props={[...dimensionProps, ...metricProps]} onAdd={add} />}
			{kind === "pair" && <PairMetric pairs={pairs} onAdd={add} />}
			{kind === "filtered" && <FilteredMetric names={names} dimensionProps={dimensionProps} onAdd={add} />}
			{kind === "formula" && <FormulaMetric names={names} onAdd={add} />}
		</fieldset>
	);
}

function PropMetric({ props, onAdd }: { props: string[]; onAdd: (m: string) => void }) {
	const [agg, setAgg] = useState("p95");
	const [prop, setProp] = useState(props[0] ?? "");
	const m = `${agg}:${prop.trim()}`;
	return (
		<form class="row add-form" onSubmit={(e) => (e.preventDefault(), isMetricString(m) && onAdd(m))}>
			<label>
				Aggregate
				<select value={agg} onChange={(e) => setAgg(value(e))}>
					{AGGS.map((a) => (
						<option value={a}>{a}</option>
					))}
				</select>
			</label>
			<label>
				of property
				<input list="metric-props" value={prop} onInput={(e) => setProp(value(e))} placeholder="response_time_ms" style={{ width: "12rem" }} />
			</label>
			<datalist id="metric-props">
				{props.map((p) => (
					<option value={p} />
				))}
			</datalist>
			<button type="submit" disabled={!isMetricString(m)}>
				Add metric
			</button>
		</form>
	);
}

function DistinctMetric({ props, onAdd }: { props: string[]; onAdd: (m: string) => void }) {
	const [prop, setProp] = useState("");
	const m = `uniques:prop:${prop.trim()}`;
	return (
		<form class="row add-form" onSubmit={(e) => (e.preventDefault(), isMetricString(m) && onAdd(m))}>
			<label>
				Distinct values of property
				<input list="distinct-props" value={prop} onInput={(e) => setProp(value(e))} placeholder="conversation_id" style={{ width: "13rem" }} />
			</label>
			<datalist id="distinct-props">
				{[...new Set(["conversation_id", "agent_id", ...props])].map((p) => (
					<option value={p} />
				))}
			</datalist>
			<button type="submit" disabled={!PROP_NAME.test(prop.trim())}>
				Add distinct count
			</button>
			<span class="muted small">from rollups for the workspace's unique properties, else from raw events</span>
		</form>
	);
}

function PairMetric({ pairs, onAdd }: { pairs: string[]; onAdd: (m: string) => void }) {
	const [stat, setStat] = useState("p50");
	const [pair, setPair] = useState(pairs[0] ?? "");
	const m = (PAIR_COUNTS as readonly string[]).includes(stat) ? `${stat}:${pair.trim()}` : `${stat}:pair:${pair.trim()}`;
	return (
		<form class="row add-form" onSubmit={(e) => (e.preventDefault(), isMetricString(m) && onAdd(m))}>
			<label>
				Statistic
				<select value={stat} onChange={(e) => setStat(value(e))}>
					<optgroup label="Time from start to end">
						{PAIR_AGGS.map((a) => (
							<option value={a}>{a}</option>
						))}
					</optgroup>
					<optgroup label="Keys">
						{PAIR_COUNTS.map((a) => (
							<option value={a}>{a}</option>
						))}
					</optgroup>
				</select>
			</label>
			<label>
				of pair
				<input list="pairs" value={pair} onInput={(e) => setPair(value(e))} placeholder="first_response" style={{ width: "12rem" }} />
			</label>
			<datalist id="pairs">
				{pairs.map((p) => (
					<option value={p} />
				))}
			</datalist>
			<button type="submit" disabled={!PAIR_NAME.test(pair.trim())}>
				Add pair metric
			</button>
			<span class="muted small">{pairs.length ? `pairs: ${pairs.join(", ")}` : "pairs are set in the workspace's settings (admin API: pairs)"}</span>
		</form>
	);
}

function FilteredMetric({ names, dimensionProps, onAdd }: { names: string[]; dimensionProps: string[]; onAdd: (m: MetricSpec) => void }) {
	const [name, setName] = useState("");
	const [metric, setMetric] = useState("count");
	const [filters, setFilters] = useState<Filter[]>([]);
	const ok = isMetricName(name) && !names.includes(name) && isMetricString(metric.trim());
	return (
		<div class="add-form" style={{ flexBasis: "100%", display: "grid", gap: "0.5rem" }}>
			<div class="row">
				<label>
					Name
					<input value={name} onInput={(e) => setName(value(e))} placeholder="escalated" style={{ width: "10rem" }} aria-describedby="name-rule" />
				</label>
				<label>
					Metric
					<input list="base-metrics" value={metric} onInput={(e) => setMetric(value(e))} style={{ width: "12rem" }} />
				</label>
				<datalist id="base-metrics">
					{["count", "uniques", "uniques:prop:conversation_id", ...names.filter(isMetricString)].map((m) => (
						<option value={m} />
					))}
				</datalist>
				<span id="name-rule" class="muted small">
					letters, digits and _, as formulas refer to it
				</span>
			</div>
			<FilterChips filters={filters} onChange={setFilters} />
			<FilterForm dimensionProps={dimensionProps} submitLabel="Add condition" idPrefix="mf" onAdd={(f) => setFilters(addFilter(filters, f))} />
			<div class="row">
				<button
					type="button"
					disabled={!ok || !filters.length}
					onClick={() => {
						onAdd({ name, metric: metric.trim(), filters });
						setName("");
						setFilters([]);
					}}
				>
					Add metric with {filters.length === 1 ? "this condition" : `these ${filters.length || ""} conditions`.replace("  ", " ")}
				</button>
			</div>
		</div>
	);
}

function FormulaMetric({ names, onAdd }: { names: string[]; onAdd: (m: MetricSpec) => void }) {
	const [name, setName] = useState("");
	const [formula, setFormula] = useState("");
	const [percent, setPercent] = useState(true);
	const ok = isMetricName(name) && !names.includes(name) && formula.trim().length > 0;
	return (
		<form
			class="row add-form"
			onSubmit={(e) => {
				e.preventDefault();
				if (!ok) return;
				onAdd({ name, formula: formula.trim(), ...(percent ? { percent: true } : {}) });
				setName("");
				setFormula("");
			}}
		>
			<label>
				Name
				<input value={name} onInput={(e) => setName(value(e))} placeholder="escalation_rate" style={{ width: "11rem" }} />
			</label>
			<label>
				Formula (+ − × ÷ of the metrics above)
				<input value={formula} onInput={(e) => setFormula(value(e))} placeholder={names.length > 1 ? `${names[1]} / ${names[0]}` : "escalated / started"} style={{ width: "16rem" }} />
			</label>
			<label class="check">
				<input type="checkbox" checked={percent} onChange={(e) => setPercent((e.currentTarget as HTMLInputElement).checked)} />
				as a percentage
			</label>
			<button type="submit" disabled={!ok}>
				Add formula
			</button>
			<span class="muted small">names: {names.join(", ")}; a division by zero gives no value</span>
		</form>
	);
}

