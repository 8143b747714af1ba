"""Loopback driver and power-line channel model, on the virtual clock."""

from __future__ import annotations

import pytest

from osgp.clock import VirtualClock
from osgp.errors import ConfigError, TransportError
from osgpct.drivers import FrameEvent, open_driver
from osgpct.drivers.channel import PROFILES, Channel, ChannelConfig
from osgpct.drivers.loopback import LoopbackDriver
from osgpct.drivers.testing import EchoCore

# Hand-built: ACKD NV update from the Wireshark sample (digest §1.9 frame 1) + its CRC (§1.8 vector).
REQ = bytes.fromhex("01 09 01 AA 01 A9 01 03 81 0D 00 CA 09 9E")
ALT = bytes([REQ[0] | 0x40]) + REQ[1:]  # same frame on the alternate path (CRC not re-computed: unused)


def _driver(url: str = "loopback:", core: EchoCore | None = None) -> tuple[LoopbackDriver, list[FrameEvent]]:
    d = open_driver(url, device=core or EchoCore())
    events: list[FrameEvent] = []
    d.add_tap(events.append)
    d.open()
    assert isinstance(d, LoopbackDriver)
    return d, events


def test_no_channel_answers_at_once_without_moving_the_clock():
    d, events = _driver()
    d.send(REQ)
    assert d.receive(5.0) == REQ
    assert d.clock.now() == 0.0
    assert [(e.t, e.direction, e.frame) for e in events] == [(0.0, "tx", REQ), (0.0, "rx", REQ)]


def test_silence_returns_none_exactly_at_the_deadline():
    d, _ = _driver(core=EchoCore(transform=lambda f: None))
    d.send(REQ)
    assert d.receive(2.5) is None
    assert d.clock.now() == 2.5


def test_delayed_answer_is_returned_at_its_time_not_before():
    d, _ = _driver(core=EchoCore(delay=2.0))
    d.send(REQ)
    assert d.receive(1.0) is None
    assert d.clock.now() == 1.0
    assert d.receive(3.0) == REQ
    assert d.clock.now() == 2.0


def test_frames_already_due_are_returned_even_with_a_past_deadline():
    d, _ = _driver()
    d.send(REQ)
    d.clock.advance(1.0)
    assert d.receive(0.5) == REQ


def test_device_factory_receives_clock_and_faults_from_the_url():
    made = {}

    def factory(*, clock, faults, variants=()):
        made.update(clock=clock, faults=faults)
        return EchoCore()

    clock = VirtualClock()
    d = open_driver("loopback:?fault=bad_digest,stale_seq&fault=crash", device_factory=factory, clock=clock)
    with d:
        assert made == {"clock": clock, "faults": ("bad_digest", "stale_seq", "crash")}
        assert d.describe()["faults"] == "bad_digest,stale_seq,crash"


def test_core_exception_becomes_transport_error():
    def boom(frame: bytes) -> bytes:
        raise RuntimeError("kaput")

    d, _ = _driver(core=EchoCore(transform=boom))
    d.send(REQ)
    with pytest.raises(TransportError, match="kaput"):
        d.receive(1.0)


def test_use_before_open_is_a_transport_error():
    d = open_driver("loopback:", device=EchoCore())
    with pytest.raises(TransportError, match="not open"):
        d.send(REQ)


@pytest.mark.parametrize("url", ["loopback:somewhere", "loopback:?channel=x-band",
                                 "loopback:?channel=a-band&loss=2", "loopback:?loss=0.1",
                                 "loopback:?channel=a-band&colour=blue", "loopback:?channel=a-band&seed=x"])
def test_bad_loopback_urls(url):
    with pytest.raises(ConfigError, match="loopback"):
        open_driver(url, device=EchoCore())


def test_missing_device_is_a_config_error():
    with pytest.raises(ConfigError, match="device"):
        open_driver("loopback:")


# -- channel model ---------------------------------------------------------------------------------


def test_airtime_equals_the_formula():
    for name, rate in (("a-band", 3600.0), ("c-band", 5400.0)):
        ch = Channel(ChannelConfig(PROFILES[name]))
        assert ch.airtime(len(REQ)) == pytest.approx((35 + 8 * len(REQ) * 1.25) / rate)
    ch = Channel(ChannelConfig(PROFILES["a-band"]))
    assert ch.airtime(10) == pytest.approx(0.0375)  # 10-byte ACK: (35 + 100) bits / 3600 bit/s


