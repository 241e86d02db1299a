"""The maturity model: capability areas, their levels 1-5 and the practices of each level.

The kit ships a standard model (templates/maturity_model.yaml) covering the seven
CSI capability areas; a client may supply its own file with the same schema
(``maturity.model`` in params). A file is validated as a whole and every problem
is reported in one error naming the file, the key path (with the area's id) and
the fix.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from csi_lib.errors import ParamsError
from csi_lib.resources import kit_dir

__all__ = [
    "LEVELS",
    "Area",
    "AreaLevel",
    "LevelName",
    "MaturityModel",
    "Practice",
    "default_model_path",
    "load_model",
]

LEVELS = (1, 2, 3, 4, 5)
# Below level 1 an area has not yet achieved its most basic practices; ISO/IEC
# 33020 calls this level 0, "incomplete".
LEVEL_0 = "Incomplete"
_AREA_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Practice ids are typed into questionnaires: letters, digits, '.', '_' and '-'
# only, never a leading character that a spreadsheet reads as a formula.
_PRACTICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def _text(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be empty")
    return value


Text = Annotated[str, AfterValidator(_text)]


def _area_id(value: str) -> str:
    if not _AREA_ID.match(value):
        raise ValueError(f"{value!r} is not a valid area id: use lower-case letters, digits, "
                         "'-' or '_' (e.g. 'governance')")
    return value


def _practice_id(value: str) -> str:
    if not _PRACTICE_ID.match(value):
        raise ValueError(f"{value!r} is not a valid practice id: use letters, digits, '.', '_' "
                         "or '-', starting with a letter or digit (e.g. 'GOV.1.1')")
    return value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Practice(_Frozen):
    """One practice: what a respondent rates N/P/L/F."""

    id: Annotated[str, AfterValidator(_practice_id)]
    text: Text
    # What a respondent might show as evidence; printed in the questionnaire.
    evidence: Text | None = None


class AreaLevel(_Frozen):
    """What one level of one capability area means, and the practices it requires."""

    description: Text
    practices: tuple[Practice, ...] = Field(min_length=1)


class LevelName(_Frozen):
    """The name and general meaning of a level, shared by every area."""

    name: Text
    description: Text


def _five_levels(value: Mapping[int, Any]) -> Mapping[int, Any]:
    missing = [k for k in LEVELS if k not in value]
    extra = sorted(k for k in value if k not in LEVELS)
    if missing or extra:
        parts = ([f"missing level(s) {missing}"] if missing else []) + \
                ([f"unknown level(s) {extra}"] if extra else [])
        raise ValueError(f"{' and '.join(parts)}: give exactly the levels 1, 2, 3, 4 and 5")
    return dict(sorted(value.items()))


class Area(_Frozen):
    """A capability area: its id (used in params targets), name and five levels."""

    id: Annotated[str, AfterValidator(_area_id)]
    name: Text
    description: Text
    levels: Annotated[dict[int, AreaLevel], AfterValidator(_five_levels)]

    @property
    def practices(self) -> list[tuple[int, Practice]]:
        """(level, practice) of every practice of the area, level by level."""
        return [(k, p) for k, lvl in self.levels.items() for p in lvl.practices]


class MaturityModel(_Frozen):
    """A validated maturity model; see templates/maturity_model.yaml for the schema."""

    schema_version: Literal[1]
    id: Annotated[str, AfterValidator(_area_id)]
    name: Text
    version: Text
    description: Text | None = None
    levels: Annotated[dict[int, LevelName], AfterValidator(_five_levels)]
    areas: tuple[Area, ...] = Field(min_length=1)
    source: Path | None = None

    @field_validator("areas")
    @classmethod
    def _unique(cls, areas: tuple[Area, ...]) -> tuple[Area, ...]:
        ids = [a.id for a in areas]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"area ids must be unique; repeated: {dupes}")
        seen: dict[str, str] = {}
        problems = []
        for area in areas:
            for _, practice in area.practices:
                key = practice.id.casefold()
                if key in seen:
                    problems.append(f"{practice.id!r} (in {seen[key]!r} and {area.id!r})")
                seen.setdefault(key, area.id)
        if problems:
            raise ValueError("practice ids must be unique across the model (ignoring case); "
                             f"repeated: {', '.join(problems)}")
        return areas

    @property
    def practice_table(self) -> pd.DataFrame:
        """One row per practice in model order: area, area_name, level, practice, text."""
        rows = [{"area": a.id, "area_name": a.name, "level": k, "practice": p.id,
                 "text": p.text, "evidence": p.evidence or ""}
                for a in self.areas for k, p in a.practices]
        return pd.DataFrame(rows).astype({"level": "int64"})

    @property
    def area_ids(self) -> list[str]:
        return [a.id for a in self.areas]

    def area(self, area_id: str) -> Area:
        """The area ``area_id``; an unknown id lists the model's areas."""
        for a in self.areas:
            if a.id == area_id:
                return a
        raise ParamsError(f"maturity model {self.id!r} has no area {area_id!r}; its areas: "
                          f"{', '.join(self.area_ids)}")

    def level_name(self, level: int) -> str:
        """"Defined" for 3; level 0 is "Incomplete"."""
        return LEVEL_0 if level == 0 else self.levels[level].name

    def describe(self) -> str:
        """How the model is named in reports and errors: name, version and file."""
        where = f" ({self.source})" if self.source else ""
        return f"{self.name} v{self.version}{where}"

    def suggest(self, practice_id: str) -> str:
        """A hint for an unknown practice id: the closest ids of the model."""
        ids = self.practice_table["practice"].tolist()
        close = difflib.get_close_matches(practice_id, ids, n=3, cutoff=0.6)
        if close:
            return f"did you mean {' or '.join(repr(c) for c in close)}?"
        return f"ids of this model run {ids[0]!r} ... {ids[-1]!r}"


