"""One conversation with the device under test, as test cases and use cases see it.

The session is the only door from a test case to the DUT (DESIGN.md §2): it encodes the OSGP
request (``osgp.app``), protects it (``osgp.security``), carries it in a 14908-1 request/response
transaction (``osgp.transaction`` + ``osgp.lon``) over a driver, and checks and decodes the answer.
Every exchange is recorded as an :class:`Exchange` (time, request, protected bytes, frames both ways,
decoded response, error) and handed to the listeners registered with :meth:`Session.on_exchange`, which
is how the framework attaches evidence to test steps.

What the session does on its own, and what it leaves to test cases:

* Sequence numbers: it uses ``last + 1`` and, by default, resynchronises once on a 0x0C answer by
  adopting the number the DUT sent (MEP-DG Example 1). Tests of the sequence rules pass ``seq=`` and
  ``resync=False`` and see the raw 0x0C.
* Procedures: :meth:`procedure` writes BT07 (full write, C12.19) and reads BT08; the PSN advances by one
  per call unless given.
* Nothing is judged here. A response that does not authenticate raises :class:`ResponseNotAuthentic`,
  one that does not decode :class:`MalformedResponse` (both :class:`osgp.errors.DutProtocolError`: FAIL
  if a test case lets them escape; the evidence is kept); a silent DUT raises ``DeviceTimeout``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from osgp import lon
from osgp.app import (
    FullRead,
    FullWrite,
    PartialRead,
    PartialWrite,
    Request,
    Response,
    ResponseCode,
    bt,
    decode_request,
    decode_response,
    encode_request,
    table_name,
    unwrap_apdu,
    wrap_apdu,
)
from osgp.capabilities import Capability, capabilities_of
from osgp.clock import Clock, VirtualClock
from osgp.errors import DecodeError, DeviceTimeout, DutProtocolError, NotJudged, SecurityError, WaitBudgetExceeded
from osgp.frames import FrameEvent
from osgp.security import SecurityProfile, SentRequest
from osgp.tables import ProcedureResponse, decode_procedure_response, encode_procedure_initiate
from osgp.transaction import (
    DEFAULT_RETRIES,
    DEFAULT_TX_TIMER_CODE,
    Destination,
    Outcome,
    Requester,
    Service,
    TidAllocator,
    decode_tx_timer,
)

_SEQ_MOD = 1 << 32
# A DUT that keeps talking cannot keep the session busy for ever within one exchange.
_MAX_FRAMES_PER_EXCHANGE = 256


class ResponseNotAuthentic(DutProtocolError, SecurityError):
    """The DUT's answer did not verify under the session's security profile."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(message)
        self.exchange = exchange


class MalformedResponse(DutProtocolError, DecodeError):
    """The DUT's answer authenticated but does not decode as a response to the request."""

    def __init__(self, cause: DecodeError, exchange: Exchange) -> None:
        DecodeError.__init__(self, cause.layer, cause.field, cause.offset, cause.detail)
        self.exchange = exchange


@dataclass(frozen=True)
class SessionConfig:
    """How to reach and talk to the DUT (from the test plan's address, security and PIXIT)."""

    domain: bytes
    tester_subnet: int
    tester_node: int
    dut: Destination
    profile: SecurityProfile
    apdu_prefix: bytes = b""  # ASM-APP-01
    retries: int = DEFAULT_RETRIES
    tx_timer_code: int = DEFAULT_TX_TIMER_CODE
    priority: bool = False
    initial_seq: int | None = None  # None: start from 0 and learn the DUT's number from its 0x0C

    def exchange_bound(self) -> float:
        """The longest a 14908-1 request/response transaction can take: every try's transmit timer."""
        return (self.retries + 1) * decode_tx_timer(self.tx_timer_code)


@dataclass
class Exchange:
    """The evidence of one OSGP request: what went out, what came back, and when."""

    n: int
    started: float
    request: Request | None
    message: bytes
    seq: int | None
    pdu: bytes
    encrypted: bool = False
    finished: float | None = None
    outcome: Outcome | None = None
    response_pdu: bytes | None = None
    response: Response | None = None
    error: str | None = None
    frames: list[FrameEvent] = field(default_factory=list)  # as the driver's tap saw them

    def summary(self) -> str:
        what = _describe_request(self.request, self.message)
        seq = f" seq {self.seq}" if self.seq is not None else ""
        got = self.response.describe() if self.response is not None else (self.error or "no response")
        return f"{what}{seq} -> {got}"


