"""Control use cases: remote disconnect and reconnect, set and adjust the clock, schedule and activate a pending
table. Each leaves the DUT as it found it (contactor closed, clock and tables back, latches cleared if they were).
"""

from __future__ import annotations

from osgp.app import bt, et
from osgpct.dut import (
    BP10_SET_DATE_TIME,
    EP16_CLOCK_DELTA,
    EV_TIME_CHANGED_NEW,
    EV_TIME_CHANGED_OLD,
    MFG_ITEM,
    OK,
    Dut,
    describe_event,
    moved_by,
    same_content,
    set_to,
    stamp,
)
from osgpct.testcase import usecase
from osgpct.usecases.control import (
    RELAY_CLOSED,
    RELAY_OPENED,
    PendingChange,
    is_pending,
    operate_relay,
    relay_kept_closed,
    relay_spacing,
    start_adjustment,
    unpend,
    wait_adjustment,
    watch_relay,
    write_pending,
)

PENDING_EVENT = 28  # C12.19 'pending table activated' (REQ-TBL-019)


@usecase(
    id="UC_REMOTE_DISCONNECT",
    title="Remote disconnect and reconnect",
    purpose="A head-end disconnects a customer and reconnects them: the contactor opens (ET23.94 2), the BT03 "
            "'load disconnect changed state' alarm is raised, no energy is registered while open, the contactor "
            "closes again after the 10 s spacing",
    requirements=["REQ-PRC-036", "REQ-PRC-037", "REQ-PRC-038"],
    pics="PICS_PROCEDURES and PICS_DISCONNECT",
    pixit=["disconnect_procedure", "test_timeout_s"],
    initial="The contactor is closed",
    steps=[("Read ET23.94, BT23 and the BT74 header; wait 10 s", "0 (closed)"),
           ("Disconnect (pixit.disconnect_procedure, 0)", "result 0; ET23.94 reaches 2; BT03 alarm set"),
           ("Wait 60 s, read BT23", "forward energy not grown (observed)"),
           ("Connect (1)", "result 0; ET23.94 reaches 0"),
           ("Read the BT74 entries logged", "noted")],
)
def test_remote_disconnect(tc, session, plan):
    dut = Dut(tc, session, plan)
    dut.require_table(et(23), "ET23.94 disconnect status")
    log = plan.pics.get("PICS_EVENT_LOG") and dut.listed(bt(74))
    with dut.mfg_latch_kept("load_disconnect_changed_state"), relay_kept_closed(dut):
        with tc.step(1):
            h = dut.log_header() if log else None
            relay_spacing(dut)
        with tc.step(2):
            c = operate_relay(dut, close=False)
            tc.check(c.echoed and c.result.result == OK, f"disconnect: {c.describe()}", stop=True)
            seen = watch_relay(dut, RELAY_OPENED)
            tc.check(seen[-1] == RELAY_OPENED, f"the contactor did not open: ET23.94 read {seen}", stop=True)
            tc.check(MFG_ITEM["load_disconnect_changed_state"] in dut.bt03_mfg(), "BT03 'load disconnect changed "
                     "state' is clear after the disconnect")
        with tc.step(3):
            e0 = dut.read_decoded(bt(23)).tot_data_block.summations[0]
            dut.wait(60, "the customer disconnected")
            e1 = dut.read_decoded(bt(23)).tot_data_block.summations[0]
            tc.observe(f"forward energy while disconnected: {e0} -> {e1}")
        with tc.step(4):
            relay_spacing(dut)
            c = operate_relay(dut, close=True)
            tc.check(c.echoed and c.result.result == OK, f"connect: {c.describe()}", stop=True)
            seen = watch_relay(dut, RELAY_CLOSED)
            tc.check(seen[-1] == RELAY_CLOSED, f"the contactor did not close: ET23.94 read {seen}")
        with tc.step(5):
            if h is not None:
                tc.observe("logged: " + "; ".join(describe_event(e) for e in
                                                  dut.log_entries_since(h.last_entry_seq_nbr, check=False)))


