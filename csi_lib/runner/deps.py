"""Job dependencies: hold a job back until the jobs whose outputs it reads have succeeded.

The gate sits in the runner's submit loop, not in the executor, so the local process
pool and a Dask cluster honour the same order: a job is submitted only when it can
run. A job whose dependency failed (or was itself not run) is never submitted; its
result says which dependency stopped it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from csi_lib.reports import NOTEBOOKS, Job, JobResult

__all__ = ["Gate", "outputs_of"]


def outputs_of(result: JobResult) -> tuple[str, ...]:
    """A finished job's files, relative to the period's work folder."""
    prefix = f"{result.job.folder}/" if result.job.folder else ""
    return tuple(prefix + f for f in result.files)


class Gate:
    """The jobs of one client's period still waiting for the jobs they depend on."""

    def __init__(self, jobs: Sequence[Job], finished: Iterable[JobResult] = (),
                 shared: Sequence[str] = ()) -> None:
        """``jobs`` to run; ``finished`` results already known (reused jobs); ``shared``
        files every dependent job reads besides its dependencies' outputs (``kpis.csv``)."""
        self._waiting = list(jobs)
        self._results: dict[str, JobResult] = {}
        self._shared = tuple(shared)
        planned = {j.name for j in jobs} | {r.job.name for r in finished}
        for job in jobs:
            unknown = sorted(set(job.depends_on) - planned)
            if unknown:
                raise ValueError(f"{job.name} depends on {unknown}, which are not planned")
        for result in finished:
            self._results[result.job.name] = result

    @property
    def waiting(self) -> list[Job]:
        return list(self._waiting)

    def ready(self) -> list[Job]:
        """Jobs whose dependencies all succeeded, with their ``inputs`` filled (the
        dependencies' outputs the notebook reads, ``NotebookSpec.reads``); they leave
        the gate."""
        out, keep = [], []
        for job in self._waiting:
            deps = [self._results.get(d) for d in job.depends_on]
            if all(r is not None and r.ok for r in deps):
                spec = NOTEBOOKS.get(job.notebook)
                files = [f for r in deps if r is not None for f in outputs_of(r)
                         if spec is None or spec.reads_file(f)]
                inputs = (*self._shared, *files) if job.depends_on else ()
                out.append(dataclasses.replace(job, inputs=tuple(dict.fromkeys(inputs))))
            else:
                keep.append(job)
        self._waiting = keep
        return out

    def finish(self, result: JobResult) -> list[JobResult]:
        """Record a finished job; return the 'not run' results of every waiting job that
        can no longer run because of it (directly or through another such job)."""
        self._results[result.job.name] = result
        stopped: list[JobResult] = []
        changed = not result.ok
        while changed:
            changed = False
            for job in list(self._waiting):
                bad = [d for d in job.depends_on
                       if d in self._results and not self._results[d].ok]
                if bad:
                    first = self._results[bad[0]]
                    why = "was not run" if first.not_run else "failed"
                    res = JobResult(job, False, 0.0,
                                    f"not run: {bad[0]}, whose outputs it reads, {why}",
                                    not_run=True)
                    self._waiting.remove(job)
                    self._results[job.name] = res
                    stopped.append(res)
                    changed = True
        return stopped
