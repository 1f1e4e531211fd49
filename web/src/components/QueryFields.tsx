import { useState } from "preact/hooks";
import { dimLabel } from "../lib/format";
import { type Filter, FILTER_OPS, type FilterOp, isDimension, NUMERIC_DIMS, parseEdges, SIMPLE_DIMS } from "../lib/query";
import type { BinsSel, ExploreView } from "../lib/url";

const value = (e: Event) => (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;

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
