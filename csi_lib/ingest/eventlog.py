"""The event-log adapter: one row per event in, one ticket per case out.

Process-mining logs (XES exported to CSV, BPI Challenge logs, help-desk
activity logs) record what happened to each case as rows of (case, activity,
timestamp, resource/group, attributes). The ``events`` mapping of the params
says which activities open, respond to, resolve, close and reopen a ticket and
how a reassignment shows; the times, counts and attributes of each ticket are
derived from its events with group-bys, never a loop over cases.

Derivation rules (ITIL incident life cycle):
- opened: the first opening activity (no opening activities listed: the case's
  first event; a case without one falls back to its first event, flagged);
- responded: the first responding activity at or after opening;
- resolved and closed: the last resolving / closing activity (a reopened
  ticket is resolved by its last resolution, as in ServiceNow);
- reopen count: the reopening activities, or else each resolution after the first;
- reassignment count: the reassignment activities (optionally not the first,
  the initial assignment) or each change of a column such as the support team;
- assignment group, assignee and mapped attributes: the last (or first)
  non-empty value of the case; state: the last activity.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.errors import DataError
from csi_lib.ingest.adapter import Adapted, clean
from csi_lib.ingest.dates import Where
from csi_lib.ingest.reader import header, read_file, require_columns
from csi_lib.ingest.rules import issue
from csi_lib.ingest.times import parse_times
from csi_lib.params import EventLog, Source

__all__ = ["adapt"]

TIME = "_time"
FIX_FORMAT = "check date_format in the params file or correct these cells"


def _events(source: Source, ev: EventLog, tz: str
            ) -> tuple[pd.DataFrame, list[dict[str, object]], int]:
    """The log's events that can be used (cleaned, timed, de-duplicated), sorted by case and time."""
    names = [ev.case, ev.activity, ev.timestamp, ev.group, ev.resource,
             ev.reassignment.changes_of if ev.reassignment else None, *source.columns.values()]
    names = [n for n in dict.fromkeys(names) if n is not None]
    present = header(source)
    require_columns(names, present, source, "sources.tickets.events and columns")
    raw = read_file(source, usecols=names)
    log, issues = clean(raw, {n: n for n in names}, tuple(source.missing), "tickets", source.path)
    lines = log["source_row"]

    def skip(mask: pd.Series, column: str, rule: str, fix: str) -> None:
        if mask.any():
            issues.append(issue("tickets", source.path, column, rule, "skipped", lines[mask], fix))

    skip(log[ev.case].isna(), ev.case, "event without a case id", "correct these rows")
    log = log.loc[log[ev.case].notna()]
    times = parse_times(log[ev.timestamp], source.date_formats, source.timezone or tz,
                        dayfirst=source.dayfirst,
                        where=Where(str(source.path), ev.timestamp, "sources.tickets", lines))
    if times.gap.any():
        issues.append(issue("tickets", source.path, ev.timestamp,
                            "local time in the daylight-saving gap", "flagged",
                            log.loc[times.gap, "source_row"],
                            "none needed: read as the instant the clocks jumped"))
    untimed = log[ev.timestamp].isna()
    skip(untimed.reindex(lines.index, fill_value=False), ev.timestamp,
         "event without a timestamp", "correct these rows")
    skip(times.bad.reindex(lines.index, fill_value=False), ev.timestamp,
         "event time not a date in the expected format", FIX_FORMAT)
    skip(times.implausible.reindex(lines.index, fill_value=False), ev.timestamp,
         "event time before 1970 or after 2200", FIX_FORMAT)
    log = log.assign(**{TIME: times.parsed}).loc[times.parsed.notna()]
    # The same event written twice (a known quirk of exported logs) would count
    # twice as a reassignment or resolution: keep it once.
    repeated = log.duplicated(subset=[c for c in log.columns if c not in ("source_row",)])
    if repeated.any():
        issues.append(issue("tickets", source.path, ev.case,
                            "repeated event (same case, activity, time and attributes): kept once",
                            "folded", log.loc[repeated, "source_row"], "none needed"))
    log = log.loc[~repeated].sort_values([ev.case, TIME, "source_row"], kind="stable")
    return log.reset_index(drop=True), issues, len(raw)


