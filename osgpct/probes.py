"""Raw-frame link probes of the LNK test cases (the DUT facade is :mod:`osgpct.dut`).

Link-level cases build 14908-1 frames around a protected OSGP request (``Session.request_frame`` with a chosen
TID, or ``osgp.lon`` for other services and addresses), send them with ``Session.send_frames`` and judge every
frame heard while listening for the tester's whole transaction time (PIXIT lon_timers, ASM-LNK-03). Nothing here
judges: the functions build frames, send them and tell what was heard.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from osgp import lon
from osgp.app import Response, decode_request, decode_response, unwrap_apdu
from osgp.errors import DecodeError, DeviceTimeout, SecurityError
from osgp.security import AUTH_FAILURE, SentRequest
from osgp.transaction import decode_tx_timer
from osgpct.dut import MOD, PROBE

__all__ = ["MOD", "NO_DATA_CODES", "PROBE", "Heard", "answers_to", "authentic_any_tid", "crc16", "crc_ok", "hear",
           "listen_time", "open_answer", "protect", "reencode", "retid", "send", "still_answers", "try_time"]


#: The error codes MEP-DG Table 2.5 gives "No response data" (MEP-DG:552, REQ-APP-015). 0x06-0x0A are C12.18 codes
#: the guide does not list (data on them is no source's business), 0x0C carries the 4-byte sequence number.
NO_DATA_CODES = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0x0B})


def crc16(data: bytes) -> int:
    """CRC-16/GENIBUS written out bit by bit, independent of osgp.lon's table-driven one (one codec, two
    roles: a shared bug would hide). Poly 0x1021, init 0xFFFF, MSB first, output inverted."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc ^ 0xFFFF


if crc16(b"123456789") != 0xD64E:  # the catalogue check value of CRC-16/GENIBUS
    raise RuntimeError("osgpct.probes.crc16 does not give the CRC-16/GENIBUS check value 0xD64E")


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 2 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")


def listen_time(session) -> float:
    """How long the tester's own transaction lasts: every try's transmit timer (ASM-LNK-03)."""
    return session.config.exchange_bound()


def try_time(session) -> float:
    """One try of the tester's transaction (its transmit timer, ASM-LNK-03): copies sent this far apart stay
    well inside the DUT's receive timer."""
    return decode_tx_timer(session.config.tx_timer_code)


def protect(session, seq: int | None = None, request=PROBE) -> SentRequest:
    """A protected request; ``seq`` None takes (and uses up) the session's next number."""
    return session.protect(request, None if seq is None else seq % MOD)


def retid(frame: bytes, tid: int) -> bytes:
    """The same frame with another transaction id (and its CRC)."""
    lpdu = lon.decode(frame)
    return lon.encode(dataclasses.replace(lpdu, pdu=dataclasses.replace(lpdu.pdu, tid=tid)))


def reencode(frame: bytes, **changes) -> bytes:
    """The same frame with some Lpdu fields changed (address, domain, pdu…), CRC recomputed."""
    return lon.encode(dataclasses.replace(lon.decode(frame), **changes))


@dataclass(frozen=True)
class Heard:
    """One frame heard from the DUT: raw bytes, and the decoded LPDU when its CRC and layout allow."""

    raw: bytes
    lpdu: lon.Lpdu | None
    error: str = ""

    @property
    def is_response(self) -> bool:
        return self.lpdu is not None and isinstance(self.lpdu.pdu, lon.Spdu) and \
            self.lpdu.pdu.type == lon.SpduType.RESPONSE

    @property
    def is_ack(self) -> bool:
        return self.lpdu is not None and isinstance(self.lpdu.pdu, lon.Tpdu) and self.lpdu.pdu.type == lon.TpduType.ACK

    @property
    def tid(self) -> int | None:
        return self.lpdu.pdu.tid if self.lpdu is not None and self.lpdu.pdu is not None else None

    def describe(self) -> str:
        return self.lpdu.summary() if self.lpdu is not None else f"{self.raw.hex(' ')} ({self.error})"


def hear(frames: Iterable[bytes]) -> list[Heard]:
    out = []
    for f in frames:
        try:
            out.append(Heard(bytes(f), lon.decode(f)))
        except DecodeError as e:
            out.append(Heard(bytes(f), None, str(e)))
    return out


def send(session, frames: Iterable[bytes], listen: float | None = None) -> list[Heard]:
    return hear(session.send_frames(list(frames), listen_time(session) if listen is None else listen))


def open_answer(session, sent: SentRequest, heard: Heard) -> Response | None:
    """The OSGP response in ``heard`` if it authenticates against ``sent``, else None."""
    try:
        plain = session.config.profile.open_response(sent, unwrap_apdu(heard.lpdu.apdu, session.config.apdu_prefix))
        try:
            req = decode_request(sent.message)
        except DecodeError:
            return Response(plain[0], plain[1:])
        return decode_response(plain, req)
    except (SecurityError, DecodeError):
        return None


def authentic_any_tid(session, sent: SentRequest, heard: list[Heard]) -> list[Heard]:
    """RESPONSEs with any transaction id that authenticate against ``sent``."""
    return [h for h in heard if h.is_response and open_answer(session, sent, h) is not None]


def answers_to(session, sent: SentRequest, tid: int, heard: list[Heard]) -> list[tuple[Heard, Response | None]]:
    """The RESPONSEs with ``tid`` that answer ``sent``: they authenticate against it, or are a clear 0x0B
    (a late answer to some earlier request of the campaign is not counted)."""
    out = []
    for h in heard:
        if not (h.is_response and h.tid == tid):
            continue
        r = open_answer(session, sent, h)
        pdu = h.lpdu.apdu[len(session.config.apdu_prefix):]
        if r is not None or pdu[:1] == bytes([AUTH_FAILURE]):
            out.append((h, r))
    return out


def still_answers(read: Callable[[], Response], attempts: int = 2) -> Response | None:
    """The answer to a valid request, asked up to ``attempts`` times (each one a whole 14908-1 transaction with
    the tester's retries); None when none was answered. Nothing is judged here: a DUT that answered before and
    answers no valid request now breaks REQ-LNK-012 (every REQUEST is answered by a RESPONSE, low:251), which
    the calling case judges."""
    for _ in range(attempts):
        try:
            return read()
        except DeviceTimeout:
            continue
    return None
