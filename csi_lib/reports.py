"""The report registry: each notebook's title and scope, and the jobs that run them.

The runner plans and executes jobs; publishing reads what became of them. Both meet
here, below them, so neither imports the other.
"""

from __future__ import annotations

import fnmatch
import importlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from csi_lib.errors import NotebookError

if TYPE_CHECKING:
    from pathlib import Path

    from csi_lib.params import Params

__all__ = ["INPUTS_PARAMETER", "NOTEBOOKS", "REQUIRED_PARAMETERS", "Job", "JobResult",
           "NotebookSpec", "run_order", "with_dependencies"]


@dataclass(frozen=True)
class NotebookSpec:
    """A report notebook: its title, whether it runs per service or once per client, and
    the inputs it reads beyond the exports (``"module:function"``, called with the params
    and the period label, returning files), which key its results and the manifest.

    ``after`` names the reports whose published outputs this one reads: it runs once
    they have succeeded in the same run, and its notebook declares ``inputs_dir``.
    ``reads`` narrows those outputs to the file names matching its patterns (``*.csv``):
    only they travel to a cluster worker. Empty: every output of the reports after."""

    name: str
    title: str
    scope: Literal["service", "client"]
    inputs: str | None = None
    prepare: str | None = None  # "module:function" writing generated (demo) inputs
    requires: str | None = None  # params setting without which the notebook does not apply
    after: tuple[str, ...] = ()
    check: str | None = None  # "module:function" reading those inputs, raising CsiError
    # "module:function" listing files of earlier published periods the notebook reads,
    # called with the params, the period label and the outputs folder.
    published: str | None = None
    reads: tuple[str, ...] = ()

    def reads_file(self, name: str) -> bool:
        """Whether the notebook reads ``name``, an output of a report it runs after."""
        base = posixpath.basename(name)
        return not self.reads or any(fnmatch.fnmatch(base, p) for p in self.reads)

    def skip_reason(self, params: Params) -> str | None:
        """Why this notebook does not apply to a client (its input is not configured)."""
        if self.requires is None:
            return None
        value: Any = params
        for part in self.requires.split("."):
            value = getattr(value, part)
        return None if value else f"{self.requires} is not set in the params"

    def input_files(self, params: Params, period: str) -> list[Path]:
        """Files the notebook reads besides the exports and params (after preparing them)."""
        if self.prepare:
            _resolve(self.prepare)(params)
        return list(_resolve(self.inputs)(params, period)) if self.inputs else []

    def check_inputs(self, params: Params, period: str | None) -> None:
        """Read the notebook's own inputs (register, model, questionnaires) the way it
        will, so a file that cannot be read stops the plan, not the notebook."""
        if self.check and not self.skip_reason(params):
            _resolve(self.check)(params, period)

    def published_files(self, params: Params, period: str, outputs: Path) -> list[Path]:
        """Files of earlier published periods the notebook reads (e.g. last quarter's log)."""
        return list(_resolve(self.published)(params, period, outputs)) if self.published else []


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


# In run order. A notebook may also declare `report_dir` to write extra files
# (workbooks) beside its report; it is passed only where declared.
NOTEBOOKS: dict[str, NotebookSpec] = {
    spec.name: spec for spec in (
        NotebookSpec("baseline", "Service baseline", "service"),
        NotebookSpec("gap_analysis", "Gap analysis", "service"),
        NotebookSpec("prioritisation", "Prioritisation", "client",
                     inputs="csi_lib.prioritise:input_files",
                     prepare="csi_lib.prioritise:ensure_demo_register",
                     requires="prioritisation.register_file",
                     check="csi_lib.register.reader:check_register",
                     published="csi_lib.prioritise:published_inputs"),
        NotebookSpec("maturity", "Maturity assessment", "client",
                     inputs="csi_lib.maturity:input_files",
                     prepare="csi_lib.maturity:ensure_demo_questionnaires",
                     requires="maturity.questionnaires",
                     check="csi_lib.maturity.assessment:check_inputs"),
        NotebookSpec("benefits", "Benefit review", "client",
                     inputs="csi_lib.benefits:input_files",
                     prepare="csi_lib.register.demo:ensure_demo_register",
                     requires="prioritisation.register_file",
                     check="csi_lib.register.reader:check_register"),
        # The pack reads the tables the other reports publish, so it runs after them;
        # it reads none of their rendered reports.
        NotebookSpec("pack", "Quarterly pack", "client",
                     after=("baseline", "gap_analysis", "prioritisation", "maturity",
                            "benefits"), reads=("*.csv",)),
    )
}
REQUIRED_PARAMETERS = {"service": ("params_file", "period", "service", "outputs"),
                       "client": ("params_file", "period", "outputs")}
