"""The device's tables: what is implemented, who may read/write it, and the images themselves.

Every image goes through the `osgp.tables` schema of its table: the device keeps its state in the meter
model and renders a `Record` that the schema encodes (reads); host writes are merged into the stored
image and decoded back through the schema (writes). Only ET100/ET101 (firmware transfer, our own
design, ASM-DEV-04) are plain byte areas.
"""

from __future__ import annotations

import calendar
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from osgp.app import FullRead, FullWrite, PartialRead, PartialWrite, Response, ResponseCode
from osgp.errors import DecodeError, EncodeError
from osgp.tables import Dimensions, LTimeDate, Ped, Record, Severity, STimeDate, Time, schema

from . import faults as F
from . import variants as V
from .firmware import HEADER_SIZE
from .meter import EPS, EV_TABLE_WRITTEN, Pending
from .ports import MAX_RESPONSE_DATA

if TYPE_CHECKING:
    from .config import DeviceConfig
    from .firmware import Firmware
    from .meter import Meter
    from .ports import Caller, NodeState, SecurityState, Switches
    from .procedures import Procedures

ET, PENDING = 2048, 4096
HANG_APDU = 229  # ASM-APP-05: the APDU size every device must handle; the hang fault dies above it


def et(n: int) -> int:
    return ET + n


@dataclass(frozen=True)
class Access:
    read: str = "read"  # lowest key level that may read ("read" = any key)
    write: str | None = None  # None = read-only
    pendable: bool = False


RO = Access()
FULL_RW = Access(write="full")
PENDABLE = Access(write="full", pendable=True)
FULL_ONLY = Access(read="full", write="full")  # download information: not for the read key [OPG p.13]

BT00, BT01, BT03, BT04, BT05, BT07, BT08 = 0, 1, 3, 4, 5, 7, 8
BT20, BT21, BT22, BT23 = 20, 21, 22, 23
BT50, BT52, BT53, BT54, BT55 = 50, 52, 53, 54, 55
BT60, BT61, BT62, BT63, BT64 = 60, 61, 62, 63, 64
BT70, BT71, BT74 = 70, 71, 74
ET03, ET04, ET11, ET23, ET29, ET54 = et(3), et(4), et(11), et(23), et(29), et(54)
ET100, ET101 = et(100), et(101)  # firmware header / image (ASM-DEV-04)

_STORED = (BT05, BT53, BT54, ET03)  # host-configured tables kept as images (and persisted)
_LEVELS = {"read": 0, "full": 1}


