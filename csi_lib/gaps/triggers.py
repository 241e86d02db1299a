"""Automatic improvement triggers: when a KPI calls for an improvement review.

Two rules raise a review for a service and KPI in the quarter under review:

- *consecutive breach*: the KPI is red (beyond its target's tolerance band) for
  ``gaps.trigger_periods`` consecutive periods of ``gaps.trigger_freq`` and is
  still red in the quarter (the CSI curriculum's "three consecutive periods"
  rule). A period with no data or not red ends the run.
- *control signal*: the KPI's XmR chart shows a signal pointing the wrong way
  that is still present in the quarter (see :mod:`csi_lib.kpis.spc`).

The table is the contract with the prioritisation notebook, which turns each
row into a proposed initiative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.gaps.targets import directional_kpis, status, target_table
from csi_lib.kpis.spc import OUTSIDE, SHIFT, TREND, ControlChart, control_charts
from csi_lib.periods import quarter_label

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["TRIGGER_COLUMNS", "breach_run", "control_trigger", "describe_signals", "known_at",
           "period_name", "period_span", "triggers"]

TRIGGER_COLUMNS = ["service", "kpi", "rule", "since", "periods", "evidence", "raised_in"]
CONSECUTIVE, CONTROL = "consecutive breach", "control signal"


def known_at(kpis: pd.DataFrame, period: pd.Period) -> pd.DataFrame:
    """Rows of a KPI table for periods that start by the end of ``period``: a report for
    a quarter never reads a later month or quarter, whatever table it is handed."""
    return kpis.loc[kpis["period_start"] <= period.end_time]


def period_name(label: str) -> str:
    """A period label as a reader says it: '2026-07' -> 'Jul 2026'; quarters unchanged."""
    if len(label) == 7 and label[4] == "-":
        return pd.Period(label, freq="M").strftime("%b %Y")
    return label


def period_span(first: str, last: str) -> str:
    """'Feb – Sep 2026', 'Oct 2025 – Aug 2026', or one period's name."""
    if first == last:
        return period_name(first)
    a, b = period_name(first), period_name(last)
    if a[-4:] == b[-4:] and a != first:      # months of one year: say the year once
        a = a[:-5]
    return f"{a} – {b}"


def breach_run(red: Sequence[bool], current: Sequence[bool]) -> tuple[int, int] | None:
    """The last run of consecutive breaches that reaches into the current periods,
    as (first index, length); None when no breach is still running there."""
    end = max((i for i, (r, c) in enumerate(zip(red, current, strict=True)) if r and c),
              default=None)
    if end is None:
        return None
    first = end
    while first > 0 and red[first - 1]:
        first -= 1
    return first, end - first + 1


def triggers(kpis: pd.DataFrame, params: Params, period: pd.Period, *,
             services: Sequence[str] | None = None,
             charts: Mapping[str, Mapping[str, ControlChart]] | None = None) -> pd.DataFrame:
    """The improvement reviews raised in quarter ``period``, one row per service, KPI and rule.

    ``kpis`` is :func:`csi_lib.kpis.kpi_table` output (rows after ``period`` are
    ignored). Columns: service, kpi, rule ("consecutive breach" | "control
    signal"), since (period label of the run's first period), periods (its
    length), evidence (one sentence) and raised_in (the quarter's label).
    ``charts`` (service -> KPI id -> chart) are control charts already drawn up
    for ``period`` from the same table; the others are computed.
    """
    kpis = known_at(kpis, period)
    ids = list(services) if services is not None else [s.id for s in params.services]
    for s in ids:
        params.service(s)       # an unknown id fails with the known ones listed
    rows = _breaches(kpis, params, period, ids)
    for service in ids:
        mine = (charts or {}).get(service) or control_charts(
            kpis, service, directional_kpis(), period, params.gaps.baseline_months)
        for kpi_id in directional_kpis():
            row = control_trigger(mine[kpi_id], service, params.gaps.min_basis)
            if row is not None:
                rows.append(row)
    order = {(s, k): i for i, (s, k) in enumerate(
        (s, k) for s in ids for k in directional_kpis())}
    rows.sort(key=lambda r: (order[(r["service"], r["kpi"])], r["rule"] != CONSECUTIVE))
    label = quarter_label(period)
    frame = pd.DataFrame(rows, columns=TRIGGER_COLUMNS[:-1]).assign(raised_in=label)
    return frame.astype({"service": "string", "kpi": "string", "rule": "string",
                         "since": "string", "periods": "int64", "evidence": "string",
                         "raised_in": "string"})[TRIGGER_COLUMNS]


