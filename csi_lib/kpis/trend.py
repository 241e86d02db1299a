"""Trend and forecast of a monthly KPI series: an ordinary least-squares line.

One fit serves both. The trend is its slope, called real when a two-sided
t-test on the slope gives p < 0.05 and noise otherwise. The forecast of the
next quarter is the line's mean over the quarter's three months, with a
prediction interval for that mean (Montgomery, Peck & Vining, "Introduction to
Linear Regression Analysis", ch. 2). Student's t distribution is computed here
from the regularised incomplete beta function (Press et al., "Numerical
Recipes", 6.4) to keep the kit free of a SciPy dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib.errors import DataError

__all__ = ["SIGNIFICANCE", "Fit", "Forecast", "fit_line", "forecast", "t_cdf", "t_ppf"]

SIGNIFICANCE = 0.05   # p-value under which a slope is called real
MIN_POINTS = 6        # fewer months give a slope too unstable to report


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for aa in (m * (b - m) * x / ((qam + 2 * m) * (a + 2 * m)),
                   -(a + m) * (qab + m) * x / ((a + 2 * m) * (qap + 2 * m))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise DataError(f"Student's t needs positive degrees of freedom, got {df}")
    tail = 0.5 * _beta_inc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (bisection)."""
    if not 0.0 < q < 1.0:
        raise DataError(f"a quantile needs 0 < q < 1, got {q}")
    if q < 0.5:
        return -t_ppf(1.0 - q, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        lo, hi = (mid, hi) if t_cdf(mid, df) < q else (lo, mid)
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Fit:
    """A least-squares line through a series indexed 0, 1, ... (missing points skipped)."""

    slope: float          # change per period
    intercept: float
    n: int                # points fitted
    sd: float             # residual standard deviation
    x_mean: float
    sxx: float
    p_value: float        # two-sided test of slope == 0

    @property
    def real(self) -> bool:
        """Whether the slope is unlikely to be routine variation (p < SIGNIFICANCE)."""
        return self.p_value < SIGNIFICANCE


@dataclass(frozen=True)
class Forecast:
    """The mean of the next ``steps`` periods on the fitted line, with an interval."""

    value: float
    low: float
    high: float
    level: float
    n: int


def fit_line(values: pd.Series | np.ndarray) -> Fit:
    """Fit a straight line to ``values`` over their positions; needs MIN_POINTS values."""
    y = np.asarray(values, dtype="float64")
    x = np.arange(len(y), dtype="float64")
    ok = ~np.isnan(y)
    x, y = x[ok], y[ok]
    n = len(y)
    if n < MIN_POINTS:
        raise DataError(f"a trend needs at least {MIN_POINTS} values, got {n}")
    x_mean = float(x.mean())
    sxx = float(((x - x_mean) ** 2).sum())
    slope = float(((x - x_mean) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * x_mean)
    resid = y - (intercept + slope * x)
    sd = float(math.sqrt((resid ** 2).sum() / (n - 2)))
    se = sd / math.sqrt(sxx)
    # A perfect fit (no residual) makes any non-zero slope certain.
    p = (1.0 if slope == 0 else 0.0) if se == 0 else 2.0 * (1.0 - t_cdf(abs(slope / se), n - 2))
    return Fit(slope, intercept, n, sd, x_mean, sxx, min(max(p, 0.0), 1.0))


def forecast(fit: Fit, last_x: int, steps: int = 3, level: float = 0.8, *,
             floor: float | None = None, ceiling: float | None = None) -> Forecast:
    """The line's mean over positions ``last_x + 1 .. last_x + steps`` and a ``level``
    prediction interval for the mean of the values to be observed there, clipped to
    ``[floor, ceiling]``."""
    xf = np.arange(last_x + 1, last_x + steps + 1, dtype="float64")
    centre = fit.intercept + fit.slope * float(xf.mean())
    # Variance of (mean of `steps` new observations - fitted mean): new noise
    # averaged over `steps` points plus the uncertainty of the line there.
    var = fit.sd ** 2 * (1.0 / steps + 1.0 / fit.n + (xf.mean() - fit.x_mean) ** 2 / fit.sxx)
    half = t_ppf(0.5 + level / 2.0, fit.n - 2) * math.sqrt(var)
    lo_clip = -math.inf if floor is None else floor
    hi_clip = math.inf if ceiling is None else ceiling

    def clip(v: float) -> float:
        return min(max(v, lo_clip), hi_clip)

    return Forecast(clip(centre), clip(centre - half), clip(centre + half), level, fit.n)
