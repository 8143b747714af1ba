"""Serial framings between a host and a 14908-1 network interface (NI): MIP/U61 and SLTA-10.

Both are byte-stream codecs used by the two ends of the link (drivers.serial on the host,
drivers.ni_sim on the simulated NI). ``feed(data, now)`` returns whole messages; anything
malformed becomes a line in ``observations`` and the codec hunts for the next frame.

MIP/U61 (lower-layers digest §4.1, READ from izot/lon-driver u61/U61Link.c and lon-stack-dx
lon_usb_link.c): ``7E 00 LEN NiCmd payload``, LEN = 1 + len(payload); 0x7E is doubled in the
payload only (LEN and NiCmd travel raw, EPR 69432); ``7E 00`` inside a frame restarts framing;
``7E`` followed by anything else is a frame error; no checksum; per-frame timeout 1000 ms.

SLTA-10 buffered link (digest §4.2, READ from the SLTA-10 User's Guide ch. 9):
``len ~len NiCmd data checksum``, len = 1 + len(data), checksum = two's complement of the sum of
NiCmd and data; no start byte (the len/~len pair resynchronises). Reliable mode puts a sequence
byte before len and the receiver answers ACK 0x06 or NACK 0x15; byte-to-byte timeout 100 ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from osgp.errors import TransportError

# NI command bytes (digest §4.1 table, READ from lon-stack-dx lon_types.h and U61Defs.h).
NI_COMM_TQ = 0x12  # outgoing message, normal transaction queue (L2 mode: L2Hdr..APDU, no CRC)
NI_COMM_TQ_P = 0x13  # ... priority queue
NI_INCOMING_L2 = 0x1A  # incoming L2 frame with CRC (non-PL interfaces)
NI_INCOMING_L2_M1 = 0x1B
NI_INCOMING_L2_M2 = 0x1C  # PL: zero-crossing byte, frame, CRC, 2 transceiver register bytes
NI_ERROR = 0x30
NI_CRC_ERROR = 0x31
NI_PHASE = 0x40  # | phase mode; DX sends 0x40|2 after every NI reset on PL
NI_RESET = 0x50  # uplink payload: [L2/L5 mode][channel type]
NI_STATUS = 0xE0
NI_LMODE = 0xE5  # payload 1 byte: 1 = layer 2, 0 = layer 5

MODE_L5, MODE_L2 = 0, 1
ACK, NACK = 0x06, 0x15  # SLTA reliable mode
U61_MAX_SHORT = 240  # MAXLONMSGNOEX: longer messages use the extended length form (digest §4.1)

NI_NAMES = {NI_COMM_TQ: "niCOMM|niTQ", NI_COMM_TQ_P: "niCOMM|niTQ_P", NI_INCOMING_L2: "incoming L2",
            NI_INCOMING_L2_M1: "incoming L2 mode 1", NI_INCOMING_L2_M2: "incoming L2 mode 2",
            NI_ERROR: "error", NI_CRC_ERROR: "CRC error", NI_RESET: "reset", NI_STATUS: "status",
            NI_LMODE: "niLMODE"}


def ni_name(cmd: int) -> str:
    if cmd & 0xF0 == NI_PHASE:
        return f"phase mode {cmd & 0x0F}"
    return NI_NAMES.get(cmd, "unknown")


@dataclass(frozen=True)
class NiMessage:
    cmd: int
    payload: bytes
    seq: int | None = None  # SLTA reliable mode only


@dataclass(frozen=True)
class LinkControl:
    """A one-byte ACK/NACK (SLTA reliable mode), or a rejected frame that deserves a NACK."""

    code: int  # ACK, NACK, or -1 for "a frame arrived damaged: answer NACK"


Event = NiMessage | LinkControl


@dataclass
class _Codec:
    timeout: float  # discard a frame left incomplete this long (s)
    observations: list[str] = field(default_factory=list)

    def drain(self) -> list[str]:
        out, self.observations = self.observations, []
        return out


class U61Codec(_Codec):
    name = "u61"

    _HUNT, _SYNC, _LEN, _XLEN1, _XLEN2, _CMD, _BODY, _ESC = range(8)

    def __init__(self, timeout: float = 1.0) -> None:
        super().__init__(timeout)
        self._reset()
        self._junk = 0

    def _reset(self) -> None:
        self._state = self._HUNT
        self._raw = bytearray()
        self._need = 0
        self._cmd = 0
        self._body = bytearray()
        self._started = 0.0

    def encode(self, cmd: int, payload: bytes = b"") -> bytes:
        n = 1 + len(payload)
        if n > 0xFFFF:
            raise TransportError(f"u61: a {len(payload)}-byte payload does not fit the length field")
        length = bytes([n]) if n <= U61_MAX_SHORT else bytes([0xFF, n >> 8, n & 0xFF])
        return b"\x7e\x00" + length + bytes([cmd]) + payload.replace(b"\x7e", b"\x7e\x7e")

    def feed(self, data: bytes, now: float) -> list[Event]:
        out: list[Event] = []
        for b in data:
            self._step(b, now, out)
        if self._junk and self._state != self._HUNT:
            self._flush_junk()
        return out

    def _flush_junk(self) -> None:
        self.observations.append(f"u61: skipped {self._junk} byte(s) outside a frame")
        self._junk = 0

    def _start(self, now: float) -> None:
        self._reset()
        self._state = self._LEN
        self._raw += b"\x7e\x00"
        self._started = now

    def _step(self, b: int, now: float, out: list[Event]) -> None:
        s = self._state
        if s == self._HUNT:
            if b == 0x7E:
                self._state = self._SYNC
            else:
                self._junk += 1
            return
        if s == self._SYNC:
            if b == 0x00:
                if self._junk:
                    self._flush_junk()
                self._start(now)
            elif b != 0x7E:
                self._junk += 2
                self._state = self._HUNT
            return
        self._raw.append(b)
        if s == self._LEN:
            if b == 0:
                self._abandon("zero length")
            elif b == 0xFF:
                self._state = self._XLEN1
            else:
                self._need, self._state = b, self._CMD
        elif s == self._XLEN1:
            self._need, self._state = b << 8, self._XLEN2
        elif s == self._XLEN2:
            self._need |= b
            if self._need == 0:
                self._abandon("zero length")
            else:
                self._state = self._CMD
        elif s == self._CMD:
            self._cmd = b
            self._state = self._BODY
            self._complete(out)
        elif s == self._BODY:
            if b == 0x7E:
                self._state = self._ESC
            else:
                self._body.append(b)
                self._complete(out)
        elif s == self._ESC:
            if b == 0x7E:
                self._body.append(0x7E)
                self._state = self._BODY
                self._complete(out)
            elif b == 0x00:
                self.observations.append(f"u61: resync (7E 00) inside a frame; abandoned {self._describe()}")
                self._start(now)
            else:
                self._abandon(f"garbled escape 7E {b:02X}")

    def _complete(self, out: list[Event]) -> None:
        if len(self._body) + 1 == self._need:
            out.append(NiMessage(self._cmd, bytes(self._body)))
            self._reset()

    def _describe(self) -> str:
        return f"{len(self._body)} of {max(self._need - 1, 0)} payload bytes: {self._raw.hex(' ')}"

    def _abandon(self, why: str) -> None:
        self.observations.append(f"u61: {why}; frame dropped ({self._raw.hex(' ')})")
        self._reset()

    def expire(self, now: float) -> None:
        if self._state not in (self._HUNT, self._SYNC) and now - self._started > self.timeout:
            self.observations.append(f"u61: incomplete frame discarded after {self.timeout:g} s "
                                     f"({self._describe()})")
            self._reset()

    @property
    def busy(self) -> bool:
        return self._state not in (self._HUNT, self._SYNC)


class SltaCodec(_Codec):
    name = "slta"

    def __init__(self, timeout: float = 0.1, reliable: bool = False) -> None:
        super().__init__(timeout)
        self.reliable = reliable
        self._buf = bytearray()
        self._last_byte = 0.0

    def encode(self, cmd: int, payload: bytes = b"", seq: int | None = None) -> bytes:
        n = 1 + len(payload)
        if n > 0xFF:
            raise TransportError(f"slta: a {len(payload)}-byte payload exceeds the 254-byte link limit")
        checksum = -(cmd + sum(payload)) & 0xFF
        head = bytes([seq & 0xFF]) if self.reliable and seq is not None else b""
        return head + bytes([n, n ^ 0xFF, cmd]) + payload + bytes([checksum])

    @staticmethod
    def control(code: int) -> bytes:
        return bytes([code])

    def feed(self, data: bytes, now: float) -> list[Event]:
        if data:
            self.expire(now)
            self._buf += data
            self._last_byte = now
        out: list[Event] = []
        buf = self._buf
        skip = 1 if self.reliable else 0
        while buf:
            if self.reliable and buf[0] in (ACK, NACK):
                out.append(LinkControl(buf[0]))
                del buf[0]
                continue
            if len(buf) < skip + 2:
                break
            n, inv = buf[skip], buf[skip + 1]
            if n ^ inv != 0xFF or n == 0:
                self.observations.append(f"slta: length {n:02X} / ~length {inv:02X} mismatch; "
                                         "skipping one byte to resynchronise")
                del buf[0]
                continue
            end = skip + 2 + n + 1
            if len(buf) < end:
                break
            cmd, payload, checksum = buf[skip + 2], bytes(buf[skip + 3:end - 1]), buf[end - 1]
            seq = buf[0] if self.reliable else None
            frame = bytes(buf[:end])
            del buf[:end]
            if (cmd + sum(payload) + checksum) & 0xFF:
                self.observations.append(f"slta: bad checksum, frame dropped ({frame.hex(' ')})")
                out.append(LinkControl(-1))
                continue
            out.append(NiMessage(cmd, payload, seq))
        return out

    def expire(self, now: float) -> None:
        if self._buf and now - self._last_byte > self.timeout:
            self.observations.append(f"slta: incomplete frame discarded after the {self.timeout:g} s "
                                     f"byte timeout ({self._buf.hex(' ')})")
            self._buf.clear()

    @property
    def busy(self) -> bool:
        return bool(self._buf)


def next_seq(seq: int) -> int:
    """SLTA sequence bytes skip the ACK/NACK values so a frame start is never read as either."""
    seq = (seq + 1) & 0xFF
    while seq in (ACK, NACK):
        seq = (seq + 1) & 0xFF
    return seq


def make_codec(framing: str, timeout: float, reliable: bool = False) -> U61Codec | SltaCodec:
    return U61Codec(timeout) if framing == "u61" else SltaCodec(timeout, reliable)
