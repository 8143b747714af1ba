"""Seeded fuzz campaign of the OSGP application layer (TS 104 001 Clause 9).

Valid requests are mutated (bit flips, truncation, extension, random code, table id, offset or count) with the
case's seeded generator (``tc.rng``: the campaign ``--seed`` and the case id, so a run is reproduced with the same
seed). Each mutated request is authenticated, so it reaches the services. Writes are kept harmless: a mutated
request that decodes as a write is sent only when it aims at a table BT00 lists as read-only (it must be refused);
otherwise it is drawn again. Those writes carry the table's own current bytes (BT00 and BT01, whose content
does not move), so even a DUT that wrongly accepts them is left as it was. Requests stay within pixit.max_apdu
(oversize is TC_APP_ROB_BI_02).

Sources (osgpct/requirements.yaml): MEP-DG Table 2.5 p.10-11 (codes, response data), Tables 2.6-2.7 p.12 (layouts).
"""

from __future__ import annotations

from osgp.app import (
    FullRead,
    FullWrite,
    PartialRead,
    PartialWrite,
    RawRequest,
    ResponseCode,
    bt,
    decode_request,
    encode_request,
)
from osgp.errors import DecodeError, DeviceTimeout
from osgp.session import ResponseNotAuthentic
from osgpct.dut import DEFINED_CODES, ERROR_CODES, Dut, hexs
from osgpct.testcase import Verdict, testcase

N_REQUESTS = 300
_C1218 = range(0x20, 0x80)  # codes ANSI C12.18 gives a meaning to (0x02 is allowed for them, REQ-APP-017)
_KNOWN = (0x30, 0x3F, 0x40, 0x4F)


def campaign_seed(pytestconfig) -> str:
    campaign = pytestconfig.pluginmanager.get_plugin("osgp-campaign")
    seed = getattr(campaign, "seed", None)
    return str(seed) if seed is not None else "(see the report header)"


class Fuzzer:
    def __init__(self, dut: Dut) -> None:
        self.dut, self.rng = dut, dut.tc.rng
        self.tables = dut.listed_tables()
        self.images: dict[int, bytes] = {}
        for t in (bt(0), bt(1)):
            if dut.listed(t) and not dut.writable(t):
                r = dut.read(t)
                if r.ok and r.data:
                    self.images[t] = r.data
        self.read_only = sorted(self.images)
        self.limit = dut.request_budget
        # Field safety (ASM-APP-01): unless pixit.unsafe_codes, no APDU may start outside 0x00-0x4F.
        self.unsafe, self.prefix = dut.plan.pixit.unsafe_codes, dut.session.config.apdu_prefix

    def base(self) -> bytes:
        r, tid = self.rng, self.rng.choice(self.tables)
        kind = r.randrange(5)
        if kind == 0:
            return encode_request(FullRead(tid))
        if kind == 1:
            return encode_request(PartialRead(tid, r.randrange(300), r.randrange(1, self.dut.budget + 1)))
        if kind in (2, 3) and self.read_only:
            ro = r.choice(self.read_only)
            image = self.images[ro]
            if kind == 2:
                return encode_request(FullWrite(ro, image[:r.randint(1, len(image))]))
            off = r.randrange(len(image))
            return encode_request(PartialWrite(ro, off, image[off:off + r.randint(1, len(image) - off)]))
        return bytes([r.randrange(256)]) + bytes(r.randrange(256) for _ in range(r.randrange(12)))

    def mutate(self, msg: bytes) -> bytes:
        r, b = self.rng, bytearray(msg)
        op = r.randrange(8)
        if op == 0 and b:  # bit flips
            for _ in range(r.randint(1, 3)):
                i = r.randrange(len(b))
                b[i] ^= 1 << r.randrange(8)
        elif op == 1 and b:  # truncation
            del b[r.randrange(len(b)):]
        elif op == 2:  # extension
            b += bytes(r.randrange(256) for _ in range(r.randint(1, 16)))
        elif op == 3 and b:  # another request code
            b[0] = r.choice([r.randrange(256), *_KNOWN])
        elif op == 4 and len(b) >= 3:  # table id
            b[1:3] = r.choice([r.randrange(65536), 0xFFFF, 0x1000 | r.randrange(2048), 0x0800 | r.randrange(256)
                               ]).to_bytes(2, "big")
        elif op == 5 and len(b) >= 6 and b[0] in (0x3F, 0x4F):  # offset
            b[3:6] = r.choice([0xFFFFFF, r.randrange(1 << 24), 0]).to_bytes(3, "big")
        elif op == 6 and len(b) >= 5 and b[0] in (0x40, 0x3F, 0x4F):  # count
            at = 3 if b[0] == 0x40 else 6
            b[at:at + 2] = r.choice([0xFFFF, 0, r.randrange(65536)]).to_bytes(2, "big")
        else:  # random bytes of a random length
            b = bytearray(r.randrange(256) for _ in range(r.randrange(1, 20)))
        return bytes(b[:self.limit])

    def harmless(self, msg: bytes) -> bool:
        try:
            req = decode_request(msg)
        except DecodeError:
            return True
        if isinstance(req, FullWrite | PartialWrite):
            image = self.images.get(req.table_id)
            off = req.offset if isinstance(req, PartialWrite) else 0
            return image is not None and req.count <= len(req.data) and \
                req.data[:req.count] == image[off:off + req.count] and off + req.count <= len(image)
        return True

    def field_safe(self, msg: bytes) -> bool:
        from osgp.app import field_safe

        return field_safe(msg, self.prefix)

    def next(self) -> bytes:
        for _ in range(50):
            msg = self.mutate(self.base())
            if self.harmless(msg) and (self.unsafe or self.field_safe(msg)):
                return msg
        return encode_request(FullRead(bt(0)))


