"""The schema engine: declarative field types and a record layout that decodes, encodes, sizes,
validates and locates fields.

A layout is a list of :class:`Field` s. Sizes and conditions are either constants or small functions
of a :class:`~osgp.tables.dimensions.Dimensions` object (``lambda d: d.bt21.nbr_summations``): no
strings are evaluated. While a layout is decoded or encoded, the record in progress is visible in the
dimensions under the layout's own role (``d.bt00`` inside BT00, ``d.params`` inside procedure
parameters), so a table can size its later fields from its earlier ones.

Table data is little-endian unless a field says otherwise [OPG p.5]; bit 0 is the least significant
bit; SET bitmaps number bit k of byte i as item 8*i + k, for every k in 0..7.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from osgp.errors import DecodeError, EncodeError

from .values import (
    AnsiDate,
    Date,
    DimensionError,
    Issue,
    LTimeDate,
    PathError,
    Ped,
    RDate,
    Record,
    Severity,
    STimeDate,
    Time,
)

if TYPE_CHECKING:
    from .dimensions import Dimensions

Count = int | Callable[["Dimensions"], int]
Cond = Callable[["Dimensions"], bool]


# --------------------------------------------------------------------------------------------------
# helpers


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _eval(fn: Any, dims: Dimensions, layer: str, path: str) -> Any:
    """Evaluate a size/condition function, turning any failure into a DimensionError with context."""
    if not callable(fn):
        return fn
    try:
        return fn(dims)
    except DimensionError as e:
        raise DimensionError(f"{layer}: field '{path or '(table)'}': {e}") from None
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as e:
        raise DimensionError(
            f"{layer}: field '{path or '(table)'}' cannot be sized from the dimensions given ({e})"
        ) from None


def count_of(n: Count, dims: Dimensions, layer: str = "table", path: str = "") -> int:
    """Resolve a constant-or-function count; raise DimensionError unless it is a non-negative int."""
    v = _eval(n, dims, layer, path)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise DimensionError(f"{layer}: field '{path}': the dimensions give {v!r}, which is not a count")
    return v


def _take(data: bytes, pos: int, n: int, layer: str, path: str) -> bytes:
    if pos + n > len(data):
        raise DecodeError(layer, path or "(table)", pos, f"needs {n} bytes, table has {len(data)}")
    return data[pos:pos + n]


def _fail(layer: str, path: str, message: str) -> EncodeError:
    return EncodeError(f"{layer}: field '{path or '(table)'}': {message}")


# --------------------------------------------------------------------------------------------------
# checks (value ranges from the sources)


@dataclass(frozen=True)
class Check:
    """A range rule on one value: ``ok(value)`` false gives an Issue; ``message`` may use {value}."""

    ok: Callable[[Any], bool]
    message: str
    severity: Severity = Severity.ERROR

    def issue(self, value: Any, path: str) -> Issue | None:
        try:
            good = self.ok(value)
        except Exception:  # a malformed value is reported, not raised, by validate()
            good = False
        return None if good else Issue(path, self.severity, self.message.format(value=value))


def one_of(values: Iterable[int], message: str | None = None, severity: Severity = Severity.ERROR) -> Check:
    allowed = frozenset(values)
    text = message or f"{{value}} is not one of {sorted(allowed)}"
    return Check(lambda v: v in allowed, text, severity)


def in_range(lo: int, hi: int, message: str | None = None, severity: Severity = Severity.ERROR) -> Check:
    return Check(lambda v: lo <= v <= hi, message or f"{{value}} outside {lo}..{hi}", severity)


# --------------------------------------------------------------------------------------------------
# field types


class FieldType:
    """Base of all field types. ``size`` needs only dimensions, never data."""

    label = "?"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        raise NotImplementedError

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[Any, int]:
        raise NotImplementedError

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        raise NotImplementedError

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        return []

    def __repr__(self) -> str:
        return self.label


class Int(FieldType):
    """UINTn / INTn; little-endian unless ``big_endian`` (e.g. BT01's packed firmware version)."""

    def __init__(self, nbytes: int, signed: bool = False, big_endian: bool = False) -> None:
        self.nbytes, self.signed, self.big_endian = nbytes, signed, big_endian
        self.label = f"{'INT' if signed else 'UINT'}{8 * nbytes}{'_BE' if big_endian else ''}"
        bits = 8 * nbytes
        self.lo, self.hi = ((-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1))

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return self.nbytes

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[int, int]:
        raw = _take(data, pos, self.nbytes, layer, path)
        order = "big" if self.big_endian else "little"
        return int.from_bytes(raw, order, signed=self.signed), pos + self.nbytes

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, int) or not self.lo <= value <= self.hi:
            raise _fail(layer, path, f"{value!r} does not fit {self.label} ({self.lo}..{self.hi})")
        return value.to_bytes(self.nbytes, "big" if self.big_endian else "little", signed=self.signed)


