"""Publishing checks what it publishes: each job's listed outputs, with their hashes."""

from __future__ import annotations

import concurrent.futures as cf
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from csi_lib.errors import PublishError
from csi_lib.publish import output_problems, verify
from csi_lib.runner import plan_client, run_client, run_clients
from csi_lib.runner.core import RunOptions, default_executor

DEMO = ROOT / "params" / "demo.yaml"
PARAMETERS = 'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""'
pytestmark = pytest.mark.slow
quiet = {"log": lambda _: None}


def _notebook(folder: Path, body: str = 'print("fine")') -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "baseline.ipynb")
    return folder


class OwnDisk(cf.Executor):
    """Workers that write their results to a disk of their own, not the coordinator's."""

    def __init__(self, private: Path) -> None:
        self.inner = default_executor(1)
        self.private = private

    def submit(self, fn, job, work, *args):  # type: ignore[override]
        return self.inner.submit(fn, job, str(self.private), *args)

    def shutdown(self, wait: bool = True, **kw: object) -> None:
        self.inner.shutdown(wait=wait)


def _kw(tmp_path: Path, services: list[str]) -> dict:
    return {"outputs": tmp_path / "out", "notebooks_dir": _notebook(tmp_path / "nb"),
            "services": services, "notebooks": ["baseline"], "jobs": 1, **quiet}


def test_jobs_whose_files_are_not_in_the_work_folder_are_not_published(tmp_path: Path) -> None:
    kw = _kw(tmp_path, ["erp", "email"])
    with OwnDisk(tmp_path / "worker-disk") as executor:
        summary = run_client(DEMO, "2026Q3", executor=executor, **kw)
    assert all(r.ok for r in summary.results)  # every job says ok ...
    assert not summary.ok and summary.published is None  # ... but nothing is published
    assert "not published: 6 expected output(s) missing" in summary.error
    assert "missing: erp/baseline.pdf (from demo/erp/baseline)" in summary.error
    assert "missing: email/baseline.html (from demo/email/baseline)" in summary.error
    assert summary.kept == tmp_path / "out/demo/_work/2026Q3"
    assert not (tmp_path / "out/demo/2026Q3").exists()
    # The next run does not trust those records: it reruns both jobs and publishes.
    again = run_client(DEMO, "2026Q3", **kw)
    assert again.ok, again.text()
    assert not any(r.reused for r in again.results)
    assert verify(again.published) == []


def test_manifest_lists_each_jobs_outputs_with_hashes(tmp_path: Path) -> None:
    summary = run_client(DEMO, "2026Q3", **_kw(tmp_path, ["erp"]))
    manifest = json.loads((summary.published / "manifest.json").read_text())
    (job,) = manifest["jobs"]
    assert job["folder"] == "erp"
    assert sorted(job["files"]) == ["baseline.html", "baseline.ipynb", "baseline.pdf"]
    for name, digest in job["hashes"].items():
        assert manifest["outputs"][f"erp/{name}"] == digest


def test_a_reused_output_that_changed_is_run_again(tmp_path: Path) -> None:
    kw = _kw(tmp_path, ["erp", "email"])
    first = run_client(DEMO, "2026Q3", **kw)
    html = first.published / "erp" / "baseline.html"
    html.write_text(html.read_text() + "<!-- edited -->")
    second = run_client(DEMO, "2026Q3", **kw)
    assert second.ok, second.text()
    assert {r.job.service: r.reused for r in second.results} == {"erp": False, "email": True}
    assert second.published == tmp_path / "out/demo/2026Q3-r2"
    assert verify(second.published) == []


def test_a_plan_holds_the_lock_until_its_run_ends(tmp_path: Path) -> None:
    kw = _kw(tmp_path, ["erp"])
    opts = {k: kw[k] for k in ("outputs", "notebooks_dir", "services", "notebooks")}
    held = plan_client(DEMO, "2026Q3", **opts)
    try:
        with pytest.raises(PublishError, match=r"another run holds .*2026Q3\.lock"):
            plan_client(DEMO, "2026Q3", **opts)
    finally:
        held.release()
    plan_client(DEMO, "2026Q3", **opts).release()


def test_a_plan_made_before_another_run_published_does_not_publish_a_gap(tmp_path: Path) -> None:
    # Without the lock (an older kit, or a plan kept across runs) the work folder the
    # plan reuses is published and moved away by another run: the stale plan must not
    # publish a period missing those reports.
    kw = _kw(tmp_path, ["erp", "email"])
    flag = tmp_path / "broken"
    flag.touch()
    _notebook(kw["notebooks_dir"], f'import pathlib\nif service == "erp" and '
                                   f'pathlib.Path({str(flag)!r}).exists():\n    raise ValueError')
    assert not run_client(DEMO, "2026Q3", **kw).ok
    flag.unlink()
    opts = {k: kw[k] for k in ("outputs", "notebooks_dir", "services", "notebooks")}
    stale = plan_client(DEMO, "2026Q3", lock=False, **opts)
    assert set(stale.reuse) == {j.key for j in stale.jobs if j.service == "email"}
    other = run_client(DEMO, "2026Q3", **kw)
    assert other.published == tmp_path / "out/demo/2026Q3"
    (summary,) = run_clients([stale], options=RunOptions(), jobs=1, log=lambda _: None)
    assert summary.published is None
    assert "missing: email/baseline.pdf (from demo/email/baseline)" in summary.error
    assert not (tmp_path / "out/demo/2026Q3-r2").exists()


def test_verify_checks_each_jobs_listed_files(tmp_path: Path) -> None:
    summary = run_client(DEMO, "2026Q3", **_kw(tmp_path, ["erp"]))
    folder = tmp_path / "copy"
    shutil.copytree(summary.published, folder)
    # A manifest written after a report went missing records no hash for it in its
    # outputs; the job's own listing still names it.
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["outputs"]["erp/baseline.pdf"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "erp" / "baseline.pdf").unlink()
    assert verify(folder) == ["missing: erp/baseline.pdf (from demo/erp/baseline)"]
    # A job whose listing lacks one of its reports is caught too.
    manifest["jobs"][0]["files"].remove("baseline.pdf")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert verify(folder) == ["not produced: erp/baseline.pdf (from demo/erp/baseline)"]


def test_output_problems_name_the_file_and_the_job(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    for ext in ("ipynb", "html", "pdf"):
        (tmp_path / "net" / f"baseline.{ext}").write_text(ext)
    from csi_lib.data import file_sha256

    rec = {"name": "acme/net/baseline", "ok": True, "folder": "net",
           "files": ["baseline.ipynb", "baseline.html", "baseline.pdf", "t.csv"],
           "hashes": {f"baseline.{e}": file_sha256(tmp_path / "net" / f"baseline.{e}")
                      for e in ("ipynb", "html", "pdf")}}
    assert output_problems(tmp_path, [rec]) == ["missing: net/t.csv (from acme/net/baseline)"]
    (tmp_path / "net" / "t.csv").write_text("x")
    assert output_problems(tmp_path, [rec]) == [
        "no recorded hash: net/t.csv (from acme/net/baseline)"]
    (tmp_path / "net" / "baseline.html").write_text("changed")
    rec["files"].remove("t.csv")
    assert output_problems(tmp_path, [rec]) == [
        "modified: net/baseline.html (from acme/net/baseline)"]
    assert output_problems(tmp_path, [{**rec, "ok": False}]) == ["failed: acme/net/baseline"]
