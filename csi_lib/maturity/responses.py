"""Reading completed maturity questionnaires: one quarter's workbook, or a client's folder.

Every problem of a workbook is reported in one :class:`~csi_lib.errors.DataError`
that names the file, the sheet, each bad cell or row and the fix; files of
quarters after the period under review are never read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from csi_lib.errors import DataError
from csi_lib.maturity.model import MaturityModel
from csi_lib.maturity.questionnaire import HEADER_ROW, NAME_ROW, ROLE_ROW, SHEET
from csi_lib.maturity.scoring import parse_rating
from csi_lib.periods import quarter_label

__all__ = ["RESPONSE_COLUMNS", "find_questionnaires", "read_quarters", "read_questionnaire"]

RESPONSE_COLUMNS = ["service", "respondent", "role", "practice", "rating", "achievement",
                    "evidence", "comment", "row"]
_MAX_PROBLEMS = 25
_LABEL = re.compile(r"^(\d{4}Q[1-4])\.xlsx$")


def _norm(value: object) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def _text(value: object) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()) if not isinstance(value, float) else f"{value:g}"


class _Problems:
    """Problems found in one sheet, reported together with their cells and fixes."""

    def __init__(self, path: Path, sheet: str) -> None:
        self.where = f"questionnaire {path}, sheet {sheet!r}"
        self.items: list[str] = []

    def add(self, text: str) -> None:
        self.items.append(text)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:_MAX_PROBLEMS]
        more = len(self.items) - len(shown)
        raise DataError(f"{self.where} has {len(self.items)} problem(s):\n"
                        + "\n".join(f"  - {p}" for p in shown)
                        + (f"\n  ... and {more} more" if more else ""))


def read_questionnaire(path: Path | str, model: MaturityModel) -> pd.DataFrame:
    """The ratings of one completed questionnaire, one row per (respondent, practice).

    Columns: ``service`` ("" without a Service column), ``respondent``, ``role``,
    ``practice``, ``rating`` (as typed, normalised), ``achievement`` (0-100),
    ``evidence``, ``comment``, ``row`` (sheet row). Blank ratings are left out.
    Raises :class:`DataError` naming the sheet, each bad cell and the fix:
    unknown practice ids, ratings off the scale, groups of ratings without a
    respondent name, repeated practices or respondents, formulas.
    """
    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except FileNotFoundError:
        raise DataError(f"questionnaire {path} does not exist") from None
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise DataError(f"questionnaire {path} cannot be read as an Excel workbook (.xlsx): "
                        f"{exc}. Save it from Excel as .xlsx and try again.") from None
    try:
        if SHEET not in wb.sheetnames:
            raise DataError(f"questionnaire {path} has no sheet {SHEET!r} (sheets: "
                            f"{', '.join(repr(s) for s in wb.sheetnames)}); start from a "
                            "questionnaire written by csi-kit and keep the sheet's name.")
        grid = [list(row) for row in wb[SHEET].iter_rows(min_row=1, min_col=1)]
    finally:
        wb.close()
    return _parse(grid, path, model)


def _parse(grid: list[list[Any]], path: Path, model: MaturityModel) -> pd.DataFrame:
    problems = _Problems(path, SHEET)
    header_at = next((i for i, row in enumerate(grid[:10])
                      if any(_norm(c.value) == "practice id" for c in row)), None)
    if header_at is None or header_at < ROLE_ROW:
        problems.add(f"no header row with a 'Practice id' column in rows {HEADER_ROW}-10 "
                     "(below the rows of respondent names and roles). Fix: start from a "
                     "questionnaire written by csi-kit and keep its first three rows.")
        problems.raise_if_any()
    header = [_norm(c.value) for c in grid[header_at]]
    names, roles = grid[header_at - 2], grid[header_at - 1]
    col_practice = header.index("practice id")
    col_service = header.index("service") if "service" in header else None
    groups = _groups(header, names, roles, problems)
    known = set(model.practice_table["practice"])
    by_case = {p.casefold(): p for p in known}
    seen: dict[tuple[str, str], int] = {}
    records = []
    for i in range(header_at + 1, len(grid)):
        row, excel_row = grid[i], i + 1
        # A rating must be a value; a formula in Evidence or Comment (a HYPERLINK, say)
        # is kept as its text and never evaluated.
        for g in groups:
            cell = _cell(row, g["rating"])
            if getattr(cell, "data_type", None) == "f":
                problems.add(f"cell {get_column_letter(g['rating'] + 1)}{excel_row} holds a "
                             f"formula ({cell.value}). Fix: type the rating itself.")
        raw_id = _text(row[col_practice].value) if col_practice < len(row) else ""
        rated = [g for g in groups if _cell(row, g["rating"]) is not None
                 and _text(_cell(row, g["rating"]).value)
                 and getattr(_cell(row, g["rating"]), "data_type", None) != "f"]
        if not raw_id:
            if rated:
                problems.add(f"row {excel_row} has ratings but no practice id in column "
                             f"{get_column_letter(col_practice + 1)}. Fix: restore the id "
                             "(copy it from the questionnaire template) or clear the row.")
            continue
        practice = by_case.get(raw_id.casefold())
        if practice is None:
            problems.add(f"row {excel_row}: practice id {raw_id!r} is not in the model "
                         f"{model.describe()}; {model.suggest(raw_id)} Fix: correct the id, "
                         "or regenerate the questionnaire from the model in use.")
            continue
        service = ""
        if col_service is not None:
            service = _text(row[col_service].value) if col_service < len(row) else ""
            if not service and rated:
                problems.add(f"row {excel_row} (practice {practice}) has ratings but no "
                             f"service in column {get_column_letter(col_service + 1)}. "
                             "Fix: type the service id.")
                continue
        key = (service, practice)
        if key in seen:
            problems.add(f"practice {practice}{f' of service {service!r}' if service else ''}"
                         f" appears in rows {seen[key]} and {excel_row}. Fix: keep one row "
                         "per practice and merge the ratings.")
            continue
        seen[key] = excel_row
        for g in rated:
            cell = _cell(row, g["rating"])
            ref = f"{get_column_letter(g['rating'] + 1)}{excel_row}"
            if g["name"] is None:
                continue     # reported once per group by _groups' caller below
            try:
                parsed = parse_rating(cell.value, getattr(cell, "number_format", "General"))
            except ValueError as exc:
                problems.add(f"cell {ref} (row {excel_row}, practice {practice}, respondent "
                             f"{g['name']!r}): {exc}.")
                continue
            if parsed is None:
                continue
            records.append({"service": service, "respondent": g["name"], "role": g["role"],
                            "practice": practice, "rating": parsed[0],
                            "achievement": parsed[1],
                            "evidence": _text(_value(row, g["evidence"])),
                            "comment": _text(_value(row, g["comment"])), "row": excel_row})
    for g in groups:
        if g["name"] is None:
            count = sum(1 for i in range(header_at + 1, len(grid))
                        if _cell(grid[i], g["rating"]) is not None
                        and _text(_cell(grid[i], g["rating"]).value))
            if count:
                ref = f"{get_column_letter(g['rating'] + 1)}{header_at - 1}"
                problems.add(f"the respondent group with ratings in column "
                             f"{get_column_letter(g['rating'] + 1)} ({count} rating(s)) has no "
                             f"respondent name. Fix: type the respondent's name in cell {ref}.")
    problems.raise_if_any()
    return pd.DataFrame(records, columns=RESPONSE_COLUMNS).astype(
        {"achievement": "float64", "row": "int64"})


def _cell(row: list[Any], col: int | None) -> Any:
    return row[col] if col is not None and col < len(row) else None


def _value(row: list[Any], col: int | None) -> object:
    cell = _cell(row, col)
    return None if cell is None else cell.value


def _groups(header: list[str], names: list[Any], roles: list[Any],
            problems: _Problems) -> list[dict[str, Any]]:
    """Respondent column groups: a 'Rating' header, then optional Evidence and Comment."""
    groups = []
    seen: dict[str, str] = {}
    for col, title in enumerate(header):
        if title != "rating":
            continue
        evidence = col + 1 if col + 1 < len(header) and header[col + 1] == "evidence" else None
        comment = col + 2 if evidence and col + 2 < len(header) and \
            header[col + 2] == "comment" else None
        name = _text(_value(names, col)) or None
        if name is not None:
            ref = f"{get_column_letter(col + 1)}{NAME_ROW}"
            if name.casefold() in seen:
                problems.add(f"respondent {name!r} names two column groups (cells "
                             f"{seen[name.casefold()]} and {ref}). Fix: give each respondent "
                             "one group, or tell the two apart (e.g. add a surname).")
            seen.setdefault(name.casefold(), ref)
        groups.append({"rating": col, "evidence": evidence, "comment": comment,
                       "name": name, "role": _text(_value(roles, col))})
    if not groups:
        problems.add(f"row {HEADER_ROW} has no 'Rating' column. Fix: keep the Rating, "
                     "Evidence and Comment headers of each respondent group.")
    return groups


# ---------------------------------------------------------------- the quarters of a client


def find_questionnaires(folder: Path | str, period: pd.Period
                        ) -> tuple[dict[str, Path], list[Path]]:
    """The questionnaires of quarters up to ``period``: ({"2026Q3": path, ...}, ignored).

    Files are named ``<YYYYQn>.xlsx``. Files of later quarters are never
    returned (no data from after the period); other names are returned as
    ignored so the report can list them. Excel's lock files (``~$...``) are
    skipped silently.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return {}, []
    found: dict[str, Path] = {}
    ignored: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(("~$", ".")) or not path.is_file():
            continue
        match = _LABEL.match(path.name)
        if match is None:
            ignored.append(path)
            continue
        # The period's own frequency: labels read on the client's fiscal calendar.
        quarter = pd.Period(match.group(1), freq=period.freq)
        if quarter <= period:
            found[quarter_label(quarter)] = path
    return dict(sorted(found.items())), ignored


def read_quarters(files: dict[str, Path], model: MaturityModel) -> pd.DataFrame:
    """The ratings of several quarters' questionnaires, with a ``quarter`` column first."""
    frames = [read_questionnaire(path, model).assign(quarter=label)
              for label, path in files.items()]
    if not frames:
        return pd.DataFrame(columns=["quarter", *RESPONSE_COLUMNS])
    out = pd.concat(frames, ignore_index=True)
    return out[["quarter", *RESPONSE_COLUMNS]]
