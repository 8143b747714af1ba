"""Reference device core: config, 14908-1 layer, security, services (driven frame by frame)."""

from __future__ import annotations

import json
import struct

import pytest
import yaml

from osgp import lon
from osgp.app import FullRead, PartialRead, RawRequest
from osgp.errors import ConfigError
from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile
from osgp.transaction import Requester, Service, ToBroadcast, ToGroup, ToNeuronId
from osgpct.catalogue import load_catalogue
from osgpct.refdevice import FAULTS, DeviceConfig, ReferenceDevice, build
from osgpct.refdevice.catalog import BT04, BT07, ET04
from osgpct.refdevice.meter import EV_AUTH_FAILURE
from osgpct.refdevice.testing import Tester

KEY_FULL, KEY_READ, KEY_BCAST = bytes([1] * 16), bytes([2] * 16), bytes([3] * 16)


def dev(**flags) -> ReferenceDevice:
    return build(**flags) if flags else build()


def seq_of(device: ReferenceDevice) -> int:
    return device.security.seq


# --------------------------------------------------------------------------------------------------
# configuration and registry


def test_default_config_matches_the_default_test_plan():
    plan = yaml.safe_load(open("testplan.yaml", encoding="utf-8"))
    c = DeviceConfig.default()
    assert (c.identity.manufacturer, c.identity.model, c.identity.serial, c.identity.firmware) == (
        plan["dut"]["manufacturer"], plan["dut"]["model"], plan["dut"]["serial"], plan["dut"]["firmware"])
    assert (c.address.domain, c.address.subnet, c.address.node, c.address.neuron_id) == (
        plan["address"]["domain"], plan["address"]["subnet"], plan["address"]["node"], plan["address"]["neuron_id"])
    assert c.security.mode == plan["security"]["mode"]
    for level in ("full", "read"):
        assert "hex:" + c.key(level).hex() == plan["security"]["keys"][level]["secret"]
    assert "***" in repr(c.security.keys["full"])  # keys never print


def test_config_from_yaml_and_flags(tmp_path):
    f = tmp_path / "dev.yaml"
    f.write_text("device:\n  address: {node: 9, groups: [3, 4]}\n  security: {mode: aes128, window: 4,"
                 " keys: {full: '0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A'}}\n", encoding="utf-8")
    c = DeviceConfig.load(f)
    assert c.address.node == 9 and c.address.groups == (3, 4) and c.security.window == 4
    assert c.key("full") == bytes([10] * 16) and c.key("read") is None
    d = build(config_path=f, **{"metering.load_w": "500"})
    assert d.config.metering.load_w == 500.0 and d.security.mode == "aes128"


@pytest.mark.parametrize("bad", [{"security": {"mode": "des"}}, {"address": {"groups": list(range(11))}},
                                 {"identity": {"firmware": "12.0.0"}}, {"bogus": {}}, {"metering": {"nope": 1}}])
def test_bad_config_is_a_clear_error(bad):
    with pytest.raises(ConfigError):
        DeviceConfig.from_mapping(bad)


def test_unknown_fault_lists_valid_names():
    with pytest.raises(ConfigError) as e:
        build(faults=["accept_bad_digest", "no_such_fault"])
    assert "no_such_fault" in str(e.value) and "accept_replayed_seq" in str(e.value)


def test_fault_registry_is_complete_and_points_at_real_requirements():
    ids = {r.id for r in load_catalogue()}
    assert len(FAULTS) >= 30
    for f in FAULTS.values():
        assert f.requirement in ids, f
        assert f.description and f.name == f.name.lower()


# --------------------------------------------------------------------------------------------------
# 14908-1 layer with hand-built frames

# Full read of BT01 from 1/127 to 1/2, domain 01, SPDU REQUEST tid 1, sequence 0x00001001, digest under
# the full test key, CRC-16: built byte by byte (see test body), not by osgp.lon.
HAND_FRAME = bytes.fromhex("01 19 01 ff 01 82 01 01 30 00 01 00 00 10 01 51 38 e2 e4 13 5d 66 36 5f 7f")


