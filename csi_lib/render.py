"""Turn an executed notebook into the HTML and PDF reports leaders read.

HTML: nbconvert's HTMLExporter with the ``csi`` template (templates/html/csi), which
loads nothing from the network. PDF: our own walk over the cells to pandoc
Markdown, pandoc to Typst with templates/typst/report.typ, Typst to PDF. Both run
in-process; the exporter and the Typst compiler are built on first use and kept.

Both hide code, prompts, stream output and cells tagged ``remove-cell``,
``parameters`` or ``injected-parameters``; ``remove-output`` hides a cell's
outputs. A notebook with an error output is refused with :class:`RenderError`.
"""

from __future__ import annotations

import base64
import contextlib
import html.parser
import importlib.util
import logging
import os
import re
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from csi_lib.errors import RenderError
from csi_lib.resources import kit_dir

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from typst import Compiler

__all__ = ["ReportMeta", "to_html", "to_pdf", "write_report"]

log = logging.getLogger(__name__)

HIDDEN_CELL_TAGS = frozenset({"remove-cell", "parameters", "injected-parameters"})
HIDDEN_OUTPUT_TAGS = frozenset({"remove-output"})
# Per output, the first of these present is shown (HTML report).
HTML_PRIORITY = [
    "text/html",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
    "text/markdown",
    "text/plain",
]
_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}
# pandoc Markdown as the notebook speaks it: no "png" captions under charts
# (implicit_figures), raw HTML shown as text (the Typst writer would drop it),
# and "@name" in prose is not a citation.
PANDOC_FORMAT = "markdown-implicit_figures-raw_html-citations+pipe_tables"
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
# What makes a browser fetch something as a page loads: src-like attributes and CSS.
_CSS_FETCH = re.compile(r"@import|url\(\s*+['\"]?+\s*+(?!data:)", re.IGNORECASE)
_FETCHING_ATTRS = {"src", "srcset", "data", "poster", "background", "xlink:href"}

_lock = threading.Lock()


@dataclass(frozen=True)
class ReportMeta:
    """What the title block of a report says."""

    title: str
    client: str
    period: str
    as_of: str
    service: str | None = None

    @property
    def page_title(self) -> str:
        """``<title> — <service> — <client> <period>``, without the service for client reports."""
        parts = [self.title, self.service, f"{self.client} {self.period}"]
        return " — ".join(p for p in parts if p)


def to_html(nb: nbformat.NotebookNode, meta: ReportMeta) -> str:
    """Render an executed notebook to a self-contained HTML page."""
    visible = _visible(nb, meta)
    resources = {
        "metadata": {"name": meta.page_title},
        "csi": {**asdict(meta), "service": meta.service or "", "page_title": meta.page_title},
    }
    exporter = _html_exporter()
    try:
        with _lock:
            page, _ = exporter.from_notebook_node(visible, resources=resources)
    except Exception as exc:  # jinja2 and nbconvert raise many kinds
        raise RenderError(
            f"HTML export failed for {_what(meta)}: {type(exc).__name__}: {exc}. "
            "Check templates/html/csi against the installed nbconvert."
        ) from exc
    _refuse_fetches(page, meta)
    return page


def to_pdf(nb: nbformat.NotebookNode, meta: ReportMeta) -> bytes:
    """Render an executed notebook to an A4 PDF (pandoc Markdown -> Typst -> PDF)."""
    visible = _visible(nb, meta)
    with tempfile.TemporaryDirectory(prefix="csi-pdf-") as tmp:
        workdir = Path(tmp)
        markdown = _notebook_markdown(visible, workdir)
        source = workdir / "report.typ"
        source.write_text(_pandoc_typst(markdown, meta), encoding="utf-8")
        inputs = {**asdict(meta), "service": meta.service or ""}
        try:
            with _lock:
                pdf, warnings = _typst_compiler().compile_with_warnings(
                    input=str(source), root=tmp, sys_inputs=inputs
                )
        except Exception as exc:  # typst raises TypstError and RuntimeError
            raise RenderError(
                f"Typst could not compile the PDF for {_what(meta)}: {exc}. "
                "If the error points into the body, a Markdown output of the notebook "
                "holds Typst-hostile content; escape client text with csi_lib.display.esc."
            ) from exc
    for warning in warnings:
        log.warning("Typst, %s: %s", _what(meta), getattr(warning, "message", warning))
    return pdf


def write_report(
    nb: nbformat.NotebookNode,
    meta: ReportMeta,
    html_path: Path | None,
    pdf_path: Path | None,
) -> None:
    """Render and write the HTML and/or PDF report; each file is replaced atomically.

    Both are rendered before either is written, so a failure leaves old files intact.
    """
    outputs: list[tuple[Path, bytes]] = []
    if html_path is not None:
        outputs.append((Path(html_path), to_html(nb, meta).encode("utf-8")))
    if pdf_path is not None:
        outputs.append((Path(pdf_path), to_pdf(nb, meta)))
    for path, data in outputs:
        _write_atomic(path, data)


