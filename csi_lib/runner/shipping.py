"""Jobs as data: what a cluster worker needs to run a job, and what it sends back.

A worker shares nothing with the machine that plans the run but the scheduler.
A job travels as its notebook's content, the client's params, the files the
notebook reads (register, questionnaires, earlier periods' files, earlier jobs'
outputs) and, once per client and period, the ingested tables, pseudonymised on
the planning machine. The worker mirrors the planning machine's paths under a
private temporary folder (``/work/x`` becomes ``<private>/work/x``), runs the job
there and returns its outputs as bytes with their SHA-256; the planning machine
writes them into its work folder and checks each hash. Raw exports and the
pseudonym key never leave the planning machine.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import yaml

from csi_lib.data import kpis_path, pin_tables, tables_dir
from csi_lib.errors import ClusterSetupError, DataError
from csi_lib.params import Params
from csi_lib.reports import NOTEBOOKS, Job, JobResult
from csi_lib.runner.worker import run_job, stop_kernel
from csi_lib.version import environment

__all__ = [
    "Payload",
    "Shipped",
    "Tables",
    "environment_difference",
    "mirror",
    "pack_job",
    "pack_tables",
    "release_kernel",
    "run_payload",
    "unpack",
    "worker_params",
]

# Tables materialised on this worker process, by digest (the latest few runs' clients).
_TABLES: OrderedDict[str, Path] = OrderedDict()
_KEEP_TABLES = 8
# One job at a time per worker process: its warm kernel is the process's.
_RUN_LOCK = threading.Lock()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Tables:
    """A client's cached tables (and KPI table), relative to ``<outputs>/<client>/.cache/``."""

    client: str
    key: str
    files: dict[str, bytes]
    digest: str

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())


def pack_tables(params: Params, outputs: Path, period: str) -> Tables:
    """The client's ingested tables as the planning machine cached them (ingest ran first)."""
    folder = tables_dir(params, outputs)
    if not (folder / "done").is_file():
        raise DataError(f"{folder} holds no complete tables: ingest {params.client.id} "
                        "before shipping its jobs")
    files = {f"{folder.name}/{p.name}": p.read_bytes()
             for p in sorted(folder.iterdir()) if p.is_file()}
    kpis = kpis_path(params, params.period(period), outputs)
    if kpis.is_file():
        files[f"kpis/{kpis.name}"] = kpis.read_bytes()
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + _sha256(data).encode())
    return Tables(params.client.id, folder.name, files, digest.hexdigest())


@dataclass(frozen=True)
class Payload:
    """One job as data: everything its notebook reads, by the planning machine's paths."""

    job: Job
    work: str                      # the planning machine's work folder of the period
    params: Params
    files: dict[str, bytes]        # absolute path on the planning machine -> content
    cell_timeout: int = 600
    notebook_timeout: int = 1800
    warm: bool = True
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())


def pack_job(job: Job, work: str, params: Params, *, cell_timeout: int = 600,
             notebook_timeout: int = 1800, warm: bool = True) -> Payload:
    """The payload of ``job``: its notebook and every file it reads besides the tables."""
    spec = NOTEBOOKS[job.notebook]
    outputs = Path(job.parameters["outputs"])
    paths = [Path(job.source), *spec.input_files(params, job.period),
             *spec.published_files(params, job.period, outputs),
             *(Path(work) / rel for rel in job.inputs)]
    files = {}
    for path in dict.fromkeys(p.resolve() for p in paths):
        if path.is_file():  # an absent earlier output fails the notebook, which names it
            files[str(path)] = path.read_bytes()
    return Payload(job, work, params, files, cell_timeout, notebook_timeout, warm,
                   environment())


@dataclass(frozen=True)
class Shipped:
    """What a worker sends back: the job's result and its files with their SHA-256."""

    result: JobResult
    files: dict[str, bytes]        # file name in the job's folder -> content
    hashes: dict[str, str]


def mirror(root: Path, path: str | PurePath) -> Path:
    """``path`` of the planning machine under a worker's private folder ``root``."""
    p = Path(path)
    return root / p.relative_to(p.anchor)


def _mirrored(python: Any, data: Any, root: Path) -> Any:
    """``data`` (a JSON dump) with every path of ``python`` (the same dump, Python
    objects) replaced by its mirror under ``root``."""
    if isinstance(python, PurePath):
        return str(mirror(root, python))
    if isinstance(python, dict):
        return {k: _mirrored(python[k], v, root) for k, v in data.items()}
    if isinstance(python, list | tuple):
        return [_mirrored(p, d, root) for p, d in zip(python, data, strict=True)]
    return data


def worker_params(params: Params, root: Path) -> str:
    """The params as YAML for a worker: paths mirrored under ``root`` and no ``demo``
    section, so nothing on the worker generates demo inputs of its own."""
    exclude = {"source_file", "demo"}
    data = _mirrored(params.model_dump(mode="python", exclude=exclude),
                     params.model_dump(mode="json", exclude=exclude), root)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def environment_difference(here: dict[str, str], there: dict[str, str]) -> str:
    """The entries where two environments differ, e.g. ``pandas 2.2.3 (here 2.3.1)``."""
    return ", ".join(f"{k} {there.get(k, 'missing')} (here {v})"
                     for k, v in sorted(here.items()) if there.get(k) != v)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"pid {os.getpid()}"


