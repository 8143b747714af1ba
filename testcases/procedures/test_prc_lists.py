"""Basic procedures on data, lists and status: BP03 clear data, BP04/BP05 list pointers, BP07 clear standard
status flags, BP09 demand reset, and the BT07 parameter-length limit (TS 104 001 Clause 5, Annex C).

BP04/BP05 take a LIST code (pixit.bp05_list_codes, ASM-PRC-02). Every check of an unread count allows for the
entries the DUT logs while the test runs: BT74 LAST_ENTRY_SEQ_NBR tells how many were added.
"""

from __future__ import annotations

from osgp.app import ResponseCode, bt
from osgpct.dut import (
    BAD_PARAM,
    BP03_CLEAR_DATA,
    BP04_RESET_LIST_POINTERS,
    BP05_UPDATE_LAST_READ,
    BP07_CLEAR_STD_STATUS,
    BP09_REMOTE_RESET,
    OK,
    Dut,
    new_entries,
)
from osgpct.testcase import testcase
from osgpct.usecases.metering import demand_resets, ensure_log_unread, lp_status, start_demand_reset

_STD_FLAGS = ("unprogrammed", "configuration_error", "system_reset", "ram_failure", "rom_failure", "nvm_failure",
              "clock_error", "measurement_error", "low_battery", "low_loss_potential", "demand_overload",
              "power_failure", "cover_removed", "reverse_energy", "data_backup_incomplete", "disconnect_switch_error")


def _prepare_log(tc, dut: Dut, need: int):
    """A BT74 with at least ``need`` unread entries and room for ten more before it is full of unread ones."""
    capacity = dut.dims("bt71").bt71.nbr_history_entries
    h = dut.log_header()
    if h.nbr_unread_entries + 10 > capacity and dut.lists_procedure(BP04_RESET_LIST_POINTERS):
        dut.run_ok(BP04_RESET_LIST_POINTERS, bytes([dut.pixit.bp05_list_codes.history_log]),
                   what="BP04 to make room in the unread count")
    h = ensure_log_unread(dut, need)
    tc.require(need <= h.nbr_unread_entries <= capacity - 10,
               f"BT74 has {h.nbr_unread_entries} unread entries of {capacity}: needed {need} to {capacity - 10}")
    return h


@testcase(
    id="TC_PRC_BP03_BV_01",
    title="BP03 Clear Data clears the energy registers",
    purpose="Ensure that, when the tester starts BP03 while BT23 holds a non-zero forward energy, the DUT posts "
            "result 0 and every non-zero BT23 total summation is lower afterwards",
    requirements=["REQ-PRC-017"],
    pics="PICS_PROCEDURES",
    pixit=["test_timeout_s"],
    initial="A laboratory DUT whose measured data may be cleared (BP03 cannot be undone); energy flowing",
    steps=[("Read BT23 (waiting up to 10 min for at least 10 Wh of forward energy)", "0x00, forward energy >= 10"),
           ("Start BP03", "result 0"),
           ("Read BT23", "every total summation that was non-zero is lower; forward energy below 10 Wh + what "
                         "the load added since")],
)
def test_bp03_clear_data(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 procedure name per termineter (tbl §7.1)
    [READ]; what it clears on an OSGP meter [INFERRED]."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP03_CLEAR_DATA)
    with tc.step(1):
        before = dut.read_decoded(bt(23)).tot_data_block.summations
        waited = 0
        while before[0] < 10 and waited < 600:
            dut.wait(30, "forward energy to accumulate in BT23")
            waited += 30
            before = dut.read_decoded(bt(23)).tot_data_block.summations
        tc.require(before[0] >= 10, f"BT23 forward energy is {before[0]} after {waited} s: nothing to clear")
    with tc.step(2):
        res = dut.run(BP03_CLEAR_DATA, what="BP03")
        tc.check(res.result == OK, f"BP03 posted result {res.result} ({res.meaning}), not 0", stop=True)
    with tc.step(3):
        after = dut.read_decoded(bt(23)).tot_data_block.summations
        grown = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a and b >= a]
        tc.check(not grown, f"BT23 total summations {grown} were not cleared by BP03: before {before}, after {after}")


