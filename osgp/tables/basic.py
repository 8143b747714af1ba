"""Basic tables (ANSI C12.19 decades) as OSGP/NES meters implement them.

Sources: OPG = OSGP Alliance Optical Port Programmer's Guide v1.1; MEP = MEP Client Developer's
Guide 078-0372-01BD; C1219-T / C1219-A = termineter / Aclara readings of ANSI C12.19 (digest §0).
Field names follow C12.19 where it has one, in lower case.
"""

from __future__ import annotations

from collections.abc import Iterable

from .dimensions import Dimensions
from .schema import table
from .types import (
    ANSI_DATE,
    BITS,
    BOOL,
    INT16,
    INT32,
    LTIME_DATE,
    NI_FMAT1,
    NI_FMAT2,
    PED,
    RDATE,
    STIME_DATE,
    TIME,
    UINT,
    UINT8,
    UINT16,
    UINT32,
    Array,
    Bcd,
    BitSet,
    Chars,
    Check,
    Dynamic,
    F,
    FieldType,
    Raw,
    Struct,
    in_range,
    one_of,
)
from .values import Issue, Record, Severity

INFO, WARNING = Severity.INFO, Severity.WARNING

# --------------------------------------------------------------------------------------------------
# BT00 General Configuration [OPG p.48-49][MEP p.194-196]; bitmaps per C12.19 [C1219-A]

BT00 = table(0, "General Configuration", [
    BITS(1, UINT("data_order", 0, 0, one_of({0}, "DATA_ORDER {value}: OSGP table data is LSB first (0)", INFO)),
         UINT("char_format", 1, 3, one_of({1, 2}, "CHAR_FORMAT {value}: OSGP meters declare 1 (ISO 646) "
                                                   "or 2 (ISO 8859-1)", INFO)),
         UINT("model_select", 4, 6)),
    BITS(1, UINT("tm_format", 0, 2, one_of({2}, "TM_FORMAT {value}: OSGP meters use 2 (UINT8 fields)", INFO)),
         UINT("data_access_method", 3, 4), UINT("id_form", 5, 5), UINT("int_format", 6, 7)),
    BITS(1, UINT("ni_format1", 0, 3, one_of({8}, "NI_FORMAT1 {value}: OSGP meters use 8 (INT32)", INFO)),
         UINT("ni_format2", 4, 7, one_of({8}, "NI_FORMAT2 {value}: OSGP meters use 8 (INT32)", INFO))),
    F("manufacturer", Chars(4)),
    F("nameplate_type", UINT8, one_of({0, 1, 2}, "NAMEPLATE_TYPE {value}: 0 gas, 1 water, 2 electric",
                                      WARNING)),
    F("default_set_used", UINT8),
    F("max_proc_parm_length", UINT8),
    F("max_resp_data_len", UINT8),
    F("std_version_no", UINT8),
    F("std_revision_no", UINT8),
    F("dim_std_tbls_used", UINT8),
    F("dim_mfg_tbls_used", UINT8),
    F("dim_std_proc_used", UINT8),
    F("dim_mfg_proc_used", UINT8),
    F("dim_mfg_status_used", UINT8),
    F("nbr_pending", UINT8),
    F("std_tbls_used", BitSet(lambda d: d.bt00.dim_std_tbls_used)),
    F("mfg_tbls_used", BitSet(lambda d: d.bt00.dim_mfg_tbls_used)),
    F("std_proc_used", BitSet(lambda d: d.bt00.dim_std_proc_used)),
    F("mfg_proc_used", BitSet(lambda d: d.bt00.dim_mfg_proc_used)),
    F("std_tbls_write", BitSet(lambda d: d.bt00.dim_std_tbls_used)),
    F("mfg_tbls_write", BitSet(lambda d: d.bt00.dim_mfg_tbls_used)),
], source="OPG p.48-49; MEP p.194-196; bitmaps from offset 19: C12.19 [C1219-A]",
    access="read: open (no key); write: none",
    notes="The vendor guides call everything from offset 19 'reserved'; the six bitmaps are the ANSI "
          "layout. Bit n of a bitmap = table/procedure n.")

# --------------------------------------------------------------------------------------------------
# BT01 General Manufacturer Identification [OPG p.19][MEP p.196]

