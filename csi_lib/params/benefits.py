"""The ``benefits:`` section of a client's params: the benefit review's windows.

ITIL's "did we get there?" step compares a KPI before an initiative's delivery
with after it, once the change has settled. Part of the params layer, below
the report that reads it, so loading params never imports a report.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BenefitSettings"]


class BenefitSettings(BaseModel):
    """The ``benefits:`` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Full months before the delivery month whose KPI level is the "before".
    baseline_months: int = Field(6, ge=3, le=24)
    # Months after the delivery month left out while the change beds in.
    settling_months: int = Field(1, ge=0, le=6)
    # Fewest full months after settling before a verdict is given ("too early" below).
    min_after_months: int = Field(3, ge=2, le=12)
    # Months before delivery over which a trend already under way is looked for; a
    # longer window than the baseline, because six points rarely show a steady trend.
    trend_months: int = Field(12, ge=3, le=36)
    # Initiatives delivered in this many quarters up to the period end are reviewed;
    # earlier ones appear only in the archive.
    review_quarters: int = Field(4, ge=1, le=12)

    @model_validator(mode="after")
    def _trend_covers_baseline(self) -> BenefitSettings:
        if self.trend_months < self.baseline_months:
            raise ValueError(
                f"trend_months ({self.trend_months}) must be at least baseline_months "
                f"({self.baseline_months}): the trend is fitted over the baseline and the "
                "months before it; raise trend_months or lower baseline_months"
            )
        return self
