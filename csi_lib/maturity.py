"""Quarterly maturity assessment ("how capable are we at improving?")."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

__all__ = ["MaturitySettings"]


class MaturitySettings(BaseModel):
    """The `maturity:` section of a client's params."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A client's own model file; None = templates/maturity_model.yaml.
    model: Path | None = None
    # Folder of completed questionnaires, one workbook per quarter named <YYYYQn>.xlsx.
    questionnaires: Path | None = None
    # Target level (1-5) per capability area id.
    targets: dict[str, float] = Field(default_factory=dict)
    # An area that has not improved for this many quarters is flagged as stagnating.
    stagnation_quarters: int = Field(2, ge=1, le=8)

    @field_validator("model", "questionnaires")
    @classmethod
    def _resolve(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        base = (info.context or {}).get("base_dir")
        if value is not None and not value.is_absolute() and base is not None:
            value = (Path(base) / value).resolve()
        return value
