"""Stage timings: how long each step of a press took, for the log and `looksay status`."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Stopwatch:
    """Measures named stages and moments from one start time (monotonic clock)."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self.stages: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as ``name`` (seconds), even when it raises."""
        began = time.monotonic()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.monotonic() - began

    def mark(self, name: str) -> None:
        """Record the time from start to now as ``name``, the first time only."""
        self.stages.setdefault(name, time.monotonic() - self._start)

    def stop(self) -> dict[str, float]:
        """Record ``total`` and return all timings in seconds."""
        self.stages["total"] = time.monotonic() - self._start
        return dict(self.stages)

    def summary(self) -> str:
        """One line such as ``capture=0.02s caption=1.31s total=2.90s``."""
        return " ".join(f"{k}={v:.2f}s" for k, v in self.stages.items())
