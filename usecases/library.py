"""What procedure, management and use-case scenarios need around the session: :class:`Dut`.

A :class:`Dut` wraps the running test's verdict recorder (``tc``), its session and the plan, and gives:

- decoded reads sized by the DUT's own dimension tables (BT00, BT01, BT21, BT50, BT61, BT71, ET11 are read
  on demand), a single field by partial read (full read when the plan says the DUT has no partial read);
- procedure calls (BT07 full write, BT08 read) with a PSN that differs from the DUT's last one, BT08 polled
  for up to 1 s (REQ-PRC-004) until it echoes the call;
- the DUT clock (BT52) with the tester-clock bounds of each reading, setting it by BP10 and putting it back;
- the history log (BT74): header, and the entries newer than a given sequence number.

Verdicts: every read and call here is an *instrument*; when the DUT does not give what the instrument needs
(an error code, a table that does not decode, a BT08 that holds someone else's result), the case is INCONC
with the reason, or FAIL for a use case built with ``strict=True`` (the scenario itself did not work). What the
DUT declares it lacks (BT00 does not list a table or procedure) is INCONC either way. Judging the DUT against
the requirement under test is left to the test body (``tc.check``).
Byte layouts come from :mod:`osgp.tables`; the vendor layouts the plan's PIXIT selects (the reference
device's key change and firmware tables, ASM-DEV-03/04) are declared once here, as layouts.
"""

from __future__ import annotations

import calendar
import contextlib
import dataclasses
import inspect
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from osgp.app import ResponseCode, bt, et, table_name
from osgp.errors import DecodeError, EncodeError
from osgp.session import ProcedureOutcome
from osgp.tables import (
    BT03_MFG_STATUS,
    Dimensions,
    LTimeDate,
    ProcedureResponse,
    Record,
    TableError,
    decode_procedure_response,
    encode_procedure_initiate,
    procedure,
    schema,
)
from osgp.tables.dimensions import ROLE_SOURCES
from osgp.tables.types import UINT8, UINT16, UINT32, F, Layout, Raw
from osgpct.verdicts import Verdict

EP = 2048  # extended procedure n = 2048 + n (REQ-PRC-002)

# Procedure numbers (C12.19 basic procedures; extended ones as assumed in the register)
BP03_CLEAR_DATA = 3
BP04_RESET_LIST_POINTERS = 4
BP05_UPDATE_LAST_READ = 5
BP07_CLEAR_STD_STATUS = 7
BP08_CLEAR_MFG_STATUS = 8
BP09_REMOTE_RESET = 9
BP10_SET_DATE_TIME = 10
BP12_ACTIVATE_ALL_PENDING = 12
BP13_ACTIVATE_SPECIFIC_PENDING = 13
BP14_CLEAR_ALL_PENDING = 14
BP15_CLEAR_SPECIFIC_PENDING = 15
EP16_CLOCK_DELTA = EP + 16  # ASM-PRC-05
EP80_KEY_CHANGE = EP + 80  # ASM-DEV-03 (pixit.key_change = ep80)
EP81_FIRMWARE_ACTIVATE = EP + 81  # ASM-DEV-04 (pixit.firmware_upgrade = et100)
ET100_FW_HEADER, ET101_FW_IMAGE = et(100), et(101)  # ASM-DEV-04

#: C12.19 procedure result codes (REQ-PRC-005)
OK, PARTIAL, BAD_PARAM, CONFLICT, TIMING, NO_AUTH, UNKNOWN = range(7)
#: C12.19 history codes [termineter C1219_EVENT_CODES] (REQ-MGT-005)
EV_TIME_CHANGED_OLD, EV_TIME_CHANGED_NEW = 3, 4

#: The clock tolerance of a comparison between the DUT clock and the tester clock, on top of the exchange
#: durations and the 1 s resolution of BT52. The plan has no PIXIT for it yet (REQ-MGT-001 'within the clock
#: tolerance of the test plan'): 2 s.
CLOCK_TOLERANCE_S = 2.0
#: Contactor operations are at least 10 s apart [MEP-DG p.134] (REQ-PRC-038)
RELAY_SPACING_S = 10.0
#: Tables up to this many bytes are read in full when one field is needed (partial reads for larger ones)
SMALL_TABLE = 256
#: How long a contactor transient (ET23.94 = 1 closing / 3 opening) may last before the tester gives up
RELAY_SETTLE_S = 30.0
#: BT08 carries the result no later than 1 s after the BT07 write is answered [MEP-DG p.49-50] (REQ-PRC-004)
POST_DELAY_S = 1.0

