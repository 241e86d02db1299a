"""Aggregates over grid cells, each with its count and a 95% confidence interval.

Rates get the Wilson score interval (Wilson 1927; Brown, Cai & DasGupta 2001
recommend it over the normal "Wald" interval, which fails for small n and
for shares near 0% or 100%). Medians and percentiles get a percentile
bootstrap (Efron & Tibshirani 1993, ch. 13) computed without resampling
tickets: in a resample of n sorted values drawn with replacement, the k-th
smallest is the ceil(n * U)-th smallest original value with
U ~ Beta(k, n - k + 1) (the k-th order statistic of n uniforms), and the
next one up is U + (1 - U) * Beta(1, n - k). Two Beta draws per resample
thus give exactly the bootstrap distribution of a linearly interpolated
quantile, whatever n is: the cost is cells x resamples, not tickets x
resamples. Each (KPI, period) has its own seeded stream, so a period's
interval is the same in every report that shows it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from csi_lib.catalogue import BOOTSTRAP_RESAMPLES, CI_LEVEL
from csi_lib.kpis.grid import Grid

__all__ = [
    "BOOTSTRAP_SEED",
    "Cells",
    "Sorted",
    "add_up",
    "counted",
    "counts",
    "mean",
    "merge_cells",
    "proportion",
    "quantile",
    "ratio",
    "sort_cells",
    "tally",
    "wilson",
]

BOOTSTRAP_SEED = 20260930
_Z = NormalDist().inv_cdf(0.5 + CI_LEVEL / 2)
# Cells whose resamples are turned into intervals in one pass: about 2 MB per working
# array at 1,000 resamples, below the size numpy asks the kernel to back with huge pages.
_BATCH_ROWS = 256
_TAILS = np.array([(1 - CI_LEVEL) / 2, 1 - (1 - CI_LEVEL) / 2])


@dataclass(frozen=True)
class Cells:
    """One KPI over the cells of a grid: value, count it rests on, interval (NaN if none)."""

    value: np.ndarray
    n: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _nan(size: int) -> np.ndarray:
    return np.full(size, np.nan)


def _bins(cells: np.ndarray, size: int, keep: np.ndarray | None = None) -> np.ndarray:
    """Each row's cell, or the spare bin ``size`` for rows outside the grid (or not kept):
    one pass, and a bincount then drops the spare bin instead of filtering the rows."""
    inside = cells >= 0 if keep is None else keep & (cells >= 0)
    return np.where(inside, cells, size)


def counts(cells: np.ndarray, size: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Rows (or the sum of ``weights``) per cell; rows with cell -1 are ignored."""
    out = np.bincount(_bins(cells, size), weights=weights, minlength=size + 1)[:size]
    return out if weights is not None else out.astype(np.int64)


def counted(n: np.ndarray) -> Cells:
    """A count KPI: the count itself (NaN where nothing was counted), no interval."""
    return Cells(np.where(n > 0, n, np.nan), n, _nan(len(n)), _nan(len(n)))


def ratio(numerator: np.ndarray, n: np.ndarray) -> Cells:
    """``numerator / n`` where ``n`` > 0, resting on ``n``; no interval."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(n > 0, numerator / np.maximum(n, 1), np.nan)
    return Cells(value, n.astype(np.int64), _nan(len(n)), _nan(len(n)))


def wilson(k: np.ndarray, n: np.ndarray) -> Cells:
    """The share ``k / n`` with its Wilson score interval (NaN where ``n`` is 0)."""
    n = n.astype(np.int64)
    m = np.maximum(n, 1).astype(float)
    p = k / m
    z2 = _Z * _Z
    denom = 1 + z2 / m
    centre = (p + z2 / (2 * m)) / denom
    half = _Z * np.sqrt(np.maximum(p * (1 - p) / m + z2 / (4 * m * m), 0.0)) / denom
    # The interval always holds p; min/max only guard the last floating-point bit.
    low = np.clip(np.minimum(centre - half, p), 0.0, 1.0)
    high = np.clip(np.maximum(centre + half, p), 0.0, 1.0)
    empty = n == 0
    return Cells(np.where(empty, np.nan, p), n, np.where(empty, np.nan, low),
                 np.where(empty, np.nan, high))


def tally(cells: np.ndarray, flag: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the sum of the known flags (1 or 0; NaN unknown) and how many are known."""
    bins = _bins(cells, size, ~np.isnan(flag))
    # Unknown flags fall in the spare bin, so their NaN adds to no cell.
    k = np.bincount(bins, weights=flag, minlength=size + 1)[:size]
    return k, np.bincount(bins, minlength=size + 1)[:size]


