"""Repeat incidents: the same caller back about the same thing within days.

Repeats point at an underlying problem that incident handling restores
service around but does not remove (ITIL problem management: trend analysis
of incidents by caller, category and configuration item).
"""

from __future__ import annotations

import pandas as pd

from csi_lib.errors import ParamsError
from csi_lib.opportunities.selection import bounds, labels, require, usable

__all__ = ["REPEAT_COLUMNS", "WINDOW_DAYS", "repeat_clusters", "repeat_key"]

WINDOW_DAYS = 7   # a repeat follows the same caller's previous incident within a week
REPEAT_COLUMNS = ["clusters", "tickets", "repeats", "callers", "incidents", "repeat_share"]


def repeat_key(tickets: pd.DataFrame) -> str:
    """The column repeats are grouped by: the configuration item when the export has
    one, else the category."""
    return "cmdb_ci" if "cmdb_ci" in tickets and usable(tickets["cmdb_ci"]) else "category"


def repeat_clusters(tickets: pd.DataFrame, service: str, start: pd.Timestamp,
                    end: pd.Timestamp, window_days: float = WINDOW_DAYS) -> pd.DataFrame:
    """Repeat incidents of ``service`` opened in ``[start, end)``, summarised per category.

    An incident repeats when the same (pseudonymised) caller opened one about
    the same configuration item (``cmdb_ci``, when the export has it) or else
    the same category at most ``window_days`` before it; chained repeats form
    one cluster. Only incidents count (not requests) and only those opened in
    the period. Columns: the key (``cmdb_ci`` or ``category``), ``clusters``,
    ``tickets`` in them, ``repeats`` (tickets after each cluster's first),
    ``callers`` affected, the key's ``incidents`` in the period and
    ``repeat_share`` = repeats / incidents; most tickets first. Incidents
    without a caller or key cannot repeat and are left out.
    """
    require(tickets, ["service", "opened_at", "caller", "ticket_id"])
    start, end = bounds(start, end)
    if not window_days > 0:
        raise ParamsError(f"window_days must be a positive number of days, got {window_days!r}")
    sel = tickets.loc[(tickets["service"] == service) & (tickets["opened_at"] >= start)
                      & (tickets["opened_at"] < end)]
    if "record_type" in sel:
        sel = sel.loc[sel["record_type"] == "incident"]
    key = repeat_key(sel)
    require(tickets, [key])
    columns = [key, *REPEAT_COLUMNS]
    sel = sel.loc[sel["caller"].notna() & sel[key].notna()]
    frame = pd.DataFrame({"caller": sel["caller"].astype(str), "key": labels(sel[key]),
                          "opened_at": sel["opened_at"], "ticket_id": sel["ticket_id"]})
    frame = frame.sort_values(["caller", "key", "opened_at", "ticket_id"])
    gap = frame["opened_at"] - frame.groupby(["caller", "key"])["opened_at"].shift()
    cluster = (gap.isna() | (gap > pd.Timedelta(days=window_days))).cumsum()
    size = cluster.map(cluster.value_counts())
    rep = frame.assign(cluster=cluster).loc[size >= 2]
    out = rep.groupby("key").agg(clusters=("cluster", "nunique"), tickets=("cluster", "size"),
                                 callers=("caller", "nunique"))
    incidents = frame["key"].value_counts().reindex(out.index)
    out = out.assign(repeats=out["tickets"] - out["clusters"],
                     incidents=incidents.to_numpy(dtype="int64"))
    out = out.assign(repeat_share=out["repeats"] / out["incidents"])
    out = out.rename_axis(key).reset_index()
    out = out.sort_values(["tickets", key], ascending=[False, True]).reset_index(drop=True)
    return out.reindex(columns=columns).astype(
        {key: "string", **dict.fromkeys(REPEAT_COLUMNS[:-1], "int64"),
         "repeat_share": "float64"})