def expectation(msg: bytes) -> tuple[str, set[int] | None, str]:
    """(what the message is, the codes allowed or None for 'any defined', requirement)."""
    if not msg:
        return "empty message", set(ERROR_CODES), "REQ-APP-020"
    try:
        req = decode_request(msg)
    except DecodeError:
        return "request cut short inside its fields", set(ERROR_CODES), "REQ-APP-020"
    if isinstance(req, RawRequest):
        code = msg[0]
        if code in _C1218:
            return f"C12.18/unknown code 0x{code:02X}", {ResponseCode.ERR, ResponseCode.SNS}, "REQ-APP-016, REQ-APP-017"
        return f"unknown code 0x{code:02X}", {ResponseCode.ERR}, "REQ-APP-016"
    if isinstance(req, FullWrite | PartialWrite):
        return "write of a read-only table", set(ERROR_CODES), "REQ-TBL-011"
    return "read", None, "REQ-APP-021"


@testcase(
    id="TC_APP_FUZZ_BI_01",
    title="Seeded fuzz: mutated requests get well-formed answers with defined codes and the DUT keeps serving",
    purpose="Ensure that, when the tester sends 300 authenticated requests mutated from valid ones (seeded by the "
            "campaign seed), the DUT answers each with a well-formed response carrying a defined code that fits the "
            "request (0x01 for unknown codes, a refusal for cut or read-only ones) and keeps answering valid reads",
    requirements=["REQ-APP-021", "REQ-APP-015", "REQ-APP-016", "REQ-APP-020", "REQ-APP-017", "REQ-TBL-011"],
    pixit=["max_apdu"],
    initial="BT00 readable. Writes are only sent to tables BT00 lists as read-only.",
    steps=[("Read BT00", "0x00"),
           ("Send 300 mutated requests (reads, writes to read-only tables, unknown codes; mutated)",
            "each answered, well-formed, with a defined code fitting the request; findings name the seed, index and "
            "message hex"),
           ("Read BT00", "0x00: the DUT still serves")],
)
def test_fuzz(tc, session, plan, pytestconfig):
    """Source: TS 104 001 Clause 9 (clause unknown); MEP-DG Table 2.5 p.10-11 (app §2.2), Tables 2.6-2.7 p.12
    (app §2.1); refusal of malformed requests [INFERRED]."""
    dut = Dut(tc, session, plan)
    seed = campaign_seed(pytestconfig)
    with tc.step(1):
        dut.bt00()
        fz = Fuzzer(dut)
        tc.observe(f"fuzz seed: campaign --seed {seed}, case {tc.id}; {N_REQUESTS} requests")
    findings = 0
    with tc.step(2):
        for i in range(N_REQUESTS):
            msg = fz.next()
            what, allowed, req = expectation(msg)
            where = f"fuzz #{i} (seed {seed}) {what}, message {msg.hex() or '(empty)'}"
            try:
                r = session.send_message(msg, request=RawRequest(msg) if allowed is not None else None)
            except DeviceTimeout:
                tc.check(False, f"{where}: no answer ({req})")
                findings += 1
                try:
                    alive = session.read(bt(0))
                except DeviceTimeout:
                    tc.fail(f"after {where} the DUT no longer answers a read of BT00 ({req})")
                tc.check(alive.ok, f"after {where} a read of BT00 answered {alive.describe()}")
                continue
            except DecodeError as e:
                if getattr(e, "field", "") == "sequence number":
                    tc.inconc(f"{where}: 0x0C without a well-formed sequence number ({e}); judged by "
                              "TC_APP_CODE_BI_03")
                tc.check(False, f"{where}: malformed response {e} (REQ-APP-015, REQ-APP-003)", req="REQ-APP-015")
                findings += 1
                continue
            except ResponseNotAuthentic as e:
                tc.record(Verdict.INCONC, f"{where}: the answer does not authenticate ({e}); the SEC test cases "
                          "judge that")
                findings += 1
                continue
            if r.code == ResponseCode.INVALID_SEQUENCE:
                tc.inconc(f"{where}: the DUT refused the sequence number after the session resynchronised "
                          f"({r.describe()}); the SEC test cases judge sequence numbers")
            ok = r.code in DEFINED_CODES
            ok &= tc.check(r.code in DEFINED_CODES, f"{where}: response code 0x{r.code:02X} is not defined "
                           "(REQ-APP-021)", req="REQ-APP-021")
            if allowed is not None:
                ok &= tc.check(r.code in allowed, f"{where}: answered {r.describe()}, expected one of "
                               f"{sorted(hex(c) for c in allowed)} ({req})")
                ok &= tc.check(not r.data, f"{where}: the refusal carries data {hexs(r.data)} (REQ-APP-015)",
                               req="REQ-APP-015")
            findings += not ok
            if findings >= 10:
                tc.fail(f"{findings} findings: fuzzing stopped at #{i}")
        tc.observe(f"{N_REQUESTS} requests sent, {findings} finding(s)")
    with tc.step(3):
        r = dut.read(bt(0))
        tc.check(r.ok, f"after the fuzz campaign a read of BT00 answered {r.describe()}")
