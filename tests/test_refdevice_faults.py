"""Every fault switch changes the behaviour it names: each probe returns an observation, and the
conforming device and the faulty one must observe differently (the conforming value is asserted too)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest

from osgp import lon
from osgp.app import FullRead, RawRequest
from osgp.security import AesCcmProfile, Rc4Profile
from osgp.tables import Dimensions, schema
from osgpct.refdevice import FAULTS, build
from osgpct.refdevice import faults as F
from osgpct.refdevice.testing import Tester

KEY_FULL = bytes([1] * 16)


def first_byte(reply) -> int:
    return lon.decode(reply.frames[0][1]).apdu[0]


def write_then_read(t: Tester, reply_fn) -> tuple[Any, bytes]:
    reply = reply_fn()
    return (first_byte(reply) if reply.frames else None), t.read_partial(5, 0, 1).data


def p_bad_digest(t: Tester):
    return write_then_read(t, lambda: t.exchange(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x77", key=bytes([9] * 16),
                                                 encrypt=False))


def p_replayed_seq(t: Tester):
    t.read(1)
    return t.exchange(FullRead(1), seq=t.device.security.seq, resync=False).response.code


def p_window(t: Tester):
    return t.exchange(FullRead(1), seq=t.device.security.seq + 20, resync=False).response.code


def p_unchained(t: Tester):
    return t.exchange(FullRead(1), encrypt=False).response is not None  # verifies only if chained


def p_0c_number(t: Tester):
    reply = t.exchange(FullRead(1), seq=t.device.security.seq, encrypt=False, resync=False)
    return reply.message


def p_0c_then_next(t: Tester):
    r = t.exchange(FullRead(1), seq=t.device.security.seq, encrypt=False, resync=False).response
    return t.exchange(FullRead(1), seq=(r.expected_seq + 1) % 2**32, resync=False).response.code


def p_0b_encrypted(t: Tester):
    return first_byte(t.exchange(FullRead(1), key=bytes([9] * 16), encrypt=True))


def p_rc4_plain(t: Tester):
    reply = t.exchange(FullRead(1), encrypt=True)
    return b"OSGP" in lon.decode(reply.frames[0][1]).apdu


def p_aes_accepts_rc4(t: Tester):
    return first_byte(t.exchange(FullRead(1), profile=Rc4Profile([KEY_FULL])))


def p_rejected_changes_state(t: Tester):
    return p_bad_digest(t)[1]


def p_seq_persisted(t: Tester):
    t.read(1)
    t.device.power_cycle(t.now)
    return t.device.security.seq


def p_key_usage(t: Tester):
    t.read(1)
    return struct.unpack_from("<I", t.read_partial(2048 + 54, 82, 4).data)[0]


def p_read_key_write(t: Tester):
    return t.write_partial(5, 0, b"\x66", key_index=1).code


def p_bt00_dimension(t: Tester):
    bt00 = schema(0).decode(t.read(0).data, Dimensions())
    return bt00.dim_std_tbls_used + bt00.dim_mfg_tbls_used + 5 + 1 + 8 * bt00.nbr_pending == len(t.read(4).data)


def p_bit7(t: Tester):
    return 7 in schema(0).decode(t.read(0).data, Dimensions()).std_tbls_used


def p_offset(t: Tester):
    return t.read_partial(1, 4, 8).data


def p_overrun(t: Tester):
    return t.read_partial(1, 20, 8).data[4:]


def p_readonly(t: Tester):
    return t.write_partial(1, 0, b"ZZZZ").code, t.read_partial(1, 0, 4).data


def p_count(t: Tester):
    t.write_partial(5, 0, b"\x01\x02\x03\x04", count=2)
    return t.read_partial(5, 0, 4).data


def p_endian(t: Tester):
    t.read(1)
    return struct.unpack_from("<I", t.read_partial(2048 + 4, 0, 4).data)[0] == t.device.security.seq


def p_full_read_length(t: Tester):
    return len(t.read(2048 + 4).data)


def p_unimplemented(t: Tester):
    return t.read(2).code


def p_psn(t: Tester):
    return t.procedure(7, psn=33)[1].psn


def p_repeated_psn(t: Tester):
    t.procedure(7, psn=10)
    events = t.device.meter.log.written
    code = t.procedure(7, psn=10)[0].code
    return code, t.device.meter.log.written - events


def p_unknown_proc(t: Tester):
    return t.procedure(2048 + 90)[1].result


def p_bad_params(t: Tester):
    return t.procedure(10, bytes([3, 24, 13, 1, 0, 0, 0, 0]))[1].result


def p_relay(t: Tester):
    t.procedure(2050, b"\x00")
    t.advance(5)
    return t.read_partial(2048 + 23, 94, 1).data


def p_bp10(t: Tester):
    t.procedure(10, bytes([3, 25, 1, 1, 0, 0, 0, 0]))
    return t.read(52).data[:3]


def p_clock_frozen(t: Tester):
    a = t.read(52).data
    t.advance(10)
    return a == t.read(52).data


def p_event_logged(t: Tester):
    t.procedure(10, bytes([3, 25, 1, 1, 0, 0, 0, 0]))
    return sorted({e.code for e in t.device.meter.log.events()} & {3, 4})


def p_pending_early(t: Tester):
    t.write(53 + 4096, bytes([2, 0, 0, 0, 0, 0]) + bytes([2, 0, 0, 60, 7, 0]))
    return t.read(53).data


def p_pending_never(t: Tester):
    t.write(53 + 4096, bytes([0, 24, 3, 1, 0, 10]) + bytes([2, 0, 0, 60, 7, 0]))
    t.advance(11 * 60)
    return t.read(53).data


def _raw_frame(t: Tester) -> bytes:
    t.seq += 1
    return t.frame(t.profile.protect_request(b"\x30\x00\x01", t.seq, encrypt=False).pdu)


def p_crc(t: Tester):
    frame = _raw_frame(t)
    return len(t.send(frame[:-1] + bytes([frame[-1] ^ 0xFF])))


def p_duplicate(t: Tester):
    t.seq += 1
    frame = t.frame(t.profile.protect_request(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x10", t.seq, encrypt=False).pdu)
    first = t.send(frame)
    return t.send(frame) == first


def p_tid(t: Tester):
    frame = _raw_frame(t)
    request, answer = lon.decode(frame), lon.decode(t.send(frame)[0][1])
    return answer.pdu.tid == request.pdu.tid


def p_hang(t: Tester):
    t.exchange(RawRequest(b"\x40\x00\x05\x01\x00" + bytes(256)))
    return t.exchange(FullRead(1)).response is not None


def p_late(t: Tester):
    return t.device.on_frame(_raw_frame(t), 100.0)[0][0] - 100.0  # delay of the answer


PROBES: dict[str, tuple[Callable[[Tester], Any], Any, dict]] = {
    # name: (probe, conforming observation, device flags)
    F.ACCEPT_BAD_DIGEST: (p_bad_digest, (0x0B, b"\x00"), {}),
    F.ACCEPT_REPLAYED_SEQ: (p_replayed_seq, 0x0C, {}),
    F.SEQ_WINDOW_TOO_WIDE: (p_window, 0x0C, {}),
    F.RESPONSE_DIGEST_UNCHAINED: (p_unchained, True, {}),
    F.SEQ_ERROR_WITHOUT_NUMBER: (p_0c_number, b"\x0c\x00\x00\x10\x00", {}),
    F.SEQ_ERROR_WRONG_NUMBER: (p_0c_then_next, 0, {}),
    F.AUTH_FAILURE_ENCRYPTED: (p_0b_encrypted, 0x0B, {}),
    F.RC4_RESPONSE_PLAINTEXT: (p_rc4_plain, False, {}),
    F.AES_ACCEPTS_RC4: (p_aes_accepts_rc4, 0x0B, {"security.mode": "aes128"}),
    F.REJECTED_CHANGES_STATE: (p_rejected_changes_state, b"\x00", {}),
    F.SEQ_NOT_PERSISTED: (p_seq_persisted, 0x1001, {}),
    F.KEY_USAGE_NOT_COUNTED: (p_key_usage, 2, {}),
    F.READ_KEY_CAN_WRITE: (p_read_key_write, 0x03, {}),
    F.BT00_DIMENSION_INCONSISTENT: (p_bt00_dimension, True, {}),
    F.BT00_BIT7_DROPPED: (p_bit7, True, {}),
    F.PARTIAL_READ_OFFSET_IGNORED: (p_offset, b"REFDEV01", {}),
    F.PARTIAL_READ_OVERRUN_GARBAGE: (p_overrun, bytes(4), {}),
    F.READONLY_WRITE_ACCEPTED: (p_readonly, (0x03, b"OSGP"), {}),
    F.WRITE_COUNT_IGNORED: (p_count, b"\x01\x02\x00\x00", {}),
    F.TABLE_BIG_ENDIAN: (p_endian, True, {}),
    F.FULL_READ_SHORT: (p_full_read_length, 140, {}),
    F.UNIMPLEMENTED_TABLE_WRONG_CODE: (p_unimplemented, 0x05, {}),
    F.PROC_RESULT_WRONG_PSN: (p_psn, 33, {}),
    F.REPEATED_PSN_EXECUTED: (p_repeated_psn, (0x04, 0), {}),
    F.UNKNOWN_PROCEDURE_NOT_6: (p_unknown_proc, 6, {}),
    F.BAD_PARAMETERS_ACCEPTED: (p_bad_params, 2, {}),
    F.RELAY_IGNORES_DISCONNECT: (p_relay, b"\x02", {}),
    F.CLOCK_NOT_SET_BY_BP10: (p_bp10, bytes([25, 1, 1]), {}),
    F.CLOCK_FROZEN: (p_clock_frozen, False, {}),
    F.EVENT_NOT_LOGGED: (p_event_logged, [3, 4], {}),
    F.PENDING_ACTIVATED_EARLY: (p_pending_early, bytes([2, 0, 0, 60, 60, 0]), {}),
    F.PENDING_NEVER_ACTIVATED: (p_pending_never, bytes([2, 0, 0, 60, 7, 0]), {}),
    F.CRC_NOT_CHECKED: (p_crc, 0, {}),
    F.DUPLICATE_REEXECUTED: (p_duplicate, True, {}),
    F.WRONG_TID: (p_tid, True, {}),
    F.HANG_ON_OVERSIZE: (p_hang, True, {}),
    F.LATE_RESPONSE: (p_late, 0.0, {}),
}


def test_every_fault_has_a_probe_and_is_documented():
    assert set(PROBES) == set(FAULTS)
    doc = open("docs/refdevice.md", encoding="utf-8").read()
    for f in FAULTS.values():
        assert f"| `{f.name}` | {f.requirement} |" in doc, f.name


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_changes_the_behaviour_it_names(name):
    probe, expected, flags = PROBES[name]
    good = probe(Tester(build(**flags)))
    bad = probe(Tester(build(faults=[name], **flags)))
    assert good == expected, f"conforming device: {good!r}"
    assert bad != good, f"fault {name} did not change {probe.__name__}: {bad!r}"


def test_hung_device_recovers_only_by_power_cycle():
    d = build(faults=[F.HANG_ON_OVERSIZE])
    t = Tester(d)
    t.exchange(RawRequest(b"\x40\x00\x05\x01\x00" + bytes(256)))
    assert t.exchange(FullRead(1)).response is None
    d.power_cycle(t.now)
    assert t.read(1).code == 0


def test_aes_profile_used_by_aes_probe_is_accepted():
    d = build(**{"security.mode": "aes128"})
    assert Tester(d, AesCcmProfile([KEY_FULL])).read(1).code == 0
