"""The DUT connection of a campaign, built from the plan: the driver (the reference device behind the
loopback), one session per test case, and the preflight that tells a wrong set-up from a
non-conforming device. Module-level factories, so that self-tests can substitute fakes."""

from __future__ import annotations

from typing import Any

from osgp.errors import OsgpError, TransportError
from osgpct.plan import Plan


def make_driver(plan: Plan, seed: int) -> Any:
    """The (unopened) driver for the plan's target. The loopback hosts the reference device, given the
    plan's address, security mode, keys, sequence window and APDU prefix (docs/testplan.md)."""
    try:
        from osgpct.drivers import open_driver
    except ImportError as e:
        raise OsgpError(f"the drivers package is not available ({e}); no test case can reach the DUT") from None
    return open_driver(plan.target, device_factory=refdevice_factory(plan), seed=seed)


def refdevice_factory(plan: Plan) -> Any:
    def factory(clock: Any = None, faults: Any = (), variants: Any = ()) -> Any:
        try:
            from osgpct import refdevice
        except ImportError as e:
            raise OsgpError(f"the reference device is not available ({e}); loopback: cannot run") from None
        a, s = plan.address, plan.security
        keys: dict[str, object] = {}
        for k in s.keys:  # the device's keys by access level, in the plan's order
            keys.setdefault(k.access, k.secret)
        overrides: dict[str, object] = {
            "security.mode": s.mode, "security.keys": keys,
            "security.window": plan.pixit.seq_window, "address.domain": a.domain.hex(),
            "address.subnet": a.subnet, "address.node": a.node}
        if a.neuron_id is not None:
            overrides["address.neuron_id"] = a.neuron_id.hex()
        # The simulated DUT is built with the hardware the plan declares (a meter without a contactor,
        # without load profile ...), so a reduced PICS is checked against a device that really lacks it.
        pics = plan.pics
        for item, option in (("PICS_DISCONNECT", "capabilities.relay"), ("PICS_LOAD_PROFILE",
                             "capabilities.load_profile"), ("PICS_FW_UPGRADE", "capabilities.firmware_upgrade")):
            if pics.get(item) is False:
                overrides[option] = False
        device = refdevice.build(faults=faults, clock=clock, variants=variants, **overrides)
        device.prefix = plan.pixit.apdu_prefix  # ASM-APP-01: the envelope both sides assume
        return device

    return factory


def make_session(driver: Any, plan: Plan, tids: Any = None) -> Any:
    """An osgp.session.Session configured from the plan's address, security and PIXIT."""
    try:
        from osgp.security import AesCcmProfile, DigestProfile, Rc4Profile
        from osgp.session import Session, SessionConfig
        from osgp.transaction import ToNode
    except ImportError as e:
        raise OsgpError(f"osgp.session is not available ({e}); test cases that talk to the DUT cannot run") \
            from None
    sec, px = plan.security, plan.pixit
    default = sec.key()
    keys = [default.secret] + [k.secret for k in sec.keys if k is not default]  # key_index 0 = default key
    if sec.mode == "aes128":
        profile = AesCcmProfile(keys, tag_len=px.aes_ccm.tag_len, device_id=px.aes_ccm.device_id)
    elif sec.mode == "rc4":
        profile = Rc4Profile(keys, variant=px.rc4_variant)
    else:
        profile = DigestProfile(keys)
    a = plan.address
    config = SessionConfig(domain=a.domain, tester_subnet=a.tester.subnet or a.subnet, tester_node=a.tester.node,
                           dut=ToNode(a.subnet, a.node), profile=profile, apdu_prefix=px.apdu_prefix,
                           retries=px.lon_timers.retries, tx_timer_code=px.lon_timers.tx_timer_code)
    budget = 0.8 * px.test_timeout_s if px.test_timeout_s else None
    return Session(driver, config, tids=tids, wait_budget=budget)


PREFLIGHT_TRIES = 2
PREFLIGHT_LISTEN_S = 4.0  # after silent reads: a DUT that answers late is there (its cases judge it)


