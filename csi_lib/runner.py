"""Run a client's reports: plan, check, ingest once, execute notebooks, render, publish.

A period is published by renaming a complete staging folder into place, so a
reader never sees a half-written quarter; a published period is never
overwritten: a rerun publishes the next revision (``2026Q3-r2``) unless asked
to supersede. A run with a failed report publishes nothing and keeps its
folder, executed notebooks and tracebacks included, for inspection.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import nbformat
import papermill
from papermill.exceptions import PapermillExecutionError

from csi_lib import render
from csi_lib.data import file_sha256, load_tables
from csi_lib.errors import CsiError, NotebookError, PublishError
from csi_lib.kpis import kpi_table, period_bounds
from csi_lib.params import Params, load_params
from csi_lib.periods import quarter_label
from csi_lib.publish import next_revision, write_index, write_manifest

__all__ = ["NOTEBOOKS", "Job", "JobResult", "RunSummary", "check_notebook", "plan", "run_client"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class NotebookSpec:
    """A report notebook: its title and whether it runs per service or once per client."""

    name: str
    title: str
    scope: Literal["service", "client"]


# In run order. Notebooks may also declare `report_dir` to write extra files
# (workbooks) beside their report; it is passed only where declared.
NOTEBOOKS: dict[str, NotebookSpec] = {
    spec.name: spec for spec in (
        NotebookSpec("baseline", "Service baseline", "service"),
    )
}
REQUIRED_PARAMETERS = {"service": ("params_file", "period", "service", "outputs"),
                       "client": ("params_file", "period", "outputs")}


@dataclass(frozen=True)
class Job:
    """One notebook to execute for one service (or the whole client) of one client."""

    client: str
    notebook: str
    parameters: dict[str, str]
    service: str | None = None
    service_name: str | None = None

    @property
    def name(self) -> str:
        return "/".join(p for p in (self.client, self.service, self.notebook) if p)

    @property
    def folder(self) -> str:
        """Folder of the job's files inside the period folder ('' for client reports)."""
        return self.service or ""


@dataclass(frozen=True)
class JobResult:
    job: Job
    ok: bool
    seconds: float
    error: str = ""
    files: tuple[str, ...] = ()


@dataclass
class RunSummary:
    client: str
    period: str
    results: list[JobResult] = field(default_factory=list)
    published: Path | None = None
    kept: Path | None = None

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    def text(self) -> str:
        lines = [f"{self.client} {self.period}: {len(self.results) - len(self.failed)} ok, "
                 f"{len(self.failed)} failed"]
        lines += [f"  {'ok  ' if r.ok else 'FAIL'} {r.job.name} ({r.seconds:.1f} s)"
                  + (f"\n       {r.error}" if r.error else "") for r in self.results]
        if self.published:
            lines.append(f"published: {self.published}")
        if self.kept:
            lines.append(f"not published; executed notebooks kept in {self.kept}")
        return "\n".join(lines)


