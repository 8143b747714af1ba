"""Basic procedures on data, lists and status: BP03 clear data, BP04/BP05 list pointers, BP07 clear standard
status flags, BP09 demand reset, and the BT07 parameter-length limit (TS 104 001 Clause 5, Annex C).

BP04/BP05 take a LIST code (pixit.bp05_list_codes, ASM-PRC-02). Every check of an unread count allows for the
entries the DUT logs while the test runs: BT74 LAST_ENTRY_SEQ_NBR tells how many were added.
"""

from __future__ import annotations

import math
import time

from osgp.app import bt
from osgp.tables import Record
from osgp.tables.procedures import (
    BP03_CLEAR_DATA,
    BP04_RESET_LIST_POINTERS,
    BP05_UPDATE_LAST_READ,
    BP07_CLEAR_STD_STATUS,
    BP09_REMOTE_RESET,
)
from osgpct.dut import (
    BAD_PARAM,
    OK,
    REFUSALS,
    Dut,
    log_reset,
    new_entries,
)
from osgpct.testcase import testcase
from osgpct.usecases.metering import demand_resets, ensure_log_unread, logged_since, lp_status, start_demand_reset

_STD_FLAGS = ("unprogrammed", "configuration_error", "system_reset", "ram_failure", "rom_failure", "nvm_failure",
              "clock_error", "measurement_error", "low_battery", "low_loss_potential", "demand_overload",
              "power_failure", "cover_removed", "reverse_energy", "data_backup_incomplete", "disconnect_switch_error")


#: The share of the case's time bound (pixit.test_timeout_s) :func:`overflowed_log` may spend filling the log
OVERFLOW_TIME_SHARE = 0.3


def overflowed_log(dut: Dut) -> Record:
    """The BT74 header with unread entries and, where the tester can cause it in a few calls, the overflow flag set.

    A case that checks that a refused procedure did not reset the history log needs a reset to show under every
    reading of BP04 (REQ-PRC-018): a BP04 that clears the overflow flag only (reading 2) leaves the unread count
    as it was, so only a set overflow flag reveals it. Unlisted procedures are called until the log overflows
    (many DUTs log every procedure call); :func:`clear_overflow` puts the flag back afterwards."""
    h = ensure_log_unread(dut, 1)
    if h.overflow_flag:
        return h
    capacity = dut.dims("bt71").bt71.nbr_history_entries
    need = capacity - h.nbr_unread_entries + 1
    bound = dut.pixit.test_timeout_s
    until = time.monotonic() + (OVERFLOW_TIME_SHARE * bound if bound else math.inf)
    number = dut.unlisted_procedure(True)
    for i in range(need + 2):
        if time.monotonic() > until:
            break
        dut.call(number)
        if i + 1 >= need or (i + 1) % 10 == 0:
            h2 = dut.log_header()
            if h2.overflow_flag or h2.last_entry_seq_nbr == h.last_entry_seq_nbr:
                break
            h = h2
    h = dut.log_header()
    if not h.overflow_flag:
        dut.tc.observe(f"BT74 did not overflow from the calls made ({h.nbr_unread_entries} unread of {capacity}): a "
                       "BP04 that clears only the overflow flag would not show here")
    return h


def clear_overflow(dut: Dut) -> None:
    """Clear the BT74 overflow flag :func:`overflowed_log` set (BP05, 1 entry read; else BP04; not judged): the
    overflow 'is cleared by BP04 and BP05' (OPG:2559-2560)."""
    h = dut.log_header()
    if not h.overflow_flag:
        return
    code = dut.pixit.bp05_list_codes.history_log
    if dut.lists_procedure(BP05_UPDATE_LAST_READ):
        dut.call(BP05_UPDATE_LAST_READ, {"list": code, "entries_read": 1})
    elif dut.lists_procedure(BP04_RESET_LIST_POINTERS):
        dut.call(BP04_RESET_LIST_POINTERS, bytes([code]))
    if dut.log_header().overflow_flag:
        dut.tc.observe("the BT74 overflow flag the case set could not be cleared")


