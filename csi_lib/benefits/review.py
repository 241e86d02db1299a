"""The benefit review of every initiative delivered in the review window: one row, one verdict.

Windows (ITIL CSI step 6, "monitor results: compare performance before and
after the change"): ``baseline_months`` full months before the delivery month,
then ``settling_months`` left out while the change beds in, then the after
window up to the period end. Fewer than ``min_after_months`` after months is
"too early", with the date a verdict is due.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.benefits.effect import Estimate, estimate
from csi_lib.kpis.spc import OUTSIDE, SHIFT, run_rules, xmr_limits
from csi_lib.params.benefits import BenefitSettings
from csi_lib.register.outcomes import BENEFIT_COLUMNS

__all__ = ["MIN_BASELINE_VALUES", "Windows", "monthly_wide", "review", "windows"]

# Fewest baseline months with a value before a level is called a baseline.
MIN_BASELINE_VALUES = 3


@dataclass(frozen=True)
class Windows:
    """The months an initiative's KPI is compared over."""

    delivery: pd.Period                  # the delivery month (neither before nor after)
    baseline: list[pd.Period]
    after: list[pd.Period]               # from the end of settling up to the period end
    trend: list[pd.Period]               # the months a pre-delivery trend is fitted over
    review_due: pd.Timestamp             # first day on which the after window is long enough


def windows(delivered: pd.Timestamp, last_month: pd.Period,
            settings: BenefitSettings) -> Windows:
    """The windows of an initiative delivered on ``delivered``, judged at ``last_month``."""
    dm = pd.Timestamp(delivered).to_period("M")
    first_after = dm + settings.settling_months + 1
    n_after = max((last_month - first_after).n + 1, 0)
    return Windows(
        delivery=dm,
        baseline=[dm - k for k in range(settings.baseline_months, 0, -1)],
        after=[first_after + k for k in range(n_after)],
        trend=[dm - k for k in range(settings.trend_months, 0, -1)],
        review_due=(first_after + settings.min_after_months).start_time,
    )


def monthly_wide(kpis: pd.DataFrame, kpi_id: str) -> pd.DataFrame:
    """One KPI's monthly values: months (PeriodIndex) x services."""
    rows = kpis.loc[(kpis["freq"] == "M") & (kpis["kpi"] == kpi_id)]
    wide = rows.pivot_table(index="period", columns="service", values="value", aggfunc="first")
    wide.index = pd.PeriodIndex([pd.Period(str(p), "M") for p in wide.index], freq="M")
    return wide.sort_index()


def _controls(row: pd.Series, delivered: pd.DataFrame, services: Sequence[str],
              w: Windows, last_month: pd.Period) -> list[str]:
    """Services the initiative did not touch, less those another delivered initiative on the
    same KPI touched between the baseline's start and the period end."""
    touched = {row["service"], *row["other_services"]}
    start, end = w.baseline[0].start_time, last_month.end_time
    others = delivered.loc[(delivered["id"] != row["id"]) & (delivered["kpi"] == row["kpi"])
                           & delivered["delivered"].between(start, end)]
    for _, o in others.iterrows():
        touched |= {o["service"], *o["other_services"]}
    return [s for s in services if s not in touched]


def _control_chart(values: pd.Series, w: Windows, kpi: catalogue.Kpi) -> str:
    """Whether the KPI's XmR chart (limits from the baseline) signals a shift after delivery."""
    base = values.reindex(w.baseline).dropna()
    if len(base) < 2:
        return "no limits (too few baseline months)"
    limits = xmr_limits(base)
    months = [*w.baseline, *[m for m in values.index if m > w.baseline[-1]]]
    series = values.reindex(months)
    series.index = pd.Index([str(m) for m in months])
    signals = run_rules(series, limits)
    after = {str(m) for m in w.after}
    hits = signals.loc[signals["rule"].isin([SHIFT, OUTSIDE]) & signals["end"].isin(after)]
    if hits.empty:
        return "no signal after delivery"
    better_up = kpi.direction == "higher"
    words = []
    for rule in (SHIFT, OUTSIDE):
        sub = hits.loc[hits["rule"] == rule]
        if len(sub):
            up = (sub["direction"] == "up").mean() >= 0.5
            reading = "better" if up == better_up else "worse"
            what = "sustained shift" if rule == SHIFT else "point(s) outside the limits"
            words.append(f"{what}, {reading}, from {sub['at'].iloc[0]}")
    return "; ".join(words)


def _pct(x: float) -> str:
    return f"{x:+.0%}".replace("-", "−")


def _judge(est: Estimate, expected: float | None) -> tuple[str, str]:
    interval = f"95% interval {_pct(est.low)} to {_pct(est.high)}"
    against = "against the trend already under way before delivery, " if est.trend_adjusted \
        else ""
    net = f"{_pct(est.effect)} {against}net of the estate ({interval})"
    if not est.controls:
        net = net.replace("net of the estate", "with no untouched service to compare with")
    if est.low > 0:
        if expected is None or math.isnan(expected) or est.effect >= expected:
            exp = "" if expected is None or math.isnan(expected) else f", expected {expected:.0%}"
            return "achieved", f"{net}{exp}"
        return "partly achieved", f"{net}, below the {expected:.0%} expected"
    if est.high < 0:
        return "worse", net
    why = net
    if est.trend_adjusted:
        why += "; the KPI was already improving before delivery"
    elif abs(est.own_change) > abs(est.effect) + 0.05 and np.sign(est.own_change) == np.sign(
            est.estate_change):
        why += f"; the untouched services moved {_pct(est.estate_change)} too"
    return "no measurable effect", why


