"""csi_lib.render: executed notebooks to self-contained HTML and to PDF."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib as mpl
import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from pypdf import PdfReader

from csi_lib import render
from csi_lib.display import esc, markdown_bundle, table_bundle
from csi_lib.errors import RenderError
from csi_lib.render import ReportMeta, to_html, to_pdf, write_report

mpl.use("Agg")
import matplotlib.pyplot as plt

META = ReportMeta(
    title="Service baseline",
    client="Northwind Logistics",
    period="2026Q3",
    as_of="2026-09-30",
    service="Service desk",
)
CODE = "secret_source_code_marker()"
STREAM = "stream_text_that_must_not_show"
PARAM = "injected_param_marker"
CHROMIUM = Path("/usr/bin/chromium")


def _png() -> str:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([1, 2, 3], [2, 1, 3])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Service": ["<script>alert(1)</script>", "ERP | finance"],
            "Tickets": [1234, 56],
            "SLA met": ["95.0%", "80.1%"],
        }
    )


def _notebook(*extra: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cells = [
        new_code_cell("client = 'demo'", metadata={"tags": ["parameters"]}),
        new_code_cell(f"{PARAM} = 'x'", metadata={"tags": ["injected-parameters"]}),
        new_markdown_cell("## Executive summary\n\nResolution improved this quarter."),
        new_code_cell(
            CODE,
            execution_count=3,
            outputs=[
                new_output("stream", name="stdout", text=f"{STREAM}\n"),
                new_output("display_data", data=table_bundle(_table(), caption="Top services")),
                new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"}),
                new_output("stream", name="stderr", text=f"UserWarning: {STREAM}\n"),
            ],
        ),
        *extra,
    ]
    return new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _error_cell() -> nbformat.NotebookNode:
    return new_code_cell(
        "1 / 0",
        outputs=[
            new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
        ],
    )


# --- HTML ----------------------------------------------------------------------------


def test_html_shows_narrative_and_outputs_but_no_code_or_streams():
    page = to_html(_notebook(), META)

    assert "Executive summary" in page
    assert "Resolution improved this quarter." in page
    assert "1,234" in page
    assert "95.0%" in page
    assert '<table class="csi-table">' in page
    assert CODE not in page
    assert STREAM not in page
    assert PARAM not in page
    assert "client = " not in page
    assert "In&nbsp;[" not in page
    assert "Out[" not in page


def test_html_escapes_client_text():
    page = to_html(_notebook(), META)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page


def test_html_loads_nothing_from_the_network():
    page = to_html(_notebook(), META)

    assert "<script" not in page
    assert "<link" not in page
    assert "http://" not in page
    assert "https://" not in page
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources
    assert all(s.startswith("data:") for s in sources)
    assert re.search(r'<img [^>]*src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)


def test_html_title_element_and_title_block():
    page = to_html(_notebook(), META)

    assert "<title>Service baseline — Service desk — Northwind Logistics 2026Q3</title>" in page
    for value in ("Northwind Logistics", "Service desk", "2026Q3", "2026-09-30"):
        assert f"<dd>{value}</dd>" in page


def test_html_title_of_client_report_escapes_and_skips_service():
    meta = ReportMeta("Client overview", "A&B <Ltd>", "2026Q3", "2026-09-30")
    page = to_html(_notebook(), meta)

    assert "<title>Client overview — A&amp;B &lt;Ltd&gt; 2026Q3</title>" in page
    assert "<dt>Service</dt>" not in page


def test_html_prefers_html_then_png_then_markdown():
    cell = new_code_cell(
        "x",
        outputs=[
            new_output(
                "display_data",
                data={"text/html": "<p>html form</p>", "text/markdown": "markdown form"},
            ),
            new_output("display_data", data={"image/png": _png(), "text/markdown": "md-only"}),
            new_output("display_data", data=markdown_bundle(f"**Top:** {esc('<b>x</b>')}")),
        ],
    )
    page = to_html(_notebook(cell), META)

    assert "html form" in page
    assert "markdown form" not in page
    assert "md-only" not in page
    assert "<strong>Top:</strong> &lt;b&gt;x&lt;/b&gt;" in page


def test_html_refuses_pages_that_would_fetch():
    cell = new_markdown_cell("![logo](https://cdn.example.com/logo.png)")

    with pytest.raises(RenderError, match=r"would load 1 resource.*cdn\.example\.com"):
        to_html(_notebook(cell), META)


def test_hidden_cells_and_outputs():
    removed = new_code_cell(
        "x",
        metadata={"tags": ["remove-cell"]},
        outputs=[new_output("display_data", data=markdown_bundle("removed-cell-text"))],
    )
    no_output = new_code_cell(
        "y",
        metadata={"tags": ["remove-output"]},
        outputs=[new_output("display_data", data=markdown_bundle("removed-output-text"))],
    )
    nb = _notebook(removed, no_output)

    page = to_html(nb, META)
    text = _pdf_text(to_pdf(nb, META))

    for hidden in ("removed-cell-text", "removed-output-text"):
        assert hidden not in page
        assert hidden not in text


def test_render_does_not_mutate_the_notebook():
    nb = _notebook()
    before = nbformat.writes(nb)

    to_html(nb, META)
    to_pdf(nb, META)

    assert nbformat.writes(nb) == before


@pytest.mark.parametrize("renderer", [to_html, to_pdf])
def test_error_output_is_refused_naming_the_cell(renderer):
    nb = _notebook(_error_cell())

    with pytest.raises(RenderError, match=r"cell 4 .*ZeroDivisionError: division by zero"):
        renderer(nb, META)


# --- PDF -----------------------------------------------------------------------------


def test_pdf_has_title_block_heading_table_and_page_numbers():
    pdf = to_pdf(_notebook(), META)
    text = _pdf_text(pdf)

    assert pdf.startswith(b"%PDF")
    for value in (
        "Service baseline",
        "Northwind Logistics",
        "Service desk",
        "2026Q3",
        "2026-09-30",
        "Executive summary",
        "Top services",
    ):
        assert value in text
    # The table is text, not a picture, and client markup stays literal.
    assert "1,234" in text
    assert "95.0%" in text
    assert "ERP | finance" in text
    assert "<script>alert(1)</script>" in text
    assert "Page 1 of 1" in text


def test_pdf_embeds_the_chart_and_hides_code_and_streams():
    pdf = to_pdf(_notebook(), META)
    text = _pdf_text(pdf)
    images = [img for page in PdfReader(io.BytesIO(pdf)).pages for img in page.images]

    assert len(images) == 1
    assert CODE not in text
    assert STREAM not in text
    assert PARAM not in text
    assert "png" not in text  # no implicit "png" figure captions


def test_pdf_numbers_sections_from_the_top_heading_level():
    text = _pdf_text(to_pdf(_notebook(new_markdown_cell("### Detail\n\nMore.")), META))

    assert "1 Executive summary" in text
    assert "1.1 Detail" in text


def test_pdf_survives_hostile_client_text():
    meta = ReportMeta("T", '#set $x$ @cite <b> \\ "q"', "2026Q3", "2026-09-30", "*s* _u_")
    cell = new_code_cell(
        "x",
        outputs=[new_output("display_data", data=markdown_bundle(esc("# $1 @a [b] `c` <i>")))],
    )
    text = _pdf_text(to_pdf(_notebook(cell), meta))

    assert '#set $x$ @cite <b> \\ "q"' in text
    assert "*s* _u_" in text
    assert "# $1 @a [b] `c` <i>" in text


def test_pdf_uses_plain_text_of_results_and_warns_about_html_only(caplog):
    cells = (
        new_code_cell(
            "42",
            outputs=[
                new_output("execute_result", data={"text/plain": "answer_42"}, execution_count=1),
            ],
        ),
        new_code_cell(
            "h",
            outputs=[
                new_output(
                    "display_data", data={"text/html": "<b>html_only</b>", "text/plain": "x"}
                ),
            ],
        ),
    )
    with caplog.at_level(logging.WARNING, logger="csi_lib.render"):
        text = _pdf_text(to_pdf(_notebook(*cells), META))

    assert "answer_42" in text
    assert "html_only" not in text
    assert "leaves out 1 output" in caplog.text


def test_pdf_long_table_breaks_across_pages():
    frame = pd.DataFrame({"Ticket": [f"INC{i:05d}" for i in range(120)], "Hours": range(120)})
    cell = new_code_cell("t", outputs=[new_output("display_data", data=table_bundle(frame))])
    pdf = to_pdf(_notebook(cell), META)
    reader = PdfReader(io.BytesIO(pdf))

    assert len(reader.pages) >= 3
    assert "INC00119" in _pdf_text(pdf)
    assert "Page 1 of" in reader.pages[0].extract_text()


def test_pdf_leaves_a_single_document_heading_unnumbered():
    title = new_code_cell(
        "show_title()",
        outputs=[
            new_output("display_data", data=markdown_bundle("# Baseline: Email\n\nNorthwind"))
        ],
    )
    nb = _notebook()
    nb.cells.insert(2, title)
    text = _pdf_text(to_pdf(nb, META))

    assert "Baseline: Email" in text
    assert "1 Baseline" not in text
    assert "1 Executive summary" in text


def test_number_sections_ignores_code_fences():
    shifted, shift = render._number_sections("```\n# not a heading\n```\n\n### Real\n\n## Top\n")

    assert shift == -1
    assert "{.unnumbered}" not in shifted
    assert render._number_sections("no headings") == ("no headings", 0)


# --- write_report --------------------------------------------------------------------


def test_write_report_writes_both_and_leaves_no_temp_files(tmp_path):
    html_path, pdf_path = tmp_path / "out" / "r.html", tmp_path / "out" / "r.pdf"

    write_report(_notebook(), META, html_path, pdf_path)

    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert pdf_path.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in html_path.parent.iterdir()) == ["r.html", "r.pdf"]
    assert html_path.stat().st_mode & 0o777 == 0o644


def test_write_report_replaces_existing_files(tmp_path):
    html_path = tmp_path / "r.html"
    html_path.write_text("old", encoding="utf-8")

    write_report(_notebook(), META, html_path, None)

    assert "Executive summary" in html_path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_write_report_keeps_old_files_when_rendering_fails(tmp_path):
    html_path, pdf_path = tmp_path / "r.html", tmp_path / "r.pdf"
    html_path.write_text("old html", encoding="utf-8")

    with pytest.raises(RenderError):
        write_report(_notebook(_error_cell()), META, html_path, pdf_path)

    assert html_path.read_text(encoding="utf-8") == "old html"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_write_report_cleans_up_when_the_rename_fails(tmp_path, monkeypatch):
    html_path = tmp_path / "r.html"
    html_path.write_text("old html", encoding="utf-8")

    def refuse(self, target):
        raise OSError("disk gone")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(OSError, match="disk gone"):
        write_report(_notebook(), META, html_path, None)

    assert html_path.read_text(encoding="utf-8") == "old html"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


# --- a real browser ------------------------------------------------------------------


def _page_requests(page: Path, tmp_path: Path) -> list[str]:
    """URLs a headless Chromium, offline, asked for on behalf of ``page`` (not its own)."""
    netlog = tmp_path / f"{page.stem}.netlog.json"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--log-net-log={netlog}",
            "--dump-dom",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    events = json.loads(netlog.read_text(encoding="utf-8"))["events"]
    # Requests a page makes carry its network isolation key (file://); Chromium's own
    # background requests (update checks, accounts) do not.
    return sorted(
        {
            e["params"]["url"]
            for e in events
            if "file://" in str(e.get("params", {}).get("network_isolation_key", ""))
            and not e["params"].get("url", "file:").startswith(("file:", "data:"))
        }
    )


@pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("chromium") is None,
    reason="headless Chromium is not installed",
)
def test_chromium_offline_makes_no_request_for_the_report(tmp_path):
    report = tmp_path / "report.html"
    report.write_text(to_html(_notebook(), META), encoding="utf-8")
    control = tmp_path / "control.html"
    control.write_text('<img src="http://example.invalid/x.png">', encoding="utf-8")

    # The control proves the probe sees a page's requests; the report must make none.
    assert _page_requests(control, tmp_path) == ["http://example.invalid/x.png"]
    assert _page_requests(report, tmp_path) == []


def test_pdf_says_what_to_install_when_pandoc_is_missing(monkeypatch):
    monkeypatch.setattr(render, "_pandoc_path", lambda: "/nonexistent/pandoc")
    with pytest.raises(RenderError, match="pypandoc-binary"):
        to_pdf(_notebook(), META)


def test_pdf_reports_a_pandoc_failure_with_its_message(monkeypatch):
    # A pandoc that refuses its input: its own message reaches the user.
    monkeypatch.setattr(render, "PANDOC_FORMAT", "nosuchformat")
    with pytest.raises(RenderError, match="Unknown input format nosuchformat"):
        to_pdf(_notebook(), META)


def test_html_gives_every_image_an_alt_text():
    # The report template writes the alt text nbconvert's own pass would have added.
    page = to_html(_notebook(), META)
    images = re.findall(r"<img\b[^>]*>", page)
    assert images
    assert all(re.search(r'\salt="[^"]+"', img) for img in images)
