"""Register rows suggested by the data: gap-analysis triggers become proposed initiatives.

A trigger (a KPI breaching its target for several consecutive periods, or a
control-chart signal the wrong way) asks for an improvement review (ITIL CSI:
"identify opportunities"). Each (service, KPI) with a trigger becomes one
suggested initiative, unless an open initiative of the register already
targets that KPI on that service. Suggestions are never written into the
consultant's register: they are listed for the consultant to adopt.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from csi_lib import catalogue
from csi_lib.errors import DataError
from csi_lib.register.layout import ACTIVE

__all__ = ["SUGGESTION_COLUMNS", "TRIGGER_COLUMNS", "suggest", "suggest_opportunities"]

TRIGGER_COLUMNS = ("service", "kpi", "rule", "since", "periods", "evidence", "raised_in")
SUGGESTION_COLUMNS = ("id", "service", "kpi", "title", "rules", "since", "periods", "evidence",
                      "covered_by")


def _text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def suggest(triggers: pd.DataFrame | None, register: pd.DataFrame,
            service_names: Mapping[str, str]) -> pd.DataFrame:
    """One suggested initiative per (service, KPI) with a trigger; ``covered_by`` names the
    open register initiatives that already target it (then it is not a new proposal)."""
    if triggers is None or triggers.empty:
        return pd.DataFrame(columns=list(SUGGESTION_COLUMNS))
    missing = [c for c in TRIGGER_COLUMNS if c not in triggers.columns]
    if missing:
        raise DataError(f"the gap analysis triggers lack column(s) {missing}; they have "
                        f"{list(triggers.columns)}. csi_lib.gaps.triggers must return "
                        f"{', '.join(TRIGGER_COLUMNS)}")
    active = register.loc[register["status"].isin(ACTIVE)]
    rows = []
    for (service, kpi), group in triggers.groupby(["service", "kpi"], sort=True):
        label = catalogue.get(kpi).label if kpi in catalogue.CATALOGUE else str(kpi)
        covered = [
            rid for rid, k, s, others in zip(active["id"], active["kpi"], active["service"],
                                             active["other_services"], strict=True)
            if k == kpi and (s == service or service in others)
        ]
        since = sorted(_text(v) for v in group["since"])
        rows.append({
            "id": f"S-{service}-{kpi}",
            "service": service,
            "kpi": kpi,
            "title": f"Improvement review: {label}, {service_names.get(service, service)}",
            "rules": ", ".join(dict.fromkeys(_text(r) for r in group["rule"])),
            "since": since[0] if since else "",
            "periods": int(pd.to_numeric(group["periods"], errors="coerce").max())
            if pd.to_numeric(group["periods"], errors="coerce").notna().any() else None,
            "evidence": "; ".join(dict.fromkeys(_text(e) for e in group["evidence"] if _text(e))),
            "covered_by": ", ".join(covered),
        })
    return pd.DataFrame(rows, columns=list(SUGGESTION_COLUMNS))


def suggest_opportunities(opportunities: pd.DataFrame, register: pd.DataFrame,
                          period: str) -> pd.DataFrame:
    """Automation candidates and repeat-incident groups of the baseline as suggestions.

    ``opportunities`` is :func:`csi_lib.opportunities.suggestions`' table; each row
    becomes one suggestion, ``covered_by`` naming open initiatives of the register
    already on that KPI and service.
    """
    if opportunities.empty:
        return pd.DataFrame(columns=list(SUGGESTION_COLUMNS))
    active = register.loc[register["status"].isin(ACTIVE)]
    rows = []
    for i, opp in enumerate(opportunities.itertuples(index=False), start=1):
        covered = [
            rid for rid, k, s, others in zip(active["id"], active["kpi"], active["service"],
                                             active["other_services"], strict=True)
            if k == opp.linked_kpi and (s == opp.service or opp.service in others)
        ]
        rows.append({
            "id": f"O-{opp.service}-{i}",
            "service": opp.service,
            "kpi": opp.linked_kpi,
            "title": _text(opp.title),
            "rules": _text(opp.source),
            "since": period,
            "periods": None,
            "evidence": f"{_text(opp.evidence)} About {opp.hours_freed:,.0f} agent hours "
                        "a quarter could be freed.",
            "covered_by": ", ".join(covered),
        })
    return pd.DataFrame(rows, columns=list(SUGGESTION_COLUMNS))
