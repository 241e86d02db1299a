"""A service without tickets in the period renders "no tickets in this period"; a period
outside the data is refused with the data's range."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import PARAMS_YAML, TICKETS_CSV, write_yaml

from csi_lib import baseline, gaps, opportunities
from csi_lib.cli import main
from csi_lib.data import load_kpis, load_tables
from csi_lib.errors import DataError
from csi_lib.kpis import NO_TICKETS, active_in_table, active_tickets, require_period_in_data
from csi_lib.params import load_params

QUIET = "  - {id: quiet, name: Quiet <Svc>, match: {assignment_group: [Nobody]}}\n"


@pytest.fixture
def quiet(tmp_path: Path) -> Path:
    """The tiny client with a third service that no ticket belongs to."""
    write_yaml(tmp_path / "tickets.csv", TICKETS_CSV)
    text = PARAMS_YAML.replace("sla:\n", QUIET + "sla:\n", 1)
    return write_yaml(tmp_path / "tiny.yaml", text)


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    out: list[dict] = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: out.append(obj))
    return out


def _texts(shown: list[dict]) -> list[str]:
    return [b.get("text/markdown", "") for b in shown if isinstance(b, dict)]


def test_active_tickets_counts_opened_resolved_or_open_per_service(quiet: Path,
                                                                   tmp_path: Path) -> None:
    params = load_params(quiet)
    tables = load_tables(params, tmp_path / "out")
    active = active_tickets(tables.tickets, params, params.period("2026Q3"))
    assert active.to_dict() == {"net": 2, "mail": 2, "quiet": 0}
    kpis = load_kpis(params, params.period("2026Q3"), tmp_path / "out", tables)
    assert active_in_table(kpis, "quiet", "2026Q3") == 0
    assert active_in_table(kpis, "mail", "2026Q3") > 0
    assert active_in_table(kpis, "net", "2026Q2") == 0   # history before the data


def test_every_baseline_and_gap_section_of_a_quiet_service_says_so(
        quiet: Path, tmp_path: Path, shown: list[dict]) -> None:
    out = tmp_path / "out"
    ctx = baseline.prepare(quiet, "2026Q3", "quiet", out)
    for section in (baseline.show_summary, baseline.show_kpi_table, baseline.show_trends,
                    baseline.show_distribution, baseline.show_backlog):
        section(ctx)
    for section in (opportunities.show_pareto, opportunities.show_repeats,
                    opportunities.show_automation):
        section(ctx.tables, ctx.params, ctx.period, "quiet")
    g = gaps.prepare(quiet, "2026Q3", "quiet", out)
    for section in (gaps.show_summary, gaps.show_gap_chart, gaps.show_gap_table,
                    gaps.show_triggers, gaps.show_signals, gaps.show_control_charts,
                    gaps.show_forecast, gaps.show_history):
        section(g)
    texts = _texts(shown)
    assert len(shown) == 16
    expected = (f"**{NO_TICKETS}.** Quiet &lt;Svc&gt; has no ticket opened, resolved or still "
                "open in 2026Q3")
    assert all(t.startswith(expected) for t in texts), texts


def test_a_busy_service_still_shows_its_sections(quiet: Path, tmp_path: Path,
                                                 shown: list[dict]) -> None:
    ctx = baseline.prepare(quiet, "2026Q3", "net", tmp_path / "out")
    baseline.show_summary(ctx)
    assert NO_TICKETS not in _texts(shown)[0]
    assert "handled **2 tickets**" in _texts(shown)[0]


def test_a_period_outside_the_data_is_refused_with_its_range(quiet: Path,
                                                             tmp_path: Path) -> None:
    params = load_params(quiet)
    tables = load_tables(params, tmp_path / "out")
    require_period_in_data(tables.tickets, params, params.period("2026Q3"))
    # T4 is still open, but the export says nothing of 2026Q4: refused too.
    with pytest.raises(DataError) as err:
        require_period_in_data(tables.tickets, params, params.period("2026Q4"), "tickets.csv")
    assert str(err.value) == (
        "period 2026Q4 lies outside the ticket data in tickets.csv, which runs from "
        "2026-07-01 09:00 to 2026-09-10 09:05 (UTC): choose a period from 2026Q3 to 2026Q3 "
        f"(--period, or reporting.period in {quiet})")
    with pytest.raises(DataError, match="period 2026Q1 lies outside"):
        baseline.prepare(quiet, "2026Q1", "net", tmp_path / "out")


@pytest.mark.parametrize("command", ["check", "run"])
def test_check_and_run_refuse_a_period_outside_the_data_with_exit_2(
        command: str, quiet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([command, "--params", str(quiet), "--outputs", str(tmp_path / "out"),
               "--period", "2025Q2"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "period 2025Q2 lies outside the ticket data" in err
    assert "choose a period from 2026Q3 to 2026Q3" in err
    assert not (tmp_path / "out" / "tiny" / "2025Q2").exists()


def test_a_client_without_dated_tickets_is_refused() -> None:
    empty = pd.DataFrame({"opened_at": pd.Series(dtype="datetime64[ns, UTC]")})
    params = load_params(Path(__file__).resolve().parents[1] / "params" / "demo.yaml")
    with pytest.raises(DataError, match="no kept ticket has a date"):
        require_period_in_data(empty, params, params.period("2026Q3"))