def check_notebook(path: Path, given: Sequence[str]) -> None:
    """Fail unless ``path`` has a ``parameters`` cell declaring every name in ``given``.

    Papermill only warns about unknown parameters; a misspelt one would silently
    run the notebook on its defaults (the demo client), so we refuse instead.
    """
    if not path.is_file():
        raise NotebookError(f"notebook {path} does not exist")
    nb = nbformat.read(path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise NotebookError(
            f"{path} has no cell tagged 'parameters': tag its first code cell 'parameters' "
            "(JupyterLab: property inspector > cell tags)")
    declared = set(papermill.inspect_notebook(str(path)))
    missing = sorted(set(given) - declared)
    if missing:
        raise NotebookError(
            f"{path} does not declare parameter(s) {missing} in its parameters cell "
            f"(it declares {sorted(declared)}): add them there with a default value")


def plan(params: Params, params_file: Path, period: str, outputs: Path,
         notebooks: Sequence[str] = tuple(NOTEBOOKS),
         services: Sequence[str] | None = None) -> list[Job]:
    """The jobs of one client and period: per-service notebooks for each service,
    per-client notebooks once, in the registry's order."""
    unknown = sorted(set(notebooks) - set(NOTEBOOKS))
    if unknown:
        raise NotebookError(f"unknown notebook(s) {unknown}; known: {', '.join(NOTEBOOKS)}")
    chosen = [params.service(s) for s in services] if services else list(params.services)
    common = {"params_file": str(params_file.resolve()), "period": period,
              "outputs": str(outputs.resolve())}
    jobs = []
    for spec in NOTEBOOKS.values():
        if spec.name not in notebooks:
            continue
        if spec.scope == "client":
            jobs.append(Job(client=params.client.id, notebook=spec.name, parameters=common))
            continue
        jobs += [Job(client=params.client.id, notebook=spec.name, service=s.id,
                     service_name=s.name, parameters={**common, "service": s.id})
                 for s in chosen]
    return jobs


def _execute(job: Job, params: Params, quarter_end: str, notebooks_dir: Path, folder: Path,
             cell_timeout: int) -> JobResult:
    start = time.perf_counter()
    source = notebooks_dir / f"{job.notebook}.ipynb"
    out_dir = folder / job.folder
    out_dir.mkdir(parents=True, exist_ok=True)
    executed = out_dir / f"{job.notebook}.ipynb"
    parameters = dict(job.parameters)
    if "report_dir" in papermill.inspect_notebook(str(source)):
        parameters["report_dir"] = str(out_dir.resolve())
    try:
        nb = papermill.execute_notebook(
            str(source), str(executed), parameters=parameters, cwd=str(notebooks_dir),
            kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False,
            execution_timeout=cell_timeout)
    except PapermillExecutionError as exc:
        return JobResult(job, False, time.perf_counter() - start,
                         f"{exc.ename}: {exc.evalue} (cell {exc.exec_count}); "
                         f"traceback in {executed}", (executed.name,))
    except Exception as exc:  # kernel died, timeout, ...: isolate the job, keep going
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return JobResult(job, False, time.perf_counter() - start,
                         f"{detail}; notebook (if written) in {executed}")
    meta = render.ReportMeta(title=NOTEBOOKS[job.notebook].title, client=params.client.name,
                             service=job.service_name, period=job.parameters["period"],
                             as_of=quarter_end)
    try:
        render.write_report(nb, meta, out_dir / f"{job.notebook}.html",
                            out_dir / f"{job.notebook}.pdf")
    except CsiError as exc:
        return JobResult(job, False, time.perf_counter() - start, str(exc), (executed.name,))
    files = tuple(f"{job.notebook}.{ext}" for ext in ("ipynb", "html", "pdf"))
    return JobResult(job, True, time.perf_counter() - start, files=files)


def run_client(params_file: Path | str, period: str | None = None, *, outputs: Path | str,
               notebooks_dir: Path | str, notebooks: Sequence[str] = tuple(NOTEBOOKS),
               services: Sequence[str] | None = None, cell_timeout: int = 600,
               supersede: bool = False, log: Log = print) -> RunSummary:
    """Run every report of one client for one period and publish the period."""
    params_file, outputs, notebooks_dir = Path(params_file), Path(outputs), Path(notebooks_dir)
    params = load_params(params_file)
    quarter = params.period(period)
    label = quarter_label(quarter)
    jobs = plan(params, params_file, label, outputs, notebooks, services)
    for nb in dict.fromkeys(j.notebook for j in jobs):
        check_notebook(notebooks_dir / f"{nb}.ipynb",
                       REQUIRED_PARAMETERS[NOTEBOOKS[nb].scope])
    log(f"{params.client.id} {label}: {len(jobs)} report(s) planned")

    started = dt.datetime.now(dt.UTC)
    tables = load_tables(params, outputs)  # ingest once; notebooks read the cache
    log(f"  ingest: {tables.rows_read.get('tickets', 0):,} ticket rows, "
        f"{len(tables.excluded):,} excluded (see each report's data-quality section)")

    client_dir = outputs / params.client.id
    client_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".staging-{label}-", dir=client_dir))
    _, end = period_bounds(quarter, params.reporting.timezone)
    quarter_end = (end - dt.timedelta(seconds=1)).tz_convert(params.reporting.timezone)
    summary = RunSummary(client=params.client.id, period=label)
    for job in jobs:
        log(f"  running {job.name}")
        result = _execute(job, params, quarter_end.date().isoformat(), notebooks_dir, folder,
                          cell_timeout)
        summary.results.append(result)
        if not result.ok:
            log(f"  FAILED {job.name}: {result.error}")

    # The period's KPI table travels with its reports: later quarters and other
    # tools read the figures exactly as published.
    kpi_table(tables.tickets, tables.changes, tables.surveys, params, quarter).to_csv(
        folder / "kpis.csv", index=False)
    write_index(folder, params, label, summary.results)
    write_manifest(folder, params, label, summary.results, started=started,
                   inputs={str(p): file_sha256(p) for p in _input_files(params, params_file)},
                   notebooks={nb: file_sha256(notebooks_dir / f"{nb}.ipynb")
                              for nb in {j.notebook for j in jobs}})
    if summary.failed:
        kept = client_dir / "_failed" / f"{label}-{started:%Y%m%dT%H%M%SZ}"
        kept.parent.mkdir(parents=True, exist_ok=True)
        folder.rename(kept)
        summary.kept = kept
        return summary
    summary.published = _publish(folder, client_dir, label, supersede=supersede)
    return summary


def _input_files(params: Params, params_file: Path) -> list[Path]:
    s = params.sources
    return [params_file] + [x.path for x in (s.tickets, s.changes, s.surveys) if x is not None]


def _publish(folder: Path, client_dir: Path, label: str, *, supersede: bool) -> Path:
    """Move a complete staging folder into place with one rename."""
    target = client_dir / label
    if not target.exists():
        folder.rename(target)
        return target
    if not supersede:
        target = client_dir / next_revision(client_dir, label)
        folder.rename(target)
        return target
    # Superseding: the old folder is renamed aside first (one rename each), so at
    # every instant either the old or the new complete period is in place.
    aside = client_dir / f".superseded-{label}-{time.time_ns()}"
    target.rename(aside)
    try:
        folder.rename(target)
    except OSError as exc:
        aside.rename(target)
        raise PublishError(f"could not publish {target}: {exc}; the old period is back") from exc
    shutil.rmtree(aside, ignore_errors=True)
    return target
