"""Plan, then run every report of one or more clients on a pool of workers.

Each client's period is built in ``outputs/<client>/_work/<period>/`` and
published by one rename into ``outputs/<client>/<period>/`` when all of its jobs
succeeded. A published period is never overwritten: a rerun publishes the next
revision (``2026Q3-r2``) unless ``supersede`` is set. A job whose inputs (data
hashes, params, notebook, csi_lib code) are unchanged since a successful run is
not run again but taken from that run. A run that fails or is killed leaves its
work folder, so the next run resumes from the jobs already done.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import fcntl
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from csi_lib.data import (
    Ingested,
    cache_key,
    ensure_demo_exports,
    file_sha256,
    load_kpis,
    load_tables,
)
from csi_lib.errors import (
    ClusterError,
    CsiError,
    DataError,
    Interrupted,
    NotebookError,
    PublishError,
)
from csi_lib.kpis import period_bounds
from csi_lib.pages import write_index, write_overviews, write_status
from csi_lib.params import Params, check_file_name, load_params
from csi_lib.periods import quarter_label
from csi_lib.publish import (
    next_revision,
    output_problems,
    read_manifest,
    revisions,
    write_manifest,
)
from csi_lib.runner.deps import Gate
from csi_lib.runner.jobs import NOTEBOOKS, Job, JobResult, plan
from csi_lib.runner.lifeline import follow_runner, stop_workers
from csi_lib.runner.preflight import check_unique_clients, check_writable
from csi_lib.runner.progress import Progress
from csi_lib.runner.worker import run_job

__all__ = ["ClientPlan", "RunOptions", "RunSummary", "plan_client", "plan_clients",
           "run_clients"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    """How a run behaves; the CLI's flags."""

    cell_timeout: int = 600
    notebook_timeout: int = 1800
    force: bool = False
    retry_failed: bool = False
    supersede: bool = False
    warm: bool = True


@dataclass
class ClientPlan:
    """One client's period: its jobs and which of them earlier runs already did."""

    params: Params
    params_file: Path
    label: str
    jobs: list[Job]
    outputs: Path
    reuse: dict[str, tuple[Path, dict]] = field(default_factory=dict)  # job key -> (folder, record)
    lock: IO[str] | None = None  # held from planning until the run ends

    def release(self) -> None:
        """Let another run of this client and period start."""
        if self.lock is not None:
            self.lock.close()
            self.lock = None

    @property
    def client(self) -> str:
        return self.params.client.id

    @property
    def client_dir(self) -> Path:
        return self.outputs / self.client

    @property
    def work(self) -> Path:
        return self.client_dir / "_work" / self.label

    @property
    def to_run(self) -> list[Job]:
        return [j for j in self.jobs if j.key not in self.reuse]

    @property
    def up_to_date(self) -> bool:
        """Every job is unchanged since the latest published revision."""
        latest = revisions(self.client_dir, self.label)
        return bool(self.jobs) and not self.to_run and bool(latest) and all(
            self.reuse[j.key][0] == latest[-1] for j in self.jobs)


