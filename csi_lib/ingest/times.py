"""Reading export timestamps into UTC, whatever the export's format and time zone."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from csi_lib.ingest.dates import Where, slash_order
from csi_lib.sla.zones import first_instant

__all__ = ["EARLIEST", "LATEST", "ParsedTimes", "automatic_formats", "parse_times"]

UTC_NS = "datetime64[ns, UTC]"
# Outside this window a parsed value is a placeholder (01/01/1900, 31/12/9999) or
# a wrong format, not an event: it is reported instead of skewing durations.
EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
LATEST = pd.Timestamp("2200-01-01", tz="UTC")


def automatic_formats(dayfirst: bool) -> tuple[str, ...]:
    """The formats tried when a source sets no ``date_format``, in order.

    ISO 8601 first (ServiceNow's and most tools' default, with or without an
    offset), then slash dates either day-first or month-first (never both: a
    column must not mix 1/2 meaning 1 February with 1/2 meaning 2 January),
    the event-log style 2012/10/09 14:50:17.000 and Jira's 12/Mar/24 10:15 AM.
    strptime accepts days and months without zero padding (29/2/2016 01:16).
    """
    dm = "%d/%m/%Y" if dayfirst else "%m/%d/%Y"
    return ("ISO8601", f"{dm} %H:%M:%S", f"{dm} %H:%M", dm, "%Y/%m/%d %H:%M:%S.%f",
            "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%d/%b/%y %I:%M %p", "%d/%b/%y %H:%M",
            "%d/%b/%Y %I:%M %p", "%d/%b/%Y %H:%M")


@dataclass(frozen=True)
class ParsedTimes:
    """Parsed timestamps (UTC) and the cells that needed a rule."""

    parsed: pd.Series  # datetime64[ns, UTC]; NaT where missing or unreadable
    bad: pd.Series  # text that is not a date in any of the formats
    implausible: pd.Series  # a date, but before 1970 or after 2200
    gap: pd.Series  # a local time in the spring daylight-saving gap, moved to the jump


OFFSET = r"(?:Z|[+-]\d\d:?\d\d)\s*$"


# Directives whose valid values a fast path reads without pandas: each pattern accepts only
# zero-padded fields in range (days up to 28 and years 1970-2199, so that every match is a
# real, plausible date); any other cell is read by pandas as before.
PLAIN_FIELDS = {"%Y": r"(?:19[7-9]\d|2[01]\d\d)", "%m": r"(?:0[1-9]|1[0-2])",
                "%d": r"(?:0[1-9]|1\d|2[0-8])", "%H": r"(?:[01]\d|2[0-3])", "%M": r"[0-5]\d",
                "%S": r"[0-5]\d"}
PLAIN_ISO = "%Y-%m-%d[T ]%H:%M:%S"  # the ISO 8601 shape exports use most


def _plain_pattern(fmt: str) -> str | None:
    """A regex matching the plain cells of ``fmt``, or None when ``fmt`` has no fast path."""
    if fmt == "ISO8601":
        fmt = PLAIN_ISO
    out = []
    for part in re.split(r"(%.|\[T \])", fmt):
        if part.startswith("%"):
            if part not in PLAIN_FIELDS:
                return None
            out.append(PLAIN_FIELDS[part])
        elif part == "[T ]":
            out.append(part)
        elif part:
            if not re.fullmatch(r"[-/:.T ]+", part):
                return None
            out.append(re.escape(part))
    return "^" + "".join(out) + "$"


def _read_plain(text: pd.Series, fmt: str) -> pd.Series | None:
    """``_read(text, fmt, utc=False)`` with the plain cells read by Arrow, the rest by pandas.

    A plain cell (:func:`_plain_pattern`) has one reading, which strptime and Arrow
    agree on, and takes a tenth of the time. None when the fast path does not apply:
    then, or when the other cells carry an offset or a finer unit, pandas reads all.
    """
    pattern = _plain_pattern(fmt)
    dtype = text.dtype
    if pattern is None or not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    arr = pa.array(text.array)
    plain = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    if not pc.any(plain).as_py():
        return None
    kept = pc.if_else(plain, arr, pa.scalar(None, arr.type))
    try:
        stamps = (pc.cast(kept, pa.timestamp("s")) if fmt == "ISO8601"
                  else pc.strptime(kept, format=fmt, unit="s"))
    except pa.ArrowInvalid:  # not expected of a plain cell; pandas then reads them all
        return None
    values = stamps.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    rest = ~plain.to_numpy(zero_copy_only=False) & text.notna().to_numpy()
    if rest.any():
        other = _read(text[rest], fmt, utc=False, fast=False)
        if other.dtype != np.dtype("datetime64[us]"):
            return None
        values[rest] = other.to_numpy()
    return pd.Series(values, index=text.index, name=text.name)


def _read(text: pd.Series, fmt: str, *, utc: bool, fast: bool = True) -> pd.Series:
    if fast and not utc:
        plain = _read_plain(text, fmt)
        if plain is not None:
            return plain
    with warnings.catch_warnings():
        # Strings that merely look like dates in another format are reported by
        # the caller as rule hits; pandas' own warning about them adds nothing.
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
        except ValueError:  # offsets that differ between rows
            return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)


def _localise(naive: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Wall-clock times of ``tz`` as UTC, and the mask of times in a spring-forward gap.

    A repeated wall time (clocks set back) is read as its first occurrence; a
    skipped one (clocks set forward) as the instant of the jump, whatever its
    size (30 minutes at Lord Howe, 2 hours at Troll): :func:`first_instant`
    finds each change to the second instead of assuming a shift of one hour.
    """
    gap = pd.Series(False, index=naive.index)
    if tz == "UTC":  # no clock changes: every wall time is its own instant
        return naive.dt.tz_localize("UTC").astype("datetime64[us, UTC]"), gap
    out = pd.Series(pd.NaT, index=naive.index, dtype="datetime64[us, UTC]")
    # Outside the plausible window (and nanoseconds' range) a time is reported as
    # implausible by the caller: its zone does not matter, read it as UTC.
    window = (naive >= EARLIEST.tz_localize(None) - pd.Timedelta(days=2)) & (
        naive < LATEST.tz_localize(None) + pd.Timedelta(days=2))
    wall = naive[window].astype("datetime64[ns]").to_numpy().view("i8")
    utc = pd.DatetimeIndex(first_instant(wall, tz).view("M8[ns]")).tz_localize("UTC")
    back = utc.tz_convert(tz).tz_localize(None).as_unit("ns").asi8
    out[window] = utc.as_unit("us").array  # in the order of the rows in the window
    gap[window] = back != wall
    other = naive.notna() & ~window
    if other.any():
        out[other] = naive[other].dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return out, gap


