"""The three to five messages under the scorecard, each generated from a published table.

In order: the biggest deterioration and the biggest win of the quarter among the
scorecard's cells, the improvement reviews the gap analysis raised (and any
watermelons), the maturity level and its change, and the benefits the benefit review
found realised. A message whose table is absent is left out, never invented.
"""

from __future__ import annotations

import math

import pandas as pd

from csi_lib import catalogue
from csi_lib.display import esc
from csi_lib.pack.tables import PackTables

__all__ = ["MAX_MESSAGES", "benefit_counts", "biggest_move", "headlines"]

MAX_MESSAGES = 5
# Verdicts of the benefit review that count as a benefit realised.
REALISED = ("realised", "realized", "achieved", "met")


def _lower(label: str) -> str:
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _size(new: float, old: float, target: float) -> tuple[bool, float]:
    """Size of a change, comparable across KPIs: (has a target, how far it moved).

    A KPI with a target moves by a share of its target (5 points of a 90% SLA and
    1.2 h of a 24 h median compare); one without, by a share of its old value.
    KPIs with a target rank first: a leader reads the scorecard against targets,
    and a small count (a backlog of 13 growing to 21) moves a lot relatively.
    """
    if not math.isnan(target) and target:
        return True, abs(new - old) / abs(target)
    return False, (abs(new - old) / abs(old) if old else math.nan)


def biggest_move(card: pd.DataFrame, gaps: pd.DataFrame, *, better: bool) -> pd.Series | None:
    """The scorecard cell that moved most for the better (or worse) since last quarter
    (see :func:`_size`: cells with a target first).

    ``gaps`` supplies each cell's previous-quarter value. Returns the cell's row with
    ``previous`` and ``size`` added, or None when nothing moved that way.
    """
    prev = gaps.set_index(["service", "kpi"])["previous"]
    best, best_size = None, (False, 0.0)
    for _, c in card.iterrows():
        old = prev.get((c["service"], c["kpi"]), math.nan)
        kpi = catalogue.get(c["kpi"])
        if pd.isna(old) or pd.isna(c["value"]):
            continue
        moved = kpi.better(float(c["value"]), float(old))
        if moved is None or bool(moved) != better:
            continue
        size = _size(float(c["value"]), float(old), float(c["target"]))
        if not math.isnan(size[1]) and size[1] > 0 and size > best_size:
            best, best_size = c.copy(), size
            best["previous"] = float(old)
            best["size"] = size[1]
    return best


def _move_text(c: pd.Series, label: str, *, better: bool) -> str:
    kpi = catalogue.get(c["kpi"])
    verb = "improved" if better else "worsened"
    text = (f"**Biggest {'win' if better else 'deterioration'}: {esc(c['service_name'])}**, "
            f"{_lower(kpi.label)}: {verb} from {kpi.format(c['previous'])} to {c['shown']} "
            f"({kpi.format_change(c['value'], c['previous'])}) in {label}")
    if c["target_shown"]:
        text += f"; {c['status_word']} against its target of {c['target_shown']}"
    return text + "."


def benefit_counts(benefits: pd.DataFrame) -> tuple[int, int]:
    """Initiatives reviewed, and of them those whose verdict counts as realised."""
    verdicts = benefits["verdict"].astype(str).str.lower()
    return len(benefits), int(verdicts.str.startswith(REALISED).sum())


def headlines(tables: PackTables, card: pd.DataFrame, label: str,
              names: dict[str, str]) -> list[str]:
    """Three to five Markdown messages for page 1 (client text escaped)."""
    out = []
    worse = biggest_move(card, tables.gaps, better=False)
    if worse is not None:
        out.append(_move_text(worse, label, better=False))
    win = biggest_move(card, tables.gaps, better=True)
    if win is not None:
        out.append(_move_text(win, label, better=True))
    t = tables.triggers
    pairs = t.drop_duplicates(["service", "kpi"]) if len(t) else t
    melons = sorted(set(card.loc[card["watermelon"], "service"]))
    if len(pairs):
        by = pairs.groupby("service", sort=False).size().sort_values(ascending=False,
                                                                    kind="stable")
        where = ", ".join(f"{esc(names.get(s, s))} ({n})" for s, n in by.items())
        text = (f"**{len(pairs)} improvement review{'s' if len(pairs) != 1 else ''} "
                f"triggered** by the gap analysis in {len(by)} of {len(tables.services)} "
                f"services: {where}.")
    else:
        text = "**No improvement review triggered**: no KPI stayed beyond its threshold."
    if melons:
        text += (f" Watermelon{'s' if len(melons) > 1 else ''} (SLA green, users' experience "
                 f"red): {', '.join(esc(names.get(s, s)) for s in melons)}.")
    out.append(text)
    m = tables.maturity
    if m is not None and len(m):
        first = m.iloc[0]
        now, before = int(first["overall_level"]), first["previous_overall_level"]
        weakest = m.loc[m["weakest"].astype(bool)].sort_values("score", kind="stable")
        change = ("no previous assessment" if pd.isna(before) else
                  "unchanged" if int(before) == now else
                  f"{'up' if now > int(before) else 'down'} from level {int(before)}")
        up = int((m["change"] > 0).sum())
        w = weakest.iloc[0] if len(weakest) else m.sort_values("score").iloc[0]
        out.append(f"**Improvement capability: level {now} {esc(first['overall_level_name'])}"
                   f"** ({change}), set by its weakest area, {esc(w['area_name'])} (score "
                   f"{w['score']:.1f}); {up} of {len(m)} areas scored higher than last quarter.")
    b = tables.benefits
    if b is not None and len(b):
        reviewed, realised = benefit_counts(b)
        out.append(f"**Benefits: {realised} of {reviewed} delivered initiative"
                   f"{'s' if reviewed != 1 else ''} realised** the improvement expected, by "
                   "the benefit review.")
    return out[:MAX_MESSAGES]
