"""The long KPI table: every catalogue KPI per service, per month and per quarter.

Each record is placed in a (service, period) cell of a grid by the time of the
event a KPI is about (opened, first response, resolution, survey answer,
change end); a KPI is then a bincount, a mean of flags or a quantile over the
sorted values of each cell. Columns are turned into arrays once and shared by
the monthly and the quarterly grid; the searches and sorts run in the monthly
grid, and a quarter is its months put together (a lookup of cells, a merge of
sorted runs), so it costs a fraction of a second pass. Nothing loops over tickets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.catalogue import SATISFIED_MIN_SCORE
from csi_lib.kpis.backlog import backlog_cells, with_ends, without_end
from csi_lib.kpis.grid import (
    Grid,
    as_of_view,
    instants,
    known_tickets,
    period_bounds,
    service_codes,
    table_grids,
)
from csi_lib.kpis.measures import ticket_measures
from csi_lib.kpis.stats import (
    Cells,
    Sorted,
    add_up,
    counted,
    counts,
    mean,
    merge_cells,
    proportion,
    quantile,
    ratio,
    sort_cells,
    tally,
    wilson,
)
from csi_lib.params import Params

__all__ = ["CI_COLUMNS", "KPI_COLUMNS", "TABLE_COLUMNS", "kpi_table"]

# The contract every reader of the table relies on ...
KPI_COLUMNS = ["service", "freq", "period", "period_start", "kpi", "value", "n"]
# ... and the 95% interval beside each value (NaN for counts, means and ratios).
CI_COLUMNS = ["ci_low", "ci_high"]
TABLE_COLUMNS = KPI_COLUMNS + CI_COLUMNS
# Ticket columns any KPI reads; the rest of a wide export is not copied.
TICKET_INPUTS = (
    "ticket_id", "record_type", "service", "priority", "opened_at", "responded_at",
    "resolved_at", "closed_at", "state", "category", "cmdb_ci", "channel", "assignment_group",
    "tier", "reassignment_count", "reopen_count", "caller", "knowledge", "made_sla",
)
# Share KPIs of tickets: KPI id -> (event the ticket is counted at, flag column).
# ``finished_at`` is the resolution time, else the closure time: a closed ticket
# without a resolution time still counts in the KPIs that need only its end
# (reopen, reassignment, escalation, first contact, knowledge use).
TICKET_SHARES = {
    "sla_resolution": ("resolved_at", "met_resolution"),
    "sla_response": ("responded_at", "met_response"),
    "sla_met_source": ("resolved_at", "met_source"),
    "reopen_rate": ("finished_at", "reopened"),
    "reassignment_rate": ("finished_at", "reassigned"),
    "escalation_rate": ("finished_at", "escalated"),
    "fcr": ("finished_at", "first_contact"),
    "repeat_incident_rate": ("opened_at", "repeat"),
    "knowledge_use_rate": ("finished_at", "knowledge_used"),
    "self_service_share": ("opened_at", "self_service"),
}
# The events tickets are placed in periods by.
TICKET_EVENTS = ("opened_at", "resolved_at", "responded_at", "finished_at")
# Mean KPIs of tickets: KPI id -> (event, value column).
TICKET_MEANS = {"resolution_mean_h": ("resolved_at", "resolution_h")}
# Quantile KPIs of tickets: KPI id -> (event, duration column, quantile).
TICKET_QUANTILES = {
    "breach_overrun_p50_h": ("resolved_at", "overrun_h", 0.5),
    "breach_overrun_p90_h": ("resolved_at", "overrun_h", 0.9),
    "resolution_median_h": ("resolved_at", "resolution_h", 0.5),
    "resolution_p90_h": ("resolved_at", "resolution_h", 0.9),
    "response_median_h": ("responded_at", "response_h", 0.5),
    "response_p90_h": ("responded_at", "response_h", 0.9),
}


def _flag(frame: pd.DataFrame, column: str,
          test: Callable[[pd.Series], pd.Series] | None = None) -> np.ndarray:
    """A column (or ``test`` of it) as 1.0 / 0.0, NaN where missing or absent."""
    if column not in frame:
        return np.full(len(frame), np.nan)
    values = frame[column]
    tested = values if test is None else test(values)
    if pd.api.types.is_float_dtype(tested.dtype):
        flag = tested.to_numpy(dtype=float)
    else:
        flag = pd.array(tested, dtype="boolean").to_numpy(dtype=float, na_value=np.nan)
    if test is None:  # a missing value is NaN already
        return flag
    return np.where(values.notna().to_numpy(), flag, np.nan)


@dataclass(frozen=True)
class _Records:
    """One table's columns as arrays: service codes, event instants, values, flags."""

    service: np.ndarray
    times: dict[str, np.ndarray]
    data: dict[str, np.ndarray]

    @classmethod
    def of(cls, frame: pd.DataFrame, services: list[str], times: tuple[str, ...],
           data: dict[str, np.ndarray]) -> _Records:
        return cls(service_codes(frame["service"], services),
                   {c: instants(frame[c]) for c in times}, data)

    def cells(self, grid: Grid, time: str) -> np.ndarray:
        return grid.cells(self.service, self.times[time])


