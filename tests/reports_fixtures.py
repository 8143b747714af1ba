"""Synthetic but realistic campaigns for the report self-tests and bench/bench_reports.py.

`passing_campaign()`: 20 test cases over LNK/APP/TBL/PRC/SEC/MGT, 5 use cases, all PASS or NA.
`failing_campaign()`: the same DUT on newer firmware, with the differences listed in PLANTED (new
FAILs, an INCONC, an ERROR, a new PASS, a changed reason, one test case added and one removed, PICS
changes and a PICS mismatch), plus hostile text (markup, non-Latin-1) to prove escaping.
`big_campaign(n_cases, n_frames)`: volume for the bench.
Both small campaigns share a requirement catalogue with one uncovered and one untestable requirement.
"""

from __future__ import annotations

import copy
import random

from osgpct.reports.model import (
    CampaignRecord,
    CaseResult,
    ChannelPrediction,
    DutRecord,
    Finding,
    Frame,
    Lab,
    PicsObservation,
    Requirement,
    Results,
    Step,
    assumptions_from_register,
)
from osgpct.reports.verdicts import Verdict

P, F, INC, E, NA = Verdict.PASS, Verdict.FAIL, Verdict.INCONC, Verdict.ERROR, Verdict.NA

REQUIREMENTS = [
    Requirement("REQ-LNK-001", "The DUT ignores a frame whose CRC-16 is wrong", "ISO/IEC 14908-1 6.2.5"),
    Requirement("REQ-LNK-002", "The DUT answers a request addressed to its subnet/node",
                "ISO/IEC 14908-1 7.2"),
    Requirement("REQ-LNK-003", "The DUT discards a duplicate request within the receive timer",
                "ISO/IEC 14908-1 8.3"),
    Requirement("REQ-LNK-004", "The DUT answers within the transaction timer", "ISO/IEC 14908-1 8.1"),
    Requirement("REQ-APP-001", "A full read returns the whole table with response code OK",
                "TS 104 001 9.3; MEP-DG Table 2.7"),
    Requirement("REQ-APP-002", "A partial read honours offset and count", "TS 104 001 9.3", grade="ambiguous",
                readings=["bytes from the offset", "0x04 when the offset is past the end"]),
    Requirement("REQ-APP-003", "An unknown request code is answered with SNS (0x02)", "ANSI C12.18 5.3"),
    Requirement("REQ-APP-004", "A write to a read-only table is refused", "ANSI C12.19 4.2"),
    Requirement("REQ-TBL-001", "BT00 declares exactly the tables the DUT serves", "ANSI C12.19 BT00"),
    Requirement("REQ-TBL-002", "Table lengths follow the dimensions in BT00/ET11", "ANSI C12.19 BT00"),
    Requirement("REQ-PRC-001", "Procedure results are posted in BT08 with the initiating sequence number",
                "ANSI C12.19 BT07/BT08"),
    Requirement("REQ-PRC-002", "An unknown procedure is answered with result 'not implemented'",
                "ANSI C12.19 BT08"),
    Requirement("REQ-SEC-001", "A request with a wrong digest is refused", "TS 104 001 8.2; MEP-DG App. A",
                grade="stated", quote="0x0B = Authentication failure", at="MEP-DG:470", port="MEP (TCP)"),
    Requirement("REQ-SEC-002", "A stale or repeated sequence number is refused with code 0x0C",
                "MEP-DG 2.3", grade="inferred", assumptions=["ASM-SEC-02"]),
    Requirement("REQ-SEC-003", "AES-128-CCM protected requests are accepted when supported",
                "TS 104 001 8.4", kind="conditional", condition="SEC.AES128"),
    Requirement("REQ-SEC-010", "Keys are stored in tamper-resistant memory", "TS 104 001 8.1",
                testable=False, reason="not observable over the air"),
    Requirement("REQ-MGT-001", "Set time updates the clock within 2 s", "MEP-DG 3.6"),
    Requirement("REQ-MGT-002", "A key change takes effect after the next sequence reset", "MEP-DG 3.8"),
    Requirement("REQ-MGT-003", "A firmware image is activated only after its digest verifies", "OPG-DG 5.2",
                kind="optional"),
    Requirement("REQ-MGT-004", "A key change is logged in the event log", "MEP-DG 3.8"),  # uncovered
]