def test_hand_built_frame_is_answered_with_the_same_tid():
    d = dev(**{"security.mode": "digest"})
    out = d.on_frame(HAND_FRAME, 0.0)
    assert len(out) == 1
    t, frame = out[0]
    assert t == 0.0
    # L2 hdr, NPDU (SPDU, 2a, 1-byte domain), 1/2 -> 1/127, domain 01, SPDU RESPONSE tid 1
    assert frame[:8] == bytes.fromhex("00 19 01 82 01 ff 01 21")
    apdu = frame[8:-2]
    assert apdu[:3] == b"\x00\x00\x18" and apdu[3:7] == b"OSGP" and len(apdu) == 3 + 24 + 8
    assert int.from_bytes(frame[-2:], "big") == lon.crc16(frame[:-2])
    assert seq_of(d) == 0x1001


def test_mep_guide_vector_invalid_sequence_response_is_byte_exact():
    """MEP-DG Example 1 (p.15): the published request with seq 01020304 to a device whose current
    sequence number is 0x77635B90 must be answered with the published 0x0C response and digest."""
    d = dev(**{"security.mode": "digest", "security.sequence_start": 0x77635B90})
    t = Tester(d)
    pdu = bytes.fromhex("3f 00 17 00 00 00 00 2c 01 02 03 04 74 86 1f 6d 76 58 dd 56")
    answer = lon.decode(t.send(t.frame(pdu))[0][1]).apdu
    assert answer == bytes.fromhex("0c 77 63 5b 90 35 86 3c 1d f5 b9 14 82")
    # the guide's retry (seq 77635B91, same key) is then accepted as published
    retry = bytes.fromhex("3f 00 17 00 00 00 00 2c 77 63 5b 91 13 db 85 a1 35 a0 57 5e")
    answer = lon.decode(t.send(t.frame(retry))[0][1]).apdu
    assert answer[:3] == b"\x00\x00\x2c" and len(answer) == 3 + 44 + 8


def test_bad_crc_is_dropped_and_changes_nothing():
    d = dev(**{"security.mode": "digest"})
    bad = HAND_FRAME[:-1] + bytes([HAND_FRAME[-1] ^ 1])
    assert d.on_frame(bad, 0.0) == []
    assert seq_of(d) == 0x1000 and d.messages_received == 0
    assert d.on_frame(HAND_FRAME, 0.0)  # and keeps serving


def test_frames_for_others_are_ignored_and_other_address_forms_work():
    d = dev()
    t = Tester(d)
    message = t.profile.protect_request(b"\x30\x00\x01", 0x1001).pdu
    other = Requester(1, 127, b"\x01")
    frame = lon.encode(other.start(type(t.dest)(1, 3), message, now=0.0)[0])
    assert d.on_frame(frame, 0.0) == []
    nid = Requester(1, 127, b"\x01")
    frame = lon.encode(nid.start(ToNeuronId(bytes.fromhex("0100A1B2C3D4")), message, now=0.0)[0])
    assert len(d.on_frame(frame, 0.0)) == 1
    group = Requester(1, 127, b"\x01")  # group messages are verified with the broadcast key
    msg2 = DigestProfile([KEY_BCAST]).protect_request(b"\x30\x00\x01", 0x1002).pdu
    reply = lon.decode(d.on_frame(lon.encode(group.start(ToGroup(10, 1), msg2, now=0.0)[0]), 0.0)[0][1])
    assert isinstance(reply.address, lon.GroupAckAddress) and reply.address.group == 10
    msg3 = DigestProfile([KEY_BCAST]).protect_request(b"\x30\x00\x01", 0x1003).pdu
    group.abort(1.0)
    assert d.on_frame(lon.encode(group.start(ToGroup(11, 1), msg3, now=1.0)[0]), 1.0) == []


def test_duplicate_is_answered_from_the_saved_response_and_not_executed_again():
    d = dev()
    t = Tester(d)
    from osgp.tables import encode_procedure_initiate

    sent = t.profile.protect_request(b"\x40\x00\x07\x00\x04" + encode_procedure_initiate(2050, 9, b"\x00"),
                                     seq_of(d) + 1, encrypt=False)
    frame = t.frame(sent.pdu)
    first = d.on_frame(frame, 0.0)
    events = d.meter.log.written
    again = d.on_frame(frame, 1.0)
    assert again[0][1] == first[0][1]
    assert d.meter.log.written == events  # not executed twice
    later = d.on_frame(frame, 20.0)  # receive timer expired: new delivery, stale sequence number
    assert lon.decode(later[0][1]).apdu[0] == 0x0C


