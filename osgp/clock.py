"""Injectable time sources.

Everything that waits or timestamps takes a :class:`Clock`, so self-tests and the simulated
power-line channel run on :class:`VirtualClock` (instant, deterministic) and the real drivers on
:class:`MonotonicClock`.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds, monotonic, arbitrary origin."""

    def sleep(self, seconds: float) -> None:
        """Let `seconds` pass (virtual clocks just advance)."""


class MonotonicClock:
    """Wall-clock time for real devices."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Time that only moves when told to: sleeping advances it instantly."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)

    def advance_to(self, t: float) -> None:
        if t > self._now:
            self._now = t
