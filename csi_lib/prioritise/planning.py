"""Dependencies and the quarter's plan: what is done first, and what fits the capacity.

Before greenlighting, ITIL CSI practice asks for a dependency analysis across
services and a commitment of staff time: the share of team time ring-fenced
for improvement bounds the quarter. The plan is the set of initiatives of
greatest total score whose effort hours fit that capacity and whose
prerequisites are done, under way or in the same plan: a 0/1 knapsack with
precedence constraints, solved exactly by branch and bound.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from csi_lib.errors import DataError
from csi_lib.register.graph import find_cycle

__all__ = [
    "DECISIONS",
    "Plan",
    "Selection",
    "dependency_order",
    "plan_quarter",
    "select_within_capacity",
]

# What happens to each register row this quarter, in the order reports list them.
DECISIONS = ("committed", "in plan", "did not fit", "blocked", "below threshold", "delivered",
             "rejected")
_EPS = 1e-9
# Branch and bound explores at most this many nodes; beyond it the best plan found
# is kept and reported as not proven optimal (deterministic: a count, not a clock).
NODE_LIMIT = 200_000
# Deeper searches would exceed Python's recursion limit; such registers get the
# greedy plan, reported as not proven optimal.
MAX_EXACT_ITEMS = 400


def _check_acyclic(graph: Mapping[str, Sequence[str]]) -> None:
    loop = find_cycle(graph)
    if loop:
        raise DataError(f"dependencies form a loop {' → '.join(loop)}: an initiative cannot "
                        "wait for itself; remove one of these ids from a 'Depends on' cell")


def dependency_order(ids: Sequence[str], depends_on: Mapping[str, Sequence[str]]) -> list[str]:
    """``ids`` (best first) reordered so that nothing comes before what it depends on.

    A prerequisite is pulled up just before the first initiative that needs it,
    rather than its dependants being pushed down: it shares their urgency.
    Dependencies outside ``ids`` are ignored (done, under way or not planned).
    """
    position = {i: k for k, i in enumerate(ids)}
    graph = {i: [d for d in depends_on.get(i, ()) if d in position] for i in ids}
    _check_acyclic(graph)
    placed: set[str] = set()
    order: list[str] = []

    def place(item: str) -> None:
        if item in placed:
            return
        for dep in sorted(graph[item], key=position.__getitem__):
            place(dep)
        placed.add(item)
        order.append(item)

    for item in ids:
        place(item)
    return order


@dataclass(frozen=True)
class Selection:
    """The initiatives chosen within a capacity."""

    chosen: tuple[str, ...]
    value: float
    hours: float
    optimal: bool   # proven best (False when the search hit its node limit)
    nodes: int


def select_within_capacity(values: Mapping[str, float], hours: Mapping[str, float],
                           requires: Mapping[str, Sequence[str]], capacity: float,
                           node_limit: int = NODE_LIMIT) -> Selection:
    """The set of greatest total value whose hours fit ``capacity`` and that holds every
    chosen item's ``requires`` (other items of ``values``; anything else counts as done).

    Ties on value go to the first set found, which favours higher value per hour.
    """
    ids = [i for i in values if values[i] >= 0 and hours[i] <= capacity + _EPS]
    feasible = set(ids)
    req = {i: [d for d in requires.get(i, ()) if d in values] for i in ids}
    _check_acyclic(req)
    # An item whose prerequisite can never be chosen cannot be chosen either.
    changed = True
    while changed:
        changed = False
        for i in list(feasible):
            if any(d not in feasible for d in req[i]):
                feasible.discard(i)
                changed = True
    ids = [i for i in ids if i in feasible]
    density = {i: values[i] / max(hours[i], _EPS) for i in ids}
    order = _topological(ids, req, density)
    greedy = _greedy(ids, req, hours, density, capacity)
    if len(order) > MAX_EXACT_ITEMS:
        return Selection(tuple(greedy), sum(values[i] for i in greedy),
                         sum(hours[i] for i in greedy), optimal=False, nodes=0)
    search = _Search(order, req, values, hours, density, capacity=capacity,
                     node_limit=node_limit)
    search.best = (sum(values[i] for i in greedy), sum(hours[i] for i in greedy), set(greedy))
    search.run()
    value, used, chosen = search.best
    return Selection(tuple(i for i in order if i in chosen), value, used,
                     optimal=not search.stopped, nodes=search.nodes)


def _topological(ids: list[str], req: Mapping[str, list[str]],
                 density: Mapping[str, float]) -> list[str]:
    """Prerequisites first; among available items, the highest value per hour first."""
    waiting = {i: len(req[i]) for i in ids}
    needed_by: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for d in req[i]:
            needed_by[d].append(i)
    rank = {i: k for k, i in enumerate(ids)}
    heap = [(-density[i], rank[i], i) for i in ids if waiting[i] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, _, i = heapq.heappop(heap)
        order.append(i)
        for j in needed_by[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(heap, (-density[j], rank[j], j))
    return order


def _greedy(ids: list[str], req: Mapping[str, list[str]], hours: Mapping[str, float],
            density: Mapping[str, float], capacity: float) -> list[str]:
    """A good first plan: by value per hour, each item with the prerequisites it still lacks."""
    chosen: list[str] = []
    used = 0.0
    for i in sorted(ids, key=lambda x: -density[x]):
        if i in chosen:
            continue
        bundle, todo = [], [i]
        while todo:
            x = todo.pop()
            if x not in chosen and x not in bundle:
                bundle.append(x)
                todo.extend(req[x])
        extra = sum(hours[x] for x in bundle)
        if used + extra <= capacity + _EPS:
            chosen.extend(bundle)
            used += extra
    return chosen


class _Search:
    """Depth-first branch and bound over items in topological order.

    The bound is the fractional knapsack of the items still open (Dantzig 1957),
    which ignores precedence and so never underestimates.
    """

    def __init__(self, order: list[str], req: Mapping[str, list[str]],
                 values: Mapping[str, float], hours: Mapping[str, float],
                 density: Mapping[str, float], *, capacity: float, node_limit: int) -> None:
        self.order, self.req, self.values, self.hours = order, req, values, hours
        self.capacity, self.node_limit = capacity, node_limit
        self.by_density = sorted(order, key=lambda x: -density[x])
        self.position = {i: k for k, i in enumerate(order)}
        self.best: tuple[float, float, set[str]] = (0.0, 0.0, set())
        self.nodes = 0
        self.stopped = False

    def run(self) -> None:
        self._visit(0, set(), set(), 0.0, 0.0)

    def _bound(self, k: int, dropped: set[str], left: float) -> float:
        total = 0.0
        for i in self.by_density:
            if self.position[i] < k or i in dropped or any(d in dropped for d in self.req[i]):
                continue
            h = self.hours[i]
            if h <= left:
                total += self.values[i]
                left -= h
            else:
                return total + self.values[i] * left / h
        return total

    def _visit(self, k: int, chosen: set[str], dropped: set[str], value: float,
               used: float) -> None:
        self.nodes += 1
        if self.nodes > self.node_limit:
            self.stopped = True
            return
        if value > self.best[0] + _EPS:
            self.best = (value, used, set(chosen))
        if k == len(self.order):
            return
        if value + self._bound(k, dropped, self.capacity - used) <= self.best[0] + _EPS:
            return
        item = self.order[k]
        ok = all(d in chosen for d in self.req[item])
        if ok and used + self.hours[item] <= self.capacity + _EPS:
            chosen.add(item)
            self._visit(k + 1, chosen, dropped, value + self.values[item],
                        used + self.hours[item])
            chosen.discard(item)
            if self.stopped:
                return
        dropped.add(item)
        self._visit(k + 1, chosen, dropped, value, used)
        dropped.discard(item)


@dataclass(frozen=True)
class Plan:
    """The quarter's plan and what happened to every register row."""

    rows: pd.DataFrame      # the scored register plus decision, reason, plan_order, backlog_order
    capacity: float         # improvement hours of the quarter
    committed_hours: float  # work in progress carried in
    planned_hours: float    # new work chosen
    optimal: bool

    @property
    def used_hours(self) -> float:
        return self.committed_hours + self.planned_hours

    @property
    def free_hours(self) -> float:
        return self.capacity - self.used_hours


