"""A power-line channel model for the loopback: airtime, one shared medium, loss per carrier.

Numbers (lower-layers digest §5, §7(d)):
- raw bit rate 3.6 kbit/s in the A-band, 5.4 kbit/s in the C-band (PL 3120/3150/3170 data book
  pp. 4-5, READ); a 35-bit preamble (data book p. 237, READ);
- the FEC overhead factor is unknown: 1.25 is a placeholder (digest §5.1/§7(d), INFERRED), see
  ASM-DRV-01;
- acknowledged traffic retries on the secondary carrier, which the L2Hdr alt_path bit (0x40)
  selects (data book pp. 4-5 and digest §1.2, READ), so loss is drawn per carrier;
- optional burst noise as a two-state Gilbert-Elliott chain (digest §7(d), INFERRED).

Not modelled (see docs/drivers.md): the p-persistent CSMA slots, collisions, repeaters.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

from osgp.errors import ConfigError

ALT_PATH_BIT = 0x40  # L2Hdr bit 6: transmit on the secondary carrier (digest §1.2)


@dataclass(frozen=True)
class ChannelProfile:
    name: str
    bit_rate: float  # bit/s
    preamble_bits: int
    fec_factor: float  # coded bits per data bit


PROFILES: dict[str, ChannelProfile] = {
    "a-band": ChannelProfile("a-band", 3600.0, 35, 1.25),
    "c-band": ChannelProfile("c-band", 5400.0, 35, 1.25),
}


@dataclass(frozen=True)
class ChannelConfig:
    profile: ChannelProfile = PROFILES["a-band"]
    turnaround: float = 0.0  # device processing time added to each reply (s)
    loss: float = 0.0  # per-frame loss probability on the primary carrier
    loss_alt: float = 0.0  # ... and on the secondary carrier (alt_path = 1)
    burst_p: float = 0.0  # Gilbert-Elliott: P(good -> bad) per frame; 0 disables bursts
    burst_r: float = 0.5  # P(bad -> good) per frame
    burst_loss: float = 1.0  # loss probability while in the bad state (both carriers)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "loss_alt", "burst_p", "burst_r", "burst_loss"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"channel {name}={getattr(self, name)} is not a probability")
        if self.profile.bit_rate <= 0 or self.profile.fec_factor <= 0 or self.profile.preamble_bits < 0:
            raise ConfigError(f"channel profile {self.profile} has a non-positive rate or factor")
        if self.turnaround < 0:
            raise ConfigError(f"channel turnaround={self.turnaround} is negative")


@dataclass(frozen=True)
class Transmission:
    start: float
    end: float  # the receiver has the whole frame at `end`
    carrier: str  # "primary" | "secondary"
    lost: bool

    @property
    def note(self) -> str:
        return f"lost ({self.carrier} carrier)" if self.lost else ""


@dataclass
class ChannelStats:
    frames: int = 0
    lost: int = 0
    lost_primary: int = 0
    lost_secondary: int = 0
    airtime: float = 0.0  # modelled seconds of carrier occupation, lost frames included
    by_carrier: dict[str, int] = field(default_factory=lambda: {"primary": 0, "secondary": 0})


class Channel:
    """One half-duplex medium: frames queue behind each other and may be lost."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.stats = ChannelStats()
        self._busy_until = float("-inf")
        self._bad = False

    def airtime(self, length: int) -> float:
        """(preamble + 8·len·fec) / bit_rate, len = LPDU bytes including the CRC (digest §7(d))."""
        p = self.config.profile
        return (p.preamble_bits + 8 * length * p.fec_factor) / p.bit_rate

    def transmit(self, frame: bytes, ready: float) -> Transmission:
        """Put `frame` on the medium no earlier than `ready`; decide whether it survives."""
        start = max(ready, self._busy_until)
        end = start + self.airtime(len(frame))
        self._busy_until = end
        secondary = bool(frame) and bool(frame[0] & ALT_PATH_BIT)
        carrier = "secondary" if secondary else "primary"
        lost = self._draw_loss(self.config.loss_alt if secondary else self.config.loss)
        s = self.stats
        s.frames += 1
        s.airtime += end - start
        s.by_carrier[carrier] += 1
        if lost:
            s.lost += 1
            if secondary:
                s.lost_secondary += 1
            else:
                s.lost_primary += 1
        return Transmission(start, end, carrier, lost)

    def _draw_loss(self, p: float) -> bool:
        # A fixed number of draws per frame keeps one seed ⇒ one timeline whatever the outcomes.
        c = self.config
        if c.burst_p > 0:
            flip = self.rng.random()
            self._bad = flip >= c.burst_r if self._bad else flip < c.burst_p
            p = c.burst_loss if self._bad else p
        return self.rng.random() < p

    def describe(self) -> dict[str, str]:
        c = self.config
        d = {f"channel.{k}": str(v) for k, v in asdict(c.profile).items()}
        d.update({f"channel.{k}": str(getattr(c, k))
                  for k in ("turnaround", "loss", "loss_alt", "burst_p", "burst_r", "burst_loss", "seed")})
        s = self.stats
        d.update({"channel.frames": str(s.frames), "channel.lost": str(s.lost),
                  "channel.airtime_s": f"{s.airtime:.3f}"})
        return d
