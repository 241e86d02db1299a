"""Client parameters: one YAML file per client, validated before anything runs.

The model is frozen and forbids unknown keys, so a typo in a params file fails
with the key's path and the file's name instead of being ignored.
"""

from __future__ import annotations

import re
import zoneinfo
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
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from csi_lib import catalogue
from csi_lib.errors import ParamsError
from csi_lib.gaps import GapSettings
from csi_lib.maturity import MaturitySettings
from csi_lib.periods import parse_quarter
from csi_lib.prioritise import PrioritySettings
from csi_lib.sla import BusinessHours

__all__ = [
    "ADAPTERS",
    "CANONICAL_COLUMNS",
    "PERSONAL_COLUMNS",
    "Params",
    "Service",
    "Source",
    "load_params",
    "params_path",
]

# Slugs become folder names under outputs/: lower-case letters, digits, '-' and
# '_' only, so no id can climb out of outputs/ or hide as a dotfile.
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")

# Source columns each canonical table can take from an export; DESIGN.md's contract.
CANONICAL_COLUMNS: dict[str, dict[str, bool]] = {
    # name -> required?
    "tickets": {
        "ticket_id": True, "record_type": False, "opened_at": True, "responded_at": False,
        "resolved_at": True, "closed_at": False, "state": False, "priority": True,
        "category": False, "subcategory": False, "channel": False, "assignment_group": False,
        "reassignment_count": False, "reopen_count": False, "made_sla": False, "caller": False,
        "cmdb_ci": False, "impact": False, "urgency": False, "knowledge": False,
        "assignee": False, "description": False,
    },
    "changes": {
        "change_id": True, "change_type": True, "assignment_group": False,
        "planned_start": False, "planned_end": False, "actual_end": True, "outcome": True,
        "caused_incident": False, "category": False, "cmdb_ci": False,
    },
    "surveys": {"ticket_id": True, "answered_at": True, "score": True},
}
# Canonical columns that name or describe people: replaced by a keyed hash at ingest
# unless a source lists them under `keep_personal` (GDPR art. 4(5) pseudonymisation).
PERSONAL_COLUMNS = ("caller", "assignee", "description")


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a safe id: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit (ids become folder names)"
        )
    return value


def _duration(value: Any) -> pd.Timedelta:
    if isinstance(value, str):
        # pandas deprecates the lower-case day unit ('3d'); people write it anyway.
        value = re.sub(r"(\d)\s*d\b", r"\1D", value.strip())
    try:
        td = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ValueError(
            f"{value!r} is not a duration: write it like '15min', '4h', '3d' or '1d 12h'"
        ) from None
    if pd.isna(td) or td <= pd.Timedelta(0):
        raise ValueError(f"{value!r} must be a positive duration")
    return td


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}: use an IANA name such as 'Europe/London' or 'UTC'"
        ) from None
    return value


