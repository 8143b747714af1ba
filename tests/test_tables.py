"""Table and procedure schemas against the worked examples and offsets of the tables digest.

Every byte string here is a hex literal transcribed from shared/spec/tables-and-procedures.md (section
numbers in the test names) or hand-built from a documented layout, never produced by our encoder.
"""

from __future__ import annotations

import pytest

from osgp.errors import DecodeError, EncodeError
from osgp.tables import (
    PROCEDURES,
    TABLES,
    DimensionError,
    Dimensions,
    LTimeDate,
    PathError,
    Ped,
    Record,
    Severity,
    STimeDate,
    UnknownTable,
    decode_procedure_response,
    encode_procedure_initiate,
    procedure,
    schema,
    split_extended_status,
)

NES = Dimensions.nes_default()


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", "").replace("|", ""))


def dims_with(**roles: dict) -> Dimensions:
    """nes_default with some roles replaced by partial overrides."""
    tables = {r: NES.get(r) for r in NES.roles}
    for role, changes in roles.items():
        tables[role] = Record({**tables[role], **changes})
    return Dimensions(tables)


# ---------------------------------------------------------------------------------------------- §10.1

# 11 summations x INT32 LE: outage duration 8 s (index 4), outage count 3 (5), error counter 6 (10)
BT23_44 = h("00000000 00000000 00000000 00000000 08000000 03000000 00000000 00000000 00000000 00000000 06000000")


def test_bt23_worked_example_10_1_eleven_summations():
    dims = dims_with(bt21=dict(nbr_summations=11, nbr_demands=0, nbr_coin_values=0, nbr_tiers=0,
                               demand_reset_ctr_flag=False))
    bt23 = schema(23)
    assert bt23.size(dims) == 44
    v = bt23.decode(BT23_44, dims)
    assert "nbr_demand_resets" not in v  # A = 0: no BT21.0.2 counter
    assert v.tot_data_block.summations == [0, 0, 0, 0, 8, 3, 0, 0, 0, 0, 6]
    assert v.tot_data_block.demands == [] and v.tier_data_block == []


def test_bt23_partial_read_of_one_summation_with_nes_dimensions():
    # NES BT21 sets the demand-reset counter flag, so summation 4 sits at 1 + 4*4
    assert schema(23).field_offset("tot_data_block.summations[4]", NES) == (17, 4)
    assert schema(23).decode_field("tot_data_block.summations[4]", h("08000000"), NES) == 8
    assert schema(23).field_offset("tier_data_block[1].summations[0]", NES) == (1 + 196 + 196, 4)


def test_bt23_short_data_error_names_field_offset_and_length():
    dims = dims_with(bt21=dict(nbr_summations=11, nbr_demands=0, nbr_coin_values=0, nbr_tiers=0,
                               demand_reset_ctr_flag=False))
    with pytest.raises(DecodeError) as e:
        schema(23).decode(BT23_44[:15], dims)
    assert "tot_data_block.summations[3]" in str(e.value)
    assert e.value.offset == 12 and "needs 4 bytes, table has 15" in str(e.value)


def test_trailing_bytes_are_a_decode_error():
    with pytest.raises(DecodeError, match="beyond the last field"):
        schema(21).decode(h("3F 0E 0C 0F 08 00 01 04 08 1A 00"), NES)


# ---------------------------------------------------------------------------------------------- §10.4


