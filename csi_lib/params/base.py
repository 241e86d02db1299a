"""Shared building blocks of the params models: frozen models, ids, durations, zones."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

from csi_lib.errors import ParamsError

__all__ = ["PRIORITIES", "SLUG", "Duration", "Slug", "TimeZone", "check_slug", "parse_duration"]

# Slugs become folder names under outputs/: lower-case letters, digits, '-' and
# '_' only, so no id can climb out of outputs/ or hide as a dotfile.
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a safe id: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (ids become folder names)"
        )
    return value


def parse_duration(value: Any) -> pd.Timedelta:
    if isinstance(value, str):
        # pandas deprecates the lower-case day unit ('3d'); people write it anyway.
        value = re.sub(r"(\d)\s*d\b", r"\1D", value.strip())
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"{value!r} is not a duration: write it like '15min', '4h', '3d' or '1d 12h'"
        ) from None
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise ValueError(f"{value!r} must be a positive duration")
    return td


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}: use an IANA name such as 'Europe/London' or 'UTC'"
        ) from None
    return value


Slug = Annotated[str, AfterValidator(_slug)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)



Duration = Annotated[pd.Timedelta, AfterValidator(parse_duration), PlainSerializer(str, return_type=str)]


def check_slug(value: str, what: str) -> None:
    if not SLUG.match(value):
        raise ParamsError(
            f"{what} id {value!r} is not safe: use lower-case letters, digits, '-' or '_'"
        )