@testcase(
    id="TC_PRC_BP04_BV_01",
    title="BP04 Reset List Pointers marks the history log and load profile read and clears their overflow",
    purpose="Ensure that, when the tester starts BP04 for the history log and for the load profile, the DUT posts "
            "result 0, no entry older than the reset stays unread in BT74 (blocks in BT63) and the list's "
            "overflow flag is clear",
    requirements=["REQ-PRC-018"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG",
    pixit=["bp05_list_codes"],
    steps=[("Read the BT74 header (at least one unread entry)", "0x00"),
           ("BP04 with the history-log LIST code", "result 0"),
           ("Read the BT74 header", "unread <= entries logged since step 1; overflow clear"),
           ("When the DUT records a load profile: BP04 with the load-profile LIST code, then read BT63",
            "result 0; unread blocks <= blocks started since; overflow clear")],
)
def test_bp04_reset_list_pointers(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); OPG p.34, p.51 (tbl §7.1, §11.3 PR-13) [READ];
    LIST codes ASM-PRC-02."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP04_RESET_LIST_POINTERS)
    codes = dut.pixit.bp05_list_codes
    with tc.step(1):
        h = ensure_log_unread(dut, 1)
        tc.require(h.nbr_unread_entries > 0, "BT74 has no unread entry and the tester could not cause one")
    with tc.step(2):
        res = dut.run(BP04_RESET_LIST_POINTERS, bytes([codes.history_log]), what="BP04 history log")
        tc.check(res.result == OK, f"BP04 for the history log posted {res.result} ({res.meaning}), not 0", stop=True)
    with tc.step(3):
        after = dut.log_header()
        new = new_entries(h, after)
        tc.check(after.nbr_unread_entries <= new, f"after BP04 BT74 shows {after.nbr_unread_entries} unread entries "
                 f"but only {new} were logged since the reset: older entries are still unread")
        tc.check(not after.overflow_flag, "after BP04 the BT74 overflow flag is still set")
    with tc.step(4):
        if not (plan.pics.get("PICS_LOAD_PROFILE") and dut.listed(bt(63))):
            tc.observe("no load profile declared: not probed")
            return
        st = lp_status(dut)
        res = dut.run(BP04_RESET_LIST_POINTERS, bytes([codes.load_profile]), what="BP04 load profile")
        tc.check(res.result == OK, f"BP04 for the load profile posted {res.result} ({res.meaning}), not 0")
        st2 = lp_status(dut)
        started = (st2.last_block_seq_nbr - st.last_block_seq_nbr) % (1 << 32)
        tc.check(st2.nbr_unread_blocks <= started, f"after BP04 BT63 shows {st2.nbr_unread_blocks} unread blocks, "
                 f"{started} started since (it had {st.nbr_unread_blocks})")
        tc.check(not st2.overflow_flag, "after BP04 the BT63 overflow flag is still set")


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
            tc.check(res.result == OK, f"BP05 posted {res.result} ({res.meaning}), not 0", stop=True)
            after = dut.log_header()
            want = h.nbr_unread_entries - 1 + new_entries(h, after)
            tc.check(after.nbr_unread_entries == want, f"BT74 unread went from {h.nbr_unread_entries} to "
                     f"{after.nbr_unread_entries} with {new_entries(h, after)} entries logged meanwhile: expected "
                     f"{want} after one entry read")
            tc.check(not after.overflow_flag, "after BP05 the BT74 overflow flag is set")
            h = after


@testcase(
    id="TC_PRC_BP05_BI_01",
    title="BP05 reporting more entries read than are unread never drives the count below zero",
    purpose="Ensure that, when the tester starts BP05 for the history log with 65535 entries read, the DUT either "
            "posts result 0 and leaves no older entry unread, or refuses it with result 2 and leaves the count as it "
            "was; the count never wraps",
    requirements=["REQ-PRC-020"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG",
    pixit=["bp05_list_codes"],
    steps=[("Read the BT74 header (at least one unread entry)", "0x00"),
           ("BP05 history log, 65535 entries read", "result 0 or 2"),
           ("Read the BT74 header", "result 0: unread <= entries logged since; result 2: unread unchanged; "
                                    "never above the valid entries")],
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
        tc.check(res.result in (OK, BAD_PARAM), f"BP05 posted {res.result} ({res.meaning}), neither 0 nor 2")
    with tc.step(3):
        after = dut.log_header()
        new = new_entries(h, after)
        tc.check(after.nbr_unread_entries <= after.nbr_valid_entries, f"BT74 shows {after.nbr_unread_entries} unread "
                 f"entries but only {after.nbr_valid_entries} valid ones: the count wrapped")
        if res.result == OK:
            tc.check(after.nbr_unread_entries <= new, f"BP05 for more entries than unread left "
                     f"{after.nbr_unread_entries} unread with only {new} logged since")
        elif res.result == BAD_PARAM:
            tc.check(after.nbr_unread_entries == h.nbr_unread_entries + new, f"BP05 was refused but the unread count "
                     f"went from {h.nbr_unread_entries} to {after.nbr_unread_entries} with {new} logged since")


@testcase(
    id="TC_PRC_BP07_BV_01",
    title="BP07 Clear Standard Status Flags is carried out and sets no flag",
    purpose="Ensure that, when the tester starts BP07, the DUT posts result 0 and afterwards no BT03 standard "
            "status flag is set that was clear before",
    requirements=["REQ-PRC-021"],
    pics="PICS_PROCEDURES",
    steps=[("Read BT03", "0x00"), ("Start BP07", "result 0"),
           ("Read BT03", "the standard flags set are a subset of those set before (flags still set: observed)")],
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
        tc.check(res.result == OK, f"BP07 posted {res.result} ({res.meaning}), not 0")
    with tc.step(3):
        after = {f for f in _STD_FLAGS if dut.read_decoded(bt(3))[f]}
        tc.check(after <= before, f"BP07 set standard status flags {sorted(after - before)}")
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
    with tc.step(2):
        res = start_demand_reset(dut)
        tc.check(res.result == OK, f"BP09 demand reset posted {res.result} ({res.meaning}), not 0")
    with tc.step(3):
        after = demand_resets(dut)
        tc.check(after == (before + 1) % 256, f"BT23 NBR_DEMAND_RESETS went from {before} to {after}, not "
                 f"{(before + 1) % 256}")


@testcase(
    id="TC_PRC_PARM_BI_01",
    title="BT07 parameters longer than MAX_PROC_PARM_LENGTH are refused",
    purpose="Ensure that, when the tester writes BT07 with BP04 and one parameter byte more than BT00 "
            "MAX_PROC_PARM_LENGTH, the DUT refuses it (non-zero response or result 2) and does not reset the "
            "history log pointers",
    requirements=["REQ-PRC-014"],
    pics="PICS_PROCEDURES and PICS_EVENT_LOG and PICS_MAX_PROC_PARM <= 200",
    pixit=["max_apdu", "bp05_list_codes"],
    steps=[("Read BT00 MAX_PROC_PARM_LENGTH and the BT74 header (at least one unread entry)", "0x00"),
           ("BP04 for the history log with MAX_PROC_PARM_LENGTH + 1 parameter bytes",
            "response code other than 0x00, or BT08 result 2"),
           ("Read the BT74 header", "the unread entries are still unread")],
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
        h = ensure_log_unread(dut, 1)
        tc.require(h.nbr_unread_entries > 0, "BT74 has no unread entry, so a reset could not be seen")
    with tc.step(2):
        params = bytes([dut.pixit.bp05_list_codes.history_log]) + bytes(limit)
        c = dut.call(BP04_RESET_LIST_POINTERS, params)
        tc.require(not c.accepted or c.echoed, f"BP04 with {len(params)} parameter bytes: {c.describe()}; BT08 does "
                   "not hold its result (REQ-PRC-003)")
        refused = c.write.code != ResponseCode.OK or c.result.result == BAD_PARAM
        tc.check(refused, f"BP04 with {len(params)} parameter bytes (limit {limit}): {c.describe()}")
    with tc.step(3):
        after = dut.log_header()
        tc.check(after.nbr_unread_entries > new_entries(h, after), "the over-long BP04 reset the history log "
                 f"pointers: {after.nbr_unread_entries} unread, {new_entries(h, after)} logged since")
