"""Workbooks the consultant hands over: the quarter's results, and next quarter's questionnaire."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from csi_lib.display import write_csv
from csi_lib.errors import ParamsError
from csi_lib.maturity.assessment import Assessment
from csi_lib.maturity.model import load_model
from csi_lib.maturity.questionnaire import _put, _save, write_questionnaire
from csi_lib.maturity.report import area_table, todo_table
from csi_lib.maturity.responses import find_questionnaires, read_questionnaire
from csi_lib.maturity.scoring import overall
from csi_lib.periods import quarter_label

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["MATURITY_COLUMNS", "published_areas", "write_client_questionnaire", "write_results"]

MATURITY_COLUMNS = ("area", "area_name", "level", "level_name", "score", "previous_level",
                    "previous_score", "change", "level_change", "target", "met", "stagnating",
                    "weakest", "overall_level", "overall_level_name", "previous_overall_level")


def published_areas(ctx: Assessment) -> pd.DataFrame:
    """One row per capability area, as published in ``maturity.csv``.

    Beside each area's level and score (and the previous quarter's) every row carries
    the organisation's overall level (its weakest area's, ISO/IEC 33020 as the report
    applies it) now and the quarter before, and ``weakest`` marks the areas setting it.
    """
    t = ctx.table
    now = overall(t)
    before = overall(ctx.quarter_areas(ctx.previous_label))["level"] if ctx.has_previous \
        else pd.NA
    return t.assign(
        level_name=[ctx.model.level_name(int(k)) for k in t["level"]],
        weakest=t["area"].isin(now["weakest"]),
        overall_level=now["level"], overall_level_name=ctx.model.level_name(now["level"]),
        previous_overall_level=before)[list(MATURITY_COLUMNS)]


def write_results(ctx: Assessment, report_dir: str | Path) -> Path | None:
    """Write ``maturity_results.xlsx`` (areas, scores by quarter, to-do list, practices,
    agreement) and ``maturity.csv`` (:func:`published_areas`, which the quarterly pack
    reads) into ``report_dir``; nothing when ``report_dir`` is "" (a run by hand)."""
    if not str(report_dir):
        return None
    write_csv(published_areas(ctx), Path(report_dir) / "maturity.csv")
    scores = ctx.areas.pivot(  # noqa: PD010 (one score per area and quarter)
        index="area_name", columns="quarter", values="score")
    scores = scores.reindex(index=ctx.table["area_name"]).reset_index(names="Area")
    now = ctx.practices.loc[ctx.practices["quarter"] == ctx.label]
    practices = pd.DataFrame({
        "Area": now["area_name"], "Level": now["level"], "Practice id": now["practice"],
        "Practice": now["text"], "Respondents": now["respondents"],
        "Median achievement %": now["achievement"].round(1), "Rating": now["band"],
        "Spread (points)": now["spread"]})
    sheets = {"Areas": area_table(ctx), "Scores by quarter": scores,
              "To do": todo_table(ctx), "Practices": practices,
              "Agreement": ctx.agreement.drop(columns="area").rename(columns={
                  "area_name": "Area", "respondents": "Respondents",
                  "compared": "Practices compared", "spread": "Mean spread (points)",
                  "split": "Practices two bands apart", "disagree": "Disagree widely"})}
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets.items():
        ws = wb.create_sheet(name)
        for col, header in enumerate(frame.columns, start=1):
            _put(ws, 1, col, str(header), font=Font(bold=True),
                 fill=PatternFill("solid", fgColor="DCE6F1"))
            ws.column_dimensions[get_column_letter(col)].width = min(
                60, max(10, *(len(str(v)) for v in frame.iloc[:, col - 1]), len(str(header))))
        for r, values in enumerate(frame.itertuples(index=False), start=2):
            for col, value in enumerate(values, start=1):
                clean = None if not isinstance(value, str) and pd.isna(value) else value
                if hasattr(clean, "item"):
                    clean = clean.item()   # numpy scalar -> Python for openpyxl
                _put(ws, r, col, clean, alignment=Alignment(vertical="top", wrap_text=True))
        ws.freeze_panes = "A2"
    return _save(wb, Path(report_dir) / "maturity_results.xlsx")


def write_client_questionnaire(params: Params, period: str | None = None,
                               path: Path | str | None = None, *, slots: int = 4,
                               overwrite: bool = False) -> Path:
    """Write the blank questionnaire of a client and quarter (for ``csi``).

    Default path: ``<maturity.questionnaires>/<quarter>.xlsx``. Respondent names
    and roles are carried over from the latest earlier questionnaire, so the
    same panel answers again; the model is the client's (``maturity.model``).
    """
    quarter = params.period(period)
    label = quarter_label(quarter)
    settings = params.maturity
    if path is None:
        if settings.questionnaires is None:
            raise ParamsError(f"{params.source_file} sets no maturity.questionnaires: give a "
                              "path for the questionnaire or set the folder in the params")
        path = settings.questionnaires / f"{label}.xlsx"
    model = load_model(settings.model)
    names: list[str] = []
    roles: list[str] = []
    if settings.questionnaires is not None:
        earlier, _ = find_questionnaires(settings.questionnaires, quarter - 1)
        if earlier:
            last = read_questionnaire(list(earlier.values())[-1], model)
            panel = last.drop_duplicates("respondent")
            names, roles = panel["respondent"].tolist(), panel["role"].tolist()
    return write_questionnaire(path, model, client=params.client.name, quarter=label,
                               respondents=names, roles=roles, slots=max(slots, len(names)),
                               overwrite=overwrite)
