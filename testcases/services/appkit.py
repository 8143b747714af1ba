"""Helpers shared by the APP, TBL and robustness test cases (no test case lives here).

Everything goes through the session (the only door to the DUT) and the table schemas of
``osgp.tables`` (no byte offsets here: they come from ``field_offset``). The helpers judge nothing
on their own except where the DUT's answer cannot be used at all:

- a response the codec cannot parse is a FAIL of REQ-APP-015 / REQ-APP-003 (the DUT answered with a
  malformed message), whatever the step was doing;
- a response that does not authenticate is INCONC here (its content cannot be trusted; the SEC test
  cases judge authentication);
- a precondition the DUT does not give (BT00 unreadable, a dimension table that does not decode, no
  writable table to work on) is INCONC.

Import as ``from services.appkit import Dut`` (the test-case directories are packages under
``testcases/``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from osgp.app import Response, ResponseCode, bt, describe, et, pending, table_name
from osgp.clock import VirtualClock
from osgp.errors import DecodeError, EncodeError
from osgp.session import ResponseNotAuthentic
from osgp.tables import (
    Date,
    Dimensions,
    LTimeDate,
    Ped,
    Record,
    STimeDate,
    TableError,
    Time,
    procedure,
    schema,
)
from osgpct.verdicts import Verdict

#: Response codes of MEP-DG Table 2.5 / ANSI C12.18 (REQ-APP-021).
DEFINED_CODES = frozenset(range(0x00, 0x0D))
#: Codes that refuse a request without data (REQ-APP-015): everything defined but OK and 0x0C.
ERROR_CODES = frozenset(range(0x01, 0x0C))

#: Tables the test cases may write and restore to exercise the write services and pending tables, in
#: order of preference: (table id, field whose content is changed, kind of content). Only tables BT00
#: lists as written are used. Procedure (BT07) and firmware (ET100/ET101) tables are never scratch.
SCRATCH: tuple[tuple[int, str, str], ...] = (
    (et(3), "utility_serial_number", "chars"),
    (bt(5), "identification", "bcd"),
)

#: The dimension tables, in the order they must be read (each may need the ones before it).
_DIMENSION_TABLES = ((bt(0),), (bt(1),), (bt(21), bt(20)), (bt(50),), (bt(61), bt(60)), (bt(71), bt(70)),
                     (et(11),), (et(54),))

#: What each table's layout is judged by (requirement whose length formula the table follows).
TABLE_REQUIREMENT: dict[int, str] = {
    bt(0): "REQ-TBL-005", bt(1): "REQ-TBL-007", bt(3): "REQ-TBL-009", bt(4): "REQ-TBL-012",
    bt(20): "REQ-TBL-021", bt(21): "REQ-TBL-021", bt(22): "REQ-TBL-022", bt(23): "REQ-TBL-023",
    bt(26): "REQ-TBL-025", bt(28): "REQ-TBL-028", bt(52): "REQ-TBL-029", bt(54): "REQ-TBL-032",
    bt(55): "REQ-TBL-030", bt(60): "REQ-TBL-036", bt(61): "REQ-TBL-036", bt(62): "REQ-TBL-038",
    bt(63): "REQ-TBL-039", bt(64): "REQ-TBL-040", bt(65): "REQ-TBL-040", bt(66): "REQ-TBL-040",
    bt(67): "REQ-TBL-040", bt(70): "REQ-TBL-049", bt(71): "REQ-TBL-049", bt(74): "REQ-TBL-050",
    et(13): "REQ-TBL-056", et(14): "REQ-TBL-056", et(15): "REQ-TBL-056", et(16): "REQ-TBL-056",
    et(21): "REQ-TBL-041", et(34): "REQ-TBL-056", et(42): "REQ-TBL-057", et(50): "REQ-TBL-056",
    et(57): "REQ-TBL-056",
}

#: Tables the OSGP guides mark read-only (REQ-TBL-011).
READ_ONLY = (bt(0), bt(1), bt(3), bt(4), bt(22), bt(26), bt(52), bt(55), bt(74), et(54))


def hexs(data: bytes, limit: int = 48) -> str:
    """Bytes for a reason or an observation: hex, shortened past `limit` bytes."""
    data = bytes(data)
    text = data[:limit].hex(" ")
    return f"{text} … ({len(data)} bytes)" if len(data) > limit else text or "(none)"


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a decoded record with its path (``entries[3].time``)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, value


def time_problems(value: Any) -> list[str]:
    """Range problems of every date/time field of a decoded table (TM_FORMAT 2, REQ-TBL-003)."""
    out = []
    for path, leaf in walk(value):
        if isinstance(leaf, LTimeDate | STimeDate | Date | Time):
            out += [f"{path}: {p}" for p in leaf.problems()]
    return out


class Dut:
    """The DUT as one test case sees it: a session, the plan, and what BT00 and the dimension tables say."""

    def __init__(self, tc: Any, session: Any, plan: Any) -> None:
        self.tc, self.session, self.plan = tc, session, plan
        self._bt00: Record | None = None
        self._dims: Dimensions | None = None

    # ---- exchanges ---------------------------------------------------------------------------

    def ask(self, what: str, fn: Callable[..., Response], *args: Any, **kw: Any) -> Response:
        """One exchange; a malformed answer is a FAIL, an unauthentic one INCONC (see module docstring)."""
        try:
            r = fn(*args, **kw)
        except ResponseNotAuthentic as e:
            self.tc.inconc(f"{what}: the response did not authenticate ({e}); its content cannot be judged")
        except DecodeError as e:
            if getattr(e, "field", "") == "sequence number":
                self.tc.inconc(f"{what}: the DUT answered 0x0C without a well-formed sequence number ({e}); "
                               "TC_APP_CODE_BI_03 and the SEC test cases judge it")
            self.tc.fail(f"{what}: the DUT answered with a malformed response message: {e} "
                         "(REQ-APP-003, REQ-APP-015)")
        if r.code == ResponseCode.INVALID_SEQUENCE and kw.get("seq") is None:
            self.tc.inconc(f"{what}: the DUT refused the sequence number even after the session resynchronised "
                           f"({r.describe()}); the SEC test cases judge sequence numbers")
        return r

    def read(self, tid: int, **kw: Any) -> Response:
        return self.ask(f"full read of {table_name(tid)}", self.session.read, tid, **kw)

    def read_partial(self, tid: int, offset: int, count: int, **kw: Any) -> Response:
        return self.ask(f"partial read of {table_name(tid)}[{offset}:+{count}]", self.session.read_partial,
                        tid, offset, count, **kw)

    def write(self, tid: int, data: bytes, count: int | None = None, **kw: Any) -> Response:
        return self.ask(f"full write of {table_name(tid)}", self.session.write, tid, data, count, **kw)

    def write_partial(self, tid: int, offset: int, data: bytes, count: int | None = None, **kw: Any) -> Response:
        return self.ask(f"partial write of {table_name(tid)}[{offset}:+{len(data)}]", self.session.write_partial,
                        tid, offset, data, count, **kw)

    # ---- DUT time -------------------------------------------------------------------------------

    def wait(self, seconds: float, why: str) -> None:
        """Let DUT time pass (session.wait). On a real clock a case that would wait longer in total than 80 % of
        pixit.test_timeout_s is INCONC instead of running into the bound (raise the PIXIT to run it)."""
        seconds = max(float(seconds), 0.0)
        self._waited = getattr(self, "_waited", 0.0) + seconds
        bound = self.plan.pixit.test_timeout_s
        if not isinstance(self.session.clock, VirtualClock) and bound and self._waited > 0.8 * bound:
            self.tc.inconc(f"this case needs {self._waited:.0f} s of DUT time ({why}); pixit.test_timeout_s is "
                           f"{bound:g} s")
        self.session.wait(seconds, why)

    # ---- sizes -------------------------------------------------------------------------------

    @property
    def tag_len(self) -> int:
        return int(getattr(self.session.config.profile, "tag_len", 8))

    @property
    def budget(self) -> int:
        """Data bytes of the largest read answer that fits pixit.max_apdu (ASM-APP-05): the APDU holds
        the prefix, the code, the 2-byte count, the data and the authenticator."""
        px = self.plan.pixit
        return px.max_apdu - len(px.apdu_prefix) - 3 - self.tag_len

    @property
    def request_budget(self) -> int:
        """Message bytes (code .. data) of the largest request that fits pixit.max_apdu."""
        px = self.plan.pixit
        return px.max_apdu - len(px.apdu_prefix) - 4 - self.tag_len

    @property
    def partial_read(self) -> bool:
        return bool(self.plan.pics.get("PICS_PARTIAL_READ"))

    @property
    def partial_write(self) -> bool:
        return bool(self.plan.pics.get("PICS_PARTIAL_WRITE"))

    # ---- BT00 and the dimensions ---------------------------------------------------------------

    def bt00(self) -> Record:
        """BT00 decoded with its own dimensions (INCONC when it cannot be read or decoded)."""
        if self._bt00 is None:
            r = self.read(bt(0))
            self.tc.require(r.ok, f"BT00 (General Configuration) read answered {r.describe()}")
            header = schema(bt(0))
            try:
                head = header.decode_partial(r.data, Dimensions.from_tables({}))
                self._bt00 = header.decode(r.data, Dimensions.from_tables({bt(0): head}))
            except (DecodeError, TableError) as e:
                self.tc.inconc(f"BT00 does not decode with its own dimensions ({e}); TC_TBL_BT00_BV_01 judges it")
        return self._bt00

    def listed(self, tid: int) -> bool:
        """BT00 lists the (base) table as used."""
        b = self.bt00()
        return (tid - 2048) in b.mfg_tbls_used if tid >= 2048 else tid in b.std_tbls_used

    def writable(self, tid: int) -> bool:
        """BT00 lists the (base) table as written."""
        b = self.bt00()
        return (tid - 2048) in b.mfg_tbls_write if tid >= 2048 else tid in b.std_tbls_write

    def listed_tables(self) -> list[int]:
        b = self.bt00()
        return sorted(b.std_tbls_used) + [et(n) for n in sorted(b.mfg_tbls_used)]

    def dims(self) -> Dimensions:
        """Dimensions from every dimension table BT00 lists (read once per test case)."""
        if self._dims is None:
            decoded: dict[int, Record] = {bt(0): self.bt00()}
            for choices in _DIMENSION_TABLES[1:]:
                tid = next((t for t in choices if self.listed(t)), None)
                if tid is None:
                    continue
                data = self.read_image(tid, Dimensions.from_tables(decoded))
                if data is None:
                    continue
                try:
                    decoded[tid] = schema(tid).decode(data, Dimensions.from_tables(decoded))
                except (DecodeError, TableError) as e:
                    self.tc.inconc(f"dimension table {table_name(tid)} does not decode ({e}); "
                                   "the structure test cases judge it")
            self._dims = Dimensions.from_tables(decoded)
        return self._dims

    def size(self, tid: int, dims: Dimensions | None = None) -> int | None:
        """Size the dimensions imply (known part of an open-ended table), None if they cannot tell."""
        try:
            return schema(tid).size(dims or self.dims())
        except (TableError, IndexError, KeyError):
            return None

    # ---- whole tables -------------------------------------------------------------------------

    def read_image(self, tid: int, dims: Dimensions | None = None, *, size: int | None = None) -> bytes | None:
        """The table's bytes: a full read, or partial reads of `size` (default: the schema's size) bytes when
        the full read is refused with 0x04 because the table does not fit one answer. None (and an
        observation) when the DUT gives neither."""
        r = self.read(tid)
        if r.ok:
            return r.data
        if r.code == ResponseCode.ONP and self.partial_read:
            if size is None:
                try:
                    size = schema(tid).size(dims or self.dims())
                except (TableError, IndexError, KeyError):
                    size = None
            if size:
                return self.read_span(tid, 0, size)
        self.tc.observe(f"{table_name(tid)}: full read answered {r.describe()}")
        return None

    def read_span(self, tid: int, offset: int, count: int) -> bytes | None:
        """`count` bytes from `offset` by partial reads that each fit the budget (None if one is refused)."""
        out = bytearray()
        while len(out) < count:
            n = min(self.budget, count - len(out))
            r = self.read_partial(tid, offset + len(out), n)
            if not r.ok:
                self.tc.observe(f"{table_name(tid)}[{offset + len(out)}:+{n}]: partial read answered {r.describe()}")
                return None
            self.tc.check(len(r.data) == n, f"partial read of {table_name(tid)}[{offset + len(out)}:+{n}] returned "
                          f"{len(r.data)} bytes instead of the {n} asked (REQ-APP-006)")
            out += r.data[:n].ljust(n, b"\0")
        return bytes(out)

    def read_field(self, tid: int, path: str) -> Any:
        """One field by a partial read (or a full read when partial reads are not declared)."""
        dims = self.dims()
        s = schema(tid)
        off, n = s.field_offset(path, dims)
        if self.partial_read:
            data = self.read_span(tid, off, n)
        else:
            image = self.read_image(tid, dims)
            data = None if image is None else image[off:off + n]
        self.tc.require(data is not None, f"{table_name(tid)}.{path} could not be read")
        try:
            return s.decode_field(path, data, dims)
        except DecodeError as e:
            self.tc.fail(f"{table_name(tid)}.{path} ({hexs(data)}) does not decode: {e}")

    def decode(self, tid: int, data: bytes, *, requirement: str | None = None) -> Record | None:
        """Decode a table image; a length or content the schema refuses is a FAIL of the table's
        structure requirement (None is returned and the case goes on)."""
        req = requirement or TABLE_REQUIREMENT.get(tid % 4096, "REQ-APP-005")
        try:
            return schema(tid).decode(data, self.dims())
        except DecodeError as e:
            self.tc.check(False, f"{table_name(tid)} ({len(data)} bytes) does not decode with the dimensions the DUT "
                          f"declares: {e} ({req})")
        except (TableError, IndexError) as e:
            self.tc.observe(f"{table_name(tid)} cannot be sized from the dimensions read: {e}")
        return None

    # ---- scratch tables (write services, pending tables) -----------------------------------------

    def scratch(self, *, pendable: bool = False) -> list[tuple[int, str, str]]:
        """SCRATCH entries BT00 lists as used and written (require at least one)."""
        found = [s for s in SCRATCH if self.listed(s[0]) and self.writable(s[0])]
        self.tc.require(found, "BT00 lists none of the tables this suite uses as a write scratch area ("
                        + ", ".join(table_name(t) for t, _, _ in SCRATCH) + ") as written; the write test cases "
                        "need one (a PIXIT naming a writable table would lift this)")
        return found

    @staticmethod
    def variant(kind: str, old: bytes, salt: int) -> bytes:
        """A different but valid content for a scratch field of `kind` (same length as `old`)."""
        if kind == "bcd":
            digits = [(salt + i) % 10 for i in range(2 * len(old))]
            out = bytes(digits[2 * i] << 4 | digits[2 * i + 1] for i in range(len(old)))
        else:
            letters = b"OSGPCTABCDEFGHIJKLMNQRUVWXYZ0123456789"
            out = bytes(letters[(salt + i) % len(letters)] for i in range(len(old)))
        if out == old:
            return Dut.variant(kind, old, salt + 1)
        return out

    @contextlib.contextmanager
    def restoring(self, tid: int, original: bytes) -> Iterator[None]:
        """Write `original` back to `tid` afterwards (full write) and check it took; a DUT that cannot be
        restored gets an INCONC note (the campaign shares it)."""
        try:
            yield
        finally:
            self.restore(tid, original)

    def restore(self, tid: int, original: bytes) -> None:
        try:
            r = self.session.write(tid, original)
            back = self.session.read(tid) if r.ok else None
        except DecodeError as e:
            self.tc.record(Verdict.INCONC, f"restoring {table_name(tid)}: malformed answer {e}")
            return
        if not r.ok:
            self.tc.record(Verdict.INCONC, f"{table_name(tid)} could not be restored: the write of its original "
                           f"content answered {r.describe()}; later test cases may see the changed table")
        elif back is not None and back.ok and back.data[:len(original)] != original:
            self.tc.observe(f"{table_name(tid)} after restoring differs from the original: {hexs(back.data)} vs "
                            f"{hexs(original)}")

    # ---- procedures ---------------------------------------------------------------------------

    def run_procedure(self, number: int, params: bytes = b"") -> Any:
        """Run a procedure with a PSN different from the one BT08 holds (BT07 refuses a repeated PSN)."""
        r = self.read(bt(8))
        last = None
        if r.ok and r.data:
            try:
                last = schema(bt(8)).decode(r.data, self.dims()).psn
            except (DecodeError, TableError):
                last = None
        psn = ((last if last is not None else self.tc.rng.randrange(256)) + 1) % 256
        try:
            return self.session.procedure(number, params, psn=psn)
        except ResponseNotAuthentic as e:
            self.tc.inconc(f"procedure {number}: the response did not authenticate ({e})")
        except DecodeError as e:
            self.tc.fail(f"procedure {number}: malformed response {e} (REQ-APP-015)")

    # ---- pending tables -------------------------------------------------------------------------

    def pending_image(self, tid: int, ped: Ped, image: bytes) -> bytes:
        """PED + table image for a write of the pending table (encoded by the pending schema)."""
        dims = self.dims()
        value = schema(tid).decode(image, dims)
        try:
            return schema(pending(tid)).encode(Record(ped=ped, **value), dims)
        except EncodeError:
            return ped_bytes(ped) + image

    def bt04(self) -> Record | None:
        """BT04 as an instrument: None (and an INCONC note) when it cannot be read or decoded; its layout is
        judged by TC_TBL_PEND_BV_01 and TC_TBL_SIZE_CA_01."""
        image = self.read_image(bt(4))
        if image is not None:
            try:
                return schema(bt(4)).decode(image, self.dims())
            except (DecodeError, TableError) as e:
                self.tc.record(Verdict.INCONC, f"BT04 ({len(image)} bytes) does not decode ({e}): the pending "
                               "records cannot be judged here")
        return None


def ped_bytes(ped: Ped) -> bytes:
    """The 6 PED bytes (procedure BP13/BP15 parameter, by its schema)."""
    return procedure(15).encode_params(Record(ped=ped))


def code_ok(r: Response) -> str:
    return describe(r.code)
