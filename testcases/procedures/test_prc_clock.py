"""Clock procedures: BP10 set date and/or time (parameters ASM-PRC-03) and EP16 change the clock by a delta
(parameter ASM-PRC-05), TS 104 001 Clause 5, Annexes C-D.

Every case puts the DUT clock back where it would be had the case not run (BP10, to the second), also when it
stops early. Clock moves are measured against the tester clock (osgpct.dut.moved_by).
"""

from __future__ import annotations

import math

from osgp.app import bt
from osgp.tables import LTimeDate
from osgp.tables.procedures import BP10_SET_DATE_TIME
from osgpct.dut import (
    BAD_PARAM,
    CLOCK_TOLERANCE_S,
    EP16_CLOCK_DELTA,
    OK,
    ClockReading,
    Dut,
    ltime,
    moved_by,
    offset_change,
    set_to,
    stamp,
    utc_of,
)
from osgpct.testcase import Verdict, testcase
from osgpct.usecases.control import slew_status, start_adjustment, wait_adjustment

DAY = 86400


def local_offset_s(dut: Dut) -> int:
    """Local time minus UTC in seconds, whole minutes: BT55 - BT52 when BT55 is listed (the BT53 offset and any DST
    in effect), else the BT53 time-zone offset, else 0. BP10's fields may be local time (REQ-PRC-025 reading 2)."""
    if dut.listed(bt(55)):
        a = dut.clock()
        local = dut.read_decoded(bt(55)).clock_calendar
        try:
            return round((utc_of(local) - a.utc) / 60) * 60
        except ValueError:
            pass
    if dut.listed(bt(53)):
        return int(dut.read_decoded(bt(53)).time_zone_offset) * 60
    return 0


def restore_clock_either(dut: Dut, c0: ClockReading, offset: int) -> None:
    """:meth:`Dut.restore_clock`, for a DUT that may take BP10's fields as local time (REQ-PRC-025 reading 2;
    ``offset`` = local minus UTC, :func:`local_offset_s`): when the UTC restoration leaves BT52 ``offset`` behind,
    BP10 is sent again with the local time, so that the cases after this one find the clock where it was."""
    dut.restore_clock(c0)
    if not offset:
        return
    now = dut.clock()
    if moved_by(c0, now, 0)[0] or not moved_by(c0, now, -offset)[0]:
        return
    target = math.floor(dut.session.clock.now() + c0.offset + 1e-6)
    c = dut.call(BP10_SET_DATE_TIME, dut.bp10_params(target, fields=ltime(target + offset)))
    if moved_by(c0, dut.clock(), 0)[0]:
        dut.tc.observe(f"DUT clock put back with BP10 as local time (offset {offset:+d} s)")
    else:
        dut.tc.record(Verdict.INCONC, f"could not put the DUT clock back ({c.describe()})")


def set_local(target: float, offset: int, *, keep_date: bool = False, keep_time: bool = False) -> float:
    """Where BT52 lands when BP10 with the UTC fields of ``target`` is taken as local time (REQ-PRC-025 reading 2)
    and keeps the local date (``keep_date``) or the local time of day (``keep_time``) of ``target``'s moment."""
    local = target + offset
    day = local - local % DAY
    if keep_date:
        return day + target % DAY - offset
    if keep_time:
        return target - target % DAY + local % DAY - offset
    return target - offset


def near_midnight(utc: float, offset: int, margin: float = 120) -> float:
    """Seconds to wait until neither UTC nor local time is within ``margin`` s of midnight (0: no wait)."""
    for t in (utc, utc + offset):
        if t % DAY > DAY - margin or t % DAY < margin:
            return DAY - t % DAY + margin + 5 if t % DAY > DAY - margin else margin + 5 - t % DAY
    return 0


