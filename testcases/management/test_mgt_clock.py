"""Time management: BT52 runs in real time, follows a set-time, BT55 is BT52 plus the BT53 offset, a BT53 change
moves BT55 only, and a set-time is logged in BT74 (TS 104 001 Clauses 7-8).

Clock moves are measured against the tester clock (osgpct.dut.moved_by, tolerance CLOCK_TOLERANCE_S).
Cases that set the clock or BT53 put them back, also when they stop early.
"""

from __future__ import annotations

from osgp.app import bt
from osgp.tables import Record
from osgp.tables.procedures import BP10_SET_DATE_TIME
from osgpct.dut import (
    CLOCK_TOLERANCE_S,
    EV_TIME_CHANGED_NEW,
    EV_TIME_CHANGED_OLD,
    OK,
    Dut,
    describe_event,
    moved_by,
    stamp,
    utc_of,
)
from osgpct.testcase import testcase
from osgpct.usecases.control import set_to_either

RUN_S = 30  # seconds between two BT52 reads
MFG_EVENT_BIT = 0x800  # C12.19 HISTORY_CODE: bit 11 set = manufacturer event (tbl §8.10 [INF/C1219-A])


@testcase(
    id="TC_MGT_CLK_TI_01",
    title="BT52 advances at the real-time rate",
    purpose=f"Ensure that, when the tester reads BT52 twice {RUN_S} s apart, the DUT clock has advanced by "
            f"{RUN_S} s within the clock tolerance",
    requirements=["REQ-MGT-001"],
    pics="PICS_CLOCK",
    steps=[("Read BT52", "0x00, a valid date and time"),
           (f"Wait {RUN_S} s, read BT52", f"the clock advanced by {RUN_S} s (tolerance: exchange spans, 1 s "
                                         f"resolution, {CLOCK_TOLERANCE_S:g} s)")],
)
def test_clock_runs(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.222 BT52 updated every second (tbl §8.7) [READ]."""
    dut = Dut(tc, session, plan)
    with tc.step(1):
        a = dut.clock()
    with tc.step(2):
        dut.wait(RUN_S, "the DUT clock to run")
        b = dut.clock()
        ok, how = moved_by(a, b, 0)
        tc.check(ok, f"over {b.end - a.start:.1f} s of tester time BT52 went from {stamp(a.utc)} to {stamp(b.utc)}: "
                 f"it drifted by {how} against real time", req="REQ-MGT-001")


@testcase(
    id="TC_MGT_CLK_BV_01",
    title="After a set-time BT52 reads the time set plus the time elapsed, and keeps running",
    purpose="Ensure that, when the tester sets the clock 60 s ahead by BP10, the DUT's BT52 reads the time set plus "
            f"the time elapsed since (BP10 taken as UTC, or as local time: BT52 then lags it by the local offset), "
            f"and {RUN_S} s later has advanced by {RUN_S} s",
    requirements=["REQ-MGT-003"],
    pics="PICS_SET_TIME",
    initial="BT52 runs with real time (checked first; TC_MGT_CLK_TI_01 judges it)",
    steps=[("Check that BT52 runs; read BT52 and the local offset (BT55 - BT52)", "0x00; a running clock"),
           ("BP10 to the DUT time + 60 s", "result 0"),
           ("Read BT52", "60 s ahead of where it was (UTC reading) or 60 s minus the local offset (local reading)"),
           (f"Wait {RUN_S} s, read BT52", f"advanced by {RUN_S} s from there"),
           ("Put the clock back (BP10)", "result 0")],
)
def test_set_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.52, p.222 (tbl §9.8, §11.3 PR-09) [READ]; BP10
    layout ASM-PRC-03."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP10_SET_DATE_TIME)
    with tc.step(1):
        dut.require_clock_runs()  # a clock that does not run is REQ-MGT-001 (TC_MGT_CLK_TI_01), not a set-time
        c0 = dut.clock()
        offset = dut.local_offset()
    try:
        with tc.step(2):
            call = dut.set_clock(c0.utc + 60, what="BP10 to +60 s")
        with tc.step(3):
            c1 = dut.clock()
            # REQ-MGT-003 is ambiguous: no source gives BP10's time base (ASM-PRC-03); both readings are accepted
            ok, how = set_to_either(dut, c1, c0.utc + 60, call, offset)
            tc.check(ok, f"BP10 set the clock to {stamp(c0.utc + 60)}: {how}", req="REQ-MGT-003")
        with tc.step(4):
            dut.wait(RUN_S, "the DUT clock to run after the set")
            ok, how = moved_by(c1, dut.clock(), 0)
            tc.check(ok, f"after the set BT52 drifted by {how} over {RUN_S} s: it does not keep running",
                     req="REQ-MGT-003")
    finally:
        with tc.step(5):
            dut.restore_clock(c0)


def _local_minus_utc(tc, dut: Dut) -> tuple[float, float, int, bool]:
    """(bounds of BT55 - BT52 in seconds, ..., BT53 offset in minutes, DST in effect)."""
    a = dut.clock()
    bt55 = dut.read_decoded(bt(55))
    b = dut.clock()
    try:
        local = utc_of(bt55.clock_calendar)
    except ValueError as e:
        tc.inconc(f"BT55 holds no valid date and time ({bt55.clock_calendar}): {e}")
    # local was sampled between a and b: its distance to UTC lies in [local - b.utc - 1, local - a.utc + 1]
    return local - b.utc - 1, local - a.utc + 1, dut.read_decoded(bt(53)).time_zone_offset, bool(bt55.dst_flag)


@testcase(
    id="TC_MGT_CLK_BV_02",
    title="BT55 local time is BT52 plus the BT53 time-zone offset (and DST when in effect)",
    purpose="Ensure that, when the tester reads BT52, BT55 and BT53, the DUT's local time in BT55 equals its UTC "
            "time in BT52 plus the BT53 time-zone offset, plus the DST amount while BT55 flags DST, within a minute",
    requirements=["REQ-MGT-002"],
    pics="PICS_CLOCK",
    steps=[("Read BT52, BT55, BT52 again, and BT53", "0x00 each"),
           ("Compare", "BT55 - BT52 = offset (+ DST amount) within 60 s")],
)
def test_local_time(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.222-229 (tbl §8.7, §11.4 MF-08) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_table(bt(53), "time offset")
    dut.require_table(bt(55), "clock state")
    with tc.step(1):
        lo, hi, offset, dst = _local_minus_utc(tc, dut)
        amount = dut.read_decoded(bt(53)).dst_time_amt if dst else 0
    with tc.step(2):
        want = (offset + amount) * 60
        tc.check(lo - 60 <= want <= hi + 60, f"BT55 - BT52 is {lo:+.0f}..{hi:+.0f} s but BT53 says {offset:+d} min"
                 f"{f' + DST {amount} min' if dst else ''} = {want:+d} s", req="REQ-MGT-002")


@testcase(
    id="TC_MGT_CLK_BV_03",
    title="A BT53 time-zone change moves BT55 and leaves BT52 alone",
    purpose="Ensure that, when the tester writes BT53 with the time-zone offset one hour further, the DUT's BT55 "
            "moves by one hour within a minute while BT52 keeps running undisturbed",
    requirements=["REQ-MGT-004"],
    pics="PICS_CLOCK",
    initial="BT53 is writable (BT00 STD_TBLS_WRITE)",
    steps=[("Read BT53, BT52 and BT55", "0x00"),
           ("Write BT53 with the offset + 60 min (- 60 min when that leaves -720..+840)", "0x00"),
           ("Read BT52, BT55", "BT55 - BT52 changed by the same 3600 s within a minute; BT52 undisturbed"),
           ("Write BT53 back", "0x00; BT53 as read at step 1")],
)
def test_time_zone_change(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); MEP-DG p.222-223 BT52 has no offset, BT55 adjusted (tbl
    §8.7) [READ]."""
    dut = Dut(tc, session, plan)
    dut.require_table(bt(55), "clock state")
    tc.require(dut.writable(bt(53)), "BT00 does not list BT53 as writable")
    with tc.step(1):
        bt53 = dut.read_decoded(bt(53))
        c0 = dut.clock()
        lo0, hi0, _, dst0 = _local_minus_utc(tc, dut)
    try:
        with tc.step(2):
            step = 60 if bt53.time_zone_offset + 60 <= 840 else -60
            r = dut.write_table(bt(53), Record(bt53, time_zone_offset=bt53.time_zone_offset + step))
            tc.require(r.ok, f"BT53 write answered {r.describe()}")
        with tc.step(3):
            lo1, hi1, offset, dst1 = _local_minus_utc(tc, dut)
            tc.require(dst0 == dst1, "DST came into or went out of effect during the case")
            tc.check(lo1 - hi0 - 60 <= step * 60 <= hi1 - lo0 + 60, f"BT53 offset moved by {step:+d} min but BT55 - "
                     f"BT52 moved by {lo1 - hi0:+.0f}..{hi1 - lo0:+.0f} s", req="REQ-MGT-004")
            tc.check(offset == bt53.time_zone_offset + step, f"BT53 reads offset {offset} after writing "
                     f"{bt53.time_zone_offset + step}", req="REQ-MGT-004")
            ok, how = moved_by(c0, dut.clock(), 0)
            tc.check(ok, f"the BT53 change moved BT52 by {how}: BT52 holds UTC and must not follow the offset",
                     req="REQ-MGT-004")
    finally:
        with tc.step(4):
            dut.restore(bt(53), bt53)


@testcase(
    id="TC_MGT_LOG_BV_01",
    title="A set-time is logged in BT74 with the C12.19 'time changed' events (old, new)",
    purpose="Ensure that, when the tester sets the clock 60 s ahead by BP10, the DUT logs in BT74 a C12.19 event 3 "
            "(time changed, old time) and an event 4 (time changed, new time)",
    requirements=["REQ-MGT-005"],
    pics="PICS_EVENT_LOG and PICS_SET_TIME",
    steps=[("Read the BT74 header and BT52", "0x00"), ("BP10 to the DUT time + 60 s", "result 0"),
           ("Read the BT74 entries logged since step 1", "an event 3 and an event 4 among them"),
           ("Put the clock back (BP10)", "result 0")],
)
def test_set_time_logged(tc, session, plan):
    """Source: TS 104 001 Clauses 7-8 (clause unknown); C12.19 event codes 3/4 per termineter (tbl §8.10, §9.8)
    [INFERRED]; BP10 layout ASM-PRC-03."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP10_SET_DATE_TIME)
    with tc.step(1):
        h = dut.log_header()
        c0 = dut.clock()
        offset = dut.local_offset()
    try:
        with tc.step(2):
            call = dut.call(BP10_SET_DATE_TIME, dut.bp10_params(c0.utc + 60))
            res = dut.posted(call, "BP10 to +60 s")
            tc.require(res.result == OK, f"BP10 posted {res.result} ({res.meaning}): no clock change to log")
            ok, how = set_to_either(dut, dut.clock(), c0.utc + 60, call, offset)
            tc.require(ok, f"after BP10 to +60 s {how}: no clock change took place, so none to log")
        with tc.step(3):
            entries = dut.log_entries_since(h.last_entry_seq_nbr)
            codes = [e.event_code for e in entries]
            logged = [describe_event(e) for e in entries]
            for e in entries:
                if e.event_code in (EV_TIME_CHANGED_OLD, EV_TIME_CHANGED_NEW):
                    tc.observe(describe_event(e))
            both = EV_TIME_CHANGED_OLD in codes and EV_TIME_CHANGED_NEW in codes
            mfg = [d for e, d in zip(entries, logged, strict=True) if e.event_code & MFG_EVENT_BIT]
            # Which events a meter logs, and under which ids, is the meter's documentation (OPG:2460-2461,
            # OPG:2621-2622): manufacturer events (code bit 11) may be its time-change events.
            tc.require(both or not mfg, f"no C12.19 events 3/4 but manufacturer events {mfg} logged at the set: "
                       "they may be the DUT's time-change events (event ids are meter-specific, OPG:2621-2622)")
            tc.check(EV_TIME_CHANGED_OLD in codes, f"no event 3 (time changed, old time) among the {len(entries)} "
                     f"entries logged: {logged}", req="REQ-MGT-005")
            tc.check(EV_TIME_CHANGED_NEW in codes, f"no event 4 (time changed, new time) among the {len(entries)} "
                     f"entries logged: {logged}", req="REQ-MGT-005")
    finally:
        with tc.step(4):
            dut.restore_clock(c0)
