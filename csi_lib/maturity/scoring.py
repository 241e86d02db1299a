"""Scoring: ratings to achievement, practices to levels, areas to an overall maturity.

Achievement is kept in percentage points (0-100) so that medians of ratings
land exactly on the band limits instead of a float's hair beside them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from csi_lib.maturity.model import LEVELS, MaturityModel

__all__ = [
    "FULLY",
    "LARGELY",
    "SCALE",
    "Band",
    "agreement",
    "area_level",
    "area_results",
    "area_score",
    "band",
    "holding_back",
    "overall",
    "parse_rating",
    "practice_results",
]


@dataclass(frozen=True)
class Band:
    """One step of the ISO/IEC 33020 ordinal rating scale."""

    code: str
    name: str
    low: float       # exclusive, except for N
    high: float      # inclusive
    midpoint: float  # the achievement a bare letter counts as

    @property
    def range_text(self) -> str:
        return f"0–{self.high:g}%" if self.low == 0 else f">{self.low:g}–{self.high:g}%"


# ISO/IEC 33020:2019, 5.2.2 (also COBIT 2019): N 0-15%, P >15-50%, L >50-85%,
# F >85-100%. A letter counts as its band's midpoint, so that one "F" and one
# "L" have the median of an "L" and a percentage can be set beside a letter.
SCALE: tuple[Band, ...] = (
    Band("N", "not achieved", 0.0, 15.0, 7.5),
    Band("P", "partially achieved", 15.0, 50.0, 32.5),
    Band("L", "largely achieved", 50.0, 85.0, 67.5),
    Band("F", "fully achieved", 85.0, 100.0, 92.5),
)
_BY_CODE = {b.code: b for b in SCALE}
_WORDS = {"not": "N", "none": "N", "partially": "P", "partly": "P", "largely": "L",
          "fully": "F", "full": "F"}
LARGELY = 50.0  # a level's own practices must be above this ("at least largely")
FULLY = 85.0    # every lower level's practices must be above this ("fully")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_SCALE_HELP = "use N, P, L or F, or the share achieved as a percentage from 0 to 100 (e.g. 60%)"


def band(achievement: float) -> Band:
    """The band an achievement (0-100) falls in; ``NaN`` (not rated) is N."""
    if math.isnan(achievement):
        return SCALE[0]
    value = round(float(achievement), 9)
    return next(b for b in SCALE if value <= b.high) if value <= 100 else SCALE[-1]


def parse_rating(value: object, number_format: str = "General") -> tuple[str, float] | None:
    """``(text as shown, achievement 0-100)`` of one questionnaire cell; None when blank.

    Letters N/P/L/F (or the words not/partially/largely/fully, with or without
    "achieved") count as their band's midpoint; numbers are percentages. A number
    in a cell formatted as a percentage is a fraction (Excel stores 60% as 0.6).
    Raises ValueError with the fix when the value is not on the scale.
    """
    if value is None:
        return None
    # ValueError throughout, not TypeError: a cell of the wrong kind is a bad value.
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a rating: {_SCALE_HELP}")  # noqa: TRY004
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a rating: {_SCALE_HELP}")
        if "%" in (number_format or ""):   # Excel keeps 60% as 0.6
            percent = round(float(value) * 100, 9)
            return _percent(percent, f"{percent:g}%", has_sign=True)
        return _percent(float(value), f"{value:g}")
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a rating: {_SCALE_HELP}")  # noqa: TRY004
    text = " ".join(value.split())
    if not text:
        return None
    words = text.casefold().removesuffix(" achieved").strip()
    code = text.upper() if text.upper() in _BY_CODE else _WORDS.get(words)
    if code is not None:
        return code, _BY_CODE[code].midpoint
    number = text.removesuffix("%").strip()
    if _NUMBER.match(number):
        return _percent(float(number), text if text.endswith("%") else number,
                        has_sign=text.endswith("%"))
    raise ValueError(f"{text!r} is not a rating: {_SCALE_HELP}")


def _percent(percent: float, shown: str, *, has_sign: bool = False) -> tuple[str, float]:
    if not 0 <= percent <= 100:
        raise ValueError(f"{shown} is out of the scale: a percentage must be from 0 to 100 "
                         f"(or {_SCALE_HELP.removeprefix('use ')})")
    if 0 < percent < 1 and not has_sign:
        raise ValueError(f"{shown} is ambiguous: percentages run from 0 to 100, so write "
                         f"{percent * 100:g}% if you mean {percent * 100:g} percent "
                         f"(or {percent:g}% if you mean less than one percent)")
    return (shown if shown.endswith("%") else f"{shown}%"), percent


# ---------------------------------------------------------------- levels


def area_level(achievement: Mapping[int, Sequence[float]]) -> int:
    """The level (0-5) an area reaches from its practices' achievement (0-100) by level.

    ISO/IEC 33020 rule, per practice: level k is reached when every level-k
    practice is at least largely achieved (>50%) and every practice of each
    lower level fully achieved (>85%). An unrated practice (NaN) counts as not
    achieved. Level 0 ("incomplete") when level 1 is not reached.
    """
    level = 0
    for k in LEVELS:
        own = _values(achievement, k)
        lower = [a for j in LEVELS if j < k for a in _values(achievement, j)]
        if all(a > LARGELY for a in own) and all(a > FULLY for a in lower):
            level = k
        else:
            break
    return level


def area_score(achievement: Mapping[int, Sequence[float]]) -> float:
    """A continuous score 0-5 for trends: the level plus tenths of the way to the next one.

    The way to level k+1 is measured over the practices that gate it: those of
    level k (which must become fully achieved) and those of level k+1 (which
    must become largely achieved), each as the share of its requirement met,
    capped at 1, averaged. Rounded down to a tenth, so the score never shows a
    level that is not reached: ``floor(score) == area_level(...)``.
    """
    level = area_level(achievement)
    if level == LEVELS[-1]:
        return float(level)
    gate = [min(a / FULLY, 1.0) for a in _values(achievement, level)] if level else []
    gate += [min(a / LARGELY, 1.0) for a in _values(achievement, level + 1)]
    progress = sum(gate) / len(gate) if gate else 0.0
    # Every gate met but one sitting exactly on its limit: still below the next level.
    tenths = min(math.floor(progress * 10 + 1e-9), 9)
    return round(level + tenths / 10, 1)


def _values(achievement: Mapping[int, Sequence[float]], level: int) -> list[float]:
    return [0.0 if math.isnan(a) else float(a) for a in achievement.get(level, ())]


# ---------------------------------------------------------------- aggregation


def practice_results(responses: pd.DataFrame, model: MaturityModel) -> pd.DataFrame:
    """One row per practice of ``model`` with the respondents' median achievement.

    ``responses`` has one row per rating: ``respondent``, ``practice``,
    ``achievement`` (0-100). Columns out: the model's practice columns plus
    ``respondents`` (how many rated it), ``achievement`` (median, NaN when
    nobody did), ``band`` (N/P/L/F or "" when unrated), ``low``, ``high`` and
    ``spread`` (highest minus lowest rating; NaN with fewer than two ratings).
    """
    grouped = responses.groupby("practice", sort=False)
    stats = grouped["achievement"].agg(achievement="median", low="min", high="max")
    stats.insert(0, "respondents", grouped["respondent"].nunique())
    out = model.practice_table.merge(stats, left_on="practice", right_index=True, how="left")
    out["respondents"] = out["respondents"].fillna(0).astype("int64")
    out["spread"] = (out["high"] - out["low"]).where(out["respondents"] >= 2)
    out["band"] = ["" if math.isnan(a) else band(a).code for a in out["achievement"]]
    return out.reset_index(drop=True)


def _by_level(rows: pd.DataFrame) -> dict[int, list[float]]:
    return {int(k): g["achievement"].tolist() for k, g in rows.groupby("level")}


def area_results(practices: pd.DataFrame, model: MaturityModel) -> pd.DataFrame:
    """One row per area: ``level`` (0-5), ``score`` (0-5), practices rated and unrated."""
    rows = []
    for area in model.areas:
        mine = practices.loc[practices["area"] == area.id]
        levels = _by_level(mine)
        rows.append({"area": area.id, "area_name": area.name,
                     "level": area_level(levels), "score": area_score(levels),
                     "practices": len(mine),
                     "unrated": int((mine["respondents"] == 0).sum())})
    return pd.DataFrame(rows)


def overall(areas: pd.DataFrame) -> dict[str, object]:
    """The organisation's maturity: the lowest area's level, beside the averages.

    The lowest area sets the level (ITIL maturity assessment rule: a capability
    is only as mature as its weakest area); the average level and score show
    how far the other areas are ahead.
    """
    level = int(areas["level"].min())
    return {"level": level,
            "weakest": areas.loc[areas["level"] == level, "area"].tolist(),
            "mean_level": float(areas["level"].mean()),
            "mean_score": float(areas["score"].mean())}


def agreement(responses: pd.DataFrame, practices: pd.DataFrame, model: MaturityModel,
              threshold: float) -> pd.DataFrame:
    """How far respondents agree, per area.

    ``spread`` is the mean, over the area's practices rated by two or more
    people, of the highest minus the lowest rating (percentage points);
    ``split`` counts practices rated more than 50 points apart (e.g. P against
    F: two bands). ``disagree`` is set when ``spread`` exceeds ``threshold``
    (a share of the scale, e.g. 0.35).
    """
    who = responses.merge(model.practice_table[["practice", "area"]], on="practice")
    people = who.groupby("area")["respondent"].nunique()
    rows = []
    for area in model.areas:
        mine = practices.loc[practices["area"] == area.id]
        spreads = mine["spread"].dropna()
        mean = float(spreads.mean()) if len(spreads) else math.nan
        rows.append({"area": area.id, "area_name": area.name,
                     "respondents": int(people.get(area.id, 0)),
                     "compared": len(spreads), "spread": mean,
                     "split": int((spreads > 50).sum()),
                     "disagree": bool(not math.isnan(mean) and mean > threshold * 100)})
    return pd.DataFrame(rows)


def holding_back(practices: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """The practices that keep each area from its next level: the concrete to-do list.

    For an area at level k < 5: the level-k practices not yet fully achieved
    and the level-(k+1) practices not yet largely achieved. ``needs`` is the
    band each must reach; rows follow the model's order within an area,
    weakest first.
    """
    rows = []
    for area in areas.itertuples(index=False):
        if area.level >= LEVELS[-1]:
            continue
        mine = practices.loc[practices["area"] == area.area]
        ach = mine["achievement"].fillna(0.0)
        now = mine.loc[(mine["level"] == area.level) & (ach <= FULLY)].assign(needs="F")
        nxt = mine.loc[(mine["level"] == area.level + 1) & (ach <= LARGELY)].assign(needs="L")
        for part in (now, nxt):
            # Weakest first; unrated (NaN) before everything.
            ordered = part.assign(_a=part["achievement"].fillna(-1.0)).sort_values(
                ["_a", "practice"], kind="stable").drop(columns="_a")
            rows.extend({**r, "for_level": area.level + 1} for r in ordered.to_dict("records"))
    columns = [*practices.columns, "needs", "for_level"]
    return pd.DataFrame(rows, columns=columns)

