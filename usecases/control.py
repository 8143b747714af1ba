"""Control scenarios (UC_DISCONNECT_RECONNECT, UC_SET_CLOCK, UC_PENDING_TABLES, and the PRC/MGT test cases that
reuse them): the disconnect contactor, clock adjustment by delta (EP16), pending tables.

Each function acts through a :class:`osgpct.dut.Dut` and returns what it saw; it opens no test step (steps do not
nest) and judges only its own preconditions (INCONC). The caller judges the DUT.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from osgp.app import Response, bt, et, pending, table_name
from osgp.tables import Ped, Record, schema
from osgp.tables.procedures import BP14_CLEAR_ALL_PENDING, BP15_CLEAR_SPECIFIC_PENDING
from osgp.tables.types import UINT8, F, Layout
from osgpct.dut import (
    EP16_CLOCK_DELTA,
    OK,
    RELAY_SETTLE_S,
    RELAY_SPACING_S,
    ROLES_FOR,
    Call,
    ClockReading,
    Dut,
    set_to,
)
from osgpct.testcase import Verdict

# --------------------------------------------------------------------------------------------------
# disconnect contactor (pixit.disconnect_procedure, ASM-PRC-06)

#: Parameter of the disconnect procedure (ASM-PRC-06: UINT8 at BT07 offset 3, 0 open, 1 close)
RELAY_PARAMS = Layout("disconnect procedure parameters (ASM-PRC-06)", [F("command", UINT8)])
RELAY_CLOSED, RELAY_CLOSING, RELAY_OPENED, RELAY_OPENING = 0, 1, 2, 3
RELAY_STATES = {0: "closed", 1: "closing", 2: "opened", 3: "opening"}


def relay_status(dut: Dut) -> int:
    """ET23.94 disconnect internal status (0 closed, 1 closing, 2 opened, 3 opening)."""
    return dut.read_field(et(23), "disconnect_internal_status")


def operate_relay(dut: Dut, close: bool) -> Call:
    """Open (disconnect) or close (connect) the contactor with the PIXIT procedure; nothing judged."""
    number = dut.pixit.disconnect_procedure
    return dut.call(number, RELAY_PARAMS.encode({"command": 1 if close else 0}, dut.dims()))


def watch_relay(dut: Dut, final: int, bound: float = RELAY_SETTLE_S, step: float = 0.5, *,
                force: bool = False) -> list[int]:
    """ET23.94 read until it shows ``final`` or ``bound`` seconds pass: every value seen, in order."""
    seen: list[int] = []
    start = dut.session.clock.now()
    while True:
        v = relay_status(dut)
        seen.append(v)
        if v == final or dut.session.clock.now() - start >= bound:
            return seen
        dut.wait(step, f"contactor transient: ET23.94 reads {v}, waiting for {final}", force=force)


def relay_spacing(dut: Dut, *, force: bool = False) -> None:
    dut.wait(RELAY_SPACING_S, "contactor operations are at least 10 s apart (MEP-DG p.134): leave room after any "
                              "earlier operation", force=force)


@dataclass(frozen=True)
class RelayCycle:
    """A disconnect then, 10 s later, a reconnect: the calls and the ET23.94 values seen after each."""

    open_call: Call
    opening: list[int]
    close_call: Call | None = None
    closing: list[int] = field(default_factory=list)


def relay_cycle(dut: Dut) -> RelayCycle:
    """Disconnect, watch ET23.94 until 2 (opened), wait the 10 s spacing, reconnect, watch until 0 (closed).
    Stops early (close_call None) when the disconnect is not accepted and echoed with result 0."""
    c = operate_relay(dut, close=False)
    if not (c.echoed and c.result is not None and c.result.result == OK):
        return RelayCycle(c, [])
    opening = watch_relay(dut, RELAY_OPENED)
    relay_spacing(dut)
    c2 = operate_relay(dut, close=True)
    closing = watch_relay(dut, RELAY_CLOSED) if c2.echoed and c2.result.result == OK else []
    return RelayCycle(c, opening, c2, closing)


@contextlib.contextmanager
def relay_kept_closed(dut: Dut) -> Iterator[None]:
    """Require a closed contactor, run the block, and close it again if it is left open."""
    dut.tc.require(relay_status(dut) == RELAY_CLOSED, "the contactor is not closed (ET23.94 != 0) at the start")
    try:
        yield
    finally:
        if relay_status(dut) != RELAY_CLOSED:
            relay_spacing(dut, force=True)
            c = operate_relay(dut, close=True)
            seen = watch_relay(dut, RELAY_CLOSED, force=True)
            if seen[-1] != RELAY_CLOSED:
                dut.tc.record(Verdict.INCONC, f"could not close the contactor again ({c.describe()}; ET23.94 {seen})")
            else:
                dut.tc.observe("contactor closed again")




# --------------------------------------------------------------------------------------------------
# clock adjustment by delta (EP16, ASM-PRC-05)


@dataclass(frozen=True)
class Slew:
    call: Call
    statuses: list[int] = field(default_factory=list)  # ET54.71 delta time sync status, as polled
    finished: bool = False


def slew_status(dut: Dut) -> int:
    """ET54.71 bits 1-2 (0 none, 1 ongoing, 2 done)."""
    return dut.read_field(et(54), "delta_time_sync_status")


def start_adjustment(dut: Dut, delta: int) -> Call:
    """EP16 by ``delta`` seconds (INT32 LSB first, ASM-PRC-05); nothing judged."""
    return dut.call(EP16_CLOCK_DELTA, {"delta": delta})


#: ET55 Meter Configuration (not in osgp.tables): offset 4, UINT8 "Delta Time Adjustment Increment", the seconds
#: per minute an EP16 adjustment moves the clock, range 0..16 (MEP-DG:7057-7060)
ET55_METER_CONFIG = et(55)
ET55_SLEW_OFFSET = 4


def slew_rate(dut: Dut) -> int | None:
    """ET55.4, the EP16 slew rate in seconds per minute (MEP-DG:7057-7060), or None when the DUT does not list
    ET55 or the byte cannot be read."""
    if not dut.listed(ET55_METER_CONFIG):
        return None
    if dut.partial_read:
        r = dut.session.read_partial(ET55_METER_CONFIG, ET55_SLEW_OFFSET, 1)
        data = r.data[:1] if r.ok else b""
    else:
        r = dut.session.read(ET55_METER_CONFIG)
        data = r.data[ET55_SLEW_OFFSET:ET55_SLEW_OFFSET + 1] if r.ok else b""
    return data[0] if data and data[0] <= 16 else None


def slew_minutes(dut: Dut, delta: int) -> float:
    """How long an EP16 adjustment by ``delta`` s may take: |delta| / ET55.4 minutes (MEP-DG:7057-7060); at
    1 s/min (the slowest non-zero rate) when ET55.4 is not readable; INCONC when ET55.4 is 0 (no adjustment)."""
    rate = slew_rate(dut)
    dut.tc.require(rate != 0, "ET55.4 (delta time adjustment increment) is 0: an EP16 adjustment cannot move the "
                   "clock on this DUT as configured")
    return abs(delta) / (rate or 1)


def wait_adjustment(dut: Dut, delta: int, *, poll_s: float = 15.0) -> tuple[list[int], bool]:
    """ET54.71 polled until it reads 2 (done): (values seen, done). The slew moves ET55.4 s per minute, so it
    ends within |delta| / ET55.4 minutes (1 s/min when ET55 is not readable). Not done need not be a defect:
    under one reading of REQ-PRC-031, ET54.71 reports the current load-profile interval and may read 0 again
    after the next boundary; the caller judges the clock move."""
    statuses: list[int] = []
    bound = slew_minutes(dut, delta) * 60 + 2 * poll_s
    start = dut.session.clock.now()
    while True:
        s = slew_status(dut)
        statuses.append(s)
        if s == 2:
            return statuses, True
        if dut.session.clock.now() - start >= bound:
            return statuses, False
        dut.wait(poll_s, f"EP16 adjustment of {delta:+d} s in progress (ET54.71 = {s})")


def local_offset_s(dut: Dut) -> int:
    """Local time minus UTC in seconds (:meth:`Dut.local_offset`: BT55 - BT52, else the BT53 offset, else 0)."""
    return dut.local_offset()


def set_to_either(dut: Dut, reading: ClockReading, target: float, call: Call, offset: int) -> tuple[bool, str]:
    """Whether BP10 set the clock to ``target`` under either reading of REQ-MGT-003 / REQ-PRC-025 (ASM-PRC-03: no
    source gives BP10's time base): the fields are UTC (BT52 reads ``target``), or they are local time (BT52 reads
    ``target - offset``, ``offset`` = local minus UTC before the set, :meth:`Dut.local_offset`); and how far off
    it is."""
    ok, how = set_to(reading, target, call)
    if ok or not offset:
        return ok, how
    ok_local, how_local = set_to(reading, target - offset, call)
    if ok_local:
        return True, f"set as local time (local offset {offset:+d} s): {how_local}"
    return False, f"{how} (UTC reading); as local time with offset {offset:+d} s: {how_local}"



# --------------------------------------------------------------------------------------------------
# pending tables (PICS_PENDING)


def write_pending(dut: Dut, table_id: int, value: Record, ped: Ped) -> Response:
    """Full write of the pending copy of ``table_id`` (PED + full image); nothing judged."""
    dims = dut.dims(*ROLES_FOR.get(table_id, ()))
    image = schema(pending(table_id)).encode(Record(ped=ped, **value), dims)
    return dut.session.write(pending(table_id), image)




def pending_records(dut: Dut) -> list[Record]:
    """BT04 activation records that are still pending."""
    return [a for a in dut.read_decoded(bt(4)).activations if a.still_pending]


def is_pending(dut: Dut, table_id: int, ped: Ped | None = None) -> bool:
    return any(a.table_number == table_id and (ped is None or a.ped == ped) for a in pending_records(dut))






def new_utility_serial(current: str, tag: str) -> str:
    text = f"OSGPCT-{tag}"
    return text if text != current.rstrip("\0") else f"OSGPCT-{tag}-2"


#: PEDs the pending-table scenarios use: relative times weeks away, so that nothing activates by itself
PED_A = Ped.relative(weeks=9, days=6, hours=1, seconds=1)
PED_B = Ped.relative(weeks=9, days=6, hours=1, seconds=2)
PED_UNUSED = Ped.relative(weeks=9, days=6, hours=23, minutes=59, seconds=58)


@dataclass(frozen=True)
class PendingChange:
    """A table, its content before, and the changed content the scenario puts in its pending copy."""

    table_id: int
    before: Record
    changed: Record

    @property
    def name(self) -> str:
        return table_name(self.table_id)


def pending_candidates(dut: Dut) -> list[PendingChange]:
    """Two tables the DUT lists as writable whose change is harmless and visible, each with a changed copy:
    ET03 (utility serial number) and BT54 (calendar id); INCONC when the DUT offers fewer than two."""
    out = []
    if dut.listed(et(3)) and dut.writable(et(3)):
        et03 = dut.read_decoded(et(3))
        out.append(PendingChange(et(3), et03, Record(et03, utility_serial_number=new_utility_serial(
            et03.utility_serial_number, "PENDING"))))
    if dut.listed(bt(54)) and dut.writable(bt(54)):
        bt54 = dut.read_decoded(bt(54))
        out.append(PendingChange(bt(54), bt54, Record(bt54, calendar_id=(bt54.calendar_id + 1) & 0xFFFFFFFF)))
    dut.tc.require(len(out) >= 2, "the DUT lists fewer than two of ET03 and BT54 as writable: no two tables to "
                   "put in pending form")
    return out




def pend(dut: Dut, change: PendingChange, ped: Ped) -> None:
    """Write the pending copy with ``ped`` and require BT04 to list it (INCONC otherwise)."""
    r = write_pending(dut, change.table_id, change.changed, ped)
    dut.tc.require(r.ok, f"write of the pending {change.name} ({table_name(pending(change.table_id))}) answered "
                   f"{r.describe()}")
    dut.tc.require(is_pending(dut, change.table_id, ped), f"BT04 does not list {change.name} as pending after the "
                   "pending write (REQ-TBL-013)")



def unpend(dut: Dut, changes: list[PendingChange], peds: tuple[Ped, ...] = ()) -> None:
    """Clear what is still pending with the scenario PEDs (BP15, else BP14) and write the tables back."""
    ours = (PED_A, PED_B, PED_UNUSED, Ped.manual(), *peds)
    left = [a for a in pending_records(dut) if a.ped in ours]
    for ped in {a.ped for a in left}:
        if dut.lists_procedure(BP15_CLEAR_SPECIFIC_PENDING):
            dut.call(BP15_CLEAR_SPECIFIC_PENDING, {"ped": ped})
    if left and pending_records(dut) and dut.lists_procedure(BP14_CLEAR_ALL_PENDING):
        dut.call(BP14_CLEAR_ALL_PENDING)
    for c in changes:
        dut.restore(c.table_id, c.before)
