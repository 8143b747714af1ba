"""Values produced by the table codecs: records, date/time values, the PED, issues and errors.

Everything here is plain data. Byte layouts are not described here: they live in the schemas
(see :mod:`osgp.tables.types` for the engine and ``basic.py`` / ``extended.py`` for the tables).
"""

from __future__ import annotations

import calendar
import datetime as _dt
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from osgp.errors import OsgpError

__all__ = [
    "AnsiDate", "Date", "DimensionError", "Issue", "LTimeDate", "PathError", "Ped", "RDate", "Record",
    "STimeDate", "Severity", "TableError", "Time", "UnknownTable", "two_digit_year",
]


# --------------------------------------------------------------------------------------------------
# Errors raised by the table layer for *usage* problems (malformed bytes raise osgp.errors.DecodeError)


class TableError(OsgpError):
    """A table-layer usage problem: unknown table, bad field path, missing dimension."""


class UnknownTable(TableError, KeyError):
    """No schema exists for the requested table or procedure id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DimensionError(TableError, LookupError):
    """A size or a condition needs a dimension that has not been supplied (read that table first)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PathError(TableError, KeyError):
    """A field path does not name a field of the schema (or the field is absent for these dimensions)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------------------------------
# Records


class Record(dict):
    """A decoded record: a dict whose keys also read as attributes (``bt23.tot_data_block.summations``).

    Field order is the order of the table layout. Arrays are lists, SET bitmaps are frozensets of
    item numbers, CHAR fields are ``str`` (latin-1, so every byte survives), raw byte fields ``bytes``.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"record has no field {name!r} (fields: {', '.join(self)})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return "Record(" + ", ".join(f"{k}={v!r}" for k, v in self.items()) + ")"


# --------------------------------------------------------------------------------------------------
# Validation issues


class Severity(IntEnum):
    """How bad a validation finding is.

    INFO is an *observation*: the value is legal but differs from what NES/OSGP meters are documented
    to declare (a test case may report it, never FAIL on it). WARNING: suspicious or undocumented.
    ERROR: outside a documented range.
    """

    INFO = 0
    WARNING = 1
    ERROR = 2


@dataclass(frozen=True)
class Issue:
    path: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.severity.name} {self.path}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Date and time values (BT00 TM_FORMAT = 2: UINT8 discrete fields, two-digit year)


def two_digit_year(yy: int) -> int:
    """Full year for a two-digit table year: ANSI window 00..89 -> 2000s, 90..99 -> 1990s [C1219-A]."""
    return 2000 + yy if yy < 90 else 1900 + yy


def _date_problems(yy: int, month: int, day: int) -> list[str]:
    out = []
    if yy > 99:
        out.append(f"year {yy} is not a two-digit year (0..99)")
    if not 1 <= month <= 12:
        out.append(f"month {month} outside 1..12")
    if not 1 <= day <= 31:
        out.append(f"day {day} outside 1..31")
    elif 1 <= month <= 12 and yy <= 99:
        last = calendar.monthrange(two_digit_year(yy), month)[1]
        if day > last:
            out.append(f"day {day} does not exist in {two_digit_year(yy)}-{month:02d}")
    return out


def _time_problems(hour: int, minute: int, second: int | None = None) -> list[str]:
    out = []
    if hour > 23:
        out.append(f"hour {hour} outside 0..23")
    if minute > 59:
        out.append(f"minute {minute} outside 0..59")
    if second is not None and second > 59:
        out.append(f"second {second} outside 0..59")
    return out


@dataclass(frozen=True)
class LTimeDate:
    """LTIME_DATE: YY MM DD hh mm ss, one UINT8 each. ``year`` is the raw two-digit year."""

    year: int
    month: int
    day: int
    hour: int = 0
    minute: int = 0
    second: int = 0

    @property
    def is_zero(self) -> bool:
        return not any((self.year, self.month, self.day, self.hour, self.minute, self.second))

    def problems(self) -> list[str]:
        """Range problems; an all-zero value means "not set" and has none."""
        if self.is_zero:
            return []
        return _date_problems(self.year, self.month, self.day) + _time_problems(
            self.hour, self.minute, self.second)

    def to_datetime(self) -> _dt.datetime:
        """Naive datetime (tables hold UTC unless stated); raises ValueError if out of range."""
        return _dt.datetime(two_digit_year(self.year), self.month, self.day, self.hour, self.minute,
                            self.second)

    @classmethod
    def from_datetime(cls, t: _dt.datetime) -> LTimeDate:
        return cls(t.year % 100, t.month, t.day, t.hour, t.minute, t.second)