UINT8, UINT16, UINT24, UINT32 = Int(1), Int(2), Int(3), Int(4)
INT8, INT16, INT24, INT32, INT40, INT48, INT64 = (Int(n, signed=True) for n in (1, 2, 3, 4, 5, 6, 8))


class Fill(FieldType):
    """FILLn: ignored when decoding, written as zeros; carries no value."""

    def __init__(self, nbytes: Count) -> None:
        self.nbytes = nbytes
        self.label = f"FILL[{nbytes if isinstance(nbytes, int) else '…'}]"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return count_of(self.nbytes, dims, layer, path)

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[None, int]:
        n = self.size(dims, layer, path)
        _take(data, pos, n, layer, path)
        return None, pos + n

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        return bytes(self.size(dims, layer, path))


class Raw(FieldType):
    """ARRAY[n] OF UINT8 kept as ``bytes`` (ids, opaque arguments, vendor-reserved areas)."""

    def __init__(self, nbytes: Count, label: str = "BYTES") -> None:
        self.nbytes = nbytes
        self.label = f"{label}[{nbytes if isinstance(nbytes, int) else '…'}]"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return count_of(self.nbytes, dims, layer, path)

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[bytes, int]:
        n = self.size(dims, layer, path)
        return bytes(_take(data, pos, n, layer, path)), pos + n

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        n = self.size(dims, layer, path)
        if not isinstance(value, bytes | bytearray) or len(value) != n:
            raise _fail(layer, path, f"needs {n} bytes, got {value!r}")
        return bytes(value)


def Reserved(nbytes: Count) -> Raw:  # noqa: N802 - reads like the spec notation
    """A vendor-reserved area ("do not overwrite"): kept verbatim so a read-modify-write preserves it."""
    return Raw(nbytes, "RESERVED")


class Rest(FieldType):
    """The remaining bytes of an open-ended table (procedure parameters, unknown table tails).

    It counts 0 towards ``size``: the size of an open-ended table is that of its known part.
    """

    label = "REST"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return 0

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[bytes, int]:
        return bytes(data[pos:]), max(pos, len(data))

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, bytes | bytearray):
            raise _fail(layer, path, f"needs bytes, got {value!r}")
        return bytes(value)


REST = Rest()


class Chars(FieldType):
    """CHAR[n]: decoded as latin-1 (every byte survives); short strings are padded with ``pad``.

    BT00 CHAR_FORMAT 1 (ISO 646) allows only 7-bit characters; validate() reports others.
    """

    def __init__(self, length: Count, pad: bytes = b" ") -> None:
        self.length, self.pad = length, pad
        self.label = f"CHAR[{length if isinstance(length, int) else '…'}]"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return count_of(self.length, dims, layer, path)

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[str, int]:
        n = self.size(dims, layer, path)
        return _take(data, pos, n, layer, path).decode("latin-1"), pos + n

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        n = self.size(dims, layer, path)
        if not isinstance(value, str):
            raise _fail(layer, path, f"needs a string, got {value!r}")
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raise _fail(layer, path, f"{value!r} has characters outside ISO 8859-1") from None
        if len(raw) > n:
            raise _fail(layer, path, f"{value!r} is longer than {n} characters")
        return raw + self.pad * (n - len(raw))

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        bt00 = dims.get("bt00")
        fmt = bt00.get("char_format") if bt00 is not None else None
        if fmt == 1 and isinstance(value, str) and any(ord(c) > 0x7F for c in value):
            return [Issue(path, Severity.WARNING, "non-ASCII character while BT00 CHAR_FORMAT = 1 (ISO 646)")]
        return []