def default_model_path() -> Path:
    """The kit's standard model, templates/maturity_model.yaml."""
    # A file shipped with the kit, like the report templates; never client data.
    return kit_dir("templates") / "maturity_model.yaml"


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """A readable key path, with the area's id after an index: areas[2] 'prioritising'."""
    out: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            label = f"[{part}]"
            item = node[part] if 0 <= part < len(node) else None
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                label += f" ({item['id']})"
            out[-1:] = [f"{out[-1] if out else ''}{label}"]
            node = item
            continue
        out.append(str(part))
        node = _child(node, part)
    return ".".join(out) or "(top level)"


def _child(node: Any, key: Any) -> Any:
    """``node[key]`` for a YAML mapping whose keys may be ints where the loc has strings."""
    if not isinstance(node, dict):
        return None
    for k in (key, str(key), int(key) if str(key).isdigit() else None):
        if k in node:
            return node[k]
    return None


def load_model(path: Path | str | None = None) -> MaturityModel:
    """Read and validate a maturity model file (default: the kit's standard model)."""
    path = Path(path) if path is not None else default_model_path()
    fix = f"See {default_model_path()} for the schema."
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"maturity model file {path} does not exist: check `maturity.model` "
                          "in the params file, or remove it to use the standard model") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text ({exc.reason})"
        raise ParamsError(f"maturity model file {path} cannot be read: {reason}. Give the kit "
                          "read access to it and save it as UTF-8 YAML, or remove "
                          "`maturity.model` from the params file to use the standard "
                          "model") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"maturity model {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"maturity model {path} must hold a mapping with keys schema_version, "
                          f"id, name, version, levels and areas. {fix}")
    if "source" in data:
        raise ParamsError(f"maturity model {path}: key 'source' is reserved; remove it")
    try:
        model = MaturityModel.model_validate(data)
    except ValidationError as exc:
        from csi_lib.params import error_message

        lines = []
        for err in exc.errors():
            msg = error_message(err)
            if err["type"] == "literal_error" and err["loc"] == ("schema_version",):
                msg = f"this kit reads schema_version 1, got {err['input']!r}"
            lines.append(f"  {_where(err['loc'], data)}: {msg}")
        raise ParamsError(f"maturity model {path} has {len(lines)} problem(s):\n"
                          + "\n".join(lines) + f"\n{fix}") from None
    return model.model_copy(update={"source": path.resolve()})