@dataclass
class RunSummary:
    """What a run did for one client."""

    client: str
    period: str
    results: list[JobResult] = field(default_factory=list)
    published: Path | None = None
    kept: Path | None = None
    error: str = ""
    up_to_date: bool = False

    @property
    def failed(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.error and not self.failed

    def text(self) -> str:
        ran = [r for r in self.results if not r.reused]
        head = (f"{self.client} {self.period}: {len(ran) - len(self.failed)} ok, "
                f"{len(self.failed)} failed, {len(self.results) - len(ran)} unchanged (reused)")
        lines = [head]
        if self.error:
            lines.append(f"  ERROR {self.error}")
        lines += [f"  {'ok  ' if r.ok else 'SKIP' if r.not_run else 'FAIL'} {r.job.name} "
                  f"({r.seconds:.1f} s)"
                  + (f"\n       {r.error}" if r.error else "")
                  + (f"\n       {r.note}" if r.note else "") for r in ran]
        if self.up_to_date:
            lines.append("  nothing changed since the last published revision; nothing to do "
                         "(use --force to run again)")
        if self.published:
            lines.append(f"published: {self.published}")
        if self.kept:
            lines.append(f"not published; work kept in {self.kept} (rerun to resume, or "
                         "--retry-failed to rerun only the failed reports)")
        return "\n".join(lines)


def _as_of(params: Params, label: str) -> str:
    quarter = params.period(label)
    _, end = period_bounds(quarter, params.reporting.timezone)
    return (end - dt.timedelta(seconds=1)).tz_convert(params.reporting.timezone).date().isoformat()


def _records(folder: Path) -> dict[str, dict]:
    """Job records of a work folder (``.jobs/``) or a published one (its manifest)."""
    found: dict[str, dict] = {}
    jobs_dir = folder / ".jobs"
    if jobs_dir.is_dir():
        for p in jobs_dir.glob("*.json"):
            try:
                rec = json.loads(p.read_text())
            except ValueError:
                continue  # a record cut short by a crash: that job simply runs again
            found[rec["key"]] = rec
    for rec in read_manifest(folder).get("jobs", []):
        found.setdefault(rec.get("key", ""), rec)
    return found


def _usable(folder: Path, job: Job, rec: dict) -> bool:
    """A record whose every listed output is still there with its recorded bytes."""
    return bool(rec.get("ok")) and not output_problems(folder, [{**rec, "folder": job.folder}])


def plan_client(params_file: Path, period: str | None, *, outputs: Path, notebooks_dir: Path,
                notebooks: Sequence[str] | None = None, services: Sequence[str] | None = None,
                options: RunOptions = RunOptions(), lock: bool = True) -> ClientPlan:
    """Validate a client's params and notebooks and decide which jobs must run.

    With ``lock`` the client's period is locked before reuse is decided, and stays
    locked (``ClientPlan.lock``) until the run ends or ``release()``: another run
    cannot publish, and so move away, the folders this plan reuses.
    """
    params = load_params(params_file)
    check_file_name(params)
    label = quarter_label(params.period(period))
    check_writable(outputs / params.client.id)
    ensure_demo_exports(params)
    for src in (params.sources.tickets, params.sources.changes, params.sources.surveys):
        for path in src.files if src is not None else ():
            if not path.is_file():
                raise DataError(f"export {path} does not exist: put the client's export there "
                                f"or fix its path in {params_file}")
    jobs = plan(params, params_file, label, _as_of(params, label), outputs, notebooks_dir,
                notebooks, services, data_key=cache_key(params))
    if not jobs:
        reasons = [f"{n}: {NOTEBOOKS[n].skip_reason(params)}" for n in (notebooks or NOTEBOOKS)
                   if n in NOTEBOOKS and NOTEBOOKS[n].skip_reason(params)]
        raise NotebookError(f"no report applies to {params.client.id} {label}"
                            + (f" ({'; '.join(reasons)})" if reasons else "")
                            + f": set what is missing in {params_file} or choose other notebooks")
    cp = ClientPlan(params=params, params_file=params_file, label=label, jobs=jobs,
                    outputs=outputs.resolve())
    if lock:
        cp.lock = _lock(cp.client_dir / "_work" / f"{label}.lock")
    try:
        _find_reuse(cp, options)
    except BaseException:
        cp.release()
        raise
    return cp


def plan_clients(params_files: Sequence[Path], period: str | None, **kwargs: object
                 ) -> list[ClientPlan]:
    """Plan several clients (see :func:`plan_client`), refusing two params files with
    the same ``client.id``: they would publish into one client's folder."""
    files = check_unique_clients(params_files)
    plans: list[ClientPlan] = []
    try:
        for path in files:
            plans.append(plan_client(path, period, **kwargs))  # type: ignore[arg-type]
    except BaseException:
        for cp in plans:
            cp.release()
        raise
    return plans


def _find_reuse(cp: ClientPlan, options: RunOptions) -> None:
    """Record in ``cp.reuse`` the jobs earlier runs already did with the same inputs."""
    jobs, label = cp.jobs, cp.label
    if options.force:
        return
    # Resume from this period's unfinished work first, then reuse the latest revision.
    sources = [cp.work, *revisions(cp.client_dir, label)[::-1]]
    for folder in sources:
        records = _records(folder) if folder.is_dir() else {}
        for job in jobs:
            rec = records.get(job.key)
            if job.key not in cp.reuse and rec and _usable(folder, job, rec):
                cp.reuse[job.key] = (folder, rec)
    if options.retry_failed:
        failed = {r["key"] for r in _records(cp.work).values() if not r.get("ok")}
        if not failed:
            raise PublishError(f"no failed run of {cp.client} {label} to retry in {cp.work}: "
                               "run without --retry-failed")
        stale = [j.name for j in cp.to_run if j.key not in failed]
        if stale:
            raise PublishError(f"inputs changed since the failed run for {stale}: run without "
                               "--retry-failed to rerun everything that changed")


def _lock(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise PublishError(f"another run holds {path}: wait for it to finish") from None
    return fh


def _write_record(work: Path, result: JobResult) -> None:
    jobs_dir = work / ".jobs"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    tmp = jobs_dir / f".{result.job.record}.tmp"
    tmp.write_text(json.dumps(result.to_json()))
    tmp.replace(jobs_dir / result.job.record)  # a record exists only once complete


def _prepare_work(cp: ClientPlan) -> list[JobResult]:
    """Bring reused jobs' files into the work folder; return their results."""
    cp.work.mkdir(parents=True, exist_ok=True)
    # Drop what an interrupted earlier run left for jobs whose inputs have changed.
    keys = {j.key for j in cp.jobs}
    for rec_file in (cp.work / ".jobs").glob("*.json"):
        try:
            rec = json.loads(rec_file.read_text())
        except ValueError:
            rec = {"key": None, "files": []}
        if rec.get("key") not in keys:
            folder = cp.work / rec_file.name.split(".", 1)[0].replace("_client", "")
            for name in rec.get("files", []):
                (folder / name).unlink(missing_ok=True)
            rec_file.unlink()
    reused = []
    for job in cp.jobs:
        if job.key not in cp.reuse:
            continue
        folder, rec = cp.reuse[job.key]
        if folder != cp.work:
            (cp.work / job.folder).mkdir(parents=True, exist_ok=True)
            for name in rec["files"]:
                shutil.copy2(folder / job.folder / name, cp.work / job.folder / name)
        result = JobResult(job, True, 0.0, files=tuple(rec["files"]), reused=True,
                           hashes=dict(rec.get("hashes", {})))
        _write_record(cp.work, result)
        reused.append(result)
    return reused


# Tables of the whole period, written before any job runs: reports that read other
# reports' outputs (the pack) read them too.
# ``exclusions.csv``: rows excluded at ingest per rule, table and service, with those
# over quality.max_excluded_share (accepted, or the run would have stopped) marked.
SHARED_TABLES = ("kpis.csv", "data_quality.csv", "exclusions.csv")


def _excluded_words(tables: Ingested) -> str:
    """The run's line on rows left out at ingest: lost ones apart from out-of-scope ones."""
    from csi_lib.quality import excluded_rows

    lost, outside = excluded_rows(tables.excluded)
    words = f"{lost:,} export rows excluded at ingest"
    if outside:
        words += f", {outside:,} out of scope (matching no service reported on)"
    return words


def _write_shared_tables(cp: ClientPlan, tables: Ingested, kpis: pd.DataFrame) -> None:
    from csi_lib.display import write_csv
    from csi_lib.quality import exclusion_table, publishable, quality_table

    quarter = cp.params.period(cp.label)
    kpis.to_csv(cp.work / "kpis.csv", index=False)
    quality_table(tables, cp.params, quarter).to_csv(cp.work / "data_quality.csv", index=False)
    # Rules and fixes quote export labels: written so a spreadsheet runs none as a formula.
    write_csv(publishable(exclusion_table(tables, cp.params)), cp.work / "exclusions.csv")


def _finish(cp: ClientPlan, summary: RunSummary, started: dt.datetime,
            options: RunOptions) -> None:
    """Write the period's index and manifest; publish it if every job succeeded."""
    order = {j.key: i for i, j in enumerate(cp.jobs)}
    summary.results.sort(key=lambda r: order[r.job.key])
    params = cp.params
    status = write_status(cp.work, params, cp.label)
    write_index(cp.work, params, cp.label, summary.results, status)
    s = params.sources
    inputs = [cp.params_file] + [f for x in (s.tickets, s.changes, s.surveys) if x
                                 for f in x.files]
    for name in dict.fromkeys(j.notebook for j in cp.jobs):
        inputs += NOTEBOOKS[name].input_files(params, cp.label)
    write_manifest(cp.work, params, cp.label, summary.results, started=started,
                   inputs={str(p): file_sha256(p) for p in inputs},
                   notebooks={j.notebook: file_sha256(Path(j.source)) for j in cp.jobs})
    if summary.failed:
        summary.kept = cp.work
        return
    # Publish only what every job said it wrote: a file that went missing (a job
    # folder moved away by another run, a worker that wrote to its own disk) or
    # changed since stops the period here.
    problems = output_problems(cp.work, [r.to_json() for r in summary.results])
    if problems:
        summary.error = (f"not published: {len(problems)} expected output(s) missing or "
                         f"changed in {cp.work}:\n    " + "\n    ".join(problems)
                         + "\n  run the same command again to redo the jobs that wrote them")
        summary.kept = cp.work
        return
    shutil.rmtree(cp.work / ".jobs", ignore_errors=True)
    shutil.rmtree(cp.work / ".extra", ignore_errors=True)
    summary.published = _publish(cp.work, cp.client_dir, cp.label, supersede=options.supersede)
    write_overviews(cp.client_dir.parent)


def _publish(folder: Path, client_dir: Path, label: str, *, supersede: bool) -> Path:
    """Move a complete work folder into place with one rename."""
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


# Imported once by the fork server, so each worker starts with them loaded.
WORKER_PRELOAD = ["csi_lib.runner.worker", "csi_lib.render", "pandas", "papermill",
                  "jupyter_client", "nbformat"]


def default_executor(jobs: int | None) -> cf.Executor:
    """A pool of worker processes, one per core unless told otherwise.

    Workers fork from a clean server process rather than from this one, which may
    hold threads (Typst's, a caller's) that a forked child would inherit half-dead.
    """
    workers = jobs or os.cpu_count() or 1
    if sys.platform == "linux":
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_PRELOAD)
    else:
        ctx = multiprocessing.get_context("spawn")
    # Each worker follows this process: it ends, killing its kernel, when we do.
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                  initializer=follow_runner, initargs=(os.getpid(),))


