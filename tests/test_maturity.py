"""Tests of csi_lib.maturity: model, scale, level rule, aggregation, trends, questionnaires,
the demo panel and the report."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib as mpl
import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import PARAMS_YAML, ROOT, TICKETS_CSV, write_yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from pydantic import ValidationError

from csi_lib import maturity
from csi_lib.errors import DataError, ParamsError
from csi_lib.maturity import (
    MaturitySettings,
    agreement,
    area_level,
    area_results,
    area_score,
    band,
    holding_back,
    load_model,
    overall,
    parse_rating,
    practice_results,
    quarter_changes,
    read_questionnaire,
    stagnation,
    target_gaps,
    write_questionnaire,
)
from csi_lib.maturity.responses import find_questionnaires
from csi_lib.params import load_params

mpl.use("Agg")

# A client's own model: three areas, one practice per level.
CLIENT_MODEL = """\
schema_version: 1
id: acme-lite
name: Acme lite model
version: "0.1"
levels:
  1: {name: Ad hoc, description: Happens sometimes.}
  2: {name: Managed, description: Planned.}
  3: {name: Standard, description: Documented.}
  4: {name: Measured, description: Measured.}
  5: {name: Improving, description: Improved.}
areas:
"""


def _area_yaml(area_id: str, code: str) -> str:
    levels = "".join(
        f"      {k}:\n        description: Level {k} of {area_id}.\n"
        f"        practices:\n          - {{id: {code}{k}, text: Practice {k} of {area_id}.}}\n"
        for k in range(1, 6))
    return (f"  - id: {area_id}\n    name: {area_id.title()}\n"
            f"    description: The {area_id} area.\n    levels:\n{levels}")


def _client_model_text() -> str:
    return CLIENT_MODEL + _area_yaml("plan", "PL") + _area_yaml("run", "RU") + \
        _area_yaml("learn", "LE")


@pytest.fixture
def client_model(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "acme_model.yaml", _client_model_text())


@pytest.fixture(scope="module")
def standard() -> maturity.MaturityModel:
    return load_model()


def _fill(path: Path, ratings: dict[str, list[object]], *, names: list[str],
          roles: list[str] | None = None) -> Path:
    """Fill a questionnaire: {practice id: [rating of respondent 1, 2, ...]}."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Questionnaire"]
    header = [c.value for c in ws[3]]
    first = header.index("Rating") + 1
    for slot, name in enumerate(names):
        ws.cell(1, first + 3 * slot).value = name
        if roles:
            ws.cell(2, first + 3 * slot).value = roles[slot]
    col_id = header.index("Practice id") + 1
    rows = {ws.cell(r, col_id).value: r for r in range(4, ws.max_row + 1)}
    for practice, values in ratings.items():
        for slot, value in enumerate(values):
            ws.cell(rows[practice], first + 3 * slot).value = value
    wb.save(path)
    return path


# ---------------------------------------------------------------- the model


def test_standard_model_has_the_seven_csi_areas_with_practices_at_every_level(standard):
    assert standard.area_ids == ["governance", "measuring", "prioritising", "collaboration",
                                 "feedback", "adoption", "momentum"]
    for area in standard.areas:
        assert sorted(area.levels) == [1, 2, 3, 4, 5]
        assert all(lvl.practices and lvl.description for lvl in area.levels.values())
    assert [standard.level_name(k) for k in range(6)] == [
        "Incomplete", "Initial", "Repeatable", "Defined", "Managed", "Optimising"]
    assert standard.practice_table["practice"].is_unique


