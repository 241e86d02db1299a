"""The `sources:` section: which adapter reads which export, and how."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from csi_lib.params.base import Frozen, TimeZone

__all__ = [
    "ADAPTERS", "CANONICAL_COLUMNS", "EXPORT_SUFFIXES", "PERSONAL_COLUMNS", "EventLog", "ExportFile",
    "Source", "Sources",
]

# Source columns each canonical table can take from an export; DESIGN.md's contract.
CANONICAL_COLUMNS: dict[str, dict[str, bool]] = {
    # name -> required?
    "tickets": {
        "ticket_id": True, "record_type": False, "opened_at": True, "responded_at": False,
        "resolved_at": True, "closed_at": False, "state": False, "priority": True,
        "category": False, "subcategory": False, "channel": False, "assignment_group": False,
        "reassignment_count": False, "reopen_count": False, "made_sla": False, "caller": False,
        "cmdb_ci": False, "impact": False, "urgency": False, "knowledge": False,
        "assignee": False, "description": False, "updated_at": False,
    },
    "changes": {
        "change_id": True, "change_type": True, "assignment_group": False,
        "planned_start": False, "planned_end": False, "actual_end": True, "outcome": True,
        "caused_incident": False, "category": False, "cmdb_ci": False, "updated_at": False,
    },
    "surveys": {"ticket_id": True, "answered_at": True, "score": True},
}
# Canonical columns that name or describe people: replaced by a keyed hash at ingest
# unless a source lists them under `keep_personal` (GDPR art. 4(5) pseudonymisation).
PERSONAL_COLUMNS = ("caller", "assignee", "description")


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


class Reassignment(Frozen):
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


# Delimiters by name, for YAML files where a tab is hard to see.
DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


class ExportFile(Frozen):
    """An export file and how to read it: sheet and header row, or a CSV's encoding and delimiter.

    ``header_row`` is the line (CSV) or row (Excel) of the column names, 1 for
    the first; rows above it (a report title) are skipped. Without ``encoding``
    a CSV is read as UTF-8, or as UTF-16/UTF-8 when it starts with a byte-order
    mark; without ``delimiter`` the separator is sniffed from the first lines.
    """

    path: ExportPath
    sheet: str | None = None
    header_row: int = Field(default=1, ge=1)
    encoding: str | None = None
    delimiter: str | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {value!r}: use a Python codec name such as utf-8, "
                    "cp1252 (Windows), latin-1 or utf-16"
                ) from None
        return value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return value
        value = DELIMITER_NAMES.get(value.lower(), value)
        if len(value) != 1 or value in "\"\r\n":
            raise ValueError(
                f"delimiter {value!r} must be one character such as ';' or '|', or one of "
                f"{', '.join(DELIMITER_NAMES)}"
            )
        return value

    @model_validator(mode="after")
    def _options_match_format(self) -> ExportFile:
        if self.path.suffix.lower() == ".xlsx":
            wrong = [k for k in ("encoding", "delimiter") if getattr(self, k) is not None]
            if wrong:
                raise ValueError(f"{' and '.join(wrong)} apply to CSV exports only, and "
                                 f"{self.path.name} is a workbook: remove them")
        return self


class CaseTable(ExportFile):
    """A second export with one row per case, for attributes the event log lacks."""

    case: str = Field(min_length=1)
    columns: dict[str, str] = Field(default_factory=dict)


class EventLog(Frozen):
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


class ServiceNowOptions(Frozen):
    """Columns that order the rows of an audit export (defaults: the standard names), and
    whether a closed ticket without a resolved time takes its closed time (flagged)."""

    mod_count: str | None = None
    updated_at: str | None = None
    closed_as_resolved: bool = True


class Source(ExportFile):
    """One export file, the adapter that reads it and how its columns map onto a canonical table."""

    adapter: Literal["generic", "servicenow", "jira", "eventlog"] = "generic"
    date_format: str | list[str] | None = None
    dayfirst: bool | None = None  # None: each column's slash dates prove their order
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


class Sources(Frozen):
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


