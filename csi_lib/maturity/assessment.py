"""The maturity assessment of one client (or service) and quarter, scored once.

:func:`prepare` reads the quarter's questionnaire and the earlier quarters'
(never a later one), scores them and keeps everything the report's sections
show (:mod:`csi_lib.maturity.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib.errors import DataError, ParamsError
from csi_lib.maturity.demo import ensure_demo_questionnaires
from csi_lib.maturity.model import MaturityModel, default_model_path, load_model
from csi_lib.maturity.responses import find_questionnaires, read_quarters
from csi_lib.maturity.scoring import agreement, area_results, holding_back, practice_results
from csi_lib.maturity.trends import quarter_changes, stagnation, target_gaps
from csi_lib.periods import quarter_label, recent_quarters

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["Assessment", "input_files", "prepare"]


@dataclass(frozen=True)
class Assessment:
    """Everything one maturity report shows, computed once by :func:`prepare`."""

    params: Params
    period: pd.Period
    model: MaturityModel
    service: str                  # "" = the whole client
    quarters: tuple[str, ...]     # consecutive quarters shown, oldest first
    files: dict[str, Path]        # quarter -> questionnaire read
    ignored: tuple[Path, ...]     # files in the folder that are not <YYYYQn>.xlsx
    responses: pd.DataFrame       # every rating read, with a quarter column
    practices: pd.DataFrame       # practice results per quarter
    areas: pd.DataFrame           # area results per quarter
    table: pd.DataFrame           # the quarter's areas: level, score, change, target, flags
    agreement: pd.DataFrame       # the quarter's respondent agreement per area
    todo: pd.DataFrame            # practices holding each area back this quarter

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @property
    def previous_label(self) -> str:
        return quarter_label(self.period - 1)

    @property
    def has_previous(self) -> bool:
        """Whether the previous quarter was assessed (with ratings for this scope)."""
        return bool((self.areas["quarter"] == self.previous_label).any())

    def quarter_areas(self, label: str) -> pd.DataFrame:
        return self.areas.loc[self.areas["quarter"] == label].reset_index(drop=True)


def _window(params: Params, quarter: pd.Period) -> tuple[str, ...]:
    """The consecutive quarters a report reads, oldest first, ending with ``quarter``.

    As many as the report shows (``reporting.history_quarters`` before it), and
    at least enough to judge stagnation.
    """
    span = max(params.reporting.history_quarters, params.maturity.stagnation_quarters) + 1
    return tuple(quarter_label(q) for q in recent_quarters(quarter, span))


def _folder(params: Params) -> Path:
    folder = params.maturity.questionnaires
    if folder is None:
        raise ParamsError(f"{params.source_file} sets no maturity.questionnaires: add the folder "
                          "of the quarterly questionnaires (<YYYYQn>.xlsx), relative to the "
                          "params file")
    return folder


def input_files(params: Params, period: str | None = None) -> list[Path]:
    """The files a maturity report of ``period`` reads: the model and the questionnaires.

    For a runner's change detection and manifest. Call
    :func:`~csi_lib.maturity.demo.ensure_demo_questionnaires` first for the
    demo client, whose questionnaires are written on first use.
    """
    quarter = params.period(period)
    found, _ = find_questionnaires(_folder(params), quarter)
    window = _window(params, quarter)
    model = params.maturity.model
    return [model or default_model_path()] + [p for q, p in found.items() if q in window]


def check_inputs(params: Params, period: str | None = None) -> None:
    """Read and score the model and questionnaires a report of ``period`` reads, as the
    notebook will; raises the kit's error naming the file and the fix. For ``csi
    check`` and the runner's plan, so an unreadable file stops a run before it starts."""
    if params.source_file is None:
        raise ParamsError("maturity inputs can be checked only for params read from a file")
    prepare(params.source_file, period)


