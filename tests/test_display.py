"""csi_lib.display: escaping and table bundles that survive nbconvert, JupyterLab and pandoc."""

from __future__ import annotations

import html
import re

import pandas as pd
import pypandoc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from csi_lib import display
from csi_lib.display import esc, markdown_bundle, table_bundle

# pandoc Markdown as the PDF route reads it, without "smart" typography so that
# the round trip can compare characters.
PANDOC = "markdown-implicit_figures-raw_html-citations-smart+pipe_tables"
NASTY = "<script>alert(1)</script> a | b *x* _y_ `z` [l](u) $5 @team #1 ~s~ ^t^ \\ &amp;"


def _pandoc_plain(markdown: str) -> str:
    return pypandoc.convert_text(markdown, "plain", format=PANDOC, extra_args=["--wrap=none"])


def _html_text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _services() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Service": ["<script>alert(1)</script>", "ERP | finance", "*Printing*"],
            "Tickets": [1234, 5, 60],
            "SLA met": ["95.0%", "80.1%", "—"],
            "Rate": [0.123, 1.5, float("nan")],
        }
    )


def test_esc_shows_markup_as_text_in_nbconvert_html():
    rendered = markdown2html_mistune(f"Top: {esc(NASTY)}")

    assert "<script>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert "<em>" not in rendered
    assert "<code>" not in rendered
    assert "<a " not in rendered
    assert _html_text(rendered) == f"Top: {NASTY}"


def test_esc_shows_markup_as_text_in_pandoc():
    assert _pandoc_plain(esc(NASTY)).strip() == NASTY


@pytest.mark.parametrize(
    "text", ["1. first", "- item", "+ item", "(iv) x", "e. coli", "---", "% t"]
)
def test_esc_stops_line_start_syntax(text):
    assert _pandoc_plain(esc(text)).strip() == text
    assert _html_text(markdown2html_mistune(esc(text))) == text


def test_esc_collapses_whitespace_and_keeps_urls_unlinked():
    escaped = esc("see\nhttps://example.com/x   now\t")

    assert "\n" not in escaped
    assert "<a " not in markdown2html_mistune(escaped)
    assert _pandoc_plain(escaped).strip() == "see https://example.com/x now"


def test_esc_of_none_and_numbers():
    assert esc(None) == ""
    assert esc(12.5) == "12.5"


@settings(max_examples=25, deadline=None)
@given(st.text(alphabet="ab1 <>&|*_`[](){}#$@:~^\\!+=%/", min_size=1, max_size=30))
def test_esc_round_trips_any_text(text):
    expected = " ".join(text.split())
    escaped = esc(text)

    assert _html_text(markdown2html_mistune(escaped)) == expected
    assert _pandoc_plain(escaped).strip() == expected


def test_markdown_bundle_carries_markdown_and_plain():
    assert markdown_bundle("## Hi") == {"text/markdown": "## Hi", "text/plain": "## Hi"}


def test_table_bundle_has_html_markdown_and_plain():
    bundle = table_bundle(_services(), caption="Top <b> services")

    assert set(bundle) == {"text/html", "text/markdown", "text/plain"}
    assert bundle["text/html"].startswith('<table class="csi-table">')
    assert "<caption>Top &lt;b&gt; services</caption>" in bundle["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bundle["text/html"]
    assert "<script>" not in bundle["text/html"]
    assert bundle["text/markdown"].rstrip().endswith("Table: Top &lt;b&gt; services")


def test_table_bundle_right_aligns_number_columns_only():
    bundle = table_bundle(_services())
    header = re.findall(r"<th [^>]*>", bundle["text/html"])
    separator = bundle["text/markdown"].splitlines()[1]

    assert ['class="num"' in th for th in header] == [False, True, True, True]
    assert [cell.endswith(":") for cell in separator.strip("|").split("|")] == [
        False,
        True,
        True,
        True,
    ]


def test_table_bundle_formats_values():
    frame = pd.DataFrame(
        {
            "small": [0.123, 1.5, float("nan")],
            "big": [1234.5, 10.25, 3.0],
            "whole": [1.0, 2.0, 3.0],
            "count": [1234567, 2, 3],
            "flag": [True, False, True],
            "day": pd.to_datetime(["2026-07-01", "2026-07-02", None]),
        }
    )
    rows = re.findall(r"<tr>(.*?)</tr>", table_bundle(frame)["text/html"])[1:]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]

    assert cells[0] == ["0.12", "1,234", "1", "1,234,567", "Yes", "2026-07-01"]
    assert cells[2] == ["—", "3", "3", "3", "Yes", "—"]


def test_table_bundle_index_and_input_untouched():
    frame = _services().set_index("Service")
    before = frame.copy()

    bundle = table_bundle(frame, index=True)

    assert '<th scope="col" style="text-align: left">Service</th>' in bundle["text/html"]
    pd.testing.assert_frame_equal(frame, before)


def test_markdown_table_is_a_real_pandoc_table_with_escaped_cells():
    typst = pypandoc.convert_text(
        table_bundle(_services(), caption="Services")["text/markdown"], "typst", format=PANDOC
    )

    assert "#table(" in typst
    assert "ERP | finance" in typst
    assert "caption: [Services]" in typst


def test_wide_markdown_table_sets_column_widths():
    frame = pd.DataFrame(
        {f"A rather long column header number {i}": [f"{i * 1000:,}"] for i in range(10)}
    )
    typst = pypandoc.convert_text(table_bundle(frame)["text/markdown"], "typst", format=PANDOC)
    widths = re.search(r"columns: \(([^)]*)\)", typst)

    assert widths is not None
    percents = [float(w.strip().rstrip("%")) for w in widths.group(1).split(",") if w.strip()]
    assert len(percents) == 10
    assert sum(percents) == pytest.approx(100, abs=1)


def test_empty_frame_gives_header_only_table():
    bundle = table_bundle(pd.DataFrame({"Service": pd.Series([], dtype=str)}))

    assert "<tbody>\n</tbody>" in bundle["text/html"]
    assert bundle["text/markdown"].splitlines()[0] == "| Service |"


def test_show_helpers_display_one_raw_bundle(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))

    display.show_table(_services(), caption="c")
    display.show_markdown("**hi**")

    assert shown == [
        (table_bundle(_services(), caption="c"), True),
        (markdown_bundle("**hi**"), True),
    ]
