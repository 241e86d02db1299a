"""Prioritisation: register checks, scoring, threshold, dependencies, capacity plan, decision
log, the hand-over workbook's safety and the report notebook through the runner."""

from __future__ import annotations

import itertools
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import PARAMS_YAML, ROOT, write_yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from csi_lib import prioritise, runner
from csi_lib.errors import DataError, ParamsError
from csi_lib.params import load_params
from csi_lib.prioritise import (
    PrioritySettings,
    carry_log,
    dependency_order,
    ensure_demo_register,
    find_cycle,
    moved_weights,
    plan_quarter,
    prepare,
    previous_backlog,
    quarter_decisions,
    read_log,
    read_register,
    score_register,
    sections,
    select_within_capacity,
    sensitivity,
    suggest,
    summary_text,
    weighted_scores,
    write_backlog_workbook,
    write_demo_register,
    write_register_template,
)
from csi_lib.register.layout import COLUMNS

DEMO = ROOT / "params" / "demo.yaml"
SERVICES = ("net", "mail")
FORMULAS = ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "=1+1")


def initiative(rid: str, **fields: object) -> dict[str, object]:
    """One register row as read_register returns it, with neutral defaults."""
    row: dict[str, object] = {
        "row": 2, "id": rid, "title": f"Initiative {rid}", "service": "net",
        "other_services": (), "kpi": "fcr", "expected_improvement": 0.2,
        "business_impact": 3.0, "effort": 3.0, "risk": 3.0, "strategic_alignment": 3.0,
        "effort_hours": 10.0, "time_criticality": 3.0, "risk_reduction": 3.0, "reach": 100.0,
        "confidence": 0.8, "cost": float("nan"), "owner": "A. Owner", "status": "proposed",
        "depends_on": (), "proposed": pd.NaT, "delivered": pd.NaT, "decided": pd.NaT,
        "notes": None,
    }
    row.update(fields)
    return row


def register(*rows: dict[str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    return frame.assign(row=range(2, len(frame) + 2))


def planned(frame: pd.DataFrame, capacity: float = 100.0, **overrides: object):
    s = PrioritySettings(**overrides)
    return plan_quarter(score_register(frame, s), capacity)


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"business_impact": 0.5, "effort": 0.3}, r"must sum to 1, but .* sum to 0\.8"),
        ({"business_impact": 1.2, "effort": -0.2}, "non-negative.*effort: -0.2"),
        ({"business_impact": 0.5, "cost": 0.5}, "unknown criterion 'cost'"),
    ],
)
def test_weights_are_validated_with_a_clear_message(weights: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PrioritySettings(weights=weights)


def test_bad_weights_in_a_params_file_name_the_key_and_file(tiny: Path) -> None:
    text = PARAMS_YAML + "prioritisation: {weights: {business_impact: 0.6, risk: 0.6}}\n"
    path = write_yaml(tiny.parent / "bad.yaml", text)
    with pytest.raises(ParamsError, match=r"(?s)bad\.yaml.*prioritisation\.weights: weights must "
                                          r"sum to 1.*sum to 1\.2"):
        load_params(path)


def test_weights_within_rounding_of_one_are_accepted_and_capacity_is_the_share() -> None:
    s = PrioritySettings(weights={"business_impact": 0.1, "effort": 0.2, "risk": 0.7},
                         team_hours_per_quarter=2400, improvement_share=0.15)
    assert s.capacity_hours == pytest.approx(360)


# ---------------------------------------------------------------- scoring


def test_weighted_score_puts_costs_the_right_way_round() -> None:
    frame = register(
        initiative("best", business_impact=5.0, effort=1.0, risk=1.0, strategic_alignment=5.0),
        initiative("worst", business_impact=1.0, effort=5.0, risk=5.0, strategic_alignment=1.0),
        initiative("mid", business_impact=4.0, effort=2.0, risk=3.0, strategic_alignment=3.0),
    )
    w = {"business_impact": 0.4, "effort": 0.2, "risk": 0.15, "strategic_alignment": 0.25}
    scores = weighted_scores(frame, w).tolist()
    # mid: 0.4*3/4 + 0.2*3/4 + 0.15*2/4 + 0.25*2/4 = 0.65
    assert scores == pytest.approx([100.0, 0.0, 65.0])


def test_the_model_parameter_chooses_the_ranking_score() -> None:
    frame = register(
        initiative("A", business_impact=5.0, effort=5.0, effort_hours=200.0, reach=10.0),
        initiative("B", business_impact=2.0, effort=1.0, effort_hours=5.0, reach=1000.0),
    )
    weighted = score_register(frame, PrioritySettings(weights={"business_impact": 1.0}))
    wsjf = score_register(frame, PrioritySettings(model="wsjf"))
    rice = score_register(frame, PrioritySettings(model="rice"))
    assert weighted.set_index("id")["rank"].to_dict() == {"A": 1, "B": 2}
    assert wsjf.set_index("id")["wsjf"].to_dict() == pytest.approx({"A": 11 / 5, "B": 8 / 1})
    assert wsjf.set_index("id")["rank"].to_dict() == {"A": 2, "B": 1}
    assert rice.set_index("id")["rice"]["B"] == pytest.approx(1000 * 2 * 0.8 / 5)
    assert (rice["score"] == rice["rice"]).all()


scores_1_5 = st.integers(1, 5).map(float)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(scores_1_5, scores_1_5, scores_1_5, scores_1_5,
                          st.integers(1, 300).map(float)), min_size=1, max_size=12),
       st.randoms(use_true_random=False))
