"""Client parameters: one YAML file per client, validated before anything runs.

The model is frozen and forbids unknown keys, so a typo in a params file fails
with the key's path and the file's name instead of being ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from csi_lib import catalogue
from csi_lib.errors import ParamsError
from csi_lib.params.base import Duration, Frozen, Slug, TimeZone, check_slug, parse_duration
from csi_lib.params.benefits import BenefitSettings
from csi_lib.params.gaps import GapSettings
from csi_lib.params.maturity import MaturitySettings
from csi_lib.params.prioritisation import PrioritySettings
from csi_lib.params.sources import Sources
from csi_lib.periods import parse_quarter
from csi_lib.sla import BusinessHours

__all__ = ["Params", "QualitySettings", "Service", "check_file_name", "error_message",
           "load_params", "params_path"]


class Client(Frozen):
    id: Slug
    name: str = Field(min_length=1)
    # The id names the client's output folder; a params file named otherwise says why.
    id_differs_because: str | None = Field(None, min_length=1)


class Reporting(Frozen):
    period: str | None = None
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    timezone: TimeZone = "UTC"
    history_quarters: int = Field(5, ge=1, le=20)

    @model_validator(mode="after")
    def _period(self) -> Reporting:
        if self.period is not None:
            try:
                parse_quarter(self.period, self.fiscal_year_start_month)
            except ParamsError as exc:
                raise ValueError(str(exc)) from None
        return self


class Demo(Frozen):
    seed: int
    first_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    last_month: str = Field(pattern=r"^\d{4}-\d{2}$")



class Service(Frozen):
    """An IT service and the rule that assigns tickets and changes to it."""

    id: Slug
    name: str = Field(min_length=1)
    match: dict[Literal["assignment_group", "category", "cmdb_ci"], list[str]]
    owner: str | None = Field(None, min_length=1)  # who is accountable for the service

    @field_validator("match")
    @classmethod
    def _one_rule(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) != 1 or not next(iter(value.values())):
            raise ValueError(
                "match needs exactly one field with a non-empty list of values, "
                "e.g. {assignment_group: [Service Desk]}"
            )
        return value

    @property
    def match_field(self) -> str:
        return next(iter(self.match))

    @property
    def match_values(self) -> list[str]:
        return next(iter(self.match.values()))




class SlaTarget(Frozen):
    response: Duration | None = None
    resolution: Duration

    @field_validator("response", "resolution", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)


class SlaPolicy(Frozen):
    """SLA targets per priority and the clock they run on: 24x7 or business hours."""

    calendar: Literal["24x7"] | BusinessHours = "24x7"
    targets: dict[Literal["P1", "P2", "P3", "P4", "P5"], SlaTarget]

    @field_validator("calendar", mode="before")
    @classmethod
    def _calendar(cls, value: Any) -> Any:
        # Choose the branch ourselves so a bad calendar reports its own error,
        # not also "Input should be '24x7'".
        if isinstance(value, dict):
            return BusinessHours.model_validate(value)
        if value != "24x7":
            raise ValueError(f"calendar must be '24x7' or business hours (timezone, hours, "
                             f"holidays), got {value!r}")
        return value

    @property
    def business_hours(self) -> BusinessHours | None:
        """The business calendar, or None for a 24x7 clock."""
        return None if self.calendar == "24x7" else self.calendar


class QualitySettings(Frozen):
    """The `quality:` section: how many rows a rule may exclude before a run stops."""

    # Share of a service's (or the client's) rows of one table that one ingest rule may
    # exclude before `csi check` and `csi run` stop (exit 2) unless --accept-exclusions.
    max_excluded_share: float = Field(0.05, ge=0, le=1)


class Params(Frozen):
    """A client's validated parameters."""

    client: Client
    reporting: Reporting = Reporting()
    demo: Demo | None = None
    sources: Sources
    services: list[Service] = Field(min_length=1)
    sla: SlaPolicy
    kpi_targets: dict[str, float] = Field(default_factory=dict)
    gaps: GapSettings = GapSettings()
    prioritisation: PrioritySettings = PrioritySettings()
    maturity: MaturitySettings = MaturitySettings()
    benefits: BenefitSettings = BenefitSettings()
    quality: QualitySettings = QualitySettings()
    source_file: Path | None = None

    @field_validator("services")
    @classmethod
    def _unique_services(cls, value: list[Service]) -> list[Service]:
        ids = [s.id for s in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"service ids must be unique; repeated: {dupes}")
        claimed: dict[tuple[str, str], str] = {}
        for s in value:
            for v in s.match_values:
                key = (s.match_field, v)
                if key in claimed:
                    raise ValueError(
                        f"{s.match_field} {v!r} is claimed by both {claimed[key]!r} and "
                        f"{s.id!r}: a ticket must map to one service"
                    )
                claimed[key] = s.id
        return value

    @field_validator("kpi_targets")
    @classmethod
    def _known_kpis(cls, value: dict[str, float]) -> dict[str, float]:
        for kpi_id, target in value.items():
            try:
                kpi = catalogue.get(kpi_id)
            except ParamsError as exc:
                raise ValueError(str(exc)) from None
            if kpi.direction == "neutral":
                raise ValueError(f"{kpi_id!r} has no better direction, so it takes no target")
            if kpi.unit == "share" and not 0 <= target <= 1:
                raise ValueError(
                    f"target for {kpi_id!r} is a share: write it as a fraction 0..1, "
                    f"got {target}"
                )
        return value

    @model_validator(mode="after")
    def _gap_services(self) -> Params:
        unknown = sorted(set(self.gaps.service_targets) - {s.id for s in self.services})
        if unknown:
            raise ValueError(
                f"gaps.service_targets names unknown service(s) {unknown}; services are "
                f"{', '.join(s.id for s in self.services)}")
        return self

    def service(self, service_id: str) -> Service:
        """The service with ``service_id``; an unknown id lists the known ones."""
        for s in self.services:
            if s.id == service_id:
                return s
        raise ParamsError(
            f"client {self.client.id!r} has no service {service_id!r}. "
            f"Known services: {', '.join(s.id for s in self.services)}"
        )

    def period(self, label: str | None = None) -> pd.Period:
        """The reporting quarter ``label`` (or the params default) on the fiscal calendar."""
        label = label or self.reporting.period
        if label is None:
            raise ParamsError(
                f"no period given and {self.source_file} sets no reporting.period: "
                "pass --period YYYYQn"
            )
        return parse_quarter(label, self.reporting.fiscal_year_start_month)