def test_bt20_bt21_ten_byte_records_10_4():
    bt20 = schema(20).decode(h("3F 0E FD 0F 08 10 01 04 08 1A"), NES)
    assert (bt20.nbr_self_reads, bt20.nbr_summations, bt20.nbr_demands, bt20.nbr_coin_values) == (253, 15, 8, 16)
    assert (bt20.nbr_occur, bt20.nbr_tiers, bt20.nbr_present_demands, bt20.nbr_present_values) == (1, 4, 8, 26)
    # 0x3F: flags 0..5 set, 6 clear; 0x0E: bits 1..3 set, coupling 0
    assert bt20.season_info_field_flag and bt20.cont_cum_demand_flag and not bt20.time_remaining_flag
    assert not bt20.self_read_inhibit_overflow_flag and bt20.self_read_seq_nbr_flag
    assert bt20.daily_self_read_flag and bt20.weekly_self_read_flag and bt20.self_read_demand_reset == 0

    bt21 = schema(21).decode(h("3F 0E 0C 0F 08 00 01 04 08 1A"), NES)
    assert bt21.nbr_self_reads == 12 and bt21.nbr_coin_values == 0
    assert bt21 == NES.get("bt21")  # the reference dimensions are this capture


def test_et11_prefix_10_4_partial_read():
    v = schema(2048 + 11).decode_partial(h("05 42 24 05 06 05 02 01 03 F9"), NES)
    assert (v.nbr_devices, v.et13_entry_size, v.et14_entry_size) == (5, 66, 36)
    assert (v.on_demand_queue_size, v.et15_entry_size, v.et16_entry_size) == (5, 6, 517)
    assert v.txn_request_length == 769
    assert "txn_response_length" not in v  # only its low byte F9 was read


def test_decode_partial_from_an_offset():
    v = schema(2048 + 11).decode_partial(h("F9 06 19"), NES, offset=9)
    assert v == {"txn_response_length": 0x06F9, "on_demand_write_size": 25}


# ---------------------------------------------------------------------------------------------- §10.6 / §8.2


def bt01_image(fw: str) -> bytes:
    # "NES " | "REFMETER" | hw 3A 05 | fw (MSB first) | BCD serial 0000000000012345
    return b"NES " + b"REFMETER" + h("3A 05") + h(fw) + h("0000 0000 0001 2345")


@pytest.mark.parametrize("fw, version", [("30 18", (3, 0, 24)), ("31 55", (3, 10, 21))])
def test_bt01_packed_firmware_version_msb_first(fw, version):
    v = schema(1).decode(bt01_image(fw), NES)
    assert (v.fw_major, v.fw_minor, v.fw_build) == version
    assert v.mfg_serial_number == "0000000000012345" and v.ed_model == "REFMETER"
    assert schema(1).encode(v, NES) == bt01_image(fw)
    assert Dimensions.from_tables({1: v}).firmware == version


def test_bt01_firmware_version_ranges_are_validated():
    v = schema(1).decode(bt01_image("31 55"), NES)
    v.fw_minor = 100  # fits the 7 bits, outside yy <= 99
    issues = schema(1).validate(v, NES)
    assert [(i.path, i.severity) for i in issues] == [("fw_minor", Severity.ERROR)]


def test_bt01_serial_is_char_when_id_form_is_0():
    dims = dims_with(bt00=dict(id_form=0))
    v = schema(1).decode(b"NES REFMETER" + h("3A05 3018") + b"SERIAL-0001     ", dims)
    assert v.mfg_serial_number == "SERIAL-0001     "


def test_pending_table_ids_4150_and_6191():
    bt4150 = schema(4150)
    assert bt4150.name == "BT4150" and bt4150.is_pending and bt4150.size(NES) == 6 + 808
    assert bt4150.fields[0].name == "ped"
    et47p = schema(6191)
    assert et47p.size(NES) == 6 + 16
    # PED: code 2 (manual) | tariff 3, type 2 (after duration), 3600 s, no time, calendar id 7
    image = h("02 0000000000 | 03 02 100E0000 000000000000 07000000")
    v = et47p.decode(image, NES)
    assert v.ped == Ped.manual() and v.tariff == 3 and v.duration == 3600 and v.calendar_id == 7
    # OPG p.9: a partial read of a pending table keeps the base offset and counts the PED
    assert et47p.request_span("duration", NES) == (2, 10)
    assert bt4150.request_span("non_recurr_dates[1]", NES) == (3, 9)