@usecase(
    id="UC_SET_CLOCK",
    title="Set and adjust the clock",
    purpose="A head-end sets the meter clock (BP10), the change is logged (events 3/4), then adjusts it back by a "
            "slewed delta (EP16) until ET54.71 reports the adjustment done",
    requirements=["REQ-PRC-025", "REQ-MGT-003", "REQ-MGT-005", "REQ-PRC-031"],
    pics="PICS_SET_TIME",
    pixit=["ep16_layout", "test_timeout_s"],
    steps=[("Read BT52 and the BT74 header", "0x00"),
           ("BP10 to the DUT time + 20 s", "result 0; BT52 20 s ahead"),
           ("Read the BT74 entries logged", "events 3 and 4 among them"),
           ("EP16 by -20 s; read ET54.71 until 2", "result 0; 2 (done) within 20 min"),
           ("Read BT52", "20 s behind where BP10 put it; the clock is put back by BP10 anyway")],
)
def test_set_clock(tc, session, plan):
    dut = Dut(tc, session, plan)
    dut.require_procedure(BP10_SET_DATE_TIME)
    log = plan.pics.get("PICS_EVENT_LOG") and dut.listed(bt(74))
    with dut.clock_kept() as c0:
        with tc.step(1):
            h = dut.log_header() if log else None
        with tc.step(2):
            call = dut.set_clock(c0.utc + 20, what="BP10 to +20 s")
            c1 = dut.clock()
            ok, how = set_to(c1, c0.utc + 20, call)
            tc.check(ok, f"after BP10 to {stamp(c0.utc + 20)} {how}", stop=True)
        with tc.step(3):
            if h is None:
                tc.observe("no event log declared")
            else:
                entries = dut.log_entries_since(h.last_entry_seq_nbr)
                codes = {e.event_code for e in entries}
                tc.check({EV_TIME_CHANGED_OLD, EV_TIME_CHANGED_NEW} <= codes, "the set-time is not logged with "
                         f"events 3 and 4: {[describe_event(e) for e in entries]}")
        with tc.step(4):
            dut.require_procedure(EP16_CLOCK_DELTA, "clock adjustment by delta")
            res = dut.posted(start_adjustment(dut, -20), "EP16 by -20 s")
            tc.check(res.result == OK, f"EP16 by -20 s posted {res.result} ({res.meaning})", stop=True)
            statuses, done = wait_adjustment(dut, -20)
            tc.check(done, f"ET54.71 never read 2 (done): {statuses}", stop=True)
        with tc.step(5):
            ok, how = moved_by(c1, dut.clock(), -20)
            tc.check(ok, f"EP16 by -20 s moved the clock by {how}")


@usecase(
    id="UC_ACTIVATE_PENDING_TABLE",
    title="Schedule and activate a pending table",
    purpose="A head-end schedules a new tariff calendar: BT54 written as pending table BT4150 with a PED 2 minutes "
            "ahead; BT04 lists it, the running calendar is untouched until then; at the PED time BT54 takes the new "
            "calendar, BT04 records the activation and the log notes it",
    requirements=["REQ-TBL-013", "REQ-TBL-016", "REQ-TBL-019"],
    pics="PICS_PENDING",
    pixit=["test_timeout_s"],
    initial="BT54 writable and not pending; it is written back at the end",
    steps=[("Read BT50, BT54, BT04 and the BT74 header", "0x00"),
           ("Write BT4150: PED relative 2 min, BT54 with the next calendar id", "0x00; BT04 lists BT54 with that PED; "
                                                                                "BT54 unchanged"),
           ("Wait 2 min 5 s; read BT54, BT04, the new BT74 entries", "BT54 holds the new calendar; not pending; BT04 "
                                                                     "last activation time set; event 28 logged"),
           ("Clear BT54's pending state if left, write BT54 back", "0x00")],
)
def test_activate_pending_table(tc, session, plan):
    from osgp.tables import Ped, Record

    dut = Dut(tc, session, plan)
    dut.require_table(bt(54), "calendar")
    tc.require(dut.writable(bt(54)), "BT00 does not list BT54 as writable")
    log = plan.pics.get("PICS_EVENT_LOG") and dut.listed(bt(74))
    ped = Ped.relative(minutes=2)
    with tc.step(1):
        before = dut.read_decoded(bt(54))
        new = Record(before, calendar_id=(before.calendar_id + 1) & 0xFFFFFFFF)
        tc.require(not is_pending(dut, bt(54)), "BT54 is already pending")
        h = dut.log_header() if log else None
        bt04 = dut.read_decoded(bt(4))
    try:
        with tc.step(2):
            r = write_pending(dut, bt(54), new, ped)
            tc.check(r.ok, f"pending BT54 (BT4150) write answered {r.describe()}", stop=True)
            tc.check(is_pending(dut, bt(54), ped), "BT04 does not list BT54 as pending with the PED written",
                     stop=True)
            tc.check(same_content(dut.read_decoded(bt(54)), before), "BT54 changed before its PED time")
        with tc.step(3):
            dut.wait(125, "the PED time (2 min after the write)")
            tc.check(same_content(dut.read_decoded(bt(54)), new),
                     "2 min after the write BT54 does not hold the pending calendar")
            tc.check(not is_pending(dut, bt(54)), "BT04 still lists BT54 as pending after its PED time")
            bt04b = dut.read_decoded(bt(4))
            tc.check(bt04b.last_activation_time != bt04.last_activation_time, f"BT04 last activation time is still "
                     f"{bt04.last_activation_time}")
            if h is not None:
                entries = dut.log_entries_since(h.last_entry_seq_nbr)
                tc.check(any(e.event_code == PENDING_EVENT for e in entries), "no event 28 (pending table activated) "
                         f"logged: {[describe_event(e) for e in entries]}")
            if dut.listed(et(23)):
                tc.observe(f"ET23 active calendar id {dut.read_field(et(23), 'active_calendar_id')}, at "
                           f"{stamp(dut.clock().utc)}")
    finally:
        with tc.step(4):
            unpend(dut, [PendingChange(bt(54), before, new)], (ped,))
