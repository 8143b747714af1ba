"""The test plan (`testplan.yaml`): loaded, checked against a schema written in code, frozen.

The schema is the dataclasses below: each field of a section carries its kind, its documentation
and its default in `metadata`, so the reader, the error messages, docs/testplan.md and the
template cannot drift apart (tests/test_plan.py checks that every key is documented). Every error
is a :class:`ConfigError` of the form ``FILE:LINE: message (fix: ...)``.

Keys are resolved into :class:`Secret` at load time (``hex:``, ``env:NAME``, ``file:PATH``) and
their lengths checked against the security mode, so a campaign never starts with a key it cannot
use. PICS are checked against the catalogue in :mod:`osgpct.pics` and reviewed for consistency.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from yaml.nodes import ScalarNode

from osgp.app import DEFAULT_APDU_PREFIX, delivered
from osgp.errors import ConfigError
from osgp.lon import apdu_class
from osgp.secret import Secret
from osgp.transaction import DEFAULT_REPEAT_TIMER_CODE, DEFAULT_RETRIES, DEFAULT_TX_TIMER_CODE
from osgpct import pics as _pics
from osgpct.pics import SECURITY_MODES, Finding, PicsValue, suggest

DEFAULT_TARGET = "loopback:"
URL_FORMS = "loopback:[?options], cnip+udp://HOST:PORT, cnip+tcp://HOST:PORT, serial://DEVICE?framing=u61|slta, " \
            "replay:PATH"


class _Bad(Exception):
    """An error at a line of the plan; `load_plan` adds the file name."""

    def __init__(self, line: int, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.line, self.message, self.fix = line, message, fix


def _opt(kind: str, doc: str, default: Any = dataclasses.MISSING, **extra: Any) -> Any:
    """A plan key: `kind` tells the reader how to read it (see `_Reader._value`)."""
    meta = {"kind": kind, "doc": doc, **extra}
    if isinstance(default, type):  # a nested section: its defaults
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


# ---- the schema: one dataclass per section -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CampaignSection:
    id: str = _opt("text", "Campaign (report) identifier, printed on every page of the PCTR")
    title: str = _opt("text", "One-line title of the campaign")


@dataclass(frozen=True, kw_only=True)
class Lab:
    name: str = _opt("text", "Test laboratory name", "")
    address: str = _opt("text", "Test laboratory postal address", "")
    accreditation: str = _opt("text", "Accreditation reference (e.g. ISO/IEC 17025 certificate number)", "")
    operator: str = _opt("text", "Name of the test operator", "")
    signing_key: Secret | None = _opt(
        "signing_key", "Ed25519 private key (PEM) that signs the evidence bundle: `file:PATH` or `env:NAME`; "
        "when absent a key is generated for the run and its public half printed in the report", None)


@dataclass(frozen=True, kw_only=True)
class DutSection:
    manufacturer: str = _opt("text", "DUT manufacturer")
    model: str = _opt("text", "DUT model")
    serial: str = _opt("text", "DUT serial number", "")
    firmware: str = _opt("text", "DUT firmware version", "")
    hardware: str = _opt("text", "DUT hardware version", "")


@dataclass(frozen=True, kw_only=True)
class NodeAddress:
    subnet: int | None = _opt("int", "The tester's subnet, 1..255 (default: the DUT's subnet)", None, range=(1, 255))
    node: int = _opt("int", "The tester's node, 1..127", 127, range=(1, 127))


@dataclass(frozen=True, kw_only=True)
class Address:
    domain: bytes = _opt("hex", "14908-1 domain id, hex, 0, 1, 3 or 6 bytes (\"\" = the zero-length domain)",
                         b"", lengths=(0, 1, 3, 6))
    subnet: int = _opt("int", "DUT subnet, 1..255", range=(1, 255))
    node: int = _opt("int", "DUT node, 1..127", range=(1, 127))
    neuron_id: bytes | None = _opt("hex", "DUT Neuron ID (unique node id), 12 hex digits", None, lengths=(6,))
    tester: NodeAddress = _opt("section", "The tester's own subnet/node (must differ from the DUT's)",
                               NodeAddress)


@dataclass(frozen=True)
class Key:
    """One key of the DUT, with the access level it grants."""

    name: str
    secret: Secret
    access: str
    source: str  # "hex:***", "env:NAME" or "file:PATH": where it came from, never the value


@dataclass(frozen=True, kw_only=True)
class Security:
    mode: str = _opt("choice", "Security mode of the campaign: digest (authentication only), rc4 "
                     "(digest + RC4, legacy), aes128 (OSGP-AES-128-PSK)", choices=SECURITY_MODES)
    access_levels: tuple[str, ...] = _opt(
        "names", "Access levels of the DUT, most privileged first (each key grants one)", ("full", "read"))
    keys: tuple[Key, ...] = _opt(
        "keys", "The DUT's keys: name -> `hex:…`, `env:NAME` or `file:PATH`, or name -> {secret: …, "
        "access: LEVEL}; the access level defaults to the first of access_levels")
    default_key: str = _opt("text", "Name of the key the session uses unless a test case says otherwise "
                            "(default: the first key)", "")

    def key(self, name: str | None = None) -> Key:
        """The named key, or the default key."""
        name = name or self.default_key
        for k in self.keys:
            if k.name == name:
                return k
        raise ConfigError(f"no key named {name!r} in the plan (keys: {', '.join(k.name for k in self.keys)})")

    def by_access(self, level: str) -> list[Key]:
        return [k for k in self.keys if k.access == level]


@dataclass(frozen=True, kw_only=True)
class AesCcm:
    tag_len: int = _opt("int", "CCM tag length in bytes (even, 4..16)", 8, range=(4, 16),
                        values=tuple(range(4, 17, 2)))
    device_id: bytes = _opt("hex", "Device id in the CCM nonce, hex, up to 8 bytes (left-padded with zeros)",
                            b"", lengths=tuple(range(9)))


@dataclass(frozen=True, kw_only=True)
class Bp05ListCodes:
    history_log: int = _opt("int", "LIST code of the event/history log", 1, range=(0, 255))
    self_read: int = _opt("int", "LIST code of the self-read list", 2, range=(0, 255))
    load_profile: int = _opt("int", "LIST code of the load-profile data set", 3, range=(0, 255))


@dataclass(frozen=True, kw_only=True)
class LonTimers:
    tx_timer_code: int = _opt("int", "14908-1 transmit timer code, 0..15 (13 = 1536 ms)", DEFAULT_TX_TIMER_CODE,
                              range=(0, 15))
    retries: int = _opt("int", "14908-1 retries of a request, 0..15", DEFAULT_RETRIES, range=(0, 15))
    repeat_timer_code: int = _opt("int", "14908-1 repeat timer code of unacknowledged-repeated messages, 0..15 "
                                  "(10 = 512 ms)", DEFAULT_REPEAT_TIMER_CODE, range=(0, 15))


@dataclass(frozen=True, kw_only=True)
class Pixit:
    """Protocol implementation extra information for testing: values the spec leaves to the DUT, or
    that no readable source confirms (each such one names its entry of the assumptions register)."""

    apdu_prefix: bytes = _opt("hex", "APDU envelope: byte(s) that precede the OSGP PDU in the 14908 APDU; the first "
                              "must be an application message code or foreign frame, 0x00-0x4F (\"\" = none: "
                              "digest mode only)", DEFAULT_APDU_PREFIX, lengths=tuple(range(5)),
                              assumption="ASM-APP-01")
    unsafe_codes: bool = _opt("bool", "true (a bench DUT only): unknown-code and fuzz test cases may send APDUs whose "
                              "first byte a 14908-1 node takes as network management, diagnostics or a network "
                              "variable; false: every APDU starts with 0x00-0x4F", False)
    lon_service: str = _opt("choice", "14908-1 service that carries OSGP requests", "request_response",
                            choices=("request_response", "acknowledged"), assumption="ASM-APP-02")
    lon_profile: str = _opt("choice", "14908-1 profile: NPDU version 0, 4-bit transaction ids, subnet/node "
                            "unicast (the only profile implemented)", "npdu-v0", choices=("npdu-v0",),
                            assumption="ASM-LNK-01")
    lon_timers: LonTimers = _opt("section", "14908-1 transaction timers of the tester", LonTimers,
                                 assumption="ASM-LNK-03")
    lon_alt_path_count: int = _opt("int", "Tries that go on the alternate path (secondary carrier): the last "
                                   "N+1", 1, range=(0, 15), assumption="ASM-LNK-04")
    receive_timer_ms: int = _opt("int", "The DUT's non-group receive timer (duplicate detection), ms", 8192,
                                 range=(128, 24576), assumption="ASM-LNK-02")
    max_apdu: int = _opt("int", "Longest APDU the tester sends; longer reads are split", 229, range=(16, 1024),
                         assumption="ASM-APP-05")
    seq_window: int = _opt("int", "Sequence numbers the DUT accepts: current+1 .. current+seq_window", 8,
                           range=(1, 65536), assumption="ASM-SEC-02")
    rc4_variant: str = _opt("choice", "RC4 key derivation: plc (power line, per Jovanovic & Neves) or mep "
                            "(MEP guide App. B)", "plc", choices=("plc", "mep"), assumption="ASM-SEC-03")
    aes_ccm: AesCcm = _opt("section", "OSGP-AES-128-PSK CCM layout parameters", AesCcm, assumption="ASM-SEC-04")
    broadcast_window: int = _opt("int", "Secure-broadcast window D (0 = read it from the DUT's ET04.86)", 0,
                                 range=(0, 65535), assumption="ASM-SEC-10")
    bp05_list_codes: Bp05ListCodes = _opt("section", "LIST codes of BP04/BP05", Bp05ListCodes,
                                          assumption="ASM-PRC-02")
    ep16_layout: str = _opt("choice", "EP16 parameter layout (signed delta seconds, INT32 LSB first)",
                            "int32-lsb", choices=("int32-lsb",), assumption="ASM-PRC-05")
    disconnect_procedure: int = _opt("int", "Procedure id that opens/closes the disconnect switch", 2050,
                                     range=(0, 4095), assumption="ASM-PRC-06")
    firmware_upgrade: str = _opt("choice", "How firmware is upgraded: out-of-band (not over the air), or et100 "
                                 "(the reference device's ET100/ET101 + EP81, ASM-DEV-04)", "out-of-band",
                                 choices=("out-of-band", "et100"), assumption="ASM-MGT-02")
    key_change: str = _opt("choice", "How keys are changed: 14908-nm (network-management key update), or ep80 "
                           "(the reference device's EP80, ASM-DEV-03)", "14908-nm", choices=("14908-nm", "ep80"),
                           assumption="ASM-MGT-03")
    response_timeout_s: float = _opt("float", "Time within which the DUT must answer a request, s: timer test "
                                     "cases (kind TI) judge against it", 10.0, range=(0.01, 3600.0))
    test_timeout_s: float = _opt("float", "Bound on one test case body, wall-clock s (0 = no bound)", 120.0,
                                 range=(0.0, 86400.0))

    def assumption_overrides(self) -> dict[str, str]:
        """Assumptions whose PIXIT the plan sets to a non-default value: id -> value in force."""
        out: dict[str, str] = {}
        default = Pixit()
        for f in dataclasses.fields(self):
            asm = f.metadata.get("assumption")
            if asm and getattr(self, f.name) != getattr(default, f.name):
                out[asm] = f"pixit.{f.name} = {_show(getattr(self, f.name))} (set by the test plan)"
        return out


@dataclass(frozen=True, kw_only=True)
class Selection:
    include: tuple[str, ...] = _opt("patterns", "Test case / use case ids or globs to run (empty = all), "
                                    "e.g. TC_SEC_*, TC_APP_READ_BV_01, UC_*", ())
    exclude: tuple[str, ...] = _opt("patterns", "Ids or globs not to run (they are reported NOT RUN)", ())

    def selects(self, case_id: str) -> bool:
        included = not self.include or any(fnmatch.fnmatchcase(case_id, p) for p in self.include)
        return included and not any(fnmatch.fnmatchcase(case_id, p) for p in self.exclude)


@dataclass(frozen=True, kw_only=True)
class Policy:
    inconc_fails_run: bool = _opt("bool", "true: an INCONC verdict makes the run fail (exit status 2); "
                                  "false: INCONC is accepted", False)
    strictness: str = _opt("choice", "default: a departure from a rule no source states (grade inferred or "
                           "design) is a reported deviation, never FAIL; strict: it is a FAIL (printed on the "
                           "PCTR front page)", "default", choices=("default", "strict"))

    @property
    def strict(self) -> bool:
        return self.strictness == "strict"


@dataclass(frozen=True, kw_only=True)
class Output:
    show_secrets: bool = _opt("bool", "Print keys in reports and traces (never do this for a real DUT)", False)


@dataclass(frozen=True, kw_only=True)
class Plan:
    campaign: CampaignSection = _opt("section", "Campaign identity", CampaignSection)
    lab: Lab = _opt("section", "The test laboratory (all keys optional)", Lab)
    client: str = _opt("text", "Who the campaign is run for", "")
    dut: DutSection = _opt("section", "Device under test identity", DutSection)
    target: str = _opt("url", f"How to reach the DUT: {URL_FORMS}", DEFAULT_TARGET)
    address: Address = _opt("section", "14908-1 addressing of the DUT and of the tester", Address)
    security: Security = _opt("section", "Security mode and keys", Security)
    pics: Mapping[str, PicsValue] = _opt("pics", "PICS: every item of the catalogue (osgpct/pics.py), "
                                         "name -> true/false, integer or string")
    pixit: Pixit = _opt("section", "PIXIT values (all optional: defaults documented)", Pixit)
    selection: Selection = _opt("section", "Which test cases run", Selection)
    policy: Policy = _opt("section", "Verdict policy", Policy)
    output: Output = _opt("section", "Output options", Output)
    # Not keys of the file: where it came from, and the findings of the PICS review.
    path: Path | None = None
    sha256: str = ""
    review: tuple[Finding, ...] = ()

    def with_overrides(self, *, target: str | None = None, show_secrets: bool | None = None) -> Plan:
        """The plan with command-line overrides applied (`--target`, `--show-secrets`)."""
        plan = self
        if target is not None:
            problem = _url_problem(target)
            if problem:
                raise ConfigError(f"--target {target!r}: {problem[0]} (fix: {problem[1]})")
            plan = dataclasses.replace(plan, target=target.strip())
        if show_secrets:
            plan = dataclasses.replace(plan, output=Output(show_secrets=True))
        return plan

    def secrets(self) -> list[Secret]:
        """Every secret the plan holds, for redaction of reports."""
        out = [k.secret for k in self.security.keys]
        return out + ([self.lab.signing_key] if self.lab.signing_key else [])


#: Sections whose keys docs/testplan.md and the template must document.
SECTIONS: dict[str, type] = {"": Plan, "campaign": CampaignSection, "lab": Lab, "dut": DutSection, "address": Address,
                             "address.tester": NodeAddress, "security": Security, "pixit": Pixit,
                             "pixit.lon_timers": LonTimers, "pixit.aes_ccm": AesCcm,
                             "pixit.bp05_list_codes": Bp05ListCodes,
                             "selection": Selection, "policy": Policy, "output": Output}


def schema_keys() -> list[str]:
    """Every dotted key of the plan schema, e.g. 'security.mode', 'pixit.aes_ccm.tag_len'."""
    return [f"{prefix}.{f.name}" if prefix else f.name
            for prefix, cls in SECTIONS.items() for f in dataclasses.fields(cls) if "kind" in f.metadata]


# ---- YAML with line numbers ----------------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers where each key and value came from, and the scalar's text."""

    line: int
    key_lines: dict[str, int]
    raw: dict[str, str | None]


