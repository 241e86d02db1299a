"""The ServiceNow adapter: incident, request (sc_req_item) and change_request exports.

Standard column names are known, by field name (CSV exports, ``opened_at``) or
by label (Excel exports, ``Opened``), so a consultant maps only what differs.
Audit and event-log style exports carry several rows per record: they are
folded to the record's latest row (highest ``sys_mod_count``, then latest
``sys_updated_on``), and the number of rows folded is reported.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.errors import DataError
from csi_lib.ingest.adapter import Adapted, read_mapped, value_maps
from csi_lib.ingest.dates import Where
from csi_lib.ingest.reader import header
from csi_lib.ingest.rules import issue
from csi_lib.ingest.times import parse_times
from csi_lib.params import Source

__all__ = ["CHANGE_DEFAULTS", "CLOSED_AS_RESOLVED", "PLACEHOLDERS", "TICKET_DEFAULTS", "adapt",
           "priority_label"]

# Canonical column -> names a ServiceNow export uses for it, field name first.
TICKET_DEFAULTS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("number", "Number"),
    "record_type": ("sys_class_name", "Task type"),
    "opened_at": ("opened_at", "Opened"),
    "resolved_at": ("resolved_at", "Resolved"),
    "closed_at": ("closed_at", "Closed"),
    "state": ("incident_state", "Incident state", "state", "State"),
    "priority": ("priority", "Priority"),
    "impact": ("impact", "Impact"),
    "urgency": ("urgency", "Urgency"),
    "category": ("category", "Category"),
    "subcategory": ("subcategory", "Subcategory"),
    "channel": ("contact_type", "Contact type", "Channel"),
    "assignment_group": ("assignment_group", "Assignment group"),
    "reassignment_count": ("reassignment_count", "Reassignment count"),
    "reopen_count": ("reopen_count", "Reopen count"),
    "made_sla": ("made_sla", "Made SLA"),
    "knowledge": ("knowledge", "Knowledge"),
    "caller": ("caller_id", "Caller", "requested_for", "Requested for"),
    "cmdb_ci": ("cmdb_ci", "Configuration item"),
    "assignee": ("assigned_to", "Assigned to"),
    "description": ("short_description", "Short description"),
}
CHANGE_DEFAULTS: dict[str, tuple[str, ...]] = {
    "change_id": ("number", "Number"),
    "change_type": ("type", "Type"),
    "outcome": ("close_code", "Close code"),
    "planned_start": ("start_date", "Planned start date"),
    "planned_end": ("end_date", "Planned end date"),
    "actual_end": ("work_end", "Actual end date", "Actual end"),
    "assignment_group": ("assignment_group", "Assignment group"),
    "category": ("category", "Category"),
    "cmdb_ci": ("cmdb_ci", "Configuration item"),
}
# When a column is absent, the closing time stands in for it: a request is
# fulfilled when it closes, and a change ends when it is closed.
CLOSED = ("closed_at", "Closed")
STAND_INS = {"tickets": "resolved_at", "changes": "actual_end"}
MOD_COUNT = ("sys_mod_count", "Updates")
UPDATED_AT = ("sys_updated_on", "sys_updated_at", "Updated")
# ServiceNow writes "?" for an empty reference in some exports (and audit tables).
PLACEHOLDERS = ("?",)
# Task classes and number prefixes (ServiceNow defaults) -> canonical record type.
RECORD_TYPES = {"incident": "incident", "sc_req_item": "request", "sc_request": "request",
                "sc_task": "request", "requested item": "request", "request": "request",
                "catalog task": "request"}
NUMBER_PREFIXES = {"INC": "incident", "RITM": "request", "REQ": "request", "SCTASK": "request"}
OUTCOMES = {"successful": "successful", "successful with issues": "successful",
            "successful_issues": "successful", "unsuccessful": "failed", "failed": "failed",
            "backed out": "backed_out", "backed_out": "backed_out", "rolled back": "backed_out"}


def priority_label(values: pd.Series) -> pd.Series:
    """"1 - Critical" (or "1") -> "P1"; anything else is kept for the priority rule to report."""
    digit = values.str.extract(r"^([1-5])(?:\s*-.*)?$", expand=False)
    return ("P" + digit).fillna(values).astype("string")


def _stand_in(table: str, source: Source, present: list[str]) -> str | None:
    """The closed column, when it must stand in for a missing resolved/actual end column."""
    canon = STAND_INS[table]
    defaults = TICKET_DEFAULTS if table == "tickets" else CHANGE_DEFAULTS
    if canon in source.columns or any(n in present for n in defaults[canon]):
        return None
    return next((n for n in CLOSED if n in present), None)


def _version_column(explicit: str | None, names: tuple[str, ...], raw: pd.DataFrame,
                    source: Source, table: str) -> str | None:
    if explicit is not None:
        if explicit not in raw:
            raise DataError(f"{source.path} has no column {explicit!r}, named under "
                            f"sources.{table}.servicenow in the params file: fix the name")
        return explicit
    return next((n for n in names if n in raw), None)


def _fold(adapted: Adapted, raw: pd.DataFrame, *, id_col: str, table: str,
          source: Source, tz: str) -> Adapted:
    """One row per record: its latest version, by modification count then update time."""
    options = source.servicenow
    mod = _version_column(options.mod_count if options else None, MOD_COUNT, raw, source, table)
    upd = _version_column(options.updated_at if options else None, UPDATED_AT, raw, source,
                          table)
    frame = adapted.frame
    ids = frame[id_col]
    if (mod is None and upd is None) or not ids.dropna().duplicated().any():
        return adapted
    keys = {"_id": ids}
    if mod is not None:
        keys["_mod"] = pd.to_numeric(raw[mod].str.strip(), errors="coerce")
    if upd is not None:
        where = Where(str(source.path), upd, f"sources.{table}", frame["source_row"])
        keys["_upd"] = parse_times(raw[upd].str.strip().replace("", pd.NA), source.date_formats,
                                   tz, dayfirst=source.dayfirst, where=where).parsed
    order = pd.DataFrame(keys, index=frame.index).assign(_line=frame["source_row"])
    order = order.sort_values([c for c in ("_mod", "_upd") if c in order] + ["_line"],
                              na_position="first", kind="stable")
    older = order["_id"].notna() & order["_id"].duplicated(keep="last")
    folded = older.reindex(frame.index)
    by = " then ".join(c for c in (mod, upd) if c is not None)
    note = issue(table, adapted.file, adapted.origins[id_col],
                 f"several rows per record (audit export): folded into the latest by {by}",
                 "folded", frame.loc[folded, "source_row"],
                 "none needed; export one row per record to skip this step")
    return Adapted(frame=frame.loc[~folded], file=adapted.file, origins=adapted.origins,
                   export_rows=adapted.export_rows, issues=[*adapted.issues, note])


def _normalise(frame: pd.DataFrame, table: str, source: Source, origins: dict[str, str]
               ) -> tuple[pd.DataFrame, dict[str, str]]:
    """ServiceNow's labels as canonical values, unless the params map them."""
    out = {}
    if table == "tickets":
        if "priority" not in value_maps(source):
            out["priority"] = priority_label(frame["priority"])
        if "record_type" in frame:
            if "record_type" not in value_maps(source):
                lower = frame["record_type"].str.lower()
                out["record_type"] = lower.map(RECORD_TYPES).fillna(frame["record_type"])
        else:
            prefix = frame["ticket_id"].str.extract(r"^([A-Za-z]+)", expand=False).str.upper()
            out["record_type"] = prefix.map(NUMBER_PREFIXES).fillna(prefix).astype("string")
            origins = {**origins, "record_type": f"{origins['ticket_id']} (number prefix)"}
    elif "outcome" not in value_maps(source):
        lower = frame["outcome"].str.lower()
        out["outcome"] = lower.map(OUTCOMES).fillna(frame["outcome"]).astype("string")
    return frame.assign(**out), origins


