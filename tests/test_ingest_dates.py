"""Dates of an export: day/month order proved by the values, and local times at clock changes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import TICKETS_CSV, write_yaml

from csi_lib.errors import DataError
from csi_lib.ingest import ingest
from csi_lib.ingest.dates import Where, slash_order
from csi_lib.ingest.times import parse_times
from csi_lib.params import load_params

ISO = 'date_format: "%Y-%m-%d %H:%M"'


def _slash_export(tiny: Path, rows: str, option: str = "") -> Path:
    """The tiny client with an export of slash dates and no date_format."""
    header = TICKETS_CSV.splitlines()[0]
    write_yaml(tiny.parent / "tickets.csv", f"{header}\n{rows}")
    text = tiny.read_text()
    return write_yaml(tiny, text.replace(f"    {ISO}\n", f"    {option}\n" if option else ""))


DAY_FIRST = """\
T1,Incident,29/02/2016 01:16,,01/03/2016 09:00,Closed,1,Net,0,0,Ann
T2,Incident,03/04/2016 10:00,,15/04/2016 10:00,Closed,2,Net,0,0,Bob
"""
# opened proves day-first; resolved (01/03, 05/04) proves neither.
UNPROVED = DAY_FIRST.replace("15/04/2016", "05/04/2016")


def test_a_day_above_12_in_the_first_field_proves_day_first(tiny: Path) -> None:
    t = ingest(load_params(_slash_export(tiny, DAY_FIRST))).tickets.set_index("ticket_id")
    assert t.loc["T1", "opened_at"] == pd.Timestamp("2016-02-29 01:16", tz="UTC")
    # 03/04 in a day-first column is 3 April, never silently 4 March.
    assert t.loc["T2", "opened_at"] == pd.Timestamp("2016-04-03 10:00", tz="UTC")
    assert t.loc["T1", "resolved_at"] == pd.Timestamp("2016-03-01 09:00", tz="UTC")


def test_each_column_decides_its_own_order_and_an_unproved_one_is_refused(tiny: Path) -> None:
    with pytest.raises(DataError) as err:
        ingest(load_params(_slash_export(tiny, UNPROVED)))
    message = str(err.value)
    assert "tickets.csv, column 'resolved'" in message
    assert "'01/03/2016 09:00' (line 2)" in message
    assert "could be day-first or month-first" in message
    assert "`dayfirst: true`" in message and "`date_format:`" in message
    assert "under sources.tickets in the params file" in message


def test_a_second_field_above_12_proves_month_first(tiny: Path) -> None:
    rows = ("T1,Incident,02/29/2016 01:16,,03/13/2016 09:00,Closed,1,Net,0,0,Ann\n"
            "T2,Incident,04/03/2016 10:00,,04/15/2016 10:00,Closed,2,Net,0,0,Bob\n")
    t = ingest(load_params(_slash_export(tiny, rows))).tickets.set_index("ticket_id")
    assert t.loc["T2", "opened_at"] == pd.Timestamp("2016-04-03 10:00", tz="UTC")
    assert t.loc["T2", "resolved_at"] == pd.Timestamp("2016-04-15 10:00", tz="UTC")


def test_a_column_mixing_both_orders_is_refused_with_examples_of_each(tiny: Path) -> None:
    rows = ("T1,Incident,29/02/2016 01:16,,,New,1,Net,0,0,Ann\n"
            "T2,Incident,02/13/2016 10:00,,,New,2,Net,0,0,Bob\n"
            "T3,Incident,02/03/2016 10:00,,,New,2,Net,0,0,Bob\n")
    with pytest.raises(DataError) as err:
        ingest(load_params(_slash_export(tiny, rows)))
    message = str(err.value)
    assert "column 'opened' mixes day-first dates ('29/02/2016 01:16' (line 2))" in message
    assert "month-first dates ('02/13/2016 10:00' (line 3))" in message
    assert "the other 1 slash dates cannot be known" in message
    assert "dayfirst" in message and "date_format" in message


def test_an_explicit_dayfirst_reads_an_unproved_column(tiny: Path) -> None:
    params = load_params(_slash_export(tiny, UNPROVED, "dayfirst: true"))
    t = ingest(params).tickets.set_index("ticket_id")
    assert t.loc["T1", "resolved_at"] == pd.Timestamp("2016-03-01 09:00", tz="UTC")
    write_yaml(tiny, tiny.read_text().replace("dayfirst: true", "dayfirst: false"))
    params = load_params(tiny)
    result = ingest(params)
    # Month-first was asked for: 29/02 is no date then, and says so (never swapped).
    assert dict(zip(result.excluded["record_id"], result.excluded["rule"], strict=True)) == {
        "T1": "not a date in the expected format"}
    assert result.tickets.set_index("ticket_id").loc["T2", "opened_at"] == pd.Timestamp(
        "2016-03-04 10:00", tz="UTC")


def test_iso_and_year_first_dates_need_no_order() -> None:
    text = pd.Series(["2016-02-03 10:00", "2012/10/09 14:50:17.000", "12/Mar/24 10:15 AM", None],
                     dtype="string")
    assert slash_order(text, Where("x.csv", "opened", "sources.tickets")) is None
    parsed = parse_times(text, (), "UTC")
    assert parsed.parsed.notna().sum() == 3
    assert not parsed.bad.any()


def test_slash_order_without_line_numbers_still_names_file_and_column() -> None:
    text = pd.Series(["01/02/2020", "03/04/2020"])
    with pytest.raises(DataError, match=r"^log\.csv, column 'ts': its 2 slash dates, such as "
                                        r"'01/02/2020', '03/04/2020', could be"):
        slash_order(text, Where("log.csv", "ts", "sources.tickets"))


# --- local times at clock changes: the jump instant, whatever the shift -----------------


def _utc(texts: list[str], tz: str) -> tuple[list[pd.Timestamp], list[bool]]:
    parsed = parse_times(pd.Series(texts, dtype="string"), ("%Y-%m-%d %H:%M",), tz)
    return list(parsed.parsed), list(parsed.gap)


@pytest.mark.parametrize(("tz", "skipped", "jump_utc", "before", "before_utc"), [
    # Lord Howe springs forward 30 minutes: 02:00 (+10:30) becomes 02:30 (+11).
    ("Australia/Lord_Howe", "2024-10-06 02:15", "2024-10-05 15:30", "2024-10-06 01:59",
     "2024-10-05 15:29"),
    # Troll (Antarctica) springs forward two hours: 01:00 (+0) becomes 03:00 (+2).
    ("Antarctica/Troll", "2024-03-31 02:30", "2024-03-31 01:00", "2024-03-31 00:59",
     "2024-03-31 00:59"),
    # Chatham springs forward an hour at 02:45 (+12:45 to +13:45).
    ("Pacific/Chatham", "2024-09-29 03:00", "2024-09-28 14:00", "2024-09-29 02:44",
     "2024-09-28 13:59"),
    # Both hemispheres' ordinary one-hour change.
    ("Europe/London", "2026-03-29 01:30", "2026-03-29 01:00", "2026-03-29 00:59",
     "2026-03-29 00:59"),
    ("Australia/Sydney", "2024-10-06 02:30", "2024-10-05 16:00", "2024-10-06 01:59",
     "2024-10-05 15:59"),
])
def test_a_skipped_local_time_is_read_as_the_jump_instant(
        tz: str, skipped: str, jump_utc: str, before: str, before_utc: str) -> None:
    times, gap = _utc([before, skipped], tz)
    assert times == [pd.Timestamp(before_utc, tz="UTC"), pd.Timestamp(jump_utc, tz="UTC")]
    assert gap == [False, True]


def test_times_across_a_30_minute_jump_keep_their_order() -> None:
    walls = ["2024-10-06 01:45", "2024-10-06 02:00", "2024-10-06 02:15", "2024-10-06 02:30",
             "2024-10-06 02:45"]
    times, gap = _utc(walls, "Australia/Lord_Howe")
    assert times == sorted(times)
    assert gap == [False, True, True, False, False]
    # 02:30 is the first valid time, at the jump instant; 02:45 is 15 minutes later.
    assert times[3] - times[0] == pd.Timedelta(minutes=15)
    assert times[4] - times[3] == pd.Timedelta(minutes=15)


def test_a_repeated_local_time_is_read_as_its_first_occurrence() -> None:
    # Lord Howe falls back 30 minutes: 02:00 (+11) becomes 01:30 (+10:30).
    times, gap = _utc(["2024-04-07 01:45"], "Australia/Lord_Howe")
    assert times == [pd.Timestamp("2024-04-06 14:45", tz="UTC")]
    assert gap == [False]


def test_a_skipped_time_in_an_export_is_flagged_with_its_line(tiny: Path) -> None:
    write_yaml(tiny.parent / "tickets.csv", TICKETS_CSV
               + "T5,Incident,2024-10-06 02:15,,2024-10-06 05:00,Closed,2,Net,0,0,Dee\n")
    text = tiny.read_text().replace("timezone: UTC", "timezone: Australia/Lord_Howe")
    result = ingest(load_params(write_yaml(tiny, text)))
    t = result.tickets.set_index("ticket_id")
    assert t.loc["T5", "opened_at"] == pd.Timestamp("2024-10-05 15:30", tz="UTC")
    flagged = result.issues.set_index("rule").loc["local time in the daylight-saving gap"]
    assert (flagged["action"], flagged["rows"], flagged["examples"]) == ("flagged", 1, "6")
    assert flagged["fix"] == "none needed: read as the instant the clocks jumped"
