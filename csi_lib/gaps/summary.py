"""The gap report in words: the executive summary and the tables as a reader sees them.

Each function turns the numbers of a :class:`~csi_lib.gaps.context.GapContext`
into display strings; nothing here computes a figure of its own.
"""

from __future__ import annotations

import math

import pandas as pd

from csi_lib import catalogue, display
from csi_lib.gaps.analysis import FORECAST_LEVEL
from csi_lib.gaps.context import GapContext
from csi_lib.gaps.triggers import CONSECUTIVE, describe_signals, period_span

__all__ = ["STATUS_WORDS", "forecast_basis", "forecast_summary", "gap_summary",
           "signal_summary", "summary_text"]

STATUS_WORDS = {"green": "Green", "amber": "Amber", "red": "Red", "no target": "No target",
                "no data": "No data", "worse signal": "Worse (signal)"}


def _lower(label: str) -> str:
    """A label inside a sentence: 'Resolution SLA met' -> 'resolution SLA met'."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _kpi_list(ids: list[str]) -> str:
    names = [_lower(catalogue.get(k).label) for k in ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _abs_gap(kpi: catalogue.Kpi, gap: float) -> str:
    if math.isnan(gap):
        return "–"
    if kpi.unit == "share":
        return f"{gap * 100:+.1f} pts"
    if kpi.unit == "hours":
        return f"{gap:+,.1f} h"
    return f"{gap:+,.0f}" if kpi.unit == "count" else f"{gap:+.2f}"


def _slope(kpi: catalogue.Kpi, slope: float) -> str:
    if math.isnan(slope):
        return "–"
    if kpi.unit == "share":
        return f"{slope * 100:+.1f} pts"
    if kpi.unit == "hours":
        return f"{slope:+,.1f} h"
    return f"{slope:+,.1f}" if kpi.unit == "count" else f"{slope:+.2f}"


def _rel(rel: float) -> str:
    # As catalogue.Kpi.format_change: small changes keep a decimal, so -0.4% is not -0%.
    return f"{rel:+.0%}" if abs(rel) >= 0.095 else f"{rel:+.1%}"


def _gap_cell(kpi: catalogue.Kpi, row: pd.Series, sep: str = " (") -> str:
    if math.isnan(row["target"]) or math.isnan(row["value"]):
        return "–"
    if math.isnan(row["gap_rel"]):
        return _abs_gap(kpi, row["gap"])
    close = ")" if sep.endswith("(") else ""
    return f"{_abs_gap(kpi, row['gap'])}{sep}{_rel(row['gap_rel'])}{close}"


def _trend_cell(row: pd.Series) -> str:
    return "noise" if row["trend"] == "no clear trend" else str(row["trend"])


def gap_summary(ctx: GapContext) -> pd.DataFrame:
    """The gap table as a reader sees it: the last quarters, target, gap, status, trend."""
    shown = list(ctx.history.columns[-3:])
    rows = []
    for _, r in ctx.gaps.iterrows():
        kpi = catalogue.get(r["kpi"])
        row = {"KPI": kpi.label}
        row |= {q: kpi.format(ctx.history.loc[r["kpi"], q]) for q in shown}
        row |= {
            "Target": kpi.format(r["target"]) if not math.isnan(r["target"]) else "none",
            "Gap": _gap_cell(kpi, r),
            "Status": STATUS_WORDS[r["status"]],
            "Per month": _slope(kpi, r["slope"]),
            "Trend": _trend_cell(r),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _largest_gaps(ctx: GapContext, n: int = 3) -> pd.DataFrame:
    g = ctx.gaps.loc[ctx.gaps["status"].isin(["red", "amber"])]
    return g.sort_values("shortfall", ascending=False, kind="stable").head(n)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _trigger_sentence(ctx: GapContext) -> str:
    t = ctx.triggers
    need = ctx.params.gaps.trigger_periods
    unit = "month" if ctx.params.gaps.trigger_freq == "M" else "quarter"
    if t.empty:
        return (f"**No improvement review is triggered**: no KPI has been red for {need} "
                f"consecutive {unit}s and no control chart signals a deterioration.")
    kpis = list(dict.fromkeys(t["kpi"].astype(str)))
    breach = t.loc[t["rule"] == CONSECUTIVE].sort_values("periods", ascending=False,
                                                         kind="stable")
    control = t.loc[t["rule"] != CONSECUTIVE]
    head = f"**Improvement reviews are triggered for {_plural(len(kpis), 'KPI')}**"
    if len(kpis) <= 3:
        items = []
        for k in kpis:
            why = []
            mine = breach.loc[breach["kpi"] == k]
            if not mine.empty:
                why.append(f"red for {_plural(int(mine['periods'].iloc[0]), unit)} in a row")
            if (control["kpi"] == k).any():
                why.append("a control chart signal of deterioration")
            items.append(f"{_kpi_list([k])} ({' and '.join(why)})")
        return f"{head}: " + "; ".join(items) + "."
    parts = []
    if not breach.empty:
        top = breach.iloc[0]
        longest = breach.loc[breach["periods"] == top["periods"], "kpi"].astype(str).tolist()
        parts.append(f"{len(breach)} have been red for {need} or more consecutive {unit}s "
                     f"(longest: {_kpi_list(longest)}, {_plural(int(top['periods']), unit)})")
    if not control.empty:
        parts.append(f"{len(control)} show a deterioration beyond routine variation on their "
                     f"control chart")
    return f"{head}: " + " and ".join(parts) + "; the evidence is listed below."


def summary_text(ctx: GapContext) -> str:
    """The executive summary in words (Markdown), generated from the numbers."""
    g = ctx.gaps
    name = display.esc(ctx.service.name)
    counts = g["status"].value_counts()
    green, amber, red = (int(counts.get(s, 0)) for s in ("green", "amber", "red"))
    if green + amber + red == 0:
        lines = [(f"No KPI of **{name}** has a target for {ctx.label}: this report follows "
                  "trends and control charts only.")]
    else:
        misses = []
        if amber:
            misses.append(f"{amber} missed within the {ctx.params.gaps.tolerance:.0%} "
                          f"tolerance (amber)")
        if red:
            misses.append(f"**{red} missed beyond it (red)**")
        lines = [f"In {ctx.label}, **{name}** met **{green} of {green + amber + red}** KPI "
                 f"targets" + ("; " + " and ".join(misses) if misses else "") + "."]
    worst = _largest_gaps(ctx)
    if not worst.empty:
        parts = []
        for _, r in worst.iterrows():
            kpi = catalogue.get(r["kpi"])
            parts.append(f"{_lower(kpi.label)} at {kpi.format(r['value'])} against "
                         f"{kpi.format(r['target'])} ({_gap_cell(kpi, r, ', ')})")
        word = "gap" if len(parts) == 1 else "largest gaps"
        lines.append(f"The {word}, relative to target: " + "; ".join(parts) + ".")
    lines.append(_trigger_sentence(ctx))
    f = ctx.forecasts
    on = f.loc[f["outlook"] == "on course", "kpi"].astype(str).tolist()
    off = f.loc[f["outlook"] == "off course", "kpi"].astype(str).tolist()
    if on or off:
        met = f"{len(on)} of {len(on) + len(off)}" if on else f"none of the {len(off)}"
        text = f"On the present course, {ctx.next_label} would meet {met} targets"
        if on and len(on) <= 5:
            text += f" ({_kpi_list(on)})"
        if off and on and len(off) <= 5:
            text += f"; still missed: {_kpi_list(off)}"
        lines.append(text + ".")
    mine = ctx.watermelon.loc[ctx.watermelon["service"] == ctx.service.id].iloc[0]
    if mine["verdict"] == "watermelon":
        red_ids = str(mine["red"]).split(", ")
        lines.append(f"**Watermelon warning**: SLA compliance is green while "
                     f"{_kpi_list(red_ids)} {'is' if len(red_ids) == 1 else 'are'} red for "
                     "users.")
    missing = g.loc[g["status"] == "no target", "kpi"].astype(str).tolist()
    if missing:
        lines.append(f"No target is set for {_kpi_list(missing)}: "
                     f"{'it is' if len(missing) == 1 else 'they are'} followed by trend and "
                     "control chart only.")
    return "\n\n".join(lines)


def signal_summary(ctx: GapContext) -> pd.DataFrame:
    """The control chart signals still present in the quarter, one row per KPI."""
    rows = []
    for chart in ctx.charts.values():
        now = chart.signals.loc[chart.signals["current"]]
        if now.empty:
            continue
        readings = set(now["reading"].astype(str))
        rows.append({
            "KPI": catalogue.get(chart.kpi).label,
            "Reading": readings.pop() if len(readings) == 1 else "mixed",
            f"Signals present in {ctx.label}": "; ".join(describe_signals(chart, now)),
        })
    if not rows:
        return pd.DataFrame({"Result": [(f"No control chart shows a signal in {ctx.label}: "
                                         "every KPI varied within its routine range.")]})
    frame = pd.DataFrame(rows)
    return frame.sort_values("Reading", key=lambda r: r != "worse", kind="stable")


def _interval(kpi: catalogue.Kpi, low: float, high: float) -> str:
    if kpi.unit == "hours":    # the unit once keeps the range on one line
        return f"{low:,.1f} – {high:,.1f} h"
    return f"{kpi.format(low)} – {kpi.format(high)}"


def _basis(row: pd.Series) -> str:
    if not row["months"]:
        return "no data"
    return (f"{_plural(int(row['months']), 'month')}, "
            f"{period_span(str(row['first']), str(row['last']))}")


def forecast_summary(ctx: GapContext) -> pd.DataFrame:
    """Next quarter's forecast per KPI as a reader sees it; the history each rests on
    is a column only when it differs between KPIs (else the caption says it)."""
    f = ctx.forecasts
    rows = []
    for (_, r), now in zip(f.iterrows(), ctx.gaps["value"], strict=True):
        kpi = catalogue.get(r["kpi"])
        ok = not math.isnan(r["value"])
        outlook = r["outlook"] + (f" ({r['confidence']})" if r["confidence"] else "")
        rows.append({
            "KPI": kpi.label, ctx.label: kpi.format(now),
            f"{ctx.next_label} forecast": kpi.format(r["value"]) if ok else "–",
            f"{FORECAST_LEVEL:.0%} interval": _interval(kpi, r["low"], r["high"]) if ok else "–",
            "Target": kpi.format(r["target"]) if not math.isnan(r["target"]) else "none",
            "Outlook": outlook,
            "Based on": _basis(r),
        })
    table = pd.DataFrame(rows)
    return table if forecast_basis(ctx) is None else table.drop(columns="Based on")


def forecast_basis(ctx: GapContext) -> str | None:
    """The history every forecast rests on, when it is the same for all KPIs."""
    bases = {_basis(r) for _, r in ctx.forecasts.iterrows()}
    return bases.pop() if len(bases) == 1 else None
