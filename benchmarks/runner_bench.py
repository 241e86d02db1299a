"""Benchmark: `csi run` against the loop a user would write by hand, and the floor.

Builds a synthetic client of 20 services (the demo exports, services matched by
category), then in the same run times:

  naive  for each report: the `papermill` CLI, `jupyter nbconvert --to html`,
         then the PDF step (`csi render --pdf`), one after another;
  csi    `csi run --jobs N --force` on the same reports;
  floor  the time to start a kernel and import the notebooks' libraries, times
         the number of reports, over the cores.

Usage: python benchmarks/runner_bench.py [--jobs 2] [--services 20] [--keep DIR]
Prints both wall times, their ratio and the ratio to the floor, the load average
beside them, and the median time per report and step from the run's manifest.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES_BY_CATEGORY = [
    "Email", "SharePoint", "Teams", "Hardware", "Software", "Access", "Finance", "Integration",
    "Master data", "Procurement", "Reporting", "Absence", "Employee data", "Expenses",
    "Offboarding", "Onboarding", "Payroll", "Account", "Connectivity", "Network",
]
IMPORTS = "import pandas, seaborn, matplotlib.pyplot, csi_lib.baseline, csi_lib.plots"


def build_client(folder: Path, n_services: int) -> Path:
    """A params file for a 20-service client over the demo exports."""
    demo = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    exports = folder / "exports"
    from csi_lib.demo import write_demo_exports

    write_demo_exports(exports, seed=demo["demo"]["seed"], first_month=demo["demo"]["first_month"],
                       last_month=demo["demo"]["last_month"])
    params = {k: v for k, v in demo.items() if k not in {"demo", "prioritisation", "maturity"}}
    params["client"] = {"id": "bench", "name": "Benchmark client (20 services)"}
    for table in ("tickets", "changes", "surveys"):
        params["sources"][table]["path"] = str(exports / f"{table}.csv")
    params["sources"].pop("changes")  # changes carry no category to match services by
    params["services"] = [
        {"id": f"s{i:02d}", "name": f"Service {i:02d} ({cat})", "match": {"category": [cat]}}
        for i, cat in enumerate(SERVICES_BY_CATEGORY[:n_services], start=1)
    ]
    params.pop("gaps", None)
    (folder / "params").mkdir()
    path = folder / "params" / "bench.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def timed(cmd: list[str], **kw: object) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def naive_loop(params_file: Path, out: Path, notebooks: list[str]) -> tuple[float, int]:
    """What a user without the runner writes: three CLI calls per report, for the same
    reports the runner plans."""
    from csi_lib.runner import plan_client

    cp = plan_client(params_file, "2026Q3", outputs=out.parent / "outputs",
                     notebooks_dir=ROOT / "notebooks", notebooks=notebooks)
    bindir = Path(sys.executable).parent
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    start = time.perf_counter()
    for job in cp.jobs:
        stem = out / f"{job.notebook}-{job.service or 'client'}"
        cmd = [str(bindir / "papermill"), job.source, f"{stem}.ipynb", "--cwd", job.cwd]
        for name, value in job.parameters.items():
            cmd += ["-p", name, value]
        subprocess.run(cmd, check=True, **quiet)
        subprocess.run([str(bindir / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                        f"{stem}.ipynb"], check=True, **quiet)
        subprocess.run([str(bindir / "csi"), "render", f"{stem}.ipynb", "--pdf", f"{stem}.pdf"],
                       check=True, **quiet)
    return time.perf_counter() - start, len(cp.jobs)


def floor_per_report(repeats: int = 3) -> float:
    """Median time to start a kernel and import the notebooks' libraries in it."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        kc.execute_interactive(IMPORTS, timeout=120, output_hook=lambda _m: None)
        times.append(time.perf_counter() - start)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(times)


def _load(avg: tuple[float, float, float]) -> str:
    return ", ".join(f"{a:.1f}" for a in avg)


def print_report_medians(outputs: Path) -> None:
    """Median seconds per report and step on a warm kernel, from the run's manifest."""
    manifests = sorted(outputs.glob("bench/*/manifest.json"), key=lambda p: p.stat().st_mtime)
    if not manifests:
        print("no manifest found: no per-report timings")
        return
    jobs = json.loads(manifests[-1].read_text(encoding="utf-8")).get("jobs", [])
    by_notebook: dict[str, dict[str, list[float]]] = {}
    for job in jobs:
        timings = job.get("timings") or {}
        # The first report of each worker also starts its kernel: warm ones only.
        if not job.get("ok") or timings.get("kernel", 0.0) > 0:
            continue
        steps = by_notebook.setdefault(str(job["name"]).rsplit("/", 1)[-1], {})
        for step in ("execute", "html", "pdf"):
            if step in timings:
                steps.setdefault(step, []).append(float(timings[step]))
    for notebook, steps in sorted(by_notebook.items()):
        medians = ", ".join(f"{step} {statistics.median(v):.2f} s"
                            for step, v in steps.items())
        print(f"median per report on a warm kernel, {notebook} "
              f"({len(next(iter(steps.values()), []))} reports): {medians}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--notebook", action="append", dest="notebooks",
                    help="notebooks to include (default: every registered notebook)")
    ap.add_argument("--keep", type=Path, help="keep the work folder here")
    args = ap.parse_args()

    from csi_lib.data import load_kpis, load_tables
    from csi_lib.params import load_params
    from csi_lib.runner import NOTEBOOKS

    # Per-client notebooks need the client's register and questionnaires, which a
    # synthetic client has not: the benchmark runs the per-service reports.
    notebooks = args.notebooks or [n for n, s in NOTEBOOKS.items() if s.scope == "service"]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="csi-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    params_file = build_client(folder, args.services)
    outputs = folder / "outputs"
    # Both contenders start from the same warm ingest and KPI caches.
    params = load_params(params_file)
    load_kpis(params, params.period("2026Q3"), outputs, load_tables(params, outputs))

    load_before = os.getloadavg()
    naive_dir = folder / "naive"
    naive_dir.mkdir()
    naive, reports = naive_loop(params_file, naive_dir, notebooks)
    cmd = [str(Path(sys.executable).parent / "csi"), "run", "--client", "bench",
           "--params-dir", str(params_file.parent), "--outputs", str(outputs), "--period",
           "2026Q3", "--jobs", str(args.jobs), "--force", "--supersede"]
    for nb in notebooks:
        cmd += ["--notebook", nb]
    csi = timed(cmd, cwd=ROOT)
    per = floor_per_report()
    cores = os.cpu_count() or 1
    floor = per * reports / cores

    print(f"reports: {reports} ({', '.join(notebooks)}; {args.services} services), "
          f"cores: {cores}, csi workers: {args.jobs}")
    print(f"naive loop (papermill CLI + nbconvert CLI + PDF, per report): {naive:8.1f} s")
    print(f"csi run --jobs {args.jobs}:                                     {csi:8.1f} s")
    print(f"floor (kernel start + imports {per:.2f} s x {reports} / {cores} cores):"
          f"      {floor:8.1f} s")
    print(f"speed-up over the naive loop: {naive / csi:.1f}x")
    print(f"csi run / floor: {csi / floor:.2f}x")
    print(f"load average (1, 5, 15 min) before: {_load(load_before)}, "
          f"after: {_load(os.getloadavg())}")
    print_report_medians(outputs)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