def _ticket_records(t: pd.DataFrame, services: list[str]) -> _Records:
    values = {flag: _flag(t, flag) for _, flag in TICKET_SHARES.values()}
    durations = {c for _, c, _ in TICKET_QUANTILES.values()}
    values |= {c: t[c].to_numpy(dtype=float) for c in durations}
    return _Records.of(t, services, (*TICKET_EVENTS, "left_at"), values)


def _ticket_cells(r: _Records, grids: tuple[Grid, ...]) -> list[dict[str, np.ndarray]]:
    """Each ticket's cell at each event in the first (finest) grid, by binary search, and
    in the others at the events of the mean KPIs, by lookup (their periods are unions of
    its periods); the others' counts and shares add up the first's (:func:`_ticket_tallies`)."""
    finest: dict[str, np.ndarray] = {}
    for event in TICKET_EVENTS:
        # finished_at is resolved_at wherever there is one, so often the same column:
        # then it shares its cells instead of another search.
        same = next((e for e in finest if np.array_equal(r.times[e], r.times[event])), None)
        finest[event] = finest[same] if same else r.cells(grids[0], event)
    means = {when for when, _ in TICKET_MEANS.values()}
    return [finest, *({c: g.regroup(finest[c], grids[0]) for c in means} for g in grids[1:])]


def _ticket_tallies(r: _Records, grids: tuple[Grid, ...], finest: dict[str, np.ndarray]
                    ) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per grid: the tickets counted at each event, and per share KPI the flags set and
    known, per cell. Counted in the first (finest) grid; the others add up its cells, which
    is exact as the flags are 1.0 or 0.0 (:func:`ticket_measures` makes them so)."""
    first = grids[0]
    tallies = {kpi: tally(finest[when], r.data[flag], first.size)
               for kpi, (when, flag) in TICKET_SHARES.items()}
    for event in ("opened_at", "resolved_at"):
        n = counts(finest[event], first.size)
        tallies[event] = (n.astype(float), n)
    out = [tallies]
    for grid in grids[1:]:
        into = grid.regroup(np.arange(first.size), first)
        out.append({key: (add_up(k, into, grid.size),
                          add_up(n, into, grid.size).astype(np.int64))
                    for key, (k, n) in tallies.items()})
    return out


def _ticket_sorted(r: _Records, grids: tuple[Grid, ...], finest: dict[str, np.ndarray]
                   ) -> list[dict[tuple[str, str], Sorted]]:
    """Each measured duration sorted within the cells of its event, per grid: one sort
    per (event, duration) pair, shared by its median and its P90, in the finest grid;
    the others merge its cells' sorted runs (:func:`.stats.merge_cells`)."""
    pairs = dict.fromkeys((w, c) for w, c, _ in TICKET_QUANTILES.values())
    first = grids[0]
    sorted_first = {(w, c): sort_cells(finest[w], r.data[c], first.size) for w, c in pairs}
    out = [sorted_first]
    for grid in grids[1:]:
        into = grid.regroup(np.arange(first.size), first)
        out.append({k: merge_cells(s, into, grid.size) for k, s in sorted_first.items()})
    return out


def _ticket_kpis(r: _Records, grid: Grid, cells: dict[str, np.ndarray],
                 tallies: dict[str, tuple[np.ndarray, np.ndarray]],
                 ordered: dict[tuple[str, str], Sorted],
                 backlog: tuple[Cells, Cells]) -> dict[str, Cells]:
    n_opened, n_resolved = tallies["opened_at"][1], tallies["resolved_at"][1]
    out = {
        "volume": counted(n_opened),
        "resolved_per_opened": ratio(n_resolved.astype(float), n_opened),
        "_resolved": counted(n_resolved),
        "backlog": backlog[0],
        "backlog_age_gt_30d": backlog[1],
    }
    out |= {kpi: mean(cells[when], r.data[col], grid.size)
            for kpi, (when, col) in TICKET_MEANS.items()}
    out |= {kpi: wilson(*tallies[kpi]) for kpi in TICKET_SHARES}
    out |= {kpi: quantile(ordered[when, col], q, grid, kpi)
            for kpi, (when, col, q) in TICKET_QUANTILES.items()}
    return out


