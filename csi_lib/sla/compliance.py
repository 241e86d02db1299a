"""Compliance: whether each clock met its target, and agreement with the export's own flag."""

from __future__ import annotations

import pandas as pd

from csi_lib.errors import DataError
from csi_lib.sla.tickets import same_index

__all__ = ["AGREEMENT_COLUMNS", "agreement", "compliance"]

AGREEMENT_COLUMNS = (
    "n_exported", "n_recomputed", "n", "exported_rate", "recomputed_rate", "disagree",
    "disagree_share", "exported_met_recomputed_breached", "exported_breached_recomputed_met",
)


def compliance(clock: pd.Series, target: pd.Series | pd.Timedelta) -> pd.Series:
    """Whether each clock met its target (``clock <= target``), NA where either is missing.

    A ticket finished exactly at its target has met it. ``target`` is a
    timedelta column on the clock's index (e.g. the priority's target) or one
    duration for all rows.
    """
    if isinstance(target, pd.Series):
        same_index(clock, target, "clock and target")
        limit = pd.to_timedelta(target)
    else:
        limit = pd.Series(pd.Timedelta(target), index=clock.index)
    spent = pd.to_timedelta(clock)
    met = (spent <= limit).astype("boolean")
    return met.mask(spent.isna() | limit.isna()).rename("met")


def _booleans(values: pd.Series, what: str) -> pd.Series:
    try:
        return values.astype("boolean")
    except (TypeError, ValueError):
        bad = values[values.notna()].map(type).ne(bool)
        sample = values[values.notna()][bad].unique()[:3].tolist()
        raise DataError(
            f"{what} must hold True/False (or missing), found {sample}: map the export's "
            "values to booleans at ingest"
        ) from None


def agreement(exported: pd.Series, recomputed: pd.Series,
              by: pd.Series | None = None) -> pd.DataFrame:
    """Compare an export's own SLA flag (e.g. ``made_sla``) with the recomputed one.

    One row per group of ``by`` (or one row ``all``). ``n`` counts tickets with
    both flags known; the two rates and the disagreement are over those ``n``
    so they compare like with like (NaN when ``n`` is 0). ``n_exported`` and
    ``n_recomputed`` count each flag on its own, so tickets known to only one
    side are visible rather than lost.
    """
    same_index(exported, recomputed, "exported and recomputed")
    x, y = _booleans(exported, "exported"), _booleans(recomputed, "recomputed")
    both = x.notna() & y.notna()
    xm, ym = both & x.fillna(False), both & y.fillna(False)
    counts = pd.DataFrame({
        "n_exported": x.notna(),
        "n_recomputed": y.notna(),
        "n": both,
        "exported_met": xm,
        "recomputed_met": ym,
        "exported_met_recomputed_breached": xm & ~ym & both,
        "exported_breached_recomputed_met": ym & ~xm & both,
    }).astype("int64")
    if by is None:
        groups = pd.Series("all", index=exported.index, name="group")
    else:
        same_index(exported, by, "exported and by")
        groups = by
    table = counts.groupby(groups, dropna=False).sum()
    n = table["n"].where(table["n"] > 0)
    disagree = table["exported_met_recomputed_breached"] + table["exported_breached_recomputed_met"]
    return table.assign(
        exported_rate=table["exported_met"] / n,
        recomputed_rate=table["recomputed_met"] / n,
        disagree=disagree,
        disagree_share=disagree / n,
    )[list(AGREEMENT_COLUMNS)]
