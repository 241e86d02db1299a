"""Jobs: which notebook runs for which service, and what its result depends on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import nbformat
import papermill

from csi_lib.errors import NotebookError
from csi_lib.params import Params
from csi_lib.reports import (
    INPUTS_PARAMETER,
    NOTEBOOKS,
    REQUIRED_PARAMETERS,
    Job,
    JobResult,
    NotebookSpec,
    run_order,
    with_dependencies,
)
from csi_lib.version import code_version

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


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plan(params: Params, params_file: Path, period: str, as_of: str, outputs: Path,
         notebooks_dir: Path, notebooks: Sequence[str] | None = None,
         services: Sequence[str] | None = None, data_key: str = "") -> list[Job]:
    """The jobs of one client and period: per-service notebooks for each service,
    per-client notebooks once, in the registry's order; each checked and keyed.

    A chosen report brings the reports it reads (``NotebookSpec.after``) into the plan.
    A job that depends on others is keyed by their keys too, so it reruns whenever
    what it reads may have changed."""
    notebooks = list(notebooks or NOTEBOOKS)
    unknown = sorted(set(notebooks) - set(NOTEBOOKS))
    if unknown:
        raise NotebookError(f"unknown notebook(s) {unknown}; known: {', '.join(NOTEBOOKS)}")
    notebooks = with_dependencies(notebooks)
    chosen = [params.service(s) for s in services] if services else list(params.services)
    common = {"params_file": str(params_file.resolve()), "period": period,
              "outputs": str(outputs.resolve())}
    base = {"data": data_key, "params": _file_hash(params_file), "code": code_version()}
    jobs = []
    for spec in run_order():
        if spec.name not in notebooks or spec.skip_reason(params):
            continue
        source = notebooks_dir / f"{spec.name}.ipynb"
        required = REQUIRED_PARAMETERS[spec.scope] + ((INPUTS_PARAMETER,) if spec.after else ())
        check_notebook(source, required)
        wants_dir = "report_dir" in declared_parameters(source)
        nb_hash = _file_hash(source)
        files = spec.input_files(params, period)  # after writing the demo's generated ones
        spec.check_inputs(params, period)
        extra = {str(p): _file_hash(p) for p in files}
        targets = [None] if spec.scope == "client" else chosen
        for svc in targets:
            parameters = dict(common) if svc is None else {**common, "service": svc.id}
            deps = [j for j in jobs if j.notebook in spec.after
                    and (svc is None or j.service in (None, svc.id))]
            key = hashlib.sha256(json.dumps(
                {**base, "notebook": nb_hash, "inputs": extra, "parameters": parameters,
                 **({"after": sorted(j.key for j in deps)} if deps else {})},
                sort_keys=True).encode()).hexdigest()[:24]
            jobs.append(Job(
                client=params.client.id, notebook=spec.name, parameters=parameters,
                source=str(source.resolve()), cwd=str(notebooks_dir.resolve()),
                title=spec.title, client_name=params.client.name, period=period, as_of=as_of,
                key=key, service=None if svc is None else svc.id,
                service_name=None if svc is None else svc.name, wants_report_dir=wants_dir,
                depends_on=tuple(j.name for j in deps)))
    return jobs
