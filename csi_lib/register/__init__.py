"""The improvement (CSI) register: its layout, the blank template, the checked reader.

The register is the consultant's living list of initiatives; prioritisation
ranks and plans its open rows, the benefit review judges its delivered ones.
Both read it through :func:`read_register`, so a sheet is checked the same way
whichever report reads it first.

Submodules: ``layout`` (columns, statuses, header matching), ``reader`` (every
cell checked, every problem reported at once), ``graph`` (dependency loops),
``template`` (the blank workbook with drop-downs), ``excel`` (cells written as
text, atomic saves), ``demo`` (the demo client's register), ``outcomes`` (the
benefit review's published table, which other reports read). openpyxl is
imported only by the modules that need it.
"""

from __future__ import annotations

from csi_lib.register.layout import COLUMNS, STATUSES

__all__ = ["COLUMNS", "STATUSES"]