def test_client_model_is_loaded_and_scored(client_model):
    model = load_model(client_model)
    assert model.id == "acme-lite"
    assert model.area_ids == ["plan", "run", "learn"]
    assert model.source == client_model.resolve()
    responses = pd.DataFrame({"respondent": ["a"] * 3, "practice": ["PL1", "PL2", "RU1"],
                              "achievement": [92.5, 67.5, 67.5]})
    areas = area_results(practice_results(responses, model), model).set_index("area")
    assert areas.loc["plan", "level"] == 2
    assert areas.loc["run", "level"] == 1
    assert areas.loc["learn", "level"] == 0


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("schema_version: 1", "schema_version: 2"),
     r"schema_version: this kit reads schema_version 1, got 2"),
    (lambda t: t.replace("  5: {name: Improving, description: Improved.}\n", ""),
     r"levels: missing level\(s\) \[5\]"),
    (lambda t: t.replace("id: RU3", "id: PL3"),
     r"repeated: 'PL3' \(in 'plan' and 'run'\)"),
    (lambda t: t.replace("    name: Run\n", "    name: Run\n    owner: Bob\n"),
     r"areas\[1\] \(run\)\.owner: unknown key"),
    (lambda t: t.replace("id: LE2", "id: '=LE2'"),
     (r"areas\[2\] \(learn\)\.levels\.2\.practices\[0\] \(=LE2\)\.id: '=LE2' is not a "
      r"valid practice id")),
    (lambda t: t.replace("id: run", "id: Run Area"), r"'Run Area' is not a valid area id"),
])
def test_malformed_client_model_names_the_file_key_and_fix(tmp_path, edit, message):
    path = write_yaml(tmp_path / "bad.yaml", edit(_client_model_text()))
    with pytest.raises(ParamsError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)
    assert "maturity_model.yaml for the schema" in str(info.value)


def test_missing_model_file_says_how_to_fall_back(tmp_path):
    with pytest.raises(ParamsError, match=r"does not exist: check `maturity.model`"):
        load_model(tmp_path / "nope.yaml")


# ---------------------------------------------------------------- the rating scale


@pytest.mark.parametrize(("achievement", "code"), [
    (0, "N"), (15, "N"), (15.01, "P"), (50, "P"), (50.01, "L"), (85, "L"), (85.01, "F"),
    (100, "F"), (float("nan"), "N"),
])
def test_bands_follow_iso_33020_limits(achievement, code):
    assert band(achievement).code == code


@pytest.mark.parametrize(("value", "fmt", "expected"), [
    ("F", "General", ("F", 92.5)), (" l ", "General", ("L", 67.5)),
    ("Partially achieved", "General", ("P", 32.5)), ("not", "General", ("N", 7.5)),
    ("60%", "General", ("60%", 60.0)), ("60", "@", ("60%", 60.0)), (45, "General", ("45%", 45.0)),
    (0.6, "0%", ("60%", 60.0)), (0.005, "0.0%", ("0.5%", 0.5)), ("0.5%", "General", ("0.5%", 0.5)),
    (0, "General", ("0%", 0.0)), (100, "General", ("100%", 100.0)),
    (None, "General", None), ("  ", "General", None),
])
def test_ratings_are_parsed_as_letters_words_or_percentages(value, fmt, expected):
    assert parse_rating(value, fmt) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("X", r"'X' is not a rating: use N, P, L or F"),
    (120, r"120 is out of the scale"),
    ("-5%", r"-5% is out of the scale"),
    ("0.6", r"0.6 is ambiguous: .* write 60%"),
    (True, r"True is not a rating"),
    (float("nan"), r"nan is not a rating"),
])
def test_ratings_off_the_scale_are_refused_with_the_fix(value, message):
    with pytest.raises(ValueError, match=message):
        parse_rating(value)


# ---------------------------------------------------------------- the level rule


def _levels(**by_level: list[float]) -> dict[int, list[float]]:
    base = {k: [0.0, 0.0] for k in range(1, 6)}
    base.update({int(k[1:]): v for k, v in by_level.items()})
    return base


@pytest.mark.parametrize(("achievement", "level"), [
    (_levels(l1=[50, 90]), 0),                    # 50% is partially: level 1 not reached
    (_levels(l1=[50.01, 90]), 1),                 # just above: largely
    (_levels(l1=[85, 90], l2=[90, 90]), 1),       # level 1 only largely: level 2 blocked
    (_levels(l1=[85.01, 90], l2=[50.01, 51]), 2),
    (_levels(l1=[90, 90], l2=[90, 90], l3=[60, 50]), 2),   # one level-3 practice at 50%
    (_levels(l1=[90, 90], l2=[90, 90], l3=[90, 90], l4=[90, 90], l5=[51, 99]), 5),
    (_levels(l1=[90, float("nan")]), 0),          # unrated counts as not achieved
    (_levels(l1=[90, 90], l2=[10, 10], l3=[99, 99]), 1),   # higher levels cannot skip a gap
])
def test_area_level_at_its_boundaries(achievement, level):
    assert area_level(achievement) == level


