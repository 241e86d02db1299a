"""The quarterly pack: it reads the run's published tables, and shows them as published."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT
from matplotlib.colors import to_rgb
from pypdf import PdfReader

from csi_lib import catalogue, pack
from csi_lib.display import read_csv, write_csv
from csi_lib.errors import DataError
from csi_lib.pack.headlines import biggest_move
from csi_lib.pack.questions import (
    backlog_by_service,
    benefit_table,
    delivered_recently,
    plan_table,
)
from csi_lib.pack.tables import BENEFIT_COLUMNS
from csi_lib.params import load_params
from csi_lib.periods import period_sort_key
from csi_lib.runner import run_client

DEMO = ROOT / "params" / "demo.yaml"
NOTEBOOKS = ROOT / "notebooks"
PARAMS = load_params(DEMO)
Q3 = PARAMS.period("2026Q3")


def _gaps(service: str, rows: list[tuple]) -> pd.DataFrame:
    """gaps.csv of one service: (kpi, value, previous, target, status, trend)."""
    return pd.DataFrame([{
        "service": service, "kpi": k, "value": v, "n": 100, "target": t,
        "threshold": t, "status": s, "trend": tr, "previous": p,
        "watermelon": "watermelon" if service == "email" else "SLA not green"}
        for k, v, p, t, s, tr in rows])


def _period_folder(folder: Path, *, benefits: bool = False) -> Path:
    """A period folder with what the reports publish, for two of the demo's services."""
    write_csv(pd.DataFrame({"service": ["email"], "freq": ["Q"], "period": ["2026Q3"],
                            "kpi": ["volume"], "value": [10.0], "n": [10]}),
              folder / "kpis.csv")
    write_csv(_gaps("email", [
        ("sla_resolution", 0.95, 0.94, 0.9, "green", "improving"),
        ("resolution_median_h", 20.0, 10.0, 24.0, "green", "worsening"),   # +100%: worst
        ("csat_mean", 4.0, 4.1, 4.2, "amber", "no clear trend"),
        ("backlog", 30.0, 31.0, float("nan"), "no target", "too little data"),
    ]), folder / "email" / "gaps.csv")
    write_csv(_gaps("network", [
        ("sla_resolution", 0.60, 0.70, 0.9, "red", "worsening"),           # -10 pts
        ("resolution_median_h", 30.0, 60.0, 24.0, "red", "improving"),     # -50%: best
        ("csat_mean", 4.3, 4.3, 4.2, "green", "no clear trend"),
        ("backlog", 50.0, 40.0, float("nan"), "no target", "worsening"),
    ]), folder / "network" / "gaps.csv")
    write_csv(pd.DataFrame([
        {"service": "network", "kpi": "sla_resolution", "rule": "consecutive breach",
         "since": "2026-01", "periods": 9, "evidence": "=cmd()", "raised_in": "2026Q3"},
        {"service": "network", "kpi": "sla_resolution", "rule": "control signal",
         "since": "2025-12", "periods": 10, "evidence": "x", "raised_in": "2026Q3"}]),
        folder / "network" / "triggers.csv")
    write_csv(pd.DataFrame([
        {"id": "R-1", "title": "Runbooks", "service": "network", "kpi": "fcr",
         "effort_hours": 40.0, "owner": "A. Lee", "status": "approved", "decision": "in plan",
         "plan_order": 2, "delivered": ""},
        {"id": "R-2", "title": "Big refresh", "service": "network", "kpi": "sla_resolution",
         "effort_hours": 300.0, "owner": "B. Ray", "status": "proposed",
         "decision": "did not fit", "plan_order": None, "delivered": ""},
        {"id": "R-3", "title": "Knowledge base", "service": "email", "kpi": "fcr",
         "effort_hours": 16.0, "owner": "C. Fox", "status": "in progress",
         "decision": "committed", "plan_order": 1, "delivered": ""},
        {"id": "R-4", "title": "Old win", "service": "email", "kpi": "csat_mean",
         "effort_hours": 10.0, "owner": "C. Fox", "status": "delivered",
         "decision": "delivered", "plan_order": None, "delivered": "2026-02-10"},
        {"id": "R-5", "title": "Too old", "service": "email", "kpi": "csat_mean",
         "effort_hours": 10.0, "owner": "C. Fox", "status": "delivered",
         "decision": "delivered", "plan_order": None, "delivered": "2025-11-30"},
        {"id": "R-6", "title": "No", "service": "email", "kpi": "csat_mean",
         "effort_hours": 99.0, "owner": "C. Fox", "status": "rejected",
         "decision": "rejected", "plan_order": None, "delivered": ""},
    ]), folder / "plan.csv")
    write_csv(pd.DataFrame([{"team_hours": 1000.0, "improvement_share": 0.1,
                             "capacity_hours": 100.0, "committed_hours": 16.0,
                             "planned_hours": 40.0, "used_hours": 56.0, "free_hours": 44.0,
                             "used_share": 0.056}]), folder / "capacity.csv")
    write_csv(pd.DataFrame([
        {"area": "gov", "area_name": "Governance", "level": 3, "level_name": "Defined",
         "score": 3.4, "previous_score": 3.0, "change": 0.4, "target": 3, "weakest": False,
         "overall_level": 2, "overall_level_name": "Repeatable", "previous_overall_level": 1},
        {"area": "mom", "area_name": "Momentum", "level": 2, "level_name": "Repeatable",
         "score": 2.2, "previous_score": 2.2, "change": 0.0, "target": 3, "weakest": True,
         "overall_level": 2, "overall_level_name": "Repeatable", "previous_overall_level": 1},
    ]), folder / "maturity.csv")
    if benefits:
        row = dict.fromkeys(BENEFIT_COLUMNS, "")
        write_csv(pd.DataFrame([
            {**row, "initiative": "R-4", "title": "Old win", "service": "email",
             "kpi": "csat_mean", "before": 3.9, "after": 4.1, "verdict": "realised"},
            {**row, "initiative": "R-9", "title": "Other", "service": "network",
             "kpi": "fcr", "before": 0.5, "after": 0.5, "verdict": "not realised"}]),
            folder / "benefits.csv")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return _period_folder(tmp_path / "2026Q3")


