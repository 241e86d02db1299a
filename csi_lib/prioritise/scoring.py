"""Scoring the register: weighted criteria, WSJF and RICE, the threshold, and sensitivity.

- Weighted scoring (multi-criteria decision analysis): each 1-5 score is put on
  0..1 with "more is better" (effort and risk inverted), multiplied by the
  client's weight and summed; shown on 0-100.
- WSJF (SAFe, "Weighted Shortest Job First"): (business value + time
  criticality + risk reduction) / job size, here business impact, the two WSJF
  scores and the 1-5 effort score.
- RICE (Intercom): reach x impact x confidence / effort, here reach per
  quarter, business impact, confidence and effort hours.

The minimum viable improvement (CSI practice: "a proposed improvement must
clear a minimum improvement, e.g. 15% on the KPI it targets, to be worth
doing") filters proposals before ranking, with the reason recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.params.prioritisation import CRITERIA, PrioritySettings, check_weights
from csi_lib.register.layout import OPEN

__all__ = [
    "MODEL_LABELS",
    "QUADRANTS",
    "Sensitivity",
    "apply_threshold",
    "moved_weights",
    "quadrants",
    "rank_order",
    "rice_scores",
    "score_register",
    "sensitivity",
    "weighted_scores",
    "wsjf_scores",
]

MODEL_LABELS = {"weighted": "weighted score", "wsjf": "WSJF", "rice": "RICE"}
# The impact/effort matrix: high impact is a business impact of 4-5, low effort an
# effort score of 1-2, so a middling 3 is never called a quick win.
QUADRANTS = ("quick win", "transformational", "fill-in", "hard to justify")
HIGH_IMPACT = 4
LOW_EFFORT = 2


def quadrants(frame: pd.DataFrame) -> pd.Series:
    """Quick win, transformational, fill-in or hard to justify, from impact and effort scores."""
    high = frame["business_impact"] >= HIGH_IMPACT
    low = frame["effort"] <= LOW_EFFORT
    out = np.select([high & low, high & ~low, ~high & low], QUADRANTS[:3], QUADRANTS[3])
    known = frame["business_impact"].notna() & frame["effort"].notna()
    return pd.Series(np.where(known, out, ""), index=frame.index, name="quadrant")


def weighted_scores(frame: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Weighted score 0-100 per row; NaN where a weighted criterion has no score."""
    check_weights(dict(weights))
    total = pd.Series(0.0, index=frame.index)
    for criterion, weight in weights.items():
        if weight == 0:
            continue
        s = frame[criterion].astype("float64")
        norm = (s - 1) / 4 if CRITERIA[criterion] == "benefit" else (5 - s) / 4
        total = total + weight * norm
    return (100 * total).rename("weighted")


def wsjf_scores(frame: pd.DataFrame) -> pd.Series:
    """(business impact + time criticality + risk reduction) / effort score."""
    value = frame["business_impact"] + frame["time_criticality"] + frame["risk_reduction"]
    return (value / frame["effort"]).rename("wsjf")


def rice_scores(frame: pd.DataFrame) -> pd.Series:
    """reach x business impact x confidence / effort hours."""
    hours = frame["effort_hours"].where(frame["effort_hours"] > 0)
    return (frame["reach"] * frame["business_impact"] * frame["confidence"] / hours
            ).rename("rice")


def apply_threshold(frame: pd.DataFrame, min_improvement: float) -> pd.DataFrame:
    """``passes_threshold`` and ``threshold_note`` per row (only open proposals are tested)."""
    passes, notes = [], []
    for status, kpi, gain in zip(frame["status"], frame["kpi"], frame["expected_improvement"],
                                 strict=True):
        if status not in OPEN:
            passes.append(True)
            notes.append("")
        elif kpi is None or pd.isna(kpi):
            passes.append(True)
            notes.append("no linked KPI: the minimum viable improvement does not apply")
        elif pd.isna(gain):
            passes.append(False)
            notes.append(f"no expected improvement given for {catalogue.get(kpi).label}: "
                         "estimate it in the register")
        elif gain + 1e-12 < min_improvement:
            passes.append(False)
            notes.append(f"expected improvement {gain:.0%} on {catalogue.get(kpi).label} is "
                         f"below the {min_improvement:.0%} minimum viable improvement")
        else:
            passes.append(True)
            notes.append(f"expected {gain:.0%} on {catalogue.get(kpi).label}")
    return frame.assign(passes_threshold=passes, threshold_note=notes)


