"""The gap report's context: everything one report shows, computed once.

:func:`prepare` loads a client's data and builds the context for one service
and quarter; :func:`build` does the same from a KPI table (what tests use).
Both read the KPI table as known at the quarter's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from csi_lib.data import load_kpis, load_tables
from csi_lib.display import write_csv
from csi_lib.gaps.analysis import forecast_table, gap_table, quarter_history, watermelon
from csi_lib.gaps.targets import directional_kpis, validate_targets
from csi_lib.gaps.triggers import known_at, triggers
from csi_lib.kpis.spc import ControlChart, control_charts
from csi_lib.params import load_params
from csi_lib.periods import quarter_label
from csi_lib.quality import exclusion_table

if TYPE_CHECKING:
    from csi_lib.params import Params, Service

__all__ = ["GAPS_COLUMNS", "GapContext", "build", "prepare", "published_gaps", "write_triggers"]


@dataclass(frozen=True)
class GapContext:
    """Everything one gap report shows, computed once."""

    params: Params
    period: pd.Period
    service: Service
    kpis: pd.DataFrame            # every service, as known at the quarter's end
    gaps: pd.DataFrame            # gap_table of the service
    history: pd.DataFrame         # quarter_history of the service
    charts: dict[str, ControlChart] = field(repr=False)
    triggers: pd.DataFrame = field(repr=False)    # the service's raised reviews
    forecasts: pd.DataFrame = field(repr=False)
    watermelon: pd.DataFrame = field(repr=False)  # every service
    # quality.exclusion_table of the client; None when built without the ingested tables
    exclusions: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return quarter_label(self.period)

    @property
    def next_label(self) -> str:
        return quarter_label(self.period + 1)


def build(params: Params, kpis: pd.DataFrame, period: pd.Period, service: str) -> GapContext:
    """The report's numbers from a KPI table; rows after ``period`` are ignored."""
    validate_targets(params)
    svc = params.service(service)
    kpis = known_at(kpis, period)
    charts = control_charts(kpis, svc.id, directional_kpis(), period,
                            params.gaps.baseline_months)
    return GapContext(
        params=params, period=period, service=svc, kpis=kpis,
        gaps=gap_table(kpis, params, period, svc.id),
        history=quarter_history(kpis, params, period, svc.id),
        charts=charts,
        triggers=triggers(kpis, params, period, services=[svc.id], charts={svc.id: charts}),
        forecasts=forecast_table(kpis, params, period, svc.id),
        watermelon=_client_watermelon(kpis, params, period),
    )


# The watermelon table covers every service of the client, so every gap report of
# the client shows the same one. A kernel kept between reports computes it once,
# keyed by the content of its inputs, and hands each report its own copy.
_WATERMELONS: dict[tuple[str, str, int], pd.DataFrame] = {}
_KEEP = 4


def _client_watermelon(kpis: pd.DataFrame, params: Params, period: pd.Period) -> pd.DataFrame:
    key = (str(period), params.model_dump_json(),
           int(pd.util.hash_pandas_object(kpis, index=False).sum()))
    if key not in _WATERMELONS:
        while len(_WATERMELONS) >= _KEEP:
            _WATERMELONS.pop(next(iter(_WATERMELONS)))
        _WATERMELONS[key] = watermelon(kpis, params, period)
    return _WATERMELONS[key].copy()


def prepare(params_file: str | Path, period: str | None, service: str,
            outputs: str | Path) -> GapContext:
    """Load params and data (from the ingest cache when fresh), compute the KPIs as
    known at the quarter's end and build the report."""
    params = load_params(params_file)
    validate_targets(params)
    quarter = params.period(period)
    params.service(service)
    # The KPI table of the quarter is cached: every notebook of the client reads the
    # same figures without computing them again.
    tables = load_tables(params, outputs)
    kpis = load_kpis(params, quarter, outputs, tables)
    return replace(build(params, kpis, quarter, service),
                   exclusions=exclusion_table(tables, params))


def client_triggers(params_file: str | Path, period: str | None,
                    outputs: str | Path) -> pd.DataFrame:
    """The improvement-review triggers of every service of the client in the quarter."""
    params = load_params(params_file)
    validate_targets(params)
    quarter = params.period(period)
    return triggers(load_kpis(params, quarter, outputs), params, quarter)


def write_triggers(ctx: GapContext, report_dir: str | Path) -> Path | None:
    """Publish the service's tables beside its report (nothing when ``report_dir`` is ''):
    ``triggers.csv`` (the reviews raised) and ``gaps.csv`` (each KPI against its target,
    with its status, trend and the service's watermelon verdict), which the quarterly
    pack reads. Returns the path of ``triggers.csv``."""
    if not str(report_dir):
        return None
    folder = Path(report_dir)
    write_csv(published_gaps(ctx), folder / "gaps.csv")
    return write_csv(ctx.triggers.astype("string"), folder / "triggers.csv")


GAPS_COLUMNS = ("service", "kpi", "value", "n", "target", "threshold", "status", "trend",
                "previous", "watermelon")


def published_gaps(ctx: GapContext) -> pd.DataFrame:
    """The gap table as published in ``gaps.csv``: one row per directional KPI.

    ``previous`` is the KPI's value the quarter before (from the quarterly history),
    ``watermelon`` the service's verdict in the watermelon check.
    """
    previous = ctx.history.iloc[:, -2] if ctx.history.shape[1] > 1 else None
    mine = ctx.watermelon.loc[ctx.watermelon["service"] == ctx.service.id, "verdict"]
    return ctx.gaps.assign(
        service=ctx.service.id,
        previous=[float("nan") if previous is None else previous.get(k, float("nan"))
                  for k in ctx.gaps["kpi"]],
        watermelon=str(mine.iloc[0]) if len(mine) else "")[list(GAPS_COLUMNS)]
