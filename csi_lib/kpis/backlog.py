"""The open backlog at each period end: how many tickets, and how old.

A ticket is open at a period's end when it was opened before that instant and
not resolved before it (a ticket closed without a resolution time leaves at its
closure time). Each ticket is therefore open at a contiguous run of
period ends, found by two binary searches; the counts per end are the running
sum of +1 where a run starts and -1 where it stops, so tickets opened long
before the table's first period still count and nothing loops over tickets.
Aging buckets (ITIL incident management reviews the age of the open backlog)
are the same runs cut by the ticket's age at each end. The KPI table searches
the month ends only: a quarter's ends are among them, so the quarter ends a
ticket has passed follow from the month ends it has passed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from csi_lib.catalogue import AGE_BUCKETS, AGED_BACKLOG_DAYS
from csi_lib.ingest.tables import FINISHED_STATES
from csi_lib.kpis.grid import Grid, instants, known_tickets, service_codes, table_grids
from csi_lib.kpis.stats import Cells, wilson
from csi_lib.params import Params

__all__ = ["AGING_COLUMNS", "backlog_aging", "backlog_cells", "open_at_ends", "with_ends",
           "without_end"]

AGING_COLUMNS = ["service", "freq", "period", "period_start", "bucket", "n", "share"]
_DAY = pd.Timedelta(days=1).value
_NEVER = np.iinfo(np.int64).max


def without_end(tickets: pd.DataFrame) -> pd.Series:
    """Tickets whose state says finished but which carry no resolution or closure time.

    Judged on the export as it is (before any as-of view blanks later events):
    ingest keeps and flags them; they count in volume but cannot be placed in time.
    """
    if "state" not in tickets:
        return pd.Series(False, index=tickets.index)
    done = tickets["state"].astype("string").str.lower().isin(FINISHED_STATES).fillna(False)
    ends = [c for c in ("resolved_at", "closed_at") if c in tickets]
    return (done & tickets[ends].isna().all(axis=1)).astype(bool)


def with_ends(view: pd.DataFrame, no_end: pd.Series) -> pd.DataFrame:
    """Tickets (as known at a period end) with ``finished_at`` and ``left_at`` added.

    ``finished_at`` is the resolution time, else the closure time: when a ticket
    stopped needing work. ``left_at`` is when it left the backlog: ``finished_at``,
    or, for a ticket of ``no_end`` (:func:`without_end`, indexed like the full
    table), its opening time, so that it never counts as open rather than
    counting as open for ever.
    """
    finished = view["resolved_at"]
    # Each step only where it changes something: a datetime fill or mask copies the column.
    if "closed_at" in view and (finished.isna() & view["closed_at"].notna()).any():
        finished = finished.fillna(view["closed_at"])
    unplaced = no_end.reindex(view.index, fill_value=False)
    left = finished.mask(unplaced, view["opened_at"]) if unplaced.any() else finished
    return view.assign(finished_at=finished, left_at=left)


def _open(grid: Grid, service: np.ndarray, first: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Per cell: rows open from the period end at index ``first`` to the one before ``stop``."""
    services, periods = grid.shape
    ok = (service >= 0) & (first < stop)
    width = periods + 1
    size = services * width
    steps = (np.bincount(service[ok] * width + first[ok], minlength=size)
             - np.bincount(service[ok] * width + stop[ok], minlength=size))
    return np.cumsum(steps.reshape(services, width), axis=1)[:, :periods].ravel()


def _leaving(resolved: np.ndarray) -> np.ndarray:
    return np.where(resolved == np.iinfo(np.int64).min, _NEVER, resolved)


def open_at_ends(grid: Grid, service: np.ndarray, opened: np.ndarray, resolved: np.ndarray,
                 older: int = 0, younger: int | None = None) -> np.ndarray:
    """Tickets open at each period end aged in (``older``, ``younger``] ns there, per cell.

    ``opened`` and ``resolved`` are int64 UTC nanoseconds (NaT: not resolved).
    """
    ends = grid.ends
    first = np.searchsorted(ends, opened + older, side="right")
    stop = np.searchsorted(ends, _leaving(resolved), side="right")
    if younger is not None:
        stop = np.minimum(stop, np.searchsorted(ends, opened + younger, side="right"))
    return _open(grid, service, first, stop)


