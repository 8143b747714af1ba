"""Extended (manufacturer) tables, ET n = 2048 + n, as the OSGP Alliance guides describe them.

Only the tables and fields the digest needs are declared. Vendor-reserved ranges are kept verbatim
(RESERVED) so the sizes are right up to the last known field; tables whose full length is unknown
end in an ``extension`` REST field (``open_ended``).
"""

from __future__ import annotations

from collections.abc import Callable

from .basic import BT74
from .dimensions import Dimensions
from .procedures import BT08
from .schema import ET_BASE, table
from .types import (
    BITS,
    BOOL,
    DATE,
    INT16,
    INT32,
    LTIME_DATE,
    REST,
    UINT,
    UINT8,
    UINT16,
    UINT32,
    Array,
    BitSet,
    Chars,
    Check,
    F,
    Raw,
    Reserved,
    Struct,
    in_range,
    one_of,
)
from .values import Severity


def _fw_at_least(major: int, minor: int = 0) -> Callable[[Dimensions], bool]:
    """Condition: BT01 firmware x.yy is at least major.minor."""
    return lambda d: d.firmware[:2] >= (major, minor)


def et(n: int) -> int:
    return ET_BASE + n


# --------------------------------------------------------------------------------------------------
# ET03 Utility Information [OPG p.18][MEP p.53-55]

ET03 = table(et(3), "Utility Information", [
    F("utility_serial_number", Chars(30, pad=b"\0"), doc="null-terminated"),
    F("reserved_30", Reserved(107), doc="30..136: reserved, do not overwrite"),
    F("image_crc", UINT16, doc="read-only copy of the legally relevant firmware image CRC"),
    F("reserved_139", Reserved(4)),
], source="OPG p.18; MEP p.53-55", access="read: open (no key); write: MAK",
    notes="MEP prints the trailing reserved range as 138..142 although the CRC at 137 is a UINT16; "
          "the table is 143 bytes either way [ASM-TBL-07].")

# --------------------------------------------------------------------------------------------------
# ET04 System Information [MEP p.54-65]