class Bcd(FieldType):
    """BCD[n]: n bytes, two digits each (high nibble first), as a string of 2n digits.

    Nibbles above 9 decode as hex letters so that every byte string decodes; validate() flags them.
    """

    def __init__(self, nbytes: Count) -> None:
        self.nbytes = nbytes
        self.label = f"BCD[{nbytes if isinstance(nbytes, int) else '…'}]"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return count_of(self.nbytes, dims, layer, path)

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[str, int]:
        n = self.size(dims, layer, path)
        return _take(data, pos, n, layer, path).hex().upper(), pos + n

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        n = self.size(dims, layer, path)
        if not isinstance(value, str) or len(value) != 2 * n or not re.fullmatch(r"[0-9A-Fa-f]*", value):
            raise _fail(layer, path, f"needs {2 * n} BCD digits, got {value!r}")
        return bytes.fromhex(value)

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        bad = [i for i, c in enumerate(str(value)) if not c.isdigit()]
        if bad:
            return [Issue(path, Severity.ERROR, f"non-decimal BCD digit at position {bad[0]} in {value!r}")]
        return []


class BitSet(FieldType):
    """SET(n): n bytes of flags; bit k of byte i is item 8*i + k (LSB first), all bits 0..7.

    Decodes to a frozenset of item numbers; encodes any iterable of item numbers, or a list of bools.
    """

    def __init__(self, nbytes: Count) -> None:
        self.nbytes = nbytes
        self.label = f"SET({nbytes if isinstance(nbytes, int) else '…'})"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return count_of(self.nbytes, dims, layer, path)

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str
               ) -> tuple[frozenset[int], int]:
        n = self.size(dims, layer, path)
        raw = _take(data, pos, n, layer, path)
        items = frozenset(8 * i + k for i, byte in enumerate(raw) for k in range(8) if byte >> k & 1)
        return items, pos + n

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        n = self.size(dims, layer, path)
        if isinstance(value, list | tuple) and value and all(isinstance(b, bool) for b in value):
            value = [i for i, b in enumerate(value) if b]
        out = bytearray(n)
        try:
            items = list(value)
        except TypeError:
            raise _fail(layer, path, f"needs a set of item numbers, got {value!r}") from None
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < 8 * n:
                raise _fail(layer, path, f"item {item!r} outside 0..{8 * n - 1} for SET({n})")
            out[item >> 3] |= 1 << (item & 7)
        return bytes(out)


@dataclass(frozen=True)
class BitField:
    """A bit field inside an integer: BOOL(n) or UINT(lo..hi) / INT(lo..hi); bit 0 = LSB."""

    name: str
    lo: int
    hi: int
    kind: str = "uint"  # "bool" | "uint" | "int"
    checks: tuple[Check, ...] = ()
    doc: str = ""

    @property
    def width(self) -> int:
        return self.hi - self.lo + 1


def BOOL(name: str, bit: int, *checks: Check, doc: str = "") -> BitField:  # noqa: N802
    return BitField(name, bit, bit, "bool", checks, doc)


def UINT(name: str, lo: int, hi: int | None = None, *checks: Check, doc: str = "") -> BitField:  # noqa: N802
    return BitField(name, lo, lo if hi is None else hi, "uint", checks, doc)


def SINT(name: str, lo: int, hi: int, *checks: Check, doc: str = "") -> BitField:  # noqa: N802
    return BitField(name, lo, hi, "int", checks, doc)


