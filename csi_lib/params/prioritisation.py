"""The ``prioritisation:`` section of a client's params, validated before anything runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["CRITERIA", "PrioritySettings", "check_weights"]

# The register's 1-5 scores a weighted model may use, and which way is better.
# Effort and (implementation) risk are costs: a low score is good, so they are
# inverted before weighting (multi-criteria decision analysis: every criterion
# is made "more is better" before weights apply).
CRITERIA: dict[str, Literal["benefit", "cost"]] = {
    "business_impact": "benefit",
    "effort": "cost",
    "risk": "cost",
    "strategic_alignment": "benefit",
    "time_criticality": "benefit",
    "risk_reduction": "benefit",
}
# Weights are read from YAML as decimals: 0.1 + 0.2 + 0.7 is not exactly 1.
WEIGHT_TOLERANCE = 1e-6


def check_weights(weights: dict[str, float]) -> dict[str, float]:
    """``weights`` if they name known criteria, are non-negative and sum to 1; else ValueError."""
    unknown = sorted(set(weights) - set(CRITERIA))
    if unknown:
        raise ValueError(
            f"unknown criterion {', '.join(map(repr, unknown))}: weights can be given for "
            f"{', '.join(CRITERIA)}"
        )
    bad = {k: v for k, v in weights.items() if not math.isfinite(v) or v < 0}
    if bad:
        shown = ", ".join(f"{k}: {v}" for k, v in bad.items())
        raise ValueError(f"weights must be non-negative numbers; got {shown}")
    total = sum(weights.values())
    if abs(total - 1) > WEIGHT_TOLERANCE:
        shown = ", ".join(f"{k} {v:g}" for k, v in weights.items()) or "none given"
        raise ValueError(
            f"weights must sum to 1, but {shown} sum to {total:g}: divide each by {total:g} "
            "(or adjust one) so that they add up to exactly 1"
        )
    return weights


class PrioritySettings(BaseModel):
    """The ``prioritisation:`` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The consultant's improvement register (Excel, from templates/improvement_register.xlsx),
    # relative to the params file.
    register_file: Path | None = None
    # Which score ranks the backlog and is maximised by the quarter's plan.
    model: Literal["weighted", "wsjf", "rice"] = "weighted"
    weights: dict[str, float] = Field(default_factory=lambda: {
        "business_impact": 0.4, "effort": 0.2, "risk": 0.15, "strategic_alignment": 0.25})
    # Minimum viable improvement: expected gain on the linked KPI below this is filtered out.
    min_improvement: float = Field(0.15, ge=0, le=1)
    # Team hours in a quarter and the share ring-fenced for improvement work.
    team_hours_per_quarter: float = Field(2000, gt=0)
    improvement_share: float = Field(0.15, ge=0, le=1)
    # Sensitivity analysis: each weight moves by this share up and down, and the
    # report says how often the top of the ranking keeps the same initiatives.
    sensitivity_step: float = Field(0.2, gt=0, lt=1)
    top_n: int = Field(5, ge=1, le=50)

    @field_validator("register_file")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is not None and not value.is_absolute() and base is not None:
            value = (Path(base) / value).resolve()
        return value

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        return check_weights(value)

    @property
    def capacity_hours(self) -> float:
        """Team hours ring-fenced for improvement work in one quarter."""
        return self.team_hours_per_quarter * self.improvement_share