@testcase(
    id="TC_PRC_BP10_BV_01",
    title="BP10 sets only the parts SET_MASK selects",
    purpose="Ensure that, when the tester starts BP10 with SET_MASK selecting the time only (and a different date "
            "in the date fields), then the date only (and a different time in the time fields), the DUT posts "
            "result 0 each time and changes only the selected part of its clock; the fields may be UTC (BT52) or "
            "local time (BT55: BT52 then lands the local offset away; REQ-PRC-025 is ambiguous)",
    requirements=["REQ-PRC-025", "REQ-MGT-003"],
    pics="PICS_PROCEDURES and PICS_SET_TIME",
    initial="The DUT clock is not within 2 minutes of midnight, UTC or local (the case waits otherwise)",
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
    offset = local_offset_s(dut)
    with tc.step(1):
        c0 = dut.clock()
        wait = near_midnight(c0.utc, offset)
        if wait:
            dut.wait(wait, "a time of day away from midnight, UTC and local")
            c0 = dut.clock()
    try:
        with tc.step(2):
            t = c0.utc + 60
            other_day = ltime(t + 10 * DAY)
            fields = LTimeDate(other_day.year, other_day.month, other_day.day, *_hms(t))
            c = dut.call(BP10_SET_DATE_TIME, dut.bp10_params(t, set_date=False, fields=fields))
            res = dut.posted(c, "BP10 time only")
            tc.check(res.result == OK, f"BP10 (time only) posted {res.result} ({res.meaning}), not 0", stop=True,
                     req="REQ-PRC-025")
            c1 = dut.clock()
            ok, how = set_to(c1, t, c)
            if not ok and offset:
                ok_local, how_local = set_to(c1, set_local(t, offset, keep_date=True), c)
                ok, how = ok_local, f"{how} (UTC reading); as local time (offset {offset:+d} s): {how_local}"
            tc.check(ok, f"after BP10 setting the time of day only (to {stamp(t)} with another date in the date "
                     f"fields) {how}", req="REQ-PRC-025")
        with tc.step(3):
            c1 = dut.clock()
            t = c1.utc + DAY
            later = ltime(c1.utc + 3 * 3600)
            day = ltime(t)
            fields = LTimeDate(day.year, day.month, day.day, later.hour, later.minute, later.second)
            res = dut.run(BP10_SET_DATE_TIME, dut.bp10_params(t, set_time=False, fields=fields),
                          what="BP10 date only")
            tc.check(res.result == OK, f"BP10 (date only) posted {res.result} ({res.meaning}), not 0", stop=True,
                     req="REQ-PRC-025")
            c2 = dut.clock()
            ok, how = moved_by(c1, c2, DAY)
            if not ok and offset:
                ok_local, how_local = moved_by(c1, c2, set_local(c1.utc + DAY, offset, keep_time=True) - c1.utc)
                ok, how = ok_local, f"{how} (UTC reading; as local time: {how_local})"
            tc.check(ok, f"after BP10 setting the date only to the next day the clock moved by {how}: expected "
                     f"+{DAY} s with the time of day left alone", req="REQ-PRC-025")
    finally:
        with tc.step(4):
            restore_clock_either(dut, c0, offset)


def _hms(utc: float) -> tuple[int, int, int]:
    t = ltime(utc)
    return t.hour, t.minute, t.second


@testcase(
    id="TC_PRC_BP10_BI_01",
    title="BP10 with an impossible date or time is refused (result 2, or another refusal) and leaves the clock alone",
    purpose="Ensure that, when the tester starts BP10 (date and time selected) with month 13, 30 February, hour 24 "
            "and minute 60 in turn, the DUT refuses each (result 2; or 3-5, or a non-zero response code to the "
            "BT07 write: REQ-PRC-008 is ambiguous) and BT52 keeps running undisturbed",
    requirements=["REQ-PRC-026", "REQ-PRC-008"],
    pics="PICS_PROCEDURES and PICS_SET_TIME",
    steps=[("Read BT52", "0x00"),
           ("BP10 with month 13", "refused (result 2)"), ("BP10 with 30 February", "refused (result 2)"),
           ("BP10 with hour 24", "refused (result 2)"), ("BP10 with minute 60", "refused (result 2)"),
           ("Read BT52", "the clock moved with the tester clock only"),
           ("Put the clock back (BP10) in case a set landed", "result 0")],
)
def test_bp10_invalid(tc, session, plan):
    """Source: TS 104 001 Clause 5, Annex C (clause unknown); C12.19 result 2 (tbl §5.3) [READ]; its use for BP10
    [INFERRED]; layout ASM-PRC-03. A departure from result 2 is a deviation of REQ-PRC-026 (inferred); a BP10 with
    an impossible date that is not refused at all (result 0) departs from every reading of REQ-PRC-008 (code 2
    'Invalid parameter for known procedure, procedure ignored', MEP-DG:2369) and FAILs."""
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP10_SET_DATE_TIME)
    offset = local_offset_s(dut)
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
                c = dut.call(BP10_SET_DATE_TIME, dut.bp10_params(c0.utc, fields=fields))
                tc.require(not c.accepted or c.echoed, f"BP10 with {what}: {c.describe()}; BT08 does not hold its "
                           "result (REQ-PRC-003)")
                tc.check(c.refused, f"BP10 with {what} was not refused: {c.describe()} (a refusal is result 2 "
                         "'invalid parameter', or 3-5, or a non-zero response code)", req="REQ-PRC-008")
                tc.check(not c.accepted or c.result.result == BAD_PARAM, f"BP10 with {what} posted result "
                         f"{c.result.result if c.result else None}, not 2 (invalid parameter)", req="REQ-PRC-026")
        with tc.step(6):
            ok, how = moved_by(c0, dut.clock(), 0)
            tc.check(ok, f"the refused BP10 calls moved the DUT clock by {how}", req="REQ-PRC-008")
    finally:
        with tc.step(7):
            restore_clock_either(dut, c0, offset)


