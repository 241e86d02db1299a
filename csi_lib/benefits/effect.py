"""The effect of one initiative on its KPI: before vs after, net of the estate and of a trend.

The unit of evidence is the month. Tickets of one month share its staffing,
its incidents and its season, so a ticket-level interval around a before/after
difference treats hundreds of correlated tickets as independent and calls
routine month-to-month variation an effect (the placebo test in
``tests/test_benefits.py`` shows it). Each month is one observation instead:

1. Every service's monthly KPI is expressed relative to its own baseline mean,
   so services of different sizes and speeds can be compared.
2. The estate is the median, month by month, of the services the initiative
   did not touch (difference in differences: Card & Krueger 1994; Angrist &
   Pischke, "Mostly Harmless Econometrics", ch. 5). The median keeps one
   service with its own story (a deteriorating service, another initiative)
   from moving the comparison.
3. The net series is the initiative's service minus the estate, turned so that
   up is better. Its change from the baseline to the after window, with a
   Welch interval (unequal variances, Welch-Satterthwaite degrees of freedom),
   is the effect.
4. A trend already under way: a least-squares line through the net series over
   the months before delivery. When it is improving and real (p < 0.05), the
   after window is compared with the line's projection instead of the
   baseline mean, with the projection's own uncertainty in the interval
   (interrupted time series, segmented regression: Wagner et al., J Clin Pharm
   Ther 2002). A service that was improving anyway is credited only with what
   exceeds its trend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.kpis.trend import MIN_POINTS, fit_line, t_ppf

__all__ = ["LEVEL", "Estimate", "estimate", "relative_series"]

LEVEL = 0.95  # two-sided interval of every effect


@dataclass(frozen=True)
class Estimate:
    """The effect of one initiative, relative to its baseline, in the KPI's better direction.

    ``effect`` 0.25 means a quarter better than the baseline level (shorter times,
    higher shares), net of the estate and of any trend credited before delivery.
    """

    effect: float
    low: float
    high: float
    own_change: float        # the service alone, after vs before (better direction)
    estate_change: float     # the untouched services' median, same months (better direction)
    trend_adjusted: bool     # the after window was compared with a pre-delivery trend
    trend_slope: float       # net series' slope per month before delivery (better direction)
    trend_p: float           # its two-sided p-value (NaN when too few months)
    n_before: int
    n_after: int
    controls: tuple[str, ...]

    @property
    def net_of_estate(self) -> float:
        return self.own_change - self.estate_change


def relative_series(wide: pd.DataFrame, baseline: list[pd.Period]) -> pd.DataFrame:
    """Each column (service) divided by its mean over the ``baseline`` months (rows)."""
    base = wide.reindex(baseline).mean()
    return wide / base.where(base != 0)


def _welch(after: np.ndarray, before: np.ndarray) -> tuple[float, float, float]:
    diff = float(after.mean() - before.mean())
    va, vb = after.var(ddof=1) / len(after), before.var(ddof=1) / len(before)
    se = math.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (len(after) - 1) + vb**2 / (len(before) - 1))
    half = t_ppf(0.5 + LEVEL / 2, df) * se
    return diff, diff - half, diff + half


def _projected(net: pd.Series, trend: list[pd.Period],
               after: list[pd.Period]) -> tuple[float, float, float, float, float] | None:
    """Effect against the pre-delivery trend's projection, with slope and p-value; None when
    the trend window has too few months or shows no real improving trend."""
    months = net.reindex(trend)
    if months.notna().sum() < MIN_POINTS:
        return None
    fit = fit_line(months.to_numpy())
    if not (fit.real and fit.slope > 0):
        return None
    first = trend[0]
    xa = np.array([(m - first).n for m in after], dtype="float64")
    ya = net.reindex(after).to_numpy(dtype="float64")
    ok = ~np.isnan(ya)
    xa, ya = xa[ok], ya[ok]
    line = fit.intercept + fit.slope * xa
    effect = float((ya - line).mean())
    se = fit.sd * math.sqrt(1 / len(ya) + 1 / fit.n + (xa.mean() - fit.x_mean) ** 2 / fit.sxx)
    half = t_ppf(0.5 + LEVEL / 2, fit.n - 2) * se
    return effect, effect - half, effect + half, fit.slope, fit.p_value


def estimate(wide: pd.DataFrame, service: str, controls: list[str], kpi_id: str,
             baseline: list[pd.Period], after: list[pd.Period],
             trend: list[pd.Period]) -> Estimate:
    """The effect on ``service``'s KPI (``wide``: months x services, monthly values).

    ``controls`` are the services compared with (may be empty: no estate
    correction); ``baseline``, ``after`` and ``trend`` are the months of each
    window. The caller checks that the windows hold enough months with values.
    """
    sign = 1.0 if catalogue.get(kpi_id).direction == "higher" else -1.0
    rel = relative_series(wide, baseline)
    own = rel[service]
    controls = [c for c in controls if c in rel.columns and rel[c].reindex(baseline).notna().any()]
    estate = rel[controls].median(axis=1, skipna=True) if controls else pd.Series(1.0, rel.index)
    net = sign * (own - estate)
    before_v = net.reindex(baseline).dropna().to_numpy(dtype="float64")
    after_v = net.reindex(after).dropna().to_numpy(dtype="float64")
    effect, low, high = _welch(after_v, before_v)
    slope, p = math.nan, math.nan
    projected = _projected(net, trend, after)
    if projected is not None:
        effect, low, high, slope, p = projected
    else:
        months = net.reindex(trend)
        if months.notna().sum() >= MIN_POINTS:
            fit = fit_line(months.to_numpy())
            slope, p = fit.slope, fit.p_value

    def change(series: pd.Series) -> float:
        return sign * float(series.reindex(after).mean() - series.reindex(baseline).mean())

    return Estimate(
        effect=effect, low=low, high=high, own_change=change(own),
        estate_change=change(estate) if controls else 0.0,
        trend_adjusted=projected is not None, trend_slope=slope, trend_p=p,
        n_before=len(before_v), n_after=len(after_v), controls=tuple(controls))

