"""Record any driver's frames as a journal, and replay a device from one.

A journal is JSON lines, one per frame event: ``{"t": 12.5, "dir": "tx", "hex": "0109...", "note": ""}``.
Each line is flushed as it is written, so a crash loses at most the event being written.

``replay:PATH`` plays the device side back: every ``send`` is compared with the next recorded
tx frame (a mismatch is an observation showing both), and the rx frames recorded after that tx
are then returned by ``receive``, at the same offsets from the send as in the recording.
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import IO, Any

from osgp.clock import Clock, VirtualClock
from osgp.errors import ConfigError

from .base import Driver, FrameEvent, wait_until


class Journal:
    """A tap that appends each FrameEvent to a JSON-lines file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self.count = 0

    def __call__(self, event: FrameEvent) -> None:
        if self._file is None:
            return
        line = json.dumps({"t": round(event.t, 6), "dir": event.direction, "hex": event.frame.hex(),
                           "note": event.note})
        self._file.write(line + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_journal(path: str | Path) -> tuple[list[FrameEvent], list[str]]:
    """Events of a journal and the problems met reading it (a truncated last line is tolerated)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"replay:{path}: cannot read the journal: {e}") from e
    events: list[FrameEvent] = []
    problems: list[str] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            if d["dir"] not in ("tx", "rx"):
                raise ValueError(f"dir {d['dir']!r}")
            note = str(d.get("note", ""))
            events.append(FrameEvent(float(d["t"]), d["dir"], bytes.fromhex(d["hex"]), note))
        except (ValueError, KeyError, TypeError) as e:
            if n == len(lines):  # the write a crash interrupted
                problems.append(f"journal {p.name}: last line {n} is incomplete and was ignored")
            else:
                raise ConfigError(f"replay:{path}: line {n} is not a journal event ({e})") from e
    return events, problems


class ReplayDriver(Driver):
    scheme = "replay"

    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        super().__init__(clock if clock is not None else VirtualClock())
        self.path = Path(path)
        self.events, problems = read_journal(self.path)
        for p in problems:
            self.observe(p)
        self._cursor = 0
        self._due: deque[tuple[float, bytes]] = deque()
        self.mismatches = 0

    @classmethod
    def from_url(cls, url: str, **context: Any) -> ReplayDriver:
        _, _, path = url.partition(":")
        if not path:
            raise ConfigError(f"{url}: expected replay:PATH (a journal written by drivers.journal.Journal)")
        return cls(path, clock=context.get("clock"))

    def send(self, frame: bytes) -> None:
        self._require_open()
        frame = bytes(frame)
        now = self.clock.now()
        self._emit("tx", frame, t=now)
        skipped = 0
        while self._cursor < len(self.events) and self.events[self._cursor].direction != "tx":
            self._cursor += 1
            skipped += 1
        if self._due or skipped:
            self.observe(f"replay: {len(self._due) + skipped} recorded rx frame(s) were never received")
        self._due.clear()
        if self._cursor >= len(self.events):
            self.observe(f"replay: journal exhausted; no recorded counterpart for {frame.hex(' ')}")
            return
        recorded = self.events[self._cursor]
        self._cursor += 1
        if recorded.frame != frame:
            self.mismatches += 1
            self.observe(f"replay: sent frame differs from the journal: sent {frame.hex(' ')} "
                         f"recorded {recorded.frame.hex(' ')}")
        while self._cursor < len(self.events) and self.events[self._cursor].direction == "rx":
            e = self.events[self._cursor]
            self._cursor += 1
            if e.note.startswith("lost"):
                continue  # the channel model ate it in the recording
            self._due.append((now + max(0.0, e.t - recorded.t), e.frame))

    def receive(self, deadline: float) -> bytes | None:
        self._require_open()
        limit = max(deadline, self.clock.now())
        if self._due and self._due[0][0] <= limit:
            t, frame = self._due.popleft()
            wait_until(self.clock, t)
            self._emit("rx", frame, t=max(t, self.clock.now()))
            return frame
        wait_until(self.clock, deadline)
        return None

    def describe(self) -> dict[str, str]:
        return {"driver": "replay", "journal": str(self.path), "events": str(len(self.events)),
                "position": str(self._cursor), "mismatches": str(self.mismatches)}
