"""The reference OSGP device: a sans-IO meter core with fault switches (docs/refdevice.md).

    device = refdevice.build(faults=["accept_bad_digest"])
    replies = device.on_frame(frame, now)      # [(t, frame), ...]
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from osgp.clock import Clock

from .config import DeviceConfig
from .device import ReferenceDevice
from .faults import FAULTS, Fault
from .ports import Caller
from .variants import VARIANTS, Variant

__all__ = ["FAULTS", "VARIANTS", "Caller", "DeviceConfig", "Fault", "ReferenceDevice", "Variant", "build"]


def build(config_path: str | Path | None = None, faults: Iterable[str] | None = (),
          clock: Clock | None = None, variants: Iterable[str] | None = (), **overrides: object) -> ReferenceDevice:
    """The device the CLI (`osgpct serve`) and the loopback driver run.

    `config_path` is a YAML file (a `device:` section or the bare mapping), else the default config;
    `overrides` are dotted flags, e.g. build(**{"security.mode": "aes128"}).
    """
    config = DeviceConfig.load(config_path) if config_path else DeviceConfig.default()
    if overrides:
        config = config.with_overrides(dict(overrides))
    return ReferenceDevice(config, faults=faults or (), clock=clock, variants=variants or ())
