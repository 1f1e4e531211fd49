import { useState } from "preact/hooks";
import { dimLabel, formatDimValue } from "../lib/format";
import { isPreset, localToday, PRESET_LABELS, PRESETS, presetDates, type RangeSel, validCustom } from "../lib/range";
import { type BaseView, encodeFilter, type Filter, removeFilter } from "../lib/url";

const OPS: Record<string, string> = { is: "is", is_not: "is not", contains: "contains", gt: ">", lt: "<" };

/** The date range: presets, or a custom range of local dates (inclusive). */
export function RangePicker({ range, tz, onChange }: { range: RangeSel; tz: string; onChange: (r: RangeSel) => void }) {
	const [custom, setCustom] = useState(!("preset" in range));
	const today = localToday(tz, Date.now());
	const current = "preset" in range ? range : null;
	const initial = "preset" in range ? presetDates(range.preset, today) : range;
	const [from, setFrom] = useState(initial.from);
	const [to, setTo] = useState(initial.to);
	const problem = custom ? validCustom(from, to) : null;
	return (
		<div class="controls">
			<label>
				Date range
				<select
					value={custom ? "custom" : current?.preset}
					onChange={(e) => {
						const v = (e.currentTarget as HTMLSelectElement).value;
						if (v === "custom") setCustom(true);
						else if (isPreset(v)) {
							setCustom(false);
							onChange({ preset: v });
						}
					}}
				>
					{PRESETS.map((p) => (
						<option value={p}>{PRESET_LABELS[p]}</option>
					))}
					<option value="custom">Custom range…</option>
				</select>
			</label>
			{custom && (
				<form
					class="custom"
					onSubmit={(e) => {
						e.preventDefault();
						if (!problem) onChange({ from, to });
					}}
				>
					<label>
						From
						<input type="date" value={from} max={today} onInput={(e) => setFrom((e.currentTarget as HTMLInputElement).value)} required />
					</label>
					<label>
						To (inclusive)
						<input type="date" value={to} onInput={(e) => setTo((e.currentTarget as HTMLInputElement).value)} required />
					</label>
					<button type="submit" disabled={!!problem}>
						Apply
					</button>
					{problem && (
						<span class="small" role="status">
							{problem}
						</span>
					)}
				</form>
			)}
		</div>
	);
}

const COMMON_ZONES = ["UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney"];

/** The time zone of dates and buckets: the tenant's by default, switchable. */
export function ZonePicker({ tz, tenantTz, onChange }: { tz: string | null; tenantTz: string; onChange: (tz: string | null) => void }) {
	const browser = Intl.DateTimeFormat().resolvedOptions().timeZone;
	const zones = [...new Set([tenantTz, browser, ...COMMON_ZONES, ...(tz ? [tz] : [])])];
	return (
		<label>
			Time zone
			<select value={tz ?? tenantTz} onChange={(e) => {
				const v = (e.currentTarget as HTMLSelectElement).value;
				onChange(v === tenantTz ? null : v);
			}}>
				{zones.map((z) => (
					<option value={z}>
						{z}
						{z === tenantTz ? " (workspace)" : z === browser ? " (this browser)" : ""}
					</option>
				))}
			</select>
		</label>
	);
}

/** A filter in words: "country is US". */
export const filterText = ([op, dim, v]: Filter) => `${dimLabel(dim)} ${OPS[op] ?? op} ${Array.isArray(v) ? v.map((x) => formatDimValue(dim, x)).join(" or ") : formatDimValue(dim, v)}`;

/** The active filters as removable chips. */
export function FilterChips({ filters, onChange }: { filters: Filter[]; onChange: (f: Filter[]) => void }) {
	if (!filters.length) return null;
	return (
		<ul class="chips" aria-label="Filters">
			{filters.map((f) => (
				<li class="chip" key={encodeFilter(f)}>
					<span>{filterText(f)}</span>
					<button type="button" aria-label={`Remove filter: ${filterText(f)}`} title="Remove filter" onClick={() => onChange(removeFilter(filters, f))}>
						×
					</button>
				</li>
			))}
			{filters.length > 1 && (
				<li>
					<button type="button" class="link small" onClick={() => onChange([])}>
						Clear all
					</button>
				</li>
			)}
		</ul>
	);
}

/** Range, zone and filters together, as the overview and support pages show them. */
export function ViewControls({ view, tenantTz, onChange, showFilters = true }: { view: BaseView; tenantTz: string; onChange: (v: BaseView) => void; showFilters?: boolean }) {
	return (
		<div class="controls" role="group" aria-label="View">
			<RangePicker key={JSON.stringify(view.range)} range={view.range} tz={view.tz ?? tenantTz} onChange={(range) => onChange({ ...view, range })} />
			<ZonePicker tz={view.tz} tenantTz={tenantTz} onChange={(tz) => onChange({ ...view, tz })} />
			{showFilters && <FilterChips filters={view.filters} onChange={(filters) => onChange({ ...view, filters })} />}
		</div>
	);
}