def test_scores_and_ranks_do_not_depend_on_row_order(rows: list, rnd) -> None:
    frame = register(*[initiative(f"R{k}", business_impact=b, effort=e, risk=r,
                                  strategic_alignment=a, effort_hours=h)
                       for k, (b, e, r, a, h) in enumerate(rows)])
    shuffled = frame.sample(frac=1, random_state=rnd.randint(0, 10**6))
    s = PrioritySettings()
    before = frame.copy()
    a = score_register(frame, s).set_index("id")[["weighted", "rank"]].sort_index()
    b = score_register(shuffled, s).set_index("id")[["weighted", "rank"]].sort_index()
    pd.testing.assert_frame_equal(a, b)
    assert a["weighted"].between(0, 100).all()
    pd.testing.assert_frame_equal(frame, before)  # inputs are never mutated


# ---------------------------------------------------------------- threshold


def test_the_minimum_viable_improvement_filters_with_the_reason_recorded() -> None:
    frame = register(
        initiative("low", expected_improvement=0.10),
        initiative("ok", expected_improvement=0.15),
        initiative("nokpi", kpi=None, expected_improvement=float("nan")),
        initiative("noestimate", expected_improvement=float("nan")),
        initiative("old", expected_improvement=0.01, status="delivered"),
    )
    rows = planned(frame).rows.set_index("id")
    assert rows.loc["low", "decision"] == "below threshold"
    assert rows.loc["low", "reason"] == ("expected improvement 10% on First contact resolution "
                                         "is below the 15% minimum viable improvement")
    assert rows.loc["noestimate", "decision"] == "below threshold"
    assert "estimate it" in rows.loc["noestimate", "reason"]
    assert rows.loc["ok", "decision"] == "in plan"
    assert rows.loc["nokpi", "decision"] == "in plan"  # enabling work is not tested
    assert rows.loc["old", "decision"] == "delivered"
    assert pd.isna(rows.loc["low", "rank"])


# ---------------------------------------------------------------- dependencies


def test_dependency_order_pulls_prerequisites_up() -> None:
    order = dependency_order(["A", "B", "C", "D"], {"A": ("D",), "C": ("B",)})
    assert order == ["D", "A", "B", "C"]


def test_a_dependency_loop_is_an_error_naming_its_ids() -> None:
    assert find_cycle({"A": ["B"], "B": ["C"], "C": ["A"], "D": []}) == ["A", "B", "C", "A"]
    assert find_cycle({"A": ["B"], "B": []}) is None
    frame = register(initiative("A", depends_on=("B",)), initiative("B", depends_on=("A",)))
    with pytest.raises(DataError, match="loop A → B → A"):
        planned(frame)


def test_blocked_by_a_rejected_prerequisite_and_ranks_renumbered() -> None:
    frame = register(
        initiative("gone", status="rejected", notes="No budget."),
        initiative("needs-gone", business_impact=5.0, depends_on=("gone",)),
        initiative("chain", business_impact=5.0, depends_on=("needs-gone",)),
        initiative("free"),
    )
    rows = planned(frame).rows.set_index("id")
    assert rows.loc["needs-gone", "reason"] == "depends on gone, which is rejected"
    assert rows.loc["chain", "reason"] == "depends on needs-gone, which is blocked"
    assert rows.loc["free", "rank"] == 1  # blocked proposals give up their ranks
    assert rows.loc["gone", "reason"] == "No budget."