def test_score_is_level_plus_tenths_towards_the_next():
    # Level 1; gate to level 2: level-1 practices towards 85, level-2 towards 50.
    achievement = _levels(l1=[85, 68], l2=[25, 50])
    # (1 + 0.8 + 0.5 + 1) / 4 = 0.825 -> rounded down to 0.8
    assert area_score(achievement) == 1.8
    assert area_score(_levels()) == 0.0
    assert area_score({k: [100.0] for k in range(1, 6)}) == 5.0
    # Every gate met but one sitting exactly on its limit: still level 1, at most 1.9.
    assert area_score(_levels(l1=[85.0, 100], l2=[60, 60])) == 1.9


_ACH = st.floats(min_value=0, max_value=100, allow_nan=False)
_AREA = st.fixed_dictionaries({k: st.lists(_ACH, min_size=1, max_size=3) for k in range(1, 6)})


@given(_AREA)
def test_score_never_shows_a_level_that_is_not_reached(achievement):
    level, score = area_level(achievement), area_score(achievement)
    assert math.floor(score + 1e-9) == level
    assert 0 <= score <= 5


@given(_AREA, st.integers(1, 5), st.integers(0, 2), _ACH)
def test_raising_a_rating_never_lowers_level_or_score(achievement, level, index, raise_to):
    practices = achievement[level]
    i = index % len(practices)
    higher = {k: list(v) for k, v in achievement.items()}
    higher[level][i] = max(practices[i], raise_to)
    assert area_level(higher) >= area_level(achievement)
    assert area_score(higher) >= area_score(achievement)


# ---------------------------------------------------------------- aggregation


def _responses(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["respondent", "practice", "achievement"])


def test_practices_take_the_respondents_median_and_spread(client_model):
    model = load_model(client_model)
    responses = _responses([("a", "PL1", 92.5), ("b", "PL1", 67.5), ("c", "PL1", 7.5),
                            ("a", "PL2", 92.5), ("b", "PL2", 67.5),
                            ("a", "RU1", 40.0)])
    before = responses.copy()
    p = practice_results(responses, model).set_index("practice")
    pd.testing.assert_frame_equal(responses, before)      # input not mutated
    assert p.loc["PL1", "achievement"] == 67.5
    assert p.loc["PL1", "band"] == "L"
    assert p.loc["PL1", "spread"] == 85.0
    assert p.loc["PL2", "achievement"] == 80.0            # median of F and L: largely
    assert p.loc["PL2", "band"] == "L"
    assert math.isnan(p.loc["RU1", "spread"])             # one rating: no spread
    assert p.loc["LE1", "respondents"] == 0
    assert math.isnan(p.loc["LE1", "achievement"])
    assert len(p) == 15                                   # every practice of the model


_MODEL = maturity.MaturityModel.model_validate(yaml.safe_load(_client_model_text()))


@settings(max_examples=30, deadline=None)
@given(st.permutations([
    ("a", "PL1", 92.5), ("b", "PL1", 60.0), ("c", "PL1", 80.0), ("a", "PL2", 55.0),
    ("b", "PL2", 67.5), ("a", "RU1", 92.5), ("b", "RU2", 20.0), ("c", "LE1", 51.0)]))
def test_shuffling_ratings_does_not_change_the_scores(shuffled):
    model = _MODEL
    rows = sorted(shuffled)
    one = area_results(practice_results(_responses(rows), model), model)
    two = area_results(practice_results(_responses(shuffled), model), model)
    pd.testing.assert_frame_equal(one, two)


def test_agreement_flags_areas_rated_far_apart(client_model):
    model = load_model(client_model)
    responses = _responses([("a", "PL1", 92.5), ("b", "PL1", 32.5),   # 60 apart
                            ("a", "PL2", 67.5), ("b", "PL2", 32.5),   # 35 apart
                            ("a", "RU1", 92.5), ("b", "RU1", 67.5),   # 25 apart
                            ("a", "LE1", 92.5)])
    p = practice_results(responses, model)
    a = agreement(responses, p, model, threshold=0.30).set_index("area")
    assert a.loc["plan", "spread"] == pytest.approx(47.5)
    assert a.loc["plan", "split"] == 1
    assert bool(a.loc["plan", "disagree"])
    assert not bool(a.loc["run", "disagree"])
    assert a.loc["learn", "compared"] == 0
    assert not bool(a.loc["learn", "disagree"])
    assert a.loc["plan", "respondents"] == 2


