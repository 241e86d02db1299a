"""Durations per ticket: elapsed business time, time paused, and the SLA clock."""

from __future__ import annotations

import pandas as pd

from csi_lib.sla.hours import BusinessHours
from csi_lib.sla.pauses import pause_ns
from csi_lib.sla.tickets import NAT, keys_index, tickets, timedeltas

__all__ = ["elapsed", "paused", "sla_clock"]


def elapsed(start: pd.Series, end: pd.Series, calendar: BusinessHours | None) -> pd.Series:
    """Business time from ``start`` to ``end`` per row (``None`` = 24x7 wall time).

    Both columns are tz-aware timestamps on one index. The result is a timedelta
    column on that index, NaT where either end is missing or ``end < start``
    (the caller flags those rows).
    """
    t = tickets(start, end, calendar)
    return timedeltas(t.business(), t.index)


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
    t = tickets(start, end, calendar)
    out = pause_ns(t, keys_index(start, keys), pauses)
    out[~t.ok] = NAT
    return timedeltas(out, t.index)


def sla_clock(opened: pd.Series, stopped: pd.Series, calendar: BusinessHours | None,
              pauses: pd.DataFrame | None = None, keys: pd.Series | None = None) -> pd.Series:
    """The SLA clock per ticket: business time from ``opened`` to ``stopped`` minus pauses.

    ``stopped`` is the event the target is about (``responded_at`` for a
    response target, ``resolved_at`` for resolution). See :func:`paused` for
    ``pauses`` and ``keys``. NaT where the clock cannot be measured.
    """
    t = tickets(opened, stopped, calendar)
    out = t.business()
    if pauses is not None:
        out[t.ok] -= pause_ns(t, keys_index(opened, keys), pauses)[t.ok]
    return timedeltas(out, t.index)
