"""Metering use cases: read identity and nameplate, read billing registers, retrieve the load profile, read the
event log, demand reset. Each runs the scenario end to end as a head-end would and gets its own verdict: every
check names the requirement it judges (the framework grades it); a step whose defect is judged by a dedicated test
case (the clock, partial reads, the BP05 parameter layout ASM-PRC-02) is a precondition (INCONC naming it); a
capability the DUT's BT00 says it lacks makes it inconclusive.
"""

from __future__ import annotations

from osgp.app import bt
from osgp.tables import schema
from osgp.tables.procedures import BP05_UPDATE_LAST_READ
from osgpct.dut import (
    OK,
    Dut,
    describe_event,
    moved_by,
    new_entries,
    stamp,
    utc_of,
)
from osgpct.testcase import usecase
from osgpct.usecases.metering import (
    demand_resets,
    logged_since,
    lp_status,
    mark_log_read,
    read_billing,
    read_identity,
    read_load_profile,
    start_demand_reset,
    unread_entries,
)

EV_PROCEDURE_INVOKED = 9  # C12.19 'procedure invoked' (the event argument is the procedure number)


def _dotted(v: tuple[int, int, int]) -> str:
    return f"{v[0]}.{v[1]:02d}.{v[2]:02d}"


@usecase(
    id="UC_READ_IDENTITY",
    title="Read identity and nameplate",
    purpose="A head-end identifies a meter: configuration (BT00), manufacturer, model, firmware and serial number "
            "(BT01), utility serial number (ET03); the DUT is the one the test plan describes",
    requirements=["REQ-APP-004", "REQ-TBL-007", "REQ-TBL-008"],
    steps=[("Read BT00", "0x00, decodes"),
           ("Read BT01", "0x00, decodes with BT00 ID_FORM; firmware x <= 9, yy <= 99"),
           ("Read ET03 and ET04.14 where BT00 lists them", "0x00, decode"),
           ("Compare with the plan's DUT (manufacturer, model, serial, firmware)", "the same device")],
)
def test_read_identity(tc, session, plan):
    dut = Dut(tc, session, plan)
    with tc.step(1):
        bt00 = dut.bt00()
        tc.observe(f"manufacturer {bt00.manufacturer!r}, {len(bt00.std_tbls_used)} basic and "
                   f"{len(bt00.mfg_tbls_used)} extended tables")
    with tc.step(2):
        ident = read_identity(dut)
        x, yy, _ = ident.firmware
        tc.check(x <= 9 and yy <= 99, f"BT01 firmware {ident.firmware} is not a packed x.yy.zz (x <= 9, yy <= 99)",
                 req="REQ-TBL-008")
        b = ident.bt01
        tc.observe(f"{b.manufacturer.strip()} {b.ed_model.strip()} firmware {_dotted(ident.firmware)} serial "
                   f"{ident.serial}")
    with tc.step(3):
        if ident.utility_serial is not None:
            tc.observe(f"utility serial {ident.utility_serial.rstrip(chr(0))!r}, image CRC {ident.image_crc:#06x}")
        if ident.program_id is not None:
            tc.observe(f"program id {ident.program_id.hex().upper()}, IDT version {ident.idt_version}")
    with tc.step(4):
        d = plan.dut
        found = {"manufacturer": b.manufacturer.strip(), "model": b.ed_model.strip(),
                 "serial": ident.serial, "firmware": _dotted(ident.firmware)}
        declared = {"manufacturer": d.manufacturer, "model": d.model, "serial": d.serial, "firmware": d.firmware}
        differ = [f"{k}: plan {declared[k]!r}, DUT {found[k]!r}" for k in found if declared[k] and
                  declared[k].strip() != found[k]]
        tc.require(not differ, "the DUT is not the device the plan describes: " + "; ".join(differ))


