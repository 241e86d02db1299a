"""What every opportunity view shares: checked inputs, category labels, effort per ticket."""

from __future__ import annotations

import pandas as pd

from csi_lib.errors import DataError, ParamsError

__all__ = ["EFFORT_CAP_H", "HANDLE_TIME_COLUMN", "HOUR", "NO_VALUE", "bounds", "effort",
           "labels", "require", "usable"]

NO_VALUE = "(none)"   # label of tickets with no category
HOUR = pd.Timedelta(hours=1)
# Agent effort per ticket when the export has no handle time: the median
# resolution time capped at half an hour. An assumption, said in the report:
# elapsed time is mostly waiting, not work.
EFFORT_CAP_H = 0.5
HANDLE_TIME_COLUMN = "handle_time_h"  # hours of agent effort per ticket, when an export has it


def lacks(tickets: pd.DataFrame, opportunity: str) -> str | None:
    """Why the export cannot show ``opportunity`` ("pareto", "repeats", "automation"),
    or None when it has the columns that opportunity needs."""
    if opportunity == "repeats":
        if "caller" not in tickets or not tickets["caller"].notna().any():
            return "the export records no callers, so repeat incidents cannot be traced"
        if not any(c in tickets and tickets[c].notna().any() for c in ("category", "cmdb_ci")):
            return ("the export records neither categories nor configuration items, so "
                    "repeat incidents cannot be grouped")
        return None
    if "category" not in tickets or not tickets["category"].notna().any():
        what = "a Pareto" if opportunity == "pareto" else "automation candidates"
        return f"the export records no ticket categories, so {what} cannot be drawn up"
    return None


def require(tickets: pd.DataFrame, columns: list[str]) -> None:
    """Fail with the missing columns named when ``tickets`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in tickets.columns]
    if missing:
        raise DataError(f"the tickets table has no column(s) {missing}; its columns are "
                        f"{list(tickets.columns)}. Pass the tickets of "
                        "csi_lib.data.load_tables, or map these columns in the params file.")


def bounds(start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``start`` and ``end`` as Timestamps, checked to be tz-aware (tickets are in UTC)."""
    for name, ts in (("start", start), ("end", end)):
        if pd.Timestamp(ts).tzinfo is None:
            raise ParamsError(f"{name}={ts!r} has no timezone; pass a tz-aware Timestamp, "
                              "e.g. from csi_lib.kpis.period_bounds(period, tz)")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ParamsError(f"end {end} is not after start {start}: pass [start, end) of a period")
    return start, end


def labels(values: pd.Series) -> pd.Series:
    """Labels as plain strings, with missing and blank cells as NO_VALUE."""
    text = values.astype("string").str.strip()
    return text.mask(text.isna() | text.eq(""), NO_VALUE).astype(str)


def usable(values: pd.Series) -> bool:
    """Whether a column has any value at all (an unmapped optional column has none)."""
    return bool(values.notna().any())


def effort(hours: pd.Series, handle: pd.Series | None, cap_h: float) -> tuple[float, str]:
    """Agent hours per ticket and what they rest on.

    The median handle time when the tickets carry one; otherwise the median
    resolution time capped at ``cap_h``.
    """
    if handle is not None and handle.notna().any():
        return float(handle.median()), "median handle time"
    return min(float(hours.median()), cap_h), f"median resolution time, capped at {cap_h:g} h"


def handle_times(tickets: pd.DataFrame) -> pd.Series | None:
    """The tickets' handle times in hours, or None when the export has none."""
    if HANDLE_TIME_COLUMN not in tickets:
        return None
    return pd.to_numeric(tickets[HANDLE_TIME_COLUMN], errors="coerce")