BT01 = table(1, "General Manufacturer Identification", [
    F("manufacturer", Chars(4)),
    F("ed_model", Chars(8)),
    F("hw_version_number", UINT8, doc="with byte 13: the packed application version x.yy.zz [OPG p.19]"),
    F("hw_revision_number", UINT8),
    # Bytes 14..15 are ONE packed field with byte 14 as the MSB (the exception to LSB-first) [OPG p.19].
    BITS(2, UINT("fw_build", 0, 4, in_range(0, 31, "build zz {value} outside 0..31")),
         UINT("fw_minor", 5, 11, in_range(0, 99, "minor yy {value} outside 0..99")),
         UINT("fw_major", 12, 15, in_range(0, 9, "major x {value} outside 0..9")), big_endian=True),
    F("mfg_serial_number", Dynamic(lambda d: Bcd(8) if d.bt00.id_form == 1 else Chars(16),
                                   "BCD[8] | CHAR[16]"),
      doc="BCD[8] (16 digits) when BT00 ID_FORM = 1, else CHAR[16]"),
], source="OPG p.19; MEP p.196", access="read: open (no key); write: none")

# --------------------------------------------------------------------------------------------------
# BT03 End Device Mode Status [OPG p.45-47]

#: BT03 ED_MFG_STATUS item numbers (bit k of mfg byte i = item 8*i + k; mfg byte 0 = BT03 offset 4)
BT03_MFG_STATUS: dict[int, str] = dict(enumerate([
    "lp_overflow", "self_read_occurred", "load_disconnect_changed_state", "control_relay_1_open",
    "phase_loss", "phase_inversion", "plc_config_failure", "general_error",
    "invalid_password", "remote_communications_inactive", "current_on_missing_phase",
    "pulse_input_1_tamper", "pulse_input_2_tamper", "software_crc_error", "code_bank_changed",
    "lp_backfill_failed",
    "mep_installed_or_removed", "mbus_alarm", "mbus_auto_discovery_complete", "phase_rotation_changed",
    "prepay_credit_exhausted", "prepay_warning_acknowledged", "event_log_overflow_pending",
    "mfg_log_entry_available",
    "dimension_change", "magnetic_tamper", "access_lockout_override", "power_quality_event",
    "event_log_unread_entries", "thd_state_changed", "lp1_unread_entries", "load_side_voltage_detected",
    "unbalanced_voltage", "password_table_written", "password_expiration_pending", "p2p_security",
    "firmware_separation_violation", "modem_error", "g3_alarm", "g3_event_logged",
    "control_relay_2_open",
]))

BT03 = table(3, "End Device Mode Status", [
    BITS(1, BOOL("metering_flag", 0), BOOL("test_mode_flag", 1), BOOL("meter_shop_mode_flag", 2),
         BOOL("factory_flag", 3)),
    BITS(2, *(BOOL(n, i) for i, n in enumerate([
        "unprogrammed", "configuration_error", "system_reset", "ram_failure", "rom_failure", "nvm_failure",
        "clock_error", "measurement_error", "low_battery", "low_loss_potential", "demand_overload",
        "power_failure", "cover_removed", "reverse_energy", "data_backup_incomplete",
        "disconnect_switch_error"]))),
    BITS(1, BOOL("lp_set2_unread", 0), BOOL("lp_set3_unread", 1), BOOL("lp_set4_unread", 2),
         BOOL("neutral_current_deviation", 3)),
    F("ed_mfg_status", BitSet(lambda d: d.bt00.dim_mfg_status_used),
      doc="manufacturer alarms; item names in BT03_MFG_STATUS"),
], source="OPG p.45-47; C12.19 ED_MODE bit 3 (factory) [C1219-T]", access="read: MK PK RK; write: none",
    notes="Bytes 1-2 ED_STD_STATUS1 (vendor names), byte 3 vendor 'extended alarms', then BT00.17 bytes "
          "of manufacturer status (item numbers in BT03_MFG_STATUS).")

# --------------------------------------------------------------------------------------------------
# BT04 Pending Status [OPG p.10-11]