def test_scorecard_shows_the_published_values_status_and_trend(folder: Path) -> None:
    ctx = pack.build(PARAMS, Q3, folder)
    gaps = pd.concat([read_csv(folder / s / "gaps.csv") for s in ("email", "network")])
    card = ctx.card.merge(gaps, on=["service", "kpi"], suffixes=("", "_published"))
    assert len(card) == len(ctx.card) == 8
    assert (card["value"] == card["value_published"]).all()
    assert (card["status"] == card["status_published"]).all()
    assert card["shown"].tolist() == [catalogue.get(k).format(v)
                                      for k, v in zip(card["kpi"], card["value"], strict=True)]
    # Columns: KPIs with targets first (catalogue order), then the extras.
    assert pack.headline_kpis(ctx.tables)[-1] == "backlog"
    # Services without a gap analysis are listed, not silently dropped.
    assert ctx.tables.services == ("email", "network")
    assert set(ctx.tables.missing_services) == {"erp", "hr-portal", "endpoint", "identity"}
    assert ctx.card.loc[ctx.card["service"] == "email", "watermelon"].all()


def test_scorecard_statuses_read_without_colour(folder: Path) -> None:
    ctx = pack.build(PARAMS, Q3, folder)
    symbols = {s: v[0] for s, v in pack.STATUS.items()}
    assert len(set(symbols.values())) == len(symbols)          # each status its own symbol
    assert (ctx.card["symbol"] == ctx.card["status"].map(symbols)).all()
    # The fills differ in lightness, so grey print keeps them apart.
    grey = {s: 0.299 * r + 0.587 * g + 0.114 * b
            for s, (r, g, b) in ((s, to_rgb(v[2])) for s, v in pack.STATUS.items())
            if s in ("green", "amber", "red", "no target")}
    levels = sorted(grey.values())
    assert min(b - a for a, b in itertools.pairwise(levels)) > 0.1
    fig = pack.scorecard_figure(ctx.card, ctx.label)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for r in ctx.card.itertuples():
        assert r.shown in texts
    assert sum(t.startswith("✗") for t in texts) == (ctx.card["status"] == "red").sum()
    assert any("◆" in t and "Email" in t for t in texts)   # the watermelon is marked
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= 8


