"""A one-line live progress display on a terminal; silent elsewhere (CI logs, pipes)."""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


class Progress:
    """Jobs done / failed / remaining, the running jobs' names, elapsed and estimated time."""

    def __init__(self, total: int, stream: TextIO | None = None, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.total, self.done, self.failed, self.reused = total, 0, 0, 0
        self.started = time.monotonic()
        self._width = 0

    def add(self, n: int) -> None:
        self.total += n

    def finished(self, ok: bool, reused: bool = False) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        self.reused += 1 if reused else 0

    def line(self, running: list[str]) -> str:
        elapsed = time.monotonic() - self.started
        ran = self.done - self.reused
        left = self.total - self.done
        eta = f", about {_clock(elapsed / ran * left)} left" if ran and left else ""
        names = ", ".join(running[:3]) + (f" +{len(running) - 3}" if len(running) > 3 else "")
        return (f"[{self.done}/{self.total} done, {self.failed} failed, {left} to go] "
                f"{_clock(elapsed)} elapsed{eta}" + (f" | {names}" if names else ""))

    def show(self, running: list[str]) -> None:
        if not self.live:
            return
        cols = shutil.get_terminal_size((100, 20)).columns
        text = self.line(running)[: cols - 1]
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
