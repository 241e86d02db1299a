from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csi_lib.errors import DataError
from csi_lib.sla import (
    WEEKDAYS,
    BusinessHours,
    elapsed,
    paused,
    sla_clock,
)

H = pd.Timedelta(hours=1)
MIN = pd.Timedelta(minutes=1)
WEEK = dict.fromkeys(WEEKDAYS[:5], "08:00-18:00")


def cal(tz: str = "UTC", hours: dict[str, str] | None = None,
        holidays: tuple[str, ...] = ()) -> BusinessHours:
    return BusinessHours(timezone=tz, hours=WEEK if hours is None else hours,
                         holidays=list(holidays))


def local(tz: str, *values: str | None) -> pd.Series:
    """Local wall times in ``tz`` (unambiguous ones) as a UTC column."""
    naive = pd.Series(pd.to_datetime(list(values), format="%Y-%m-%d %H:%M"))
    return naive.dt.tz_localize(tz).dt.tz_convert("UTC")


def one(start: str, end: str, calendar: BusinessHours | None, tz: str = "UTC") -> pd.Timedelta:
    return elapsed(local(tz, start), local(tz, end), calendar).iloc[0]


# --- hand-made cases -----------------------------------------------------------


@pytest.mark.parametrize("tz", ["UTC", "Europe/London", "America/New_York"])
def test_friday_evening_to_monday_morning_is_two_business_hours(tz: str) -> None:
    # 2026-01-09 is a Friday: 17:00-18:00 Friday + 08:00-09:00 Monday.
    assert one("2026-01-09 17:00", "2026-01-12 09:00", cal(tz), tz) == 2 * H
    assert one("2026-01-09 17:00", "2026-01-12 09:00", None, tz) == 64 * H


def test_a_holiday_is_a_closed_local_day() -> None:
    # Thu 24 Dec 16:00 -> Mon 28 Dec 10:00: Thu 2 h, Fri 25th closed, Mon 2 h.
    args = ("2026-12-24 16:00", "2026-12-28 10:00")
    assert one(*args, cal("Europe/London")) == 14 * H
    assert one(*args, cal("Europe/London", holidays=("2026-12-25",))) == 4 * H
    # a holiday of another day (or year) changes nothing
    assert one(*args, cal("Europe/London", holidays=("2025-12-25",))) == 14 * H


def test_a_holiday_is_local_not_utc() -> None:
    # Auckland is UTC+13 in December: the local holiday 25 Dec starts at 11:00 UTC on 24 Dec.
    nz = cal("Pacific/Auckland", hours=dict.fromkeys(WEEKDAYS, "00:00-24:00"),
             holidays=("2026-12-25",))
    start, end = pd.Series([pd.Timestamp("2026-12-24 00:00", tz="UTC")]), pd.Series(
        [pd.Timestamp("2026-12-26 00:00", tz="UTC")])
    assert elapsed(start, end, nz).iloc[0] == 48 * H - 24 * H


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-01-13 20:00", "2026-01-14 09:30", 1.5 * H),  # opened Tue evening
        ("2026-01-13 20:00", "2026-01-14 06:00", pd.Timedelta(0)),  # all outside hours
        ("2026-01-10 10:00", "2026-01-11 15:00", pd.Timedelta(0)),  # Saturday to Sunday
        ("2026-01-10 10:00", "2026-01-12 08:15", 15 * MIN),  # weekend then Monday
        ("2026-01-13 07:00", "2026-01-13 19:00", 10 * H),  # whole day
        ("2026-01-13 12:00", "2026-01-13 12:00", pd.Timedelta(0)),  # zero length
    ],
)
def test_time_outside_hours_does_not_count(start: str, end: str, expected: pd.Timedelta) -> None:
    assert one(start, end, cal()) == expected


def test_lunch_break_and_short_friday() -> None:
    lunch = cal(hours={"mon": "08:00-12:00,13:00-17:00", "fri": "08:00-17:30"})
    # Mon 26 Jan 10:00 -> 14:00: 2 h before lunch, 1 h after
    assert one("2026-01-26 10:00", "2026-01-26 14:00", lunch) == 3 * H
    assert one("2026-01-26 12:15", "2026-01-26 12:45", lunch) == pd.Timedelta(0)
    # Mon 16:00 -> Fri 17:45: Mon 1 h, Tue-Thu closed, Fri 9.5 h
    assert one("2026-01-26 16:00", "2026-01-30 17:45", lunch) == 10.5 * H


# --- daylight saving (Europe/London: last Sunday of March and of October) -----