ET04 = table(et(4), "System Information", [
    F("sequence_number", UINT32, doc="LonTalk message sequence number, updated on every PLC read/write"),
    F("transceiver_id", Raw(6), doc="Neuron ID"),
    F("subnet_id", UINT8, doc="non-zero once commissioned by a Control Node"),
    F("node_id", UINT8),
    BITS(1, BOOL("explicit_msg_received", 0), BOOL("force_neuron_config", 1), BOOL("request_neuron_state", 2),
         BOOL("disable_plc_encryption", 3), BOOL("disable_eeprom_lock", 4), UINT("phase", 5, 7)),
    F("rated_frequency", UINT8, doc="Hz"),
    F("program_id", Raw(8), doc="firmware program ID; changes with the firmware"),
    F("self_id", Raw(30), doc="LonTalk self-identification string"),
    F("pk_access", UINT8, doc="0 = PK enabled"),
    F("max_power_outages", UINT8),
    F("unused_54", UINT8),
    F("max_te_registers", UINT8),
    F("registration_current", UINT16, doc="mA"),
    F("max_current", UINT16, doc="A"),
    F("rated_voltage", UINT16, doc="V"),
    BITS(1, BOOL("inactive_voltage_l1", 0), BOOL("inactive_voltage_l2", 1), BOOL("inactive_voltage_l3", 2),
         BOOL("separate_current_phases", 3), BOOL("inactive_current_l1", 4), BOOL("inactive_current_l2", 5),
         BOOL("inactive_current_l3", 6)),
    F("dst_off_delta", INT16, doc="minutes"),
    F("self_read_hour", UINT8, in_range(0, 23)),
    F("self_read_minute", UINT8, in_range(0, 59)),
    F("stop_mode_days", UINT8),
    F("mfg_status", Reserved(3), doc="internal use"),
    BITS(1, BOOL("rk_bp10_ep16_access", 0, doc="0 = RK may run BP10 and EP16"), BOOL("test_point", 1),
         BOOL("test_point_internal", 2), BOOL("lp_use_skipped", 3)),
    F("neuron_state", UINT8, one_of({2, 3, 4, 6, 12, 140, 255}, "Neuron state {value} is not documented",
                                    Severity.WARNING), doc="4 = configured online"),
    F("phase_rotation", UINT8),
    F("plc_comm_inactive_threshold", UINT16, doc="minutes; 0 disables the Remote Communications Inactive alarm"),
    F("broadcast_last_receipt", LTIME_DATE),
    F("broadcast_base", UINT32),
    F("broadcast_delta", UINT16),
    F("reverse_energy_current_threshold", UINT16, doc="mA"),
    F("plc_signal_quality", UINT8, in_range(0, 7, "PLC signal quality {value} outside 0..7", Severity.WARNING)),
    F("auto_discovery_ta", UINT16),
    F("auto_discovery_to", UINT16),
    F("auto_discovery_disable", UINT8),
    F("amplifier_gain", INT16),
    F("events_outage_threshold", UINT16, doc="s"),
    F("nvm_size", UINT16, doc="1 KiB blocks"),
    F("safe_image_locked", UINT8, doc="1 = the safe image cannot be activated"),
    F("mep_seq_nbr", UINT32),
    F("unused_107", UINT16),
    F("premise_power_generation", UINT8),
    F("outage_detection_pct", UINT8),
    F("phase_loss_pct", UINT8),
    F("meter_form", UINT8),
    F("clock_error_tier", UINT8, in_range(0, 3)),
    F("c1219_compliance", UINT16),
    F("idt_version", UINT8, doc="increments (and wraps) when the interface definition or firmware changes"),
    F("tilt_timer", UINT8),
    F("min_registration_current", UINT16),
    F("registration_current_fraction", UINT8, doc="0.1 mA"),
    BITS(1, BOOL("constant_phase_loss_alarm", 0)),
    F("power_up_wait_time", UINT8),
    F("max_key_usage_count", UINT32),
    F("security_mode", UINT8, one_of({0, 2}, "security mode {value}: documented 0 (RC4) and 2 (AES-128-PSK)",
                                     Severity.WARNING)),
    F("fcm_count", UINT8),
    F("mep_seq_nbrs", Array(2, UINT32)),
    F("reverse_energy_time_ms", UINT8),
    F("reverse_energy_time_s", UINT16),
    F("extension", REST),
], source="MEP p.54-65", access="read: MBK MAK; write: MAK",
    notes="Known fields end at offset 140; later firmware may append more (kept in 'extension').")

# --------------------------------------------------------------------------------------------------
# ET11 MFG Dimension [OPG p.40-42][MEP p.75-78]

ET11 = table(et(11), "MFG Dimension", [
    F("nbr_devices", UINT8, doc="MEP + M-Bus devices"),
    F("et13_entry_size", UINT8),
    F("et14_entry_size", UINT8),
    F("on_demand_queue_size", UINT8),
    F("et15_entry_size", UINT8),
    F("et16_entry_size", UINT16),
    F("txn_request_length", UINT16, doc="896 (768 before firmware 3.50); a MEP-guide capture shows 769"),
    F("txn_response_length", UINT16),
    F("on_demand_write_size", UINT8),
    F("phase_data_size", UINT8),
    F("et34_entry_size", UINT8),
    F("one_time_read_queue_size", UINT8, doc="OPG; MEP calls 14..17 reserved"),
    F("mbus_one_time_read_queue_size", UINT8),
    F("et19_entry_size", UINT8),
    F("et20_entry_size", UINT8),
    F("nbr_group_ids", UINT8),
    F("nbr_harmonics", UINT8),
    F("mbus_multicast_length", UINT8),
    F("et22_alarm_size", UINT8),
    F("mep_data_sources", UINT8),
    F("et48_entries", UINT8),
    F("max_critical_event_bitmaps", UINT8),
    F("et57_entries", UINT8),
    F("relay_switches", UINT8, doc="ET61 time-based relay switches"),
    F("delta_alert_sources", UINT8),
    F("ram_txn_request_length", UINT16),
    F("ram_txn_response_length", UINT16),
    F("fw_module_count", UINT8, doc="ET54 module records"),
    F("fw_module_length", UINT8),
    F("mep_channel_count", UINT8),
    F("reserved_35", UINT8),
    F("et17_bitmap_size", UINT16),
    F("error_screen_count", UINT8),
    F("extension", REST),
], source="OPG p.40-42; MEP p.75-78", access="read: MK PK RK (MEP: MBK MAK); write: none",
    notes="Fixed per firmware (VCI P). Known fields end at offset 39.")

