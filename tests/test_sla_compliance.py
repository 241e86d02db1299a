"""Compliance with a target, and agreement with the export's own SLA flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csi_lib.errors import DataError
from csi_lib.sla import AGREEMENT_COLUMNS, agreement, compliance

H = pd.Timedelta(hours=1)


def test_compliance_meets_at_the_target_and_is_na_when_unknown() -> None:
    clock = pd.Series([2 * H, 4 * H, 5 * H, pd.NaT, 1 * H], index=list("abcde"))
    target = pd.Series([4 * H, 4 * H, 4 * H, 4 * H, pd.NaT], index=list("abcde"))
    met = compliance(clock, target)
    assert met.dtype == "boolean"
    assert met.index.tolist() == list("abcde")
    assert met.tolist() == [True, True, False, pd.NA, pd.NA]
    assert compliance(clock, pd.Timedelta("2h")).tolist() == [True, False, False, pd.NA, True]


def test_compliance_takes_targets_mapped_from_priorities() -> None:
    priority = pd.Series(["P1", "P2", "P5"])
    target = priority.map({"P1": 4 * H, "P2": 8 * H})
    met = compliance(pd.Series([5 * H, 5 * H, 5 * H]), target)
    assert met.tolist() == [False, True, pd.NA]


def test_agreement_counts_both_sides_and_their_disagreement() -> None:
    exported = pd.Series([True, True, False, False, True, None, True])
    recomputed = pd.Series([True, False, True, False, pd.NA, True, True], dtype="boolean")
    table = agreement(exported, recomputed)
    assert list(table.columns) == list(AGREEMENT_COLUMNS)
    row = table.loc["all"]
    assert row["n_exported"] == 6
    assert row["n_recomputed"] == 6
    assert row["n"] == 5
    assert row["exported_rate"] == pytest.approx(3 / 5)
    assert row["recomputed_rate"] == pytest.approx(3 / 5)
    assert row["disagree"] == 2
    assert row["disagree_share"] == pytest.approx(2 / 5)
    assert row["exported_met_recomputed_breached"] == 1
    assert row["exported_breached_recomputed_met"] == 1


def test_agreement_by_group_keeps_empty_groups_as_nan() -> None:
    exported = pd.Series([True, False, None])
    recomputed = pd.Series([True, True, True])
    table = agreement(exported, recomputed, by=pd.Series(["P1", "P1", "P2"], name="priority"))
    assert table.index.name == "priority"
    assert table.loc["P1", "disagree"] == 1
    assert table.loc["P1", "exported_rate"] == pytest.approx(0.5)
    assert table.loc["P2", "n"] == 0
    assert np.isnan(table.loc["P2", "recomputed_rate"])
    assert table.loc["P2", "n_recomputed"] == 1


def test_agreement_rejects_values_that_are_not_booleans() -> None:
    with pytest.raises(DataError, match=r"exported must hold True/False .*found \['yes'\]"):
        agreement(pd.Series(["yes", True]), pd.Series([True, True]))