def test_ped_absolute_relative_and_flags():
    bt04 = schema(4)  # activation records: PED + {table number, still pending}
    rec = bt04.decode_field("activations[0]", h("30 18 0C 1F 17 3B | 36 10"), NES)  # code 0, both flags
    v = rec.ped
    assert v.self_read and v.demand_reset and v.absolute_time == STimeDate(24, 12, 31, 23, 59)
    assert (rec.table_number, rec.still_pending) == (54, True)
    assert procedure(13).encode_params({"ped": Ped.relative(days=1, hours=2)}) == h("01 00 01 02 00 00")
    assert Ped(0).is_empty and not Ped.manual().is_empty


# ---------------------------------------------------------------------------------------------- §10.3 / §5


def test_bt07_ep17_worked_example_10_3():
    expected = h("11 08 07 00 F8 03")
    assert encode_procedure_initiate(2065, 7, {"action": 0, "device_handle": 0x03F8}) == expected
    assert encode_procedure_initiate(2065, 7, h("00 F8 03")) == expected
    v = schema(7).decode(expected, NES)
    assert (v.proc_nbr, v.selector, v.psn, v.params) == (2065, 0, 7, h("00 F8 03"))
    assert procedure(2065).decode_params(v.params) == {"action": 0, "device_handle": 0x03F8}


def test_bt07_selector_bits_12_to_15():
    assert encode_procedure_initiate(10, 1, b"", selector=3) == h("0A 30 01")
    with pytest.raises(EncodeError):
        encode_procedure_initiate(4096, 1)


def test_bt08_response_decoding_and_result_meanings():
    r = decode_procedure_response(h("11 08 07 04"))
    assert (r.number, r.name, r.psn, r.result, r.data) == (2065, "EP17", 7, 4, b"")
    assert r.meaning == "a removal is already in progress"
    r = decode_procedure_response(h("13 F8 09 00 03"))  # bits 12..15 are filler
    assert (r.number, r.name, r.decoded()) == (2067, "EP19", {"entry_index": 3})
    assert decode_procedure_response(h("0F 00 01 01")).meaning == "no pending table matches the PED"
    assert decode_procedure_response(h("05 00 01 06")).meaning.startswith("unrecognized procedure")
    with pytest.raises(DecodeError):
        decode_procedure_response(h("11 08 07"))


def test_bt08_undefined_result_code_is_a_warning():
    v = schema(8).decode(h("11 08 07 09"), NES)
    assert [(i.path, i.severity) for i in schema(8).validate(v, NES)] == [("result", Severity.WARNING)]


def test_ep19_variants_by_request_type():
    ep19 = procedure(2048 + 19)
    billing = ep19.encode_params({"transaction_number": 0x400, "device_handle": 0x42, "request_type": 2})
    assert billing == h("0004 4200 02")
    write = {"transaction_number": 1, "device_handle": 2, "request_type": 4, "write_data_length": 3,
             "write_data": bytes(64)}
    raw = ep19.encode_params(write, NES)  # ET11.20 = 65 -> 64 bytes of write data
    assert len(raw) == 6 + 64 and ep19.decode_params(raw, NES) == write  # BT07 offset 9 = params offset 6
    aes = ep19.decode_params(h("0100 FFFF 09") + h("10000000") + bytes(16))
    assert aes.switchover[:4] == h("10000000")


def test_procedure_catalogue():
    assert set(range(16)) <= set(PROCEDURES)
    assert {2048 + n for n in (17, 19, 61)} <= set(PROCEDURES)
    assert procedure(10).params.size(NES) == 8  # SET_MASK + LTIME_DATE + qualifier
    assert procedure(5).encode_params({"list": 1, "entries_read": 3}) == h("01 0300")
    bp09 = procedure(9).encode_params({"demand_reset": True, "self_read": False, "season_change": True,
                                       "new_season": 3})
    assert bp09 == bytes([0b0011101])
    assert procedure(2048 + 61).result_meaning(3) == "the other MEP client holds the lock"
    assert procedure(2048 + 3).confidence == "unknown"
    with pytest.raises(UnknownTable):
        procedure(2048 + 99)


