"""Index pages: the period's front page (the pack's scorecard in HTML), the client's
periods and the portfolio."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from test_pack import PARAMS, _period_folder

from csi_lib.pages import markdown_html, read_status, write_index, write_overviews, write_status
from csi_lib.reports import Job, JobResult


def _result(notebook: str, service: str | None, files: tuple[str, ...], ok: bool = True,
            **kw: object) -> JobResult:
    job = Job(client="demo", notebook=notebook, parameters={}, source="", cwd="",
              title=notebook, client_name="Northwind", period="2026Q3", as_of="2026-09-30",
              key=f"{service}-{notebook}", service=service,
              service_name=PARAMS.service(service).name if service else None)
    return JobResult(job, ok, 1.0, "" if ok else "not run: demo/x failed", files, **kw)


def _no_network(page: str) -> None:
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)


def test_period_index_is_the_scorecard_then_headlines_then_reports(tmp_path: Path) -> None:
    folder = _period_folder(tmp_path / "2026Q3", benefits=True)
    status = write_status(folder, PARAMS, "2026Q3")
    assert status == read_status(folder)
    assert status["services"] == {"email": "amber", "network": "red"}
    assert status["counts"] == {"red": 1, "amber": 1, "green": 0}
    assert status["maturity"] == {"level": 2, "name": "Repeatable", "previous": 1}
    assert status["benefits"] == {"reviewed": 2, "realised": 1}
    results = [_result("gap_analysis", "network", ("gap_analysis.html", "gaps.csv")),
               _result("pack", None, ("pack.pdf",), ok=False, not_run=True)]
    page = write_index(folder, PARAMS, "2026Q3", results, status).read_text()
    _no_network(page)
    assert page.index("Scorecard") < page.index("Headlines") < page.index("Reports")
    # Each cell: value, status as a symbol and a word (not colour alone), trend, and a
    # link to the service's gap analysis.
    cell = re.search(r'<td class="s-red" title="off target, target 90\.0%; worsening">'
                     r'<a href="network/gap_analysis\.html">60\.0%<small>✗ off target ▼'
                     r"</small></a></td>", page)
    assert cell, page
    assert "Email &amp; Collaboration <small>◆ watermelon</small>" in page
    assert "<strong>1 improvement review triggered</strong>" in page
    assert "level 2 Repeatable" in page and "1 of 2 realised" in page
    assert '<span class="failed">not run</span>' in page
    assert "pack.pdf" in page and "quarterly pack (PDF)" not in page   # the pack did not run


def test_a_period_without_gap_tables_keeps_the_plain_index(tmp_path: Path) -> None:
    folder = tmp_path / "2026Q3"
    folder.mkdir()
    assert write_status(folder, PARAMS, "2026Q3") is None
    assert not (folder / "status.json").exists()
    page = write_index(folder, PARAMS, "2026Q3", [], None).read_text()
    assert "Scorecard" not in page and "Reports" in page


def test_headline_markdown_becomes_html_without_client_markup() -> None:
    assert markdown_html("**3 reviews** in Net &amp; Mail &lt;b&gt; &#42;x&#42;") == \
        "<strong>3 reviews</strong> in Net &amp; Mail &lt;b&gt; &#42;x&#42;"
    assert markdown_html("<script>a & b</script>") == "&lt;script&gt;a &amp; b&lt;/script&gt;"


def test_client_and_portfolio_pages_sort_periods_as_periods(tmp_path: Path) -> None:
    out = tmp_path / "out"
    src = _period_folder(tmp_path / "src", benefits=True)
    for name in ("2026Q2", "2026Q3", "2026Q3-r9", "2026Q3-r10"):
        folder = out / "demo" / name
        shutil.copytree(src, folder)
        write_status(folder, PARAMS, name.split("-")[0])
        (folder / "manifest.json").write_text(json.dumps(
            {"client_name": "Northwind", "finished": "2026-10-01T09:00:00+00:00"}))
    (out / "demo" / "2026Q3-r10" / "pack.pdf").write_bytes(b"%PDF")
    (out / "demo" / "_work").mkdir()
    write_overviews(out)
    client = (out / "demo" / "index.html").read_text()
    _no_network(client)
    order = re.findall(r'<a href="(2026Q[23](?:-r\d+)?)/index.html">', client)
    assert order == ["2026Q3-r10", "2026Q3-r9", "2026Q3", "2026Q2"]
    assert '<a href="2026Q3-r10/pack.pdf">pack</a>' in client
    assert "1 red · 1 amber · 0 green" in client
    portfolio = (out / "index.html").read_text()
    _no_network(portfolio)
    row = re.search(r"<tr><td><a href=\"demo/index.html\">Northwind Logistics \(demo\)</a>"
                    r"</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>"
                    r"<td>(.*?)</td></tr>", portfolio)
    assert row, portfolio
    assert row.group(1) == '<a href="demo/2026Q3-r10/index.html">2026Q3-r10</a>'
    assert row.groups()[1:] == ("1 red · 1 amber · 0 green", "level 2 Repeatable",
                                "1 of 2 realised", "4")
