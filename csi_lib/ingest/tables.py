"""The shared half of ingest: canonical rows in, typed and validated tables out.

Every adapter's output goes through the same steps: value maps, dates (in the
source's formats and time zone, to UTC), numbers, services, the exclusion
rules of each table and pseudonymisation of personal columns.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from csi_lib.ingest.adapter import Adapted, value_maps
from csi_lib.ingest.arrow import isin_column
from csi_lib.ingest.dates import Where
from csi_lib.ingest.distinct import per_value
from csi_lib.ingest.duplicates import exclude_conflicts
from csi_lib.ingest.priorities import no_target_rule, unmapped_rule
from csi_lib.ingest.rules import Rules
from csi_lib.ingest.times import UTC_NS, parse_times
from csi_lib.params import PERSONAL_COLUMNS, Params, Source

__all__ = [
    "CHANGE_TYPES",
    "FINISHED_STATES",
    "OUTCOMES",
    "RECORD_TYPES",
    "changes_table",
    "empty_changes",
    "empty_surveys",
    "pseudonymise",
    "sla_verdict",
    "surveys_table",
    "tickets_table",
]

FINISHED_STATES = {"resolved", "closed", "cancelled", "canceled", "complete", "completed", "done",
                   "declined"}
RECORD_TYPES = ("incident", "request")
CHANGE_TYPES = ("standard", "normal", "emergency")
OUTCOMES = ("successful", "failed", "backed_out")
TIME_COLUMNS = {
    "tickets": ("opened_at", "responded_at", "resolved_at", "closed_at"),
    "changes": ("planned_start", "planned_end", "actual_end"),
    "surveys": ("answered_at",),
}
COUNT_COLUMNS = {"tickets": ("reassignment_count", "reopen_count"), "surveys": ("score",)}
NO_SERVICE_FIX = "add the value to a service's `match` list in the params file"
# The source tool's own SLA verdict (``made_sla``), in the words exports use for it.
SLA_MET_WORDS = frozenset({"true", "yes", "y", "1", "met", "achieved", "ok"})
SLA_BREACHED_WORDS = frozenset({"false", "no", "n", "0", "breached", "failed", "missed"})


def sla_verdict(values: pd.Series) -> pd.Series:
    """The source tool's SLA verdict as "true" / "false"; missing where it says neither."""
    word = values.astype("string").str.strip().str.lower()
    verdict = pd.Series(pd.NA, index=values.index, dtype="string")
    return verdict.mask(word.isin(SLA_MET_WORDS), "true").mask(
        word.isin(SLA_BREACHED_WORDS), "false")


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """Replace personal values by a keyed hash (HMAC-SHA256), stable for one key.

    A keyed hash, not a plain one, so that names cannot be recovered by hashing
    a staff directory (OWASP: pseudonymisation needs a secret). Each distinct
    value is hashed once, however many rows carry it.
    """
    codes, uniques = pd.factorize(values)
    tokens = np.array([f"p-{hmac.new(key, str(v).encode(), hashlib.sha256).hexdigest()[:12]}"
                       for v in uniques] + [None], dtype=object)
    # factorize codes missing values as -1: the appended None.
    return pd.Series(tokens[codes], index=values.index, dtype="string")


def _typed(adapted: Adapted, table: str, source: Source, tz: str
           ) -> tuple[pd.DataFrame, Rules]:
    """Map values and parse times and counts; unreadable cells become rule hits."""
    frame = adapted.frame
    rules = Rules(table, adapted.file, adapted.origins, frame["source_row"], adapted.issues)
    cols: dict[str, pd.Series] = {}
    for col, mapping in value_maps(source).items():
        if col in frame and mapping:
            cols[col] = per_value(frame[col], lambda v, m=mapping: v.replace(m))
    src_tz = source.timezone or tz
    for col in TIME_COLUMNS[table]:
        if col not in frame:
            cols[col] = pd.Series(pd.NaT, index=frame.index, dtype=UTC_NS)
            continue
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):  # derived by the adapter
            cols[col] = frame[col].astype(UTC_NS)
            continue
        where = Where(str(adapted.file), adapted.origins.get(col, col), f"sources.{table}",
                      frame["source_row"])
        parsed = parse_times(frame[col], source.date_formats, src_tz, dayfirst=source.dayfirst,
                             where=where)
        cols[col] = parsed.parsed
        rules.hit(parsed.gap, col, "local time in the daylight-saving gap",
                  "none needed: read as the instant the clocks jumped", flag=True)
        formats = ", ".join(source.date_formats) or "automatic"
        rules.hit(parsed.bad, col, "not a date in the expected format",
                  f"check date_format ({formats}) in the params file or correct these cells")
        rules.hit(parsed.implausible, col, "date before 1970 or after 2200",
                  f"check date_format ({formats}: day and month swapped?) or correct these "
                  "cells")
    for col in COUNT_COLUMNS.get(table, ()):
        if col not in frame:
            continue
        number = per_value(frame[col], lambda v: pd.to_numeric(v, errors="coerce"))
        cols[col] = number
        rules.hit(frame[col].notna() & number.isna(), col, "not a number", "correct these cells")
    return frame.assign(**cols), rules


