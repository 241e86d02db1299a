"""Job dependencies: the gate that holds a job back, the plan that keys it, and the runner
that honours them on the process pool and on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from csi_lib.errors import NotebookError
from csi_lib.params import load_params
from csi_lib.reports import (
    NOTEBOOKS,
    Job,
    JobResult,
    NotebookSpec,
    run_order,
    with_dependencies,
)
from csi_lib.runner import plan, run_client
from csi_lib.runner.deps import Gate, outputs_of

DEMO = ROOT / "params" / "demo.yaml"
BASE_PARAMETERS = 'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""'
SUMMARY_PARAMETERS = 'params_file = ""\nperiod = ""\noutputs = ""\ninputs_dir = ""'
quiet = {"log": lambda _: None}


def _job(name: str, service: str | None = None, depends_on: tuple[str, ...] = ()) -> Job:
    return Job(client="c", notebook=name, parameters={}, source="", cwd="", title=name,
               client_name="C", period="2026Q3", as_of="2026-09-30", key=f"k-{service}-{name}",
               service=service, depends_on=depends_on)


def _done(job: Job, ok: bool = True, files: tuple[str, ...] = ("x.html",)) -> JobResult:
    return JobResult(job, ok, 1.0, "" if ok else "boom", files)


def test_a_job_waits_until_every_dependency_succeeded() -> None:
    a, b = _job("gap", "net"), _job("gap", "erp")
    pack = _job("summary", depends_on=(a.name, b.name))  # reads every output
    gate = Gate([a, b, pack], shared=("kpis.csv",))
    assert [j.name for j in gate.ready()] == [a.name, b.name]
    assert gate.ready() == []
    assert gate.finish(_done(a, files=("gaps.csv", "gap.html"))) == []
    assert gate.ready() == []          # erp's gap report has not finished yet
    gate.finish(_done(b, files=("gaps.csv",)))
    [ready] = gate.ready()
    assert ready.name == pack.name
    # The dependencies' outputs, relative to the work folder, with the shared tables.
    assert ready.inputs == ("kpis.csv", "net/gaps.csv", "net/gap.html", "erp/gaps.csv")
    assert gate.waiting == []


def test_a_failed_dependency_marks_its_dependants_not_run_with_the_reason() -> None:
    a = _job("baseline", "net")
    middle = _job("gap", "net", depends_on=(a.name,))
    last = _job("pack", depends_on=(middle.name,))
    other = _job("maturity")
    gate = Gate([a, middle, last, other])
    assert {j.name for j in gate.ready()} == {a.name, other.name}
    stopped = gate.finish(_done(a, ok=False))
    assert [r.job.name for r in stopped] == [middle.name, last.name]
    assert all(not r.ok and r.not_run for r in stopped)
    assert stopped[0].error == "not run: c/net/baseline, whose outputs it reads, failed"
    assert stopped[1].error == "not run: c/net/gap, whose outputs it reads, was not run"
    assert gate.ready() == [] and gate.waiting == []


def test_reused_dependencies_count_as_done() -> None:
    a = _job("gap", "net")
    pack = _job("pack", depends_on=(a.name,))
    gate = Gate([pack], finished=[JobResult(a, True, 0.0, files=("gaps.csv",), reused=True)])
    [ready] = gate.ready()
    assert ready.inputs == ("net/gaps.csv",)
    assert outputs_of(JobResult(pack, True, 0.0, files=("pack.pdf",))) == ("pack.pdf",)


def test_a_report_receives_only_the_outputs_it_reads() -> None:
    """The pack reads the other reports' tables, not their rendered pages: only the
    tables travel with it to a cluster worker."""
    gap = _job("gap_analysis", "net")
    pack = _job("pack", depends_on=(gap.name,))
    gate = Gate([pack], finished=[JobResult(gap, True, 0.0, reused=True, files=(
        "gap_analysis.ipynb", "gap_analysis.html", "gap_analysis.pdf", "gaps.csv",
        "triggers.csv"))], shared=("kpis.csv",))
    [ready] = gate.ready()
    assert ready.inputs == ("kpis.csv", "net/gaps.csv", "net/triggers.csv")
    assert NOTEBOOKS["pack"].reads_file("net/gaps.csv")
    assert not NOTEBOOKS["pack"].reads_file("net/gap_analysis.pdf")
    assert NotebookSpec("x", "X", "client").reads_file("net/gap_analysis.pdf")


def test_a_dependency_outside_the_plan_is_refused() -> None:
    with pytest.raises(ValueError, match=r"depends on \['c/net/gap'\], which are not planned"):
        Gate([_job("pack", depends_on=("c/net/gap",))])


def _notebook(folder: Path, name: str, parameters: str, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


# The summary report reads every baseline's PDF and the KPI table from inputs_dir: both
# exist there only once the baselines have finished rendering.
SUMMARY_BODY = """\
from pathlib import Path
import csv
folder = Path(inputs_dir)
pdfs = sorted(p.parent.name for p in folder.glob("*/baseline.pdf"))
assert pdfs == ["email", "erp"], pdfs
rows = list(csv.DictReader((folder / "kpis.csv").open()))
print(len(pdfs), "baselines;", len(rows), "KPI rows")
"""


@pytest.fixture
def summary_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A client report that reads the baselines, registered for the test only."""
    monkeypatch.setitem(NOTEBOOKS, "summary",
                        NotebookSpec("summary", "Summary", "client", after=("baseline",)))
    nb_dir = tmp_path / "nb"
    _notebook(nb_dir, "baseline", BASE_PARAMETERS,
              'import time\ntime.sleep(1.5 if service == "email" else 0)\nprint(service)')
    _notebook(nb_dir, "summary", SUMMARY_PARAMETERS, SUMMARY_BODY)
    return nb_dir


