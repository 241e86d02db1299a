"""SLA clocks: elapsed time between two instants on a 24x7 or business-hours calendar.

An SLA target (ITIL 4, service level management) runs either around the clock
or on the service's hours of support: a local working week, a time zone and a
list of public holidays, with the clock stopped while a ticket is paused (for
instance "awaiting user"). This module measures that time for whole columns at
once; nothing loops over tickets.

How it works: every business interval in the span of the data (one per range of
each open local day) is turned into real UTC instants, once per call. The
cumulative business time ``B(t)`` up to any instant is then a binary search in
that interval table plus the part of the interval ``t`` falls in, and the
business time between two instants is ``B(end) - B(start)``. Timestamps are
never converted to local time, so a ticket's clock is exact to the nanosecond
and additive: ``elapsed(a, c) == elapsed(a, b) + elapsed(b, c)``.

Daylight-saving rule: business hours are local wall-clock times. A range opens
at the first moment the local clock shows its opening time and closes at the
first moment it shows its closing time; a time the clock skips (spring forward)
counts as the moment of the jump. So ``01:00-03:00`` on the day London springs
forward is 1 hour of real time and on the day it falls back 3 hours, and
``00:00-24:00`` every day equals wall time whatever the zone. Ranges such as
08:00-18:00 are not touched by the changes, which happen at night.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from csi_lib.errors import DataError

__all__ = [
    "AGREEMENT_COLUMNS",
    "PAUSE_COLUMNS",
    "WEEKDAYS",
    "BusinessHours",
    "agreement",
    "compliance",
    "elapsed",
    "paused",
    "sla_clock",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PAUSE_COLUMNS = ("ticket_id", "pause_start", "pause_end")
AGREEMENT_COLUMNS = (
    "n_exported", "n_recomputed", "n", "exported_rate", "recomputed_rate", "disagree",
    "disagree_share", "exported_met_recomputed_breached", "exported_breached_recomputed_met",
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

_NAT = np.iinfo(np.int64).min
_NS = 1_000_000_000
# Cumulative business time is summed in int64 nanoseconds (exact, so clocks add
# up); 292 years of them would overflow, so a wider span is a data error.
_MAX_SPAN_NS = 200 * 366 * 86_400 * _NS
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_RANGE_HINT = (
    "write it like '08:00-18:00', several ranges separated by commas "
    "('08:00-12:00,13:00-17:00'); leave a closed day out"
)


def _seconds(text: str, day: str, part: str) -> int:
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"{day}: {part.strip()!r} is not a time range: {_RANGE_HINT}")
    hours, minutes = int(m[1]), int(m[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(
            f"{day}: {part.strip()!r} holds the impossible time {text.strip()!r}: "
            "times run from 00:00 to 24:00"
        )
    return hours * 3600 + minutes * 60


def _ranges(day: str, value: str) -> tuple[tuple[int, int], ...]:
    """Parse "08:00-12:00,13:00-17:00" into ((28800, 43200), (46800, 61200))."""
    if not value.strip():
        raise ValueError(f"{day}: {value!r} is not a time range: {_RANGE_HINT}")
    ranges: list[tuple[int, int]] = []
    for part in value.split(","):
        ends = part.split("-")
        if len(ends) != 2:
            raise ValueError(f"{day}: {part.strip()!r} is not a time range: {_RANGE_HINT}")
        start, end = (_seconds(t, day, part) for t in ends)
        if start >= end:
            raise ValueError(
                f"{day}: {part.strip()!r} does not end after it starts: a range cannot "
                "cross midnight; split an overnight shift, e.g. fri: '22:00-24:00' and "
                "sat: '00:00-06:00'"
            )
        if ranges and start < ranges[-1][1]:
            raise ValueError(
                f"{day}: {part.strip()!r} starts before the previous range ends in {value!r}: "
                "list a day's ranges in time order without overlap"
            )
        ranges.append((start, end))
    return tuple(ranges)


class BusinessHours(BaseModel):
    """A business calendar: local opening hours per weekday, a time zone, holidays.

    ``hours`` maps weekdays (``mon`` .. ``sun``) to one or more ``HH:MM-HH:MM``
    ranges separated by commas; unlisted days are closed. ``holidays`` are
    whole local days on which the calendar is closed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str
    hours: dict[Weekday, str]
    holidays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}: use an IANA name such as 'Europe/London' or 'UTC'"
            ) from None
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _lower_days(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k.strip().lower() if isinstance(k, str) else k: v for k, v in value.items()}
        return value

    @field_validator("hours")
    @classmethod
    def _valid_ranges(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError(
                "hours opens no day: list the open weekdays, e.g. {mon: '08:00-18:00'}, "
                "or use the 24x7 calendar"
            )
        canonical = {}
        for day in WEEKDAYS:
            if day in value:
                canonical[day] = ",".join(
                    f"{a // 3600:02d}:{a % 3600 // 60:02d}-{b // 3600:02d}:{b % 3600 // 60:02d}"
                    for a, b in _ranges(day, value[day])
                )
        return canonical

    @field_validator("holidays", mode="before")
    @classmethod
    def _iso_dates(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        days = []
        for item in value:
            if isinstance(item, datetime):
                raise ValueError(  # noqa: TRY004 - pydantic reports ValueErrors only
                    f"holiday {item.isoformat()!r} has a time of day: a holiday is a whole "
                    "local day, write it as YYYY-MM-DD"
                )
            if isinstance(item, date):
                days.append(item)
                continue
            try:
                days.append(date.fromisoformat(str(item).strip()))
            except ValueError:
                raise ValueError(
                    f"holiday {item!r} is not an ISO date: write it as YYYY-MM-DD"
                ) from None
        return tuple(sorted(set(days)))

    def weekly(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Open ranges in seconds after local midnight, Monday first (7 entries)."""
        return tuple(_ranges(d, self.hours[d]) if d in self.hours else () for d in WEEKDAYS)


# --- the interval table ------------------------------------------------------


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


def _first_instant(wall_ns: np.ndarray, tz: str) -> np.ndarray:
    """UTC nanoseconds at which the local clock first shows each wall time."""
    wall = pd.DatetimeIndex(wall_ns.view("M8[ns]"))
    n = len(wall)
    # A repeated wall time (fall back) has two instants: take the earlier,
    # whichever side of the change the zone calls daylight time. A skipped one
    # (spring forward) becomes the instant of the jump.
    both = [
        wall.tz_localize(tz, ambiguous=np.full(n, flag), nonexistent="shift_forward").asi8
        for flag in (True, False)
    ]
    return np.minimum(*both)


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
    # and disjoint (an interval inside a skipped hour becomes empty).
    utc_start = _first_instant(wall_start[order], tz)
    lengths = _first_instant(wall_end[order], tz) - utc_start
    before = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return _Table(utc_start, lengths, before)


Clock = Callable[[np.ndarray], np.ndarray]


def _clock(calendar: BusinessHours | None, instants: np.ndarray) -> Clock:
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


# --- column helpers ----------------------------------------------------------


def _instants(values: pd.Series, what: str) -> np.ndarray:
    """UTC nanoseconds of a tz-aware datetime column, NaT as ``_NAT``."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        utc = values.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns")
        return utc.to_numpy().view(np.int64)
    if values.isna().all():
        return np.full(len(values), _NAT, dtype=np.int64)
    raise DataError(
        f"{what} must hold time-zone-aware timestamps, got dtype {values.dtype}: convert the "
        "column at ingest, e.g. pd.to_datetime(col).dt.tz_localize('Europe/London')"
        ".dt.tz_convert('UTC')"
    )


def _same_index(a: pd.Series, b: pd.Series, what: str) -> None:
    if not a.index.equals(b.index):
        raise DataError(
            f"{what} must share one index (one row per ticket, same order); "
            f"got {len(a)} and {len(b)} rows with different labels: build both from one table"
        )


def _timedeltas(ns: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(ns.view("m8[ns]"), index=index)


@dataclass(frozen=True)
class _Tickets:
    """One row per ticket: UTC nanoseconds, which rows are measurable, and ``B(t)``."""

    start: np.ndarray
    end: np.ndarray
    ok: np.ndarray  # both ends known and end >= start
    clock: Clock
    index: pd.Index

    def business(self) -> np.ndarray:
        out = np.full(len(self.start), _NAT, dtype=np.int64)
        out[self.ok] = self.clock(self.end[self.ok]) - self.clock(self.start[self.ok])
        return out


def _tickets(start: pd.Series, end: pd.Series, calendar: BusinessHours | None) -> _Tickets:
    _same_index(start, end, "start and end")
    s, e = _instants(start, "start"), _instants(end, "end")
    ok = (s != _NAT) & (e != _NAT) & (e >= s)
    return _Tickets(s, e, ok, _clock(calendar, np.concatenate([s[ok], e[ok]])), start.index)


def _keys(start: pd.Series, keys: pd.Series | None) -> pd.Index:
    if keys is None:
        return start.index
    _same_index(start, keys, "start and keys")
    return pd.Index(keys.to_numpy())


def _pause_ns(t: _Tickets, keys: pd.Index, pauses: pd.DataFrame) -> np.ndarray:
    """Business nanoseconds paused per ticket: clipped to [start, end], overlaps merged."""
    missing = [c for c in PAUSE_COLUMNS if c not in pauses.columns]
    if missing:
        raise DataError(
            f"pauses table lacks column(s) {missing}; it needs {list(PAUSE_COLUMNS)} "
            f"(got {list(pauses.columns)})"
        )
    if not keys.is_unique:
        dupes = keys[keys.duplicated()].unique()[:5].tolist()
        raise DataError(f"ticket keys must be unique to match pauses; repeated: {dupes}")
    total = np.zeros(len(t.start), dtype=np.int64)
    pos = keys.get_indexer(pauses["ticket_id"])
    ps = _instants(pauses["pause_start"], "pause_start")
    pe = _instants(pauses["pause_end"], "pause_end")
    # Pauses of unknown or unmeasurable tickets, or without a start, measure nothing.
    keep = (pos >= 0) & (ps != _NAT)
    keep[keep] = t.ok[pos[keep]]
    pos, ps, pe = pos[keep], ps[keep], pe[keep]
    # Clip to the ticket; a pause still open (no end) runs to the ticket's stop.
    ps = np.maximum(ps, t.start[pos])
    pe = np.where(pe == _NAT, t.end[pos], np.minimum(pe, t.end[pos]))
    keep = ps < pe
    pos, ps, pe = pos[keep], ps[keep], pe[keep]
    if not pos.size:
        return total
    order = np.lexsort((ps, pos))
    pos, ps, pe = pos[order], ps[order], pe[order]
    # Merge overlaps so no paused second is subtracted twice: a pause opens a new
    # block unless it starts before an earlier pause of the same ticket ends.
    reach = pd.Series(pe).groupby(pos).cummax().to_numpy()
    new_block = np.r_[True, (pos[1:] != pos[:-1]) | (ps[1:] > reach[:-1])]
    firsts = np.flatnonzero(new_block)
    business = t.clock(np.maximum.reduceat(pe, firsts)) - t.clock(ps[firsts])
    sums = pd.Series(business).groupby(pos[firsts]).sum()
    total[sums.index.to_numpy()] = sums.to_numpy()
    return total


# --- public API --------------------------------------------------------------


def elapsed(start: pd.Series, end: pd.Series, calendar: BusinessHours | None) -> pd.Series:
    """Business time from ``start`` to ``end`` per row (``None`` = 24x7 wall time).

    Both columns are tz-aware timestamps on one index. The result is a timedelta
    column on that index, NaT where either end is missing or ``end < start``
    (the caller flags those rows).
    """
    t = _tickets(start, end, calendar)
    return _timedeltas(t.business(), t.index)


def paused(start: pd.Series, end: pd.Series, pauses: pd.DataFrame,
           calendar: BusinessHours | None, keys: pd.Series | None = None) -> pd.Series:
    """Business time each ticket spent paused within its own [start, end].

    ``pauses`` has one row per paused interval with columns ``ticket_id``,
    ``pause_start`` and ``pause_end`` (NaT end = still paused: runs to ``end``).
    Pauses are clipped to the ticket's interval and overlapping ones merged.
    ``keys`` (same index as ``start``) holds each ticket's id; by default the
    index itself. Tickets with no pause get 0, unmeasurable tickets NaT; pauses
    of unknown tickets, without a start or ending before they start add nothing.
    """
    t = _tickets(start, end, calendar)
    out = _pause_ns(t, _keys(start, keys), pauses)
    out[~t.ok] = _NAT
    return _timedeltas(out, t.index)


def sla_clock(opened: pd.Series, stopped: pd.Series, calendar: BusinessHours | None,
              pauses: pd.DataFrame | None = None, keys: pd.Series | None = None) -> pd.Series:
    """The SLA clock per ticket: business time from ``opened`` to ``stopped`` minus pauses.

    ``stopped`` is the event the target is about (``responded_at`` for a
    response target, ``resolved_at`` for resolution). See :func:`paused` for
    ``pauses`` and ``keys``. NaT where the clock cannot be measured.
    """
    t = _tickets(opened, stopped, calendar)
    out = t.business()
    if pauses is not None:
        out[t.ok] -= _pause_ns(t, _keys(opened, keys), pauses)[t.ok]
    return _timedeltas(out, t.index)


def compliance(clock: pd.Series, target: pd.Series | pd.Timedelta) -> pd.Series:
    """Whether each clock met its target (``clock <= target``), NA where either is missing.

    A ticket finished exactly at its target has met it. ``target`` is a
    timedelta column on the clock's index (e.g. the priority's target) or one
    duration for all rows.
    """
    if isinstance(target, pd.Series):
        _same_index(clock, target, "clock and target")
        limit = pd.to_timedelta(target)
    else:
        limit = pd.Series(pd.Timedelta(target), index=clock.index)
    spent = pd.to_timedelta(clock)
    met = (spent <= limit).astype("boolean")
    return met.mask(spent.isna() | limit.isna()).rename("met")


def _booleans(values: pd.Series, what: str) -> pd.Series:
    try:
        return values.astype("boolean")
    except (TypeError, ValueError):
        bad = values[values.notna()].map(type).ne(bool)
        sample = values[values.notna()][bad].unique()[:3].tolist()
        raise DataError(
            f"{what} must hold True/False (or missing), found {sample}: map the export's "
            "values to booleans at ingest"
        ) from None


def agreement(exported: pd.Series, recomputed: pd.Series,
              by: pd.Series | None = None) -> pd.DataFrame:
    """Compare an export's own SLA flag (e.g. ``made_sla``) with the recomputed one.

    One row per group of ``by`` (or one row ``all``). ``n`` counts tickets with
    both flags known; the two rates and the disagreement are over those ``n``
    so they compare like with like (NaN when ``n`` is 0). ``n_exported`` and
    ``n_recomputed`` count each flag on its own, so tickets known to only one
    side are visible rather than lost.
    """
    _same_index(exported, recomputed, "exported and recomputed")
    x, y = _booleans(exported, "exported"), _booleans(recomputed, "recomputed")
    both = x.notna() & y.notna()
    xm, ym = both & x.fillna(False), both & y.fillna(False)
    counts = pd.DataFrame({
        "n_exported": x.notna(),
        "n_recomputed": y.notna(),
        "n": both,
        "exported_met": xm,
        "recomputed_met": ym,
        "exported_met_recomputed_breached": xm & ~ym & both,
        "exported_breached_recomputed_met": ym & ~xm & both,
    }).astype("int64")
    if by is None:
        groups = pd.Series("all", index=exported.index, name="group")
    else:
        _same_index(exported, by, "exported and by")
        groups = by
    table = counts.groupby(groups, dropna=False).sum()
    n = table["n"].where(table["n"] > 0)
    disagree = table["exported_met_recomputed_breached"] + table["exported_breached_recomputed_met"]
    return table.assign(
        exported_rate=table["exported_met"] / n,
        recomputed_rate=table["recomputed_met"] / n,
        disagree=disagree,
        disagree_share=disagree / n,
    )[list(AGREEMENT_COLUMNS)]
