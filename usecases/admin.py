"""Administration scenarios (UC_KEY_CHANGE, UC_FIRMWARE_UPGRADE, and the MGT test cases that reuse them): key
change (EP80), broadcast, firmware upgrade (ET100/ET101, EP81).

Each function acts through a :class:`osgpct.dut.Dut` and returns what it saw; it opens no test step (steps do not
nest) and judges only its own preconditions (INCONC). The caller judges the DUT.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from osgp.app import Response, bt, et
from osgp.errors import DecodeError, DeviceTimeout, EncodeError, SecurityError
from osgp.lon import crc16
from osgp.tables import ProcedureResponse, Record, decode_procedure_response, encode_procedure_initiate
from osgpct.dut import (
    EP80_KEY_CHANGE,
    EP80_KEY_IDS,
    EP80_PARAMS,
    EP81_FIRMWARE_ACTIVATE,
    ET100_FW_HEADER,
    ET100_HEADER,
    ET101_FW_IMAGE,
    OK,
    Call,
    Dut,
    derived_session,
    profile_for,
)
from osgpct.testcase import Verdict
from osgpct.usecases.metering import Identity, firmware_word, read_identity

# --------------------------------------------------------------------------------------------------
# key change (pixit.key_change, ASM-MGT-03 / ASM-DEV-03)


def full_key(dut: Dut) -> bytes:
    """The full-access key the session uses by default (INCONC when the plan's default key is another)."""
    sec = dut.plan.security
    default = sec.key()
    dut.tc.require(default.access == "full", f"the plan's default key {default.name!r} is not the full-access key")
    return default.secret.reveal()


def require_ep80(dut: Dut) -> None:
    dut.tc.require(dut.pixit.key_change == "ep80", f"pixit.key_change = {dut.pixit.key_change}: the suite drives "
                   "only the EP80 key change (ASM-DEV-03); a 14908-1 network-management key update is not "
                   "implemented by the tester (ASM-MGT-03)")
    dut.require_procedure(EP80_KEY_CHANGE, "key change (pixit.key_change = ep80)")


@dataclass(frozen=True)
class KeyChange:
    write: Response
    result: ProcedureResponse | None
    read_with: str  # which key read the BT08 that echoes the call: "new", "old" ("" when none did)

    @property
    def done(self) -> bool:
        return self.write.ok and self.result is not None and self.result.result == OK

    def describe(self) -> str:
        if not self.write.ok:
            return f"EP80 write answered {self.write.describe()}"
        if self.result is None:
            return "no BT08 read (with the new key nor the old one) shows the result of the EP80 call"
        return f"EP80 result {self.result.result} ({self.result.meaning}), BT08 read with the {self.read_with} key"


def change_key(dut: Dut, level: str, new: bytes, *, under: bytes | None = None, **kw: Any) -> KeyChange:
    """EP80 (ASM-DEV-03): change the ``level`` key to ``new``; the request is protected with ``under`` (default:
    the session key). When the session's own key changes, the new key applies from the next request, so BT08 is
    read with it first, then with the old one."""
    params = EP80_PARAMS.encode({"key_id": EP80_KEY_IDS[level], "key": new}, dut.dims())
    psn = dut.session.next_psn()
    dut.session.psn = psn
    old_kw = {"key": under} if under is not None else {}
    w = dut.session.write(bt(7), encode_procedure_initiate(EP80_KEY_CHANGE, psn, params), **old_kw, **kw)
    if not w.ok:
        return KeyChange(w, None, "")
    attempts = [("new", {"key": new}), ("old", old_kw)] if level == "full" else [("old", old_kw)]
    for label, key_kw in attempts:
        try:
            r = dut.session.read(bt(8), **key_kw)
        except SecurityError:
            continue
        if not r.ok:
            continue
        try:
            res = decode_procedure_response(r.data)
        except DecodeError:
            continue
        if res.number == EP80_KEY_CHANGE and res.psn == psn:
            return KeyChange(w, res, label)
    return KeyChange(w, None, "")


def key_works(dut: Dut, key: bytes | None) -> Response:
    """A read of BT01 protected with ``key`` (None: the session key)."""
    return dut.session.read(bt(1), **({"key": key} if key is not None else {}))


def key_accepted(dut: Dut, key: bytes) -> bool:
    """Whether a BT01 read under ``key`` is executed and answered under it (an answer that does not verify
    under it counts as not accepted)."""
    try:
        return key_works(dut, key).ok
    except SecurityError:
        return False


def put_key_back(dut: Dut, original: bytes, candidates: list[bytes]) -> None:
    """If the session's full key no longer works but one of ``candidates`` does, change the full key back to
    ``original`` under it (EP80); INCONC if the DUT is left with another key."""
    if key_accepted(dut, original):
        return
    for k in candidates:
        if key_accepted(dut, k):
            kc = change_key(dut, "full", original, under=k)
            if key_accepted(dut, original):
                dut.tc.observe(f"full key changed back to the plan's key ({kc.describe()})")
                return
            dut.tc.record(Verdict.INCONC, f"could not change the full key back ({kc.describe()})")
            return
    dut.tc.record(Verdict.INCONC, "the DUT answers neither the plan's full key nor the keys the case used: the "
                  "key must be restored out of band")


def new_key(dut: Dut, old: bytes) -> bytes:
    k = bytes(dut.tc.rng.randrange(256) for _ in range(len(old)))
    return k if k != old else bytes(b ^ 0xFF for b in k)


# --------------------------------------------------------------------------------------------------
# broadcast (PICS_BROADCAST; ASM-MGT-01, ASM-SEC-10)


def plan_broadcast_key(dut: Dut) -> bytes:
    keys = dut.plan.security.by_access("broadcast")
    dut.tc.require(keys, "the plan holds no key of access level 'broadcast'")
    return keys[0].secret.reveal()


def broadcast_session(dut: Dut, key: bytes) -> Any:
    """A session sending domain-wide broadcasts (request/response service) protected with ``key``."""
    from osgp.transaction import ToBroadcast

    return derived_session(dut.session, dut=ToBroadcast(0), profile=profile_for(dut.plan, [key]))


def next_broadcast_seq(dut: Dut, unicast_key: bytes | None = None) -> int:
    """ET04.82 (secure broadcast base) + 1: the next broadcast sequence number the DUT accepts (ASM-SEC-10);
    ET04 is read by unicast under ``unicast_key`` (default: the session key)."""
    dut.require_table(et(4), "ET04.82 broadcast sequence base")
    kw = {"key": unicast_key} if unicast_key is not None else {}
    return (dut.read_field(et(4), "broadcast_base", **kw) + 1) % (1 << 32)


def broadcast_read(dut: Dut, key: bytes, table_id: int = bt(1), *, unicast_key: bytes | None = None
                   ) -> Response | None:
    """A domain-wide broadcast read under ``key`` with the next broadcast sequence number: the answer, or None
    when none comes (the DUT need not answer a broadcast, ASM-MGT-01)."""
    seq = next_broadcast_seq(dut, unicast_key)
    try:
        return broadcast_session(dut, key).read(table_id, seq=seq, resync=False)
    except DeviceTimeout:
        return None
    except SecurityError:
        return None


def broadcast_write(dut: Dut, key: bytes, table_id: int, data: bytes) -> Response | None:
    seq = next_broadcast_seq(dut)
    try:
        return broadcast_session(dut, key).write(table_id, data, seq=seq, resync=False)
    except DeviceTimeout:
        return None


# --------------------------------------------------------------------------------------------------
# firmware upgrade (pixit.firmware_upgrade = et100, ASM-MGT-02 / ASM-DEV-04)


def require_et100(dut: Dut) -> None:
    dut.tc.require(dut.pixit.firmware_upgrade == "et100", f"pixit.firmware_upgrade = {dut.pixit.firmware_upgrade}: "
                   "the upgrade is done out of band, the tester cannot transfer an image (ASM-MGT-02)")
    dut.require_table(ET100_FW_HEADER, "firmware image header (ASM-DEV-04)")
    dut.require_table(ET101_FW_IMAGE, "firmware image data (ASM-DEV-04)")
    dut.require_procedure(EP81_FIRMWARE_ACTIVATE, "firmware activation (ASM-DEV-04)")


def image_mac(image: bytes, key: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.cmac import CMAC

    mac = CMAC(algorithms.AES(key))
    mac.update(image)
    return mac.finalize()


def make_image(dut: Dut, size: int = 600) -> bytes:
    return bytes(dut.tc.rng.randrange(256) for _ in range(size))


def transfer_image(dut: Dut, image: bytes, version: int, *, crc: int | None = None, mac: bytes | None = None) -> None:
    """Write the image into ET101 (partial writes of at most pixit.max_apdu - 40 bytes) and its header into
    ET100 (INCONC if the DUT refuses a write)."""
    chunk = max(16, min(128, dut.pixit.max_apdu - 40))
    if dut.pics("PICS_PARTIAL_WRITE"):
        for off in range(0, len(image), chunk):
            r = dut.session.write_partial(ET101_FW_IMAGE, off, image[off:off + chunk])
            dut.tc.require(r.ok, f"ET101 image write at {off} answered {r.describe()}")
    else:
        dut.tc.require(len(image) <= chunk, "the DUT has no partial write and the image needs several writes")
        r = dut.session.write(ET101_FW_IMAGE, image)
        dut.tc.require(r.ok, f"ET101 image write answered {r.describe()}")
    if mac is None:
        mac = image_mac(image, full_key(dut)) if dut.plan.security.mode == "aes128" else bytes(16)
    head = ET100_HEADER.encode({"image_length": len(image), "image_crc": crc16(image) if crc is None else crc,
                                "version": version, "image_mac": mac, "status": 0}, dut.dims())
    r = dut.session.write(ET100_FW_HEADER, head)
    dut.tc.require(r.ok, f"ET100 header write answered {r.describe()}")


def firmware_header(dut: Dut) -> Record:
    """ET100 decoded with the ASM-DEV-04 layout."""
    r = dut.session.read(ET100_FW_HEADER)
    dut.tc.require(r.ok, f"ET100 read answered {r.describe()}")
    try:
        return ET100_HEADER.decode(r.data, dut.dims())
    except (DecodeError, EncodeError) as e:
        dut.tc.inconc(f"ET100 does not decode: {e}")


def firmware_status(dut: Dut) -> int:
    return firmware_header(dut).status


def upgrade(dut: Dut, version: int, *, crc: int | None = None, mac: bytes | None = None,
            image: bytes | None = None) -> Call:
    """Transfer an image announcing ``version`` and activate it (EP81); the activation is not judged."""
    transfer_image(dut, image if image is not None else make_image(dut), version, crc=crc, mac=mac)
    return dut.call(EP81_FIRMWARE_ACTIVATE)


def next_version(fw: tuple[int, int, int]) -> tuple[int, int, int]:
    x, yy, zz = fw
    return (x, yy, zz + 1) if zz < 31 else (x, (yy + 1) % 100, 0)


@contextlib.contextmanager
def firmware_kept(dut: Dut) -> Iterator[Identity]:
    """Note the running firmware; afterwards, if BT01 shows another version, upgrade back to it, and clear the
    'code bank changed' alarm again if it was clear before."""
    before = read_identity(dut)
    with dut.mfg_latch_kept("code_bank_changed"):
        try:
            yield before
        finally:
            if read_identity(dut).firmware != before.firmware:
                c = upgrade(dut, firmware_word(before.firmware))
                back = read_identity(dut).firmware
                if back != before.firmware:
                    dut.tc.record(Verdict.INCONC, f"could not put firmware {before.firmware} back "
                                  f"({c.describe()}; BT01 shows {back})")
                else:
                    dut.tc.observe(f"firmware {back[0]}.{back[1]:02d}.{back[2]:02d} put back (its image CRC "
                                   "differs: the original image is not available to the tester)")
