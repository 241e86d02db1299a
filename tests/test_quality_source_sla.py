"""The source tool's own SLA verdict: read at ingest, published as a KPI, and compared
with the kit's verdict in the baseline, with the reason for disagreement named only
where the data shows one (planted reasons found, placebo data left "unknown")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import PARAMS_YAML, ROOT, SHARED_DATA, TICKETS_CSV, write_yaml

from csi_lib.ingest import _empty_changes, _empty_surveys, ingest
from csi_lib.kpis import kpi_table, period_bounds
from csi_lib.params import load_params
from csi_lib.quality import compare_source_sla, show_source_sla
from csi_lib.quality.source_sla import UNKNOWN

TARGET_H = {"P1": 4.0, "P2": 24.0, "P3": 72.0}  # the tiny params' resolution targets
START = pd.Timestamp("2026-07-01", tz="UTC")


@pytest.fixture
def params(tiny: Path):
    return load_params(tiny)


def _tickets(ratios: np.ndarray, priorities: np.ndarray, tool: np.ndarray) -> pd.DataFrame:
    """Tickets of service net resolved in 2026Q3 after ``ratio`` x their target (24x7)."""
    n = len(ratios)
    opened = START + pd.to_timedelta(np.arange(n) * 30, unit="min")
    hours = ratios * np.array([TARGET_H[p] for p in priorities])
    return pd.DataFrame({
        "service": "net", "priority": pd.array(priorities, dtype="string"),
        "opened_at": opened, "resolved_at": opened + pd.to_timedelta(hours, unit="h"),
        "made_sla": pd.array(np.where(tool, "true", "false"), dtype="string"),
    })


def _compare(frame: pd.DataFrame, params):
    start, end = period_bounds(params.period(), params.reporting.timezone)
    return compare_source_sla(frame, params, start, end)


def _estate(rng: np.random.Generator, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Priorities in proportion 20/40/40 and clocks spread from 0.1 to 3 times the target."""
    priorities = rng.choice(["P1", "P2", "P3"], size=n, p=[0.2, 0.4, 0.4])
    return rng.uniform(0.1, 3.0, size=n), priorities


def test_verdicts_that_agree_everywhere_claim_no_reason(params) -> None:
    ratios, prio = _estate(np.random.default_rng(1))
    result = _compare(_tickets(ratios, prio, ratios <= 1), params)
    assert result.overall["n"] == 300 and result.overall["disagree"] == 0
    assert result.overall["exported_rate"] == result.overall["recomputed_rate"]
    assert result.reason.startswith("none")
    assert set(result.by_priority.index) == {"P1", "P2", "P3"}
    assert (result.by_priority["disagree"] == 0).all()


def test_a_tool_that_pauses_its_clock_on_hold_is_named(params) -> None:
    """40 tickets on hold for a long time: the kit's clock puts them at 2 to 3 times their
    target, the tool (which paused its clock) counts them as met."""
    rng = np.random.default_rng(2)
    ratios, prio = _estate(rng)
    tool = ratios <= 1
    held = np.flatnonzero(ratios > 2)[:40]
    ratios[held] = rng.uniform(2.0, 3.0, size=len(held))
    tool[held] = True
    result = _compare(_tickets(ratios, prio, tool), params)
    o = result.overall
    assert (o["n"], o["disagree"], o["exported_met_recomputed_breached"]) == (300, 40, 40)
    assert 1 - o["disagree_share"] == pytest.approx(260 / 300)
    assert "tool counts as met that the kit's clock puts well past their target" in result.reason
    assert "paused or stopped its clock" in result.reason
    assert result.reason.startswith("40 of the 40 disagreements")
    # By priority: every disagreement is one of those tickets, in its own priority.
    by = result.by_priority
    assert by["disagree"].sum() == 40
    assert by["exported_met_recomputed_breached"].to_dict() == pd.Series(
        prio[held]).value_counts().reindex(by.index, fill_value=0).to_dict()


def test_a_different_target_for_one_priority_is_named(params) -> None:
    """The tool's P3 target is 5 days, the params' 3 days: P3 tickets resolved between 3 and
    5 days are met for the tool, breached for the kit."""
    rng = np.random.default_rng(3)
    ratios, prio = _estate(rng)
    prio[:] = np.where(rng.random(300) < 0.25, "P3", np.where(rng.random(300) < 0.5, "P1", "P2"))
    tool = np.where(prio == "P3", ratios <= 5 / 3, ratios <= 1)
    result = _compare(_tickets(ratios, prio, tool), params)
    assert result.overall["disagree"] > 10
    assert "priority P3" in result.reason and "sla.targets.P3" in result.reason
    assert result.by_priority.loc["P1", "disagree"] == result.by_priority.loc["P2", "disagree"] == 0


def test_clocks_that_differ_by_little_are_named(params) -> None:
    """Both directions, every priority, all within a few percent of the target."""
    rng = np.random.default_rng(4)
    ratios, prio = _estate(rng)
    tool = ratios <= 1
    near = np.flatnonzero(np.abs(ratios - 1) < 0.1)
    assert len(near) >= 10
    tool[near] = ~tool[near]
    result = _compare(_tickets(ratios, prio, tool), params)
    assert result.overall["disagree"] == len(near)
    assert "within 25% of the target" in result.reason


