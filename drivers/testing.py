"""Test doubles for exercising drivers without the reference device.

- :class:`EchoCore`: a device core that answers every frame with itself, or with what a
  function derives from it, optionally later.
- :class:`FdPort`: the few pyserial ``Serial`` members the serial driver uses, over a raw file
  descriptor (a pty master from ``os.openpty()`` has no path pyserial could open).
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class EchoCore:
    transform: Callable[[bytes], bytes | None] | None = None  # None from it: no answer
    delay: float = 0.0
    seen: list[tuple[float, bytes]] = field(default_factory=list)

    def on_frame(self, frame: bytes, now: float) -> list[tuple[float, bytes]]:
        self.seen.append((now, frame))
        reply = self.transform(frame) if self.transform else frame
        return [] if reply is None else [(now + self.delay, reply)]


class FdPort:
    def __init__(self, fd: int, timeout: float = 0.02) -> None:
        self.fd = fd
        self.timeout = timeout
        self.is_open = True

    @property
    def in_waiting(self) -> int:
        return struct.unpack("i", fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0"))[0]

    def read(self, n: int = 1) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], self.timeout)
        return os.read(self.fd, n) if ready else b""

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            os.close(self.fd)
