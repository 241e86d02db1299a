"""Benchmark: `csi run` on the local process pool against the same run on a Dask cluster.

Starts a scheduler and N single-threaded workers on 127.0.0.1, each in a folder
(and HOME) of its own, then times in the same run, from the same warm ingest
cache, `csi run --jobs N` and `csi run --scheduler ADDRESS` on the demo client
and on a synthetic 20-service client (the per-service reports, as in
runner_bench.py). Prints both wall times, their ratio, and the bytes each job
sent to its worker and received back, from the cluster run's manifest.

Usage: python benchmarks/cluster_bench.py [--workers 2] [--services 20] [--client demo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from runner_bench import build_client  # the 20-service client of runner_bench

PY = sys.executable
KEY = "benchmark-pseudonym-key"  # one key for both runs, so both ingest the same tables
WARM = ("import sys; from pathlib import Path; from csi_lib.data import load_kpis, load_tables; "
        "from csi_lib.params import load_params; p = load_params(sys.argv[1]); "
        "o = Path(sys.argv[2]); load_kpis(p, p.period('2026Q3'), o, load_tables(p, o))")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(folder: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler and ``workers`` worker processes, each in its own folder and HOME."""
    address = f"tcp://127.0.0.1:{_port()}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []

    def start(name: str, argv: list[str]) -> None:
        home = folder / name
        home.mkdir(parents=True)
        with (home / "log").open("w") as log:
            procs.append(subprocess.Popen(argv, cwd=home, env={**env, "HOME": str(home)},
                                          stdout=log, stderr=subprocess.STDOUT))

    start("scheduler", [PY, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                        "--port", address.rsplit(":", 1)[1], "--dashboard-address",
                        "127.0.0.1:0"])
    for i in range(workers):
        start(f"worker{i}", [PY, "-m", "distributed.cli.dask_worker", address, "--host",
                             "127.0.0.1", "--nthreads", "1", "--dashboard-address", "127.0.0.1:0",
                             "--local-directory", str(folder / f"worker{i}" / "dask")])
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(workers, timeout=120)
    return address, procs


def run(cmd: list[str]) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CSI_PSEUDONYM_KEY": KEY}
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, done.stdout


def bench(label: str, params_file: Path, folder: Path, address: str, workers: int,
          notebooks: list[str]) -> None:
    base = [PY, "-m", "csi_lib.cli", "run", "--params", str(params_file), "--period", "2026Q3",
            "--force"]
    for nb in notebooks:
        base += ["--notebook", nb]
    slug = label.split(maxsplit=1)[0]
    local_out, cluster_out = folder / f"{slug}-local", folder / f"{slug}-cluster"
    # Warm each outputs folder's ingest cache first: both contenders start from it.
    for out in (local_out, cluster_out):
        subprocess.run([PY, "-c", WARM, str(params_file), str(out)], check=True,
                       env={**os.environ, "CSI_PSEUDONYM_KEY": KEY, "PYTHONPATH": str(ROOT)})
    local, _ = run([*base, "--outputs", str(local_out), "--jobs", str(workers)])
    cluster, out = run([*base, "--outputs", str(cluster_out), "--scheduler", address])
    client = json.loads(next((cluster_out).glob("*/2026Q3/manifest.json")).read_text())
    jobs = client["jobs"]
    sent = [j["traffic"]["sent"] for j in jobs]
    received = [j["traffic"]["received"] for j in jobs]
    tables = next((line for line in out.splitlines() if "tables" in line and "MB" in line), "")
    print(f"{label}: {len(jobs)} reports")
    print(f"  csi run --jobs {workers}:            {local:7.1f} s")
    print(f"  csi run --scheduler ({workers} workers): {cluster:7.1f} s   "
          f"cluster / local: {cluster / local:4.2f}")
    print(f"  per job sent: median {statistics.median(sent) / 1e3:,.0f} kB, max "
          f"{max(sent) / 1e3:,.0f} kB; received: median {statistics.median(received) / 1e6:.2f}"
          f" MB, max {max(received) / 1e6:.2f} MB")
    print(f"  {tables.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--client", choices=["demo", "bench"], action="append", dest="clients",
                    help="which client to time (default: both)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="csi-cluster-bench-"))
    address, procs = start_cluster(folder / "cluster", args.workers)
    try:
        for label in args.clients or ["demo", "bench"]:
            if label == "demo":
                bench("demo", ROOT / "params" / "demo.yaml", folder, address, args.workers, [])
            else:
                (folder / "bench-client").mkdir()
                params_file = build_client(folder / "bench-client", args.services)
                bench(f"bench ({args.services} services)", params_file, folder, address,
                      args.workers, ["baseline", "gap_analysis"])
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
