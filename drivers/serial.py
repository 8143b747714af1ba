"""Serial driver: a power-line network interface (NI) in layer-2 mode, over pyserial.

URL: ``serial://DEVICE?framing=u61|slta&baud=N&timeout=S&...``; DEVICE is a path (``/dev/ttyUSB0``,
``COM3``) or a pyserial URL (``loop://``, ``socket://host:port``), taken up to the first ``?``.

Layer-2 mode (lower-layers digest §4.1 and §7(b), READ from lon-stack-dx lcs_link.c):
- downlink: NiCmd 0x12 (0x13 for priority frames), payload L2Hdr..APDU **without** the CRC, which
  the NI appends, so this driver strips it;
- uplink: 0x1C (PL) = zero-crossing byte, frame, CRC, two transceiver-register bytes; or 0x1A
  (non-PL) = frame and CRC;
- an NI reset (0x50) means the NI left layer-2 mode: send ``niLMODE`` 1 again, then the PL phase
  command (0x40|phase) once the NI confirms.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from osgp.clock import Clock
from osgp.errors import ConfigError, TransportError

from .base import Driver, UrlOptions, check_crc
from .framing import (
    ACK,
    MODE_L2,
    NACK,
    NI_COMM_TQ,
    NI_COMM_TQ_P,
    NI_INCOMING_L2,
    NI_INCOMING_L2_M1,
    NI_INCOMING_L2_M2,
    NI_LMODE,
    NI_PHASE,
    NI_RESET,
    LinkControl,
    NiMessage,
    SltaCodec,
    make_codec,
    next_seq,
    ni_name,
)

POLL = 0.02  # s: the longest a read blocks, so deadlines are met within this margin

# Defaults per framing; see ASM-DRV-04 (U61 rate) and ASM-DRV-05 (SLTA rate) in osgp/assumptions.yaml.
_DEFAULTS = {
    "u61": {"baud": 921600, "timeout": 1.0, "phase": 2, "uplink": NI_INCOMING_L2_M2},
    "slta": {"baud": 115200, "timeout": 0.1, "phase": None, "uplink": NI_INCOMING_L2},
}


@dataclass(frozen=True)
class SerialSettings:
    device: str
    framing: str = "u61"
    baud: int = 921600
    timeout: float = 1.0  # discard a frame left incomplete this long (U61 LLP 1 s, SLTA 100 ms)
    reliable: bool = False  # SLTA sequence byte + ACK/NACK
    ack_timeout: float = 1.0  # SLTA: ACK/NACK wait (guide ch. 9)
    retries: int = 5  # SLTA: attempts per frame (the adapter retries an uplink 5 times)
    phase: int | None = 2  # PL phase mode sent after each NI reset; None: never
    l2init: bool = True  # put the NI into layer-2 mode at open()
    init_timeout: float = 1.0  # how long open() waits for the NI to confirm layer-2 mode
    uplink: int = NI_INCOMING_L2_M2  # NI side only: 0x1C (PL) or 0x1A

    @classmethod
    def from_url(cls, url: str) -> SerialSettings:
        _, _, rest = url.partition(":")
        rest = rest[2:] if rest.startswith("//") else rest
        device, _, query = rest.partition("?")
        if not device:
            raise ConfigError(f"{url}: missing serial device; expected serial://DEVICE?framing=u61|slta "
                              "(DEVICE: /dev/ttyUSB0, COM3 or a pyserial URL such as loop://)")
        opts = UrlOptions(url, query)
        framing = opts.text("framing", "u61", choices=("u61", "slta"))
        d = _DEFAULTS[framing]
        phase_text = opts.text("phase", "none" if d["phase"] is None else str(d["phase"]))
        try:
            phase = None if phase_text == "none" else int(phase_text, 0)
        except ValueError:
            raise ConfigError(f"{url}: phase={phase_text!r} is not 0..15 or none") from None
        if phase is not None and not 0 <= phase <= 15:
            raise ConfigError(f"{url}: phase={phase} is not 0..15 or none")
        uplink = opts.text("uplink", f"{d['uplink']:x}", choices=("1a", "1c"))
        s = cls(
            device=device,
            framing=framing,
            baud=int(opts.number("baud", d["baud"], lo=50, hi=12_000_000, integer=True)),
            timeout=opts.number("timeout", d["timeout"], lo=0.001, hi=60),
            reliable=opts.flag("ack", False),
            ack_timeout=opts.number("ack_timeout", 1.0, lo=0.001, hi=60),
            retries=int(opts.number("retries", 5, lo=1, hi=100, integer=True)),
            phase=phase,
            l2init=opts.flag("l2init", True),
            init_timeout=opts.number("init_timeout", 1.0, lo=0.0, hi=60),
            uplink=int(uplink, 16),
        )
        opts.finish()
        if s.reliable and framing != "slta":
            raise ConfigError(f"{url}: ack=1 (reliable link) exists only with framing=slta")
        return s


def open_port(settings: SerialSettings) -> Any:
    """Open the port with pyserial; any failure is a TransportError naming the device."""
    import serial as pyserial

    try:
        return pyserial.serial_for_url(settings.device, baudrate=settings.baud, timeout=POLL,
                                       write_timeout=max(1.0, settings.timeout))
    except (pyserial.SerialException, OSError, ValueError) as e:
        raise TransportError(f"cannot open serial port {settings.device}: {e}") from e


PORT_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, TypeError)
try:
    from serial import SerialException as _SerialException

    PORT_ERRORS = (_SerialException, *PORT_ERRORS)
except ImportError:  # pragma: no cover - pyserial is a dependency
    pass


class SerialDriver(Driver):
    scheme = "serial"
    capabilities = frozenset()  # no INVALID_FRAMES: the NI appends its own CRC (layer-2 mode downlink)

    def __init__(self, settings: SerialSettings, *, port: Any = None, clock: Clock | None = None,
                 url: str = "") -> None:
        super().__init__(clock)
        self.settings = settings
        self.url = url or f"serial://{settings.device}?framing={settings.framing}"
        self._given_port = port
        self.port: Any = None
        self.codec = make_codec(settings.framing, settings.timeout, settings.reliable)
        self._rx: deque[bytes] = deque()
        self._link: deque[int] = deque()  # ACK/NACK bytes received while a send waits for one
        self._queued: deque[tuple[int, bytes]] = deque()  # NI commands decided while polling
        self._flushing = False
        self._seq = 0
        self._peer_seq: int | None = None
        self._awaiting_l2 = False
        self.l2_confirmed = False
        self.resets = 0

    @classmethod
    def from_url(cls, url: str, **context: Any) -> SerialDriver:
        settings = SerialSettings.from_url(url)
        return cls(settings, port=context.get("port"), clock=context.get("clock"), url=url)

    # -- lifecycle ----------------------------------------------------------------------------------

    def _do_open(self) -> None:
        self.port = self._given_port if self._given_port is not None else open_port(self.settings)
        if not self.settings.l2init:
            return
        self._queue_l2_entry()
        self._flush_queued()
        deadline = self.clock.now() + self.settings.init_timeout
        while not self.l2_confirmed and self.clock.now() < deadline:
            self._poll(block=True)
        if not self.l2_confirmed:
            self.observe(f"the NI did not confirm layer-2 mode within {self.settings.init_timeout:g} s "
                         "(no reset 0x50 after niLMODE 1); continuing")

    def _do_close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS:
                pass

    # -- byte I/O -----------------------------------------------------------------------------------

    def _port_error(self, what: str, e: BaseException) -> TransportError:
        return TransportError(f"{self.url}: serial port {self.settings.device} failed on {what} "
                              f"(unplugged or closed?): {e}")

    def _write(self, data: bytes) -> None:
        if self.port is None:
            raise TransportError(f"{self.url}: serial port is closed")
        try:
            self.port.write(data)
            self.port.flush()
        except PORT_ERRORS as e:
            raise self._port_error("write", e) from e

    def _poll(self, block: bool) -> None:
        """Read what the port has (waiting at most POLL when `block`), decode, act on it."""
        if self.port is None:
            raise TransportError(f"{self.url}: serial port is closed")
        before = self.clock.now()
        try:
            waiting = self.port.in_waiting
            data = self.port.read(max(1, waiting)) if (waiting or block) else b""
        except PORT_ERRORS as e:
            raise self._port_error("read", e) from e
        now = self.clock.now()
        if block and not data and now == before:
            self.clock.sleep(POLL)  # a virtual clock does not move by itself while we wait
            now = self.clock.now()
        events = self.codec.feed(data, now)
        self.codec.expire(now)
        for line in self.codec.drain():
            self.observe(line)
        for event in events:
            self._on_event(event)
        self._flush_queued()

    def _on_event(self, event: NiMessage | LinkControl) -> None:
        if isinstance(event, LinkControl):
            if event.code < 0:
                if self.settings.reliable:
                    self._write(bytes([NACK]))
            else:
                self._link.append(event.code)
            return
        if self.settings.reliable:
            self._write(bytes([ACK]))
            if event.seq is not None and event.seq == self._peer_seq:
                self.observe(f"slta: duplicate frame seq {event.seq} (our ACK was lost?); ignored")
                return
            self._peer_seq = event.seq
        self._on_message(event)

    def _on_message(self, msg: NiMessage) -> None:
        cmd, p = msg.cmd, msg.payload
        if cmd == NI_INCOMING_L2_M2:
            if len(p) < 8:  # DX treats a shorter mode-2 uplink as an error report
                self.observe(f"NI uplink 0x1C too short ({len(p)} bytes): {p.hex(' ')}")
                return
            self._deliver(p[1:-2])
        elif cmd in (NI_INCOMING_L2, NI_INCOMING_L2_M1):
            if self.settings.framing == "u61" and self.settings.phase is not None:
                # DX: a PL interface reporting 0x1A/0x1B has lost its phase setting.
                self.observe(f"NI reported 0x{cmd:02X} on power line: phase setting lost; re-sending it")
                self._queued.append((NI_PHASE | self.settings.phase, b""))
            self._deliver(p)
        elif cmd & 0xF0 == 0x30:
            self.observe(f"NI reports {ni_name(cmd)} (0x{cmd:02X}) {p.hex(' ')}".rstrip())
        elif cmd == NI_RESET:
            self._on_reset(p)
        else:
            self.observe(f"unexpected NI command 0x{cmd:02X} ({ni_name(cmd)}) ignored: {p.hex(' ')}".rstrip())

    def _on_reset(self, payload: bytes) -> None:
        self.resets += 1
        if not self.settings.l2init:
            self.observe(f"NI reset (payload {payload.hex(' ') or 'none'}); l2init=0 so left as is")
            return
        mode = payload[0] if payload else None
        if mode == MODE_L2 or (mode is None and self._awaiting_l2):
            self._awaiting_l2 = False
            self.l2_confirmed = True
            if self.settings.phase is not None:
                self._queued.append((NI_PHASE | self.settings.phase, b""))
            return
        self.observe(f"NI reset (mode {mode if mode is not None else 'unknown'}): re-entering layer-2 mode")
        self._queue_l2_entry()

    def _queue_l2_entry(self) -> None:
        self._awaiting_l2 = True
        self.l2_confirmed = False
        self._queued.append((NI_LMODE, bytes([MODE_L2])))

    def _flush_queued(self) -> None:
        if self._flushing:
            return
        self._flushing = True
        try:
            while self._queued:
                self._transmit(*self._queued.popleft())
        finally:
            self._flushing = False

    def _transmit(self, cmd: int, payload: bytes) -> None:
        """Write one NI message; in SLTA reliable mode wait for its ACK, resending on NACK/silence."""
        if not self.settings.reliable:
            self._write(self.codec.encode(cmd, payload))
            return
        assert isinstance(self.codec, SltaCodec)
        self._seq = next_seq(self._seq)
        data = self.codec.encode(cmd, payload, self._seq)
        self._link.clear()  # stale answers belong to earlier frames; later ones answer our resends
        for attempt in range(1, self.settings.retries + 1):
            self._write(data)
            deadline = self.clock.now() + self.settings.ack_timeout
            while not self._link and self.clock.now() < deadline:
                self._poll(block=True)
            code = self._link.popleft() if self._link else None
            if code == ACK:
                return
            self.observe(f"slta: {'NACK' if code == NACK else 'no ACK'} for seq {self._seq} "
                         f"(attempt {attempt} of {self.settings.retries})")
        raise TransportError(f"{self.url}: the adapter did not acknowledge a frame after "
                             f"{self.settings.retries} attempts")

    def _deliver(self, frame: bytes) -> None:
        note = ""
        if not check_crc(frame):
            note = "bad CRC"
            self.observe(f"received LPDU with a wrong CRC: {frame.hex(' ')}")
        self._emit("rx", frame, note)
        self._rx.append(frame)

    # -- Driver -------------------------------------------------------------------------------------

    def send(self, frame: bytes) -> None:
        self._require_open()
        frame = bytes(frame)
        if len(frame) < 3:
            raise TransportError(f"{self.url}: refusing to send a {len(frame)}-byte frame (L2Hdr..CRC)")
        note = ""
        if not check_crc(frame):
            # The NI computes the CRC itself: a deliberately wrong CRC cannot reach the line.
            note = "wrong CRC replaced by the NI"
            self.observe(f"frame with a wrong CRC sent over serial; the NI transmits its own CRC: "
                         f"{frame.hex(' ')}")
        self._emit("tx", frame, note)
        # Through the queue, so an NI command decided meanwhile never interleaves with an ACK wait.
        self._queued.append((NI_COMM_TQ_P if frame[0] & 0x80 else NI_COMM_TQ, frame[:-2]))
        self._flush_queued()

    def receive(self, deadline: float) -> bytes | None:
        self._require_open()
        while not self._rx:
            block = self.clock.now() < deadline
            self._poll(block)
            if not block:
                break
        return self._rx.popleft() if self._rx else None

    def describe(self) -> dict[str, str]:
        s = self.settings
        mode = "confirmed" if self.l2_confirmed else ("requested" if s.l2init else "not managed")
        d = {"driver": "serial", "target": self.url, "device": s.device, "framing": s.framing,
             "baud": str(s.baud), "frame_timeout_s": f"{s.timeout:g}", "layer2_mode": mode,
             "phase": "none" if s.phase is None else str(s.phase), "ni_resets": str(self.resets)}
        if s.framing == "slta":
            d["reliable"] = f"ack timeout {s.ack_timeout:g} s, {s.retries} attempts" if s.reliable else "off"
        return d