def test_headlines_name_the_biggest_moves_reviews_and_maturity(folder: Path) -> None:
    ctx = pack.build(PARAMS, Q3, folder)
    worse = biggest_move(ctx.card, ctx.tables.gaps, better=False)
    best = biggest_move(ctx.card, ctx.tables.gaps, better=True)
    assert (worse["service"], worse["kpi"]) == ("email", "resolution_median_h")
    assert (best["service"], best["kpi"]) == ("network", "resolution_median_h")
    text = "\n".join(ctx.messages)
    assert 3 <= len(ctx.messages) <= 5
    assert "worsened from 10.0 h to 20.0 h (+100%)" in text
    assert "improved from 60.0 h to 30.0 h (-50%)" in text
    assert "**1 improvement review triggered**" in text      # one service and KPI
    assert "level 2 Repeatable** (up from level 1)" in text and "Momentum" in text
    assert "Benefits" not in text                            # no benefit review yet
    with_b = pack.build(PARAMS, Q3, _period_folder(folder.parent / "b", benefits=True))
    assert "**Benefits: 1 of 2 delivered initiatives realised**" in "\n".join(with_b.messages)


def test_cio_questions_come_from_the_plan_and_capacity(folder: Path) -> None:
    ctx = pack.build(PARAMS, Q3, folder)
    backlog = backlog_by_service(ctx.tables.plan, ctx.names).set_index("Service")
    assert backlog.loc["Network & Connectivity", "Open initiatives"] == 2
    assert backlog.loc["Network & Connectivity", "Hours"] == "340 h"
    assert backlog.loc["All services", "Open initiatives"] == 3     # rejected, delivered out
    done = delivered_recently(ctx.tables.plan, Q3, None, ctx.names)
    assert done["ID"].tolist() == ["R-4"]                            # R-5 is four quarters old
    assert done["Verdict"].tolist() == ["no benefit review in this run"]
    b = pack.build(PARAMS, Q3, _period_folder(folder.parent / "b", benefits=True))
    assert delivered_recently(b.tables.plan, Q3, b.tables.benefits, b.names)[
        "Verdict"].tolist() == ["realised"]
    assert plan_table(ctx.tables.plan, ctx.names)["Initiative"].tolist() == [
        "R-3 Knowledge base (in progress)", "R-1 Runbooks"]
    # A formula-like cell written by one report reads back as written.
    assert read_csv(folder / "network" / "triggers.csv")["evidence"][0] == "=cmd()"
    assert (folder / "network" / "triggers.csv").read_text().count("'=cmd()") == 1


def test_missing_and_malformed_tables_fail_with_the_fix(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"has no kpis\.csv"):
        pack.build(PARAMS, Q3, tmp_path)
    (folder / "plan.csv").write_text("id,title\nR-1,x\n")
    with pytest.raises(DataError, match=r"plan.csv lacks column\(s\) \['service'.*rerun "
                                        r"prioritisation"):
        pack.build(PARAMS, Q3, folder)
    for s in ("email", "network"):
        (folder / s / "gaps.csv").unlink()
    with pytest.raises(DataError, match="no service of demo has a gap analysis"):
        pack.build(PARAMS, Q3, folder)


def test_period_folders_sort_as_periods() -> None:
    names = ["2026Q3-r10", "2026Q4", "2025Q4", "2026Q3", "2026Q3-r9", "2026Q3-r2"]
    assert sorted(names, key=period_sort_key) == [
        "2025Q4", "2026Q3", "2026Q3-r2", "2026Q3-r9", "2026Q3-r10", "2026Q4"]


def test_service_owner_is_optional(tmp_path: Path) -> None:
    assert PARAMS.service("network").owner == "Ruth Adeyemi"
    assert PARAMS.service("identity").owner is None


# --------------------------------------------------------------- end to end (slow)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outputs = tmp_path_factory.mktemp("outputs")
    summary = run_client(DEMO, "2026Q3", outputs=outputs, notebooks_dir=NOTEBOOKS,
                         notebooks=["pack"], services=["network", "erp", "email"], jobs=2,
                         log=lambda _: None)
    assert summary.ok, summary.text()
    return summary.published


