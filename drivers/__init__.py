"""Transport drivers: move 14908-1 frames (LPDU + CRC) between the tester and a device.

Pick one by target URL with :func:`open_driver`; see docs/drivers.md.
"""

from .base import ACCEPTED_FORMS, Driver, FrameEvent, open_driver

__all__ = ["ACCEPTED_FORMS", "Driver", "FrameEvent", "open_driver"]
