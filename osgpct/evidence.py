"""The campaign's evidence: every frame the driver sees, numbered as in trace.pcap and filed under the
running test case and step. The driver's FrameEvent is the record; it becomes a row of results.json
(osgpct.reports.model.Frame) only when the results are built."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from osgp.frames import FrameEvent
from osgpct.testcase import CaseRun


@dataclass(frozen=True)
class Filed:
    """A frame of the trace: its packet number, and the case and step it is evidence of."""

    n: int
    event: FrameEvent
    test_case: str
    step: int | None


class Evidence:
    """A driver tap: numbers each frame (its packet number in trace.pcap), writes it to the pcap and
    hands the number to the running case (CaseRun.add_frame)."""

    def __init__(self, pcap_path: Path | None, t0: float, current: Callable[[], CaseRun | None]) -> None:
        self.t0 = t0
        self.current = current
        self.filed: list[Filed] = []
        self._pcap = None
        self.busy = False  # inside tap(): the per-test alarm waits
        if pcap_path is not None:
            from osgpct.drivers.pcap import PcapWriter

            self._pcap = PcapWriter(pcap_path, time_base=time.time() - t0)

    def tap(self, event: FrameEvent) -> None:
        if event.note.startswith("lost"):  # never reached the other side: not in the trace
            return
        self.busy = True
        try:
            if self._pcap is not None:
                self._pcap.write(event)
            run = self.current()
            filed = Filed(len(self.filed) + 1, event, run.id if run else "", run.current_step if run else None)
            self.filed.append(filed)
            if run is not None:
                run.add_frame(filed.n)
        finally:
            self.busy = False

    def close(self) -> None:
        if self._pcap is not None:
            self._pcap.close()

    def frames(self) -> list[Any]:
        """The frames as results.json records them."""
        from osgpct.reports.model import Frame

        return [Frame(n=f.n, t=round(f.event.t - self.t0, 6), direction=f.event.direction,
                      hex=f.event.frame.hex(), summary=f.event.summary, test_case=f.test_case, step=f.step)
                for f in self.filed]
