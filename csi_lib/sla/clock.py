"""The elapsed clock ``B(t)``: cumulative business time up to any instant.

Every business interval in the span of the data (one per range of each open
local day) is turned into real UTC instants, once per call. ``B(t)`` is then a
binary search in that interval table plus the part of the interval ``t`` falls
in, so the business time between two instants is ``B(end) - B(start)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib.errors import DataError
from csi_lib.sla.hours import BusinessHours
from csi_lib.sla.zones import first_instant

__all__ = ["Clock", "business_clock"]

_NS = 1_000_000_000
# Cumulative business time is summed in int64 nanoseconds (exact, so clocks add
# up); 292 years of them would overflow, so a wider span is a data error.
_MAX_SPAN_NS = 200 * 366 * 86_400 * _NS


@dataclass(frozen=True)
class _Table:
    """Business intervals as sorted, disjoint UTC nanosecond ranges."""

    starts: np.ndarray
    lengths: np.ndarray
    before: np.ndarray  # business time in all earlier intervals

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Business nanoseconds from the table's origin to each instant ``t``."""
        if not self.starts.size:
            return np.zeros_like(t)
        k = np.searchsorted(self.starts, t, side="right") - 1
        i = np.maximum(k, 0)
        inside = np.minimum(t - self.starts[i], self.lengths[i])
        return np.where(k >= 0, self.before[i] + inside, 0)


def _table(calendar: BusinessHours, lo: int, hi: int) -> _Table:
    """The business intervals of ``calendar`` covering the UTC instants ``lo``..``hi``."""
    tz = calendar.timezone
    first, last = (
        pd.Timestamp(t, unit="ns", tz="UTC").tz_convert(tz).tz_localize(None).normalize()
        for t in (lo, hi)
    )
    days = pd.date_range(first - pd.Timedelta(days=1), last + pd.Timedelta(days=1),
                         freq="D", unit="ns")
    holidays = pd.DatetimeIndex([pd.Timestamp(d) for d in calendar.holidays]).as_unit("ns")
    open_days = ~days.isin(holidays)
    weekday = days.day_of_week
    starts: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    ends: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for wd, ranges in enumerate(calendar.weekly()):  # 7 weekdays, not rows
        midnight = days[open_days & (weekday == wd)].asi8
        for a, b in ranges:
            starts.append(midnight + a * _NS)
            ends.append(midnight + b * _NS)
    wall_start, wall_end = np.concatenate(starts), np.concatenate(ends)
    order = np.argsort(wall_start, kind="stable")
    # Wall time -> first instant is monotone, so the UTC intervals stay sorted
    # and disjoint. A range inside a skipped stretch is empty: dropped, so that
    # no empty interval shares its start with the next one.
    utc_start, utc_end = np.split(first_instant(np.r_[wall_start[order], wall_end[order]], tz), 2)
    lengths = utc_end - utc_start
    keep = lengths > 0
    utc_start, lengths = utc_start[keep], lengths[keep]
    before = np.cumsum(lengths) - lengths
    return _Table(utc_start, lengths, before)


Clock = Callable[[np.ndarray], np.ndarray]


def business_clock(calendar: BusinessHours | None, instants: np.ndarray) -> Clock:
    """``B(t)``: cumulative business nanoseconds, valid over the span of ``instants``."""
    if calendar is None:
        return lambda t: t
    if not instants.size:
        return np.zeros_like
    lo, hi = int(instants.min()), int(instants.max())
    if hi - lo > _MAX_SPAN_NS:
        raise DataError(
            f"SLA timestamps span {pd.Timestamp(lo, tz='UTC')} to {pd.Timestamp(hi, tz='UTC')}: "
            "more than 200 years, so some dates are mistyped; flag or fix those rows at ingest"
        )
    return _table(calendar, lo, hi).cumulative
