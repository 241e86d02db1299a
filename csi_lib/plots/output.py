"""Showing a chart in a notebook: one PNG, drawn once, exactly the PDF text width.

IPython's inline backend saves a figure with ``bbox_inches="tight"``, which
draws it twice (once to measure what it covers, once to save) and sizes the
PNG by its content. The kit's charts lay themselves out to a known size, so
they are saved with a fixed margin instead: one draw, and every chart comes
out :attr:`Theme.width_in` wide, its fonts at their nominal size in the PDF.
"""

from __future__ import annotations

import base64
import io

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from csi_lib.plots.theme import _PAD_IN, THEME, _themed

__all__ = ["figure_png", "show_figure"]

# Glyphs as the font draws them, without FreeType's hinting to the pixel grid: a
# third less time per text-heavy chart, and text as wide as the layout measured it
# (csi_lib.plots.text measures unhinted outlines).
_DRAW = {"text.hinting": "no_hinting"}


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes at the theme's DPI, with :data:`_PAD_IN` of white around it."""
    w, h = fig.get_size_inches()
    buf = io.BytesIO()
    # Drawn under the theme: draw-time settings (hinting, snapping) never come from
    # the kernel's global state.
    with _themed(), mpl.rc_context(_DRAW):
        engine = fig.get_layout_engine()
        if engine is not None:
            # Lay out once, then save without the engine: savefig would otherwise
            # run it twice (a measuring draw first, then again in the real draw).
            engine.execute(fig)
            fig.set_layout_engine(None)
        try:
            fig.savefig(buf, format="png", dpi=THEME.dpi, facecolor="white",
                        pil_kwargs={"compress_level": 3},   # as small as 6, twice as fast
                        bbox_inches=Bbox.from_bounds(-_PAD_IN, -_PAD_IN, w + 2 * _PAD_IN,
                                                     h + 2 * _PAD_IN))
        finally:
            if engine is not None:
                fig.set_layout_engine(engine)
    return buf.getvalue()


def show_figure(fig: Figure, alt: str | None = None) -> None:
    """Display ``fig`` in the notebook as one PNG (``alt``: the text a screen reader says).

    Both reports embed that PNG. The kit's charts are built :data:`_FIG_W` wide,
    so the PNG is the PDF text width.
    """
    from IPython.display import display

    w, h = fig.get_size_inches()
    data = {
        "image/png": base64.b64encode(figure_png(fig)).decode("ascii"),
        "text/plain": f"<Figure size {w * THEME.dpi:.0f}x{h * THEME.dpi:.0f} "
                      f"with {len(fig.axes)} Axes>",
    }
    if alt:
        display(data, raw=True, metadata={"image/png": {"alt": alt}})
    else:
        display(data, raw=True)

