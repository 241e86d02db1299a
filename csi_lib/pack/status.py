"""A period's headline status, for the index pages: ``status.json`` beside the pack."""

from __future__ import annotations

from typing import Any

from csi_lib.pack.headlines import benefit_counts
from csi_lib.pack.report import Pack
from csi_lib.pack.scorecard import STATUS, TREND, service_status

__all__ = ["period_status"]


def period_status(ctx: Pack) -> dict[str, Any]:
    """The period's scorecard, headline messages and counts as plain JSON values."""
    status = service_status(ctx.card)
    m = ctx.tables.maturity
    b = ctx.tables.benefits
    maturity = None
    if m is not None and len(m):
        first = m.iloc[0]
        before = first["previous_overall_level"]
        maturity = {"level": int(first["overall_level"]),
                    "name": str(first["overall_level_name"]),
                    "previous": None if before != before else int(before)}
    benefits = None
    if b is not None and len(b):
        reviewed, realised = benefit_counts(b)
        benefits = {"reviewed": reviewed, "realised": realised}
    return {
        "client": ctx.params.client.id, "client_name": ctx.params.client.name,
        "period": ctx.label,
        "services": {s: status.get(s, "no target") for s in ctx.tables.services},
        "counts": {s: int((status == s).sum()) for s in ("red", "amber", "green")},
        "maturity": maturity, "benefits": benefits,
        "headlines": list(ctx.messages),
        "scorecard": [{
            "service": r.service, "service_name": r.service_name, "kpi": r.kpi,
            "label": r.label, "value": r.shown, "target": r.target_shown,
            "status": r.status, "symbol": STATUS[r.status][0], "status_word": r.status_word,
            "trend": r.trend, "arrow": r.arrow, "trend_word": TREND.get(r.trend, ("", ""))[1],
            "watermelon": bool(r.watermelon)} for r in ctx.card.itertuples(index=False)],
    }
