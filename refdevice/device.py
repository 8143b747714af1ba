"""The reference OSGP device: a sans-IO core that answers 14908-1 frames.

    frame --CRC/decode--> Lpdu --Responder--> new / duplicate / ignored
          --unwrap--> security (key, mode, sequence window) --> service (read/write/BT07)
          --> response --protect--> RESPONSE frame (the request's TID)

`on_frame(frame, now)` never raises: an exception inside request handling is answered 0x01 when the
request was authenticated, otherwise the frame is dropped; either way it lands in `device.log`.
"""

from __future__ import annotations

import dataclasses
import json
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from osgp import lon
from osgp.app import (
    AppDecodeError,
    FullRead,
    FullWrite,
    PartialRead,
    PartialWrite,
    RawRequest,
    Response,
    ResponseCode,
    decode_request,
    encode_response,
    unwrap_apdu,
    wrap_apdu,
)
from osgp.clock import Clock
from osgp.digest import osgp_digest
from osgp.secret import Secret
from osgp.security import (
    AUTH_FAILURE,
    AesCcmProfile,
    DigestProfile,
    OpenedRequest,
    Rc4Profile,
    SecurityProfile,
    SequenceWindow,
    plc_rc4_base_key,
)
from osgp.transaction import Delivery, Duplicate, GroupMembership, Ignored, Responder, Service

from . import faults as F
from . import variants as V
from .catalog import HANG_APDU, Catalog
from .config import DeviceConfig, pack_version
from .firmware import Firmware
from .meter import (
    EV_AUTH_FAILURE,
    EV_KEY_USAGE_80,
    EV_MFG_PENDING_ACTIVATED,
    EV_MFG_TIME_CHANGED_NEW,
    EV_MFG_TIME_CHANGED_OLD,
    EV_PENDING_ACTIVATED,
    EV_TIME_CHANGED_NEW,
    EV_TIME_CHANGED_OLD,
    Meter,
)
from .persistence import restore_state, snapshot_state
from .ports import MAX_RESPONSE_DATA, Caller, NodeState, SecurityState, Switches
from .procedures import Procedures

# C12.18 codes that exist but only on the optical port: "unsupported" rather than "unrecognized".
_OPTICAL_ONLY = frozenset({0x20, 0x21, 0x50, 0x51, 0x52, 0x70, *range(0x60, 0x6C)})
_WIDE_WINDOW = 64  # the seq_window_too_wide fault
_SEQ_LEN, _TAG_LEN = 4, 8


