"""End to end: the runner on the demo client, into temporary outputs folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import ROOT
from pypdf import PdfReader

from csi_lib.cli import main
from csi_lib.errors import NotebookError, PublishError
from csi_lib.params import load_params
from csi_lib.publish import verify
from csi_lib.runner import check_notebook, run_client

DEMO = ROOT / "params" / "demo.yaml"
NOTEBOOKS = ROOT / "notebooks"
PARAMETERS = 'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""'
pytestmark = pytest.mark.slow
quiet = {"log": lambda _: None}
# Purpose-made notebooks stand in for the baseline only.
baseline_only = {"notebooks": ["baseline"], **quiet}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    outputs = tmp_path_factory.mktemp("outputs")
    summary = run_client(DEMO, "2026Q3", outputs=outputs, notebooks_dir=NOTEBOOKS,
                         services=["network", "erp"], jobs=2, **quiet)
    return outputs, summary


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _notebook(folder: Path, body: str, *, name: str = "baseline",
              tags: tuple[str, ...] = ("parameters",), parameters: str = PARAMETERS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": list(tags)}),
                nbformat.v4.new_markdown_cell("## Section"),
                nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_reports_are_published_with_index_and_manifest(published: tuple) -> None:
    outputs, summary = published
    assert summary.ok, summary.text()
    period = outputs / "demo" / "2026Q3"
    assert summary.published == period
    for service in ("network", "erp"):
        for notebook in ("baseline", "gap_analysis"):
            for ext in ("ipynb", "html", "pdf"):
                assert (period / service / f"{notebook}.{ext}").stat().st_size > 1000
    quality = pd.read_csv(period / "data_quality.csv")
    assert {"all", "network", "erp"} <= set(quality["service"])
    for name in ("prioritisation.pdf", "maturity.pdf", "improvement_backlog.xlsx",
                 "maturity_results.xlsx", "network/triggers.csv", "benefits.pdf",
                 "benefits.csv"):
        assert (period / name).is_file(), name
    assert "network" in pd.read_csv(period / "network" / "triggers.csv")["service"].tolist()
    index = (period / "index.html").read_text()
    assert 'href="network/baseline.pdf"' in index and "Network &amp; Connectivity" in index
    manifest = json.loads((period / "manifest.json").read_text())
    assert manifest["period"] == "2026Q3"
    assert "network/baseline.pdf" in manifest["outputs"]
    assert all(job["ok"] and job["key"] for job in manifest["jobs"])
    kpis = pd.read_csv(period / "kpis.csv")
    assert set(kpis["service"]) == {s.id for s in load_params(DEMO).services}
    assert not (period / ".jobs").exists()
    assert "demo/2026Q3/index.html" in (outputs / "index.html").read_text()
    assert "2026Q3/index.html" in (outputs / "demo" / "index.html").read_text()
    assert verify(period) == []


def test_report_numbers_match_the_kpi_table(published: tuple) -> None:
    outputs, _ = published
    kpis = pd.read_csv(outputs / "demo/2026Q3/kpis.csv")
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
    assert "baseline.prepare" not in html and "baseline.prepare" not in pdf  # no code


def test_client_text_is_escaped_in_html(published: tuple) -> None:
    outputs, _ = published
    html = (outputs / "demo/2026Q3/network/baseline.html").read_text()
    assert "<script>alert" not in html
    assert "https://" not in html and "http://" not in html


def test_unchanged_jobs_are_skipped_and_changed_ones_rerun(tmp_path: Path) -> None:
    nb_dir = tmp_path / "nb"
    _notebook(nb_dir, 'print("v1")')
    kw = {"outputs": tmp_path / "out", "notebooks_dir": nb_dir, "services": ["erp", "email"],
          "jobs": 1, **baseline_only}
    first = run_client(DEMO, "2026Q3", **kw)
    assert first.published == tmp_path / "out/demo/2026Q3"
    again = run_client(DEMO, "2026Q3", **kw)
    assert again.up_to_date and again.published is None
    assert all(r.reused for r in again.results)
    assert not (tmp_path / "out/demo/2026Q3-r2").exists()
    # A changed notebook changes every job's key: all rerun, a new revision is published.
    _notebook(nb_dir, 'print("v2")')
    changed = run_client(DEMO, "2026Q3", **kw)
    assert not any(r.reused for r in changed.results)
    assert changed.published == tmp_path / "out/demo/2026Q3-r2"
    # --force reruns unchanged jobs too.
    forced = run_client(DEMO, "2026Q3", force=True, **kw)
    assert not any(r.reused for r in forced.results)
    assert forced.published == tmp_path / "out/demo/2026Q3-r3"


def test_a_published_period_is_never_overwritten(tmp_path: Path) -> None:
    nb_dir = tmp_path / "nb"
    _notebook(nb_dir, 'print("fine")')
    kw = {"outputs": tmp_path / "out", "notebooks_dir": nb_dir, "services": ["erp"],
          **baseline_only}
    run_client(DEMO, "2026Q3", **kw)
    first = tmp_path / "out/demo/2026Q3/erp/baseline.ipynb"
    before = first.read_bytes()
    second = run_client(DEMO, "2026Q3", force=True, **kw)
    assert second.published == tmp_path / "out/demo/2026Q3-r2"
    assert first.read_bytes() == before
    third = run_client(DEMO, "2026Q3", force=True, supersede=True, **kw)
    assert third.published == tmp_path / "out/demo/2026Q3"
    assert not list((tmp_path / "out/demo").glob(".superseded-*"))


def test_a_failing_notebook_does_not_stop_the_others(tmp_path: Path) -> None:
    nb_dir = tmp_path / "nb"
    _notebook(nb_dir, 'if service == "erp":\n    raise RuntimeError("boom in " + service)\n'
                      'print("fine")')
    kw = {"outputs": tmp_path / "out", "notebooks_dir": nb_dir,
          "services": ["network", "erp", "email"], "jobs": 2, **baseline_only}
    summary = run_client(DEMO, "2026Q3", **kw)
    status = {r.job.service: r.ok for r in summary.results}
    assert status == {"network": True, "erp": False, "email": True}
    assert "RuntimeError: boom in erp" in summary.failed[0].error
    assert summary.published is None and not summary.ok
    assert not (tmp_path / "out/demo/2026Q3").exists()
    kept = summary.kept
    assert kept == tmp_path / "out/demo/_work/2026Q3"
    executed = nbformat.read(kept / "erp" / "baseline.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells
               for o in c.get("outputs", []))
    assert (kept / "network" / "baseline.pdf").is_file()
    assert "failed" in (kept / "index.html").read_text()
    assert "FAIL demo/erp/baseline" in summary.text()

    # --retry-failed reruns only the failed report, then publishes the whole period.
    _notebook(nb_dir, 'print("fine")')
    with pytest.raises(PublishError, match="inputs changed since the failed run"):
        run_client(DEMO, "2026Q3", retry_failed=True, **kw)


def test_retry_failed_reruns_only_the_failed_reports(tmp_path: Path) -> None:
    nb_dir = tmp_path / "nb"
    flag = tmp_path / "broken"
    flag.touch()
    _notebook(nb_dir, "from pathlib import Path\n"
                      f'if service == "erp" and Path({str(flag)!r}).exists():\n'
                      '    raise RuntimeError("flaky")')
    kw = {"outputs": tmp_path / "out", "notebooks_dir": nb_dir,
          "services": ["network", "erp"], **baseline_only}
    assert not run_client(DEMO, "2026Q3", **kw).ok
    flag.unlink()
    retried = run_client(DEMO, "2026Q3", retry_failed=True, **kw)
    assert retried.ok, retried.text()
    ran = {r.job.service for r in retried.results if not r.reused}
    assert ran == {"erp"}
    assert retried.published == tmp_path / "out/demo/2026Q3"
    with pytest.raises(PublishError, match="no failed run"):
        run_client(DEMO, "2026Q3", retry_failed=True, **kw)


def test_a_hung_cell_hits_the_cell_timeout(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb", "import time\ntime.sleep(60)")
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=tmp_path / "nb",
                         services=["erp"], cell_timeout=2, **baseline_only)
    assert summary.failed and "timed out" in summary.failed[0].error.lower()


def test_a_notebook_past_its_wall_clock_limit_is_killed(tmp_path: Path) -> None:
    # Many short cells: no single cell times out, the notebook as a whole does.
    _notebook(tmp_path / "nb", "import time\nfor _ in range(60):\n    time.sleep(1)")
    start = time.monotonic()
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=tmp_path / "nb",
                         services=["erp"], cell_timeout=120, notebook_timeout=3, **baseline_only)
    assert summary.failed and "past its 3 s limit; kernel killed" in summary.failed[0].error
    assert time.monotonic() - start < 50


def test_a_kernel_killed_mid_run_fails_only_its_job(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb", 'import os, signal\nif service == "erp":\n'
                               '    os.kill(os.getpid(), signal.SIGKILL)\nprint("fine")')
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=tmp_path / "nb",
                         services=["erp", "email", "network"], jobs=1, **baseline_only)
    status = {r.job.service: r.ok for r in summary.results}
    assert status == {"erp": False, "email": True, "network": True}
    assert "dead" in summary.failed[0].error.lower() or "died" in summary.failed[0].error.lower()


def test_kill_9_of_the_runner_leaves_the_published_period_and_resumes(tmp_path: Path) -> None:
    nb_dir, out, flag = tmp_path / "nb", tmp_path / "out", tmp_path / "slow"
    _notebook(nb_dir, "import time, pathlib\n"
                      f'if service == "network" and pathlib.Path({str(flag)!r}).exists():\n'
                      "    time.sleep(120)")
    args = ["run", "--client", "demo", "--params-dir", str(ROOT / "params"), "--outputs",
            str(out), "--notebooks-dir", str(nb_dir), "--jobs", "1", "--notebook", "baseline"]
    published = out / "demo" / "2026Q3"
    assert main([*args, "--service", "erp"]) == 0
    before = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}

    flag.touch()
    services = ["--service", "email", "--service", "network", "--service", "erp"]
    proc = subprocess.Popen([sys.executable, "-m", "csi_lib.cli", *args, *services,
                             "--supersede"], cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = out / "demo" / "_work" / "2026Q3"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
            (work / ".jobs" / "email.baseline.json").exists() and (work / "network").exists()):
        time.sleep(0.2)
    assert (work / "network").exists(), "the run never reached its slow job"
    time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, mid-notebook
    proc.wait()
    assert {p: p.read_bytes() for p in published.rglob("*") if p.is_file()} == before

    flag.unlink()
    summary = run_client(DEMO, "2026Q3", outputs=out, notebooks_dir=nb_dir,
                         services=["email", "network", "erp"], supersede=True, **baseline_only)
    assert summary.ok, summary.text()
    reused = {r.job.service: r.reused for r in summary.results}
    assert reused == {"email": True, "network": False, "erp": True}
    assert summary.published == published
    assert verify(published) == []


def test_verify_catches_a_modified_file(published: tuple, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    outputs, _ = published
    copy = tmp_path / "copy"
    shutil.copytree(outputs / "demo" / "2026Q3", copy)
    assert main(["verify", str(copy)]) == 0
    html = copy / "network" / "baseline.html"
    html.write_text(html.read_text().replace("Executive summary", "Everything is fine"))
    (copy / "erp" / "baseline.pdf").unlink()
    (copy / "notes.txt").write_text("x")
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "modified: network/baseline.html" in out
    assert "missing: erp/baseline.pdf" in out
    assert "unexpected: notes.txt" in out


def test_warm_kernel_gives_the_same_report_as_a_fresh_kernel(tmp_path: Path) -> None:
    from csi_lib.runner.core import plan_client
    from csi_lib.runner.worker import run_job

    cp = plan_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=NOTEBOOKS,
                     services=["network", "erp"], notebooks=["baseline", "gap_analysis"],
                     lock=False)
    jobs = {j.name: j for j in cp.jobs}
    network = jobs["demo/network/baseline"]
    run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=NOTEBOOKS,
               services=["network"], notebooks=["baseline"], jobs=1, **quiet)  # the caches
    # The warm kernel first runs other notebooks (and is left with their state).
    assert run_job(jobs["demo/erp/gap_analysis"], str(tmp_path / "warm"), warm=True).ok
    assert run_job(jobs["demo/erp/baseline"], str(tmp_path / "warm"), warm=True).ok
    assert run_job(network, str(tmp_path / "warm"), warm=True).ok
    assert run_job(network, str(tmp_path / "fresh"), warm=False).ok

    def outputs_of(folder: Path) -> list:
        nb = nbformat.read(folder / "network" / "baseline.ipynb", as_version=4)
        return [(c.get("execution_count"), c.get("outputs")) for c in nb.cells
                if c.cell_type == "code"]

    assert outputs_of(tmp_path / "warm") == outputs_of(tmp_path / "fresh")
    warm_html = (tmp_path / "warm/network/baseline.html").read_text()
    assert warm_html == (tmp_path / "fresh/network/baseline.html").read_text()


def test_kernel_start_is_retried_at_most_twice() -> None:
    from csi_lib.runner.worker import KernelStartError, start_kernel

    class Flaky:
        calls = 0

        def __init__(self, fail_times: int) -> None:
            self.fail_times = fail_times

        def start_kernel(self, **_: object) -> None:
            Flaky.calls += 1
            if Flaky.calls <= self.fail_times:
                raise OSError("no ports")

        def client(self) -> object:
            return type("C", (), {"start_channels": lambda s: None,
                                  "wait_for_ready": lambda s, timeout: None,
                                  "stop_channels": lambda s: None})()

        def shutdown_kernel(self, now: bool) -> None:
            pass

    Flaky.calls = 0
    assert isinstance(start_kernel("/", factory=lambda: Flaky(2)), Flaky)
    assert Flaky.calls == 3
    Flaky.calls = 0
    with pytest.raises(KernelStartError, match="failed to start 3 times"):
        start_kernel("/", factory=lambda: Flaky(3))
    assert Flaky.calls == 3


def test_dask_local_cluster_gives_the_same_outputs_as_the_process_pool(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="Dask is an optional extra")
    nb_dir = tmp_path / "nb"
    _notebook(nb_dir, 'print("report for", service)\n6 * 7')
    kw = {"notebooks_dir": nb_dir, "services": ["erp", "email"], **baseline_only}
    pool = run_client(DEMO, "2026Q3", outputs=tmp_path / "pool", jobs=2, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = run_client(DEMO, "2026Q3", outputs=tmp_path / "dask",
                          executor=client.get_executor(), **kw)
    assert pool.ok and dask.ok, dask.text()
    for service in ("erp", "email"):
        a = nbformat.read(pool.published / service / "baseline.ipynb", as_version=4)
        b = nbformat.read(dask.published / service / "baseline.ipynb", as_version=4)
        assert [c.get("outputs") for c in a.cells] == [c.get("outputs") for c in b.cells]
        assert (pool.published / service / "baseline.html").read_bytes() == \
            (dask.published / service / "baseline.html").read_bytes()


def test_a_second_concurrent_run_is_refused(tmp_path: Path) -> None:
    from csi_lib.runner.core import _lock

    held = _lock(tmp_path / "2026Q3.lock")
    try:
        with pytest.raises(PublishError, match="another run holds"):
            _lock(tmp_path / "2026Q3.lock")
    finally:
        held.close()


def test_notebook_without_parameters_tag_is_refused(tmp_path: Path) -> None:
    path = _notebook(tmp_path, "1", tags=())
    with pytest.raises(NotebookError, match="no cell tagged 'parameters'"):
        check_notebook(path, ["service"])


def test_notebook_missing_a_parameter_is_refused_before_anything_runs(tmp_path: Path) -> None:
    _notebook(tmp_path / "nb", "1", parameters='params_file = ""\nperiod = ""\noutputs = ""')
    with pytest.raises(NotebookError, match=r"does not declare parameter\(s\) \['service'\]"):
        run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=tmp_path / "nb",
                   **quiet)
    assert not (tmp_path / "out" / "demo" / "_work").exists()


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--client", "demo", "--params-dir", str(ROOT / "params"),
                 "--outputs", str(tmp_path), "--notebooks-dir", str(NOTEBOOKS), "--dry-run"])
    assert code == 0
    out = capsys.readouterr().out
    from csi_lib.runner import NOTEBOOKS as REGISTRY

    per_service = sum(spec.scope == "service" for spec in REGISTRY.values())
    total = 6 * per_service + len(REGISTRY) - per_service
    assert f"plan demo 2026Q3: {total} to run, 0 unchanged" in out
    assert "run       demo/network/baseline" in out
    assert not (tmp_path / "demo" / "2026Q3").exists()


def test_committed_notebooks_declare_what_the_runner_passes() -> None:
    check_notebook(NOTEBOOKS / "baseline.ipynb", ["params_file", "period", "service", "outputs"])


def test_committed_notebooks_carry_no_outputs() -> None:
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path


def test_kpi_table_of_period_is_not_changed_by_later_data() -> None:
    # The as-of rule on the real demo: 2026Q2 computed from the full export equals
    # 2026Q2 computed from an export cut at the end of 2026Q2.
    from csi_lib.data import load_tables
    from csi_lib.kpis import kpi_table

    params = load_params(DEMO)
    tables = load_tables(params, ROOT / "outputs")
    q2 = params.period("2026Q2")
    full = kpi_table(tables.tickets, tables.changes, tables.surveys, params, q2)
    end = pd.Timestamp("2026-07-01", tz="Europe/London").tz_convert("UTC")
    cut = tables.tickets.loc[tables.tickets["opened_at"] < end]
    ends = ("responded_at", "resolved_at", "closed_at")
    later = cut[list(ends)].ge(end).any(axis=1)
    # An export taken at the end of 2026Q2 shows a ticket finished later as in progress.
    cut = cut.assign(**{c: cut[c].where(cut[c] < end) for c in ends},
                     state=cut["state"].mask(later, "In Progress"))
    surveys = tables.surveys.loc[tables.surveys["answered_at"] < end]
    changes = tables.changes.loc[tables.changes["actual_end"] < end]
    pd.testing.assert_frame_equal(full, kpi_table(cut, changes, surveys, params, q2))


def test_a_changed_questionnaire_changes_the_maturity_job_key(tmp_path: Path) -> None:
    from csi_lib.maturity import ensure_demo_questionnaires
    from csi_lib.runner.core import plan_client

    params = load_params(DEMO)
    ensure_demo_questionnaires(params)
    folder = tmp_path / "maturity"
    shutil.copytree(params.maturity.questionnaires, folder)
    text = DEMO.read_text().replace("../outputs/_exports/demo/maturity", str(folder))
    params_file = tmp_path / "demo.yaml"
    params_file.write_text(text.replace("path: ../outputs", f"path: {ROOT}/outputs"))
    kw = {"outputs": tmp_path / "out", "notebooks_dir": NOTEBOOKS, "notebooks": ["maturity"],
          "lock": False}
    before = plan_client(params_file, "2026Q3", **kw).jobs[0].key
    assert plan_client(params_file, "2026Q3", **kw).jobs[0].key == before
    q3 = folder / "2026Q3.xlsx"
    q3.write_bytes(q3.read_bytes() + b"\0")
    assert plan_client(params_file, "2026Q3", **kw).jobs[0].key != before


def test_a_client_to_which_no_chosen_report_applies_is_refused(tmp_path: Path) -> None:
    text = DEMO.read_text().replace("  questionnaires: ../outputs/_exports/demo/maturity\n", "")
    text = text.replace("path: ../outputs", f"path: {ROOT}/outputs")
    params_file = tmp_path / "demo.yaml"
    params_file.write_text(text)
    with pytest.raises(NotebookError, match=r"no report applies to demo 2026Q3 \(maturity: "
                                            r"maturity.questionnaires is not set"):
        run_client(params_file, "2026Q3", outputs=tmp_path / "out", notebooks_dir=NOTEBOOKS,
                   notebooks=["maturity"], **quiet)
    assert not (tmp_path / "out").exists() and not Path("_work").exists()