def _parse(text: pd.Series, fmt: str, tz: str) -> tuple[pd.Series, pd.Series]:
    """``text`` read with ``fmt`` as UTC, and the mask of times moved out of the DST gap.

    Times with an offset are instants; naive times are wall-clock times in ``tz``.
    """
    if "%z" in fmt or "%Z" in fmt:
        aware = pd.Series(True, index=text.index)
    elif fmt == "ISO8601":
        aware = text.str.contains(OFFSET, regex=True).fillna(False).astype(bool)
    else:
        aware = pd.Series(False, index=text.index)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
    gap = pd.Series(False, index=text.index)
    some, every = bool(aware.any()), bool(aware.all())
    # A mask selecting every row is skipped: the copy and re-alignment cost more than the read.
    if some:
        out = out.fillna(_read(text if every else text[aware], fmt, utc=True)
                         .astype("datetime64[us, UTC]").reindex(text.index))
    if not every:
        naive = _read(text[~aware] if some else text, fmt, utc=False)
        if getattr(naive.dt, "tz", None) is None:
            naive, moved = _localise(naive, tz)
            gap = gap | moved.reindex(text.index, fill_value=False)
        out = out.fillna(naive.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
                         .reindex(text.index))
    return out, gap


def _spread(part: pd.Series, rows: np.ndarray, index: pd.Index, fill: object) -> pd.Series:
    """``part`` (the values of the rows selected by ``rows``, in order) over all of ``index``,
    ``fill`` elsewhere: ``part.reindex(index, fill_value=fill)`` by position, not by label."""
    out = pd.Series(fill, index=index, dtype=part.dtype)
    out[rows] = part.array
    return out


def parse_times(text: pd.Series, formats: tuple[str, ...], tz: str, *,
                dayfirst: bool | None = None, where: Where | None = None) -> ParsedTimes:
    """Parse ``text`` trying each strptime format in turn (none: :func:`automatic_formats`).

    Naive times are wall-clock times in ``tz``; times with an offset keep it.
    Each format only sees the cells the previous ones could not read, so a list
    such as ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"] costs one pass per format.
    Without formats, slash dates are read day-first or month-first as ``dayfirst``
    says or, when it is None, as the column's own values prove
    (:func:`~csi_lib.ingest.dates.slash_order`, which refuses a column that proves
    neither order, naming ``where``).
    """
    if not formats and dayfirst is None:
        dayfirst = bool(slash_order(text, where or Where("the export", str(text.name),
                                                         "sources")))
    index = text.index
    values = pd.Series(pd.NaT, index=index, dtype=UTC_NS)
    gap = pd.Series(False, index=index)
    implausible = pd.Series(False, index=index)
    todo = text.notna()
    for fmt in formats or automatic_formats(dayfirst):
        if not todo.any():
            break
        rows = todo.to_numpy(dtype=bool)
        parsed, moved = _parse(text if rows.all() else text[rows], fmt, tz)
        # Compare before converting to nanoseconds, whose range ends in 2262.
        odd = parsed.notna() & ((parsed < EARLIEST) | (parsed >= LATEST))
        parsed = parsed.mask(odd).astype(UTC_NS)
        values = values.fillna(_spread(parsed, rows, index, pd.NaT))
        implausible = implausible | _spread(odd, rows, index, False)
        gap = gap | _spread(moved & ~odd, rows, index, False)
        todo = todo & values.isna() & ~implausible
    return ParsedTimes(parsed=values, bad=todo, implausible=implausible, gap=gap)