class Bits(FieldType):
    """An integer split into named bit fields. Unnamed bits are filler (read as ignored, written 0).

    The sub-field values sit directly in the enclosing record (``bt00.char_format``).
    """

    def __init__(self, nbytes: int, fields: Sequence[BitField], big_endian: bool = False) -> None:
        self.nbytes, self.fields, self.big_endian = nbytes, tuple(fields), big_endian
        self.label = f"BITS{8 * nbytes}"
        for f in self.fields:
            if not 0 <= f.lo <= f.hi < 8 * nbytes:
                raise ValueError(f"bit field {f.name} ({f.lo}..{f.hi}) outside a {8 * nbytes}-bit integer")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return self.nbytes

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[Record, int]:
        word = int.from_bytes(_take(data, pos, self.nbytes, layer, path), "big" if self.big_endian else "little")
        out = Record()
        for f in self.fields:
            v = word >> f.lo & ((1 << f.width) - 1)
            if f.kind == "bool":
                out[f.name] = bool(v)
            elif f.kind == "int" and v >> (f.width - 1):
                out[f.name] = v - (1 << f.width)
            else:
                out[f.name] = v
        return out, pos + self.nbytes

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        word = 0
        for f in self.fields:
            p = _join(path, f.name)
            if f.name not in value:
                raise _fail(layer, p, "missing")
            v = value[f.name]
            if not isinstance(v, int):
                raise _fail(layer, p, f"needs an integer or bool, got {v!r}")
            lo, hi = ((-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.kind == "int"
                      else (0, (1 << f.width) - 1))
            if not lo <= v <= hi:
                raise _fail(layer, p, f"{v} does not fit bits {f.lo}..{f.hi} ({lo}..{hi})")
            word |= (v & ((1 << f.width) - 1)) << f.lo
        return word.to_bytes(self.nbytes, "big" if self.big_endian else "little")

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        out = []
        for f in self.fields:
            for c in f.checks:
                issue = c.issue(value.get(f.name), _join(path, f.name))
                if issue:
                    out.append(issue)
        return out


class UInt8Tuple(FieldType):
    """A date/time made of UINT8 discrete fields (BT00 TM_FORMAT 2): LTIME_DATE, STIME_DATE, TIME, DATE."""

    def __init__(self, value_cls: type, label: str) -> None:
        self.value_cls, self.label = value_cls, label
        self._names = tuple(f.name for f in dataclasses.fields(value_cls))
        self.nbytes = len(self._names)

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return self.nbytes

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[Any, int]:
        raw = _take(data, pos, self.nbytes, layer, path)
        return self.value_cls(*raw), pos + self.nbytes

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, self.value_cls):
            raise _fail(layer, path, f"needs a {self.value_cls.__name__}, got {value!r}")
        parts = [getattr(value, n) for n in self._names]  # flat ints: astuple's deep copy costs 10x more
        if not all(isinstance(p, int) and 0 <= p <= 255 for p in parts):
            raise _fail(layer, path, f"{value!r}: every part must be a UINT8")
        return bytes(parts)

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        return [Issue(path, Severity.ERROR, p) for p in value.problems()]


LTIME_DATE = UInt8Tuple(LTimeDate, "LTIME_DATE")
STIME_DATE = UInt8Tuple(STimeDate, "STIME_DATE")
TIME = UInt8Tuple(Time, "TIME")
DATE = UInt8Tuple(Date, "DATE")


class AnsiDateType(FieldType):
    label = "ANSI_DATE"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return 2

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[AnsiDate, int]:
        w = int.from_bytes(_take(data, pos, 2, layer, path), "little")
        return AnsiDate(w & 0x7F, w >> 7 & 0xF, w >> 11), pos + 2

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, AnsiDate):
            raise _fail(layer, path, f"needs an AnsiDate, got {value!r}")
        if not (0 <= value.year <= 127 and 0 <= value.month <= 15 and 0 <= value.day <= 31):
            raise _fail(layer, path, f"{value!r} does not fit year 7 bits, month 4 bits, day 5 bits")
        return (value.year | value.month << 7 | value.day << 11).to_bytes(2, "little")

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        return [Issue(path, Severity.ERROR, p) for p in value.problems()]


