"""Charts of the reports: one seaborn theme and the chart functions the notebooks call.

Every chart displays 6.7 in wide, the PDF text width on A4, so its fonts print
at their nominal size. Charts draw under the theme whatever the kernel's matplotlib
state (a kernel reused between notebooks keeps rcParams), so they do not rely on
:func:`set_theme` having run. They are bare :class:`~matplotlib.figure.Figure`
objects, never registered with pyplot: a notebook of many charts holds none of
them once displayed.

Reports display charts with :func:`show_figure`: one PNG, drawn once.

Modules: :mod:`.theme` (the look and the figure every chart starts from),
:mod:`.text` (titles, wrapping and number formats), :mod:`.axes` (unit and
period axes), :mod:`.inputs` (table checks), :mod:`.output` (a chart as one
PNG), and one module per chart: :mod:`.trends`, :mod:`.resolution`,
:mod:`.backlog`. The report packages build
their own charts from the building blocks re-exported here under their own names
(``_figure as _figure``); those are shared within the kit, not public API.
"""

from csi_lib.plots.axes import _decimals as _decimals
from csi_lib.plots.axes import _labelled as _labelled
from csi_lib.plots.axes import _period_axis as _period_axis
from csi_lib.plots.backlog import backlog_chart
from csi_lib.plots.output import figure_png, show_figure
from csi_lib.plots.resolution import resolution_distribution
from csi_lib.plots.text import _fmt_value as _fmt_value
from csi_lib.plots.text import _message_figure as _message_figure
from csi_lib.plots.text import _text_in as _text_in
from csi_lib.plots.text import _title as _title
from csi_lib.plots.text import _widest as _widest
from csi_lib.plots.text import _wrap as _wrap
from csi_lib.plots.theme import _FIG_W as _FIG_W
from csi_lib.plots.theme import THEME, Theme, set_theme
from csi_lib.plots.theme import _figure as _figure
from csi_lib.plots.theme import _themed as _themed
from csi_lib.plots.trends import kpi_trends

__all__ = ["THEME", "Theme", "backlog_chart", "figure_png", "kpi_trends",
           "resolution_distribution", "set_theme", "show_figure"]