# ---------------------------------------------------------------------------------------------- SET bit 7


def test_set_bit_7_of_each_byte_is_an_item():
    bt04 = schema(4)
    off, size = bt04.field_offset("std_pending", NES)
    assert (off, size) == (0, 10)
    for i in range(size):
        raw = bytearray(size)
        raw[i] = 0x80  # only bit 7 of byte i
        assert bt04.decode_field("std_pending", bytes(raw), NES) == {8 * i + 7}
    # and through a whole table: BT00 STD_PROC_USED with only bit 7 of its second byte
    bt00 = schema(0)
    image = bytearray(bt00.encode(NES.get("bt00"), NES))
    off, _ = bt00.field_offset("std_proc_used", NES)
    image[off:off + 2] = h("00 80")
    v = bt00.decode(bytes(image), NES)
    assert v.std_proc_used == {15}
    assert bt00.encode(v, NES) == bytes(image)


def test_set_accepts_a_list_of_bools():
    value = dict(NES.get("bt00"), std_proc_used=[False] * 7 + [True])
    image = schema(0).encode(value, NES)
    assert schema(0).decode(image, NES).std_proc_used == {7}


# ---------------------------------------------------------------------------------------------- offsets


@pytest.mark.parametrize("table_id, path, expected", [
    (0, "std_tbls_used", (19, 10)), (0, "nbr_pending", (18, 1)), (0, "char_format", (0, 1)),
    (1, "fw_major", (14, 2)), (1, "mfg_serial_number", (16, 8)),
    (4, "last_activation_time", (23, 5)), (4, "activations[1]", (37, 8)),
    (26, "entries[0].end_date_time", (8, 5)), (26, "entries[0].nbr_demand_resets", (14, 1)),
    (52, "clock_calendar", (0, 6)), (53, "time_zone_offset", (4, 2)), (54, "calendar_id", (804, 4)),
    (55, "curr_tier", (7, 2)), (63, "sets[0].nbr_unread_blocks", (9, 2)),
    (74, "entries[0]", (11, 14)), (74, "entries[0].user_id", (19, 2)), (74, "entries[0].argument", (23, 2)),
    (2048 + 3, "image_crc", (137, 2)),
    (2048 + 4, "plc_comm_inactive_threshold", (74, 2)), (2048 + 4, "events_outage_threshold", (98, 2)),
    (2048 + 4, "safe_image_locked", (102, 1)), (2048 + 4, "idt_version", (116, 1)),
    (2048 + 4, "security_mode", (127, 1)), (2048 + 4, "reverse_energy_time_s", (138, 2)),
    (2048 + 11, "fw_module_count", (32, 1)), (2048 + 11, "error_screen_count", (38, 1)),
    (2048 + 21, "sets[0].sources_8_15", (70, 8)), (2048 + 21, "sets[0].interval_end_local", (101, 6)),
    (2048 + 21, "sets[0].max_memory_length", (107, 4)),
    (2048 + 23, "disconnect_internal_status", (94, 1)), (2048 + 23, "active_calendar_id", (95, 4)),
    (2048 + 46, "prepay_negative_credit", (13, 4)), (2048 + 46, "last_auto_open_time", (17, 6)),
    (2048 + 47, "cancellation_time", (6, 6)),
    (2048 + 54, "time_adjustment_in_interval", (72, 4)), (2048 + 54, "supported_security_modes", (90, 1)),
    (2048 + 89, "image_validation_key_ids", (109, 4)), (2048 + 89, "last_validation_error", (114, 1)),
    (2048 + 89, "signature_head", (122, 8)), (2048 + 89, "block_remote_unblock", (131, 1)),
    (2048 + 89, "mode_records[1].local", (105, 4)),
])
def test_documented_offsets(table_id, path, expected):
    assert schema(table_id).field_offset(path, NES) == expected


