"""The pytest plugin of a conformance campaign (`pytest testcases usecases -p osgpct.plugin --plan …`).

It is inert for ordinary tests: it takes charge only of test functions that carry `@testcase` or
`@usecase` metadata (osgpct.testcase), so the self-tests in tests/ run as plain pytest even though the
repository's conftest.py loads it.

For a campaign it
- loads the test plan (`--plan`, default testplan.yaml at the rootdir); a bad plan ends the run with
  a one-line `FILE:LINE: message (fix: …)` and exit status 3;
- selects at collection: a test case the plan's selection (or -k) leaves out is NOT RUN; one whose
  PICS expression is false is NA, with the expression in the reason;
- provides the fixtures `plan`, `driver` (one per run), `session` (one per test case) and `tc`;
- bounds each test body (`--osgp-timeout`, default pixit.test_timeout_s): see `_alarm`;
- turns pytest outcomes into verdicts (osgpct.testcase.CaseRun.on_exception) and gives JUnit, allure
  and pytest-html the true verdict as a property, label and column;
- prints one progress line per test case, writes results.json and the reports into `--out`, and sets
  the exit status of DESIGN.md: 0 PASS/NA (INCONC if the policy allows), 1 FAIL, 2 ERROR, disallowed
  INCONC or an incomplete run, 3 configuration error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from osgp.errors import OsgpError
from osgpct import connect
from osgpct.campaign import Campaign
from osgpct.console import Console, HtmlColumns
from osgpct.plan import Plan
from osgpct.testcase import CaseRun


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("osgp", "OSGP conformance campaign (osgpct.plugin)")
    g.addoption("--plan", default=None, help="test plan YAML (default: testplan.yaml at the rootdir)")
    g.addoption("--target", default=None, help="override the plan's target URL (loopback:, cnip+udp://H:P, …)")
    g.addoption("--out", default=None, help="campaign output directory: results.json, PCTR, trace, bundle")
    g.addoption("--seed", type=int, default=None, help="seed of the test cases' random values (tc.rng), "
                "recorded in results.json (default: a fresh one); the loopback channel model takes its own "
                "seed from the target URL (loopback:?channel=a-band&seed=N)")
    g.addoption("--show-secrets", action="store_true", default=False, help="allow keys in reports and traces")
    g.addoption("--osgp-timeout", type=float, default=None,
                help="bound on each test body in seconds (default: pixit.test_timeout_s; 0 = no bound)")
    g.addoption("--osgp-reports", choices=("all", "results"), default=os.environ.get("OSGP_REPORTS") or "all",
                help="what --out receives: all (results.json, PCTR, signed bundle) or results (results.json "
                     "only, for fast repeated campaigns such as the kill matrix); default $OSGP_REPORTS or all")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    campaign = Campaign(config)
    config.stash[_CAMPAIGN] = campaign
    config.pluginmanager.register(campaign, "osgp-campaign")
    config.pluginmanager.register(Console(campaign), "osgp-console")
    if config.getoption("plan") or config.getoption("out"):  # clearly a campaign: fail fast on a bad plan
        campaign.ensure_plan()
        campaign.default_output_paths()
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlColumns(campaign), "osgp-html")


_CAMPAIGN = pytest.StashKey["Campaign"]()


def _campaign(config: pytest.Config) -> Campaign:
    return config.stash[_CAMPAIGN]


# ---- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def plan(pytestconfig: pytest.Config) -> Plan:
    """The campaign's test plan (frozen), with --target / --show-secrets applied."""
    return _campaign(pytestconfig).ensure_plan()


@pytest.fixture(scope="session")
def driver(pytestconfig: pytest.Config) -> Any:
    """The driver to the DUT, opened once per run (drivers.open_driver(plan.target, …))."""
    return _campaign(pytestconfig).open_driver()


@pytest.fixture
def tc(request: pytest.FixtureRequest) -> CaseRun:
    """The verdict recorder of the running test case (osgpct.testcase.CaseRun)."""
    run = _campaign(request.config).runs.get(request.node.nodeid)
    if run is None:
        raise OsgpError(f"{request.node.nodeid}: the `tc` fixture serves functions declared with "
                        "@testcase or @usecase (osgpct.testcase)")
    return run


@pytest.fixture
def session(request: pytest.FixtureRequest, driver: Any, plan: Plan, tc: CaseRun) -> Iterator[Any]:
    """A fresh osgp.session.Session to the DUT; every exchange becomes evidence of the running step."""
    campaign = _campaign(request.config)
    s = connect.make_session(driver, plan, tids=campaign.tids)
    campaign.attach(s, tc)
    yield s
    close = getattr(s, "close", None)
    if close is not None:
        close()  # its tap leaves the driver: evidence of finished cases is not kept alive