def test_round_trip_costs_two_airtimes_plus_turnaround_and_is_accounted():
    d, events = _driver("loopback:?channel=a-band&turnaround=0.03")
    air = (35 + 8 * len(REQ) * 1.25) / 3600
    d.send(REQ)
    assert d.receive(10.0) == REQ
    assert d.clock.now() == pytest.approx(2 * air + 0.03)
    assert events[1].t == pytest.approx(2 * air + 0.03)
    assert d.channel is not None and d.channel.stats.airtime == pytest.approx(2 * air)
    info = d.describe()
    assert float(info["channel.airtime_s"]) == pytest.approx(2 * air, abs=1e-3)
    assert float(info["predicted_duration_s"]) == pytest.approx(2 * air + 0.03, abs=1e-3)


def test_options_override_the_profile():
    d, _ = _driver("loopback:?channel=c-band&bitrate=1000&preamble=0&fec=1")
    d.send(REQ)
    d.receive(10.0)
    assert d.clock.now() == pytest.approx(2 * 8 * len(REQ) / 1000)


def test_the_medium_is_shared_replies_queue_behind_each_other():
    class TwoReplies:
        def on_frame(self, frame, now):
            return [(now, frame), (now, frame)]

    d = open_driver("loopback:?channel=a-band", device=TwoReplies())
    with d:
        air = (35 + 8 * len(REQ) * 1.25) / 3600
        d.send(REQ)
        assert d.receive(10.0) == REQ and d.clock.now() == pytest.approx(2 * air)
        assert d.receive(10.0) == REQ and d.clock.now() == pytest.approx(3 * air)


def test_primary_lost_secondary_clear_alt_path_frames_get_through():
    d, events = _driver("loopback:?channel=a-band&loss=1.0&loss_alt=0.0&seed=7")
    d.send(REQ)
    assert d.receive(d.clock.now() + 1.0) is None
    assert events[-1].note == "lost (primary carrier)"
    d.send(ALT)
    assert d.receive(d.clock.now() + 1.0) == ALT  # the echo keeps alt_path: the reply uses the secondary too
    # A retrying requester: two tries on the primary carrier, the last one on the alternate path.
    answered = []
    for attempt in range(3):
        frame = ALT if attempt == 2 else REQ
        d.send(frame)
        answered.append(d.receive(d.clock.now() + 0.5))
    assert answered == [None, None, ALT]
    assert d.channel is not None
    assert d.channel.stats.lost_primary == 3 and d.channel.stats.lost_secondary == 0


def test_lost_uplink_is_tapped_but_not_returned():
    d, events = _driver("loopback:?channel=a-band&loss=0&loss_alt=1", core=EchoCore(lambda f: ALT))
    d.send(REQ)
    assert d.receive(5.0) is None
    assert [(e.direction, e.note) for e in events] == [("tx", ""), ("rx", "lost (uplink)")]


def test_burst_state_loses_everything_once_entered():
    d, _ = _driver("loopback:?channel=a-band&burst_p=1&burst_r=0&burst_loss=1")
    for _ in range(5):
        d.send(REQ)
        assert d.receive(d.clock.now() + 1.0) is None


def _timeline(url: str) -> list[tuple[float, str, bytes, str]]:
    d, events = _driver(url, core=EchoCore(delay=0.01))
    for i in range(200):
        d.send(ALT if i % 3 == 2 else REQ)
        d.receive(d.clock.now() + 0.3)
    return [(e.t, e.direction, e.frame, e.note) for e in events]


def test_same_seed_same_timeline_other_seed_other_timeline():
    url = "loopback:?channel=a-band&loss=0.3&loss_alt=0.1&burst_p=0.05&burst_r=0.3&burst_loss=0.9&seed={}"
    first = _timeline(url.format(7))
    assert first == _timeline(url.format(7))
    assert first != _timeline(url.format(8))
    lost = sum(1 for e in first if e[3].startswith("lost"))
    assert 0 < lost < len(first)


def test_hosts_the_reference_device_through_its_factory():
    refdevice = pytest.importorskip("osgpct.refdevice")
    if not hasattr(refdevice, "build"):
        pytest.skip("refdevice resolves to a namespace package (stale editable install: pip install -e .)")
    # Hand-built: SPDU REQUEST tid 0 from 01/127 to 01/2, domain 01, OSGP full read of table 0.
    body = bytes.fromhex("01 19 01 FF 01 82 01 00 30 00 00")
    from osgp.lon import crc16

    with open_driver("loopback:?channel=a-band", device_factory=refdevice.build) as d:
        d.send(body + crc16(body).to_bytes(2, "big"))
        reply = d.receive(d.clock.now() + 5.0)
    assert reply is not None and reply[7] == 0x20  # SPDU RESPONSE, same transaction number
    assert reply[2:6] == bytes.fromhex("01 82 01 FF")
