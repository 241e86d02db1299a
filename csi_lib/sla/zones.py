"""Local wall-clock time in a zone: its offset changes, found exactly, and wall time to UTC.

A zone's UTC offset is constant between changes (daylight saving, or a change
of standard time), and changes come by any amount: 30 minutes at Lord Howe, 2
hours at Troll, a whole day in Samoa in 2011. So nothing here assumes a shift
of one hour: the offset is read at regular instants and each change is then
pinned to the second by bisection on the zone's own UTC offsets (tz database
transitions fall on whole seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Segments", "first_instant", "segments"]

_NS = 1_000_000_000
_DAY = 86_400 * _NS
# No zone of the tz database changes its offset twice within four days (the
# closest pair, Africa/Freetown in 1939, is 95 hours apart), so sampling every
# six hours sees every change, one per step.
_STEP = 6 * 3600 * _NS
# |UTC offset| stays below a day in every zone, so a wall time maps to an
# instant within a day of the same digits read as UTC.
_MARGIN = 2 * _DAY


def _offsets(tz: str, utc_ns: np.ndarray) -> np.ndarray:
    """UTC offset (local minus UTC, nanoseconds) of ``tz`` at each UTC instant."""
    local = pd.DatetimeIndex(utc_ns.view("M8[ns]")).tz_localize("UTC").tz_convert(tz)
    return local.tz_localize(None).as_unit("ns").asi8 - utc_ns


@dataclass(frozen=True)
class Segments:
    """Stretches of constant offset covering a span: ``[starts[k], ends[k])`` at ``offsets[k]``."""

    starts: np.ndarray  # UTC nanoseconds; starts[k + 1] is a change of offset
    ends: np.ndarray
    offsets: np.ndarray  # nanoseconds, local minus UTC


def segments(tz: str, lo: int, hi: int) -> Segments:
    """The offsets of ``tz`` from UTC instant ``lo`` to ``hi``, split at each change."""
    first = lo // _DAY * _DAY  # whole seconds, so bisection lands on the change's second
    grid = np.arange(first, hi + _STEP, _STEP, dtype=np.int64)
    off = _offsets(tz, grid)
    step = np.flatnonzero(off[1:] != off[:-1])
    # The change in each (a, b] is the first second at the new offset.
    a, b, old = grid[step], grid[step + 1], off[step]
    while a.size and (b - a).max() > _NS:
        mid = a + (b - a) // (2 * _NS) * _NS
        same = _offsets(tz, mid) == old
        a, b = np.where(same, mid, a), np.where(same, b, mid)
    return Segments(
        starts=np.concatenate([[first], b]).astype(np.int64),
        ends=np.concatenate([b, [grid[-1] + _STEP]]).astype(np.int64),
        offsets=np.concatenate([[off[0]], off[step + 1]]).astype(np.int64),
    )


def first_instant(wall_ns: np.ndarray, tz: str) -> np.ndarray:
    """UTC nanoseconds at which the clock of ``tz`` first reaches each wall time.

    ``wall_ns`` are local wall times (naive, as nanoseconds). A repeated wall
    time (the clock set back) gets its earlier instant; a skipped one (the
    clock set forward) the instant of the jump, whatever its size. The map is
    monotone, so wall-time ranges in order stay in order.
    """
    if not wall_ns.size:
        return wall_ns.astype(np.int64)
    seg = segments(tz, int(wall_ns.min()) - _MARGIN, int(wall_ns.max()) + _MARGIN)
    # Segment k shows wall times [starts + offset, ends + offset). The clock first
    # reaches w in the first segment whose wall times pass w: at w - offset, or at
    # the segment's start if the clock jumped over w into it. Running maximum:
    # a segment after a set-back may show only times already shown before.
    shown_until = np.maximum.accumulate(seg.ends + seg.offsets)
    k = np.searchsorted(shown_until, wall_ns, side="right")
    return np.maximum(seg.starts[k], wall_ns - seg.offsets[k])