def run_clients(plans: Sequence[ClientPlan], *, options: RunOptions = RunOptions(),
                executor: cf.Executor | None = None, jobs: int | None = None,
                log: Log = print, progress: Progress | None = None) -> list[RunSummary]:
    """Run planned clients' jobs on ``executor`` (default: a process pool) and publish."""
    summaries = {cp.client: RunSummary(cp.client, cp.label) for cp in plans}
    progress = progress or Progress(0)
    pending: dict[cf.Future, tuple[ClientPlan, Job]] = {}
    remaining: dict[str, int] = {}
    gates: dict[str, Gate] = {}
    started = dt.datetime.now(dt.UTC)
    with ExitStack() as stack:
        for cp in plans:
            stack.callback(cp.release)
        if executor is None:
            executor = stack.enter_context(default_executor(jobs))

        def submit(cp: ClientPlan, job: Job) -> cf.Future:
            return executor.submit(run_job, job, str(cp.work), options.cell_timeout,
                                   options.notebook_timeout, options.warm)

        try:
            for cp in plans:
                summary = summaries[cp.client]
                if cp.up_to_date:
                    summary.up_to_date = True
                    summary.results = [JobResult(j, True, 0.0, files=tuple(cp.reuse[j.key][1]["files"]),
                                                 reused=True) for j in cp.jobs]
                    continue
                try:
                    if cp.lock is None:
                        cp.lock = _lock(cp.client_dir / "_work" / f"{cp.label}.lock")
                    # Ingest once; --force rebuilds the caches too.
                    tables = load_tables(cp.params, cp.client_dir.parent, rebuild=options.force)
                    kpis = load_kpis(cp.params, cp.params.period(cp.label), cp.client_dir.parent,
                                     tables, rebuild=options.force)
                    summary.results = _prepare_work(cp)
                    _write_shared_tables(cp, tables, kpis)
                except CsiError as exc:
                    summary.error = str(exc)
                    continue
                todo = cp.to_run
                progress.add(len(cp.jobs))
                for _ in summary.results:
                    progress.finished(True, reused=True)
                log(f"{cp.client} {cp.label}: {len(todo)} to run, {len(cp.jobs) - len(todo)} "
                    f"unchanged; {_excluded_words(tables)}")
                remaining[cp.client] = len(todo)
                gates[cp.client] = Gate(todo, summary.results, shared=SHARED_TABLES)
                for job in gates[cp.client].ready():
                    pending[submit(cp, job)] = (cp, job)
                if not todo:
                    _finish(cp, summary, started, options)
            running_names = lambda: [pending[f][1].name for f in pending if f.running()]
            while pending:
                done, _ = cf.wait(list(pending), timeout=0.5, return_when=cf.FIRST_COMPLETED)
                lost: ClusterError | None = None
                for future in done:
                    cp, job = pending.pop(future)
                    try:
                        result = future.result()
                    except ClusterError as exc:  # the cluster, not this job: the run stops
                        lost = lost or exc
                        continue
                    except Exception as exc:  # noqa: BLE001 - a dead worker fails its job only
                        result = JobResult(job, False, 0.0, f"worker failed: {exc!r}")
                    gate = gates[cp.client]
                    for res in (result, *gate.finish(result)):
                        _write_record(cp.work, res)
                        summaries[cp.client].results.append(res)
                        progress.finished(res.ok)
                        remaining[cp.client] -= 1
                    for ready in gate.ready() if lost is None else ():
                        pending[submit(cp, ready)] = (cp, ready)
                    if remaining[cp.client] == 0:
                        try:
                            _finish(cp, summaries[cp.client], started, options)
                        except CsiError as exc:
                            summaries[cp.client].error = str(exc)
                if lost is not None:
                    # Record every job that finished before the loss, cancel the rest.
                    for future, (cp, _) in list(pending.items()):
                        if future.done() and not future.cancelled() and future.exception() is None:
                            _write_record(cp.work, future.result())
                        future.cancel()
                    progress.close()
                    raise lost
                progress.show(running_names())
        except KeyboardInterrupt as exc:
            # Ctrl-C or SIGTERM: cancel what is queued, stop the workers (and so their
            # kernels), and keep the records of what finished for the next run.
            stop_workers(executor, pending)
            for future, (cp, _job) in pending.items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    _write_record(cp.work, future.result())
                    summaries[cp.client].results.append(future.result())
            progress.close()
            done = sum(not r.not_run for s in summaries.values() for r in s.results)
            total = sum(len(cp.jobs) for cp in plans)
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            raise Interrupted(signum, done, total - done) from None
        progress.close()
    return [summaries[cp.client] for cp in plans]