BT04 = table(4, "Pending Status", [
    F("std_pending", BitSet(lambda d: d.bt00.dim_std_tbls_used)),
    F("mfg_pending", BitSet(lambda d: d.bt00.dim_mfg_tbls_used)),
    F("last_activation_time", STIME_DATE),
    F("nbr_pending_activations", UINT8),
    F("activations", Array(lambda d: d.bt00.nbr_pending, Struct([
        F("ped", PED),
        BITS(2, UINT("table_number", 0, 11), BOOL("still_pending", 12)),
    ]))),
], source="OPG p.10-11", access="read: MK PK; write: none",
    notes="table_number is without the 4096 pending offset.")

# --------------------------------------------------------------------------------------------------
# BT05 Device Identification [C1219-T] (not documented by the OSGP vendor guides)

BT05 = table(5, "Device Identification", [
    F("identification", Dynamic(lambda d: Bcd(10) if d.bt00.id_form == 1 else Chars(20), "BCD[10] | CHAR[20]")),
], source="C12.19 via C1219-T (digest §8.4)", access="not documented by the vendor",
    notes="NES meters keep the utility serial number in ET03 instead.")

# --------------------------------------------------------------------------------------------------
# BT15 Constants [MEP p.197]

BT15 = table(15, "Constants", [
    F("multiplier", NI_FMAT1),
    F("offset", NI_FMAT1),
    BITS(1, BOOL("set_applied_flag", 0)),
    F("ct_ratio", NI_FMAT1),
    F("vt_ratio", NI_FMAT1),
], source="MEP p.197", access="read: MBK MAK; write: MAK")

# --------------------------------------------------------------------------------------------------
# Register decade [OPG p.20-28, p.53-57][MEP p.198-217]

_REGISTER_DIMS = [
    BITS(1, BOOL("season_info_field_flag", 0), BOOL("date_time_field_flag", 1),
         BOOL("demand_reset_ctr_flag", 2), BOOL("demand_reset_lock_flag", 3), BOOL("cum_demand_flag", 4),
         BOOL("cont_cum_demand_flag", 5), BOOL("time_remaining_flag", 6)),
    BITS(1, BOOL("self_read_inhibit_overflow_flag", 0), BOOL("self_read_seq_nbr_flag", 1),
         BOOL("daily_self_read_flag", 2), BOOL("weekly_self_read_flag", 3),
         UINT("self_read_demand_reset", 4, 5, doc="0 none, 1 self-read on demand reset, 2 reset on self-read, 3 both")),
    F("nbr_self_reads", UINT8),
    F("nbr_summations", UINT8),
    F("nbr_demands", UINT8),
    F("nbr_coin_values", UINT8),
    F("nbr_occur", UINT8),
    F("nbr_tiers", UINT8),
    F("nbr_present_demands", UINT8),
    F("nbr_present_values", UINT8),
]
BT20 = table(20, "Dimension Register", _REGISTER_DIMS, source="OPG p.20-21",
             access="read: MK PK RK; write: none", notes="Maximum register dimensions; same layout as BT21.")
BT21 = table(21, "Actual Register", _REGISTER_DIMS, source="OPG p.21-23; MEP p.198",
             access="read: MK PK RK; write: none")