@testcase(
    id="TC_PRC_EP16_BV_01",
    title="EP16 slews the clock by the delta and ET54.71 follows the adjustment",
    purpose="Ensure that, when the tester starts EP16 with a delta of +20 s, the DUT posts result 0, ET54.71 "
            "reads 1 (in progress) and then 2 (done) or, as it reports the current load-profile interval, 0 after "
            "the next interval boundary (REQ-PRC-031 is ambiguous), the clock does not jump but ends 20 s ahead",
    requirements=["REQ-PRC-031"],
    pics="PICS_PROCEDURES and PICS_CLOCK",
    pixit=["ep16_layout", "test_timeout_s"],
    initial="No clock adjustment in progress",
    steps=[("Read BT52 twice 5 s apart, and ET54.71", "the clock runs; ET54.71 not 1"),
           ("EP16 by +20 s", "result 0"),
           ("Read ET54.71 and BT52 at once", "ET54.71 = 1; the clock has not moved by the whole delta yet"),
           ("Read ET54.71 every 15 s until it reads 2 (at most |delta| / ET55.4 minutes)",
            "2, or 0 after an interval boundary; never 1 past the bound"),
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
            # ET54.71 reports "in the current load profile interval" (MEP-DG:6822-6827): it may fall back to 0 at
            # the next boundary instead of reading 2; then the clock move below is the judge.
            fell_back = not done and 0 in statuses
            tc.check(done or fell_back, f"ET54.71 still read 1 (in progress) past the time the adjustment may take "
                     f"at ET55.4 s per minute: {statuses}", stop=True)
            if fell_back:
                tc.observe(f"ET54.71 read 0 again after the adjustment, not 2 (reading 2 of REQ-PRC-031): {statuses}")
        with tc.step(5):
            c2 = dut.clock()
            ok, how = moved_by(c0, c2, delta)
            tc.check(ok, f"after the EP16 adjustment the clock moved by {how}, not +{delta} s")
            tc.observe(f"adjustment of {delta} s done within {c2.end - c0.start:.0f} s ({len(statuses)} ET54.71 "
                       "reads)")
    finally:
        with tc.step(6):
            restore_clock_either(dut, c0, local_offset_s(dut))