@usecase(
    id="UC_READ_BILLING",
    title="Read billing registers",
    purpose="A head-end reads the billing data: register dimensions (BT21), data selection (BT22) and current "
            "registers (BT23) decoded with those dimensions; forward energy never goes back between two readings",
    requirements=["REQ-TBL-022", "REQ-TBL-023", "REQ-TBL-024"],
    pixit=["test_timeout_s"],
    steps=[("Read BT21 and BT22", "0x00, decode (BT22 sized by BT21)"),
           ("Read BT23", "0x00, its length follows BT21"),
           ("Read BT23 again 60 s later", "forward energy (total summation 0) not lower; the tiers are noted (the "
                                          "guide says 'never reset' of the totals only, OPG:1107)")],
)
def test_read_billing(tc, session, plan):
    dut = Dut(tc, session, plan)
    with tc.step(1):
        dims = dut.dims("bt21")
        bt21 = dims.get("bt21")
        tc.observe(f"{bt21.nbr_summations} summations, {bt21.nbr_demands} demands, {bt21.nbr_tiers} tiers")
    with tc.step(2):
        first = read_billing(dut)
        size = schema(bt(23)).size(dims)
        tc.observe(f"BT23 ({size} bytes): totals {first.totals}")
    with tc.step(3):
        dut.wait(60, "registers to advance")
        second = read_billing(dut)
        tc.check(second.totals[0] >= first.totals[0], f"forward energy went back from {first.totals[0]} to "
                 f"{second.totals[0]}", req="REQ-TBL-024")
        # Per tier nothing is judged: "never reset in the field" is said of the total summations (OPG:1107), and
        # a tier register may be reset or re-based (e.g. by a new calendar); the tiers are noted only.
        tiers = [t.summations[0] for t in second.bt23.get("tier_data_block", ())]
        tc.observe(f"totals 60 s later: {second.totals}; forward energy per tier {tiers}")


@usecase(
    id="UC_LOAD_PROFILE",
    title="Retrieve a load profile range",
    purpose="A head-end retrieves the newest load-profile data: dimensions (BT61), status (BT63), the newest block "
            "of BT64 read at the offset those give; one more interval is recorded when an interval ends; the "
            "blocks read are then marked read (BP05)",
    requirements=["REQ-TBL-036", "REQ-TBL-039", "REQ-TBL-040", "REQ-TBL-042", "REQ-PRC-019"],
    pics="PICS_LOAD_PROFILE",
    pixit=["bp05_list_codes", "test_timeout_s"],
    steps=[("Read BT61 and BT63", "0x00; valid blocks <= BT61 blocks, valid intervals <= intervals per block, "
                                  "unread <= valid"),
           ("Read the newest block of BT64", "0x00; its simple status flags the valid intervals"),
           ("Wait one interval (BT61 MAX_INT_TIME) and 5 s, read BT63", "one more interval recorded (or a new "
                                                                          "block begun)"),
           ("BP05 for the load profile with the unread blocks", "result 0; BT63 unread lowered accordingly")],
)
def test_load_profile(tc, session, plan):
    dut = Dut(tc, session, plan)
    dut.require_table(bt(64), "load profile data set 1")
    with tc.step(1):
        lp = read_load_profile(dut)
        st, s = lp.status, lp.bt61.sets[0]
        tc.check(st.nbr_valid_blocks <= s.nbr_blks, f"BT63 {st.nbr_valid_blocks} valid blocks > {s.nbr_blks}",
                 req="REQ-TBL-039")
        tc.check(st.nbr_valid_int <= s.nbr_blk_ints, f"BT63 {st.nbr_valid_int} valid intervals > {s.nbr_blk_ints}",
                 req="REQ-TBL-039")
        tc.check(st.nbr_unread_blocks <= st.nbr_valid_blocks, f"BT63 {st.nbr_unread_blocks} unread blocks > "
                 f"{st.nbr_valid_blocks} valid", req="REQ-TBL-039")
    with tc.step(2):
        if lp.block is None:
            tc.observe("no block recorded yet")
        elif not lp.bt61.get("simple_int_status_flag", True):
            tc.observe("BT61 declares no simple interval status: the block's flags are not judged")
        else:
            flagged = len(lp.block.simple_int_status)
            tc.check(flagged >= min(st.nbr_valid_int, 1), f"the newest block flags {flagged} intervals, BT63 says "
                     f"{st.nbr_valid_int} are valid", req="REQ-TBL-042")
            tc.observe(f"newest block ends {lp.block.end_time}, {flagged} intervals flagged")
    with tc.step(3):
        c0 = dut.clock()
        dut.wait(lp.interval_s + 5, "one load-profile interval to end")
        c1 = dut.clock()
        ran, how = moved_by(c0, c1, 0)
        tc.require(ran, f"the DUT clock did not run with real time over the interval (drift {how}; REQ-MGT-001, "
                   "judged by TC_MGT_CLK_TI_01): interval ends cannot be judged")
        st2 = lp_status(dut)
        new_block = (st2.last_block_seq_nbr - st.last_block_seq_nbr) % (1 << 32)
        tc.check(new_block >= 1 or st2.nbr_valid_int > st.nbr_valid_int,
                 f"after {lp.interval_s + 5} s no interval was recorded: BT63 valid intervals {st.nbr_valid_int} -> "
                 f"{st2.nbr_valid_int}, block sequence {st.last_block_seq_nbr} -> {st2.last_block_seq_nbr}",
                 req="REQ-TBL-042")
    with tc.step(4):
        n = st2.nbr_unread_blocks
        if not n:
            tc.observe("no unread block to mark read")
            return
        res = dut.run(BP05_UPDATE_LAST_READ, {"list": dut.pixit.bp05_list_codes.load_profile, "entries_read": n},
                      what="BP05 load profile")
        _bp05_layout_taken(tc, res, "the load profile")
        tc.check(res.result == OK, f"BP05 for the load profile posted {res.result} ({res.meaning})",
                 req="REQ-PRC-019", stop=True)
        st3 = lp_status(dut)
        started = (st3.last_block_seq_nbr - st2.last_block_seq_nbr) % (1 << 32)
        tc.check(st3.nbr_unread_blocks <= started, f"after BP05 for {n} blocks BT63 shows {st3.nbr_unread_blocks} "
                 "unread", req="REQ-PRC-019")