# --------------------------------------------------------------------------------------------------
# ET21 Load Profile Internal Configuration [OPG p.38-40][MEP p.93-96]

ET21 = table(et(21), "Load Profile Internal Configuration", [
    F("sets", Array(lambda d: d.lp_sets, Struct([
        F("current_block_address", UINT32),
        F("current_interval_address", UINT32),
        F("block_size", UINT32),
        F("block_header_size", UINT16),
        F("nbr_valid_blocks", UINT16),
        F("nbr_valid_intervals", UINT16),
        F("last_block_index", UINT16),
        F("last_interval_number", UINT16),
        F("simple_status_offset", UINT8),
        F("simple_status_size", UINT8),
        F("interval0_offset", UINT8),
        F("interval_size", UINT8),
        F("channel0_offset", UINT8),
        F("pending_ext_status", UINT8),
        F("nbr_channels", UINT8),
        F("interval_time", UINT8),
        F("sources", Array(8, UINT8)),
        F("mbus_placeholders", Array(8, INT32)),
        F("sources_8_15", Array(8, UINT8)),
        F("lp_config_id", UINT32),
        F("mep_billing_start_channel", UINT8),
        F("block_start_time", LTIME_DATE),
        F("requested_start_hour", UINT8),
        F("requested_start_minute", UINT8),
        F("interval_in_progress", UINT16),
        BITS(1, UINT("options_low", 0, 2, one_of({0}, "option bits 0..2 must be 0")),
             BOOL("ansi_compliance", 3), UINT("options_high", 4, 7)),
        F("interval_end_utc", LTIME_DATE),
        F("reserved_100", Reserved(1), doc="byte 100 is not described, the next field is at 101 [ASM-TBL-07]"),
        F("interval_end_local", LTIME_DATE),
        F("max_memory_length", UINT32),
        BITS(1, BOOL("nvm_failure", 0)),
        F("reserved_112", Reserved(19)),
    ])), doc="one 131-byte record per load-profile data set"),
], source="OPG p.38-40; MEP p.93-96", access="read: MK PK (MEP: MBK MAK); write: none",
    notes="Re-read before every load-profile read; block/interval addressing formulas in OPG p.31.")

# --------------------------------------------------------------------------------------------------
# ET23 Miscellaneous Information [MEP p.96-98]

ET23 = table(et(23), "Miscellaneous Information", [
    F("lontalk_msgs_received", UINT32, doc="non-validated explicit messages received"),
    F("lontalk_msgs_validated", UINT32, doc="digest-checked explicit messages received"),
    F("reserved_8", Reserved(86), doc="8..93 internal"),
    F("disconnect_internal_status", UINT8, one_of({0, 1, 2, 3}, "disconnect status {value} outside 0..3"),
      doc="0 closed, 1 closing, 2 opened, 3 opening (commanded state)"),
    F("active_calendar_id", UINT32),
    F("reserved_99", Reserved(lambda d: 119 if d.firmware[:2] >= (4, 0) else 87),
      doc="99..185 (firmware 3.x) or 99..217 (4.0+) [ASM-TBL-07]"),
], source="MEP p.96-98", access="read: MBK MAK; write: MAK")

# --------------------------------------------------------------------------------------------------
# ET29 Hardware Configuration [MEP p.98-103]