def test_acknowledged_service_is_acked_and_executed():
    d = dev()
    t = Tester(d)
    t.seq += 1
    sent = t.profile.protect_request(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x99", t.seq)
    out = t.send(t.frame(sent.pdu, Service.ACKD))
    ack = lon.decode(out[0][1])
    assert isinstance(ack.pdu, lon.Tpdu) and ack.pdu.type == lon.TpduType.ACK and ack.apdu == b""
    assert t.read_partial(5, 0, 1).data == b"\x99"


def test_broadcast_with_the_broadcast_key_is_executed_silently_and_unicast_key_is_not():
    d = dev()
    bcast = DigestProfile([KEY_BCAST])
    r = Requester(1, 127, b"\x01")
    write = b"\x4f\x00\x05\x00\x00\x00\x00\x01\x42"
    frame = lon.encode(r.start(ToBroadcast(0), bcast.protect_request(write, 0x1001).pdu, now=0.0,
                               service=Service.UNACKD)[0])
    assert d.on_frame(frame, 0.0) == []
    assert d.security.broadcast_seq == 0x1001 and d.security.seq == 0x1000  # separate counters
    assert Tester(d).read_partial(5, 0, 1).data == b"\x42"
    wrong = DigestProfile([KEY_FULL]).protect_request(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x43", 0x1002).pdu
    assert d.on_frame(lon.encode(r.start(ToBroadcast(0), wrong, now=1.0, service=Service.UNACKD)[0]), 1.0) == []
    assert Tester(d).read_partial(5, 0, 1).data == b"\x42"


# --------------------------------------------------------------------------------------------------
# security


def test_bad_digest_gets_clear_0b_and_changes_no_state():
    d = dev()
    t = Tester(d)
    before = (seq_of(d), d.catalog.image(5, 0.0))
    reply = t.exchange(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x55", key=bytes([9] * 16), encrypt=True)
    apdu = lon.decode(reply.frames[0][1]).apdu
    assert apdu[0] == 0x0B  # never encrypted
    assert (seq_of(d), d.catalog.image(5, 0.0)) == before
    assert d.security.auth_failures == 1 and d.meter.log.events()[-1].code == EV_AUTH_FAILURE


def test_sequence_window_replay_and_resynchronisation():
    d = dev()
    t = Tester(d)
    cur = seq_of(d)
    assert t.exchange(FullRead(1), seq=cur + 8).response.code == 0  # +8 accepted
    cur += 8
    r = t.exchange(FullRead(1), seq=cur + 9).response  # +9 refused with the current number
    assert r.code == 0x0C and r.expected_seq == cur
    assert t.exchange(FullRead(1), seq=cur).response.code == 0x0C  # replay of the current number
    assert t.exchange(FullRead(1), seq=cur - 3).response.code == 0x0C  # behind
    assert t.exchange(FullRead(1), seq=cur + 1).response.code == 0  # N+1 after 0x0C
    assert seq_of(d) == cur + 1


def test_rc4_request_gets_encrypted_response_and_plain_gets_plain():
    d = dev()
    t = Tester(d)
    enc = t.exchange(FullRead(1), encrypt=True)
    assert enc.response.data[:4] == b"OSGP"
    assert b"OSGP" not in lon.decode(enc.frames[0][1]).apdu  # nothing leaks in clear
    plain = t.exchange(FullRead(1), encrypt=False)
    assert b"OSGP" in lon.decode(plain.frames[0][1]).apdu
    stale = t.exchange(FullRead(1), seq=seq_of(d), encrypt=True)  # 0x0C to an encrypted request
    assert stale.response.code == 0x0C and lon.decode(stale.frames[0][1]).apdu[0] != 0x0C


def test_aes_mode_accepts_aes_and_rejects_every_rc4_or_digest_request():
    d = dev(**{"security.mode": "aes128"})
    t = Tester(d)
    assert t.read(1).data[:4] == b"OSGP"
    for profile in (Rc4Profile([KEY_FULL]), DigestProfile([KEY_FULL])):
        before = seq_of(d)
        reply = t.exchange(b"\x4f\x00\x05\x00\x00\x00\x00\x01\x77", profile=profile)
        assert lon.decode(reply.frames[0][1]).apdu[0] == 0x0B and seq_of(d) == before
    assert t.read_partial(5, 0, 1).data != b"\x77"
    assert t.read_partial(ET04, 127, 1).data == b"\x02"


def test_mode_switch_only_through_the_aes_path():
    d = dev()
    t = Tester(d)
    assert t.procedure(2048 + 82, b"\x02")[1].result == 5  # RC4 path refused
    assert d.security.mode == "rc4"
    aes = Tester(d, AesCcmProfile([KEY_FULL, KEY_READ]))
    assert aes.procedure(2048 + 82, b"\x02")[1].result == 0
    assert d.security.mode == "aes128"
    assert lon.decode(t.exchange(FullRead(1)).frames[0][1]).apdu[0] == 0x0B
    assert aes.procedure(2048 + 82, b"\x00")[1].result == 0 and d.security.mode == "rc4"


def test_read_key_reads_but_cannot_write_except_bp10():
    d = dev()
    t = Tester(d, key_index=1)
    assert t.read(1).code == 0
    assert t.write_partial(5, 0, b"\x01").code == 0x03
    assert t.read(2048 + 100).code == 0x03  # firmware download area
    w, r = t.procedure(10, bytes([3, 24, 6, 1, 8, 0, 0, 0]))
    assert w.code == 0 and r.result == 0
    assert t.procedure(2050, b"\x00")[0].code == 0x03


def test_key_change_needs_encryption_and_takes_effect():
    d = dev()
    t = Tester(d)
    new = bytes(range(16))
    assert t.procedure(2048 + 80, b"\x00" + new, encrypt=False)[1].result == 5
    w, _ = t.procedure(2048 + 80, b"\x00" + new, encrypt=True)
    assert w.code == 0
    old = t.exchange(FullRead(1))
    assert lon.decode(old.frames[0][1]).apdu[0] == 0x0B
    t2 = Tester(d, Rc4Profile([new, KEY_READ]))
    t2.seq = seq_of(d)
    assert t2.read(1).code == 0


def test_key_usage_counts_every_attempt():
    d = dev()
    t = Tester(d)
    t.read(1)
    t.exchange(FullRead(1), key=bytes([7] * 16))
    assert d.security.unicast_uses == 2
    assert struct.unpack_from("<I", t.read_partial(2048 + 54, 82, 4).data)[0] == 3


def test_sequence_number_survives_power_cycle_in_memory_and_in_a_file(tmp_path):
    d = dev()
    t = Tester(d)
    t.read(1)
    t.read(1)
    seq = seq_of(d)
    d.power_cycle(10.0, outage_s=5.0)
    assert seq_of(d) == seq
    assert t.exchange(FullRead(1), seq=seq).response.code == 0x0C  # the old number stays used
    path = tmp_path / "nvm.json"
    d2 = build(persistence=str(path))
    t2 = Tester(d2)
    t2.read(1)
    d2.power_cycle(3.0)
    saved = json.loads(path.read_text())
    assert saved["security"]["seq"] == seq_of(d2) == 0x1001
    d3 = build(persistence=str(path))
    assert seq_of(d3) == 0x1001


# --------------------------------------------------------------------------------------------------
# services


def test_unknown_and_unsupported_codes_and_malformed_requests():
    d = dev()
    t = Tester(d)
    assert t.exchange(RawRequest(b"\x99\x00")).message == b"\x01"
    assert t.exchange(RawRequest(b"\x20")).message == b"\x02"
    assert t.exchange(b"\x3f\x00\x01\x00").message == b"\x01"  # partial read missing offset/count


def test_partial_reads_past_the_end_are_zero_filled():
    d = dev()
    t = Tester(d)
    full = t.read(1).data
    assert len(full) == 24
    r = t.read_partial(1, 20, 10)
    assert r.code == 0 and r.data == full[20:] + bytes(6)
    assert t.read_partial(1, 100, 4).data == bytes(4)


def test_write_count_rules():
    d = dev()
    t = Tester(d)
    before = t.read(5).data
    assert t.write(5, b"\x11" * 10 + b"\x22" * 4, count=4).code == 0  # only count bytes written
    assert t.read(5).data == b"\x11" * 4 + before[4:]
    assert t.write_partial(5, 8, b"\x33" * 6).code == 0  # excess beyond the table ignored
    assert t.read(5).data[8:] == b"\x33\x33"
    assert t.write_partial(5, 10, b"\x44").code == 0x04  # offset beyond the end: refused


def test_read_only_and_unimplemented_tables():
    d = dev()
    t = Tester(d)
    image = t.read(1).data
    assert t.write_partial(1, 0, b"XXXX").code == 0x03 and t.read(1).data == image
    assert t.read(2).code == 0x05 and t.write_partial(2, 0, b"\x00").code == 0x05
    assert t.read(BT04 + 4096).code == 0x05  # BT04 has no pending form
    assert t.write_partial(BT07, 0, b"\x00\x00\x01").code == 0x05  # procedures need a full write


def test_bt00_bitmaps_list_exactly_the_tables_that_answer_with_bit7_cases():
    d = dev()
    t = Tester(d)
    from osgp.tables import Dimensions, schema

    bt00 = schema(0).decode(t.read(0).data, Dimensions())
    for n in (7, 23, 55, 63):  # bit 7 of bytes 0, 2, 6, 7
        assert n in bt00.std_tbls_used
    assert 7 in bt00.std_proc_used and 23 in bt00.mfg_tbls_used
    for n in range(80):
        code = t.read_partial(n, 0, 1).code
        assert code == (0 if n in bt00.std_tbls_used else 0x05), n
    for n in bt00.mfg_tbls_used:
        assert t.read_partial(2048 + n, 0, 1).code == 0
    assert t.read(2048 + 5).code == 0x05


def test_table_data_is_little_endian():
    d = dev()
    t = Tester(d)
    t.read(1)
    assert struct.unpack_from("<I", t.read_partial(ET04, 0, 4).data)[0] == seq_of(d)


def test_too_long_response_is_refused_and_partial_reads_work():
    d = dev()
    t = Tester(d)
    assert t.read(64).code == 0x04  # 3.9 kB block data: over the APDU limit
    assert len(t.read_partial(64, 0, 200).data) == 200


def test_internal_error_is_answered_0x01_and_logged(monkeypatch):
    d = dev()
    t = Tester(d)

    def boom(*a, **k):
        raise RuntimeError("bug")

    monkeypatch.setattr(d.catalog, "read", boom)
    assert t.exchange(FullRead(1)).message == b"\x01"
    assert any("internal error" in line for line in d.log)
    monkeypatch.undo()
    assert t.read(1).code == 0


def test_exception_at_the_link_layer_drops_the_frame(monkeypatch):
    d = dev()
    monkeypatch.setattr(d.responder, "on_frame", lambda *a: 1 / 0)
    assert d.on_frame(HAND_FRAME, 0.0) == []
    assert "ZeroDivisionError" in d.log[-1]


def test_partial_read_request_helper_sanity():
    d = dev()
    t = Tester(d)
    assert t.exchange(PartialRead(3, 0, 10)).response.data == t.read(3).data



def test_with_a_clock_device_time_is_anchored_at_construction():
    from osgp.clock import VirtualClock

    clock = VirtualClock(123456.0)  # a server's monotonic clock starts anywhere
    d = build(clock=clock, **{"security.mode": "digest"})
    out = d.on_frame(HAND_FRAME, 123456.0)
    assert out[0][0] == 123456.0
    assert d.meter.utc(123456.0) == d.config.utc_start() and d.meter.lp.written_blocks == 0


def test_security_variants_follow_the_config():
    d = dev(**{"security.rc4_variant": "mep", "security.aes_tag_len": 12, "security.aes_device_id": "0102"})
    t = Tester(d)
    assert t.exchange(FullRead(1), encrypt=True).response.data[:4] == b"OSGP"
    assert t.exchange(FullRead(1), profile=Rc4Profile([KEY_FULL])).response.code == 0x0B  # plc variant
    aes = Tester(d, AesCcmProfile([KEY_FULL], tag_len=12, device_id=b"\x01\x02"))
    assert aes.read(1).code == 0


def test_session_over_the_loopback_driver_talks_to_the_device():
    """The suite's own path: Session -> loopback driver (virtual clock) -> device core."""
    from osgp.session import Session, SessionConfig
    from osgp.transaction import ToNode
    from osgpct.drivers import open_driver

    d = dev()
    with open_driver("loopback:", device=d) as driver:
        config = SessionConfig(domain=b"\x01", tester_subnet=1, tester_node=127, dut=ToNode(1, 2),
                               profile=Rc4Profile([KEY_FULL, KEY_READ]))
        s = Session(driver, config)
        assert s.read(1).data[:4] == b"OSGP"  # learns the sequence number through 0x0C first
        out = s.procedure(2050, b"\x00")
        assert out.result.result == 0 and not d.meter.relay.closed
        assert s.read_partial(2048 + 23, 94, 1).data == b"\x03"
