"""Page 1 of the pack: services by headline KPIs, each against its target.

Every cell carries its value, its status against target and its direction of travel
as the gap analysis published them (``gaps.csv``); the status is a symbol as well as a
shade, and the shades differ in lightness, so the scorecard reads printed in grey.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from csi_lib import catalogue
from csi_lib.pack.tables import PackTables
from csi_lib.plots import _FIG_W, THEME, _themed, _wrap

__all__ = ["HEADLINE_EXTRA", "LEGEND", "MAX_COLUMNS", "STATUS", "TREND", "headline_kpis", "scorecard",
           "scorecard_figure", "service_status"]

MAX_COLUMNS = 8
# Shown after the KPIs with targets, while there is room: what leaders ask after SLAs.
HEADLINE_EXTRA = ("backlog", "resolution_p90_h", "csat_mean", "reassignment_rate")
# Status: symbol, word, fill, text colour. Fills are the Okabe-Ito green, orange and
# vermillion of the gap report, lightened to distinct grey levels (luminance about
# 225, 180 and 120 of 255) so that shade alone already orders them in grey print.
STATUS = {
    "green": ("✓", "on target", "#CCECE3", THEME.ink),
    "amber": ("!", "near target", "#EBB233", THEME.ink),
    "red": ("✗", "off target", "#D55E00", "#FFFFFF"),
    "no target": ("·", "no target", "#FFFFFF", THEME.ink),
    "no data": ("–", "no data", "#FFFFFF", THEME.muted),
}
TREND = {"improving": ("▲", "improving"), "worsening": ("▼", "worsening"),
         "no clear trend": ("→", "no clear trend"), "too little data": ("", "too little data")}


def headline_kpis(tables: PackTables) -> list[str]:
    """The scorecard's columns: KPIs with a target for any service (catalogue order),
    then HEADLINE_EXTRA, at most MAX_COLUMNS."""
    g = tables.gaps
    targeted = set(g.loc[g["target"].notna(), "kpi"])
    present = set(g["kpi"])
    order = [k for k in catalogue.ids() if k in targeted]
    order += [k for k in HEADLINE_EXTRA if k in present and k not in order]
    return order[:MAX_COLUMNS]


def scorecard(tables: PackTables, names: dict[str, str]) -> pd.DataFrame:
    """One row per service and headline KPI, from ``gaps.csv``.

    Columns: service, service_name, kpi, label, value, shown (the value as the gap
    report prints it), target, target_shown, status, symbol, status_word, trend,
    arrow, watermelon (bool).
    """
    kpis = headline_kpis(tables)
    g = tables.gaps.set_index(["service", "kpi"])
    rows = []
    for svc in tables.services:
        for kpi_id in kpis:
            kpi = catalogue.get(kpi_id)
            r = g.loc[(svc, kpi_id)] if (svc, kpi_id) in g.index else None
            value = float(r["value"]) if r is not None else math.nan
            target = float(r["target"]) if r is not None else math.nan
            status = str(r["status"]) if r is not None else "no data"
            if math.isnan(value):
                status = "no data"
            trend = str(r["trend"]) if r is not None else "too little data"
            rows.append({
                "service": svc, "service_name": names.get(svc, svc), "kpi": kpi_id,
                "label": kpi.label, "value": value, "shown": kpi.format(value),
                "target": target,
                "target_shown": "" if math.isnan(target) else kpi.format(target),
                "status": status, "symbol": STATUS[status][0], "status_word": STATUS[status][1],
                "trend": trend, "arrow": TREND.get(trend, ("", trend))[0],
                "watermelon": bool(r is not None and r["watermelon"] == "watermelon"),
            })
    return pd.DataFrame(rows)


def service_status(card: pd.DataFrame) -> pd.Series:
    """Each service's overall status against target: red if any KPI is red, else amber if
    any is amber, else green if any has a target, else 'no target'."""
    def worst(statuses: pd.Series) -> str:
        for s in ("red", "amber", "green"):
            if (statuses == s).any():
                return s
        return "no target"
    return card.groupby("service", sort=False)["status"].agg(worst)


LEGEND = ("Status: ✓ on target, ! within tolerance, ✗ off target, · no target, – no data. "
          "Trend over twelve months: ▲ improving, ▼ worsening, → no clear trend. "
          "◆ watermelon: SLA on target while what users feel is red.")
_PT = 1 / 72        # inches per point


def scorecard_figure(card: pd.DataFrame, label: str) -> Figure:
    """The scorecard as a heat map: services down, headline KPIs across.

    Laid out in inches (no automatic layout), so text sizes print as set: no text
    under 8 pt.
    """
    services = list(dict.fromkeys(card["service"]))
    kpis = list(dict.fromkeys(card["kpi"]))
    cells = card.set_index(["service", "kpi"])
    width = _FIG_W
    label_w = 1.45
    col_w = (width - label_w) / max(len(kpis), 1)
    title = f"Scorecard {label}: each service against its targets"
    legend = _wrap(LEGEND, width, 8)
    heads = []
    for kpi_id in kpis:
        shown = sorted(set(card.loc[card["kpi"] == kpi_id, "target_shown"]) - {""})
        sign = "≥" if catalogue.get(kpi_id).direction == "higher" else "≤"
        goal = f"{sign} {shown[0]}" if len(shown) == 1 else \
            "target varies" if shown else "no target"
        heads.append(_wrap(catalogue.get(kpi_id).label, col_w - 0.06, 8) + "\n" + goal)
    head_lines = max(h.count("\n") + 1 for h in heads) if heads else 1
    title_h = 0.3
    head_h = head_lines * 11 * _PT + 0.08
    row_h = 0.5
    legend_h = (legend.count("\n") + 1) * 11 * _PT + 0.12
    height = title_h + head_h + row_h * len(services) + legend_h
    with _themed():
        fig = Figure(figsize=(width, height), dpi=THEME.dpi)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_axis_off()
        ax.text(0, 0.02, title, ha="left", va="top", fontsize=THEME.title_pt,
                fontweight="bold", color=THEME.ink)
        top = title_h + head_h
        for j, head in enumerate(heads):
            ax.text(label_w + (j + 0.5) * col_w, top - 0.05, head, ha="center", va="bottom",
                    fontsize=8, color=THEME.ink, linespacing=1.15)
        for i, svc in enumerate(services):
            y = top + i * row_h
            for j, kpi_id in enumerate(kpis):
                c = cells.loc[(svc, kpi_id)]
                symbol, _, fill, ink = STATUS[c["status"]]
                x = label_w + j * col_w
                ax.add_patch(Rectangle((x + 0.02, y + 0.02), col_w - 0.04, row_h - 0.04,
                                       facecolor=fill, edgecolor="#9AA5B1", linewidth=0.6))
                ax.text(x + col_w / 2, y + 0.17, c["shown"], ha="center", va="center",
                        fontsize=8.5, fontweight="bold", color=ink)
                ax.text(x + col_w / 2, y + 0.36, f"{symbol}  {c['arrow']}".strip(),
                        ha="center", va="center", fontsize=9.5, color=ink)
            rows = card.loc[card["service"] == svc]
            mark = " ◆" if rows["watermelon"].any() else ""
            ax.text(label_w - 0.08, y + row_h / 2,
                    _wrap(f"{rows['service_name'].iloc[0]}{mark}", label_w - 0.12, 8.5),
                    ha="right", va="center", fontsize=8.5, color=THEME.ink)
        ax.text(0, top + row_h * len(services) + 0.1, legend, ha="left", va="top",
                fontsize=8, color=THEME.muted, linespacing=1.2)
        return fig
