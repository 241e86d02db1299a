"""Reading the improvement register: every cell checked, every problem reported at once.

Reading reports every problem in one error with the Excel row numbers, so a
consultant fixes the sheet in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from csi_lib import catalogue
from csi_lib.errors import DataError
from csi_lib.register.graph import find_cycle
from csi_lib.register.layout import (
    ACTIVE,
    BY_FIELD,
    COLUMNS,
    CORE_SCORES,
    MODEL_FIELDS,
    OPEN,
    SHEET,
    STATUSES,
    ServiceLike,
    field_of_header,
    service_pairs,
)

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["check_register", "read_register"]

_SPLIT = re.compile(r"[,;\n]+")
_SPLIT_IDS = re.compile(r"[,;\s]+")
_MAX_ROWS_SHOWN = 8


class _Problems:
    """Problems found while reading, grouped by column and message, with their rows."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], list[tuple[int, str]]] = {}

    def add(self, header: str, message: str, row: int, value: object = None) -> None:
        shown = "" if value is None else repr(value) if isinstance(value, str) else f"{value}"
        self.groups.setdefault((header, message), []).append((row, shown))

    def lines(self) -> list[str]:
        out = []
        for (header, message), hits in self.groups.items():
            rows = [r for r, _ in hits]
            rows_text = ", ".join(map(str, rows[:_MAX_ROWS_SHOWN]))
            if len(rows) > _MAX_ROWS_SHOWN:
                rows_text += f" and {len(rows) - _MAX_ROWS_SHOWN} more"
            got = [f"{v} (row {r})" for r, v in hits[:3] if v]
            where = f"column '{header}', " if header else ""
            out.append(f"  - {where}row{'s' if len(rows) > 1 else ''} {rows_text}: {message}"
                       + (f"; got {', '.join(got)}" if got else ""))
        return out


def read_register(path: Path | str, services: Sequence[ServiceLike | str],
                  model: str = "weighted") -> pd.DataFrame:
    """The register's initiatives, checked: one row per initiative, ``row`` = its Excel row.

    Raises :class:`DataError` listing every problem (missing columns, scores out
    of range, unknown services, KPIs or ids, duplicate ids, dependency loops)
    with the Excel row numbers and the fix.
    """
    path = Path(path)
    rows, headers, sheet = _read_sheet(path)
    where = f"improvement register {path}, sheet '{sheet}'"
    columns = _map_headers(headers, where, model)
    pairs = service_pairs(services)
    parsers = _parsers(pairs)
    problems = _Problems()
    records = []
    for excel_row, values in rows:
        cells = {field: values[j] if j < len(values) else None for field, j in columns.items()}
        if all(_blank(v) for v in cells.values()):
            continue
        record: dict[str, Any] = {"row": excel_row}
        for col in COLUMNS:
            raw = cells.get(col.field)
            value, error = (None, None) if _blank(raw) else parsers[col.kind](raw)
            if error:
                problems.add(col.header, error, excel_row, _shown(raw))
            record[col.field] = value
        _check_required(record, model, problems)
        records.append(record)
    frame = _frame(records)
    _check_rows(frame, problems)
    if problems.groups:
        lines = problems.lines()
        raise DataError(f"{where} has {len(lines)} problem(s):\n" + "\n".join(lines)
                        + "\nFix these cells in Excel (row numbers as Excel shows them) and "
                          "run again; the sheet 'Instructions' describes each column.")
    return frame


def check_register(params: Params, period: str | None = None) -> None:  # noqa: ARG001
    """Read the client's register as the prioritisation report will; raises the kit's
    error naming the file, the cells and the fix. For ``csi check`` and the runner's plan."""
    settings = params.prioritisation
    if settings.register_file is not None:
        read_register(settings.register_file, params.services, settings.model)


def _read_sheet(path: Path) -> tuple[list[tuple[int, tuple]], tuple, str]:
    if not path.is_file():
        raise DataError(f"improvement register {path} does not exist: set "
                        "prioritisation.register_file in the client's params, or write a blank "
                        "one with write_register_template")
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it does not read (extensions,
            # conditional formats); the register's values are unaffected.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DataError(f"improvement register {path} is not a readable .xlsx workbook "
                        f"({type(exc).__name__}: {exc}); save it from Excel as .xlsx") from None
    try:
        if SHEET in wb.sheetnames:
            ws = wb[SHEET]
        elif len(wb.sheetnames) == 1:
            ws = wb[wb.sheetnames[0]]
        else:
            raise DataError(f"improvement register {path} has no sheet '{SHEET}' (sheets: "
                            f"{', '.join(wb.sheetnames)}): name the register's sheet '{SHEET}'")
        it = ws.iter_rows(values_only=True)
        headers = next(it, ())
        rows = [(i, r) for i, r in enumerate(it, start=2)]
        return rows, headers or (), ws.title
    finally:
        wb.close()


