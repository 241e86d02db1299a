"""Statistical process control: XmR (individuals and moving range) charts and run rules.

Limits follow Wheeler ("Understanding Variation", 1993): centre line = mean of a
baseline window, natural process limits = mean +/- 2.66 x the average moving
range, moving-range limit = 3.267 x the average moving range. The run rules are
the Western Electric / Nelson set as the AIAG SPC manual states them: a point
outside the limits; eight in a row on one side of the centre line; six in a row
steadily rising or falling. Each tells a real change from routine variation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.errors import DataError
from csi_lib.params.gaps import MIN_BASELINE_MONTHS

__all__ = [
    "RULES",
    "SIGNAL_COLUMNS",
    "ControlChart",
    "Limits",
    "control_chart",
    "control_charts",
    "run_rules",
    "xmr_limits",
]

X_FACTOR = 2.66      # 3 / d2, d2 = 1.128 for moving ranges of two points
MR_FACTOR = 3.267    # D4 for subgroups of two
RUN_LENGTH = 8       # points in a row on one side of the centre line
TREND_LENGTH = 6     # points in a row steadily rising or falling
OUTSIDE, SHIFT, TREND = "outside limits", "8 on one side", "6 rising or falling"
RULES = (OUTSIDE, SHIFT, TREND)
SIGNAL_COLUMNS = ["rule", "start", "at", "end", "points", "direction"]

# Values a KPI can take: a limit beyond them is no limit at all.
_RANGE = {"share": (0.0, 1.0), "score": (1.0, 5.0), "hours": (0.0, None), "count": (0.0, None)}


@dataclass(frozen=True)
class Limits:
    """Centre line and limits of an XmR chart, and the baseline they come from."""

    centre: float
    ucl: float | None       # None: the limit lies beyond what the KPI can take
    lcl: float | None
    mr_mean: float
    mr_ucl: float
    n: int                  # baseline points
    first: str              # first and last baseline period labels
    last: str


@dataclass(frozen=True)
class ControlChart:
    """One KPI's monthly series of one service, its limits and its signals."""

    kpi: str
    points: pd.DataFrame    # period, period_start, value, n, moving_range, baseline, in_quarter
    limits: Limits | None
    signals: pd.DataFrame   # SIGNAL_COLUMNS + reading ("better"/"worse"), current (bool)
    note: str = ""          # why there are no limits, when there are none


def xmr_limits(baseline: pd.Series, *, floor: float | None = None,
               ceiling: float | None = None) -> Limits:
    """XmR limits from ``baseline`` (values indexed by period label, in time order).

    Missing values are skipped; moving ranges join the points either side of a
    gap. A limit outside ``[floor, ceiling]`` (e.g. below 0% for a share) is None.
    """
    values = baseline.dropna()
    if len(values) < 2:
        raise DataError(f"XmR limits need at least two baseline values, got {len(values)}")
    x = values.to_numpy(dtype="float64")
    centre = float(x.mean())
    mr_mean = float(np.abs(np.diff(x)).mean())
    ucl, lcl = centre + X_FACTOR * mr_mean, centre - X_FACTOR * mr_mean
    return Limits(
        centre=centre,
        ucl=None if ceiling is not None and ucl >= ceiling else ucl,
        lcl=None if floor is not None and lcl <= floor else lcl,
        mr_mean=mr_mean, mr_ucl=MR_FACTOR * mr_mean, n=len(x),
        first=str(values.index[0]), last=str(values.index[-1]))


