"""Metering use cases: read identity and nameplate, read billing registers, retrieve the load profile, read the
event log, demand reset. Each runs the scenario end to end as a head-end would and gets its own verdict: a DUT
that refuses or garbles what the scenario needs FAILs it (Dut(strict=True)); a capability the DUT's BT00 says it
lacks makes it inconclusive.
"""

from __future__ import annotations

from osgp.app import bt
from osgp.tables import schema
from osgpct.dut import BP05_UPDATE_LAST_READ, OK, Dut, describe_event, new_entries, stamp, utc_of
from osgpct.testcase import usecase
from osgpct.usecases.metering import (
    demand_resets,
    lp_status,
    mark_log_read,
    read_billing,
    read_identity,
    read_load_profile,
    start_demand_reset,
    unread_entries,
)


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
        tc.check(x <= 9 and yy <= 99, f"BT01 firmware {ident.firmware} is not a packed x.yy.zz (x <= 9, yy <= 99)")
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
           ("Read BT23 again 60 s later", "forward energy (total summation 0) not lower")],
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
                 f"{second.totals[0]}")
        tiers = [t.summations[0] for t in second.bt23.tier_data_block]
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
        tc.check(st.nbr_valid_blocks <= s.nbr_blks, f"BT63 {st.nbr_valid_blocks} valid blocks > {s.nbr_blks}")
        tc.check(st.nbr_valid_int <= s.nbr_blk_ints, f"BT63 {st.nbr_valid_int} valid intervals > {s.nbr_blk_ints}")
        tc.check(st.nbr_unread_blocks <= st.nbr_valid_blocks, f"BT63 {st.nbr_unread_blocks} unread blocks > "
                 f"{st.nbr_valid_blocks} valid")
    with tc.step(2):
        if lp.block is None:
            tc.observe("no block recorded yet")
        else:
            flagged = len(lp.block.simple_int_status)
            tc.check(flagged >= min(st.nbr_valid_int, 1), f"the newest block flags {flagged} intervals, BT63 says "
                     f"{st.nbr_valid_int} are valid")
            tc.observe(f"newest block ends {lp.block.end_time}, {flagged} intervals flagged")
    with tc.step(3):
        dut.wait(lp.interval_s + 5, "one load-profile interval to end")
        st2 = lp_status(dut)
        new_block = (st2.last_block_seq_nbr - st.last_block_seq_nbr) % (1 << 32)
        tc.check(new_block >= 1 or st2.nbr_valid_int > st.nbr_valid_int,
                 f"after {lp.interval_s + 5} s no interval was recorded: BT63 valid intervals {st.nbr_valid_int} -> "
                 f"{st2.nbr_valid_int}, block sequence {st.last_block_seq_nbr} -> {st2.last_block_seq_nbr}")
    with tc.step(4):
        n = st2.nbr_unread_blocks
        if not n:
            tc.observe("no unread block to mark read")
            return
        res = dut.run(BP05_UPDATE_LAST_READ, {"list": dut.pixit.bp05_list_codes.load_profile, "entries_read": n},
                      what="BP05 load profile")
        tc.check(res.result == OK, f"BP05 for the load profile posted {res.result} ({res.meaning})")
        st3 = lp_status(dut)
        started = (st3.last_block_seq_nbr - st2.last_block_seq_nbr) % (1 << 32)
        tc.check(st3.nbr_unread_blocks <= started, f"after BP05 for {n} blocks BT63 shows {st3.nbr_unread_blocks} "
                 "unread")


@usecase(
    id="UC_READ_EVENT_LOG",
    title="Read the event log",
    purpose="A head-end reads the history log: dimensions (BT71), the BT74 header and its unread entries, each with "
            "a valid UTC time and consecutive sequence numbers, then marks them read with BP05",
    requirements=["REQ-TBL-050", "REQ-TBL-051", "REQ-TBL-053", "REQ-PRC-019"],
    pics="PICS_EVENT_LOG",
    pixit=["bp05_list_codes"],
    steps=[("Read BT71", "0x00"),
           ("Read the BT74 header and the unread entries", "unread <= valid <= BT71 entries; each entry has a valid "
                                                           "time; sequence numbers consecutive"),
           ("BP05 for the history log with the entries read", "result 0; unread = entries logged since")],
)
def test_read_event_log(tc, session, plan):
    dut = Dut(tc, session, plan)
    dut.require_table(bt(74), "history log data")
    with tc.step(1):
        capacity = dut.dims("bt71").bt71.nbr_history_entries
    with tc.step(2):
        h, entries = unread_entries(dut)
        tc.check(h.nbr_unread_entries <= h.nbr_valid_entries <= capacity, f"BT74 unread {h.nbr_unread_entries}, "
                 f"valid {h.nbr_valid_entries}, BT71 entries {capacity}")
        for e in entries:
            t = e.get("time")
            if t is not None:
                tc.check(not t.is_zero and not t.problems(), f"entry {describe_event(e)} has no valid time: {t}")
        seqs = [e.seq_nbr for e in entries if e.get("seq_nbr") is not None]
        tc.check(all((b - a) % 65536 == 1 for a, b in zip(seqs, seqs[1:], strict=False)),
                 f"sequence numbers of the unread entries are not consecutive: {seqs}")
        if seqs:
            tc.check(seqs[-1] == h.last_entry_seq_nbr % 65536, f"the newest entry has sequence number {seqs[-1]}, "
                     f"BT74 LAST_ENTRY_SEQ_NBR is {h.last_entry_seq_nbr}")
        if entries:
            last = entries[-1].get("time")
            when = stamp(utc_of(last)) if last is not None and not last.problems() and not last.is_zero else "?"
            tc.observe(f"{len(entries)} unread entries, newest {describe_event(entries[-1])} at {when}")
    with tc.step(3):
        if not entries:
            tc.observe("no unread entry to mark read")
            return
        res = mark_log_read(dut, len(entries))
        tc.check(res.result == OK, f"BP05 for the history log posted {res.result} ({res.meaning})")
        after = dut.log_header()
        tc.check(after.nbr_unread_entries == min(new_entries(h, after), capacity), f"after BP05 for the "
                 f"{len(entries)} entries read BT74 shows {after.nbr_unread_entries} unread, "
                 f"{new_entries(h, after)} logged since")


@usecase(
    id="UC_DEMAND_RESET",
    title="Demand reset",
    purpose="A head-end resets the demands: BP09 with the demand-reset bit; BT23 NBR_DEMAND_RESETS is one more and "
            "the reset is logged (when the DUT keeps a log)",
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
    with tc.step(2):
        res = start_demand_reset(dut)
        tc.check(res.result == OK, f"BP09 posted {res.result} ({res.meaning})", stop=True)
    with tc.step(3):
        after = demand_resets(dut)
        tc.check(after == (before + 1) % 256, f"NBR_DEMAND_RESETS {before} -> {after}")
        if h is not None:
            new = dut.log_entries_since(h.last_entry_seq_nbr, check=False)
            tc.observe("logged: " + "; ".join(describe_event(e) for e in new))
        if dut.listed(bt(25)):
            tc.observe(f"BT25 (previous demand reset data) listed: {dut.read_decoded(bt(25)).get('end_date_time')}")