def test_overall_maturity_is_the_lowest_areas_level_beside_the_average():
    areas = pd.DataFrame({"area": ["a", "b", "c"], "level": [3, 1, 2],
                          "score": [3.5, 1.2, 2.0]})
    o = overall(areas)
    assert o["level"] == 1
    assert o["weakest"] == ["b"]
    assert o["mean_level"] == 2.0
    assert o["mean_score"] == pytest.approx(2.2333, abs=1e-3)


def test_holding_back_lists_the_next_levels_missing_practices(client_model):
    model = load_model(client_model)
    responses = _responses([("a", "PL1", 92.5), ("a", "PL2", 67.5), ("a", "PL3", 40.0),
                            ("a", "RU1", 67.5)])
    p = practice_results(responses, model)
    todo = holding_back(p, area_results(p, model))
    plan = todo.loc[todo["area"] == "plan"]
    # plan is at level 2: PL2 must become fully achieved, PL3 largely.
    assert plan[["practice", "needs", "for_level"]].values.tolist() == [
        ["PL2", "F", 3], ["PL3", "L", 3]]
    # learn is at level 0: its level-1 practice, unrated, needs to be largely achieved.
    assert todo.loc[todo["area"] == "learn", "practice"].tolist() == ["LE1"]


# ---------------------------------------------------------------- quarter on quarter


def _history(scores: dict[str, list[float]], quarters: list[str]) -> pd.DataFrame:
    rows = [{"quarter": q, "area": a, "area_name": a.title(), "score": s,
             "level": math.floor(s)}
            for a, values in scores.items() for q, s in zip(quarters, values, strict=True)
            if not math.isnan(s)]
    return pd.DataFrame(rows)


QUARTERS = ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]


@pytest.mark.parametrize(("scores", "n", "steady", "stagnating"), [
    ([2.0, 2.5, 2.5, 2.5], 2, 2, True),
    ([2.0, 2.5, 2.5, 2.6], 2, 0, False),          # rose by 0.1: improvement
    ([2.5, 2.5, 2.6, 2.55], 2, 1, False),         # one steady quarter only
    ([2.5, 2.4, 2.3, 2.2], 2, 3, True),           # declining is not improving
    ([2.0, 2.5, 2.5, 2.5], 3, 2, False),          # needs three quarters
    ([2.5, float("nan"), 2.5, 2.5], 2, 1, False),  # a quarter not assessed ends the count
    ([3.2, 3.2, 3.2, 3.2], 2, 3, False),          # at its target (3): holding, not stagnating
    ([5.0, 5.0, 5.0, 5.0], 2, 3, False),          # at the top
])
def test_stagnation_after_n_quarters_without_improvement(scores, n, steady, stagnating):
    history = _history({"gov": scores}, QUARTERS)
    out = stagnation(history, QUARTERS, n=n, min_change=0.1, target=lambda a: 3).iloc[0]
    assert out["steady"] == steady
    assert bool(out["stagnating"]) is stagnating


def test_quarter_changes_and_gaps_to_target():
    history = _history({"gov": [1.5, 2.0, 2.5, 3.1], "run": [2.5, 2.5, 2.5, 2.4]}, QUARTERS)
    ch = quarter_changes(history, "2026Q3", "2026Q2").set_index("area")
    assert ch.loc["gov", "change"] == pytest.approx(0.6)
    assert ch.loc["gov", "level_change"] == 1
    assert ch.loc["run", "change"] == pytest.approx(-0.1)
    now = history.loc[history["quarter"] == "2026Q3"]
    gaps = target_gaps(now, {"gov": 3, "run": 4}.get).set_index("area")
    assert bool(gaps.loc["gov", "met"])
    assert gaps.loc["gov", "gap"] == 0
    assert gaps.loc["run", "gap"] == 2
    no_target = target_gaps(now, lambda a: None)
    assert no_target["target"].isna().all()


def test_settings_validate_targets_and_fall_back_to_the_default():
    s = MaturitySettings(targets={"governance": 4}, default_target=3)
    assert s.target("governance") == 4
    assert s.target("feedback") == 3
    assert MaturitySettings().target("feedback") is None
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        MaturitySettings(targets={"governance": 6})
    with pytest.raises(ValidationError, match="fractional part"):
        MaturitySettings(targets={"governance": 2.5})