def _drop(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _materialise(tables: Tables) -> Path:
    """The tables as files on this worker, written once per process and checked."""
    folder = _TABLES.get(tables.digest)
    if folder is not None and folder.is_dir():
        _TABLES.move_to_end(tables.digest)
        return folder
    digest = hashlib.sha256()
    for name, data in tables.files.items():
        digest.update(name.encode() + b"\0" + _sha256(data).encode())
    if digest.hexdigest() != tables.digest:
        raise DataError(f"the tables of {tables.client} arrived damaged (hash mismatch)")
    folder = Path(tempfile.mkdtemp(prefix=f"csi-tables-{tables.client}-")).resolve()
    atexit.register(_drop, folder)
    for name, data in tables.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _TABLES[tables.digest] = folder
    while len(_TABLES) > _KEEP_TABLES:
        _drop(_TABLES.popitem(last=False)[1])
    return folder


def _place_tables(tables: Tables, outputs: Path) -> None:
    """Link the materialised tables into a job's private outputs folder and pin them."""
    source = _materialise(tables)
    cache = outputs / tables.client / ".cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / tables.key).symlink_to(source / tables.key, target_is_directory=True)
    if (source / "kpis").is_dir():
        (cache / "kpis").mkdir()
        for f in (source / "kpis").iterdir():
            (cache / "kpis" / f.name).symlink_to(f)
    pin_tables(outputs, tables.client, tables.key)


def run_payload(payload: Payload, tables: Tables) -> Shipped:
    """On a worker: run the job in a private folder and return its outputs as bytes.

    Refuses (:class:`ClusterSetupError`) when this worker's environment differs from
    the planning machine's, naming the worker and the difference.
    """
    address = _worker_address()
    diff = environment_difference(payload.environment, environment())
    if diff:
        raise ClusterSetupError(
            f"worker {address} runs a different environment: {diff}; install the same "
            "csi-kit version and locked dependencies there and restart the worker")
    job = payload.job
    with _RUN_LOCK:
        root = Path(tempfile.mkdtemp(prefix="csi-job-")).resolve()
        try:
            for path, data in payload.files.items():
                target = mirror(root, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            params_file = mirror(root, job.parameters["params_file"])
            params_file.parent.mkdir(parents=True, exist_ok=True)
            params_file.write_text(worker_params(payload.params, root), encoding="utf-8")
            _place_tables(tables, mirror(root, job.parameters["outputs"]))
            private = dataclasses.replace(
                job, source=str(mirror(root, job.source)), cwd=str(mirror(root, job.cwd)),
                parameters={k: str(mirror(root, v)) if Path(v).is_absolute() else v
                            for k, v in job.parameters.items()})
            Path(private.cwd).mkdir(parents=True, exist_ok=True)
            work = mirror(root, payload.work)
            result = run_job(private, str(work), payload.cell_timeout,
                             payload.notebook_timeout, payload.warm, private_root=str(root))
            folder = work / job.folder
            files = {name: (folder / name).read_bytes() for name in result.files
                     if (folder / name).is_file()}
        finally:
            shutil.rmtree(root, ignore_errors=True)
    received = sum(len(b) for b in files.values())
    result = dataclasses.replace(
        result, job=job, error=result.error.replace(str(root), ""), worker=address,
        traffic={"sent": payload.size, "received": received})
    return Shipped(result, files, {name: _sha256(data) for name, data in files.items()})


def unpack(shipped: Shipped, work: str | Path) -> JobResult:
    """Write a worker's outputs into the work folder, each checked against its hash."""
    result = shipped.result
    folder = Path(work) / result.job.folder
    folder.mkdir(parents=True, exist_ok=True)
    damaged = []
    for name, data in shipped.files.items():
        digest = _sha256(data)
        if Path(name).name != name or name.startswith(".") or \
                digest != shipped.hashes.get(name) or \
                result.hashes.get(name, digest) != digest:
            damaged.append(name)
            continue
        tmp = folder / f".{name}.part"
        tmp.write_bytes(data)
        tmp.replace(folder / name)
    missing = [f for f in result.files if f not in shipped.files]
    if not (damaged or missing):
        return result
    what = "; ".join(part for part in (
        f"arrived damaged (hash mismatch): {', '.join(damaged)}" if damaged else "",
        f"did not arrive: {', '.join(missing)}" if missing else "") if part)
    return dataclasses.replace(result, ok=False, error=f"outputs from {result.worker} {what}"
                               + (f"; {result.error}" if result.error else ""))


def release_kernel() -> bool:
    """Shut down this worker process's warm kernel unless a job is using it."""
    if not _RUN_LOCK.acquire(blocking=False):
        return False
    try:
        stop_kernel()
        return True
    finally:
        _RUN_LOCK.release()
