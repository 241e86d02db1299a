"""The `maturity:` section of a client's params.

Part of the params layer and free of anything heavy: loading a params file must not
pull in charts or Excel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["MaturitySettings"]

Level = Annotated[int, Field(ge=1, le=5)]


class MaturitySettings(BaseModel):
    """The `maturity:` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A client's own model file (same schema as templates/maturity_model.yaml),
    # relative to the params file; None = the kit's standard model.
    model: Path | None = None
    # Folder of completed questionnaires, one workbook per quarter named <YYYYQn>.xlsx.
    questionnaires: Path | None = None
    # Target level (1-5) per capability area id of the model; checked against the
    # model when the assessment is prepared (a client model may name other areas).
    targets: dict[str, Level] = Field(default_factory=dict)
    # Target for the areas `targets` leaves out; None = those areas have no target.
    default_target: Level | None = None
    # An area whose score has not risen for this many quarters in a row is
    # flagged as stagnating (the curriculum's purpose of a quarterly assessment).
    stagnation_quarters: int = Field(2, ge=1, le=8)
    # A quarter-on-quarter score change smaller than this counts as steady, not as
    # an improvement: a tenth of a level is within what one respondent's change of
    # mind moves.
    min_change: float = Field(0.1, ge=0, le=1)
    # Respondents disagree widely on an area when, on average over its practices
    # rated by two or more people, the highest and lowest rating differ by more than
    # this share of the scale (0.30 = 30 points, about one band apart on every
    # practice, as "largely" against "partially").
    disagreement: float = Field(0.30, gt=0, le=1)

    @field_validator("model", "questionnaires")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is not None and not value.is_absolute() and base is not None:
            value = (Path(base) / value).resolve()
        return value

    def target(self, area: str) -> int | None:
        """The target level of capability area ``area`` (None when it has none)."""
        return self.targets.get(area, self.default_target)