#: ET29 hardware_options item numbers (bit k of byte i = item 8*i + k)
ET29_HARDWARE_OPTIONS: dict[int, str] = {
    0: "s0_kyz_output", 1: "pulse_input_1", 2: "pulse_input_2", 5: "disconnect_and_buzzer",
    6: "control_relay_1", 7: "control_relay_2", 8: "mbus_module", 9: "cover_tamper", 10: "mep_port_1",
    11: "disconnect_sensor", 12: "magnetic_tamper", 13: "hf_noise_detection_disabled",
    14: "two_line_disconnect", 15: "no_metering", 16: "no_lcd", 17: "external_ct", 18: "backup_power",
    19: "external_disconnect_feedback", 20: "external_voltage", 21: "voltage_adc_inverted",
    22: "non_latching_relay", 23: "mep_port_2",
}

_fw4 = _fw_at_least(4)
_PORT = Struct([F("board", UINT8), F("port", UINT8), F("sequence", UINT8)])

ET29 = table(et(29), "Hardware Configuration", [
    F("hardware_options", BitSet(3), doc="items named in ET29_HARDWARE_OPTIONS"),
    F("reserved_3", Reserved(2)),
    BITS(1, BOOL("single_phase", 0), BOOL("polyphase", 1), UINT("internal_reserved", 2, 5),
         BOOL("pulse_relay_for_disconnect", 6), BOOL("power_boost_relay", 7)),
    F("reserved_6", Reserved(14)),
    F("reserved_20", Reserved(4), when=_fw4),
    F("comm_assignment_matrix_1", Array(3, _PORT), when=_fw4, doc="USART1..3: board, port, MEP client"),
    BITS(4, BOOL("two_disconnect_sensors", 0), BOOL("disconnect_toggle_button", 1), BOOL("backlight_lcd", 3),
         BOOL("buzzer", 4), UINT("battery_type", 5, 6), BOOL("earth_fault", 7), BOOL("external_tamper_1", 8),
         BOOL("external_tamper_2", 9), BOOL("s0_pulse_output_2", 10), BOOL("security_chip", 11),
         BOOL("last_gasp_module", 12), BOOL("control_relay_1_latching", 13),
         BOOL("control_relay_2_latching", 14), when=_fw4),
    F("reserved_37", Reserved(10), when=_fw4),
    BITS(1, UINT("line_current_sensor", 0, 4), UINT("neutral_current_sensor", 5, 7), when=_fw4),
    F("comm_assignment_matrix_2", Array(2, _PORT), when=_fw4, doc="P2P modem UART1..2"),
], source="MEP p.98-103", access="read: MBK MAK; write: none",
    notes="20 bytes on firmware 3.x, 54 on 4.0+. MEP prints the first reserved range as 2..4, overlapping "
          "the 3-byte options; 3..4 is used here [ASM-TBL-07].")

# --------------------------------------------------------------------------------------------------
# ET46 Control Output Read-Only Data [MEP p.119-120]

ET46 = table(et(46), "Control Output Read-Only Data", [
    F("reserved_0", Reserved(11)),
    F("disconnect_control_type", UINT8, one_of({0, 1}), doc="0 power, 1 current (when ET05.25.0 is set)"),
    F("reserved_12", Reserved(1)),
    F("prepay_negative_credit", INT32, doc="Wh"),
    F("last_auto_open_time", LTIME_DATE, doc="last automatic opening by max power/current or average power"),
    F("extension", REST),
], source="MEP p.119-120", access="read: MBK MAK; write: none",
    notes="The guide prints the id as 2046/0x07FE, a typo for 2094/0x082E.")

# --------------------------------------------------------------------------------------------------
# ET47 Calendar Override Settings [MEP p.120-122]

