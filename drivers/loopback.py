"""In-process loopback: hosts any sans-IO device core (``on_frame(frame, now) -> [(t, frame)]``).

Runs on a :class:`VirtualClock` by default, so timer and retry tests take no wall time:
``receive(deadline)`` jumps the clock to the next frame due by the deadline, or to the deadline.
With a ``channel=`` option the frames also cross a modelled power-line medium (drivers.channel).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol

from osgp.capabilities import Capability
from osgp.clock import Clock, VirtualClock
from osgp.errors import ConfigError, TransportError

from .base import Driver, UrlOptions, wait_until
from .channel import PROFILES, Channel, ChannelConfig, ChannelProfile

_TO_DEVICE, _TO_TESTER, _LOST_UPLINK = 0, 1, 2


class DeviceCore(Protocol):
    def on_frame(self, frame: bytes, now: float) -> list[tuple[float, bytes]]: ...


DeviceFactory = Callable[..., DeviceCore]


def parse_channel(opts: UrlOptions) -> ChannelConfig | None:
    """Channel options of a loopback URL; None when the URL asks for no channel model."""
    keys = ("bitrate", "preamble", "fec", "turnaround", "loss", "loss_alt", "burst_p", "burst_r",
            "burst_loss")
    name = opts.text("channel", "none", choices=("none", *PROFILES))
    if name == "none":
        if any(opts.has(k) for k in keys):
            raise ConfigError(f"{opts.url}: channel options need channel=a-band or channel=c-band")
        return None
    base = PROFILES[name]
    profile = ChannelProfile(
        name,
        opts.number("bitrate", base.bit_rate, lo=1.0),
        int(opts.number("preamble", base.preamble_bits, lo=0, integer=True)),
        opts.number("fec", base.fec_factor, lo=0.1, hi=10.0),
    )
    return ChannelConfig(
        profile=profile,
        turnaround=opts.number("turnaround", 0.0, lo=0.0),
        loss=opts.number("loss", 0.0, 0.0, 1.0),
        loss_alt=opts.number("loss_alt", 0.0, 0.0, 1.0),
        burst_p=opts.number("burst_p", 0.0, 0.0, 1.0),
        burst_r=opts.number("burst_r", 0.5, 0.0, 1.0),
        burst_loss=opts.number("burst_loss", 1.0, 0.0, 1.0),
        seed=int(opts.number("seed", 0, integer=True)),
    )


class LoopbackDriver(Driver):
    scheme = "loopback"

    def __init__(self, device: DeviceCore | None = None, *, device_factory: DeviceFactory | None = None,
                 channel: ChannelConfig | None = None, faults: tuple[str, ...] = (),
                 clock: Clock | None = None, url: str = "loopback:", variants: tuple[str, ...] = ()) -> None:
        super().__init__(clock if clock is not None else VirtualClock())
        if device is None and device_factory is None:
            raise ConfigError(f"{url}: the loopback needs a device core: pass device= or device_factory= "
                              "(osgpct run supplies the reference device)")
        if device is not None and not callable(getattr(device, "on_frame", None)):
            raise ConfigError(f"{url}: device {type(device).__name__} has no on_frame(frame, now) method")
        self.url = url
        self.device = device
        self._factory = device_factory
        self.faults = faults
        self.variants = variants
        self.channel = Channel(channel) if channel is not None else None
        self._events: list[tuple[float, int, int, bytes]] = []
        self._order = itertools.count()
        self._t_open = 0.0

    @classmethod
    def from_url(cls, url: str, **context: Any) -> LoopbackDriver:
        _, _, rest = url.partition(":")
        path, _, query = rest.partition("?")
        if path.strip("/"):
            raise ConfigError(f"{url}: loopback takes no address, only ?options "
                              "(e.g. loopback:?channel=a-band&loss=0.1)")
        opts = UrlOptions(url, query)
        channel = parse_channel(opts)
        faults = tuple(opts.all("fault"))
        variants = tuple(opts.all("variant"))
        opts.finish()
        return cls(context.get("device"), device_factory=context.get("device_factory"), channel=channel,
                   faults=faults, clock=context.get("clock"), url=url, variants=variants)

    def _do_open(self) -> None:
        if self.device is None:
            assert self._factory is not None
            # Factory contract (docs/drivers.md): keyword arguments clock, faults and variants.
            self.device = self._factory(clock=self.clock, faults=self.faults, variants=self.variants)
        self._t_open = self.clock.now()

    # -- harness ------------------------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[Capability]:  # type: ignore[override]
        power = callable(getattr(self.device, "power_cycle", None)) or self._factory is not None
        return frozenset({Capability.INVALID_FRAMES, *([Capability.POWER_CYCLE] if power else [])})

    def power_cycle(self, outage_s: float) -> None:
        """Power the in-process device down and up again; frames in flight are lost with the power."""
        self._require_open()
        if not callable(getattr(self.device, "power_cycle", None)):
            super().power_cycle(outage_s)
        self._run_until(self.clock.now())
        self._events = [e for e in self._events if e[2] != _TO_TESTER]
        heapq.heapify(self._events)
        now = self.clock.now()
        self.device.power_cycle(now, outage_s)
        self.observe(f"DUT power-cycled at {now:.3f} s ({outage_s:g} s outage)")
        wait_until(self.clock, now + outage_s)

    # -- frames -------------------------------------------------------------------------------------

    def _push(self, t: float, kind: int, frame: bytes) -> None:
        heapq.heappush(self._events, (t, next(self._order), kind, frame))

    def send(self, frame: bytes) -> None:
        self._require_open()
        frame = bytes(frame)
        now = self.clock.now()
        self._run_until(now)  # the device sees earlier frames first
        if self.channel is None:
            self._emit("tx", frame, t=now)
            self._push(now, _TO_DEVICE, frame)
            return
        tx = self.channel.transmit(frame, now)
        self._emit("tx", frame, tx.note, t=now)
        if not tx.lost:
            self._push(tx.end, _TO_DEVICE, frame)

    def receive(self, deadline: float) -> bytes | None:
        self._require_open()
        limit = max(deadline, self.clock.now())  # frames already due are returned even past the deadline
        while self._events and self._events[0][0] <= limit:
            t, _, kind, frame = heapq.heappop(self._events)
            wait_until(self.clock, t)
            if kind == _TO_TESTER:
                self._emit("rx", frame, t=t)
                return frame
            if kind == _LOST_UPLINK:
                self._emit("rx", frame, "lost (uplink)", t=t)
                continue
            self._deliver(frame, t)
        wait_until(self.clock, deadline)
        return None

    def _deliver(self, frame: bytes, t: float) -> None:
        assert self.device is not None
        try:
            replies = self.device.on_frame(frame, t)
        except Exception as e:
            raise TransportError(f"loopback: the device core raised {type(e).__name__}: {e} "
                                 f"on frame {frame.hex(' ')}") from e
        for t_reply, reply in replies:
            ready = max(t_reply, t)
            if self.channel is None:
                self._push(ready, _TO_TESTER, bytes(reply))
                continue
            tx = self.channel.transmit(bytes(reply), ready + self.channel.config.turnaround)
            if tx.lost:
                self._push(tx.end, _LOST_UPLINK, bytes(reply))
            else:
                self._push(tx.end, _TO_TESTER, bytes(reply))

    def _run_until(self, t: float) -> None:
        """Deliver downlink frames due by `t`; uplink frames stay queued for receive()."""
        pending: list[tuple[float, int, int, bytes]] = []
        while self._events and self._events[0][0] <= t:
            event = heapq.heappop(self._events)
            if event[2] == _TO_DEVICE:
                self._deliver(event[3], event[0])
            else:
                pending.append(event)
        for event in pending:
            heapq.heappush(self._events, event)

    # -- reporting ----------------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        """Clock time since open(): on a channel, the predicted duration on a real line."""
        return self.clock.now() - self._t_open

    def describe(self) -> dict[str, str]:
        d = {"driver": "loopback", "target": self.url, "device": type(self.device).__name__
             if self.device is not None else "(built at open)", "clock": type(self.clock).__name__,
             "elapsed_s": f"{self.elapsed:.3f}"}
        if self.faults:
            d["faults"] = ",".join(self.faults)
        if self.variants:
            d["variants"] = ",".join(self.variants)
        if self.channel is not None:
            d.update(self.channel.describe())
            d["predicted_duration_s"] = f"{self.elapsed:.3f}"
        return d


