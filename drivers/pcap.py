"""Write frames as a classic libpcap trace that Wireshark decodes with no plug-in.

No libpcap link type exists for raw 14908-1 frames, and Wireshark's LON dissector only runs
inside CN/IP (lower-layers digest §6 and §7(c)), so every frame, whatever driver carried it, is
wrapped as IPv4 / UDP port 1628 / CN/IP data packet / LPDU. The tester is 192.0.2.1 and the device
192.0.2.2 (TEST-NET-1): tx frames go tester → device, rx frames device → tester.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import IO, Literal

from .base import FrameEvent
from .cnip import DEFAULT_PORT, encode_data_packet

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101  # raw IPv4/IPv6, no link header
TESTER_IP, DEVICE_IP = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
TESTER_MAC, DEVICE_MAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
PCAP_HEADER = struct.Struct("<IHHiIII")
RECORD_HEADER = struct.Struct("<IIII")


def _ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapWriter:
    """A tap: ``write(event)`` appends one packet and returns its number (1-based, as Wireshark shows)."""

    def __init__(self, path: str | Path, *, linktype: Literal["ethernet", "raw"] = "ethernet",
                 crc: bool = True, session: int = 0, time_base: float = 0.0, skip_lost: bool = True) -> None:
        self.path = Path(path)
        self.linktype = LINKTYPE_ETHERNET if linktype == "ethernet" else LINKTYPE_RAW
        self.crc = crc
        self.session = session
        self.time_base = time_base  # added to FrameEvent.t (virtual clocks start near 0)
        self.skip_lost = skip_lost  # frames the channel model lost never reached the other side
        self.count = 0
        self._seq = {"tx": 0, "rx": 0}
        self._t0: float | None = None
        self._file: IO[bytes] | None = self.path.open("wb")
        self._file.write(PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, 65535, self.linktype))
        self._file.flush()

    def packet(self, event: FrameEvent) -> bytes:
        """The link-layer bytes for one event (also used by tests)."""
        if self._t0 is None:
            self._t0 = event.t
        payload = event.frame if self.crc else event.frame[:-2]
        stamp = max(0, int((event.t - self._t0) * 1000))
        cnip = encode_data_packet(payload, self.session, self._seq[event.direction], stamp)
        self._seq[event.direction] += 1
        src, dst = (TESTER_IP, DEVICE_IP) if event.direction == "tx" else (DEVICE_IP, TESTER_IP)
        udp = struct.pack("!HHHH", DEFAULT_PORT, DEFAULT_PORT, 8 + len(cnip), 0) + cnip  # checksum 0: none
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), (self.count + 1) & 0xFFFF, 0x4000, 64,
                         17, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
        if self.linktype == LINKTYPE_RAW:
            return ip + udp
        macs = DEVICE_MAC + TESTER_MAC if event.direction == "tx" else TESTER_MAC + DEVICE_MAC
        return macs + b"\x08\x00" + ip + udp

    def write(self, event: FrameEvent) -> int:
        """Packet number of the event in the trace, or 0 for a lost frame that is not written."""
        if self.skip_lost and event.note.startswith("lost"):
            return 0
        if self._file is None:
            raise ValueError(f"pcap {self.path} is closed")
        data = self.packet(event)
        t = max(0.0, self.time_base + event.t)
        sec = int(t)
        usec = min(999_999, int(round((t - sec) * 1_000_000)))
        self._file.write(RECORD_HEADER.pack(sec, usec, len(data), len(data)) + data)
        self._file.flush()
        self.count += 1
        return self.count

    __call__ = write

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
