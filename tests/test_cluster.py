"""Running on a Dask cluster: shipped jobs, the same outputs as the local pool, faults.

Schedulers and workers listen on 127.0.0.1 only, on ports the system picks.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from csi_lib.cli import main
from csi_lib.errors import ClusterSetupError
from csi_lib.params import load_params
from csi_lib.publish import verify
from csi_lib.runner import run_client
from csi_lib.runner.shipping import environment_difference, mirror, worker_params

distributed = pytest.importorskip("distributed", reason="Dask is an optional extra")

DEMO = ROOT / "params" / "demo.yaml"
PARAMETERS = 'params_file = ""\nperiod = ""\nservice = ""\noutputs = ""'
quiet = {"log": lambda _: None}
PY = sys.executable

# Reads the shipped params and tables and prints what it found: the same text
# wherever it runs, if the worker got what the planning machine has.
READS_TABLES = """\
from csi_lib.data import load_tables
from csi_lib.params import load_params
p = load_params(params_file)
t = load_tables(p, outputs)
print(service, len(t.tickets), t.tickets["caller"].iloc[0], p.source_file)
"""


def _notebook(folder: Path, body: str, name: str = "baseline") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(body)]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def local_cluster() -> Iterator[str]:
    """Two worker processes on loopback (a kernel's event loops belong in a process of
    its own, not in the test's threads)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


class Procs:
    """A scheduler and workers as processes of their own, each in its own folder."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None,
               wrap: list[str] | None = None) -> subprocess.Popen:
        home = self.tmp / name
        home.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, "HOME": str(home), **(env or {})}
        full_env.setdefault("PYTHONPATH", str(ROOT))
        with (home / "log").open("w") as log:
            proc = subprocess.Popen([*(wrap or []), *argv], cwd=home, env=full_env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def scheduler(self) -> None:
        self._start("scheduler", [PY, "-m", "distributed.cli.dask_scheduler", "--host",
                                  "127.0.0.1", "--port", str(self.port), "--dashboard-address",
                                  "127.0.0.1:0"])

    def worker(self, name: str, env: dict[str, str] | None = None,
               wrap: list[str] | None = None) -> None:
        self._start(name, [PY, "-m", "distributed.cli.dask_worker", self.address, "--host",
                           "127.0.0.1", "--nthreads", "1", "--no-nanny",
                           "--dashboard-address", "127.0.0.1:0",
                           "--local-directory", str(self.tmp / name / "dask"), "--name",
                           name], env, wrap)

    def wait_for_workers(self, n: int) -> None:
        with distributed.Client(self.address, timeout=60) as client:
            client.wait_for_workers(n, timeout=90)

    def worker_address(self, name: str) -> str:
        with distributed.Client(self.address, timeout=10) as client:
            info = client.scheduler_info()["workers"]
        return next(a for a, w in info.items() if w.get("name") == name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.procs[name].pid, sig)

    def close(self) -> None:
        for name, proc in self.procs.items():
            self.kill(name, signal.SIGCONT)
            self.kill(name)
            proc.wait(timeout=30)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    p = Procs(tmp_path / "cluster")
    try:
        yield p
    finally:
        p.close()


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(["run", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_worker_params_mirror_every_path_and_load(tmp_path: Path) -> None:
    params = load_params(DEMO)
    root = tmp_path / "private"
    text = worker_params(params, root)
    target = mirror(root, params.source_file)
    target.parent.mkdir(parents=True)
    target.write_text(text)
    mirrored = load_params(target)
    assert mirrored.demo is None  # nothing on a worker writes demo inputs of its own
    assert mirrored.sources.tickets.path == mirror(root, params.sources.tickets.path)
    assert mirrored.maturity.questionnaires == mirror(root, params.maturity.questionnaires)
    assert mirrored.prioritisation.register_file == \
        mirror(root, params.prioritisation.register_file)
    assert mirrored.model_dump(exclude={"sources", "maturity", "prioritisation", "demo",
                                        "source_file"}) == \
        params.model_dump(exclude={"sources", "maturity", "prioritisation", "demo",
                                   "source_file"})


def test_environment_difference_names_each_entry() -> None:
    here = {"code": "aaa", "pandas": "2.3.1", "numpy": "2.0"}
    assert environment_difference(here, dict(here)) == ""
    assert environment_difference(here, {**here, "pandas": "2.2.0", "code": "bbb"}) == \
        "code bbb (here aaa), pandas 2.2.0 (here 2.3.1)"


def test_shipped_jobs_read_the_coordinators_tables_and_match_the_local_pool(
        tmp_path: Path, local_cluster: str) -> None:
    from csi_lib.runner.cluster import ClusterExecutor

    nb_dir = _notebook(tmp_path / "nb", READS_TABLES)
    kw = {"notebooks_dir": nb_dir, "services": ["erp", "email"], "notebooks": ["baseline"],
          **quiet}
    outputs = tmp_path / "out"
    pool = run_client(DEMO, "2026Q3", outputs=outputs / "pool", jobs=1, **kw)
    # The same pseudonym key for both runs, as for two runs on one machine.
    shutil.copy(outputs / "pool" / "demo" / ".pseudonym-key", _key_dir(outputs / "dask"))
    with ClusterExecutor.connect(local_cluster, timeout=10, **quiet) as executor:
        dask = run_client(DEMO, "2026Q3", outputs=outputs / "dask", executor=executor, **kw)
        sent = executor.tables_sent
    assert pool.ok and dask.ok, dask.text()
    assert sent > 100_000  # the tables went over the network once
    for r in dask.results:
        assert r.worker.startswith("tcp://127.0.0.1:"), r
        assert 0 < r.traffic["sent"] < 50_000 and r.traffic["received"] > 1000, r.traffic
    for service in ("erp", "email"):
        a = nbformat.read(pool.published / service / "baseline.ipynb", as_version=4)
        b = nbformat.read(dask.published / service / "baseline.ipynb", as_version=4)
        text = b.cells[-1].outputs[0]["text"]
        # The worker's private folder never shows: the report names the params file
        # where the planning machine has it.
        assert text.split()[0] == service and text.split()[-1] == str(DEMO)
        assert [c.get("outputs") for c in a.cells] == [c.get("outputs") for c in b.cells]
        assert (pool.published / service / "baseline.html").read_bytes() == \
            (dask.published / service / "baseline.html").read_bytes()
    manifest = json.loads((dask.published / "manifest.json").read_text())
    assert {j["name"]: bool(j["worker"]) for j in manifest["jobs"]} == \
        {"demo/erp/baseline": True, "demo/email/baseline": True}
    assert verify(dask.published) == []


def _key_dir(outputs: Path) -> Path:
    folder = outputs / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / ".pseudonym-key"


def test_no_scheduler_at_the_address_exits_2_fast(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    code, _, err = _run_cli(["--client", "demo", "--outputs", str(tmp_path), "--notebook",
                             "baseline", "--service", "erp", "--scheduler", address,
                             "--scheduler-timeout", "2"], capsys)
    assert code == 2
    assert f"cannot reach the Dask scheduler at {address} within 2 s" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 30
    assert not list((tmp_path / "demo").rglob("*.ipynb"))  # nothing ran


def test_a_worker_with_other_code_is_refused_by_name(tmp_path: Path, procs: Procs,
                                                     capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "other-kit"
    shutil.copytree(ROOT / "csi_lib", other / "csi_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "templates", other / "templates")
    with (other / "csi_lib" / "kpis" / "table.py").open("a") as fh:
        fh.write("\n# a local change on one worker\n")
    procs.scheduler()
    procs.worker("stale", env={"PYTHONPATH": str(other)})
    procs.wait_for_workers(1)
    stale = procs.worker_address("stale")
    from csi_lib.runner.cluster import ClusterExecutor

    with pytest.raises(ClusterSetupError, match=rf"worker {stale} runs a different "
                                                r"environment: code \w+ \(here \w+\)"):
        ClusterExecutor.connect(procs.address, timeout=10)
    code, _, err = _run_cli(["--client", "demo", "--outputs", str(tmp_path / "out"),
                             "--notebook", "baseline", "--service", "erp",
                             "--scheduler", procs.address], capsys)
    assert code == 2 and f"worker {stale} runs a different environment" in err


@pytest.mark.slow
def test_a_lost_worker_is_replaced_and_the_summary_says_so(tmp_path: Path, procs: Procs,
                                                          capsys: pytest.CaptureFixture) -> None:
    nb_dir = _notebook(tmp_path / "nb", "import time\ntime.sleep(8)\nprint(service)")
    procs.scheduler()
    procs.worker("w1")
    procs.worker("w2")
    procs.wait_for_workers(2)
    victim = {}

    def kill_first_busy() -> None:
        with distributed.Client(procs.address, timeout=10) as client:
            for _ in range(600):
                busy = [w for w, keys in client.processing().items()
                        if any("baseline" in k for k in keys)]
                if busy:
                    time.sleep(2.5)  # the run has seen where its job runs
                    info = client.scheduler_info()["workers"]
                    victim["address"] = busy[0]
                    procs.kill(info[busy[0]]["name"])
                    return
                time.sleep(0.1)

    import threading

    killer = threading.Thread(target=kill_first_busy)
    killer.start()
    code, out, err = _run_cli(["--client", "demo", "--outputs", str(tmp_path / "out"),
                               "--notebooks-dir", str(nb_dir), "--notebook", "baseline",
                               "--service", "erp", "--scheduler", procs.address], capsys)
    killer.join()
    assert code == 0, out + err
    assert f"worker {victim['address']} was lost while running this job" in out
    assert "published:" in out


@pytest.mark.slow
def test_a_lost_scheduler_stops_the_run_and_a_rerun_resumes(
        tmp_path: Path, procs: Procs, capsys: pytest.CaptureFixture) -> None:
    # erp finishes at once; email sleeps (while the flag exists) until the scheduler is gone.
    flag = tmp_path / "slow"
    flag.touch()
    nb_dir = _notebook(tmp_path / "nb", "import os, time\nif service == 'email' and "
                       f"os.path.exists({str(flag)!r}): time.sleep(60)\nprint(service)")
    outputs = tmp_path / "out"
    procs.scheduler()
    procs.worker("w1")
    procs.worker("w2")
    procs.wait_for_workers(2)
    work = outputs / "demo" / "_work" / "2026Q3"

    import threading

    def kill_scheduler_after_erp() -> None:
        for _ in range(1200):
            if (work / ".jobs" / "erp.baseline.json").is_file():
                time.sleep(1)
                procs.kill("scheduler")
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_scheduler_after_erp)
    killer.start()
    argv = ["--client", "demo", "--outputs", str(outputs), "--notebooks-dir", str(nb_dir),
            "--notebook", "baseline", "--service", "erp", "--service", "email",
            "--scheduler", procs.address, "--scheduler-timeout", "3"]
    started = time.monotonic()
    code, out, err = _run_cli(argv, capsys)
    killer.join()
    assert code == 1, out + err
    assert f"lost the Dask scheduler at {procs.address}" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert time.monotonic() - started < 55  # stopped long before the sleeping job ended
    records = {p.name for p in (work / ".jobs").glob("*.json")}
    assert records == {"erp.baseline.json"}
    before = {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file()}
    time.sleep(2)
    assert {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file()} == before
    assert not (work / "email").exists()
    # A rerun on the local pool resumes: erp is not run again.
    capsys.readouterr()
    flag.unlink()
    code, out, _ = _run_cli([*argv[:-4], "--jobs", "1"], capsys)
    assert code == 0 and "1 to run, 1 unchanged" in out, out


@pytest.mark.slow
def test_a_frozen_scheduler_stops_the_run_after_the_stall_timeout(
        tmp_path: Path, procs: Procs, capsys: pytest.CaptureFixture) -> None:
    nb_dir = _notebook(tmp_path / "nb", "import time\ntime.sleep(60)")
    procs.scheduler()
    procs.worker("w1")
    procs.wait_for_workers(1)

    import threading

    def freeze_once_running() -> None:
        with distributed.Client(procs.address, timeout=10) as client:
            for _ in range(600):
                if any("baseline" in k for keys in client.processing().values() for k in keys):
                    time.sleep(1)
                    break
                time.sleep(0.1)
        procs.kill("scheduler", signal.SIGSTOP)

    freezer = threading.Thread(target=freeze_once_running)
    freezer.start()
    started = time.monotonic()
    code, out, err = _run_cli(["--client", "demo", "--outputs", str(tmp_path / "out"),
                               "--notebooks-dir", str(nb_dir), "--notebook", "baseline",
                               "--service", "erp", "--scheduler", procs.address,
                               "--stall-timeout", "8"], capsys)
    freezer.join()
    assert code == 1, out + err
    assert (f"the Dask scheduler at {procs.address} does not answer, and no job has run "
            "or finished for 8 s") in err
    assert time.monotonic() - started < 45


@pytest.mark.slow
def test_workers_that_cannot_see_the_coordinators_files_publish_the_same_period(
        tmp_path: Path, procs: Procs) -> None:
    """Workers in mount namespaces of their own, with the kit's params, notebooks and
    outputs folders and the run's outputs hidden under empty file systems."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--mount", "true"], check=False, capture_output=True).returncode != 0:
        pytest.skip("needs `unshare --mount` (root, or a kernel allowing user namespaces)")
    outputs = tmp_path / "out"
    pool_out = tmp_path / "pool"
    (outputs / "demo").mkdir(parents=True)
    hidden = [ROOT / "params", ROOT / "notebooks", ROOT / "outputs", tmp_path]
    mounts = " && ".join(f"mount -t tmpfs none {p}" for p in hidden)
    procs.scheduler()
    procs.tmp = Path(f"/var/tmp/csi-workers-{os.getpid()}")  # outside every hidden folder
    try:
        for name in ("w1", "w2"):
            wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    f'{mounts} && exec "$0" "$@"']
            procs.worker(name, wrap=wrap)
        procs.wait_for_workers(2)
        kit = ["--client", "demo", "--params-dir", str(ROOT / "params"), "--period", "2026Q3"]
        subprocess.run([PY, "-m", "csi_lib.cli", "run", *kit, "--outputs", str(pool_out),
                        "--jobs", "2"], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       capture_output=True)
        shutil.copy(pool_out / "demo" / ".pseudonym-key", outputs / "demo" / ".pseudonym-key")
        run = subprocess.run([PY, "-m", "csi_lib.cli", "run", *kit, "--outputs", str(outputs),
                              "--scheduler", procs.address], check=False, text=True,
                             capture_output=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        procs.close()
        shutil.rmtree(procs.tmp, ignore_errors=True)
    assert run.returncode == 0, run.stdout + run.stderr
    period, local = outputs / "demo" / "2026Q3", pool_out / "demo" / "2026Q3"
    manifest = json.loads((period / "manifest.json").read_text())
    workers = {j["worker"] for j in manifest["jobs"]}
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    assert verify(period) == []
    names = {p.relative_to(local) for p in local.rglob("*") if p.is_file()}
    assert names == {p.relative_to(period) for p in period.rglob("*") if p.is_file()}
    # 6 services x (baseline, gap analysis) + prioritisation, maturity, benefits and the pack
    assert len([n for n in names if n.suffix == ".pdf"]) == 16
    for name in sorted(names):
        a, b = local / name, period / name
        if name.suffix in {".html", ".csv"}:
            assert a.read_bytes() == b.read_bytes(), name
        elif name.suffix == ".ipynb":
            cells = [nbformat.read(p, as_version=4).cells for p in (a, b)]
            assert [c.get("outputs") for c in cells[0]] == \
                [c.get("outputs") for c in cells[1]], name
        elif name.suffix == ".xlsx":
            sheets = [pd.read_excel(p, sheet_name=None, engine="calamine") for p in (a, b)]
            assert sheets[0].keys() == sheets[1].keys(), name
            for sheet in sheets[0]:
                pd.testing.assert_frame_equal(sheets[0][sheet], sheets[1][sheet])
        elif name.suffix == ".pdf":
            from pypdf import PdfReader

            texts = ["\n".join(pg.extract_text() for pg in PdfReader(p).pages) for p in (a, b)]
            assert texts[0] == texts[1], name
