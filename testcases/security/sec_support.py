"""Helpers shared by the SECURITY test modules (not a test module: nothing here is collected).

They only use the session API: a probe request to learn the DUT's sequence number, a way to send a
request and keep the evidence when the answer does not authenticate, and a harmless writable table
(ET03 utility serial number, MEP-DG p.53-55, write: MAK) to see whether a refused write landed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from osgp.app import FullRead, Response, ResponseCode, bt, et, table_name
from osgp.digest import osgp_digest
from osgp.errors import DecodeError
from osgp.secret import Secret
from osgp.security import AUTH_FAILURE, UnencryptedResponse
from osgp.session import Exchange, ResponseNotAuthentic
from osgp.tables import Dimensions, schema

MOD = 1 << 32
PROBE = FullRead(bt(1))  # BT01: mandatory, short and static, so any answer to it is easy to judge
STATE_TABLE = et(3)  # ET03: a harmless writable table; its utility serial number shows a landed write
SERIAL_LEN = 30  # ET03.0 utility serial number, CHAR(30)


def unauthentic_reason(e: ResponseNotAuthentic) -> str:
    pdu = e.exchange.response_pdu or b""
    shown = pdu[:16].hex(" ") + (" …" if len(pdu) > 16 else "")
    if isinstance(e.__cause__, UnencryptedResponse):
        return (f"the answer to an RC4-encrypted request came back in plaintext ({shown}) (REQ-SEC-017: an "
                "encrypted request is answered encrypted; rests on ASM-SEC-03, ASM-SEC-06)")
    return (f"the answer ({shown}) does not authenticate against the request it answers: {e} (REQ-SEC-003: the "
            "response digest covers request || response, rests on ASM-SEC-01; REQ-SEC-025 in AES mode; a late answer "
            "to an earlier request with the same transaction id reads this way too)")


@contextlib.contextmanager
def step(tc, n: int) -> Iterator[object]:
    """``tc.step(n)`` where an answer that does not authenticate, or does not decode, is the DUT's FAIL with the
    requirement it breaks named (the framework would FAIL it too, with a generic reason)."""
    with tc.step(n) as record:
        try:
            yield record
        except ResponseNotAuthentic as e:
            tc.fail(unauthentic_reason(e))
        except DecodeError as e:
            extra = (" (REQ-SEC-011: 0x0C carries the 4-byte current sequence number)"
                     if e.field == "sequence number" else "")
            tc.fail(f"the DUT's answer is malformed: {e}{extra}")


def sync(tc, session) -> int:
    """Learn the DUT's current sequence number (the session resynchronises on 0x0C); INCONC if no
    request gets through. Returns the number of the last request the DUT accepted."""
    r = session.request(PROBE)
    tc.require(r.ok, f"precondition: a valid read of BT01 is answered {r.describe()}, so the DUT's sequence "
                     "number cannot be learnt")
    return session.seq


def attempt(session, call: Callable[[], Response]) -> tuple[Response | None, Exchange]:
    """Run one session call; an answer that does not authenticate gives (None, its exchange)."""
    try:
        r = call()
    except ResponseNotAuthentic as e:
        return None, e.exchange
    return r, session.exchanges[-1]


def clear_auth_failure(ex: Exchange) -> bool:
    """The raw answer starts with a clear 0x0B (how 0x0B is authenticated is ASM-SEC-07)."""
    return ex.response_pdu is not None and ex.response_pdu[:1] == bytes([AUTH_FAILURE])


def raw_head(ex: Exchange) -> str:
    pdu = ex.response_pdu
    if pdu is None:
        return "no answer"
    return "answer " + pdu[:16].hex(" ") + (" …" if len(pdu) > 16 else "")


def verdict_of(r: Response | None, ex: Exchange) -> str:
    return r.describe() if r is not None else f"an unauthenticated {raw_head(ex)}"


def key_for(plan, access: str) -> Secret | None:
    keys = plan.security.by_access(access)
    return keys[0].secret if keys else None


def foreign_key(tc, plan) -> bytes:
    """A random key of the plan's key length that is none of the DUT's keys."""
    length = len(plan.security.key().secret)
    known = {k.secret.reveal() for k in plan.security.keys}
    while True:
        key = bytes(tc.rng.randrange(256) for _ in range(length))
        if key not in known:
            return key


def chained_digest(key: Secret, request_span: bytes, response: bytes) -> bytes:
    """Recomputed response digest (MEP-DG App. A): over request (code .. seq) || response message."""
    return osgp_digest(request_span + response, key)


# ---- state probe: ET03 utility serial number ------------------------------------------------------

def read_state(tc, session) -> bytes:
    r = session.read(STATE_TABLE)
    tc.require(r.ok and len(r.data) > SERIAL_LEN,
               f"precondition: ET03 (utility information, the table this test writes) reads {r.describe()}")
    return r.data


def altered(image: bytes) -> bytes:
    """The ET03 image with another utility serial number: the write a refused request must not make."""
    mark = b"OSGPCT-PROBE" if not image.startswith(b"OSGPCT-PROBE") else b"osgpct-probe"
    return mark + image[len(mark):]


def check_unchanged(tc, session, before: bytes, why: str) -> None:
    """Read ET03 back; FAIL (and restore it) if the refused write landed."""
    r = session.read(STATE_TABLE)
    tc.require(r.ok, f"ET03 read-back answered {r.describe()}")
    if r.data != before:
        tc.check(False, f"{why}: ET03 changed from {before[:SERIAL_LEN]!r} to {r.data[:SERIAL_LEN]!r}")
        restore(tc, session, before)


def restore(tc, session, image: bytes) -> None:
    r = session.write(STATE_TABLE, image)
    if r.code != ResponseCode.OK:
        tc.observe(f"could not restore ET03: the write answered {r.describe()}")


# ---- sequence numbers -----------------------------------------------------------------------------

def expect_refused(tc, session, seq: int, current: int | None, why: str, req: str) -> Response | None:
    """A read of BT01 with ``seq`` must get 0x0C carrying ``current`` (when known)."""
    seq %= MOD
    r, ex = attempt(session, lambda: session.request(PROBE, seq=seq, resync=False))
    refused = r is not None and r.code == ResponseCode.INVALID_SEQUENCE
    tc.check(refused, f"a read with sequence number {seq} ({why}) was answered {verdict_of(r, ex)}, not 0x0C ({req})")
    if refused and current is not None:
        tc.check(r.expected_seq == current % MOD,
                 f"the 0x0C to sequence number {seq} carries {r.expected_seq}, not the DUT's current number "
                 f"{current % MOD} (REQ-SEC-011)")
    return r


def expect_accepted(tc, session, seq: int, why: str, req: str) -> bool:
    """A read of BT01 with ``seq`` must be executed; the session then follows the DUT's number."""
    seq %= MOD
    r, ex = attempt(session, lambda: session.request(PROBE, seq=seq, resync=False))
    ok = r is not None and r.ok
    tc.check(ok, f"a read with sequence number {seq} ({why}) was answered {verdict_of(r, ex)} ({req})")
    if ok:
        session.seq = seq
    return ok


