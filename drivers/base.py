"""The driver interface, the URL registry and small helpers shared by every driver.

Contract (docs/internals.md): a frame crossing this interface is one ISO/IEC 14908-1 LPDU,
L2Hdr..APDU followed by its 2-byte CRC. A driver moves frames; it never decodes them beyond
what its medium needs, and it reports what went wrong on the medium as typed errors
(:class:`TransportError`) or as plain-text ``observations`` the session can attach to evidence.
"""

from __future__ import annotations

import abc
import contextlib
import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any, Literal
from urllib.parse import parse_qsl

from osgp.capabilities import Capability
from osgp.clock import Clock, MonotonicClock
from osgp.errors import ConfigError, TransportError
from osgp.frames import FrameEvent

log = logging.getLogger("osgpct.drivers")

ENTRY_POINT_GROUP = "osgpct.drivers"

ACCEPTED_FORMS = (
    "loopback:[?channel=a-band|c-band&loss=P&loss_alt=P&seed=N&fault=NAME...]",
    "cnip+udp://HOST:PORT[?crc=0|1]",
    "cnip+tcp://HOST:PORT[?crc=0|1&timeout=S]",
    "serial://DEVICE?framing=u61|slta[&baud=N&timeout=S]  (DEVICE may be a pyserial URL, e.g. loop://)",
    "replay:PATH",
)


Tap = Callable[[FrameEvent], None]


class Driver(abc.ABC):
    """Moves LPDUs (with CRC) between the tester and one device. Subclasses do the I/O."""

    scheme: str = ""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self.observations: list[str] = []
        self._taps: list[Tap] = []
        self._open = False

    # -- construction from a target URL ------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, **context: Any) -> Driver:
        """Build from a target URL. Third-party subclasses may simply accept ``(url, **context)``."""
        return cls(url, **context)  # type: ignore[call-arg]

    # -- lifecycle ----------------------------------------------------------------------------------

    def open(self) -> None:
        if not self._open:
            self._do_open()
            self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self._do_close()

    @property
    def is_open(self) -> bool:
        return self._open

    def __enter__(self) -> Driver:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _do_open(self) -> None:  # noqa: B027 - optional hook
        """Acquire the medium (socket, port, device core). Raise TransportError if it cannot."""

    def _do_close(self) -> None:  # noqa: B027 - optional hook
        """Release the medium; must not raise."""

    # -- frames -------------------------------------------------------------------------------------

    @abc.abstractmethod
    def send(self, frame: bytes) -> None:
        """Transmit one LPDU with CRC. Raises TransportError."""

    @abc.abstractmethod
    def receive(self, deadline: float) -> bytes | None:
        """The next LPDU with CRC, or None once ``clock.now() >= deadline``. Raises TransportError."""

    @abc.abstractmethod
    def describe(self) -> dict[str, str]:
        """What, where, settings: printed in the report. No secrets."""

    # -- harness capabilities (osgp.capabilities) -----------------------------------------------------

    #: What the driver can do beyond moving frames; a subclass narrows or widens the set.
    capabilities: frozenset[Capability] = frozenset({Capability.INVALID_FRAMES})

    def power_cycle(self, outage_s: float) -> None:
        """Switch the DUT off for ``outage_s`` seconds and on again. Drivers that cannot raise."""
        raise TransportError(f"{type(self).__name__} cannot power-cycle the DUT")

    # -- taps and observations ----------------------------------------------------------------------

    def add_tap(self, fn: Tap) -> None:
        self._taps.append(fn)

    def remove_tap(self, fn: Tap) -> None:
        """Stop calling `fn` (a session that ends removes its tap; unknown taps are ignored)."""
        with contextlib.suppress(ValueError):
            self._taps.remove(fn)

    @property
    def tap_count(self) -> int:
        return len(self._taps)

    def _emit(self, direction: Literal["tx", "rx"], frame: bytes, note: str = "",
              t: float | None = None) -> None:
        event = FrameEvent(self.clock.now() if t is None else t, direction, bytes(frame), note)
        for tap in self._taps:
            try:
                tap(event)
            except Exception as e:  # a broken tap (full disk, ...) must not stop the campaign
                self.observe(f"tap {tap!r} failed: {e}")

    def observe(self, message: str) -> None:
        """Record something odd on the medium that is not (yet) an error."""
        self.observations.append(message)
        log.info("%s: %s", self.scheme or type(self).__name__, message)

    def _require_open(self) -> None:
        if not self._open:
            raise TransportError(f"{type(self).__name__}: driver is not open (call open() or use `with`)")


# -- helpers ---------------------------------------------------------------------------------------


def wait_until(clock: Clock, t: float) -> None:
    """Let the clock reach `t` (a virtual clock jumps, a real one sleeps)."""
    delta = t - clock.now()
    if delta > 0:
        clock.sleep(delta)


def check_crc(frame: bytes) -> bool:
    """True when the last two bytes are the big-endian CRC-16 of the rest."""
    from osgp.lon import crc16

    return len(frame) >= 2 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")


