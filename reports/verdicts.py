"""Verdicts of ISO/IEC 9646 / TTCN-3 as CONVENTIONS.md defines them.

Within a test case a verdict only gets worse: PASS < INCONC < FAIL, and ERROR (a fault of the test
system) overrides all three. NA and NOT RUN are set once, before anything runs.
"""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    PASS = "PASS"
    INCONC = "INCONC"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NA = "NA"
    NOT_RUN = "NOT RUN"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    def worsen(self, other: Verdict) -> Verdict:
        """The verdict after `other` is also observed (never gets better)."""
        return other if other.severity > self.severity else self


_SEVERITY = {
    Verdict.NA: 0,
    Verdict.NOT_RUN: 0,
    Verdict.PASS: 1,
    Verdict.INCONC: 2,
    Verdict.FAIL: 3,
    Verdict.ERROR: 4,
}


def combine(verdicts) -> Verdict:
    """Overall verdict of several (e.g. steps of one test case); PASS when there are none."""
    out = Verdict.PASS
    for v in verdicts:
        out = out.worsen(Verdict(v))
    return out