def test_documented_sizes():
    assert schema(54).size(NES) == 808  # 25*3 + 23*3 + 200*3 + 12*5 + 4 [MEP p.223]
    assert schema(21).size(NES) == schema(20).size(NES) == 10
    assert schema(63).size(NES) == 13 and schema(2048 + 21).size(NES) == 131
    assert schema(2048 + 3).size(NES) == 143 and schema(2048 + 47).size(NES) == 16
    assert schema(74).size(NES) == 11 + 100 * (12 + 2)
    assert schema(76).size(NES) == 11  # NES: zero event-log entries
    assert schema(64).size(NES) == 10 * (5 + 6 + 48 * (2 + 4 * 2))
    assert schema(2048 + 23).size(NES) == 186 and schema(2048 + 29).size(NES) == 20


def test_firmware_dependent_layouts():
    fw430 = dims_with(bt01=dict(fw_major=4, fw_minor=30))
    assert schema(2048 + 23).size(fw430) == 218
    assert schema(2048 + 29).size(fw430) == 54
    assert schema(2048 + 29).field_offset("battery_type", fw430) == (33, 4)
    # procedure extended failure code at 99 + ET11.32 * ET11.33 [MEP p.136]
    assert schema(2048 + 54).field_offset("ext_failure_code", fw430) == (99 + 6 * 7, 4)
    assert schema(2048 + 54).size(fw430) == 108 + 6 * 7
    fw360 = dims_with(bt01=dict(fw_major=3, fw_minor=60))
    assert schema(2048 + 54).size(fw360) == 82
    with pytest.raises(PathError, match="absent"):
        schema(2048 + 54).field_offset("mep_tx_locked", NES)


def test_dimension_dependent_layouts():
    # BT23 demand records: event time (date/time flag), cumulative and continuous cumulative demand
    assert schema(23).field_offset("tot_data_block.demands[0]", NES) == (61, 17)
    no_time = dims_with(bt21=dict(date_time_field_flag=False))
    assert schema(23).field_offset("tot_data_block.demands[0]", no_time) == (61, 12)
    # BT54 day types: separate weekdays give Sunday..Saturday + specials
    sep = dims_with(bt50=dict(separate_weekdays_flag=True))
    assert schema(54).field_offset("season_schedules[0]", sep) == (744, 9)
    # ET89 disconnect flags move with A
    a3 = Dimensions({r: NES.get(r) for r in NES.roles}, et89_adj_log_mask_len=3)
    assert schema(2048 + 89).field_offset("block_remote_unblock", a3) == (133, 1)


# ---------------------------------------------------------------------------------------------- dimensions


def test_missing_dimension_names_the_table_to_read():
    with pytest.raises(DimensionError, match=r"BT23: field .*BT21 \(or BT20\)"):
        schema(23).size(Dimensions())
    with pytest.raises(DimensionError, match="bt21.nbr_tiers is missing: read BT21"):
        schema(23).size(Dimensions({"bt00": NES.get("bt00"), "bt21": {"nbr_summations": 1, "nbr_demands": 0,
                                                                      "nbr_coin_values": 0,
                                                                      "demand_reset_ctr_flag": False}}))
    with pytest.raises(DimensionError, match="data set 2 is needed"):
        schema(65).size(NES)


def test_from_tables_prefers_actual_over_maximum():
    bt20 = schema(20).decode(h("3F 0E FD 0F 08 10 01 04 08 1A"), NES)
    bt21 = schema(21).decode(h("3F 0E 0C 0F 08 00 01 04 08 1A"), NES)
    assert Dimensions.from_tables({20: bt20}).bt21.nbr_self_reads == 253
    assert Dimensions.from_tables({20: bt20, 21: bt21}).bt21.nbr_self_reads == 12


