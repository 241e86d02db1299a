"""The business calendar: parsing, canonical form and its error messages."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pydantic import ValidationError

from csi_lib.sla import WEEKDAYS, BusinessHours

WEEK = dict.fromkeys(WEEKDAYS[:5], "08:00-18:00")


def test_calendar_is_frozen_canonical_and_round_trips() -> None:
    c = BusinessHours(timezone="Europe/London",
                      hours={"Fri": "8:00-12:00, 13:00-17:30", "MON": "08:00-24:00"},
                      holidays=["2026-12-26", date(2026, 12, 25), "2026-12-26"])
    assert c.hours == {"mon": "08:00-24:00", "fri": "08:00-12:00,13:00-17:30"}
    assert c.holidays == (date(2026, 12, 25), date(2026, 12, 26))
    assert c.weekly()[0] == ((8 * 3600, 86_400),)
    assert c.weekly()[4] == ((8 * 3600, 12 * 3600), (13 * 3600, 17 * 3600 + 1800))
    assert c.weekly()[5] == ()
    assert BusinessHours.model_validate(c.model_dump(mode="json")) == c
    with pytest.raises(ValidationError, match="frozen"):
        c.timezone = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, r"unknown timezone 'Mars/Olympus': use an IANA name"),
        ({"hours": {"mon": "8-18"}}, r"mon: '8-18' is not a time range: write it like '08:00-18:00'"),
        ({"hours": {"tue": "08:00 to 18:00"}}, r"tue: '08:00 to 18:00' is not a time range"),
        ({"hours": {"wed": ""}}, r"wed: '' is not a time range"),
        ({"hours": {"thu": "08:00-25:00"}}, r"thu: '08:00-25:00' holds the impossible time '25:00'"),
        ({"hours": {"thu": "08:60-18:00"}}, r"impossible time '08:60'"),
        ({"hours": {"fri": "18:00-08:00"}},
         r"fri: '18:00-08:00' does not end after it starts: a range cannot cross midnight"),
        ({"hours": {"mon": "08:00-14:00,13:00-17:00"}},
         (r"mon: '13:00-17:00' starts before the previous range ends in "
          r"'08:00-14:00,13:00-17:00': list a day's ranges in time order")),
        ({"hours": {"monday": "08:00-18:00"}}, r"Input should be 'mon', 'tue'"),
        ({"hours": {}}, r"hours opens no day"),
        ({"holidays": ["25/12/2026"]}, r"holiday '25/12/2026' is not an ISO date: write it as YYYY-MM-DD"),
        ({"holidays": ["2026-13-01"]}, r"holiday '2026-13-01' is not an ISO date"),
        ({"holidays": [pd.Timestamp("2026-12-25 09:00").to_pydatetime()]},
         r"holiday '2026-12-25T09:00:00' has a time of day"),
        ({"weekends": "closed"}, r"Extra inputs are not permitted"),
    ],
)
def test_bad_calendars_quote_the_value_and_the_fix(changes: dict, message: str) -> None:
    base = {"timezone": "UTC", "hours": WEEK, "holidays": []}
    with pytest.raises(ValidationError, match=message):
        BusinessHours.model_validate({**base, **changes})


def test_timezone_is_required() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        BusinessHours.model_validate({"hours": WEEK})
