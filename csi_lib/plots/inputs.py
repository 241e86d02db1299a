"""Checks and selections of the tables the charts draw from."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from csi_lib.errors import DataError, ParamsError


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} has no column(s) {missing}; its columns are "
                        f"{list(frame.columns)}. Pass the table csi_lib builds.")


def _service_kpis(kpis: pd.DataFrame, service: str, freq: str) -> pd.DataFrame:
    if freq not in ("M", "Q"):
        raise ParamsError(f"freq must be 'M' (months) or 'Q' (quarters), got {freq!r}")
    _require(kpis, ["service", "freq", "period", "period_start", "kpi", "value", "n"],
             "the KPI table")
    rows = kpis.loc[(kpis["service"] == service) & (kpis["freq"] == freq)]
    dup = rows.loc[rows.duplicated(["kpi", "period"], keep=False)]
    if not dup.empty:
        raise DataError(f"the KPI table has {len(dup)} rows sharing (service, freq, period, "
                        f"kpi), e.g. {service!r} {dup['kpi'].iloc[0]!r} "
                        f"{dup['period'].iloc[0]!r}; it must have one row for each.")
    return rows.sort_values("period_start")


def _series(rows: pd.DataFrame, kpi: str, column: str) -> pd.DataFrame:
    one = rows.loc[rows["kpi"] == kpi]
    return pd.DataFrame({"x": pd.DatetimeIndex(one["period_start"]),
                         "y": one[column].to_numpy(dtype=float)})