def plan_quarter(scored: pd.DataFrame, capacity: float) -> Plan:
    """Decide every row: committed, in plan, did not fit, blocked, below threshold, ...

    Ranks are renumbered over the proposals that can be planned (not blocked).
    ``scored`` has ``id, status, score, effort_hours, depends_on, passes_threshold,
    threshold_note, notes, rank`` (see :func:`csi_lib.prioritise.scoring.score_register`).
    """
    frame = scored.reset_index(drop=True)
    ids = list(frame["id"])
    deps = dict(zip(ids, frame["depends_on"], strict=True))
    _check_acyclic({i: [d for d in deps[i] if d in deps] for i in ids})
    status = dict(zip(ids, frame["status"], strict=True))
    decision: dict[str, str] = {}
    reason: dict[str, str] = {}
    for i, s, ok, note, notes in zip(ids, frame["status"], frame["passes_threshold"],
                                     frame["threshold_note"], frame["notes"], strict=True):
        if s == "delivered":
            decision[i], reason[i] = "delivered", "delivered"
        elif s == "rejected":
            decision[i] = "rejected"
            reason[i] = notes or "no reason recorded: add it in the register's 'Decision notes'"
        elif s == "in progress":
            decision[i], reason[i] = "committed", "in progress: its remaining hours come first"
        elif not ok:
            decision[i], reason[i] = "below threshold", note
    by_rank = frame.sort_values(["rank", "id"], na_position="last")["id"].tolist()
    for i in dependency_order(by_rank, deps):
        if i in decision:
            continue
        stuck = [d for d in deps[i] if decision.get(d) in ("rejected", "below threshold",
                                                           "blocked")]
        if stuck:
            decision[i] = "blocked"
            reason[i] = "depends on " + "; ".join(
                f"{d}, which is {'blocked' if decision[d] == 'blocked' else decision[d]}"
                for d in stuck)
    eligible = [i for i in by_rank if i not in decision]
    hours = dict(zip(ids, frame["effort_hours"].fillna(0.0), strict=True))
    committed = sum(hours[i] for i in ids if status[i] == "in progress")
    left = capacity - committed
    values = dict(zip(ids, frame["score"].fillna(0.0), strict=True))
    selection = select_within_capacity(
        {i: float(values[i]) for i in eligible}, {i: float(hours[i]) for i in eligible},
        {i: deps[i] for i in eligible}, max(left, 0.0))
    chosen = set(selection.chosen)
    free = max(left, 0.0) - selection.hours
    for i in eligible:
        decision[i] = "in plan" if i in chosen else "did not fit"
    for i in eligible:
        if i in chosen:
            reason[i] = "chosen within the quarter's capacity"
            continue
        waits = [d for d in deps[i] if decision.get(d) == "did not fit"]
        if hours[i] > max(left, 0.0) + _EPS:
            reason[i] = (f"needs {hours[i]:,.0f} h, more than the {max(left, 0.0):,.0f} h left "
                         "for new work this quarter: split it into smaller steps or fund it "
                         "separately")
        elif waits:
            reason[i] = f"waits for {', '.join(waits)}, not in this quarter's plan"
        else:
            reason[i] = (f"needs {hours[i]:,.0f} h; only {free:,.0f} h are left beside the "
                         "plan of highest total score")
    committed_ids = [i for i in by_rank if decision[i] == "committed"]
    plan_ids = committed_ids + dependency_order([i for i in by_rank if i in chosen], deps)
    backlog_ids = committed_ids + dependency_order(eligible, deps)
    # Ranks count only what can be planned: a blocked proposal gives up its rank.
    out = frame.assign(
        rank=frame["id"].map({i: k for k, i in enumerate(eligible, start=1)}).astype("Int64"),
        decision=frame["id"].map(decision),
        reason=frame["id"].map(reason),
        plan_order=frame["id"].map({i: k for k, i in enumerate(plan_ids, start=1)})
        .astype("Int64"),
        backlog_order=frame["id"].map({i: k for k, i in enumerate(backlog_ids, start=1)})
        .astype("Int64"),
    )
    return Plan(rows=out, capacity=capacity, committed_hours=committed,
                planned_hours=selection.hours, optimal=selection.optimal)