def test_24x7_clock_is_real_time_across_dst_weekends() -> None:
    lon = "Europe/London"
    # Sat 12:00 -> Mon 12:00 local: spring loses an hour, autumn gains one.
    assert one("2026-03-28 12:00", "2026-03-30 12:00", None, lon) == 47 * H
    assert one("2026-10-24 12:00", "2026-10-26 12:00", None, lon) == 49 * H
    every_day = cal(lon, hours=dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    assert one("2026-03-28 12:00", "2026-03-30 12:00", every_day, lon) == 47 * H
    assert one("2026-10-24 12:00", "2026-10-26 12:00", every_day, lon) == 49 * H


def test_business_hours_across_dst_weekends_are_unchanged() -> None:
    lon = "Europe/London"
    # Fri 17:00 GMT -> Mon 09:00 BST and back: the change happens out of hours.
    assert one("2026-03-27 17:00", "2026-03-30 09:00", cal(lon), lon) == 2 * H
    assert one("2026-10-23 17:00", "2026-10-26 09:00", cal(lon), lon) == 2 * H
    # A whole business week around each change is still 50 hours.
    assert one("2026-03-23 00:00", "2026-03-30 00:00", cal(lon), lon) == 50 * H
    assert one("2026-03-30 00:00", "2026-04-06 00:00", cal(lon), lon) == 50 * H


def test_ranges_on_dst_sundays_count_real_time() -> None:
    lon = "Europe/London"
    night = cal(lon, hours={"sun": "01:00-03:00"})
    whole = cal(lon, hours={"sun": "00:00-24:00"})
    spring = ("2026-03-28 12:00", "2026-03-30 12:00")
    autumn = ("2026-10-24 12:00", "2026-10-26 12:00")
    # 01:00-03:00 loses 01:00-02:00 in spring; in autumn it opens at the first 01:00 (BST).
    assert one(*spring, night, lon) == 1 * H
    assert one(*autumn, night, lon) == 3 * H
    assert one(*spring, whole, lon) == 23 * H
    assert one(*autumn, whole, lon) == 25 * H
    # A ticket inside the repeated hour, 01:10 BST -> 01:20 GMT, lasts 70 real minutes,
    # all of them open on both calendars (01:00-03:00 runs from 00:00 to 03:00 UTC that day).
    start = pd.Series([pd.Timestamp("2026-10-25 00:10", tz="UTC")])
    end = pd.Series([pd.Timestamp("2026-10-25 01:20", tz="UTC")])
    assert elapsed(start, end, whole).iloc[0] == 70 * MIN
    assert elapsed(start, end, night).iloc[0] == 70 * MIN


def test_range_boundary_in_the_skipped_hour_opens_at_the_jump() -> None:
    # 01:30 does not exist on 29 Mar 2026 in London: the range opens at 02:00 BST = 01:00 UTC.
    lon = cal("Europe/London", hours={"sun": "01:30-04:00"})
    start = pd.Series([pd.Timestamp("2026-03-29 00:00", tz="UTC")])
    end = pd.Series([pd.Timestamp("2026-03-29 06:00", tz="UTC")])
    assert elapsed(start, end, lon).iloc[0] == 2 * H


# --- pauses --------------------------------------------------------------------


def utc(*values: str | None) -> pd.Series:
    return local("UTC", *values)


def test_pauses_overlapping_each_other_and_the_ticket_are_merged_and_clipped() -> None:
    # Mon 12 Jan 09:00-17:00 (8 business hours) and a second ticket Tue 09:00-12:00.
    opened = utc("2026-01-12 09:00", "2026-01-13 09:00")
    stopped = utc("2026-01-12 17:00", "2026-01-13 12:00")
    keys = pd.Series(["INC1", "INC2"])
    pauses = pd.DataFrame({
        "ticket_id": ["INC1", "INC1", "INC1", "INC2", "INC9", "INC1"],
        "pause_start": utc("2026-01-12 08:00", "2026-01-12 09:30", "2026-01-12 16:00",
                           "2026-01-13 10:00", "2026-01-13 10:00", "2026-01-12 12:00"),
        "pause_end": utc("2026-01-12 10:00", "2026-01-12 11:00", "2026-01-12 20:00",
                         "2026-01-13 10:30", "2026-01-13 11:00", "2026-01-12 11:00"),
    })
    # INC1: 08-10 clipped to 09-10 and merged with 09:30-11 -> 2 h; 16-20 clipped -> 1 h;
    # the pause ending before it starts adds nothing. INC2: 30 min; INC9 is unknown.
    held = paused(opened, stopped, pauses, cal(), keys=keys)
    assert held.tolist() == [3 * H, 30 * MIN]
    assert sla_clock(opened, stopped, cal(), pauses, keys=keys).tolist() == [5 * H, 150 * MIN]
    assert sla_clock(opened, stopped, None, pauses, keys=keys).tolist() == [5 * H, 150 * MIN]


def test_pause_over_the_night_counts_business_time_only() -> None:
    opened, stopped = utc("2026-01-12 09:00"), utc("2026-01-13 12:00")
    pauses = pd.DataFrame({"ticket_id": [0], "pause_start": utc("2026-01-12 17:00"),
                           "pause_end": utc("2026-01-13 10:00")})
    assert paused(opened, stopped, pauses, cal()).iloc[0] == 3 * H
    assert paused(opened, stopped, pauses, None).iloc[0] == 17 * H
    assert sla_clock(opened, stopped, cal(), pauses).iloc[0] == 13 * H - 3 * H


def test_open_pause_runs_to_the_stop_and_pause_without_start_is_ignored() -> None:
    opened, stopped = utc("2026-01-12 09:00", "2026-01-12 09:00"), utc("2026-01-12 17:00",
                                                                        "2026-01-12 17:00")
    pauses = pd.DataFrame({"ticket_id": [0, 1], "pause_start": utc("2026-01-12 15:00", None),
                           "pause_end": utc(None, "2026-01-12 12:00")})
    assert paused(opened, stopped, pauses, cal()).tolist() == [2 * H, pd.Timedelta(0)]


def test_pauses_of_unmeasurable_tickets_give_nat() -> None:
    opened, stopped = utc("2026-01-12 09:00", "2026-01-12 09:00"), utc(None, "2026-01-12 08:00")
    pauses = pd.DataFrame({"ticket_id": [0, 1], "pause_start": utc("2026-01-12 10:00",
                                                                    "2026-01-12 08:30"),
                           "pause_end": utc("2026-01-12 11:00", "2026-01-12 08:45")})
    assert paused(opened, stopped, pauses, cal()).isna().all()
    assert sla_clock(opened, stopped, cal(), pauses).isna().all()


def test_empty_pause_table_changes_nothing() -> None:
    opened, stopped = utc("2026-01-12 09:00"), utc("2026-01-12 17:00")
    empty = pd.DataFrame({"ticket_id": pd.Series([], dtype=object),
                          "pause_start": utc(), "pause_end": utc()})
    assert sla_clock(opened, stopped, cal(), empty).iloc[0] == 8 * H


# --- missing and bad values ------------------------------------------------------


@pytest.mark.parametrize("calendar", [None, cal(), cal("Europe/London")])
def test_nat_in_nat_out_and_end_before_start_is_nat(calendar: BusinessHours | None) -> None:
    start = utc(None, "2026-01-12 09:00", "2026-01-12 09:00", "2026-01-12 09:00")
    end = utc("2026-01-12 10:00", None, "2026-01-12 08:00", "2026-01-12 10:00")
    result = elapsed(start, end, calendar)
    assert result.dtype == "timedelta64[ns]"
    assert result.isna().tolist() == [True, True, True, False]
    assert result.iloc[3] == H
    assert elapsed(utc(None), utc(None), calendar).isna().all()


def test_index_is_kept_and_all_missing_object_column_is_accepted() -> None:
    start = utc("2026-01-12 09:00", "2026-01-12 10:00").set_axis(["a", "b"])
    end = pd.Series([None, None], index=["a", "b"], dtype=object)
    result = elapsed(start, end, cal())
    assert result.index.tolist() == ["a", "b"]
    assert result.isna().all()


def test_other_time_zones_are_converted_and_units_do_not_matter() -> None:
    start = utc("2026-01-12 09:00").dt.tz_convert("Asia/Tokyo").dt.as_unit("s")
    end = utc("2026-01-12 12:00").dt.as_unit("us")
    assert elapsed(start, end, cal()).iloc[0] == 3 * H


def test_inputs_are_not_mutated() -> None:
    start, end = utc("2026-01-12 09:00", None), utc("2026-01-12 17:00", "2026-01-13 08:00")
    pauses = pd.DataFrame({"ticket_id": [0, 0], "pause_start": utc("2026-01-12 12:00",
                                                                    "2026-01-12 08:00"),
                           "pause_end": utc(None, "2026-01-12 13:00")})
    copies = start.copy(), end.copy(), pauses.copy()
    sla_clock(start, end, cal(), pauses)
    paused(start, end, pauses, cal())
    pd.testing.assert_series_equal(start, copies[0])
    pd.testing.assert_series_equal(end, copies[1])
    pd.testing.assert_frame_equal(pauses, copies[2])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: elapsed(pd.Series(pd.to_datetime(["2026-01-12 09:00"])), utc("2026-01-12 10:00"),
                         None), r"start must hold time-zone-aware timestamps, got dtype datetime64"),
        (lambda: elapsed(utc("2026-01-12 09:00"), pd.Series(["2026-01-12"]), cal()),
         r"end must hold time-zone-aware timestamps.*tz_localize"),
        (lambda: elapsed(utc("2026-01-12 09:00"), utc("2026-01-12 10:00").set_axis([5]), cal()),
         r"start and end must share one index"),
        (lambda: paused(utc("2026-01-12 09:00"), utc("2026-01-12 10:00"),
                        pd.DataFrame({"ticket_id": [0], "start": [1]}), cal()),
         r"pauses table lacks column\(s\) \['pause_start', 'pause_end'\]"),
        (lambda: sla_clock(utc("2026-01-12 09:00", "2026-01-12 09:00"),
                           utc("2026-01-12 10:00", "2026-01-12 10:00"), cal(),
                           pd.DataFrame({"ticket_id": [], "pause_start": [], "pause_end": []}),
                           keys=pd.Series(["X", "X"])),
         r"ticket keys must be unique to match pauses; repeated: \['X'\]"),
        (lambda: elapsed(utc("1800-01-01 00:00"), utc("2200-01-01 00:00"), cal()),
         r"more than 200 years, so some dates are mistyped"),
    ],
)
def test_bad_columns_raise_data_errors_that_say_the_fix(call: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        call()  # type: ignore[operator]


# --- properties ------------------------------------------------------------------------

ORIGIN = pd.Timestamp("2025-12-20", tz="UTC")
DAYS = 120  # covers the March DST change and several weekends
ZONES = ["UTC", "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
         "Australia/Lord_Howe", "America/Santiago"]


@st.composite
def day_ranges(draw: st.DrawFn, first_quarter: int = 0) -> str:
    """One day's ranges as text, boundaries on quarter hours from ``first_quarter``."""
    cuts = draw(st.lists(st.integers(first_quarter, 96), min_size=2, max_size=6, unique=True))
    cuts = sorted(cuts)[: len(cuts) // 2 * 2]
    return ",".join(f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}"
                    for a, b in zip(cuts[::2], cuts[1::2], strict=True))


@st.composite
def calendars(draw: st.DrawFn, zones: list[str] = ZONES, first_quarter: int = 0) -> BusinessHours:
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    holidays = draw(st.lists(st.integers(0, DAYS), max_size=6))
    return BusinessHours(
        timezone=draw(st.sampled_from(zones)),
        hours={d: draw(day_ranges(first_quarter)) for d in days},
        holidays=[(ORIGIN + pd.Timedelta(days=h)).date().isoformat() for h in holidays],
    )


instants = st.integers(0, DAYS * 86_400)  # seconds after ORIGIN


def _series(seconds: list[int]) -> pd.Series:
    return pd.Series(ORIGIN + pd.to_timedelta(seconds, unit="s"))


@st.composite
def triples(draw: st.DrawFn) -> tuple[pd.Series, pd.Series, pd.Series]:
    rows = draw(st.lists(st.tuples(instants, instants, instants), min_size=1, max_size=25))
    a, b, c = zip(*(sorted(r) for r in rows), strict=True)
    return _series(list(a)), _series(list(b)), _series(list(c))


@settings(max_examples=80, deadline=None)
@given(calendars(), triples())
def test_business_time_never_exceeds_wall_time_and_adds_up(
    calendar: BusinessHours, abc: tuple[pd.Series, pd.Series, pd.Series]
) -> None:
    a, b, c = abc
    ac, ab, bc = elapsed(a, c, calendar), elapsed(a, b, calendar), elapsed(b, c, calendar)
    assert (ac >= pd.Timedelta(0)).all()
    assert (ac <= elapsed(a, c, None)).all()
    assert (ab <= ac).all()  # monotone in end
    assert (ac == ab + bc).all()  # additive, exactly


@settings(max_examples=60, deadline=None)
@given(calendars(), triples(), st.integers(0, DAYS))
def test_adding_a_holiday_never_increases_business_time(
    calendar: BusinessHours, abc: tuple[pd.Series, pd.Series, pd.Series], day: int
) -> None:
    a, _, c = abc
    more = calendar.model_copy(update={"holidays": (*calendar.holidays,
                                                    (ORIGIN + pd.Timedelta(days=day)).date())})
    assert (elapsed(a, c, more) <= elapsed(a, c, calendar)).all()


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([*ZONES, "Pacific/Chatham", "America/Havana", "Asia/Tehran"]), triples())
def test_open_all_day_every_day_equals_wall_time_in_any_zone(
    tz: str, abc: tuple[pd.Series, pd.Series, pd.Series]
) -> None:
    a, _, c = abc
    always = BusinessHours(timezone=tz, hours=dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    pd.testing.assert_series_equal(elapsed(a, c, always), elapsed(a, c, None))


def _minute_count(start: pd.Timestamp, end: pd.Timestamp, calendar: BusinessHours) -> pd.Timedelta:
    """Oracle: count the minutes whose local wall time is open, one by one."""
    grid = pd.date_range(start, end, freq="min", inclusive="left")
    wall = grid.tz_convert(calendar.timezone).tz_localize(None)
    second = (wall - wall.normalize()) // pd.Timedelta(seconds=1)
    holiday = wall.normalize().isin(pd.DatetimeIndex([pd.Timestamp(d) for d in calendar.holidays]))
    open_ = np.zeros(len(grid), dtype=bool)
    for wd, ranges in enumerate(calendar.weekly()):
        for lo, hi in ranges:
            open_ |= (wall.day_of_week == wd) & (second >= lo) & (second < hi)
    return int((open_ & ~holiday).sum()) * MIN


@settings(max_examples=40, deadline=None)
@given(calendars(zones=ZONES[:5], first_quarter=12),
       st.lists(st.tuples(st.integers(0, DAYS * 1440), st.integers(0, 14 * 1440)),
                min_size=1, max_size=8))
def test_matches_a_minute_by_minute_count(calendar: BusinessHours,
                                          rows: list[tuple[int, int]]) -> None:
    # Ranges open at 03:00 or later, so no boundary falls in an hour a DST change
    # skips or repeats in these zones (those are walked in test_sla_zones.py).
    start = _series([60 * s for s, _ in rows])
    end = _series([60 * (s + d) for s, d in rows])
    expected = [_minute_count(s, e, calendar) for s, e in zip(start, end, strict=True)]
    assert elapsed(start, end, calendar).tolist() == expected


@settings(max_examples=60, deadline=None)
@given(calendars(), st.lists(st.tuples(instants, instants), min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 4), instants, instants), max_size=12),
       st.randoms(use_true_random=False))
