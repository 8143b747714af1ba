"""What survives a power cycle (the device's non-volatile memory), as plain JSON.

Saved: security state (mode, keys as hex, sequence numbers, key usage), the UTC clock (a meter's RTC
keeps running on its battery), energy registers, history log, load profile, relay, pending tables,
writable table images, firmware identity. Not saved: 14908-1 receive records, BT08, the last PSN,
the firmware download buffer (RAM).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from osgp.secret import Secret

from .meter import Block, Event, Interval, Pending

if TYPE_CHECKING:
    from .catalog import Catalog
    from .firmware import Firmware
    from .meter import Meter
    from .ports import SecurityState

FORMAT = 1


def snapshot_state(m: Meter, s: SecurityState, catalog: Catalog, firmware: Firmware, now: float) -> dict[str, Any]:
    lp = m.lp
    return {
        "format": FORMAT,
        "security": {
            "mode": s.mode, "keys": {k: v.reveal().hex() for k, v in s.keys.items()},
            "seq": s.seq, "broadcast_seq": s.broadcast_seq, "unicast_uses": s.unicast_uses,
            "broadcast_uses": s.broadcast_uses, "auth_failures": s.auth_failures, "usage_alarm": s.usage_alarm,
        },
        "clock": {"utc": m.utc(now), "slew_remaining": m.slew_remaining, "slew_status": m.slew_status},
        "registers": dataclasses.asdict(m.registers),
        "alarms": {"std": m.std_alarms, "mfg": m.mfg_alarms.hex()},
        "log": {"written": m.log.written, "last_seq": m.log.last_seq, "unread": m.log.unread,
                "overflow": m.log.overflow,
                "slots": [None if e is None else dataclasses.asdict(e) for e in m.log.slots]},
        "lp": {"written_blocks": lp.written_blocks, "last_block_seq": lp.last_block_seq, "unread": lp.unread,
               "overflow": lp.overflow, "next_close": lp.next_close, "pending_common": lp.pending_common,
               "blocks": [None if b is None else _block(b) for b in lp.blocks]},
        "relay": {"closed": m.relay.closed, "changed": m.relay.changed},
        "pending": [{"table_id": p.table_id, "ped": p.ped.hex(), "data": p.data.hex(),
                     "activate_at": p.activate_at, "still_pending": p.still_pending} for p in m.pending],
        "last_activation_utc": m.last_activation_utc,
        "tables": {str(k): v.hex() for k, v in catalog.stored.items()},
        "firmware": {"version": firmware.version, "image_crc": firmware.image_crc,
                     "program_id": firmware.program_id.hex(), "idt_version": firmware.idt_version},
    }


def _block(b: Block) -> dict[str, Any]:
    return {"block_id": b.block_id, "end_utc": b.end_utc,
            "intervals": [None if i is None else [list(i.values), i.common, list(i.codes)] for i in b.intervals]}


def restore_state(m: Meter, s: SecurityState, catalog: Catalog, firmware: Firmware, state: dict[str, Any],
                  now: float, *, keep_seq: bool) -> str | None:
    """Load a snapshot into the parts of a freshly booted device. Missing or foreign parts are left at
    their defaults; a snapshot of another format loads nothing: the answer says so (else None)."""
    if state.get("format") != FORMAT:
        return f"NVM format {state.get('format')!r} unknown; starting from the config"
    sec = state["security"]
    s.mode = sec["mode"]
    s.keys = {k: Secret(bytes.fromhex(v), k) for k, v in sec["keys"].items()}
    if keep_seq:
        s.seq, s.broadcast_seq = sec["seq"], sec["broadcast_seq"]
    s.unicast_uses, s.broadcast_uses = sec["unicast_uses"], sec["broadcast_uses"]
    s.auth_failures, s.usage_alarm = sec["auth_failures"], sec["usage_alarm"]
    clock = state["clock"]
    m.base_utc, m.base_now = clock["utc"], now
    m.slew_remaining, m.slew_status = clock["slew_remaining"], clock["slew_status"]
    regs = state["registers"]
    m.registers = dataclasses.replace(m.registers, **regs)
    m.std_alarms, m.mfg_alarms = state["alarms"]["std"], bytearray.fromhex(state["alarms"]["mfg"])
    log = state["log"]
    if len(log["slots"]) == m.log.capacity:
        m.log.slots = [None if e is None else Event(**e) for e in log["slots"]]
        m.log.written, m.log.last_seq = log["written"], log["last_seq"]
        m.log.unread, m.log.overflow = log["unread"], log["overflow"]
    lp = state["lp"]
    if len(lp["blocks"]) == m.lp.nbr_blocks:
        m.lp.blocks = [None if b is None else Block(b["block_id"], b["end_utc"], [
            None if i is None else Interval(tuple(i[0]), i[1], tuple(i[2])) for i in b["intervals"]])
            for b in lp["blocks"]]
        m.lp.written_blocks, m.lp.last_block_seq = lp["written_blocks"], lp["last_block_seq"]
        m.lp.unread, m.lp.overflow = lp["unread"], lp["overflow"]
        m.lp.next_close, m.lp.pending_common = lp["next_close"], lp["pending_common"]
    m.relay.closed, m.relay.changed = state["relay"]["closed"], state["relay"]["changed"]
    m.pending = [Pending(p["table_id"], bytes.fromhex(p["ped"]), bytes.fromhex(p["data"]), p["activate_at"],
                         p["still_pending"]) for p in state["pending"]]
    m.last_activation_utc = state["last_activation_utc"]
    catalog.stored.update({int(k): bytearray.fromhex(v) for k, v in state["tables"].items()})
    catalog.reload_stored()
    fw = state["firmware"]
    firmware.version, firmware.image_crc = fw["version"], fw["image_crc"]
    firmware.program_id, firmware.idt_version = bytes.fromhex(fw["program_id"]), fw["idt_version"]
    catalog.firmware_changed()
    return None
