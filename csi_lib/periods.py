"""Reporting periods: fiscal quarters and their months, in the client's timezone.

A quarter label such as ``2026Q3`` follows pandas' fiscal convention: the fiscal
year is named by the calendar year in which it *ends*. With a fiscal year that
starts in April, ``2026Q1`` is April-June 2025; with a calendar fiscal year
(start month 1) labels read as on a calendar.
"""

from __future__ import annotations

import re

import pandas as pd

from csi_lib.errors import ParamsError

__all__ = ["months_of", "parse_quarter", "period_sort_key", "quarter_freq", "quarter_label",
           "recent_quarters"]

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_LABEL = re.compile(r"^(\d{4})Q([1-4])$")
_FOLDER = re.compile(r"(\d{4})Q([1-4])(?:-r(\d+))?")


def quarter_freq(fiscal_year_start_month: int = 1) -> str:
    """The pandas quarterly frequency whose year ends the month before the fiscal start."""
    if not 1 <= fiscal_year_start_month <= 12:
        raise ParamsError(
            f"fiscal_year_start_month must be 1..12, got {fiscal_year_start_month!r}"
        )
    return f"Q-{_MONTHS[(fiscal_year_start_month - 2) % 12]}"


def parse_quarter(label: str, fiscal_year_start_month: int = 1) -> pd.Period:
    """Parse ``YYYYQn`` into a quarterly :class:`pandas.Period` on the fiscal calendar."""
    if not isinstance(label, str) or not _LABEL.match(label):
        raise ParamsError(
            f"period {label!r} is not a quarter label: write it as YYYYQn, e.g. '2026Q3'"
        )
    return pd.Period(label, freq=quarter_freq(fiscal_year_start_month))


def quarter_label(period: pd.Period) -> str:
    """The ``YYYYQn`` label of a quarterly period (fiscal year named by its end)."""
    return f"{period.qyear}Q{period.quarter}"


def months_of(period: pd.Period) -> list[pd.Period]:
    """The three calendar months of a quarter, oldest first."""
    start = period.asfreq("M", how="start")
    return [start + i for i in range(3)]


def recent_quarters(period: pd.Period, n: int) -> list[pd.Period]:
    """``n`` quarters ending with ``period``, oldest first."""
    return [period - i for i in range(n - 1, -1, -1)]


def period_sort_key(name: str) -> tuple[int, int, int, str]:
    """Sort key of a published period folder: by year, quarter, then revision as a number
    (``2026Q3`` < ``2026Q3-r2`` < ``2026Q3-r10`` < ``2026Q4``); other names last."""
    m = _FOLDER.fullmatch(name)
    if not m:
        return (10**6, 0, 0, name)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3) or 1), "")
