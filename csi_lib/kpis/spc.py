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


def run_rules(series: pd.Series, limits: Limits) -> pd.DataFrame:
    """Signals of the three run rules in ``series`` (values by period label, time order).

    One row per signal: the rule, the first point it covers (``start``), the point
    that completes it (``at``), its last point (``end``), how many points it spans
    and its direction ("up"/"down"). A run longer than the rule needs is one signal.
    Missing values are skipped.
    """
    s = series.dropna()
    labels, x = [str(i) for i in s.index], s.to_numpy(dtype="float64")
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
    return pd.DataFrame({
        "rule": pd.Series([r[0] for r in rows], dtype="string"),
        "start": pd.Series([labels[r[1]] for r in rows], dtype="string"),
        "at": pd.Series([labels[r[2]] for r in rows], dtype="string"),
        "end": pd.Series([labels[r[3]] for r in rows], dtype="string"),
        "points": pd.Series([r[3] - r[1] + 1 for r in rows], dtype="int64"),
        "direction": pd.Series(["up" if r[4] > 0 else "down" for r in rows], dtype="string"),
    })


def control_chart(kpis: pd.DataFrame, service: str, kpi_id: str, period: pd.Period,
                  baseline_months: int | None) -> ControlChart:
    """The XmR chart of ``kpi_id`` for ``service``, judged for quarter ``period``.

    Only months up to the quarter's end are read. Limits come from the
    ``baseline_months`` months before the quarter (all earlier months when None);
    every month shown is then tested against them.
    """
    kpi = catalogue.get(kpi_id)
    q_first = period.asfreq("M", how="start")
    q_end = period.asfreq("M", how="end").end_time
    rows = kpis.loc[(kpis["freq"] == "M") & (kpis["service"] == service)
                    & (kpis["kpi"] == kpi_id) & (kpis["period_start"] <= q_end)]
    rows = rows.sort_values("period_start")
    starts = pd.DatetimeIndex(rows["period_start"])
    baseline_from = (q_first - baseline_months).start_time if baseline_months else starts.min()
    in_base = (starts >= baseline_from) & (starts < q_first.start_time)
    values = pd.Series(rows["value"].to_numpy(dtype="float64"),
                       index=pd.Index(rows["period"].astype(str)))
    kept = values.notna().to_numpy()
    mr = values.dropna().diff().abs().reindex(values.index)
    points = pd.DataFrame({
        "period": rows["period"].astype("string").to_numpy(),
        "period_start": starts,
        "value": values.to_numpy(),
        "n": rows["n"].to_numpy(dtype="int64"),
        "moving_range": mr.to_numpy(),
        "baseline": in_base & kept,
        "in_quarter": starts >= q_first.start_time,
    })
    base = values[points["baseline"].to_numpy()]
    floor, ceiling = _RANGE[kpi.unit]
    if len(base) < MIN_BASELINE_MONTHS:
        empty = run_rules(pd.Series([], dtype="float64"), Limits(0, None, None, 0, 0, 0, "", ""))
        span = f" ({base.index[0]} to {base.index[-1]})" if len(base) else ""
        note = (f"only {len(base)} month(s) with data before the quarter{span}; control "
                f"limits need {MIN_BASELINE_MONTHS}")
        return ControlChart(kpi_id, points, None, _read(empty, kpi, points), note)
    limits = xmr_limits(base, floor=floor, ceiling=ceiling)
    return ControlChart(kpi_id, points, limits, _read(run_rules(values, limits), kpi, points))


def control_charts(kpis: pd.DataFrame, service: str, kpi_ids: Sequence[str],
                   period: pd.Period, baseline_months: int | None) -> dict[str, ControlChart]:
    """:func:`control_chart` of each of ``kpi_ids`` for ``service``, by KPI id.

    The service's monthly rows are picked from the (client-wide) table once, not
    once per KPI.
    """
    mine = kpis.loc[(kpis["freq"] == "M") & (kpis["service"] == service)]
    by_kpi = dict(list(mine.groupby(mine["kpi"].astype(str), sort=False)))
    none = mine.iloc[:0]
    return {k: control_chart(by_kpi.get(k, none), service, k, period, baseline_months)
            for k in kpi_ids}


def _read(signals: pd.DataFrame, kpi: catalogue.Kpi, points: pd.DataFrame) -> pd.DataFrame:
    """Add whether each signal is better or worse for the KPI, and still present in the quarter."""
    up_is = {"higher": "better", "lower": "worse"}.get(kpi.direction, "neutral")
    down_is = {"higher": "worse", "lower": "better"}.get(kpi.direction, "neutral")
    quarter = set(points.loc[points["in_quarter"], "period"].astype(str))
    return signals.assign(
        reading=signals["direction"].map({"up": up_is, "down": down_is}).astype("string"),
        current=signals["end"].astype(str).isin(quarter).astype(bool),
    )