class _Seq(list):
    line: int
    lines: list[int]
    raw: list[str | None]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line, out.key_lines, out.raw = node.start_mark.line + 1, {}, {}
    for knode, vnode in node.value:
        line = knode.start_mark.line + 1
        if not isinstance(knode, ScalarNode):
            raise _Bad(line, "a key must be a plain name", "write `name: value`")
        key = knode.value  # the text as written: `on:` and `1:` stay strings
        if key in out:
            raise _Bad(line, f"duplicate key '{key}' (first at line {out.key_lines[key]})",
                       "keep one of them")
        out[key] = loader.construct_object(vnode, deep=True)
        out.key_lines[key] = line
        out.raw[key] = vnode.value if isinstance(vnode, ScalarNode) else None
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    out = _Seq(loader.construct_object(n, deep=True) for n in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [n.start_mark.line + 1 for n in node.value]
    out.raw = [n.value if isinstance(n, ScalarNode) else None for n in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _parse_yaml(text: str) -> _Map:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise _Bad(line, f"not valid YAML: {e.problem or e}", "check the indentation and the quoting on "
                   "this line (a value with ': ' or '#' needs quotes)") from None
    except yaml.YAMLError as e:
        raise _Bad(1, f"not valid YAML: {e}", "check the file's syntax") from None
    if not isinstance(data, _Map):
        raise _Bad(1, "the plan must be a mapping of sections (campaign, dut, target, address, security, "
                   "pics, ...)", "start from `osgpct plan init`")
    return data


# ---- reading sections ----------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex() or '""'
    if dataclasses.is_dataclass(value):
        return ", ".join(f"{f.name}={_show(getattr(value, f.name))}" for f in dataclasses.fields(value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _hex(text: str, line: int, what: str, lengths: tuple[int, ...]) -> bytes:
    digits = re.sub(r"[\s:]", "", text)
    if digits.lower().startswith("0x"):
        digits = digits[2:]
    if not re.fullmatch(r"[0-9A-Fa-f]*", digits) or len(digits) % 2:
        raise _Bad(line, f"{what}: {text!r} is not hex bytes", "write an even number of hex digits, e.g. 0A1B")
    value = bytes.fromhex(digits)
    if lengths and len(value) not in lengths:
        raise _Bad(line, f"{what}: {len(value)} bytes, expected {_either(lengths)}",
                   f"give {_either(lengths)} bytes ({_either([2 * n for n in lengths])} hex digits)")
    return value


def _either(numbers: Sequence[int]) -> str:
    """'6, 12 or 16'"""
    *head, last = map(str, numbers)
    return f"{', '.join(head)} or {last}" if head else last


def _url_problem(url: str) -> tuple[str, str] | None:
    """(message, fix) when the driver registry cannot build a driver for `url`; None when it can.

    The drivers are the one authority on target URLs (forms, options, files): the driver is built, not
    opened, so nothing is sent and no port is taken.
    """
    try:
        from osgpct.drivers import open_driver
        from osgpct.drivers.base import ACCEPTED_FORMS, scheme_of
    except ImportError:  # without the drivers no campaign can run; the plugin says so when it needs one
        return None
    try:
        open_driver(url, device_factory=_no_device)
    except ConfigError as e:
        scheme, known = scheme_of(url), [scheme_of(f) for f in ACCEPTED_FORMS]
        if str(e).startswith("unknown target URL"):
            what = f"unknown target scheme {scheme!r}" if scheme else f"{url.strip()!r} is not a target URL"
            return what + suggest(scheme, known), "use one of " + "; ".join(ACCEPTED_FORMS)
        return str(e), "see the target forms in docs/testplan.md"
    return None


def _no_device(**context: Any) -> Any:
    raise AssertionError("a plan check never opens the loopback")  # open_driver only builds


class _Reader:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def section(self, cls: type, data: Any, path: str, line: int, present: bool = True) -> Any:
        fields = {f.name: f for f in dataclasses.fields(cls) if "kind" in f.metadata}
        if data is None:
            required = [n for n, f in fields.items() if _required(f)]
            if required:
                raise _Bad(line, f"'{path}' is {'empty' if present else 'missing'}",
                           f"add `{path.rpartition('.')[2]}:` with {', '.join(required)}")
            data = _Map()
            data.line, data.key_lines, data.raw = line, {}, {}
        if not isinstance(data, _Map):
            raise _Bad(line, f"'{path}' must be a mapping of keys", f"indent its keys under `{path}:`")
        for key in data:
            if key not in fields:
                where = f"{path}.{key}" if path else key
                raise _Bad(data.key_lines[key], f"unknown key '{where}'{suggest(key, fields)}",
                           f"remove it or correct it; the keys here are {', '.join(fields)}")
        kwargs = {}
        for name, f in fields.items():
            where = f"{path}.{name}" if path else name
            if name in data and data[name] is not None:
                kwargs[name] = self.value(f, data[name], data.raw[name], where, data.key_lines[name])
            elif f.metadata["kind"] == "section":
                kwargs[name] = self.section(_section_type(f), None, where, data.key_lines.get(name, line),
                                            present=name in data)
            elif _required(f):
                raise _Bad(data.key_lines.get(name, line),
                           f"'{where}' is {'empty' if name in data else 'missing'}",
                           f"add `{name}: …` ({f.metadata['doc']})")
        return cls(**kwargs)

    def value(self, f: dataclasses.Field, value: Any, raw: str | None, where: str, line: int) -> Any:
        kind = f.metadata["kind"]
        if kind == "section":
            return self.section(_section_type(f), value, where, line)
        if kind in ("keys", "pics"):  # read later by _security / _pics_values: they need the mode
            if not isinstance(value, _Map) or not value:
                raise _Bad(line, f"'{where}' must map names to values",
                           "e.g. `keys: {full: env:OSGP_KEY}`" if kind == "keys" else "e.g. `PICS_RELAY: true`")
            return value
        if kind in ("names", "patterns"):
            return self.names(value, where, line, kind)
        if isinstance(value, _Map | _Seq):
            shape = "list" if isinstance(value, _Seq) else "mapping"
            raise _Bad(line, f"'{where}' takes a single value, not a {shape}",
                       f"write `{where.rpartition('.')[2]}: value`")
        if kind in ("text", "url", "signing_key", "hex"):
            text = raw if raw is not None else str(value)
            if kind == "text":
                return text
            if kind == "hex":
                return _hex(text, line, where, f.metadata.get("lengths", ()))
            if kind == "url":
                problem = _url_problem(text)
                if problem:
                    raise _Bad(line, f"{where}: {problem[0]}", problem[1])
                return text.strip()
            return self.signing_key(text, line, where)
        if kind == "choice":
            choices = f.metadata["choices"]
            if value not in choices:
                raise _Bad(line, f"{where}: {value!r} is not one of {', '.join(choices)}"
                           f"{suggest(str(value), choices)}", f"use one of {', '.join(choices)}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise _Bad(line, f"{where}: {value!r} is not true/false", "write true or false")
            return value
        if kind in ("int", "float"):
            ok = isinstance(value, int) if kind == "int" else isinstance(value, int | float)
            if not ok or isinstance(value, bool):
                noun = "an integer" if kind == "int" else "a number"
                raise _Bad(line, f"{where}: {value!r} is not {noun}", f"write {noun}, e.g. {f.default}")
            lo, hi = f.metadata.get("range", (None, None))
            if lo is not None and not lo <= value <= hi:
                raise _Bad(line, f"{where}: {value} is outside {lo}..{hi}", f"use a value in {lo}..{hi}")
            values = f.metadata.get("values")
            if values and value not in values:
                raise _Bad(line, f"{where}: {value} is not one of {_either(values)}", f"use {_either(values)}")
            return float(value) if kind == "float" else value
        raise AssertionError(f"plan schema: unknown kind {kind}")  # a bug in the schema above

    @staticmethod
    def names(value: Any, where: str, line: int, kind: str) -> tuple[str, ...]:
        if not isinstance(value, _Seq):
            raise _Bad(line, f"'{where}' takes a list", f"write `{where.rpartition('.')[2]}: [A, B]`")
        out = []
        for item, item_line, raw in zip(value, value.lines, value.raw, strict=True):
            text = raw if raw is not None else item
            pattern = r"[A-Za-z0-9_*?\[\]]+" if kind == "patterns" else r"[A-Za-z_][A-Za-z0-9_-]*"
            if not isinstance(text, str) or not re.fullmatch(pattern, text):
                what = "an id or glob (letters, digits, _, *, ?)" if kind == "patterns" else "a plain name"
                raise _Bad(item_line, f"{where}: {text!r} is not {what}", "e.g. TC_SEC_* or full"
                           if kind == "patterns" else "use letters, digits, _ and -")
            out.append(text)
        if kind == "names" and len(set(out)) != len(out):
            raise _Bad(line, f"{where}: a name appears twice", "list each name once")
        return tuple(out)

    def secret_text(self, ref: str, line: int, where: str, kinds: tuple[str, ...]) -> tuple[bytes, str]:
        """The bytes behind `hex:`, `env:NAME` or `file:PATH` (as text for env/file), and a printable source."""
        scheme, sep, rest = ref.partition(":")
        forms = ", ".join({"hex": "hex:<hex digits>", "env": "env:NAME", "file": "file:PATH"}[k] for k in kinds)
        if not sep or scheme not in kinds:
            raise _Bad(line, f"{where}: {('a key' if 'hex' in kinds else 'the value')} must be {forms}",
                       f"e.g. {where.rpartition('.')[2]}: " + ("env:OSGP_KEY" if "env" in kinds else forms))
        if scheme == "hex":
            return rest.encode(), "hex:***"
        if scheme == "env":
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rest):
                raise _Bad(line, f"{where}: {rest!r} is not an environment variable name", "e.g. env:OSGP_KEY")
            if rest not in os.environ:
                raise _Bad(line, f"{where}: environment variable {rest} is not set",
                           f"export {rest}=... before the run, or use another form ({forms})")
            return os.environ[rest].encode(), f"env:{rest}"
        path = Path(rest).expanduser()
        path = path if path.is_absolute() else self.base_dir / path
        try:
            return path.read_bytes(), f"file:{rest}"
        except OSError as e:
            raise _Bad(line, f"{where}: cannot read {path}: {e.strerror}",
                       "check the path (relative paths start at the plan's directory)") from None

    def signing_key(self, text: str, line: int, where: str) -> Secret:
        data, _ = self.secret_text(text, line, where, ("env", "file"))
        return Secret(data, "signing_key")

    def key_bytes(self, ref: Any, line: int, where: str) -> tuple[Secret, str]:
        if not isinstance(ref, str):
            raise _Bad(line, f"{where}: a key must be hex:…, env:NAME or file:PATH",
                       "quote it: `hex:0101…`")
        data, source = self.secret_text(ref, line, where, ("hex", "env", "file"))
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise _Bad(line, f"{where}: {source} does not hold hex text", "store the key as hex digits") from None
        shown = f"{where} ({source})" if source != "hex:***" else where
        try:
            value = _hex(text, line, shown, ())
        except _Bad as e:  # never echo key material: say what is wrong, not what was there
            raise _Bad(line, f"{shown}: not hex bytes", e.fix) from None
        if not value:
            raise _Bad(line, f"{shown}: the key is empty", "give the key's hex digits")
        return Secret(value, where.rpartition(".")[2]), source


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _section_type(f: dataclasses.Field) -> type:
    return f.default_factory  # type: ignore[return-value]  # a section's default factory is its class


# ---- security and PICS: the parts that depend on other keys --------------------------------------

# Key lengths per security mode (osgp.digest takes 6, 12 or 16 bytes; MEP RC4 and AES need 16).
_KEY_LENGTHS = {("digest", ""): (6, 12, 16), ("rc4", "plc"): (6, 12, 16), ("rc4", "mep"): (16,),
                ("aes128", ""): (16,)}


def _security(reader: _Reader, sec: Security, data: _Map, pixit: Pixit) -> Security:
    """Resolve the raw `security.keys` mapping of a generically read Security into Keys."""
    raw_keys: _Map = sec.keys  # type: ignore[assignment]
    variant = pixit.rc4_variant if sec.mode == "rc4" else ""
    lengths = _KEY_LENGTHS[(sec.mode, variant)]
    keys = []
    for name, entry in raw_keys.items():
        kline = raw_keys.key_lines[name]
        where = f"security.keys.{name}"
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            raise _Bad(kline, f"{where}: {name!r} is not a plain key name", "use letters, digits, _ and -")
        access = sec.access_levels[0]
        if isinstance(entry, _Map):
            for k in entry:
                if k not in ("secret", "access"):
                    raise _Bad(entry.key_lines[k], f"unknown key '{where}.{k}'{suggest(k, ('secret', 'access'))}",
                               "a key entry has `secret:` and `access:`")
            if "secret" not in entry:
                raise _Bad(kline, f"'{where}.secret' is missing", "add `secret: env:NAME` (or hex:…, file:PATH)")
            access = entry.get("access", access)
            if access not in sec.access_levels:
                raise _Bad(entry.key_lines.get("access", kline), f"{where}.access: {access!r} is not one of "
                           f"the access levels {', '.join(sec.access_levels)}",
                           "use one of security.access_levels, or add the level there")
            entry, kline = entry["secret"], entry.key_lines["secret"]
        secret, source = reader.key_bytes(entry, kline, where)
        if len(secret) not in lengths:
            mode = sec.mode + (f" ({variant} variant)" if variant else "")
            raise _Bad(kline, f"{where}: the key is {len(secret)} bytes but security mode {mode} takes "
                       f"{_either(lengths)}-byte keys",
                       f"give a {_either(lengths)}-byte key ({_either([2 * n for n in lengths])} hex digits)")
        keys.append(Key(name, secret, access, source))
    default = sec.default_key or keys[0].name
    if default not in {k.name for k in keys}:
        raise _Bad(data.key_lines["default_key"], f"security.default_key: no key named {default!r}"
                   f"{suggest(default, [k.name for k in keys])}", f"use one of {', '.join(k.name for k in keys)}")
    return dataclasses.replace(sec, keys=tuple(keys), default_key=default)


def _envelope(pixit: Pixit, mode: str, data: _Map) -> None:
    """Field safety (ASM-APP-01): the first byte of every APDU must be one a 14908-1 node hands to its
    application (0x00-0x4F). Refuse an envelope that lets ciphertext or a network-management,
    diagnostics or network-variable code lead the APDU; digest mode without envelope is allowed (the
    OSGP request code 0x30/0x3F/0x40/0x4F leads, in clear)."""
    prefix = pixit.apdu_prefix
    px = data.get("pixit")
    if isinstance(px, _Map) and "apdu_prefix" in px:
        line = px.key_lines["apdu_prefix"]
    else:  # the default envelope is safe, so only security.mode can make it wrong
        line = data["security"].key_lines.get("mode", data["security"].line)
    fix = (f"set `apdu_prefix: \"{DEFAULT_APDU_PREFIX.hex()}\"` (the default, ASM-APP-01) or another envelope whose "
           "first byte is an application message code 0x00-0x3F or a foreign frame code 0x40-0x4F")
    if not prefix and mode in ("rc4", "aes128"):
        cipher = "RC4" if mode == "rc4" else "AES-CCM"
        raise _Bad(line, f"pixit.apdu_prefix is empty (no envelope) but security.mode is {mode}: the first byte of "
                   f"every APDU would be {cipher} ciphertext, which a 14908-1 node takes as network diagnostics "
                   "(0x50-0x5F), network management (0x60-0x7F, e.g. 0x64 LEAVE_DOMAIN, 0x6E WRITE_MEMORY) or a "
                   "network-variable update (0x80-0xFF) whenever it falls outside 0x00-0x4F",
                   fix + "; no envelope is allowed in security mode digest only")
    if prefix and not delivered(prefix[0]):
        c = apdu_class(prefix[:1] + b"\x00")
        name = f" ({c.name})" if c.name else ""
        raise _Bad(line, f"pixit.apdu_prefix {prefix.hex()!r}: its first byte 0x{prefix[0]:02X}{name} is a 14908-1 "
                   f"{c.kind} code, not one delivered to the application (0x00-0x4F): the DUT's 14908-1 stack would "
                   "execute every request itself instead of handing it to its OSGP application", fix)


def _pics_values(data: _Map, line: int, mode: str) -> tuple[dict[str, PicsValue], tuple[Finding, ...]]:
    """Check declared PICS against the catalogue, complete PICS_SEC_MODE, and review them."""
    values: dict[str, PicsValue] = {}
    for name, value in data.items():
        kline = data.key_lines[name]
        if name not in _pics.ITEMS:
            raise _Bad(kline, f"unknown PICS item '{name}'{suggest(name, _pics.ITEMS)}",
                       "use the items of the catalogue (docs/testplan.md lists them)")
        problem = _pics.ITEMS[name].check(value)
        if problem:
            raise _Bad(kline, f"pics: {problem}", "declare what the DUT supports")
        values[name] = value
    # The campaign's security mode is a plan setting; the PICS item follows it.
    if values.setdefault("PICS_SEC_MODE", mode) != mode:
        raise _Bad(data.key_lines["PICS_SEC_MODE"], f"pics: PICS_SEC_MODE is {values['PICS_SEC_MODE']!r} but "
                   f"security.mode is {mode!r}", "drop PICS_SEC_MODE: it follows security.mode")
    missing = [n for n in _pics.ITEMS if n not in values]
    if missing:
        raise _Bad(line, f"pics: {len(missing)} item(s) not declared: {', '.join(missing)}",
                   "declare every item of the PICS proforma (true/false, or the value)")
    findings = _pics.review(values)
    for f in findings:
        if f.severity == "error":
            lines = [data.key_lines[i] for i in f.items if i in data.key_lines]
            raise _Bad(min(lines) if lines else line, f"pics: inconsistent declaration, {f}",
                       "correct the declaration (or security.mode) so the rule holds")
    return values, tuple(findings)


# ---- entry points --------------------------------------------------------------------------------


def plan_sha256(path: str | Path) -> str:
    """SHA-256 of the plan file as written (hex): recorded in every report."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_plan(path: str | Path) -> Plan:
    """Read, check and freeze a test plan. Raises ConfigError `FILE:LINE: message (fix: ...)`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the test plan: {e.strerror} "
                          "(fix: check the path, or create one with `osgpct plan init`)") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (fix: save the plan as UTF-8)") from None
    try:
        plan = _build(_parse_yaml(text), path.resolve().parent)
    except _Bad as e:
        raise ConfigError(f"{path}:{e.line}: {e.message}" + (f" (fix: {e.fix})" if e.fix else "")) from None
    return dataclasses.replace(plan, path=path, sha256=hashlib.sha256(raw).hexdigest())


def _build(data: _Map, base_dir: Path) -> Plan:
    reader = _Reader(base_dir)
    plan: Plan = reader.section(Plan, data, "", 1)  # security.keys and pics still raw: they need the mode
    security = _security(reader, plan.security, data["security"], plan.pixit)
    _envelope(plan.pixit, security.mode, data)
    values, review = _pics_values(plan.pics, data.key_lines["pics"], security.mode)  # type: ignore[arg-type]
    address = plan.address
    if address.tester.subnet is None:  # the tester sits on the DUT's subnet unless told otherwise
        address = dataclasses.replace(address, tester=NodeAddress(subnet=address.subnet, node=address.tester.node))
    if (address.tester.subnet, address.tester.node) == (address.subnet, address.node):
        line = data["address"].key_lines.get("tester", data["address"].line)
        raise _Bad(line, f"address.tester is the DUT's own address (subnet {address.subnet} node {address.node})",
                   "give the tester another node number")
    return dataclasses.replace(plan, address=address, security=security, pics=MappingProxyType(values),
                               review=review)


def template_text() -> str:
    """The commented plan template written by `osgpct plan init`."""
    return resources.files("osgpct").joinpath("templates/testplan.template.yaml").read_text(encoding="utf-8")
