"""Procedures run through BT07 (full write only) with their result posted in BT08.

Numbers: BPn = n, EPn = 2048 + n. Parameter layouts of BP04/05/10/13/15 and EP02/EP16 follow the
register (ASM-PRC-02..06); the vendor procedures for clear alarms, key change, firmware activation,
security-mode switch and clear history log are our own (ASM-DEV-03..05).

Result codes (C12.19): 0 completed, 1 accepted not fully completed, 2 invalid parameter,
3 conflicts with the device setup, 4 timing constraint, 5 no authorization, 6 unrecognized.
"""

from __future__ import annotations

import calendar
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from osgp.tables.procedures import (
    BP03_CLEAR_DATA,
    BP04_RESET_LIST_POINTERS,
    BP05_UPDATE_LAST_READ,
    BP07_CLEAR_STD_STATUS,
    BP08_CLEAR_MFG_STATUS,
    BP09_REMOTE_RESET,
    BP10_SET_DATE_TIME,
    BP12_ACTIVATE_ALL_PENDING,
    BP13_ACTIVATE_SPECIFIC_PENDING,
    BP14_CLEAR_ALL_PENDING,
    BP15_CLEAR_SPECIFIC_PENDING,
)

from . import faults as F
from . import variants as V
from .meter import (
    EV_DATA_CLEARED,
    EV_HISTORY_LOG_CLEARED,
    EV_KEY_CHANGED,
    EV_PENDING_CLEARED,
    EV_PROCEDURE_INVOKED,
    EV_RESET_LIST_POINTERS,
    EV_SECURITY_MODE_CHANGED,
    EV_UPDATE_LIST_POINTERS,
    Registers,
)
from .ports import MAX_RESPONSE_DATA

if TYPE_CHECKING:
    from .config import DeviceConfig
    from .firmware import Firmware
    from .meter import Meter
    from .ports import Caller, SecurityControl, Switches

EP = 2048

EP_RELAY = EP + 2  # ASM-PRC-06
EP_CLEAR_ALARMS = EP + 3  # MEP p.137
EP_CLOCK_DELTA = EP + 16  # ASM-PRC-05
EP_KEY_CHANGE = EP + 80  # ASM-DEV-03
EP_FIRMWARE_ACTIVATE = EP + 81  # ASM-DEV-04
EP_SECURITY_MODE = EP + 82  # ASM-DEV-05
EP_CLEAR_HISTORY = EP + 83  # ASM-DEV-05

MAX_PARAMS = 255  # BT00.9 MAX_PROC_PARM_LENGTH
LIST_HISTORY, LIST_SELF_READ, LIST_LOAD_PROFILE = 1, 2, 3  # ASM-PRC-02

# Procedures the read-only key may run when ET04.71.0 allows it [MEP p.54].
READ_KEY_PROCEDURES = frozenset({BP10_SET_DATE_TIME, EP_CLOCK_DELTA})

OK, PARTIAL, BAD_PARAM, CONFLICT, TIMING, NO_AUTH, UNKNOWN = range(7)


@dataclass
class Outcome:
    result: int
    data: bytes = b""


