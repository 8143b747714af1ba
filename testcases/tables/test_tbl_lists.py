"""Register snapshots and list overflows: demand reset counter, history-log and load-profile overflow flags
(TS 104 001 Clauses 7-8).

These cases change DUT state that cannot be put back (a demand reset is counted; log entries and load-profile
blocks are written; unread counters are lowered by BP05 to clear the overflow they provoke). They clear every
overflow flag they set. BP04/BP05/BP09 are used as the mechanism the requirements name (their own behaviour is
judged by the PRC test cases); the LIST codes come from pixit.bp05_list_codes (ASM-PRC-02).

Sources (osgpct/requirements.yaml): OPG p.20-25, p.34, p.51 (tbl §8.8, §8.10, §9.1-9.3, §11.4-11.5).
"""

from __future__ import annotations

import datetime as dt

from osgp.app import bt, table_name
from osgp.tables import BT03_MFG_STATUS, LTimeDate, Record, procedure, split_extended_status
from osgpct.dut import Dut
from osgpct.testcase import testcase

_MFG_ITEM = {name: n for n, name in BT03_MFG_STATUS.items()}
MAX_EVENTS = 600  # events this suite will generate to wrap a history log


def run_ok(dut: Dut, number: int, params: bytes, what: str) -> None:
    """Run a procedure the case needs as a mechanism; INCONC unless it completes (result 0)."""
    tc = dut.tc
    tc.require(number in dut.bt00().std_proc_used, f"BT00 does not list BP{number:02d} ({what})")
    out = dut.call(number, params)
    tc.require(out.accepted and out.echoed and out.result.result == 0,
               f"BP{number:02d} ({what}) did not complete: BT07 write {out.write.describe()}, BT08 {out.result}")


def clear_list(dut: Dut, code: int, unread: int, what: str) -> None:
    """Clear a list's overflow: BP05 with the unread count (BP04 when BP05 is not listed)."""
    if 5 in dut.bt00().std_proc_used:
        run_ok(dut, 5, procedure(5).encode_params(Record(list=code, entries_read=unread)), f"update last read, {what}")
    else:
        run_ok(dut, 4, procedure(4).encode_params(Record(list=code)), f"reset list pointers, {what}")