Slug = Annotated[str, AfterValidator(_slug)]
TimeZone = Annotated[str, AfterValidator(_timezone)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class Client(_Frozen):
    id: Slug
    name: str = Field(min_length=1)


class Reporting(_Frozen):
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


class Demo(_Frozen):
    seed: int
    first_month: str = Field(pattern=r"^\d{4}-\d{2}$")
    last_month: str = Field(pattern=r"^\d{4}-\d{2}$")


# Adapters that turn an export into canonical rows, and the tables each can read.
ADAPTERS: dict[str, tuple[str, ...]] = {
    "generic": ("tickets", "changes", "surveys"),
    "servicenow": ("tickets", "changes"),
    "jira": ("tickets", "surveys"),
    "eventlog": ("tickets",),
}
EXPORT_SUFFIXES = (".csv", ".xlsx", ".gz")


def _export_path(value: Path, info: ValidationInfo) -> Path:
    """Resolve ``value`` against the params file's folder and check it is a readable format."""
    base = (info.context or {}).get("base_dir")
    if not value.is_absolute() and base is not None:
        value = (Path(base) / value).resolve()
    suffix = value.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ValueError(
            f"unsupported file extension {suffix!r} in {value}: supported formats are "
            ".csv, .csv.gz and .xlsx"
        )
    return value


ExportPath = Annotated[Path, AfterValidator(_export_path)]


class Reassignment(_Frozen):
    """How a reassignment shows in an event log: an activity, or a change of a column's value."""

    activities: list[str] = Field(default_factory=list)
    first_is_initial: bool = False
    changes_of: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Reassignment:
        if bool(self.activities) == (self.changes_of is not None):
            raise ValueError(
                "give exactly one of `activities` (e.g. [Reassignment]) or `changes_of` "
                "(a column such as the support team, each change counting one)"
            )
        if self.first_is_initial and not self.activities:
            raise ValueError("`first_is_initial` only applies to `activities`")
        return self


class CaseTable(_Frozen):
    """A second export with one row per case, for attributes the event log lacks."""

    path: ExportPath
    sheet: str | None = None
    case: str = Field(min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)


class EventLog(_Frozen):
    """Which columns and activities of an event log make one ticket per case."""

    case: str = Field(min_length=1)
    activity: str = Field(min_length=1)
    timestamp: str = Field(min_length=1)
    group: str | None = None
    resource: str | None = None
    opened: list[str] = Field(default_factory=list)
    responded: list[str] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)
    closed: list[str] = Field(default_factory=list)
    reopened: list[str] = Field(default_factory=list)
    reassignment: Reassignment | None = None
    attributes: Literal["first", "last"] = "last"
    cases: CaseTable | None = None


class ServiceNowOptions(_Frozen):
    """Columns that order the rows of an audit export (defaults: the standard names)."""

    mod_count: str | None = None
    updated_at: str | None = None