# ---------------------------------------------------------------- the questionnaire


def test_questionnaire_round_trip_keeps_text_as_text(tmp_path, standard):
    path = write_questionnaire(tmp_path / "q.xlsx", standard, client="=HYPERLINK(\"x\")",
                               quarter="2026Q3", respondents=["=cmd|' /C calc'!A0", "Bo"],
                               roles=["Lead", "Manager"])
    wb = openpyxl.load_workbook(path)
    ws = wb["Questionnaire"]
    assert wb.sheetnames == ["Instructions", "Questionnaire"]
    assert wb.active.title == "Questionnaire"
    assert ws.freeze_panes == "G4"
    assert ws["G1"].value == "=cmd|' /C calc'!A0"
    assert ws["G1"].data_type == "s"
    assert wb["Instructions"]["B2"].value == "=HYPERLINK(\"x\")"
    assert wb["Instructions"]["B2"].data_type == "s"
    assert [c.value for c in ws[3]][:9] == ["Area id", "Area", "Level", "Practice id",
                                           "Practice", "What counts as evidence", "Rating",
                                           "Evidence", "Comment"]
    validations = ws.data_validations.dataValidation
    assert len(validations) == 1
    assert validations[0].formula1 == '"N,P,L,F"'
    assert "G4:G73" in str(validations[0].sqref)
    assert ws.max_row == 3 + 70
    ws["G4"], ws["H4"], ws["I4"] = "F", "=see the CAB minutes", "+1 agreed"
    ws["H4"].data_type = "s"                   # typed into a text cell: text, as in Excel
    ws["K5"] = '=HYPERLINK("https://intranet/csi","charter")'   # a real formula: kept as text
    ws["J5"] = 0.6
    ws["J5"].number_format = "0%"
    wb.save(path)
    r = read_questionnaire(path, standard)
    assert r[["respondent", "role", "practice", "rating", "achievement"]].values.tolist() == [
        ["=cmd|' /C calc'!A0", "Lead", "GOV.1.1", "F", 92.5],
        ["Bo", "Manager", "GOV.1.2", "60%", 60.0]]
    assert r.loc[0, "evidence"] == "=see the CAB minutes"
    assert r.loc[0, "comment"] == "+1 agreed"
    assert r.loc[1, "evidence"] == '=HYPERLINK("https://intranet/csi","charter")'
    assert r.loc[0, "row"] == 4


def test_questionnaire_never_overwrites_answers(tmp_path, standard):
    path = write_questionnaire(tmp_path / "q.xlsx", standard)
    with pytest.raises(DataError, match=r"already exists and may hold answers"):
        write_questionnaire(path, standard)
    assert write_questionnaire(path, standard, overwrite=True) == path


def _bad(tmp_path: Path, model: maturity.MaturityModel, edit) -> Path:
    path = write_questionnaire(tmp_path / "2026Q3.xlsx", model, respondents=["Ann", "Bo"])
    wb = openpyxl.load_workbook(path)
    edit(wb["Questionnaire"])
    wb.save(path)
    return path


def _set(**cells: object):
    def edit(ws) -> None:
        for ref, value in cells.items():
            ws[ref] = value
    return edit


@pytest.mark.parametrize(("edit", "message"), [
    (_set(D5="GOV.9.9", G5="F"),
     (r"sheet 'Questionnaire' has 1 problem\(s\):\n  - row 5: practice id 'GOV.9.9' is not "
      r"in the model .* Fix: correct the id")),
    (_set(G6="120%"),
     r"cell G6 \(row 6, practice GOV.2.1, respondent 'Ann'\): 120% is out of the scale"),
    (_set(J7="Q"), r"cell J7 \(row 7, practice GOV.2.2, respondent 'Bo'\): 'Q' is not a rating"),
    (_set(M4="L", M9="F"),
     (r"the respondent group with ratings in column M \(2 rating\(s\)\) has no respondent "
      r"name\. Fix: type the respondent's name in cell M1")),
    (_set(G4="=1+1"), r"cell G4 holds a formula \(=1\+1\)\. Fix: type the rating itself"),
    (_set(J1="ann", G4="F", J4="L"),
     r"respondent 'ann' names two column groups \(cells G1 and J1\)"),
    (_set(D5="GOV.1.1", G5="F"), r"practice GOV.1.1 appears in rows 4 and 5"),
    (_set(D5=None, G5="F"), r"row 5 has ratings but no practice id in column D"),
])
def test_malformed_questionnaire_names_sheet_row_and_fix(tmp_path, standard, edit, message):
    path = _bad(tmp_path, standard, edit)
    with pytest.raises(DataError, match=message) as info:
        read_questionnaire(path, standard)
    assert str(path) in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path, standard):
    path = _bad(tmp_path, standard, _set(G4="X", G5="200", D6="NOPE"))
    with pytest.raises(DataError, match=r"has 3 problem\(s\)"):
        read_questionnaire(path, standard)