# ---------------------------------------------------------------- capacity


def test_the_plan_beats_greedy_and_respects_dependencies() -> None:
    # By value per hour, greedy takes A (60/10) then B (50/10): value 110. The best
    # set within 20 h is C with its prerequisite D: value 130.
    values = {"A": 60.0, "B": 50.0, "C": 100.0, "D": 30.0}
    hours = {"A": 10.0, "B": 10.0, "C": 12.0, "D": 8.0}
    sel = select_within_capacity(values, hours, {"C": ["D"]}, 20.0)
    assert set(sel.chosen) == {"C", "D"}
    assert sel.chosen.index("D") < sel.chosen.index("C")
    assert sel.value == pytest.approx(130.0)
    assert sel.optimal
    # Without room for the prerequisite, the dependant is never chosen.
    sel = select_within_capacity(values, hours, {"C": ["D"]}, 12.0)
    assert "C" not in sel.chosen


@st.composite
def instances(draw: st.DrawFn) -> tuple:
    n = draw(st.integers(1, 9))
    ids = [f"I{k}" for k in range(n)]
    values = {i: float(draw(st.integers(0, 100))) for i in ids}
    hours = {i: float(draw(st.integers(1, 60))) for i in ids}
    # Edges only to earlier items: never a loop.
    requires = {i: [d for d in ids[:k] if draw(st.booleans()) and draw(st.booleans())]
                for k, i in enumerate(ids)}
    return values, hours, requires, float(draw(st.integers(0, 150)))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_the_plan_is_the_best_closed_set_within_capacity(instance: tuple) -> None:
    values, hours, requires, capacity = instance
    sel = select_within_capacity(values, hours, requires, capacity)
    chosen = set(sel.chosen)
    assert sum(hours[i] for i in chosen) <= capacity + 1e-9
    assert all(set(requires[i]) <= chosen for i in chosen)
    best = 0.0
    for r in range(len(values) + 1):
        for combo in itertools.combinations(values, r):
            s = set(combo)
            if sum(hours[i] for i in s) <= capacity and all(set(requires[i]) <= s for i in s):
                best = max(best, sum(values[i] for i in s))
    assert sel.value == pytest.approx(best)


def test_work_in_progress_comes_first_and_what_did_not_fit_says_why() -> None:
    frame = register(
        initiative("wip", status="in progress", effort_hours=30.0),
        initiative("big", business_impact=5.0, effort_hours=120.0),
        initiative("pre", effort_hours=60.0),
        initiative("after", business_impact=5.0, effort_hours=20.0, depends_on=("pre",)),
        initiative("small", effort_hours=40.0),
    )
    before = frame.copy()
    plan = planned(frame, capacity=100.0)
    rows = plan.rows.set_index("id")
    assert plan.committed_hours == 30.0
    assert plan.used_hours <= 100.0
    assert rows.loc["wip", "plan_order"] == 1
    assert rows.loc["big", "reason"].startswith("needs 120 h, more than the 70 h left")
    assert {i for i in rows.index if rows.loc[i, "decision"] == "in plan"} == {"small"}
    assert rows.loc["after", "reason"] == "waits for pre, not in this quarter's plan"
    pd.testing.assert_frame_equal(frame, before)


# ---------------------------------------------------------------- sensitivity


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.01, 1), min_size=2, max_size=4), st.floats(0.05, 0.5))
def test_moved_weights_stay_valid(raw: list[float], step: float) -> None:
    names = ["business_impact", "effort", "risk", "strategic_alignment"][:len(raw)]
    weights = {n: v / sum(raw) for n, v in zip(names, raw, strict=True)}
    for name in names:
        for factor in (1 + step, 1 - step):
            moved = moved_weights(weights, name, factor)
            if moved is not None:
                assert sum(moved.values()) == pytest.approx(1)
                assert min(moved.values()) >= 0
                PrioritySettings(weights=moved)