class Source(_Frozen):
    """One export file, the adapter that reads it and how its columns map onto a canonical table."""

    path: ExportPath
    adapter: Literal["generic", "servicenow", "jira", "eventlog"] = "generic"
    sheet: str | None = None
    date_format: str | list[str] | None = None
    dayfirst: bool = False
    timezone: TimeZone | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    keep_personal: list[str] = Field(default_factory=list)
    events: EventLog | None = None
    servicenow: ServiceNowOptions | None = None

    @field_validator("adapter", mode="before")
    @classmethod
    def _known_adapter(cls, value: Any) -> Any:
        if value not in ADAPTERS:
            raise ValueError(
                f"unknown adapter {value!r}: known adapters are {', '.join(ADAPTERS)}"
            )
        return value

    @field_validator("date_format")
    @classmethod
    def _formats(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one format, e.g. '%d/%m/%Y %H:%M'")
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _labels_as_text(cls, value: Any) -> Any:
        # YAML reads `{1: P1}` with an integer key; exports are read as text. Booleans
        # are refused: YAML turns an unquoted Yes into True, which no export contains.
        def text(x: Any) -> Any:
            if isinstance(x, bool):  # pydantic reports ValueError, not TypeError, as invalid
                raise ValueError(  # noqa: TRY004
                    f"a label reads as the boolean {x}: YAML turns unquoted Yes/No/On/Off "
                    'into booleans; quote it, e.g. {"Yes": "true"}')
            return str(x) if isinstance(x, int | float) else x

        if isinstance(value, dict):
            return {col: {text(k): text(v) for k, v in m.items()} if isinstance(m, dict) else m
                    for col, m in value.items()}
        return value

    @field_validator("keep_personal")
    @classmethod
    def _personal(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(PERSONAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"keep_personal names {unknown}, which are not personal columns; "
                f"personal columns: {', '.join(PERSONAL_COLUMNS)}"
            )
        return value

    @model_validator(mode="after")
    def _options_match_adapter(self) -> Source:
        if self.adapter == "eventlog" and self.events is None:
            raise ValueError(
                "adapter eventlog needs an `events` mapping (case, activity, timestamp and "
                "the activities that mean resolved, ...): see params/examples/"
            )
        if self.events is not None and self.adapter != "eventlog":
            raise ValueError("`events` is read by the eventlog adapter only: remove it or set "
                             "adapter: eventlog")
        if self.servicenow is not None and self.adapter != "servicenow":
            raise ValueError("`servicenow` options are read by the servicenow adapter only")
        return self

    @property
    def date_formats(self) -> tuple[str, ...]:
        """The strptime formats to try in turn (empty: let pandas infer the format)."""
        if self.date_format is None:
            return ()
        if isinstance(self.date_format, str):
            return (self.date_format,)
        return tuple(self.date_format)

    @property
    def files(self) -> tuple[Path, ...]:
        """Every file this source reads (the export, and an event log's case table)."""
        cases = self.events.cases if self.events is not None else None
        return (self.path,) if cases is None else (self.path, cases.path)


def _source_problems(table: str, source: Source) -> list[str]:
    """What is wrong with ``source`` as the export of ``table`` (empty when it is usable)."""
    where = f"sources.{table}"
    if table not in ADAPTERS[source.adapter]:
        readers = [a for a, tables in ADAPTERS.items() if table in tables]
        return [(f"{where}: adapter {source.adapter!r} does not read {table}; adapters that "
                 f"do: {', '.join(readers)}")]
    allowed = CANONICAL_COLUMNS[table]
    problems = []
    mapped = dict(source.columns)
    if source.events is not None and source.events.cases is not None:
        mapped.update(source.events.cases.columns)
        unknown = sorted(set(source.events.cases.columns) - set(allowed))
        if unknown:
            problems.append(f"{where}.events.cases.columns: unknown canonical column(s) "
                            f"{unknown}; allowed: {', '.join(allowed)}")
    unknown = sorted(set(source.columns) - set(allowed))
    if unknown:
        problems.append(f"{where}.columns: unknown canonical column(s) {unknown}; "
                        f"allowed: {', '.join(allowed)}")
    if source.adapter == "generic":
        missing = [c for c, req in allowed.items() if req and c not in source.columns]
        if missing:
            problems.append(f"{where}.columns must map {missing} to a column of the export")
        unmapped = sorted(set(source.values) - set(source.columns))
        if unmapped:
            problems.append(f"{where}.values: value maps for {unmapped} name no mapped column: "
                            "add them under `columns` first")
    else:
        unknown = sorted(set(source.values) - set(allowed))
        if unknown:
            problems.append(f"{where}.values: {unknown} are not canonical columns of {table}")
    if source.adapter == "eventlog" and "ticket_id" in mapped:
        problems.append(f"{where}.columns: an event log's ticket id is its case column "
                        "(events.case): remove ticket_id from `columns`")
    if source.events is not None and not source.events.resolved and "resolved_at" not in mapped:
        problems.append(f"{where}.events.resolved: list the activities that resolve a ticket "
                        "(or map resolved_at under events.cases.columns)")
    return problems


class Sources(_Frozen):
    tickets: Source
    changes: Source | None = None
    surveys: Source | None = None

    @model_validator(mode="after")
    def _columns(self) -> Sources:
        problems = []
        for table in ("tickets", "changes", "surveys"):
            source = getattr(self, table)
            if source is not None:
                problems += _source_problems(table, source)
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Service(_Frozen):
    """An IT service and the rule that assigns tickets and changes to it."""

    id: Slug
    name: str = Field(min_length=1)
    match: dict[Literal["assignment_group", "category", "cmdb_ci"], list[str]]

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


Duration = Annotated[pd.Timedelta, AfterValidator(_duration), PlainSerializer(str, return_type=str)]


class SlaTarget(_Frozen):
    response: Duration | None = None
    resolution: Duration

    @field_validator("response", "resolution", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return None if value is None else _duration(value)


class SlaPolicy(_Frozen):
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


class Params(_Frozen):
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
    _check_slug(client, "client")
    path = Path(params_dir) / f"{client}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in Path(params_dir).glob("*.yaml"))
        raise ParamsError(
            f"no params file for client {client!r}: {path} does not exist. "
            f"Known clients: {', '.join(known) or 'none'}; create {path} (see params/demo.yaml)"
        )
    return path


def _check_slug(value: str, what: str) -> None:
    if not SLUG.match(value):
        raise ParamsError(
            f"{what} id {value!r} is not safe: use lower-case letters, digits, '-' or '_'"
        )


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
