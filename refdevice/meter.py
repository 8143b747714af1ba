"""The metering side of the reference device: clock, energy registers, load profile, history log,
relay and pending tables, all advanced by the time handed in (`now`, seconds of the device clock).

No I/O and no wall clock: `Meter.advance(now)` moves everything from the last `now` to this one,
closing load-profile intervals and activating pending tables at the UTC instants they fall due.
Event numbers are C12.19 HISTORY_CODEs (termineter C1219_EVENT_CODES); manufacturer events have
bit 11 set and are registered in ASM-DEV-07.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import DeviceConfig

# C12.19 standard history codes [C1219-T]
EV_POWER_DOWN = 1
EV_POWER_UP = 2
EV_TIME_CHANGED_OLD = 3
EV_TIME_CHANGED_NEW = 4
EV_PROCEDURE_INVOKED = 9
EV_TABLE_WRITTEN = 10
EV_RESET_LIST_POINTERS = 14
EV_UPDATE_LIST_POINTERS = 15
EV_HISTORY_LOG_CLEARED = 16
EV_DEMAND_RESET = 20
EV_SELF_READ = 21
EV_PENDING_ACTIVATED = 28
EV_PENDING_CLEARED = 29
EV_REPROGRAMMED = 36
EV_CONTROL_POINT_COMMAND = 49  # relay operated by a command
# Manufacturer codes (bit 11 set): our own numbering, ASM-DEV-07
MFG = 0x800
EV_AUTH_FAILURE = MFG | 1
EV_KEY_CHANGED = MFG | 2
EV_SECURITY_MODE_CHANGED = MFG | 3
EV_KEY_USAGE_80 = MFG | 4
EV_FIRMWARE_REJECTED = MFG | 5
EV_DATA_CLEARED = MFG | 6
# Manufacturer codes used instead of C12.19 3/4/28 by the mfg_clock_events / mfg_activation_event variants
EV_MFG_TIME_CHANGED_OLD = MFG | 0x10
EV_MFG_TIME_CHANGED_NEW = MFG | 0x11
EV_MFG_PENDING_ACTIVATED = MFG | 0x12

USER_PLC = 0xFFFE  # BT74 user id of a PLC message [OPG p.51]
USER_NONE = 0xFFFF

EPS = 1e-6  # seconds: tolerance when an instant falls due


@dataclass
class Event:
    utc: float
    seq: int  # full LAST_ENTRY_SEQ_NBR value; the record carries the low 16 bits
    user: int
    code: int
    arg: int


@dataclass
class HistoryLog:
    """BT74: circular list; `unread` is decremented by the host through BP05 [OPG p.51]."""

    capacity: int
    slots: list[Event | None] = field(default_factory=list)
    written: int = 0  # entries ever written since the last clear (sets LAST_ENTRY_ELEMENT)
    last_seq: int = 0  # never reset
    unread: int = 0
    overflow: bool = False
    seq_step: int = 1  # 2 under the log_seq_gaps variant (numbering shared with an alternate log)

    def __post_init__(self) -> None:
        if not self.slots:
            self.slots = [None] * self.capacity

    def add(self, utc: float, code: int, arg: int, user: int = USER_PLC) -> None:
        if self.unread >= self.capacity:
            self.overflow = True  # an unread entry is about to be overwritten
        self.last_seq = (self.last_seq + self.seq_step) & 0xFFFFFFFF
        self.slots[self.written % self.capacity] = Event(utc, self.last_seq, user, code, arg & 0xFFFF)
        self.written += 1
        self.unread = min(self.unread + 1, self.capacity)

    @property
    def valid(self) -> int:
        return min(self.written, self.capacity)

    @property
    def last_element(self) -> int:
        return (self.written - 1) % self.capacity if self.written else 0

    def events(self) -> list[Event]:
        """Oldest first."""
        n = self.valid
        start = self.written - n
        return [e for i in range(start, self.written) if (e := self.slots[i % self.capacity])]

    def clear(self) -> None:
        self.slots = [None] * self.capacity
        self.written = self.unread = 0
        self.overflow = False


@dataclass
class Interval:
    values: tuple[int, ...]
    common: int = 0  # common status nibble: bit0 DST, bit1 power fail, bit2 clock fwd, bit3 clock back
    codes: tuple[int, ...] = ()  # per-channel status codes (0 none, 2 partial, 3 long, 4 skipped)


@dataclass
class Block:
    block_id: int  # floor(interval start / block length)
    end_utc: float
    intervals: list[Interval | None]


@dataclass
class LoadProfile:
    """One data set (BT61 set 1): circular list of blocks, intervals on the UTC system clock."""

    nbr_blocks: int
    ints_per_block: int
    interval_s: int
    channels: int = 2
    blocks: list[Block | None] = field(default_factory=list)
    written_blocks: int = 0
    last_block_seq: int = 0
    unread: int = 0
    overflow: bool = False
    next_close: float = 0.0  # UTC end of the interval in progress
    pending_common: int = 0  # common flags gathered for the interval in progress

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks = [None] * self.nbr_blocks

    @property
    def block_s(self) -> int:
        return self.interval_s * self.ints_per_block

    @property
    def current(self) -> Block | None:
        return self.blocks[(self.written_blocks - 1) % self.nbr_blocks] if self.written_blocks else None

    @property
    def valid_blocks(self) -> int:
        return min(self.written_blocks, self.nbr_blocks)

    @property
    def last_element(self) -> int:
        return (self.written_blocks - 1) % self.nbr_blocks if self.written_blocks else 0

    @property
    def valid_intervals(self) -> int:
        """NBR_VALID_INT of the last block."""
        cur = self.current
        if cur is None:
            return 0
        return max((i + 1 for i, iv in enumerate(cur.intervals) if iv is not None), default=0)

    def align(self, utc: float) -> None:
        self.next_close = (math.floor(utc / self.interval_s + EPS) + 1) * self.interval_s

    def record(self, end_utc: float, interval: Interval) -> None:
        start = end_utc - self.interval_s
        block_id = math.floor(start / self.block_s + EPS)
        index = round((start - block_id * self.block_s) / self.interval_s)
        cur = self.current
        # A new block when the day changes, or when a backward clock step revisits a slot.
        if cur is None or cur.block_id != block_id or cur.intervals[index] is not None or any(
                iv is not None for iv in cur.intervals[index + 1:]):
            self._new_block(block_id)
            cur = self.current
            assert cur is not None
        for gap in range(index):  # slots skipped by a forward step in this block
            if cur.intervals[gap] is None and any(iv is not None for iv in cur.intervals[:gap]):
                cur.intervals[gap] = Interval((0,) * self.channels, 0, (4,) * self.channels)
        cur.intervals[index] = interval
        cur.end_utc = end_utc

    def _new_block(self, block_id: int) -> None:
        if self.unread >= self.nbr_blocks:
            self.overflow = True  # a new block would exceed the unread capacity [OPG p.34]
        slot = self.written_blocks % self.nbr_blocks
        self.blocks[slot] = Block(block_id, 0.0, [None] * self.ints_per_block)
        self.written_blocks += 1
        self.last_block_seq = (self.last_block_seq + 1) & 0xFFFFFFFF
        self.unread = min(self.unread + 1, self.nbr_blocks)

    def clear(self) -> None:
        self.blocks = [None] * self.nbr_blocks
        self.written_blocks = self.unread = 0
        self.overflow = False
        self.pending_common = 0


@dataclass
class Registers:
    """BT23 summations (Wh / varh as floats; rendered as INT32) and per-tier blocks."""

    fwd_wh: float = 0.0
    rev_wh: float = 0.0
    imp_varh: float = 0.0
    exp_varh: float = 0.0
    outage_s: float = 0.0
    outage_count: int = 0
    pulse1: int = 0
    pulse2: int = 0
    errors: int = 0
    demand_resets: int = 0
    tiers: list[list[float]] = field(default_factory=list)  # [tier][fwd, rev, imp, exp]

    def summations(self) -> list[int]:
        """The 11 NES summations [OPG p.24]."""
        fwd, rev = int(self.fwd_wh), int(self.rev_wh)
        return [fwd, rev, int(self.imp_varh), int(self.exp_varh), int(self.outage_s), self.outage_count,
                fwd + rev, max(fwd - rev, 0), self.pulse1, self.pulse2, self.errors]

    def tier_summations(self, tier: int) -> list[int]:
        fwd, rev, imp, exp = (int(v) for v in self.tiers[tier])
        return [fwd, rev, imp, exp, 0, 0, fwd + rev, max(fwd - rev, 0), 0, 0, 0]  # 4, 5, 8-10 not per tier


@dataclass
class Pending:
    table_id: int  # base table id (no +4096)
    ped: bytes  # 6 bytes
    data: bytes  # full image of the base table
    activate_at: float | None  # UTC, None = only BP12/BP13
    still_pending: bool = True


@dataclass
class Relay:
    closed: bool = True  # the commanded state (energy stops flowing at the command)
    last_op: float | None = None  # device time of the last operation (spacing rule)
    changed: bool = False  # BT03 mfg "load disconnect has changed state" (latched)
    moving_until: float = 0.0  # end of the opening/closing transient

    def status(self, now: float) -> int:
        """ET23.94: 0 closed, 1 closing, 2 opened, 3 opening."""
        if now < self.moving_until:
            return 1 if self.closed else 3
        return 0 if self.closed else 2


class Meter:
    """Everything that moves with time. `on_activate(pending)` is called when a pending table falls due."""

    def __init__(self, config: DeviceConfig, now: float, *, frozen_clock: bool = False) -> None:
        m = config.metering
        self.config = config
        self.frozen_clock = frozen_clock
        self.last_now = now
        self.base_now = now
        self.base_utc = config.utc_start()
        self.slew_remaining = 0.0  # seconds still to apply by EP16
        self.slew_status = 0  # ET54.71 bits 1..2: 0 none, 1 ongoing, 2 done
        self.slew_applied_interval = 0.0  # ET54.72
        self.registers = Registers(tiers=[[0.0] * 4 for _ in range(m.tiers)])
        self.log = HistoryLog(m.log_entries)
        self.lp = LoadProfile(m.lp_blocks, m.lp_ints_per_block, m.lp_interval_min * 60)
        self.lp.align(self.utc(now))
        self.lp_enabled = config.capabilities.load_profile
        self.relay = Relay()
        self.pending: list[Pending] = []
        self.last_activation_utc = 0.0
        self.tier_switches = sorted(m.tier_switches)
        self.timezone_s = m.timezone_minutes * 60
        self.std_alarms = 0  # BT03 ED_STD_STATUS1 latched bits
        self.mfg_alarms = bytearray(6)  # BT03 ED_MFG_STATUS latched bits
        self.silenced: frozenset[int] = frozenset()  # event codes never logged (event_not_logged fault)
        self.recode: dict[int, int] = {}  # event code -> the code logged instead (variants)
        self.on_activate: Callable[[Pending], None] = lambda p: None

    # --- clock ---
    def utc(self, now: float) -> float:
        if self.frozen_clock:
            return self.base_utc
        return self.base_utc + (now - self.base_now)

    def local(self, now: float) -> float:
        return self.utc(now) + self.timezone_s

    def set_clock(self, now: float, utc: float) -> None:
        """Absolute set (BP10): logs old/new time and flags the load-profile interval in progress."""
        self.advance(now)
        old = self.utc(now)
        self.event(now, EV_TIME_CHANGED_OLD, 0, at=old)
        self.base_utc, self.base_now = utc, now
        self.slew_remaining, self.slew_status = 0.0, 0
        self.lp.pending_common |= 0x4 if utc > old else 0x8
        if utc < old:
            self.lp.align(utc)  # intervals restart from the new time; the next record opens a block
        self.event(now, EV_TIME_CHANGED_NEW, 0)
        self.advance(now)  # a forward step closes the intervals it jumped over

    def start_slew(self, now: float, delta_s: float) -> None:
        self.advance(now)
        self.slew_remaining = delta_s
        self.slew_status = 1 if delta_s else 2

    def tier(self, now: float) -> int:
        minute = int(self.local(now) // 60) % 1440
        current = self.tier_switches[-1][2] if self.tier_switches else 0
        for h, mm, t in self.tier_switches:
            if h * 60 + mm <= minute:
                current = t
        return min(current, len(self.registers.tiers) - 1)

    def _next_tier_switch(self, now: float) -> float:
        """Device time of the next tier switch (local minute boundaries)."""
        if not self.tier_switches or self.frozen_clock:
            return math.inf
        local = self.local(now)
        day = math.floor(local / 86400) * 86400
        for d in (0, 86400):
            for h, mm, _ in self.tier_switches:
                at = day + d + h * 3600 + mm * 60
                if at > local + EPS:
                    return now + (at - local)
        return math.inf

    # --- time advance ---
    def advance(self, now: float) -> None:
        if now <= self.last_now:
            return
        t = self.last_now
        while True:
            step = min(now, self._next_due(t))
            self._accumulate(t, step)
            t = step
            self._due(t)
            if t >= now:
                break
        self._slew(now)
        self.last_now = now

    def _next_due(self, t: float) -> float:
        """Device time of the next instant something falls due (interval end, tier switch, PED)."""
        if self.frozen_clock:
            return math.inf
        utc = self.utc(t)
        due = self._next_tier_switch(t)
        if self.lp_enabled:
            due = min(due, t + max(self.lp.next_close - utc, 0.0))
        for p in self.pending:
            if p.still_pending and p.activate_at is not None:
                due = min(due, t + max(p.activate_at - utc, 0.0))
        return due

    def _accumulate(self, t0: float, t1: float) -> None:
        if t1 <= t0 or not self.relay.closed:
            return
        m, r = self.config.metering, self.registers
        wh, varh = m.load_w * (t1 - t0) / 3600.0, m.load_var * (t1 - t0) / 3600.0
        r.fwd_wh += wh
        r.imp_varh += varh
        tier = r.tiers[self.tier(t0)]
        tier[0] += wh
        tier[2] += varh

    def _due(self, t: float) -> None:
        utc = self.utc(t)
        if self.lp_enabled and not self.frozen_clock:
            gap = utc - self.lp.next_close
            capacity_s = self.lp.block_s * self.lp.nbr_blocks
            if gap > capacity_s:  # skip what would be overwritten anyway
                self.lp.next_close += math.floor((gap - capacity_s) / self.lp.interval_s) * self.lp.interval_s
            while utc >= self.lp.next_close - EPS:
                self._close_interval(self.lp.next_close)
                self.lp.next_close += self.lp.interval_s
        for p in list(self.pending):
            if p.still_pending and p.activate_at is not None and utc >= p.activate_at - EPS:
                self.activate(t, p)

    def _close_interval(self, end_utc: float) -> None:
        values = (int(self.registers.fwd_wh), int(self.registers.imp_varh))
        common = self.lp.pending_common
        codes = tuple((2 if common & 0x4 else 3 if common & 0x8 else 0) for _ in values)
        self.lp.record(end_utc, Interval(values, common, codes))
        self.lp.pending_common = 0

    def _slew(self, now: float) -> None:
        if not self.slew_remaining:
            return
        step = self.config.metering.slew_s_per_min * (now - self.last_now) / 60.0
        applied = math.copysign(min(abs(self.slew_remaining), step), self.slew_remaining)
        self.base_utc += applied
        self.slew_remaining -= applied
        self.slew_applied_interval += applied
        if abs(self.slew_remaining) < EPS:
            self.slew_remaining, self.slew_status = 0.0, 2

    # --- events, alarms, relay, pending ---
    def event(self, now: float, code: int, arg: int, *, at: float | None = None) -> None:
        if code in self.silenced:
            return
        self.log.add(self.utc(now) if at is None else at, self.recode.get(code, code), arg)

    def operate_relay(self, now: float, close: bool) -> None:
        if self.relay.closed != close:
            self.relay.changed = True
        self.advance(now)
        self.relay.closed = close
        self.relay.last_op = now
        self.relay.moving_until = now + self.config.metering.relay_transition_s
        self.event(now, EV_CONTROL_POINT_COMMAND, int(close))

    def relay_spacing_ok(self, now: float) -> bool:
        last = self.relay.last_op
        return last is None or now - last >= self.config.metering.relay_min_spacing_s

    def demand_reset(self, now: float) -> None:
        self.registers.demand_resets = (self.registers.demand_resets + 1) & 0xFF
        self.event(now, EV_DEMAND_RESET, self.registers.demand_resets)

    def self_read(self, now: float) -> None:
        self.mfg_alarms[0] |= 0x02  # "self-read occurred"
        self.event(now, EV_SELF_READ, 0)

    def activate(self, now: float, p: Pending) -> None:
        if p.ped[0] & 0x20:
            self.demand_reset(now)
        if p.ped[0] & 0x10:
            self.self_read(now)
        self.on_activate(p)
        p.still_pending = False
        self.last_activation_utc = self.utc(now)
        self.event(now, EV_PENDING_ACTIVATED, p.table_id)

    def power_outage(self, now: float, outage_s: float) -> None:
        """Book an outage of `outage_s` ending now (power-down/up pair, outage registers, LP flag)."""
        self.registers.outage_s += outage_s
        self.registers.outage_count += 1
        self.std_alarms |= 1 << 11  # power failure
        self.lp.pending_common |= 0x2
        utc = self.utc(now)
        self.event(now, EV_POWER_DOWN, 0, at=utc - outage_s)
        self.event(now, EV_POWER_UP, 0)
