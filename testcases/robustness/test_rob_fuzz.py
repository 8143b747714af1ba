"""Seeded fuzz campaign of the OSGP application layer (TS 104 001 Clause 9).

Valid requests are mutated (bit flips, truncation, extension, random code, table id, offset or count) with the
case's seeded generator (``tc.rng``: the campaign ``--seed`` and the case id, so a run is reproduced with the same
seed). Each mutated request is authenticated, so it reaches the services. Writes are kept harmless: a mutated
request that decodes as a write is sent only when it aims at a table BT00 lists as read-only (it must be refused);
otherwise it is drawn again. Those writes carry the table's own current bytes (BT00 and BT01, whose content
does not move), so even a DUT that wrongly accepts them is left as it was. A write code that does not decode (cut
in its table id, offset or count) is drawn again too: a missing count is indeterminate and gets no error
(MEP-DG:537-539), so such a write could change any table. Requests stay within pixit.max_apdu (oversize is
TC_APP_ROB_BI_02), and, unless pixit.unsafe_codes, within the application code range (field safety, ASM-APP-01).

What is judged, and on which rule: every answer carries a code of 0x00-0x0C (REQ-APP-021, inferred); a request
cut before its count is refused (REQ-APP-020, inferred); an unknown code is answered 0x01 or 0x02 (REQ-APP-016,
ambiguous: both readings); a C12.18 service code 0x01 or 0x02 (REQ-APP-017, inferred); a write of a read-only
table is refused (REQ-TBL-011); 0x01-0x05 and 0x0B carry no data (REQ-APP-015). A request cut in its count gets
any defined code here (REQ-APP-012 is judged by TC_APP_ROB_BI_01). That a malformed request is answered at all is
no source's rule (a missing answer is a deviation); that the DUT still answers a valid read afterwards is
REQ-LNK-012 (a REQUEST is answered by a RESPONSE, low:251).

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
from osgpct.probes import NO_DATA_CODES, still_answers
from osgpct.testcase import Verdict, testcase

N_REQUESTS = 300
_C1218 = range(0x20, 0x80)  # codes ANSI C12.18 gives a meaning to (0x02 is allowed for them, REQ-APP-017)
_KNOWN = (0x30, 0x3F, 0x40, 0x4F)
_WRITES = (0x40, 0x4F)
_UNKNOWN_ANSWERS = frozenset({ResponseCode.ERR, ResponseCode.SNS})  # REQ-APP-016 readings 1 and 2


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
            return not msg or msg[0] not in _WRITES  # a cut write: its count may be taken as anything
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


def expectation(msg: bytes, prefix: bytes) -> tuple[str, set[int] | None, str]:
    """(what the message is, the codes allowed or None for 'any defined', requirement); allowed is the empty set
    when no OSGP answer is expected at all (not judged)."""
    if not msg:
        return "empty message", set(ERROR_CODES), "REQ-APP-020"
    try:
        req = decode_request(msg)
    except DecodeError as e:
        field = getattr(e, "field", "")
        if field == "count":  # MEP-DG:537-539: indeterminate, no error; judged by TC_APP_ROB_BI_01
            return "request with its count field missing or short", None, "REQ-APP-021"
        if field == "end of message":  # a read followed by more bytes (0x30 'Table #, Length', M:523, ASM-APP-04)
            return "read followed by extra bytes", None, "REQ-APP-021"
        return "request cut short before its count", set(ERROR_CODES), "REQ-APP-020"
    if isinstance(req, RawRequest):
        code = msg[0]
        if not prefix and code >= 0x50:  # REQ-APP-016 reading 3: a 14908-1 ND/NM/NV message for the stack
            return f"code 0x{code:02X} (a 14908-1 message without an APDU envelope)", set(), "REQ-APP-016"
        if code in _C1218:
            return f"C12.18 code 0x{code:02X}", set(_UNKNOWN_ANSWERS), "REQ-APP-017"
        return f"unknown code 0x{code:02X}", set(_UNKNOWN_ANSWERS), "REQ-APP-016"
    if isinstance(req, FullWrite | PartialWrite):
        return "write of a read-only table", set(ERROR_CODES), "REQ-TBL-011"
    return "read", None, "REQ-APP-021"


@testcase(
    id="TC_APP_FUZZ_BI_01",
    title="Seeded fuzz: mutated requests get well-formed answers with defined codes and the DUT keeps serving",
    purpose="Ensure that, when the tester sends 300 authenticated requests mutated from valid ones (seeded by the "
            "campaign seed), the DUT answers each with a well-formed response carrying a defined code that fits the "
            "request (0x01 or 0x02 for unknown codes, a refusal for cut or read-only ones) and keeps answering "
            "valid reads",
    requirements=["REQ-APP-021", "REQ-APP-015", "REQ-APP-016", "REQ-APP-020", "REQ-APP-017", "REQ-TBL-011",
                  "REQ-LNK-012"],
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
    (app §2.1); refusal of malformed requests [INFERRED]; lon-stack-dx lcs_tsa.c, a REQUEST is answered by a
    RESPONSE (low §2.1) [READ]."""
    dut = Dut(tc, session, plan)
    seed = campaign_seed(pytestconfig)
    prefix = session.config.apdu_prefix
    with tc.step(1):
        dut.bt00()
        fz = Fuzzer(dut)
        tc.observe(f"fuzz seed: campaign --seed {seed}, case {tc.id}; {N_REQUESTS} requests")
    findings = 0
    with tc.step(2):
        for i in range(N_REQUESTS):
            msg = fz.next()
            what, allowed, req = expectation(msg, prefix)
            where = f"fuzz #{i} (seed {seed}) {what}, message {msg.hex() or '(empty)'}"
            judged = allowed != set()
            try:
                r = session.send_message(msg, request=RawRequest(msg) if allowed is not None else None)
            except DeviceTimeout:
                if judged:
                    tc.check(False, f"{where}: no answer (no source states that every malformed request gets an "
                             "OSGP answer; read into REQ-APP-021)", req="REQ-APP-021")
                    findings += 1
                else:
                    tc.observe(f"{where}: no OSGP answer ({req} reading 3: the 14908-1 stack handles it)")
                alive = still_answers(lambda: session.read(bt(0)))
                tc.check(alive is not None, f"after {where} the DUT answers no valid read of BT00 in two "
                         "transactions (REQ-LNK-012: a REQUEST is answered by a RESPONSE)", req="REQ-LNK-012",
                         stop=True)
                tc.check(alive.ok, f"after {where} a read of BT00 answered {alive.describe()} (the DUT keeps "
                         "serving: REQ-APP-020)", req="REQ-APP-020")
                continue
            except DecodeError as e:
                if not judged:
                    tc.observe(f"{where}: answer not an OSGP response ({e}; {req} reading 3)")
                    continue
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
            if not judged:
                tc.observe(f"{where}: answered {r.describe()} ({req} reading 3: not an OSGP request)")
                continue
            ok = tc.check(r.code in DEFINED_CODES, f"{where}: response code 0x{r.code:02X} is not defined "
                          "(REQ-APP-021)", req="REQ-APP-021")
            if allowed is not None:
                ok &= tc.check(r.code in allowed, f"{where}: answered {r.describe()}, expected one of "
                               f"{sorted(hex(c) for c in allowed)} ({req})", req=req)
                if r.data and r.code in NO_DATA_CODES:
                    ok &= tc.check(False, f"{where}: the refusal 0x{r.code:02X} carries data {hexs(r.data)} "
                                   "(REQ-APP-015: no response data)", req="REQ-APP-015")
                elif r.data and r.code in ERROR_CODES:
                    tc.observe(f"{where}: C12.18 code 0x{r.code:02X}, which MEP-DG does not list, carries data "
                               f"{hexs(r.data)} (no source says it carries none)")
            findings += not ok
            if findings >= 10:
                tc.observe(f"{findings} findings: fuzzing stopped at #{i}")
                break
        tc.observe(f"{i + 1} requests sent, {findings} finding(s)")
    with tc.step(3):
        r = still_answers(lambda: dut.read(bt(0)))
        tc.check(r is not None, "after the fuzz campaign the DUT answers no valid read of BT00 in two transactions "
                 "(REQ-LNK-012)", req="REQ-LNK-012", stop=True)
        tc.check(r.ok, f"after the fuzz campaign a read of BT00 answered {r.describe()} (REQ-APP-020: the DUT keeps "
                 "serving)", req="REQ-APP-020")
