"""Ticket columns as UTC nanoseconds: checks, conversion and the measurable rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib.errors import DataError
from csi_lib.sla.clock import Clock, business_clock
from csi_lib.sla.hours import BusinessHours

__all__ = ["NAT", "Tickets", "instants", "keys_index", "same_index", "tickets", "timedeltas"]

NAT = np.iinfo(np.int64).min


def _aware(dtype: object) -> bool:
    # A pyarrow-backed column (ArrowDtype) keeps its zone in the arrow type, not
    # in a DatetimeTZDtype: it is just as time-zone-aware.
    arrow = getattr(dtype, "pyarrow_dtype", None)
    return isinstance(dtype, pd.DatetimeTZDtype) or getattr(arrow, "tz", None) is not None


def instants(values: pd.Series, what: str) -> np.ndarray:
    """UTC nanoseconds of a tz-aware datetime column (numpy- or pyarrow-backed), NaT as ``NAT``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) and values.dtype.unit == "ns":
        # Stored as UTC nanoseconds already: read them without a copy (read-only).
        ns = values.array.asi8
        ns.flags.writeable = False
        return ns
    if _aware(values.dtype):
        try:
            utc = values.astype("datetime64[ns, UTC]")
        except pd.errors.OutOfBoundsDatetime:
            raise DataError(
                f"{what} holds dates outside 1677-09-22 to 2262-04-11 (from {values.min()} to "
                f"{values.max()}), so some dates are mistyped: flag or fix those rows at ingest"
            ) from None
        return utc.dt.tz_localize(None).to_numpy().view(np.int64)
    if values.isna().all():
        return np.full(len(values), NAT, dtype=np.int64)
    raise DataError(
        f"{what} must hold time-zone-aware timestamps, got dtype {values.dtype}: convert the "
        "column at ingest, e.g. pd.to_datetime(col).dt.tz_localize('Europe/London')"
        ".dt.tz_convert('UTC')"
    )


def same_index(a: pd.Series, b: pd.Series, what: str) -> None:
    if not a.index.equals(b.index):
        raise DataError(
            f"{what} must share one index (one row per ticket, same order); "
            f"got {len(a)} and {len(b)} rows with different labels: build both from one table"
        )


def timedeltas(ns: np.ndarray, index: pd.Index) -> pd.Series:
    # ``ns`` is always a fresh array of the caller's: the Series may hold it uncopied.
    return pd.Series(ns.view("m8[ns]"), index=index, copy=False)


@dataclass(frozen=True)
class Tickets:
    """One row per ticket: UTC nanoseconds, which rows are measurable, and ``B(t)``."""

    start: np.ndarray
    end: np.ndarray
    ok: np.ndarray  # both ends known and end >= start
    clock: Clock
    index: pd.Index
    wall: bool = False  # a 24x7 clock: business time is wall time

    def business(self) -> np.ndarray:
        if self.wall:  # no clock to read: one pass instead of two gathers and a scatter
            return np.where(self.ok, self.end - self.start, NAT)
        out = np.full(len(self.start), NAT, dtype=np.int64)
        out[self.ok] = self.clock(self.end[self.ok]) - self.clock(self.start[self.ok])
        return out


def tickets(start: pd.Series, end: pd.Series, calendar: BusinessHours | None) -> Tickets:
    same_index(start, end, "start and end")
    s, e = instants(start, "start"), instants(end, "end")
    ok = (s != NAT) & (e != NAT) & (e >= s)
    # A 24x7 clock is wall time and needs no span of instants.
    span = np.concatenate([s[ok], e[ok]]) if calendar is not None else s[:0]
    return Tickets(s, e, ok, business_clock(calendar, span), start.index, wall=calendar is None)


def keys_index(start: pd.Series, keys: pd.Series | None) -> pd.Index:
    if keys is None:
        return start.index
    same_index(start, keys, "start and keys")
    return pd.Index(keys.to_numpy())
