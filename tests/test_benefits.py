"""Benefit review: planted effects recovered, placebo data left alone, trend and estate traps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from openpyxl import load_workbook
from pydantic import ValidationError

from csi_lib.benefits import estimate, review, summary_text, windows
from csi_lib.benefits.report import Benefits, write_table
from csi_lib.benefits.summary import calibration
from csi_lib.errors import DataError
from csi_lib.params import BenefitSettings, load_params
from csi_lib.prioritise.planning import Plan
from csi_lib.prioritise.workbook import write_backlog_workbook
from csi_lib.register.outcomes import BENEFIT_COLUMNS, VERDICTS, read_benefits
from csi_lib.reports import NOTEBOOKS

SERVICES = ["s0", "s1", "s2", "s3", "s4", "s5"]
PERIOD = pd.Period("2026Q3", "Q-DEC")
SETTINGS = BenefitSettings()
MONTHS = pd.period_range("2024-07", "2026-09", freq="M")
KPI = "resolution_median_h"


def kpi_table(rng: np.random.Generator, effects: dict[str, object] | None = None,
              kpi: str = KPI, noise: float = 0.1) -> pd.DataFrame:
    """A long monthly KPI table; ``effects`` maps a service ("*": all) to a function of the
    month index giving a multiplier."""
    effects = effects or {}
    rows = []
    for k, s in enumerate(SERVICES):
        base = 10.0 + 4 * k
        for i, m in enumerate(MONTHS):
            mult = np.exp(noise * rng.standard_normal())
            for key in (s, "*"):
                if key in effects:
                    mult *= effects[key](i)
            rows.append((s, "M", str(m), m.start_time, kpi, base * mult, 200))
    return pd.DataFrame(rows, columns=["service", "freq", "period", "period_start", "kpi",
                                       "value", "n"])


def initiative(rid: str = "X-1", service: str = "s0", delivered: str = "2026-01-15",
               kpi: object = KPI, expected: float | None = 0.25, **extra: object) -> dict:
    row = {"id": rid, "title": f"Initiative {rid}", "service": service, "other_services": (),
           "kpi": kpi, "expected_improvement": np.nan if expected is None else expected,
           "status": "delivered", "delivered": pd.Timestamp(delivered),
           "review_date": pd.NaT, "effort_hours": 40.0, "owner": "A. N. Other",
           "outcome_notes": None, "residual_risk": None}
    row.update(extra)
    return row


def register(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def step(at: str, mult: float) -> object:
    index = list(MONTHS).index(pd.Period(at, "M"))
    return lambda i: mult if i >= index else 1.0


def verdict_of(kpis: pd.DataFrame, *rows: dict) -> pd.DataFrame:
    return review(register(*rows), kpis, SERVICES, PERIOD, SETTINGS).set_index("initiative")


# ------------------------------------------------------------------ planted truth


def test_a_step_beyond_the_expected_improvement_is_achieved() -> None:
    kpis = kpi_table(np.random.default_rng(1), {"s0": step("2026-01", 0.55)})
    row = verdict_of(kpis, initiative(expected=0.25)).loc["X-1"]
    assert row["verdict"] == "achieved"
    assert row["change_low"] < 0.45 < row["change_high"]
    assert row["change"] == pytest.approx(0.45, abs=0.1)
    assert row["before"] > row["after"]


def test_a_smaller_real_step_is_partly_achieved() -> None:
    kpis = kpi_table(np.random.default_rng(2), {"s0": step("2026-01", 0.75)})
    row = verdict_of(kpis, initiative(expected=0.5)).loc["X-1"]
    assert row["verdict"] == "partly achieved"
    assert 0 < row["change_low"] < row["change"] < 0.5


def test_a_deterioration_is_worse() -> None:
    kpis = kpi_table(np.random.default_rng(3), {"s0": step("2026-01", 1.5)})
    assert verdict_of(kpis, initiative()).loc["X-1", "verdict"] == "worse"


def test_no_effect_is_no_measurable_effect() -> None:
    kpis = kpi_table(np.random.default_rng(4))
    row = verdict_of(kpis, initiative()).loc["X-1"]
    assert row["verdict"] == "no measurable effect"
    assert row["change_low"] < 0 < row["change_high"]


def test_a_service_already_improving_is_not_credited_with_its_trend() -> None:
    # 3% better every month since mid-2024, no step at delivery.
    kpis = kpi_table(np.random.default_rng(5), {"s0": lambda i: 0.97**i}, noise=0.06)
    row = verdict_of(kpis, initiative(delivered="2026-03-10", expected=0.1)).loc["X-1"]
    assert row["own_change"] > 0.15           # a naive before/after would credit it
    assert bool(row["trend_adjusted"])
    assert row["verdict"] == "no measurable effect"
    assert "already improving" in row["reason"]


def test_an_estate_wide_change_is_not_attributed() -> None:
    kpis = kpi_table(np.random.default_rng(6), {"*": step("2026-01", 0.6)})
    row = verdict_of(kpis, initiative()).loc["X-1"]
    assert row["own_change"] == pytest.approx(0.4, abs=0.1)
    assert row["estate_change"] == pytest.approx(0.4, abs=0.1)
    assert row["verdict"] == "no measurable effect"
    assert "untouched services moved" in row["reason"]


def test_the_estate_leaves_out_services_touched_by_the_initiative_or_another_on_its_kpi() -> None:
    kpis = kpi_table(np.random.default_rng(7))
    out = verdict_of(kpis, initiative(other_services=("s1",)),
                     initiative("X-2", service="s2", delivered="2026-02-01"),
                     initiative("X-3", service="s3", kpi="sla_resolution"))
    assert out.loc["X-1", "compared_with"] == "s3, s4, s5"


def test_too_early_gives_the_date_a_verdict_is_due() -> None:
    kpis = kpi_table(np.random.default_rng(8))
    out = verdict_of(kpis, initiative(delivered="2026-08-12"),
                     initiative("X-2", delivered="2026-11-02"))
    assert out.loc["X-1", "verdict"] == "too early"
    assert out.loc["X-1", "review_due"] == pd.Timestamp("2027-01-01")
    assert out.loc["X-2", "verdict"] == "too early"
    assert "after the period end" in out.loc["X-2", "reason"]


def test_not_measurable_says_why() -> None:
    kpis = kpi_table(np.random.default_rng(9))
    late = kpis.loc[kpis["period"] >= "2025-10"]
    out = verdict_of(late, initiative(kpi=None), initiative("X-2", delivered="2025-11-20"),
                     initiative("X-3", kpi="csat_mean"))
    assert set(out["verdict"]) == {"not measurable"}
    assert out.loc["X-1", "reason"] == "no linked KPI in the register"
    assert out.loc["X-2", "reason"].startswith("no baseline: 1 of the 6 months")
    assert "no customer satisfaction, mean data" in out.loc["X-3", "reason"]


def test_deliveries_before_the_review_window_are_not_judged_again() -> None:
    kpis = kpi_table(np.random.default_rng(10))
    out = verdict_of(kpis, initiative(delivered="2025-06-01"), initiative("X-2"))
    assert list(out.index) == ["X-2"]


def test_windows_follow_the_settings() -> None:
    w = windows(pd.Timestamp("2026-01-19"), pd.Period("2026-09", "M"), SETTINGS)
    assert [str(m) for m in w.baseline] == ["2025-07", "2025-08", "2025-09", "2025-10",
                                            "2025-11", "2025-12"]
    assert [str(m) for m in w.after] == ["2026-03", "2026-04", "2026-05", "2026-06",
                                         "2026-07", "2026-08", "2026-09"]
    assert len(w.trend) == 12
    assert w.review_due == pd.Timestamp("2026-06-01")


# ------------------------------------------------------------------ placebo


def test_placebo_deliveries_on_data_without_effect_are_rarely_credited() -> None:
    """200 placebo trials: random data, random delivery dates, no effect planted."""
    rng = np.random.default_rng(2026)
    # Deliveries from the review window's first month to the last that leaves three
    # months after settling, so that every trial is judged.
    months = pd.period_range("2025-10", "2026-05", freq="M")
    verdicts = []
    for _ in range(200):
        kpis = kpi_table(rng)
        when = months[rng.integers(0, len(months))].start_time + pd.Timedelta(
            days=int(rng.integers(0, 28)))
        out = verdict_of(kpis, initiative(delivered=str(when.date()), expected=0.1))
        verdicts.append(out.loc["X-1", "verdict"])
    counts = pd.Series(verdicts).value_counts()
    assert counts.sum() == counts.get("no measurable effect", 0) + counts.get(
        "achieved", 0) + counts.get("partly achieved", 0) + counts.get("worse", 0)
    assert counts.get("no measurable effect", 0) / 200 >= 0.9
    assert (counts.get("achieved", 0) + counts.get("partly achieved", 0)) / 200 < 0.05


def test_estimate_is_symmetric_in_the_kpi_direction() -> None:
    kpis = kpi_table(np.random.default_rng(14), {"s0": step("2026-01", 1.3)}, kpi="csat_mean")
    wide = kpis.pivot_table(index="period", columns="service", values="value")
    wide.index = pd.PeriodIndex([pd.Period(p, "M") for p in wide.index])
    w = windows(pd.Timestamp("2026-01-15"), pd.Period("2026-09", "M"), SETTINGS)
    est = estimate(wide, "s0", SERVICES[1:], "csat_mean", w.baseline, w.after, w.trend)
    assert 0 < est.low < 0.3 < est.high   # higher is better: a rise is a positive effect
    assert est.own_change == pytest.approx(0.3, abs=0.1)


# ------------------------------------------------------------------ the demo


@pytest.mark.slow
def test_the_demo_client_gets_each_planted_verdict(tmp_path) -> None:
    from csi_lib.benefits import prepare

    ctx = prepare(ROOT / "params" / "demo.yaml", "2026Q3", tmp_path / "outputs")
    got = dict(zip(ctx.table["initiative"], ctx.table["verdict"], strict=True))
    assert got == {
        "R-26": "achieved",              # endpoint, resolution times nearly halved
        "R-27": "partly achieved",       # hr-portal satisfaction, less than expected
        "R-28": "no measurable effect",  # identity, nothing planted
        "R-29": "no measurable effect",  # email, the estate-wide ticketing tool
        "R-09": "no measurable effect",  # erp, already improving before delivery
        "R-30": "not measurable",        # no linked KPI
        "R-31": "too early",             # delivered in August
    }
    erp = ctx.table.set_index("initiative").loc["R-09"]
    assert bool(erp["trend_adjusted"]) and erp["own_change"] > 0.2
    assert set(ctx.pending["id"]) == {"R-09", "R-27", "R-28", "R-29", "R-31"}
    assert set(ctx.archive["id"]) == {"R-26", "R-30"}
    path = write_table(ctx, tmp_path / "report")
    back = read_benefits(path)
    assert list(back.columns) == BENEFIT_COLUMNS
    assert list(back["verdict"]) == list(ctx.table["verdict"])


# ------------------------------------------------------------------ outputs


def _ctx(table: pd.DataFrame, tmp_path) -> Benefits:
    params = load_params(ROOT / "params" / "demo.yaml")
    return Benefits(params=params, period=PERIOD, register=pd.DataFrame(), table=table,
                    kpis=pd.DataFrame(), outputs=tmp_path)


def test_the_csv_has_the_published_columns_and_iso_dates(tmp_path) -> None:
    kpis = kpi_table(np.random.default_rng(12), {"s0": step("2026-01", 0.55)})
    table = review(register(initiative(), initiative("X-2", kpi=None)), kpis, SERVICES,
                   PERIOD, SETTINGS)
    path = write_table(_ctx(table, tmp_path), tmp_path / "out")
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(BENEFIT_COLUMNS)
    assert "2026-01-15" in text
    back = read_benefits(path)
    assert back["verdict"].tolist() == ["achieved", "not measurable"]
    assert set(back["verdict"]) <= set(VERDICTS)


def test_a_benefit_table_from_another_version_is_refused(tmp_path) -> None:
    path = tmp_path / "benefits.csv"
    path.write_text("initiative,verdict\nR-1,achieved\n", encoding="utf-8")
    with pytest.raises(DataError, match="lacks column"):
        read_benefits(path)


def test_the_workbook_benefits_sheet_holds_text_only(tmp_path) -> None:
    kpis = kpi_table(np.random.default_rng(13), {"s0": step("2026-01", 0.55)})
    table = review(register(initiative(title='=HYPERLINK("http://x","click")'),
                            initiative("X-2", kpi=None)), kpis, SERVICES, PERIOD, SETTINGS)
    plan = Plan(rows=pd.DataFrame(columns=["id", "title", "service", "other_services",
                                           "status", "decision", "reason", "kpi",
                                           "expected_improvement", "business_impact",
                                           "effort", "risk", "strategic_alignment",
                                           "weighted", "wsjf", "rice", "effort_hours",
                                           "cost", "depends_on", "owner", "proposed",
                                           "backlog_order", "rank", "plan_order", "score"]),
                capacity=100.0, committed_hours=0.0, planned_hours=0.0, optimal=True)
    params = load_params(ROOT / "params" / "demo.yaml")
    path = write_backlog_workbook(
        tmp_path / "b.xlsx", client="Demo", period="2026Q3", plan=plan,
        log=pd.DataFrame(columns=["ID"]), suggestions=pd.DataFrame(
            columns=["id", "title", "service", "kpi", "rules", "evidence", "since",
                     "covered_by"]),
        settings=params.prioritisation, register_name="r.xlsx", service_names={},
        verdicts=table)
    ws = load_workbook(path)["Benefits"]
    rows = list(ws.iter_rows())
    assert [c.value for c in rows[0]][:3] == ["ID", "Title", "Service"]
    assert rows[1][8].value == "achieved" and rows[2][8].value == "not measurable"
    cells = [c for row in rows for c in row if c.value is not None]
    assert all(c.data_type == "s" for c in cells)
    formula_like = [c for c in cells if str(c.value).startswith("=")]
    assert formula_like and all(c.quotePrefix for c in formula_like)


def test_the_summary_counts_hours_and_calibration() -> None:
    rng = np.random.default_rng(14)
    kpis = kpi_table(rng, {"s0": step("2026-01", 0.55)})
    table = review(register(initiative(expected=0.25, effort_hours=100.0),
                            initiative("X-2", service="s5", expected=0.3, effort_hours=30.0),
                            initiative("X-3", kpi=None)), kpis, SERVICES, PERIOD, SETTINGS)
    text = summary_text(table, first="2025Q4", last="2026Q3", pending=2)
    assert "**3 initiatives delivered** between 2025Q4 and 2026Q3" in text
    assert "**1 achieved**" in text and "**1 had no measurable effect**" in text
    assert "100 team hours went into initiatives with a measured effect and 30" in text
    cal = calibration(table)
    assert cal is not None and cal.n == 2
    assert cal.expected == pytest.approx(0.275)
    assert "more optimistic than what was realised" in text or "exceeded" in text
    assert "2 delivered initiatives still wait" in text


# ------------------------------------------------------------------ settings and registry


def test_benefit_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="trend_months"):
        BenefitSettings(baseline_months=12, trend_months=6)
    with pytest.raises(ValidationError):
        BenefitSettings(settling=2)  # type: ignore[call-arg]
    assert BenefitSettings().min_after_months == 3


def test_the_benefit_review_is_a_client_report() -> None:
    spec = NOTEBOOKS["benefits"]
    assert spec.scope == "client"
    assert spec.requires == "prioritisation.register_file"
    assert (ROOT / "notebooks" / "benefits.ipynb").is_file()
