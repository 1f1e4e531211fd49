import type { ComponentChildren } from "preact";

export interface Column<R> {
	head: string;
	cell: (row: R) => ComponentChildren;
	numeric?: boolean;
}

/** A plain data table: the text behind a chart, or a listing. */
export function Table<R>({ columns, rows, caption, rowKey }: { columns: Column<R>[]; rows: R[]; caption?: string; rowKey?: (r: R, i: number) => string | number }) {
	return (
		<div class="table-wrap">
			<table>
				{caption && <caption class="sr-only">{caption}</caption>}
				<thead>
					<tr>
						{columns.map((c) => (
							<th scope="col" class={c.numeric ? "num" : undefined}>
								{c.head}
							</th>
						))}
					</tr>
				</thead>
				<tbody>
					{rows.map((r, i) => (
						<tr key={rowKey ? rowKey(r, i) : i}>
							{columns.map((c) => (
								<td class={c.numeric ? "num" : undefined}>{c.cell(r)}</td>
							))}
						</tr>
					))}
				</tbody>
			</table>
		</div>
	);
}

/** The table behind a chart, collapsed under the chart (for screen readers, and to copy). */
export function Behind({ label, children }: { label: string; children: ComponentChildren }) {
	return (
		<details class="behind">
			<summary>{label}</summary>
			<div class="table-wrap" tabIndex={0} role="region" aria-label={label}>
				{children}
			</div>
		</details>
	);
}

/** A listing's header row: its column names (a name, or [name, class]), then an "Actions" column read only by screen readers. */
export function ListHead({ columns, actions = true }: { columns: (string | [string, string])[]; actions?: boolean }) {
	return (
		<thead>
			<tr>
				{columns.map((c) => (typeof c === "string" ? <th scope="col">{c}</th> : <th scope="col" class={c[1]}>{c[0]}</th>))}
				{actions && (
					<th scope="col">
						<span class="sr-only">Actions</span>
					</th>
				)}
			</tr>
		</thead>
	);
}