def _row(row: pd.Series, **values: object) -> dict[str, object]:
    base: dict[str, object] = dict.fromkeys(BENEFIT_COLUMNS, np.nan)
    base.update(
        initiative=row["id"], title=row["title"], service=row["service"], kpi=row["kpi"],
        delivered=row["delivered"], expected=row["expected_improvement"],
        review_date=row["review_date"], effort_hours=row["effort_hours"], trend_adjusted=False,
        compared_with="", control_chart="")
    base.update(values)
    return base


def review(register: pd.DataFrame, kpis: pd.DataFrame, services: Sequence[str],
           period: pd.Period, settings: BenefitSettings) -> pd.DataFrame:
    """One row per initiative delivered in the review window (:data:`BENEFIT_COLUMNS`).

    ``register`` is :func:`csi_lib.register.reader.read_register`'s frame, ``kpis`` the
    long KPI table of ``period`` (its monthly rows are read). Initiatives delivered
    after the period end are listed as too early, never dropped.
    """
    last_month = period.asfreq("M", how="end")
    window_start = (period - settings.review_quarters + 1).start_time
    delivered = register.loc[register["status"] == "delivered"]
    chosen = delivered.loc[delivered["delivered"] >= window_start].sort_values(
        ["delivered", "id"])
    monthly = kpis.loc[kpis["freq"] == "M"]
    data_from = (min(pd.Period(str(p), "M") for p in monthly["period"].unique())
                 if len(monthly) else None)
    rows = []
    for _, r in chosen.iterrows():
        rows.append(_review_one(r, delivered, kpis, services, last_month, data_from, settings))
    frame = pd.DataFrame(rows, columns=BENEFIT_COLUMNS)
    for col in ("delivered", "review_due", "review_date"):
        frame[col] = pd.to_datetime(frame[col])
    frame["trend_adjusted"] = frame["trend_adjusted"].astype(bool)
    return frame.reset_index(drop=True)


def _review_one(r: pd.Series, delivered: pd.DataFrame, kpis: pd.DataFrame,
                services: Sequence[str], last_month: pd.Period, data_from: pd.Period | None,
                settings: BenefitSettings) -> dict[str, object]:
    w = windows(r["delivered"], last_month, settings)
    if w.delivery > last_month:
        return _row(r, verdict="too early", review_due=w.review_due,
                    reason=f"delivered after the period end; a verdict is due from "
                           f"{w.review_due:%d %b %Y}")
    if r["kpi"] is None or (isinstance(r["kpi"], float) and math.isnan(r["kpi"])):
        return _row(r, verdict="not measurable", reason="no linked KPI in the register")
    kpi = catalogue.get(r["kpi"])
    wide = monthly_wide(kpis, r["kpi"])
    own = wide[r["service"]] if r["service"] in wide.columns else pd.Series(dtype="float64")
    n_base = int(own.reindex(w.baseline).notna().sum())
    before = float(own.reindex(w.baseline).mean()) if n_base else np.nan
    if len(w.after) < settings.min_after_months:
        return _row(r, verdict="too early", review_due=w.review_due, before=before,
                    reason=f"{len(w.after)} full month(s) after settling, "
                           f"{settings.min_after_months} needed: a verdict is due from "
                           f"{w.review_due:%d %b %Y}")
    if own.notna().sum() == 0:
        return _row(r, verdict="not measurable",
                    reason=f"no {kpi.label.lower()} data for this service")
    if n_base < MIN_BASELINE_VALUES:
        start = f" (data from {data_from})" if data_from is not None else ""
        return _row(r, verdict="not measurable",
                    reason=f"no baseline: {n_base} of the {len(w.baseline)} months before "
                           f"delivery have {kpi.label.lower()} data{start}")
    n_after = int(own.reindex(w.after).notna().sum())
    if n_after < settings.min_after_months:
        return _row(r, verdict="not measurable", before=before,
                    reason=f"only {n_after} month(s) after delivery have data")
    controls = _controls(r, delivered, list(services), w, last_month)
    est = estimate(wide, r["service"], controls, r["kpi"], w.baseline, w.after, w.trend)
    verdict, reason = _judge(est, r["expected_improvement"])
    return _row(
        r, verdict=verdict, reason=reason, before=before,
        after=float(own.reindex(w.after).mean()), change=est.effect, change_low=est.low,
        change_high=est.high, net_of_estate=est.net_of_estate, own_change=est.own_change,
        estate_change=est.estate_change, trend_adjusted=est.trend_adjusted,
        control_chart=_control_chart(own, w, kpi), compared_with=", ".join(est.controls),
        review_due=w.review_due)
