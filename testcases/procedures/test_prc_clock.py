"""Clock procedures: BP10 set date and/or time (parameters ASM-PRC-03) and EP16 change the clock by a delta
(parameter ASM-PRC-05), TS 104 001 Clause 5, Annexes C-D.

Every case puts the DUT clock back where it would be had the case not run (BP10, to the second), also when it
stops early. Clock moves are measured against the tester clock (osgpct.dut.moved_by).
"""

from __future__ import annotations

from osgp.tables import LTimeDate
from osgpct.dut import (
    BAD_PARAM,
    BP10_SET_DATE_TIME,
    CLOCK_TOLERANCE_S,
    EP16_CLOCK_DELTA,
    OK,
    Dut,
    ltime,
    moved_by,
    offset_change,
    set_to,
    stamp,
)
from osgpct.testcase import testcase
from osgpct.usecases.control import slew_status, start_adjustment, wait_adjustment

DAY = 86400


@testcase(
    id="TC_PRC_BP10_BV_01",
    title="BP10 sets only the parts SET_MASK selects",
    purpose="Ensure that, when the tester starts BP10 with SET_MASK selecting the time only (and a different date "
            "in the date fields), then the date only (and a different time in the time fields), the DUT posts "
            "result 0 each time and changes only the selected part of BT52",
    requirements=["REQ-PRC-025", "REQ-MGT-003"],
    pics="PICS_PROCEDURES and PICS_SET_TIME",
    initial="The DUT clock is not within 2 minutes of midnight UTC (the case waits otherwise)",
    steps=[("Read BT52", "0x00, a valid date and time"),
           ("BP10 SET_MASK = time: time of day + 60 s, date fields 10 days on", "result 0; BT52 60 s ahead, date "
                                                                                "unchanged"),
           ("BP10 SET_MASK = date: the next day, time fields 3 h on", "result 0; BT52 one day ahead, time of day "
                                                                     "unchanged"),
           ("Put the clock back (BP10)", "result 0")],
)
def test_bp10_set_mask(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 parameters per Aclara, MEP-DG p.52 (tbl §7.1,
    §9.8) [READ]; MEP-DG p.52, p.222 (tbl §9.8, §11.3 PR-09) [READ]; layout ASM-PRC-03."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP10_SET_DATE_TIME)
    with tc.step(1):
        c0 = dut.clock()
        if c0.utc % DAY > DAY - 120:
            dut.wait(DAY - c0.utc % DAY + 5, "a time of day away from midnight")
            c0 = dut.clock()
    try:
        with tc.step(2):
            t = c0.utc + 60
            other_day = ltime(t + 10 * DAY)
            fields = LTimeDate(other_day.year, other_day.month, other_day.day, *_hms(t))
            c = dut.call(BP10_SET_DATE_TIME, dut.bp10_params(t, set_date=False, fields=fields))
            res = dut.posted(c, "BP10 time only")
            tc.check(res.result == OK, f"BP10 (time only) posted {res.result} ({res.meaning}), not 0", stop=True)
            ok, how = set_to(dut.clock(), t, c)
            tc.check(ok, f"after BP10 setting the time of day only (to {stamp(t)} with another date in the date "
                     f"fields) {how}")
        with tc.step(3):
            c1 = dut.clock()
            t = c1.utc + DAY
            later = ltime(c1.utc + 3 * 3600)
            day = ltime(t)
            fields = LTimeDate(day.year, day.month, day.day, later.hour, later.minute, later.second)
            res = dut.run(BP10_SET_DATE_TIME, dut.bp10_params(t, set_time=False, fields=fields),
                          what="BP10 date only")
            tc.check(res.result == OK, f"BP10 (date only) posted {res.result} ({res.meaning}), not 0", stop=True)
            ok, how = moved_by(c1, dut.clock(), DAY)
            tc.check(ok, f"after BP10 setting the date only to the next day the clock moved by {how}: expected "
                     f"+{DAY} s with the time of day left alone")
    finally:
        with tc.step(4):
            dut.restore_clock(c0)


def _hms(utc: float) -> tuple[int, int, int]:
    t = ltime(utc)
    return t.hour, t.minute, t.second


@testcase(
    id="TC_PRC_BP10_BI_01",
    title="BP10 with an impossible date or time gets result 2 and leaves the clock alone",
    purpose="Ensure that, when the tester starts BP10 (date and time selected) with month 13, 30 February, hour 24 "
            "and minute 60 in turn, the DUT posts result 2 for each and BT52 keeps running undisturbed",
    requirements=["REQ-PRC-026", "REQ-PRC-008"],
    pics="PICS_PROCEDURES and PICS_SET_TIME",
    steps=[("Read BT52", "0x00"),
           ("BP10 with month 13", "result 2"), ("BP10 with 30 February", "result 2"),
           ("BP10 with hour 24", "result 2"), ("BP10 with minute 60", "result 2"),
           ("Read BT52", "the clock moved with the tester clock only"),
           ("Put the clock back (BP10) in case a set landed", "result 0")],
)
def test_bp10_invalid(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 result 2 (tbl §5.3) [READ]; its use for BP10
    [INFERRED]; layout ASM-PRC-03."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP10_SET_DATE_TIME)
    with tc.step(1):
        c0 = dut.clock()
    now = ltime(c0.utc)
    cases = [(2, "month 13", LTimeDate(now.year, 13, 1, now.hour, now.minute, now.second)),
             (3, "30 February", LTimeDate(now.year, 2, 30, now.hour, now.minute, now.second)),
             (4, "hour 24", LTimeDate(now.year, now.month, now.day, 24, now.minute, now.second)),
             (5, "minute 60", LTimeDate(now.year, now.month, now.day, now.hour, 60, now.second))]
    try:
        for step, what, fields in cases:
            with tc.step(step):
                res = dut.run(BP10_SET_DATE_TIME, dut.bp10_params(c0.utc, fields=fields), what=f"BP10 with {what}")
                tc.check(res.result == BAD_PARAM, f"BP10 with {what} posted result {res.result} ({res.meaning}), "
                         "not 2 (invalid parameter)")
        with tc.step(6):
            ok, how = moved_by(c0, dut.clock(), 0)
            tc.check(ok, f"the refused BP10 calls moved the DUT clock by {how}")
    finally:
        with tc.step(7):
            dut.restore_clock(c0)


@testcase(
    id="TC_PRC_EP16_BV_01",
    title="EP16 slews the clock by the delta and ET54.71 follows the adjustment",
    purpose="Ensure that, when the tester starts EP16 with a delta of +20 s, the DUT posts result 0, ET54.71 "
            "reads 1 (in progress) and then 2 (done), the clock does not jump but ends 20 s ahead",
    requirements=["REQ-PRC-031"],
    pics="PICS_PROCEDURES and PICS_CLOCK",
    pixit=["ep16_layout", "test_timeout_s"],
    initial="No clock adjustment in progress",
    steps=[("Read BT52 twice 5 s apart, and ET54.71", "the clock runs; ET54.71 not 1"),
           ("EP16 by +20 s", "result 0"),
           ("Read ET54.71 and BT52 at once", "ET54.71 = 1; the clock has not moved by the whole delta yet"),
           ("Read ET54.71 every 15 s until it reads 2 (at most 20 min: 1 s per minute at least)", "2"),
           ("Read BT52", "20 s ahead of where it would have been"),
           ("Put the clock back (BP10)", "result 0")],
)
def test_ep16_slew(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex D (clause unknown); MEP-DG p.134, p.137 (tbl §7.2, §9.8, §11.3 PR-10)
    [READ]; parameter layout in ASM-PRC-05."""
    delta = 20
    dut = Dut(tc, session, plan)
    dut.require_procedure(EP16_CLOCK_DELTA)
    dut.require_table(2048 + 54, "meter status (ET54.71 delta time sync status)")
    with tc.step(1):
        dut.require_clock_runs()
        c0 = dut.clock()
        tc.require(slew_status(dut) != 1, "ET54.71 says a clock adjustment is already running")
    try:
        with tc.step(2):
            res = dut.posted(start_adjustment(dut, delta), f"EP16 by +{delta} s")
            tc.check(res.result == OK, f"EP16 by +{delta} s posted {res.result} ({res.meaning}), not 0", stop=True)
        with tc.step(3):
            first = slew_status(dut)
            tc.check(first == 1, f"right after EP16 ET54.71 reads {first}, not 1 (adjustment in progress)")
            lo, _ = offset_change(c0, dut.clock())
            tc.check(lo < delta - CLOCK_TOLERANCE_S, f"right after EP16 the clock had already moved by {lo:+.1f} s: "
                     "a step, not a slew")
        with tc.step(4):
            statuses, done = wait_adjustment(dut, delta, poll_s=15.0)
            tc.check(done, f"ET54.71 never read 2 (done) within {delta} minutes: {statuses}", stop=True)
        with tc.step(5):
            c2 = dut.clock()
            ok, how = moved_by(c0, c2, delta)
            tc.check(ok, f"after the EP16 adjustment the clock moved by {how}, not +{delta} s")
            tc.observe(f"adjustment of {delta} s done within {c2.end - c0.start:.0f} s ({len(statuses)} ET54.71 "
                       "reads)")
    finally:
        with tc.step(6):
            dut.restore_clock(c0)
