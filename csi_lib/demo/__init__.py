"""Seeded exports for the embedded demo client (Northwind Logistics).

``write_demo_exports`` writes ``tickets.csv``, ``changes.csv`` and ``surveys.csv``
shaped like a ServiceNow-style export, with the column names and value labels
that ``params/demo.yaml`` maps. The data is synthetic but built to read like a
real client's: business-hours-heavy arrivals, lognormal handling times around
the SLA targets, a network service that deteriorates over the last four
quarters, an ERP service that improves, improvements planted on the dates of
the demo register's delivered initiatives (:mod:`.effects`) for the benefit
review to find, and a handful of deliberately broken rows so that the kit's
data-quality path always has something to report.

Everything is vectorised over numpy arrays (no per-row Python loops) and drawn
from one ``numpy.random.default_rng(seed)`` in a fixed order, so the same
arguments always give byte-identical files.

Times are simulated as int64 seconds since the epoch (UTC, i.e. real elapsed
time on the 24x7 SLA clock) and written as local wall-clock time. Rows are
nudged off the hour that a DST fall-back repeats, because a local timestamp
in that hour is ambiguous and could make a valid ticket look resolved before
it was opened; the only such rows in the files are the ones seeded on purpose.
"""

from __future__ import annotations

from csi_lib.demo.effects import EFFECTS, Effect
from csi_lib.demo.services import SCRIPT_SUBCATEGORY
from csi_lib.demo.write import GENERATOR_VERSION, demo_exports_current, write_demo_exports

__all__ = ["EFFECTS", "GENERATOR_VERSION", "SCRIPT_SUBCATEGORY", "Effect",
           "demo_exports_current", "write_demo_exports"]
