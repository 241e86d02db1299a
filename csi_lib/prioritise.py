"""Prioritisation ("how do we get there?"): the improvement register scored and planned."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["PrioritySettings"]


class PrioritySettings(BaseModel):
    """The `prioritisation:` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The consultant's improvement register (Excel, from templates/improvement_register.xlsx),
    # relative to the params file.
    register_file: Path | None = None
    model: Literal["weighted", "wsjf", "rice"] = "weighted"
    weights: dict[str, float] = Field(default_factory=lambda: {
        "business_impact": 0.4, "effort": 0.2, "risk": 0.15, "strategic_alignment": 0.25})
    # Minimum viable improvement: expected gain on the linked KPI below this is filtered out.
    min_improvement: float = Field(0.15, ge=0, le=1)
    # Team hours in a quarter and the share ring-fenced for improvement work.
    team_hours_per_quarter: float = Field(2000, gt=0)
    improvement_share: float = Field(0.15, ge=0, le=1)

    @field_validator("register_file")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is not None and not value.is_absolute() and base is not None:
            value = (Path(base) / value).resolve()
        return value