def test_a_workbook_without_the_sheet_or_not_a_workbook_is_refused(tmp_path, standard):
    path = tmp_path / "q.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Answers"
    wb.save(path)
    with pytest.raises(DataError, match=r"has no sheet 'Questionnaire' \(sheets: 'Answers'\)"):
        read_questionnaire(path, standard)
    path.write_text("not a zip")
    with pytest.raises(DataError, match=r"cannot be read as an Excel workbook"):
        read_questionnaire(path, standard)


def test_service_column_gives_rows_per_service(tmp_path, client_model):
    model = load_model(client_model)
    path = write_questionnaire(tmp_path / "q.xlsx", model, services=["erp", "mail"],
                               respondents=["Ann"])
    wb = openpyxl.load_workbook(path)
    ws = wb["Questionnaire"]
    assert ws["A3"].value == "Service"
    assert ws.max_row == 3 + 2 * 15
    ws["H4"], ws["H19"] = "F", "P"     # PL1 of erp, PL1 of mail
    wb.save(path)
    r = read_questionnaire(path, model)
    assert r[["service", "practice", "rating"]].values.tolist() == [
        ["erp", "PL1", "F"], ["mail", "PL1", "P"]]


def test_committed_template_matches_the_standard_model(tmp_path, standard):
    fresh = write_questionnaire(tmp_path / "fresh.xlsx", standard)
    committed = openpyxl.load_workbook(ROOT / "templates" / "maturity_questionnaire.xlsx")
    regenerated = openpyxl.load_workbook(fresh)
    for name in regenerated.sheetnames:
        values = [[c.value for c in row] for row in regenerated[name].iter_rows()]
        assert [[c.value for c in row] for row in committed[name].iter_rows()] == values, (
            "templates/maturity_questionnaire.xlsx is stale: regenerate it with "
            "write_questionnaire('templates/maturity_questionnaire.xlsx', load_model(), "
            "overwrite=True)")


def test_only_quarters_up_to_the_period_are_found(tmp_path):
    for name in ("2026Q1.xlsx", "2026Q2.xlsx", "2026Q3.xlsx", "2026Q4.xlsx", "notes.xlsx",
                 "~$2026Q2.xlsx"):
        (tmp_path / name).write_bytes(b"")
    found, ignored = find_questionnaires(tmp_path, pd.Period("2026Q2", freq="Q-DEC"))
    assert list(found) == ["2026Q1", "2026Q2"]
    assert [p.name for p in ignored] == ["notes.xlsx"]
    assert find_questionnaires(tmp_path / "missing", pd.Period("2026Q2", freq="Q-DEC")) == (
        {}, [])


# ---------------------------------------------------------------- demo panel


def test_demo_questionnaires_are_seeded_and_tell_the_story(tmp_path, standard):
    quarters = ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    files = maturity.write_demo_questionnaires(tmp_path / "a", standard, quarters, seed=7)
    again = maturity.write_demo_questionnaires(tmp_path / "b", standard, quarters, seed=7)
    one, two = (maturity.read_quarters(f, standard) for f in (files, again))
    pd.testing.assert_frame_equal(one, two)
    assert one.groupby("quarter")["respondent"].nunique().tolist() == [3, 4, 4, 4]
    areas = pd.concat(
        area_results(practice_results(g, standard), standard).assign(quarter=q)
        for q, g in one.groupby("quarter"))
    scores = areas.pivot(index="area", columns="quarter", values="score")
    rising = scores["2026Q3"] - scores["2025Q4"]
    assert (rising > 0.5).sum() >= 3
    stuck = stagnation(areas, quarters, n=2, min_change=0.1, target=lambda a: 3)
    assert stuck.loc[stuck["stagnating"], "area"].tolist() == ["collaboration"]
    # Written files are not rewritten unless asked to.
    assert maturity.write_demo_questionnaires(tmp_path / "a", standard, quarters, seed=7,
                                              overwrite=False) == {}