CLOSED_AS_RESOLVED = "closed without a resolved time: closed time taken as resolution time"


def _closed_as_resolved(frame: pd.DataFrame, adapted: Adapted
                        ) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    """A closed ticket without a resolved time takes its closed time, flagged and counted.

    ServiceNow audit exports often carry no resolved time on closed incidents (the
    record closed straight from work in progress, or the field was not audited);
    the closure is then the best known end of the work, an upper bound of the
    resolution time. ``resolved_from_closed`` marks these tickets for the
    data-quality section.
    """
    fill = frame["resolved_at"].isna() & frame["closed_at"].notna()
    out = frame.assign(resolved_at=frame["resolved_at"].fillna(frame["closed_at"]),
                       resolved_from_closed=fill.to_numpy(dtype=bool))
    if not fill.any():
        return out, []
    return out, [issue(
        "tickets", adapted.file, adapted.origins["resolved_at"], CLOSED_AS_RESOLVED, "flagged",
        frame.loc[fill, "source_row"],
        "none needed (resolution times of these tickets are upper bounds); export the "
        "resolved time, or set sources.tickets.servicenow.closed_as_resolved: false to leave "
        "them out of the resolution-time KPIs instead")]


def adapt(source: Source, table: str, tz: str) -> Adapted:
    """Read a ServiceNow export of ``table`` (tickets or changes) as canonical rows."""
    defaults = dict(TICKET_DEFAULTS if table == "tickets" else CHANGE_DEFAULTS)
    present = header(source)
    stand_in = _stand_in(table, source, present)
    if stand_in is not None:
        defaults[STAND_INS[table]] = (stand_in,)
    options = source.servicenow
    explicit = () if options is None else tuple(
        c for c in (options.mod_count, options.updated_at) if c is not None)
    raw, adapted = read_mapped(table, source, defaults, PLACEHOLDERS,
                               extra=(*explicit, *MOD_COUNT, *UPDATED_AT), present=present)
    id_col = "ticket_id" if table == "tickets" else "change_id"
    adapted = _fold(adapted, raw, id_col=id_col, table=table, source=source,
                    tz=source.timezone or tz)
    issues = list(adapted.issues)
    if stand_in is not None:
        canon = STAND_INS[table]
        issues.append(issue(
            table, adapted.file, stand_in, f"no {canon} column: {stand_in} used as {canon}",
            "flagged", adapted.frame.loc[adapted.frame[canon].notna(), "source_row"],
            f"none needed for requests; map {canon} under sources.{table}.columns if the "
            "export has it"))
    frame = adapted.frame
    if (table == "tickets" and stand_in is None and "closed_at" in frame
            and (options is None or options.closed_as_resolved)):
        frame, note = _closed_as_resolved(frame, adapted)
        issues.extend(note)
    frame, origins = _normalise(frame, table, source, adapted.origins)
    return Adapted(frame=frame, file=adapted.file, origins=origins,
                   export_rows=adapted.export_rows, issues=issues)