def _survey_kpis(r: _Records, grid: Grid, n_resolved: np.ndarray) -> dict[str, Cells]:
    cells = r.cells(grid, "answered_at")
    return {
        "csat_mean": mean(cells, r.data["score"], grid.size),
        "csat_satisfied": proportion(cells, r.data["satisfied"], grid.size),
        "csat_response_rate": ratio(counts(cells, grid.size).astype(float), n_resolved),
    }


def _change_kpis(r: _Records, grid: Grid) -> dict[str, Cells]:
    cells = r.cells(grid, "actual_end")
    return {kpi: proportion(cells, r.data[kpi], grid.size)
            for kpi in ("change_success_rate", "emergency_change_share", "change_incident_rate")}


def _long(grid: Grid, cells: dict[str, Cells]) -> pd.DataFrame:
    """One row per (service, period, KPI), in that order, KPIs in catalogue order."""
    ids = catalogue.ids()
    missing = [k for k in ids if k not in cells]
    if missing:  # a catalogue entry without a computation is a programming error
        raise KeyError(f"KPIs in the catalogue but not computed: {missing}")
    services, periods = grid.shape
    k = len(ids)

    def stacked(field: str) -> np.ndarray:
        return np.stack([getattr(cells[i], field) for i in ids], axis=-1).ravel()

    return pd.DataFrame({
        "service": pd.Series(np.repeat(grid.services, periods * k), dtype="string"),
        "freq": grid.freq,
        "period": pd.Series(np.tile(np.repeat(grid.labels(), k), services), dtype="string"),
        "period_start": np.tile(np.repeat(grid.starts(), k), services),
        "kpi": pd.Series(np.tile(ids, services * periods), dtype="string"),
        "value": stacked("value").astype("float64"),
        "n": stacked("n").astype("int64"),
        "ci_low": stacked("low").astype("float64"),
        "ci_high": stacked("high").astype("float64"),
    })


def kpi_table(tickets: pd.DataFrame, changes: pd.DataFrame, surveys: pd.DataFrame,
              params: Params, period: pd.Period) -> pd.DataFrame:
    """Every catalogue KPI for every service, monthly and quarterly, as known at
    the end of ``period``, for ``period`` and the ``history_quarters`` before it.

    Columns: :data:`TABLE_COLUMNS` (shares as fractions; ``value`` NaN when
    ``n`` is 0; ``ci_low``/``ci_high`` the 95% interval of rates and quantiles).
    """
    _, end = period_bounds(period, params.reporting.timezone)
    services = [s.id for s in params.services]
    t = ticket_measures(with_ends(known_tickets(tickets, params, period, TICKET_INPUTS),
                                  without_end(tickets)), params)
    c = as_of_view(changes, end, born="actual_end", later=())
    s = as_of_view(surveys, end, born="answered_at", later=())
    score = s["score"].to_numpy(dtype=float, na_value=np.nan)
    ticket_rec = _ticket_records(t, services)
    survey_rec = _Records.of(s, services, ("answered_at",), {
        "score": score,
        "satisfied": np.where(np.isnan(score), np.nan, score >= SATISFIED_MIN_SCORE),
    })
    change_rec = _Records.of(c, services, ("actual_end",), {
        "change_success_rate": _flag(c, "outcome", lambda v: v == "successful"),
        "emergency_change_share": _flag(c, "change_type", lambda v: v == "emergency"),
        "change_incident_rate": _flag(c, "caused_incident"),
    })
    parts = []
    grids = table_grids(params, period)
    backlogs = backlog_cells(grids, ticket_rec.service, ticket_rec.times["opened_at"],
                             ticket_rec.times["left_at"])
    placed = _ticket_cells(ticket_rec, grids)
    tallies = _ticket_tallies(ticket_rec, grids, placed[0])
    ordered = _ticket_sorted(ticket_rec, grids, placed[0])
    for grid, cells_at, tallied, durations, backlog in zip(
            grids, placed, tallies, ordered, backlogs, strict=True):
        cells = _ticket_kpis(ticket_rec, grid, cells_at, tallied, durations, backlog)
        cells |= _survey_kpis(survey_rec, grid, cells.pop("_resolved").n)
        cells |= _change_kpis(change_rec, grid)
        parts.append(_long(grid, cells))
    return pd.concat(parts, ignore_index=True)[TABLE_COLUMNS]
