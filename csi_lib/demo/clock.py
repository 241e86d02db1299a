"""Time for the demo generator: local wall-clock times, DST-safe rows, the simulated window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib.errors import ParamsError

EXPORT_LAG_DAYS = 5  # the export is taken this many days after the last month ends

HOUR = 3600
DAY = 86400


def parse_month(label: str, name: str) -> pd.Period:
    """Parse a ``YYYY-MM`` argument, with an error that says what to write."""
    try:
        if not isinstance(label, str) or len(label) != 7 or label[4] != "-":
            raise ValueError(label)
        return pd.Period(label, freq="M")
    except ValueError:
        raise ParamsError(f"{name} {label!r} is not a month: write it as YYYY-MM") from None


def localize(naive: pd.DatetimeIndex | pd.Timestamp, tz: str) -> np.ndarray:
    """Local wall-clock times -> UTC epoch seconds.

    Times that a DST jump skips move forward; repeated times take standard time.
    """
    idx = pd.DatetimeIndex(np.atleast_1d(np.asarray(naive, dtype="datetime64[s]")))
    aware = idx.tz_localize(
        tz, ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward"
    )
    return aware.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[s]").astype(np.int64)


def local_naive(ts: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds -> local wall-clock time as epoch-like seconds (no zone)."""
    idx = pd.to_datetime(ts, unit="s", utc=True).tz_convert(tz).tz_localize(None)
    return idx.to_numpy("datetime64[s]").astype(np.int64)


def ambiguous(ts: np.ndarray, tz: str) -> np.ndarray:
    """Which instants fall in a local hour that a DST fall-back repeats."""
    local = pd.DatetimeIndex(local_naive(ts, tz).astype("datetime64[s]"))
    return np.asarray(local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").isna())


def unambiguous(events: list[np.ndarray], tz: str) -> list[np.ndarray]:
    """Shift whole rows by 2 h until none of their events sits in a repeated local hour.

    Shifting the whole row keeps every duration (and so every SLA result) intact.
    """
    events = [e.copy() for e in events]
    for _ in range(6):
        bad = np.zeros(len(events[0]), dtype=bool)
        for e in events:
            bad |= ambiguous(e, tz)
        if not bad.any():
            break
        for e in events:
            e[bad] += 2 * HOUR
    return events


def format_local(ts: np.ndarray, missing: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds -> "%Y-%m-%d %H:%M:%S" local strings, "" where missing."""
    text = np.datetime_as_string(local_naive(ts, tz).astype("datetime64[s]"), unit="s")
    # ISO "YYYY-MM-DDTHH:MM:SS": swap the "T" for a space without a Python loop.
    chars = text.astype("<U19").view("<U1").reshape(-1, 19).copy()
    chars[:, 10] = " "
    out = chars.view("<U19").ravel()
    return np.where(missing, "", out)


def wait_for_office(local: np.ndarray) -> np.ndarray:
    """Seconds from a local time until the next Mon-Fri 08:00-18:00 office hour (0 inside)."""
    day = local // DAY * DAY
    secs = local - day
    dow = (day // DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    inside = (dow < 5) & (secs >= 8 * HOUR) & (secs < 18 * HOUR)
    early = (dow < 5) & (secs < 8 * HOUR)
    nxt = np.where(early, day + 8 * HOUR, day + DAY + 8 * HOUR)
    ndow = (nxt // DAY + 3) % 7
    nxt = nxt + np.where(ndow == 5, 2 * DAY, np.where(ndow == 6, DAY, 0))
    return np.where(inside, 0, nxt - local)


@dataclass(frozen=True)
class Timeline:
    """The simulated window: an hourly UTC grid with its local calendar features."""

    start: int  # first_month start (UTC seconds)
    end: int  # end of last_month
    export: int  # export time = end + EXPORT_LAG_DAYS
    ramp_start: int  # trends run from here to `end` (the last four quarters)
    first: pd.Period  # first_month
    grid: np.ndarray  # hour starts, UTC seconds, start <= h < export
    hour: np.ndarray
    dow: np.ndarray
    month: np.ndarray  # calendar month 1..12
    day: np.ndarray
    days_in_month: np.ndarray
    month_idx: np.ndarray  # 0 = first_month
    n_months: int


def timeline(first: pd.Period, last: pd.Period, tz: str) -> Timeline:
    start_local = first.start_time
    end_local = (last + 1).start_time
    start, end, export, ramp = localize(
        pd.DatetimeIndex(
            [
                start_local,
                end_local,
                end_local + pd.Timedelta(days=EXPORT_LAG_DAYS),
                ((last + 1) - 12).start_time,
            ]
        ),
        tz,
    )
    grid = np.arange(start, export, HOUR, dtype=np.int64)
    loc = pd.to_datetime(grid, unit="s", utc=True).tz_convert(tz)
    year = np.asarray(loc.year)
    month = np.asarray(loc.month)
    return Timeline(
        start=int(start),
        end=int(end),
        export=int(export),
        ramp_start=int(ramp),
        first=first,
        grid=grid,
        hour=np.asarray(loc.hour),
        dow=np.asarray(loc.day_of_week),
        month=month,
        day=np.asarray(loc.day),
        days_in_month=np.asarray(loc.days_in_month),
        month_idx=(year - first.year) * 12 + month - first.month,
        n_months=(last.year - first.year) * 12 + last.month - first.month + 1,
    )


def trend_strength(tl: Timeline, ts: np.ndarray) -> np.ndarray:
    """0 before the trend window, rising linearly to 1 at the end of the last month."""
    return np.clip((ts - tl.ramp_start) / max(tl.end - tl.ramp_start, 1), 0.0, 1.0)
