"""Business hours on the days clocks change, in zones with unusual shifts.

The hand-made cases below work out each expected figure from the zone's
change; the property test compares every clock with a minute-by-minute walk in
UTC that reads each minute's local wall time from the standard library's
zoneinfo, one minute at a time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csi_lib.errors import DataError
from csi_lib.sla import WEEKDAYS, BusinessHours, elapsed
from csi_lib.sla.zones import first_instant, segments

MIN = pd.Timedelta(minutes=1)
H = pd.Timedelta(hours=1)

# (zone, local date of the change, UTC instant of the change, offset before, after)
CHANGES = [
    ("Australia/Lord_Howe", "2025-10-05", "2025-10-04 15:30", "10:30", "11:00"),  # +30 min
    ("Australia/Lord_Howe", "2026-04-05", "2026-04-04 15:00", "11:00", "10:30"),  # -30 min
    ("Antarctica/Troll", "2026-03-29", "2026-03-29 01:00", "00:00", "02:00"),  # +2 h
    ("Antarctica/Troll", "2026-10-25", "2026-10-25 01:00", "02:00", "00:00"),  # -2 h
    ("Pacific/Chatham", "2025-09-28", "2025-09-27 14:00", "12:45", "13:45"),  # at 02:45
    ("Pacific/Chatham", "2026-04-05", "2026-04-04 14:00", "13:45", "12:45"),  # at 03:45
    ("Europe/Berlin", "2026-03-29", "2026-03-29 01:00", "01:00", "02:00"),
    ("Europe/Berlin", "2026-10-25", "2026-10-25 01:00", "02:00", "01:00"),
    ("America/New_York", "2026-03-08", "2026-03-08 07:00", "-05:00", "-04:00"),
    ("America/New_York", "2026-11-01", "2026-11-01 06:00", "-04:00", "-05:00"),
    ("Australia/Sydney", "2025-10-05", "2025-10-04 16:00", "10:00", "11:00"),
    ("Australia/Sydney", "2026-04-05", "2026-04-04 16:00", "11:00", "10:00"),
    ("America/Santiago", "2025-09-07", "2025-09-07 04:00", "-04:00", "-03:00"),  # at midnight
    ("America/Santiago", "2026-04-05", "2026-04-05 03:00", "-03:00", "-04:00"),  # back to Sat
    ("Pacific/Apia", "2011-12-30", "2011-12-30 10:00", "-10:00", "14:00"),  # a day skipped
]


def _offset(text: str) -> pd.Timedelta:
    sign = -1 if text.startswith("-") else 1
    return sign * pd.Timedelta(f"{text.lstrip('-')}:00")


@pytest.mark.parametrize(("tz", "day", "instant", "before", "after"), CHANGES)
def test_changes_are_found_to_the_second(tz: str, day: str, instant: str, before: str,
                                         after: str) -> None:
    change = pd.Timestamp(instant, tz="UTC")
    # The listed change is the zone's own (tz database), seen through the standard library.
    zone = ZoneInfo(tz)
    second = timedelta(seconds=1)
    assert (change - second).astimezone(zone).utcoffset() == _offset(before)
    assert change.astimezone(zone).utcoffset() == _offset(after)
    seg = segments(tz, change.value - 3 * 86_400 * 10**9, change.value + 3 * 86_400 * 10**9)
    assert seg.starts[1:].tolist() == [change.value]
    assert (seg.offsets.tolist() == [_offset(before).value, _offset(after).value])
    assert seg.starts[0] <= change.value - 3 * 86_400 * 10**9 < seg.ends[-1]


def test_first_instant_of_skipped_and_repeated_wall_times_at_lord_howe() -> None:
    tz = "Australia/Lord_Howe"
    wall = pd.to_datetime(["2025-10-05 01:59", "2025-10-05 02:00", "2025-10-05 02:15",
                           "2025-10-05 02:30", "2026-04-05 01:45", "2026-04-05 02:00"]).as_unit("ns")
    utc = pd.to_datetime(first_instant(wall.asi8, tz), utc=True)
    assert utc.strftime("%m-%d %H:%M").tolist() == [
        "10-04 15:29",  # 01:59 standard time
        "10-04 15:30", "10-04 15:30",  # skipped: the jump itself, not an hour later
        "10-04 15:30",  # 02:30 daylight time, the jump
        "04-04 14:45",  # repeated: the first time, in daylight time
        "04-04 15:30",  # 02:00 after the clock went back to 01:30 and on
    ]


def day_clock(tz: str, day: str, hours: str, weekday: str = "sun") -> pd.Timedelta:
    """Business time of one local day whose ``weekday`` is open for ``hours``."""
    calendar = BusinessHours(timezone=tz, hours={weekday: hours})
    # Five days around the date hold the whole local day in any zone (offsets
    # stay within a day) and no other day of the same weekday.
    utc_day = pd.Timestamp(day, tz="UTC")
    start = pd.Series([utc_day - pd.Timedelta(days=2)])
    end = pd.Series([utc_day + pd.Timedelta(days=3)])
    return elapsed(start, end, calendar).iloc[0]


@pytest.mark.parametrize(
    ("tz", "day", "hours", "expected"),
    [
        # Lord Howe springs forward 30 minutes at 02:00 (to 02:30).
        ("Australia/Lord_Howe", "2025-10-05", "02:15-02:45", 15 * MIN),  # was -15 min
        ("Australia/Lord_Howe", "2025-10-05", "00:30-02:00", 90 * MIN),  # was 120 min
        ("Australia/Lord_Howe", "2025-10-05", "02:00-02:30", 0 * MIN),
        ("Australia/Lord_Howe", "2025-10-05", "01:00-03:00", 90 * MIN),
        ("Australia/Lord_Howe", "2025-10-05", "00:00-02:10,02:20-03:00", 150 * MIN),
        ("Australia/Lord_Howe", "2025-10-05", "00:00-24:00", 23.5 * H),
        # ... and falls back 30 minutes at 02:00 (to 01:30): a range opens and
        # closes the first time the clock shows its times.
        ("Australia/Lord_Howe", "2026-04-05", "00:00-24:00", 24.5 * H),
        ("Australia/Lord_Howe", "2026-04-05", "01:00-03:00", 150 * MIN),
        ("Australia/Lord_Howe", "2026-04-05", "01:00-01:45", 45 * MIN),
        ("Australia/Lord_Howe", "2026-04-05", "01:45-02:15", 60 * MIN),
        ("Australia/Lord_Howe", "2026-04-05", "01:45-02:15,02:30-03:00", 90 * MIN),
        # Troll jumps 2 hours: 01:00 -> 03:00 in March, 03:00 -> 01:00 in October.
        ("Antarctica/Troll", "2026-03-29", "00:00-24:00", 22 * H),
        ("Antarctica/Troll", "2026-03-29", "02:00-04:00", 1 * H),
        ("Antarctica/Troll", "2026-10-25", "00:00-24:00", 26 * H),
        ("Antarctica/Troll", "2026-10-25", "01:00-03:00", 4 * H),
        ("Antarctica/Troll", "2026-10-25", "02:00-02:30", 30 * MIN),
        # Chatham (UTC+12:45) changes at 02:45 standard time.
        ("Pacific/Chatham", "2025-09-28", "00:00-24:00", 23 * H),
        ("Pacific/Chatham", "2025-09-28", "03:00-04:00", 15 * MIN),
        ("Pacific/Chatham", "2026-04-05", "00:00-24:00", 25 * H),
        ("Pacific/Chatham", "2026-04-05", "03:00-04:00", 2 * H),
        # New York and Sydney, north and south.
        ("America/New_York", "2026-03-08", "01:00-03:00", 1 * H),
        ("America/New_York", "2026-11-01", "01:00-03:00", 3 * H),
        ("Australia/Sydney", "2025-10-05", "01:30-02:30", 30 * MIN),
        ("Australia/Sydney", "2026-04-05", "00:00-24:00", 25 * H),
    ],
)
def test_a_range_on_a_change_day_counts_real_time(tz: str, day: str, hours: str,
                                                  expected: pd.Timedelta) -> None:
    assert day_clock(tz, day, hours) == expected


def test_changes_at_midnight_and_a_skipped_day() -> None:
    # Santiago springs from Saturday 24:00 to Sunday 01:00 ...
    assert day_clock("America/Santiago", "2025-09-07", "00:00-02:00") == 1 * H
    assert day_clock("America/Santiago", "2025-09-06", "22:00-24:00", "sat") == 2 * H
    # ... and falls back from Sunday 00:00 to Saturday 23:00: Saturday's last hour
    # is shown twice and runs until the clock first reaches Sunday 00:00.
    assert day_clock("America/Santiago", "2026-04-04", "23:00-24:00", "sat") == 2 * H
    assert day_clock("America/Santiago", "2026-04-05", "00:00-01:00") == 1 * H
    # Samoa skipped Friday 30 December 2011 altogether.
    assert day_clock("Pacific/Apia", "2011-12-30", "00:00-24:00", "fri") == 0 * H
    assert day_clock("Pacific/Apia", "2011-12-31", "00:00-24:00", "sat") == 24 * H


# --- property: the clock against a minute-by-minute walk ----------------------------

WALK_DAYS = 9  # from 3 days before each change day to 6 after


@cache
def _walk(tz: str, day: str) -> tuple[pd.Timestamp, np.ndarray]:
    """From 3 days before ``day``: the local wall time of every UTC minute, from zoneinfo.

    Returns the first minute and, per minute, the latest wall time the clock has
    shown so far. That is the wall time itself, except while a clock set back
    repeats times it has already shown, when it stays at the highest so far: the
    documented rule that a range opens and closes the first time the clock
    shows its times. (A range's times are then counted once, not twice.)
    """
    origin = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(days=3)
    zone = ZoneInfo(tz)
    wall = np.array([(origin + timedelta(minutes=m)).astimezone(zone).replace(tzinfo=None)
                     for m in range(WALK_DAYS * 1440)], dtype="datetime64[ns]")
    return pd.Timestamp(origin), np.maximum.accumulate(wall)


def _walked(calendar: BusinessHours, day: str, rows: list[tuple[int, int]]) -> list[pd.Timedelta]:
    """Oracle: for each (start minute, end minute) the open minutes between, one by one."""
    _, shown = _walk(calendar.timezone, day)
    dates = shown.astype("datetime64[D]")
    second = (shown - dates).astype("timedelta64[s]").astype(np.int64)
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    holidays = np.array(calendar.holidays, dtype="datetime64[D]")
    is_open = np.zeros(len(shown), dtype=bool)
    for wd, ranges in enumerate(calendar.weekly()):
        for lo, hi in ranges:
            is_open |= (weekday == wd) & (second >= lo) & (second < hi)
    is_open &= ~np.isin(dates, holidays)
    counted = np.r_[0, np.cumsum(is_open)]
    return [int(counted[e] - counted[s]) * MIN for s, e in rows]


@st.composite
def hours_of(draw: st.DrawFn) -> str:
    """One day's ranges, boundaries on any 5 minutes (so inside any skipped stretch)."""
    cuts = sorted(draw(st.lists(st.integers(0, 288), min_size=2, max_size=8, unique=True)))
    cuts = cuts[: len(cuts) // 2 * 2]
    return ",".join(f"{a // 12:02d}:{a % 12 * 5:02d}-{b // 12:02d}:{b % 12 * 5:02d}"
                    for a, b in zip(cuts[::2], cuts[1::2], strict=True))


@st.composite
def change_day_cases(draw: st.DrawFn) -> tuple[BusinessHours, str, list[tuple[int, int]]]:
    tz, day, *_ = draw(st.sampled_from(CHANGES))
    # Mostly the change's own weekday (and its neighbours), for ranges over the change.
    change_wd = WEEKDAYS[date.fromisoformat(day).weekday()]
    days = draw(st.lists(st.sampled_from(WEEKDAYS), max_size=3, unique=True))
    holidays = draw(st.lists(st.integers(-3, 5), max_size=2))
    calendar = BusinessHours(
        timezone=tz,
        hours={d: draw(hours_of()) for d in {change_wd, *days}},
        holidays=[date.fromisoformat(day) + timedelta(days=h) for h in holidays],
    )
    rows = draw(st.lists(st.tuples(st.integers(0, 6 * 1440), st.integers(0, 3 * 1440)),
                         min_size=1, max_size=8))
    return calendar, day, [(s, s + d) for s, d in rows]


@settings(max_examples=150, deadline=None)
@given(change_day_cases())
def test_matches_a_minute_by_minute_walk_on_change_days(
    case: tuple[BusinessHours, str, list[tuple[int, int]]]
) -> None:
    calendar, day, rows = case
    origin, _ = _walk(calendar.timezone, day)
    start = pd.Series([origin + s * MIN for s, _ in rows])
    end = pd.Series([origin + e * MIN for _, e in rows])
    assert elapsed(start, end, calendar).tolist() == _walked(calendar, day, rows)


# --- pyarrow-backed columns -------------------------------------------------------------


def test_pyarrow_backed_tz_aware_columns_are_measured_like_numpy_ones() -> None:
    pytest.importorskip("pyarrow")
    calendar = BusinessHours(timezone="Europe/London", hours={"mon": "08:00-18:00"})
    start = pd.Series(pd.to_datetime(["2026-07-13 09:00", None, "2026-07-13 07:00"])
                      ).dt.tz_localize("Europe/London")
    end = pd.Series(pd.to_datetime(["2026-07-13 12:00"] * 3)).dt.tz_localize("UTC")
    arrow_start = start.astype("timestamp[us, tz=Europe/London][pyarrow]")
    arrow_end = end.astype("timestamp[ms, tz=UTC][pyarrow]")
    expected = elapsed(start, end, calendar)
    # 09:00 BST to 12:00 UTC (13:00 BST) is 4 hours; 07:00 BST opens at 08:00: 5 hours.
    assert expected.tolist()[::2] == [4 * H, 5 * H]
    pd.testing.assert_series_equal(elapsed(arrow_start, arrow_end, calendar), expected)
    pd.testing.assert_series_equal(elapsed(arrow_start, end, calendar), expected)


def test_pyarrow_backed_naive_column_is_refused_as_naive() -> None:
    pytest.importorskip("pyarrow")
    naive = pd.Series(pd.to_datetime(["2026-07-13 09:00"])).astype("timestamp[us][pyarrow]")
    aware = naive.dt.tz_localize("UTC")
    calendar = BusinessHours(timezone="UTC", hours={"mon": "08:00-18:00"})
    with pytest.raises(DataError, match=r"start must hold time-zone-aware timestamps, got "
                                        r"dtype timestamp\[us\]\[pyarrow\]: .*tz_localize"):
        elapsed(naive, aware, calendar)


def test_dates_beyond_nanosecond_range_are_a_data_error() -> None:
    far = pd.Series([pd.Timestamp("3000-01-01", tz="UTC").as_unit("s")])
    near = pd.Series([pd.Timestamp("2026-01-01", tz="UTC").as_unit("s")])
    with pytest.raises(DataError, match=r"end holds dates outside 1677-09-22 to 2262-04-11 "
                                        r"\(from 3000-01-01 .*\), so some dates are mistyped"):
        elapsed(near, far, None)