@testcase(
    id="TC_TBL_REG_BV_02",
    title="A demand reset increments BT23 NBR_DEMAND_RESETS and snapshots the registers in BT25",
    purpose="Ensure that, when the tester runs a demand reset (BP09 bit 0), the DUT increments BT23 "
            "NBR_DEMAND_RESETS by one modulo 256 and, when it has BT25, copies the register data into it",
    requirements=["REQ-TBL-027"],
    pics="PICS_PROCEDURES",
    initial="BT21 DEMAND_RESET_CTR_FLAG set; BT00 lists BT23 and BP09. Causes one demand reset.",
    steps=[("Read BT23.NBR_DEMAND_RESETS and the forward energy", "0x00"),
           ("Run BP09 with the demand-reset bit", "result 0"),
           ("Read BT23.NBR_DEMAND_RESETS", "one more, modulo 256"),
           ("When BT00 lists BT25: read its counter and forward energy", "the new count; energy between the BT23 "
            "readings before and after")],
)
def test_demand_reset_counter(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.20-25 (tbl §9.1, §11.4 MF-03); BT25 content rests on
    ASM-TBL-06. The requirement is conditional on PICS_DEMAND, which the PICS catalogue lacks: BT21.0 bit 2 and
    BT00's BP09 are checked instead."""
    dut = Dut(tc, session, plan)
    energy = "tot_data_block.summations[0]"
    with tc.step(1):
        tc.require(dut.listed(bt(23)) and dut.dims().bt21.demand_reset_ctr_flag,
                   "BT23 does not count demand resets (BT21 DEMAND_RESET_CTR_FLAG clear)")
        n0 = dut.read_field(bt(23), "nbr_demand_resets")
        e0 = dut.read_field(bt(23), energy) if dut.dims().bt21.nbr_summations else None
    with tc.step(2):
        run_ok(dut, 9, procedure(9).encode_params(Record(demand_reset=True, self_read=False, season_change=False,
                                                          new_season=0)), "demand reset")
    with tc.step(3):
        n1 = dut.read_field(bt(23), "nbr_demand_resets")
        tc.check(n1 == (n0 + 1) % 256, f"BT23 NBR_DEMAND_RESETS went from {n0} to {n1} over one demand reset "
                 "(REQ-TBL-027)")
    with tc.step(4):
        if not dut.listed(bt(25)):
            tc.observe("BT00 does not list BT25: the register snapshot is not exercised")
            return
        e1 = dut.read_field(bt(23), energy) if e0 is not None else None
        c25 = dut.read_field(bt(25), "nbr_demand_resets")
        tc.check(c25 == n1, f"BT25 holds demand-reset count {c25}, BT23 {n1} after the reset (REQ-TBL-027, rests on "
                 "ASM-TBL-06)")
        if e0 is not None:
            s25 = dut.read_field(bt(25), energy)
            tc.check(e0 <= s25 <= e1, f"BT25 forward energy {s25} is not the BT23 value at the reset (between {e0} "
                     f"and {e1}) (REQ-TBL-027, rests on ASM-TBL-06)")


@testcase(
    id="TC_TBL_LOG_BV_03",
    title="History log overflow: set when unread entries are overwritten, kept until BP05/BP04",
    purpose="Ensure that, when more events are logged than BT74 holds unread entries, the DUT sets the BT74 overflow "
            "flag exactly when an unread entry is overwritten, keeps it set, and clears it on BP05 (BP04)",
    requirements=["REQ-TBL-054"],
    pics="PICS_EVENT_LOG and PICS_PROCEDURES",
    pixit=["bp05_list_codes"],
    initial="BT00 lists BT74 and a scratch table (ET03/BT05) as written; BT71 does not inhibit overflow. Writes the "
            "scratch table BT71.5 − NBR_UNREAD_ENTRIES + 1 times (the fewest that log an entry over an unread one; "
            "MEP-DG:2284-2286 limits direct table writes to about 4 an hour before firmware 3.40, so on such a meter "
            "run it rarely); the overflow flag is cleared at the end (unread entries are marked read).",
    steps=[("Read BT71 and the BT74 header; clear a pending overflow first", "flag clear"),
           ("Rewrite the scratch table with its own content until an event is logged over an unread entry, reading "
            "the BT74 header each time", "flag clear while unread < entries; set once an unread entry is overwritten"),
           ("Read the BT74 header again (no further write)", "flag still set"),
           ("Run BP05 (BP04) for the history log", "flag clear")],
)
def test_history_log_overflow(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.51 (tbl §8.10, §9.3)."""
    dut = Dut(tc, session, plan)
    code = plan.pixit.bp05_list_codes.history_log
    header = ("overflow_flag", "nbr_unread_entries", "last_entry_seq_nbr")

    def head() -> tuple:
        return tuple(dut.read_field(bt(74), f) for f in header)

    with tc.step(1):
        tc.require(dut.listed(bt(74)), "BT00 does not list BT74")
        bt71 = dut.dims().bt71
        cap = bt71.nbr_history_entries
        tc.require(not bt71.hist_inhibit_ovf_flag, "BT71 inhibits history-log overflow: the log stops instead")
        tc.require(0 < cap <= MAX_EVENTS, f"BT74 holds {cap} entries: more events than this case generates")
        tid = dut.scratch()[0][0]
        r = dut.read(tid)
        tc.require(r.ok, f"{table_name(tid)} read answered {r.describe()}")
        image = r.data
        ovf, unread, seq = head()
        if ovf:
            clear_list(dut, code, unread, "history log")
            ovf, unread, seq = head()
            tc.require(not ovf, "the BT74 overflow flag set before the case could not be cleared")
    with tc.step(2):
        # Each rewrite logs at least one event; the flag must rise once an entry goes over an unread one, i.e.
        # after at most cap − unread + 1 events. No write beyond that is made (NVM wear, MEP-DG:2284-2286).
        needed = cap - unread + 1
        tc.observe(f"{unread} of {cap} entries unread: at most {needed} rewrites of {table_name(tid)} are needed")
        writes = 0
        for _ in range(needed):
            w = dut.write(tid, image)
            writes += 1
            tc.require(w.ok, f"rewrite of {table_name(tid)} answered {w.describe()}")
            ovf1, unread1, seq1 = head()
            d = (seq1 - seq) % 2**32
            tc.require(d >= 1, "a table write is not logged: no way to fill the log")
            # d sequence numbers were taken, by 1..d BT74 entries (numbers shared with ET79 leave gaps, OPG:2600-2604):
            # an unread entry was surely overwritten when unread + 1 > cap, surely not when unread + d <= cap.
            must_set, must_clear = unread + 1 > cap, unread + d <= cap
            ok = ovf1 if must_set else (not ovf1 or ovf) if must_clear else True
            tc.check(ok, f"BT74 overflow flag {'set' if ovf1 else 'clear'} after {d} sequence number(s) taken with "
                     f"{unread} of {cap} entries unread (REQ-TBL-054)", stop=True)
            ovf, unread, seq = ovf1, unread1, seq1
            if ovf:
                break
        tc.observe(f"{writes} rewrites made")
        tc.check(ovf, f"{writes} writes logged events over a {cap}-entry log with {cap - needed + 1} entries unread, "
                 "without the overflow flag (REQ-TBL-054)", stop=True)
    with tc.step(3):
        ovf, unread, _ = head()
        tc.check(ovf, "the BT74 overflow flag cleared by itself (REQ-TBL-054: until BP04 or BP05)")
    with tc.step(4):
        clear_list(dut, code, unread, "history log")
        ovf, _, _ = head()
        tc.check(not ovf, "the BT74 overflow flag is still set after BP05/BP04 (REQ-TBL-054)")


@testcase(
    id="TC_TBL_LP_TI_02",
    title="Load-profile overflow: set when a new block exceeds the unread capacity, alarm in BT03, kept until BP05",
    purpose="Ensure that, when load-profile blocks keep closing without being read, the DUT sets the BT63 overflow "
            "flag and the BT03 LP-overflow alarm once a new block would exceed the unread capacity, goes on recording, "
            "keeps the flag until BP05 (BP04) clears it",
    requirements=["REQ-TBL-047", "REQ-TBL-048"],
    pics="PICS_LOAD_PROFILE and PICS_PROCEDURES",
    pixit=["bp05_list_codes", "test_timeout_s"],
    initial="BT61 set 1 active; BT63 not inhibiting overflow. Needs BT61 blocks + 2 blocks of DUT time (days on a real "
            "meter: INCONC unless pixit.test_timeout_s allows it). Clears the overflow at the end.",
    steps=[("Read BT61 and BT63 set 1; clear a pending overflow first", "flag clear"),
           ("Let DUT time pass in steps of a quarter block, reading BT63 and BT03 each time",
            "flag clear while new blocks fit the unread capacity; set (with BT03 LP overflow) once one does not; "
            "blocks keep closing"),
           ("Let one more quarter block pass", "flag still set"),
           ("Run BP05 (BP04) for the load profile", "flag and BT03 alarm clear")],
)
def test_lp_overflow_dut_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.34 (tbl §8.8, §9.2, §11.5 LP-04, LP-05)."""
    dut = Dut(tc, session, plan)
    code = plan.pixit.bp05_list_codes.load_profile
    alarm = _MFG_ITEM["lp_overflow"]

    def status() -> Record:
        return dut.read_field(bt(63), "sets[0]")

    def bt03_alarm() -> bool | None:
        if not dut.listed(bt(3)) or dut.bt00().dim_mfg_status_used * 8 <= alarm:
            return None
        return alarm in dut.read_field(bt(3), "ed_mfg_status")

    with tc.step(1):
        tc.require(dut.listed(bt(61)) and dut.listed(bt(63)), "BT00 does not list BT61 and BT63")
        dut.require_clock_runs()  # blocks fill by the clock: TC_MGT_CLK_TI_01 judges a clock that stands still
        s61 = dut.dims().bt61.sets[0]
        tc.require(not dut.dims().bt61.lp_set1_inhibit_ovf_flag, "BT61 inhibits overflow of data set 1")
        block_s = 60 * s61.max_int_time * s61.nbr_blk_ints
        tc.require(block_s > 0 and s61.nbr_blks > 0, "BT61 set 1 has no blocks")
        st = status()
        tc.require(st.active_mode_flag, "BT63 data set 1 is not active")
        if st.overflow_flag:
            clear_list(dut, code, st.nbr_unread_blocks, "load profile")
            st = status()
            tc.require(not st.overflow_flag, "the BT63 overflow flag set before the case could not be cleared")
    step = block_s / 4
    with tc.step(2):
        for _ in range(4 * (s61.nbr_blks + 3)):
            dut.wait(step, "load-profile intervals close")
            st1 = status()
            new_blocks = (st1.last_block_seq_nbr - st.last_block_seq_nbr) % 2**32
            if new_blocks:
                tc.require(new_blocks == 1, f"{new_blocks} blocks closed within a quarter block")
                full = st.nbr_unread_blocks >= s61.nbr_blks
                tc.check(st1.overflow_flag == full or (st.overflow_flag and st1.overflow_flag),
                         f"BT63 overflow flag {'set' if st1.overflow_flag else 'clear'} after a new block with "
                         f"{st.nbr_unread_blocks} of {s61.nbr_blks} blocks unread (REQ-TBL-047)", stop=True,
                         req="REQ-TBL-047")
            st = st1
            if st.overflow_flag:
                break
        tc.check(st.overflow_flag, f"{s61.nbr_blks + 3} blocks closed unread without the BT63 overflow flag "
                 "(REQ-TBL-047)", stop=True, req="REQ-TBL-047")
        a = bt03_alarm()
        tc.check(a is None or a, "BT63 flags overflow but the BT03 'LP overflow' alarm is clear (REQ-TBL-047)",
                 req="REQ-TBL-047")
    with tc.step(3):
        dut.wait(step, "recording goes on after the overflow")
        st1 = status()
        tc.check(st1.overflow_flag, "the BT63 overflow flag cleared by itself (REQ-TBL-048)", req="REQ-TBL-048")
        moved = (st1.last_block_seq_nbr, st1.nbr_valid_int) != (st.last_block_seq_nbr, st.nbr_valid_int)
        tc.check(moved, "no interval recorded after the overflow: recording stopped (REQ-TBL-047)", req="REQ-TBL-047")
    with tc.step(4):
        clear_list(dut, code, st1.nbr_unread_blocks, "load profile")
        st2 = status()
        tc.check(not st2.overflow_flag, "the BT63 overflow flag is still set after BP05/BP04 (REQ-TBL-048)",
                 req="REQ-TBL-048")
        a = bt03_alarm()
        if a:
            tc.observe("the BT03 'LP overflow' alarm is still set after BP05/BP04 (latched alarm?)")


def _bp10(dut: Dut, utc: int) -> None:
    """Set the DUT clock to `utc` by BP10 (layout ASM-PRC-03; UTC like BT52); INCONC unless result 0."""
    t = dt.datetime.fromtimestamp(utc, dt.UTC)
    params = procedure(10).encode_params(Record(
        set_time=True, set_date=True, set_time_date_qual=False, date_time=LTimeDate.from_datetime(t),
        day_of_week=(t.weekday() + 1) % 7, dst_flag=False, gmt_flag=True, tm_zn_applied_flag=False,
        dst_applied_flag=False, dst_supported_flag=False))
    run_ok(dut, 10, params, "set date and time")


def _utc(dut: Dut) -> int:
    """The BT52 clock in UTC seconds (INCONC when BT52 holds no valid date: TC_TBL_CLK_BV_01 judges BT52)."""
    return dut.clock().utc


@testcase(
    id="TC_TBL_LP_TI_03",
    title="A clock step inside an interval flags that load-profile interval",
    purpose="Ensure that, when the DUT's clock is set 60 s forward in the middle of a load-profile interval, the DUT "
            "records that interval with the common 'clock set forward' flag and channel status 2 (partial) or 3 (long)",
    pixit=["test_timeout_s"],
    requirements=["REQ-TBL-045"],
    pics="PICS_LOAD_PROFILE and PICS_SET_TIME",
    initial="BT61 set 1 active; BT00 lists BP10, BT52, BT63, BT64. The clock is set back by 60 s at the end (that "
            "backward step is itself flagged in a later interval).",
    steps=[("Read BT61 and BT52; wait for the middle of an interval if the end is near", "more than 3 min to go"),
           ("Set the clock 60 s forward by BP10", "result 0"),
           ("Wait until 30 s after that interval's end; read BT63 and the newest interval's extended status",
            "common nibble bit 2 (clock forward) set; each channel status 2 or 3"),
           ("Set the clock 60 s back by BP10", "result 0")],
)
def test_lp_clock_step_dut_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); OPG p.36-37 (tbl §8.8, §11.5 LP-03) [READ]; bit position of
    the common flags [INFERRED]; BP10 layout ASM-PRC-03."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        tc.require(all(dut.listed(t) for t in (bt(52), bt(61), bt(63), bt(64))), "BT00 does not list BT52, BT61, "
                   "BT63 and BT64")
        s61 = dut.dims().bt61.sets[0]
        tc.require(dut.dims().bt61.extended_int_status_flag, "BT61 declares no extended interval status")
        step_s = 60 * s61.max_int_time
        tc.require(step_s >= 300, f"intervals of {s61.max_int_time} min are too short for a step in the middle")
        now = _utc(dut)
        left = step_s - now % step_s
        if left < 180:
            dut.wait(left + 60, "into the next interval, away from its end")
            now = _utc(dut)
    stepped = False
    try:
        with tc.step(2):
            reading = dut.clock()
            before = reading.utc
            stepped = True  # from here on the clock may be off: put it back at the end
            _bp10(dut, before + 60)
            now = _utc(dut)
            tc.require(now >= before + 50, f"BP10 completed but the BT52 clock moved from {before} to {now} UTC s, "
                       "not 60 s forward: no clock step to observe (the PRC/MGT test cases judge BP10)")
            end = (now // step_s + 1) * step_s
        with tc.step(3):
            dut.wait(end - now + 30, "past the end of the stepped interval")
            st = dut.read_field(bt(63), "sets[0]")
            k = st.nbr_valid_int - 1
            tc.require(0 <= k < s61.nbr_blk_ints, f"BT63 valid intervals {st.nbr_valid_int}: no interval to look at")
            raw = dut.read_field(bt(64), f"blocks[{st.last_block_element}].intervals[{k}].extended_int_status")
            common, codes = split_extended_status(raw, s61.nbr_chns)
            tc.observe(f"interval {k} of block {st.last_block_element}: common flags 0x{common:X}, channel status "
                       f"{codes}")
            tc.check(common & 0x4, f"the interval holding a 60 s forward clock step has common flags 0x{common:X}: "
                     "'clock set forward' (bit 2) is clear (REQ-TBL-045, inferred bit position)")
            tc.check(all(c in (2, 3) for c in codes), f"the stepped interval's channel status is {codes}; 2 (partial) "
                     "or 3 (long) expected (REQ-TBL-045)")
    finally:
        if stepped:
            with tc.step(4):  # back to the true time, under either reading of BP10 (UTC or local, REQ-MGT-003)
                dut.restore_clock(reading)