def rank_order(frame: pd.DataFrame, score: str = "score") -> list[str]:
    """Ids best first: score, then business impact, fewer hours, then id (row order never counts)."""
    keyed = frame.assign(_s=-frame[score], _b=-frame["business_impact"].fillna(0),
                         _h=frame["effort_hours"].fillna(np.inf))
    return keyed.sort_values(["_s", "_b", "_h", "id"], na_position="last")["id"].tolist()


def score_register(register: pd.DataFrame, settings: PrioritySettings) -> pd.DataFrame:
    """The register with ``weighted``, ``wsjf``, ``rice``, ``score`` (the ranking model's),
    ``passes_threshold``, ``threshold_note`` and ``rank`` (1 = best, among open proposals
    that clear the threshold)."""
    scored = apply_threshold(register, settings.min_improvement).assign(
        weighted=weighted_scores(register, settings.weights),
        wsjf=wsjf_scores(register),
        rice=rice_scores(register),
    )
    scored = scored.assign(score=scored[settings.model])
    ranked = scored.loc[scored["status"].isin(OPEN) & scored["passes_threshold"]
                        & scored["score"].notna()]
    ranks = {i: k for k, i in enumerate(rank_order(ranked), start=1)}
    return scored.assign(rank=scored["id"].map(ranks).astype("Int64"))


# ---------------------------------------------------------------- sensitivity


def moved_weights(weights: Mapping[str, float], criterion: str, factor: float
                  ) -> dict[str, float] | None:
    """``weights`` with ``criterion`` times ``factor`` and the others rescaled to sum to 1.

    None when the move changes nothing: a zero weight, or no other weight to
    take up the difference.
    """
    w = dict(weights)
    old = w[criterion]
    rest = 1 - old
    if old == 0 or rest <= 1e-12:
        return None
    new = min(old * factor, 1.0)
    scale = (1 - new) / rest
    moved = {k: (new if k == criterion else v * scale) for k, v in w.items()}
    total = sum(moved.values())
    return {k: v / total for k, v in moved.items()}


@dataclass(frozen=True)
class Sensitivity:
    """How the top of the weighted ranking moves when each weight moves."""

    step: float
    top_n: int
    base_top: tuple[str, ...]
    scenarios: pd.DataFrame  # criterion, change, weight, top, overlap, same_set, leader
    ranks: pd.DataFrame      # id, rank, best, worst (over every scenario)

    @property
    def stable_share(self) -> float:
        """Share of scenarios whose top is the same set of initiatives."""
        return float(self.scenarios["same_set"].mean()) if len(self.scenarios) else 1.0


def sensitivity(frame: pd.DataFrame, weights: Mapping[str, float], step: float = 0.2,
                top_n: int = 5) -> Sensitivity:
    """Rank ``frame``'s rows by weighted score with each weight at +/-``step`` (renormalised)."""
    base = rank_order(frame.assign(score=weighted_scores(frame, weights)))
    n = min(top_n, len(base))
    base_top = tuple(base[:n])
    rank_sets: dict[str, list[int]] = {i: [k] for k, i in enumerate(base, start=1)}
    rows = []
    for criterion in weights:
        for factor in (1 + step, 1 - step):
            moved = moved_weights(weights, criterion, factor)
            if moved is None:
                continue
            order = rank_order(frame.assign(score=weighted_scores(frame, moved)))
            for k, i in enumerate(order, start=1):
                rank_sets[i].append(k)
            top = tuple(order[:n])
            rows.append({
                "criterion": criterion,
                "change": f"{factor - 1:+.0%}",
                "weight": moved[criterion],
                "top": top,
                "overlap": len(set(top) & set(base_top)),
                "same_set": set(top) == set(base_top),
                "same_order": top == base_top,
                "leader": order[0] if order else None,
            })
    scenarios = pd.DataFrame(rows, columns=["criterion", "change", "weight", "top", "overlap",
                                            "same_set", "same_order", "leader"])
    ranks = pd.DataFrame({
        "id": base,
        "rank": range(1, len(base) + 1),
        "best": [min(rank_sets[i]) for i in base],
        "worst": [max(rank_sets[i]) for i in base],
    })
    return Sensitivity(step=step, top_n=n, base_top=base_top, scenarios=scenarios, ranks=ranks)