BT22 = table(22, "Data Selection", [
    F("summation_select", Array(lambda d: d.bt21.nbr_summations, UINT8)),
    F("demand_select", Array(lambda d: d.bt21.nbr_demands, UINT8)),
    F("min_or_max_flags", BitSet(lambda d: (d.bt21.nbr_demands + 7) // 8), doc="item n set = demand n is a maximum"),
    F("coincident_select", Array(lambda d: d.bt21.nbr_coin_values, UINT8)),
    F("coin_demand_assoc", Array(lambda d: d.bt21.nbr_coin_values, UINT8)),
], source="OPG p.23; MEP p.200", access="read: MK PK RK; write: none")


def _occur(t: FieldType) -> Array:
    return Array(lambda d: d.bt21.nbr_occur, t)


_DEMAND = Struct([
    F("event_time", _occur(STIME_DATE), when=lambda d: d.bt21.date_time_field_flag),
    F("cum_demand", NI_FMAT1, when=lambda d: d.bt21.cum_demand_flag),
    F("cont_cum_demand", NI_FMAT1, when=lambda d: d.bt21.cont_cum_demand_flag),
    F("demand", _occur(NI_FMAT2)),
])
_DATA_BLOCK = Struct([
    F("summations", Array(lambda d: d.bt21.nbr_summations, NI_FMAT1)),
    F("demands", Array(lambda d: d.bt21.nbr_demands, _DEMAND)),
    F("coincidents", Array(lambda d: d.bt21.nbr_coin_values, Struct([F("coincident_values", _occur(NI_FMAT2))]))),
])
_REGISTER_DATA = [
    F("nbr_demand_resets", UINT8, when=lambda d: d.bt21.demand_reset_ctr_flag, doc="wraps 255 -> 0"),
    F("tot_data_block", _DATA_BLOCK),
    F("tier_data_block", Array(lambda d: d.bt21.nbr_tiers, _DATA_BLOCK)),
]

BT23 = table(23, "Current Register Data", _REGISTER_DATA, source="OPG p.24-27; MEP p.205",
             access="read: MK PK RK; write: MAK (MEP)",
             notes="NES summation order: 0 fwd Wh, 1 rev Wh, 2 import varh, 3 export varh, 4 outage "
                   "seconds, 5 outage count, 6 fwd+rev, 7 fwd-rev, 8/9 pulse inputs, 10 error counter, "
                   "11-14 varh Q1-Q4, 15-18 VAh Q1-Q4.")

_SNAPSHOT = [F("end_date_time", STIME_DATE), F("season", UINT8)]
BT24 = table(24, "Previous Season Data", _SNAPSHOT + _REGISTER_DATA, source="MEP p.210-211",
             access="read: MBK MAK; write: MAK on some firmware (read-only on 3.7x and >= 4.10)",
             confidence="inferred",
             notes="MEP names only the total and tier blocks after the season; the BT23 demand-reset "
                   "counter is assumed present as in C12.19 REGISTER_DATA [ASM-TBL-06].")
BT25 = table(25, "Previous Demand Reset Data", _SNAPSHOT + _REGISTER_DATA, source="MEP p.211",
             access="read: MBK MAK; write: none")

BT26 = table(26, "Self-Read Data", [
    BITS(1, BOOL("order", 0), BOOL("overflow_flag", 1), BOOL("list_type", 2), BOOL("inhibit_overflow_flag", 3)),
    F("nbr_valid_entries", UINT8),
    F("last_entry_element", UINT8),
    F("last_entry_seq_nbr", UINT16, doc="never reset"),
    F("nbr_unread_entries", UINT8, doc="the meter increments it, the host decrements it by BP05"),
    F("entries", Array(lambda d: d.bt21.nbr_self_reads, Struct([
        F("bidn", UINT16, when=lambda d: d.bt21.nbr_demands != 0, doc="present if BT21 NBR_DEMANDS != 0"),
        *_SNAPSHOT, *_REGISTER_DATA]))),
], source="OPG p.28; MEP p.211-212", access="read: MBK MAK (MEP), MK PK RK (optical); write: none")

BT28 = table(28, "Present Register Data", [
    F("present_demands", Array(lambda d: d.bt21.nbr_present_demands, Struct([
        F("time_remaining", TIME, when=lambda d: d.bt21.time_remaining_flag),
        F("demand_value", NI_FMAT2)]))),
    F("present_values", Array(lambda d: d.bt21.nbr_present_values, NI_FMAT1),
      doc="NES order: 0..3 W/var totals, 4..6 mA, 7..9 mV, 10 PF L1, 11 mHz, ..."),
], source="OPG p.53-57; MEP p.213", access="read: MK PK RK; write: none")

# --------------------------------------------------------------------------------------------------
# Time and TOU [MEP p.220-229]. NES meters have no BT51: BT54 is dimensioned by BT50.

_DIM_TOU = [
    BITS(1, BOOL("tou_self_read_flag", 0), BOOL("season_self_read_flag", 1), BOOL("season_demand_reset_flag", 2),
         BOOL("season_chng_armed_flag", 3), BOOL("sort_dates_flag", 4), BOOL("anchor_date_flag", 5)),
    BITS(1, BOOL("cap_dst_auto_flag", 0), BOOL("separate_weekdays_flag", 1), BOOL("separate_sum_demands_flag", 2),
         BOOL("sort_tier_switches_flag", 3), BOOL("capable_of_tm_zn_offset_flag", 4)),
    BITS(1, UINT("nbr_seasons", 0, 3), UINT("nbr_special_sched", 4, 7)),
    F("nbr_non_recurr_dates", UINT8),
    F("nbr_recurr_dates", UINT8),
    F("nbr_tier_switches", UINT16),
    F("calendar_tbl_size", UINT16),
]


def _calendar_size_check(value: Record, d: Dimensions) -> Iterable[Issue]:
    n_days = (7 if value["separate_weekdays_flag"] else 3) + value["nbr_special_sched"]
    want = 3 * (value["nbr_non_recurr_dates"] + value["nbr_recurr_dates"] + value["nbr_tier_switches"]) \
        + n_days * value["nbr_seasons"] + 4
    if value["calendar_tbl_size"] != want:
        yield Issue("calendar_tbl_size", WARNING, f"CALENDAR_TBL_SIZE {value['calendar_tbl_size']} but the "
                    f"dimensions give a BT54 of {want} bytes")


BT50 = table(50, "Dimension Time and TOU", _DIM_TOU, source="MEP p.220-222",
             access="read: MK PK RK (MEP: MBK MAK); write: none", checks=[_calendar_size_check])

_TIME_DATE_QUAL = (UINT("day_of_week", 0, 2, in_range(0, 6, "day of week {value} outside 0 (Sunday)..6")),
                   BOOL("dst_flag", 3), BOOL("gmt_flag", 4), BOOL("tm_zn_applied_flag", 5),
                   BOOL("dst_applied_flag", 6))

BT52 = table(52, "Clock", [
    F("clock_calendar", LTIME_DATE, doc="UTC: no DST, no time-zone offset"),
    BITS(1, *_TIME_DATE_QUAL),
], source="MEP p.222-223", access="read: MBK MAK (MEP), MK PK RK; write: none (set with BP10)",
    checks=[lambda v, d: [Issue("gmt_flag", INFO, "BT52 is documented as UTC (GMT flag 1)")]
            if not v["gmt_flag"] else []])

BT53 = table(53, "Time Offset", [
    F("dst_time_eff", TIME, doc="time of day of the DST switch"),
    F("dst_time_amt", UINT8, doc="minutes"),
    F("time_zone_offset", INT16, in_range(-720, 840, "time-zone offset {value} min outside -12 h..+14 h"),
      doc="minutes"),
], source="MEP p.223", access="read: MBK MAK; write: MAK")

_ACTION = (UINT("calendar_action", 0, 4, doc="0 none, 1 DST on, 2 DST off, 3..14 season 0..11, 19/20 special 0/1"),
           BOOL("demand_reset_flag", 5), BOOL("self_read_flag", 6),
           BOOL("tou_format_flag", 7, doc="first recurring record only: 1 = 12-season format"))


def _day_types(d: Dimensions) -> int:
    return (7 if d.bt50.separate_weekdays_flag else 3) + d.bt50.nbr_special_sched


BT54 = table(54, "Calendar", [
    F("non_recurr_dates", Array(lambda d: d.bt50.nbr_non_recurr_dates, Struct([
        F("non_recurr_date", ANSI_DATE), BITS(1, *_ACTION)]))),
    F("recurr_dates", Array(lambda d: d.bt50.nbr_recurr_dates, Struct([
        F("recurr_date", RDATE), BITS(1, *_ACTION)]))),
    F("tier_switches", Array(lambda d: d.bt50.nbr_tier_switches, Struct([
        BITS(2, UINT("new_tier", 0, 2), UINT("switch_min", 5, 10, in_range(0, 59)),
             UINT("switch_hour", 11, 15, in_range(0, 23))),
        F("day_sch_num", UINT8)]))),
    F("season_schedules", Array(lambda d: d.bt50.nbr_seasons, Struct([
        F("daily_schedule_ids", Array(_day_types, UINT8),
          doc="Saturday, Sunday, weekday, special 0, special 1 (separate weekdays: Sunday..Saturday, specials)"),
    ]))),
    F("calendar_id", UINT32),
], source="MEP p.223-227", access="read: MBK MAK; write: MAK; pending copy BT4150",
    notes="NES: 25*3 + 23*3 + 200*3 + 12*5 + 4 = 808 bytes.")

BT55 = table(55, "Clock State", [
    F("clock_calendar", LTIME_DATE, doc="local time (DST and time zone applied)"),
    BITS(1, *_TIME_DATE_QUAL),
    BITS(2, UINT("curr_tier", 0, 2), UINT("tier_drive", 6, 7, doc="0 calendar, 1 manual to next switch, "
                                                               "2 manual hold, 3 override/over-power/step"),
         UINT("special_schd_active", 8, 11), UINT("season", 12, 15)),
], source="MEP p.227-229", access="read: MBK MAK; write: none")

# --------------------------------------------------------------------------------------------------
# Load profile [OPG p.29-38][MEP p.229-239]


def _lp_set(d: Dimensions, n: int) -> Record:
    sets = d.bt61.sets
    if n >= len(sets):
        raise IndexError(f"BT61 describes {len(sets)} data set(s), data set {n + 1} is needed")
    return sets[n]


_DIM_LP = [
    F("lp_memory_len", UINT32),
    BITS(2, BOOL("lp_set1_inhibit_ovf_flag", 0), BOOL("lp_set2_inhibit_ovf_flag", 1),
         BOOL("lp_set3_inhibit_ovf_flag", 2), BOOL("lp_set4_inhibit_ovf_flag", 3),
         BOOL("blk_end_read_flag", 4), BOOL("blk_end_pulse_flag", 5),
         BOOL("scalar_divisor_flag_set1", 6), BOOL("scalar_divisor_flag_set2", 7),
         BOOL("scalar_divisor_flag_set3", 8), BOOL("scalar_divisor_flag_set4", 9),
         BOOL("extended_int_status_flag", 10), BOOL("simple_int_status_flag", 11)),
    BITS(1, BOOL("inv_uint8_flag", 0), BOOL("inv_uint16_flag", 1), BOOL("inv_uint32_flag", 2),
         BOOL("inv_int8_flag", 3), BOOL("inv_int16_flag", 4), BOOL("inv_int32_flag", 5),
         BOOL("inv_ni_fmat1_flag", 6), BOOL("inv_ni_fmat2_flag", 7)),
    F("sets", Array(lambda d: d.lp_sets, Struct([
        F("nbr_blks", UINT16),
        F("nbr_blk_ints", UINT16),
        F("nbr_chns", UINT8),
        F("max_int_time", UINT8, Check(lambda v: 1 <= v <= 60 or v in (84, 255),
                                       "max interval time {value}: documented values are 1..60 min, "
                                       "84 (24 h) and 255 (BT60 maximum)", WARNING)),
    ])), doc="one record per data set (count: BT64.. flagged in BT00 [ASM-TBL-03])"),
]
BT60 = table(60, "Dimension Load Profile", _DIM_LP, source="MEP p.229-231", access="read: MBK MAK; write: none")
BT61 = table(61, "Actual Load Profile", _DIM_LP, source="OPG p.31-33; MEP p.231-233",
             access="read: MK PK RK; write: none (configured by EP11)",
             checks=[lambda v, d: [] if v["inv_int32_flag"] else
                     [Issue("inv_int32_flag", INFO, "NES meters support INT32 interval data only")]])


def _lp_control(n: int) -> Struct:
    chns = lambda d: _lp_set(d, n).nbr_chns  # noqa: E731
    scaled = lambda d: getattr(d.bt61, f"scalar_divisor_flag_set{n + 1}")  # noqa: E731
    return Struct([
        F("channels", Array(chns, Struct([
            BITS(1, BOOL("end_rdg_flag", 0)),
            F("lp_source_sel", UINT8, doc="interval data source id (112..163 mapped through ET66)"),
            F("end_blk_rdg_source_select", UINT8)]))),
        F("int_fmt_cde", UINT8, one_of({1, 2, 4, 8, 16, 32, 64, 128}, "format code {value} is not a C12.19 "
                                       "interval format"),
          Check(lambda v: v == 32, "format code {value}: NES meters record INT32 (32)", INFO)),
        F("scalars", Array(chns, UINT16), when=scaled),
        F("divisors", Array(chns, UINT16), when=scaled),
    ])


BT62 = table(62, "Load Profile Control", [
    F("sets", Array(lambda d: d.lp_sets, _lp_control)),
], source="OPG p.33; MEP p.233-234", access="read: MK PK RK; write: none (configured by EP11)")

BT63 = table(63, "Load Profile Status", [
    F("sets", Array(lambda d: d.lp_sets, Struct([
        BITS(1, UINT("block_order", 0, 0), BOOL("overflow_flag", 1), UINT("list_type", 2, 2),
             BOOL("block_inhibit_overflow_flag", 3), UINT("interval_order", 4, 4), BOOL("active_mode_flag", 5),
             BOOL("test_mode", 6)),
        F("nbr_valid_blocks", UINT16),
        F("last_block_element", UINT16),
        F("last_block_seq_nbr", UINT32),
        F("nbr_unread_blocks", UINT16, doc="decremented by the host with BP05"),
        F("nbr_valid_int", UINT16),
    ]))),
], source="OPG p.34-35; MEP p.234-235", access="read: MK PK RK; write: none")


def _lp_data(n: int) -> list:
    chns = lambda d: _lp_set(d, n).nbr_chns  # noqa: E731
    ints = lambda d: _lp_set(d, n).nbr_blk_ints  # noqa: E731
    return [F("blocks", Array(lambda d: _lp_set(d, n).nbr_blks, Struct([
        F("end_time", STIME_DATE, doc="UTC time of the latest interval; midnight after a complete block"),
        F("end_readings", Array(chns, NI_FMAT1), when=lambda d: d.bt61.blk_end_read_flag),
        F("simple_int_status", BitSet(lambda d: (ints(d) + 7) // 8), doc="item i set = interval i recorded"),
        F("intervals", Array(ints, Struct([
            F("extended_int_status", Raw(lambda d: chns(d) // 2 + 1),
              doc="nibbles: common flags, then one status code per channel (split_extended_status)"),
            F("channel_values", Array(chns, INT32)),
        ]))),
    ])))]


BT64 = table(64, "Load Profile Data Set 1", _lp_data(0), source="OPG p.35-38; MEP p.235-239",
             access="read: MK PK RK; write: none",
             notes="Interval values are INT32 (the only format NES meters support, BT61 bit 5) [ASM-TBL-08].")
BT65 = table(65, "Load Profile Data Set 2", _lp_data(1), source="OPG p.35 (same layout as BT64)",
             access="read: MK PK RK; write: none")
BT66 = table(66, "Load Profile Data Set 3", _lp_data(2), source="OPG p.35 (same layout as BT64)",
             access="read: MK PK RK; write: none")
BT67 = table(67, "Load Profile Data Set 4", _lp_data(3), source="OPG p.35 (same layout as BT64)",
             access="read: MK PK RK; write: none")


def split_extended_status(raw: bytes, nbr_chns: int) -> tuple[int, list[int]]:
    """Split an LP extended status into (common flags, [status code per channel]).

    Nibble order [OPG p.36]: the high nibble of byte 0 is common to all channels (flag n = bit 4+n:
    0 DST, 1 power fail, 2 clock forward, 3 clock backward [INF]); then channel 0 = low nibble of
    byte 0, channel 1 = high nibble of byte 1, channel 2 = low nibble of byte 1, ...
    """
    nibbles = [n for b in raw for n in (b >> 4, b & 0xF)]
    return nibbles[0], nibbles[1:1 + nbr_chns]


# --------------------------------------------------------------------------------------------------
# Logs [OPG p.49-53]; BT72/BT73/BT75/BT76 from C12.19 only [ASM-TBL-05]

_DIM_LOG = [
    BITS(1, BOOL("event_number_flag", 0), BOOL("hist_date_time_flag", 1), BOOL("hist_seq_nbr_flag", 2),
         BOOL("hist_inhibit_ovf_flag", 3), BOOL("event_inhibit_ovf_flag", 4)),
    F("nbr_std_events", UINT8, doc="bytes of standard-event flags (8 = 64 events)"),
    F("nbr_mfg_events", UINT8, doc="bytes of manufacturer-event flags (19 = 152 events)"),
    F("hist_data_length", UINT8),
    F("event_data_length", UINT8),
    F("nbr_history_entries", UINT16),
    F("nbr_event_entries", UINT16, doc="0 on NES: the history log is the event log"),
]
BT70 = table(70, "Dimension Log", _DIM_LOG, source="OPG p.50", access="read: MK PK RK; write: none")
BT71 = table(71, "Actual Log", _DIM_LOG, source="OPG p.50-51", access="read: MK PK RK; write: none")

_C1219_LOG_NOTE = ("Not described by the OSGP guides: layout of ANSI C12.19 reconstructed from the "
                   "standard's structure, sized by BT71 and BT00 [ASM-TBL-05].")

BT72 = table(72, "Events Identification", [
    F("std_events_supported", BitSet(lambda d: d.bt71.nbr_std_events)),
    F("mfg_events_supported", BitSet(lambda d: d.bt71.nbr_mfg_events)),
], source="C12.19 (not in OPG/MEP) [ASM-TBL-05]", access="not documented", confidence="inferred",
    notes=_C1219_LOG_NOTE)

_LOG_CONTROL = [
    F("std_events_monitored_flags", BitSet(lambda d: d.bt71.nbr_std_events)),
    F("mfg_events_monitored_flags", BitSet(lambda d: d.bt71.nbr_mfg_events)),
    F("std_tbls_monitored_flags", BitSet(lambda d: d.bt00.dim_std_tbls_used)),
    F("mfg_tbls_monitored_flags", BitSet(lambda d: d.bt00.dim_mfg_tbls_used)),
    F("std_proc_monitored_flags", BitSet(lambda d: d.bt00.dim_std_proc_used)),
    F("mfg_proc_monitored_flags", BitSet(lambda d: d.bt00.dim_mfg_proc_used)),
]
BT73 = table(73, "History Log Control", _LOG_CONTROL, source="C12.19 (not in OPG/MEP) [ASM-TBL-05]",
             access="not documented", confidence="inferred", notes=_C1219_LOG_NOTE)
BT75 = table(75, "Event Log Control", _LOG_CONTROL, source="C12.19 (not in OPG/MEP) [ASM-TBL-05]",
             access="not documented", confidence="inferred", notes=_C1219_LOG_NOTE)

_LOG_HEADER = [
    BITS(1, UINT("order", 0, 0), BOOL("overflow_flag", 1, doc="cleared by BP04/BP05"), UINT("list_type", 2, 2),
         BOOL("inhibit_overflow_flag", 3)),
    F("nbr_valid_entries", UINT16),
    F("last_entry_element", UINT16),
    F("last_entry_seq_nbr", UINT32, doc="never reset from firmware 3.70"),
    F("nbr_unread_entries", UINT16, doc="the meter increments it, the host decrements it by BP05"),
]


def _log_entry(arg_len_name: str) -> Struct:
    return Struct([
        F("time", LTIME_DATE, when=lambda d: d.bt71.hist_date_time_flag, doc="UTC"),
        F("event_number", UINT16, when=lambda d: d.bt71.event_number_flag),
        F("seq_nbr", UINT16, when=lambda d: d.bt71.hist_seq_nbr_flag, doc="low 16 bits of the shared counter"),
        F("user_id", UINT16, doc="optical logon id; 0xFFFF nobody, 0xFFFE PLC/G3/P2P, 0xFFFD MEP"),
        BITS(2, UINT("event_code", 0, 11, doc="bit 11 set = manufacturer event")),
        F("argument", Raw(lambda d: getattr(d.bt71, arg_len_name))),
    ])


BT74 = table(74, "History Log Data", [
    *_LOG_HEADER,
    F("entries", Array(lambda d: d.bt71.nbr_history_entries, _log_entry("hist_data_length"))),
], source="OPG p.51-53; MEP p.239-240", access="read: MK PK RK; write: none",
    notes="NES: BT71 flags give time + sequence number, so each entry is 12 + BT71.3 bytes.")

BT76 = table(76, "Event Log Data", [
    *_LOG_HEADER,
    F("entries", Array(lambda d: d.bt71.nbr_event_entries, _log_entry("event_data_length"))),
], source="C12.19 (not in OPG/MEP) [ASM-TBL-05]; BT71 event dimensions OPG p.50",
    access="not documented", confidence="inferred",
    notes="NES meters declare 0 event-log entries (BT71.7), so the table is its 11-byte header. "
          + _C1219_LOG_NOTE)