def _count(mask: pd.Series, case: pd.Series) -> pd.Series:
    return mask.astype("int64").groupby(case, sort=False).sum()


def _reassignments(log: pd.DataFrame, ev: EventLog) -> pd.Series | None:
    rule = ev.reassignment
    case = log[ev.case]
    if rule is None:
        return None
    if rule.activities:
        count = _count(log[ev.activity].isin(rule.activities), case)
        return (count - 1).clip(lower=0) if rule.first_is_initial else count
    value = log[rule.changes_of]
    # Compare each value with the case's previous non-empty one, so that an
    # event without the column does not count as two changes.
    previous = value.groupby(case, sort=False).ffill().groupby(case, sort=False).shift()
    return _count(value.notna() & previous.notna() & (value != previous), case)


def _derive(log: pd.DataFrame, source: Source, ev: EventLog
            ) -> tuple[pd.DataFrame, dict[str, str], pd.Series]:
    """One row per case (indexed by case id), the origin of each column, and the cases
    whose opening activity was missing."""
    case, act, time = log[ev.case], log[ev.activity], log[TIME]
    by_case = log.groupby(ev.case, sort=False)
    first = by_case[[TIME, "source_row"]].first()

    def at(activities: list[str], how: str) -> pd.Series:
        return time.where(act.isin(activities)).groupby(case, sort=False).agg(how)

    act_col = ev.activity
    origins: dict[str, str] = {"ticket_id": ev.case, "source_row": ev.case}
    if ev.opened:
        opened = at(ev.opened, "min")
        no_open = opened.isna()
        opened = opened.fillna(first[TIME])
        origins["opened_at"] = f"{act_col} (events.opened)"
    else:
        opened, no_open = first[TIME], pd.Series(False, index=first.index)
        origins["opened_at"] = f"{ev.timestamp} (first event)"
    cols: dict[str, pd.Series] = {"opened_at": opened}
    if ev.responded:
        after_open = act.isin(ev.responded) & (time >= case.map(opened))
        cols["responded_at"] = time.where(after_open).groupby(case, sort=False).min()
        origins["responded_at"] = f"{act_col} (events.responded)"
    cols["resolved_at"] = at(ev.resolved, "max")
    origins["resolved_at"] = f"{act_col} (events.resolved)"
    if ev.closed:
        cols["closed_at"] = at(ev.closed, "max")
        origins["closed_at"] = f"{act_col} (events.closed)"
    if ev.reopened:
        cols["reopen_count"] = _count(act.isin(ev.reopened), case)
        origins["reopen_count"] = f"{act_col} (events.reopened)"
    else:
        cols["reopen_count"] = (_count(act.isin(ev.resolved), case) - 1).clip(lower=0)
        origins["reopen_count"] = f"{act_col}: resolutions after the first"
    reassigned = _reassignments(log, ev)
    if reassigned is not None:
        cols["reassignment_count"] = reassigned
        origins["reassignment_count"] = (ev.reassignment.changes_of if ev.reassignment
                                         and ev.reassignment.changes_of else act_col)
    cols["state"] = by_case[ev.activity].last()
    origins["state"] = f"{act_col} (last event)"
    attributes = {"assignment_group": ev.group, "assignee": ev.resource, **source.columns}
    attributes = {canon: col for canon, col in attributes.items() if col is not None}
    if attributes:
        picked = by_case[list(dict.fromkeys(attributes.values()))].agg(ev.attributes)
        for canon, col in attributes.items():
            cols[canon] = picked[col].astype("string")
            origins[canon] = col
    frame = pd.DataFrame(cols).assign(source_row=first["source_row"])
    return frame, origins, no_open