def prepare(params_file: str | Path, period: str | None, service: str = "") -> Assessment:
    """Read the quarter's and earlier quarters' questionnaires and score them.

    ``service`` scores one service of questionnaires that have a Service
    column; "" scores the whole client (all rows pooled).
    """
    from csi_lib.params import load_params

    params = load_params(params_file)
    quarter = params.period(period)
    settings = params.maturity
    folder = _folder(params)
    ensure_demo_questionnaires(params)
    model = load_model(settings.model)
    unknown = sorted(set(settings.targets) - set(model.area_ids))
    if unknown:
        raise ParamsError(f"{params.source_file}: maturity.targets names area(s) {unknown} that "
                          f"the model {model.describe()} does not have; its areas: "
                          f"{', '.join(model.area_ids)}")
    found, ignored = find_questionnaires(folder, quarter)
    label = quarter_label(quarter)
    if label not in found:
        raise DataError(f"no maturity questionnaire for {label}: expected "
                        f"{folder / f'{label}.xlsx'}. Write a blank one with "
                        "csi_lib.maturity.write_client_questionnaire, have it filled in and "
                        "save it there, or report an earlier quarter.")
    quarters = _window(params, quarter)
    files = {q: p for q, p in found.items() if q in quarters}
    responses = _for_service(read_quarters(files, model), service, files)
    if not (responses["quarter"] == label).any():
        raise DataError(f"questionnaire {files[label]} has no ratings"
                        f"{f' for service {service!r}' if service else ''}: fill in at least "
                        "one respondent's column group")
    practices, areas = _score(responses, model, list(files))
    table, agree, todo = _quarter(params, model, quarters, practices=practices, areas=areas,
                                  responses=responses)
    return Assessment(params=params, period=quarter, model=model, service=service,
                      quarters=quarters, files=files, ignored=tuple(ignored),
                      responses=responses, practices=practices, areas=areas, table=table,
                      agreement=agree, todo=todo)


def _for_service(responses: pd.DataFrame, service: str, files: dict[str, Path]) -> pd.DataFrame:
    if not service:
        return responses
    if not (responses["service"] != "").any():
        raise ParamsError(f"service {service!r} was asked for, but the questionnaires "
                          f"({', '.join(str(p) for p in files.values())}) have no Service "
                          "column: score the whole client (service=\"\") instead")
    return responses.loc[responses["service"] == service].reset_index(drop=True)


def _score(responses: pd.DataFrame, model: MaturityModel,
           quarters: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    practices, areas = [], []
    for q in quarters:
        rows = responses.loc[responses["quarter"] == q]
        if rows.empty:
            continue
        p = practice_results(rows, model)
        practices.append(p.assign(quarter=q))
        areas.append(area_results(p, model).assign(quarter=q))
    return pd.concat(practices, ignore_index=True), pd.concat(areas, ignore_index=True)


def _quarter(params: Params, model: MaturityModel, quarters: tuple[str, ...], *,
             practices: pd.DataFrame, areas: pd.DataFrame, responses: pd.DataFrame
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    settings = params.maturity
    label, previous = quarters[-1], quarters[-2]
    now_p = practices.loc[practices["quarter"] == label].drop(columns="quarter")
    now_a = areas.loc[areas["quarter"] == label].drop(columns="quarter")
    changes = quarter_changes(areas, label, previous)
    stuck = stagnation(areas, quarters, n=settings.stagnation_quarters,
                       min_change=settings.min_change, target=settings.target)
    gaps = target_gaps(now_a, settings.target)
    agree = agreement(responses.loc[responses["quarter"] == label], now_p, model,
                      settings.disagreement)
    table = (changes
             .merge(gaps[["area", "target", "gap", "met"]], on="area")
             .merge(stuck, on="area")
             .merge(agree[["area", "respondents", "spread", "disagree"]], on="area")
             .merge(now_a[["area", "unrated"]], on="area"))
    return table, agree, holding_back(now_p, now_a)