@dataclass(frozen=True)
class STimeDate:
    """STIME_DATE: YY MM DD hh mm (5 bytes)."""

    year: int
    month: int
    day: int
    hour: int = 0
    minute: int = 0

    @property
    def is_zero(self) -> bool:
        return not any((self.year, self.month, self.day, self.hour, self.minute))

    def problems(self) -> list[str]:
        if self.is_zero:
            return []
        return _date_problems(self.year, self.month, self.day) + _time_problems(self.hour, self.minute)

    def to_datetime(self) -> _dt.datetime:
        return _dt.datetime(two_digit_year(self.year), self.month, self.day, self.hour, self.minute)

    @classmethod
    def from_datetime(cls, t: _dt.datetime) -> STimeDate:
        return cls(t.year % 100, t.month, t.day, t.hour, t.minute)


@dataclass(frozen=True)
class Time:
    """TIME: hh mm ss (3 bytes)."""

    hour: int
    minute: int
    second: int = 0

    def problems(self) -> list[str]:
        return _time_problems(self.hour, self.minute, self.second)


@dataclass(frozen=True)
class Date:
    """DATE under TM_FORMAT 2: YY MM DD (3 bytes)."""

    year: int
    month: int
    day: int

    def problems(self) -> list[str]:
        if not any((self.year, self.month, self.day)):
            return []
        return _date_problems(self.year, self.month, self.day)


@dataclass(frozen=True)
class AnsiDate:
    """ANSI_DATE, a UINT16: year bits 0..6 (offset from 2000), month bits 7..10, day bits 11..15."""

    year: int
    month: int
    day: int

    def problems(self) -> list[str]:
        if not any((self.year, self.month, self.day)):
            return []
        return _date_problems(self.year % 100, self.month, self.day)


@dataclass(frozen=True)
class RDate:
    """RDATE, a recurring date (UINT16). Fields that do not apply to ``month`` are 0.

    month 1..12 a month of the year, 13 every month (both use offset/weekday/day),
    14 weekly (weekday only), 15 every PERIOD+DELTA (period/delta only).
    """

    month: int
    offset: int = 0
    weekday: int = 0
    day: int = 0
    period: int = 0
    delta: int = 0

    def problems(self) -> list[str]:
        out = []
        if self.month == 0:
            out.append("month 0 is unassigned (1..12 month, 13 monthly, 14 weekly, 15 periodic)")
        if self.month <= 13 and not 1 <= self.day <= 31 and self.month != 0:
            out.append(f"day {self.day} outside 1..31")
        return out


# --------------------------------------------------------------------------------------------------
# Pending Event Description [OPG p.10]


PED_ABSOLUTE, PED_RELATIVE, PED_MANUAL = 0, 1, 2


@dataclass(frozen=True)
class Ped:
    """Pending Event Description: 6 bytes in front of every pending table image.

    ``event_code`` 0 = activate at the absolute UTC time in ``storage`` (an STIME_DATE; all zero = empty
    PED), 1 = relative to receipt (weeks, days, hours, minutes, seconds), 2 = only by BP12/BP13.
    """

    event_code: int
    self_read: bool = False
    demand_reset: bool = False
    storage: bytes = bytes(5)

    @classmethod
    def absolute(cls, when: STimeDate, *, self_read: bool = False, demand_reset: bool = False) -> Ped:
        raw = bytes((when.year, when.month, when.day, when.hour, when.minute))
        return cls(PED_ABSOLUTE, self_read, demand_reset, raw)

    @classmethod
    def relative(cls, weeks: int = 0, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0,
                 *, self_read: bool = False, demand_reset: bool = False) -> Ped:
        return cls(PED_RELATIVE, self_read, demand_reset, bytes((weeks, days, hours, minutes, seconds)))

    @classmethod
    def manual(cls, *, self_read: bool = False, demand_reset: bool = False) -> Ped:
        return cls(PED_MANUAL, self_read, demand_reset, bytes(5))

    @property
    def absolute_time(self) -> STimeDate | None:
        return STimeDate(*self.storage) if self.event_code == PED_ABSOLUTE else None

    @property
    def relative_time(self) -> tuple[int, int, int, int, int] | None:
        if self.event_code != PED_RELATIVE:
            return None
        w, d, h, m, s = self.storage
        return (w, d, h, m, s)

    @property
    def is_empty(self) -> bool:
        return self.event_code == PED_ABSOLUTE and not any(self.storage)

    def problems(self) -> list[str]:
        if self.event_code > PED_MANUAL:
            return [f"event code {self.event_code} is reserved (0 absolute, 1 relative, 2 manual)"]
        if self.event_code == PED_ABSOLUTE:
            return STimeDate(*self.storage).problems()
        return []