def _bp05_layout_taken(tc, res, what: str) -> None:
    """BP05's parameters (LIST, ENTRIES_READ) are C12.19's, not in the guides (ASM-PRC-02, pixit.bp05_list_codes):
    a result 2 (invalid parameter) says the DUT takes another layout or list code, not that BP05 fails."""
    tc.require(res.result != 2, f"BP05 for {what} posted 2 (invalid parameter): the DUT does not take the BP05 "
               "parameters as the suite encodes them (ASM-PRC-02; declare pixit.bp05_list_codes)")


@usecase(
    id="UC_READ_EVENT_LOG",
    title="Read the event log",
    purpose="A head-end reads the history log: dimensions (BT71), the BT74 header and its unread entries, each with "
            "a valid UTC time and increasing sequence numbers (gaps allowed: the numbering is shared with ET79, "
            "OPG:2600-2604), the newest numbered as the header says, then marks them read with BP05",
    requirements=["REQ-TBL-050", "REQ-TBL-051", "REQ-TBL-053", "REQ-PRC-019"],
    pics="PICS_EVENT_LOG",
    pixit=["bp05_list_codes"],
    steps=[("Read BT71", "0x00"),
           ("Read the BT74 header and the unread entries", "unread <= valid <= BT71 entries; each entry has a valid "
                                                           "time; sequence numbers increase (gaps allowed), the "
                                                           "newest = LAST_ENTRY_SEQ_NBR"),
           ("BP05 for the history log with the entries read", "result 0; unread <= the numbers used since")],
)
def test_read_event_log(tc, session, plan):
    dut = Dut(tc, session, plan)
    dut.require_table(bt(74), "history log data")
    with tc.step(1):
        capacity = dut.dims("bt71").bt71.nbr_history_entries
    with tc.step(2):
        if dut.partial_read:
            dut.offsets_honoured(bt(74), 11)
        h, entries = unread_entries(dut)
        tc.check(h.nbr_unread_entries <= h.nbr_valid_entries <= capacity, f"BT74 unread {h.nbr_unread_entries}, "
                 f"valid {h.nbr_valid_entries}, BT71 entries {capacity}", req="REQ-TBL-050")
        for e in entries:
            t = e.get("time")
            if t is not None:
                tc.check(not t.is_zero and not t.problems(), f"entry {describe_event(e)} has no valid time: {t}",
                         req="REQ-TBL-051")
        seqs = [e.seq_nbr for e in entries if e.get("seq_nbr") is not None]
        # "there may be gaps in the sequence numbers assigned to entries in one log" (OPG:2602-2604): the numbers
        # only increase with age order, modulo 2^16, by less than 2^16 in all
        steps = [(b - a) % 65536 for a, b in zip(seqs, seqs[1:], strict=False)]
        tc.check(all(steps) and sum(steps) < 65536, f"sequence numbers of the unread entries (oldest first) do not "
                 f"increase: {seqs}", req="REQ-TBL-051")
        if seqs:
            tc.check(seqs[-1] == h.last_entry_seq_nbr % 65536, f"the newest entry has sequence number {seqs[-1]}, "
                     f"BT74 LAST_ENTRY_SEQ_NBR is {h.last_entry_seq_nbr}", req="REQ-TBL-053")
        if entries:
            last = entries[-1].get("time")
            when = stamp(utc_of(last)) if last is not None and not last.problems() and not last.is_zero else "?"
            tc.observe(f"{len(entries)} unread entries, newest {describe_event(entries[-1])} at {when}")
    with tc.step(3):
        if not entries:
            tc.observe("no unread entry to mark read")
            return
        res = mark_log_read(dut, len(entries))
        _bp05_layout_taken(tc, res, "the history log")
        tc.check(res.result == OK, f"BP05 for the history log posted {res.result} ({res.meaning})",
                 req="REQ-PRC-019", stop=True)
        after = dut.log_header()
        # A DUT that logs procedure calls (C12.19 event 9 among the entries just read) logs this BP05 too: a header
        # that does not move at all then is not the live log (e.g. an image forced by an earlier write of read-only
        # BT74, REQ-TBL-011), and BP05 cannot be judged through it
        logs_calls = any(e.event_code == EV_PROCEDURE_INVOKED for e in entries)
        tc.require(not (logs_calls and new_entries(h, after) == 0 and after.nbr_unread_entries ==
                        h.nbr_unread_entries), "the DUT logs procedure calls (event 9 in BT74), yet BT74's header did "
                   "not change at all after BP05: BT74 does not show the live log (REQ-TBL-011, BT74 read-only, is "
                   "judged by TC_TBL_RO_BI_01)")
        # BP05 lowers the unread count by the entries read (REQ-PRC-019); entries logged since (BP05 itself may
        # be one) add to it, at most one per sequence number used (fewer when ET79 takes numbers)
        since = new_entries(h, after)
        bound = min(h.nbr_unread_entries - len(entries) + since, capacity)
        tc.check(after.nbr_unread_entries <= bound, f"after BP05 for the {len(entries)} entries read BT74 shows "
                 f"{after.nbr_unread_entries} unread: {h.nbr_unread_entries} were unread and {since} numbers were "
                 "used since", req="REQ-PRC-019")