def _map_headers(headers: tuple, where: str, model: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for j, h in enumerate(headers):
        field = field_of_header(h)
        if field is not None and field not in found:
            found[field] = j
    need = {c.field for c in COLUMNS if c.required} | set(MODEL_FIELDS.get(model, ()))
    missing = [c.header for c in COLUMNS if c.field in need and c.field not in found]
    if missing:
        have = ", ".join(str(h) for h in headers if h is not None) or "nothing"
        why = "" if all(BY_FIELD[f].required for f in MODEL_FIELDS.get(model, ())) else \
            f" (the '{model}' ranking model needs {', '.join(MODEL_FIELDS[model])})"
        raise DataError(
            f"{where}: missing column(s) {', '.join(map(repr, missing))}{why}. The header row "
            f"(row 1) has: {have}. Add the missing column(s) with these headers; "
            "templates/improvement_register.xlsx has the full layout.")
    return found


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 40:
        return value[:37] + "..."
    return value


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        scale = 100.0 if text.endswith("%") else 1.0
        try:
            return float(text.rstrip("%").strip()) / scale
        except ValueError:
            return None
    return None


Parsed = tuple[Any, str | None]


def _parsers(services: list[tuple[str, str]]) -> dict[str, Callable[[Any], Parsed]]:
    by_key = {k.lower(): sid for sid, name in services for k in (sid, name)}
    known = ", ".join(sid for sid, _ in services) or "none listed"
    kpi_keys = {k.lower(): kpi.id for kpi in catalogue.CATALOGUE.values()
                for k in (kpi.id, kpi.label)}

    def text(v: Any) -> Parsed:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return " ".join(str(v).split()) if not isinstance(v, str) else v.strip(), None

    def service(v: Any) -> Parsed:
        sid = by_key.get(str(v).strip().lower())
        return (sid, None) if sid else (None, f"unknown service; use one of: {known}")

    def services_(v: Any) -> Parsed:
        ids, bad = [], []
        for part in _SPLIT.split(str(v)):
            if part.strip():
                sid = by_key.get(part.strip().lower())
                (ids.append(sid) if sid else bad.append(part.strip()))
        if bad:
            return None, f"unknown service(s) {', '.join(bad)}; use ids of: {known}"
        return tuple(dict.fromkeys(ids)), None

    def kpi(v: Any) -> Parsed:
        kid = kpi_keys.get(str(v).strip().lower())
        if kid is None:
            usable = ", ".join(k.id for k in catalogue.CATALOGUE.values()
                               if k.direction != "neutral")
            return None, f"unknown KPI; use one of: {usable}"
        if catalogue.get(kid).direction == "neutral":
            return None, "this KPI has no better direction, so nothing can improve it"
        return kid, None

    def percent(v: Any) -> Parsed:
        x = _number(v)
        if x is None or not 0 <= x <= 10:
            return None, "expected improvement is a percentage from 0% (e.g. 20% or 0.2)"
        return x, None

    def confidence(v: Any) -> Parsed:
        x = _number(v)
        if x is None or not 0 <= x <= 1:
            return None, "confidence is a percentage from 0% to 100%"
        return x, None

    def score(v: Any) -> Parsed:
        x = _number(v)
        if x is None or not x.is_integer() or not 1 <= x <= 5:
            return None, "a score is a whole number from 1 to 5"
        return x, None

    def hours(v: Any) -> Parsed:
        x = _number(v)
        if x is None or x <= 0:
            return None, "effort hours is a number of hours above zero"
        return x, None

    def amount(v: Any) -> Parsed:
        x = _number(v)
        return (x, None) if x is not None and x >= 0 else (None, "enter a number, zero or more")

    def status(v: Any) -> Parsed:
        s = " ".join(re.sub(r"[-_]", " ", str(v)).lower().split())
        if s not in STATUSES:
            return None, f"status is one of: {', '.join(STATUSES)}"
        return s, None

    def ids(v: Any) -> Parsed:
        parts = [text(p)[0] for p in _SPLIT_IDS.split(str(text(v)[0]))]
        return tuple(dict.fromkeys(p for p in parts if p)), None

    def date(v: Any) -> Parsed:
        if isinstance(v, (dt.datetime, dt.date)):
            return pd.Timestamp(v).normalize(), None
        try:
            return pd.Timestamp(str(v).strip()).normalize(), None
        except ValueError:
            return None, "not a date: write it as YYYY-MM-DD"

    return {"id": text, "text": text, "service": service, "services": services_, "kpi": kpi,
            "percent": percent, "confidence": confidence, "score": score, "hours": hours,
            "money": amount, "count": amount, "status": status, "ids": ids, "date": date}


def _check_required(record: dict[str, Any], model: str, problems: _Problems) -> None:
    row = record["row"]
    for field in ("id", "title", "service", "status"):
        if record[field] is None and not _has_problem(problems, row, field):
            problems.add(BY_FIELD[field].header, "required: every row needs it", row)
    if record["id"] is not None and _SPLIT_IDS.search(record["id"]):
        problems.add("ID", "an id has no spaces, commas or semicolons (they separate the ids "
                           "in 'Depends on')", row, record["id"])
    status = record["status"]
    if status in ACTIVE:
        for field in (*CORE_SCORES, "effort_hours"):
            if record[field] is None and not _has_problem(problems, row, field):
                problems.add(BY_FIELD[field].header,
                             "required for proposed, approved and in-progress initiatives", row)
    if status in OPEN:
        for field in MODEL_FIELDS.get(model, ()):
            if record[field] is None and not _has_problem(problems, row, field):
                problems.add(BY_FIELD[field].header,
                             f"required by the '{model}' ranking model for proposed and "
                             "approved initiatives", row)
    if status == "delivered" and record["delivered"] is None \
            and not _has_problem(problems, row, "delivered"):
        problems.add(BY_FIELD["delivered"].header,
                     "required for delivered initiatives: the benefit review measures from it",
                     row)
    review, delivered = record["review_date"], record["delivered"]
    if review is not None and (delivered is None or review < delivered):
        problems.add(BY_FIELD["review_date"].header,
                     "a post-implementation review comes after the delivery date", row,
                     review.date().isoformat())
    kpi, gain = record["kpi"], record["expected_improvement"]
    if kpi is not None and gain is not None and catalogue.get(kpi).direction == "lower" \
            and gain > 1:
        problems.add(BY_FIELD["expected_improvement"].header,
                     "a KPI where lower is better cannot improve by more than 100%", row,
                     f"{gain:.0%}")


def _has_problem(problems: _Problems, row: int, field: str) -> bool:
    """Whether a cell already has a problem (a bad value is not also reported as missing)."""
    header = BY_FIELD[field].header
    return any(h == header and any(r == row for r, _ in hits)
               for (h, _), hits in problems.groups.items())


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    fields = ["row", *(c.field for c in COLUMNS)]
    data: dict[str, list[Any]] = {f: [r[f] for r in records] for f in fields}
    frame = pd.DataFrame(data, columns=fields)
    numeric = [c.field for c in COLUMNS if c.kind in
               ("percent", "confidence", "score", "hours", "money", "count")]
    frame[numeric] = frame[numeric].astype("float64")
    for f in ("proposed", "delivered", "decided", "review_date"):
        frame[f] = pd.to_datetime(frame[f])
    for f in ("other_services", "depends_on"):
        frame[f] = [v if isinstance(v, tuple) else () for v in frame[f]]
    frame["other_services"] = [tuple(s for s in o if s != p)
                               for o, p in zip(frame["other_services"], frame["service"],
                                               strict=True)]
    frame["row"] = frame["row"].astype("int64")
    return frame


def _check_rows(frame: pd.DataFrame, problems: _Problems) -> None:
    ids = frame["id"].dropna()
    for rid in ids[ids.duplicated(keep=False)].unique():
        for row in frame.loc[frame["id"] == rid, "row"]:
            problems.add("ID", "ids must be unique: this id is on several rows", int(row), rid)
    known = set(ids)
    header = BY_FIELD["depends_on"].header
    for row, deps in zip(frame["row"], frame["depends_on"], strict=True):
        unknown = [d for d in deps if d not in known]
        if unknown:
            problems.add(header, "depends on id(s) not in the register: add them or correct "
                                 "the ids", int(row), ", ".join(unknown))
    graph = {rid: tuple(d for d in deps if d in known)
             for rid, deps in zip(frame["id"], frame["depends_on"], strict=True)
             if rid is not None}
    loop = find_cycle(graph)
    if loop:
        rows = {rid: int(r) for rid, r in zip(frame["id"], frame["row"], strict=True)}
        problems.add(header, "dependencies form a loop " + " → ".join(loop)
                     + " (rows " + ", ".join(str(rows[i]) for i in loop[:-1]) + "): an "
                     "initiative cannot wait for itself; remove one id of the loop",
                     rows[loop[0]])