@dataclass(frozen=True)
class ProcedureOutcome:
    """A procedure call: the BT07 write, the BT08 read and its decoded content."""

    number: int
    psn: int
    write: Response
    read: Response | None
    result: ProcedureResponse | None

    @property
    def accepted(self) -> bool:
        return self.write.code == ResponseCode.OK

    @property
    def echoed(self) -> bool:
        """BT08 names the procedure and PSN we wrote (otherwise it holds someone else's result)."""
        return self.result is not None and self.result.number == self.number and self.result.psn == self.psn


def _describe_request(req: Request | None, message: bytes) -> str:
    if isinstance(req, FullRead):
        return f"read {table_name(req.table_id)}"
    if isinstance(req, PartialRead):
        return f"read {table_name(req.table_id)}[{req.offset}:+{req.count}]"
    if isinstance(req, FullWrite):
        return f"write {table_name(req.table_id)} ({len(req.data)} bytes)"
    if isinstance(req, PartialWrite):
        return f"write {table_name(req.table_id)}[{req.offset}:+{len(req.data)}]"
    return f"message {message[:8].hex(' ')}{'…' if len(message) > 8 else ''}"


class Session:
    """A conversation with one DUT over one driver (see the module docstring)."""

    def __init__(self, driver, config: SessionConfig, *, clock: Clock | None = None,
                 tids: TidAllocator | None = None, wait_budget: float | None = None) -> None:
        self.driver = driver
        self.config = config
        self.clock: Clock = clock if clock is not None else driver.clock
        # Share `tids` across the sessions of a campaign: the DUT's duplicate detection outlives a test
        # case, and a fresh allocator would start every case at TID 0 again.
        self.requester = Requester(config.tester_subnet, config.tester_node, config.domain, tids=tids)
        self.seq: int | None = None if config.initial_seq is None else (config.initial_seq - 1) % _SEQ_MOD
        self.psn: int | None = None  # last PSN this session wrote; None: learn it from BT08 first
        # Real seconds of DUT time this session may wait for (None: no limit). A virtual clock waits for free.
        self.wait_budget = wait_budget
        self.waited = 0.0
        self.exchanges: list[Exchange] = []
        self.observations: list[str] = []
        self._listeners: list[Callable[[Exchange], None]] = []
        self._current: Exchange | None = None
        driver.add_tap(self._on_frame_event)

    def close(self) -> None:
        """End the conversation: the driver stops feeding this session (and keeping its evidence alive)."""
        self.driver.remove_tap(self._on_frame_event)
        self._listeners.clear()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- evidence ---------------------------------------------------------------------------

    def on_exchange(self, fn: Callable[[Exchange], None]) -> None:
        """``fn`` is called with every finished exchange (also failed ones)."""
        self._listeners.append(fn)

    def observe(self, text: str) -> None:
        self.observations.append(text)

    def _on_frame_event(self, event: FrameEvent) -> None:
        if self._current is not None:
            self._current.frames.append(event)

    def _publish(self, ex: Exchange) -> None:
        ex.finished = self.clock.now()
        self._current = None
        self.exchanges.append(ex)
        for fn in self._listeners:
            fn(ex)

    @property
    def can_power_cycle(self) -> bool:
        return Capability.POWER_CYCLE in capabilities_of(self.driver)

    def power_cycle(self, outage_s: float = 1.0) -> None:
        """Switch the DUT off and on (a harness capability: the loopback has it, real benches need a
        driver that switches the supply). Raises TransportError where the driver cannot."""
        self.observe(f"power cycle of the DUT, {outage_s:g} s outage")
        self.driver.power_cycle(outage_s)

    def wait(self, seconds: float, why: str) -> None:
        """Let DUT time pass (a PED activation time, a load-profile interval end). On the loopback's
        virtual clock this is instant; on a real DUT it is a real wait, and one that would take the
        session past its ``wait_budget`` raises :class:`WaitBudgetExceeded` (INCONC) instead."""
        seconds = max(float(seconds), 0.0)
        real = not isinstance(self.clock, VirtualClock)
        if real and self.wait_budget is not None and self.waited + seconds > self.wait_budget:
            raise WaitBudgetExceeded(
                f"not judged: this case needs {self.waited + seconds:.0f} s of real DUT time ({why}), more than "
                f"the campaign allows ({self.wait_budget:.0f} s: 80 % of pixit.test_timeout_s)")
        self.waited += seconds
        self.observe(f"waited {seconds:g} s: {why}")
        self.clock.sleep(seconds)

    # ---- table services -----------------------------------------------------------------------

    def read(self, table_id: int, **kw) -> Response:
        return self.request(FullRead(table_id), **kw)

    def read_partial(self, table_id: int, offset: int, count: int, **kw) -> Response:
        return self.request(PartialRead(table_id, offset, count), **kw)

    def write(self, table_id: int, data: bytes, count: int | None = None, **kw) -> Response:
        return self.request(FullWrite(table_id, bytes(data), count), **kw)

    def write_partial(self, table_id: int, offset: int, data: bytes, count: int | None = None,
                      **kw) -> Response:
        return self.request(PartialWrite(table_id, offset, bytes(data), count), **kw)

    def request(self, req: Request, **kw) -> Response:
        return self.send_message(encode_request(req), request=req, **kw)

    def procedure(self, number: int, params: bytes = b"", *, psn: int | None = None, selector: int = 0,
                  **kw) -> ProcedureOutcome:
        """Run a procedure: full write of BT07, then read BT08 (tables digest §5.1-5.2)."""
        if psn is None:
            psn = self.next_psn(**kw)
        self.psn = psn
        write = self.write(bt(7), encode_procedure_initiate(number, psn, params, selector), **kw)
        if write.code != ResponseCode.OK:
            return ProcedureOutcome(number, psn, write, None, None)
        read = self.read(bt(8), **kw)
        result = None
        if read.code == ResponseCode.OK:
            try:
                result = decode_procedure_response(read.data)
            except DecodeError as e:
                self.observe(f"BT08 after procedure {number} PSN {psn} does not decode: {e}")
        return ProcedureOutcome(number, psn, write, read, result)

    def next_psn(self, **kw) -> int:
        """The PSN of the next procedure: one after the last one this session wrote, or after BT08's."""
        return (self._last_psn(**kw) + 1) % 256

    def _last_psn(self, **kw) -> int:
        """The PSN to follow: ours, or the one in BT08 (the DUT refuses a BT07 write that repeats the last
        PSN it saw, whoever wrote it, so a new session must not start blindly at 1)."""
        if self.psn is None:
            self.psn = 0
            r = self.read(bt(8), **kw)
            if r.code == ResponseCode.OK:
                try:
                    self.psn = decode_procedure_response(r.data).psn
                except DecodeError:
                    pass
        return self.psn

    # ---- the OSGP exchange ----------------------------------------------------------------------

    def next_seq(self) -> int:
        return 0 if self.seq is None else (self.seq + 1) % _SEQ_MOD

    def send_message(
        self,
        message: bytes,
        *,
        request: Request | None = None,
        seq: int | None = None,
        resync: bool | None = None,
        key_index: int = 0,
        key=None,
        encrypt: bool | None = None,
        digest_override: bytes | None = None,
        tamper: Callable[[bytes], bytes] | None = None,
        profile: SecurityProfile | None = None,
    ) -> Response:
        """Protect ``message`` and exchange it; returns the decoded, authenticated response.

        ``seq`` None uses the next number and (unless ``resync=False``) retries once with the DUT's
        number after a 0x0C. ``key``/``key_index``/``encrypt``/``digest_override``/``tamper``/``profile``
        build deliberately wrong requests for negative tests; ``tamper`` edits the protected PDU.
        """
        if resync is None:
            resync = seq is None
        chosen = self.next_seq() if seq is None else seq % _SEQ_MOD
        profile = profile or self.config.profile
        sent = profile.protect_request(message, chosen, key_index=key_index, key=key, encrypt=encrypt,
                                       digest_override=digest_override)
        pdu = sent.pdu if tamper is None else tamper(sent.pdu)
        response = self.send_pdu(pdu, sent, request=request, profile=profile)
        if seq is None:
            self.seq = chosen
        if resync and response.code == ResponseCode.INVALID_SEQUENCE and response.expected_seq is not None:
            self.seq = response.expected_seq
            return self.send_message(message, request=request, resync=False, key_index=key_index, key=key,
                                     encrypt=encrypt, digest_override=digest_override, tamper=tamper,
                                     profile=profile)
        return response

    def send_pdu(self, pdu: bytes, sent: SentRequest, *, request: Request | None = None,
                 profile: SecurityProfile | None = None) -> Response:
        """Exchange an already protected PDU (e.g. an exact replay of ``exchange.pdu``)."""
        profile = profile or self.config.profile
        req = request
        if req is None:
            try:
                req = decode_request(sent.message)
            except DecodeError:
                req = None
        ex = Exchange(len(self.exchanges) + 1, self.clock.now(), req, sent.message, sent.seq, bytes(pdu),
                      sent.encrypted)
        self._current = ex
        try:
            outcome = self._transact(wrap_apdu(bytes(pdu), self.config.apdu_prefix))
            ex.outcome = outcome
            if not outcome.completed or outcome.apdu is None:
                ex.error = f"no response: {outcome.reason}"
                raise DeviceTimeout(f"{_describe_request(req, sent.message)}: the DUT did not answer "
                                    f"({outcome.reason})")
            ex.response_pdu = unwrap_apdu(outcome.apdu, self.config.apdu_prefix)
            try:
                plain = profile.open_response(sent, ex.response_pdu)
            except SecurityError as e:
                ex.error = f"response not authentic: {e}"
                raise ResponseNotAuthentic(f"{_describe_request(req, sent.message)}: {e}", ex) from e
            if req is None:
                ex.response = Response(plain[0] if plain else -1, plain[1:])
            else:
                try:
                    ex.response = decode_response(plain, req)
                except DecodeError as e:
                    ex.error = f"response malformed: {e}"
                    raise MalformedResponse(e, ex) from e
            return ex.response
        finally:
            self._publish(ex)

    # ---- 14908-1 transport -----------------------------------------------------------------------

    def _send(self, frames: Iterable[lon.Lpdu]) -> None:
        for f in frames:
            self.driver.send(lon.encode(f))

    def _transact(self, apdu: bytes) -> Outcome:
        cfg = self.config
        now = self.clock.now()
        self._send(self.requester.start(cfg.dut, apdu, now=now, service=Service.REQUEST,
                                        priority=cfg.priority, retries=cfg.retries,
                                        tx_timer_code=cfg.tx_timer_code))
        frames = 0
        while self.requester.busy:
            deadline = self.requester.next_deadline
            raw = self.driver.receive(deadline)
            now = self.clock.now()
            if raw is None:
                self._send(self.requester.on_timeout(max(now, deadline)))
                continue
            frames += 1
            if frames > _MAX_FRAMES_PER_EXCHANGE:
                self.observe(f"more than {_MAX_FRAMES_PER_EXCHANGE} frames during one exchange; giving up")
                break
            try:
                lpdu = lon.decode(raw)
            except DecodeError as e:
                self.observe(f"dropped an undecodable frame from the DUT: {e}")
                continue
            if self.requester.on_frame(lpdu, now) is None and self.requester.busy:
                self.observe(f"frame not matching the open transaction: {lpdu.summary()}")
        outcome = self.requester.outcome
        if outcome is None:  # gave up above: end the transaction on our side
            outcome = self.requester.abort(self.clock.now(), "the DUT flooded the exchange")
        return outcome

    # ---- link-level access for 14908-1 test cases -------------------------------------------------

    def send_frames(self, frames: Iterable[bytes], listen: float) -> list[bytes]:
        """Send raw frames (already encoded, CRC included or deliberately wrong) and collect every
        frame received for ``listen`` seconds. For link-layer test cases only."""
        frames = [bytes(f) for f in frames]
        invalid = [f for f in frames if len(f) < 8 or lon.crc16(f[:-2]) != int.from_bytes(f[-2:], "big")]
        if invalid and Capability.INVALID_FRAMES not in capabilities_of(self.driver):
            raise NotJudged(f"not judged: {type(self.driver).__name__} cannot put a frame with a wrong CRC or "
                            f"truncated on the medium (its network interface frames and checks it itself): "
                            f"{invalid[0].hex(' ')}")
        ex = Exchange(len(self.exchanges) + 1, self.clock.now(), None, b"", None, b"")
        self._current = ex
        received: list[bytes] = []
        try:
            for f in frames:
                self.driver.send(bytes(f))
            deadline = self.clock.now() + listen
            while len(received) < _MAX_FRAMES_PER_EXCHANGE:
                raw = self.driver.receive(deadline)
                if raw is None:
                    break
                received.append(raw)
            ex.error = f"{len(received)} frame(s) received in {listen:g} s"
            return received
        finally:
            self._publish(ex)

    def request_frame(self, message_pdu: bytes, *, tid: int, dest: Destination | None = None,
                      alt_path: bool = False) -> bytes:
        """An encoded 14908-1 REQUEST carrying ``message_pdu`` with a chosen TID (for duplicate tests)."""
        cfg = self.config
        dest = dest or cfg.dut
        addr = self.requester._address(dest)  # noqa: SLF001 - same addressing as real transactions
        lpdu = lon.Lpdu(cfg.priority, alt_path, 1, 0, addr, cfg.domain,
                        lon.Spdu(False, lon.SpduType.REQUEST, tid),
                        wrap_apdu(bytes(message_pdu), cfg.apdu_prefix))
        return lon.encode(lpdu)

    def protect(self, req: Request, seq: int | None = None) -> SentRequest:
        """Protect a request without sending it (the caller sends it with :meth:`send_pdu` or inside
        a hand-made frame); consumes a sequence number when ``seq`` is None."""
        if seq is None:
            seq = self.next_seq()
            self.seq = seq
        return self.config.profile.protect_request(encode_request(req), seq)
