"""Reporting periods as arrays: which service and table period each record falls in.

Every KPI is an aggregate over a grid of (service, period) cells. Instants are
placed in periods by a binary search in the periods' UTC bounds (local
midnights of the client's time zone), so a million rows cost one
``searchsorted`` per time column instead of a time-zone conversion each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib.params import Params
from csi_lib.periods import quarter_freq, quarter_label

__all__ = ["Grid", "as_of_view", "instants", "known_tickets", "period_bounds", "service_codes",
           "table_grids"]


def period_bounds(period: pd.Period, tz: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[start, end) of ``period`` in UTC, with boundaries at local midnight in ``tz``."""
    start = period.start_time.tz_localize(tz).tz_convert("UTC")
    end = (period.end_time.floor("D") + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC")
    return start, end


def as_of_view(frame: pd.DataFrame, end: pd.Timestamp, *, born: str,
               later: tuple[str, ...]) -> pd.DataFrame:
    """Rows known at ``end``: born before it, with later events blanked (not yet happened)."""
    known = frame[born] < end
    # Most rows of a recent period's view are known: skip the copies that change nothing.
    view = frame if known.all() else frame.loc[known]
    blank = {c: view[c].where(view[c] < end) for c in later
             if c in view and (view[c] >= end).any()}
    return view.assign(**blank)


def instants(values: pd.Series) -> np.ndarray:
    """Tz-aware timestamps as int64 UTC nanoseconds; NaT becomes the smallest int64."""
    return pd.DatetimeIndex(values).tz_convert("UTC").as_unit("ns").asi8


def service_codes(values: pd.Series, services: tuple[str, ...] | list[str]) -> np.ndarray:
    """Index of each value in ``services``, -1 for any other (or a missing) service."""
    # Factorise first: a lookup per distinct value, not per row, of the text column.
    codes, uniques = pd.factorize(values)
    lookup = np.append(pd.Index(list(services)).get_indexer(pd.Index(uniques, dtype=object)), -1)
    return lookup[codes]


@dataclass(frozen=True)
class Grid:
    """The (service, period) cells of one frequency of the KPI table.

    Cell ``s * P + p`` is service ``services[s]`` in period ``periods[p]``;
    ``bounds`` holds the UTC start of every period and the end of the last.
    """

    services: tuple[str, ...]
    periods: pd.PeriodIndex
    bounds: np.ndarray

    @classmethod
    def build(cls, services: list[str], periods: pd.PeriodIndex, tz: str) -> Grid:
        starts = [period_bounds(p, tz)[0] for p in periods]
        bounds = [*starts, period_bounds(periods[-1], tz)[1]]
        return cls(tuple(services), periods,
                   np.array([b.as_unit("ns").value for b in bounds], dtype=np.int64))

    @property
    def freq(self) -> str:
        """"M" for months, "Q" for (fiscal) quarters: the table's ``freq`` column."""
        return "M" if self.periods.freqstr == "M" else "Q"

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.services), len(self.periods)

    @property
    def size(self) -> int:
        return len(self.services) * len(self.periods)

    @property
    def ends(self) -> np.ndarray:
        """UTC end (exclusive) of each period, as int64 nanoseconds."""
        return self.bounds[1:]

    def cells(self, service: np.ndarray, when: np.ndarray) -> np.ndarray:
        """The cell of each row (-1 when its service or period is outside the grid).

        ``when`` holds int64 UTC nanoseconds (:func:`instants`).
        """
        period = np.searchsorted(self.bounds, when, side="right") - 1
        inside = (service >= 0) & (period >= 0) & (period < len(self.periods))
        return np.where(inside, service * len(self.periods) + period, -1)

    def _require_nested(self, finer: Grid) -> None:
        if (finer.services != self.services or finer.bounds[0] != self.bounds[0]
                or finer.bounds[-1] != self.bounds[-1]
                or not np.isin(self.bounds, finer.bounds).all()):
            raise ValueError("regrouping needs a finer grid of the same services and span "
                             "whose boundaries include this grid's")

    def regroup(self, cells: np.ndarray, finer: Grid) -> np.ndarray:
        """Cells of ``finer`` as cells of this grid (-1 stays -1), by a table lookup.

        ``finer`` has the same services and span, and every period boundary of this
        grid (months within quarters), so each of its periods lies inside one of this
        grid's and a row lands where :meth:`cells` would put it, without a search.
        """
        self._require_nested(finer)
        period = np.searchsorted(self.bounds, finer.bounds[:-1], side="right") - 1
        lookup = np.arange(len(self.services))[:, None] * len(self.periods) + period[None, :]
        return np.append(lookup.ravel(), -1)[cells]

    def ends_passed(self, finer: Grid) -> np.ndarray:
        """For k of ``finer``'s period ends at or before an instant, how many of this
        grid's are (index k): ``searchsorted(self.ends, t, "right")`` from
        ``searchsorted(finer.ends, t, "right")``, as this grid's ends are among finer's."""
        self._require_nested(finer)
        passed = np.r_[np.iinfo(np.int64).min, finer.ends]
        return np.searchsorted(self.ends, passed, side="right")

    def starts(self) -> np.ndarray:
        """Each period's first day (naive, client calendar): the table's ``period_start``."""
        return np.array([p.start_time for p in self.periods], dtype="datetime64[us]")

    def labels(self) -> list[str]:
        """Period labels as the table writes them: "2026-07", or the fiscal "2026Q3"."""
        if self.freq == "M":
            return [p.strftime("%Y-%m") for p in self.periods]
        return [quarter_label(p) for p in self.periods]


def table_grids(params: Params, period: pd.Period) -> tuple[Grid, Grid]:
    """The monthly and quarterly grids of the KPI table of ``period``: every service,
    ``period`` and the ``history_quarters`` before it."""
    tz = params.reporting.timezone
    first = period - params.reporting.history_quarters
    quarters = pd.period_range(first, period,
                               freq=quarter_freq(params.reporting.fiscal_year_start_month))
    months = pd.period_range(first.asfreq("M", how="start"), period.asfreq("M", how="end"),
                             freq="M")
    services = [s.id for s in params.services]
    return Grid.build(services, months, tz), Grid.build(services, quarters, tz)


def known_tickets(tickets: pd.DataFrame, params: Params, period: pd.Period,
                  columns: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Tickets as known at the end of ``period`` (only ``columns`` of them, when given)."""
    _, end = period_bounds(period, params.reporting.timezone)
    if columns is not None:
        tickets = tickets[[c for c in tickets.columns if c in columns]]
    return as_of_view(tickets, end, born="opened_at",
                      later=("responded_at", "resolved_at", "closed_at"))
