"""What each section of the benefit review shows: tables from pure functions (tested) and the
``show_*`` calls the notebook makes, one per section."""

from __future__ import annotations

import math

import pandas as pd

from csi_lib import catalogue, display
from csi_lib.benefits import charts
from csi_lib.benefits.effect import LEVEL
from csi_lib.benefits.report import Benefits
from csi_lib.benefits.review import MIN_BASELINE_VALUES, monthly_wide, windows
from csi_lib.benefits.summary import summary_text
from csi_lib.kpis.trend import MIN_POINTS, SIGNIFICANCE
from csi_lib.register.outcomes import VERDICTS

__all__ = [
    "archive_table", "pending_table", "review_table", "show_archive", "show_initiatives",
    "show_method", "show_pending", "show_summary", "show_table", "show_title",
]


def _figure(fig: object) -> None:
    from IPython.display import display as ipy_display

    ipy_display(fig)


def _id(text: object) -> str:
    return str(text).replace("-", "\u2011")


def _pct(x: object) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:+.0%}".replace("-", "−")


def _value(kpi_id: object, x: object) -> str:
    if not isinstance(kpi_id, str) or x is None or pd.isna(x):
        return "–"
    return catalogue.get(kpi_id).format(float(x))


def _kpi(kpi_id: object) -> str:
    return catalogue.get(kpi_id).label if isinstance(kpi_id, str) else "–"


def _date(ts: object) -> str:
    return "–" if ts is None or pd.isna(ts) else f"{pd.Timestamp(ts):%Y-%m-%d}"


def review_table(ctx: Benefits) -> pd.DataFrame:
    """One row per reviewed initiative, in delivery order."""
    t = ctx.table
    return pd.DataFrame({
        "ID": [_id(i) for i in t["initiative"]],
        "Service": list(t["service"]),
        "KPI": [_kpi(k) for k in t["kpi"]],
        "Delivered": [_date(d) for d in t["delivered"]],
        "Before": [_value(k, v) for k, v in zip(t["kpi"], t["before"], strict=True)],
        "After": [_value(k, v) for k, v in zip(t["kpi"], t["after"], strict=True)],
        "Effect (95% interval)": [
            "–" if pd.isna(c) else f"{_pct(c)} ({_pct(lo)} to {_pct(hi)})"
            for c, lo, hi in zip(t["change"], t["change_low"], t["change_high"], strict=True)],
        "Expected": ["–" if pd.isna(e) else f"{e:.0%}" for e in t["expected"]],
        "Verdict": list(t["verdict"]),
    })


def pending_table(ctx: Benefits) -> pd.DataFrame:
    p = ctx.pending
    verdict = dict(zip(ctx.table["initiative"], ctx.table["verdict"], strict=True))
    return pd.DataFrame({
        "ID": [_id(i) for i in p["id"]],
        "Title": list(p["title"]),
        "Owner": list(p["owner"].fillna("–")),
        "Delivered": [_date(d) for d in p["delivered"]],
        "Verdict so far": [verdict.get(i, "outside the review window") for i in p["id"]],
    })


def archive_table(ctx: Benefits) -> pd.DataFrame:
    a = ctx.archive
    verdict = dict(zip(ctx.table["initiative"], ctx.table["verdict"], strict=True))
    return pd.DataFrame({
        "ID": [_id(i) for i in a["id"]],
        "Title": list(a["title"]),
        "Delivered": [_date(d) for d in a["delivered"]],
        "Reviewed": [_date(d) for d in a["review_date"]],
        "Verdict": [verdict.get(i, "–") for i in a["id"]],
        "Outcome": list(a["outcome_notes"].fillna("–")),
        "Residual risk": list(a["residual_risk"].fillna("–")),
    })


def show_title(ctx: Benefits) -> None:
    """A heading for analysts in JupyterLab (reports carry their own title block)."""
    display.show_markdown(f"# Benefit review: {display.esc(ctx.params.client.name)}, "
                          f"{ctx.label}")


def show_summary(ctx: Benefits) -> None:
    # Numbers and quarter labels only: no client text to escape.
    display.show_markdown(summary_text(ctx.table, first=ctx.first_quarter, last=ctx.label,
                                       pending=len(ctx.pending)))


def show_table(ctx: Benefits) -> None:
    if ctx.table.empty:
        display.show_markdown("No initiative was delivered in the review window.")
        return
    display.show_table(review_table(ctx), caption=(
        "Delivered initiatives: the linked KPI before and after delivery, the effect net of "
        "the untouched services (better direction positive) and the verdict"))