def _notebook_markdown(nb: nbformat.NotebookNode, image_dir: Path) -> str:
    """Pandoc Markdown of a notebook already filtered for a report; images go to ``image_dir``.

    Per output: ``text/markdown``, else an image (written as a file), else
    ``text/plain`` of an ``execute_result``. HTML-only outputs are left out.
    """
    blocks: list[str] = []
    skipped: list[int] = []
    images = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            blocks.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.output_type not in ("display_data", "execute_result"):
                continue
            data = output.get("data", {})
            if "text/markdown" in data:
                blocks.append(_text(data["text/markdown"]))
            elif image := next((m for m in _IMAGE_TYPES if m in data), None):
                images += 1
                name = f"img-{images}.{_IMAGE_TYPES[image]}"
                (image_dir / name).write_bytes(_image_bytes(image, data[image]))
                alt = output.get("metadata", {}).get(image, {}).get("alt") or "Chart"
                blocks.append(_typst_image(name, alt))
            elif output.output_type == "execute_result" and "text/plain" in data:
                blocks.append(_code_block(_text(data["text/plain"])))
            else:
                skipped.append(index)
    if skipped:
        log.warning(
            "PDF leaves out %d output(s) that have no text/markdown, image or text/plain form "
            "(cells %s); display tables with csi_lib.display.show_table.",
            len(skipped),
            sorted(set(skipped)),
        )
    return "\n\n".join(b.strip("\n") for b in blocks if b.strip()) + "\n"


def _templates_dir() -> Path:
    """The kit's templates/ directory (html/ and typst/ live there)."""
    return kit_dir("templates")


def _what(meta: ReportMeta) -> str:
    return f"report '{meta.page_title}'"