# id, title, requirement ids, PICS expression, verdict, reason, number of steps
_CASES = [
    ("TC_LNK_CRC_BI_01", "Frame with a wrong CRC is ignored", "REQ-LNK-001", "", P, "", 2),
    ("TC_LNK_ADDR_BV_01", "Subnet/node addressed request is answered", "REQ-LNK-002", "", P, "", 2),
    ("TC_LNK_DUP_BV_02", "Duplicate request within receive timer discarded", "REQ-LNK-003", "", P, "", 3),
    ("TC_LNK_TMR_TI_01", "Response within the transaction timer", "REQ-LNK-004", "", P, "", 2),
    ("TC_APP_READ_BV_01", "Full read of BT01 (manufacturer identification)", "REQ-APP-001", "", P, "", 2),
    ("TC_APP_PREAD_BV_02", "Partial read of ET11 with offset and count", "REQ-APP-002", "", P, "", 3),
    ("TC_APP_CODE_BI_01", "Unknown request code answered with SNS", "REQ-APP-003", "", P, "", 2),
    ("TC_APP_WRITE_BO_01", "Write to read-only BT01 refused", "REQ-APP-004", "", P, "", 2),
    ("TC_TBL_BT00_CA_01", "BT00 tables-used matches the tables served", "REQ-TBL-001", "", P, "", 3),
    ("TC_TBL_LEN_BV_01", "Table lengths follow BT00 dimensions", "REQ-TBL-002", "", P, "", 2),
    ("TC_TBL_ET11_BV_01", "ET11 dimensions match the load profile", "REQ-TBL-002", "TBL.ET11", P, "", 2),
    ("TC_PRC_SEQ_BV_01", "Procedure response carries the initiating seq", "REQ-PRC-001", "", P, "", 3),
    ("TC_PRC_RES_BV_02", "Procedure result posted in BT08", "REQ-PRC-001", "", P, "", 2),
    ("TC_PRC_UNK_BI_01", "Unknown procedure answered 'not implemented'", "REQ-PRC-002", "", P, "", 2),
    ("TC_SEC_DIG_BI_01", "Request with a wrong digest is refused", "REQ-SEC-001", "", P, "", 3),
    ("TC_SEC_SEQ_BI_02", "Replayed sequence number refused with 0x0C", "REQ-SEC-002", "", P, "", 3),
    ("TC_SEC_AES_BV_01", "AES-128-CCM protected read accepted", "REQ-SEC-003", "SEC.AES128", NA,
     "PICS: SEC.AES128 is false", 0),
    ("TC_MGT_TIME_BV_01", "Set time updates the clock", "REQ-MGT-001", "", P, "drift 0.4 s after set", 3),
    ("TC_MGT_KEY_BV_01", "Key change takes effect after sequence reset", "REQ-MGT-002", "", P, "", 3),
    ("TC_MGT_FW_BV_01", "Firmware image activated after digest check", "REQ-MGT-003", "MGT.FWUPGRADE", NA,
     "PICS: MGT.FWUPGRADE is false", 0),
]

_USE_CASES = [
    ("UC_READ_IDENTITY", "Read identity (BT01, BT03)", "REQ-APP-001", 2),
    ("UC_READ_BILLING", "Read billing registers (BT23)", "REQ-APP-001,REQ-APP-002", 2),
    ("UC_LOAD_PROFILE", "Retrieve load profile (BT64)", "REQ-APP-002", 3),
    ("UC_DISCONNECT_RECONNECT", "Remote disconnect and reconnect (procedure 21)", "REQ-PRC-001", 4),
    ("UC_SET_TIME", "Set time (procedure 10)", "REQ-MGT-001", 2),
]

PICS_DECLARED = {"LNK.ADDR.SUBNET_NODE": True, "APP.PARTIAL_READ": True, "TBL.ET11": True,
                 "TBL.BT64": True, "PRC.REMOTE_DISCONNECT": True, "SEC.AES128": False,
                 "SEC.RC4": True, "MGT.FWUPGRADE": False, "TBL.MAX_TABLE_SIZE": 1024}

PLANTED = {
    "new_fails": {"TC_SEC_DIG_BI_01", "TC_APP_PREAD_BV_02", "UC_DISCONNECT_RECONNECT"},
    "inconc": {"TC_LNK_TMR_TI_01"},
    "error": {"TC_PRC_RES_BV_02"},
    "new_passes": {"TC_SEC_AES_BV_01", "TC_SEC_KEY_BI_03"},
    "changed_reason": {"TC_MGT_TIME_BV_01"},
    "added": {"TC_SEC_KEY_BI_03"},
    "removed": {"TC_LNK_DUP_BV_02"},
    "pics_changed": {"SEC.AES128", "TBL.ET11"},
    "mismatch": "TBL.ET11",
    "firmware": ("2.0.3", "2.1.0-rc1"),
    "uncovered": "REQ-MGT-004",
    "hostile": '<script>alert("x")</script> & Zähler — Ω',
}