@usecase(
    id="UC_DEMAND_RESET",
    title="Demand reset",
    purpose="A head-end resets the demands: BP09 with the demand-reset bit; BT23 NBR_DEMAND_RESETS is one more "
            "(a DUT with a demand-reset lockout, BT21.0.3, may refuse a reset that follows another); the log's new "
            "entries are noted",
    requirements=["REQ-PRC-024", "REQ-TBL-027"],
    pics="PICS_PROCEDURES",
    steps=[("Read BT23 NBR_DEMAND_RESETS (and the BT74 header)", "0x00"),
           ("BP09 with bit 0 set", "result 0"),
           ("Read BT23 NBR_DEMAND_RESETS", "one more, modulo 256; the log's new entries are noted")],
)
def test_demand_reset(tc, session, plan):
    dut = Dut(tc, session, plan)
    log = plan.pics.get("PICS_EVENT_LOG") and dut.listed(bt(74))
    with tc.step(1):
        before = demand_resets(dut)
        h = dut.log_header() if log else None
    # "Meter supports a configurable lockout period for sequential demand resets" (OPG:852-853): with the flag set,
    # a refused or ineffective reset may be the lockout (another case may have reset the demands just before)
    lockout = bool(dut.dims("bt21").get("bt21").get("demand_reset_lock_flag"))
    with tc.step(2):
        res = start_demand_reset(dut)
        tc.require(res.result == OK or not lockout, f"BP09 posted {res.result} ({res.meaning}) and BT21 declares a "
                   "demand-reset lockout (BT21.0.3, OPG:852): the reset may be locked out")
        tc.check(res.result == OK, f"BP09 posted {res.result} ({res.meaning})", req="REQ-PRC-024", stop=True)
    with tc.step(3):
        after = demand_resets(dut)
        tc.require(after != before or not lockout, f"NBR_DEMAND_RESETS {before} -> {after} and BT21 declares a "
                   "demand-reset lockout (BT21.0.3, OPG:852): the reset may be locked out")
        tc.check(after == (before + 1) % 256, f"NBR_DEMAND_RESETS {before} -> {after}", req="REQ-TBL-027")
        if h is not None:
            new = logged_since(dut, h)
            tc.observe("logged: " + "; ".join(describe_event(e) for e in new))
        if dut.listed(bt(25)):
            tc.observe(f"BT25 (previous demand reset data) listed: {dut.read_decoded(bt(25)).get('end_date_time')}")
