"""What a published period carries besides its reports: the manifest, and the checks
against it (its index pages are :mod:`csi_lib.pages`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from pathlib import Path

from csi_lib.data import file_sha256
from csi_lib.params import Params
from csi_lib.reports import JobResult
from csi_lib.version import PACKAGES, package_version

__all__ = [
    "REPORT_FILES",
    "next_revision",
    "output_problems",
    "read_manifest",
    "revisions",
    "verify",
    "write_manifest",
]


def next_revision(client_dir: Path, label: str) -> str:
    """The first free revision label after ``label``: ``2026Q3-r2``, ``2026Q3-r3``, ..."""
    taken = [1]
    for p in client_dir.glob(f"{label}-r*"):
        m = re.fullmatch(rf"{re.escape(label)}-r(\d+)", p.name)
        if m:
            taken.append(int(m.group(1)))
    return f"{label}-r{max(taken) + 1}"


def write_manifest(folder: Path, params: Params, label: str, results: Sequence[JobResult], *,
                   started: dt.datetime, inputs: dict[str, str],
                   notebooks: dict[str, str]) -> Path:
    """``manifest.json``: what went in (hashes, params, versions) and what came out (hashes)."""
    outputs = {
        str(p.relative_to(folder)): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    }
    manifest = {
        "client": params.client.id,
        "period": label,
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "inputs": inputs,
        "params": params.model_dump(mode="json", exclude={"source_file"}),
        "notebooks": notebooks,
        "packages": {p: package_version(p) for p in PACKAGES},
        "client_name": params.client.name,
        "jobs": [r.to_json() for r in results],
        "outputs": outputs,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    return path


def revisions(client_dir: Path, label: str) -> list[Path]:
    """Published folders of one period, oldest revision first."""
    found = []
    for p in client_dir.glob(f"{label}*"):
        m = re.fullmatch(rf"{re.escape(label)}(?:-r(\d+))?", p.name)
        if m and p.is_dir():
            found.append((int(m.group(1) or 1), p))
    return [p for _, p in sorted(found)]


def read_manifest(folder: Path) -> dict:
    """The manifest of a published or work folder; {} when absent or unreadable."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# Every successful job writes its executed notebook and both renderings.
REPORT_FILES = ("ipynb", "html", "pdf")


def _job_folder(rec: dict) -> str:
    if "folder" in rec:
        return rec["folder"]
    parts = str(rec.get("name", "")).split("/")  # client/service/notebook or client/notebook
    return parts[1] if len(parts) == 3 else ""


def _job_outputs(folder: Path, rec: dict) -> dict[str, str]:
    """Problems with one job's expected outputs, keyed by path relative to ``folder``."""
    name = str(rec.get("name", "?"))
    prefix = f"{_job_folder(rec)}/" if _job_folder(rec) else ""
    files, hashes = list(rec.get("files", [])), dict(rec.get("hashes", {}))
    found: dict[str, str] = {}
    notebook = name.rsplit("/", 1)[-1]
    for ext in REPORT_FILES:
        if f"{notebook}.{ext}" not in files:
            found[f"{prefix}{notebook}.{ext}"] = "not produced"
    for file in files:
        path = folder / prefix / file
        if not path.is_file():
            found[prefix + file] = "missing"
        elif file not in hashes:
            found[prefix + file] = "no recorded hash"
        elif file_sha256(path) != hashes[file]:
            found[prefix + file] = "modified"
    return found


def output_problems(folder: Path, jobs: Sequence[dict]) -> list[str]:
    """Each successful job's expected outputs (its record's ``files``) that are not in
    ``folder`` with their recorded hashes, one line each naming the file and the job."""
    problems = []
    for rec in jobs:
        if not rec.get("ok"):
            problems.append(f"failed: {rec.get('name', '?')}")
            continue
        problems += [f"{what}: {rel} (from {rec.get('name', '?')})"
                     for rel, what in sorted(_job_outputs(folder, rec).items())]
    return problems


def verify(folder: Path) -> list[str]:
    """Differences between a published folder and its manifest: each job's listed
    outputs (missing, modified, never produced), then every other recorded output,
    then files the manifest does not know."""
    manifest = read_manifest(folder)
    if not manifest:
        return [f"{folder}/manifest.json is missing or unreadable: the folder cannot be verified"]
    expected = manifest.get("outputs", {})
    jobs = manifest.get("jobs", [])
    if not jobs:
        return [f"{folder}/manifest.json lists no jobs: the folder cannot be verified"]
    problems = output_problems(folder, jobs)
    listed = set()
    for rec in jobs:
        prefix = f"{_job_folder(rec)}/" if _job_folder(rec) else ""
        listed |= {prefix + f for f in rec.get("files", [])}
    for rel, digest in sorted(expected.items()):
        if rel in listed:
            continue  # checked against its job's record above
        path = folder / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif file_sha256(path) != digest:
            problems.append(f"modified: {rel}")
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_file() and rel != "manifest.json" and rel not in expected and rel not in listed:
            problems.append(f"unexpected: {rel}")
    return problems