def proportion(cells: np.ndarray, flag: np.ndarray, size: int) -> Cells:
    """Share of rows with ``flag`` 1 among rows with a known flag (1 or 0; NaN unknown)."""
    return wilson(*tally(cells, flag, size))


def add_up(per_cell: np.ndarray, into: np.ndarray, size: int) -> np.ndarray:
    """Per-cell counts of a finer grid summed into the coarser cells ``into`` names.

    Counts (and sums of 1.0/0.0 flags) are whole numbers, exact in floating point, so the
    sum is the count the coarser cells would have had, whatever the order of addition.
    """
    return np.bincount(into, weights=per_cell, minlength=size)


def mean(cells: np.ndarray, values: np.ndarray, size: int) -> Cells:
    """Mean of the known ``values`` per cell, no interval."""
    bins = _bins(cells, size, ~np.isnan(values))
    total = np.bincount(bins, weights=values, minlength=size + 1)[:size]
    return ratio(total, np.bincount(bins, minlength=size + 1)[:size])


@dataclass(frozen=True)
class Sorted:
    """Known values grouped by cell, ascending within each; ``start`` and ``n`` per cell."""

    values: np.ndarray
    start: np.ndarray
    n: np.ndarray


def sort_cells(cells: np.ndarray, values: np.ndarray, size: int) -> Sorted:
    """Sort ``values`` by cell, then by value, dropping NaN and rows outside the grid."""
    keep = (cells >= 0) & ~np.isnan(values)
    c, v = cells[keep], values[keep]
    # A stable sort on small integer keys is a radix sort in numpy: linear time.
    v = v[np.argsort(c.astype(np.int16 if size < 2**15 else np.int32), kind="stable")]
    n = np.bincount(c, minlength=size).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    # Then each cell's values in place: sorting values alone (no permutation) is many
    # times faster than an argsort, and a cell's sorted values are the same whichever
    # of its equal values comes first. The loop runs over cells, not records.
    for first, count in zip(start[n > 1].tolist(), n[n > 1].tolist(), strict=True):
        v[first:first + count].sort()
    return Sorted(v, start, n)


