"""End to end: the runner on the demo client, into a temporary outputs folder."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import ROOT
from pypdf import PdfReader

from csi_lib.errors import NotebookError
from csi_lib.params import load_params
from csi_lib.runner import check_notebook, run_client

DEMO = ROOT / "params" / "demo.yaml"
NOTEBOOKS = ROOT / "notebooks"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    outputs = tmp_path_factory.mktemp("outputs")
    summary = run_client(DEMO, "2026Q3", outputs=outputs, notebooks_dir=NOTEBOOKS,
                         services=["network", "erp"], log=lambda _: None)
    return outputs, summary


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_reports_are_published_with_index_and_manifest(published: tuple) -> None:
    outputs, summary = published
    assert not summary.failed, summary.text()
    period = outputs / "demo" / "2026Q3"
    assert summary.published == period
    for service in ("network", "erp"):
        for ext in ("ipynb", "html", "pdf"):
            assert (period / service / f"baseline.{ext}").stat().st_size > 1000
    index = (period / "index.html").read_text()
    assert 'href="network/baseline.pdf"' in index and "Network &amp; Connectivity" in index
    manifest = json.loads((period / "manifest.json").read_text())
    assert manifest["period"] == "2026Q3"
    assert "network/baseline.pdf" in manifest["outputs"]
    assert all(job["ok"] for job in manifest["jobs"])
    assert not list((outputs / "demo").glob(".staging-*"))


def test_report_numbers_match_the_kpi_table(published: tuple) -> None:
    outputs, _ = published
    from csi_lib.data import load_tables
    from csi_lib.kpis import kpi_table

    params = load_params(DEMO)
    tables = load_tables(params, outputs)
    kpis = kpi_table(tables.tickets, tables.changes, tables.surveys, params, params.period())
    row = kpis.loc[(kpis["service"] == "network") & (kpis["period"] == "2026Q3")].set_index("kpi")
    volume = f"{row.loc['volume', 'value']:,.0f}"
    sla = f"{row.loc['sla_resolution', 'value']:.1%}"

    html = (outputs / "demo/2026Q3/network/baseline.html").read_text()
    pdf = _pdf_text(outputs / "demo/2026Q3/network/baseline.pdf")
    for text in (html, pdf):
        for heading in ("Executive summary", "Key performance indicators", "Monthly trends",
                        "Data quality", "KPI definitions"):
            assert heading in text
        assert volume in text and sla in text
    assert "Network & Connectivity" in pdf and "2026Q3" in pdf
    # No code reaches the reader.
    assert "baseline.prepare" not in html and "baseline.prepare" not in pdf


def test_client_text_is_escaped_in_html(published: tuple) -> None:
    outputs, _ = published
    html = (outputs / "demo/2026Q3/network/baseline.html").read_text()
    assert "<script>alert" not in html
    assert "https://" not in html and "http://" not in html


def test_rerun_publishes_a_revision_and_never_overwrites(published: tuple) -> None:
    outputs, _ = published
    first = outputs / "demo" / "2026Q3" / "manifest.json"
    before = first.read_bytes()
    summary = run_client(DEMO, "2026Q3", outputs=outputs, notebooks_dir=NOTEBOOKS,
                         services=["erp"], log=lambda _: None)
    assert summary.published == outputs / "demo" / "2026Q3-r2"
    assert first.read_bytes() == before


def _notebook(path: Path, body: str, tags: tuple[str, ...] = ("parameters",)) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""',
            metadata={"tags": list(tags)}),
        nbformat.v4.new_markdown_cell("## Section"),
        nbformat.v4.new_code_cell(body),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_a_failing_notebook_does_not_stop_the_others(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb" / "baseline.ipynb",
              'if service == "erp":\n    raise RuntimeError("boom in " + service)\nprint("fine")')
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=tmp_path / "nb",
                         services=["network", "erp", "email"], log=lambda _: None)
    status = {r.job.service: r.ok for r in summary.results}
    assert status == {"network": True, "erp": False, "email": True}
    assert "RuntimeError: boom in erp" in summary.failed[0].error
    assert summary.published is None
    assert not (tmp_path / "out" / "demo" / "2026Q3").exists()
    kept = summary.kept
    assert kept is not None and kept.parent.name == "_failed"
    executed = nbformat.read(kept / "erp" / "baseline.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells
               for o in c.get("outputs", []))
    assert (kept / "network" / "baseline.pdf").is_file()
    assert "failed" in (kept / "index.html").read_text()
    assert "FAIL demo/erp/baseline" in summary.text()


def test_a_hung_cell_hits_the_timeout(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb" / "baseline.ipynb", "import time\ntime.sleep(60)")
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=tmp_path / "nb",
                         services=["erp"], cell_timeout=2, log=lambda _: None)
    assert summary.failed and "timed out" in summary.failed[0].error.lower()


def test_notebook_without_parameters_tag_is_refused(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "baseline.ipynb", "1", tags=())
    with pytest.raises(NotebookError, match="no cell tagged 'parameters'"):
        check_notebook(path, ["service"])


def test_notebook_missing_a_parameter_is_refused(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "baseline.ipynb", "1")
    with pytest.raises(NotebookError, match=r"does not declare parameter\(s\) \['client'\]"):
        check_notebook(path, ["service", "client"])


def test_committed_notebook_declares_what_the_runner_passes() -> None:
    check_notebook(NOTEBOOKS / "baseline.ipynb", ["params_file", "period", "service", "outputs"])


def test_committed_notebooks_carry_no_outputs() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


def test_kpi_table_of_period_is_not_changed_by_later_data() -> None:
    # Guard for the as-of rule on the real demo: 2026Q2 computed from the full
    # export equals 2026Q2 computed from an export cut at the end of 2026Q2.
    params = load_params(DEMO)
    from csi_lib.data import load_tables
    from csi_lib.kpis import kpi_table

    tables = load_tables(params, ROOT / "outputs")
    q2 = params.period("2026Q2")
    full = kpi_table(tables.tickets, tables.changes, tables.surveys, params, q2)
    end = pd.Timestamp("2026-07-01", tz="Europe/London").tz_convert("UTC")
    cut = tables.tickets.loc[tables.tickets["opened_at"] < end]
    cut = cut.assign(**{c: cut[c].where(cut[c] < end) for c in
                        ("responded_at", "resolved_at", "closed_at")})
    surveys = tables.surveys.loc[tables.surveys["answered_at"] < end]
    changes = tables.changes.loc[tables.changes["actual_end"] < end]
    pd.testing.assert_frame_equal(full, kpi_table(cut, changes, surveys, params, q2))

