"""The Jira Service Management adapter: issue CSV exports, for tickets and survey answers.

Jira's CSV export names standard fields plainly (``Issue key``, ``Created``)
and custom ones as ``Custom field (Name)``; both spellings are known. SLA
fields hold the remaining time, negative once breached ("-2h 30m"), and are
read into ``made_sla``. The customer satisfaction rating (1-5) of a resolved
request makes a survey answer when the same export is given as the surveys
source.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.ingest.adapter import Adapted, read_mapped, value_maps
from csi_lib.ingest.reader import header
from csi_lib.ingest.rules import issue
from csi_lib.ingest.tables import sla_verdict
from csi_lib.params import Source

__all__ = ["PRIORITIES", "RECORD_TYPES", "SURVEY_DEFAULTS", "TICKET_DEFAULTS", "adapt",
           "rating", "sla_met"]


def _both(name: str) -> tuple[str, ...]:
    return (name, f"Custom field ({name})")


TICKET_DEFAULTS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("Issue key", "Key"),
    "record_type": ("Issue Type", "Issue type"),
    "opened_at": ("Created",),
    "resolved_at": ("Resolved",),
    "state": ("Status",),
    "priority": ("Priority",),
    "category": (*_both("Request Type"), *_both("Customer Request Type")),
    "assignment_group": _both("Team"),
    "made_sla": _both("Time to resolution"),
    "impact": _both("Impact"),
    "urgency": _both("Urgency"),
    "channel": _both("Source"),
    "assignee": ("Assignee",),
    "caller": ("Reporter",),
    "description": ("Summary",),
}
SURVEY_DEFAULTS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("Issue key", "Key"),
    "score": (*_both("Satisfaction rating"), *_both("Satisfaction")),
    "answered_at": _both("Satisfaction date"),
}
# Jira's priority schemes, current (Highest..Lowest) and classic (Blocker..Trivial).
PRIORITIES = {"highest": "P1", "high": "P2", "medium": "P3", "low": "P4", "lowest": "P5",
              "blocker": "P1", "critical": "P2", "major": "P3", "minor": "P4", "trivial": "P5"}
# The issue types of the JSM IT service management template; problems, changes
# and post-incident reviews are not tickets and are excluded by the record-type rule.
RECORD_TYPES = {"incident": "incident", "[system] incident": "incident",
                "service request": "request", "[system] service request": "request",
                "service request with approvals": "request",
                "[system] service request with approvals": "request",
                "request": "request", "it help": "request", "get it help": "request"}
DURATION = r"-?\s*(?:\d+\s*(?:w|d|h|m|min|mo|yr)\s*)+|-?\s*\d+:\d{2}"


def sla_met(values: pd.Series) -> pd.Series:
    """An SLA field as "true"/"false": a remaining time is met unless negative ("-2h 30m");
    words such as met/breached and true/false are read as such (``sla_verdict``); the rest
    is missing."""
    text = values.str.strip()
    duration = text.str.fullmatch(DURATION).fillna(False).astype(bool)
    remaining = (~text.str.startswith("-")).map({True: "true", False: "false"})
    return sla_verdict(values).mask(duration, remaining)


def rating(values: pd.Series) -> pd.Series:
    """A satisfaction rating as text digits: "4", "4.0", "4 stars" and "★★★★☆" all give "4"."""
    number = values.str.extract(r"^\s*(\d+)(?:\.0+)?\b", expand=False)
    stars = values.str.count("★")
    from_stars = stars.where(stars > 0).astype("Int64").astype("string")
    return number.fillna(from_stars).astype("string")


def _lookup(values: pd.Series, table: dict[str, str]) -> pd.Series:
    return values.str.lower().map(table).fillna(values).astype("string")


def _tickets(source: Source, present: list[str]) -> Adapted:
    _, adapted = read_mapped("tickets", source, TICKET_DEFAULTS, (), present=present)
    frame, issues = adapted.frame, list(adapted.issues)
    out = {}
    if "priority" not in value_maps(source):
        out["priority"] = _lookup(frame["priority"], PRIORITIES)
    if "record_type" in frame and "record_type" not in value_maps(source):
        out["record_type"] = _lookup(frame["record_type"], RECORD_TYPES)
    if "made_sla" in frame and "made_sla" not in value_maps(source):
        met = sla_met(frame["made_sla"])
        odd = frame["made_sla"].notna() & met.isna()
        if odd.any():
            issues.append(issue("tickets", adapted.file, adapted.origins["made_sla"],
                                "SLA value is neither a remaining time nor met/breached",
                                "flagged", frame.loc[odd, "source_row"],
                                "none needed: read as unknown; check the SLA column mapped to "
                                "made_sla"))
        out["made_sla"] = met
    return Adapted(frame=frame.assign(**out), file=adapted.file, origins=adapted.origins,
                   export_rows=adapted.export_rows, issues=issues)


def _surveys(source: Source, present: list[str]) -> Adapted:
    defaults = dict(SURVEY_DEFAULTS)
    stand_in = None
    if "answered_at" not in source.columns and not any(n in present
                                                       for n in defaults["answered_at"]):
        # Without the rating's own date, the resolution time is the closest: JSM
        # sends the survey when the request is resolved.
        stand_in = "Resolved" if "Resolved" in present else None
        defaults["answered_at"] = ("Resolved",)
    _, adapted = read_mapped("surveys", source, defaults, (), present=present)
    frame, issues = adapted.frame, list(adapted.issues)
    if "score" not in value_maps(source):
        frame = frame.assign(score=rating(frame["score"]))
    unrated = frame["score"].isna()
    if unrated.any():
        issues.append(issue("surveys", adapted.file, adapted.origins["score"],
                            "issue without a satisfaction rating (not a survey answer)",
                            "skipped", frame.loc[unrated, "source_row"], "none needed"))
    frame = frame.loc[~unrated]
    if stand_in is not None:
        issues.append(issue("surveys", adapted.file, stand_in,
                            "no satisfaction date column: resolution time used as answer time",
                            "flagged", frame["source_row"],
                            "map answered_at under sources.surveys.columns if the export has "
                            "the satisfaction date"))
    return Adapted(frame=frame, file=adapted.file, origins=adapted.origins,
                   export_rows=adapted.export_rows, issues=issues)


def adapt(source: Source, table: str, tz: str) -> Adapted:  # noqa: ARG001 (one signature)
    """Read a Jira Service Management CSV export as tickets or as survey answers."""
    present = header(source)
    return _tickets(source, present) if table == "tickets" else _surveys(source, present)
