"""The DUT as a test case or use case sees it: :class:`Dut`, built from the case's record (``tc``), its session
and the plan. Every test case and use case reaches the DUT through it (or through the session directly);
raw-frame link probes are in :mod:`osgpct.probes`.

What it gives:

- exchanges (:meth:`Dut.read`, :meth:`Dut.write`, ... :meth:`Dut.ask`) and evidence steps (:meth:`Dut.step`);
- BT00 and the dimension tables, read once per case, decoded reads (:meth:`Dut.read_decoded`), a single field
  (:meth:`Dut.read_field`), a whole table by partial reads when it does not fit one answer;
- procedure calls (BT07 write, BT08 polled for up to 1 s, REQ-PRC-004) with the PSN the session follows;
- the DUT clock (BT52) with the tester-clock bounds of each reading, the history log (BT74), scratch tables,
  restoring what a case changed, sequence-number and access probes of the SEC test cases.

Verdict policy (the framework's, :mod:`osgpct.testcase`; nothing here re-decides it):

- a :class:`~osgp.errors.DutProtocolError` (an answer that does not authenticate or decode) propagates: the
  framework judges it (:meth:`CaseRun.on_exception`: a failed check of the requirement it breaks when the case
  names it, else INCONC naming the cases that judge it). :meth:`Dut.step` only spells the reason out when the
  case names the requirement broken (the SEC and LNK cases, which judge authentication);
- a precondition the DUT does not give (BT00 unreadable, a table not listed or refused, a dimension that does
  not decode, no scratch table, a procedure not echoed) is ``tc.require`` / ``tc.inconc``;
- a judgement goes through ``tc.check(..., req=)`` with one of the case's requirements; where a helper meets a
  defect of a requirement the case does not name (a table that does not decode, a short partial read), it
  records INCONC naming that requirement and the cases that judge it (:meth:`Dut.judge`).

Byte layouts come from :mod:`osgp.tables`; the vendor layouts the plan's PIXIT selects (the reference device's
key change and firmware tables, ASM-DEV-03/04) are declared once here.
"""

from __future__ import annotations

import calendar
import contextlib
import dataclasses
import inspect
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from osgp.app import FullRead, Response, ResponseCode, bt, et, pending, table_name
from osgp.clock import VirtualClock
from osgp.digest import osgp_digest
from osgp.errors import DecodeError, DutProtocolError, EncodeError
from osgp.secret import Secret
from osgp.security import AUTH_FAILURE, UnencryptedResponse
from osgp.session import Exchange, ProcedureOutcome, ResponseNotAuthentic
from osgp.tables import (
    BT03_MFG_STATUS,
    Date,
    Dimensions,
    LTimeDate,
    Ped,
    ProcedureResponse,
    Record,
    STimeDate,
    TableError,
    Time,
    decode_procedure_response,
    encode_procedure_initiate,
    procedure,
    schema,
)
from osgp.tables.dimensions import ROLE_SOURCES
from osgp.tables.procedures import (
    BP08_CLEAR_MFG_STATUS,
    BP10_SET_DATE_TIME,
)
from osgp.tables.types import UINT8, UINT16, UINT32, F, Layout, Raw
from osgpct.reports.verdicts import Verdict
from osgpct.testcase import broken_requirement

MOD = 1 << 32  # sequence numbers
PROBE = FullRead(bt(1))  # BT01: mandatory, short and static, so any answer to it is easy to judge
EP = 2048  # extended procedure n = 2048 + n (REQ-PRC-002)

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
#: Pending forms the guides document: BT4150 (pending BT54, the TOU calendar) and ET47 + 4096 (OPG:320-322,
#: 336-356). A pending form of another table (the scratch tables ET03/BT05) is not documented anywhere.
DOCUMENTED_PENDING = frozenset({bt(54), et(47)})
#: Base tables of the pending-table test cases, in order of preference: the documented BT54 (its calendar id is
#: changed, a harmless content) first, then the scratch tables, whose pending form a DUT need not have.
PENDING_TARGETS: tuple[tuple[int, str, str], ...] = ((bt(54), "calendar_id", "chars"), *SCRATCH)
STATE_TABLE = et(3)  # ET03: a harmless writable table (write: MAK); its utility serial number shows a landed write
SERIAL_LEN = 30  # ET03.0 utility serial number, CHAR(30)
COUNTER_TABLE = et(23)  # ET23.0: explicit messages received (MEP-DG; ASM-TBL-02), counts deliveries

#: The dimension roles, in the order they must be read (each may need the ones before it).
DIMENSION_ROLES = ("bt01", "bt21", "bt50", "bt61", "bt71", "et11", "et54")

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

#: Tables the OSGP guides give no write access (REQ-TBL-011): BT00, BT04, BT22 'Write access: None' on the optical
#: port (OPG:2350, 453, 1025); BT01, BT26, BT52, BT55, BT74, ET54 read-only for the MEP keys (MEP-DG Table C.1,
#: MEP-DG:13043-13140). No source marks BT03 read-only.
READ_ONLY = (bt(0), bt(1), bt(4), bt(22), bt(26), bt(52), bt(55), bt(74), et(54))
#: The tables of READ_ONLY whose 'Write access: None' the optical-port guide states for every key.
READ_ONLY_ALL_KEYS = frozenset({bt(0), bt(4), bt(22)})