# The folder holding the outputs of a report's dependencies (``NotebookSpec.after``).
INPUTS_PARAMETER = "inputs_dir"


def run_order() -> list[NotebookSpec]:
    """The registry's reports, each after the reports it reads (``after``), otherwise in
    registry order; names in ``after`` that are not registered are ignored."""
    placed: dict[str, NotebookSpec] = {}
    while len(placed) < len(NOTEBOOKS):
        ready = [s for s in NOTEBOOKS.values() if s.name not in placed
                 and all(a in placed or a not in NOTEBOOKS for a in s.after)]
        if not ready:
            stuck = sorted(set(NOTEBOOKS) - set(placed))
            raise NotebookError(f"the reports {stuck} wait for each other (NotebookSpec.after "
                                "in csi_lib/reports.py): break the cycle")
        placed[ready[0].name] = ready[0]
    return list(placed.values())


def with_dependencies(names: list[str] | tuple[str, ...]) -> list[str]:
    """``names`` and every report they need (``after``, transitively), in registry order."""
    wanted: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo.extend(NOTEBOOKS[name].after if name in NOTEBOOKS else ())
    return [s.name for s in run_order() if s.name in wanted] + sorted(wanted - set(NOTEBOOKS))


@dataclass(frozen=True)
class Job:
    """One notebook to execute for one service (or the whole client) of one client."""

    client: str
    notebook: str
    parameters: dict[str, str]
    source: str            # notebook path
    cwd: str               # folder the notebook runs in (relative paths resolve there)
    title: str
    client_name: str
    period: str
    as_of: str
    key: str = ""          # hash of everything the job's outputs depend on
    service: str | None = None
    service_name: str | None = None
    wants_report_dir: bool = False
    # Names of the jobs whose outputs this one reads; it runs only once they succeeded.
    depends_on: tuple[str, ...] = ()
    # The files it reads from them, relative to the period's work folder; filled by the
    # runner when they finish. The notebook receives the folder holding them as
    # INPUTS_PARAMETER: the work folder when run locally, a copy of these files where
    # workers share no disk.
    inputs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return "/".join(p for p in (self.client, self.service, self.notebook) if p)

    @property
    def folder(self) -> str:
        """Folder of the job's files inside the period folder ('' for client reports)."""
        return self.service or ""

    @property
    def record(self) -> str:
        """File name of the job's completion record in a work folder."""
        return f"{self.service or '_client'}.{self.notebook}.json"


@dataclass(frozen=True)
class JobResult:
    """What became of one job."""

    job: Job
    ok: bool
    seconds: float
    error: str = ""
    files: tuple[str, ...] = ()
    reused: bool = False
    not_run: bool = False  # a job it depends on failed, so it was never started
    timings: dict[str, float] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # file -> SHA-256 when written
    note: str = ""         # what the reader should know beyond ok/failed (a retry)
    worker: str = ""       # the cluster worker that ran the job ('' for a local run)
    traffic: dict[str, int] = field(default_factory=dict)  # bytes sent and received

    def to_json(self) -> dict[str, object]:
        """The job's record: in a work folder's ``.jobs/`` and a manifest's ``jobs``.

        ``files`` (in ``folder``) with their ``hashes`` are the job's expected outputs:
        publishing and ``csi verify`` check each one is there with these bytes.
        """
        record = {"name": self.job.name, "key": self.job.key, "ok": self.ok,
                  "seconds": round(self.seconds, 3), "error": self.error,
                  "folder": self.job.folder, "files": list(self.files),
                  "hashes": dict(self.hashes), "reused": self.reused, "not_run": self.not_run,
                  "timings": {k: round(v, 3) for k, v in self.timings.items()}}
        extra = {"note": self.note, "worker": self.worker, "traffic": self.traffic}
        return record | {k: v for k, v in extra.items() if v}