def list_touched(before: Record, after: Record) -> bool:
    """Whether the history log was reset between two BT74 headers under any reading of BP04 (REQ-PRC-018): the
    entries unread before marked read, the overflow flag cleared, or valid entries dropped."""
    return (log_reset(before, after) or (before.overflow_flag and not after.overflow_flag)
            or after.nbr_valid_entries < before.nbr_valid_entries)


def check_log_untouched(tc, dut: Dut, before: Record, what: str, req: str) -> Record:
    """Read the BT74 header and judge ``req``: ``what`` (a refused or harmless procedure) did not reset the history
    log under any reading of BP04 (:func:`list_touched`). Returns the header read."""
    after = dut.log_header()
    tc.check(not list_touched(before, after), f"{what} reset the history log: {describe_list_change(before, after)}",
             req=req)
    return after


def describe_list_change(before: Record, after: Record) -> str:
    return (f"unread {before.nbr_unread_entries} -> {after.nbr_unread_entries} with {new_entries(before, after)} "
            f"entries logged since, overflow {int(before.overflow_flag)} -> {int(after.overflow_flag)}, valid "
            f"{before.nbr_valid_entries} -> {after.nbr_valid_entries}")


def _prepare_log(tc, dut: Dut, need: int):
    """A BT74 with at least ``need`` unread entries and room for ten more before it is full of unread ones.

    BP04 may clear the overflow flag only and leave the unread count (REQ-PRC-018, reading 2): BP05 then lowers
    the count (OPG:2585 'decremented by the host via procedure')."""
    capacity = dut.dims("bt71").bt71.nbr_history_entries
    code = dut.pixit.bp05_list_codes.history_log
    h = dut.log_header()
    if h.nbr_unread_entries + 10 > capacity and dut.lists_procedure(BP04_RESET_LIST_POINTERS):
        dut.run_ok(BP04_RESET_LIST_POINTERS, bytes([code]), what="BP04 to make room in the unread count")
        h = dut.log_header()
    if h.nbr_unread_entries + 10 > capacity and dut.lists_procedure(BP05_UPDATE_LAST_READ):
        dut.run_ok(BP05_UPDATE_LAST_READ, {"list": code, "entries_read": h.nbr_unread_entries - need},
                   what="BP05 to make room in the unread count")
    h = ensure_log_unread(dut, need)
    tc.require(need <= h.nbr_unread_entries <= capacity - 10,
               f"BT74 has {h.nbr_unread_entries} unread entries of {capacity}: needed {need} to {capacity - 10}")
    return h


@testcase(
    id="TC_PRC_BP03_BV_01",
    title="What BP03 Clear Data clears (observation only: REQ-PRC-017 is withdrawn)",
    purpose="Ensure that, when the tester starts BP03, the report records the result it posts and which BT23 total "
            "summations and load-profile blocks it cleared; no verdict: no source says what BP03 clears on an OSGP "
            "meter, and OPG:1107-1110 says the BT23 totals 'are never reset in the field'",
    requirements=["REQ-PRC-017"],
    pics="PICS_PROCEDURES",
    initial="A laboratory DUT whose measured data may be cleared (BP03 cannot be undone)",
    steps=[("Read BT23 (and the BT63 status when the DUT records a load profile)", "0x00"),
           ("Start BP03", "observed: the result posted"),
           ("Read BT23 (and BT63)", "observed: the totals and blocks cleared, if any")],
)
def test_bp03_clear_data(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 procedure name per termineter (tbl §7.1)
    [READ]. REQ-PRC-017 is withdrawn (testable: false): BP03 is in neither guide and OPG:1107-1110 says the BT23
    total summations 'are never reset in the field'; clearing BT23 is only the reference device's choice
    (ASM-DEV-09). The case keeps its id and reports what the DUT does, never a FAIL."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP03_CLEAR_DATA)
    lp = plan.pics.get("PICS_LOAD_PROFILE") and dut.listed(bt(63))
    with tc.step(1):
        before = dut.read_decoded(bt(23)).tot_data_block.summations
        st = lp_status(dut) if lp else None
    with tc.step(2):
        res = dut.run(BP03_CLEAR_DATA, what="BP03")
        tc.observe(f"BP03 posted result {res.result} ({res.meaning})")
    with tc.step(3):
        after = dut.read_decoded(bt(23)).tot_data_block.summations
        lowered = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if b < a]
        tc.observe(f"BT23 total summations before {list(before)}, after {list(after)}: "
                   + (f"{lowered} lowered" if lowered else "none lowered (OPG:1109: 'never reset in the field')"))
        if st is not None:
            st2 = lp_status(dut)
            tc.observe(f"BT63 valid blocks {st.nbr_valid_blocks} -> {st2.nbr_valid_blocks}, unread "
                       f"{st.nbr_unread_blocks} -> {st2.nbr_unread_blocks}")


