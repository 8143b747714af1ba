"""Variant switches of the reference device: ONE registry, each an alternative *conforming* reading.

A fault (faults.py) breaks a requirement and must be caught by a FAIL; a variant is a reading of the
sources that a device written by someone else may take where the guides are silent or ambiguous, and a
campaign against it must give no FAIL and no ERROR (the tolerance matrix, osgpct/tolerance.py).

`ReferenceDevice(config, variants=["seq_error_next_number"])` turns a variant on, exactly as `faults=`
turns on a fault; `loopback:?variant=NAME` (repeatable) does it for a campaign. `source` cites the
line of the guide that allows the reading: MEP-DG = MEP Client Developer's Guide, OPG = Optical Port
Programmer's Guide, line numbers of the .txt files in shared/spec/sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .faults import check_names


@dataclass(frozen=True)
class Variant:
    name: str
    requirement: str  # REQ-<AREA>-<NNN> of osgpct/requirements/<AREA>.yaml whose reading it varies
    reading: str  # what the device does instead of the suite's first reading
    source: str  # the guide line(s) that allow it


# Constants so that code and tests refer to variants by name without typos.
SEQ_ERROR_NEXT_NUMBER = "seq_error_next_number"
SEQ_WINDOW_WIDER = "seq_window_wider"
SEQ_JUMP_AFTER_REBOOT = "seq_jump_after_reboot"
READ_KEY_AUTH_FAILURE = "read_key_auth_failure"
KEY_USAGE_PER_CRYPTO_OP = "key_usage_per_crypto_op"
BROADCAST_BASE_HOST_SET = "broadcast_base_host_set"
UNKNOWN_REQUEST_UNSUPPORTED = "unknown_request_unsupported"
WRITE_EXCESS_DATA_REFUSED = "write_excess_data_refused"
OVERLONG_READ_CODE_05 = "overlong_read_code_05"
BT04_PENDING_CAPABILITY = "bt04_pending_capability"
SCRATCH_TABLES_NOT_PENDABLE = "scratch_tables_not_pendable"
TZ_OFFSET_CLAMPED = "tz_offset_clamped"
BT54_STORED_AS_RECEIVED = "bt54_stored_as_received"
LOG_SEQ_GAPS = "log_seq_gaps"
MFG_ACTIVATION_EVENT = "mfg_activation_event"
MFG_CLOCK_EVENTS = "mfg_clock_events"
BP03_KEEPS_TOTALS = "bp03_keeps_totals"
BP04_OVERFLOW_ONLY = "bp04_overflow_only"
MISSING_LIST_RESULT_2 = "missing_list_result_2"
RELAY_SPACING_RESULT_3 = "relay_spacing_result_3"
BP10_LOCAL_TIME = "bp10_local_time"
DISCONNECT_OTHER_NUMBER = "disconnect_other_number"
NEURON_STATE_ON_REQUEST = "neuron_state_on_request"

#: the procedure number of the contactor under disconnect_other_number (declared by pixit.disconnect_procedure)
OTHER_DISCONNECT_PROCEDURE = 2048 + 12
#: how far the sequence number jumps at power-up under seq_jump_after_reboot
SEQ_REBOOT_JUMP = 256
#: the window under seq_window_wider
WIDER_WINDOW = 9


def _v(name: str, requirement: str, reading: str, source: str) -> Variant:
    return Variant(name, requirement, reading, source)


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    # --- security ---
    _v(SEQ_ERROR_NEXT_NUMBER, "REQ-SEC-011",
       "0x0C carries the next sequence number to use (last accepted + 1), not the last accepted one",
       "MEP-DG:472-473, 561-562 ('Correct sequence number to be used in subsequent request messages')"),
    _v(SEQ_WINDOW_WIDER, "REQ-SEC-009",
       f"sequence numbers up to current+{WIDER_WINDOW} are accepted: a power-line window other than the MEP "
       "guide's 8 (ASM-SEC-02), declared by the plan's pixit.seq_window",
       "MEP-DG:486-487 ('will accept a sequence number that is up to 8 increments'), ASM-SEC-02 for power line"),
    _v(SEQ_JUMP_AFTER_REBOOT, "REQ-SEC-016",
       f"after a power cycle the sequence number resumes {SEQ_REBOOT_JUMP} ahead of the saved one "
       "(no number is ever accepted twice; the host resynchronises through 0x0C)",
       "MEP-DG:488-490 (0x0C 'along with the correct sequence number'); persistence itself NOT FOUND"),
    _v(READ_KEY_AUTH_FAILURE, "REQ-SEC-028",
       "a write (or procedure) the read-only key may not perform is answered 0x0B (unprotected), "
       "not 0x03; nothing changes",
       "MEP-DG:470 ('0x0B = Authentication failure'); PLC key levels and code 0x03 are INFERRED (SEC.yaml)"),
    _v(KEY_USAGE_PER_CRYPTO_OP, "REQ-SEC-030",
       "ET54.82/86 count every cryptographic use of the key (verifying the request and protecting the "
       "response), so an answered unicast request counts 2",
       "MEP-DG:6879-6882 ('number of time unicast key has been used, regardless of success or failure')"),
    _v(BROADCAST_BASE_HOST_SET, "REQ-MGT-015",
       "ET04.82 (broadcast base B) is set by the host (partial write of ET04.82) and never moved by the "
       "device; B+1..B+D are accepted, each once",
       "MEP-DG:2823 (ET04.82 'Secure broadcast base value (B)', VCI H = host), MEP-DG:2831 (delta D, H)"),
    # --- services ---
    _v(UNKNOWN_REQUEST_UNSUPPORTED, "REQ-APP-016",
       "a request code the device does not know is answered 0x02 (unsupported) instead of 0x01",
       "MEP-DG:465-466 (0x01 'Unrecognized request', 0x02 'Unsupported request', no rule which is which)"),
    _v(WRITE_EXCESS_DATA_REFUSED, "REQ-APP-011",
       "a write whose data is longer than its count is refused as malformed (0x01) and changes nothing",
       "MEP-DG:532-536 (count vs table size only; data longer than the count is not covered)"),
    _v(OVERLONG_READ_CODE_05, "REQ-APP-005",
       "a full read whose answer would not fit the APDU is refused 0x05 (table operation not possible) "
       "instead of 0x04",
       "MEP-DG:465-469 (codes 0x04/0x05 listed, no rule for an over-long read); OPG:367-368"),
    # --- tables ---
    _v(BT04_PENDING_CAPABILITY, "REQ-TBL-012",
       "the BT04 pending bitmaps flag every table that has a pending form (capability), whether or not "
       "a pending record exists now",
       "OPG:456-459 ('The bit will be set for a table if that table has a pending table')"),
    _v(SCRATCH_TABLES_NOT_PENDABLE, "REQ-TBL-013",
       "BT05 and ET03 have no pending form (BT4101/ET4099 answered 0x05); BT53/BT54 stay pendable",
       "OPG:336-356 (the guides document pending tables by BT54/BT4150 only; ET47 in MEP-DG)"),
    _v(TZ_OFFSET_CLAMPED, "REQ-TBL-031",
       "a BT53 time-zone offset outside -12 h..+14 h is clamped into the range and the write answered 0x00",
       "MEP-DG:11540-11542 ('Range of -12 to +14 hours enforced in firmware': refuse or clamp)"),
    _v(BT54_STORED_AS_RECEIVED, "REQ-TBL-033",
       "BT50 sets 'sort tier switches' (the host must pre-sort) and BT54 is stored as received, "
       "unsorted writes included",
       "MEP-DG:11425-11426 ('Meter requires tier switches in BT54 be pre-sorted when received')"),
    _v(LOG_SEQ_GAPS, "REQ-TBL-051",
       "BT74 sequence numbers have gaps (the numbering is shared with an alternate log: every entry "
       "skips one)",
       "MEP-DG:9249-9255, OPG:2600-2604 ('there may be gaps in the sequence numbers')"),
    _v(MFG_ACTIVATION_EVENT, "REQ-TBL-019",
       "a pending-table activation is logged with a manufacturer event code (bit 11 set), not C12.19 28",
       "OPG:2630-2632 ('Consult the documentation for your meter for a list of the event IDs')"),
    _v(MFG_CLOCK_EVENTS, "REQ-MGT-005",
       "a clock change (BP10) is logged with manufacturer event codes (bit 11 set), not C12.19 3/4",
       "OPG:2630-2632 (event IDs are meter-specific); C12.19 3/4 are INFERRED (MGT.yaml)"),
    # --- procedures ---
    _v(BP03_KEEPS_TOTALS, "REQ-PRC-017",
       "BP03 (clear data) clears the load profile but leaves the BT23 totals",
       "OPG:1107-1110 (BT23 summations: 'these are never reset in the field'); BP03 in neither guide"),
    _v(BP04_OVERFLOW_ONLY, "REQ-PRC-018",
       "BP04 clears the list's overflow flag only; the unread count stays until BP05",
       "OPG:2556-2560 (overflow 'is cleared by BP04 and BP05'; nothing said of the unread count)"),
    _v(MISSING_LIST_RESULT_2, "REQ-PRC-009",
       "BP04/BP05 on a list the device does not have (self-read) posts result 2 instead of 3",
       "MEP-DG:2365-2373 (result codes 2/3 listed, no rule which input is which)"),
    _v(RELAY_SPACING_RESULT_3, "REQ-PRC-010",
       "a relay operation within 10 s of the previous one posts result 3 instead of 4",
       "MEP-DG:6849-6851 ('at least 10 seconds must elapse'), MEP-DG:2371-2373 (codes 3/4)"),
    _v(BP10_LOCAL_TIME, "REQ-PRC-025",
       "BP10 takes the date and time as local time (BT53 offset applied); BT52 stays UTC",
       "MEP-DG:2769 (BP10 named, its time base not given); UTC is ASM-PRC-03 [INFERRED]"),
    _v(DISCONNECT_OTHER_NUMBER, "REQ-PRC-036",
       f"the contactor is driven by procedure {OTHER_DISCONNECT_PROCEDURE} (declared by "
       "pixit.disconnect_procedure); EP02 is unknown and posts result 6",
       "PRC.yaml REQ-PRC-036: 'command not found, see ASM-PRC-06' (neither guide names it)"),
    # --- management ---
    _v(NEURON_STATE_ON_REQUEST, "REQ-MGT-008",
       "ET04.72 is the last received Neuron state: 2 (unconfigured, from before commissioning) until a "
       "power-up or a host request (ET04.12 bit 2) refreshes it to 4",
       "MEP-DG:2596-2599, 2792-2806 ('Last received state', 'Updated on each power-up, on each re-sync')"),
)}

#: test-plan changes a campaign with the variant needs (the lab declares the DUT's choice in its plan)
PLAN_OF_VARIANT: dict[str, dict[str, dict[str, object]]] = {
    DISCONNECT_OTHER_NUMBER: {"pixit": {"disconnect_procedure": OTHER_DISCONNECT_PROCEDURE}},
    SEQ_WINDOW_WIDER: {"pixit": {"seq_window": WIDER_WINDOW}},
}


def check(names: Iterable[str]) -> frozenset[str]:
    """Validate variant names (see faults.check_names)."""
    return check_names(names, VARIANTS, "variant")
