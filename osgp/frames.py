"""One frame seen on the medium: the single record a frame has from the driver's tap to the evidence.

A driver creates a :class:`FrameEvent` for every LPDU it sends or receives and hands the same object to
each tap: the session files it under its exchange, the campaign numbers it for trace.pcap and
results.json. Nothing is copied or matched up again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal


@dataclass(frozen=True)
class FrameEvent:
    """One frame seen by a driver. `t` is on the driver's clock; `note` says what was odd (e.g. lost)."""

    t: float
    direction: Literal["tx", "rx"]
    frame: bytes  # L2Hdr .. APDU followed by the CRC
    note: str = ""

    @cached_property
    def summary(self) -> str:
        """The decoded one-line summary, or why the frame does not decode (evidence never crashes)."""
        from osgp import lon
        from osgp.errors import DecodeError

        try:
            return lon.decode(self.frame).summary()
        except DecodeError as e:
            return f"undecodable: {e}"
