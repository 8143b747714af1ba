"""Harness capabilities a transport driver declares (as labgrid binds drivers to named protocols).

A driver lists what it can do beyond moving frames in ``capabilities``; the session asks through
:func:`capabilities_of`, the one place that reads them, so a driver that does not declare a
capability simply does not have it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Capability(StrEnum):
    #: Frames go on the medium exactly as given, wrong CRC or truncated included (a network interface
    #: that computes the CRC itself cannot do this).
    INVALID_FRAMES = "invalid-frames"
    #: The driver can switch the DUT off and on again (loopback: the reference device's power_cycle).
    POWER_CYCLE = "power-cycle"


def capabilities_of(driver: Any) -> frozenset[Capability]:
    """What `driver` declares it can do (nothing, for an object that declares nothing)."""
    return frozenset(getattr(driver, "capabilities", ()))
