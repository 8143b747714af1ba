"""Configuration of the reference device: identity, address, keys, capabilities, metering.

`DeviceConfig.default()` is the device the repository's default test plan (`testplan.yaml`) talks
to over `loopback:`; `DeviceConfig.load(path)` reads the same structure from a small YAML file, and
`DeviceConfig.with_overrides({...})` applies dotted flags (`security.mode=aes128`).

The default keys are TEST KEYS ONLY (16 x 0x01 is the MEP guide's default MAK, so the published
digest vectors work against the device); never reuse them outside a lab.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from osgp.errors import ConfigError
from osgp.secret import Secret

SECURITY_MODES = ("digest", "rc4", "aes128")
ACCESS_LEVELS = ("full", "read", "broadcast")

# TEST KEYS ONLY. `full` = 16 x 0x01 (MEP-DG default MAK, so the guide's vectors verify), `read` = 16 x 0x02,
# `broadcast` (verifies broadcast/group messages only, full rights) = 16 x 0x03.
TEST_KEYS = {"full": bytes([0x01] * 16), "read": bytes([0x02] * 16), "broadcast": bytes([0x03] * 16)}


@dataclass(frozen=True)
class Identity:
    manufacturer: str = "OSGP"  # BT00.3 / BT01.0, CHAR[4]
    model: str = "REFDEV01"  # BT01.4, CHAR[8]
    serial: str = "0000000000012345"  # BT01.16, 16 BCD digits (BT00 ID_FORM = 1)
    utility_serial: str = "REF-0001"  # ET03.0, CHAR[30]
    device_id: str = "00000000000000012345"  # BT05, BCD[10] (BT00 ID_FORM = 1)
    firmware: str = "4.10.07"  # BT01.14-15 packed x.yy.zz (x<=9, yy<=99, zz<=31)
    hardware: str = "1.00.00"  # BT01.12-13, same packing
    program_id: str = "0123456789ABCDEF"  # ET04.14, 8 bytes hex


@dataclass(frozen=True)
class Address:
    domain: str = "01"  # hex, 0/1/3/6 bytes
    subnet: int = 1
    node: int = 2
    neuron_id: str = "0100A1B2C3D4"  # hex, 6 bytes
    groups: tuple[int, ...] = (10,)  # broadcast group ids, at most 10 (ECH-UM p.68)


@dataclass(frozen=True)
class Security:
    mode: str = "rc4"  # digest | rc4 | aes128
    keys: dict[str, Secret] = field(default_factory=lambda: {k: Secret(v, k) for k, v in TEST_KEYS.items()})
    sequence_start: int = 0x00001000
    window: int = 8  # accepts current+1 .. current+window (ASM-SEC-02)
    rk_bp10_ep16: bool = True  # ET04.71.0 = 0: the read key may run BP10 and EP16
    max_key_usage: int = 1_000_000  # ET04.123
    rc4_variant: str = "plc"  # plc (ASM-SEC-03/06) | mep (MEP-DG App. B; 16-byte keys)
    aes_tag_len: int = 8  # CCM tag length (ASM-SEC-04)
    aes_device_id: str = ""  # hex, <= 8 bytes, in the CCM nonce (ASM-SEC-04)


@dataclass(frozen=True)
class Capabilities:
    relay: bool = True  # disconnect contactor present (ET29.0 bit 5)
    aes: bool = True  # OSGP-AES-128-PSK supported (ET54.90 bit 2)
    load_profile: bool = True
    firmware_upgrade: bool = True


@dataclass(frozen=True)
class Metering:
    clock_start: str = "2024-03-01T00:00:00Z"  # UTC at device time 0
    timezone_minutes: int = 60  # BT53.4
    load_w: float = 1200.0  # active power drawn while the relay is closed
    load_var: float = 300.0  # reactive power
    lp_interval_min: int = 15
    lp_ints_per_block: int = 96  # one day of 15-minute intervals
    lp_blocks: int = 4
    log_entries: int = 100  # BT71.5
    tiers: int = 4
    tier_switches: tuple[tuple[int, int, int], ...] = ((0, 0, 0), (7, 0, 1), (23, 0, 0))  # local h, m, tier
    slew_s_per_min: int = 4  # ET55.4: EP16 slew rate (0..16 s/min)
    relay_min_spacing_s: float = 10.0  # MEP p.134: >= 10 s between disconnect operations
    relay_transition_s: float = 2.0  # ET23.94 reads 3 (opening) / 1 (closing) this long [MEP p.96]
    firmware_image_size: int = 4096  # ET101 buffer size


@dataclass(frozen=True)
class Link:
    response_delay_s: float = 0.0  # processing time before the response goes out
    late_delay_s: float = 10.0  # `late_response` fault: after the tester's transaction ((retries + 1) x transmit timer)
    receive_timer_s: float = 8.192  # non-group receive timer for duplicate detection
    max_apdu: int = 2032  # longest request/response APDU handled (MAX_LPDU 2048 less headers); 0x04 beyond


@dataclass(frozen=True)
class DeviceConfig:
    identity: Identity = field(default_factory=Identity)
    address: Address = field(default_factory=Address)
    security: Security = field(default_factory=Security)
    capabilities: Capabilities = field(default_factory=Capabilities)
    metering: Metering = field(default_factory=Metering)
    link: Link = field(default_factory=Link)
    persistence: str | None = None  # JSON file; None = volatile (state lost at power cycle)

    @classmethod
    def default(cls) -> DeviceConfig:
        return cls()

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None) -> DeviceConfig:
        data = dict(data or {})
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"device config: unknown section(s) {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            if f.name == "persistence":
                kwargs[f.name] = None if data[f.name] is None else str(data[f.name])
            else:
                kwargs[f.name] = _section(f.name, _SECTIONS[f.name], data[f.name])
        cfg = cls(**kwargs)
        cfg.validate()
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> DeviceConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"device config {path}: {exc.strerror}") from exc
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"device config {path}: expected a mapping at the top level")
        return cls.from_mapping(data.get("device", data))

    def with_overrides(self, flags: dict[str, Any]) -> DeviceConfig:
        """Apply dotted overrides such as {"security.mode": "aes128", "address.node": 5}."""
        cfg = self
        for key, value in flags.items():
            section, _, name = key.partition(".")
            if section == "persistence" and not name:
                cfg = dataclasses.replace(cfg, persistence=value)
                continue
            if section not in _SECTIONS or not name:
                raise ConfigError(f"device config: unknown flag {key!r}")
            current = getattr(cfg, section)
            merged = {f.name: getattr(current, f.name) for f in dataclasses.fields(current)}
            merged[name] = value
            cfg = dataclasses.replace(cfg, **{section: _section(section, _SECTIONS[section], merged)})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        s, a, i, m = self.security, self.address, self.identity, self.metering
        problems = []
        if s.mode not in SECURITY_MODES:
            problems.append(f"security.mode {s.mode!r} not in {SECURITY_MODES}")
        if s.mode == "aes128" and not self.capabilities.aes:
            problems.append("security.mode aes128 needs capabilities.aes")
        if "full" not in s.keys:
            problems.append("security.keys needs a 'full' key")
        for name, key in s.keys.items():
            if name not in ACCESS_LEVELS:
                problems.append(f"security.keys: unknown access level {name!r} (use {ACCESS_LEVELS})")
            if len(key) not in (6, 12, 16):
                problems.append(f"security.keys.{name}: {len(key)} bytes (6, 12 or 16 expected)")
        if s.rc4_variant not in ("plc", "mep"):
            problems.append(f"security.rc4_variant {s.rc4_variant!r} not in ('plc', 'mep')")
        if s.aes_tag_len not in (4, 6, 8, 10, 12, 14, 16):
            problems.append("security.aes_tag_len must be even, 4..16")
        if len(bytes.fromhex(s.aes_device_id)) > 8:
            problems.append("security.aes_device_id: at most 8 bytes hex")
        if not 1 <= s.window <= 1 << 16:
            problems.append("security.window out of range")
        if not 0 <= s.sequence_start < 1 << 32:
            problems.append("security.sequence_start must be a UINT32")
        if len(a.groups) > 10 or any(not 0 <= g <= 255 for g in a.groups):
            problems.append("address.groups: at most 10 group ids 0..255")
        if not (0 <= a.subnet <= 255 and 1 <= a.node <= 127):
            problems.append("address: subnet 0..255, node 1..127")
        if len(bytes.fromhex(a.neuron_id)) != 6:
            problems.append("address.neuron_id must be 6 bytes hex")
        if len(bytes.fromhex(a.domain)) not in (0, 1, 3, 6):
            problems.append("address.domain must be 0, 1, 3 or 6 bytes hex")
        for name in ("firmware", "hardware"):
            try:
                pack_version(getattr(i, name))
            except ValueError as exc:
                problems.append(f"identity.{name}: {exc}")
        if len(i.serial) != 16 or not i.serial.isdigit():
            problems.append("identity.serial must be 16 decimal digits (BCD[8])")
        if len(i.device_id) != 20 or not i.device_id.isdigit():
            problems.append("identity.device_id must be 20 decimal digits (BT05 BCD[10])")
        if len(i.utility_serial) > 29:
            problems.append("identity.utility_serial: at most 29 characters (ET03 CHAR[30], null-terminated)")
        if len(bytes.fromhex(i.program_id)) != 8:
            problems.append("identity.program_id must be 8 bytes hex")
        if not 1 <= m.lp_interval_min <= 60 or 60 % m.lp_interval_min:
            problems.append("metering.lp_interval_min must divide 60")
        if not (1 <= m.lp_blocks <= 255 and 1 <= m.lp_ints_per_block <= 1440 and 1 <= m.log_entries <= 2000):
            problems.append("metering: lp_blocks 1..255, lp_ints_per_block 1..1440, log_entries 1..2000")
        if not 0 <= m.slew_s_per_min <= 16:
            problems.append("metering.slew_s_per_min must be 0..16")
        try:
            self.utc_start()
        except ValueError:
            problems.append(f"metering.clock_start {m.clock_start!r} is not an ISO date-time")
        if problems:
            raise ConfigError("device config: " + "; ".join(problems))

    def utc_start(self) -> float:
        text = self.metering.clock_start.replace("Z", "+00:00")
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()

    def key(self, level: str) -> bytes | None:
        k = self.security.keys.get(level)
        return None if k is None else k.reveal()

    def summary(self) -> dict[str, str]:
        """No secrets: for logs and reports."""
        a = self.address
        return {
            "identity": f"{self.identity.manufacturer} {self.identity.model} fw {self.identity.firmware}",
            "address": f"domain {a.domain or '-'} subnet {a.subnet} node {a.node} neuron {a.neuron_id}",
            "security": f"{self.security.mode}, keys {sorted(self.security.keys)}",
            "persistence": self.persistence or "off",
        }


def pack_version(text: str) -> int:
    """'x.yy.zz' -> packed UINT16 (bits 15..12 x, 11..5 yy, 4..0 zz) [OPG p.19]."""
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"version {text!r} is not x.yy.zz")
    x, yy, zz = (int(p) for p in parts)
    if x > 9 or yy > 99 or zz > 31:
        raise ValueError(f"version {text!r} out of range (x<=9, yy<=99, zz<=31)")
    return x << 12 | yy << 5 | zz


def unpack_version(value: int) -> str:
    return f"{value >> 12 & 0xF}.{value >> 5 & 0x7F:02d}.{value & 0x1F:02d}"


def _convert(section: str, name: str, default: Any, value: Any) -> Any:
    if name == "keys":
        if not isinstance(value, dict):
            raise ConfigError(f"{section}.keys must map access level -> hex key")
        out = {}
        for level, k in value.items():
            if isinstance(k, Secret):
                raw = k.reveal()
            else:
                raw = bytes(k) if isinstance(k, bytes) else _hex(section, k)
            out[str(level)] = Secret(raw, str(level))
        return out
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{section}.{name} must be a list")
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{section}.{name} must be true/false")
        return value
    if isinstance(default, int | float) and isinstance(value, str):
        try:
            return type(default)(int(value, 0) if isinstance(default, int) else float(value))
        except ValueError as exc:
            raise ConfigError(f"{section}.{name}: {value!r} is not a number") from exc
    if isinstance(default, float) and isinstance(value, int):
        return float(value)
    if default is not None and not isinstance(value, type(default)):
        raise ConfigError(f"{section}.{name} must be a {type(default).__name__}")
    return value


def _hex(section: str, text: Any) -> bytes:
    try:
        return bytes.fromhex(str(text))
    except ValueError as exc:
        raise ConfigError(f"{section}: key {text!r} is not hex") from exc


def _section(name: str, cls: type, data: Any) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"device config: section {name!r} must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise ConfigError(f"device config: unknown key(s) {sorted(unknown)} in {name!r}")
    defaults = cls()
    kwargs = {k: _convert(name, k, getattr(defaults, k), v) for k, v in data.items()}
    return cls(**kwargs)


_SECTIONS: dict[str, type] = {
    "identity": Identity,
    "address": Address,
    "security": Security,
    "capabilities": Capabilities,
    "metering": Metering,
    "link": Link,
}