# ---------------------------------------------------------------- the report


def _client(tmp_path: Path, model_path: Path, extra: str = "") -> Path:
    write_yaml(tmp_path / "tickets.csv", TICKETS_CSV)
    folder = tmp_path / "maturity"
    folder.mkdir()
    text = PARAMS_YAML + textwrap.dedent(f"""\
        maturity:
          model: {model_path.name}
          questionnaires: maturity
          targets: {{plan: 2, run: 3}}
        """) + extra
    return write_yaml(tmp_path / "acme.yaml", text)


def _quarter(folder: Path, model: maturity.MaturityModel, quarter: str,
             ratings: dict[str, list[object]]) -> Path:
    path = write_questionnaire(folder / f"{quarter}.xlsx", model)
    return _fill(path, ratings, names=["Ann", "Bo"], roles=["Head of IT", "Ops lead"])


@pytest.fixture
def assessed(tmp_path, client_model) -> Path:
    """A client with its own model and three quarters: plan rises, run stalls, learn splits."""
    params = _client(tmp_path, client_model)
    model = load_model(client_model)
    folder = tmp_path / "maturity"
    base = {"RU1": ["F", "F"], "RU2": ["P", "L"], "LE1": ["F", "P"], "LE2": ["N", "F"]}
    _quarter(folder, model, "2026Q1", {**base, "PL1": ["P", "P"]})
    _quarter(folder, model, "2026Q2", {**base, "PL1": ["L", "L"]})
    _quarter(folder, model, "2026Q3", {**base, "PL1": ["F", "F"], "PL2": ["L", "F"]})
    _quarter(folder, model, "2026Q4", {"PL1": ["N", "N"]})      # the future: never read
    return params


def test_report_scores_the_quarter_against_history_and_targets(assessed):
    ctx = maturity.prepare(assessed, "2026Q3")
    t = ctx.table.set_index("area")
    assert list(ctx.files) == ["2026Q1", "2026Q2", "2026Q3"]
    assert set(ctx.responses["quarter"]) == {"2026Q1", "2026Q2", "2026Q3"}
    assert t.loc["plan", "level"] == 2
    assert t.loc["plan", "previous_level"] == 1
    assert bool(t.loc["plan", "met"])
    assert bool(t.loc["run", "stagnating"])
    assert t.loc["run", "steady"] == 2
    assert not bool(t.loc["plan", "stagnating"])
    assert bool(t.loc["learn", "disagree"])
    assert pd.isna(t.loc["learn", "target"])
    text = maturity.summary_text(ctx)
    assert "**Overall maturity in 2026Q3: level 1 Ad hoc**" in text
    assert "**Run has not improved for 2 quarters**" in text
    assert "disagree widely on Learn" in text
    assert "Targets: **1 of 2 areas at target** (Plan)" in text
    table = maturity.area_table(ctx).set_index("Area")
    assert table.loc["Plan", "Change"] == "+1.1"      # 1.3 -> 2.4
    assert table.loc["Run", "Notes"] == "stagnating (2 quarters); 3 practices unrated"
    todo = maturity.todo_table(ctx)
    assert todo["Practice"].iloc[0].startswith("PL2 ")
    # PL2 is rated L and F (median 80%): largely, and needs to be fully achieved for level 3.
    assert todo.iloc[0][["Area", "For level", "Now", "Achieved", "Needs"]].tolist() == [
        "Plan", "3", "L", "80%", "F"]
    assert todo.loc[todo["Practice"].str.startswith("PL3"), "Now"].tolist() == ["unrated"]


def test_report_of_an_earlier_quarter_reads_nothing_after_it(assessed):
    ctx = maturity.prepare(assessed, "2026Q2")
    assert list(ctx.files) == ["2026Q1", "2026Q2"]
    assert ctx.responses["quarter"].max() == "2026Q2"


def test_report_needs_the_quarters_questionnaire(assessed):
    with pytest.raises(DataError, match=r"no maturity questionnaire for 2025Q4: expected "
                                        r".*maturity/2025Q4\.xlsx"):
        maturity.prepare(assessed, "2025Q4")