def test_sensitivity_reports_when_the_leader_changes() -> None:
    frame = register(
        initiative("impact", business_impact=5.0, effort=5.0),
        initiative("cheap", business_impact=3.0, effort=1.0),
        initiative("other", business_impact=1.0, effort=5.0),
    )
    # impact: 0.5*1 + 0.5*0 = 0.5; cheap: 0.5*0.5 + 0.5*1 = 0.75 -> cheap leads.
    sens = sensitivity(frame, {"business_impact": 0.5, "effort": 0.5}, step=0.2, top_n=1)
    assert sens.base_top == ("cheap",)
    assert set(sens.scenarios["leader"]) == {"cheap"}
    assert sens.stable_share == 1.0
    close = sensitivity(frame, {"business_impact": 0.7, "effort": 0.3}, step=0.2, top_n=1)
    # impact 0.7 vs cheap 0.65: moving the effort weight up 20% flips the lead.
    assert close.base_top == ("impact",)
    assert "cheap" in set(close.scenarios["leader"])
    assert close.ranks.set_index("id").loc["impact", "worst"] == 2


# ---------------------------------------------------------------- register


def _fill(path: Path, rows: list[dict[str, object]], drop: str | None = None) -> Path:
    """Fill a blank template: rows are {header: value}; ``drop`` removes a column."""
    wb = load_workbook(path)
    ws = wb["Register"]
    headers = [c.header for c in COLUMNS]
    for i, row in enumerate(rows, start=2):
        for header, value in row.items():
            ws.cell(i, headers.index(header) + 1).value = value
    if drop:
        ws.delete_cols(headers.index(drop) + 1)
    wb.save(path)
    return path


GOOD = {"ID": "R-1", "Title": "Runbooks", "Service": "net", "Linked KPI": "fcr",
        "Expected improvement (%)": 0.2, "Business impact (1-5)": 4, "Effort (1-5)": 2,
        "Risk (1-5)": 1, "Strategic alignment (1-5)": 3, "Effort hours": 40,
        "Status": "proposed"}