class ReferenceDevice:
    """A conforming OSGP meter (with optional fault switches). See docs/refdevice.md."""

    def __init__(self, config: DeviceConfig, faults: Iterable[str] = (), clock: Clock | None = None,
                 variants: Iterable[str] = ()) -> None:
        config.validate()
        self.config = config
        self.switches = Switches.checked(faults, variants)  # shared by every part
        self.node = NodeState(neuron_state=2 if self.has_variant(V.NEURON_STATE_ON_REQUEST) else 4)  # ET04.72
        self.clock = clock
        self.log: list[str] = []  # the device's own diagnostic log (exceptions, dropped frames)
        self.nvm: dict[str, Any] | None = None  # non-volatile memory when no persistence file is set
        self.prefix = b""  # APDU envelope prefix (ASM-APP-01)
        # Device time is the `now` handed in; with a clock, the meter's clock_start is anchored at
        # clock.now() (a server should pass the clock it serves with), else at now = 0.
        self._boot(clock.now() if clock is not None else 0.0, restore=True)

    # --- life cycle ---
    def _boot(self, now: float, *, restore: bool) -> None:
        c = self.config
        self.dead = False
        self.firmware_version = pack_version(c.identity.firmware)
        self.security = SecurityState(
            mode=c.security.mode, keys=dict(c.security.keys), seq=c.security.sequence_start,
            broadcast_seq=c.security.sequence_start)
        self.meter = Meter(c, now, frozen_clock=self.has(F.CLOCK_FROZEN))
        if self.has(F.EVENT_NOT_LOGGED):
            self.meter.silenced = frozenset({EV_TIME_CHANGED_OLD, EV_TIME_CHANGED_NEW})
        if self.has_variant(V.LOG_SEQ_GAPS):
            self.meter.log.seq_step = 2
        if self.has_variant(V.MFG_CLOCK_EVENTS):
            self.meter.recode |= {EV_TIME_CHANGED_OLD: EV_MFG_TIME_CHANGED_OLD,
                                  EV_TIME_CHANGED_NEW: EV_MFG_TIME_CHANGED_NEW}
        if self.has_variant(V.MFG_ACTIVATION_EVENT):
            self.meter.recode[EV_PENDING_ACTIVATED] = EV_MFG_PENDING_ACTIVATED
        # Each part gets what it uses (refdevice/ports.py); only key/mode changes come back to the device.
        self.firmware = Firmware(c, self.meter, self.security, version=self.firmware_version)
        self.procedures = Procedures(c, self.switches, self.meter, self, self.firmware)
        self.catalog = Catalog(c, self.switches, self.meter, security=self.security, node=self.node,
                               firmware=self.firmware, procedures=self.procedures)
        self.meter.on_activate = self.catalog.activate_pending
        self.firmware.on_changed = self.catalog.firmware_changed
        a = c.address
        self.responder = Responder(
            a.subnet, a.node, bytes.fromhex(a.domain), neuron_id=bytes.fromhex(a.neuron_id),
            groups=[GroupMembership(g, i) for i, g in enumerate(a.groups)])
        self.responder.non_group_receive_timer = c.link.receive_timer_s
        self.node.messages_received = self.node.messages_validated = 0  # ET23.0, ET23.4
        if restore:
            saved = self._load_nvm()
            if saved is not None:
                problem = restore_state(self.meter, self.security, self.catalog, self.firmware, saved, now,
                                        keep_seq=not self.has(F.SEQ_NOT_PERSISTED))
                if problem is not None:
                    self._note(now, problem)
                if self.has_variant(V.SEQ_JUMP_AFTER_REBOOT):
                    self.security.seq = (self.security.seq + V.SEQ_REBOOT_JUMP) % (1 << 32)
                self.node.neuron_state = 4  # ET04.72 is refreshed on each power-up [MEP-DG:2805]
        self._build_profiles()

    def power_cycle(self, now: float | None = None, outage_s: float = 0.0) -> None:
        """Power down (state saved to NVM / the persistence file), then up `outage_s` later."""
        now = self._now(now)
        self.meter.advance(now)
        self.save(now)
        self._boot(now, restore=True)
        self.meter.power_outage(now, outage_s)

    def save(self, now: float | None = None) -> None:
        state = snapshot_state(self.meter, self.security, self.catalog, self.firmware, self._now(now))
        if self.config.persistence:
            path = Path(self.config.persistence)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
            tmp.replace(path)  # atomic: a crash never leaves half a file
        else:
            self.nvm = json.loads(json.dumps(state))

    def _load_nvm(self) -> dict[str, Any] | None:
        if self.config.persistence:
            path = Path(self.config.persistence)
            if not path.exists():
                return None
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                self._note(0.0, f"persistence file {path} unreadable ({exc}); starting from the config")
                return None
        return self.nvm

    def _now(self, now: float | None) -> float:
        if now is not None:
            return now
        return self.clock.now() if self.clock is not None else self.meter.last_now

    def describe(self) -> str:
        i, a = self.config.identity, self.config.address
        return (f"{i.manufacturer} {i.model} fw {i.firmware} at {a.subnet}/{a.node} "
                f"(domain {a.domain or '-'}, {self.security.mode})")

    @property
    def faults(self) -> frozenset[str]:
        return self.switches.faults

    @property
    def variants(self) -> frozenset[str]:
        return self.switches.variants

    def has(self, fault: str) -> bool:
        return self.switches.has(fault)

    def has_variant(self, variant: str) -> bool:
        return self.switches.has_variant(variant)

    @property
    def messages_received(self) -> int:  # ET23.0
        return self.node.messages_received

    @property
    def messages_validated(self) -> int:  # ET23.4
        return self.node.messages_validated

    def _note(self, now: float, text: str) -> None:
        self.log.append(f"{now:.3f} {text}")
        del self.log[:-1000]  # bounded: a fuzzer must not grow it forever

    # --- security operations (ports.SecurityControl, for the procedures) ---
    def change_key(self, level: str, key: bytes) -> None:
        self.security.keys[level] = Secret(key, level)
        self.security.unicast_uses = 0
        self._build_profiles()

    def set_security_mode(self, mode: str) -> None:
        self.security.mode = mode
        self._build_profiles()

    def _build_profiles(self) -> None:
        """One set of profiles for unicast keys (full, then read: ASM-SEC-08) and one for the
        broadcast key, which verifies broadcast and group messages only (REQ-SEC-039)."""
        self._sets: dict[bool, dict[str, SecurityProfile | None]] = {}
        self._levels: dict[bool, list[str]] = {}
        for broadcast, names in ((False, ("full", "read")), (True, ("broadcast",))):
            levels = [k for k in names if k in self.security.keys]
            keys = [self.security.keys[k] for k in levels] or [self.security.keys["full"]]
            self._levels[broadcast] = levels or ["full"]
            sec = self.config.security
            self._sets[broadcast] = {
                "digest": DigestProfile(keys), "rc4": Rc4Profile(keys, variant=sec.rc4_variant),  # type: ignore[arg-type]
                "aes": AesCcmProfile(keys, tag_len=sec.aes_tag_len, device_id=bytes.fromhex(sec.aes_device_id))
                if self.config.capabilities.aes else None}

    def _profiles(self, broadcast: bool = False) -> list[SecurityProfile]:
        """Profiles tried in order. An AES-mode device takes AES only; the others also take AES
        (commissioning path into AES mode) when the capability exists."""
        mode, p = self.security.mode, self._sets[broadcast]
        aes = p["aes"]
        if mode == "aes128":
            assert aes is not None
            return [aes, *([p["rc4"]] if self.has(F.AES_ACCEPTS_RC4) else [])]  # type: ignore[list-item]
        legacy = p["rc4"] if mode == "rc4" else p["digest"]
        assert legacy is not None
        return [legacy] + ([aes] if aes is not None else [])

    @property
    def max_response_data(self) -> int:
        return MAX_RESPONSE_DATA

    # --- 14908-1 ---
    def on_frame(self, frame: bytes, now: float) -> list[tuple[float, bytes]]:
        try:
            return self._on_frame(bytes(frame), now)
        except Exception as exc:  # never die on bad input
            self._note(now, f"internal error, frame dropped: {exc!r} in {_where(exc)}")
            return []

    def _on_frame(self, frame: bytes, now: float) -> list[tuple[float, bytes]]:
        if self.dead:
            return []
        self.meter.advance(now)
        try:
            lpdu = lon.decode(frame)
        except lon.LonDecodeError as exc:
            if not (self.has(F.CRC_NOT_CHECKED) and exc.field == "CRC"):
                self._note(now, f"dropped: {exc}")
                return []
            lpdu = lon.decode(frame[:-2], with_crc=False)
        got = self.responder.on_frame(lpdu, now)
        if isinstance(got, Ignored):
            return []
        if isinstance(got, Duplicate):
            if not self.has(F.DUPLICATE_REEXECUTED):
                return [] if got.reply is None else [self._send(got.reply, now)]
            pdu = lpdu.pdu
            assert pdu is not None and not isinstance(pdu, lon.AuthPdu)
            service = Service.REQUEST if isinstance(pdu, lon.Spdu) else Service.ACKD
            got = Delivery(lpdu, service, pdu.tid, lpdu.apdu, pdu.auth)
        self.node.messages_received += 1
        if self.has(F.HANG_ON_OVERSIZE) and len(got.apdu) > HANG_APDU:
            self.dead = True
            self._note(now, f"APDU of {len(got.apdu)} bytes: device hung (fault {F.HANG_ON_OVERSIZE})")
            return []
        broadcast = isinstance(lpdu.address, lon.BroadcastAddress | lon.GroupAddress)
        answer = self._application(got.apdu, now, broadcast)
        if got.service is Service.REQUEST and answer is not None:
            reply = self.responder.respond(got, answer, now)
        elif got.service is Service.ACKD:
            reply = self.responder.ack(got, now)
        else:
            return []  # unacknowledged (broadcast) messages are executed silently (ASM-MGT-01)
        if self.has(F.WRONG_TID) and isinstance(reply.pdu, lon.Spdu | lon.Tpdu):
            reply = dataclasses.replace(reply, pdu=dataclasses.replace(reply.pdu, tid=(reply.pdu.tid + 1) % 16))
        return [self._send(reply, now)]

    def _send(self, reply: lon.Lpdu, now: float) -> tuple[float, bytes]:
        link = self.config.link
        delay = link.late_delay_s if self.has(F.LATE_RESPONSE) else link.response_delay_s
        return (now + delay, lon.encode(reply))

    # --- OSGP security envelope ---
    def _application(self, apdu: bytes, now: float, broadcast: bool) -> bytes | None:
        try:
            pdu = unwrap_apdu(apdu, self.prefix)
        except AppDecodeError as exc:
            self._note(now, f"not an OSGP APDU: {exc}")
            return None
        self._count_key_use(now, broadcast)  # every use of a key counts, verified or not (REQ-SEC-030)
        opened, profile = self._open(pdu, broadcast)
        s = self.security
        if opened is None:
            self._auth_failure(now)
            forged = self._forge(pdu)
            if self.has(F.ACCEPT_BAD_DIGEST) and forged is not None:
                opened, profile = forged, self._profiles(broadcast)[0]
            else:
                if self.has(F.REJECTED_CHANGES_STATE) and forged is not None:
                    self._execute(forged.message, Caller("full", False, False, broadcast), now)
                if broadcast:
                    return None
                return wrap_apdu(self._auth_failure_pdu(pdu), self.prefix)
        current = s.broadcast_seq if broadcast else s.seq
        width = self.config.security.window
        if self.has_variant(V.SEQ_WINDOW_WIDER):
            width = max(width, V.WIDER_WINDOW)
        window = SequenceWindow(_WIDE_WINDOW if self.has(F.SEQ_WINDOW_TOO_WIDE) else width)
        accepted = window.accepts(current, opened.seq) or (self.has(F.ACCEPT_REPLAYED_SEQ) and opened.seq == current)
        if broadcast and self.has_variant(V.BROADCAST_BASE_HOST_SET) and opened.seq in s.broadcast_used:
            accepted = False  # B stays where the host put it: each number of the window once
        if not accepted:
            if broadcast:
                return None  # a broadcast cannot resynchronise (ASM-SEC-10)
            if self.has(F.REJECTED_CHANGES_STATE):
                self._execute(opened.message, self._caller(opened, profile, broadcast), now)
            number = (current - 1) % (1 << 32) if self.has(F.SEQ_ERROR_WRONG_NUMBER) else current
            if self.has_variant(V.SEQ_ERROR_NEXT_NUMBER):
                number = (number + 1) % (1 << 32)  # "the correct sequence number to be used" [MEP-DG:472]
            message = (bytes([ResponseCode.INVALID_SEQUENCE]) if self.has(F.SEQ_ERROR_WITHOUT_NUMBER)
                       else encode_response(Response(ResponseCode.INVALID_SEQUENCE, expected_seq=number),
                                            RawRequest(b"")))
            return wrap_apdu(profile.protect_response(opened, message), self.prefix)
        if broadcast:
            if self.has_variant(V.BROADCAST_BASE_HOST_SET):
                s.broadcast_used.add(opened.seq)
            else:
                s.broadcast_seq = opened.seq
            s.broadcast_receipt_utc = self.meter.utc(now)
        else:
            s.seq = opened.seq
        self.node.messages_validated += 1
        caller = self._caller(opened, profile, broadcast)
        if len(apdu) > self.config.link.max_apdu:
            message = bytes([ResponseCode.ONP])
        else:
            try:
                message = self._execute(opened.message, caller, now)
            except Exception as exc:
                self._note(now, f"internal error answered 0x01: {exc!r} in {_where(exc)}")
                message = bytes([ResponseCode.ERR])
        if self.has_variant(V.READ_KEY_AUTH_FAILURE) and caller.level == "read" and message[:1] == bytes(
                [ResponseCode.ISC]):
            return wrap_apdu(self._auth_failure_pdu(pdu), self.prefix)  # 0x0B, as for an unknown key
        if self.has_variant(V.KEY_USAGE_PER_CRYPTO_OP):
            self._count_key_use(now, broadcast)  # protecting the response is a second use of the key
        return wrap_apdu(self._protect(profile, opened, message), self.prefix)

    def _caller(self, opened: OpenedRequest, profile: SecurityProfile, broadcast: bool) -> Caller:
        level = self._levels[broadcast][opened.key_index or 0]
        return Caller("full" if level == "broadcast" else level, opened.encrypted,
                      isinstance(profile, AesCcmProfile), broadcast)

    def _open(self, pdu: bytes, broadcast: bool) -> tuple[OpenedRequest | None, SecurityProfile]:
        profiles = self._profiles(broadcast)
        for profile in profiles:
            try:
                return profile.open_request(pdu), profile
            except Exception:  # SecurityError, or a malformed PDU inside a profile
                continue
        return None, profiles[0]

    def _forge(self, pdu: bytes) -> OpenedRequest | None:
        """What a device that skips the digest check would take the PDU for (faults only)."""
        if len(pdu) < 1 + _SEQ_LEN + _TAG_LEN:
            return None
        body, tag = pdu[:-_TAG_LEN], pdu[-_TAG_LEN:]
        key = self.security.keys["full"]
        return OpenedRequest(body[:-_SEQ_LEN], int.from_bytes(body[-_SEQ_LEN:], "big"), tag, False, 0, key)

    def _auth_failure_pdu(self, pdu: bytes) -> bytes:
        profile = self._profiles()[0]
        answer = profile.auth_failure_response(pdu)
        if self.has(F.AUTH_FAILURE_ENCRYPTED) and self.security.mode == "rc4":
            # encrypt the code with the RC4 key the request's digest would select (it must stay clear)
            base = bytearray(plc_rc4_base_key(self.security.keys["full"]))
            for i, b in enumerate(pdu[-_TAG_LEN:]):
                base[i] ^= b
            answer = bytes([answer[0] ^ _rc4_first_byte(bytes(base))]) + answer[1:]
        return answer

    def _protect(self, profile: SecurityProfile, opened: OpenedRequest, message: bytes) -> bytes:
        if self.has(F.RC4_RESPONSE_PLAINTEXT) and isinstance(profile, Rc4Profile) and opened.encrypted:
            opened = dataclasses.replace(opened, encrypted=False)
        out = profile.protect_response(opened, message)
        if self.has(F.RESPONSE_DIGEST_UNCHAINED) and not isinstance(profile, AesCcmProfile):
            out = out[:-_TAG_LEN] + osgp_digest(message, opened.key)
        return out

    def _auth_failure(self, now: float) -> None:
        """The only state a rejected message may change: failure counter, alarm, log."""
        self.security.auth_failures += 1
        self.meter.mfg_alarms[1] |= 0x01  # BT03 mfg "invalid password"
        self.meter.event(now, EV_AUTH_FAILURE, self.security.auth_failures)

    def _count_key_use(self, now: float, broadcast: bool) -> None:
        if self.has(F.KEY_USAGE_NOT_COUNTED):
            return
        s = self.security
        if broadcast:
            s.broadcast_uses += 1
        else:
            s.unicast_uses += 1
        limit = self.config.security.max_key_usage
        if not s.usage_alarm and max(s.unicast_uses, s.broadcast_uses) * 5 >= limit * 4:
            s.usage_alarm = True  # 80 % of ET04.123 [MEP p.66]
            self.meter.event(now, EV_KEY_USAGE_80, 0)

    # --- services ---
    def _execute(self, message: bytes, caller: Caller, now: float) -> bytes:
        try:
            request = decode_request(message)
        except AppDecodeError as exc:
            if getattr(exc, "field", "") != "count":
                self._note(now, f"malformed request answered 0x01: {exc}")
                return bytes([ResponseCode.ERR])
            # MEP-DG:537-539 (REQ-APP-012): a missing or short count is indeterminate, "No error will be
            # returned": this device takes count 0 and executes the request
            self._note(now, f"count field missing or short, taken as 0: {exc}")
            request = decode_request(message[:{0x3F: 6, 0x40: 3, 0x4F: 6}[message[0]]] + b"\0\0")
        match request:
            case RawRequest():
                code = request.payload[0] if request.payload else 0
                unknown = ResponseCode.SNS if self.has_variant(V.UNKNOWN_REQUEST_UNSUPPORTED) else ResponseCode.ERR
                return bytes([ResponseCode.SNS if code in _OPTICAL_ONLY else unknown])
            case FullRead() | PartialRead():
                resp = self.catalog.read(request, caller, now)
            case FullWrite() | PartialWrite():
                if self.has_variant(V.WRITE_EXCESS_DATA_REFUSED) and len(request.data) > request.count:
                    self._note(now, "write with more data than its count refused as malformed (0x01)")
                    return bytes([ResponseCode.ERR])
                resp = self.catalog.write(request, caller, now)
        return encode_response(resp, request)


def _rc4_first_byte(key: bytes) -> int:
    """First RC4 keystream byte (KSA + one PRGA step): enough to encrypt a one-byte code."""
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) & 0xFF
        box[i], box[j] = box[j], box[i]
    j = box[1]
    box[1], box[j] = box[j], box[1]
    return box[(box[1] + box[j]) & 0xFF]


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    return f"{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else "?"


# Response size check used by the catalog: the code, count and digest must fit the APDU limit.
def response_fits(config: DeviceConfig, data_len: int) -> bool:
    return 1 + 2 + data_len + _TAG_LEN <= config.link.max_apdu


__all__ = ["AUTH_FAILURE", "Caller", "ReferenceDevice", "response_fits"]