def test_targets_must_name_areas_of_the_model(tmp_path, client_model):
    params = _client(tmp_path, client_model)
    params.write_text(params.read_text().replace("run: 3", "governance: 3"))
    with pytest.raises(ParamsError, match=r"maturity.targets names area\(s\) \['governance'\]"):
        maturity.prepare(params, "2026Q3")


def test_report_for_a_service_needs_a_service_column(assessed):
    with pytest.raises(ParamsError, match=r"have no Service column"):
        maturity.prepare(assessed, "2026Q3", service="erp")


def test_input_files_are_the_model_and_the_quarters_read(assessed, client_model):
    params = load_params(assessed)
    folder = assessed.parent / "maturity"
    assert maturity.input_files(params, "2026Q3") == [
        client_model.resolve(), *(folder / f"2026Q{i}.xlsx" for i in (1, 2, 3))]
    assert maturity.input_files(params, "2026Q1")[1:] == [folder / "2026Q1.xlsx"]


def test_a_service_column_scores_one_service(tmp_path, client_model):
    params = _client(tmp_path, client_model)
    model = load_model(client_model)
    folder = tmp_path / "maturity"
    for quarter, erp in (("2026Q2", "P"), ("2026Q3", "F")):
        path = write_questionnaire(folder / f"{quarter}.xlsx", model, services=["erp", "mail"],
                                   respondents=["Ann"])
        wb = openpyxl.load_workbook(path)
        ws = wb["Questionnaire"]
        ws["H4"], ws["H19"] = erp, "N"      # PL1 of erp, PL1 of mail
        wb.save(path)
    erp = maturity.prepare(params, "2026Q3", service="erp")
    assert set(erp.responses["service"]) == {"erp"}
    plan = erp.table.set_index("area").loc["plan"]
    assert (plan["level"], plan["previous_level"]) == (1, 0)
    assert "for service erp" in maturity.summary_text(erp)
    pooled = maturity.prepare(params, "2026Q3").table.set_index("area").loc["plan"]
    assert pooled["level"] == 0        # median of F and N: partially achieved


def test_charts_draw_current_previous_and_target(assessed):
    ctx = maturity.prepare(assessed, "2026Q3")
    t = ctx.table
    fig = maturity.radar_chart(t["area_name"].tolist(), t["score"].tolist(),
                               previous=t["previous_score"].tolist(), targets=[2, 3, None])
    assert isinstance(fig, Figure)
    ax = next(a for a in fig.axes if a.name == "polar")
    lines = {line.get_gid(): line for line in ax.lines}
    assert set(lines) == {"current", "previous", "target"}
    assert lines["current"].get_ydata().tolist()[:3] == t["score"].tolist()
    with pytest.raises(ValueError, match="at least three areas"):
        maturity.radar_chart(["a", "b"], [1, 2])
    scores = ctx.areas.pivot(index="area_name", columns="quarter", values="score")
    heat = maturity.heatmap_chart(scores, current="2026Q3", flagged=["Run"])
    texts = [t.get_text() for t in heat.axes[0].texts]
    assert texts == [f"{v:.1f}" for v in scores.to_numpy().ravel()]
    labels = [t.get_text() for t in heat.axes[0].get_yticklabels()]
    assert "Run  (stagnating)" in labels


def test_results_workbook_is_written_only_with_a_report_dir(assessed, tmp_path):
    ctx = maturity.prepare(assessed, "2026Q3")
    assert maturity.write_results(ctx, "") is None
    path = maturity.write_results(ctx, tmp_path / "report")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Areas", "Scores by quarter", "To do", "Practices", "Agreement"]
    assert wb["Areas"]["A2"].value == "Plan"


def test_next_quarters_questionnaire_carries_the_panel_over(assessed):
    params = load_params(assessed)
    path = maturity.write_client_questionnaire(params, "2027Q1")
    ws = openpyxl.load_workbook(path)["Questionnaire"]
    assert path.name == "2027Q1.xlsx"
    assert (ws["G1"].value, ws["G2"].value, ws["J1"].value) == ("Ann", "Head of IT", "Bo")
    with pytest.raises(DataError, match="already exists"):
        maturity.write_client_questionnaire(params, "2027Q1")


def test_loading_params_does_not_load_excel_or_charts():
    code = ("import sys, csi_lib.params; "
            "print(sorted(m for m in ('openpyxl', 'matplotlib', 'csi_lib.maturity.report') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
