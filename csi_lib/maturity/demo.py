"""Seeded questionnaires for the embedded demo client, one workbook per quarter.

The story the demo tells: governance, measuring and feedback loops rise
quarter on quarter, prioritising and change adoption creep up, cross-functional
collaboration stalls for the last three quarters (stagnation) and sustaining
momentum stays the weakest area (it sets the overall level). Leadership rates
change adoption well above what the team leads see, so that area is flagged
for disagreement. Three respondents answer the first quarter, four the rest;
one of them types percentages instead of letters.

Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed
order, so the same arguments always give the same ratings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from csi_lib.errors import ParamsError
from csi_lib.maturity.model import MaturityModel, load_model
from csi_lib.maturity.questionnaire import FIXED, GROUP, HEADER_ROW, SHEET, _put, _save, _workbook
from csi_lib.maturity.scoring import band
from csi_lib.periods import parse_quarter, quarter_freq, quarter_label

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = ["demo_quarters", "ensure_demo_questionnaires", "write_demo_questionnaires"]

# Where each area stands (a position on the 1-5 scale) in the last four
# quarters, oldest first; earlier quarters repeat the first value. Areas of a
# client's own model take these paths by position.
_PATHS = {
    "governance": (1.6, 2.1, 2.6, 3.2),
    "measuring": (2.2, 2.5, 2.9, 3.4),
    "prioritising": (1.6, 1.9, 2.3, 2.6),
    "collaboration": (2.1, 2.45, 2.45, 2.45),
    "feedback": (1.5, 1.9, 2.3, 2.8),
    "adoption": (1.7, 1.9, 2.2, 2.4),
    "momentum": (1.2, 1.4, 1.6, 1.8),
}


@dataclass(frozen=True)
class _Respondent:
    name: str
    role: str
    bias: float                 # points added to every rating: optimism or caution
    areas: tuple[str, ...]      # area ids rated; () = every area
    percent: bool = False       # types percentages instead of letters
    first: int = 0              # index of the first of the last four quarters answered


_RESPONDENTS = (
    _Respondent("Dana Whitfield", "Head of IT Service Management", 4.0, ()),
    _Respondent("Raj Patel", "Service Desk Manager", 0.0,
                ("governance", "measuring", "collaboration", "feedback", "adoption",
                 "momentum")),
    _Respondent("Lena Okafor", "Network Operations Lead", -4.0,
                ("measuring", "prioritising", "collaboration", "feedback", "adoption",
                 "momentum"), percent=True),
    _Respondent("Tom Berger", "ERP Product Owner", 1.0,
                ("governance", "prioritising", "collaboration", "adoption", "momentum"),
                first=1),
)
# Leadership sees change adoption further along than the team leads do.
_ADOPTION_VIEW = {"Dana Whitfield": 35.0, "Lena Okafor": -20.0}
_COMMENTS = ("Started this quarter.", "Only in the ERP team so far.",
             "=> see the CAB minutes", "Depends on who chairs the meeting.",
             "Planned for next quarter.")


def demo_quarters(last: str, n: int = 4, fiscal_year_start_month: int = 1) -> list[str]:
    """``n`` quarter labels ending with ``last``, oldest first."""
    end = parse_quarter(last, fiscal_year_start_month)
    return [quarter_label(end - i) for i in range(n - 1, -1, -1)]


def _achievement(position: float, level: int) -> float:
    """Expected achievement (0-100) of a level's practices for an area at ``position``.

    A logistic step: practices of levels well below the position are fully in
    place, those just above it partially, those far above it not at all.
    """
    return 100.0 / (1.0 + np.exp(-2.6 * (position - level)))


def _position(area_index: int, area_id: str, i: int, n: int) -> float:
    path = _PATHS.get(area_id) or list(_PATHS.values())[area_index % len(_PATHS)]
    return path[max(0, i - (n - len(path)))]


def _ratings(model: MaturityModel, quarters: Sequence[str],
             seed: int) -> dict[str, list[tuple[_Respondent, dict[str, tuple[object, str, str]]]]]:
    """Per quarter: each respondent and their {practice id: (rating, evidence, comment)}."""
    rng = np.random.default_rng(seed)
    table = model.practice_table
    area_index = {a.id: i for i, a in enumerate(model.areas)}
    # A respondent's view of a practice persists between quarters; only a
    # little quarter-to-quarter noise is added, as with real panels.
    views = rng.normal(0.0, 9.0, size=(len(_RESPONDENTS), len(table)))
    n = len(quarters)
    out: dict[str, list[tuple[_Respondent, dict[str, tuple[object, str, str]]]]] = {}
    for i, quarter in enumerate(quarters):
        noise = rng.normal(0.0, 1.5, size=(len(_RESPONDENTS), len(table)))
        pick = rng.random(size=(len(_RESPONDENTS), len(table), 2))
        answered = []
        for r, person in enumerate(_RESPONDENTS):
            if i - (n - 4) < person.first:    # joined the panel later
                continue
            mine: dict[str, tuple[object, str, str]] = {}
            for j, row in enumerate(table.itertuples(index=False)):
                if person.areas and row.area in _PATHS and row.area not in person.areas:
                    continue
                pos = _position(area_index[row.area], row.area, i, n)
                value = _achievement(pos, row.level) + person.bias + views[r, j] + noise[r, j]
                if row.area == "adoption":
                    value += _ADOPTION_VIEW.get(person.name, 0.0)
                value = float(np.clip(value, 0.0, 100.0))
                rating: object = (f"{5 * round(value / 5):.0f}%" if person.percent
                                  else band(value).code)
                evidence = row.evidence if value > 50 and pick[r, j, 0] < 0.35 else ""
                comment = _COMMENTS[int(pick[r, j, 1] * 100) % len(_COMMENTS)] \
                    if pick[r, j, 1] < 0.04 else ""
                mine[row.practice] = (rating, evidence, comment)
            answered.append((person, mine))
        out[quarter] = answered
    return out


def write_demo_questionnaires(folder: Path | str, model: MaturityModel, quarters: Sequence[str],
                              seed: int, *, client: str = "", overwrite: bool = True
                              ) -> dict[str, Path]:
    """Write the demo client's completed questionnaires, ``<quarter>.xlsx`` in ``folder``.

    Returns {quarter: path} of the files written; with ``overwrite=False``
    existing files are left alone (and not returned). The ratings of a quarter
    do not depend on which files are written.
    """
    if not quarters:
        raise ParamsError("write_demo_questionnaires needs at least one quarter, e.g. ['2026Q3']")
    folder = Path(folder)
    written: dict[str, Path] = {}
    for quarter, answered in _ratings(model, quarters, seed).items():
        path = folder / f"{quarter}.xlsx"
        if path.exists() and not overwrite:
            continue
        wb = _workbook(model, client=client, quarter=quarter,
                       respondents=[p.name for p, _ in answered],
                       roles=[p.role for p, _ in answered], slots=len(answered), services=())
        ws = wb[SHEET]
        first = len(FIXED) + 1
        rows = {row.practice: HEADER_ROW + 1 + k
                for k, row in enumerate(model.practice_table.itertuples(index=False))}
        for slot, (_, mine) in enumerate(answered):
            col = first + slot * len(GROUP)
            for practice, (rating, evidence, comment) in mine.items():
                r = rows[practice]
                _put(ws, r, col, rating)
                if evidence:
                    _put(ws, r, col + 1, evidence)
                if comment:
                    _put(ws, r, col + 2, comment)
        written[quarter] = _save(wb, path)
    return written


def ensure_demo_questionnaires(params: Params) -> dict[str, Path]:
    """Write the demo client's questionnaires if params ask for demo data and some are missing.

    The quarters are the four ending with the quarter of ``demo.last_month``.
    Returns the files written (none when all exist or the client is not the demo).
    """
    settings = params.maturity
    if params.demo is None or settings.questionnaires is None:
        return {}
    fiscal = params.reporting.fiscal_year_start_month
    # The demo's last month closes its last assessed quarter.
    last = quarter_label(pd.Period(params.demo.last_month, freq="M").asfreq(quarter_freq(fiscal)))
    quarters = demo_quarters(last, 4, fiscal)
    folder = settings.questionnaires
    if all((folder / f"{q}.xlsx").is_file() for q in quarters):
        return {}
    model = load_model(settings.model)
    return write_demo_questionnaires(folder, model, quarters, params.demo.seed,
                                     client=params.client.name, overwrite=False)
