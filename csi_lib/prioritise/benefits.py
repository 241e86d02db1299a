"""Verdicts of the benefit review beside the backlog: what delivered work achieved.

The benefit review publishes one row per delivered initiative
(:mod:`csi_lib.register.outcomes`); the notebook passes its table here, so an
initiative that did not move its KPI comes back as a review candidate instead
of being forgotten (ITIL CSI: the realised benefit feeds the next round of
prioritisation).
"""

from __future__ import annotations

import pandas as pd

from csi_lib import catalogue

__all__ = ["NEXT_STEP", "benefit_frame", "review_candidates"]

NEXT_STEP = {
    "achieved": "close: the benefit is realised",
    "partly achieved": "review: part of the benefit is realised",
    "no measurable effect": "review candidate: find out why, or stop",
    "worse": "review candidate: the KPI got worse",
    "too early": "wait for the after window",
    "not measurable": "link a KPI or record the outcome by hand",
}


def _pct(x: object) -> str:
    return "" if x is None or pd.isna(x) else f"{x:+.0%}".replace("-", "−")


def benefit_frame(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdicts as text cells, one row per delivered initiative, in delivery order."""
    v = verdicts
    return pd.DataFrame({
        "ID": v["initiative"].astype(str),
        "Title": v["title"].astype(str),
        "Service": v["service"].astype(str),
        "Linked KPI": [catalogue.get(k).label if isinstance(k, str) else "" for k in v["kpi"]],
        "Delivered": [f"{d:%Y-%m-%d}" if pd.notna(d) else "" for d in v["delivered"]],
        "Expected": ["" if pd.isna(e) else f"{e:.0%}" for e in v["expected"]],
        "Effect": [_pct(c) for c in v["change"]],
        "95% interval": ["" if pd.isna(lo) else f"{_pct(lo)} to {_pct(hi)}"
                         for lo, hi in zip(v["change_low"], v["change_high"], strict=True)],
        "Verdict": v["verdict"].astype(str),
        "Why": v["reason"].fillna("").astype(str),
        "Next step": [NEXT_STEP.get(str(x), "") for x in v["verdict"]],
    })


def review_candidates(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Delivered initiatives whose KPI did not move (or got worse): back to the backlog."""
    return verdicts.loc[verdicts["verdict"].isin(["no measurable effect", "worse"])]
