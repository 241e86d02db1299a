"""Dependencies between register initiatives: finding a loop that no plan can satisfy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["find_cycle"]


def find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A dependency loop as ``[a, b, ..., a]`` (a waits for b ...), or None if there is none.

    ``graph`` maps an id to the ids it depends on; ids that are not keys are ignored.
    """
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in graph:
        if state.get(start):
            continue
        path, stack = [start], [iter(graph[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif nxt in graph and state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif nxt in graph and not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None
