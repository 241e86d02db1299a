"""Opportunities as proposed initiatives: one row per candidate, for the prioritisation notebook.

Suggestions are evidence for the consultant, not decisions: the prioritisation
notebook lists them beside the register, and the consultant adopts, merges or
rejects them (ITIL CSI: identify opportunities, then prioritise).
"""

from __future__ import annotations

import pandas as pd

from csi_lib import catalogue
from csi_lib.kpis import period_bounds
from csi_lib.opportunities.automation import automation_candidates
from csi_lib.opportunities.repeats import WINDOW_DAYS, repeat_clusters
from csi_lib.opportunities.selection import (
    EFFORT_CAP_H,
    HOUR,
    NO_VALUE,
    effort,
    handle_times,
    labels,
    lacks,
)
from csi_lib.params import Params
from csi_lib.periods import quarter_label

__all__ = ["AUTOMATION_KPI", "FALLBACK_KPI", "MIN_CLUSTERS", "REPEAT_KPI", "SUGGESTION_COLUMNS",
           "format_hours", "linked_kpi", "repeat_effort", "suggestions"]

# Repeat-incident suggestions need at least this many clusters in the period:
# a handful of repeats happen by chance among busy callers.
MIN_CLUSTERS = 5
# The catalogue KPI each kind of suggestion aims to move; FALLBACK_KPI (both
# take tickets off the agents' queue) when a catalogue lacks it.
AUTOMATION_KPI = "self_service_share"
REPEAT_KPI = "repeat_incident_rate"
FALLBACK_KPI = "volume"
SUGGESTION_COLUMNS = ["service", "title", "source", "linked_kpi", "evidence", "hours_freed"]


def format_hours(value: float) -> str:
    """Hours as a reader says them: ``0.5 h``, ``7.4 h``, ``20 h``, ``1,250 h``."""
    return f"{value:,.1f} h".replace(".0 h", " h") if value < 10 else f"{value:,.0f} h"


def repeat_effort(tickets: pd.DataFrame, service: str, start: pd.Timestamp, end: pd.Timestamp,
                  key: str, value: str, cap_h: float = EFFORT_CAP_H) -> float:
    """Agent hours per incident of ``service`` with ``key == value`` opened in the period.

    The median handle time, else the median resolution time (of those resolved
    by ``end``) capped at ``cap_h``; ``cap_h`` when none is resolved yet.
    """
    sel = tickets.loc[(tickets["service"] == service) & (tickets["opened_at"] >= start)
                      & (tickets["opened_at"] < end) & (tickets["resolved_at"] < end)]
    if "record_type" in sel:
        sel = sel.loc[sel["record_type"] == "incident"]
    sel = sel.loc[labels(sel[key]) == value]
    if sel.empty:
        return cap_h
    return effort((sel["resolved_at"] - sel["opened_at"]) / HOUR, handle_times(sel), cap_h)[0]


def linked_kpi(kpi_id: str) -> str:
    """``kpi_id`` when the catalogue defines it, else FALLBACK_KPI."""
    return kpi_id if kpi_id in catalogue.CATALOGUE else FALLBACK_KPI


def _what(row: pd.Series, keys: list[str]) -> str:
    parts = [str(row[k]) for k in keys if str(row[k]) != NO_VALUE]
    return " / ".join(parts) or NO_VALUE


def suggestions(tickets: pd.DataFrame, params: Params, period: pd.Period | str) -> pd.DataFrame:
    """Proposed initiatives from the period's tickets, one row per candidate, services in
    params order.

    Every automation candidate of every service, and every repeat-incident
    group with at least MIN_CLUSTERS clusters in the period. Columns:
    ``service``, ``title``, ``source`` ("automation candidate" | "repeat
    incidents"), ``linked_kpi`` (a catalogue id), ``evidence`` (one sentence
    with the numbers) and ``hours_freed``: agent hours in the period, the
    candidate's tickets or the repeats after each cluster's first, times the
    effort per ticket.
    """
    period = params.period(period) if isinstance(period, str) else period
    start, end = period_bounds(period, params.reporting.timezone)
    label = quarter_label(period)
    rows: list[dict[str, object]] = []
    can_automate = lacks(tickets, "automation") is None
    can_repeat = lacks(tickets, "repeats") is None
    for svc in params.services:
        auto = (automation_candidates(tickets, svc.id, start, end) if can_automate
                else pd.DataFrame())
        keys = [k for k in ("category", "subcategory") if k in auto.columns]
        for _, r in auto.iterrows():
            rows.append({
                "service": svc.id,
                "title": f"Automate or move to self-service: {_what(r, keys)}, {svc.name}",
                "source": "automation candidate", "linked_kpi": linked_kpi(AUTOMATION_KPI),
                "evidence": f"{r['tickets']:,} tickets resolved in {label}, median "
                            f"{format_hours(r['median_h'])} (middle half "
                            f"{format_hours(r['p25_h'])} to {format_hours(r['p75_h'])}); "
                            f"effort {format_hours(r['effort_h'])} per ticket "
                            f"({r['effort_basis']})",
                "hours_freed": float(r["hours_freed"]),
            })
        if not can_repeat:
            continue
        reps = repeat_clusters(tickets, svc.id, start, end)
        key = str(reps.columns[0])
        thing = "configuration item" if key == "cmdb_ci" else "category"
        for _, r in reps.loc[reps["clusters"] >= MIN_CLUSTERS].iterrows():
            per_ticket = repeat_effort(tickets, svc.id, start, end, key, str(r[key]))
            rows.append({
                "service": svc.id,
                "title": f"Problem review of repeat incidents: {r[key]}, {svc.name}",
                "source": "repeat incidents", "linked_kpi": linked_kpi(REPEAT_KPI),
                "evidence": f"{r['repeats']:,} repeat incidents in {r['clusters']:,} clusters "
                            f"from {r['callers']:,} callers in {label} (same caller and "
                            f"{thing} within {WINDOW_DAYS} days), {r['repeat_share']:.0%} of "
                            f"the {r['incidents']:,} incidents; effort "
                            f"{format_hours(per_ticket)} per incident",
                "hours_freed": float(r["repeats"] * per_ticket),
            })
    frame = pd.DataFrame(rows, columns=SUGGESTION_COLUMNS)
    return frame.astype({**dict.fromkeys(SUGGESTION_COLUMNS[:-1], "string"),
                         "hours_freed": "float64"})
