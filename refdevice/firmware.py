"""Firmware image transfer and activation: two extended tables and one procedure of our own design.

The PLC-side tables for image transfer are NOT FOUND in the sources (tables digest 9.7, 12 item 5),
so the reference device offers this (ASM-DEV-04):

ET100 Firmware Image Header (25 bytes, full key read/write; offset 24 is meter-controlled)
    0   image length          UINT32
    4   image CRC             UINT16   CRC-16/GENIBUS over the image bytes (osgp.lon.crc16)
    6   new firmware version  UINT16   packed x.yy.zz as BT01.14 (but LSB first, like every table field)
    8   image MAC             UINT8[16] AES-CMAC of the image under the full key (checked in AES mode only)
    24  status                UINT8    0 idle, 1 activated, 2 bad length, 3 bad CRC, 4 bad MAC
ET101 Firmware Image Data (metering.firmware_image_size bytes), written with partial writes.
EP81 Activate Firmware Image: no parameters; result 0 done, 3 image refused (status says why).

Activation changes BT01.14-15, ET03.137 (image CRC), ET04.14 (program id), increments ET04.116
(IDT version), raises BT03 "code bank changed" and logs C12.19 event 36 (end device reprogrammed).
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC

from osgp.lon import crc16

from .meter import EV_FIRMWARE_REJECTED, EV_REPROGRAMMED

if TYPE_CHECKING:
    from .config import DeviceConfig
    from .meter import Meter
    from .ports import SecurityState

HEADER_SIZE = 25
_HEADER = struct.Struct("<IHH16s")
STATUS_IDLE, STATUS_ACTIVATED, STATUS_LENGTH, STATUS_CRC, STATUS_MAC = range(5)


def image_mac(image: bytes, key: bytes) -> bytes:
    mac = CMAC(algorithms.AES(key))
    mac.update(image)
    return mac.finalize()


def header(image: bytes, version: int, key: bytes | None = None) -> bytes:
    """ET100 image for `image` (what a head-end writes before EP81); status byte 0."""
    mac = image_mac(image, key) if key is not None else bytes(16)
    return _HEADER.pack(len(image), crc16(image), version, mac) + b"\x00"


class Firmware:
    """`on_changed()` is called after an activation (the catalog re-derives what depends on the version)."""

    def __init__(self, config: DeviceConfig, meter: Meter, security: SecurityState, *, version: int) -> None:
        self.meter = meter
        self.security = security
        self.header = bytearray(HEADER_SIZE)
        self.buffer = bytearray(config.metering.firmware_image_size)
        self.version = version
        self.image_crc = crc16(b"")
        self.program_id = bytes.fromhex(config.identity.program_id)
        self.idt_version = 1
        self.on_changed: Callable[[], None] = lambda: None

    def activate(self, now: float) -> int:
        length, crc, version, mac = _HEADER.unpack_from(self.header)
        image = bytes(self.buffer[:length])
        status = STATUS_ACTIVATED
        if not 0 < length <= len(self.buffer) or (version >> 12) > 9 or (version >> 5 & 0x7F) > 99:
            status = STATUS_LENGTH
        elif crc16(image) != crc:
            status = STATUS_CRC
        elif self.security.mode == "aes128" and not hmac.compare_digest(
                image_mac(image, self.security.keys["full"].reveal()), mac):
            status = STATUS_MAC
        self.header[24] = status
        if status != STATUS_ACTIVATED:
            self.meter.event(now, EV_FIRMWARE_REJECTED, status)
            return 3
        self.version, self.image_crc = version, crc
        self.program_id = self.program_id[:6] + struct.pack(">H", version)
        self.idt_version = (self.idt_version + 1) & 0xFF
        self.meter.mfg_alarms[1] |= 0x40  # BT03 mfg "code bank changed"
        self.on_changed()
        self.meter.event(now, EV_REPROGRAMMED, version)
        return 0