def preflight(driver: Any, plan: Plan, tids: Any = None) -> str:
    """A wrong set-up is not a non-conforming device. Before the first test case, read BT01 (harmless
    to a meter in service): when nothing answers, or every answer is 0x0B or fails to authenticate, the
    campaign stops as a configuration error naming the likely cause, instead of judging 137 cases.
    Returns "" when the set-up works (any other answer: the test cases judge it)."""
    a, sec = plan.address, plan.security
    session = make_session(driver, plan, tids)
    try:
        seen = _preflight_reads(session)
        if seen == {"unauthentic"} and _key_verifies_otherwise(session, plan):
            seen = None  # the plan's key is right; the DUT's answer breaks a SEC rule the test cases judge
    finally:
        getattr(session, "close", lambda: None)()
    if not seen:
        return ""
    key = sec.key()
    transport = next((s.split(":", 1)[1] for s in seen if s.startswith("transport:")), None)
    if transport:
        return f"cannot reach the DUT: {transport}"
    if seen == {"silent"}:
        return (f"no answer from the DUT at {plan.target} (domain {a.domain.hex() or '-'}, subnet/node "
                f"{a.subnet}/{a.node}) to {PREFLIGHT_TRIES} reads of BT01: check target, address and the "
                f"14908 envelope (pixit.apdu_prefix = {px_hex(plan.pixit.apdu_prefix)}), and that the DUT is on")
    if "0x0B" in seen:
        return (f"the DUT answers 0x0B (authentication failure) to reads of BT01: check security.keys "
                f"(key {key.name!r}, access {key.access}) and security.mode ({sec.mode})")
    return (f"the DUT's answers to reads of BT01 do not authenticate under the plan's keys: check "
            f"security.keys (key {key.name!r}, access {key.access}), security.mode ({sec.mode}) and "
            "pixit.rc4_variant")


def _preflight_reads(session: Any) -> set[str] | None:
    """What the reads of BT01 met: None when one got a usable answer, or when the DUT was heard at all
    (an answer that comes late or does not match is for the test cases to judge, not a set-up error)."""
    from osgp.app import ResponseCode, bt
    from osgp.errors import DeviceTimeout
    from osgp.session import ResponseNotAuthentic

    heard: list[Any] = []

    def tap(event: Any) -> None:
        if event.direction == "rx":
            heard.append(event)

    session.driver.add_tap(tap)
    try:
        seen: set[str] = set()
        for _ in range(PREFLIGHT_TRIES):
            try:
                r = session.read(bt(1))
            except DeviceTimeout:
                seen.add("silent")
                continue
            except ResponseNotAuthentic:
                seen.add("unauthentic")
                continue
            except TransportError as e:
                seen.add(f"transport:{e}")
                return seen
            except OsgpError:
                return None  # a malformed answer: the DUT is reachable and the test cases judge it
            if r.code != ResponseCode.AUTH_FAILURE:
                return None
            seen.add("0x0B")
        if seen == {"silent"} and not heard:  # nothing yet: listen a little longer for a late answer
            driver = session.driver
            deadline = driver.clock.now() + PREFLIGHT_LISTEN_S
            while not heard and driver.receive(deadline) is not None:
                pass
        return None if seen == {"silent"} and heard else seen
    finally:
        remove = getattr(session.driver, "remove_tap", None)
        if remove is not None:
            remove(tap)


def _key_verifies_otherwise(session: Any, plan: Plan) -> bool:
    """Whether answers that did not authenticate still prove the plan's key right: one read of BT01 (in clear
    when the DUT takes plaintext requests) whose answer came back in clear to an encrypted request and verifies
    as plaintext (REQ-SEC-017), or whose digest verifies over the response alone (REQ-SEC-003). Such a DUT is
    reachable with the right key and non-conforming: the test cases judge it, the campaign must not stop."""
    from osgp.app import bt
    from osgp.digest import DIGEST_LEN, osgp_digest
    from osgp.security import UnencryptedResponse
    from osgp.session import ResponseNotAuthentic

    plain = {"encrypt": False} if plan.security.mode == "rc4" and plan.pics.get("PICS_SEC_DIGEST") else {}
    try:
        session.read(bt(1), **plain)
    except ResponseNotAuthentic as e:
        if isinstance(e.__cause__, UnencryptedResponse):
            return True
        pdu, ex = e.exchange.response_pdu or b"", e.exchange
        return (plan.security.mode != "aes128" and not ex.encrypted and len(pdu) > DIGEST_LEN
                and osgp_digest(pdu[:-DIGEST_LEN], plan.security.key().secret) == pdu[-DIGEST_LEN:])
    except OsgpError:
        return False
    return True  # this read authenticated after all


def px_hex(data: bytes) -> str:
    return data.hex(" ") or "none (no envelope)"
