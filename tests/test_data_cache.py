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


def test_a_kernel_reads_the_cached_tables_once_and_each_report_gets_its_own_copy(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    params, outputs = load_params(tiny), tmp_path / "out"
    load_tables(params, outputs)                         # ingest and write the cache
    reads: list[str] = []
    real = pd.read_parquet
    monkeypatch.setattr(pd, "read_parquet", lambda path, **kw: reads.append(path) or real(path, **kw))
    first = load_tables(params, outputs)
    second = load_tables(params, outputs)
    assert len(reads) == len(data.TABLES)                # from disk once, then from memory
    assert data.tables_token(first) == data.tables_token(second) is not None
    first.tickets.loc[first.tickets.index[0], "service"] = "changed by a notebook"
    assert (second.tickets["service"] != "changed by a notebook").all()
    assert (load_tables(params, outputs).tickets["service"] != "changed by a notebook").all()
    # Tables written again (a rebuild) are read again.
    load_tables(params, outputs, rebuild=True)
    rebuilt = load_tables(params, outputs)
    assert data.tables_token(rebuilt) != data.tables_token(first)


def test_client_wide_tables_are_computed_once_per_tables_and_params(
        tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from csi_lib.quality import checks

    params, outputs = load_params(tiny), tmp_path / "out"
    load_tables(params, outputs)
    calls: list[int] = []
    real = checks._quality_table
    monkeypatch.setattr(checks, "_quality_table", lambda *a: calls.append(1) or real(*a))
    period = params.period("2026Q3")
    one = checks.quality_table(load_tables(params, outputs), params, period)
    two = checks.quality_table(load_tables(params, outputs), params, period)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(one, two)
    one.loc[0, "rows"] = -1                              # each caller has its own copy
    assert checks.quality_table(load_tables(params, outputs), params, period).loc[0, "rows"] != -1
    # Other settings, or tables not read from the cache, are computed afresh.
    checks.quality_table(load_tables(params, outputs), params, params.period("2026Q2"))
    assert len(calls) == 2
    fresh = data.ingest(params, key=b"k" * 32)
    checks.quality_table(fresh, params, period)
    assert len(calls) == 3


def test_an_export_changed_in_place_is_read_again_even_with_its_old_times(
        tiny: Path, tmp_path: Path, counted: list[int]) -> None:
    """The exports' hashes are kept per process by inode, size and times: a rewrite of
    the same size, with its modification time set back, still changes the change time."""
    import os
    import time

    params, outputs = load_params(tiny), tmp_path / "out"
    load_tables(params, outputs)
    load_tables(params, outputs)
    assert len(counted) == 1
    export = params.sources.tickets.files[0]
    before = export.stat()
    text = export.read_bytes()
    time.sleep(0.01)
    export.write_bytes(text.replace(b"Ann Lee", b"Ann Lea", 1))
    os.utime(export, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert export.stat().st_size == before.st_size
    load_tables(params, outputs)
    assert len(counted) == 2
