"""The KPI catalogue: one complete, consistent definition per KPI."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csi_lib import catalogue
from csi_lib.catalogue import CATALOGUE
from csi_lib.errors import ParamsError

# Reports, params files and the gap analysis name these ids: they must not go.
SKELETON_IDS = [
    "volume", "sla_resolution", "sla_response", "resolution_median_h", "resolution_p90_h",
    "resolution_mean_h", "backlog", "reopen_rate", "reassignment_rate", "fcr", "csat_mean",
    "csat_response_rate", "change_success_rate",
]
ADDED_IDS = [
    "resolved_per_opened", "breach_overrun_p50_h", "breach_overrun_p90_h", "response_median_h",
    "response_p90_h", "backlog_age_gt_30d", "escalation_rate", "repeat_incident_rate",
    "knowledge_use_rate", "self_service_share", "csat_satisfied", "emergency_change_share",
    "change_incident_rate", "sla_met_source",
]
# KPIs that rest on an input not every export has: their method must say so.
OPTIONAL_INPUT = ["response_median_h", "response_p90_h", "escalation_rate",
                  "repeat_incident_rate", "knowledge_use_rate", "self_service_share",
                  "emergency_change_share", "change_incident_rate", "sla_met_source"]


def test_every_skeleton_kpi_is_kept_and_the_new_ones_are_added() -> None:
    ids = catalogue.ids()
    assert set(SKELETON_IDS) <= set(ids)
    assert set(ADDED_IDS) <= set(ids)
    assert len(ids) == len(set(ids)) == len(SKELETON_IDS) + len(ADDED_IDS)


def test_every_entry_is_complete_and_uses_the_known_vocabulary() -> None:
    fields = {"unit": catalogue.Unit, "direction": catalogue.Direction, "kind": catalogue.Kind,
              "timing": catalogue.Timing, "interval": catalogue.Interval}
    for kpi in CATALOGUE.values():
        for name, allowed in fields.items():
            assert getattr(kpi, name) in get_args(allowed), (kpi.id, name)
        assert kpi.label, kpi.id
        assert kpi.basis, kpi.id
        assert kpi.method.endswith("."), kpi.id
        assert kpi.id == kpi.id.lower()
        assert " " not in kpi.id


def test_labels_are_unique_so_a_register_can_name_a_kpi_by_label() -> None:
    labels = [k.label.lower() for k in CATALOGUE.values()]
    assert len(labels) == len(set(labels))


def test_interval_follows_the_unit_and_is_described_in_the_method() -> None:
    for kpi in CATALOGUE.values():
        if kpi.unit in ("count", "score", "ratio"):
            assert kpi.interval == "none", kpi.id
        if kpi.id.endswith(("_median_h", "_p90_h", "_p50_h")):
            assert kpi.interval == "bootstrap", kpi.id
        if kpi.interval == "wilson":
            assert kpi.unit == "share", kpi.id
            assert kpi.method.endswith("95% interval: Wilson score."), kpi.id
        if kpi.interval == "bootstrap":
            assert kpi.unit == "hours", kpi.id
            assert kpi.method.endswith("bootstrap, 1,000 resamples."), kpi.id
        if kpi.interval == "none":
            assert "interval:" not in kpi.method, kpi.id
    assert "Wilson score interval" in catalogue.INTERVAL_NOTE
    assert "bootstrap of 1,000 resamples" in catalogue.INTERVAL_NOTE


def test_methods_say_where_an_input_may_be_missing() -> None:
    for kpi_id in OPTIONAL_INPUT:
        assert "where the export records" in CATALOGUE[kpi_id].method, kpi_id


def test_rule_constants_appear_in_the_method_text() -> None:
    assert f"{catalogue.REPEAT_WINDOW.days} days" in CATALOGUE["repeat_incident_rate"].method
    assert "self service" in CATALOGUE["self_service_share"].method
    assert "portal" in CATALOGUE["self_service_share"].method
    assert f"{catalogue.SATISFIED_MIN_SCORE} or 5" in CATALOGUE["csat_satisfied"].method
    assert "L2" in CATALOGUE["escalation_rate"].method
    assert "over 30 days" in CATALOGUE["backlog_age_gt_30d"].method


def test_age_buckets_rise_and_end_open() -> None:
    highs = [h for _, h in catalogue.AGE_BUCKETS]
    assert highs[-1] is None
    assert highs[:-1] == sorted(highs[:-1])
    assert catalogue.AGED_BACKLOG_DAYS in highs


def test_get_names_the_known_kpis_for_an_unknown_id() -> None:
    assert catalogue.get("fcr") is CATALOGUE["fcr"]
    with pytest.raises(ParamsError, match=r"unknown KPI 'mttr'\. Known KPIs: volume, "):
        catalogue.get("mttr")


@pytest.mark.parametrize(("kpi_id", "value", "text"), [
    ("sla_resolution", 0.78125, "78.1%"),
    ("resolution_median_h", 12.34, "12.3 h"),
    ("resolution_median_h", 1234.5, "1,234.5 h"),
    ("volume", 1234.0, "1,234"),
    ("csat_mean", 4.123, "4.12"),
    ("resolved_per_opened", 1.04321, "1.04"),
    ("volume", float("nan"), "–"),
    ("volume", None, "–"),
])
def test_format_reads_in_the_kpis_unit(kpi_id: str, value: float | None, text: str) -> None:
    assert catalogue.get(kpi_id).format(value) == text


def test_format_change_points_for_shares_percent_for_the_rest() -> None:
    assert catalogue.get("fcr").format_change(0.72, 0.70) == "+2.0 pts"
    assert catalogue.get("resolution_median_h").format_change(30, 20) == "+50%"
    assert catalogue.get("resolution_median_h").format_change(20.1, 20) == "+0.5%"
    assert catalogue.get("volume").format_change(5, 0) == "–"
    assert catalogue.get("volume").format_change(float("nan"), 3) == "–"


def test_better_follows_the_direction() -> None:
    assert catalogue.get("fcr").better(0.8, 0.7) is True
    assert catalogue.get("breach_overrun_p90_h").better(10, 12) is True
    assert catalogue.get("escalation_rate").better(0.3, 0.2) is False
    assert catalogue.get("resolved_per_opened").better(1.2, 0.9) is None
    assert catalogue.get("fcr").better(0.7, 0.7) is None


@given(new=st.floats(0, 1e6), old=st.floats(0, 1e6))
def test_better_is_antisymmetric(new: float, old: float) -> None:
    for kpi in CATALOGUE.values():
        a, b = kpi.better(new, old), kpi.better(old, new)
        assert (a is None and b is None) or a is (not b)


def test_definitions_table_is_the_appendix_in_catalogue_order() -> None:
    table = catalogue.definitions()
    assert list(table.columns) == ["Section", "KPI", "Unit", "Better", "Kind", "Timing",
                                   "Based on", "Method"]
    assert table["KPI"].tolist() == [k.label for k in CATALOGUE.values()]
    row = table.set_index("KPI").loc["Customers satisfied"]
    assert (row["Unit"], row["Better"]) == ("share (%)", "higher")
    assert table.set_index("KPI").loc["Tickets opened", "Better"] == "neither"
    assert not table.isna().any().any()


def test_sections_hold_every_kpi_once_in_catalogue_order() -> None:
    sections = catalogue.sections()
    flat = [k for ids in sections.values() for k in ids]
    assert flat == catalogue.ids()
    assert sections["Service levels"] == ["sla_resolution", "sla_response", "sla_met_source",
                                          "breach_overrun_p50_h", "breach_overrun_p90_h"]
    assert all(CATALOGUE[k].section == name for name, ids in sections.items() for k in ids)


@pytest.mark.parametrize(("kpi_id", "low", "high", "text"), [
    ("fcr", 0.59, 0.641, "59.0–64.1%"),
    ("resolution_median_h", 30.5, 1234.56, "30.5–1,234.6 h"),
    ("fcr", float("nan"), 0.5, ""),
    ("volume", None, None, ""),
])
def test_format_interval(kpi_id: str, low: float | None, high: float | None, text: str) -> None:
    assert catalogue.get(kpi_id).format_interval(low, high) == text


def test_kpi_is_frozen() -> None:
    kpi = catalogue.get("fcr")
    with pytest.raises(FrozenInstanceError):
        kpi.label = "x"  # type: ignore[misc]
    assert kpi.label == "First contact resolution"
