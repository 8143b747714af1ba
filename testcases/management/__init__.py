"""Conformance test cases (see docs/writing-testcases.md)."""
