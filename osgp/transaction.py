"""Sans-IO ISO/IEC 14908-1 transaction engine (transport and session layers), both roles.

* :class:`Requester` - the initiator (the tester): allocates a transaction ID, sends, retries on the
  transmit timer, matches the ACK or RESPONSE, and ends with an :class:`Outcome`.
* :class:`Responder` - the device role (the reference device): filters frames not addressed to the
  node, detects duplicates within the receive timer, and replays the saved ACK/RESPONSE.

Nothing here reads a clock or does I/O: every call takes ``now`` (seconds, from a ``Clock``) and returns
frames as :class:`osgp.lon.Lpdu`; ``next_deadline`` tells the driver loop when to call ``on_timeout``.

Behaviour follows shared/spec/lower-layers.md §2, itself READ from izot/lon-stack-dx ``lcs_tsa.c`` and
``lcs_tcs.c`` (the DX stack implements ISO/IEC 14908-1 sections 8 and 9). 14908-1 authentication
(challenge/reply) is not implemented: an ``auth`` request is delivered with ``Delivery.auth`` set.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from osgp.errors import ConfigError, OsgpError
from osgp.lon import (
    Address,
    AuthPdu,
    BroadcastAddress,
    GroupAckAddress,
    GroupAddress,
    Lpdu,
    NeuronIdAddress,
    PduFormat,
    Spdu,
    SpduType,
    SubnetNodeAddress,
    Tpdu,
    TpduType,
)

__all__ = [
    "DEFAULT_NON_GROUP_RECEIVE_TIMER_CODE",
    "DEFAULT_REPEAT_TIMER_CODE",
    "DEFAULT_RETRIES",
    "DEFAULT_TX_TIMER_CODE",
    "NEURON_ID_RECEIVE_TIMER",
    "Delivery",
    "Destination",
    "Duplicate",
    "GroupMembership",
    "Ignored",
    "Outcome",
    "Requester",
    "Responder",
    "Service",
    "TidAllocator",
    "ToBroadcast",
    "ToGroup",
    "ToNeuronId",
    "ToNode",
    "TransactionError",
    "decode_receive_timer",
    "decode_repeat_timer",
    "decode_tx_timer",
]


class TransactionError(OsgpError):
    """The engine was asked for something the protocol does not allow (e.g. answering an ACK)."""


class Service(StrEnum):
    ACKD = "acknowledged"
    UNACKD_RPT = "unacknowledged-repeated"
    REQUEST = "request/response"
    UNACKD = "unacknowledged"


# --------------------------------------------------------------------------------------------------
# Timers (lower-layers §2.2): 4-bit codes, base << (code // 2), times 1.5 for odd codes.

# Defaults are assumptions (osgp/assumptions.yaml ASM-LNK-03 for the sender, ASM-LNK-02 for the receive
# timer); PIXITs override them.
DEFAULT_TX_TIMER_CODE = 13  # 1536 ms: above a PL request/response round trip (lower-layers §5.1)
DEFAULT_REPEAT_TIMER_CODE = 10  # 512 ms: above the airtime of a long PL frame
DEFAULT_RETRIES = 3
DEFAULT_NON_GROUP_RECEIVE_TIMER_CODE = 12  # 8192 ms: longer than 4 tries at the default tx timer

# Receive timer for Neuron-ID addressed messages (NGTIMER_SPCL_VAL, lcs_custom.h).
NEURON_ID_RECEIVE_TIMER = 8.192

# Largest group member number (MAX_GROUP_NUMBER, lcs_tsa.c).
_MAX_MEMBER = 63


def _decode_timer(code: int, base_ms: int, what: str) -> float:
    if not isinstance(code, int) or not 0 <= code <= 15:
        raise ConfigError(f"14908-1 {what} code is 4 bits (0..15), got {code!r}")
    ms = base_ms << (code // 2)
    if code & 1:
        ms = ms * 3 // 2
    return ms / 1000.0


def decode_tx_timer(code: int) -> float:
    """Transmit timer in seconds: code 0 = 16 ms ... 15 = 3072 ms."""
    return _decode_timer(code, 16, "transmit timer")


def decode_repeat_timer(code: int) -> float:
    """Repeat timer (unacknowledged-repeated spacing) in seconds; same table as the transmit timer."""
    return _decode_timer(code, 16, "repeat timer")


def decode_receive_timer(code: int) -> float:
    """Receive timer (group or non-group) in seconds: code 0 = 128 ms ... 15 = 24576 ms."""
    return _decode_timer(code, 128, "receive timer")


# --------------------------------------------------------------------------------------------------
# Transaction IDs (lower-layers §2.3)


class TidAllocator:
    """Transaction IDs for one node: independent priority and non-priority spaces.

    The first ID after a reset is 0; then 1..space-1, wrapping to 1. If the next ID equals the last one
    used for the same destination, it is bumped by one so the receiver never mistakes the new message for
    a duplicate. History is kept until :meth:`reset` (the DX stack keeps it at least 24 s).
    ``space`` is 16 in legacy mode; the DX stack wraps at 16 in enhanced mode too (ASM-LNK-05).
    """

    def __init__(self, space: int = 16) -> None:
        if not 2 <= space <= 4096:
            raise ConfigError(f"transaction ID space must be 2..4096, got {space}")
        self.space = space
        self._next = {False: 0, True: 0}
        self._last: dict[tuple[bool, Hashable], int] = {}

    def _after(self, tid: int) -> int:
        return 1 if tid + 1 >= self.space else tid + 1

    def next(self, dest: Hashable, *, priority: bool = False) -> int:
        """Allocate the ID for a new transaction to ``dest`` (any hashable destination key)."""
        tid = self._next[priority]
        if self._last.get((priority, dest)) == tid:
            tid = self._after(tid)
        self._last[(priority, dest)] = tid
        self._next[priority] = self._after(tid)
        return tid

    def reset(self, *, keep_history: bool = False) -> None:
        """Node reset: IDs restart at 0. A software reset keeps the per-destination history."""
        self._next = {False: 0, True: 0}
        if not keep_history:
            self._last.clear()


# --------------------------------------------------------------------------------------------------
# Requester (initiator role)


@dataclass(frozen=True)
class ToNode:
    """Unicast (address format 2a)."""

    subnet: int
    node: int


@dataclass(frozen=True)
class ToGroup:
    """Multicast; ``size`` is the number of ACKs/responses expected (the group size, minus one when the
    sender is itself a member)."""

    group: int
    size: int


@dataclass(frozen=True)
class ToBroadcast:
    """Broadcast to ``subnet`` (0 = whole domain). ``backlog`` goes in the L2 header (DX default 15);
    a request completes after ``max_responses`` responses (DX: 1), an ACKD after the first ACK."""

    subnet: int = 0
    backlog: int = 15
    max_responses: int = 1


@dataclass(frozen=True)
class ToNeuronId:
    """Neuron-ID addressing; ``subnet`` only guides routers."""

    neuron_id: bytes
    subnet: int = 0


Destination = ToNode | ToGroup | ToBroadcast | ToNeuronId


@dataclass(frozen=True)
class Outcome:
    """How a transaction ended.

    ``attempts`` are the times the message went out (first transmission and each retry); ``replies`` the
    matching ACK or RESPONSE frames in arrival order.
    """

    completed: bool
    service: Service
    tid: int | None
    attempts: tuple[float, ...]
    replies: tuple[Lpdu, ...]
    finished_at: float
    reason: str

    @property
    def apdu(self) -> bytes | None:
        """The APDU of the first response (request/response service), else None."""
        for r in self.replies:
            if isinstance(r.pdu, Spdu):
                return r.apdu
        return None


@dataclass
class _Tx:
    dest: Destination
    service: Service
    priority: bool
    auth: bool
    tid: int
    apdu: bytes
    domain: bytes
    retries_left: int
    timer: float
    deadline: float
    expected: int
    attempts: list[float] = field(default_factory=list)
    replies: list[Lpdu] = field(default_factory=list)
    members: set[int] = field(default_factory=set)


class Requester:
    """Initiates one transaction at a time from ``subnet``/``node`` in ``domain``.

    ``alt_path_count``: a transmission goes on the alternate path (on PL, the secondary carrier) when at
    most this many retries remain after it, so the last ``alt_path_count + 1`` tries use it (DX
    ``ALT_PATH_COUNT`` 1; ASM-LNK-04). Unacknowledged-repeated copies never use the alternate path.
    ``version`` 0 (legacy, ASM-LNK-01) by default; 2 selects enhanced mode (12-bit TID field on the wire).
    """

    def __init__(self, subnet: int, node: int, domain: bytes, *, version: int = 0,
                 alt_path_count: int = 1, tids: TidAllocator | None = None) -> None:
        self.subnet = subnet
        self.node = node
        self.domain = bytes(domain)
        self.version = version
        self.alt_path_count = alt_path_count
        self.tids = tids if tids is not None else TidAllocator()
        self._tx: _Tx | None = None
        self._outcome: Outcome | None = None

    # -- public API ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._tx is not None

    @property
    def outcome(self) -> Outcome | None:
        """The outcome of the last finished transaction (None while one is running or none ran)."""
        return self._outcome

    @property
    def next_deadline(self) -> float | None:
        """When :meth:`on_timeout` must be called next; None when idle."""
        return self._tx.deadline if self._tx else None

    def start(self, dest: Destination, apdu: bytes, *, now: float, service: Service = Service.REQUEST,
              priority: bool = False, retries: int = DEFAULT_RETRIES,
              tx_timer_code: int = DEFAULT_TX_TIMER_CODE,
              repeat_timer_code: int = DEFAULT_REPEAT_TIMER_CODE,
              domain: bytes | None = None, auth: bool = False) -> list[Lpdu]:
        """Begin a transaction; returns the frames to send now.

        ``retries`` (0..15) is the number of retries, or copies minus one for unacknowledged-repeated.
        An unacknowledged message completes at once (its outcome is available immediately).
        """
        if self._tx is not None:
            raise TransactionError(
                f"transaction {self._tx.tid} to {self._tx.dest} is still running; wait for its outcome")
        if not 0 <= retries <= 15:
            raise ConfigError(f"14908-1 retry count is 4 bits (0..15), got {retries}")
        if isinstance(dest, ToGroup) and service in (Service.ACKD, Service.REQUEST) and not (
                1 <= dest.size <= _MAX_MEMBER + 1):
            raise ConfigError(f"group acknowledged/request service expects 1..64 answers, got {dest.size}")
        domain = self.domain if domain is None else bytes(domain)
        self._outcome = None
        if service is Service.UNACKD:
            # Delta backlog 0: nothing is expected back (ASM-LNK-06).
            frame = Lpdu(priority, False, 0, self.version, self._address(dest), domain, None, bytes(apdu))
            self._outcome = Outcome(True, service, None, (now,), (), now, "unacknowledged message sent")
            return [frame]
        timer = (decode_repeat_timer(repeat_timer_code) if service is Service.UNACKD_RPT
                 else decode_tx_timer(tx_timer_code))
        tid = self.tids.next(self._dest_key(dest, domain), priority=priority)
        expected = dest.size if isinstance(dest, ToGroup) else 1
        self._tx = _Tx(dest, service, priority, auth, tid, bytes(apdu), domain, retries, timer,
                       now + timer, expected)
        return self._transmit(self._tx, now, first=True)

    def on_timeout(self, now: float) -> list[Lpdu]:
        """Call at or after :attr:`next_deadline`: retries, or ends the transaction when none are left."""
        tx = self._tx
        if tx is None or now < tx.deadline:
            return []
        if tx.retries_left == 0:
            if tx.service is Service.UNACKD_RPT:
                self._finish(True, now, f"{len(tx.attempts)} unacknowledged-repeated copies sent")
            elif isinstance(tx.dest, ToBroadcast) and tx.replies:
                self._finish(True, now, f"{len(tx.replies)} broadcast answer(s) received")
            else:
                self._finish(False, now, self._failure_text(tx))
            return []
        tx.retries_left -= 1
        return self._transmit(tx, now, first=False)

    def abort(self, now: float, reason: str = "abandoned by the caller") -> Outcome | None:
        """End the running transaction without further tries (None when idle); it counts as failed."""
        if self._tx is None:
            return None
        return self._finish(False, now, f"{reason} after {len(self._tx.attempts)} attempt(s)")

    def on_frame(self, lpdu: Lpdu, now: float) -> Outcome | None:
        """Offer a received frame; returns the outcome when it completes the transaction.

        Only an ACK (acknowledged service) or RESPONSE (request service) with the transaction's ID and
        priority, in its domain, addressed to this node and coming from the destination counts.
        """
        tx = self._tx
        if tx is None or not self._matches(tx, lpdu):
            return None
        tx.replies.append(lpdu)
        if isinstance(lpdu.address, GroupAckAddress):
            tx.members.add(lpdu.address.member)
        answered = len(tx.members) if isinstance(tx.dest, ToGroup) else len(tx.replies)
        if isinstance(tx.dest, ToBroadcast) and tx.service is Service.REQUEST:
            needed = tx.dest.max_responses
        else:
            needed = tx.expected
        if answered >= needed:
            kind = "ACK" if tx.service is Service.ACKD else "response"
            return self._finish(True, now, f"{answered} {kind}(s) received after {len(tx.attempts)} "
                                           "attempt(s)")
        tx.deadline = now + tx.timer  # an answer from part of a group restarts the timer (lcs_tsa.c)
        return None

    # -- internals ---------------------------------------------------------------------------------

    def _finish(self, completed: bool, now: float, reason: str) -> Outcome:
        tx = self._tx
        assert tx is not None
        self._outcome = Outcome(completed, tx.service, tx.tid, tuple(tx.attempts), tuple(tx.replies), now,
                                reason)
        self._tx = None
        return self._outcome

    @staticmethod
    def _failure_text(tx: _Tx) -> str:
        kind = "ACK" if tx.service is Service.ACKD else "response"
        times = ", ".join(f"{t:.3f}" for t in tx.attempts)
        got = f" ({len(tx.members)} of {tx.expected} group members answered)" if tx.members else ""
        return f"no {kind} after {len(tx.attempts)} attempt(s) at t = {times} s{got}"

    def _address(self, dest: Destination) -> Address:
        s, n = self.subnet, self.node
        if isinstance(dest, ToNode):
            return SubnetNodeAddress(s, n, dest.subnet, dest.node)
        if isinstance(dest, ToGroup):
            return GroupAddress(s, n, dest.group)
        if isinstance(dest, ToBroadcast):
            return BroadcastAddress(s, n, dest.subnet)
        return NeuronIdAddress(s, n, dest.subnet, bytes(dest.neuron_id))

    @staticmethod
    def _dest_key(dest: Destination, domain: bytes) -> Hashable:
        if isinstance(dest, ToNode):
            return (domain, "node", dest.subnet, dest.node)
        if isinstance(dest, ToGroup):
            return (domain, "group", dest.group)
        if isinstance(dest, ToBroadcast):
            return (domain, "broadcast", dest.subnet)
        return (domain, "neuron-id", bytes(dest.neuron_id))

    def _pdu(self, tx: _Tx, ptype: int, m_list: bytes = b"") -> Tpdu | Spdu:
        if tx.service is Service.REQUEST:
            return Spdu(tx.auth, SpduType(ptype), tx.tid, m_list)
        return Tpdu(tx.auth, TpduType(ptype), tx.tid, m_list)

    def _backlog(self, tx: _Tx, first: bool) -> int:
        # Delta backlog per lower-layers §2.2 (SendNewMsg / XmitTimerExpiration).
        if tx.service is Service.UNACKD_RPT:
            return min(tx.retries_left, 63) if first else 0
        if isinstance(tx.dest, ToBroadcast):
            return min(tx.dest.backlog, 63)
        if isinstance(tx.dest, ToGroup):
            return min(tx.expected - len(tx.members), 63)
        return 1

    def _transmit(self, tx: _Tx, now: float, *, first: bool) -> list[Lpdu]:
        alt = tx.service is not Service.UNACKD_RPT and tx.retries_left <= self.alt_path_count
        base = Lpdu(tx.priority, alt, self._backlog(tx, first), self.version, self._address(tx.dest),
                    tx.domain, None, tx.apdu)
        plain_type = {Service.ACKD: TpduType.ACKD, Service.UNACKD_RPT: TpduType.UNACKD_RPT,
                      Service.REQUEST: SpduType.REQUEST}[tx.service]
        frames = [replace(base, pdu=self._pdu(tx, plain_type))]
        if not first and isinstance(tx.dest, ToGroup) and tx.service is not Service.UNACKD_RPT:
            # Group retry: M_List bit i set = member i has answered (LSB first), cut after the highest
            # answering member. Up to 2 bytes ride in a REM/MSG; longer lists go in a REMINDER followed by
            # the plain message (lcs_tsa.c XmitTimerExpiration).
            length = max(tx.members) // 8 + 1 if tx.members else 0
            bits = bytearray(length)
            for m in tx.members:
                bits[m // 8] |= 1 << (m % 8)
            if length <= 2:
                frames = [replace(base, pdu=self._pdu(tx, TpduType.REM_MSG, bytes(bits)))]
            else:
                reminder = replace(base, delta_backlog=0, apdu=b"",
                                   pdu=self._pdu(tx, TpduType.REMINDER, bytes(bits)))
                frames = [reminder, *frames]
        tx.attempts.append(now)
        tx.deadline = now + tx.timer
        return frames

    def _matches(self, tx: _Tx, lpdu: Lpdu) -> bool:
        pdu = lpdu.pdu
        if tx.service is Service.ACKD:
            ok_type = isinstance(pdu, Tpdu) and pdu.type == TpduType.ACK
        elif tx.service is Service.REQUEST:
            ok_type = isinstance(pdu, Spdu) and pdu.type == SpduType.RESPONSE
        else:
            return False  # unacknowledged-repeated expects nothing back
        if not ok_type or pdu.tid != tx.tid or lpdu.priority != tx.priority or lpdu.domain != tx.domain:
            return False
        a, dest = lpdu.address, tx.dest
        if not isinstance(a, SubnetNodeAddress | GroupAckAddress):
            return False
        if (a.dst_subnet, a.dst_node) != (self.subnet, self.node):
            return False
        if isinstance(dest, ToGroup):
            return (isinstance(a, GroupAckAddress) and a.group == dest.group and a.member <= _MAX_MEMBER
                    and a.member not in tx.members)
        if not isinstance(a, SubnetNodeAddress):
            return False
        if isinstance(dest, ToNode):
            return (a.src_subnet, a.src_node) == (dest.subnet, dest.node)
        if isinstance(dest, ToBroadcast) and tx.service is Service.ACKD:
            # An unconfigured node may answer from subnet 0 (lcs_tsa.c TPReceiveAck).
            return dest.subnet == 0 or a.src_subnet in (0, dest.subnet)
        return True  # Neuron-ID, or responses to a broadcast: any source


# --------------------------------------------------------------------------------------------------
# Responder (device role)


@dataclass(frozen=True)
class GroupMembership:
    """This node is ``member`` (0..63) of ``group``; multicast receive records live for the group's
    receive timer."""

    group: int
    member: int
    receive_timer_code: int = DEFAULT_NON_GROUP_RECEIVE_TIMER_CODE


@dataclass(frozen=True)
class Delivery:
    """A new message for the application. Answer a REQUEST with :meth:`Responder.respond`, an ACKD with
    :meth:`Responder.ack`; the other services expect no answer."""

    request: Lpdu
    service: Service
    tid: int | None
    apdu: bytes
    auth: bool  # the sender asked for 14908-1 authentication (not performed by this engine)

    @property
    def priority(self) -> bool:
        return self.request.priority


@dataclass(frozen=True)
class Duplicate:
    """A repeat of a message already delivered: send ``reply`` (if any) again, do not deliver."""

    request: Lpdu
    reply: Lpdu | None


@dataclass(frozen=True)
class Ignored:
    """A frame this node does not act on, and why."""

    request: Lpdu
    reason: str


@dataclass
class _Record:
    layer: PduFormat
    service: Service
    tid: int
    apdu: bytes
    expires: float
    alt_path: bool
    reply: Lpdu | None = None
    done: bool = False  # a reminder told us the sender has our answer


_NEW = {(PduFormat.TPDU, TpduType.ACKD): Service.ACKD,
        (PduFormat.TPDU, TpduType.UNACKD_RPT): Service.UNACKD_RPT,
        (PduFormat.SPDU, SpduType.REQUEST): Service.REQUEST}
_REMINDERS = (TpduType.REMINDER, TpduType.REM_MSG)  # same codes (4, 5) in TPDU and SPDU


class Responder:
    """The receiving side of one node at ``subnet``/``node`` in ``domain``.

    Accepts broadcasts to the whole domain or its subnet, multicasts to its groups, unicasts to it, and
    Neuron-ID messages to ``neuron_id`` in any domain (answered from 0/0 when the domain is not ours, as
    the DX stack does for a "flex domain"). Receive records are keyed by source and priority and live for
    the receive timer counted from the first copy (lower-layers §2.4).
    """

    def __init__(self, subnet: int, node: int, domain: bytes, *, neuron_id: bytes | None = None,
                 groups: Iterable[GroupMembership] = (),
                 non_group_receive_timer_code: int = DEFAULT_NON_GROUP_RECEIVE_TIMER_CODE) -> None:
        self.subnet = subnet
        self.node = node
        self.domain = bytes(domain)
        self.neuron_id = bytes(neuron_id) if neuron_id is not None else None
        self.groups = {g.group: g for g in groups}
        for g in self.groups.values():
            if not 0 <= g.member <= _MAX_MEMBER:
                raise ConfigError(f"group {g.group}: member number must be 0..{_MAX_MEMBER}, got {g.member}")
        self.non_group_receive_timer = decode_receive_timer(non_group_receive_timer_code)
        self._group_timers = {g: decode_receive_timer(m.receive_timer_code) for g, m in self.groups.items()}
        self._records: dict[tuple, _Record] = {}

    # -- public API ------------------------------------------------------------------------------

    def on_frame(self, lpdu: Lpdu, now: float) -> Delivery | Duplicate | Ignored:
        """Classify a received frame: new message, duplicate (with the reply to resend), or ignored."""
        self._purge(now)
        reason = self._not_for_us(lpdu)
        if reason:
            return Ignored(lpdu, reason)
        pdu = lpdu.pdu
        if pdu is None:
            return Delivery(lpdu, Service.UNACKD, None, lpdu.apdu, False)
        if isinstance(pdu, AuthPdu):
            return Ignored(lpdu, "14908-1 authentication PDUs are not handled by this engine")
        fmt = lpdu.pdu_format
        service = _NEW.get((fmt, pdu.type))
        if service is not None:
            return self._receive(lpdu, pdu, service, now)
        if pdu.type in _REMINDERS:
            return self._reminder(lpdu, pdu, now)
        if (fmt, pdu.type) in ((PduFormat.TPDU, TpduType.ACK), (PduFormat.SPDU, SpduType.RESPONSE)):
            kind = "ACK" if fmt == PduFormat.TPDU else "RESPONSE"
            return Ignored(lpdu, f"{fmt.name} {kind} is an answer, and this node awaits none")
        return Ignored(lpdu, f"reserved {fmt.name} type {int(pdu.type)}")

    def respond(self, delivery: Delivery, apdu: bytes, now: float) -> Lpdu:
        """The SPDU RESPONSE to a delivered request; it is saved and replayed for duplicates."""
        if delivery.service is not Service.REQUEST:
            raise TransactionError(f"only a request gets a response; this message used the "
                                   f"{delivery.service} service")
        return self._answer(delivery, Spdu(False, SpduType.RESPONSE, delivery.tid), bytes(apdu), now)

    def ack(self, delivery: Delivery, now: float) -> Lpdu:
        """The TPDU ACK to a delivered acknowledged message; saved and replayed for duplicates."""
        if delivery.service is not Service.ACKD:
            raise TransactionError(f"only an acknowledged message gets an ACK; this message used the "
                                   f"{delivery.service} service")
        return self._answer(delivery, Tpdu(False, TpduType.ACK, delivery.tid), b"", now)

    # -- filtering ---------------------------------------------------------------------------------

    def _not_for_us(self, lpdu: Lpdu) -> str | None:
        if lpdu.version not in (0, 2):
            return f"NPDU version {lpdu.version} is not handled (0 legacy, 2 enhanced)"
        a = lpdu.address
        if isinstance(a, NeuronIdAddress):  # received in any domain
            if self.neuron_id is None or a.neuron_id != self.neuron_id:
                return f"addressed to Neuron ID {a.neuron_id.hex().upper()}, not this node"
            return None
        if lpdu.domain != self.domain:
            return f"domain {lpdu.domain.hex().upper() or '(empty)'} is not this node's domain"
        if (a.src_subnet, a.src_node) == (self.subnet, self.node):
            return "sent by this node's own address"
        if isinstance(a, BroadcastAddress):
            if a.dst_subnet not in (0, self.subnet):
                return f"broadcast to subnet {a.dst_subnet}, this node is in subnet {self.subnet}"
            return None
        if isinstance(a, GroupAddress):
            return None if a.group in self.groups else f"this node is not a member of group {a.group}"
        if (a.dst_subnet, a.dst_node) != (self.subnet, self.node):
            return (f"addressed to {a.dst_subnet}/{a.dst_node}, this node is {self.subnet}/{self.node}")
        if isinstance(a, GroupAckAddress) and a.group not in self.groups:
            return f"2b answer for group {a.group}, of which this node is not a member"
        return None

    # -- receive records -----------------------------------------------------------------------------

    def _purge(self, now: float) -> None:
        for key in [k for k, r in self._records.items() if r.expires <= now]:
            del self._records[key]

    @staticmethod
    def _key(lpdu: Lpdu) -> tuple:
        a = lpdu.address
        extra = None
        if isinstance(a, BroadcastAddress):
            extra = ("broadcast", a.dst_subnet)
        elif isinstance(a, GroupAddress):
            extra = ("group", a.group)
        elif isinstance(a, NeuronIdAddress):
            extra = ("neuron-id",)
        return (lpdu.priority, lpdu.domain, a.src_subnet, a.src_node, extra)

    def _receive_timer(self, lpdu: Lpdu) -> float:
        a = lpdu.address
        if isinstance(a, NeuronIdAddress):
            return NEURON_ID_RECEIVE_TIMER
        if isinstance(a, GroupAddress):
            return self._group_timers[a.group]
        return self.non_group_receive_timer

    def _replay(self, rec: _Record) -> Lpdu | None:
        if rec.reply is None or rec.done:
            return None
        return replace(rec.reply, alt_path=rec.alt_path)

    def _new_record(self, lpdu: Lpdu, pdu: Tpdu | Spdu, service: Service, now: float) -> Delivery:
        self._records[self._key(lpdu)] = _Record(lpdu.pdu_format, service, pdu.tid, lpdu.apdu,
                                                 now + self._receive_timer(lpdu), lpdu.alt_path)
        return Delivery(lpdu, service, pdu.tid, lpdu.apdu, pdu.auth)

    def _receive(self, lpdu: Lpdu, pdu: Tpdu | Spdu, service: Service,
                 now: float) -> Delivery | Duplicate:
        rec = self._records.get(self._key(lpdu))
        # New unless transaction ID, layer and APDU (length and bytes) all match (lcs_tsa.c ReceiveNewMsg).
        if rec and (rec.tid, rec.layer, rec.apdu) == (pdu.tid, lpdu.pdu_format, lpdu.apdu):
            rec.alt_path |= lpdu.alt_path  # answers follow the path the sender last used
            return Duplicate(lpdu, self._replay(rec))
        return self._new_record(lpdu, pdu, service, now)

    def _reminder(self, lpdu: Lpdu, pdu: Tpdu | Spdu, now: float) -> Delivery | Duplicate | Ignored:
        # Multicast retries (lcs_tsa.c ReceiveRem): M_List bit i set = member i has already answered.
        is_msg = pdu.type == TpduType.REM_MSG
        rec = self._records.get(self._key(lpdu))
        same = (rec is not None and isinstance(lpdu.address, GroupAddress) and rec.tid == pdu.tid
                and rec.layer == lpdu.pdu_format and rec.service is not Service.UNACKD_RPT
                and (not is_msg or rec.apdu == lpdu.apdu))
        if not same:
            if not is_msg:
                return Ignored(lpdu, "REMINDER without a matching earlier multicast message")
            service = Service.ACKD if lpdu.pdu_format == PduFormat.TPDU else Service.REQUEST
            return self._new_record(lpdu, pdu, service, now)
        assert rec is not None
        member = self.groups[lpdu.address.group].member
        index, bit = divmod(member, 8)
        if index < len(pdu.m_list) and pdu.m_list[index] >> bit & 1:
            rec.done = True
            return Ignored(lpdu, f"reminder lists member {member} as answered")
        if not is_msg:
            return Ignored(lpdu, "REMINDER: our answer is missing; the message itself follows")
        rec.alt_path |= lpdu.alt_path
        return Duplicate(lpdu, self._replay(rec))

    # -- answers -----------------------------------------------------------------------------------------

    def _answer(self, delivery: Delivery, pdu: Tpdu | Spdu, apdu: bytes, now: float) -> Lpdu:
        self._purge(now)
        req = delivery.request
        a = req.address
        # Outside our domain (Neuron-ID addressing) the answer comes from 0/0 (DX flex-domain rule).
        src = (self.subnet, self.node) if req.domain == self.domain else (0, 0)
        if isinstance(a, GroupAddress):
            address: Address = GroupAckAddress(*src, a.src_subnet, a.src_node, a.group,
                                               self.groups[a.group].member)
        else:
            address = SubnetNodeAddress(*src, a.src_subnet, a.src_node)
        rec = self._records.get(self._key(req))
        current = rec is not None and (rec.tid, rec.apdu) == (delivery.tid, delivery.apdu)
        alt = rec.alt_path if current else req.alt_path
        frame = Lpdu(req.priority, alt, 0, req.version, address, req.domain, pdu, apdu)
        if current:
            rec.reply = frame
        return frame