def test_pauses_only_ever_shorten_the_clock_and_row_order_does_not_matter(
    calendar: BusinessHours, tickets: list[tuple[int, int]],
    pause_rows: list[tuple[int, int, int]], rnd: object
) -> None:
    opened = _series([min(t) for t in tickets])
    stopped = _series([max(t) for t in tickets])
    pauses = pd.DataFrame({
        "ticket_id": [k for k, _, _ in pause_rows],
        "pause_start": _series([min(p, q) for _, p, q in pause_rows]),
        "pause_end": _series([max(p, q) for _, p, q in pause_rows]),
    })
    full = elapsed(opened, stopped, calendar)
    clock = sla_clock(opened, stopped, calendar, pauses)
    assert (clock >= pd.Timedelta(0)).all()
    assert (clock <= full).all()
    pd.testing.assert_series_equal(clock, full - paused(opened, stopped, pauses, calendar))
    shuffled = pauses.sample(frac=1, random_state=rnd.randint(0, 10**6))  # type: ignore[attr-defined]
    pd.testing.assert_series_equal(sla_clock(opened, stopped, calendar, shuffled), clock)
    # Doubling every pause (all overlaps) subtracts nothing more.
    doubled = pd.concat([pauses, pauses], ignore_index=True)
    pd.testing.assert_series_equal(sla_clock(opened, stopped, calendar, doubled), clock)
    # Oracle: merge each ticket's clipped pauses by hand, then measure the union.
    held = []
    for key, (o, s) in enumerate(zip(opened, stopped, strict=True)):
        blocks: list[list[pd.Timestamp]] = []
        for lo, hi in sorted((max(p, o), min(q, s)) for k, p, q in zip(
                pauses["ticket_id"], pauses["pause_start"], pauses["pause_end"], strict=True)
                if k == key and max(p, o) < min(q, s)):
            if blocks and lo <= blocks[-1][1]:
                blocks[-1][1] = max(blocks[-1][1], hi)
            else:
                blocks.append([lo, hi])
        spans = elapsed(pd.Series([b[0] for b in blocks], dtype=opened.dtype),
                        pd.Series([b[1] for b in blocks], dtype=opened.dtype), calendar)
        held.append(spans.sum())
    assert paused(opened, stopped, pauses, calendar).tolist() == held