MFG_ITEM = {name: item for item, name in BT03_MFG_STATUS.items()}  # BT03 manufacturer status item numbers

# Roles (osgp.tables.dimensions) a table needs beyond BT00/BT01, so that it decodes.
ROLES_FOR: dict[int, tuple[str, ...]] = {
    bt(22): ("bt21",), bt(23): ("bt21",), bt(24): ("bt21",), bt(25): ("bt21",), bt(26): ("bt21",),
    bt(28): ("bt21",), bt(54): ("bt50",), bt(60): (), bt(62): ("bt61",), bt(63): ("bt61",),
    bt(64): ("bt61",), bt(65): ("bt61",), bt(66): ("bt61",), bt(67): ("bt61",), bt(72): ("bt71",),
    bt(73): ("bt71",), bt(74): ("bt71",), bt(76): ("bt71",), et(21): ("bt61",), et(54): ("et11",),
}

# --------------------------------------------------------------------------------------------------
# Vendor layouts selected by the plan's PIXIT (the reference device's own designs)

#: EP80 parameters (ASM-DEV-03): key id (0 full, 1 read-only, 2 broadcast) and the new 16-byte key.
EP80_PARAMS = Layout("EP80 parameters (ASM-DEV-03)", [F("key_id", UINT8), F("key", Raw(16))])
EP80_KEY_IDS = {"full": 0, "read": 1, "broadcast": 2}

#: ET100 firmware image header (ASM-DEV-04); status is meter-controlled.
ET100_HEADER = Layout("ET100 firmware image header (ASM-DEV-04)", [
    F("image_length", UINT32), F("image_crc", UINT16, doc="CRC-16/GENIBUS of the image"),
    F("version", UINT16, doc="packed x.yy.zz as BT01.14-15, LSB first"), F("image_mac", Raw(16),
      doc="AES-CMAC of the image under the full key (AES mode)"),
    F("status", UINT8, doc="0 idle, 1 activated, 2 bad length/version, 3 bad CRC, 4 bad MAC")])
FW_STATUS = {0: "idle", 1: "activated", 2: "bad length or version", 3: "bad CRC", 4: "bad MAC"}


def utc_of(t: LTimeDate) -> int:
    """Seconds since the epoch of a UTC LTIME_DATE (ValueError when it is not a date)."""
    return calendar.timegm(t.to_datetime().timetuple())


def ltime(utc: float) -> LTimeDate:
    return LTimeDate.from_datetime(datetime.fromtimestamp(int(math.floor(utc)), UTC))


def weekday(utc: float) -> int:
    """C12.19 day of week, 0 = Sunday."""
    return (datetime.fromtimestamp(int(math.floor(utc)), UTC).weekday() + 1) % 7


