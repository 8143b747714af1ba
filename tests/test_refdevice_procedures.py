"""Reference device: procedures, pending tables, clock, registers, load profile, log, relay, firmware."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from osgp.tables import Dimensions, schema
from osgpct.refdevice import build
from osgpct.refdevice.catalog import BT03, BT04, BT08, BT23, BT52, BT53, BT55, BT63, BT74, ET03, ET04, ET23, ET54
from osgpct.refdevice.firmware import header
from osgpct.refdevice.meter import EV_PENDING_ACTIVATED, EV_TIME_CHANGED_NEW, EV_TIME_CHANGED_OLD
from osgpct.refdevice.procedures import EP_FIRMWARE_ACTIVATE, EP_RELAY
from osgpct.refdevice.testing import Tester

START = datetime(2024, 3, 1, tzinfo=UTC).timestamp()  # DeviceConfig.default() clock_start


def setup(**flags):
    d = build(**flags) if flags else build()
    return d, Tester(d)


def decoded(t: Tester, tid: int):
    return schema(tid).decode(t.read(tid).data if tid not in (BT74,) else _read_all(t, tid), t.device.catalog.dims)


def _read_all(t: Tester, tid: int, chunk: int = 512) -> bytes:
    size = t.device.catalog.size(tid)
    return b"".join(t.read_partial(tid, off, min(chunk, size - off)).data for off in range(0, size, chunk))


def bt52_utc(t: Tester) -> float:
    return decoded(t, BT52).clock_calendar.to_datetime().replace(tzinfo=UTC).timestamp()


# --------------------------------------------------------------------------------------------------
# the procedure mechanism


def test_bt08_echoes_number_and_psn_and_repeated_psn_is_refused():
    d, t = setup()
    w, r = t.procedure(7, psn=42)
    assert (w.code, r.number, r.psn, r.result) == (0, 7, 42, 0)
    events = d.meter.log.written
    w, r = t.procedure(8, psn=42)  # same PSN as the previous write
    assert w.code == 0x04 and r is None
    assert d.meter.log.written == events  # not executed
    assert decoded(t, BT08).proc_nbr == 7  # BT08 still shows the last procedure run


def test_unknown_procedure_bad_parameters_and_long_parameters():
    d, t = setup()
    assert t.procedure(2048 + 95)[1].result == 6
    assert t.procedure(1)[1].result == 6  # BP01 is not in the bitmap
    assert t.procedure(10, bytes([3, 24, 13, 1, 0, 0, 0, 0]))[1].result == 2  # month 13
    assert t.procedure(10, bytes([3, 24, 2, 30, 0, 0, 0, 0]))[1].result == 2  # 30 February
    assert t.procedure(2050, b"")[1].result == 2
    assert t.procedure(2050, bytes(256))[1].result == 2  # > MAX_PROC_PARM_LENGTH
    assert d.meter.relay.closed


def test_selectors_control_posting():
    d, t = setup()
    t.procedure(7, psn=1)
    t.procedure(8, psn=2, selector=2)  # never post
    assert decoded(t, BT08).proc_nbr == 7
    t.procedure(8, psn=3, selector=1)  # post only on exception: success is not posted
    assert decoded(t, BT08).proc_nbr == 7
    t.procedure(2048 + 90, psn=4, selector=1)  # unknown: an exception, posted
    assert decoded(t, BT08).result == 6


# --------------------------------------------------------------------------------------------------
# clock


def test_clock_advances_and_bp10_sets_it_with_time_changed_events():
    d, t = setup()
    t.advance(125)
    assert bt52_utc(t) == START + 125
    w, r = t.procedure(10, bytes([3, 24, 6, 15, 12, 30, 0, 0]))
    assert r.result == 0
    target = datetime(2024, 6, 15, 12, 30, tzinfo=UTC).timestamp()
    assert bt52_utc(t) == target
    t.advance(60)
    assert bt52_utc(t) == target + 60
    codes = [e.code for e in d.meter.log.events()]
    assert EV_TIME_CHANGED_OLD in codes and EV_TIME_CHANGED_NEW in codes
    t.procedure(10, bytes([1, 0, 0, 0, 8, 0, 0, 0]))  # time only: date kept
    assert bt52_utc(t) == datetime(2024, 6, 15, 8, 0, tzinfo=UTC).timestamp()


def test_bt55_is_local_time_with_tier_and_bt53_moves_it():
    d, t = setup()
    t.advance(8 * 3600)  # 08:00 UTC = 09:00 local (UTC+60 min): tier 1 from 07:00
    v = decoded(t, BT55)
    assert (v.clock_calendar.hour, v.curr_tier, v.tm_zn_applied_flag) == (9, 1, True)
    assert t.write_partial(BT53, 4, struct.pack("<h", -300)).code == 0  # UTC-5 h
    v = decoded(t, BT55)
    assert (v.clock_calendar.hour, v.curr_tier) == (3, 0)
    assert t.write_partial(BT53, 4, struct.pack("<h", 900)).code == 0x04  # outside -12 h..+14 h


def test_ep16_slews_at_the_configured_rate():
    d, t = setup()
    assert t.procedure(2048 + 16, struct.pack("<i", 30))[1].result == 0
    assert d.meter.slew_status == 1
    t.advance(60)  # 4 s per minute
    t.read(1)
    assert abs(bt52_utc(t) - (START + 60 + 4)) < 1.01
    t.advance(10 * 60)
    t.read(1)
    assert d.meter.slew_status == 2 and bt52_utc(t) == START + 660 + 30
    assert t.read_partial(ET54, 71, 1).data[0] >> 1 & 3 == 2


# --------------------------------------------------------------------------------------------------
# registers, load profile, log


def test_energy_registers_follow_time_and_tiers():
    d, t = setup()
    t.advance(3600)
    bt23 = decoded(t, BT23)
    assert bt23.tot_data_block.summations[0] == 1200  # 1200 W for one hour
    assert bt23.tier_data_block[0].summations[0] == 1200  # 01:00-02:00 local: tier 0
    t.procedure(9, b"\x01")  # demand reset
    assert decoded(t, BT23).nbr_demand_resets == 1


def test_load_profile_intervals_close_with_time_and_overflow_is_flagged():
    d, t = setup()
    t.advance(3600 + 1)
    bt63 = decoded(t, BT63).sets[0]
    assert (bt63.nbr_valid_blocks, bt63.nbr_valid_int, bt63.nbr_unread_blocks) == (1, 4, 1)
    block = t.read_partial(64, 0, 5 + 12 + 4 * 10).data
    assert block[5:6] == b"\x0f"  # simple status: intervals 0..3
    assert struct.unpack_from("<ii", block, 17 + 3 * 10 + 2) == (1200, 300)  # interval 3 ends at 01:00
    t.advance(5 * 86400)
    bt63 = decoded(t, BT63).sets[0]
    assert bt63.overflow_flag and bt63.nbr_unread_blocks == 4
    assert 0 in decoded(t, BT03).ed_mfg_status  # LP overflow alarm
    assert t.procedure(4, b"\x03")[1].result == 0
    assert not decoded(t, BT63).sets[0].overflow_flag and 0 not in decoded(t, BT03).ed_mfg_status


def test_clock_step_flags_the_interval():
    d, t = setup()
    t.advance(100)
    t.procedure(10, bytes([1, 0, 0, 0, 0, 5, 0, 0]))  # 00:05 -> still the first interval, set "forward"
    t.advance(15 * 60)
    status = t.read_partial(64, 17, 2).data
    assert status[0] >> 4 & 0x4 and status[0] & 0xF == 2  # clock set forward, channel 0 partial


def test_history_log_unread_flag_and_bp05():
    d, t = setup()
    t.procedure(7)
    log = decoded(t, BT74)
    assert log.nbr_unread_entries > 0 and 28 in decoded(t, BT03).ed_mfg_status
    entry = log.entries[log.last_entry_element]
    assert entry.user_id == 0xFFFE and entry.event_code == 9
    t.procedure(5, struct.pack("<BH", 1, 1000))
    log = decoded(t, BT74)
    assert log.nbr_unread_entries <= 2  # BP05 itself, and its own procedure event
    assert t.procedure(5, b"\x02\x01\x00")[1].result == 3  # no self-read list here


def test_clear_history_log_keeps_the_sequence_number():
    d, t = setup()
    t.procedure(7)
    seq = d.meter.log.last_seq
    assert t.procedure(2048 + 83)[1].result == 0
    log = decoded(t, BT74)
    assert log.nbr_valid_entries == 2 and log.last_entry_seq_nbr == seq + 2  # cleared, then 2 new events


# --------------------------------------------------------------------------------------------------
# relay


def test_remote_disconnect_transients_alarm_spacing_and_energy():
    d, t = setup()
    assert t.procedure(EP_RELAY, b"\x00")[1].result == 0
    assert t.read_partial(ET23, 94, 1).data == b"\x03"  # opening
    assert 2 in decoded(t, BT03).ed_mfg_status
    t.advance(3)
    assert t.read_partial(ET23, 94, 1).data == b"\x02"  # opened
    energy = decoded(t, BT23).tot_data_block.summations[0]
    t.advance(3600)
    assert decoded(t, BT23).tot_data_block.summations[0] == energy  # no load while open
    assert t.procedure(EP_RELAY, b"\x01")[1].result == 0
    assert t.procedure(EP_RELAY, b"\x00")[1].result == 4  # < 10 s after the last operation
    assert t.read_partial(ET23, 94, 1).data == b"\x01"
    t.procedure(8)
    assert 2 not in decoded(t, BT03).ed_mfg_status


def test_device_without_relay_does_not_offer_the_procedure():
    d, t = setup(**{"capabilities.relay": False})
    assert t.procedure(EP_RELAY, b"\x00")[1].result == 6
    assert 2 not in schema(0).decode(t.read(0).data, Dimensions()).mfg_proc_used


# --------------------------------------------------------------------------------------------------
# pending tables


def _ped_relative(seconds: int) -> bytes:
    return bytes([1, 0, 0, 0, seconds // 60, seconds % 60])


def test_pending_table_with_relative_ped_activates_on_time():
    d, t = setup()
    new = bytes([2, 0, 0, 60]) + struct.pack("<h", 120)
    assert t.write(BT53 + 4096, _ped_relative(90) + new).code == 0
    bt04 = decoded(t, BT04)
    assert 53 in bt04.std_pending and bt04.activations[0].still_pending
    assert t.read(BT53).data != new
    pend = t.read_partial(BT53 + 4096, 3, 10).data  # count includes the PED, offset does not move
    assert pend == _ped_relative(90) + new[3:6] + bytes(1)
    t.advance(89)
    assert t.read(BT53).data != new
    t.advance(2)
    assert t.read(BT53).data == new
    bt04 = decoded(t, BT04)
    assert 53 not in bt04.std_pending and not bt04.activations[0].still_pending
    assert bt04.last_activation_time.minute == 1
    assert [e for e in d.meter.log.events() if e.code == EV_PENDING_ACTIVATED][0].arg == 53


def test_pending_table_with_absolute_ped_and_manual_ped():
    d, t = setup()
    image = t.read(ET03).data
    new = b"NEW-SERIAL".ljust(30, b"\0") + image[30:]
    ped_abs = bytes([0, 24, 3, 1, 0, 30])  # 2024-03-01 00:30 UTC
    assert t.write(ET03 + 4096, ped_abs + new).code == 0
    manual = bytes([2, 0, 0, 0, 0, 0])
    assert t.write(BT53 + 4096, manual + bytes([2, 0, 0, 60, 0, 0])).code == 0
    t.advance(29 * 60)
    assert t.read(ET03).data[:10] != b"NEW-SERIAL"
    t.advance(61)
    assert t.read(ET03).data[:10] == b"NEW-SERIAL"
    t.advance(86400)
    assert decoded(t, BT04).activations[1].still_pending  # manual: never automatic
    assert t.procedure(15, bytes([0, 0, 0, 0, 0, 1]))[1].result == 1  # no matching PED
    assert t.procedure(13, manual)[1].result == 0
    assert t.read(BT53).data == bytes([2, 0, 0, 60, 0, 0])


def test_bp12_activates_all_and_bp14_clears_without_touching_data():
    d, t = setup()
    manual = bytes([2, 0, 0, 0, 0, 0])
    t.write(BT53 + 4096, manual + bytes([2, 0, 0, 60, 10, 0]))
    assert t.procedure(12)[1].result == 0
    assert t.read(BT53).data == bytes([2, 0, 0, 60, 10, 0])
    before = t.read(BT53).data
    t.write(BT53 + 4096, manual + bytes([2, 0, 0, 60, 20, 0]))
    assert t.procedure(14)[1].result == 0
    assert not decoded(t, BT04).std_pending and t.read(BT53).data == before


def test_pending_ped_with_self_read_and_demand_reset_flags():
    d, t = setup()
    t.write(BT53 + 4096, bytes([0x22, 0, 0, 0, 0, 0]) + t.read(BT53).data)
    t.procedure(12)
    assert decoded(t, BT23).nbr_demand_resets == 1


def test_pending_write_of_a_table_without_pending_form_is_refused():
    d, t = setup()
    assert t.write(BT52 + 4096, bytes(6 + 7)).code == 0x05
    assert not decoded(t, BT04).std_pending


# --------------------------------------------------------------------------------------------------
# firmware


def _download(t: Tester, image: bytes, version: int, key: bytes | None = None, crc_ok: bool = True) -> None:
    head = bytearray(header(image, version, key))
    if not crc_ok:
        head[4] ^= 0xFF
    assert t.write(2048 + 100, bytes(head)).code == 0
    for off in range(0, len(image), 128):
        assert t.write_partial(2048 + 101, off, image[off:off + 128]).code == 0


def test_firmware_transfer_check_and_activation():
    d, t = setup()
    image = bytes(range(256)) * 3
    idt = t.read_partial(ET04, 116, 1).data[0]
    _download(t, image, 0x4200, crc_ok=False)
    assert t.procedure(EP_FIRMWARE_ACTIVATE)[1].result == 3
    assert t.read_partial(2048 + 100, 24, 1).data == b"\x03"
    assert t.read_partial(1, 14, 2).data == bytes([0x41, 0x47])  # 4.10.07 still running
    _download(t, image, 0x4200)
    assert t.procedure(EP_FIRMWARE_ACTIVATE)[1].result == 0
    assert t.read_partial(1, 14, 2).data == bytes([0x42, 0x00])
    assert t.read_partial(ET04, 116, 1).data[0] == idt + 1
    from osgp.lon import crc16

    assert struct.unpack("<H", t.read_partial(ET03, 137, 2).data)[0] == crc16(image)
    assert 14 in decoded(t, BT03).ed_mfg_status  # code bank changed


def test_firmware_mac_is_checked_in_aes_mode():
    d, t = setup(**{"security.mode": "aes128"})
    image = b"\x5a" * 300
    _download(t, image, 0x4201, key=bytes([9] * 16))
    assert t.procedure(EP_FIRMWARE_ACTIVATE)[1].result == 3
    _download(t, image, 0x4201, key=bytes([1] * 16))
    assert t.procedure(EP_FIRMWARE_ACTIVATE)[1].result == 0


def test_image_crc_copy_in_et03_is_read_only():
    d, t = setup()
    crc = t.read_partial(ET03, 137, 2).data
    assert t.write_partial(ET03, 137, b"\xde\xad").code == 0
    assert t.read_partial(ET03, 137, 2).data == crc