def test_plan_brings_in_dependencies_and_keys_the_dependant_by_them(
        summary_report: Path, tmp_path: Path) -> None:
    assert with_dependencies(["summary"]) == ["baseline", "summary"]
    params = load_params(DEMO)
    kw = {"notebooks": ["summary"], "services": ["erp", "email"]}
    jobs = plan(params, DEMO, "2026Q3", "2026-09-30", tmp_path, summary_report, **kw)
    assert [j.name for j in jobs] == ["demo/erp/baseline", "demo/email/baseline", "demo/summary"]
    assert jobs[-1].depends_on == ("demo/erp/baseline", "demo/email/baseline")
    assert jobs[0].depends_on == ()
    # A change to what a dependency reads changes the dependant's key too.
    _notebook(summary_report, "baseline", BASE_PARAMETERS, "print('changed')")
    again = plan(params, DEMO, "2026Q3", "2026-09-30", tmp_path, summary_report, **kw)
    assert again[0].key != jobs[0].key and again[-1].key != jobs[-1].key


def test_a_dependant_notebook_must_declare_inputs_dir(summary_report: Path,
                                                      tmp_path: Path) -> None:
    _notebook(summary_report, "summary", BASE_PARAMETERS.replace('service = ""\n', ""), "1")
    with pytest.raises(NotebookError, match=r"does not declare parameter\(s\) \['inputs_dir'\]"):
        plan(load_params(DEMO), DEMO, "2026Q3", "2026-09-30", tmp_path, summary_report,
             notebooks=["summary"])


def _check_run(summary: object, published: Path) -> None:
    assert summary.ok, summary.text()
    assert summary.published == published
    out = nbformat.read(published / "summary.ipynb", as_version=4)
    assert "2 baselines;" in out.cells[-1].outputs[0]["text"]


@pytest.mark.slow
def test_the_process_pool_runs_a_dependant_after_its_dependencies(
        summary_report: Path, tmp_path: Path) -> None:
    kw = {"notebooks_dir": summary_report, "notebooks": ["summary"],
          "services": ["erp", "email"], **quiet}
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", jobs=3, **kw)
    _check_run(summary, tmp_path / "out/demo/2026Q3")
    # Unchanged dependencies and dependant: nothing runs again.
    again = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", jobs=3, **kw)
    assert again.up_to_date and all(r.reused for r in again.results)


@pytest.mark.slow
def test_a_dask_cluster_runs_a_dependant_after_its_dependencies(
        summary_report: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="Dask is an optional extra")
    kw = {"notebooks_dir": summary_report, "notebooks": ["summary"],
          "services": ["erp", "email"], **quiet}
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out",
                             executor=client.get_executor(), **kw)
    _check_run(summary, tmp_path / "out/demo/2026Q3")


@pytest.mark.slow
def test_a_failed_dependency_leaves_the_dependant_not_run(summary_report: Path,
                                                          tmp_path: Path) -> None:
    _notebook(summary_report, "baseline", BASE_PARAMETERS,
              'if service == "erp":\n    raise RuntimeError("broken export")')
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=summary_report,
                         notebooks=["summary"], services=["erp", "email"], jobs=2, **quiet)
    by_name = {r.job.name: r for r in summary.results}
    assert by_name["demo/email/baseline"].ok
    assert not by_name["demo/erp/baseline"].ok and not by_name["demo/erp/baseline"].not_run
    pack = by_name["demo/summary"]
    assert pack.not_run and not pack.ok
    assert pack.error == "not run: demo/erp/baseline, whose outputs it reads, failed"
    assert "SKIP demo/summary" in summary.text()
    assert summary.published is None
    assert not (summary.kept / "summary.ipynb").exists()


def test_a_report_is_planned_after_what_it_reads_whatever_the_registry_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(NOTEBOOKS, "early", NotebookSpec("early", "Early", "client",
                                                         after=("late", "unregistered")))
    monkeypatch.setitem(NOTEBOOKS, "late", NotebookSpec("late", "Late", "client"))
    order = [s.name for s in run_order()]
    assert order.index("late") < order.index("early")
    assert with_dependencies(["early"])[-3:] == ["late", "early", "unregistered"]
    monkeypatch.setitem(NOTEBOOKS, "late", NotebookSpec("late", "Late", "client",
                                                        after=("early",)))
    with pytest.raises(NotebookError, match=r"\['early', 'late'\] wait for each other"):
        run_order()