def stamp(utc: float) -> str:
    return datetime.fromtimestamp(int(math.floor(utc)), UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class ClockReading:
    """One BT52 read: the DUT's UTC (whole seconds) and the tester-clock span of the exchange.

    The DUT sampled its clock somewhere between ``start`` and ``end`` and truncated it to the second, so its
    offset from the tester clock lies in :attr:`offset_bounds`."""

    utc: int
    start: float
    end: float
    raw: Record

    @property
    def offset_bounds(self) -> tuple[float, float]:
        return self.utc - self.end, self.utc + 1 - self.start

    @property
    def offset(self) -> float:
        """Best estimate of DUT UTC minus tester clock (lower bound: exact on a loopback)."""
        return self.utc - self.start


def offset_change(a: ClockReading, b: ClockReading) -> tuple[float, float]:
    """Bounds of how much the DUT clock moved against the tester clock between readings a and b."""
    lo_a, hi_a = a.offset_bounds
    lo_b, hi_b = b.offset_bounds
    return lo_b - hi_a, hi_b - lo_a


def moved_by(a: ClockReading, b: ClockReading, expected: float, tol: float = CLOCK_TOLERANCE_S) -> tuple[bool, str]:
    """Whether the DUT clock moved by ``expected`` seconds against the tester clock between readings a and b
    (within the exchange spans, BT52's 1 s resolution and ``tol``), and a description of the move."""
    lo, hi = offset_change(a, b)
    ok = lo - tol <= expected <= hi + tol
    if lo == hi:
        return ok, f"{lo:+.1f} s"
    return ok, f"{lo:+.1f}..{hi:+.1f} s"


def set_to(reading: ClockReading, target: float, call: Call, tol: float = CLOCK_TOLERANCE_S) -> tuple[bool, str]:
    """Whether ``reading`` shows a clock set to ``target`` by ``call`` (the DUT took it between the BT07 write
    being sent and answered) and running since, within the BT52 resolution and ``tol``; and how far off it is."""
    lo, hi = reading.offset_bounds
    want_lo, want_hi = target - call.answered, target - call.sent
    ok = lo - tol <= want_hi and want_lo <= hi + tol
    off = (lo + hi) / 2 - (want_lo + want_hi) / 2
    return ok, f"BT52 reads {stamp(reading.utc)}, {off:+.1f} s from the time set plus the time elapsed"


@dataclass(frozen=True)
class Call(ProcedureOutcome):
    """A procedure call: the BT07 write and what BT08 showed afterwards (``read`` is the last BT08 read),
    with the re-read count and timing the use cases judge; ``accepted``/``echoed`` come from the session's."""

    bt08_reads: int = 0
    sent: float = 0.0  # tester clock when the BT07 write left
    answered: float = 0.0  # tester clock when its answer came: the procedure started in between (or later)

    def describe(self) -> str:
        name = procedure_name(self.number)
        if not self.accepted:
            return f"{name} PSN {self.psn}: BT07 write answered {self.write.describe()}"
        if self.result is None:
            return f"{name} PSN {self.psn}: BT08 not readable"
        r = self.result
        return (f"{name} PSN {self.psn}: BT08 shows {procedure_name(r.number)} PSN {r.psn} result {r.result}"
                f" ({r.meaning or 'undefined'}){' data ' + r.data.hex() if r.data else ''}")


def procedure_name(number: int) -> str:
    return f"EP{number - EP:02d}" if number >= EP else f"BP{number:02d}"


class Dut:
    """The DUT as a procedure/management test sees it (see the module docstring)."""

    def __init__(self, tc: Any, session: Any, plan: Any, *, strict: bool = False) -> None:
        self.tc, self.session, self.plan = tc, session, plan
        #: strict (use cases): a DUT that refuses or garbles what the scenario needs FAILs the scenario; else
        #: (test cases using it as an instrument) the case is INCONC
        self.strict = strict
        self._tables: dict[int, Record] = {}
        self._last_psn: int | None = None
        self._waited = 0.0

    def wait(self, seconds: float, why: str, *, force: bool = False) -> None:
        """Let DUT time pass (session.wait). On a real clock a case that would wait longer in total than 80 % of
        pixit.test_timeout_s is INCONC instead of running into the bound (raise the PIXIT to run it); ``force``
        (putting the DUT back) waits anyway."""
        from osgp.clock import VirtualClock

        seconds = max(float(seconds), 0.0)
        self._waited += seconds
        bound = self.plan.pixit.test_timeout_s
        if not force and not isinstance(self.session.clock, VirtualClock) and bound and self._waited > 0.8 * bound:
            self.tc.inconc(f"this case needs {self._waited:.0f} s of DUT time ({why}); pixit.test_timeout_s is "
                           f"{bound:g} s")
        self.session.wait(seconds, why)

    def need(self, condition: object, reason: str) -> None:
        """What the scenario needs from the DUT: INCONC unless it holds (FAIL for a strict use case)."""
        if not condition:
            self.bad(reason)

    def bad(self, reason: str) -> NoReturn:
        if self.strict:
            self.tc.fail(reason)
        self.tc.inconc(reason)

    # ---- plan ---------------------------------------------------------------------------------------

    def pics(self, name: str) -> Any:
        return self.plan.pics.get(name)

    @property
    def pixit(self) -> Any:
        return self.plan.pixit

    # ---- dimensions and capabilities from BT00 --------------------------------------------------

    @property
    def bt00(self) -> Record:
        if bt(0) not in self._tables:
            r = self.session.read(bt(0))
            self.need(r.ok, f"BT00 read answered {r.describe()}")
            header = schema(bt(0))
            try:
                head = header.decode_partial(r.data[:19], Dimensions())
                self._tables[bt(0)] = header.decode(r.data, Dimensions.from_tables({bt(0): head}))
            except (DecodeError, TableError) as e:
                self.bad(f"BT00 does not decode: {e}")
        return self._tables[bt(0)]

    def dims(self, *roles: str) -> Dimensions:
        """Dimensions holding BT00, BT01 and the given roles (their tables are read once)."""
        self.bt00  # noqa: B018 - read it first: everything is sized from it
        for role in ("bt01", *roles):
            if any(t in self._tables for t in ROLE_SOURCES[role]):
                continue
            listed = [t for t in ROLE_SOURCES[role] if self.lists_table(t)] or list(ROLE_SOURCES[role][:1])
            self._tables[listed[0]] = self._decode(listed[0], self._raw(listed[0]), Dimensions.from_tables(
                self._tables, lp_sets=self._lp_sets()))
        return Dimensions.from_tables(self._tables, lp_sets=self._lp_sets())

    def _lp_sets(self) -> int | None:
        bt00 = self._tables.get(bt(0))
        if bt00 is None:
            return None
        n = 0
        while n < 4 and 64 + n in bt00.std_tbls_used:
            n += 1
        return n

    def lists_table(self, table_id: int) -> bool:
        b = self.bt00
        return table_id - EP in b.mfg_tbls_used if table_id >= EP else table_id in b.std_tbls_used

    def lists_write(self, table_id: int) -> bool:
        b = self.bt00
        return table_id - EP in b.mfg_tbls_write if table_id >= EP else table_id in b.std_tbls_write

    def lists_procedure(self, number: int) -> bool:
        b = self.bt00
        return number - EP in b.mfg_proc_used if number >= EP else number in b.std_proc_used

    def unlisted_procedure(self, extended: bool) -> int:
        """The highest procedure number the BT00 bitmap has room for but does not list (never BP00-BP02: cold
        start, warm start and save configuration are not probed); beyond the bitmap when it is full."""
        b = self.bt00
        used = b.mfg_proc_used if extended else b.std_proc_used
        room = (b.dim_mfg_proc_used if extended else b.dim_std_proc_used) * 8
        free = [n for n in range(room - 1, 2, -1) if n not in used]
        return (EP if extended else 0) + (free[0] if free else 2000)

    def require_procedure(self, number: int, why: str = "") -> None:
        """INCONC unless BT00 lists the procedure (the plan's PICS have no item for each procedure)."""
        self.tc.require(self.lists_procedure(number),
                        f"BT00 does not list {procedure_name(number)}{': ' + why if why else ''}; "
                        "the DUT declares it does not implement it")

    def require_table(self, table_id: int, why: str = "") -> None:
        self.tc.require(self.lists_table(table_id),
                        f"BT00 does not list {table_name(table_id)}{': ' + why if why else ''}")

    # ---- reads ----------------------------------------------------------------------------------

    def _raw(self, table_id: int, **kw: Any) -> bytes:
        r = self.session.read(table_id, **kw)
        self.need(r.ok, f"{table_name(table_id)} read answered {r.describe()}")
        return r.data

    def _decode(self, table_id: int, data: bytes, dims: Dimensions) -> Record:
        try:
            return schema(table_id).decode(data, dims)
        except (DecodeError, EncodeError, TableError) as e:
            self.bad(f"{table_name(table_id)} ({len(data)} bytes) does not decode: {e}")

    def read(self, table_id: int, **kw: Any) -> Record:
        """Full read of a table, decoded with the DUT's dimensions (INCONC if refused or malformed)."""
        base = table_id - 4096 if table_id >= 4096 else table_id
        dims = self.dims(*ROLES_FOR.get(base, ()))
        return self._decode(table_id, self._raw(table_id, **kw), dims)

    def read_bytes(self, table_id: int) -> bytes:
        return self._raw(table_id)

    def read_field(self, table_id: int, path: str, **kw: Any) -> Any:
        """One field, by a partial read when the DUT supports it (PICS_PARTIAL_READ), else from a full read."""
        dims = self.dims(*ROLES_FOR.get(table_id, ()))
        s = schema(table_id)
        try:
            off, size = s.field_offset(path, dims)
        except TableError as e:
            self.bad(f"{table_name(table_id)}.{path}: {e}")
        data = None
        if not self.pics("PICS_PARTIAL_READ") or self._small(table_id, dims):
            r = self.session.read(table_id, **kw)
            if r.ok or not self.pics("PICS_PARTIAL_READ") or r.code != ResponseCode.ONP:
                self.need(r.ok, f"{table_name(table_id)} read answered {r.describe()}")
                data = r.data[off:off + size]
        if data is None:  # a large table, or a full read too long for the DUT: read just the field
            r = self.session.read_partial(table_id, off, size, **kw)
            self.need(r.ok, f"{table_name(table_id)}[{off}:+{size}] ({path}) read answered {r.describe()}")
            data = r.data
        try:
            return s.decode_field(path, data, dims)
        except (DecodeError, TableError) as e:
            self.bad(f"{table_name(table_id)}.{path} does not decode: {e}")

    @staticmethod
    def _small(table_id: int, dims: Dimensions) -> bool:
        """A table read in full rather than in parts (fewer assumptions on the DUT's partial reads)."""
        try:
            return schema(table_id).size(dims) <= SMALL_TABLE
        except (TableError, DecodeError):
            return False

    def bt03_mfg(self) -> frozenset[int]:
        """The BT03 manufacturer status items that are set."""
        return frozenset(self.read(bt(3)).ed_mfg_status)

    # ---- procedures -----------------------------------------------------------------------------

    def next_psn(self) -> int:
        """A PSN different from the one of the DUT's last procedure (REQ-PRC-013 refuses a repeat).

        The session numbers PSNs from 1 in every test, so on a DUT shared by the campaign its first PSN may
        repeat the previous test's last one; BT08 tells which PSN the DUT saw last."""
        if self._last_psn is None:
            r = self.session.read(bt(8))
            last = None
            if r.ok:
                with contextlib.suppress(DecodeError):
                    last = decode_procedure_response(r.data).psn
            self._last_psn = last if last is not None else self.tc.rng.randrange(256)
        self._last_psn = (self._last_psn + 1) % 256
        return self._last_psn

    def call(self, number: int, params: bytes | dict = b"", *, psn: int | None = None, selector: int = 0,
             read_kw: dict | None = None, **kw: Any) -> Call:
        """Write BT07 (full write) and read BT08, re-reading it for up to 1 s until it echoes the call.

        ``kw`` goes to the BT07 write (key, encrypt, ...), ``read_kw`` to the BT08 reads (default: ``kw``).
        Nothing is judged here."""
        if isinstance(params, dict):
            try:
                params = procedure(number).encode_params(params)
            except (EncodeError, TableError) as e:
                raise ValueError(f"{procedure_name(number)} parameters {params}: {e}") from e
        psn = self.next_psn() if psn is None else psn % 256
        self._last_psn = self.session.psn = psn
        sent = self.session.clock.now()
        write = self.session.write(bt(7), encode_procedure_initiate(number, psn, params, selector), **kw)
        written = self.session.clock.now()
        if write.code != ResponseCode.OK:
            return Call(number, psn, write, None, None, 0, sent, written)
        rkw = kw if read_kw is None else read_kw
        result, reads, r = None, 0, None
        while True:
            r = self.session.read(bt(8), **rkw)
            reads += 1
            result = None
            if r.ok:
                with contextlib.suppress(DecodeError):
                    result = decode_procedure_response(r.data)
            if result is not None and result.number == number and result.psn == psn:
                break
            if self.session.clock.now() - written >= POST_DELAY_S:
                break
            self.wait(0.25, "BT08 does not show the result yet (it has up to 1 s, REQ-PRC-004)")
        return Call(number, psn, write, r, result, reads, sent, written)

    def run(self, number: int, params: bytes | dict = b"", *, what: str = "", **kw: Any) -> ProcedureResponse:
        """A procedure call used as an instrument: INCONC unless the write is accepted and BT08 echoes it."""
        return self.posted(self.call(number, params, **kw), what)

    def posted(self, c: Call, what: str = "") -> ProcedureResponse:
        """The result of call ``c``: INCONC (FAIL if strict) unless the write was accepted and BT08 echoes it."""
        label = what or procedure_name(c.number)
        self.need(c.accepted, f"{label}: {c.describe()}")
        self.need(c.echoed, f"{label}: BT08 does not hold the result of this call ({c.describe()}; REQ-PRC-003), "
                  "so the outcome cannot be judged")
        return c.result  # type: ignore[return-value]

    def run_ok(self, number: int, params: bytes | dict = b"", *, what: str = "", **kw: Any) -> ProcedureResponse:
        """:meth:`run`, and INCONC unless the result is 0 (completed)."""
        res = self.run(number, params, what=what, **kw)
        self.need(res.result == OK, f"{what or procedure_name(number)}: result {res.result} "
                        f"({res.meaning}), needed 0 (completed) to go on")
        return res

    # ---- clock ----------------------------------------------------------------------------------

    def clock(self) -> ClockReading:
        """Read BT52 (the UTC clock) with the tester-clock span of the exchange."""
        start = self.session.clock.now()
        rec = self.read(bt(52))
        end = self.session.exchanges[-1].finished if self.session.exchanges else self.session.clock.now()
        try:
            utc = utc_of(rec.clock_calendar)
        except ValueError as e:
            self.bad(f"BT52 holds no valid date and time ({rec.clock_calendar}): {e}")
        return ClockReading(utc, start, end if end is not None else start, rec)

    def bp10_params(self, utc: float, *, set_time: bool = True, set_date: bool = True,
                    fields: LTimeDate | None = None) -> bytes:
        """BP10 parameters (ASM-PRC-03): SET_MASK, YY MM DD hh mm ss (UTC, like BT52), TIME_DATE_QUAL."""
        value = Record(set_time=set_time, set_date=set_date, set_time_date_qual=False,
                       date_time=fields if fields is not None else ltime(utc), day_of_week=weekday(utc),
                       dst_flag=False, gmt_flag=True, tm_zn_applied_flag=False, dst_applied_flag=False,
                       dst_supported_flag=False)
        return procedure(BP10_SET_DATE_TIME).encode_params(value)

    def set_clock(self, utc: float, *, what: str = "BP10 set date and time") -> Call:
        """Set the DUT clock to ``utc`` by BP10 (instrument: INCONC unless result 0); the call gives the tester
        times between which the DUT took the new time (see :func:`set_to`)."""
        c = self.call(BP10_SET_DATE_TIME, self.bp10_params(utc))
        res = self.posted(c, what)
        self.need(res.result == OK, f"{what}: result {res.result} ({res.meaning}), needed 0 (completed) to go on")
        return c

    def require_clock_runs(self, seconds: float = 5.0) -> None:
        """INCONC unless BT52 advances with the tester clock over ``seconds`` (REQ-MGT-001 as a precondition)."""
        a = self.clock()
        self.wait(seconds, "to see the DUT clock run")
        ok, how = moved_by(a, self.clock(), 0)
        self.tc.require(ok, f"the DUT clock does not run with real time (drift {how} over {seconds:g} s, "
                        "REQ-MGT-001): clock moves cannot be judged")

    def restore_clock(self, before: ClockReading) -> None:
        """Put the DUT clock back where it would be had the test not touched it (BP10, to the second)."""
        target = math.floor(self.session.clock.now() + before.offset + 1e-6)
        c = self.call(BP10_SET_DATE_TIME, self.bp10_params(target))
        if not (c.echoed and c.result is not None and c.result.result == OK):
            self.tc.record(Verdict.INCONC, f"could not put the DUT clock back to {stamp(target)}: {c.describe()}")
        else:
            self.tc.observe(f"DUT clock put back to {stamp(target)} UTC")

    @contextlib.contextmanager
    def clock_kept(self) -> Iterator[ClockReading]:
        """Read the clock, run the block, and put the clock back whatever happens."""
        before = self.clock()
        try:
            yield before
        finally:
            self.restore_clock(before)

    # ---- history log (BT74) ---------------------------------------------------------------------

    def log_header(self) -> Record:
        """BT74's list header (order, overflow, valid, last element, last sequence number, unread)."""
        dims = self.dims("bt71")
        s = schema(bt(74))
        try:
            size = s.field_offset("entries", dims)[0]
        except TableError as e:
            self.bad(f"BT74: {e}")
        if self.pics("PICS_PARTIAL_READ"):
            r = self.session.read_partial(bt(74), 0, size)
            self.need(r.ok, f"BT74 header read answered {r.describe()}")
            data = r.data
        else:
            data = self._raw(bt(74))[:size]
        try:
            return s.decode_partial(data, dims)
        except (DecodeError, TableError) as e:
            self.bad(f"BT74 header does not decode: {e}")

    def log_entries_since(self, seq: int, header: Record | None = None, *, check: bool = True) -> list[Record]:
        """The BT74 entries logged after LAST_ENTRY_SEQ_NBR ``seq``, oldest first (at most the log size); with
        ``check`` each must carry the sequence number expected at its element (else INCONC, FAIL if strict)."""
        h = header or self.log_header()
        dims = self.dims("bt71")
        capacity = dims.bt71.nbr_history_entries
        count = min((h.last_entry_seq_nbr - seq) % (1 << 32), h.nbr_valid_entries, capacity)
        if count == 0 or capacity == 0:
            return []
        indices = [(h.last_entry_element - k) % capacity for k in range(count)][::-1]
        if h.order == 1:  # descending list: the newest entry is element 0 [C12.19 ORDER]
            indices = list(range(count))[::-1]
        entries = self.log_entries(indices)
        expected = [(h.last_entry_seq_nbr - k) & 0xFFFF for k in range(count)][::-1]
        got = [e.get("seq_nbr") for e in entries]
        self.need(not check or all(g is None or g == w for g, w in zip(got, expected, strict=True)),
                  f"the BT74 entries read at the elements the header points to carry sequence numbers {got}, not "
                  f"{expected}: the entries cannot be located reliably")
        return entries

    def log_entries(self, indices: Iterable[int]) -> list[Record]:
        dims = self.dims("bt71")
        s = schema(bt(74))
        out = []
        full = None if self.pics("PICS_PARTIAL_READ") else self._raw(bt(74))
        for i in indices:
            path = f"entries[{i}]"
            try:
                off, size = s.field_offset(path, dims)
            except TableError as e:
                self.bad(f"BT74.{path}: {e}")
            if full is None:
                r = self.session.read_partial(bt(74), off, size)
                self.need(r.ok, f"BT74 {path} read answered {r.describe()}")
                data = r.data
            else:
                data = full[off:off + size]
            try:
                out.append(s.decode_field(path, data, dims))
            except (DecodeError, TableError) as e:
                self.bad(f"BT74 {path} does not decode: {e}")
        return out


def derived_session(session: Any, *, dut: Any = None, profile: Any = None) -> Any:
    """A session to the same DUT over the same driver with another destination (broadcast, group) or security
    profile, whose exchanges go to the same evidence listeners as ``session``."""
    from osgp.session import Session

    config = dataclasses.replace(session.config, **{k: v for k, v in (("dut", dut), ("profile", profile))
                                                    if v is not None})
    kw: dict[str, Any] = {}
    tids = getattr(getattr(session, "requester", None), "tids", None)
    if tids is not None and "tids" in inspect.signature(Session).parameters:
        kw["tids"] = tids  # one TID sequence towards the DUT: its duplicate detection outlives a session
    other = Session(session.driver, config, clock=session.clock, **kw)
    for fn in getattr(session, "_listeners", ()):  # Session has no public accessor (see the report)
        other.on_exchange(fn)
    return other


def profile_for(plan: Any, keys: list[Any]) -> Any:
    """A security profile of the plan's mode and PIXIT holding ``keys`` (as osgpct.plugin.make_session builds)."""
    from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile

    px = plan.pixit
    if plan.security.mode == "aes128":
        return AesCcmProfile(keys, tag_len=px.aes_ccm.tag_len, device_id=px.aes_ccm.device_id)
    if plan.security.mode == "rc4":
        return Rc4Profile(keys, variant=px.rc4_variant)
    return DigestProfile(keys)


def new_entries(before: Record, after: Record) -> int:
    """Entries logged between two BT74 headers (by LAST_ENTRY_SEQ_NBR)."""
    return (after.last_entry_seq_nbr - before.last_entry_seq_nbr) % (1 << 32)


def log_reset(before: Record, after: Record) -> bool:
    """Whether the entries unread at ``before`` were marked read by ``after``: only entries logged in between
    are unread (an untouched log keeps its unread count plus the new entries, capped at its size)."""
    return before.nbr_unread_entries > 0 and after.nbr_unread_entries <= new_entries(before, after)


def describe_event(e: Record) -> str:
    t = e.get("time")
    when = f"{stamp(utc_of(t))} " if t is not None and not t.is_zero and not t.problems() else ""
    arg = e.argument.hex() if isinstance(e.get("argument"), bytes) else e.get("argument")
    return f"{when}code {e.event_code} arg {arg} seq {e.get('seq_nbr')}"
