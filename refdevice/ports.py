"""What the parts of the reference device share, so that none of them needs the device itself.

The device (device.py) builds its parts, each with exactly what it uses:

    Firmware(config, meter, security)                       ET100/ET101 and EP81
    Procedures(config, switches, meter, control, firmware)  BT07/BT08
    Catalog(config, switches, meter, security, node, firmware, procedures)  every table
    snapshot_state / restore_state(meter, security, catalog, firmware, ...)  NVM

The state objects below are owned by the device and shared by reference; `SecurityControl` is the one
thing the device itself answers (a key or mode change rebuilds its security profiles). This module
imports nothing of device.py nor of the parts: the import graph stays a tree (tests/test_architecture.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from osgp.secret import Secret

from . import faults as F
from . import variants as V

MAX_RESPONSE_DATA = 12  # BT00.10 MAX_RESP_DATA_LEN [OPG p.48]


@dataclass(frozen=True)
class Caller:
    """Who sent the request being executed."""

    level: str  # "full" | "read"
    encrypted: bool  # RC4-encrypted or AES
    via_aes: bool
    broadcast: bool


@dataclass(frozen=True)
class Switches:
    """The fault and variant switches of one device (one instance, shared by every part)."""

    faults: frozenset[str] = frozenset()
    variants: frozenset[str] = frozenset()

    @classmethod
    def checked(cls, faults: Iterable[str] = (), variants: Iterable[str] = ()) -> Switches:
        """Unknown names raise a ConfigError listing the valid ones."""
        return cls(F.check(faults), V.check(variants))

    def has(self, fault: str) -> bool:
        return fault in self.faults

    def has_variant(self, variant: str) -> bool:
        return variant in self.variants


@dataclass
class SecurityState:
    mode: str
    keys: dict[str, Secret]
    seq: int  # ET04.0: the last accepted unicast sequence number
    broadcast_seq: int  # ET04.82 broadcast base B
    unicast_uses: int = 0  # ET54.82
    broadcast_uses: int = 0  # ET54.86
    auth_failures: int = 0
    usage_alarm: bool = False
    broadcast_receipt_utc: float = 0.0  # ET04.76
    # broadcast_base_host_set: numbers used since B was set (RAM: not persisted)
    broadcast_used: set[int] = field(default_factory=set)


@dataclass
class NodeState:
    """Node status the tables show: the Neuron state (ET04.72) and the 14908-1 counters (ET23.0/4)."""

    neuron_state: int
    messages_received: int = 0
    messages_validated: int = 0


class SecurityControl(Protocol):
    """Security operations a procedure triggers: each one rebuilds the device's security profiles."""

    def change_key(self, level: str, key: bytes) -> None: ...

    def set_security_mode(self, mode: str) -> None: ...
