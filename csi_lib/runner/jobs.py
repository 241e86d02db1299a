"""Jobs: which notebook runs for which service, and what its result depends on."""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import nbformat
import papermill

from csi_lib.errors import NotebookError
from csi_lib.params import Params

__all__ = [
    "NOTEBOOKS",
    "REQUIRED_PARAMETERS",
    "Job",
    "JobResult",
    "NotebookSpec",
    "check_notebook",
    "code_version",
    "plan",
]


@dataclass(frozen=True)
class NotebookSpec:
    """A report notebook: its title, whether it runs per service or once per client, and
    the inputs it reads beyond the exports (``"module:function"``, called with the params
    and the period label, returning files), which key its results and the manifest."""

    name: str
    title: str
    scope: Literal["service", "client"]
    inputs: str | None = None
    prepare: str | None = None  # "module:function" writing generated (demo) inputs
    requires: str | None = None  # params setting without which the notebook does not apply

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
                     requires="prioritisation.register_file"),
        NotebookSpec("maturity", "Maturity assessment", "client",
                     inputs="csi_lib.maturity:input_files",
                     prepare="csi_lib.maturity:ensure_demo_questionnaires",
                     requires="maturity.questionnaires"),
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
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"name": self.job.name, "key": self.job.key, "ok": self.ok,
                "seconds": round(self.seconds, 3), "error": self.error,
                "files": list(self.files), "reused": self.reused,
                "timings": {k: round(v, 3) for k, v in self.timings.items()}}


@cache
def _declared(path: str, mtime_ns: int) -> frozenset[str]:  # noqa: ARG001 - cache key
    return frozenset(papermill.inspect_notebook(path))


def declared_parameters(path: Path) -> frozenset[str]:
    """Names declared in the notebook's ``parameters`` cell."""
    return _declared(str(path), path.stat().st_mtime_ns)


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
    declared = declared_parameters(path)
    missing = sorted(set(given) - declared)
    if missing:
        raise NotebookError(
            f"{path} does not declare parameter(s) {missing} in its parameters cell "
            f"(it declares {sorted(declared)}): add them there with a default value")


@cache
def code_version() -> str:
    """Hash of the csi_lib sources and templates: a code change invalidates earlier results."""
    import csi_lib

    root = Path(csi_lib.__file__).resolve().parent
    digest = hashlib.sha256()
    files = sorted(root.rglob("*.py"))
    templates = root.parent / "templates"
    if templates.is_dir():
        files += sorted(p for p in templates.rglob("*") if p.is_file())
    for p in files:
        digest.update(str(p.relative_to(root.parent)).encode())
        digest.update(p.read_bytes())
    return digest.hexdigest()[:16]


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan(params: Params, params_file: Path, period: str, as_of: str, outputs: Path,
         notebooks_dir: Path, notebooks: Sequence[str] | None = None,
         services: Sequence[str] | None = None, data_key: str = "") -> list[Job]:
    """The jobs of one client and period: per-service notebooks for each service,
    per-client notebooks once, in the registry's order; each checked and keyed."""
    notebooks = list(notebooks or NOTEBOOKS)
    unknown = sorted(set(notebooks) - set(NOTEBOOKS))
    if unknown:
        raise NotebookError(f"unknown notebook(s) {unknown}; known: {', '.join(NOTEBOOKS)}")
    chosen = [params.service(s) for s in services] if services else list(params.services)
    common = {"params_file": str(params_file.resolve()), "period": period,
              "outputs": str(outputs.resolve())}
    base = {"data": data_key, "params": _file_hash(params_file), "code": code_version()}
    jobs = []
    for spec in NOTEBOOKS.values():
        if spec.name not in notebooks or spec.skip_reason(params):
            continue
        source = notebooks_dir / f"{spec.name}.ipynb"
        check_notebook(source, REQUIRED_PARAMETERS[spec.scope])
        wants_dir = "report_dir" in declared_parameters(source)
        nb_hash = _file_hash(source)
        extra = {str(p): _file_hash(p) for p in spec.input_files(params, period)}
        targets = [None] if spec.scope == "client" else chosen
        for svc in targets:
            parameters = dict(common) if svc is None else {**common, "service": svc.id}
            key = hashlib.sha256(json.dumps(
                {**base, "notebook": nb_hash, "inputs": extra, "parameters": parameters},
                sort_keys=True).encode()).hexdigest()[:24]
            jobs.append(Job(
                client=params.client.id, notebook=spec.name, parameters=parameters,
                source=str(source.resolve()), cwd=str(notebooks_dir.resolve()),
                title=spec.title, client_name=params.client.name, period=period, as_of=as_of,
                key=key, service=None if svc is None else svc.id,
                service_name=None if svc is None else svc.name, wants_report_dir=wants_dir))
    return jobs
