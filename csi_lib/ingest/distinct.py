"""Element-wise steps computed once per distinct value of a column.

Export columns such as a priority, a group or a count repeat a handful of
values over a million rows; parsing or mapping each row costs a million Python
calls where a few dozen give the same column. The result is the step applied to
the column's distinct values (and a missing value, when the column has one),
spread back to the rows: the same values and dtype as the step applied to the
whole column, since the step sees the same set of values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["per_value"]

# Above this share of distinct values, factorizing costs more than the step saves.
MAX_DISTINCT_SHARE = 0.5


def per_value(values: pd.Series, step: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``step(values)`` for an element-wise ``step``, computed once per distinct value.

    Text columns only (pandas' string dtype, whose missing value is one value);
    any other column is given to ``step`` whole.
    """
    if not isinstance(values.dtype, pd.StringDtype):
        return step(values)
    codes, uniques = values.array.factorize()
    if len(uniques) > MAX_DISTINCT_SHARE * len(values):
        return step(values)
    missing = codes < 0
    distinct = pd.Series(uniques, dtype=values.dtype)
    if missing.any():
        # The step sees a missing value too, as it would on the column (its dtype may say so).
        distinct = distinct.reindex(range(len(uniques) + 1))
        codes = np.where(missing, len(uniques), codes)
    out = step(distinct)
    return pd.Series(out.array.take(codes), index=values.index, name=values.name,
                     dtype=out.dtype)
