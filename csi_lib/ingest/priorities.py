"""Priority labels an export uses that the params do not map: listed with counts and the fix.

A label left unmapped ("4 - Low", "Urgent") excludes its tickets from the SLA
KPIs, so the consultant needs the labels themselves, how many tickets carry
each, and the lines to paste into the params file, not only a count.
"""

from __future__ import annotations

import pandas as pd

from csi_lib.params import PRIORITIES

__all__ = ["no_target_rule", "unmapped_rule"]

SHOWN = 10


def _quoted(label: str) -> str:
    return '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unmapped_rule(priority: pd.Series, table: str = "tickets") -> tuple[pd.Series, str, str]:
    """(rows whose priority is not P1..P5, the rule naming each label and its count, the fix).

    The fix holds the YAML to add under ``sources.<table>.values``, one entry per
    label, with ``P?`` where the consultant says which priority the label means.
    """
    mask = ~priority.isin(PRIORITIES)
    labels = priority[mask & priority.notna()].value_counts(sort=True)
    blank = int((mask & priority.isna()).sum())
    shown = [f"{label!r} ({n})" for label, n in labels.head(SHOWN).items()]
    if len(labels) > SHOWN:
        shown.append(f"{len(labels) - SHOWN} more labels ({int(labels.iloc[SHOWN:].sum())})")
    if blank:
        shown.append(f"empty ({blank})")
    rule = f"priority label not mapped to P1..P5: {', '.join(shown)}"
    entries = ", ".join(f"{_quoted(str(label))}: P?" for label in labels.index)
    fix = (f"add to the params file, replacing each P? by the priority the label means: "
           f"sources.{table}.values.priority: {{{entries}}}" if len(labels) else "")
    if blank:
        fix += ("; " if fix else "") + "fill the empty priorities in the source tool"
    return mask, rule, fix


def no_target_rule(priority: pd.Series, targets: list[str]) -> tuple[pd.Series, str, str]:
    """(rows whose priority P1..P5 has no SLA target, the rule, the fix)."""
    mask = priority.isin(PRIORITIES) & ~priority.isin(targets)
    missing = sorted(set(priority[mask]))
    rule = (f"priority {', '.join(missing)} has no SLA target (sla.targets has "
            f"{', '.join(targets)})")
    fix = (f"add {', '.join(f'sla.targets.{p}' for p in missing)} (response and resolution) to "
           "the params file, or map the export's label to a priority that has a target")
    return mask, rule, fix
