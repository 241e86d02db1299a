"""Gap analysis ("where do we want to be, and how far are we?")."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GapSettings"]


class GapSettings(BaseModel):
    """The `gaps:` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Relative band around a target inside which a miss is amber, not red (0.05 = 5%).
    tolerance: float = Field(0.05, ge=0, le=1)
    # Per-service target overrides: {service id: {kpi id: target}}.
    service_targets: dict[str, dict[str, float]] = Field(default_factory=dict)
    # An improvement review is raised after this many consecutive breaching periods
    # (the CSI curriculum's "three consecutive periods" rule).
    trigger_periods: int = Field(3, ge=1, le=24)
    trigger_freq: Literal["M", "Q"] = "M"
    # Months of history before the quarter under review used for control limits;
    # None = every month available.
    baseline_months: int | None = Field(12, ge=3)