def _visible(nb: nbformat.NotebookNode, meta: ReportMeta) -> nbformat.NotebookNode:
    """A copy of ``nb`` with only what a report shows; refuses notebooks with errors."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise RenderError(
                    f"Cannot render {_what(meta)}: cell {index} (id {cell.get('id', '?')!r}) "
                    f"failed with {output.get('ename', 'an error')}: "
                    f"{output.get('evalue', '')}. Reports are not rendered from failed "
                    "notebooks; fix the cause and run the notebook again."
                )
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_CELL_TAGS or cell.cell_type not in ("markdown", "code"):
            continue
        copy = nbformat.from_dict(cell)
        if cell.cell_type == "code":
            copy.source = ""
            copy.outputs = (
                []
                if tags & HIDDEN_OUTPUT_TAGS
                else [o for o in copy.outputs if o.output_type != "stream"]
            )
            if not copy.outputs:
                continue
        cells.append(copy)
    visible = nbformat.from_dict({k: v for k, v in nb.items() if k != "cells"})
    visible.cells = cells
    return visible


@cache
def _html_exporter() -> HTMLExporter:
    # Imported on first use: nbconvert takes a noticeable share of a second to import.
    from traitlets.config import Config

    base = _templates_dir() / "html"
    if not (base / "csi" / "index.html.j2").is_file():
        raise RenderError(
            f"HTML template not found at {base / 'csi'}; run from a csi-kit checkout "
            "that has templates/html/csi."
        )
    config = Config({"NbConvertBase": {"display_data_priority": HTML_PRIORITY}})
    return _report_exporter_class()(
        config=config,
        template_name="csi",
        extra_template_basedirs=[str(base)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_raw=True,
        exclude_unknown=True,
        exclude_anchor_links=True,
    )


@cache
def _report_exporter_class() -> type[HTMLExporter]:
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        """HTMLExporter without its closing pass over the page.

        That pass parses the whole page (images included) with BeautifulSoup and
        writes it out again, to give images without one an alt text and JupyterLab
        cells a tab stop: the csi template writes an alt on every image and has no
        JupyterLab cells, so the pass only costs time (about half the export).
        """

        def from_notebook_node(self, nb: nbformat.NotebookNode,
                               resources: dict | None = None,
                               **kw: object) -> tuple[str, dict]:
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            resources = self._init_resources(resources)
            self.register_filter("highlight_code", self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return ReportExporter


@cache
def _typst_template() -> Path:
    path = _templates_dir() / "typst" / "report.typ"
    if not path.is_file():
        raise RenderError(
            f"Typst template not found at {path}; run from a csi-kit checkout with "
            "templates/typst/report.typ."
        )
    return path


def _typst_compiler() -> Compiler:
    # One compiler per process: Typst's worker threads do not survive fork(), so a
    # compiler inherited from a parent process would hang on first use.
    return _typst_compiler_for(os.getpid())


@cache
def _typst_compiler_for(pid: int) -> Compiler:  # noqa: ARG001 - the cache key
    import typst

    # DejaVu Sans ships inside matplotlib on every machine that runs the kit and
    # matches the charts; system fonts stay available for scripts it lacks.
    return typst.Compiler(font_paths=_font_paths())


def _font_paths() -> list[str]:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    fonts = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"
    return [str(fonts)] if fonts.is_dir() else []


@cache
def _pandoc_path() -> str:
    """The pandoc executable that pypandoc-binary ships (or pandoc on PATH)."""
    import pypandoc

    try:
        return pypandoc.get_pandoc_path()
    except OSError as exc:
        raise RenderError(
            f"pandoc was not found: {exc}. Install pypandoc-binary (it ships pandoc)."
        ) from exc


def _pandoc_typst(markdown: str, meta: ReportMeta) -> str:
    # pandoc itself, not pypandoc.convert_text: that runs pandoc twice more per call
    # to check the format names, which are fixed here.
    markdown, shift = _number_sections(markdown)
    args = [
        _pandoc_path(),
        f"--from={PANDOC_FORMAT}",
        "--to=typst",
        f"--template={_typst_template()}",
        "--wrap=none",
        f"--shift-heading-level-by={shift}",
    ]
    try:
        done = subprocess.run(args, input=markdown.encode("utf-8"), capture_output=True,
                              check=False)
    except OSError as exc:
        raise RenderError(
            f"pandoc could not convert {_what(meta)} to Typst: {exc}. "
            "Check that pypandoc-binary is installed."
        ) from exc
    stderr = done.stderr.decode("utf-8", errors="replace").strip()
    if done.returncode != 0:
        raise RenderError(
            f"pandoc could not convert {_what(meta)} to Typst (exit {done.returncode}): "
            f"{stderr}. Check that pypandoc-binary is installed."
        )
    if stderr:
        log.warning("pandoc, %s: %s", _what(meta), stderr)
    return done.stdout.decode("utf-8")


def _number_sections(markdown: str) -> tuple[str, int]:
    """Make the notebook's top heading level Typst's level 1, so sections number 1, 2, ...

    A level-1 heading that occurs once, before any other, is a document heading
    ("# Service baseline: Email"): it stays unnumbered and the template drops its
    zero from the numbers of the sections below it. Returns the Markdown and the
    pandoc ``--shift-heading-level-by`` value.
    """
    headings = []  # (line index, level)
    lines = markdown.split("\n")
    fence = ""
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if match := _ATX_HEADING.match(line):
            headings.append((index, len(match.group(1))))
    if not headings:
        return markdown, 0
    top = min(level for _, level in headings)
    first_index, first_level = headings[0]
    single_title = (
        first_level == top == 1
        and len(headings) > 1
        and sum(level == top for _, level in headings) == 1
        and not lines[first_index].rstrip().endswith("}")
    )
    if single_title:
        lines[first_index] = lines[first_index].rstrip() + " {.unnumbered}"
    return "\n".join(lines), 1 - top


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _image_bytes(mimetype: str, value: str | list[str]) -> bytes:
    text = _text(value)
    if mimetype == "image/svg+xml":
        return text.encode("utf-8")
    return base64.b64decode(text)


def _typst_image(name: str, alt: str) -> str:
    # Raw Typst, not ![](...): pandoc wraps Markdown images in an inline box, and
    # a chart needs a block at text width (the template's ``chart`` caps its height).
    quoted = " ".join(str(alt).split()).replace("\\", "\\\\").replace('"', '\\"')
    return f'```{{=typst}}\n#chart("{name}", alt: "{quoted}")\n```'


def _code_block(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.rstrip()}\n{fence}"


class _FetchFinder(html.parser.HTMLParser):
    """Collects what would make a browser fetch something: scripts, non-data URLs in
    src-like attributes, <link href>, and CSS url()/@import."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        if tag == "script":
            self.found.append("<script> (reports carry no scripts)")
        for name, value in attrs:
            if not value:
                continue
            fetches = name in _FETCHING_ATTRS or (tag == "link" and name == "href")
            if fetches and not value.lstrip().lower().startswith(("data:", "#")):
                self.found.append(f"<{tag} {name}={value[:80]!r}>")
            if name == "style" and _CSS_FETCH.search(value):
                self.found.append(f"<{tag} style={value[:80]!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and (match := _CSS_FETCH.search(data)):
            self.found.append(f"<style> {data[match.start() : match.start() + 80]!r}")


def _refuse_fetches(page: str, meta: ReportMeta) -> None:
    finder = _FetchFinder()
    finder.feed(page)
    finder.close()
    if finder.found:
        raise RenderError(
            f"The HTML of {_what(meta)} would load {len(finder.found)} resource(s) from "
            f"outside the page, first {finder.found[0]}. Reports must be self-contained: "
            "embed images as data (display them from the notebook) instead of linking them."
        )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o644)  # mkstemp makes 0600; reports are meant to be shared
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
