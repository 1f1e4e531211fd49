import { useState } from "preact/hooks";
import type { ApiFailure } from "../api/client";
import { asFailure, type CreateScheduleInput, type ExportFormat, type OpsClient, type Schedule } from "../api/ops";
import { useLoad } from "../hooks";
import { when } from "../lib/format";
import { onLinkClick } from "../router";
import { ConfirmRow, useConfirmed } from "./Confirm";
import { DeliveryLog } from "./DeliveryLog";
import { type DestDraft, destinationsOf, DestinationsField, destinationText, draftsOf } from "./Destinations";
import { FORMAT_LABELS, formatsFor } from "./ExportButton";
import { ErrorNote, Skeleton } from "./States";
import "../ops.css";
import { ListHead } from "./Table";

export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
type Target = { report_id: string } | { board_id: string };
const targetId = (t: Target) => ("report_id" in t ? t.report_id : t.board_id);

/**
 * A saved report's or board's schedules (`/v1/schedules`): the file sent daily, weekly or monthly at
 * an hour of the workspace's time zone to email, Slack or webhooks; list, create, edit, delete, and
 * each one's delivery log.
 */
export function SchedulesPanel({ ops, target, timezone, what }: { ops: OpsClient; target: Target; timezone: string; what: string }) {
	const id = targetId(target);
	const load = useLoad(`schedules:${id}`, (signal) => ops.schedules.list(signal));
	const [editing, setEditing] = useState<Schedule | "new" | null>(null);
	const [log, setLog] = useState<string | null>(null);
	const deleting = useConfirmed((sid) => ops.schedules.remove(sid), load.reload);
	const [running, setRunning] = useState<string | null>(null);
	/** The last Run now of a schedule: what it started, or why it did not run. */
	const [ran, setRan] = useState<{ id: string; result?: RunResult; error?: ApiFailure; n: number } | null>(null);
	const mine = load.data?.schedules.filter((s) => ("report_id" in s ? s.report_id : s.board_id) === id) ?? null;

	const runNow = async (sid: string) => {
		setRunning(sid);
		const n = (ran?.n ?? 0) + 1;
		try {
			setRan({ id: sid, result: await ops.schedules.run(sid), n });
		} catch (err) {
			setRan({ id: sid, error: asFailure(err), n });
		} finally {
			setRunning(null);
		}
		// Its new deliveries show in its log, followed until they are sent.
		setLog(sid);
	};

	return (
		<section class="panel schedules" aria-labelledby={`schedules-${id}`} data-testid="schedules" data-state={load.status === "ok" ? "ready" : load.status}>
			<div class="panel-head">
				<h2 id={`schedules-${id}`}>Schedules</h2>
				{editing == null && (
					<button type="button" onClick={() => setEditing("new")}>
						New schedule
					</button>
				)}
			</div>
			<p class="muted small" style={{ marginTop: 0 }}>
				Send this {what} as a file on a calendar, at an hour of {timezone} (daylight saving included).
			</p>
			{editing && (
				<ScheduleForm
					ops={ops}
					target={target}
					timezone={timezone}
					schedule={editing === "new" ? null : editing}
					onDone={() => {
						setEditing(null);
						load.reload();
					}}
				/>
			)}
			{deleting.error && <ErrorNote error={deleting.error} title="The schedule was not deleted" />}
			{load.error ? (
				<ErrorNote error={load.error} title="Schedules could not be loaded" onRetry={load.reload} />
			) : !mine ? (
				<Skeleton height={60} />
			) : mine.length === 0 ? (
				editing == null && <p class="muted small">No schedules yet: “New schedule” sends it by email, Slack or a webhook every day, week or month.</p>
			) : (
				<div class="table-wrap" tabIndex={0} role="region" aria-label="Schedules">
					<table data-testid="schedule-list" class="stack">
						<caption class="sr-only">Schedules of this {what}</caption>
						<ListHead columns={["Schedule", "Format", "Destinations", "Next run"]} />
						<tbody>
							{mine.map((s) => (
								<>
									<tr data-schedule={s.id}>
										<td data-label="Schedule">
											<strong>{s.name || "Untitled"}</strong>
											<div class="muted small">{s.description}</div>
										</td>
										<td data-label="Format">{FORMAT_LABELS[s.format]}</td>
										<td class="small" data-label="To">{s.destinations.map(destinationText).join("; ")}</td>
										<td data-label="Next run">
											{s.enabled ? (
												<>
													<time dateTime={s.next_run_at ?? undefined} data-testid="next-run">
														{when(s.next_run_at, s.timezone)}
													</time>{" "}
													<span class="muted small">({s.timezone})</span>
												</>
											) : (
												<span class="pill revoked">paused</span>
											)}
										</td>
										<td class="num">
											<span class="row-gap">
												<button type="button" onClick={() => setEditing(s)} aria-label={`Edit ${s.name || "schedule"}`}>
													Edit
												</button>
												<button
													type="button"
													onClick={() => runNow(s.id)}
													disabled={!s.enabled || running === s.id}
													aria-label={`Run now: ${s.name || "schedule"}`}
													aria-busy={running === s.id ? "true" : undefined}
													title={s.enabled ? "Send it now, as it would be sent at its time; its calendar does not move" : "Paused: enable it to run it"}
												>
													Run now
												</button>
												<button type="button" aria-expanded={log === s.id ? "true" : "false"} onClick={() => setLog(log === s.id ? null : s.id)}>
													Deliveries
												</button>
												<ConfirmRow confirmed={deleting} id={s.id} label="Delete" yes="Yes, delete" ariaLabel={`Delete ${s.name || "schedule"}`} />
											</span>
										</td>
									</tr>
									{ran?.id === s.id && (
										<tr class="run-row">
											<td colSpan={5}>
												<RunOutcome ran={ran} />
											</td>
										</tr>
									)}
									{log === s.id && (
										<tr>
											<td colSpan={5}>
												<DeliveryLog timezone={s.timezone} load={(signal) => ops.schedules.deliveries(s.id, signal)} cacheKey={`schedule:${s.id}:${ran?.id === s.id ? ran.n : 0}`} follow={ran?.id === s.id} />
											</td>
										</tr>
									)}
								</>
							))}
						</tbody>
					</table>
				</div>
			)}
		</section>
	);
}

