"""Hours of support: the business calendar (local weekly hours, time zone, holidays).

A calendar is validated once, when the params file is read, and stored in its
canonical form (``08:00-18:00``, weekdays in order, holidays sorted), so two
spellings of the same hours compare equal.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["WEEKDAYS", "BusinessHours", "Weekday"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

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

