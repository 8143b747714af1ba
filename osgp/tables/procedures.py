"""Procedure schemas (C12.19 style) and the BT07/BT08 images that start and answer them.

A procedure runs by a full write of BT07 = {number (bits 0..11, bit 11 = manufacturer), selector
(bits 12..15)} + PSN + parameters; its answer is read from BT08 (ET59/ET85 for MEP clients) =
number + PSN + result code + response data [MEP p.49-51]. Ids: BP n = n, EP n = 2048 + n.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from .dimensions import Dimensions
from .schema import table
from .types import (
    BITS,
    BOOL,
    INT32,
    LTIME_DATE,
    PED,
    REST,
    UINT,
    UINT8,
    UINT16,
    F,
    Field,
    Layout,
    Raw,
    in_range,
    one_of,
)
from .values import Issue, Record, Severity, UnknownTable

EP_BASE = 2048

# The C12.19 basic procedures the OSGP guides use (BP n = n), named once for both roles.
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

#: ANSI C12.19 procedure result codes [MEP p.51][C1219-T]
C1219_RESULTS: Mapping[int, str] = MappingProxyType({
    0: "procedure completed",
    1: "procedure accepted but not fully completed",
    2: "invalid parameter for a known procedure; request ignored",
    3: "procedure conflicts with the current device setup; request ignored",
    4: "timing constraint; request ignored",
    5: "no authorization for the requested procedure; request ignored",
    6: "unrecognized procedure; request ignored",
})

#: BP04/BP05 LIST values as used by an ANSI meter vendor [C1219-A]; the C12.19 table was not read
#: [ASM-PRC-02]. NES meters keep their event log as the history log (BT74).
LIST_CODES: Mapping[int, str] = MappingProxyType({1: "event log", 2: "self-read list", 3: "load profile data set"})


def proc_label(number: int) -> str:
    return f"EP{number - EP_BASE:02d}" if number >= EP_BASE else f"BP{number:02d}"


@dataclass(frozen=True)
class ProcedureSchema:
    """One procedure: parameters written to BT07 after the PSN, response data read from BT08 offset 4,
    and its result codes (C12.19 0..6 refined or extended by the procedure)."""

    number: int
    name: str
    title: str
    params: Layout
    response: Layout
    result_codes: Mapping[int, str]
    source: str
    access: str = ""
    notes: str = ""
    #: "documented" (a cited source gives the layout), "inferred" (assumed, see notes and the
    #: assumptions register) or "unknown" (parameters and response are one raw REST field)
    confidence: str = "documented"

    @property
    def params_known(self) -> bool:
        return self.confidence != "unknown"

    def encode_params(self, value: Mapping, dims: Dimensions | None = None) -> bytes:
        return self.params.encode(value, dims or Dimensions())

    def decode_params(self, data: bytes, dims: Dimensions | None = None) -> Record:
        return self.params.decode(data, dims or Dimensions())

    def encode_response(self, value: Mapping, dims: Dimensions | None = None) -> bytes:
        return self.response.encode(value, dims or Dimensions())

    def decode_response(self, data: bytes, dims: Dimensions | None = None) -> Record:
        return self.response.decode(data, dims or Dimensions())

    def result_meaning(self, code: int) -> str | None:
        return self.result_codes.get(code)


class _Procedures(Mapping[int, ProcedureSchema]):
    def __init__(self) -> None:
        self._by_id: dict[int, ProcedureSchema] = {}

    def add(self, p: ProcedureSchema) -> ProcedureSchema:
        if p.number in self._by_id:
            raise ValueError(f"procedure {p.name} registered twice")
        self._by_id[p.number] = p
        return p

    def __getitem__(self, number: int) -> ProcedureSchema:
        return self._by_id[number]

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._by_id))

    def __len__(self) -> int:
        return len(self._by_id)


PROCEDURES = _Procedures()

_RAW: Sequence[Field] = (F("raw", REST),)


def _proc(number: int, title: str, params: Sequence[Field] | None = (), response: Sequence[Field] = (),
          results: Mapping[int, str] | None = None, *, source: str, access: str = "", notes: str = "",
          confidence: str = "documented") -> ProcedureSchema:
    name = proc_label(number)
    known = params is not None
    return PROCEDURES.add(ProcedureSchema(
        number, name, title,
        Layout(f"{name} parameters", params if known else _RAW, self_role="params"),
        Layout(f"{name} response", response if known or response else _RAW, self_role="response"),
        MappingProxyType({**C1219_RESULTS, **(results or {})}), source, access, notes,
        confidence if known else "unknown"))


def procedure(number: int) -> ProcedureSchema:
    """Schema of procedure ``number`` (BP n = n, EP n = 2048 + n)."""
    try:
        return PROCEDURES[number]
    except KeyError:
        raise UnknownTable(f"no schema for procedure {number} ({proc_label(number)})") from None


def result_meaning(number: int, code: int) -> str | None:
    """Meaning of a result code for a procedure (C12.19 meanings for unknown procedures)."""
    p = PROCEDURES.get(number)
    return p.result_meaning(code) if p else C1219_RESULTS.get(code)


# --------------------------------------------------------------------------------------------------
# basic procedures [digest §7.1]: names C12.19 [C1219-T][C1219-A]; OSGP use [OPG][MEP]

_C1219 = "C12.19 [C1219-T][C1219-A]"
_proc(0, "Cold Start", source=_C1219, notes="not documented by the OSGP guides")
_proc(1, "Warm Start", source=f"{_C1219}; MEP p.49")
_proc(2, "Save Configuration", source=_C1219)
_proc(3, "Clear Data", source=_C1219)
_proc(4, "Reset List Pointers",
      [F("list", UINT8, one_of(LIST_CODES, "LIST {value} is not a known list code [ASM-PRC-02]", Severity.INFO))],
      source=f"{_C1219} [ASM-PRC-02]; OPG p.34, p.51", notes="clears the BT74 and BT63 overflow flags",
      confidence="inferred")
_proc(5, "Update Last Read Entry",
      [F("list", UINT8, one_of(LIST_CODES, "LIST {value} is not a known list code [ASM-PRC-02]", Severity.INFO)),
       F("entries_read", UINT16)],
      source=f"{_C1219} (parameters inferred [ASM-PRC-02]); OPG p.27, p.34, p.51",
      notes="decrements the unread-entry counters of BT26/BT63/BT74 and clears overflow; not idempotent",
      confidence="inferred")
_proc(6, "Change End Device Mode", [F("mode", UINT8)], source=f"{_C1219} (parameter inferred)",
      confidence="inferred")
_proc(7, "Clear Standard Status Flags", source=_C1219)
_proc(8, "Clear Manufacturer Status Flags", source=_C1219)
_proc(9, "Remote Reset",
      [BITS(1, BOOL("demand_reset", 0), BOOL("self_read", 1), BOOL("season_change", 2), UINT("new_season", 3, 6))],
      source="C12.19 [C1219-A]")
_proc(10, "Set Date and/or Time", [
    BITS(1, BOOL("set_time", 0), BOOL("set_date", 1), BOOL("set_time_date_qual", 2)),
    F("date_time", LTIME_DATE),
    BITS(1, UINT("day_of_week", 0, 2, in_range(0, 6)), BOOL("dst_flag", 3), BOOL("gmt_flag", 4),
         BOOL("tm_zn_applied_flag", 5), BOOL("dst_applied_flag", 6), BOOL("dst_supported_flag", 7)),
], source="C12.19 [C1219-A] [ASM-PRC-03]; MEP p.54", access="RK only if ET04.71.0 = 0",
    notes="date/time assumed UTC like BT52", confidence="inferred")
_proc(11, "Execute Diagnostics", None, source=_C1219)
_proc(12, "Activate All Pending Tables", source=f"{_C1219}; OPG p.10",
      notes="activates PED event-code-2 pending tables")
_proc(13, "Activate Specific Pending Table(s)", [F("ped", PED)], source=f"{_C1219}; OPG p.10 [ASM-PRC-04]",
      notes="PED parameter inferred by analogy with BP15", confidence="inferred")
_proc(14, "Clear All Pending Tables", source=_C1219)
_proc(15, "Clear Specific Pending Table(s)", [F("ped", PED)],
      results={1: "no pending table matches the PED", 3: "internal conflict while processing the request"},
      source="OPG p.11-12 [ASM-PRC-04]", access="MK PK",
      notes="clears the pending state of every table whose PED matches; the data is left alone. The guide "
            "does not print the number; BP15 is inferred (digest §5.4)", confidence="inferred")

# --------------------------------------------------------------------------------------------------
# extended procedures [digest §7.2, §7.3]


def _ep(n: int, title: str, params: Sequence[Field] | None = None, response: Sequence[Field] = (),
        results: Mapping[int, str] | None = None, **meta: str) -> ProcedureSchema:
    return _proc(EP_BASE + n, title, params, response, results, **meta)  # type: ignore[arg-type]


_ep(2, "Open/close disconnect or control relay",
    [F("command", UINT8, one_of({0, 1}, "command {value}: 0 open (disconnect), 1 close (connect) [ASM-PRC-06]",
                                Severity.WARNING))],
    source="MEP p.98 (named only) [ASM-PRC-06]", confidence="inferred",
    notes="number and parameter are a placeholder assumption (PIXIT pixit.disconnect_procedure)")
_ep(3, "Clear Alarms", source="MEP p.137 (named only)")
_ep(6, "Re-dimension adjustable logs", source="MEP p.54, p.105 (named only)", notes="increments ET04.116")
_ep(11, "Load profile configuration", source="OPG p.34, p.39; MEP p.54, p.171 (named only)",
    notes="clears the LP overflow flag; increments ET04.116")
_ep(16, "Change System Clock By Delta", [F("delta", INT32, doc="seconds")],
    source="MEP p.11, p.42, p.137 (named only) [ASM-PRC-05]", access="MBK; RK if ET04.71.0 = 0",
    notes="slews the clock by ET55.4 s/min; not idempotent; parameter layout assumed (pixit.ep16_layout)",
    confidence="inferred")
_ep(17, "Remove MEP Device", [
    F("action", UINT8, one_of({0, 1}, "action {value}: 0 re-address to 0, 1 re-address to 250")),
    F("device_handle", UINT16, doc="0xFFFF = remove all (provisioning)"),
], results={1: "not complete: returned until every requested device is removed", 2: "invalid action",
            3: "handle does not match an installed device", 4: "a removal is already in progress"},
    source="MEP p.242-243", access="MAK, MBK (MBK removes only the MEP client)")
_ep(18, "Clear MEP/M-Bus alarms", source="MEP p.81 (named only)")

_WRITE_TYPES = (4, 6, 10)
_ep(19, "Post On-demand M-Bus Request", [
    F("transaction_number", UINT16, doc="0..0x3FF optical, 0x400..0x4FF MEP; 0x500..0x5FF and 0xFF00.. reserved"),
    F("device_handle", UINT16, doc="handle, group mask (type 6; 0xFFFF all) or device index bitmap (type 10)"),
    F("request_type", UINT8, one_of({1, 2, 3, 4, 5, 6, 9, 10}, "request type {value} is not documented")),
    F("write_data_length", UINT8, when=lambda d: d.params.request_type in _WRITE_TYPES,
      doc="types 4 and 10: at most ET11.11 - 1"),
    F("write_data", Raw(lambda d: d.et11.mbus_multicast_length - 1),
      when=lambda d: d.params.request_type in _WRITE_TYPES, doc="ARRAY[ET11.20 - 1]"),
    F("switchover", REST, when=lambda d: d.params.request_type == 9,
      doc="type 9 with AES (ET04.127 = 2): image length UINT32 + image MAC[16]; else empty"),
], [F("entry_index", UINT8, doc="position in the ET15 queue")],
    results={2: "invalid request type", 3: "handle, group mask or index does not match an installed device",
             7: "on-demand request queue is full"},
    source="MEP p.243-246", access="MAK")
_ep(26, "Decrement adjustable-log unread entries", source="MEP p.105 (named only)")
_ep(32, "Demand configuration", source="MEP p.54, p.105, p.109 (named only)", notes="increments ET04.116")
_ep(33, "Demand configuration (2)", source="MEP p.54, p.105, p.109 (named only)", notes="increments ET04.116")
_ep(37, "Configure adjustable logs", source="MEP p.105 (named only)")
_ep(39, "Post MEP Data", source="MEP p.11, p.15, p.49 (named only)")
_ep(41, "Start MEP-client firmware download", source="MEP p.89 (named only)")
_ep(50, "Post external measurements / disconnect feedback", source="MEP p.98, p.205 (named only)")
_ep(52, "LP/display source mapping configuration", source="MEP p.171, p.175 (named only)")
_ep(61, "MEP Transaction Lock Control", [F("lock", UINT8, one_of({0, 1}, "lock {value}: 0 unlock, 1 lock"))],
    results={3: "the other MEP client holds the lock", 5: "the caller is not a MEP client"},
    source="MEP p.246-247", access="MBK, MAK (firmware 4.0+ with two MEP ports)",
    notes="the lock expires after 10 s; status in ET54 (MEP TX locked / lock channel)")
_ep(62, "MEP transaction lock (as named in ET54)", source="MEP p.134 (named only)",
    notes="probably a misprint for EP61")
_ep(64, "Reset BT24", source="MEP p.209 (named only)", notes="firmware 4.10+")


# --------------------------------------------------------------------------------------------------
# BT07 Procedure Initiate / BT08 Procedure Response [MEP p.49-51][C1219-T]


def _bt07_checks(value: Record, d: Dimensions) -> Iterable[Issue]:
    bt00 = d.get("bt00")
    if bt00 is not None and len(value["params"]) > bt00.get("max_proc_parm_length", 255):
        yield Issue("params", Severity.ERROR, f"{len(value['params'])} parameter bytes exceed BT00 "
                    f"MAX_PROC_PARM_LENGTH {bt00['max_proc_parm_length']}")
    if value["selector"] != 0:
        yield Issue("selector", Severity.INFO, f"selector {value['selector']}: the OSGP guides document only 0 "
                    "(post the response on completion)")


BT07 = table(7, "Procedure Initiate", [
    BITS(2, UINT("proc_nbr", 0, 11, doc="BP n = n, EP n = 2048 + n (bit 11 = manufacturer)"),
         UINT("selector", 12, 15, doc="0 post on completion, 1 on exception, 2 never, 3 now and on completion")),
    F("psn", UINT8, doc="procedure sequence number, echoed in BT08"),
    F("params", REST, doc="procedure parameters (see osgp.tables.procedures)"),
], source="MEP p.49-51; C12.19 TABLE_IDB + selector [C1219-T]",
    access="write only, by full table write 0x40 (MEP: MAK, MBK)", checks=[_bt07_checks])


def _bt08_checks(value: Record, d: Dimensions) -> Iterable[Issue]:
    bt00 = d.get("bt00")
    if bt00 is not None and len(value["resp_data"]) > bt00.get("max_resp_data_len", 255):
        yield Issue("resp_data", Severity.ERROR, f"{len(value['resp_data'])} response bytes exceed BT00 "
                    f"MAX_RESP_DATA_LEN {bt00['max_resp_data_len']}")
    if result_meaning(value["proc_nbr"], value["result"]) is None:
        yield Issue("result", Severity.WARNING, f"result code {value['result']} is not defined for procedure "
                    f"{value['proc_nbr']}")


_BT08_FIELDS = [
    BITS(2, UINT("proc_nbr", 0, 11)),
    F("psn", UINT8),
    F("result", UINT8, doc="0 completed, 1 accepted not complete, 2..6 refused (C12.19), 7+ per procedure"),
    F("resp_data", REST),
]
BT08 = table(8, "Procedure Response", _BT08_FIELDS, source="MEP p.50-51; OPG p.12",
             access="read: MK PK RK; write: none", checks=[_bt08_checks],
             notes="Bits 12..15 of the first word are filler. Aliases ET59 (MEP client 1) and ET85 (MEP 2).")



# BT07 / BT08 images


@dataclass(frozen=True)
class ProcedureResponse:
    """A decoded BT08 (or ET59/ET85) image."""

    number: int
    psn: int
    result: int
    data: bytes = field(default=b"")

    @property
    def name(self) -> str:
        return proc_label(self.number)

    @property
    def meaning(self) -> str | None:
        return result_meaning(self.number, self.result)

    def decoded(self, dims: Dimensions | None = None) -> Record:
        """The response data decoded with the procedure's response layout."""
        return procedure(self.number).decode_response(self.data, dims)


def encode_procedure_initiate(number: int, psn: int, params: bytes | Mapping = b"", selector: int = 0,
                              dims: Dimensions | None = None) -> bytes:
    """BT07 image that starts procedure ``number`` (EP17 = 2065). ``params`` is raw bytes or a mapping
    encoded with the procedure's parameter layout (``dims`` sizes e.g. EP19's write data)."""
    dims = dims or Dimensions()
    raw = procedure(number).encode_params(params, dims) if isinstance(params, Mapping) else bytes(params)
    return BT07.encode(Record(proc_nbr=number, selector=selector, psn=psn, params=raw), dims)


def decode_procedure_response(data: bytes) -> ProcedureResponse:
    """Decode a BT08/ET59/ET85 image; raises DecodeError if it is shorter than its 4-byte header."""
    v = BT08.decode(data, Dimensions())
    return ProcedureResponse(v.proc_nbr, v.psn, v.result, v.resp_data)


__all__ = ["C1219_RESULTS", "LIST_CODES", "PROCEDURES", "ProcedureResponse", "ProcedureSchema",
           "decode_procedure_response", "encode_procedure_initiate", "procedure", "result_meaning"]
