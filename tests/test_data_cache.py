"""The parquet caches of ingest and KPIs: reused, rebuilt when damaged or forced."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from csi_lib import data
from csi_lib.data import cache_key, load_kpis, load_tables
from csi_lib.params import load_params
from csi_lib.runner import run_client


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the ingests that load_tables runs (a cache hit runs none)."""
    calls: list[int] = []
    real = data.ingest

    def ingest(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "ingest", ingest)
    return calls


def _folder(tiny: Path, outputs: Path) -> Path:
    return outputs / "tiny" / ".cache" / cache_key(load_params(tiny))


def test_an_unchanged_client_is_read_from_the_cache(tiny: Path, tmp_path: Path,
                                                    counted: list[int]) -> None:
    params, outputs = load_params(tiny), tmp_path / "out"
    first = load_tables(params, outputs)
    again = load_tables(params, outputs)
    assert len(counted) == 1
    pd.testing.assert_frame_equal(first.tickets, again.tickets)
    assert again.rows_read == first.rows_read == {"tickets": 4}


@pytest.mark.parametrize(("damaged", "content"), [
    ("tickets.parquet", b"PAR1 not really parquet"),
    ("excluded.parquet", b""),
    ("done", b"{\"tickets\": 4"),
])
def test_a_damaged_cache_is_discarded_rebuilt_and_noted(
        tiny: Path, tmp_path: Path, counted: list[int], caplog: pytest.LogCaptureFixture,
        damaged: str, content: bytes) -> None:
    params, outputs = load_params(tiny), tmp_path / "out"
    expected = load_tables(params, outputs).tickets
    folder = _folder(tiny, outputs)
    (folder / damaged).write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="csi_lib.data"):
        rebuilt = load_tables(params, outputs)
    pd.testing.assert_frame_equal(rebuilt.tickets, expected)
    assert len(counted) == 2
    assert f"cache {folder} could not be read" in caplog.text
    assert "discarded and rebuilt from the exports" in caplog.text
    # The new cache is whole again: the next load reads it without ingesting.
    load_tables(params, outputs)
    assert len(counted) == 2
    assert not [p for p in folder.parent.iterdir() if p.name.startswith((".discard", ".tmp"))]


def test_rebuild_ingests_again_even_when_the_cache_is_sound(tiny: Path, tmp_path: Path,
                                                            counted: list[int]) -> None:
    params, outputs = load_params(tiny), tmp_path / "out"
    load_tables(params, outputs)
    load_tables(params, outputs, rebuild=True)
    assert len(counted) == 2
    assert (_folder(tiny, outputs) / "done").is_file()


def test_a_damaged_kpi_cache_is_rebuilt(tiny: Path, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    params, outputs = load_params(tiny), tmp_path / "out"
    period = params.period("2026Q3")
    expected = load_kpis(params, period, outputs)
    (cached,) = (outputs / "tiny" / ".cache" / "kpis").glob("*.parquet")
    cached.write_bytes(cached.read_bytes()[:40])  # truncated
    with caplog.at_level(logging.WARNING, logger="csi_lib.data"):
        pd.testing.assert_frame_equal(load_kpis(params, period, outputs), expected)
    assert f"cache {cached} could not be read" in caplog.text
    pd.testing.assert_frame_equal(pd.read_parquet(cached), expected)


@pytest.mark.slow
def test_a_run_survives_a_damaged_cache_and_force_rebuilds_it(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""',
        metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell('print("ok")')]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "baseline.ipynb")
    kw = {"outputs": tmp_path / "out", "notebooks_dir": tmp_path / "nb", "services": ["erp"],
          "jobs": 1, "notebooks": ["baseline"], "log": lambda _: None}
    demo = ROOT / "params" / "demo.yaml"
    assert run_client(demo, "2026Q3", **kw).published is not None
    (cache,) = (p for p in (tmp_path / "out" / "demo" / ".cache").iterdir()
                if (p / "done").is_file())
    (cache / "tickets.parquet").write_bytes(b"garbage")
    forced = run_client(demo, "2026Q3", force=True, **kw)
    assert not forced.error
    assert forced.published == tmp_path / "out" / "demo" / "2026Q3-r2"
    assert len(pd.read_parquet(cache / "tickets.parquet")) > 0