@pytest.mark.slow
def test_pack_is_published_in_two_to_eight_pages_naming_every_service(run: Path) -> None:
    for ext in ("ipynb", "html", "pdf"):
        assert (run / f"pack.{ext}").is_file()
    pages = PdfReader(run / "pack.pdf").pages
    assert 2 <= len(pages) <= 8
    text = "\n".join(p.extract_text() for p in pages)
    for name in ("Network & Connectivity", "ERP Finance", "Email & Collaboration"):
        assert name in text
    assert "Not in this run" in text and "identity" in text


@pytest.mark.slow
def test_pack_figures_equal_the_published_tables(run: Path) -> None:
    ctx = pack.build(PARAMS, Q3, run)
    kpis = pd.read_csv(run / "kpis.csv")
    q = kpis.loc[(kpis["freq"] == "Q") & (kpis["period"] == "2026Q3")].set_index(
        ["service", "kpi"])["value"]
    for r in ctx.card.itertuples():
        assert r.value == pytest.approx(q[(r.service, r.kpi)], rel=1e-12, nan_ok=True)
        # ... and each value is printed as in the service's gap report.
        gap_html = (run / r.service / "gap_analysis.html").read_text()
        assert r.shown.replace("&", "&amp;") in gap_html
    plan = pd.read_csv(run / "plan.csv")
    shown = plan_table(ctx.tables.plan, ctx.names)
    assert len(shown) == plan["plan_order"].notna().sum() > 0
    capacity = pd.read_csv(run / "capacity.csv").iloc[0]
    pack_text = (run / "pack.html").read_text()
    assert f"{capacity['used_hours']:,.0f} h" in pack_text
    maturity = pd.read_csv(run / "maturity.csv")
    assert f"level {maturity['overall_level'][0]} " in pack_text
    status = json.loads((run / "status.json").read_text())
    assert status == pack.period_status(ctx)
    # The period's front page shows the same scorecard, each cell linking to the
    # service's gap analysis.
    index = (run / "index.html").read_text()
    for r in ctx.card.itertuples():
        assert f'<a href="{r.service}/gap_analysis.html">{r.shown}<small>' in index


def test_an_initiative_without_a_kpi_shows_dashes_not_nan() -> None:
    rows = pd.DataFrame([
        {"initiative": "R-1", "title": "Calendar", "service": "net", "kpi": pd.NA,
         "before": float("nan"), "after": float("nan"), "verdict": "not measurable",
         "review_due": pd.NA},
        {"initiative": "R-2", "title": "Lockers", "service": "net", "kpi": "fcr",
         "before": 0.5, "after": float("nan"), "verdict": "too early",
         "review_due": "2027-01-01"},
    ])
    table = benefit_table(rows, {"net": "Network"})
    assert list(table["Before"]) == ["–", catalogue.get("fcr").format(0.5)]
    assert list(table["After"]) == ["–", "–"]
    assert "nan" not in table.to_string()


def test_the_biggest_move_ranks_cells_with_a_target_first() -> None:
    """A backlog of 13 growing to 21 (+62%, no target) is not the quarter's biggest
    deterioration beside a reopen rate going from 8.8% to 9.9% against a 5% target
    (+1.1 points, 22% of the target); with no targeted cell moving, it is."""
    card = pd.DataFrame([
        {"service": "hr", "kpi": "backlog", "value": 21.0, "target": math.nan},
        {"service": "net", "kpi": "reopen_rate", "value": 0.099, "target": 0.05},
        {"service": "net", "kpi": "sla_resolution", "value": 0.616, "target": 0.9},
    ])
    gaps = pd.DataFrame([
        {"service": "hr", "kpi": "backlog", "previous": 13.0},
        {"service": "net", "kpi": "reopen_rate", "previous": 0.088},
        {"service": "net", "kpi": "sla_resolution", "previous": 0.677},
    ])
    worse = biggest_move(card, gaps, better=False)
    assert (worse["service"], worse["kpi"]) == ("net", "reopen_rate")  # not 6.1 pts of 90%
    assert worse["size"] == pytest.approx(0.011 / 0.05)
    flat = gaps.assign(previous=[13.0, 0.099, 0.616])
    assert biggest_move(card, flat, better=False)["kpi"] == "backlog"
    assert biggest_move(card, flat, better=True) is None
