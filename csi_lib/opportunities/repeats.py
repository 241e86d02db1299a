"""Repeat incidents: the same caller back about the same thing within days.

Repeats point at an underlying problem that incident handling restores
service around but does not remove (ITIL problem management: trend analysis
of incidents by caller, category and configuration item). The rule is the
one of the ``repeat_incident_rate`` KPI (:func:`csi_lib.kpis.measures.repeats`),
so that this section and the KPI table count the same incidents when they
group by the same column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi_lib.errors import ParamsError
from csi_lib.opportunities.selection import bounds, labels, require

__all__ = ["REPEAT_COLUMNS", "WINDOW_DAYS", "repeat_clusters", "repeat_key"]

WINDOW_DAYS = 7   # a repeat follows the same caller's previous incident within a week
REPEAT_COLUMNS = ["clusters", "tickets", "repeats", "callers", "incidents", "repeat_share"]


def repeat_key(tickets: pd.DataFrame) -> str:
    """The column repeats are grouped by: the configuration item when at least half the
    tickets name one (a sparse CI column would hide most repeats), else the category."""
    if "cmdb_ci" in tickets and len(tickets) and tickets["cmdb_ci"].notna().mean() >= 0.5:
        return "cmdb_ci"
    return "category"


def repeat_clusters(tickets: pd.DataFrame, service: str, start: pd.Timestamp,
                    end: pd.Timestamp, window_days: float = WINDOW_DAYS, *,
                    by: str | None = None) -> pd.DataFrame:
    """Repeat incidents of ``service`` opened in ``[start, end)``, summarised per ``by`` value.

    An incident repeats when the same (pseudonymised) caller opened another
    about the same ``by`` value (default :func:`repeat_key`: configuration
    item or category) at most ``window_days`` before it, possibly before the
    period; two opened at the same instant repeat each other. Incidents linked
    that way form a cluster. Only incidents count (not requests).

    Columns: ``by``; ``clusters`` with a repeat in the period; ``tickets``: the
    period's incidents in them; ``repeats``: incidents that repeat (the
    numerator of the repeat KPI); ``callers`` affected; the value's
    ``incidents`` in the period and ``repeat_share`` = repeats / incidents.
    Most tickets first. Incidents without a caller or value are left out.
    """
    require(tickets, ["service", "opened_at", "caller", "ticket_id"])
    start, end = bounds(start, end)
    if not window_days > 0:
        raise ParamsError(f"window_days must be a positive number of days, got {window_days!r}")
    key = by or repeat_key(tickets)
    require(tickets, [key])
    window = pd.Timedelta(days=window_days)
    sel = tickets.loc[(tickets["service"] == service) & (tickets["opened_at"] >= start - window)
                      & (tickets["opened_at"] < end)]
    if "record_type" in sel:
        sel = sel.loc[sel["record_type"] == "incident"]
    sel = sel.loc[sel["caller"].notna() & sel[key].notna()]
    frame = pd.DataFrame({"caller": sel["caller"].astype(str), "key": labels(sel[key]),
                          "opened_at": sel["opened_at"], "ticket_id": sel["ticket_id"]})
    frame = frame.sort_values(["caller", "key", "opened_at", "ticket_id"])
    same = (frame[["caller", "key"]] == frame[["caller", "key"]].shift()).all(axis=1)
    gap = frame["opened_at"] - frame["opened_at"].shift()
    linked = (same & (gap <= window)).to_numpy()      # within the window of the one before
    twin = np.append((same & (gap == pd.Timedelta(0))).to_numpy()[1:], False)
    frame = frame.assign(cluster=np.cumsum(~linked), repeat=linked | twin,
                         in_period=(frame["opened_at"] >= start).to_numpy())
    period = frame.loc[frame["in_period"]]
    hit = period.loc[period["repeat"], "cluster"].unique()
    rep = period.loc[period["cluster"].isin(hit)]
    out = rep.groupby("key").agg(clusters=("cluster", "nunique"), tickets=("cluster", "size"),
                                 repeats=("repeat", "sum"), callers=("caller", "nunique"))
    out = out.assign(incidents=period["key"].value_counts().reindex(out.index).to_numpy())
    out = out.assign(repeat_share=out["repeats"] / out["incidents"])
    out = out.rename_axis(key).reset_index()
    out = out.sort_values(["tickets", key], ascending=[False, True]).reset_index(drop=True)
    return out.reindex(columns=[key, *REPEAT_COLUMNS]).astype(
        {key: "string", **dict.fromkeys(REPEAT_COLUMNS[:-1], "int64"),
         "repeat_share": "float64"})