# Roles (osgp.tables.dimensions) a table needs beyond BT00/BT01, so that it decodes.
ROLES_FOR: dict[int, tuple[str, ...]] = {
    bt(22): ("bt21",), bt(23): ("bt21",), bt(24): ("bt21",), bt(25): ("bt21",), bt(26): ("bt21",),
    bt(28): ("bt21",), bt(54): ("bt50",), bt(60): (), bt(62): ("bt61",), bt(63): ("bt61",),
    bt(64): ("bt61",), bt(65): ("bt61",), bt(66): ("bt61",), bt(67): ("bt61",), bt(72): ("bt71",),
    bt(73): ("bt71",), bt(74): ("bt71",), bt(76): ("bt71",), et(21): ("bt61",), et(54): ("et11",),
}

# Extended procedure numbers, as assumed in the register (the basic ones: osgp.tables.procedures)
EP16_CLOCK_DELTA = EP + 16  # ASM-PRC-05
EP80_KEY_CHANGE = EP + 80  # ASM-DEV-03 (pixit.key_change = ep80)
EP81_FIRMWARE_ACTIVATE = EP + 81  # ASM-DEV-04 (pixit.firmware_upgrade = et100)
ET100_FW_HEADER, ET101_FW_IMAGE = et(100), et(101)  # ASM-DEV-04

#: C12.19 procedure result codes (REQ-PRC-005)
OK, PARTIAL, BAD_PARAM, CONFLICT, TIMING, NO_AUTH, UNKNOWN = range(7)
#: The results that refuse a known procedure, each '..., procedure ignored' (MEP-DG:2369-2374). Which of them a DUT
#: gives for which input is not settled by the sources (REQ-PRC-008..011 are ambiguous): a case that only needs
#: "refused" accepts any of them, or a non-zero response code to the BT07 write (:attr:`Call.refused`).
REFUSALS = (BAD_PARAM, CONFLICT, TIMING, NO_AUTH)
#: C12.19 history codes [termineter C1219_EVENT_CODES] (REQ-MGT-005)
EV_TIME_CHANGED_OLD, EV_TIME_CHANGED_NEW = 3, 4

#: The clock tolerance of a comparison between the DUT clock and the tester clock, on top of the exchange
#: durations and the 1 s resolution of BT52. The plan has no PIXIT for it yet (REQ-MGT-001 'within the clock
#: tolerance of the test plan'): 2 s.
CLOCK_TOLERANCE_S = 2.0
#: Contactor operations are at least 10 s apart [MEP-DG p.134] (REQ-PRC-038)
RELAY_SPACING_S = 10.0
#: How long a contactor transient (ET23.94 = 1 closing / 3 opening) may last before the tester gives up
RELAY_SETTLE_S = 30.0
#: BT08 carries the result no later than 1 s after the BT07 write is answered [MEP-DG p.49-50] (REQ-PRC-004)
POST_DELAY_S = 1.0

MFG_ITEM = {name: item for item, name in BT03_MFG_STATUS.items()}  # BT03 manufacturer status item numbers

_REQ = re.compile(r"REQ-[A-Z]{3}-\d{3}")

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


# --------------------------------------------------------------------------------------------------
# text and values


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


def same_content(a: Record, b: Record) -> bool:
    """Table contents equal, padding of character fields aside."""
    def norm(v: Any) -> Any:
        return v.rstrip("\0") if isinstance(v, str) else v
    return a.keys() == b.keys() and all(norm(a[k]) == norm(b[k]) for k in a)


def ped_bytes(ped: Ped) -> bytes:
    """The 6 PED bytes (procedure BP13/BP15 parameter, by its schema)."""
    return procedure(15).encode_params(Record(ped=ped))



def procedure_name(number: int) -> str:
    return f"EP{number - EP:02d}" if number >= EP else f"BP{number:02d}"



# --------------------------------------------------------------------------------------------------
# answers that break the protocol, and raw answers (SEC evidence)


def protocol_reason(e: DutProtocolError) -> str:
    """The reason of a DutProtocolError, with the requirement it breaks spelled out."""
    if isinstance(e, ResponseNotAuthentic):
        pdu = e.exchange.response_pdu or b""
        shown = pdu[:16].hex(" ") + (" …" if len(pdu) > 16 else "")
        if isinstance(e.__cause__, UnencryptedResponse):
            return (f"the answer to an RC4-encrypted request came back in plaintext ({shown}) (REQ-SEC-017: an "
                    "encrypted request is answered encrypted; rests on ASM-SEC-03, ASM-SEC-06)")
        return (f"the answer ({shown}) does not authenticate against the request it answers: {e} (REQ-SEC-003: the "
                "response digest covers request || response, rests on ASM-SEC-01; REQ-SEC-025 in AES mode; a late "
                "answer to an earlier request with the same transaction id reads this way too)")
    extra = (" (REQ-SEC-011: 0x0C carries the 4-byte current sequence number)"
             if getattr(e, "field", "") == "sequence number" else "")
    return f"the DUT's answer is malformed: {e}{extra}"


def clear_auth_failure(ex: Exchange) -> bool:
    """The raw answer starts with a clear 0x0B (how 0x0B is authenticated is ASM-SEC-07)."""
    return ex.response_pdu is not None and ex.response_pdu[:1] == bytes([AUTH_FAILURE])


def raw_head(ex: Exchange) -> str:
    pdu = ex.response_pdu
    if pdu is None:
        return "no answer"
    return "answer " + pdu[:16].hex(" ") + (" …" if len(pdu) > 16 else "")


def verdict_of(r: Response | None, ex: Exchange) -> str:
    return r.describe() if r is not None else f"an unauthenticated {raw_head(ex)}"


def chained_digest(key: Secret, request_span: bytes, response: bytes) -> bytes:
    """Recomputed response digest (MEP-DG App. A): over request (code .. seq) || response message."""
    return osgp_digest(request_span + response, key)


