"""Automation candidates: high-volume, short and consistent work, with the hours it costs.

Work that arrives often, is done quickly and always takes about as long is
standard work: a script, a workflow or self-service can take it over
(ITIL service request management; the usual first targets are password
resets, unlocks and access requests).
"""

from __future__ import annotations

import math

import pandas as pd

from csi_lib.opportunities.selection import (
    EFFORT_CAP_H,
    HOUR,
    bounds,
    effort,
    handle_times,
    labels,
    require,
    usable,
)

__all__ = ["AUTOMATION_COLUMNS", "MAX_SPREAD", "MIN_VOLUME", "SHORT_H",
           "automation_candidates"]

# All three tests must pass.
# Volume: at least the service's median group and MIN_VOLUME tickets a quarter
# (about one every other working day); rarer work seldom repays a build.
MIN_VOLUME = 30
# Short: median resolution within SHORT_H, one working day.
SHORT_H = 8.0
# Consistent: (P75 - P25) / median at most MAX_SPREAD. Resolution time is
# elapsed time: a five-minute task raised in the evening waits for the
# morning, which widens every group's spread. 2.5 is the spread of a
# log-normal with sigma 1.65; tune it per client from the full table
# (``all_rows=True``).
MAX_SPREAD = 2.5
AUTOMATION_COLUMNS = ["tickets", "median_h", "p25_h", "p75_h", "spread", "effort_h",
                      "effort_basis", "hours_freed", "high_volume", "short", "consistent",
                      "candidate"]
_TESTS = ("high_volume", "short", "consistent", "candidate")


def _typed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.astype({**dict.fromkeys(keys, "string"), "tickets": "int64",
                         **dict.fromkeys(("median_h", "p25_h", "p75_h", "spread", "effort_h",
                                          "hours_freed"), "float64"),
                         "effort_basis": "string", **dict.fromkeys(_TESTS, bool)})


def automation_candidates(tickets: pd.DataFrame, service: str, start: pd.Timestamp,
                          end: pd.Timestamp, *, all_rows: bool = False,
                          min_volume: int = MIN_VOLUME, short_h: float = SHORT_H,
                          max_spread: float = MAX_SPREAD,
                          effort_cap_h: float = EFFORT_CAP_H) -> pd.DataFrame:
    """Groups of ``service``'s tickets worth automating, from those resolved in ``[start, end)``.

    Groups are (category, subcategory) when the tickets have subcategories, else
    categories; incidents and requests together. A candidate passes three
    tests (module constants, overridable): ``high_volume`` (at least the median
    group's tickets and ``min_volume``), ``short`` (median resolution within
    ``short_h``) and ``consistent`` (``spread`` = (P75 - P25) / median within
    ``max_spread``). ``hours_freed`` = tickets x ``effort_h``: the agent hours
    of the period if every such ticket were automated, an upper bound.
    ``effort_h`` is the median of ``handle_time_h`` when the tickets carry it,
    else the median resolution time capped at ``effort_cap_h``
    (``effort_basis`` says which). Candidates come largest saving first;
    ``all_rows=True`` returns every group with its test results.
    """
    require(tickets, ["service", "opened_at", "resolved_at", "category"])
    start, end = bounds(start, end)
    sel = tickets.loc[(tickets["service"] == service) & (tickets["resolved_at"] >= start)
                      & (tickets["resolved_at"] < end)]
    # Decided on the whole table, so every service and period gets the same columns.
    keys = ["category"]
    if "subcategory" in tickets and usable(tickets["subcategory"]):
        keys.append("subcategory")
    columns = [*keys, *AUTOMATION_COLUMNS]
    if sel.empty:
        return _typed(pd.DataFrame({c: pd.Series(dtype="object") for c in columns}), keys)
    handle = handle_times(sel)
    work = pd.DataFrame({**{k: labels(sel[k]) for k in keys},
                         "h": (sel["resolved_at"] - sel["opened_at"]) / HOUR,
                         "handle": handle if handle is not None else math.nan})
    rows = []
    for name, group in work.groupby(keys, sort=True):
        q25, q50, q75 = (float(v) for v in group["h"].quantile([0.25, 0.5, 0.75]))
        per_ticket, basis = effort(group["h"], group["handle"] if handle is not None else None,
                                   effort_cap_h)
        rows.append({**dict(zip(keys, name, strict=True)), "tickets": len(group),
                     "median_h": q50, "p25_h": q25, "p75_h": q75,
                     "spread": (q75 - q25) / q50 if q50 > 0 else math.inf,
                     "effort_h": per_ticket, "effort_basis": basis,
                     "hours_freed": len(group) * per_ticket})
    out = pd.DataFrame(rows)
    typical = float(out["tickets"].median())
    out = out.assign(high_volume=(out["tickets"] >= typical) & (out["tickets"] >= min_volume),
                     short=out["median_h"] <= short_h,
                     consistent=out["spread"] <= max_spread)
    out = out.assign(candidate=out["high_volume"] & out["short"] & out["consistent"])
    if not all_rows:
        out = out.loc[out["candidate"]]
    out = out.sort_values(["candidate", "hours_freed", *keys],
                          ascending=[False, False, *([True] * len(keys))])
    return _typed(out[columns].reset_index(drop=True), keys)