def _breaches(kpis: pd.DataFrame, params: Params, period: pd.Period,
              services: list[str]) -> list[dict[str, object]]:
    freq = params.gaps.trigger_freq
    need = params.gaps.trigger_periods
    targets = target_table(params).dropna(subset=["target"])
    rows = kpis.loc[(kpis["freq"] == freq) & kpis["service"].isin(services)].merge(
        targets, on=["service", "kpi"], how="inner")
    directions = rows["kpi"].map(lambda k: catalogue.get(k).direction)
    rows = rows.assign(status=status(rows["value"], rows["target"], directions,
                                     params.gaps.tolerance))
    current = ({quarter_label(period)} if freq == "Q"
               else {m.strftime("%Y-%m") for m in pd.period_range(
                   period.asfreq("M", how="start"), period.asfreq("M", how="end"), freq="M")})
    word = "month" if freq == "M" else "quarter"
    out = []
    for (service, kpi_id), one in rows.sort_values("period_start").groupby(
            ["service", "kpi"], sort=False):
        labels = one["period"].astype(str).tolist()
        run = breach_run((one["status"] == "red").tolist(), [p in current for p in labels])
        if run is None or run[1] < need:
            continue
        first, length = run
        kpi = catalogue.get(str(kpi_id))
        target, edge = float(one["target"].iloc[0]), float(one["threshold"].iloc[0])
        side, sign = ("below", "less") if kpi.direction == "higher" else ("above", "plus")
        last = first + length - 1
        span = period_span(labels[first], labels[last])
        if first == 0:
            span += f", every {word} shown"
        values = one["value"].to_numpy(dtype="float64")
        if last == len(labels) - 1:
            latest = f"latest {kpi.format(values[last])}"
        else:
            after = ("had no data" if np.isnan(values[last + 1])
                     else f"recovered to {kpi.format(values[last + 1])}")
            latest = (f"last breach {kpi.format(values[last])}; "
                      f"{period_name(labels[last + 1])} {after}")
        evidence = (
            f"{kpi.label} stayed {side} its red threshold of {kpi.format(edge)} (target "
            f"{kpi.format(target)} {sign} {params.gaps.tolerance:.0%} tolerance) for "
            f"{'at least ' if first == 0 else ''}{length} consecutive {word}s, {span}; "
            f"{latest}.")
        out.append({"service": service, "kpi": kpi_id, "rule": CONSECUTIVE,
                    "since": labels[first], "periods": length, "evidence": evidence})
    return out


def control_trigger(chart: ControlChart, service: str,
                    min_basis: int = 30) -> dict[str, object] | None:
    """The control-signal trigger row of one chart, or None when no wrong-way signal
    is still present in the quarter.

    A single point outside the limits raises a review only when that month's value
    rests on at least ``min_basis`` tickets (or answers, changes): a P90 of a dozen
    breaches swings past any limit by chance. Runs and trends span many months
    and always count.
    """
    if chart.limits is None:
        return None
    bad = chart.signals.loc[chart.signals["current"] & (chart.signals["reading"] == "worse")]
    basis = dict(zip(chart.points["period"].astype(str), chart.points["n"], strict=True))
    thin = (bad["rule"] == OUTSIDE) & (bad["at"].astype(str).map(basis).fillna(0) < min_basis)
    bad = bad.loc[~thin]
    if bad.empty:
        return None
    lim = chart.limits
    parts = describe_signals(chart, bad)
    since = min(bad["start"].astype(str))
    until = max(bad["end"].astype(str))
    periods = (pd.Period(until, freq="M") - pd.Period(since, freq="M")).n + 1
    kpi = catalogue.get(chart.kpi)
    evidence = (f"{kpi.label}: " + "; ".join(parts)
                + f" (control limits from {period_span(lim.first, lim.last)}).")
    return {"service": service, "kpi": chart.kpi, "rule": CONTROL, "since": since,
            "periods": periods, "evidence": evidence}


def describe_signals(chart: ControlChart, signals: pd.DataFrame) -> list[str]:
    """Phrases for ``signals`` (rows of ``chart.signals``): points outside a limit
    grouped by side, then runs, then trends."""
    kpi, lim = catalogue.get(chart.kpi), chart.limits
    if lim is None or signals.empty:
        return []
    parts = []
    outside = signals.loc[signals["rule"] == OUTSIDE]
    for direction, group in outside.groupby("direction", sort=False):
        limit = lim.ucl if direction == "up" else lim.lcl
        which = "above its upper" if direction == "up" else "below its lower"
        parts.append(f"{which} control limit of {kpi.format(limit)} in "
                     f"{_months(group['at'].astype(str).tolist())}")
    for sig in signals.loc[signals["rule"] == SHIFT].itertuples():
        side = "above" if sig.direction == "up" else "below"
        parts.append(f"{sig.points} months in a row {side} its centre line of "
                     f"{kpi.format(lim.centre)}, {period_span(sig.start, sig.end)}")
    for sig in signals.loc[signals["rule"] == TREND].itertuples():
        verb = "rising" if sig.direction == "up" else "falling"
        parts.append(f"{verb} {sig.points} months in a row, {period_span(sig.start, sig.end)}")
    return parts


def _months(labels: list[str]) -> str:
    """'Jul, Aug and Sep 2026' from month labels of one year, else each with its year."""
    periods = [pd.Period(lb, freq="M") for lb in labels]
    if len({p.year for p in periods}) == 1:
        names = [p.strftime("%b") for p in periods]
        year = f" {periods[0].year}"
    else:
        names, year = [p.strftime("%b %Y") for p in periods], ""
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return text + year
