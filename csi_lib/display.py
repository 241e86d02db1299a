"""What a notebook shows: escaped Markdown and tables that render in JupyterLab, HTML and PDF.

Every table is ONE display output with two forms: ``text/html`` (JupyterLab and the
HTML report) and ``text/markdown`` (the PDF route, through pandoc). Client-supplied
text goes through :func:`esc` before it reaches either, because nbconvert passes raw
HTML in Markdown through and pandoc reads Markdown syntax everywhere (OWASP XSS
prevention: encode untrusted data for the context it lands in).
"""

from __future__ import annotations

import html
import math
import numbers
import os
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pandas as pd

__all__ = ["esc", "markdown_bundle", "read_csv", "show_markdown", "show_table", "table_bundle",
           "write_csv"]

# Characters with a meaning anywhere in a line of pandoc or CommonMark Markdown
# (emphasis, code, links, tables, HTML, math, citations, sub/superscript,
# attributes) and ':' so that no URL in client text turns into a link.
# Numeric character references are never read as syntax by either parser
# (CommonMark spec 0.31, section 2.5), unlike backslash escapes, which table
# parsers treat inconsistently.
_INLINE = {c: f"&#{ord(c)};" for c in "\\`*_{}[]|~^$@#:"}
_INLINE.update({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_INLINE_TABLE = str.maketrans(_INLINE)
# Syntax that only counts at the start of a line: bullet and ordered list
# markers (pandoc fancy_lists: ``1.``, ``a)``, ``(iv)``), setext underlines and
# rules, a pandoc title block.
_LINE_START = re.compile(
    r"^(?:[-+*](?=\s|$)|\(?(?:\d{1,9}|[a-zA-Z]|[ivxlcdmIVXLCDM]+)[.)](?=\s|$)|[-=]+$|%)"
)

_MISSING = "—"
# A preformatted number: optional arrow or sign, currency, digits with thousands
# separators, decimals, and a short unit (``12.5%``, ``£1,200``, ``-3.2 pp``, ``4.1 h``).
_NUMBER = re.compile(
    r"^[▲▼↑↓]?\s?[+\-−±]?\s?[£$€¥]?\s?\d[\d,\u202f\u00a0]*(?:\.\d+)?"
    r"(?:\s?(?:%|pp|[a-zA-Z]{1,3}))?$"
)
_BLANKS = frozenset({"", "—", "–", "-", "n/a", "N/A", "NA"})
# Separator dashes of a wide pipe table. Any line longer than pandoc's --columns
# (72) makes pandoc use the dashes as relative column widths (pandoc manual,
# "pipe_tables"); without widths Typst lets long headers overlap.
_WIDE_DASHES = 120
_PANDOC_COLUMNS = 72
# What templates/typst/report.typ gives a table: 174 mm of text width (A4, 18 mm
# margins), 3 pt cell padding each side, DejaVu Sans at a size set by column count.
_TEXT_WIDTH_PT = 493.0
_CELL_PADDING_PT = 6.0
# Approximate advance widths of DejaVu Sans in em, by character class.
_NARROW = frozenset("iljtfr.,;:'!|()[]{}/\\ ")
_WIDE = frozenset("mwMW%@&—")


def esc(text: object) -> str:
    """Escape client-supplied text for Markdown read by nbconvert, JupyterLab and pandoc.

    The result is one line of inline Markdown that shows ``text`` literally: HTML
    tags, ``|``, ``*x*``, ``$``, ``@name`` and URLs stay text. Whitespace runs
    (newlines included) become one space. Use it for values placed in running
    text, headings, list items or table cells, never inside code spans.
    """
    if text is None:
        return ""
    flat = " ".join(str(text).split())
    out = flat.translate(_INLINE_TABLE)
    if _LINE_START.match(out):
        # A character reference is text, never a marker, in both parsers.
        out = f"&#{ord(out[0])};{out[1:]}"
    return out


def markdown_bundle(text: str) -> dict[str, str]:
    """The mimebundle :func:`show_markdown` displays."""
    return {"text/markdown": text, "text/plain": text}


def show_markdown(text: str) -> None:
    """Display generated Markdown; the caller escapes embedded client text with :func:`esc`."""
    _display(markdown_bundle(text))


def table_bundle(
    df: pd.DataFrame, *, caption: str | None = None, index: bool = False
) -> dict[str, str]:
    """The mimebundle :func:`show_table` displays: ``text/html``, ``text/markdown``, ``text/plain``.

    Cells and headers are plain text (escaped here). Strings are shown as given;
    numbers, dates and booleans are formatted per column. Columns whose values are
    all numbers (or preformatted numbers such as ``"95.2%"``) are right-aligned.
    """
    frame = df.reset_index() if index else df
    headers = [_header_text(col) for col in frame.columns]
    columns = [_format_column(frame.iloc[:, j]) for j in range(frame.shape[1])]
    numeric = [_is_numeric(frame.iloc[:, j], cells) for j, cells in enumerate(columns)]
    rows = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return {
        "text/html": _html_table(headers, rows, numeric, caption),
        "text/markdown": _markdown_table(headers, columns, numeric, caption),
        "text/plain": _plain_table(headers, columns, numeric, caption),
    }


def show_table(df: pd.DataFrame, *, caption: str | None = None, index: bool = False) -> None:
    """Display ``df`` as one output that renders as a styled table in HTML, PDF and JupyterLab."""
    _display(table_bundle(df, caption=caption, index=index))


def _display(bundle: dict[str, str]) -> None:
    # Imported here: IPython is only needed inside a kernel, not to build bundles.
    from IPython.display import display

    display(bundle, raw=True)


def _header_text(col: object) -> str:
    if isinstance(col, tuple):
        return " ".join(str(part) for part in col if str(part))
    return "" if col is None else str(col)


def _format_column(series: pd.Series) -> list[str]:
    """Display strings for one column; missing values become an em dash."""
    values = series.tolist()
    missing = [_is_missing(v) for v in values]
    if pd.api.types.is_bool_dtype(series.dtype):
        return [
            _MISSING if m else ("Yes" if v else "No") for v, m in zip(values, missing, strict=True)
        ]
    if pd.api.types.is_float_dtype(series.dtype):
        decimals = _decimals([v for v, m in zip(values, missing, strict=True) if not m])
        return [
            _MISSING if m else f"{v:,.{decimals}f}" for v, m in zip(values, missing, strict=True)
        ]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        present = [v for v, m in zip(values, missing, strict=True) if not m]
        fmt = "%Y-%m-%d" if all(_is_midnight(v) for v in present) else "%Y-%m-%d %H:%M"
        return [_MISSING if m else v.strftime(fmt) for v, m in zip(values, missing, strict=True)]
    return [_MISSING if m else _format_value(v) for v, m in zip(values, missing, strict=True)]


def _format_value(value: object) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        return f"{value:,.{_decimals([float(value)])}f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if _is_midnight(value) else "%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _decimals(values: Sequence[float]) -> int:
    """One precision per column: none for whole numbers, fewer as magnitudes grow."""
    finite = [abs(v) for v in values if math.isfinite(v)]
    if not finite or all(v.is_integer() for v in finite):
        return 0
    biggest = max(finite)
    if biggest >= 100:
        return 0
    return 1 if biggest >= 10 else 2


def _is_missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cells
        return False


def _is_midnight(value: datetime) -> bool:
    return (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)


def _is_numeric(series: pd.Series, cells: list[str]) -> bool:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return False
    if pd.api.types.is_numeric_dtype(dtype):
        return True
    present = [c for c in cells if c.strip() not in _BLANKS]
    return bool(present) and all(_NUMBER.match(c.strip()) for c in present)


def _html_table(
    headers: list[str], rows: list[list[str]], numeric: list[bool], caption: str | None
) -> str:
    # Inline text-align as well as the class: JupyterLab right-aligns every cell
    # and knows nothing of the report's stylesheet.
    right, left = ' class="num" style="text-align: right"', ' style="text-align: left"'
    align = [right if is_num else left for is_num in numeric]

    parts = ['<table class="csi-table">']
    if caption:
        parts.append(f"<caption>{html.escape(caption)}</caption>")
    head = "".join(
        f'<th scope="col"{a}>{html.escape(h)}</th>' for a, h in zip(align, headers, strict=True)
    )
    parts.append(f"<thead><tr>{head}</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        cells = "".join(f"<td{a}>{html.escape(c)}</td>" for a, c in zip(align, row, strict=True))
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return "\n".join(parts)


def _markdown_table(
    headers: list[str], columns: list[list[str]], numeric: list[bool], caption: str | None
) -> str:
    """A pandoc pipe table whose separator dashes carry the relative column widths."""
    if not headers:
        return f"Table: {esc(caption)}" if caption else ""
    head = [esc(h) for h in headers]
    # No-break spaces keep "+1.2 pp" on one line; number columns are sized to fit.
    body = [
        [esc(c).replace(" ", "\u00a0") if is_num else esc(c) for c in col]
        for col, is_num in zip(columns, numeric, strict=True)
    ]
    widths = _column_widths(headers, columns, numeric)
    body_rows = [_md_row([col[i] for col in body]) for i in range(len(body[0]))]
    longest = max(len(line) for line in [_md_row(head), *body_rows])
    # Narrow tables keep natural widths; wide ones fill the page in these proportions.
    total = _WIDE_DASHES if longest > _PANDOC_COLUMNS else round(sum(widths))
    rules = []
    for width, is_num in zip(widths, numeric, strict=True):
        dashes = "-" * max(3, round(total * width / sum(widths)))
        rules.append(f"{dashes}:" if is_num else f":{dashes}")
    lines = [_md_row(head), "|" + "|".join(rules) + "|", *body_rows]
    if caption:
        lines.extend(["", f"Table: {esc(caption)}"])
    return "\n".join(lines) + "\n"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _column_widths(
    headers: list[str], columns: list[list[str]], numeric: list[bool]
) -> list[float]:
    """Column widths in em for the PDF: numbers never wrap, text columns share what is left.

    Every column needs its longest header word (bold) and, for numbers, its widest
    value. Text columns would like their longest value (up to 25 em) and get the
    spare width in proportion to what they lack; when even the needs do not fit,
    text columns shrink to their header word or 6 em and wrap.
    """
    size = _table_font_size(len(headers))
    page = _TEXT_WIDTH_PT / size
    padding = _CELL_PADDING_PT / size
    need: list[float] = []
    want: list[float] = []
    header_words = [max((_em(w, bold=True) for w in h.split()), default=0.0) for h in headers]
    for header, word, cells, is_num in zip(headers, header_words, columns, numeric, strict=True):
        widest = max((_em(c) for c in cells), default=0.0)
        if is_num:
            lo = hi = max(word, widest, _em(header, bold=True) / 3)
        else:
            cell_word = max((_em(w) for c in cells for w in c.split()), default=0.0)
            lo = max(word, min(cell_word, 10.0), min(widest, 5.0))
            hi = max(lo, min(widest, 25.0), _em(header, bold=True) / 3)
        need.append(lo + padding)
        want.append(hi + padding)
    if sum(need) > page:
        need = [
            n if is_num else max(word, 6.0) + padding
            for n, word, is_num in zip(need, header_words, numeric, strict=True)
        ]
    spare = page - sum(need)
    flex = sum(want) - sum(need)
    if spare <= 0:
        return need
    if flex <= spare:
        return want  # pandoc stretches a wide table's columns to the page in proportion
    return [n + (w - n) * spare / flex for w, n in zip(want, need, strict=True)]


def _table_font_size(n_columns: int) -> float:
    """Font size (pt) of a table in the PDF; templates/typst/report.typ uses the same steps."""
    if n_columns >= 10:
        return 7.0
    return 7.5 if n_columns >= 7 else 8.0


def _em(text: str, *, bold: bool = False) -> float:
    width = sum(_char_em(ch) for ch in text)
    return width * 1.15 if bold else width


def _char_em(ch: str) -> float:
    if ch in _NARROW:
        return 0.32
    if ch in _WIDE:
        return 0.9
    if ch.isupper():
        return 0.72
    return 0.64 if ch.isdigit() else 0.6


def _plain_table(
    headers: list[str], columns: list[list[str]], numeric: list[bool], caption: str | None
) -> str:
    widths = [
        max([len(h)] + [len(c) for c in col]) for h, col in zip(headers, columns, strict=True)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    lines = [caption] if caption else []
    lines.append(line(headers))
    lines.extend(
        line([col[i] for col in columns]) for i in range(len(columns[0]) if columns else 0)
    )
    return "\n".join(lines)


# A cell starting with one of these runs as a formula when the file is opened in a
# spreadsheet (OWASP, "CSV Injection"); a leading apostrophe keeps it text.
_FORMULA_START = tuple("=+-@\t\r")


def _guard(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def _unguard(value: object) -> object:
    if isinstance(value, str) and value.startswith("'") and value[1:2] and \
            value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table a report publishes for other reports and for people to open.

    Text cells that a spreadsheet would run as a formula get a leading apostrophe
    (numbers stay numbers); the file appears complete or not at all (written
    beside, then renamed). :func:`read_csv` reads it back as written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = frame.copy()
    for col in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[col]) and \
                not pd.api.types.is_bool_dtype(safe[col]):
            safe[col] = safe[col].map(_guard)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    safe.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def read_csv(path: str | Path) -> pd.DataFrame:
    """A table written by :func:`write_csv`, with its text cells as they were."""
    frame = pd.read_csv(path, keep_default_na=True)
    for col in frame.columns:
        if pd.api.types.is_object_dtype(frame[col]) or \
                pd.api.types.is_string_dtype(frame[col]):
            frame[col] = frame[col].map(_unguard)
    return frame