def altered(image: bytes) -> bytes:
    """The ET03 image with another utility serial number: the write a refused request must not make."""
    mark = b"OSGPCT-PROBE" if not image.startswith(b"OSGPCT-PROBE") else b"osgpct-probe"
    return mark + image[len(mark):]


# --------------------------------------------------------------------------------------------------
# the DUT clock (BT52) against the tester clock


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

    @property
    def refused(self) -> bool:
        """The DUT refused the call: a non-zero response code to the BT07 write, or BT08 echoes it with one of
        :data:`REFUSALS` (2-5). False when the write was accepted but BT08 does not echo the call."""
        return not self.accepted or (self.echoed and self.result.result in REFUSALS)  # type: ignore[union-attr]

    def describe(self) -> str:
        name = procedure_name(self.number)
        if not self.accepted:
            return f"{name} PSN {self.psn}: BT07 write answered {self.write.describe()}"
        if self.result is None:
            return f"{name} PSN {self.psn}: BT08 not readable"
        r = self.result
        return (f"{name} PSN {self.psn}: BT08 shows {procedure_name(r.number)} PSN {r.psn} result {r.result}"
                f" ({r.meaning or 'undefined'}){' data ' + r.data.hex() if r.data else ''}")


# --------------------------------------------------------------------------------------------------
# the history log (BT74)


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


# --------------------------------------------------------------------------------------------------
# other sessions to the same DUT


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
    """A security profile of the plan's mode and PIXIT holding ``keys`` (as osgpct.connect.make_session builds)."""
    from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile

    px = plan.pixit
    if plan.security.mode == "aes128":
        return AesCcmProfile(keys, tag_len=px.aes_ccm.tag_len, device_id=px.aes_ccm.device_id)
    if plan.security.mode == "rc4":
        return Rc4Profile(keys, variant=px.rc4_variant)
    return DigestProfile(keys)


def _requirement_in(text: str, named: Iterable[str], default: str = "") -> str:
    """The requirement a reason text cites ("REQ-SEC-004 [inferred]: ..."): the first id in it the case names;
    else the case's requirement when it names one only; else the text's first id, else ``default``."""
    named = tuple(named)
    ids = _REQ.findall(text)
    if len(named) == 1 and not any(i in named for i in ids):
        return named[0]  # the case's one requirement, as tc.check without req= would judge
    return next((i for i in ids if i in named), ids[0] if ids else default)


# --------------------------------------------------------------------------------------------------


