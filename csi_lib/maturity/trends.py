"""Quarter on quarter: changes per area, stagnation and the gap to target."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pandas as pd

from csi_lib.maturity.model import LEVELS

__all__ = ["quarter_changes", "stagnation", "target_gaps"]


def _pivot(history: pd.DataFrame, column: str) -> pd.DataFrame:
    # pivot, not pivot_table: a repeated (area, quarter) is an error, not something to average.
    return history.pivot(index="area", columns="quarter", values=column)  # noqa: PD010


def quarter_changes(history: pd.DataFrame, current: str, previous: str) -> pd.DataFrame:
    """Per area: level and score in ``current`` and ``previous`` and the change.

    ``history`` is :func:`~csi_lib.maturity.scoring.area_results` of several
    quarters with a ``quarter`` column. Previous-quarter columns are NaN when
    that quarter was not assessed.
    """
    now = history.loc[history["quarter"] == current, ["area", "area_name", "level", "score"]]
    before = (history.loc[history["quarter"] == previous, ["area", "level", "score"]]
              .rename(columns={"level": "previous_level", "score": "previous_score"}))
    out = now.merge(before, on="area", how="left")
    out["change"] = (out["score"] - out["previous_score"]).round(1)
    out["level_change"] = out["level"] - out["previous_level"]
    return out.reset_index(drop=True)


def stagnation(history: pd.DataFrame, quarters: Sequence[str], *, n: int, min_change: float,
               target: Callable[[str], int | None]) -> pd.DataFrame:
    """Which areas have not improved for ``n`` quarters in a row.

    ``quarters`` are consecutive quarter labels, oldest first, ending with the
    quarter under review. ``steady`` counts the most recent quarter-on-quarter
    steps in which the score rose by less than ``min_change``; a step across a
    quarter with no assessment ends the count (no evidence either way).
    An area is ``stagnating`` when ``steady >= n``, unless it is at level 5 or
    at or above its target: holding a target is not stagnation.
    """
    scores = _pivot(history, "score")
    levels = _pivot(history, "level")
    current = quarters[-1]
    rows = []
    for area in history.loc[history["quarter"] == current, "area"]:
        steady = 0
        for newer, older in zip(quarters[::-1], quarters[-2::-1], strict=False):
            new = scores.loc[area, newer] if newer in scores else math.nan
            old = scores.loc[area, older] if older in scores else math.nan
            if math.isnan(new) or math.isnan(old):
                break
            if round(new - old, 6) >= min_change:
                break
            steady += 1
        level = int(levels.loc[area, current])
        goal = target(area)
        settled = level >= LEVELS[-1] or (goal is not None and level >= goal)
        rows.append({"area": area, "steady": steady,
                     "stagnating": bool(steady >= n and not settled)})
    return pd.DataFrame(rows, columns=["area", "steady", "stagnating"])


def target_gaps(areas: pd.DataFrame, target: Callable[[str], int | None]) -> pd.DataFrame:
    """Per area: ``target`` level (NaN without one), ``gap`` in levels (0 when met), ``met``."""
    goals = [target(a) for a in areas["area"]]
    out = areas[["area", "level", "score"]].assign(
        target=pd.array(goals, dtype="Int64"))
    out["gap"] = (out["target"] - out["level"]).clip(lower=0)
    out["met"] = (out["level"] >= out["target"]).astype("boolean")
    return out