ET47 = table(et(47), "Calendar Override Settings", [
    F("tariff", UINT8, Check(lambda v: v <= 7 or v == 255, "tariff {value}: 0..7, or 255 to cancel")),
    F("cancellation_type", UINT8, in_range(0, 3), doc="0 next tier switch, 1 indefinite, 2 after duration, "
                                                    "3 at cancellation time"),
    F("duration", UINT32, doc="s"),
    F("cancellation_time", LTIME_DATE, doc="UTC"),
    F("calendar_id", UINT32),
], source="MEP p.120-122", access="read: MBK MAK; write: MAK (direct or pending copy 6191)")

# --------------------------------------------------------------------------------------------------
# ET54 Meter Status, selected fields [MEP p.130-137]


def _keys_fields(d: Dimensions) -> bool:
    fw = d.firmware[:2]
    return fw == (3, 13) or fw >= (3, 80)


ET54 = table(et(54), "Meter Status", [
    BITS(2, BOOL("multiple_lp_sets", 2), BOOL("energy_unit_change", 6), BOOL("lcd_5_digit_value_id", 7),
         BOOL("multiple_mep_clients", 8)),
    F("reserved_2", Reserved(17)),
    BITS(2, BOOL("lp_disabled", 0, doc="load-profile opt-out")),
    F("reserved_21", Reserved(23)),
    BITS(1, BOOL("over_power_threshold_exceeded", 0), BOOL("step_tariff_in_use", 1)),
    F("reserved_45", Reserved(17)),
    F("relay1_random_pending", UINT8),
    F("relay1_random_duration", UINT16, doc="s remaining"),
    F("relay1_random_start_duration", UINT16, doc="s"),
    F("reserved_67", Reserved(1)),
    F("miswiring_reason", UINT8),
    F("et74_entry_count", UINT16),
    BITS(1, BOOL("welmec_11_2", 0), UINT("delta_time_sync_status", 1, 2, in_range(0, 2)),
         BOOL("disconnect_push_button_locked", 6)),
    F("time_adjustment_in_interval", INT32, doc="s"),
    F("date_last_step_tariff_reset", DATE),
    F("et77_entry_count", UINT8),
    F("et79_entry_count", UINT16, doc="entries of the alternate event log ET79 (0 = disabled)"),
    F("unicast_key_usage_count", UINT32, when=_keys_fields),
    F("broadcast_key_usage_count", UINT32, when=_keys_fields),
    F("supported_security_modes", BitSet(1), when=_keys_fields, doc="item 0 RC4, 2 OSGP-AES-128-PSK"),
    F("module_records", Array(lambda d: d.et11.fw_module_count, Raw(lambda d: d.et11.fw_module_length)),
      when=_fw4, doc="internal"),
    F("reserved_91x", Reserved(4), when=_fw4),
    F("external_tamper_raw_adc", UINT16, when=_fw4),
    F("mep_tx_locked", UINT8, when=_fw4),
    F("mep_tx_lock_channel", UINT8, in_range(0, 2), when=_fw4, doc="0 none, 1 MEP1, 2 MEP2"),
    BITS(4, UINT("ext_failure_code", 0, 15), UINT("ext_failure_proc_nbr", 16, 31), when=_fw_at_least(4, 10)),
    F("relay2_random_pending", UINT8, when=_fw_at_least(4, 30)),
    F("relay2_random_duration", UINT16, when=_fw_at_least(4, 30)),
    F("relay2_random_start_duration", UINT16, when=_fw_at_least(4, 30)),
], source="MEP p.130-137", access="read: MBK MAK; write: none",
    notes="Layout of firmware >= 3.60; key-usage fields on 3.13 and >= 3.80, module records and MEP lock "
          "on 4.0+, procedure extended failure code (at 99 + ET11.32 * ET11.33) on 4.10+, relay 2 on 4.30+. "
          "MEP prints 'Flags UINT16 19' then 'Reserved 20..43'; the flags are taken as 19..20 [ASM-TBL-07].")

# --------------------------------------------------------------------------------------------------
# ET59 / ET85 MEP procedure responses: aliases of BT08 [MEP p.163, p.184]

ET59 = table(et(59), "MEP Procedure Response", BT08.fields, source="MEP p.163", checks=BT08.checks,
             access="read: MBK MAK (MEP client 1 when ET50.30.1 is set); write: none")
