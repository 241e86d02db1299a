"""The numbers of a gap report: gap table, quarterly history, forecasts, watermelon check.

Every function is pure: it reads a KPI table (:func:`csi_lib.kpis.kpi_table`)
and the params and returns a new frame. Only periods that start by the end of
the quarter under review are read.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.errors import DataError
from csi_lib.gaps.targets import directional_kpis, rag, status, target_table
from csi_lib.gaps.triggers import known_at
from csi_lib.kpis.spc import control_chart
from csi_lib.kpis.trend import MIN_POINTS, Fit, fit_line, forecast
from csi_lib.periods import quarter_label, recent_quarters

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = [
    "FORECAST_LEVEL",
    "TREND_MONTHS",
    "WATERMELON_KPIS",
    "forecast_table",
    "gap_table",
    "quarter_history",
    "watermelon",
]

TREND_MONTHS = 12        # months of history behind each trend and forecast
FORECAST_LEVEL = 0.8     # prediction interval: 4 in 5 outcomes fall inside
# Experience measures read against SLA compliance: green SLAs with these red is a
# "watermelon" (green outside, red inside). The check takes any of them the
# catalogue defines; breach overrun and backlog age join when it gains them.
WATERMELON_KPIS = ("csat_mean", "reopen_rate", "backlog", "resolution_p90_h")
# The SLA compliance a dashboard shows: the resolution SLA, else the response SLA.
SLA_KPIS = ("sla_resolution", "sla_response")
_RANGE = {"share": (0.0, 1.0), "score": (1.0, 5.0), "hours": (0.0, None), "count": (0.0, None)}


def _monthly(kpis: pd.DataFrame, service: str, period: pd.Period) -> dict[str, pd.Series]:
    """Each KPI's last TREND_MONTHS monthly values up to the quarter's end, by period
    label (the service's rows are picked once, not once per KPI)."""
    rows = known_at(kpis, period)
    rows = rows.loc[(rows["freq"] == "M") & (rows["service"] == service)]
    rows = rows.sort_values("period_start", kind="stable")
    return {str(k): pd.Series(g["value"].to_numpy(dtype="float64"),
                              index=pd.Index(g["period"].astype(str))).tail(TREND_MONTHS)
            for k, g in rows.groupby(rows["kpi"].astype(str), sort=False)}


def _series(monthly: dict[str, pd.Series], kpi_id: str) -> pd.Series:
    return monthly.get(kpi_id, pd.Series([], dtype="float64", index=pd.Index([], dtype=object)))


def _fit(series: pd.Series) -> Fit | None:
    return fit_line(series) if series.notna().sum() >= MIN_POINTS else None


def _quarter(kpis: pd.DataFrame, service: str, label: str) -> pd.DataFrame:
    rows = kpis.loc[(kpis["freq"] == "Q") & (kpis["service"] == service)
                    & (kpis["period"] == label)]
    return rows.set_index(rows["kpi"].astype(str))


def gap_table(kpis: pd.DataFrame, params: Params, period: pd.Period,
              service: str) -> pd.DataFrame:
    """One row per directional KPI of ``service`` in quarter ``period``.

    Columns: kpi, value, n, target, source, threshold, gap (value - target, in
    the KPI's unit), gap_rel (gap / target), shortfall (relative distance on the
    wrong side of the target, 0 when met), status, slope (per month over the
    last TREND_MONTHS months), p_value, trend ("improving", "worsening",
    "no clear trend", "too little data") and trend_months.
    """
    params.service(service)
    kpis = known_at(kpis, period)
    now = _quarter(kpis, service, quarter_label(period))
    targets = target_table(params)
    targets = targets.loc[targets["service"] == service].set_index(
        targets.loc[targets["service"] == service, "kpi"].astype(str))
    monthly = _monthly(kpis, service, period)
    rows = []
    for kpi_id in directional_kpis():
        kpi = catalogue.get(kpi_id)
        value = float(now["value"].get(kpi_id, np.nan))
        target = float(targets.loc[kpi_id, "target"])
        sign = 1.0 if kpi.direction == "higher" else -1.0
        gap = value - target
        rel = gap / abs(target) if target else np.nan
        series = _series(monthly, kpi_id)
        fit = _fit(series)
        trend = "too little data"
        if fit is not None:
            better = sign * fit.slope > 0
            trend = ("no clear trend" if not fit.real or fit.slope == 0
                     else "improving" if better else "worsening")
        rows.append({
            "kpi": kpi_id, "value": value, "n": int(now["n"].get(kpi_id, 0)),
            "target": target, "source": targets.loc[kpi_id, "source"],
            "threshold": float(targets.loc[kpi_id, "threshold"]),
            "gap": gap, "gap_rel": rel,
            "shortfall": max(0.0, -sign * rel) if not math.isnan(rel) else np.nan,
            "status": rag(value, None if math.isnan(target) else target, kpi.direction,
                          params.gaps.tolerance),
            "slope": fit.slope if fit else np.nan, "p_value": fit.p_value if fit else np.nan,
            "trend": trend, "trend_months": fit.n if fit else int(series.notna().sum()),
        })
    return pd.DataFrame(rows).astype({"kpi": "string", "source": "string",
                                      "status": "string", "trend": "string"})


def quarter_history(kpis: pd.DataFrame, params: Params, period: pd.Period,
                    service: str) -> pd.DataFrame:
    """Quarterly values of every directional KPI of ``service``: one row per KPI, one
    column per quarter (oldest first) from ``history_quarters`` before ``period`` to it."""
    labels = [quarter_label(q) for q in
              recent_quarters(period, params.reporting.history_quarters + 1)]
    rows = known_at(kpis, period)
    rows = rows.loc[(rows["freq"] == "Q") & (rows["service"] == service)
                    & rows["period"].isin(labels)]
    wide = rows.pivot_table(index="kpi", columns="period", values="value", aggfunc="first",
                            dropna=False)
    wide.index = wide.index.astype(str)
    return wide.reindex(index=directional_kpis(), columns=labels).rename_axis(
        index="kpi", columns=None)


def forecast_table(kpis: pd.DataFrame, params: Params, period: pd.Period,
                   service: str) -> pd.DataFrame:
    """Next quarter's value of each directional KPI of ``service`` on its present course.

    The line fitted to the last TREND_MONTHS monthly values is averaged over the
    next quarter's three months, with a FORECAST_LEVEL prediction interval.
    ``outlook`` says whether the forecast meets the target ("on course", "off
    course", "no target", "too little data") and ``confidence`` whether the whole
    interval agrees ("likely") or straddles the target ("uncertain").
    """
    kpis = known_at(kpis, period)
    targets = target_table(params)
    targets = targets.loc[targets["service"] == service]
    target_of = dict(zip(targets["kpi"].astype(str), targets["target"], strict=True))
    monthly = _monthly(kpis, service, period)
    rows = []
    for kpi_id in directional_kpis():
        kpi = catalogue.get(kpi_id)
        series = _series(monthly, kpi_id)
        target = float(target_of[kpi_id])
        fit = _fit(series)
        row: dict[str, object] = {
            "kpi": kpi_id, "value": np.nan, "low": np.nan, "high": np.nan,
            "level": FORECAST_LEVEL, "months": int(series.notna().sum()),
            "first": series.dropna().index[0] if series.notna().any() else "",
            "last": series.dropna().index[-1] if series.notna().any() else "",
            "target": target, "outlook": "too little data", "confidence": "",
        }
        if fit is not None:
            floor, ceiling = _RANGE[kpi.unit]
            fc = forecast(fit, len(series) - 1, 3, FORECAST_LEVEL, floor=floor,
                          ceiling=ceiling)
            row.update(value=fc.value, low=fc.low, high=fc.high)
            if math.isnan(target):
                row["outlook"] = "no target"
            else:
                ends = [rag(v, target, kpi.direction, 0.0) for v in (fc.low, fc.high)]
                met = rag(fc.value, target, kpi.direction, 0.0) == "green"
                row["outlook"] = "on course" if met else "off course"
                row["confidence"] = "likely" if len(set(ends)) == 1 else "uncertain"
        rows.append(row)
    return pd.DataFrame(rows).astype({"kpi": "string", "first": "string", "last": "string",
                                      "outlook": "string", "confidence": "string"})


def watermelon(kpis: pd.DataFrame, params: Params, period: pd.Period) -> pd.DataFrame:
    """Per service: SLA status against the experience KPIs users feel.

    Columns: service, sla (status of the first SLA KPI with a target), one
    column per experience KPI in WATERMELON_KPIS (its status; without a target,
    "worse signal" when its control chart signals a deterioration in the quarter,
    else "no target"), red (the experience KPIs judged red, comma separated) and
    verdict ("watermelon", "consistent", "SLA not green", "no SLA target", "no SLA data").
    """
    kpis = known_at(kpis, period)
    label = quarter_label(period)
    ids = [k for k in WATERMELON_KPIS if k in catalogue.CATALOGUE]
    targets = target_table(params)
    quarter = kpis.loc[(kpis["freq"] == "Q") & (kpis["period"] == label)].merge(
        targets, on=["service", "kpi"], how="inner")
    if quarter.empty:
        raise DataError(f"the KPI table has no quarterly rows for {label}: compute it with "
                        f"csi_lib.kpis.kpi_table for that quarter")
    directions = quarter["kpi"].map(lambda k: catalogue.get(k).direction)
    quarter = quarter.assign(status=status(quarter["value"], quarter["target"], directions,
                                           params.gaps.tolerance))
    monthly = kpis.loc[kpis["freq"] == "M"]
    rows = []
    for svc in params.services:
        months = monthly.loc[monthly["service"] == svc.id]
        mine = quarter.loc[quarter["service"] == svc.id].set_index(
            quarter.loc[quarter["service"] == svc.id, "kpi"].astype(str))["status"]
        sla = [str(mine.get(k, "no target")) for k in SLA_KPIS]
        judged = [s for s in sla if s != "no target"]
        row: dict[str, object] = {"service": svc.id, "sla": judged[0] if judged else "no target"}
        red = []
        for kpi_id in ids:
            state = str(mine.get(kpi_id, "no data"))
            if state == "no target":
                chart = control_chart(months, svc.id, kpi_id, period,
                                      params.gaps.baseline_months)
                sig = chart.signals
                if (sig["current"] & (sig["reading"] == "worse")).any():
                    state = "worse signal"
            if state in ("red", "worse signal"):
                red.append(kpi_id)
            row[kpi_id] = state
        row["red"] = ", ".join(red)
        row["verdict"] = ("no SLA target" if not judged else "no SLA data"
                          if row["sla"] == "no data" else "SLA not green"
                          if row["sla"] != "green" else "watermelon" if red else "consistent")
        rows.append(row)
    return pd.DataFrame(rows).astype("string")