class Procedures:
    """`control` changes keys and the security mode (the device rebuilds its profiles)."""

    def __init__(self, config: DeviceConfig, switches: Switches, meter: Meter, control: SecurityControl,
                 firmware: Firmware) -> None:
        self.config = config
        self.switches = switches
        self.meter = meter
        self.control = control
        self.firmware = firmware
        self.last_psn: int | None = None
        # BT08 image content: procedure id (with selector bits cleared), PSN, result, response data
        self.response: tuple[int, int, int, bytes] = (0, 0, 0, b"")
        self._table: dict[int, Callable[[bytes, Caller, float], Outcome]] = {
            BP03_CLEAR_DATA: self.clear_data,
            BP04_RESET_LIST_POINTERS: self.reset_list_pointers,
            BP05_UPDATE_LAST_READ: self.update_last_read,
            BP07_CLEAR_STD_STATUS: self.clear_std_status,
            BP08_CLEAR_MFG_STATUS: self.clear_mfg_status,
            BP09_REMOTE_RESET: self.remote_reset,
            BP10_SET_DATE_TIME: self.set_date_time,
            BP12_ACTIVATE_ALL_PENDING: self.activate_all,
            BP13_ACTIVATE_SPECIFIC_PENDING: self.activate_specific,
            BP14_CLEAR_ALL_PENDING: self.clear_all_pending,
            BP15_CLEAR_SPECIFIC_PENDING: self.clear_specific_pending,
            EP_RELAY: self.relay,
            EP_CLEAR_ALARMS: self.clear_alarms,
            EP_CLOCK_DELTA: self.clock_delta,
            EP_KEY_CHANGE: self.key_change,
            EP_FIRMWARE_ACTIVATE: self.firmware_activate,
            EP_SECURITY_MODE: self.security_mode,
            EP_CLEAR_HISTORY: self.clear_history,
        }
        if switches.has_variant(V.DISCONNECT_OTHER_NUMBER):
            self._table[V.OTHER_DISCONNECT_PROCEDURE] = self._table.pop(EP_RELAY)
        if not config.capabilities.relay:
            self._table.pop(EP_RELAY, None)
            self._table.pop(V.OTHER_DISCONNECT_PROCEDURE, None)
        if not config.capabilities.firmware_upgrade:
            del self._table[EP_FIRMWARE_ACTIVATE]

    @property
    def implemented(self) -> frozenset[int]:
        return frozenset(self._table)

    def invoke(self, image: bytes, caller: Caller, now: float) -> int:
        """A full write of BT07: returns the service response code (0x00, 0x03 or 0x04)."""
        if len(image) < 3:
            return 0x04  # no room for number and PSN: nothing to run
        word = image[0] | image[1] << 8
        number, selector, psn, params = word & 0x0FFF, word >> 12, image[2], bytes(image[3:])
        if caller.level != "full" and not self._read_key_may(number) and not self.switches.has(F.READ_KEY_CAN_WRITE):
            return 0x03
        if psn == self.last_psn and not self.switches.has(F.REPEATED_PSN_EXECUTED):
            return 0x04  # two consecutive PSNs must differ [MEP p.50]
        self.last_psn = psn
        run = self._table.get(number)
        if len(params) > MAX_PARAMS:
            out = Outcome(BAD_PARAM)  # longer than BT00 MAX_PROC_PARM_LENGTH: not run (REQ-PRC-014)
        elif run is None:
            out = Outcome(OK if self.switches.has(F.UNKNOWN_PROCEDURE_NOT_6) else UNKNOWN)
        else:
            out = run(params, caller, now)
        self.meter.event(now, EV_PROCEDURE_INVOKED, number)
        posted_psn = (psn + 1) & 0xFF if self.switches.has(F.PROC_RESULT_WRONG_PSN) else psn
        data = out.data[: MAX_RESPONSE_DATA]
        # Selector: 0 post on completion, 1 post only on exception, 2 never post, 3 post (synchronous).
        if selector in (0, 3) or (selector == 1 and out.result != OK):
            self.response = (number, posted_psn, out.result, data)
        return 0x00

    def _read_key_may(self, number: int) -> bool:
        return number in READ_KEY_PROCEDURES and self.config.security.rk_bp10_ep16

    # --- basic procedures ---
    def clear_data(self, p: bytes, c: Caller, now: float) -> Outcome:
        m = self.meter
        m.advance(now)
        if not self.switches.has_variant(V.BP03_KEEPS_TOTALS):  # BT23 totals "are never reset in the field" [OPG:1109]
            m.registers = Registers(tiers=[[0.0] * 4 for _ in m.registers.tiers])
        m.lp.clear()
        m.event(now, EV_DATA_CLEARED, 0)
        return Outcome(OK)

    def reset_list_pointers(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 1:
            return Outcome(BAD_PARAM)
        return self._update_list(p[0], None, now, EV_RESET_LIST_POINTERS)

    def update_last_read(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 3:
            return Outcome(BAD_PARAM)
        return self._update_list(p[0], p[1] | p[2] << 8, now, EV_UPDATE_LIST_POINTERS)

    def _update_list(self, which: int, read: int | None, now: float, event: int) -> Outcome:
        m = self.meter
        if which == LIST_HISTORY:
            target = m.log
        elif which == LIST_LOAD_PROFILE and m.lp_enabled:
            target = m.lp
        elif which == LIST_SELF_READ:
            # no self-read list (BT26) on this device
            return Outcome(BAD_PARAM if self.switches.has_variant(V.MISSING_LIST_RESULT_2) else CONFLICT)
        else:
            return Outcome(BAD_PARAM)
        if read is not None or not self.switches.has_variant(V.BP04_OVERFLOW_ONLY):
            target.unread = 0 if read is None else max(target.unread - read, 0)
        target.overflow = False
        m.event(now, event, which)
        return Outcome(OK)

    def clear_std_status(self, p: bytes, c: Caller, now: float) -> Outcome:
        self.meter.std_alarms = 0
        return Outcome(OK)

    def clear_mfg_status(self, p: bytes, c: Caller, now: float) -> Outcome:
        m = self.meter
        m.mfg_alarms = bytearray(len(m.mfg_alarms))
        m.relay.changed = False
        return Outcome(OK)

    def remote_reset(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 1 or p[0] & 0x80:
            return Outcome(BAD_PARAM)
        if p[0] & 0x04:
            return Outcome(CONFLICT)  # no seasons configured: a season change cannot be done
        if p[0] & 0x01:
            self.meter.demand_reset(now)
        if p[0] & 0x02:
            self.meter.self_read(now)
        return Outcome(OK)

    def set_date_time(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 7:
            return Outcome(BAD_PARAM)
        mask, (yy, mo, dd, hh, mi, ss) = p[0], p[1:7]
        year = 2000 + yy if yy < 90 else 1900 + yy
        date_ok = 1 <= mo <= 12 and yy <= 99 and 1 <= dd <= calendar.monthrange(year, mo)[1]
        time_ok = hh <= 23 and mi <= 59 and ss <= 59
        # only the parts SET_MASK selects are checked (and applied) [ASM-PRC-03]
        valid = mask & 0x03 and (date_ok or not mask & 2) and (time_ok or not mask & 1)
        if not valid:
            return Outcome(OK if self.switches.has(F.BAD_PARAMETERS_ACCEPTED) else BAD_PARAM)
        if self.switches.has(F.CLOCK_NOT_SET_BY_BP10):
            return Outcome(OK)
        m = self.meter
        current = m.utc(now)
        day = current - current % 86400
        local = self.switches.has_variant(V.BP10_LOCAL_TIME)
        if local:
            current = m.local(now)  # the parameters are local time: kept parts and the result too
            day = current - current % 86400
        date_part = calendar.timegm((year, mo, dd, 0, 0, 0)) if mask & 2 else day
        time_part = hh * 3600 + mi * 60 + ss if mask & 1 else current - day
        m.set_clock(now, date_part + time_part - (m.timezone_s if local else 0))
        return Outcome(OK)

    def activate_all(self, p: bytes, c: Caller, now: float) -> Outcome:
        for entry in [e for e in self.meter.pending if e.still_pending]:
            self.meter.activate(now, entry)
        return Outcome(OK)

    def activate_specific(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 6:
            return Outcome(BAD_PARAM)
        matches = [e for e in self.meter.pending if e.still_pending and e.ped == p[:6]]
        if not matches:
            return Outcome(PARTIAL)  # nothing matches (as documented for the PED-matching clear)
        for entry in matches:
            self.meter.activate(now, entry)
        return Outcome(OK)

    def clear_all_pending(self, p: bytes, c: Caller, now: float) -> Outcome:
        for entry in self.meter.pending:
            if entry.still_pending:
                entry.still_pending = False  # the pending data stays [OPG p.12]
                self.meter.event(now, EV_PENDING_CLEARED, entry.table_id)
        return Outcome(OK)

    def clear_specific_pending(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 6:
            return Outcome(BAD_PARAM)
        matches = [e for e in self.meter.pending if e.still_pending and e.ped == p[:6]]
        for entry in matches:
            entry.still_pending = False
            self.meter.event(now, EV_PENDING_CLEARED, entry.table_id)
        return Outcome(OK if matches else PARTIAL)  # 1 = no matching pending table [OPG p.12]

    # --- extended procedures ---
    def relay(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 1 or p[0] not in (0, 1):
            return Outcome(BAD_PARAM)
        m = self.meter
        if not m.relay_spacing_ok(now):  # >= 10 s between operations [MEP p.134]
            return Outcome(CONFLICT if self.switches.has_variant(V.RELAY_SPACING_RESULT_3) else TIMING)
        if self.switches.has(F.RELAY_IGNORES_DISCONNECT):
            return Outcome(OK)
        m.operate_relay(now, close=p[0] == 1)
        return Outcome(OK)

    def clear_alarms(self, p: bytes, c: Caller, now: float) -> Outcome:
        self.clear_std_status(p, c, now)
        return self.clear_mfg_status(p, c, now)

    def clock_delta(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 4:
            return Outcome(BAD_PARAM)
        (delta,) = struct.unpack_from("<i", p)
        if abs(delta) > 86400:
            return Outcome(BAD_PARAM)  # a slew of more than a day would take days: use BP10
        if self.meter.slew_status == 1:
            return Outcome(CONFLICT)  # a slew is still running
        self.meter.start_slew(now, float(delta))
        return Outcome(OK)

    def key_change(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) != 17 or p[0] not in (0, 1, 2):
            return Outcome(BAD_PARAM)
        if not (c.encrypted or c.via_aes):
            return Outcome(NO_AUTH)  # a key never travels in clear (ASM-DEV-03)
        level = ("full", "read", "broadcast")[p[0]]
        self.control.change_key(level, bytes(p[1:17]))
        self.meter.event(now, EV_KEY_CHANGED, p[0])
        return Outcome(OK)

    def firmware_activate(self, p: bytes, c: Caller, now: float) -> Outcome:
        return Outcome(self.firmware.activate(now))

    def security_mode(self, p: bytes, c: Caller, now: float) -> Outcome:
        if len(p) < 1 or p[0] not in (0, 2):
            return Outcome(BAD_PARAM)
        if not c.via_aes:
            return Outcome(NO_AUTH)  # only through the AES-128 path [MEP-DG ET04.127]
        if p[0] == 2 and not self.config.capabilities.aes:
            return Outcome(CONFLICT)
        self.control.set_security_mode("aes128" if p[0] == 2 else "rc4")
        self.meter.event(now, EV_SECURITY_MODE_CHANGED, p[0])
        return Outcome(OK)

    def clear_history(self, p: bytes, c: Caller, now: float) -> Outcome:
        self.meter.log.clear()
        self.meter.event(now, EV_HISTORY_LOG_CLEARED, 0)
        return Outcome(OK)
