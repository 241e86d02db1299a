"""What a published period carries besides its reports: the index page and the manifest."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from csi_lib.data import file_sha256
from csi_lib.params import SLUG, Params
from csi_lib.reports import NOTEBOOKS, JobResult
from csi_lib.version import PACKAGES, package_version

__all__ = [
    "REPORT_FILES",
    "next_revision",
    "output_problems",
    "read_manifest",
    "revisions",
    "verify",
    "write_index",
    "write_manifest",
    "write_overviews",
]

PERIOD_DIR = re.compile(r"\d{4}Q[1-4](?:-r\d+)?")


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem} .meta{color:#52606d;margin-top:0}
table{border-collapse:collapse;width:100%;margin-top:1.5rem}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #d9e2ec}
th{background:#f0f4f8} .ok{color:#1b7f3b;font-weight:600} .failed{color:#b42318;font-weight:600}
a{color:#1d4ed8}
"""


def next_revision(client_dir: Path, label: str) -> str:
    """The first free revision label after ``label``: ``2026Q3-r2``, ``2026Q3-r3``, ..."""
    taken = [1]
    for p in client_dir.glob(f"{label}-r*"):
        m = re.fullmatch(rf"{re.escape(label)}-r(\d+)", p.name)
        if m:
            taken.append(int(m.group(1)))
    return f"{label}-r{max(taken) + 1}"


def write_index(folder: Path, params: Params, label: str, results: Sequence[JobResult]) -> Path:
    """An HTML page linking every report of the period, with its status; loads nothing remote."""

    e = html.escape
    rows = []
    order = {"html": 0, "pdf": 1, "xlsx": 2, "ipynb": 3}
    for r in results:
        prefix = f"{r.job.folder}/" if r.job.folder else ""
        files = sorted(r.files, key=lambda f: order.get(f.rsplit(".", 1)[-1], 9))
        links = " · ".join(
            f'<a href="{e(prefix + f)}">{e(f.rsplit(".", 1)[-1].upper())}</a>' for f in files)
        status = '<span class="ok">ok</span>' if r.ok else \
            f'<span class="failed">failed</span><br><small>{e(r.error)}</small>'
        rows.append(f"<tr><td>{e(r.job.service_name or 'All services')}</td>"
                    f"<td>{e(NOTEBOOKS[r.job.notebook].title)}</td>"
                    f"<td>{status}</td><td>{links}</td></tr>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(params.client.name)} — CSI reports {e(label)}</title><style>{_STYLE}</style></head>
<body><h1>{e(params.client.name)}: CSI reports</h1>
<p class="meta">Period {e(label)} · {len(results)} report(s)</p>
<table><thead><tr><th>Service</th><th>Report</th><th>Status</th><th>Files</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _page(title: str, heading: str, meta: str, head: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title><style>{_STYLE}</style></head>
<body><h1>{e(heading)}</h1><p class="meta">{e(meta)}</p>
<table><thead><tr>{"".join(f"<th>{e(h)}</th>" for h in head)}</tr></thead>
<tbody>{body}</tbody></table></body></html>
"""


def write_overviews(outputs: Path) -> None:
    """Refresh each client's period list and the portfolio page over all clients."""
    e = html.escape
    clients = []
    for client_dir in sorted(p for p in outputs.iterdir() if p.is_dir() and SLUG.match(p.name)):
        periods = []
        for folder in sorted((p for p in client_dir.iterdir() if p.is_dir()
                              and PERIOD_DIR.fullmatch(p.name)), reverse=True):
            m = read_manifest(folder)
            jobs = m.get("jobs", [])
            periods.append((folder.name, m.get("client_name", client_dir.name), len(jobs),
                            m.get("finished", "")[:16].replace("T", " ")))
        if not periods:
            continue
        rows = [[f'<a href="{e(name)}/index.html">{e(name)}</a>', str(n), e(done)]
                for name, _, n, done in periods]
        name = periods[0][1]
        _write_atomic(client_dir / "index.html", _page(
            f"{name} — CSI reports", f"{name}: CSI reports",
            f"{len(periods)} published period(s); revisions (-r2, -r3) are reruns",
            ["Period", "Reports", "Published (UTC)"], rows))
        latest = periods[0][0]
        clients.append([f'<a href="{e(client_dir.name)}/index.html">{e(name)}</a>',
                        f'<a href="{e(client_dir.name)}/{e(latest)}/index.html">{e(latest)}</a>',
                        str(len(periods))])
    _write_atomic(outputs / "index.html", _page(
        "CSI reports — portfolio", "CSI reports: all clients", f"{len(clients)} client(s)",
        ["Client", "Latest period", "Periods"], clients))