def params_path(client: str, params_dir: Path) -> Path:
    """The params file of ``client`` in ``params_dir``, checked to exist."""
    check_slug(client, "client")
    path = Path(params_dir) / f"{client}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(params_dir).glob("*.yaml"))
        raise ParamsError(
            f"no params file for client {client!r}: {path} does not exist. "
            f"Known clients: {', '.join(known) or 'none'}; create {path} (see params/demo.yaml)"
        )
    return path



def check_file_name(params: Params) -> None:
    """Refuse a params file not named after its client id (``acme.yaml`` for ``acme``)
    unless it says why in ``client.id_differs_because``.

    The id, not the file, names the client's output folder: a copied params file
    whose id was not changed would publish into another client's folder.
    """
    path = params.source_file
    if path is None or path.stem == params.client.id or params.client.id_differs_because:
        return
    raise ParamsError(
        f"{path} has client.id {params.client.id!r}, but the file is named {path.name}: "
        f"reports go to outputs/{params.client.id}/, named after the id. Rename the file "
        f"to {params.client.id}.yaml, or set client.id to the client this file is for, "
        "or say why they differ with client.id_differs_because: <reason>")


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def error_message(err: Mapping[str, Any]) -> str:
    """One pydantic error as a reader's message: what is wrong with the key, and the fix."""
    if err["type"] == "extra_forbidden":
        return "unknown key: remove it or check its spelling"
    if err["type"] == "missing":
        return "required key is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def load_params(path: Path | str) -> Params:
    """Read and validate a client's params file; every problem is named in one error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"params file {path} does not exist") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path} must hold a mapping of keys (client, sources, ...)")
    if "source_file" in data:
        raise ParamsError(f"{path}: key 'source_file' is reserved; remove it")
    try:
        params = Params.model_validate(
            {**data, "source_file": path.resolve()},
            context={"base_dir": path.resolve().parent},
        )
    except ValidationError as exc:
        lines = [f"  {_where(err['loc'])}: {error_message(err)}" for err in exc.errors()]
        raise ParamsError(
            f"{path} has {len(lines)} problem(s):\n" + "\n".join(lines)
        ) from None
    return params