def merge_cells(s: Sorted, into: np.ndarray, size: int) -> Sorted:
    """``s`` regrouped into coarser cells (months into quarters): ``into[i]`` is the cell
    that cell i of ``s`` falls in, non-decreasing, so each coarse cell's values already
    lie side by side as sorted runs and only need merging."""
    if np.any(np.diff(into) < 0):
        raise ValueError("merge_cells needs cells that keep their order in the coarser grid")
    n = np.bincount(into, weights=s.n, minlength=size).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    values = s.values.copy()
    runs = np.bincount(into, weights=s.n > 0, minlength=size)
    # A stable sort is a timsort, which merges presorted runs in linear time.
    for first, count in zip(start[runs > 1].tolist(), n[runs > 1].tolist(), strict=True):
        values[first:first + count].sort(kind="stable")
    return Sorted(values, start, n)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    # numpy's own linear interpolation (numpy.quantile, pandas quantile), so a
    # median here equals theirs to the last bit.
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _positions(n: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """0-based lower position and weight of the q-quantile of n sorted values (n >= 1)."""
    h = (n - 1) * q
    lo = np.floor(h).astype(np.int64)
    return lo, h - lo


def _quantile_values(s: Sorted, q: float) -> np.ndarray:
    has = s.n > 0
    if not has.any():
        return _nan(len(s.n))
    n = np.where(has, s.n, 1)
    start = np.where(has, s.start, 0)
    lo, frac = _positions(n, q)
    a = s.values[start + lo]
    b = s.values[start + np.minimum(lo + 1, n - 1)]
    return np.where(has, _lerp(a, b, frac), np.nan)


def _draws(n: np.ndarray, q: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The random numbers of the bootstrap of cells with n >= 1: the Beta draws of the
    lower order statistic and the uniforms that place the next one (see the module doc)."""
    lo, _ = _positions(n, q)
    k = (lo + 1).astype(float)                 # 1-based rank of the lower order statistic
    u1 = np.empty((len(n), BOOTSTRAP_RESAMPLES))
    # Row by row with scalar shapes: the draws (and their order in the stream) of one
    # broadcast call over all rows, without numpy's per-draw broadcasting.
    for row, (a, b) in enumerate(zip(k.tolist(), (n - k + 1).tolist(), strict=True)):
        u1[row] = rng.beta(a, b, size=BOOTSTRAP_RESAMPLES)
    return u1, rng.random((len(n), BOOTSTRAP_RESAMPLES))


def _interval(values: np.ndarray, start: np.ndarray, n: np.ndarray, q: float,
              u1: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the q-quantile from the cells' draws (:func:`_draws`).

    Row by row, so the draws of many cells (and periods) are turned into intervals at once.
    """
    lo, frac = _positions(n, q)
    size = n[:, None].astype(float)
    # Original positions (0-based, in ``values``) of each resample's lower order statistic.
    at1 = size * u1
    np.ceil(at1, out=at1)
    np.clip(at1, 1, size, out=at1)
    at1 = at1.astype(np.int64)
    at1 += start[:, None] - 1
    at2 = at1.copy()
    # The next one up, where the quantile falls between two (then k < n, so n - k >= 1):
    # Beta(1, m) by inversion, 1 - V ** (1 / m), cheaper than numpy's pair of gammas.
    two = np.flatnonzero(frac > 0)
    if len(two):
        k = (lo + 1)[two, None]                # 1-based rank of the lower order statistic
        m = size[two] - k
        u = u1[two]
        u2 = u + (1 - u) * -np.expm1(np.log(v[two]) / m)
        np.ceil(size[two] * u2, out=u2)
        np.clip(u2, 1, size[two], out=u2)
        at2[two] = u2.astype(np.int64) + (start[two, None] - 1)
    reps = _lerp(values[at1], values[at2], frac[:, None])
    low, high = np.quantile(reps, _TAILS, axis=1)
    return low, high


def _bootstrap(values: np.ndarray, start: np.ndarray, n: np.ndarray, q: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the q-quantile for cells with n >= 1 (see the module doc)."""
    return _interval(values, start, n, q, *_draws(n, q, rng))


def _stream(kpi_id: str, period: str) -> np.random.Generator:
    return np.random.default_rng(
        [BOOTSTRAP_SEED, zlib.crc32(kpi_id.encode()), zlib.crc32(period.encode())])


def _period_draws(s: Sorted, q: float, grid: Grid, kpi_id: str
                  ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(cells, Beta draws, uniforms) of each period with values, from the period's stream."""
    services, periods = grid.shape
    for p, label in enumerate(grid.labels()):
        cells = np.arange(services) * periods + p
        cells = cells[s.n[cells] > 0]
        if len(cells):
            yield cells, *_draws(s.n[cells], q, _stream(kpi_id, label))


def _batches(draws: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], rows: int
             ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Consecutive periods' draws joined into batches of at least ``rows`` cells."""
    batch: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for drawn in draws:
        batch.append(drawn)
        if sum(len(b[0]) for b in batch) >= rows:
            yield tuple(np.concatenate(x) for x in zip(*batch, strict=True))
            batch = []
    if batch:
        yield tuple(np.concatenate(x) for x in zip(*batch, strict=True))


def quantile(s: Sorted, q: float, grid: Grid, kpi_id: str) -> Cells:
    """The q-quantile per cell with its bootstrap interval, resting on the values counted."""
    value = _quantile_values(s, q)
    low, high = _nan(grid.size), _nan(grid.size)
    # Each period draws from its own stream; the draws of several periods are then turned
    # into intervals together (the arithmetic is the same, row by row), in batches that
    # keep each working array small enough for the allocator to reuse.
    for cells, u1, v in _batches(_period_draws(s, q, grid, kpi_id), _BATCH_ROWS):
        low[cells], high[cells] = _interval(s.values, s.start[cells], s.n[cells], q, u1, v)
    # A percentile interval of a skewed sample can miss its own point estimate;
    # widen it to hold the estimate, which is what a reader takes it to bracket.
    known = ~np.isnan(value)
    low[known] = np.minimum(low[known], value[known])
    high[known] = np.maximum(high[known], value[known])
    return Cells(value, s.n.copy(), low, high)
