"""End-to-end use cases (UC_*) and the scenario functions test cases reuse.

- :mod:`usecases.library`: :class:`~usecases.library.Dut`, what a procedure/management test needs around the
  session (decoded reads sized by the DUT's own dimension tables, procedure calls with fresh PSNs, the DUT
  clock and its restoration, the history log);
- :mod:`usecases.scenarios`: the reusable steps of the use cases (read identity, billing, load profile,
  event log, disconnect/reconnect, set/adjust the clock, pending tables, key change, firmware upgrade,
  demand reset), each also used by test cases of testcases/procedures and testcases/management;
- ``usecases/test_uc_*.py``: the ``@usecase`` declarations, each with its own verdict.
"""
