"""The index pages: a period's front page (the HTML face of the pack), a client's
periods and the portfolio of clients. Each loads nothing from the network and
escapes every client-supplied text.

A period's headline status is kept in its ``status.json`` (written from the pack's
reading of the period's published tables), so the client and portfolio pages read
one small file per period instead of the reports.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from csi_lib import pack
from csi_lib.errors import DataError
from csi_lib.params import SLUG, Params
from csi_lib.periods import period_sort_key
from csi_lib.reports import NOTEBOOKS, JobResult

__all__ = ["PERIOD_DIR", "STATUS_FILE", "markdown_html", "read_status", "write_index",
           "write_overviews", "write_status"]

PERIOD_DIR = re.compile(r"\d{4}Q[1-4](?:-r\d+)?")
STATUS_FILE = "status.json"

_CELLS = "".join(
    f".s-{key.replace(' ', '-')}{{background:{fill};color:{ink}}}"
    f".s-{key.replace(' ', '-')} a{{color:{ink}}}"
    for key, (_, _, fill, ink) in pack.STATUS.items())
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;color:#1d4e89}
.meta{color:#52606d;margin-top:0}
table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #d9e2ec;vertical-align:top}
th{background:#f0f4f8} .ok{color:#1b7f3b;font-weight:600} .failed{color:#b42318;font-weight:600}
a{color:#1d4ed8}
table.scorecard th,table.scorecard td{text-align:center;border:2px solid #fff;font-size:.9rem}
table.scorecard th:first-child,table.scorecard td:first-child{text-align:left}
table.scorecard td a{display:block;text-decoration:none;font-weight:700}
table.scorecard small{display:block;font-weight:400}
table.scorecard th small{color:#52606d}
.legend{color:#52606d;font-size:.85rem}
ul.headlines li{margin:.3rem 0}
""" + _CELLS


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_status(folder: Path) -> dict[str, Any]:
    """A period folder's ``status.json``; {} when it has none (a run without the pack's
    tables, or an older run)."""
    return _json(folder / STATUS_FILE)


def write_status(folder: Path, params: Params, label: str) -> dict[str, Any] | None:
    """Write ``status.json`` from the period's published tables; None (and no file) when
    the period has no gap analysis to judge services by."""
    if not any(folder.glob("*/gaps.csv")) or not (folder / "kpis.csv").is_file():
        return None
    try:
        status = pack.period_status(pack.build(params, params.period(label), folder))
    except DataError:
        return None
    _write_atomic(folder / STATUS_FILE, json.dumps(status, indent=2, ensure_ascii=False))
    return status


def markdown_html(text: str) -> str:
    """A headline message (Markdown whose client text :func:`csi_lib.display.esc` made
    character references) as HTML: bold marks become <strong>, nothing else is markup."""
    safe = html.escape(text, quote=False).replace("&amp;", "&")
    # Character references from esc() stay; any other '&' is re-escaped.
    safe = re.sub(r"&(?!#\d+;|amp;|lt;|gt;|quot;)", "&amp;", safe)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", safe)


def _scorecard_html(status: dict[str, Any]) -> str:
    e = html.escape
    cells = status["scorecard"]
    kpis = list(dict.fromkeys((c["kpi"], c["label"]) for c in cells))
    services = list(dict.fromkeys((c["service"], c["service_name"]) for c in cells))
    by = {(c["service"], c["kpi"]): c for c in cells}
    def goal(kpi: str) -> str:
        shown = sorted({c["target"] for c in cells if c["kpi"] == kpi} - {""})
        return f"target {shown[0]}" if len(shown) == 1 else \
            "target varies" if shown else "no target"
    head = "".join(f"<th scope=\"col\">{e(label)}<small>{e(goal(k))}</small></th>"
                   for k, label in kpis)
    rows = []
    for sid, name in services:
        melon = any(by[(sid, k)]["watermelon"] for k, _ in kpis if (sid, k) in by)
        tds = []
        for k, _ in kpis:
            c = by.get((sid, k))
            if c is None:
                tds.append("<td>–</td>")
                continue
            target = f", target {c['target']}" if c["target"] else ""
            words = f"{c['status_word']}{target}; {c['trend_word']}"
            tds.append(
                f'<td class="s-{e(c["status"].replace(" ", "-"))}" title="{e(words)}">'
                f'<a href="{e(sid)}/gap_analysis.html">{e(c["value"])}'
                f"<small>{e(c['symbol'])} {e(c['status_word'])} {e(c['arrow'])}</small></a>"
                "</td>")
        label = e(name) + (" <small>◆ watermelon</small>" if melon else "")
        rows.append(f'<tr><th scope="row">{label}</th>{"".join(tds)}</tr>')
    return (f'<table class="scorecard"><thead><tr><th>Service</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            f'<p class="legend">{e(pack.LEGEND)} Each cell links to the service\'s gap '
            "analysis.</p>")


def _counts(status: dict[str, Any]) -> str:
    c = status.get("counts") or {}
    return (f"{c.get('red', 0)} red · {c.get('amber', 0)} amber · {c.get('green', 0)} green"
            if c else "–")