def show_initiatives(ctx: Benefits) -> None:
    """One paragraph and one chart per reviewed initiative."""
    last_month = ctx.period.asfreq("M", how="end")
    for _, r in ctx.table.iterrows():
        head = f"### {_id(r['initiative'])} {display.esc(r['title'])}"
        kpi = _kpi(r["kpi"])
        words = [f"**{r['verdict'].capitalize()}.** {display.esc(r['reason'])}."]
        if r["control_chart"]:
            words.append(f"Control chart: {r['control_chart']}.")
        if r["compared_with"]:
            words.append(f"Compared with: {r['compared_with']}.")
        display.show_markdown(f"{head}\n\n{ctx.service_names.get(r['service'], r['service'])}"
                              f", {kpi}, delivered {_date(r['delivered'])}. " + " ".join(words))
        if not isinstance(r["kpi"], str) or pd.isna(r["before"]):
            continue
        wide = monthly_wide(ctx.kpis, r["kpi"])
        if r["service"] not in wide.columns:
            continue
        w = windows(r["delivered"], last_month, ctx.params.benefits)
        controls = [c for c in str(r["compared_with"]).split(", ") if c]
        _figure(charts.initiative_chart(
            wide, r["service"], controls, r["kpi"], w,
            title=f"{r['initiative']}: {kpi}, {r['service']}",
            subtitle=f"{r['verdict']}; grey: delivery and settling months"))


def show_pending(ctx: Benefits) -> None:
    table = pending_table(ctx)
    if table.empty:
        display.show_markdown("Every delivered initiative has had its review.")
        return
    display.show_table(table, caption="Delivered initiatives waiting for their "
                                      "post-implementation review")


def show_archive(ctx: Benefits) -> None:
    table = archive_table(ctx)
    if table.empty:
        display.show_markdown("No post-implementation review is recorded in the register yet "
                              "(columns 'Review date', 'Outcome notes', 'Residual risk').")
        return
    display.show_table(table, caption="Reviewed initiatives: outcome and residual risk")


def show_method(ctx: Benefits) -> None:
    """The appendix: windows, the effect, the trend and estate corrections, the verdicts."""
    s = ctx.params.benefits
    verdicts = pd.DataFrame({"Verdict": list(VERDICTS), "When": [
        (f"the effect's {LEVEL:.0%} interval lies above zero and the effect reaches the "
        "expected improvement (or none was given)"),
        "the interval lies above zero, the effect falls short of the expected improvement",
        "the interval includes zero",
        "the interval lies below zero: the KPI got worse, net of the estate",
        (f"fewer than {s.min_after_months} full months after settling, or delivered after the "
        "period end; the row gives the date a verdict is due"),
        (f"no linked KPI, no data for it, or fewer than {MIN_BASELINE_VALUES} baseline months "
        "with data: the row says which"),
    ]})
    display.show_markdown(
        f"**Windows.** The baseline is the {s.baseline_months} full months before the delivery "
        f"month; the {s.settling_months} month(s) after it are left out while the change "
        f"settles; the after window runs from there to the end of {ctx.label} and needs at "
        f"least {s.min_after_months} months. Initiatives delivered in the last "
        f"{s.review_quarters} quarters are reviewed.\n\n"
        "**Effect.** Each service's monthly KPI is divided by its own baseline mean. The "
        "estate is, month by month, the median of the services the initiative did not touch "
        "(leaving out services that another delivered initiative on the same KPI touched in "
        "those months). The effect is the change of the service minus the estate between the "
        "baseline and the after window (difference in differences), in the KPI's better "
        f"direction, with a {LEVEL:.0%} Welch interval over the months. The month, not the "
        "ticket, is the unit: tickets of one month share its conditions, and ticket-level "
        "intervals would call routine monthly variation an effect.\n\n"
        f"**A trend already under way.** A straight line is fitted to the same net series over "
        f"the {s.trend_months} months before delivery (at least {MIN_POINTS} with data). When "
        f"it shows a real improving trend (p < {SIGNIFICANCE}), the after window is compared "
        "with the line's projection instead of the baseline mean, and the interval includes "
        "the projection's uncertainty (interrupted time series): an initiative is credited "
        "only with what exceeds the trend.\n\n"
        "**Control chart.** XmR limits from the baseline months; a run of eight on one side of "
        "the centre line, or a point outside the limits, after delivery is reported beside "
        "the verdict.")
    display.show_table(verdicts, caption="Verdicts")