ET85 = table(et(85), "MEP Procedure Response (MEP2)", BT08.fields, source="MEP p.184", checks=BT08.checks,
             access="read: MBK MAK (MEP client 2, firmware 4.0+); write: none")

# --------------------------------------------------------------------------------------------------
# ET79 History Log Data, alternate event log [MEP p.179-181]

ET79 = table(et(79), "History Log Data (Alternate Event Log)", [
    *BT74.fields[:-1],
    F("entries", Array(lambda d: d.et54.et79_entry_count, BT74.fields[-1].type.elem_type(0))),
], source="MEP p.179-181 (same syntax as BT74); entry count ET54.80", access="read: MBK MAK; write: none",
    notes="The guide prints the id as 0x0849, a typo for 0x084F. Shares the event sequence counter with BT74.")

# --------------------------------------------------------------------------------------------------
# ET89 Meter LN Status, selected fields [MEP p.186-189]

_MODE_STATE = Struct([BITS(4, UINT("time_remaining", 0, 18, in_range(0, 262143, "{value} s exceeds 72 h")),
                           BOOL("no_expire", 19), UINT("state", 20, 21, in_range(0, 2, "state {value}: 0 open, "
                                                                                     "1 closed, 2 unknown")),
                           UINT("reserved", 22, 31))])

ET89 = table(et(89), "Meter LN Status", [
    F("prior_mep1_handle", UINT16),
    F("prior_mep1_id", Raw(30)),
    F("mep1_reregister_requests", UINT8),
    F("mep1_reregister_allowed", UINT8),
    F("prior_mep2_handle", UINT16),
    F("prior_mep2_id", Raw(30)),
    F("mep2_reregister_requests", UINT8),
    F("mep2_reregister_allowed", UINT8),
    F("last_h1_telegram_time", LTIME_DATE, doc="firmware 4.50+"),
    BITS(1, BOOL("h1_device_present", 0), BOOL("plc_disabled", 1)),
    F("mode_records", Array(2, Struct([
        BITS(1, UINT("current_op_mode", 0, 2, in_range(0, 3, "op mode {value}: 0 maintenance, 1 locked, "
                                                           "2 remote, 3 local"))),
        F("maintenance", _MODE_STATE), F("locked", _MODE_STATE), F("remote", _MODE_STATE),
        F("local", _MODE_STATE)])), doc="firmware 4.50+: operation mode and per-mode disconnect states"),
    F("image_validation_key_ids", Array(2, UINT16)),
    BITS(1, BOOL("key0_invalidated", 0), BOOL("key1_invalidated", 1)),
    F("last_validation_error", UINT8, one_of({0, 1, 2, 3, 16, 17, 18, 32, 33, 240},
                                             "validation error code {value} is not documented", Severity.WARNING),
      doc="0 ok, 1 not signed, 2 key id undefined, 3 key invalidated, 16 bad signature, 17 bad signature "
          "length, 18 bad signature data, 32 bad public-key format, 33 bad EC point, 240 unknown"),
    F("last_validation_key_id", UINT16),
    F("last_image_length", UINT32),
    F("signature_length", UINT8),
    F("signature_head", Raw(8), doc="first 8 bytes of the signature"),
    F("adj_log_unread_mask", Raw(lambda d: d.et89_adj_log_mask_len), doc="length A unknown [ASM-TBL-04]"),
    BITS(1, BOOL("block_remote_procedure_disconnect", 0), BOOL("block_automatic_pushbutton_disconnect", 1),
         BOOL("block_local_procedure_disconnect", 2), BOOL("block_remote_unblock", 3)),
    F("extension", REST, doc="pending security events (ET90-dimensioned) and TLS port status (4.60+)"),
], source="MEP p.186-189", access="read: MBK MAK; write: none",
    notes="Fields up to the disconnect flags at 130 + A; the rest depends on ET90 dimensions not "
          "given in the source.")