def _with_cases(frame: pd.DataFrame, origins: dict[str, str], source: Source, ev: EventLog
                ) -> tuple[pd.DataFrame, dict[str, str], list[dict[str, object]], int]:
    """Attributes from the case table override those derived from the events."""
    cases = ev.cases
    if cases is None:
        return frame, origins, [], 0
    names = [cases.case, *cases.columns.values()]
    present = header(cases)
    require_columns(names, present, cases, "sources.tickets.events.cases")
    raw = read_file(cases, usecols=names)
    mapping = {"_case": cases.case, **cases.columns}
    table, issues = clean(raw, mapping, tuple(source.missing), "tickets", cases.path)
    lines = table["source_row"]
    repeated = table["_case"].notna() & table["_case"].duplicated()
    if repeated.any():
        issues.append(issue("tickets", cases.path, cases.case,
                            "case listed more than once in the case table (first row kept)",
                            "folded", lines[repeated], "export one row per case"))
    table = table.loc[table["_case"].notna() & ~repeated]
    orphan = ~table["_case"].isin(frame.index)
    if orphan.any():
        issues.append(issue("tickets", cases.path, cases.case,
                            "case in the case table has no events in the log", "skipped",
                            table.loc[orphan, "source_row"],
                            "check that both exports cover the same cases"))
    if (~orphan).any():
        issues.append(issue("tickets", cases.path, cases.case,
                            "case table row merged into its case's ticket", "folded",
                            table.loc[~orphan, "source_row"], "none needed"))
    lacking = ~frame.index.isin(table["_case"])
    if lacking.any():
        issues.append(issue("tickets", source.path, ev.case,
                            "case has no row in the case table (its attributes are missing)",
                            "flagged", frame.loc[lacking, "source_row"],
                            "check that both exports cover the same cases"))
    attrs = table.set_index("_case")[list(cases.columns)]
    frame = frame.drop(columns=[c for c in attrs.columns if c in frame]).join(attrs)
    origins = {**origins, **{c: f"{cases.path.name}: {col}" for c, col in cases.columns.items()}}
    return frame, origins, issues, len(raw)


def adapt(source: Source, table: str, tz: str) -> Adapted:
    """Fold an event log (and its optional case table) into one ticket per case.

    ``tz`` is the time zone of naive timestamps when the source sets none.
    """
    ev = source.events
    if ev is None or table != "tickets":
        raise DataError(f"sources.{table}: the eventlog adapter reads tickets with an `events` "
                        "mapping only")
    log, issues, read = _events(source, ev, tz)
    if log.empty:
        raise DataError(f"{source.path}: no event has both a case id and a readable timestamp; "
                        "check events.case, events.timestamp and date_format in the params")
    frame, origins, no_open = _derive(log, source, ev)
    if no_open.any():
        issues.append(issue("tickets", source.path, ev.activity,
                            f"case without an opening activity ({', '.join(ev.opened)}): "
                            "its first event taken as opened", "flagged",
                            frame.loc[no_open, "source_row"],
                            "none needed, or add the activity that opens these cases to "
                            "events.opened"))
    folded = log["source_row"].loc[~log["source_row"].isin(frame["source_row"])]
    if len(folded):
        issues.append(issue("tickets", source.path, ev.case,
                            "events folded into one ticket per case", "folded", folded,
                            "none needed"))
    frame, origins, case_issues, case_rows = _with_cases(frame, origins, source, ev)
    frame = frame.rename_axis("ticket_id").reset_index().sort_values("source_row",
                                                                      kind="stable")
    frame = frame.assign(ticket_id=frame["ticket_id"].astype("string")).reset_index(drop=True)
    return Adapted(frame=frame, file=source.path, origins=origins, export_rows=read + case_rows,
                   issues=[*issues, *case_issues])
