"""Targets per service and KPI, and the red/amber/green status of a value against them.

A target comes from the service's override (``gaps.service_targets``), else the
client default (``kpi_targets``), else there is none: a KPI without a target is
reported as such, never judged against an invented one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from csi_lib import catalogue
from csi_lib.errors import ParamsError
from csi_lib.params.gaps import target_problem

if TYPE_CHECKING:
    from csi_lib.params import Params

__all__ = [
    "STATUSES",
    "Status",
    "directional_kpis",
    "rag",
    "status",
    "target_for",
    "target_table",
    "threshold",
    "validate_targets",
]

Status = Literal["green", "amber", "red", "no target", "no data"]
STATUSES: tuple[Status, ...] = ("green", "amber", "red", "no target", "no data")
# Floating-point slack so that a value exactly on a target or band edge (0.9 * 0.95
# is 0.8549999...) is judged as written, not by its last binary digit.
_SLACK = 1e-9


def directional_kpis() -> list[str]:
    """Catalogue KPIs with a better direction, in catalogue order: the ones a gap applies to."""
    return [k.id for k in catalogue.CATALOGUE.values() if k.direction != "neutral"]


def validate_targets(params: Params) -> None:
    """Fail unless every target names a catalogue KPI, fits its direction and unit,
    and every service override names a service of the client."""
    where = params.source_file or "the params"
    known = [s.id for s in params.services]
    problems = [
        f"gaps.service_targets names service {service!r}, which is not under `services` "
        f"(known: {', '.join(known)}): fix the id or remove the override"
        for service in params.gaps.service_targets if service not in known
    ]
    problems += [f"kpi_targets.{kpi_id}: {p}" for kpi_id, t in params.kpi_targets.items()
                 if (p := target_problem(kpi_id, t)) is not None]
    problems += [f"gaps.service_targets.{service}.{kpi_id}: {p}"
                 for service, targets in params.gaps.service_targets.items()
                 for kpi_id, t in targets.items()
                 if (p := target_problem(kpi_id, t)) is not None]
    if problems:
        raise ParamsError(f"{where} has {len(problems)} target problem(s):\n  "
                          + "\n  ".join(problems))


def target_for(params: Params, service: str, kpi_id: str) -> float | None:
    """The target of ``kpi_id`` for ``service``: the override, else the client default."""
    override = params.gaps.service_targets.get(service, {})
    if kpi_id in override:
        return override[kpi_id]
    return params.kpi_targets.get(kpi_id)


def target_table(params: Params) -> pd.DataFrame:
    """Every service and directional KPI with its target (NaN if none), where it comes
    from ("service override", "client default", "none") and its red threshold."""
    validate_targets(params)
    rows = []
    for svc in params.services:
        override = params.gaps.service_targets.get(svc.id, {})
        for kpi_id in directional_kpis():
            target = target_for(params, svc.id, kpi_id)
            source = ("service override" if kpi_id in override
                      else "client default" if target is not None else "none")
            direction = catalogue.get(kpi_id).direction
            rows.append({
                "service": svc.id, "kpi": kpi_id,
                "target": np.nan if target is None else float(target),
                "threshold": (np.nan if target is None
                              else threshold(target, direction, params.gaps.tolerance)),
                "source": source,
            })
    return pd.DataFrame(rows).astype({"service": "string", "kpi": "string",
                                      "source": "string"})


def threshold(target: float, direction: str, tolerance: float) -> float:
    """The edge of the amber band: beyond it a value is red (a breach)."""
    if direction == "higher":
        return target * (1 - tolerance)
    if direction == "lower":
        return target * (1 + tolerance)
    raise ParamsError(f"a KPI with direction {direction!r} has no threshold")


def status(values: pd.Series, targets: pd.Series, directions: pd.Series,
           tolerance: float) -> pd.Series:
    """Red/amber/green of each value against its target, by its KPI's direction.

    Green meets the target; amber misses it by no more than ``tolerance`` of the
    target (edges included); red misses it by more. "no target" where the target
    is NaN, "no data" where the value is. The three series share one index.
    """
    v = values.to_numpy(dtype="float64")
    t = targets.to_numpy(dtype="float64")
    higher = (directions == "higher").to_numpy()
    lower = (directions == "lower").to_numpy()
    sign = np.where(higher, 1.0, -1.0)
    edge = np.where(higher, t * (1 - tolerance), t * (1 + tolerance))
    # Distance on the good side of the target and of the band edge (>= 0 is inside).
    slack = _SLACK * np.maximum(1.0, np.abs(t))
    with np.errstate(invalid="ignore"):
        meets = sign * (v - t) >= -slack
        within = sign * (v - edge) >= -slack
    out = np.select(
        [np.isnan(t) | ~(higher | lower), np.isnan(v), meets, within],
        ["no target", "no data", "green", "amber"], default="red")
    return pd.Series(out, index=values.index, dtype="string")


def rag(value: float, target: float | None, direction: str, tolerance: float) -> Status:
    """The status of one value; see :func:`status`."""
    one = status(pd.Series([value], dtype="float64"),
                 pd.Series([np.nan if target is None else target], dtype="float64"),
                 pd.Series([direction]), tolerance)
    return one.iloc[0]  # type: ignore[return-value]