class RDateType(FieldType):
    label = "RDATE"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return 2

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[RDate, int]:
        w = int.from_bytes(_take(data, pos, 2, layer, path), "little")
        month = w & 0xF
        if month == 14:
            return RDate(14, weekday=w >> 8 & 7), pos + 2
        if month == 15:
            return RDate(15, period=w >> 4 & 0x3F, delta=w >> 10), pos + 2
        return RDate(month, offset=w >> 4 & 0xF, weekday=w >> 8 & 7, day=w >> 11), pos + 2

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, RDate):
            raise _fail(layer, path, f"needs an RDate, got {value!r}")
        v = value
        used = {14: ("weekday",), 15: ("period", "delta")}.get(v.month, ("offset", "weekday", "day"))
        for name, width in (("offset", 4), ("weekday", 3), ("day", 5), ("period", 6), ("delta", 6)):
            part = getattr(v, name)
            if name not in used and part:
                raise _fail(layer, path, f"{name} does not apply to RDATE month {v.month}")
            if not 0 <= part < 1 << width:
                raise _fail(layer, path, f"{name} {part} does not fit {width} bits")
        if not 0 <= v.month <= 15:
            raise _fail(layer, path, f"month {v.month} does not fit 4 bits")
        if v.month == 15:
            w = 15 | v.period << 4 | v.delta << 10
        else:
            w = v.month | v.offset << 4 | v.weekday << 8 | v.day << 11
        return w.to_bytes(2, "little")

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        return [Issue(path, Severity.ERROR, p) for p in value.problems()]


ANSI_DATE, RDATE = AnsiDateType(), RDateType()


class PedType(FieldType):
    """PED [OPG p.10]: byte 0 = event code UINT(0..3), self-read BOOL(4), demand reset BOOL(5);
    bytes 1..5 = event storage."""

    label = "PED"

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return 6

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[Ped, int]:
        raw = _take(data, pos, 6, layer, path)
        return Ped(raw[0] & 0xF, bool(raw[0] & 0x10), bool(raw[0] & 0x20), bytes(raw[1:])), pos + 6

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, Ped):
            raise _fail(layer, path, f"needs a Ped, got {value!r}")
        if not 0 <= value.event_code <= 15 or len(value.storage) != 5:
            raise _fail(layer, path, f"{value!r}: event code must fit 4 bits and storage be 5 bytes")
        head = value.event_code | (0x10 if value.self_read else 0) | (0x20 if value.demand_reset else 0)
        return bytes((head,)) + bytes(value.storage)

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        return [Issue(path, Severity.ERROR, p) for p in value.problems()]


PED = PedType()


class Dynamic(FieldType):
    """A field whose type depends on the dimensions (BT01 serial: BCD[8] if ID_FORM = 1 else CHAR[16])."""

    def __init__(self, choose: Callable[[Dimensions], FieldType], label: str) -> None:
        self.choose, self.label = choose, label

    def resolve(self, dims: Dimensions, layer: str = "table", path: str = "") -> FieldType:
        t = _eval(self.choose, dims, layer, path)
        if not isinstance(t, FieldType):
            raise DimensionError(f"{layer}: field '{path}': no field type for these dimensions")
        return t

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return self.resolve(dims, layer, path).size(dims, layer, path)

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[Any, int]:
        return self.resolve(dims, layer, path).decode(data, pos, dims, layer, path)

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        return self.resolve(dims, layer, path).encode(value, dims, layer, path)

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        return self.resolve(dims, "table", path).issues(value, dims, path)


_NI_TYPES = {7: INT24, 8: INT32, 9: INT40, 10: INT48, 11: INT64}
_NI_NAMES = {0: "FLOAT64", 1: "FLOAT32", 2: "FLOAT_CHAR12", 3: "FLOAT_CHAR6", 4: "INT32 with implied point",
             5: "BCD6", 6: "BCD4", 12: "BCD8", 13: "FLOAT_CHAR21"}


def ni_type(code: int) -> FieldType:
    """Integer type for a BT00 NI_FORMAT code; OSGP meters declare 8 (INT32) [OPG p.48]."""
    if code in _NI_TYPES:
        return _NI_TYPES[code]
    raise DimensionError(f"BT00 NI format code {code} ({_NI_NAMES.get(code, 'unassigned')}) is not "
                         "supported by this suite (integer formats 7..11 only)")


NI_FMAT1 = Dynamic(lambda d: ni_type(d.bt00.ni_format1), "NI_FMAT1")
NI_FMAT2 = Dynamic(lambda d: ni_type(d.bt00.ni_format2), "NI_FMAT2")