class _FrameLog:
    """Hands out packet numbers and plausible LPDUs the way the session would record them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.frames: list[Frame] = []
        self.t = 0.0

    def exchange(self, case: str, step: int, summary: str, rx: bool = True) -> list[int]:
        numbers = [self._add("tx", case, step, f"{summary} request")]
        if rx:
            numbers.append(self._add("rx", case, step, f"{summary} response"))
        return numbers

    def _add(self, direction: str, case: str, step: int, summary: str) -> int:
        self.t += self.rng.uniform(0.02, 0.6)
        n = len(self.frames) + 1
        body = bytes([0x01, 0x12, 0x34, 0x0b, 0x30 if direction == "tx" else 0x00])
        body += self.rng.randbytes(self.rng.randint(8, 48 if direction == "rx" else 16))
        self.frames.append(Frame(n, round(self.t, 3), direction, body.hex(),
                                 f"LPDU subnet 1/node 18 {summary}", case, step))
        return n


def _case(log: _FrameLog, cid: str, title: str, reqs: str, pics: str, verdict: Verdict, reason: str,
          n_steps: int, kind: bool = True) -> CaseResult:
    area, group = (cid.split("_")[1], cid.split("_")[2]) if kind else ("", "usecases")
    steps = []
    for n in range(1, n_steps + 1):
        steps.append(Step(n, f"Step {n} of {title.lower()}", f"DUT answers step {n} as specified", P, "",
                          log.exchange(cid, n, f"{group} step {n}")))
    return CaseResult(id=cid, title=title, verdict=verdict, group=group, area=area,
                      kind=cid.split("_")[3] if kind else "",
                      purpose=f"Ensure that the DUT behaves as follows: {title.lower()}.",
                      requirements=reqs.split(","), pics=pics, reason=reason,
                      duration_s=round(0.05 + 0.2 * n_steps + log.rng.random(), 3), steps=steps,
                      observations=[])


def passing_campaign() -> Results:
    log = _FrameLog(seed=7)
    cases = [_case(log, *c) for c in _CASES]
    ucs = [_case(log, cid, title, reqs, "", P, "", n, kind=False) for cid, title, reqs, n in _USE_CASES]
    cases[4].observations.append("BT01 manufacturer field is space-padded, not NUL-padded (allowed)")
    return Results(
        campaign=CampaignRecord(
            report_id="PCTR-2026-0042", title="OSGP conformance campaign, meter XM-200",
            started="2026-11-20T09:00:00+01:00", finished="2026-11-20T09:04:31+01:00",
            lab=Lab("Open Grid Test Lab", "Rue de la Loi 1, 1000 Brussels", "ISO/IEC 17025 BELAC 123-TEST"),
            client="Example Meters NV", operator="A. Tester", plan_file="testplan.yaml",
            plan_sha256="5f2b0c6d8e9a41b7c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0",
            tool_version="0.1.0", tool_commit="e12b019", seed=1234, target="loopback:?channel=plc-a",
            driver={"driver": "loopback", "channel": "PLC A-band model, 3.6 kbit/s", "loss": "0.0"},
            modem={"model": "simulated", "firmware": "n/a"},
            channel=ChannelPrediction(predicted_s=271.4, airtime_s=188.9)),
        dut=DutRecord("Example Meters", "XM-200", "XM2-000123", PLANTED["firmware"][0], "HW-B", "04a1b2c3d4e5",
                {"Metrology firmware": "M-1.2"}),
        pics_declared=dict(PICS_DECLARED),
        pics_observed={"TBL.ET11": PicsObservation(True, "BT00 tables-used"),
                       "APP.PARTIAL_READ": PicsObservation(True, "TC_APP_PREAD_BV_02"),
                       "TBL.MAX_TABLE_SIZE": PicsObservation(1024, "BT00 dim")},
        requirements=copy.deepcopy(REQUIREMENTS),
        test_cases=cases, use_cases=ucs,
        observations=["Campaign ran on the simulated PLC channel; no frame loss configured."],
        frames=log.frames,
        assumptions=assumptions_from_register(),
        reservations=["Power-line timing was simulated, not measured on a medium."],
    )


def _fail(r: Results, cid: str, step: int, verdict: Verdict, reason: str) -> None:
    """A failed check of the case's first requirement (FAIL), or a verdict no check gave (INCONC, ERROR)."""
    c = r.case(cid)
    c.verdict = verdict
    c.reason = reason
    c.steps[step - 1].verdict = verdict
    c.steps[step - 1].reason = reason
    if verdict is F:
        c.findings.append(Finding(c.requirements[0], F, reason, step))
    else:
        c.unattributed = verdict


