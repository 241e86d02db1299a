from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import PARAMS_YAML, ROOT, write_yaml

from csi_lib.errors import ParamsError
from csi_lib.params import load_params, params_path


def test_demo_params_load_and_resolve_paths_next_to_the_file() -> None:
    params = load_params(ROOT / "params" / "demo.yaml")
    assert params.client.id == "demo"
    assert params.sla.targets["P1"].resolution == pd.Timedelta(hours=4)
    assert params.sources.tickets.path == (ROOT / "outputs/_exports/demo/tickets.csv").resolve()
    assert str(params.period()) == "2026Q3"


def test_params_are_frozen(tiny: Path) -> None:
    params = load_params(tiny)
    with pytest.raises(ValueError, match="frozen"):
        params.client.name = "Other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("client: {id: tiny,", "client: {id: ../../etc,", "client.id: '../../etc' is not a safe id"),
        ("reporting: {period: 2026Q3,", "reporting: {period: 2026Q5,", "YYYYQn"),
        ("timezone: UTC", "timezone: Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
        ("resolution: 4h}", "resolution: 4 hours please}", "is not a duration"),
        ("kpi_targets: {sla_resolution: 0.9}", "kpi_targets: {sla_resolution: 90}",
         "write it as a fraction"),
        ("kpi_targets: {sla_resolution: 0.9}", "kpi_targets: {sla_resolutoin: 0.9}",
         "unknown KPI 'sla_resolutoin'"),
        ("kpi_targets: {sla_resolution: 0.9}", "kpi_targets: {volume: 10}",
         "'volume' has no better direction"),
        ("match: {assignment_group: [Mail]}", "match: {assignment_group: [Net]}",
         "claimed by both 'net' and 'mail'"),
        ("path: tickets.csv", "path: tickets.txt", "unsupported file extension '.txt'"),
        ("caller: caller}", "caller: caller, colour: c}", "unknown canonical column(s) ['colour']"),
        ("kpi_targets:", "kpi_tragets:", "kpi_tragets: unknown key"),
    ],
)
def test_bad_params_name_the_key_and_the_fix(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in PARAMS_YAML
    path = write_yaml(tmp_path / "bad.yaml", PARAMS_YAML.replace(old, new, 1))
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = PARAMS_YAML.replace("timezone: UTC", "timezone: Nowhere").replace("4h}", "4x}")
    with pytest.raises(ParamsError, match=r"2 problem\(s\)") as err:
        load_params(write_yaml(tmp_path / "bad.yaml", text))
    assert "reporting.timezone" in str(err.value)
    assert "sla.targets.P1.resolution" in str(err.value)


def test_missing_required_column_mapping(tmp_path: Path) -> None:
    text = PARAMS_YAML.replace("opened_at: opened, ", "")
    with pytest.raises(ParamsError, match=r"must map \['opened_at'\]"):
        load_params(write_yaml(tmp_path / "bad.yaml", text))


def test_unknown_client_lists_known_ones(tmp_path: Path) -> None:
    write_yaml(tmp_path / "acme.yaml", "x: 1")
    with pytest.raises(ParamsError, match="Known clients: acme"):
        params_path("nosuch", tmp_path)
    with pytest.raises(ParamsError, match="not safe"):
        params_path("../acme", tmp_path)


def test_unknown_service_lists_known_ones(tiny: Path) -> None:
    with pytest.raises(ParamsError, match="Known services: net, mail"):
        load_params(tiny).service("web")


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(write_yaml(tmp_path / "x.yaml", "client: [unclosed"))
    with pytest.raises(ParamsError, match="does not exist"):
        load_params(tmp_path / "none.yaml")