@pytest.mark.parametrize("seed", range(20))
def test_placebo_verdicts_without_pattern_name_no_reason(params, seed: int) -> None:
    """The tool's verdict drawn at random, unrelated to the clock: disagreements are many
    but follow no priority, distance or direction, so no reason is claimed."""
    rng = np.random.default_rng(100 + seed)
    ratios, prio = _estate(rng)
    result = _compare(_tickets(ratios, prio, rng.random(300) < 0.5), params)
    assert 0.3 < 1 - result.overall["disagree_share"] < 0.7
    assert result.reason.startswith(UNKNOWN)
    assert "little better than chance" in result.reason


def test_few_disagreements_are_too_few_for_a_reason(params) -> None:
    ratios, prio = _estate(np.random.default_rng(5))
    tool = ratios <= 1
    tool[:2] = ~tool[:2]
    assert _compare(_tickets(ratios, prio, tool), params).reason.startswith("not named: 2")


CSV_WITH_VERDICT = TICKETS_CSV.replace("caller\n", "caller,made\n").replace(
    "Ann Lee\nT2", "Ann Lee,true\nT2").replace("Bob Ray\n", "Bob Ray,Breached\n").replace(
    "1,Ann Lee\n", "1,Ann Lee,perhaps\n").replace("Cy Fox\n", "Cy Fox,\n")


def _with_verdict(tiny: Path) -> Path:
    write_yaml(tiny.parent / "tickets.csv", CSV_WITH_VERDICT)
    return write_yaml(tiny, PARAMS_YAML.replace("caller: caller}", "caller: caller,\n"
                                                "              made_sla: made}"))


def test_ingest_reads_the_verdict_and_flags_one_it_cannot_read(tiny: Path) -> None:
    result = ingest(load_params(_with_verdict(tiny)))
    t = result.tickets.set_index("ticket_id")
    assert t["made_sla"].fillna("-").to_dict() == {"T1": "true", "T2": "false", "T3": "-", "T4": "-"}
    assert len(t) == 4  # flagged, not excluded
    hit = result.issues.loc[result.issues["rule"] == "SLA verdict neither met nor breached"]
    assert (hit["column"].tolist(), hit["rows"].tolist(), hit["examples"].tolist(),
            hit["action"].tolist()) == (["made"], [1], ["4"], ["flagged"])
    assert "sources.tickets.values.made_sla" in hit["fix"].iloc[0]


def _kpi(table: pd.DataFrame, service: str) -> tuple[float, int]:
    row = table.loc[(table["service"] == service) & (table["kpi"] == "sla_met_source")
                    & (table["period"] == "2026Q3")].iloc[0]
    return float(row["value"]), int(row["n"])


def test_the_source_tools_verdict_is_its_own_kpi(tiny: Path) -> None:
    params = load_params(_with_verdict(tiny))
    table = kpi_table(ingest(params).tickets, _empty_changes(), _empty_surveys(), params,
                      params.period())
    assert _kpi(table, "net") == (0.5, 2)  # T1 met, T2 breached
    value, n = _kpi(table, "mail")  # T3's verdict unreadable, T4 not resolved
    assert n == 0 and np.isnan(value)


def test_without_a_verdict_the_kpi_is_absent_not_zero(tiny: Path) -> None:
    params = load_params(tiny)
    table = kpi_table(ingest(params).tickets, _empty_changes(), _empty_surveys(), params,
                      params.period())
    value, n = _kpi(table, "net")
    assert n == 0 and np.isnan(value)


def test_the_baseline_section_shows_the_comparison_or_says_there_is_none(
        tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = load_params(tiny)
    show_source_sla(ingest(params), params, params.period(), "net")
    assert "carries no SLA verdict of the source tool" in capsys.readouterr().out
    params = load_params(_with_verdict(tiny))
    show_source_sla(ingest(params), params, params.period(), "net")
    out = capsys.readouterr().out
    assert "for **2 of the 2 tickets** resolved in 2026Q3" in out
    assert "they agree on **2 (100.0%)**" in out  # T1 met in 2 h, T2 breached after 2 days
    assert "SLA verdict by priority" in out


@pytest.mark.skipif(not (SHARED_DATA / "bpic2014_rabobank_subset").exists(),
                    reason="the public logs in ../shared/data are not here")
def test_an_export_without_the_tools_verdict_publishes_no_value(tmp_path: Path) -> None:
    """The public event logs carry no SLA verdict: the KPI has no value for any service."""
    params = load_params(ROOT / "params" / "examples" / "bpic2014.yaml")
    tables = ingest(params)
    table = kpi_table(tables.tickets, tables.changes, tables.surveys, params, params.period())
    mine = table.loc[table["kpi"] == "sla_met_source"]
    assert len(mine) > 0 and (mine["n"] == 0).all() and mine["value"].isna().all()
