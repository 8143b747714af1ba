"""Reusable scenario steps of the use cases; test cases of testcases/procedures and testcases/management use
them as preconditions or instruments.

Each function acts through a :class:`~usecases.library.Dut` and returns what it saw; it opens no test step
(steps do not nest) and judges only its own preconditions (INCONC). The caller judges the DUT.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from osgp.app import Response, bt, et, pending, table_name
from osgp.errors import DecodeError, DeviceTimeout, EncodeError, SecurityError
from osgp.lon import crc16
from osgp.tables import (
    Ped,
    ProcedureResponse,
    Record,
    TableError,
    decode_procedure_response,
    encode_procedure_initiate,
    schema,
)
from osgp.tables.types import UINT8, F, Layout
from osgpct.verdicts import Verdict

from .library import (
    BP05_UPDATE_LAST_READ,
    BP08_CLEAR_MFG_STATUS,
    BP09_REMOTE_RESET,
    BP10_SET_DATE_TIME,
    BP14_CLEAR_ALL_PENDING,
    BP15_CLEAR_SPECIFIC_PENDING,
    EP16_CLOCK_DELTA,
    EP80_KEY_CHANGE,
    EP80_KEY_IDS,
    EP80_PARAMS,
    EP81_FIRMWARE_ACTIVATE,
    ET100_FW_HEADER,
    ET100_HEADER,
    ET101_FW_IMAGE,
    MFG_ITEM,
    OK,
    RELAY_SETTLE_S,
    RELAY_SPACING_S,
    ROLES_FOR,
    Call,
    Dut,
    derived_session,
    procedure_name,
    profile_for,
)

# --------------------------------------------------------------------------------------------------
# identity and nameplate


@dataclass(frozen=True)
class Identity:
    bt01: Record
    firmware: tuple[int, int, int]
    serial: str
    utility_serial: str | None
    image_crc: int | None
    program_id: bytes | None
    idt_version: int | None


def firmware_word(version: tuple[int, int, int]) -> int:
    """x.yy.zz packed as in BT01.14-15 (bits 15-12, 11-5, 4-0)."""
    x, yy, zz = version
    return x << 12 | yy << 5 | zz


def unpack_firmware(word: int) -> tuple[int, int, int]:
    return word >> 12, word >> 5 & 0x7F, word & 0x1F


def read_identity(dut: Dut) -> Identity:
    """BT01 (manufacturer, model, firmware, serial), ET03 (utility serial, image CRC) and ET04 (program id,
    IDT version) where BT00 lists them."""
    b = dut.read(bt(1))
    fw = (b.fw_major, b.fw_minor, b.fw_build)
    et03 = dut.read(et(3)) if dut.lists_table(et(3)) else None
    pid = idt = None
    if dut.lists_table(et(4)):
        pid = dut.read_field(et(4), "program_id")
        idt = dut.read_field(et(4), "idt_version")
    return Identity(b, fw, str(b.mfg_serial_number), et03.utility_serial_number if et03 else None,
                    et03.image_crc if et03 else None, pid, idt)


# --------------------------------------------------------------------------------------------------
# billing registers


@dataclass(frozen=True)
class Billing:
    bt21: Record
    bt22: Record
    bt23: Record

    @property
    def totals(self) -> list[int]:
        return list(self.bt23.tot_data_block.summations)


def read_billing(dut: Dut) -> Billing:
    dims = dut.dims("bt21")
    bt22 = dut.read(bt(22)) if dut.lists_table(bt(22)) else Record()
    return Billing(dims.get("bt21"), bt22, dut.read(bt(23)))  # type: ignore[arg-type]


def demand_resets(dut: Dut) -> int:
    """BT23 NBR_DEMAND_RESETS (INCONC when BT21 says there is no such counter)."""
    bt21 = dut.dims("bt21").get("bt21")
    dut.tc.require(bt21 is not None and bt21.get("demand_reset_ctr_flag"),
                   "BT21 DEMAND_RESET_CTR_FLAG is clear: BT23 has no demand-reset counter to observe")
    return dut.read_field(bt(23), "nbr_demand_resets")


def start_demand_reset(dut: Dut) -> ProcedureResponse:
    """BP09 with bit 0 (demand reset) only."""
    dut.require_procedure(BP09_REMOTE_RESET, "remote reset (demand reset)")
    return dut.run(BP09_REMOTE_RESET, {"demand_reset": True, "self_read": False, "season_change": False,
                                       "new_season": 0}, what="BP09 demand reset")


# --------------------------------------------------------------------------------------------------
# load profile


@dataclass(frozen=True)
class LoadProfile:
    bt61: Record
    status: Record  # BT63 data set 1
    block: Record | None  # newest block of BT64
    interval_s: int


def lp_status(dut: Dut) -> Record:
    return dut.read(bt(63)).sets[0]


def read_load_profile(dut: Dut) -> LoadProfile:
    """BT61 dimensions, BT63 status of data set 1 and the newest BT64 block (partial read of that block)."""
    dims = dut.dims("bt61")
    bt61 = dims.get("bt61")
    dut.tc.require(bt61 is not None and bt61.sets, "BT61 describes no load-profile data set")
    st = lp_status(dut)
    block = None
    if st.nbr_valid_blocks:
        path = f"blocks[{st.last_block_element}]"
        s = schema(bt(64))
        try:
            off, size = s.field_offset(path, dims)
        except TableError as e:
            dut.bad(f"BT64.{path}: {e}")
        if dut.pics("PICS_PARTIAL_READ"):
            r = dut.session.read_partial(bt(64), off, size)
            dut.need(r.ok, f"BT64 {path} read answered {r.describe()}")
            data = r.data
        else:
            data = dut.read_bytes(bt(64))[off:off + size]
        try:
            block = s.decode_field(path, data, dims)
        except (DecodeError, TableError) as e:
            dut.bad(f"BT64 {path} does not decode: {e}")
    return LoadProfile(bt61, st, block, bt61.sets[0].max_int_time * 60)


# --------------------------------------------------------------------------------------------------
# event log


def mark_log_read(dut: Dut, entries: int) -> ProcedureResponse:
    """BP05 (update last read entry) for the history log (ASM-PRC-02, pixit.bp05_list_codes)."""
    return dut.run(BP05_UPDATE_LAST_READ, {"list": dut.pixit.bp05_list_codes.history_log, "entries_read": entries},
                   what=f"BP05 history log, {entries} entries read")


def ensure_log_unread(dut: Dut, n: int) -> Record:
    """Make BT74 hold at least ``n`` unread entries if the DUT lets the tester cause events: unknown procedures
    (many DUTs log every procedure call, C12.19 event 9), else a clock set to itself (events 3/4). Returns the
    header; the caller requires what it needs."""
    h = dut.log_header()
    for _ in range(n + 2):
        if h.nbr_unread_entries >= n:
            return h
        dut.call(dut.unlisted_procedure(True))
        h2 = dut.log_header()
        if h2.last_entry_seq_nbr == h.last_entry_seq_nbr:
            h = h2
            break
        h = h2
    if h.nbr_unread_entries < n and dut.pics("PICS_SET_TIME") and dut.lists_procedure(BP10_SET_DATE_TIME):
        for _ in range(n):
            with dut.clock_kept():
                pass
            h = dut.log_header()
            if h.nbr_unread_entries >= n:
                break
    return h


def unread_entries(dut: Dut) -> tuple[Record, list[Record]]:
    """BT74 header and its unread entries (the newest NBR_UNREAD_ENTRIES), oldest first."""
    h = dut.log_header()
    capacity = dut.dims("bt71").bt71.nbr_history_entries
    n = min(h.nbr_unread_entries, h.nbr_valid_entries, capacity)
    if not n:
        return h, []
    if h.order == 1:
        return h, dut.log_entries(range(n - 1, -1, -1))
    return h, dut.log_entries([(h.last_entry_element - k) % capacity for k in range(n)][::-1])


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


@contextlib.contextmanager
def mfg_latch_kept(dut: Dut, item: str) -> Iterator[bool]:
    """Note whether BT03 manufacturer item ``item`` is set; if it was clear and the block set it, clear it
    again with BP08 (which the DUT lists) so the DUT is left as found."""
    was = MFG_ITEM[item] in dut.bt03_mfg()
    try:
        yield was
    finally:
        if not was and dut.lists_procedure(BP08_CLEAR_MFG_STATUS) and MFG_ITEM[item] in dut.bt03_mfg():
            c = dut.call(BP08_CLEAR_MFG_STATUS)
            dut.tc.observe(f"BT03 '{item}' cleared again with BP08: {c.describe()}")


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


def wait_adjustment(dut: Dut, delta: int, *, poll_s: float = 15.0) -> tuple[list[int], bool]:
    """ET54.71 polled until it reads 2 (done): (values seen, done). The slew is at least 1 s per minute, so it
    ends within |delta| minutes."""
    statuses: list[int] = []
    bound = abs(delta) * 60 + 2 * poll_s
    start = dut.session.clock.now()
    while True:
        s = slew_status(dut)
        statuses.append(s)
        if s == 2:
            return statuses, True
        if dut.session.clock.now() - start >= bound:
            return statuses, False
        dut.wait(poll_s, f"EP16 adjustment of {delta:+d} s in progress (ET54.71 = {s})")


def adjust_clock(dut: Dut, delta: int, *, poll_s: float = 15.0) -> Slew:
    """EP16 by ``delta`` seconds, then wait until ET54.71 reads 2 (done)."""
    c = start_adjustment(dut, delta)
    if not (c.echoed and c.result is not None and c.result.result == OK):
        return Slew(c, [], False)
    statuses, done = wait_adjustment(dut, delta, poll_s=poll_s)
    return Slew(c, statuses, done)


# --------------------------------------------------------------------------------------------------
# pending tables (PICS_PENDING)


def write_pending(dut: Dut, table_id: int, value: Record, ped: Ped) -> Response:
    """Full write of the pending copy of ``table_id`` (PED + full image); nothing judged."""
    dims = dut.dims(*ROLES_FOR.get(table_id, ()))
    image = schema(pending(table_id)).encode(Record(ped=ped, **value), dims)
    return dut.session.write(pending(table_id), image)


def write_table(dut: Dut, table_id: int, value: Record) -> Response:
    dims = dut.dims(*ROLES_FOR.get(table_id, ()))
    return dut.session.write(table_id, schema(table_id).encode(value, dims))


def pending_records(dut: Dut) -> list[Record]:
    """BT04 activation records that are still pending."""
    return [a for a in dut.read(bt(4)).activations if a.still_pending]


def is_pending(dut: Dut, table_id: int, ped: Ped | None = None) -> bool:
    return any(a.table_number == table_id and (ped is None or a.ped == ped) for a in pending_records(dut))


def restore_table(dut: Dut, table_id: int, value: Record) -> None:
    """Write ``value`` back into the table when it reads otherwise (full write); INCONC if that fails."""
    if dut.read(table_id) == value:
        return
    r = write_table(dut, table_id, value)
    if not r.ok or dut.read(table_id) != value:
        dut.tc.record(Verdict.INCONC, f"could not restore {table_name(table_id)} ({r.describe()})")
    else:
        dut.tc.observe(f"{table_name(table_id)} restored")


@contextlib.contextmanager
def tables_kept(dut: Dut, *table_ids: int) -> Iterator[dict[int, Record]]:
    """Read the tables, run the block, then write back any whose content changed (full writes)."""
    before = {t: dut.read(t) for t in table_ids}
    try:
        yield before
    finally:
        for t, value in before.items():
            restore_table(dut, t, value)


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
    if dut.lists_table(et(3)) and dut.lists_write(et(3)):
        et03 = dut.read(et(3))
        out.append(PendingChange(et(3), et03, Record(et03, utility_serial_number=new_utility_serial(
            et03.utility_serial_number, "PENDING"))))
    if dut.lists_table(bt(54)) and dut.lists_write(bt(54)):
        bt54 = dut.read(bt(54))
        out.append(PendingChange(bt(54), bt54, Record(bt54, calendar_id=(bt54.calendar_id + 1) & 0xFFFFFFFF)))
    dut.tc.require(len(out) >= 2, "the DUT lists fewer than two of ET03 and BT54 as writable: no two tables to "
                   "put in pending form")
    return out


def same_content(a: Record, b: Record) -> bool:
    """Table contents equal, padding of character fields aside."""
    def norm(v: Any) -> Any:
        return v.rstrip("\0") if isinstance(v, str) else v
    return a.keys() == b.keys() and all(norm(a[k]) == norm(b[k]) for k in a)


def pend(dut: Dut, change: PendingChange, ped: Ped) -> None:
    """Write the pending copy with ``ped`` and require BT04 to list it (INCONC otherwise)."""
    r = write_pending(dut, change.table_id, change.changed, ped)
    dut.need(r.ok, f"write of the pending {change.name} ({table_name(pending(change.table_id))}) answered "
                   f"{r.describe()}")
    dut.need(is_pending(dut, change.table_id, ped), f"BT04 does not list {change.name} as pending after the "
                   "pending write (REQ-TBL-013)")


@contextlib.contextmanager
def pending_kept(dut: Dut, changes: list[PendingChange]) -> Iterator[None]:
    """Run the block; then clear what is still pending with the scenario PEDs (BP15, else BP14) and write the
    tables back to their content before."""
    try:
        yield
    finally:
        unpend(dut, changes)


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
        restore_table(dut, c.table_id, c.before)


# --------------------------------------------------------------------------------------------------
# key change (pixit.key_change, ASM-MGT-03 / ASM-DEV-03)


def full_key(dut: Dut) -> bytes:
    """The full-access key the session uses by default (INCONC when the plan's default key is another)."""
    sec = dut.plan.security
    default = sec.key()
    dut.tc.require(default.access == "full", f"the plan's default key {default.name!r} is not the full-access key")
    return default.secret.reveal()


def require_ep80(dut: Dut) -> None:
    dut.tc.require(dut.pixit.key_change == "ep80", f"pixit.key_change = {dut.pixit.key_change}: the suite drives "
                   "only the EP80 key change (ASM-DEV-03); a 14908-1 network-management key update is not "
                   "implemented by the tester (ASM-MGT-03)")
    dut.require_procedure(EP80_KEY_CHANGE, "key change (pixit.key_change = ep80)")


@dataclass(frozen=True)
class KeyChange:
    write: Response
    result: ProcedureResponse | None
    read_with: str  # which key read the BT08 that echoes the call: "new", "old" ("" when none did)

    @property
    def done(self) -> bool:
        return self.write.ok and self.result is not None and self.result.result == OK

    def describe(self) -> str:
        if not self.write.ok:
            return f"EP80 write answered {self.write.describe()}"
        if self.result is None:
            return "no BT08 read (with the new key nor the old one) shows the result of the EP80 call"
        return f"EP80 result {self.result.result} ({self.result.meaning}), BT08 read with the {self.read_with} key"


def change_key(dut: Dut, level: str, new: bytes, *, under: bytes | None = None, **kw: Any) -> KeyChange:
    """EP80 (ASM-DEV-03): change the ``level`` key to ``new``; the request is protected with ``under`` (default:
    the session key). When the session's own key changes, the new key applies from the next request, so BT08 is
    read with it first, then with the old one."""
    params = EP80_PARAMS.encode({"key_id": EP80_KEY_IDS[level], "key": new}, dut.dims())
    psn = dut.next_psn()
    dut.session.psn = psn
    old_kw = {"key": under} if under is not None else {}
    w = dut.session.write(bt(7), encode_procedure_initiate(EP80_KEY_CHANGE, psn, params), **old_kw, **kw)
    if not w.ok:
        return KeyChange(w, None, "")
    attempts = [("new", {"key": new}), ("old", old_kw)] if level == "full" else [("old", old_kw)]
    for label, key_kw in attempts:
        try:
            r = dut.session.read(bt(8), **key_kw)
        except SecurityError:
            continue
        if not r.ok:
            continue
        try:
            res = decode_procedure_response(r.data)
        except DecodeError:
            continue
        if res.number == EP80_KEY_CHANGE and res.psn == psn:
            return KeyChange(w, res, label)
    return KeyChange(w, None, "")


def key_works(dut: Dut, key: bytes | None) -> Response:
    """A read of BT01 protected with ``key`` (None: the session key)."""
    return dut.session.read(bt(1), **({"key": key} if key is not None else {}))


def key_accepted(dut: Dut, key: bytes) -> bool:
    """Whether a BT01 read under ``key`` is executed and answered under it (an answer that does not verify
    under it counts as not accepted)."""
    try:
        return key_works(dut, key).ok
    except SecurityError:
        return False


def put_key_back(dut: Dut, original: bytes, candidates: list[bytes]) -> None:
    """If the session's full key no longer works but one of ``candidates`` does, change the full key back to
    ``original`` under it (EP80); INCONC if the DUT is left with another key."""
    if key_accepted(dut, original):
        return
    for k in candidates:
        if key_accepted(dut, k):
            kc = change_key(dut, "full", original, under=k)
            if key_accepted(dut, original):
                dut.tc.observe(f"full key changed back to the plan's key ({kc.describe()})")
                return
            dut.tc.record(Verdict.INCONC, f"could not change the full key back ({kc.describe()})")
            return
    dut.tc.record(Verdict.INCONC, "the DUT answers neither the plan's full key nor the keys the case used: the "
                  "key must be restored out of band")


def new_key(dut: Dut, old: bytes) -> bytes:
    k = bytes(dut.tc.rng.randrange(256) for _ in range(len(old)))
    return k if k != old else bytes(b ^ 0xFF for b in k)


# --------------------------------------------------------------------------------------------------
# broadcast (PICS_BROADCAST; ASM-MGT-01, ASM-SEC-10)


def plan_broadcast_key(dut: Dut) -> bytes:
    keys = dut.plan.security.by_access("broadcast")
    dut.tc.require(keys, "the plan holds no key of access level 'broadcast'")
    return keys[0].secret.reveal()


def broadcast_session(dut: Dut, key: bytes) -> Any:
    """A session sending domain-wide broadcasts (request/response service) protected with ``key``."""
    from osgp.transaction import ToBroadcast

    return derived_session(dut.session, dut=ToBroadcast(0), profile=profile_for(dut.plan, [key]))


def next_broadcast_seq(dut: Dut, unicast_key: bytes | None = None) -> int:
    """ET04.82 (secure broadcast base) + 1: the next broadcast sequence number the DUT accepts (ASM-SEC-10);
    ET04 is read by unicast under ``unicast_key`` (default: the session key)."""
    dut.require_table(et(4), "ET04.82 broadcast sequence base")
    kw = {"key": unicast_key} if unicast_key is not None else {}
    return (dut.read_field(et(4), "broadcast_base", **kw) + 1) % (1 << 32)


def broadcast_read(dut: Dut, key: bytes, table_id: int = bt(1), *, unicast_key: bytes | None = None
                   ) -> Response | None:
    """A domain-wide broadcast read under ``key`` with the next broadcast sequence number: the answer, or None
    when none comes (the DUT need not answer a broadcast, ASM-MGT-01)."""
    seq = next_broadcast_seq(dut, unicast_key)
    try:
        return broadcast_session(dut, key).read(table_id, seq=seq, resync=False)
    except DeviceTimeout:
        return None
    except SecurityError:
        return None


def broadcast_write(dut: Dut, key: bytes, table_id: int, data: bytes) -> Response | None:
    seq = next_broadcast_seq(dut)
    try:
        return broadcast_session(dut, key).write(table_id, data, seq=seq, resync=False)
    except DeviceTimeout:
        return None


# --------------------------------------------------------------------------------------------------
# firmware upgrade (pixit.firmware_upgrade = et100, ASM-MGT-02 / ASM-DEV-04)


def require_et100(dut: Dut) -> None:
    dut.tc.require(dut.pixit.firmware_upgrade == "et100", f"pixit.firmware_upgrade = {dut.pixit.firmware_upgrade}: "
                   "the upgrade is done out of band, the tester cannot transfer an image (ASM-MGT-02)")
    dut.require_table(ET100_FW_HEADER, "firmware image header (ASM-DEV-04)")
    dut.require_table(ET101_FW_IMAGE, "firmware image data (ASM-DEV-04)")
    dut.require_procedure(EP81_FIRMWARE_ACTIVATE, "firmware activation (ASM-DEV-04)")


def image_mac(image: bytes, key: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    mac = CMAC(algorithms.AES(key))
    mac.update(image)
    return mac.finalize()


def make_image(dut: Dut, size: int = 600) -> bytes:
    return bytes(dut.tc.rng.randrange(256) for _ in range(size))


def transfer_image(dut: Dut, image: bytes, version: int, *, crc: int | None = None, mac: bytes | None = None) -> None:
    """Write the image into ET101 (partial writes of at most pixit.max_apdu - 40 bytes) and its header into
    ET100 (INCONC if the DUT refuses a write)."""
    chunk = max(16, min(128, dut.pixit.max_apdu - 40))
    if dut.pics("PICS_PARTIAL_WRITE"):
        for off in range(0, len(image), chunk):
            r = dut.session.write_partial(ET101_FW_IMAGE, off, image[off:off + chunk])
            dut.need(r.ok, f"ET101 image write at {off} answered {r.describe()}")
    else:
        dut.tc.require(len(image) <= chunk, "the DUT has no partial write and the image needs several writes")
        r = dut.session.write(ET101_FW_IMAGE, image)
        dut.need(r.ok, f"ET101 image write answered {r.describe()}")
    if mac is None:
        mac = image_mac(image, full_key(dut)) if dut.plan.security.mode == "aes128" else bytes(16)
    head = ET100_HEADER.encode({"image_length": len(image), "image_crc": crc16(image) if crc is None else crc,
                                "version": version, "image_mac": mac, "status": 0}, dut.dims())
    r = dut.session.write(ET100_FW_HEADER, head)
    dut.need(r.ok, f"ET100 header write answered {r.describe()}")


def firmware_header(dut: Dut) -> Record:
    """ET100 decoded with the ASM-DEV-04 layout."""
    r = dut.session.read(ET100_FW_HEADER)
    dut.need(r.ok, f"ET100 read answered {r.describe()}")
    try:
        return ET100_HEADER.decode(r.data, dut.dims())
    except (DecodeError, EncodeError) as e:
        dut.bad(f"ET100 does not decode: {e}")


def firmware_status(dut: Dut) -> int:
    return firmware_header(dut).status


def upgrade(dut: Dut, version: int, *, crc: int | None = None, mac: bytes | None = None,
            image: bytes | None = None) -> Call:
    """Transfer an image announcing ``version`` and activate it (EP81); the activation is not judged."""
    transfer_image(dut, image if image is not None else make_image(dut), version, crc=crc, mac=mac)
    return dut.call(EP81_FIRMWARE_ACTIVATE)


def next_version(fw: tuple[int, int, int]) -> tuple[int, int, int]:
    x, yy, zz = fw
    return (x, yy, zz + 1) if zz < 31 else (x, (yy + 1) % 100, 0)


@contextlib.contextmanager
def firmware_kept(dut: Dut) -> Iterator[Identity]:
    """Note the running firmware; afterwards, if BT01 shows another version, upgrade back to it, and clear the
    'code bank changed' alarm again if it was clear before."""
    before = read_identity(dut)
    with mfg_latch_kept(dut, "code_bank_changed"):
        try:
            yield before
        finally:
            if read_identity(dut).firmware != before.firmware:
                c = upgrade(dut, firmware_word(before.firmware))
                back = read_identity(dut).firmware
                if back != before.firmware:
                    dut.tc.record(Verdict.INCONC, f"could not put firmware {before.firmware} back "
                                  f"({c.describe()}; BT01 shows {back})")
                else:
                    dut.tc.observe(f"firmware {back[0]}.{back[1]:02d}.{back[2]:02d} put back (its image CRC "
                                   "differs: the original image is not available to the tester)")


def describe_result(res: ProcedureResponse | None) -> str:
    return "no result" if res is None else f"{procedure_name(res.number)} result {res.result} ({res.meaning})"

