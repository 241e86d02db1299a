"""The benefit review's executive summary, in words from the numbers."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from csi_lib.register.outcomes import CREDITED

__all__ = ["MEASURED", "Calibration", "calibration", "counts", "summary_text"]

# Verdicts that rest on a measured effect (the rest could not be judged yet).
MEASURED = ("achieved", "partly achieved", "no measurable effect", "worse")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def counts(table: pd.DataFrame) -> dict[str, int]:
    """How many initiatives got each verdict."""
    return {str(k): int(v) for k, v in table["verdict"].value_counts().items()}


@dataclass(frozen=True)
class Calibration:
    """Expected against realised improvement over the measured initiatives with an estimate."""

    n: int
    expected: float   # mean expected improvement (fraction)
    realised: float   # mean measured effect (fraction, net of estate and trend)

    @property
    def optimism(self) -> float:
        """Points by which the estimates exceeded what was realised (negative: pessimistic)."""
        return self.expected - self.realised


def calibration(table: pd.DataFrame) -> Calibration | None:
    """The team's estimates against what the review measured; None when nothing was measured."""
    rows = table.loc[table["verdict"].isin(MEASURED) & table["expected"].notna()
                     & table["change"].notna()]
    if rows.empty:
        return None
    return Calibration(len(rows), float(rows["expected"].mean()), float(rows["change"].mean()))


def _hours(table: pd.DataFrame, verdicts: tuple[str, ...]) -> float:
    return float(table.loc[table["verdict"].isin(verdicts), "effort_hours"].fillna(0).sum())


def summary_text(table: pd.DataFrame, *, first: str, last: str, pending: int) -> str:
    """The executive summary of a review table covering quarters ``first`` to ``last``."""
    c = counts(table)
    n = len(table)
    if n == 0:
        return (f"No initiative of the register was delivered between {first} and {last}, so "
                "there is no benefit to review this quarter.")
    judged = sum(c.get(v, 0) for v in MEASURED)
    parts = [f"**{plural(n, 'initiative')} delivered** between {first} and {last}. "
             f"Of the {judged} that can be judged, **{c.get('achieved', 0)} achieved** their "
             f"expected improvement, {c.get('partly achieved', 0)} partly, "
             f"**{c.get('no measurable effect', 0)} had no measurable effect**"
             + (f" and {c['worse']} made their KPI worse" if c.get("worse") else "") + "."]
    later = [f"{c[v]} {w}" for v, w in (("too early", "too early to judge"),
                                         ("not measurable", "not measurable"))
             if c.get(v)]
    if later:
        parts.append(" and ".join(later).capitalize() + " (see the table for why).")
    with_effect, without = _hours(table, CREDITED), _hours(table, ("no measurable effect",
                                                                   "worse"))
    parts.append(f"{with_effect:,.0f} team hours went into initiatives with a measured "
                 f"effect and {without:,.0f} into initiatives without one.")
    cal = calibration(table)
    if cal is not None:
        if cal.optimism > 0:
            tone = (f"expected improvements were on average {cal.optimism * 100:.0f} points "
                    "more optimistic than what was realised")
        else:
            tone = (f"what was realised exceeded the expected improvements by "
                    f"{-cal.optimism * 100:.0f} points on average")
        parts.append(f"Over the {plural(cal.n, 'measured initiative')}, the team expected "
                     f"{cal.expected:.0%} on average and realised {cal.realised:.0%}: {tone}; "
                     "weigh new estimates accordingly.")
    if pending:
        parts.append(f"{plural(pending, 'delivered initiative')} still "
                     f"{'waits' if pending == 1 else 'wait'} for a post-implementation review.")
    return " ".join(parts)
