"""Metering scenarios (UC_READ_IDENTITY, UC_READ_BILLING, UC_LOAD_PROFILE, UC_EVENT_LOG, UC_DEMAND_RESET, and
the PRC/MGT test cases that reuse them): identity and nameplate, billing registers, load profile, event log.

Each function acts through a :class:`osgpct.dut.Dut` and returns what it saw; it opens no test step (steps do not
nest) and judges only its own preconditions (INCONC). The caller judges the DUT.
"""

from __future__ import annotations

from dataclasses import dataclass

from osgp.app import bt, et
from osgp.tables import ProcedureResponse, Record
from osgp.tables.procedures import BP05_UPDATE_LAST_READ, BP09_REMOTE_RESET, BP10_SET_DATE_TIME
from osgpct.dut import (
    Dut,
    new_entries,
)

#: bit 11 of a BT74 event code: a manufacturer-defined event (C12.19 STD_VS_MFG_FLAG). The event IDs are
#: meter-specific: "Consult the documentation for your meter for a list of the event IDs" (OPG:2630-2632)
MFG_EVENT_FLAG = 0x800

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



def read_identity(dut: Dut) -> Identity:
    """BT01 (manufacturer, model, firmware, serial), ET03 (utility serial, image CRC) and ET04 (program id,
    IDT version) where BT00 lists them."""
    b = dut.read_decoded(bt(1))
    fw = (b.fw_major, b.fw_minor, b.fw_build)
    et03 = dut.read_decoded(et(3)) if dut.listed(et(3)) else None
    pid = idt = None
    if dut.listed(et(4)):
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
    bt22 = dut.read_decoded(bt(22)) if dut.listed(bt(22)) else Record()
    return Billing(dims.get("bt21"), bt22, dut.read_decoded(bt(23)))  # type: ignore[arg-type]


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
    return dut.read_decoded(bt(63)).sets[0]


def read_load_profile(dut: Dut) -> LoadProfile:
    """BT61 dimensions, BT63 status of data set 1 and the newest BT64 block (partial read of that block)."""
    dims = dut.dims("bt61")
    bt61 = dims.get("bt61")
    dut.tc.require(bt61 is not None and bt61.sets, "BT61 describes no load-profile data set")
    st = lp_status(dut)
    block = None
    if st.nbr_valid_blocks:
        block = dut.read_field(bt(64), f"blocks[{st.last_block_element}]")
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


def logged_since(dut: Dut, before: Record) -> list[Record]:
    """The BT74 entries logged after header ``before``, oldest first. The numbering is shared with ET79, so BT74
    may skip numbers (REQ-TBL-051, OPG:2600-2604): the entries are read newest first, as many as numbers were
    used since, and kept while their number is newer than ``before``'s. INCONC when the newest entry does not
    carry the header's number (the log cannot be located; TC_TBL_LOG_BV_01/02 judge it)."""
    h = dut.log_header()
    capacity = dut.dims("bt71").bt71.nbr_history_entries
    span = new_entries(before, h)
    count = min(span, h.nbr_valid_entries, capacity)
    if not count or span >= 1 << 16:
        return []
    if h.order == 1:  # descending list: the newest entry is element 0 [C12.19 ORDER]
        indices = list(range(count))
    else:
        indices = [(h.last_entry_element - k) % capacity for k in range(count)]
    entries = dut.log_entries(indices)  # newest first
    newest = h.last_entry_seq_nbr & 0xFFFF
    first = entries[0].get("seq_nbr")
    dut.tc.require(first is None or first == newest, f"the newest BT74 entry (element {indices[0]}) carries "
                   f"sequence number {first}, the header {h.last_entry_seq_nbr}: the new entries cannot be located "
                   "(REQ-TBL-053, judged by TC_TBL_LOG_BV_01/02)")
    out, last_age = [], -1
    for e in entries:
        s = e.get("seq_nbr")
        age = 0 if s is None else (newest - s) % (1 << 16)
        if age >= span or age <= last_age:
            break
        out.append(e)
        last_age = age
    return out[::-1]


def manufacturer_events(entries: list[Record]) -> list[Record]:
    """Entries whose event code has bit 11 set (manufacturer-defined)."""
    return [e for e in entries if e.event_code & MFG_EVENT_FLAG]