def test_the_blank_template_has_drop_downs_instructions_and_reads_empty(tmp_path: Path) -> None:
    path = write_register_template(tmp_path / "reg.xlsx", SERVICES)
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Instructions"
    assert wb.active.title == "Register"
    ws = wb["Register"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert {"list", "whole", "decimal", "date"} <= kinds
    status = next(dv for dv in ws.data_validations.dataValidation
                  if dv.type == "list" and "proposed" in (dv.formula1 or ""))
    assert "in progress" in status.formula1
    assert [wb["Lists"].cell(r, 1).value for r in (2, 3)] == list(SERVICES)
    assert read_register(path, SERVICES).empty


def test_the_committed_template_matches_the_layout() -> None:
    path = ROOT / "templates" / "improvement_register.xlsx"
    ws = load_workbook(path)["Register"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert len(ws.data_validations.dataValidation) >= 10
    assert read_register(path, SERVICES).empty


def test_a_register_row_reads_with_typed_values(tmp_path: Path) -> None:
    path = _fill(write_register_template(tmp_path / "reg.xlsx", SERVICES), [
        {**GOOD, "Other services": "mail, net", "Depends on": "R-2"},
        {**GOOD, "ID": "R-2", "Service": "Mail", "Status": "In-Progress",
         "Linked KPI": "First contact resolution", "Expected improvement (%)": "25%"},
    ])
    frame = read_register(path, SERVICES).set_index("id")
    assert frame.loc["R-1", "other_services"] == ("mail",)  # the lead service is not repeated
    assert frame.loc["R-1", "depends_on"] == ("R-2",)
    assert frame.loc["R-2", "service"] == "mail"
    assert frame.loc["R-2", "status"] == "in progress"
    assert frame.loc["R-2", "kpi"] == "fcr"
    assert frame.loc["R-2", "expected_improvement"] == pytest.approx(0.25)
    assert frame.loc["R-2", "row"] == 3


def test_a_missing_column_is_named_with_the_header_row(tmp_path: Path) -> None:
    path = _fill(write_register_template(tmp_path / "reg.xlsx", SERVICES), [GOOD],
                 drop="Effort hours")
    with pytest.raises(DataError, match=r"reg\.xlsx, sheet 'Register': missing column\(s\) "
                                        r"'Effort hours'.*header row \(row 1\) has: ID, Title"):
        read_register(path, SERVICES)


def test_a_bad_register_lists_every_problem_with_excel_rows(tmp_path: Path) -> None:
    path = _fill(write_register_template(tmp_path / "reg.xlsx", SERVICES), [
        GOOD,
        {**GOOD, "ID": "R-2", "Risk (1-5)": 7},
        {**GOOD, "ID": "R-3", "Service": "netwrk"},
        {},  # a blank row is skipped, not an error
        {**GOOD, "ID": "R-5", "Risk (1-5)": 0, "Depends on": "R-9"},
        {**GOOD, "ID": "R-1"},
    ])
    with pytest.raises(DataError) as info:
        read_register(path, SERVICES)
    message = str(info.value)
    assert ("column 'Risk (1-5)', rows 3, 6: a score is a whole number from 1 to 5; got 7 "
            "(row 3), 0 (row 6)") in message
    assert "column 'Service', row 4: unknown service; use one of: net, mail; got 'netwrk'" \
        in message
    assert "column 'Depends on', row 6: depends on id(s) not in the register" in message
    assert "column 'ID', rows 2, 7: ids must be unique" in message
    assert "row 5" not in message


def test_a_dependency_loop_in_the_register_names_ids_and_rows(tmp_path: Path) -> None:
    path = _fill(write_register_template(tmp_path / "reg.xlsx", SERVICES), [
        {**GOOD, "Depends on": "R-2"}, {**GOOD, "ID": "R-2", "Depends on": "R-1"}])
    with pytest.raises(DataError, match=r"loop R-1 → R-2 → R-1 \(rows 2, 3\)"):
        read_register(path, SERVICES)


def test_the_model_needs_its_fields(tmp_path: Path) -> None:
    path = _fill(write_register_template(tmp_path / "reg.xlsx", SERVICES), [GOOD])
    with pytest.raises(DataError, match="column 'Reach', row 2: required by the 'rice'"):
        read_register(path, SERVICES, model="rice")


def test_the_demo_register_is_deterministic_and_rich(tmp_path: Path) -> None:
    params = load_params(DEMO)
    a = read_register(write_demo_register(tmp_path / "a.xlsx", params, 7), params.services)
    b = read_register(write_demo_register(tmp_path / "b.xlsx", params, 7), params.services)
    c = read_register(write_demo_register(tmp_path / "c.xlsx", params, 8), params.services)
    pd.testing.assert_frame_equal(a, b)
    assert not a["owner"].equals(c["owner"])
    assert 20 <= len(a) <= 35
    assert set(a["service"]) == {s.id for s in params.services}
    assert a["depends_on"].map(bool).sum() >= 3
    assert a["other_services"].map(bool).sum() >= 3
    rejected = a.loc[a["status"] == "rejected"]
    assert len(rejected) >= 2
    assert rejected["notes"].notna().all()
    assert a["title"].str.startswith("=HYPERLINK").any()
    assert a["notes"].str.contains("<script>", na=False).any()


def test_the_demo_register_is_written_only_for_a_demo_client_without_one(
        tmp_path: Path, tiny: Path) -> None:
    text = DEMO.read_text(encoding="utf-8").replace(
        "register_file: ../outputs/_exports/demo/improvement_register.xlsx",
        "register_file: register.xlsx")
    params = load_params(write_yaml(tmp_path / "demo.yaml", text))
    assert ensure_demo_register(params) == tmp_path / "register.xlsx"
    assert len(read_register(tmp_path / "register.xlsx", params.services)) == 31
    assert ensure_demo_register(params) is None  # never overwrites the consultant's file
    assert ensure_demo_register(load_params(tiny)) is None
    with pytest.raises(ParamsError, match=r"sets no prioritisation\.register_file"):
        prepare(tiny, "2026Q3", tmp_path / "outputs")


# ---------------------------------------------------------------- workbook


def _demo_plan(tmp_path: Path):
    params = load_params(DEMO)
    path = write_demo_register(tmp_path / "reg.xlsx", params, 1)
    reg = read_register(path, params.services)
    reg = reg.assign(title=[FORMULAS[k % len(FORMULAS)] if k < 5 else t
                            for k, t in enumerate(reg["title"])])
    plan = plan_quarter(score_register(reg, params.prioritisation),
                        params.prioritisation.capacity_hours)
    return params, reg, plan


def test_the_workbook_never_writes_a_formula(tmp_path: Path) -> None:
    params, reg, plan = _demo_plan(tmp_path)
    log = quarter_decisions(plan.rows, params.period("2026Q3"))
    triggers = pd.DataFrame({"service": ["network"], "kpi": ["fcr"], "rule": ["=cmd|' /C calc'!A0"],
                             "since": ["2026-05"], "periods": [3], "evidence": ["@SUM(A1)"],
                             "raised_in": ["2026Q3"]})
    path = write_backlog_workbook(
        tmp_path / "out" / "improvement_backlog.xlsx", client=params.client.name,
        period="2026Q3", plan=plan, log=log, suggestions=suggest(triggers, reg, {}),
        settings=params.prioritisation, register_name="reg.xlsx", service_names={})
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
    wb = load_workbook(path)
    assert wb.sheetnames == ["Ranked backlog", "Plan 2026Q3", "Did not fit", "Decision log",
                             "Suggestions", "About"]
    texts = {c.value: c for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)}
    for formula in FORMULAS:
        assert texts[formula].data_type == "s"
        assert texts[formula].quotePrefix
    assert texts["=cmd|' /C calc'!A0"].data_type == "s"
    assert not {"<NA>", "nan", "NaT", "None"} & set(texts)  # missing values stay empty
    ranked = wb["Ranked backlog"]
    assert ranked.freeze_panes == "A2"
    assert ranked.auto_filter.ref.startswith("A1:")
    headers = [c.value for c in ranked[1]]
    col = headers.index("Expected improvement") + 1
    assert ranked.cell(2, col).number_format == "0%"
    assert ranked.column_dimensions["D"].width == 44  # Title


def test_the_summary_and_tables_say_what_the_numbers_say(tmp_path: Path) -> None:
    params, _reg, plan = _demo_plan(tmp_path)
    ranked = plan.rows.loc[plan.rows["rank"].notna()]
    ctx = prioritise.Prioritisation(
        params=params, period=params.period("2026Q3"), register_file=tmp_path / "reg.xlsx",
        plan=plan, sensitivity=sensitivity(ranked, params.prioritisation.weights),
        suggestions=suggest(None, _reg, {}), triggers_available=False,
        log=quarter_decisions(plan.rows, params.period("2026Q3")), previous_log=None,
        outputs=tmp_path)
    text = summary_text(ctx)
    assert "holds **31 initiatives** across 6 services" in text
    assert (f"uses **{plan.used_hours:,.0f} of the 360 hours**") in text
    assert 'HYPERLINK("http&#58;//x"' in text  # client text is escaped: no link appears
    table = sections.plan_table(ctx)
    assert list(table["Status"][:2]) == ["in progress", "in progress"]
    assert table["Cumulative"].iloc[-1] == f"{plan.used_hours:,.0f} h"
    network = sections.service_table(ctx, "network")
    assert {"leads", "touches"} == set(network["Role"])
    assert ctx.rows.loc[ctx.rows["decision"] == "did not fit", "id"].map(
        lambda i: i.replace("-", "\u2011")).isin(sections.not_fitted_table(ctx)["ID"]).all()


# ---------------------------------------------------------------- decision log


def test_the_decision_log_is_carried_across_quarters(tmp_path: Path) -> None:
    params, reg, plan = _demo_plan(tmp_path)
    outputs = tmp_path / "outputs"
    q2, q3 = params.period("2026Q2"), params.period("2026Q3")
    earlier = pd.DataFrame([{"Quarter": "2026Q2", "ID": "R-99", "Title": "Old idea",
                             "Services": "erp", "Decision": "deferred", "Reason": "no room",
                             "Source": "prioritisation 2026Q2"}])
    for folder in ("2026Q2", "2026Q2-r2"):
        write_backlog_workbook(
            outputs / "demo" / folder / "improvement_backlog.xlsx", client="Demo",
            period="2026Q2", plan=plan,
            log=carry_log(earlier, quarter_decisions(plan.rows, q2)),
            suggestions=suggest(None, reg, {}), settings=params.prioritisation,
            register_name="reg.xlsx", service_names={})
    found = previous_backlog(outputs, "demo", q3)
    assert found == outputs / "demo" / "2026Q2-r2" / "improvement_backlog.xlsx"
    assert previous_backlog(outputs, "demo", q2) is None
    previous = read_log(found)
    log = carry_log(previous, quarter_decisions(plan.rows, q3))
    assert (log["ID"] == "R-99").sum() == 1
    rejected = log.loc[log["Decision"] == "rejected"]
    assert not rejected["ID"].duplicated().any()  # a rejection is logged once
    assert rejected.set_index("ID").loc["R-15", "Quarter"] == "2025Q4"  # its decision date
    deferred = log.loc[log["Decision"] == "deferred"]
    assert set(deferred["Quarter"]) == {"2026Q3", "2026Q2"}  # a deferral, each quarter
    assert list(log["Quarter"]) == sorted(log["Quarter"], reverse=True)


def test_a_damaged_previous_log_is_an_error_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "improvement_backlog.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(DataError, match=r"cannot be read.*move it aside"):
        read_log(path)


# ---------------------------------------------------------------- suggestions


def test_gap_triggers_become_suggestions_unless_covered() -> None:
    reg = register(initiative("R-1", service="net", kpi="fcr"),
                   initiative("R-2", service="mail", other_services=("net",), kpi="csat_mean"),
                   initiative("R-3", service="net", kpi="reopen_rate", status="rejected"))
    triggers = pd.DataFrame({
        "service": ["net", "net", "net", "net"],
        "kpi": ["fcr", "csat_mean", "reopen_rate", "reopen_rate"],
        "rule": ["consecutive breach", "control signal", "consecutive breach",
                 "control signal"],
        "since": ["2026-05", "2026-06", "2026-04", "2026-07"], "periods": [3, 2, 5, 1],
        "evidence": ["a", "b", "c", "d"], "raised_in": ["2026Q3"] * 4})
    s = suggest(triggers, reg, {"net": "Network"}).set_index("id")
    assert s.loc["S-net-fcr", "covered_by"] == "R-1"
    assert s.loc["S-net-csat_mean", "covered_by"] == "R-2"  # touched by another service's row
    assert s.loc["S-net-reopen_rate", "covered_by"] == ""    # a rejected row covers nothing
    assert s.loc["S-net-reopen_rate", "rules"] == "consecutive breach, control signal"
    assert s.loc["S-net-reopen_rate", "since"] == "2026-04"
    with pytest.raises(DataError, match=r"lack column\(s\) \['evidence', 'raised_in'\]"):
        suggest(triggers.drop(columns=["evidence", "raised_in"]), reg, {})


# ---------------------------------------------------------------- package


def test_params_import_stays_light_and_the_public_names_resolve() -> None:
    code = "import sys, csi_lib.params; print(sorted({'openpyxl', 'matplotlib'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    for name in prioritise.__all__:
        assert getattr(prioritise, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        prioritise.nope  # noqa: B018


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_the_runner_publishes_the_report_and_the_workbook(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(runner.NOTEBOOKS, "prioritisation",
                        runner.NotebookSpec("prioritisation", "Prioritisation", "client"))
    summary = runner.run_client(DEMO, "2026Q3", outputs=tmp_path, notebooks_dir=ROOT / "notebooks",
                                notebooks=["prioritisation"], log=lambda _: None)
    assert not summary.failed, summary.text()
    period = tmp_path / "demo" / "2026Q3"
    wb = load_workbook(period / "improvement_backlog.xlsx")
    assert wb["Ranked backlog"].max_row > 10
    text = "\n".join(p.extract_text() for p in PdfReader(period / "prioritisation.pdf").pages)
    assert "Executive summary" in text
    assert "Decision log" in text
    assert "<script>alert" in text  # shown as text, not run


def test_opportunities_become_suggestions_marked_with_their_source() -> None:
    from csi_lib.prioritise import suggest_opportunities

    register = pd.DataFrame({"id": ["R-1"], "kpi": ["self_service_share"], "service": ["identity"],
                             "other_services": [()], "status": ["approved"]})
    opps = pd.DataFrame({
        "service": ["identity", "network"], "title": ["Automate password reset", "Fix VPN"],
        "source": ["automation candidate", "repeat incidents"],
        "linked_kpi": ["self_service_share", "repeat_incident_rate"],
        "evidence": ["229 tickets, median 0.4 h.", "34 clusters."], "hours_freed": [114.5, 34.5]})
    out = suggest_opportunities(opps, register, "2026Q3")
    assert list(out["rules"]) == ["automation candidate", "repeat incidents"]
    assert list(out["covered_by"]) == ["R-1", ""]
    assert out.loc[0, "title"] == "Automate password reset"
    assert out.loc[1, "evidence"] == "34 clusters. About 34 agent hours a quarter could be freed."
    assert suggest_opportunities(opps.iloc[0:0], register, "2026Q3").empty