def _runs(keys: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of equal non-zero keys as (first index, last index, key)."""
    runs, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            if keys[start] != 0:
                runs.append((start, i - 1, int(keys[start])))
            start = i
    return runs


def _signals(x: np.ndarray, limits: Limits) -> list[tuple[str, int, int, int, int]]:
    """(rule, first, completing, last point index, side) of each signal in ``x`` (no NaN)."""
    rows = []
    for i, v in enumerate(x):
        if limits.ucl is not None and v > limits.ucl:
            rows.append((OUTSIDE, i, i, i, 1))
        elif limits.lcl is not None and v < limits.lcl:
            rows.append((OUTSIDE, i, i, i, -1))
    # A point on the centre line belongs to neither side and ends a run.
    for first, last, side in _runs(np.sign(x - limits.centre)):
        if last - first + 1 >= RUN_LENGTH:
            rows.append((SHIFT, first, first + RUN_LENGTH - 1, last, side))
    # Steps between points: a repeated value is neither rising nor falling.
    for first, last, step in _runs(np.sign(np.diff(x))):
        if last - first + 2 >= TREND_LENGTH:
            rows.append((TREND, first, first + TREND_LENGTH - 1, last + 1, step))
    rows.sort(key=lambda r: (r[2], RULES.index(r[0])))
    return rows


def _signal_frame(rows: list[tuple[str, int, int, int, int]], labels: Sequence[str],
                  extra: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "rule": pd.Series([r[0] for r in rows], dtype="string"),
        "start": pd.Series([labels[r[1]] for r in rows], dtype="string"),
        "at": pd.Series([labels[r[2]] for r in rows], dtype="string"),
        "end": pd.Series([labels[r[3]] for r in rows], dtype="string"),
        "points": pd.Series([r[3] - r[1] + 1 for r in rows], dtype="int64"),
        "direction": pd.Series(["up" if r[4] > 0 else "down" for r in rows], dtype="string"),
        **(extra or {}),
    })


def run_rules(series: pd.Series, limits: Limits) -> pd.DataFrame:
    """Signals of the three run rules in ``series`` (values by period label, time order).

    One row per signal: the rule, the first point it covers (``start``), the point
    that completes it (``at``), its last point (``end``), how many points it spans
    and its direction ("up"/"down"). A run longer than the rule needs is one signal.
    Missing values are skipped.
    """
    s = series.dropna()
    return _signal_frame(_signals(s.to_numpy(dtype="float64"), limits),
                         [str(i) for i in s.index])


def control_chart(kpis: pd.DataFrame, service: str, kpi_id: str, period: pd.Period,
                  baseline_months: int | None) -> ControlChart:
    """The XmR chart of ``kpi_id`` for ``service``, judged for quarter ``period``.

    Only months up to the quarter's end are read. Limits come from the
    ``baseline_months`` months before the quarter (all earlier months when None);
    every month shown is then tested against them.
    """
    rows = kpis.loc[(kpis["freq"] == "M") & (kpis["service"] == service)
                    & (kpis["kpi"] == kpi_id)]
    return _chart(rows, kpi_id, period, baseline_months)


def _chart(rows: pd.DataFrame, kpi_id: str, period: pd.Period,
           baseline_months: int | None) -> ControlChart:
    """:func:`control_chart` from the service's monthly rows of the KPI."""
    kpi = catalogue.get(kpi_id)
    q_first = period.asfreq("M", how="start")
    q_end = period.asfreq("M", how="end").end_time
    all_starts = rows["period_start"].to_numpy()
    keep = np.flatnonzero(all_starts <= np.datetime64(q_end))
    order = keep[np.argsort(all_starts[keep], kind="stable")]
    starts = pd.DatetimeIndex(rows["period_start"].iloc[order])
    labels = rows["period"].astype(str).to_numpy(dtype=object)[order]
    values = rows["value"].to_numpy(dtype="float64")[order]
    kept = ~np.isnan(values)
    baseline_from = ((q_first - baseline_months).start_time if baseline_months
                     else starts.min())
    in_quarter = np.asarray(starts >= q_first.start_time)
    in_base = np.asarray((starts >= baseline_from) & (starts < q_first.start_time)) & kept
    at = np.flatnonzero(kept)
    mr = np.full(len(values), np.nan)
    mr[at[1:]] = np.abs(np.diff(values[at]))
    points = pd.DataFrame({
        "period": labels,
        "period_start": starts,
        "value": values,
        "n": rows["n"].to_numpy(dtype="int64")[order],
        "moving_range": mr,
        "baseline": in_base,
        "in_quarter": in_quarter,
    })
    floor, ceiling = _RANGE[kpi.unit]
    if in_base.sum() < MIN_BASELINE_MONTHS:
        base = labels[in_base]
        span = f" ({base[0]} to {base[-1]})" if len(base) else ""
        note = (f"only {len(base)} month(s) with data before the quarter{span}; control "
                f"limits need {MIN_BASELINE_MONTHS}")
        return ControlChart(kpi_id, points, None, _read([], [], kpi, labels[in_quarter]), note)
    limits = xmr_limits(pd.Series(values[in_base], index=pd.Index(labels[in_base])),
                        floor=floor, ceiling=ceiling)
    return ControlChart(kpi_id, points, limits,
                        _read(_signals(values[kept], limits), list(labels[kept]), kpi,
                              labels[in_quarter]))


def control_charts(kpis: pd.DataFrame, service: str, kpi_ids: Sequence[str],
                   period: pd.Period, baseline_months: int | None) -> dict[str, ControlChart]:
    """:func:`control_chart` of each of ``kpi_ids`` for ``service``, by KPI id.

    The service's monthly rows are picked from the (client-wide) table once, not
    once per KPI.
    """
    mine = kpis.loc[(kpis["freq"] == "M") & (kpis["service"] == service)]
    by_kpi = dict(list(mine.groupby(mine["kpi"].astype(str), sort=False)))
    none = mine.iloc[:0]
    return {k: _chart(by_kpi.get(k, none), k, period, baseline_months) for k in kpi_ids}


def _read(rows: list[tuple[str, int, int, int, int]], labels: Sequence[str],
          kpi: catalogue.Kpi, quarter: Sequence[str]) -> pd.DataFrame:
    """The signals, with whether each is better or worse for the KPI and still present
    in the quarter (its last point in ``quarter``)."""
    up_is = {"higher": "better", "lower": "worse"}.get(kpi.direction, "neutral")
    down_is = {"higher": "worse", "lower": "better"}.get(kpi.direction, "neutral")
    quarter = set(quarter)
    return _signal_frame(rows, labels, {
        "reading": pd.Series([up_is if r[4] > 0 else down_is for r in rows], dtype="string"),
        "current": pd.Series([labels[r[3]] in quarter for r in rows], dtype=bool),
    })