@testcase(
    id="TC_PRC_BP04_BV_01",
    title="BP04 Reset List Pointers clears the overflow flag of the history log and of the load profile",
    purpose="Ensure that, when the tester starts BP04 for the history log (filled up to its overflow where a few "
            "calls do it) and for the load profile, the DUT posts result 0 and the list's overflow flag is clear "
            "afterwards, and its unread count is either reset or left as it was (REQ-PRC-018 is ambiguous), never "
            "lowered part of the way",
    requirements=["REQ-PRC-018"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG",
    pixit=["bp05_list_codes", "test_timeout_s"],
    steps=[("Read the BT74 header (at least one unread entry; overflow set where the tester can cause it)", "0x00"),
           ("BP04 with the history-log LIST code", "result 0"),
           ("Read the BT74 header", "overflow clear; unread <= entries logged since step 1 (reset) or as before "
                                    "plus those entries (kept)"),
           ("When the DUT records a load profile: BP04 with the load-profile LIST code, then read BT63",
            "result 0; overflow clear; unread blocks reset or kept")],
)
def test_bp04_reset_list_pointers(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.34, p.51 (tbl §7.1, §11.3 PR-13) [READ];
    LIST codes ASM-PRC-02."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP04_RESET_LIST_POINTERS)
    codes = dut.pixit.bp05_list_codes
    capacity = dut.dims("bt71").bt71.nbr_history_entries
    try:
        with tc.step(1):
            h = overflowed_log(dut)
            tc.require(h.nbr_unread_entries > 0, "BT74 has no unread entry and the tester could not cause one")
            tc.observe(f"BT74 before BP04: {h.nbr_unread_entries} unread of {capacity}, overflow "
                       f"{int(h.overflow_flag)}")
        with tc.step(2):
            res = dut.run(BP04_RESET_LIST_POINTERS, bytes([codes.history_log]), what="BP04 history log")
            tc.check(res.result == OK, f"BP04 for the history log posted {res.result} ({res.meaning}), not 0",
                     stop=True, req="REQ-PRC-018")
        with tc.step(3):
            after = dut.log_header()
            new = new_entries(h, after)
            reset = after.nbr_unread_entries <= new  # readings 1 and 3
            kept = after.nbr_unread_entries >= min(h.nbr_unread_entries + new, capacity)  # reading 2
            tc.check(reset or kept, f"after BP04 BT74 shows {after.nbr_unread_entries} unread entries: neither reset "
                     f"(at most the {new} logged since) nor kept ({h.nbr_unread_entries} plus those)",
                     req="REQ-PRC-018")
            # Under reading 2 a log full of unread entries overflows again with the next entry (the DUT may log the
            # BP04 itself): a set flag then only counts when nothing was logged since or the count was reset.
            refilled = after.nbr_unread_entries >= capacity and new > 0
            tc.check(not after.overflow_flag or refilled, f"after BP04 the BT74 overflow flag is still set (it was "
                     f"{int(h.overflow_flag)} before; OPG:2559-2560 'This is cleared by BP04 and BP05')",
                     req="REQ-PRC-018")
            if after.overflow_flag and refilled:
                tc.observe(f"BT74 overflow set after BP04, but the log is full of unread entries and {new} were logged "
                           "since: the flag may have been cleared and set again")
            tc.observe(f"BP04 {'reset' if reset else 'kept'} the BT74 unread count ({h.nbr_unread_entries} -> "
                       f"{after.nbr_unread_entries}, {new} logged since)")
    finally:
        clear_overflow(dut)
    with tc.step(4):
        if not (plan.pics.get("PICS_LOAD_PROFILE") and dut.listed(bt(63))):
            tc.observe("no load profile declared: not probed")
            return
        st = lp_status(dut)
        res = dut.run(BP04_RESET_LIST_POINTERS, bytes([codes.load_profile]), what="BP04 load profile")
        tc.check(res.result == OK, f"BP04 for the load profile posted {res.result} ({res.meaning}), not 0",
                 req="REQ-PRC-018")
        st2 = lp_status(dut)
        started = (st2.last_block_seq_nbr - st.last_block_seq_nbr) % (1 << 32)
        tc.check(st2.nbr_unread_blocks <= started or st2.nbr_unread_blocks >= st.nbr_unread_blocks,
                 f"after BP04 BT63 shows {st2.nbr_unread_blocks} unread blocks: neither reset (at most the {started} "
                 f"started since) nor kept (it had {st.nbr_unread_blocks})", req="REQ-PRC-018")
        tc.check(not st2.overflow_flag, "after BP04 the BT63 overflow flag is still set (OPG:1635-1637: cleared "
                 "'upon execution of EP11, BP04, or BP05')", req="REQ-PRC-018")


@testcase(
    id="TC_PRC_BP05_BV_01",
    title="BP05 Update Last Read Entry lowers the BT74 unread count by the entries read, each time",
    purpose="Ensure that, when the tester starts BP05 for the history log with 1 entry read, twice, the DUT "
            "posts result 0 and each call lowers NBR_UNREAD_ENTRIES by one (apart from entries logged meanwhile) "
            "and leaves the overflow flag clear",
    requirements=["REQ-PRC-019"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG",
    pixit=["bp05_list_codes"],
    steps=[("Read the BT74 header (at least 2 unread entries, room for 10 more)", "0x00"),
           ("BP05 history log, 1 entry read", "result 0; unread = before - 1 + entries logged since; overflow "
                                              "clear"),
           ("BP05 history log, 1 entry read, again", "result 0; unread lowered by one again")],
)
def test_bp05_update_last_read(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.27, p.34, p.51; MEP-DG p.42 not idempotent
    (tbl §7.1, §11.3 PR-13) [READ]; parameters ASM-PRC-02."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP05_UPDATE_LAST_READ)
    params = {"list": dut.pixit.bp05_list_codes.history_log, "entries_read": 1}
    with tc.step(1):
        h = _prepare_log(tc, dut, 2)
    for step in (2, 3):
        with tc.step(step):
            res = dut.run(BP05_UPDATE_LAST_READ, params, what="BP05 history log, 1 entry")
            tc.require(res.result != BAD_PARAM, "BP05 (LIST history log, ENTRIES_READ 1) posted 2 (invalid "
                       "parameter): the DUT may take another LIST/ENTRIES_READ layout or LIST code (ASM-PRC-02, "
                       "pixit.bp05_list_codes), so the procedure cannot be judged")
            tc.check(res.result == OK, f"BP05 posted {res.result} ({res.meaning}), not 0", stop=True,
                     req="REQ-PRC-019")
            after = dut.log_header()
            # Entries logged meanwhile, read from the log: the sequence numbers may skip (REQ-TBL-051, "there may
            # be gaps"), so their difference only bounds the count.
            logged = len(logged_since(dut, h))
            want = h.nbr_unread_entries - 1 + logged
            tc.check(after.nbr_unread_entries == want, f"BT74 unread went from {h.nbr_unread_entries} to "
                     f"{after.nbr_unread_entries} with {logged} entries logged meanwhile: expected "
                     f"{want} after one entry read", req="REQ-PRC-019")
            tc.check(not after.overflow_flag, "after BP05 the BT74 overflow flag is set", req="REQ-PRC-019")
            h = after


@testcase(
    id="TC_PRC_BP05_BI_01",
    title="BP05 reporting more entries read than are unread never drives the count below zero",
    purpose="Ensure that, when the tester starts BP05 for the history log with 65535 entries read, the DUT either "
            "posts result 0 and leaves no older entry unread, or refuses it (result 2-5) and leaves the count as it "
            "was; the count never leaves its range 0..BT71 NBR_HISTORY_ENTRIES (OPG:2587)",
    requirements=["REQ-PRC-020"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG",
    pixit=["bp05_list_codes"],
    steps=[("Read the BT74 header (at least one unread entry)", "0x00"),
           ("BP05 history log, 65535 entries read", "result 0, or a refusal (2-5)"),
           ("Read the BT74 header", "result 0: unread <= entries logged since; refused: unread unchanged; "
                                    "never above BT71 NBR_HISTORY_ENTRIES")],
)
def test_bp05_more_than_unread(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); (tbl §11.3 PR-13 'never below 0') [INFERRED];
    parameters ASM-PRC-02."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP05_UPDATE_LAST_READ)
    with tc.step(1):
        h = _prepare_log(tc, dut, 1)
    with tc.step(2):
        res = dut.run(BP05_UPDATE_LAST_READ, {"list": dut.pixit.bp05_list_codes.history_log, "entries_read": 0xFFFF},
                      what="BP05 history log, 65535 entries")
        tc.check(res.result == OK or res.result in REFUSALS, f"BP05 posted {res.result} ({res.meaning}), neither 0 "
                 "nor a refusal (2-5)", req="REQ-PRC-020")
    with tc.step(3):
        after = dut.log_header()
        new = new_entries(h, after)
        capacity = dut.dims("bt71").bt71.nbr_history_entries
        tc.check(after.nbr_unread_entries <= capacity, f"BT74 shows {after.nbr_unread_entries} unread entries, beyond "
                 f"its range 0..{capacity} (BT71 NBR_HISTORY_ENTRIES, OPG:2587): the count wrapped", req="REQ-PRC-020")
        if res.result == OK:
            tc.check(after.nbr_unread_entries <= new, f"BP05 for more entries than unread left "
                     f"{after.nbr_unread_entries} unread with only {new} logged since", req="REQ-PRC-020")
        elif res.result in REFUSALS:
            want = min(h.nbr_unread_entries + new, capacity)
            tc.check(after.nbr_unread_entries == want, f"BP05 was refused but the unread count went from "
                     f"{h.nbr_unread_entries} to {after.nbr_unread_entries} with {new} logged since",
                     req="REQ-PRC-020")


@testcase(
    id="TC_PRC_BP07_BV_01",
    title="BP07 Clear Standard Status Flags is carried out, sets no flag and clears a latched power failure",
    purpose="Ensure that, when the tester starts BP07, the DUT posts result 0, afterwards no BT03 standard "
            "status flag is set that was clear before, and a 'power failure' flag set before (its condition is "
            "over: the DUT answers) is clear",
    requirements=["REQ-PRC-021"],
    pics="PICS_PROCEDURES",
    steps=[("Read BT03", "0x00"), ("Start BP07", "result 0"),
           ("Read BT03", "no flag set that was clear; 'power failure' clear; other flags still set: observed")],
)
def test_bp07_clear_std_status(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 procedure names, OPG p.45-47 (tbl §9.4)
    [READ]; latched vs live per flag (tbl §12 item 12) [NOT FOUND]."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP07_CLEAR_STD_STATUS)
    with tc.step(1):
        before = {f for f in _STD_FLAGS if dut.read_decoded(bt(3))[f]}
    with tc.step(2):
        res = dut.run(BP07_CLEAR_STD_STATUS, what="BP07")
        tc.check(res.result == OK, f"BP07 posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-021")
    with tc.step(3):
        after = {f for f in _STD_FLAGS if dut.read_decoded(bt(3))[f]}
        tc.check(after <= before, f"BP07 set standard status flags {sorted(after - before)}", req="REQ-PRC-021")
        if "power_failure" in before:
            tc.check("power_failure" not in after, "BP07 left the BT03 'power failure' flag set although the DUT is "
                     "powered and answering (the condition is over)", req="REQ-PRC-021")
        if not before:
            tc.observe("no standard flag was set before BP07: its clearing could not be observed (which flags are "
                       "latched is NOT FOUND, tbl §12 item 12)")
        if after:
            tc.observe(f"standard flags still set after BP07 (their condition may persist): {sorted(after)}")


@testcase(
    id="TC_PRC_BP09_BV_01",
    title="BP09 with the demand-reset bit increments the BT23 demand-reset counter",
    purpose="Ensure that, when the tester starts BP09 with bit 0 (demand reset) set, the DUT posts result 0 and "
            "BT23 NBR_DEMAND_RESETS is one more (modulo 256)",
    requirements=["REQ-PRC-024"],
    pics="PICS_PROCEDURES",
    initial="A laboratory DUT on which a demand reset may be done (it cannot be undone); BT21 flags the counter",
    steps=[("Read BT23 NBR_DEMAND_RESETS", "0x00"), ("Start BP09 with bit 0 set", "result 0"),
           ("Read BT23 NBR_DEMAND_RESETS", "one more, modulo 256")],
)
def test_bp09_demand_reset(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 parameter bits per Aclara, OPG p.20-25
    (tbl §7.1, §9.1) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP09_REMOTE_RESET)
    with tc.step(1):
        before = demand_resets(dut)
    bt21 = dut.dims("bt21").get("bt21")
    lockout = bool(bt21 is not None and bt21.get("demand_reset_lock_flag"))
    why = ("BT21 DEMAND_RESET_LOCK_FLAG is set (OPG:852): a demand-reset lockout may refuse or ignore a reset that "
           "follows another one (earlier cases may have done one), so this cannot be judged")
    with tc.step(2):
        res = start_demand_reset(dut)
        if lockout:
            tc.require(res.result == OK, f"BP09 demand reset posted {res.result} ({res.meaning}); {why}")
        tc.check(res.result == OK, f"BP09 demand reset posted {res.result} ({res.meaning}), not 0", req="REQ-PRC-024")
    with tc.step(3):
        after = demand_resets(dut)
        if lockout:
            tc.require(after != before, f"BT23 NBR_DEMAND_RESETS stayed {before}; {why}")
        tc.check(after == (before + 1) % 256, f"BT23 NBR_DEMAND_RESETS went from {before} to {after}, not "
                 f"{(before + 1) % 256}", req="REQ-PRC-024")


@testcase(
    id="TC_PRC_PARM_BI_01",
    title="BT07 parameters longer than MAX_PROC_PARM_LENGTH are refused",
    purpose="Ensure that, when the tester writes BT07 with BP04 and one parameter byte more than BT00 "
            "MAX_PROC_PARM_LENGTH, the DUT refuses it (non-zero response or a refusal result 2-5) and does not reset "
            "the history log (unread count, overflow flag)",
    requirements=["REQ-PRC-014"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG and PICS_MAX_PROC_PARM <= 200",
    pixit=["max_apdu", "bp05_list_codes", "test_timeout_s"],
    steps=[("Read BT00 MAX_PROC_PARM_LENGTH and the BT74 header (at least one unread entry)", "0x00"),
           ("BP04 for the history log with MAX_PROC_PARM_LENGTH + 1 parameter bytes",
            "response code other than 0x00, or BT08 result 2-5"),
           ("Read the BT74 header", "the unread entries are still unread; a set overflow flag still set")],
)
def test_parameters_too_long(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annexes C-D (clause unknown); OPG p.48 BT00 offset 9 (tbl §8.1, §11.3 PR-07
    [V/I]) [INFERRED]."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP04_RESET_LIST_POINTERS)
    with tc.step(1):
        limit = dut.bt00().max_proc_parm_length
        tc.require(limit + 1 + 3 + 40 <= dut.pixit.max_apdu, f"a BT07 write with {limit + 1} parameter bytes does "
                   f"not fit in the {dut.pixit.max_apdu}-byte APDU the tester may send (pixit.max_apdu)")
    try:
        with tc.step(1):
            h = overflowed_log(dut)
            tc.require(h.nbr_unread_entries > 0, "BT74 has no unread entry, so a reset could not be seen")
        with tc.step(2):
            params = bytes([dut.pixit.bp05_list_codes.history_log]) + bytes(limit)
            c = dut.call(BP04_RESET_LIST_POINTERS, params)
            tc.require(not c.accepted or c.echoed, f"BP04 with {len(params)} parameter bytes: {c.describe()}; BT08 "
                       "does not hold its result (REQ-PRC-003)")
            tc.check(c.refused, f"BP04 with {len(params)} parameter bytes (limit {limit}) was not refused: "
                     f"{c.describe()}", req="REQ-PRC-014")
        with tc.step(3):
            check_log_untouched(tc, dut, h, "the over-long BP04", "REQ-PRC-014")
    finally:
        clear_overflow(dut)
