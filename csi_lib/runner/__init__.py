"""The runner: plan, ingest once, execute notebooks on a pool of workers, render, publish."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Sequence
from pathlib import Path

from csi_lib.runner.core import (
    ClientPlan,
    RunOptions,
    RunSummary,
    plan_client,
    plan_clients,
    run_clients,
)
from csi_lib.runner.jobs import (
    NOTEBOOKS,
    Job,
    JobResult,
    NotebookSpec,
    check_notebook,
    plan,
)
from csi_lib.runner.progress import Progress

__all__ = [
    "NOTEBOOKS",
    "ClientPlan",
    "Job",
    "JobResult",
    "NotebookSpec",
    "Progress",
    "RunOptions",
    "RunSummary",
    "check_notebook",
    "plan",
    "plan_client",
    "plan_clients",
    "run_client",
    "run_clients",
]


def run_client(params_file: Path | str, period: str | None = None, *, outputs: Path | str,
               notebooks_dir: Path | str, notebooks: Sequence[str] | None = None,
               services: Sequence[str] | None = None, jobs: int | None = None,
               executor: cf.Executor | None = None, log=print, **options: object) -> RunSummary:
    """Run every report of one client for one period and publish it (see RunOptions)."""
    opts = RunOptions(**options)  # type: ignore[arg-type]
    cp = plan_client(Path(params_file), period, outputs=Path(outputs),
                     notebooks_dir=Path(notebooks_dir), notebooks=notebooks, services=services,
                     options=opts)
    return run_clients([cp], options=opts, executor=executor, jobs=jobs, log=log)[0]
