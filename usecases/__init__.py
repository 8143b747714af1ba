"""End-to-end use cases (UC_*) and the scenario functions test cases reuse.

Every scenario acts through the DUT facade :class:`osgpct.dut.Dut` (decoded reads sized by the DUT's own
dimension tables, procedure calls with the PSN the session follows, the DUT clock and its restoration, the
history log, putting tables back). The scenarios are grouped by family, next to the use cases that run them:

- :mod:`usecases.metering` (``test_uc_metering.py``): identity and nameplate, billing registers, demand reset,
  load profile, event log;
- :mod:`usecases.control` (``test_uc_control.py``): disconnect/reconnect, clock adjustment by delta (EP16),
  pending tables;
- :mod:`usecases.admin` (``test_uc_admin.py``): key change (EP80), broadcast, firmware upgrade (ET100/EP81);

each also used by test cases of testcases/procedures and testcases/management. ``usecases/test_uc_*.py`` hold
the ``@usecase`` declarations, each with its own verdict.
"""