def with_crc(body: bytes) -> bytes:
    """Append the CRC the way the medium would (an NI, or a CN/IP peer that omits it)."""
    from osgp.lon import crc16

    return body + crc16(body).to_bytes(2, "big")


class UrlOptions:
    """Query options of a target URL, read with types and bounds; leftovers are a ConfigError."""

    def __init__(self, url: str, query: str) -> None:
        self.url = url
        self._items: dict[str, list[str]] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            self._items.setdefault(k, []).append(v)
        self._used: set[str] = set()

    def _raw(self, name: str) -> str | None:
        self._used.add(name)
        values = self._items.get(name)
        return values[-1] if values else None

    def has(self, name: str) -> bool:
        return name in self._items

    def all(self, name: str) -> list[str]:
        self._used.add(name)
        return [v for value in self._items.get(name, []) for v in value.split(",") if v]

    def text(self, name: str, default: str, choices: Iterable[str] | None = None) -> str:
        raw = self._raw(name)
        value = default if raw is None else raw
        if choices is not None and value not in (allowed := tuple(choices)):
            raise ConfigError(f"{self.url}: {name}={value!r} is not one of {', '.join(allowed)}")
        return value

    def number(self, name: str, default: float, lo: float = float("-inf"), hi: float = float("inf"),
               integer: bool = False) -> float:
        raw = self._raw(name)
        if raw is None:
            return default
        try:
            value = int(raw, 0) if integer else float(raw)
        except ValueError:
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"{self.url}: {name}={raw!r} is not {kind}") from None
        if not lo <= value <= hi:
            raise ConfigError(f"{self.url}: {name}={raw} is outside [{lo}, {hi}]")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{self.url}: {name}={raw!r} is not a boolean (0/1)")

    def finish(self) -> None:
        unknown = sorted(set(self._items) - self._used)
        if unknown:
            raise ConfigError(f"{self.url}: unknown option(s) {', '.join(unknown)}")


def split_host_port(url: str, rest: str, default_port: int = 1628, *, listen: bool = False) -> tuple[str, int]:
    """'HOST:PORT', '[v6]:PORT' or 'HOST' → (host, port); a listener may ask for port 0 (any)."""
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
    if not host:
        raise ConfigError(f"{url}: missing host; {_forms()}")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ConfigError(f"{url}: port {port_text!r} is not a number; {_forms()}") from None
    if not (0 if listen else 1) <= port < 65536:
        raise ConfigError(f"{url}: port {port} is out of range")
    return host, port


# -- registry --------------------------------------------------------------------------------------

_BUILTIN: dict[str, str] = {
    "loopback": "osgpct.drivers.loopback:LoopbackDriver",
    "cnip+udp": "osgpct.drivers.cnip:CnipUdpDriver",
    "cnip+tcp": "osgpct.drivers.cnip:CnipTcpDriver",
    "serial": "osgpct.drivers.serial:SerialDriver",
    "replay": "osgpct.drivers.journal:ReplayDriver",
}


def _forms() -> str:
    extra = sorted(set(_plugin_schemes()) - set(_BUILTIN))
    return "accepted forms: " + "; ".join(ACCEPTED_FORMS + tuple(f"{s}:… (plug-in)" for s in extra))


def _plugin_schemes() -> dict[str, Any]:
    try:
        return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    except Exception:  # a broken installed distribution must not break the built-in drivers
        return {}


def scheme_of(url: str) -> str:
    scheme, sep, _ = url.partition(":")
    return scheme.lower() if sep else ""


def _load(spec: str) -> Any:
    from importlib import import_module

    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr)


def open_driver(url: str, **context: Any) -> Driver:
    """Build the driver for a target URL (not yet opened: use ``with`` or ``open()``).

    ``context`` carries objects a URL cannot: ``clock``, ``device`` / ``device_factory`` for the
    loopback, ``port`` (an already-open pyserial-like object) for serial. Keys a driver does not
    use are ignored, so one context fits every scheme.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"empty target URL; {_forms()}")
    url = url.strip()
    scheme = scheme_of(url)
    if scheme in _BUILTIN:
        factory = _load(_BUILTIN[scheme])
    else:
        ep = _plugin_schemes().get(scheme)
        if ep is None:
            raise ConfigError(f"unknown target URL {url!r}; {_forms()}")
        try:
            factory = ep.load()
        except Exception as e:
            raise ConfigError(f"{url}: driver plug-in {ep.value!r} for scheme {scheme!r} "
                              f"failed to load: {e}") from e
    if isinstance(factory, type) and issubclass(factory, Driver):
        driver = factory.from_url(url, **context)
    else:
        driver = factory(url, **context)
    if not isinstance(driver, Driver):
        raise ConfigError(f"{url}: the driver for scheme {scheme!r} returned {type(driver).__name__}, "
                          "not a drivers.base.Driver")
    return driver
