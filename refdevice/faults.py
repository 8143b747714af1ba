"""Fault switches of the reference device: ONE registry, each fault breaks exactly one requirement.

`ReferenceDevice(config, faults=["accept_bad_digest"])` turns a fault on. The kill matrix
(tests/test_killmatrix*.py, framework side) runs every fault against the test cases that cover its
requirement and expects at least one FAIL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from osgp.errors import ConfigError


@dataclass(frozen=True)
class Fault:
    name: str
    requirement: str  # REQ-<AREA>-<NNN> of osgpct/requirements.yaml
    description: str


def _f(name: str, requirement: str, description: str) -> Fault:
    return Fault(name, requirement, description)


# Constants so that code and tests refer to faults by name without typos.
ACCEPT_BAD_DIGEST = "accept_bad_digest"
ACCEPT_REPLAYED_SEQ = "accept_replayed_seq"
SEQ_WINDOW_TOO_WIDE = "seq_window_too_wide"
RESPONSE_DIGEST_UNCHAINED = "response_digest_unchained"
SEQ_ERROR_WITHOUT_NUMBER = "seq_error_without_number"
SEQ_ERROR_WRONG_NUMBER = "seq_error_wrong_number"
AUTH_FAILURE_ENCRYPTED = "auth_failure_encrypted"
RC4_RESPONSE_PLAINTEXT = "rc4_response_plaintext"
AES_ACCEPTS_RC4 = "aes_accepts_rc4"
REJECTED_CHANGES_STATE = "rejected_changes_state"
SEQ_NOT_PERSISTED = "seq_not_persisted"
KEY_USAGE_NOT_COUNTED = "key_usage_not_counted"
READ_KEY_CAN_WRITE = "read_key_can_write"
BT00_DIMENSION_INCONSISTENT = "bt00_dimension_inconsistent"
BT00_BIT7_DROPPED = "bt00_bit7_dropped"
PARTIAL_READ_OFFSET_IGNORED = "partial_read_offset_ignored"
PARTIAL_READ_OVERRUN_GARBAGE = "partial_read_overrun_garbage"
READONLY_WRITE_ACCEPTED = "readonly_write_accepted"
WRITE_COUNT_IGNORED = "write_count_ignored"
TABLE_BIG_ENDIAN = "table_big_endian"
FULL_READ_SHORT = "full_read_short"
UNIMPLEMENTED_TABLE_WRONG_CODE = "unimplemented_table_wrong_code"
PROC_RESULT_WRONG_PSN = "proc_result_wrong_psn"
REPEATED_PSN_EXECUTED = "repeated_psn_executed"
UNKNOWN_PROCEDURE_NOT_6 = "unknown_procedure_not_6"
BAD_PARAMETERS_ACCEPTED = "bad_parameters_accepted"
RELAY_IGNORES_DISCONNECT = "relay_ignores_disconnect"
CLOCK_NOT_SET_BY_BP10 = "clock_not_set_by_bp10"
EVENT_NOT_LOGGED = "event_not_logged"
PENDING_ACTIVATED_EARLY = "pending_activated_early"
PENDING_NEVER_ACTIVATED = "pending_never_activated"
CRC_NOT_CHECKED = "crc_not_checked"
DUPLICATE_REEXECUTED = "duplicate_reexecuted"
WRONG_TID = "wrong_tid"
HANG_ON_OVERSIZE = "hang_on_oversize"
LATE_RESPONSE = "late_response"
CLOCK_FROZEN = "clock_frozen"

# The single registry. Requirement ids: osgpct/requirements.yaml (tests check that each id exists).
FAULTS: dict[str, Fault] = {f.name: f for f in (
    # --- security (digest, sequence numbers, RC4, AES, keys) ---
    _f(ACCEPT_BAD_DIGEST, "REQ-SEC-004",
       "a request whose digest verifies under no key is executed instead of answered 0x0B"),
    _f(ACCEPT_REPLAYED_SEQ, "REQ-SEC-010",
       "a request repeating the current (already used) sequence number is executed instead of 0x0C"),
    _f(SEQ_WINDOW_TOO_WIDE, "REQ-SEC-009",
       "sequence numbers up to current+64 are accepted (the window is current+1..current+8)"),
    _f(RESPONSE_DIGEST_UNCHAINED, "REQ-SEC-003",
       "the response digest covers the response only, not request||response"),
    _f(SEQ_ERROR_WITHOUT_NUMBER, "REQ-SEC-011",
       "0x0C (invalid sequence number) is sent without the 4-byte current sequence number"),
    _f(SEQ_ERROR_WRONG_NUMBER, "REQ-SEC-012",
       "0x0C carries current-1 instead of the current sequence number, so N+1 is refused again"),
    _f(AUTH_FAILURE_ENCRYPTED, "REQ-SEC-005",
       "0x0B (authentication failure) is sent encrypted when the request looked encrypted"),
    _f(RC4_RESPONSE_PLAINTEXT, "REQ-SEC-017",
       "an RC4-encrypted request is answered in plaintext (the response data leaks)"),
    _f(AES_ACCEPTS_RC4, "REQ-SEC-023",
       "a device in AES-128 mode executes digest/RC4-protected requests"),
    _f(REJECTED_CHANGES_STATE, "REQ-SEC-004",
       "a request refused with 0x0B or 0x0C is nevertheless executed (its write lands)"),
    _f(SEQ_NOT_PERSISTED, "REQ-SEC-010",
       "the sequence number falls back to its start value after a power cycle (replay possible)"),
    _f(KEY_USAGE_NOT_COUNTED, "REQ-SEC-030",
       "the ET54 unicast key usage counter does not increment"),
    _f(READ_KEY_CAN_WRITE, "REQ-SEC-028",
       "a request authenticated with the read-only key can write tables (no 0x03)"),
    # --- tables and services ---
    _f(BT00_DIMENSION_INCONSISTENT, "REQ-TBL-012",
       "BT00.18 NBR_PENDING declares one more BT04 record than BT04 carries"),
    _f(BT00_BIT7_DROPPED, "REQ-TBL-006",
       "bit 7 of every BT00 bitmap byte is cleared (BT07, BT15, BT23 ... disappear)"),
    _f(PARTIAL_READ_OFFSET_IGNORED, "REQ-APP-006",
       "a partial read returns data from offset 0 whatever offset was asked"),
    _f(PARTIAL_READ_OVERRUN_GARBAGE, "REQ-APP-007",
       "a partial read past the table end is padded with 0xFF instead of zeros"),
    _f(READONLY_WRITE_ACCEPTED, "REQ-TBL-011",
       "a write to a read-only table (BT01, BT52, ...) is accepted and changes it"),
    _f(WRITE_COUNT_IGNORED, "REQ-APP-011",
       "a write stores every data byte sent, even beyond the count field"),
    _f(TABLE_BIG_ENDIAN, "REQ-APP-013",
       "multi-byte fields of BT23 and ET04.0 are sent big-endian (BT00 says LSB first)"),
    _f(FULL_READ_SHORT, "REQ-APP-005",
       "a full read of ET04 returns one byte less than the table's size"),
    _f(UNIMPLEMENTED_TABLE_WRONG_CODE, "REQ-APP-018",
       "a read of a table that is not implemented answers 0x04 instead of 0x05 (iar)"),
    # --- procedures ---
    _f(PROC_RESULT_WRONG_PSN, "REQ-PRC-003",
       "BT08 posts the result with PSN+1 instead of the PSN written to BT07"),
    _f(REPEATED_PSN_EXECUTED, "REQ-PRC-013",
       "a BT07 write repeating the previous PSN is executed again instead of refused with 0x04"),
    _f(UNKNOWN_PROCEDURE_NOT_6, "REQ-PRC-006",
       "an unknown procedure posts result 0 (completed) instead of 6"),
    _f(BAD_PARAMETERS_ACCEPTED, "REQ-PRC-008",  # a 0 departs from every reading of PRC-008; PRC-026 is inferred
       "BP10 with an impossible date (month 13) posts 0 instead of 2"),
    _f(RELAY_IGNORES_DISCONNECT, "REQ-PRC-036",
       "the disconnect procedure posts 0 but the relay (ET23.94) does not change"),
    _f(CLOCK_NOT_SET_BY_BP10, "REQ-MGT-003",
       "BP10 posts 0 but BT52 keeps the old time"),
    _f(CLOCK_FROZEN, "REQ-MGT-001",
       "the BT52 clock does not advance with time"),
    _f(EVENT_NOT_LOGGED, "REQ-MGT-005",
       "clock changes (BP10) are not recorded in the BT74 history log"),
    _f(PENDING_ACTIVATED_EARLY, "REQ-TBL-017",
       "a pending table with PED code 2 (manual) is activated as soon as it is written"),
    _f(PENDING_NEVER_ACTIVATED, "REQ-TBL-015",
       "a pending table with an absolute-time PED (code 0) never activates at that time"),
    # --- ISO/IEC 14908-1 link and transaction layer ---
    _f(CRC_NOT_CHECKED, "REQ-LNK-002",
       "frames with a bad CRC-16 are processed and answered"),
    _f(DUPLICATE_REEXECUTED, "REQ-LNK-014",
       "a duplicate transaction (same TID and APDU within the receive timer) is executed again"),
    _f(WRONG_TID, "REQ-LNK-012",
       "the response carries a transaction id different from the request's"),
    _f(HANG_ON_OVERSIZE, "REQ-LNK-012",  # it then answers no request at all (low:251); APP-026 is inferred
       "an APDU longer than 229 bytes (ASM-APP-05) kills it: no answer to anything until power_cycle()"),
    _f(LATE_RESPONSE, "REQ-LNK-024",
       "responses go out link.late_delay_s (10 s) after the request, after the tester's transaction has ended"),
)}


def check_names(names: Iterable[str], registry: Mapping[str, object], kind: str) -> frozenset[str]:
    """Validate switch names against a registry (faults here, variants in variants.py); unknown ones raise a
    ConfigError listing the valid names."""
    chosen = frozenset(names)
    unknown = sorted(chosen - registry.keys())
    if unknown:
        raise ConfigError(f"unknown {kind}(s) {', '.join(unknown)}; valid names: {', '.join(sorted(registry))}")
    return chosen


def check(names: Iterable[str]) -> frozenset[str]:
    """Validate fault names (see check_names)."""
    return check_names(names, FAULTS, "fault")