def _service(frame: pd.DataFrame, params: Params) -> pd.Series:
    """Each row's service: the first service (in params order) whose match list has its value."""
    order: dict[str, dict[str, int]] = {}
    for rank, svc in enumerate(params.services):
        if svc.match_field in frame:
            firsts = order.setdefault(svc.match_field, {})
            for value in svc.match_values:
                firsts.setdefault(value, rank)
    none = len(params.services)
    best = np.full(len(frame), none, dtype="int64")
    for col, firsts in order.items():
        codes, uniques = frame[col].array.factorize()
        ranks = np.array([firsts.get(v, none) if isinstance(v, str) else none
                          for v in uniques] + [none], dtype="int64")
        best = np.minimum(best, ranks[codes])  # code -1 (missing) takes the appended `none`
    ids = np.array([svc.id for svc in params.services] + [None], dtype=object)
    return pd.Series(ids[best], index=frame.index, dtype="string")


def _pseudonymised(frame: pd.DataFrame, source: Source, key: bytes | None) -> pd.DataFrame:
    if key is None:
        return frame
    personal = [c for c in PERSONAL_COLUMNS if c in frame and c not in source.keep_personal]
    return frame.assign(**{c: pseudonymise(frame[c], key) for c in personal})


def tickets_table(adapted: Adapted, params: Params, key: bytes | None
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(kept tickets, excluded rows, issues) from an adapter's canonical rows."""
    source = params.sources.tickets
    frame, rules = _typed(adapted, "tickets", source, params.reporting.timezone)
    record_type = (frame["record_type"] if "record_type" in frame
                   else pd.Series("incident", index=frame.index, dtype="string"))
    frame = frame.assign(
        record_type=record_type.str.lower(),
        service=_service(frame, params),
        **{c: 0.0 for c in COUNT_COLUMNS["tickets"] if c not in frame},
    )
    state = (frame["state"].str.lower() if "state" in frame
             else pd.Series(pd.NA, index=frame.index, dtype="string"))
    finished = state.isin(FINISHED_STATES) | frame["closed_at"].notna()
    targets = sorted(params.sla.targets)

    rules.hit(frame["ticket_id"].isna(), "ticket_id", "missing ticket id",
              "every row needs an id; correct or delete these rows")
    exclude_conflicts(frame, rules, "tickets", "ticket")
    rules.hit(frame["opened_at"].isna(), "opened_at", "missing opened time",
              "every ticket needs an opened time")
    rules.hit(frame["resolved_at"] < frame["opened_at"], "resolved_at", "resolved before opened",
              "correct the timestamps in the source tool")
    rules.hit(frame["responded_at"] < frame["opened_at"], "responded_at",
              "responded before opened", "correct the timestamps in the source tool")
    # Flagged, not excluded: such a ticket still counts in volume, backlog, reopen and
    # reassignment; only the KPIs needing the missing field leave it out (csi_lib.kpis).
    rules.hit(finished & frame["resolved_at"].isna(), "resolved_at",
              "finished ticket without a resolution time",
              "export the resolved time for closed tickets", flag=True)
    unmapped, rule, fix = unmapped_rule(frame["priority"])
    rules.hit(unmapped, "priority", rule, fix, flag=True)
    mask, rule, fix = no_target_rule(frame["priority"], targets)
    rules.hit(mask, "priority", rule, fix, flag=True)
    rules.hit(~frame["record_type"].isin(RECORD_TYPES), "record_type",
              "record type is neither incident nor request",
              "map the export's types under sources.tickets.values.record_type")
    for col in COUNT_COLUMNS["tickets"]:
        rules.hit(frame[col] < 0, col, "negative count", "correct these cells")
    rules.hit(frame["service"].isna(), params.services[0].match_field, "matches no service",
              NO_SERVICE_FIX)
    if "made_sla" in frame:
        # Flagged, not excluded: only the source tool's SLA KPI needs the verdict.
        verdict = sla_verdict(frame["made_sla"])
        said = frame["made_sla"].astype("string").str.strip().fillna("").ne("")
        rules.hit(said & verdict.isna(), "made_sla", "SLA verdict neither met nor breached",
                  "map the export's words under sources.tickets.values.made_sla (e.g. "
                  "'Within SLA': 'true'); the source tool's SLA KPI leaves these tickets out",
                  flag=True)
        frame = frame.assign(made_sla=verdict)
    # A label that is no priority is kept as unknown, so the table holds P1..P5 or nothing.
    frame = frame.assign(priority=frame["priority"].mask(unmapped))
    tickets, excluded, issues = rules.split(_pseudonymised(frame, source, key), "ticket_id")
    tickets = tickets.assign(**{c: tickets[c].fillna(0).astype("int64")
                                for c in COUNT_COLUMNS["tickets"]})
    return tickets, excluded, issues


def changes_table(adapted: Adapted, params: Params
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(kept changes, excluded rows, issues) from an adapter's canonical rows."""
    source = params.sources.changes
    frame, rules = _typed(adapted, "changes", source, params.reporting.timezone)
    extra = {}
    if "caused_incident" in frame:
        extra["caused_incident"] = frame["caused_incident"].str.lower().map(
            {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
        ).astype("boolean")
    frame = frame.assign(change_type=frame["change_type"].str.lower(),
                         outcome=frame["outcome"].str.lower(),
                         service=_service(frame, params), **extra)
    rules.hit(frame["change_id"].isna(), "change_id", "missing change id",
              "every row needs an id")
    exclude_conflicts(frame, rules, "changes", "change")
    rules.hit(~frame["change_type"].isin(CHANGE_TYPES), "change_type",
              "change type not standard, normal or emergency",
              "map the export's types under sources.changes.values.change_type")
    done = frame["actual_end"].notna()
    rules.hit(done & ~frame["outcome"].isin(OUTCOMES), "outcome",
              "completed change without a known outcome",
              "map close codes to successful, failed or backed_out under "
              "sources.changes.values.outcome")
    rules.hit(frame["service"].isna(), params.services[0].match_field, "matches no service",
              NO_SERVICE_FIX)
    return rules.split(frame, "change_id")


def surveys_table(adapted: Adapted, params: Params, tickets: pd.DataFrame
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(kept survey answers, excluded rows, issues); answers follow their ticket's service."""
    source = params.sources.surveys
    frame, rules = _typed(adapted, "surveys", source, params.reporting.timezone)
    # Only the tickets answered are looked up: hashing a million ticket ids for a
    # hundred thousand answers costs more than the look-up (ticket ids are unique).
    answered = tickets.loc[isin_column(tickets["ticket_id"], frame["ticket_id"]),
                           ["ticket_id", "service"]]
    frame = frame.assign(
        service=frame["ticket_id"].map(answered.set_index("ticket_id")["service"]).astype("string"))
    rules.hit(frame["answered_at"].isna(), "answered_at", "missing answer time",
              "every survey answer needs a time")
    rules.hit(~frame["score"].isin([1, 2, 3, 4, 5]), "score", "score is not 1..5",
              "rescale scores to 1..5 in the export")
    rules.hit(frame["service"].isna(), "ticket_id", "refers to no ticket kept",
              "check that the survey and ticket exports cover the same tickets")
    surveys, excluded, issues = rules.split(frame, "ticket_id")
    return surveys.assign(score=surveys["score"].astype("int64")), excluded, issues


def empty_changes() -> pd.DataFrame:
    """A changes table with no rows (the client exports no changes)."""
    return pd.DataFrame({
        "change_id": pd.Series(dtype="string"), "service": pd.Series(dtype="string"),
        "change_type": pd.Series(dtype="string"), "outcome": pd.Series(dtype="string"),
        "actual_end": pd.Series(dtype=UTC_NS),
    })


def empty_surveys() -> pd.DataFrame:
    """A surveys table with no rows (the client exports no survey answers)."""
    return pd.DataFrame({
        "ticket_id": pd.Series(dtype="string"), "service": pd.Series(dtype="string"),
        "answered_at": pd.Series(dtype=UTC_NS), "score": pd.Series(dtype="int64"),
    })