def _maturity(status: dict[str, Any]) -> str:
    m = status.get("maturity")
    return f"level {m['level']} {m['name']}" if m else "–"


def _benefits(status: dict[str, Any]) -> str:
    b = status.get("benefits")
    return f"{b['realised']} of {b['reviewed']} realised" if b else "–"


def write_index(folder: Path, params: Params, label: str, results: Sequence[JobResult],
                status: dict[str, Any] | None = None) -> Path:
    """The period's front page: the scorecard and headline messages (when the period has
    them), then every report with its status and files."""
    e = html.escape
    rows = []
    order = {"html": 0, "pdf": 1, "xlsx": 2, "csv": 3, "ipynb": 4}
    for r in results:
        prefix = f"{r.job.folder}/" if r.job.folder else ""
        files = sorted(r.files, key=lambda f: order.get(f.rsplit(".", 1)[-1], 9))
        links = " · ".join(
            f'<a href="{e(prefix + f)}">{e(f.rsplit(".", 1)[-1].upper())}</a>' for f in files)
        word = "not run" if r.not_run else "failed"
        state = '<span class="ok">ok</span>' if r.ok else \
            f'<span class="failed">{word}</span><br><small>{e(r.error)}</small>'
        rows.append(f"<tr><td>{e(r.job.service_name or 'All services')}</td>"
                    f"<td>{e(NOTEBOOKS[r.job.notebook].title)}</td>"
                    f"<td>{state}</td><td>{links}</td></tr>")
    front = ""
    if status:
        pack_link = ' · <a href="pack.pdf">the quarterly pack (PDF)</a>' \
            if any(r.ok and r.job.notebook == "pack" for r in results) else ""
        front = (f"<h2>Scorecard</h2>{_scorecard_html(status)}"
                 f"<h2>Headlines</h2><ul class=\"headlines\">"
                 + "".join(f"<li>{markdown_html(m)}</li>" for m in status["headlines"])
                 + f"</ul><p class=\"meta\">Maturity: {e(_maturity(status))} · Benefits: "
                 f"{e(_benefits(status))}{pack_link}</p>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(params.client.name)} — CSI {e(label)}</title><style>{_STYLE}</style></head>
<body><h1>{e(params.client.name)}: continual service improvement, {e(label)}</h1>
<p class="meta">Period {e(label)} · {len(results)} report(s) ·
<a href="../index.html">all periods</a></p>
{front}
<h2>Reports</h2>
<table><thead><tr><th>Service</th><th>Report</th><th>Status</th><th>Files</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table></body></html>
"""
    path = folder / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


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
<body><h1>{e(heading)}</h1><p class="meta">{meta}</p>
<table><thead><tr>{"".join(f"<th>{e(h)}</th>" for h in head)}</tr></thead>
<tbody>{body}</tbody></table></body></html>
"""


def _periods(client_dir: Path) -> list[Path]:
    """Published period folders, newest first (``2026Q3-r10`` before ``-r9``)."""
    found = [p for p in client_dir.iterdir() if p.is_dir() and PERIOD_DIR.fullmatch(p.name)]
    return sorted(found, key=lambda p: period_sort_key(p.name), reverse=True)


def write_overviews(outputs: Path) -> None:
    """Refresh each client's page of periods and the portfolio page over all clients."""
    e = html.escape
    clients = []
    for client_dir in sorted(p for p in outputs.iterdir() if p.is_dir() and SLUG.match(p.name)):
        periods = _periods(client_dir)
        if not periods:
            continue
        rows = []
        name = client_dir.name
        for i, folder in enumerate(periods):
            manifest = _json(folder / "manifest.json")
            status = read_status(folder)
            if i == 0:
                name = status.get("client_name") or manifest.get("client_name") or name
            link = f'<a href="{e(folder.name)}/index.html">{e(folder.name)}</a>'
            pdf = f' · <a href="{e(folder.name)}/pack.pdf">pack</a>' \
                if (folder / "pack.pdf").is_file() else ""
            rows.append([link + pdf, e(_counts(status)), e(_maturity(status)),
                         e(_benefits(status)),
                         e(manifest.get("finished", "")[:16].replace("T", " "))])
        _write_atomic(client_dir / "index.html", _page(
            f"{name} — CSI reports", f"{name}: CSI reports",
            f"{len(periods)} published period(s), newest first; revisions (-r2, -r3) are "
            'reruns · <a href="../index.html">all clients</a>',
            ["Period", "Services against target", "Maturity", "Benefits",
             "Published (UTC)"], rows))
        latest = periods[0]
        status = read_status(latest)
        clients.append([f'<a href="{e(client_dir.name)}/index.html">{e(name)}</a>',
                        (f'<a href="{e(client_dir.name)}/{e(latest.name)}/index.html">'
                         f"{e(latest.name)}</a>"), e(_counts(status)), e(_maturity(status)),
                        e(_benefits(status)), str(len(periods))])
    _write_atomic(outputs / "index.html", _page(
        "CSI reports — portfolio", "CSI reports: all clients", f"{len(clients)} client(s); "
        "services counted by their worst KPI against target in the latest period",
        ["Client", "Latest period", "Services against target", "Maturity",
         "Benefits realised", "Periods"], clients))