class Dut:
    """The DUT as one test case or use case sees it: the case's record, a session, the plan, and what BT00 and
    the dimension tables say (see the module docstring for the verdict policy)."""

    def __init__(self, tc: Any, session: Any, plan: Any) -> None:
        self.tc, self.session, self.plan = tc, session, plan
        self._tables: dict[int, Record] = {}  # BT00 and the dimension tables, decoded
        self._all_dims = False
        self._waited = 0.0
        self._offsets_checked = False

    # ---- plan ---------------------------------------------------------------------------------

    def pics(self, name: str) -> Any:
        return self.plan.pics.get(name)

    @property
    def pixit(self) -> Any:
        return self.plan.pixit

    @property
    def partial_read(self) -> bool:
        return bool(self.pics("PICS_PARTIAL_READ"))

    @property
    def partial_write(self) -> bool:
        return bool(self.pics("PICS_PARTIAL_WRITE"))

    def key_for(self, access: str) -> Secret | None:
        """The secret of the plan's first key of access level ``access`` (None when it has none)."""
        keys = self.plan.security.by_access(access)
        return keys[0].secret if keys else None

    def foreign_key(self) -> bytes:
        """A random key of the plan's key length that is none of the DUT's keys."""
        length = len(self.plan.security.key().secret)
        known = {k.secret.reveal() for k in self.plan.security.keys}
        while True:
            key = bytes(self.tc.rng.randrange(256) for _ in range(length))
            if key not in known:
                return key

    # ---- verdicts -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, n: int, title: str | None = None, expected: str | None = None) -> Iterator[Any]:
        """``tc.step(n)``; an answer that breaks the protocol (DutProtocolError) and breaks a requirement this
        case names is a failed check of it with the reason spelled out; any other propagates to the framework."""
        with self.tc.step(n, title, expected) as record:
            try:
                yield record
            except DutProtocolError as e:
                rid = broken_requirement(e)
                if rid in self.tc.meta.requirements:
                    self.tc.fail(protocol_reason(e), req=rid)
                raise

    def judge(self, condition: object, reason: str, req: str, *, stop: bool = False) -> bool:
        """``tc.check(condition, reason, req=req)`` when the case names ``req``; else a failed condition is
        INCONC naming ``req`` and the cases that judge it (a defect this case does not judge)."""
        if req in self.tc.meta.requirements:
            return self.tc.check(condition, reason, req=req, stop=stop)
        if condition:
            return True
        judges = [c for c in self.tc.context.judged_by.get(req, ()) if c != self.tc.meta.id]
        where = f"judged by {', '.join(judges)}" if judges else "no selected test case judges it"
        text = f"{reason} ({req}, outside this case's requirements; {where})"
        if stop:
            self.tc.inconc(text)
        self.tc.record(Verdict.INCONC, text)
        return False

    def _table_defect(self, tid: int, reason: str, requirement: str | None = None, *, stop: bool = True) -> None:
        """A table that does not decode: judged against its structure requirement (see :meth:`judge`), never
        against whatever the case happens to test (one defect, one FAIL)."""
        self.judge(False, reason, requirement or TABLE_REQUIREMENT.get(tid % 4096, "REQ-APP-005"), stop=stop)

    # ---- exchanges ---------------------------------------------------------------------------

    def ask(self, what: str, fn: Callable[..., Response], *args: Any, **kw: Any) -> Response:
        """One exchange. An answer that does not authenticate or decode propagates (the framework judges it);
        a 0x0C the session could not resynchronise is INCONC (the SEC test cases judge sequence numbers)."""
        r = fn(*args, **kw)
        if r.code == ResponseCode.INVALID_SEQUENCE and kw.get("seq") is None:
            self.tc.inconc(f"{what}: the DUT refused the sequence number even after the session resynchronised "
                           f"({r.describe()}); the SEC test cases judge sequence numbers")
        return r

    def read(self, tid: int, **kw: Any) -> Response:
        return self.ask(f"full read of {table_name(tid)}", self.session.read, tid, **kw)

    def read_partial(self, tid: int, offset: int, count: int, **kw: Any) -> Response:
        if offset and not self._offsets_checked:
            self.offsets_honoured()
        return self.ask(f"partial read of {table_name(tid)}[{offset}:+{count}]", self.session.read_partial,
                        tid, offset, count, **kw)

    def offsets_honoured(self, tid: int = bt(1), size: int = 8) -> None:
        """Once per case, before data is located by partial reads at an offset: a partial read at offset 1 must
        give the bytes a read at offset 0 gives there (REQ-APP-006). A DUT that ignores the offset is judged by
        the cases citing REQ-APP-006; any other case cannot tell where its data comes from: INCONC."""
        self._offsets_checked = True
        a = self.ask(f"partial read of {table_name(tid)}[0:+{size}]", self.session.read_partial, tid, 0, size)
        b = self.ask(f"partial read of {table_name(tid)}[1:+{size - 1}]", self.session.read_partial, tid, 1,
                     size - 1)
        if a.ok and b.ok and len(a.data) == size:
            self.judge(b.data == a.data[1:], f"a partial read of {table_name(tid)} at offset 1 gave "
                       f"{hexs(b.data)}, not the bytes {hexs(a.data[1:])} a read at offset 0 gives there",
                       "REQ-APP-006", stop=True)

    def write(self, tid: int, data: bytes, count: int | None = None, **kw: Any) -> Response:
        return self.ask(f"full write of {table_name(tid)}", self.session.write, tid, data, count, **kw)

    def write_partial(self, tid: int, offset: int, data: bytes, count: int | None = None, **kw: Any) -> Response:
        return self.ask(f"partial write of {table_name(tid)}[{offset}:+{len(data)}]", self.session.write_partial,
                        tid, offset, data, count, **kw)

    def attempt(self, call: Callable[[], Response]) -> tuple[Response | None, Exchange]:
        """Run one session call whose answer is the evidence (SEC cases): an answer that does not authenticate
        gives (None, its exchange) for the case to judge."""
        try:
            r = call()
        except ResponseNotAuthentic as e:
            return None, e.exchange
        return r, self.session.exchanges[-1]

    # ---- DUT time -------------------------------------------------------------------------------

    def wait(self, seconds: float, why: str, *, force: bool = False) -> None:
        """Let DUT time pass (session.wait). On a real clock a case that would wait longer in total than 80 % of
        pixit.test_timeout_s is INCONC instead of running into the bound (raise the PIXIT to run it); ``force``
        (putting the DUT back) waits anyway."""
        seconds = max(float(seconds), 0.0)
        self._waited += seconds
        bound = self.plan.pixit.test_timeout_s
        if not force and not isinstance(self.session.clock, VirtualClock) and bound and self._waited > 0.8 * bound:
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

    def size(self, tid: int, dims: Dimensions | None = None) -> int | None:
        """Size the dimensions imply (known part of an open-ended table), None if they cannot tell."""
        try:
            return schema(tid).size(dims or self.dims())
        except (TableError, IndexError, KeyError):
            return None

    # ---- BT00 and the dimensions ---------------------------------------------------------------

    def bt00(self) -> Record:
        """BT00 decoded with its own dimensions (INCONC when it cannot be read or decoded)."""
        if bt(0) not in self._tables:
            r = self.read(bt(0))
            self.tc.require(r.ok, f"BT00 (General Configuration) read answered {r.describe()}")
            header = schema(bt(0))
            try:
                head = header.decode_partial(r.data, Dimensions.from_tables({}))
                self._tables[bt(0)] = header.decode(r.data, Dimensions.from_tables({bt(0): head}))
            except (DecodeError, TableError) as e:
                self.tc.inconc(f"BT00 does not decode with its own dimensions ({e}); TC_TBL_BT00_BV_01 judges it")
        return self._tables[bt(0)]

    def listed(self, tid: int) -> bool:
        """BT00 lists the (base) table as used."""
        b = self.bt00()
        return (tid - EP) in b.mfg_tbls_used if tid >= EP else tid in b.std_tbls_used

    def writable(self, tid: int) -> bool:
        """BT00 lists the (base) table as written."""
        b = self.bt00()
        return (tid - EP) in b.mfg_tbls_write if tid >= EP else tid in b.std_tbls_write

    def listed_tables(self) -> list[int]:
        b = self.bt00()
        return sorted(b.std_tbls_used) + [et(n) for n in sorted(b.mfg_tbls_used)]

    def lists_procedure(self, number: int) -> bool:
        b = self.bt00()
        return number - EP in b.mfg_proc_used if number >= EP else number in b.std_proc_used

    def unlisted_procedure(self, extended: bool) -> int:
        """The highest procedure number the BT00 bitmap has room for but does not list (never BP00-BP02: cold
        start, warm start and save configuration are not probed); beyond the bitmap when it is full."""
        b = self.bt00()
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
        self.tc.require(self.listed(table_id),
                        f"BT00 does not list {table_name(table_id)}{': ' + why if why else ''}")

    def dims(self, *roles: str) -> Dimensions:
        """Dimensions holding BT00, BT01 and the given roles (their tables are read once per case); without
        roles, every dimension table BT00 lists. A dimension table that is refused or does not decode is
        INCONC (the structure test cases judge it)."""
        self.bt00()
        wanted = ("bt01", *roles) if roles else DIMENSION_ROLES
        if roles or not self._all_dims:
            for role in wanted:
                if any(t in self._tables for t in ROLE_SOURCES[role]):
                    continue
                listed = [t for t in ROLE_SOURCES[role] if self.listed(t)]
                if not listed and not roles:
                    continue  # all the dimensions: only those BT00 lists
                tid = (listed or list(ROLE_SOURCES[role]))[0]
                data = self.read_image(tid, Dimensions.from_tables(self._tables))
                if data is None:
                    if not roles:
                        continue
                    self.tc.inconc(f"dimension table {table_name(tid)} could not be read")
                try:
                    self._tables[tid] = schema(tid).decode(data, Dimensions.from_tables(self._tables))
                except (DecodeError, EncodeError, TableError) as e:
                    self.tc.inconc(f"dimension table {table_name(tid)} ({len(data)} bytes) does not decode ({e}); "
                                   "the structure test cases judge it")
            self._all_dims = self._all_dims or not roles
        return Dimensions.from_tables(self._tables)

    # ---- reads --------------------------------------------------------------------------------

    def read_image(self, tid: int, dims: Dimensions | None = None, *, size: int | None = None,
                   **kw: Any) -> bytes | None:
        """The table's bytes: a full read, or partial reads of `size` (default: the schema's size) bytes when
        the full read is refused with 0x04 because the table does not fit one answer. None (and an
        observation) when the DUT gives neither."""
        r = self.read(tid, **kw)
        if r.ok:
            return r.data
        if not r.data and self.partial_read:
            if size is None:
                try:
                    size = schema(tid).size(dims or self.dims())
                except (TableError, IndexError, KeyError):
                    size = None
            # No source gives the code refusing a table too long for one answer (MEP-DG:465-469): 0x04, or any
            # refusal without data when the table exceeds the budget, falls back to partial reads.
            if size and (r.code == ResponseCode.ONP or size > self.budget):
                return self.read_span(tid, 0, size, **kw)
        self.tc.observe(f"{table_name(tid)}: full read answered {r.describe()}")
        return None

    def read_raw(self, tid: int, **kw: Any) -> bytes:
        """:meth:`read_image`, INCONC when the DUT gives neither a full read nor the partial reads."""
        data = self.read_image(tid, self.dims(*ROLES_FOR.get(tid % 4096, ())), **kw)
        self.tc.require(data is not None, f"{table_name(tid)} could not be read")
        return data  # type: ignore[return-value]

    def read_span(self, tid: int, offset: int, count: int, **kw: Any) -> bytes | None:
        """`count` bytes from `offset` by partial reads that each fit the budget (None if one is refused)."""
        out = bytearray()
        while len(out) < count:
            n = min(self.budget, count - len(out))
            r = self.read_partial(tid, offset + len(out), n, **kw)
            if not r.ok:
                self.tc.observe(f"{table_name(tid)}[{offset + len(out)}:+{n}]: partial read answered {r.describe()}")
                return None
            self.judge(len(r.data) == n, f"partial read of {table_name(tid)}[{offset + len(out)}:+{n}] returned "
                       f"{len(r.data)} bytes instead of the {n} asked", "REQ-APP-006")
            out += r.data[:n].ljust(n, b"\0")
        return bytes(out)

    def read_decoded(self, tid: int, need: Iterable[str] | None = None, *, dims: Dimensions | None = None,
                     **kw: Any) -> Record:
        """A full read decoded with the DUT's dimensions (INCONC when refused). With ``need`` the table is decoded
        field by field (a table cut short still yields the fields it holds) and INCONC when a field in ``need``
        is missing. A table that does not decode: see :meth:`judge` (its structure requirement)."""
        base = tid - 4096 if tid >= 4096 else tid
        dims = dims if dims is not None else self.dims(*ROLES_FOR.get(base, ()))
        data = self.read_image(tid, dims, **kw)
        self.tc.require(data is not None, f"precondition: {table_name(tid)} could not be read")
        try:
            if need is None:
                return schema(tid).decode(data, dims)
            value = schema(tid).decode_partial(data, dims)
        except (DecodeError, EncodeError, TableError) as e:
            self._table_defect(tid, f"{table_name(tid)} ({len(data)} bytes) does not decode: {e}")
        missing = [f for f in need if f not in value]
        self.tc.require(not missing, f"precondition: {table_name(tid)} ({len(data)} bytes) lacks {', '.join(missing)}")
        return value

    def read_field(self, tid: int, path: str, **kw: Any) -> Any:
        """One field by a partial read (a full read when partial reads are not declared)."""
        base = tid - 4096 if tid >= 4096 else tid
        dims = self.dims(*ROLES_FOR.get(base, ()))
        s = schema(tid)
        try:
            off, n = s.field_offset(path, dims)
        except TableError as e:
            self.tc.inconc(f"{table_name(tid)}.{path} cannot be located with the DUT's dimensions: {e}")
        if self.partial_read:
            data = self.read_span(tid, off, n, **kw)
        else:
            image = self.read_image(tid, dims, **kw)
            data = None if image is None else image[off:off + n]
        self.tc.require(data is not None, f"{table_name(tid)}.{path} could not be read")
        try:
            return s.decode_field(path, data, dims)
        except (DecodeError, TableError) as e:
            self._table_defect(tid, f"{table_name(tid)}.{path} ({hexs(data)}) does not decode: {e}")

    def decode(self, tid: int, data: bytes, *, requirement: str | None = None) -> Record | None:
        """Decode a table image; a length or content the schema refuses is a failed check of the table's
        structure requirement (``requirement``, else :data:`TABLE_REQUIREMENT`; see :meth:`judge`): None is
        returned and the case goes on."""
        try:
            return schema(tid).decode(data, self.dims())
        except DecodeError as e:
            self._table_defect(tid, f"{table_name(tid)} ({len(data)} bytes) does not decode with the dimensions the "
                               f"DUT declares: {e}", requirement, stop=False)
        except (TableError, IndexError) as e:
            self.tc.observe(f"{table_name(tid)} cannot be sized from the dimensions read: {e}")
        return None

    def bt03_mfg(self) -> frozenset[int]:
        """The BT03 manufacturer status items that are set."""
        return frozenset(self.read_decoded(bt(3)).ed_mfg_status)

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

    # ---- writes and putting the DUT back --------------------------------------------------------

    def encode(self, tid: int, value: Record) -> bytes:
        return schema(tid).encode(value, self.dims(*ROLES_FOR.get(tid % 4096, ())))

    def write_table(self, tid: int, value: Record) -> Response:
        """Full write of a decoded table content (encoded with the DUT's dimensions); nothing judged."""
        return self.session.write(tid, self.encode(tid, value))

    def restore(self, tid: int, original: bytes | Record) -> None:
        """Write ``original`` (bytes or a decoded content) back to ``tid`` when it changed, and check it took; a
        DUT that cannot be restored gets an INCONC note (the campaign shares it)."""
        image = bytes(original) if isinstance(original, bytes | bytearray) else self.encode(tid, original)
        before = self.session.read(tid)
        if before.ok and before.data[:len(image)] == image:
            return
        r = self.session.write(tid, image)
        back = self.session.read(tid) if r.ok else None
        if not r.ok:
            self.tc.record(Verdict.INCONC, f"{table_name(tid)} could not be restored: the write of its original "
                           f"content answered {r.describe()}; later test cases may see the changed table")
        elif back is not None and back.ok and back.data[:len(image)] != image:
            self.tc.record(Verdict.INCONC, f"{table_name(tid)} after restoring differs from the original: "
                           f"{hexs(back.data)} vs {hexs(image)}")
        else:
            self.tc.observe(f"{table_name(tid)} restored")

    @contextlib.contextmanager
    def restoring(self, tid: int, original: bytes | Record) -> Iterator[None]:
        """Run the block, then :meth:`restore` ``tid`` to ``original``."""
        try:
            yield
        finally:
            self.restore(tid, original)

    @contextlib.contextmanager
    def tables_kept(self, *table_ids: int) -> Iterator[dict[int, Record]]:
        """Read the tables (decoded), run the block, then write back any whose content changed."""
        before = {t: self.read_decoded(t) for t in table_ids}
        try:
            yield before
        finally:
            for t, value in before.items():
                self.restore(t, value)

    @contextlib.contextmanager
    def mfg_latch_kept(self, item: str) -> Iterator[bool]:
        """Note whether BT03 manufacturer item ``item`` is set; if it was clear and the block set it, clear it
        again with BP08 (which the DUT lists) so the DUT is left as found."""
        was = MFG_ITEM[item] in self.bt03_mfg()
        try:
            yield was
        finally:
            if not was and self.lists_procedure(BP08_CLEAR_MFG_STATUS) and MFG_ITEM[item] in self.bt03_mfg():
                c = self.call(BP08_CLEAR_MFG_STATUS)
                self.tc.observe(f"BT03 '{item}' cleared again with BP08: {c.describe()}")

    # ---- scratch tables (write services, pending tables) -----------------------------------------

    def scratch(self, *, pendable: bool = False) -> list[tuple[int, str, str]]:
        """SCRATCH entries BT00 lists as used and written (require at least one). With ``pendable``: the
        PENDING_TARGETS entries instead, a documented pending form first (BT54, when its pending full write fits
        one request), then the scratch tables (see :meth:`documented_pending`)."""
        if not pendable:
            found = [s for s in SCRATCH if self.listed(s[0]) and self.writable(s[0])]
            self.tc.require(found, "BT00 lists none of the tables this suite uses as a write scratch area ("
                            + ", ".join(table_name(t) for t, _, _ in SCRATCH) + ") as written; the write test cases "
                            "need one (a PIXIT naming a writable table would lift this)")
            return found
        found = []
        for s in PENDING_TARGETS:
            if not (self.listed(s[0]) and self.writable(s[0])):
                continue
            if s[0] in DOCUMENTED_PENDING:
                size = self.size(s[0])
                if size is None or 6 + size > self.request_budget - 5:
                    self.tc.observe(f"{table_name(s[0])} ({size} bytes): its pending form does not fit one full "
                                    "write; a scratch table is used instead")
                    continue
            found.append(s)
        self.tc.require(found, "BT00 lists none of the tables this suite puts in pending form ("
                        + ", ".join(table_name(t) for t, _, _ in PENDING_TARGETS) + ") as written")
        return found

    @staticmethod
    def documented_pending(tid: int) -> bool:
        """Whether the guides document a pending form of ``tid`` (OPG:320-322: BT4150, ET47 + 4096)."""
        return tid in DOCUMENTED_PENDING

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

    def pending_image(self, tid: int, ped: Ped, image: bytes) -> bytes:
        """PED + table image for a write of the pending table (encoded by the pending schema)."""
        dims = self.dims()
        value = schema(tid).decode(image, dims)
        try:
            return schema(pending(tid)).encode(Record(ped=ped, **value), dims)
        except EncodeError:
            return ped_bytes(ped) + image

    # ---- the state probe of the SEC cases: ET03 utility serial number ---------------------------

    def read_state(self) -> bytes:
        r = self.session.read(STATE_TABLE)
        self.tc.require(r.ok and len(r.data) > SERIAL_LEN,
                        f"precondition: ET03 (utility information, the table this test writes) reads {r.describe()}")
        return r.data

    def check_unchanged(self, before: bytes, why: str) -> None:
        """Read ET03 back; a failed check (and ET03 restored) if the refused write landed."""
        r = self.session.read(STATE_TABLE)
        self.tc.require(r.ok, f"ET03 read-back answered {r.describe()}")
        if r.data != before:
            self.judge(False, f"{why}: ET03 changed from {before[:SERIAL_LEN]!r} to {r.data[:SERIAL_LEN]!r}",
                       _requirement_in(why, self.tc.meta.requirements, "REQ-SEC-029"))
            self.restore(STATE_TABLE, before)

    # ---- sequence numbers ---------------------------------------------------------------------

    def sync(self) -> int:
        """Learn the DUT's current sequence number (the session resynchronises on 0x0C); INCONC if no request
        gets through. Returns the number of the last request the DUT accepted."""
        r = self.session.request(PROBE)
        self.tc.require(r.ok, f"precondition: a valid read of BT01 is answered {r.describe()}, so the DUT's "
                        "sequence number cannot be learnt")
        self._carried = None
        return self.session.seq

    def expect_refused(self, seq: int, current: int | None, why: str, req: str) -> Response | None:
        """A read of BT01 with ``seq`` must get 0x0C (judged against ``req``). When ``current`` (the number the
        DUT accepted last) is known, the number the 0x0C carries is judged against REQ-SEC-011, which is
        ambiguous: it may be ``current`` (MEP-DG:708-709, Example 1) or ``current + 1`` (MEP-DG:472-473, 561-562
        'Correct sequence number to be used in subsequent request messages'); every 0x0C until a request is
        accepted must carry the same number."""
        seq %= MOD
        # an answer that does not authenticate propagates: it breaks REQ-SEC-003 (or -017), not ``req``
        r = self.session.request(PROBE, seq=seq, resync=False)
        refused = r.code == ResponseCode.INVALID_SEQUENCE
        self.judge(refused, f"a read with sequence number {seq} ({why}) was answered {r.describe()}, not "
                   f"0x0C ({req})", _requirement_in(req, self.tc.meta.requirements))
        if refused and current is not None:
            readings = (current % MOD, (current + 1) % MOD)
            self.judge(r.expected_seq in readings,
                       f"the 0x0C to sequence number {seq} carries {r.expected_seq}, neither the DUT's current "
                       f"number {readings[0]} nor the next one {readings[1]} (REQ-SEC-011: both readings accepted)",
                       "REQ-SEC-011")
        if refused:
            carried = getattr(self, "_carried", None)
            if carried is not None:
                self.judge(r.expected_seq == carried,
                           f"the 0x0C to sequence number {seq} carries {r.expected_seq}, but an earlier 0x0C with no "
                           f"request accepted in between carried {carried} (REQ-SEC-011: the DUT's number did not "
                           "move)", "REQ-SEC-011")
            self._carried = r.expected_seq
        return r

    def expect_accepted(self, seq: int, why: str, req: str) -> bool:
        """A read of BT01 with ``seq`` must be executed; the session then follows the DUT's number."""
        seq %= MOD
        r = self.session.request(PROBE, seq=seq, resync=False)  # an unauthentic answer propagates (see above)
        ok = r.ok
        self.judge(ok, f"a read with sequence number {seq} ({why}) was answered {r.describe()} ({req})",
                   _requirement_in(req, self.tc.meta.requirements))
        if ok:
            self.session.seq = seq
            self._carried = None
        return ok

    # ---- link: deliveries ----------------------------------------------------------------------

    def delivered_count(self) -> int:
        """ET23.0 (explicit messages received, UINT32): the DUT's count of delivered messages. This read is itself
        one delivered message, counted before the table is read (ASM-TBL-02; counting deliveries is inferred)."""
        layout = schema(COUNTER_TABLE)
        dims = Dimensions.from_tables({})
        offset, count = layout.request_span("lontalk_msgs_received", dims)
        if self.partial_read:
            r = self.session.read_partial(COUNTER_TABLE, offset, count)
            data = r.data
        else:
            r = self.session.read(COUNTER_TABLE)
            data = r.data[offset:offset + count]
        self.tc.require(r.ok and len(data) == count,
                        f"precondition: ET23 (message counters) read answered {r.describe()}")
        return layout.decode_partial(data, dims).lontalk_msgs_received

    # ---- procedures -----------------------------------------------------------------------------

    def call(self, number: int, params: bytes | dict = b"", *, psn: int | None = None, selector: int = 0,
             read_kw: dict | None = None, **kw: Any) -> Call:
        """Write BT07 (full write) and read BT08, re-reading it for up to 1 s until it echoes the call.

        The PSN is the next after the one the session follows (BT08's, REQ-PRC-013 refuses a repeat) unless
        given. ``kw`` goes to the BT07 write (key, encrypt, ...), ``read_kw`` to the BT08 reads (default:
        ``kw``). Nothing is judged here."""
        if isinstance(params, dict):
            try:
                params = procedure(number).encode_params(params)
            except (EncodeError, TableError) as e:
                raise ValueError(f"{procedure_name(number)} parameters {params}: {e}") from e
        psn = self.session.next_psn() if psn is None else psn % 256
        self.session.psn = psn
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
        """The result of call ``c``: INCONC unless the write was accepted and BT08 echoes it."""
        label = what or procedure_name(c.number)
        self.tc.require(c.accepted, f"{label}: {c.describe()}")
        self.tc.require(c.echoed, f"{label}: BT08 does not hold the result of this call ({c.describe()}; "
                        "REQ-PRC-003), so the outcome cannot be judged")
        return c.result  # type: ignore[return-value]

    def run_ok(self, number: int, params: bytes | dict = b"", *, what: str = "", **kw: Any) -> ProcedureResponse:
        """:meth:`run`, and INCONC unless the result is 0 (completed)."""
        res = self.run(number, params, what=what, **kw)
        self.tc.require(res.result == OK, f"{what or procedure_name(number)}: result {res.result} "
                        f"({res.meaning}), needed 0 (completed) to go on")
        return res

    # ---- clock ----------------------------------------------------------------------------------

    def clock(self) -> ClockReading:
        """Read BT52 (the UTC clock) with the tester-clock span of the exchange."""
        start = self.session.clock.now()
        rec = self.read_decoded(bt(52))
        end = self.session.exchanges[-1].finished if self.session.exchanges else self.session.clock.now()
        try:
            utc = utc_of(rec.clock_calendar)
        except ValueError as e:
            self.tc.inconc(f"BT52 holds no valid date and time ({rec.clock_calendar}): {e}")
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
        self.tc.require(res.result == OK, f"{what}: result {res.result} ({res.meaning}), needed 0 (completed) to go on")
        return c

    def require_clock_runs(self, seconds: float = 5.0) -> None:
        """INCONC unless BT52 advances with the tester clock over ``seconds`` (REQ-MGT-001 as a precondition)."""
        a = self.clock()
        self.wait(seconds, "to see the DUT clock run")
        ok, how = moved_by(a, self.clock(), 0)
        self.tc.require(ok, f"the DUT clock does not run with real time (drift {how} over {seconds:g} s, "
                        "REQ-MGT-001): clock moves cannot be judged")

    def local_offset(self) -> int:
        """Local minus UTC time in seconds (whole minutes) as the DUT shows it: BT55 - BT52 where BT55 is listed
        (the BT53 offset and any DST in effect), else the BT53 time-zone offset, else 0."""
        if self.listed(bt(55)):
            a = self.clock()
            try:
                return round((utc_of(self.read_decoded(bt(55)).clock_calendar) - a.utc) / 60) * 60
            except ValueError:
                pass
        if self.listed(bt(53)):
            return int(self.read_decoded(bt(53)).time_zone_offset) * 60
        return 0

    def restore_clock(self, before: ClockReading) -> None:
        """Put the DUT clock back where it would be had the test not touched it (BP10, to the second). A DUT that
        takes BP10's date and time as local time (REQ-MGT-003 reading 2, ASM-PRC-03) is set again with its local
        offset added, so that BT52 is right under either reading."""
        target = math.floor(self.session.clock.now() + before.offset + 1e-6)
        c = self.call(BP10_SET_DATE_TIME, self.bp10_params(target))
        if not (c.echoed and c.result is not None and c.result.result == OK):
            self.tc.record(Verdict.INCONC, f"could not put the DUT clock back to {stamp(target)}: {c.describe()}")
            return
        reading = self.clock()
        shift = 0 if set_to(reading, target, c)[0] else self.local_offset()
        if shift and set_to(reading, target - shift, c)[0]:
            target = math.floor(self.session.clock.now() + before.offset + 1e-6)
            c = self.call(BP10_SET_DATE_TIME, self.bp10_params(target + shift))
            if not (c.echoed and c.result is not None and c.result.result == OK):
                self.tc.record(Verdict.INCONC, f"could not put the DUT clock back to {stamp(target)} (BP10 as "
                               f"local time): {c.describe()}")
                return
            self.tc.observe(f"the DUT took BP10's date and time as local time (offset {shift:+d} s): set again as "
                            "local time")
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
            self.tc.inconc(f"BT74: {e}")
        if self.partial_read:
            r = self.session.read_partial(bt(74), 0, size)
            self.tc.require(r.ok, f"BT74 header read answered {r.describe()}")
            data = r.data
        else:
            data = self.read_raw(bt(74))[:size]
        try:
            return s.decode_partial(data, dims)
        except (DecodeError, TableError) as e:
            self._table_defect(bt(74), f"BT74 header does not decode: {e}")

    def log_entries_since(self, seq: int, header: Record | None = None, *, check: bool = True) -> list[Record]:
        """The BT74 entries logged after LAST_ENTRY_SEQ_NBR ``seq``, oldest first (at most the log size); with
        ``check`` each must carry the sequence number expected at its element (else INCONC)."""
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
        self.tc.require(not check or all(g is None or g == w for g, w in zip(got, expected, strict=True)),
                        f"the BT74 entries read at the elements the header points to carry sequence numbers {got}, "
                        f"not {expected}: the entries cannot be located reliably")
        return entries

    def log_entries(self, indices: Iterable[int]) -> list[Record]:
        dims = self.dims("bt71")
        s = schema(bt(74))
        out = []
        full = None if self.partial_read else self.read_raw(bt(74))
        for i in indices:
            path = f"entries[{i}]"
            try:
                off, size = s.field_offset(path, dims)
            except TableError as e:
                self.tc.inconc(f"BT74.{path}: {e}")
            if full is None:
                r = self.session.read_partial(bt(74), off, size)
                self.tc.require(r.ok, f"BT74 {path} read answered {r.describe()}")
                data = r.data
            else:
                data = full[off:off + size]
            try:
                out.append(s.decode_field(path, data, dims))
            except (DecodeError, TableError) as e:
                self._table_defect(bt(74), f"BT74 {path} does not decode: {e}")
        return out
