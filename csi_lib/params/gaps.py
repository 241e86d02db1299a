"""The `gaps:` section of a client's params, and the rule a KPI target must follow.

Part of the params layer: it sits below the gap analysis that reads it, so loading a
params file never imports a report.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from csi_lib import catalogue

__all__ = ["MIN_BASELINE_MONTHS", "GapSettings", "target_problem"]

# Control limits from fewer points move too much with each new month to be read
# as the process' natural limits (Wheeler, "Understanding Variation", 1993: usable
# from about six values, firm from about twenty).
MIN_BASELINE_MONTHS = 6

# The range a target can take for each unit (None = unbounded on that side).
_RANGE: dict[str, tuple[float, float | None, str]] = {
    "share": (0.0, 1.0, "a share: write it as a fraction 0..1, e.g. 0.9 for 90%"),
    "score": (1.0, 5.0, "a score on the survey's 1-5 scale"),
    "hours": (0.0, None, "a duration in hours and cannot be negative"),
    "count": (0.0, None, "a count and cannot be negative"),
}


def target_problem(kpi_id: str, target: float) -> str | None:
    """What is wrong with ``target`` as a target for ``kpi_id``, or None when it is valid.

    A target must name a catalogue KPI that has a better direction (a neutral
    KPI such as volume has no target to miss) and lie in the KPI's unit range.
    """
    kpi = catalogue.CATALOGUE.get(kpi_id)
    if kpi is None:
        return f"unknown KPI {kpi_id!r}. Known KPIs: {', '.join(catalogue.ids())}"
    if kpi.direction == "neutral":
        return f"{kpi_id!r} has no better direction, so it takes no target"
    if not math.isfinite(target):
        return f"target for {kpi_id!r} must be a number, got {target}"
    lo, hi, what = _RANGE[kpi.unit]
    if target < lo or (hi is not None and target > hi):
        return f"target for {kpi_id!r} is {what}; got {target}"
    return None


class GapSettings(BaseModel):
    """The `gaps:` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Relative band around a target inside which a miss is amber, not red (0.05 = 5%).
    tolerance: float = Field(0.05, ge=0, le=1)
    # Per-service target overrides: {service id: {kpi id: target}}. Service ids are
    # checked against `services` by csi_lib.gaps.validate_targets.
    service_targets: dict[str, dict[str, float]] = Field(default_factory=dict)
    # An improvement review is raised after this many consecutive breaching periods
    # (the CSI curriculum's "three consecutive periods" rule), counted in months
    # ("M") or quarters ("Q").
    trigger_periods: int = Field(3, ge=1, le=24)
    trigger_freq: Literal["M", "Q"] = "M"
    # Months of history before the quarter under review used for control limits;
    # None = every month available.
    baseline_months: int | None = Field(12, ge=MIN_BASELINE_MONTHS)
    # A single month outside the control limits raises a review only if its value
    # rests on at least this many tickets, answers or changes.
    min_basis: int = Field(30, ge=1)

    @field_validator("service_targets")
    @classmethod
    def _valid_targets(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        problems = [f"{service}.{kpi_id}: {problem}"
                    for service, targets in value.items()
                    for kpi_id, target in targets.items()
                    if (problem := target_problem(kpi_id, target)) is not None]
        if problems:
            raise ValueError("; ".join(problems))
        return value
