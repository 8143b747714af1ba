"""The network-interface (NI) end of a serial link, so a device core can sit behind a serial port.

Sans-IO: ``feed(host_bytes, now)`` returns the 14908-1 frames the NI would put on the line (with
the CRC it appends, lower-layers digest §4.1) and the bytes to write back to the host (resets,
ACK/NACK); ``uplink(frame)`` wraps a frame from the line the way a layer-2 NI reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .base import with_crc
from .framing import (
    ACK,
    MODE_L2,
    MODE_L5,
    NACK,
    NI_COMM_TQ,
    NI_COMM_TQ_P,
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
from .serial import SerialSettings

CHANNEL_TYPE_PL20A = 15  # transceiver id 15 "PL-20A" (digest §4.1, lon-stack-ex LtXcvrId.cpp)


@dataclass
class NiSide:
    settings: SerialSettings
    channel_type: int = CHANNEL_TYPE_PL20A
    mode: int = MODE_L5  # a real NI powers up in layer 5 (DX waits for the reset, then asks for L2)
    phase: int | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.settings
        self.codec = make_codec(s.framing, s.timeout, s.reliable)
        self._seq = 0
        self._peer_seq: int | None = None
        self._last_uplink = b""
        self._resends = 0

    def _message(self, cmd: int, payload: bytes = b"") -> bytes:
        if isinstance(self.codec, SltaCodec) and self.settings.reliable:
            self._seq = next_seq(self._seq)
            data = self.codec.encode(cmd, payload, self._seq)
        else:
            data = self.codec.encode(cmd, payload)
        self._last_uplink, self._resends = data, 0
        return data

    def startup(self) -> bytes:
        """What an NI says after power-up: a reset report with its mode and channel type."""
        return self._message(NI_RESET, bytes([self.mode, self.channel_type]))

    def uplink(self, frame: bytes) -> bytes:
        """A frame heard on the line (with CRC), as the NI hands it to the host."""
        if self.settings.uplink == NI_INCOMING_L2_M2:
            # zero-crossing byte, frame with CRC, 2 transceiver-register bytes (values unknown: 0)
            return self._message(NI_INCOMING_L2_M2, b"\x00" + frame + b"\x00\x00")
        return self._message(self.settings.uplink, frame)

    def feed(self, data: bytes, now: float) -> tuple[list[bytes], bytes]:
        frames: list[bytes] = []
        reply = bytearray()
        events = self.codec.feed(data, now)
        self.codec.expire(now)
        self.notes.extend(self.codec.drain())
        for event in events:
            if isinstance(event, LinkControl):
                if event.code < 0 and self.settings.reliable:
                    reply.append(NACK)
                elif event.code == NACK and self._last_uplink and self._resends < self.settings.retries:
                    self._resends += 1
                    self.notes.append(f"host NACKed our last message; resending ({self._resends})")
                    reply += self._last_uplink
                continue
            if self.settings.reliable:
                reply.append(ACK)
                if event.seq is not None and event.seq == self._peer_seq:
                    self.notes.append(f"duplicate host frame seq {event.seq} ignored")
                    continue
                self._peer_seq = event.seq
            reply += self._command(event, frames)
        return frames, bytes(reply)

    def _command(self, msg: NiMessage, frames: list[bytes]) -> bytes:
        cmd, p = msg.cmd, msg.payload
        if cmd in (NI_COMM_TQ, NI_COMM_TQ_P):
            if self.mode != MODE_L2:
                self.notes.append("frame received while in layer-5 mode; handled as layer 2")
            if len(p) < 2:
                self.notes.append(f"downlink frame of {len(p)} byte(s) dropped")
                return b""
            frames.append(with_crc(p))
            return b""
        if cmd == NI_LMODE and len(p) == 1 and p[0] in (MODE_L5, MODE_L2):
            self.mode = p[0]
            self.notes.append(f"layer mode set to {'L2' if self.mode == MODE_L2 else 'L5'}; NI resets")
            return self._message(NI_RESET, bytes([self.mode, self.channel_type]))
        if cmd & 0xF0 == NI_PHASE:
            self.phase = cmd & 0x0F
            return b""
        self.notes.append(f"NI command 0x{cmd:02X} ({ni_name(cmd)}) {p.hex(' ')} not simulated; ignored")
        return b""
