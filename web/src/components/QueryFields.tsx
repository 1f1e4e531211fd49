import { useState } from "preact/hooks";
import { dimLabel } from "../lib/format";
import {
	AGGS,
	describeMetric,
	type Filter,
	FILTER_OPS,
	type FilterOp,
	isDimension,
	isFormula,
	isHidden,
	isMetricName,
	isMetricString,
	type MetricSpec,
	metricName,
	NUMERIC_DIMS,
	PAIR_AGGS,
	PAIR_COUNTS,
	PAIR_NAME,
	parseEdges,
	PROP_NAME,
	SIMPLE_DIMS,
} from "../lib/query";
import { addFilter, type BinsSel, type ExploreView } from "../lib/url";
import { FilterChips } from "./Controls";

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

/** A filter's dimension, operator and value; numbers for hours, weekdays, gt and lt. */
export function FilterForm({ dimensionProps, onAdd, submitLabel, idPrefix }: { dimensionProps: string[]; onAdd: (f: Filter) => void; submitLabel: string; idPrefix: string }) {
	const [op, setOp] = useState<FilterOp>("is");
	const [dim, setDim] = useState("event");
	const [val, setVal] = useState("");
	const numeric = op === "gt" || op === "lt" || NUMERIC_DIMS.has(dim);
	const parsed = numeric ? Number(val) : val;
	const ok = isDimension(dim.trim()) && !dim.startsWith("bins:") && (numeric ? val !== "" && Number.isFinite(parsed) : true);
	return (
		<form
			class="row"
			onSubmit={(e) => {
				e.preventDefault();
				if (!ok) return;
				onAdd([op, dim.trim(), val === "" && op !== "contains" ? null : parsed]);
				setVal("");
			}}
		>
			<label>
				Dimension
				<input list={`${idPrefix}-dims`} value={dim} onInput={(e) => setDim(value(e))} style={{ width: "11rem" }} />
			</label>
			<datalist id={`${idPrefix}-dims`}>
				{[...SIMPLE_DIMS, ...dimensionProps.map((p) => `prop:${p}`)].map((d) => (
					<option value={d} />
				))}
			</datalist>
			<label>
				Operator
				<select value={op} onChange={(e) => setOp(value(e) as FilterOp)}>
					{FILTER_OPS.map((o) => (
						<option value={o}>{o}</option>
					))}
				</select>
			</label>
			<label>
				Value
				<input value={val} onInput={(e) => setVal(value(e))} placeholder={numeric ? "a number" : "empty = missing"} style={{ width: "10rem" }} />
			</label>
			<button type="submit" disabled={!ok}>
				{submitLabel}
			</button>
		</form>
	);
}

/** Break-downs: up to three dimensions, one of them a distribution (bins:<property>) with its bins. */
export function DimensionsField({ view, dimensionProps, metricProps, onChange }: { view: ExploreView; dimensionProps: string[]; metricProps: string[]; onChange: (d: string[], bins?: BinsSel) => void }) {
	const [pick, setPick] = useState("");
	const hasBins = view.dimensions.find((d) => d.startsWith("bins:"));
	const options = [...SIMPLE_DIMS, ...dimensionProps.map((p) => `prop:${p}`), ...(hasBins ? [] : metricProps.map((p) => `bins:${p}`))].filter((d) => !view.dimensions.includes(d));
	const d = pick.trim();
	const ok = isDimension(d) && view.dimensions.length < 3 && !(hasBins && d.startsWith("bins:")) && !view.dimensions.includes(d);
	return (
		<fieldset>
			<legend>Break down by (up to 3; bins:&lt;property&gt; is a distribution)</legend>
			<ul class="chips" aria-label="Dimensions">
				{view.dimensions.map((x) => (
					<li class="chip">
						<span>{dimLabel(x)}</span>
						<button type="button" aria-label={`Remove dimension ${x}`} onClick={() => onChange(view.dimensions.filter((y) => y !== x), x.startsWith("bins:") ? null : view.bins)}>
							×
						</button>
					</li>
				))}
			</ul>
			<form
				class="row"
				onSubmit={(e) => {
					e.preventDefault();
					if (!ok) return;
					onChange([...view.dimensions, d], view.bins);
					setPick("");
				}}
			>
				<label>
					Dimension
					<input list="dims" value={pick} onInput={(e) => setPick(value(e))} placeholder="country, prop:plan, bins:amount" style={{ width: "14rem" }} />
				</label>
				<datalist id="dims">
					{options.map((x) => (
						<option value={x} />
					))}
				</datalist>
				<button type="submit" disabled={!ok}>
					Add dimension
				</button>
			</form>
			{hasBins && <BinsForm prop={hasBins.slice(5)} bins={view.bins} onChange={(b) => onChange(view.dimensions, b)} />}
		</fieldset>
	);
}

function BinsForm({ prop, bins, onChange }: { prop: string; bins: BinsSel; onChange: (b: BinsSel) => void }) {
	const [mode, setMode] = useState(bins && "edges" in bins ? "edges" : "auto");
	const [count, setCount] = useState(String(bins && "count" in bins ? bins.count : 10));
	const [edges, setEdges] = useState(bins && "edges" in bins ? bins.edges.join(", ") : "");
	const n = Number(count);
	const parsed = parseEdges(edges);
	const ok = mode === "auto" ? Number.isInteger(n) && n >= 1 && n <= 50 : parsed != null;
	return (
		<form
			class="row bins-form"
			style={{ flexBasis: "100%" }}
			onSubmit={(e) => {
				e.preventDefault();
				if (ok) onChange(mode === "auto" ? (n === 10 ? null : { count: n }) : { edges: parsed! });
			}}
		>
			<span class="small">Bins of {prop}:</span>
			<label class="check">
				<input type="radio" name="bins-mode" checked={mode === "auto"} onChange={() => setMode("auto")} />
				automatic
			</label>
			<label>
				how many
				<input type="number" min={1} max={50} value={count} disabled={mode !== "auto"} onInput={(e) => setCount(value(e))} style={{ width: "5rem" }} />
			</label>
			<label class="check">
				<input type="radio" name="bins-mode" checked={mode === "edges"} onChange={() => setMode("edges")} />
				edges
			</label>
			<label>
				lower edges, ascending
				<input value={edges} disabled={mode !== "edges"} placeholder="0, 1000, 5000, 30000" onInput={(e) => setEdges(value(e))} style={{ width: "14rem" }} />
			</label>
			<button type="submit" disabled={!ok}>
				Apply bins
			</button>
		</form>
	);
}