# ---- decoded tables -------------------------------------------------------------------------------

def dimensions(tc, session):
    """The DUT's own dimensions (BT00, BT01, ET11), which size ET54; INCONC when they cannot be read."""
    r = session.read(bt(0))
    tc.require(r.ok and len(r.data) >= 19, f"precondition: BT00 read answered {r.describe()}")
    empty = Dimensions.from_tables({})
    bt00 = schema(bt(0)).decode(r.data, Dimensions.from_tables({bt(0): schema(bt(0)).decode_partial(r.data[:19],
                                                                                                   empty)}))
    decoded = {bt(0): bt00}
    for tid in (bt(1), et(11)):
        r = session.read(tid)
        tc.require(r.ok, f"precondition: {table_name(tid)} read answered {r.describe()}")
        decoded[tid] = schema(tid).decode(r.data, Dimensions.from_tables(decoded))
    return Dimensions.from_tables(decoded)


def read_decoded(tc, session, table_id: int, dims, need: tuple[str, ...] = (), **kw):
    """A full read decoded field by field (a table cut short still yields the fields it holds); INCONC when
    a field in ``need`` is missing."""
    r = session.read(table_id, **kw)
    tc.require(r.ok, f"precondition: {table_name(table_id)} read answered {r.describe()}")
    value = schema(table_id).decode_partial(r.data, dims)
    missing = [f for f in need if f not in value]
    tc.require(not missing, f"precondition: {table_name(table_id)} ({len(r.data)} bytes) lacks {', '.join(missing)}")
    return value