type RunResult = Awaited<ReturnType<OpsClient["schedules"]["run"]>>;

/** What Run now did: the export it started and the deliveries it queued, or why it did not run. */
function RunOutcome({ ran }: { ran: { result?: RunResult; error?: ApiFailure } }) {
	if (ran.error) return <ErrorNote error={ran.error} title="The schedule did not run" />;
	const r = ran.result!;
	const n = r.deliveries.length;
	return (
		<p class={`run-result small${r.error ? " err-text" : ""}`} role="status" data-testid="run-result" data-export={r.export_id ?? ""} data-deliveries={n}>
			{r.error ? (
				<>Ran, but failed: {r.error}.</>
			) : (
				<>
					Ran now: {n === 1 ? "1 delivery" : `${n} deliveries`} of{" "}
					{r.export_id ? (
						<a href={`/exports?id=${r.export_id}`} onClick={onLinkClick}>
							its export
						</a>
					) : (
						"its export"
					)}{" "}
					queued; the log below shows how {n === 1 ? "it goes" : "they go"}.
				</>
			)}
		</p>
	);
}

const num = (e: Event) => Number((e.currentTarget as HTMLInputElement | HTMLSelectElement).value);

function ScheduleForm({ ops, target, timezone, schedule, onDone }: { ops: OpsClient; target: Target; timezone: string; schedule: Schedule | null; onDone: () => void }) {
	const formats = formatsFor(target);
	const [name, setName] = useState(schedule?.name ?? "");
	const [frequency, setFrequency] = useState<Schedule["frequency"]>(schedule?.frequency ?? "weekly");
	const [weekday, setWeekday] = useState(schedule?.weekday ?? 1);
	const [monthDay, setMonthDay] = useState(schedule?.month_day ?? 1);
	const [hour, setHour] = useState(schedule?.hour ?? 9);
	const [minute, setMinute] = useState(schedule?.minute ?? 0);
	const [format, setFormat] = useState<ExportFormat>(schedule?.format ?? (formats.includes("pdf") ? "pdf" : formats[0]!));
	const [enabled, setEnabled] = useState(schedule?.enabled ?? true);
	const [dests, setDests] = useState<DestDraft[]>(schedule ? draftsOf(schedule.destinations) : [{ type: "email", value: "" }]);
	const [error, setError] = useState<ApiFailure | null>(null);
	const [busy, setBusy] = useState(false);
	const fid = schedule?.id ?? "new";

	const submit = async (e: Event) => {
		e.preventDefault();
		setBusy(true);
		setError(null);
		const body = {
			name: name.trim(),
			frequency,
			hour,
			minute,
			weekday: frequency === "weekly" ? weekday : null,
			month_day: frequency === "monthly" ? monthDay : null,
			format,
			destinations: destinationsOf(dests),
			enabled,
		};
		try {
			if (schedule) await ops.schedules.update(schedule.id, body);
			else await ops.schedules.create({ ...target, ...body } as CreateScheduleInput);
			onDone();
		} catch (err) {
			setError(asFailure(err));
		} finally {
			setBusy(false);
		}
	};

	return (
		<form class="form-grid schedule-form" onSubmit={submit} data-testid="schedule-form" aria-label={schedule ? "Edit schedule" : "New schedule"}>
			<label class="full">
				Name
				<input name="schedule-name" value={name} maxLength={200} placeholder="Weekly support summary" onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
			</label>
			<label>
				Every
				<select name="frequency" value={frequency} onChange={(e) => setFrequency((e.currentTarget as HTMLSelectElement).value as Schedule["frequency"])}>
					<option value="daily">day</option>
					<option value="weekly">week</option>
					<option value="monthly">month</option>
				</select>
			</label>
			{frequency === "weekly" && (
				<label>
					On
					<select name="weekday" value={weekday} onChange={(e) => setWeekday(num(e))}>
						{WEEKDAYS.map((d, i) => (
							<option value={i + 1}>{d}</option>
						))}
					</select>
				</label>
			)}
			{frequency === "monthly" && (
				<label>
					Day of the month
					<input name="month_day" type="number" min={1} max={31} value={monthDay} onInput={(e) => setMonthDay(num(e))} title="31: the month's last day" />
				</label>
			)}
			<label>
				At ({timezone})
				<span class="row-gap">
					<select name="hour" aria-label="Hour" value={hour} onChange={(e) => setHour(num(e))}>
						{Array.from({ length: 24 }, (_, h) => (
							<option value={h}>{String(h).padStart(2, "0")}</option>
						))}
					</select>
					:
					<select name="minute" aria-label="Minute" value={minute} onChange={(e) => setMinute(num(e))}>
						{[0, 15, 30, 45, ...(minute % 15 ? [minute] : [])].map((m) => (
							<option value={m}>{String(m).padStart(2, "0")}</option>
						))}
					</select>
				</span>
			</label>
			<label>
				Format
				<select name="schedule-format" value={format} onChange={(e) => setFormat((e.currentTarget as HTMLSelectElement).value as ExportFormat)}>
					{formats.map((f) => (
						<option value={f}>{FORMAT_LABELS[f]}</option>
					))}
				</select>
			</label>
			<label class="check">
				<input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled((e.currentTarget as HTMLInputElement).checked)} />
				Enabled
			</label>
			<div class="full" style={{ flexBasis: "100%" }}>
				<DestinationsField drafts={dests} onChange={setDests} idPrefix={`sch-${fid}`} />
			</div>
			{error && (
				<div style={{ flexBasis: "100%" }}>
					<ErrorNote error={error} title="The schedule was not saved" />
				</div>
			)}
			<div class="actions row-gap">
				<button type="submit" class="primary" disabled={busy}>
					{schedule ? "Save schedule" : "Create schedule"}
				</button>
				<button type="button" onClick={onDone}>
					Cancel
				</button>
			</div>
		</form>
	);
}