def failing_campaign() -> Results:
    r = passing_campaign()
    c = r.campaign
    c.report_id = "PCTR-2026-0043"
    c.started, c.finished = "2026-11-27T14:10:00+01:00", "2026-11-27T14:15:02+01:00"
    c.inconc_allowed = False
    r.dut.firmware = PLANTED["firmware"][1]
    _fail(r, "TC_SEC_DIG_BI_01", 2, F, "DUT answered 0x00 (OK) to a wrong digest; expected 0x0B")
    _fail(r, "TC_APP_PREAD_BV_02", 3, F, "partial read at offset 16 returned bytes from offset 0")
    _fail(r, "UC_DISCONNECT_RECONNECT", 3, F, "relay state in BT112 still 'connected' after procedure 21")
    _fail(r, "TC_LNK_TMR_TI_01", 2, INC, "no answer within 2.0 s (3 retries); precondition not met")
    _fail(r, "TC_PRC_RES_BV_02", 1, E, "test system error: driver raised TransportError (port closed)")
    r.case("TC_MGT_TIME_BV_01").reason = "clock drift 1.2 s after set"
    aes = r.case("TC_SEC_AES_BV_01")
    aes.verdict, aes.reason = P, ""
    r.test_cases = [t for t in r.test_cases if t.id not in PLANTED["removed"]]
    log = _FrameLog(seed=11)
    log.t, log.frames = r.frames[-1].t, r.frames
    aes.steps = [Step(1, "AES-128-CCM protected full read of BT01", "OK with valid tag", P, "",
                      log.exchange(aes.id, 1, "AES read"))]
    r.test_cases.append(_case(log, "TC_SEC_KEY_BI_03", "Request under the old key refused after key change",
                              "REQ-MGT-002,REQ-SEC-001", "", P, "", 2))
    r.pics_declared["SEC.AES128"] = True
    r.pics_observed["TBL.ET11"] = PicsObservation(False, "BT00 tables-used")  # the planted mismatch
    r.dut.manufacturer = "Example Meters " + PLANTED["hostile"]  # as read from BT01: any bytes at all
    r.case("TC_SEC_DIG_BI_01").observations.append("reason text with markup " + PLANTED["hostile"])
    r.observations.append("Two security test cases failed; see Annex A.")
    return r


def big_campaign(n_cases: int = 200, n_frames: int = 3000, n_requirements: int = 216, seed: int = 5) -> Results:
    """Volume: n_cases test cases, n_frames frames, a tenth of the cases failing, and a catalogue the
    size of osgpct/requirements.yaml."""
    rng = random.Random(seed)
    r = passing_campaign()
    areas = ("LNK", "APP", "TBL", "PRC", "SEC", "MGT")
    r.requirements = [Requirement(f"REQ-{areas[i % 6]}-{100 + i:03d}",
                                  f"Synthetic requirement {i}: the DUT answers a well-formed request of kind {i} "
                                  "within the bounds the plan sets, with the response code the spec gives",
                                  "TS 104 001 (clause unknown); MEP-DG p.42 [READ]", grade="stated",
                                  quote="synthetic quote", at="MEP-DG:42", port="any")
                      for i in range(n_requirements)]
    log = _FrameLog(seed)
    per_case, extra = divmod(n_frames // 2, n_cases)  # one request and one response per step
    cases = []
    for i in range(n_cases):
        n_steps = max(1, per_case + (i < extra))
        area = areas[i % 6]
        cid = f"TC_{area}_G{i // 6:02d}_BV_{i % 100:02d}"
        req = r.requirements[i % len(r.requirements)].id
        c = _case(log, cid, f"Synthetic check {i} of area {area}", req, "", P, "", n_steps)
        if rng.random() < 0.1:
            verdict = rng.choice([F, F, INC])
            _fail_case(c, rng.randrange(n_steps), verdict, f"synthetic {verdict.value} #{i}")
        cases.append(c)
    r.test_cases, r.frames = cases, log.frames
    r.campaign.report_id = "PCTR-BENCH"
    return r


def _fail_case(c: CaseResult, index: int, verdict: Verdict, reason: str) -> None:
    c.verdict, c.reason = verdict, reason
    c.steps[index].verdict, c.steps[index].reason = verdict, reason


__all__ = ["PLANTED", "REQUIREMENTS", "big_campaign", "failing_campaign",
           "passing_campaign"]