def _present(grid: Grid, service: np.ndarray) -> np.ndarray:
    """Per cell: whether the service has any ticket at all (else its backlog is unknown)."""
    services, periods = grid.shape
    seen = np.bincount(service[service >= 0], minlength=services) > 0
    return np.repeat(seen, periods)


def backlog_cells(grids: tuple[Grid, ...], service: np.ndarray, opened: np.ndarray,
                  resolved: np.ndarray) -> list[tuple[Cells, Cells]]:
    """The backlog count and the share of it older than AGED_BACKLOG_DAYS, per cell of
    each grid (the first the finest, the others' periods unions of its periods).

    ``service`` codes and ``opened``/``resolved`` instants as for :func:`open_at_ends`.
    The binary searches run once, in the finest grid's period ends; the other grids
    count their ends passed from those (:meth:`Grid.ends_passed`).
    """
    finest = grids[0]
    first = np.searchsorted(finest.ends, opened, side="right")
    aged_first = np.searchsorted(finest.ends, opened + AGED_BACKLOG_DAYS * _DAY, side="right")
    stop = np.searchsorted(finest.ends, _leaving(resolved), side="right")
    out = []
    for grid in grids:
        passed = np.arange(len(finest.ends) + 1) if grid is finest \
            else grid.ends_passed(finest)
        total = _open(grid, service, passed[first], passed[stop])
        aged = _open(grid, service, passed[aged_first], passed[stop])
        nan = np.full(grid.size, np.nan)
        backlog = Cells(np.where(_present(grid, service), total, np.nan), total, nan,
                        nan.copy())
        out.append((backlog, wilson(aged, total)))
    return out


def backlog_aging(tickets: pd.DataFrame, params: Params, period: pd.Period) -> pd.DataFrame:
    """The open backlog at each period end by age bucket (catalogue.AGE_BUCKETS).

    One row per service, period (the months and quarters of
    :func:`csi_lib.kpis.kpi_table` for ``period``, as known at its end) and
    bucket, youngest first: ``n`` tickets and their ``share`` of that backlog
    (NaN when nothing is open). Ages are (low, high]: a ticket exactly 1 day old
    is in "up to 1 day".
    """
    t = with_ends(known_tickets(tickets, params, period,
                                ("service", "opened_at", "resolved_at", "closed_at")),
                  without_end(tickets))
    opened, resolved = instants(t["opened_at"]), instants(t["left_at"])
    service = service_codes(t["service"], [s.id for s in params.services])
    parts = []
    for grid in table_grids(params, period):
        total = open_at_ends(grid, service, opened, resolved)
        low = 0
        counts = []
        for _, high in AGE_BUCKETS:
            counts.append(open_at_ends(grid, service, opened, resolved, older=low * _DAY,
                                       younger=None if high is None else high * _DAY))
            low = high or 0
        buckets = len(AGE_BUCKETS)
        n = np.stack(counts, axis=-1).ravel()          # cell-major, then bucket
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(np.repeat(total, buckets) > 0, n / np.repeat(total, buckets),
                             np.nan)
        services, periods = grid.shape
        parts.append(pd.DataFrame({
            "service": pd.Series(np.repeat(grid.services, periods * buckets), dtype="string"),
            "freq": grid.freq,
            "period": pd.Series(np.tile(np.repeat(grid.labels(), buckets), services),
                                dtype="string"),
            "period_start": np.tile(np.repeat(grid.starts(), buckets), services),
            "bucket": pd.Series(np.tile([b for b, _ in AGE_BUCKETS], grid.size),
                                dtype="string"),
            "n": n.astype(np.int64),
            "share": share,
        }))
    return pd.concat(parts, ignore_index=True)[AGING_COLUMNS]