class Array(FieldType):
    """ARRAY[n] OF T, n constant or from the dimensions; ``elem`` may be a function of the index
    (load-profile data set N takes its sizes from BT61 set N)."""

    def __init__(self, count: Count, elem: FieldType | Callable[[int], FieldType]) -> None:
        self.count, self._elem = count, elem
        inner = elem.label if isinstance(elem, FieldType) else "T(i)"
        self.label = f"ARRAY[{count if isinstance(count, int) else '…'}] OF {inner}"

    def elem_type(self, index: int) -> FieldType:
        return self._elem if isinstance(self._elem, FieldType) else self._elem(index)

    def _elems(self, n: int, dims: Dimensions, layer: str, path: str) -> Iterable[FieldType]:
        """Element types; a dimension-dependent element type (NI_FMAT) is resolved once per array."""
        if isinstance(self._elem, Dynamic):
            t = self._elem.resolve(dims, layer, path)
            return (t for _ in range(n))
        return (self.elem_type(i) for i in range(n))

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        n = count_of(self.count, dims, layer, path)
        if isinstance(self._elem, FieldType):
            return n * self._elem.size(dims, layer, f"{path}[0]") if n else 0
        return sum(self.elem_type(i).size(dims, layer, f"{path}[{i}]") for i in range(n))

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[list, int]:
        out = []
        n = count_of(self.count, dims, layer, path)
        for i, t in enumerate(self._elems(n, dims, layer, path)):
            v, pos = t.decode(data, pos, dims, layer, f"{path}[{i}]")
            out.append(v)
        return out, pos

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        n = count_of(self.count, dims, layer, path)
        if not isinstance(value, list | tuple) or len(value) != n:
            got = f"{len(value)} elements" if isinstance(value, list | tuple) else repr(value)
            raise _fail(layer, path, f"needs a list of {n} elements, got {got}")
        pairs = enumerate(zip(self._elems(n, dims, layer, path), value, strict=True))
        return b"".join(t.encode(v, dims, layer, f"{path}[{i}]") for i, (t, v) in pairs)

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        out = []
        for i, v in enumerate(value):
            out += self.elem_type(i).issues(v, dims, f"{path}[{i}]")
        return out


@dataclass(frozen=True)
class Field:
    """One entry of a layout. ``name`` is None for BITS groups (their sub-fields are flattened into the
    record) and for FILL. ``when`` makes the field optional: present only if it returns true."""

    name: str | None
    type: FieldType
    when: Cond | None = None
    checks: tuple[Check, ...] = ()
    doc: str = ""


def F(name: str, type_: FieldType, *checks: Check, when: Cond | None = None, doc: str = "") -> Field:  # noqa: N802
    return Field(name, type_, when, tuple(checks), doc)


def BITS(nbytes: int, *fields: BitField, when: Cond | None = None, big_endian: bool = False) -> Field:  # noqa: N802
    return Field(None, Bits(nbytes, fields, big_endian), when)


def FILL(nbytes: Count, when: Cond | None = None) -> Field:  # noqa: N802
    return Field(None, Fill(nbytes), when)