def _ltime(utc: float) -> LTimeDate:
    return LTimeDate.from_datetime(datetime.fromtimestamp(int(utc // 1), UTC))


def _stime(utc: float) -> STimeDate:
    return STimeDate.from_datetime(datetime.fromtimestamp(int(utc // 1), UTC)) if utc else STimeDate(0, 0, 0)


def _weekday(utc: float) -> int:
    return (datetime.fromtimestamp(int(utc // 1), UTC).weekday() + 1) % 7  # 0 = Sunday


def _reverse_words(image: bytes, start: int, end: int) -> bytes:
    """The table_big_endian fault: 4-byte fields written MSB first."""
    out = bytearray(image)
    for i in range(start, min(end, len(out)) - 3, 4):
        out[i:i + 4] = out[i:i + 4][::-1]
    return bytes(out)


class Catalog:
    def __init__(self, config: DeviceConfig, switches: Switches, meter: Meter, *, security: SecurityState,
                 node: NodeState, firmware: Firmware, procedures: Procedures) -> None:
        self.config = config
        self.switches = switches
        self.meter = meter
        self.security = security
        self.node = node
        self.firmware = firmware
        self.procedures = procedures
        c = config
        self.lp_on = c.capabilities.load_profile
        self.access: dict[int, Access] = {
            BT00: RO, BT01: RO, BT03: RO, BT04: RO, BT05: PENDABLE, BT07: Access(write="read"), BT08: RO,
            BT20: RO, BT21: RO, BT22: RO, BT23: RO,
            BT50: RO, BT52: RO, BT53: PENDABLE, BT54: PENDABLE, BT55: RO,
            BT70: RO, BT71: RO, BT74: RO,
            ET03: PENDABLE, ET04: RO, ET11: RO, ET23: RO, ET29: RO, ET54: RO,
        }
        if self.lp_on:
            self.access |= {BT60: RO, BT61: RO, BT62: RO, BT63: RO, BT64: RO}
        if switches.has_variant(V.SCRATCH_TABLES_NOT_PENDABLE):
            self.access |= {BT05: FULL_RW, ET03: FULL_RW}  # pending forms only where the guides show them
        if c.capabilities.firmware_upgrade:
            self.access |= {ET100: FULL_ONLY, ET101: FULL_ONLY}
        self._render: dict[int, Callable[[float], Record]] = {
            BT00: lambda now: self.bt00(faulty=True), BT01: self.bt01, BT03: self.bt03, BT04: self.bt04,
            BT07: self.bt07, BT08: self.bt08, BT20: lambda now: self.bt21(maximum=True), BT21: self.bt21,
            BT22: self.bt22, BT23: self.bt23, BT50: self.bt50, BT52: self.bt52, BT55: self.bt55,
            BT60: lambda now: self.bt61(), BT61: self.bt61, BT62: self.bt62, BT63: self.bt63, BT64: self.bt64,
            BT70: self.bt71, BT71: self.bt71, BT74: self.bt74,
            ET04: self.et04, ET11: self.et11, ET23: self.et23, ET29: self.et29, ET54: self.et54,
        }
        self.bt07_image = bytes(3)
        self.forced: dict[int, bytearray] = {}  # readonly_write_accepted fault only
        self.tier_switches = list(meter.tier_switches)
        self.calendar_id = 1
        self.dims = self._dimensions()
        self.stored: dict[int, bytearray] = {
            BT05: bytearray(schema(BT05).encode(Record(identification=c.identity.device_id), self.dims)),
            BT53: bytearray(schema(BT53).encode(Record(
                dst_time_eff=Time(2, 0, 0), dst_time_amt=60, time_zone_offset=c.metering.timezone_minutes),
                self.dims)),
            BT54: bytearray(schema(BT54).encode(self._bt54_value(), self.dims)),
            ET03: bytearray(schema(ET03).encode(Record(
                utility_serial_number=c.identity.utility_serial, reserved_30=bytes(107),
                image_crc=firmware.image_crc, reserved_139=bytes(4)), self.dims)),
        }

    # --- dimensions ---
    def _dimensions(self) -> Dimensions:
        return Dimensions.from_tables({
            BT00: self.bt00(faulty=False), BT01: self.bt01(0.0), BT21: self.bt21(0.0), BT50: self.bt50(0.0),
            BT61: self.bt61(0.0), BT71: self.bt71(0.0), ET11: self.et11(0.0), ET54: Record(et79_entry_count=0),
        }, lp_sets=1 if self.lp_on else 0)

    def firmware_changed(self) -> None:
        """The layouts of ET23/ET29/ET54 depend on the version; ET03.137 copies the image CRC."""
        self.dims = self._dimensions()
        struct.pack_into("<H", self.stored[ET03], 137, self.firmware.image_crc)

    # --- images ---
    def implemented(self, table_id: int) -> bool:
        return table_id in self.access

    def size(self, table_id: int) -> int:
        return len(self.image(table_id, self.meter.last_now))

    def image(self, table_id: int, now: float) -> bytes:
        if table_id in self.forced:
            return bytes(self.forced[table_id])
        if table_id in self.stored:
            return bytes(self.stored[table_id])
        if table_id == ET100:
            return bytes(self.firmware.header)
        if table_id == ET101:
            return bytes(self.firmware.buffer)
        image = schema(table_id).encode(self._render[table_id](now), self.dims)
        if self.switches.has(F.TABLE_BIG_ENDIAN):
            if table_id == BT23:
                image = _reverse_words(image, 1, len(image))  # after NBR_DEMAND_RESETS: INT32 summations
            elif table_id == ET04:
                image = _reverse_words(image, 0, 4)  # the sequence number
        return image

    def bitmaps(self) -> tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int]]:
        ids = [t for t in self.access if t < PENDING]
        procs = self.procedures.implemented
        return (frozenset(t for t in ids if t < ET), frozenset(t - ET for t in ids if t >= ET),
                frozenset(p for p in procs if p < ET), frozenset(p - ET for p in procs if p >= ET))

    # --- services ---
    def read(self, req: FullRead | PartialRead, caller: Caller, now: float) -> Response:
        tid = req.table_id
        pending = tid >= PENDING
        base = tid - PENDING if pending else tid
        access = self.access.get(base)
        if access is None or (pending and not access.pendable):
            wrong = self.switches.has(F.UNIMPLEMENTED_TABLE_WRONG_CODE)
            return Response(ResponseCode.ONP if wrong else ResponseCode.IAR)
        if _LEVELS[caller.level] < _LEVELS[access.read]:
            return Response(ResponseCode.ISC)
        if pending:
            entry = self._pending_entry(base)
            ped, image = (entry.ped, entry.data) if entry else (bytes(6), self.image(base, now))
        else:
            ped, image = b"", self.image(tid, now)
        if isinstance(req, FullRead):
            data = ped + image
            if tid == ET04 and self.switches.has(F.FULL_READ_SHORT):
                data = data[:-1]
        else:
            # Pending: the count includes the PED, the offset does not move past it [OPG p.9].
            count = max(req.count - len(ped), 0) if pending else req.count
            offset = 0 if self.switches.has(F.PARTIAL_READ_OFFSET_IGNORED) else req.offset
            chunk = image[offset:offset + count]
            pad = b"\xff" if self.switches.has(F.PARTIAL_READ_OVERRUN_GARBAGE) else b"\x00"
            data = (ped + chunk + pad * (count - len(chunk)))[:req.count]  # past the end: zeros, no error
        if not self._fits(len(data)):
            if self.switches.has_variant(V.OVERLONG_READ_CODE_05):
                return Response(ResponseCode.IAR)
            return Response(ResponseCode.ONP)  # longer than the device's APDU limit: read it in parts
        return Response(ResponseCode.OK, data)

    def _fits(self, data_len: int) -> bool:
        return 1 + 2 + data_len + 16 <= self.config.link.max_apdu

    def write(self, req: FullWrite | PartialWrite, caller: Caller, now: float) -> Response:
        tid = req.table_id
        pending = tid >= PENDING
        base = tid - PENDING if pending else tid
        access = self.access.get(base)
        if access is None or (pending and not access.pendable):
            return Response(ResponseCode.IAR)
        # Count semantics [MEP p.10]: only `count` bytes are written; data beyond it is ignored.
        data = req.data if self.switches.has(F.WRITE_COUNT_IGNORED) else req.data[:req.count]
        offset = req.offset if isinstance(req, PartialWrite) else 0
        if tid == ET04 and self._et04_host_fields(offset, len(data)):
            if _LEVELS[caller.level] < _LEVELS["full"]:
                return Response(ResponseCode.ISC)
            return Response(self._write_et04(offset, data, now))
        if access.write is None:
            if not self.switches.has(F.READONLY_WRITE_ACCEPTED):
                return Response(ResponseCode.ISC)
            self.forced[tid] = self._merge(self.image(tid, now), offset, data)
            return Response(ResponseCode.OK)
        if _LEVELS[caller.level] < _LEVELS[access.write] and not self.switches.has(F.READ_KEY_CAN_WRITE):
            return Response(ResponseCode.ISC)
        if offset >= max(self._size_for_write(base, now), 1) and tid != BT07:
            return Response(ResponseCode.ONP)  # nothing of the table lies there (REQ-APP-019)
        if tid == BT07:
            if isinstance(req, PartialWrite):
                return Response(ResponseCode.IAR)  # procedures start with a full write only (ASM-PRC-01)
            self.bt07_image = bytes(data)
            return Response(self.procedures.invoke(data, caller, now))
        if pending:
            code = self._write_pending(base, offset, data, now)
        elif tid in (ET100, ET101):
            code = self._write_firmware(tid, offset, data)
        else:
            code = self.store(tid, offset, data)
        if code == ResponseCode.OK:
            self.meter.event(now, EV_TABLE_WRITTEN, tid)
        return Response(code)

    # ET04 fields the host writes (VCI H) under a variant: byte 12 (request Neuron state, bit 2),
    # 82..85 (broadcast base B). Everything else of ET04 stays read-only.
    def _et04_host_fields(self, offset: int, length: int) -> bool:
        ranges = []
        if self.switches.has_variant(V.NEURON_STATE_ON_REQUEST):
            ranges.append((12, 13))
        if self.switches.has_variant(V.BROADCAST_BASE_HOST_SET):
            ranges.append((82, 86))
        return length > 0 and any(lo <= offset and offset + length <= hi for lo, hi in ranges)

    def _write_et04(self, offset: int, data: bytes, now: float) -> int:
        if offset == 12:
            if data[0] & 0x04:
                self.node.neuron_state = 4  # the Neuron answers at once; the request bit clears itself
            return ResponseCode.OK
        image = bytearray(self.image(ET04, now)[82:86])
        image[offset - 82:offset - 82 + len(data)] = data
        self.security.broadcast_seq = int.from_bytes(image, "little")
        self.security.broadcast_used.clear()
        self.meter.event(now, EV_TABLE_WRITTEN, ET04)
        return ResponseCode.OK

    def _size_for_write(self, base: int, now: float) -> int:
        if base in self.stored:
            return len(self.stored[base])
        return len(self.image(base, now))

    @staticmethod
    def _merge(image: bytes, offset: int, data: bytes) -> bytearray:
        """The image with `data` written at `offset`; bytes beyond the table end are ignored."""
        out = bytearray(image)
        end = min(offset + len(data), len(out))
        if offset < end:
            out[offset:end] = data[:end - offset]
        return out

    def store(self, tid: int, offset: int, data: bytes) -> int:
        """Write into a stored table and apply what it means; a write that does not decode, or breaks
        a documented range, is refused with 0x04 and changes nothing."""
        merged = self._merge(self.stored[tid], offset, data)
        if tid == ET03:
            struct.pack_into("<H", merged, 137, self.firmware.image_crc)  # read-only copy of the image CRC
        try:
            value = schema(tid).decode(bytes(merged), self.dims)
        except (DecodeError, EncodeError):
            return ResponseCode.ONP
        if tid == BT53 and self.switches.has_variant(V.TZ_OFFSET_CLAMPED) and not -720 <= value.time_zone_offset <= 840:
            value["time_zone_offset"] = min(max(value.time_zone_offset, -720), 840)  # "enforced in firmware"
            merged = bytearray(schema(tid).encode(value, self.dims))
        if tid in (BT53, BT54) and any(i.severity >= Severity.ERROR for i in schema(tid).validate(value, self.dims)):
            return ResponseCode.ONP
        self.stored[tid] = merged
        self._apply(tid, value)
        return ResponseCode.OK

    def reload_stored(self) -> None:
        for tid, image in self.stored.items():
            self._apply(tid, schema(tid).decode(bytes(image), self.dims))

    def _apply(self, tid: int, value: Record) -> None:
        m = self.meter
        if tid == BT53:
            m.timezone_s = value.time_zone_offset * 60
        elif tid == BT54:
            switches = [(s.switch_hour, s.switch_min, s.new_tier) for s in value.tier_switches if s.day_sch_num == 0]
            self.tier_switches = sorted(switches)
            m.tier_switches = self.tier_switches or [(0, 0, 0)]
            self.calendar_id = value.calendar_id

    def _write_firmware(self, tid: int, offset: int, data: bytes) -> int:
        fw = self.firmware
        if tid == ET100:
            status = fw.header[HEADER_SIZE - 1]
            fw.header = self._merge(fw.header, offset, data)
            fw.header[HEADER_SIZE - 1] = status  # meter-controlled
        else:
            fw.buffer = self._merge(fw.buffer, offset, data)
        return ResponseCode.OK

    # --- pending tables ---
    def _pending_entry(self, base: int) -> Pending | None:
        return next((p for p in self.meter.pending if p.table_id == base), None)

    def _write_pending(self, base: int, offset: int, data: bytes, now: float) -> int:
        if len(data) < 6:
            return ResponseCode.ONP
        ped, body = bytes(data[:6]), data[6:]
        code, storage = ped[0] & 0x0F, ped[1:6]
        m = self.meter
        utc = m.utc(now)
        if code == 0 and any(storage):
            yy, mo, dd, hh, mi = storage
            if not (1 <= mo <= 12 and 1 <= dd <= calendar.monthrange(2000 + yy, mo)[1] and hh < 24 and mi < 60):
                return ResponseCode.ONP
            at: float | None = float(calendar.timegm((2000 + yy, mo, dd, hh, mi, 0)))
        elif code == 1:
            w, dd, hh, mi, ss = storage
            at = utc + (((w * 7 + dd) * 24 + hh) * 60 + mi) * 60 + ss
        elif code in (0, 2):
            at = None  # manual (an empty absolute PED activates only through BP12/BP13)
        else:
            return ResponseCode.ONP
        previous = self._pending_entry(base)
        start = previous.data if previous and previous.still_pending else self.image(base, now)
        image = bytes(self._merge(start, offset, body))
        try:
            schema(base).decode(image, self.dims)
        except (DecodeError, EncodeError):
            return ResponseCode.ONP
        if self.switches.has(F.PENDING_NEVER_ACTIVATED) and code == 0:
            at = None
        entry = Pending(base, ped, image, at)
        slots = m.pending
        if previous is not None:
            slots[slots.index(previous)] = entry
        elif len(slots) < self.dims.bt00.nbr_pending:
            slots.append(entry)
        else:
            done = next((p for p in slots if not p.still_pending), None)
            if done is None:
                return ResponseCode.ONP  # every BT04 record holds a table still pending
            slots[slots.index(done)] = entry
        if self.switches.has(F.PENDING_ACTIVATED_EARLY) and code == 2:
            m.activate(now, entry)
        elif at is not None and at <= utc + EPS:
            m.activate(now, entry)  # a PED time already past activates at once
        return ResponseCode.OK

    def activate_pending(self, p: Pending) -> None:
        if p.table_id in self.stored:
            self.store(p.table_id, 0, p.data)

    # --- table contents ---
    def bt00(self, *, faulty: bool) -> Record:
        c = self.config
        std_t, mfg_t, std_p, mfg_p = self.bitmaps()
        writable = [t for t, a in self.access.items() if a.write and t != BT07] + [BT07]
        std_w = frozenset(t for t in writable if t < ET)
        mfg_w = frozenset(t - ET for t in writable if t >= ET)
        nbr_pending = 4
        if faulty and self.switches.has(F.BT00_BIT7_DROPPED):
            std_t, mfg_t, std_p, mfg_p, std_w, mfg_w = (
                frozenset(n for n in s if n % 8 != 7) for s in (std_t, mfg_t, std_p, mfg_p, std_w, mfg_w))
        if faulty and self.switches.has(F.BT00_DIMENSION_INCONSISTENT):
            nbr_pending += 1
        return Record(
            data_order=0, char_format=1, model_select=0, tm_format=2, data_access_method=1, id_form=1,
            int_format=0, ni_format1=8, ni_format2=8, manufacturer=c.identity.manufacturer,
            nameplate_type=2, default_set_used=0, max_proc_parm_length=255,
            max_resp_data_len=MAX_RESPONSE_DATA, std_version_no=1, std_revision_no=0,
            dim_std_tbls_used=10, dim_mfg_tbls_used=13, dim_std_proc_used=2, dim_mfg_proc_used=12,
            dim_mfg_status_used=6, nbr_pending=nbr_pending, std_tbls_used=std_t, mfg_tbls_used=mfg_t,
            std_proc_used=std_p, mfg_proc_used=mfg_p, std_tbls_write=std_w, mfg_tbls_write=mfg_w)

    def bt01(self, now: float) -> Record:
        i = self.config.identity
        v = self.firmware.version
        from .config import pack_version

        hw = pack_version(i.hardware)
        return Record(manufacturer=i.manufacturer, ed_model=i.model, hw_version_number=hw >> 8,
                      hw_revision_number=hw & 0xFF, fw_build=v & 0x1F, fw_minor=v >> 5 & 0x7F, fw_major=v >> 12,
                      mfg_serial_number=i.serial)

    def bt03(self, now: float) -> Record:
        m = self.meter
        std = m.std_alarms
        mfg = {n for n in range(len(m.mfg_alarms) * 8) if m.mfg_alarms[n // 8] >> (n % 8) & 1}
        live = {
            0: m.lp_enabled and m.lp.overflow,  # LP overflow (primary set)
            2: m.relay.changed,  # load disconnect has changed state
            22: m.log.overflow,  # event log overflow pending
            28: m.log.unread > 0,  # event log unread entries
            30: m.lp_enabled and m.lp.unread > 0,  # LP 1 unread entries
        }
        mfg |= {n for n, on in live.items() if on}
        names = ["unprogrammed", "configuration_error", "system_reset", "ram_failure", "rom_failure",
                 "nvm_failure", "clock_error", "measurement_error", "low_battery", "low_loss_potential",
                 "demand_overload", "power_failure", "cover_removed", "reverse_energy",
                 "data_backup_incomplete", "disconnect_switch_error"]
        rec = Record(metering_flag=True, test_mode_flag=False, meter_shop_mode_flag=False, factory_flag=False)
        rec.update({n: bool(std >> i & 1) for i, n in enumerate(names)})
        rec.update(lp_set2_unread=False, lp_set3_unread=False, lp_set4_unread=False,
                   neutral_current_deviation=False, ed_mfg_status=frozenset(mfg))
        return rec

    def bt04(self, now: float) -> Record:
        m = self.meter
        active = [p for p in m.pending if p.still_pending]
        records = [Record(ped=Ped(p.ped[0] & 0x0F, bool(p.ped[0] & 0x10), bool(p.ped[0] & 0x20), p.ped[1:6]),
                          table_number=p.table_id, still_pending=p.still_pending) for p in m.pending]
        empty = Record(ped=Ped(0), table_number=0, still_pending=False)
        records += [empty] * (self.dims.bt00.nbr_pending - len(records))
        flagged = [p.table_id for p in active]
        if self.switches.has_variant(V.BT04_PENDING_CAPABILITY):
            flagged = [t for t, a in self.access.items() if a.pendable]  # "has a pending table" [OPG:458]
        return Record(
            std_pending=frozenset(t for t in flagged if t < ET),
            mfg_pending=frozenset(t - ET for t in flagged if t >= ET),
            last_activation_time=_stime(m.last_activation_utc), nbr_pending_activations=len(m.pending),
            activations=records)

    def bt07(self, now: float) -> Record:
        img = self.bt07_image.ljust(3, b"\0")
        word = img[0] | img[1] << 8
        return Record(proc_nbr=word & 0xFFF, selector=word >> 12, psn=img[2], params=bytes(img[3:]))

    def bt08(self, now: float) -> Record:
        number, psn, result, data = self.procedures.response
        return Record(proc_nbr=number, psn=psn, result=result, resp_data=data)

    def bt21(self, now: float = 0.0, *, maximum: bool = False) -> Record:
        flags = dict.fromkeys(("season_info_field_flag", "date_time_field_flag", "demand_reset_lock_flag",
                               "cum_demand_flag", "cont_cum_demand_flag", "time_remaining_flag",
                               "self_read_inhibit_overflow_flag", "self_read_seq_nbr_flag",
                               "daily_self_read_flag", "weekly_self_read_flag"), False)
        return Record(**flags, demand_reset_ctr_flag=True, self_read_demand_reset=0, nbr_self_reads=0,
                      nbr_summations=11, nbr_demands=0, nbr_coin_values=0, nbr_occur=1,
                      nbr_tiers=8 if maximum else len(self.meter.registers.tiers),
                      nbr_present_demands=0, nbr_present_values=0)

    def bt22(self, now: float) -> Record:
        return Record(summation_select=list(range(11)), demand_select=[], min_or_max_flags=frozenset(),
                      coincident_select=[], coin_demand_assoc=[])

    def bt23(self, now: float) -> Record:
        r = self.meter.registers

        def block(sums: list[int]) -> Record:
            return Record(summations=[max(min(v, 2**31 - 1), -2**31) for v in sums], demands=[], coincidents=[])

        return Record(nbr_demand_resets=r.demand_resets, tot_data_block=block(r.summations()),
                      tier_data_block=[block(r.tier_summations(t)) for t in range(len(r.tiers))])

    def bt50(self, now: float) -> Record:
        flags = dict.fromkeys(("tou_self_read_flag", "season_self_read_flag", "season_demand_reset_flag",
                               "season_chng_armed_flag", "sort_dates_flag", "anchor_date_flag",
                               "cap_dst_auto_flag", "separate_weekdays_flag", "separate_sum_demands_flag",
                               "capable_of_tm_zn_offset_flag"), False)
        sort = self.switches.has_variant(V.BT54_STORED_AS_RECEIVED)  # "the host must pre-sort" [MEP-DG:11425]
        return Record(**flags, sort_tier_switches_flag=sort, nbr_seasons=1, nbr_special_sched=0,
                      nbr_non_recurr_dates=0, nbr_recurr_dates=0, nbr_tier_switches=8,
                      calendar_tbl_size=3 * 8 + 3 * 1 + 4)

    def _bt54_value(self) -> Record:
        used = [Record(new_tier=t, switch_min=mm, switch_hour=h, day_sch_num=0) for h, mm, t in self.tier_switches]
        unused = Record(new_tier=0, switch_min=0, switch_hour=0, day_sch_num=0xFF)
        return Record(non_recurr_dates=[], recurr_dates=[], tier_switches=(used + [unused] * 8)[:8],
                      season_schedules=[Record(daily_schedule_ids=[0, 0, 0])], calendar_id=self.calendar_id)

    def _qualifier(self, utc: float, *, local: bool) -> Record:
        # BT55 is the time-zone and DST adjusted clock (both "applied" flags set) [MEP p.227]; DST is
        # never in effect here since the calendar has no DST dates.
        return Record(day_of_week=_weekday(utc), dst_flag=False, gmt_flag=not local, tm_zn_applied_flag=local,
                      dst_applied_flag=local)

    def bt52(self, now: float) -> Record:
        utc = self.meter.utc(now)
        return Record(clock_calendar=_ltime(utc), **self._qualifier(utc, local=False))

    def bt55(self, now: float) -> Record:
        local = self.meter.local(now)
        return Record(clock_calendar=_ltime(local), **self._qualifier(local, local=True),
                      curr_tier=self.meter.tier(now), tier_drive=0, special_schd_active=0, season=0)

    def _lp_block_size(self) -> int:
        lp = self.meter.lp
        return 5 + (lp.ints_per_block + 7) // 8 + lp.ints_per_block * (lp.channels // 2 + 1 + 4 * lp.channels)

    def bt61(self, now: float = 0.0) -> Record:
        lp = self.meter.lp
        flags = {f"lp_set{n}_inhibit_ovf_flag": False for n in range(1, 5)}
        flags |= {f"scalar_divisor_flag_set{n}": False for n in range(1, 5)}
        inv = dict.fromkeys(("inv_uint8_flag", "inv_uint16_flag", "inv_uint32_flag", "inv_int8_flag",
                             "inv_int16_flag", "inv_ni_fmat1_flag", "inv_ni_fmat2_flag"), False)
        sets = [Record(nbr_blks=lp.nbr_blocks, nbr_blk_ints=lp.ints_per_block, nbr_chns=lp.channels,
                       max_int_time=lp.interval_s // 60)] if self.lp_on else []
        return Record(lp_memory_len=lp.nbr_blocks * self._lp_block_size(), **flags, blk_end_read_flag=False,
                      blk_end_pulse_flag=False, extended_int_status_flag=True, simple_int_status_flag=True,
                      **inv, inv_int32_flag=True, sets=sets)

    def bt62(self, now: float) -> Record:
        channels = [Record(end_rdg_flag=False, lp_source_sel=src, end_blk_rdg_source_select=src) for src in (0, 2)]
        return Record(sets=[Record(channels=channels, int_fmt_cde=32)])

    def bt63(self, now: float) -> Record:
        lp = self.meter.lp
        return Record(sets=[Record(
            block_order=0, overflow_flag=lp.overflow, list_type=1, block_inhibit_overflow_flag=False,
            interval_order=0, active_mode_flag=True, test_mode=False, nbr_valid_blocks=lp.valid_blocks,
            last_block_element=lp.last_element, last_block_seq_nbr=lp.last_block_seq,
            nbr_unread_blocks=lp.unread, nbr_valid_int=lp.valid_intervals)])

    def bt64(self, now: float) -> Record:
        lp = self.meter.lp
        n_status = lp.channels // 2 + 1
        blank = Record(extended_int_status=bytes(n_status), channel_values=[0] * lp.channels)
        blocks = []
        for b in lp.blocks:
            if b is None:
                blocks.append(Record(end_time=STimeDate(0, 0, 0), simple_int_status=frozenset(),
                                     intervals=[blank] * lp.ints_per_block))
                continue
            ints = [blank if iv is None else Record(
                extended_int_status=_status_bytes(iv.common, iv.codes, n_status),
                channel_values=[max(min(v, 2**31 - 1), -2**31) for v in iv.values]) for iv in b.intervals]
            blocks.append(Record(end_time=_stime(b.end_utc),
                                 simple_int_status=frozenset(i for i, iv in enumerate(b.intervals) if iv),
                                 intervals=ints))
        return Record(blocks=blocks)

    def bt71(self, now: float = 0.0) -> Record:
        return Record(event_number_flag=False, hist_date_time_flag=True, hist_seq_nbr_flag=True,
                      hist_inhibit_ovf_flag=False, event_inhibit_ovf_flag=False, nbr_std_events=8,
                      nbr_mfg_events=19, hist_data_length=2, event_data_length=2,
                      nbr_history_entries=self.meter.log.capacity, nbr_event_entries=0)

    def bt74(self, now: float) -> Record:
        log = self.meter.log
        blank = Record(time=LTimeDate(0, 0, 0), seq_nbr=0, user_id=0, event_code=0, argument=bytes(2))
        entries = [blank if e is None else Record(
            time=_ltime(e.utc), seq_nbr=e.seq & 0xFFFF, user_id=e.user, event_code=e.code & 0xFFF,
            argument=e.arg.to_bytes(2, "little")) for e in log.slots]
        return Record(order=0, overflow_flag=log.overflow, list_type=1, inhibit_overflow_flag=False,
                      nbr_valid_entries=log.valid, last_entry_element=log.last_element,
                      last_entry_seq_nbr=log.last_seq, nbr_unread_entries=log.unread, entries=entries)

    def et04(self, now: float) -> Record:
        c, s, node, fw = self.config, self.security, self.node, self.firmware
        return Record(
            sequence_number=s.seq, transceiver_id=bytes.fromhex(c.address.neuron_id),
            subnet_id=c.address.subnet, node_id=c.address.node, explicit_msg_received=node.messages_received > 0,
            force_neuron_config=False, request_neuron_state=False, disable_plc_encryption=False,
            disable_eeprom_lock=False, phase=1, rated_frequency=50, program_id=fw.program_id,
            self_id=b"OSGP reference device".ljust(30, b"\0"), pk_access=0, max_power_outages=10, unused_54=0,
            max_te_registers=4, registration_current=20, max_current=60, rated_voltage=230,
            inactive_voltage_l1=False, inactive_voltage_l2=False, inactive_voltage_l3=False,
            separate_current_phases=False, inactive_current_l1=False, inactive_current_l2=False,
            inactive_current_l3=False, dst_off_delta=0, self_read_hour=0, self_read_minute=0, stop_mode_days=0,
            mfg_status=bytes(3), rk_bp10_ep16_access=not c.security.rk_bp10_ep16, test_point=False,
            test_point_internal=False, lp_use_skipped=False, neuron_state=node.neuron_state, phase_rotation=0,
            plc_comm_inactive_threshold=0,
            broadcast_last_receipt=_ltime(s.broadcast_receipt_utc) if s.broadcast_receipt_utc else LTimeDate(0, 0, 0),
            broadcast_base=s.broadcast_seq, broadcast_delta=c.security.window,
            reverse_energy_current_threshold=0, plc_signal_quality=4, auto_discovery_ta=0, auto_discovery_to=0,
            auto_discovery_disable=1, amplifier_gain=0, events_outage_threshold=0, nvm_size=64,
            safe_image_locked=0, mep_seq_nbr=0, unused_107=0, premise_power_generation=0,
            outage_detection_pct=60, phase_loss_pct=60, meter_form=0, clock_error_tier=0, c1219_compliance=0,
            idt_version=fw.idt_version, tilt_timer=0, min_registration_current=0,
            registration_current_fraction=0, constant_phase_loss_alarm=False, power_up_wait_time=0,
            max_key_usage_count=c.security.max_key_usage, security_mode=2 if s.mode == "aes128" else 0,
            fcm_count=0, mep_seq_nbrs=[0, 0], reverse_energy_time_ms=0, reverse_energy_time_s=0, extension=b"")

    def et11(self, now: float = 0.0) -> Record:
        return Record(
            nbr_devices=0, et13_entry_size=66, et14_entry_size=36, on_demand_queue_size=5, et15_entry_size=6,
            et16_entry_size=517, txn_request_length=896, txn_response_length=1785, on_demand_write_size=25,
            phase_data_size=16, et34_entry_size=22, one_time_read_queue_size=3, mbus_one_time_read_queue_size=4,
            et19_entry_size=17, et20_entry_size=17, nbr_group_ids=10, nbr_harmonics=10, mbus_multicast_length=65,
            et22_alarm_size=120, mep_data_sources=6, et48_entries=10, max_critical_event_bitmaps=10,
            et57_entries=16, relay_switches=80, delta_alert_sources=10, ram_txn_request_length=261,
            ram_txn_response_length=769, fw_module_count=1, fw_module_length=7, mep_channel_count=0,
            reserved_35=0, et17_bitmap_size=0, error_screen_count=0, extension=b"")

    def et23(self, now: float) -> Record:
        node = self.node
        relay = self.meter.relay
        reserved = 119 if self.dims.firmware[:2] >= (4, 0) else 87
        return Record(lontalk_msgs_received=node.messages_received & 0xFFFFFFFF,
                      lontalk_msgs_validated=node.messages_validated & 0xFFFFFFFF, reserved_8=bytes(86),
                      disconnect_internal_status=relay.status(now), active_calendar_id=self.calendar_id,
                      reserved_99=bytes(reserved))

    def et29(self, now: float) -> Record:
        caps = self.config.capabilities
        options = {14} | ({5, 11} if caps.relay else set())
        rec = Record(hardware_options=frozenset(options), reserved_3=bytes(2), single_phase=True, polyphase=False,
                     internal_reserved=0, pulse_relay_for_disconnect=False, power_boost_relay=False,
                     reserved_6=bytes(14))
        if self.dims.firmware[:2] >= (4, 0):
            port = Record(board=0, port=0, sequence=0)
            rec.update(reserved_20=bytes(4), comm_assignment_matrix_1=[port] * 3, two_disconnect_sensors=False,
                       disconnect_toggle_button=False, backlight_lcd=False, buzzer=False, battery_type=0,
                       earth_fault=False, external_tamper_1=False, external_tamper_2=False,
                       s0_pulse_output_2=False, security_chip=False, last_gasp_module=False,
                       control_relay_1_latching=False, control_relay_2_latching=False, reserved_37=bytes(10),
                       line_current_sensor=0, neutral_current_sensor=0, comm_assignment_matrix_2=[port] * 2)
        return rec

    def et54(self, now: float) -> Record:
        m, s = self.meter, self.security
        fw = self.dims.firmware[:2]
        rec = Record(
            multiple_lp_sets=False, energy_unit_change=False, lcd_5_digit_value_id=False,
            multiple_mep_clients=False, reserved_2=bytes(17), lp_disabled=not m.lp_enabled, reserved_21=bytes(23),
            over_power_threshold_exceeded=False, step_tariff_in_use=False, reserved_45=bytes(17),
            relay1_random_pending=0, relay1_random_duration=0, relay1_random_start_duration=0,
            reserved_67=bytes(1), miswiring_reason=0, et74_entry_count=0, welmec_11_2=False,
            delta_time_sync_status=m.slew_status, disconnect_push_button_locked=not m.relay_spacing_ok(now),
            time_adjustment_in_interval=int(m.slew_applied_interval), date_last_step_tariff_reset=_date0(),
            et77_entry_count=0, et79_entry_count=0)
        if fw == (3, 13) or fw >= (3, 80):
            modes = {0} | ({2} if self.config.capabilities.aes else set())
            rec.update(unicast_key_usage_count=s.unicast_uses & 0xFFFFFFFF,
                       broadcast_key_usage_count=s.broadcast_uses & 0xFFFFFFFF,
                       supported_security_modes=frozenset(modes))
        if fw >= (4, 0):
            rec.update(module_records=[bytes(7)] * self.dims.et11.fw_module_count, reserved_91x=bytes(4),
                       external_tamper_raw_adc=0, mep_tx_locked=0, mep_tx_lock_channel=0)
        if fw >= (4, 10):
            rec.update(ext_failure_code=0, ext_failure_proc_nbr=0)
        if fw >= (4, 30):
            rec.update(relay2_random_pending=0, relay2_random_duration=0, relay2_random_start_duration=0)
        return rec


def _date0():
    from osgp.tables import Date

    return Date(0, 0, 0)


def _status_bytes(common: int, codes: tuple[int, ...], n: int) -> bytes:
    """LP extended status: common nibble, then channel 0 in the low nibble of byte 0, channel 1 in the
    high nibble of byte 1, ... (osgp.tables.split_extended_status)."""
    nibbles = [common & 0xF, *codes]
    nibbles += [0] * (2 * n - len(nibbles))
    return bytes((nibbles[2 * i] << 4) | nibbles[2 * i + 1] for i in range(n))