def test_nes_default_tables_round_trip_and_validate_clean():
    for tid, role in [(0, "bt00"), (1, "bt01"), (21, "bt21"), (50, "bt50"), (61, "bt61"), (71, "bt71"),
                      (2048 + 11, "et11")]:
        s, value = schema(tid), NES.get(role)
        assert s.decode(s.encode(value, NES), NES) == value, s.name
        assert [i for i in s.validate(value, NES) if i.severity >= Severity.WARNING] == [], s.name
    assert NES.lp_sets == 1 and NES.firmware == (3, 80, 5)


def test_unknown_table_and_bad_paths():
    with pytest.raises(UnknownTable, match="ET02"):
        schema(2050)
    with pytest.raises(PathError, match="no field 'nope'"):
        schema(21).field_offset("nope", NES)
    with pytest.raises(PathError, match="out of range"):
        schema(23).field_offset("tot_data_block.summations[15]", NES)
    with pytest.raises(PathError, match="bit field"):
        schema(0).field_offset("char_format.x", NES)


# ---------------------------------------------------------------------------------------------- validation


def test_bt00_observations_are_info_not_errors():
    v = Record(NES.get("bt00"), char_format=3, tm_format=1)
    issues = schema(0).validate(v, NES)
    assert {(i.path, i.severity) for i in issues} == {("char_format", Severity.INFO), ("tm_format", Severity.INFO)}


def test_date_and_range_errors():
    bt52 = schema(52)
    v = bt52.decode(h("18 0D 01 0C 00 00 | 11"), NES)  # month 13; qualifier: Monday, GMT
    assert v.clock_calendar == LTimeDate(24, 13, 1, 12, 0, 0) and v.gmt_flag and v.day_of_week == 1
    assert [(i.path, i.severity) for i in bt52.validate(v, NES)] == [("clock_calendar", Severity.ERROR)]
    v = bt52.decode(h("18 02 1E 0C 00 00 | 01"), NES)  # 30 February, GMT flag clear
    assert {(i.path, i.severity) for i in bt52.validate(v, NES)} == {
        ("clock_calendar", Severity.ERROR), ("gmt_flag", Severity.INFO)}
    et23 = schema(2048 + 23)
    value = et23.decode(bytes(94) + h("04") + bytes(91), NES)
    assert [i.path for i in et23.validate(value, NES)] == ["disconnect_internal_status"]
    tz = schema(53).decode(h("020000 3C 3003"), NES)  # +816 min is inside -12 h..+14 h
    assert tz.time_zone_offset == 816 and schema(53).validate(tz, NES) == []


def test_validate_reports_unencodable_values_instead_of_raising():
    issues = schema(21).validate({"nbr_tiers": 4}, NES)
    assert len(issues) == 1 and issues[0].severity == Severity.ERROR and "cannot be encoded" in issues[0].message


def test_encode_errors_name_the_field():
    v = Record(NES.get("bt21"), nbr_tiers=256)
    with pytest.raises(EncodeError, match="BT21: field 'nbr_tiers': 256 does not fit UINT8"):
        schema(21).encode(v, NES)
    with pytest.raises(EncodeError, match="unknown or absent fields"):
        schema(21).encode(Record(NES.get("bt21"), extra=1), NES)


# ---------------------------------------------------------------------------------------------- LP helpers


def test_lp_extended_status_nibbles():
    # common flags 0b0010 (power fail), channel 0 code 2 (partial), channel 1 code 4, channel 2 code 0
    assert split_extended_status(h("22 40"), 3) == (0b0010, [2, 4, 0])


def test_every_table_has_metadata():
    for s in TABLES.values():
        assert s.name and s.title and s.source and s.access, s.name
        assert s.confidence in ("documented", "inferred")
    for p in PROCEDURES.values():
        assert p.name and p.title and p.source and p.result_codes[0] == "procedure completed"