class Struct(FieldType):
    """A record: an ordered list of fields, decoded to a :class:`Record`."""

    def __init__(self, fields: Sequence[Field], label: str = "RECORD") -> None:
        self.fields, self.label = tuple(fields), label
        self._field_names = {id(f): self._names(f) for f in self.fields}
        names = [n for f in self.fields for n in self._names(f)]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate field names {sorted(dup)}")

    @staticmethod
    def _names(f: Field) -> tuple[str, ...]:
        if isinstance(f.type, Bits):
            return f.type.names
        return (f.name,) if f.name else ()

    def present(self, f: Field, dims: Dimensions, layer: str, path: str) -> bool:
        if f.when is None:  # the common case, on the hot path of every table image
            return True
        return bool(_eval(f.when, dims, layer, _join(path, f.name or "(bits)")))

    def size(self, dims: Dimensions, layer: str = "table", path: str = "") -> int:
        return sum(f.type.size(dims, layer, _join(path, f.name or "")) for f in self.fields
                   if self.present(f, dims, layer, path))

    def decode_into(self, rec: Record, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> int:
        for f in self.fields:
            if not self.present(f, dims, layer, path):
                continue
            p = _join(path, f.name or ".".join(self._names(f)) or "(filler)")
            v, pos = f.type.decode(data, pos, dims, layer, p)
            if isinstance(f.type, Bits):
                rec.update(v)
            elif f.name:
                rec[f.name] = v
        return pos

    def decode(self, data: bytes, pos: int, dims: Dimensions, layer: str, path: str) -> tuple[Record, int]:
        rec = Record()
        pos = self.decode_into(rec, data, pos, dims, layer, path)
        return rec, pos

    def encode(self, value: Any, dims: Dimensions, layer: str, path: str) -> bytes:
        if not isinstance(value, Mapping):
            raise _fail(layer, path, f"needs a record (mapping), got {value!r}")
        out, allowed = [], set()
        for f in self.fields:
            if not self.present(f, dims, layer, path):
                continue
            allowed.update(self._field_names[id(f)])
            if isinstance(f.type, Bits | Fill):
                out.append(f.type.encode(value, dims, layer, path))
                continue
            p = _join(path, f.name)
            if f.name not in value and isinstance(f.type, Rest):
                continue  # an absent tail is an empty one
            if f.name not in value:
                raise _fail(layer, p, "missing from the value")
            out.append(f.type.encode(value[f.name], dims, layer, p))
        extra = set(value) - allowed
        if extra:
            raise _fail(layer, path, f"unknown or absent fields {sorted(extra)} for these dimensions")
        return b"".join(out)

    def issues(self, value: Any, dims: Dimensions, path: str) -> list[Issue]:
        out: list[Issue] = []
        for f in self.fields:
            if not self.present(f, dims, "table", path):
                continue
            if isinstance(f.type, Bits):
                out += f.type.issues(value, dims, path)
                continue
            if not f.name:
                continue
            p = _join(path, f.name)
            v = value[f.name]
            for c in f.checks:
                issue = c.issue(v, p)
                if issue:
                    out.append(issue)
            out += f.type.issues(v, dims, p)
        return out

    def locate(self, name: str, dims: Dimensions, layer: str, path: str
               ) -> tuple[int, FieldType, BitField | None]:
        """Offset (within this record) and type of the field ``name``; for a bit field, its bytes."""
        off = 0
        for f in self.fields:
            here = self.present(f, dims, layer, path)
            if name in self._names(f):
                if not here:
                    raise PathError(f"{layer}: field '{_join(path, name)}' is absent for these dimensions")
                bf = next((b for b in f.type.fields if b.name == name), None) if isinstance(f.type, Bits) else None
                return off, f.type, bf
            if here:
                off += f.type.size(dims, layer, _join(path, f.name or ""))
        known = ", ".join(n for f in self.fields for n in self._names(f))
        raise PathError(f"{layer}: no field '{_join(path, name)}' (fields here: {known})")


def RECORD(*fields: Field) -> Struct:  # noqa: N802
    return Struct(fields)


# --------------------------------------------------------------------------------------------------
# layouts: the codec used by table schemas and procedure parameter/response blocks

_PATH_TOKEN = re.compile(r"\s*(?:([A-Za-z_]\w*)|\[(\d+)\])\s*\.?")

TableCheck = Callable[[Record, "Dimensions"], Iterable[Issue]]


class Layout:
    """A top-level record layout with the five operations every schema offers."""

    def __init__(self, name: str, fields: Sequence[Field], *, self_role: str | None = None,
                 checks: Sequence[TableCheck] = ()) -> None:
        self.name = name
        self.struct = Struct(fields, label=name)
        self.self_role = self_role
        self.checks = tuple(checks)

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.struct.fields

    def _with_self(self, dims: Dimensions, rec: Mapping) -> Dimensions:
        return dims.with_table(self.self_role, rec) if self.self_role else dims

    def decode(self, data: bytes, dims: Dimensions) -> Record:
        """Decode a full image; raises DecodeError if it is too short or too long."""
        data = bytes(data)
        rec = Record()
        pos = self.struct.decode_into(rec, data, 0, self._with_self(dims, rec), self.name, "")
        if pos != len(data):
            raise DecodeError(self.name, "(end)", pos,
                              f"{len(data) - pos} bytes beyond the last field (the layout ends at {pos})")
        return rec

    def encode(self, value: Mapping, dims: Dimensions) -> bytes:
        return self.struct.encode(value, self._with_self(dims, value), self.name, "")

    def size(self, dims: Dimensions) -> int:
        """Size in bytes for these dimensions (the known part, for open-ended layouts)."""
        return self.struct.size(dims, self.name, "")

    def validate(self, value: Mapping, dims: Dimensions) -> list[Issue]:
        """Range findings; a value that cannot even be encoded gives one ERROR issue saying why."""
        try:
            self.encode(value, dims)
        except (EncodeError, DimensionError) as e:
            return [Issue(self.name, Severity.ERROR, f"cannot be encoded: {e}")]
        d = self._with_self(dims, value)
        out = self.struct.issues(value, d, "")
        for check in self.checks:
            out += list(check(value, d))
        return out

    def _locate(self, path: str, dims: Dimensions) -> tuple[int, int, FieldType, BitField | None]:
        tokens = [(m.group(1), m.group(2)) for m in _PATH_TOKEN.finditer(path)]
        if not tokens or "".join(m.group(0) for m in _PATH_TOKEN.finditer(path)).strip() != path.strip():
            raise PathError(f"{self.name}: cannot parse field path {path!r} (use e.g. 'demands[2].demand[0]')")
        typ: FieldType = self.struct
        off, here, bf = 0, "", None
        for name, index in tokens:
            if bf is not None:
                raise PathError(f"{self.name}: '{here}' is a bit field and has no parts")
            if isinstance(typ, Dynamic):
                typ = typ.resolve(dims, self.name, here)
            if name is not None and isinstance(typ, Struct):
                rel, typ, bf = typ.locate(name, dims, self.name, here)
                off, here = off + rel, _join(here, name)
            elif index is not None and isinstance(typ, Array):
                i, n = int(index), count_of(typ.count, dims, self.name, here)
                if i >= n:
                    raise PathError(f"{self.name}: index {i} out of range for '{here}' ({n} elements)")
                off += sum(typ.elem_type(k).size(dims, self.name, f"{here}[{k}]") for k in range(i))
                typ, here = typ.elem_type(i), f"{here}[{i}]"
            else:
                part = name if name is not None else f"[{index}]"
                raise PathError(f"{self.name}: '{here or '(table)'}' ({typ.label}) has no part {part!r}")
        return off, typ.size(dims, self.name, here), typ, bf

    def field_offset(self, path: str, dims: Dimensions) -> tuple[int, int]:
        """(offset, size) in bytes of the field at ``path`` (e.g. ``"tot_data_block.summations[3]"``);
        a bit field gives the bytes of the integer that holds it."""
        off, size, _, _ = self._locate(path, self._with_self(dims, dims.get(self.self_role) or {}))
        return off, size

    def decode_field(self, path: str, data: bytes, dims: Dimensions) -> Any:
        """Decode just the bytes of one field, e.g. the answer to a partial read at field_offset()."""
        d = self._with_self(dims, dims.get(self.self_role) or {})
        _, size, typ, bf = self._locate(path, d)
        data = bytes(data)
        if len(data) != size and not isinstance(typ, Rest):
            raise DecodeError(self.name, path, 0, f"field is {size} bytes, got {len(data)}")
        value, _ = typ.decode(data, 0, d, self.name, path)
        return value[bf.name] if bf is not None else value

    def decode_partial(self, data: bytes, dims: Dimensions, offset: int = 0) -> Record:
        """Decode the top-level fields that lie wholly inside ``data`` read from ``offset``
        (the answer to a partial read); fields cut by either end are left out."""
        data, end = bytes(data), offset + len(data)
        scratch = Record(dims.get(self.self_role) or {})  # own earlier values size later fields
        d = self._with_self(dims, scratch)
        out, pos = Record(), 0
        for f in self.fields:
            if pos > end:
                break
            if not self.struct.present(f, d, self.name, ""):
                continue
            size = f.type.size(d, self.name, f.name or "")
            if isinstance(f.type, Rest):
                size = max(0, end - pos)
            if pos >= offset and pos + size <= end:
                v, _ = f.type.decode(data[pos - offset:pos - offset + size], 0, d, self.name, f.name or "")
                if isinstance(f.type, Bits):
                    out.update(v)
                    scratch.update(v)
                elif f.name:
                    out[f.name] = scratch[f.name] = v
            pos += size
        return out
