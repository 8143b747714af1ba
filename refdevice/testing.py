"""A minimal tester for driving a ReferenceDevice core in self-tests and benchmarks (no driver, no session).

It builds frames with the same osgp.* encoders the suite uses; tests that must not trust them send
hand-built hex frames to `device.on_frame` directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from osgp import lon
from osgp.app import (
    FullRead,
    FullWrite,
    PartialRead,
    PartialWrite,
    Request,
    Response,
    decode_response,
    encode_request,
)
from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile, SecurityProfile, SentRequest
from osgp.tables import ProcedureResponse, decode_procedure_response, encode_procedure_initiate
from osgp.transaction import Requester, Service, ToNode

from .device import ReferenceDevice


@dataclass
class Reply:
    """One exchange as the tester saw it."""

    response: Response | None  # None: no answer, or an answer that did not verify
    sent: SentRequest
    frames: list[tuple[float, bytes]]
    message: bytes | None = None  # the plain response message


class Tester:
    """Talks to `device` from subnet/node 1/127 with the profile of the device's mode (or `profile`)."""

    __test__ = False  # not a pytest class

    def __init__(self, device: ReferenceDevice, profile: SecurityProfile | None = None, *, now: float = 0.0,
                 key_index: int = 0) -> None:
        self.device = device
        c = device.config
        sec = c.security
        keys = [sec.keys[k] for k in ("full", "read") if k in sec.keys]
        self.profiles = {"digest": DigestProfile(keys), "rc4": Rc4Profile(keys, variant=sec.rc4_variant),
                         "aes128": AesCcmProfile(keys, tag_len=sec.aes_tag_len,
                                                 device_id=bytes.fromhex(sec.aes_device_id))}
        self.profile = profile or self.profiles[device.security.mode]
        self.requester = Requester(c.address.subnet, 127, bytes.fromhex(c.address.domain))
        self.dest = ToNode(c.address.subnet, c.address.node)
        self.now = now
        self.seq = device.security.seq
        self.key_index = key_index

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def frame(self, apdu: bytes, service: Service = Service.REQUEST) -> bytes:
        """A fresh 14908-1 frame (new TID) carrying `apdu` to the device."""
        if self.requester.busy:  # we never wait for the engine's own outcome: the device answers at once
            self.requester.abort(self.now)
        frames = self.requester.start(self.dest, apdu, now=self.now, service=service)
        return lon.encode(frames[-1])

    def send(self, frame: bytes) -> list[tuple[float, bytes]]:
        out = self.device.on_frame(frame, self.now)
        if out:
            self.now = max(self.now, max(t for t, _ in out))
        return out

    def exchange(self, request: Request | bytes, *, seq: int | None = None, profile: SecurityProfile | None = None,
                 key_index: int | None = None, key: bytes | None = None, encrypt: bool | None = None,
                 tamper=None, resync: bool | None = None) -> Reply:
        """One exchange; with `seq` None the next number is used and, like the session, a 0x0C is
        followed by one retry with the device's number + 1 (unless resync=False)."""
        if resync is None:
            resync = seq is None
        reply = self._exchange(request, seq, profile, key_index, key, encrypt, tamper)
        if resync and reply.response is not None and reply.response.code == 0x0C:
            reply = self._exchange(request, None, profile, key_index, key, encrypt, tamper)
        return reply

    def _exchange(self, request, seq, profile, key_index, key, encrypt, tamper) -> Reply:
        message = request if isinstance(request, bytes) else encode_request(request)
        profile = profile or self.profile
        if seq is None:
            self.seq = (self.seq + 1) % (1 << 32)
            seq = self.seq
        sent = profile.protect_request(message, seq, key_index=self.key_index if key_index is None else key_index,
                                       key=key, encrypt=encrypt)
        pdu = tamper(sent.pdu) if tamper else sent.pdu
        frames = self.send(self.frame(pdu))
        if not frames:
            return Reply(None, sent, frames)
        answer = lon.decode(frames[0][1])
        try:
            plain = profile.open_response(sent, answer.apdu)
        except Exception:
            return Reply(None, sent, frames)
        req = request if not isinstance(request, bytes) else FullRead(0)
        try:
            resp = decode_response(plain, req)
        except Exception:
            resp = Response(plain[0], plain[1:])
        if resp.expected_seq is not None:
            self.seq = resp.expected_seq
        return Reply(resp, sent, frames, plain)

    # --- services ---
    def read(self, table_id: int, **kw) -> Response:
        return self._ok(self.exchange(FullRead(table_id), **kw))

    def read_partial(self, table_id: int, offset: int, count: int, **kw) -> Response:
        return self._ok(self.exchange(PartialRead(table_id, offset, count), **kw))

    def write(self, table_id: int, data: bytes, count: int | None = None, **kw) -> Response:
        return self._ok(self.exchange(FullWrite(table_id, data, count), **kw))

    def write_partial(self, table_id: int, offset: int, data: bytes, count: int | None = None, **kw) -> Response:
        return self._ok(self.exchange(PartialWrite(table_id, offset, data, count), **kw))

    def procedure(self, number: int, params: bytes = b"", *, psn: int | None = None, selector: int = 0,
                  **kw) -> tuple[Response, ProcedureResponse | None]:
        if psn is None:  # a PSN different from the device's last one (any tester may have run one)
            psn = ((self.device.procedures.last_psn or 0) + 1) % 256
        w = self.write(7, encode_procedure_initiate(number, psn, params, selector), **kw)
        if w.code != 0:
            return w, None
        r = self.read(8, **kw)
        return w, decode_procedure_response(r.data) if r.code == 0 else None

    @staticmethod
    def _ok(reply: Reply) -> Response:
        if reply.response is None:
            raise AssertionError(f"no verifiable answer (frames: {reply.frames})")
        return reply.response
