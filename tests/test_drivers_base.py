"""Driver registry: URL schemes, configuration errors, third-party drivers through entry points."""

from __future__ import annotations

import textwrap

import pytest

from osgp.errors import ConfigError
from osgpct.drivers import ACCEPTED_FORMS, Driver, FrameEvent, open_driver
from osgpct.drivers.base import UrlOptions, split_host_port
from osgpct.drivers.cnip import CnipTcpDriver, CnipUdpDriver
from osgpct.drivers.journal import ReplayDriver
from osgpct.drivers.loopback import LoopbackDriver
from osgpct.drivers.serial import SerialDriver
from osgpct.drivers.testing import EchoCore


def test_builtin_schemes_choose_their_driver(tmp_path):
    journal = tmp_path / "j.jsonl"
    journal.write_text("")
    cases = {
        "loopback:": LoopbackDriver,
        "cnip+udp://127.0.0.1:1628": CnipUdpDriver,
        "cnip+tcp://localhost:1628?crc=0": CnipTcpDriver,
        "serial://loop://?framing=slta": SerialDriver,
        "serial:///dev/ttyUSB0?framing=u61&baud=460800&timeout=0.5": SerialDriver,
        f"replay:{journal}": ReplayDriver,
        "LOOPBACK:": LoopbackDriver,
    }
    for url, cls in cases.items():
        assert type(open_driver(url, device=EchoCore())) is cls, url


def test_serial_url_forms():
    d = open_driver("serial:///dev/ttyUSB0?framing=u61&baud=460800&timeout=0.5&phase=none")
    assert isinstance(d, SerialDriver)
    s = d.settings
    assert (s.device, s.framing, s.baud, s.timeout, s.phase) == ("/dev/ttyUSB0", "u61", 460800, 0.5, None)
    d = open_driver("serial://loop://?framing=slta&ack=1")
    assert isinstance(d, SerialDriver)
    assert (d.settings.device, d.settings.reliable, d.settings.baud) == ("loop://", True, 115200)
    assert open_driver("serial://COM3").settings.framing == "u61"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", [
    "", "http://example.org", "nonsense", "cnip+udp://", "cnip+udp://:1628", "cnip+udp://host:port",
    "cnip+udp://host:99999", "cnip+tcp://h:1628?crc=maybe", "serial://?framing=u61",
    "serial://loop://?framing=hdlc", "serial://loop://?framing=u61&ack=1", "serial://loop://?phase=20",
    "replay:", "replay:/no/such/journal.jsonl",
])
def test_bad_urls_name_the_url(url):
    with pytest.raises(ConfigError) as info:
        open_driver(url)
    if url:
        assert url in str(info.value)


def test_unknown_scheme_lists_the_accepted_forms():
    with pytest.raises(ConfigError) as info:
        open_driver("zigbee://meter")
    for form in ACCEPTED_FORMS:
        assert form in str(info.value)


def test_url_options_helpers():
    o = UrlOptions("x:?a=1&b=0.5&c=yes&d=p,q&d=r", "a=1&b=0.5&c=yes&d=p,q&d=r")
    assert o.number("a", 0, integer=True) == 1 and o.number("b", 0) == 0.5 and o.flag("c", False)
    assert o.all("d") == ["p", "q", "r"] and o.text("e", "dflt") == "dflt"
    o.finish()
    assert split_host_port("u", "[::1]:1629") == ("::1", 1629)
    assert split_host_port("u", "meter.lab") == ("meter.lab", 1628)


def test_taps_see_events_and_a_failing_tap_is_an_observation():
    d = open_driver("loopback:", device=EchoCore())
    seen: list[FrameEvent] = []

    def broken(event: FrameEvent) -> None:
        raise OSError("disk full")

    d.add_tap(broken)
    d.add_tap(seen.append)
    with d:
        d.send(b"\x01\x02\x03")
        assert d.receive(1.0) == b"\x01\x02\x03"
    assert [e.direction for e in seen] == ["tx", "rx"]
    assert any("disk full" in o for o in d.observations)


PLUGIN = '''
from osgpct.drivers.base import Driver


class FakeDriver(Driver):
    scheme = "fake"

    def __init__(self, url, **context):
        super().__init__(context.get("clock"))
        self.url = url
        self.context = context

    def send(self, frame):
        pass

    def receive(self, deadline):
        return None

    def describe(self):
        return {"driver": "fake", "target": self.url}


def make(url, **context):
    return FakeDriver(url, **context)


def not_a_driver(url, **context):
    return object()
'''


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    (tmp_path / "fakedrv.py").write_text(PLUGIN)
    info = tmp_path / "fakedrv-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakedrv\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [osgpct.drivers]
        fake = fakedrv:FakeDriver
        fakefn = fakedrv:make
        notadriver = fakedrv:not_a_driver
        broken = fakedrv_missing:Nothing
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_entry_point_drivers(plugin_dist):
    d = open_driver("fake://bench-7?x=1", answer=42)
    assert isinstance(d, Driver) and d.describe() == {"driver": "fake", "target": "fake://bench-7?x=1"}
    assert d.context == {"answer": 42}  # type: ignore[attr-defined]
    assert type(open_driver("fakefn:anything")).__name__ == "FakeDriver"
    with pytest.raises(ConfigError, match="not a drivers.base.Driver"):
        open_driver("notadriver:")
    with pytest.raises(ConfigError, match="failed to load"):
        open_driver("broken:")
    with pytest.raises(ConfigError, match=r"fake:… \(plug-in\)"):
        open_driver("nope:")


def test_capabilities_are_declared_and_queried_in_one_place() -> None:
    """Serial NIs compute the CRC (no invalid frames), the loopback can power-cycle its device, and an
    object that declares nothing has nothing."""
    from osgp.capabilities import Capability, capabilities_of
    from osgpct.drivers.loopback import LoopbackDriver
    from osgpct.drivers.serial import SerialDriver

    assert Capability.INVALID_FRAMES not in capabilities_of(SerialDriver)
    assert capabilities_of(object()) == frozenset()
    class Core:  # answers nothing and cannot be switched off
        def on_frame(self, frame: bytes, now: float) -> list:
            return []

    drv = LoopbackDriver(device=Core())
    assert capabilities_of(drv) == {Capability.INVALID_FRAMES}
    Core.power_cycle = lambda self, outage_s, now: None  # a core that can be switched off and on
    assert Capability.POWER_CYCLE in capabilities_of(drv)
