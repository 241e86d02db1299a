"""Faults of the runner itself: killed with -9, interrupted with Ctrl-C or SIGTERM.

Each test runs ``csi run`` as a real subprocess in its own session, as a shell
would, and checks that no process it started outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import ROOT

from csi_lib.runner import run_client

DEMO = ROOT / "params" / "demo.yaml"
PARAMETERS = 'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""'
pytestmark = pytest.mark.slow


def _notebook(folder: Path, flag: Path, slow: tuple[str, ...]) -> Path:
    """A baseline stand-in that sleeps for two minutes for ``slow`` services while
    ``flag`` exists."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
                    "import pathlib, time\n"
                    f"if service in {list(slow)!r} and pathlib.Path({str(flag)!r}).exists():\n"
                    "    time.sleep(120)")]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "baseline.ipynb")
    return folder


def _start(nb_dir: Path, out: Path, services: list[str]) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "csi_lib.cli", "run", "--client", "demo", "--params-dir",
            str(ROOT / "params"), "--outputs", str(out), "--notebooks-dir", str(nb_dir),
            "--jobs", "2", "--notebook", "baseline"]
    for service in services:
        args += ["--service", service]
    return subprocess.Popen(args, cwd=ROOT, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _wait_for(condition: object, what: str, proc: subprocess.Popen[str],
              seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        if proc.poll() is not None:
            pytest.fail(f"csi run ended early ({proc.returncode}) before {what}: "
                        f"{proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)
    pytest.fail(f"csi run never reached {what}")


def _kernels(procs: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for p in procs:
        try:
            if any("ipykernel" in part for part in p.cmdline()):
                found.append(p)
        except psutil.Error:
            pass
    return found


def _survivors(procs: list[psutil.Process], seconds: float) -> list[str]:
    """Processes still running after ``seconds`` (a zombie waiting to be reaped is gone)."""
    deadline = time.monotonic() + seconds
    while True:
        alive = []
        for p in procs:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
            except psutil.Error:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def test_kill_9_of_the_runner_leaves_no_worker_or_kernel_behind(tmp_path: Path) -> None:
    flag = tmp_path / "slow"
    flag.touch()
    nb_dir = _notebook(tmp_path / "nb", flag, ("erp", "email"))
    proc = _start(nb_dir, tmp_path / "out", ["erp", "email"])
    runner = psutil.Process(proc.pid)
    # Both workers mid-notebook, each with its kernel.
    _wait_for(lambda: len(_kernels(runner.children(recursive=True))) >= 2, "two kernels", proc)
    work = tmp_path / "out" / "demo" / "_work" / "2026Q3"
    _wait_for(lambda: (work / "erp").exists() and (work / "email").exists(), "both jobs", proc)
    time.sleep(1)
    started = runner.children(recursive=True)
    assert len(started) >= 5  # the fork server, two workers, two kernels
    proc.kill()  # SIGKILL to the runner alone: it can clean nothing up
    proc.communicate()
    assert _survivors(started, seconds=10) == []


@pytest.mark.parametrize(("signum", "code", "whole_group"), [
    (signal.SIGINT, 130, True),    # Ctrl-C in a terminal: the whole foreground group
    (signal.SIGTERM, 143, False),  # kill PID, as a scheduler or CI timeout sends it
])
def test_an_interrupted_run_stops_with_one_line_and_the_next_run_resumes(
        tmp_path: Path, signum: int, code: int, whole_group: bool) -> None:
    flag = tmp_path / "slow"
    flag.touch()
    nb_dir = _notebook(tmp_path / "nb", flag, ("network", "hr-portal"))
    services = ["email", "erp", "network", "hr-portal"]
    proc = _start(nb_dir, tmp_path / "out", services)
    work = tmp_path / "out" / "demo" / "_work" / "2026Q3"
    records = work / ".jobs"
    _wait_for(lambda: (records / "email.baseline.json").exists()
              and (records / "erp.baseline.json").exists()
              and (work / "network").exists() and (work / "hr-portal").exists(),
              "two jobs done and two running", proc)
    time.sleep(1)
    started = psutil.Process(proc.pid).children(recursive=True)
    assert _kernels(started)
    stopped_at = time.monotonic()
    if whole_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - stopped_at < 30  # not the two minutes the notebooks sleep
    assert proc.returncode == code, err
    assert "Traceback" not in out + err
    assert err.strip().splitlines()[-1] == (
        "interrupted: 2 done, 2 not run; run the same command to resume")
    assert _survivors(started, seconds=10) == []
    assert not (tmp_path / "out" / "demo" / "2026Q3").exists()

    flag.unlink()
    summary = run_client(DEMO, "2026Q3", outputs=tmp_path / "out", notebooks_dir=nb_dir,
                         services=services, notebooks=["baseline"], jobs=2,
                         log=lambda _: None)
    assert summary.ok, summary.text()
    assert {r.job.service: r.reused for r in summary.results} == {
        "email": True, "erp": True, "network": False, "hr-portal": False}
    assert summary.published == tmp_path / "out" / "demo" / "2026Q3"
