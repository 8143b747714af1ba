"""The test plan: the default plan and the template load, every key is documented, and every broken
plan is refused with FILE:LINE, the problem and the fix."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from osgp.assumptions import register
from osgp.errors import ConfigError
from osgpct.pics import ITEMS, RULES
from osgpct.plan import Pixit, load_plan, plan_sha256, schema_keys, template_text

REPO = Path(__file__).resolve().parent.parent
DEFAULT = load_plan(REPO / "testplan.yaml")
_PICS = "\n".join(f"  {k}: {str(v).lower() if isinstance(v, bool) else v}"
                  for k, v in DEFAULT.pics.items() if k != "PICS_SEC_MODE")

BASE = f"""\
campaign:
  id: T-1
  title: test
dut:
  manufacturer: ACME
  model: M1
target: "loopback:"
address:
  domain: "01"
  subnet: 1
  node: 2
  neuron_id: "0100A1B2C3D4"
security:
  mode: rc4
  keys:
    full: {{secret: "hex:01010101010101010101010101010101", access: full}}
    read: {{secret: "hex:02020202020202020202020202020202", access: read}}
pics:
{_PICS}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as e:
        load_plan(write(tmp_path, text))
    return str(e.value)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


# ---- what loads ------------------------------------------------------------------------------------


def test_the_default_plan_targets_the_reference_device_over_loopback() -> None:
    p = DEFAULT
    assert p.target == "loopback:"
    assert p.security.mode == "rc4" and [k.name for k in p.security.keys] == ["full", "read", "broadcast"]
    assert p.security.key().secret.reveal() == bytes([1] * 16)
    assert p.pics["PICS_SEC_MODE"] == "rc4" and p.pics["PICS_RELAY"] is True
    assert p.address.tester.subnet == p.address.subnet and p.address.tester.node != p.address.node
    assert p.sha256 == plan_sha256(REPO / "testplan.yaml")
    assert p.sha256 == hashlib.sha256((REPO / "testplan.yaml").read_bytes()).hexdigest()


def test_the_default_plan_matches_the_reference_device_defaults() -> None:
    from osgpct.refdevice.config import DeviceConfig

    dev = DeviceConfig.default()
    assert (DEFAULT.dut.manufacturer, DEFAULT.dut.model) == (dev.identity.manufacturer, dev.identity.model)
    assert (DEFAULT.dut.serial, DEFAULT.dut.firmware) == (dev.identity.serial, dev.identity.firmware)
    assert DEFAULT.address.neuron_id == bytes.fromhex(dev.address.neuron_id)
    assert {k.access: k.secret for k in DEFAULT.security.keys} == dict(dev.security.keys)


def test_the_template_is_a_valid_plan_with_the_default_pixit(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, template_text()))
    assert plan.pixit == Pixit()
    assert plan.target == "loopback:"
    assert template_text() == (REPO / "osgpct/templates/testplan.template.yaml").read_text(encoding="utf-8")


def test_a_minimal_plan_takes_the_documented_defaults(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, BASE))
    assert plan.pixit.seq_window == 8 and plan.pixit.aes_ccm.tag_len == 8
    assert plan.policy.inconc_fails_run is False and plan.output.show_secrets is False
    assert plan.selection.include == () and plan.lab.signing_key is None
    assert plan.address.tester.node == 127
    assert plan.security.default_key == "full"


def test_every_key_is_documented_in_the_docs_and_the_template() -> None:
    docs = (REPO / "docs/testplan.md").read_text(encoding="utf-8")
    template = template_text()
    assert [k for k in schema_keys() if f"`{k}`" not in docs] == []
    assert [k for k in schema_keys() if f"{k.rpartition('.')[2]}:" not in template] == []
    assert [i for i in ITEMS if f"`{i}`" not in docs] == []
    assert [i for i in ITEMS if i != "PICS_SEC_MODE" and f"{i}:" not in template] == []
    assert [r.id for r in RULES if r.id not in docs] == []


def test_pixit_and_the_assumptions_register_name_each_other() -> None:
    fields = {f.name: f for f in dataclasses.fields(Pixit)}
    named = {a.pixit.removeprefix("pixit.") for a in register() if a.pixit and a.pixit.startswith("pixit.")}
    assert sorted(named - set(fields)) == []  # every PIXIT the register names exists in the plan
    by_id = {a.id: a for a in register()}
    for name, f in fields.items():  # and every PIXIT that cites an assumption is cited back by it
        asm = f.metadata.get("assumption")
        assert asm is None or by_id[asm].pixit == f"pixit.{name}", name


def test_pixit_overrides_are_reported_against_their_assumption(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, BASE + "pixit:\n  seq_window: 16\n  response_timeout_s: 5\n"))
    assert plan.pixit.assumption_overrides() == {"ASM-SEC-02": "pixit.seq_window = 16 (set by the test plan)"}


# ---- keys --------------------------------------------------------------------------------------------


def test_keys_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OSGP_TEST_KEY", "0a" * 16)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "read.hex").write_text("0b0b 0b0b 0b0b 0b0b 0b0b 0b0b 0b0b 0b0b\n")
    text = edit('full: {secret: "hex:01010101010101010101010101010101", access: full}',
                "full: env:OSGP_TEST_KEY").replace('"hex:02020202020202020202020202020202"', "file:keys/read.hex")
    plan = load_plan(write(tmp_path, text))
    full, read = plan.security.keys
    assert full.secret.reveal() == bytes([0x0A] * 16) and full.source == "env:OSGP_TEST_KEY"
    assert full.access == "full"  # the first access level by default
    assert read.secret.reveal() == bytes([0x0B] * 16) and read.source == "file:keys/read.hex"
    assert "0a0a" not in repr(plan) and "***" in repr(full.secret)


def test_key_material_is_never_echoed_in_errors(tmp_path: Path) -> None:
    message = refused(tmp_path, edit("hex:01010101010101010101010101010101", "hex:zz5ec7e7010101010101010101010101"))
    assert "zz5ec7e7" not in message
    assert "security.keys.full: not hex bytes" in message


@pytest.mark.parametrize(("mode", "pixit", "key_bytes", "accepted"), [
    ("digest", "", 6, True), ("digest", "", 12, True), ("digest", "", 8, False),
    ("rc4", "", 12, True), ("rc4", "pixit: {rc4_variant: mep}\n", 12, False),
    ("rc4", "pixit: {rc4_variant: mep}\n", 16, True),
    ("aes128", "", 16, True), ("aes128", "", 12, False),
])
def test_key_length_per_security_mode(tmp_path: Path, mode: str, pixit: str, key_bytes: int,
                                      accepted: bool) -> None:
    text = BASE.replace("mode: rc4", f"mode: {mode}").replace("01" * 16, "01" * key_bytes)
    text = text.replace("02" * 16, "02" * key_bytes) + pixit
    if mode != "rc4":
        text = text.replace(f"PICS_SEC_{ {'digest': 'DIGEST', 'aes128': 'AES'}[mode]}: false",
                            f"PICS_SEC_{ {'digest': 'DIGEST', 'aes128': 'AES'}[mode]}: true")
    if accepted:
        assert len(load_plan(write(tmp_path, text)).security.key().secret) == key_bytes
    else:
        message = refused(tmp_path, text)
        assert f":{line_of(text, 'full: {secret')}: security.keys.full: the key is {key_bytes} bytes" in message
        assert "(fix: give a" in message


# ---- broken plans: each names the line, the problem and the fix ----------------------------------

CASES = [
    # (name, edited plan, the text whose line is reported, expected message fragment)
    ("bad YAML", edit("  title: test", "  title: [test"), "dut:", "not valid YAML"),
    ("tab indentation", edit("  model: M1", "\tmodel: M1"), "\tmodel", "not valid YAML"),
    ("unknown section", edit("dut:", "dutt:"), "dutt:", "unknown key 'dutt' (did you mean dut?)"),
    ("unknown key", edit("  mode: rc4", "  mode: rc4\n  moed: rc4"), "moed", "unknown key 'security.moed'"),
    ("unknown pixit", BASE + "pixit:\n  seq_windw: 4\n", "seq_windw",
     "unknown key 'pixit.seq_windw' (did you mean seq_window?)"),
    ("duplicate key", edit("  subnet: 1", "  subnet: 1\n  subnet: 2"), "  subnet: 2",
     "duplicate key 'subnet' (first at line 10)"),
    ("missing section", edit("dut:\n  manufacturer: ACME\n  model: M1\n", ""), "campaign:", "'dut' is missing"),
    ("missing key", edit("  node: 2\n", ""), "address:", "'address.node' is missing"),
    ("bad choice", edit("mode: rc4", "mode: rc5"), "mode: rc5",
     "security.mode: 'rc5' is not one of digest, rc4, aes128 (did you mean rc4?)"),
    ("out of range", edit("node: 2", "node: 200"), "node: 200", "address.node: 200 is outside 1..127"),
    ("not an integer", edit("node: 2", "node: two"), "node: two", "address.node: 'two' is not an integer"),
    ("tester is the DUT", BASE.replace("  neuron_id", "  tester: {node: 2}\n  neuron_id"), "tester:",
     "address.tester is the DUT's own address"),
    ("bad hex", edit('domain: "01"', 'domain: "0g"'), "domain:", "address.domain: '0g' is not hex bytes"),
    ("domain length", edit('domain: "01"', 'domain: "0102"'), "domain:",
     "address.domain: 2 bytes, expected 0, 1, 3 or 6"),
    ("neuron id length", edit('"0100A1B2C3D4"', '"0100A1B2C3"'), "neuron_id",
     "address.neuron_id: 5 bytes, expected 6"),
    ("bad key form", edit('"hex:01010101010101010101010101010101"', '"01010101010101010101010101010101"'),
     "full: {", "security.keys.full: a key must be hex:<hex digits>, env:NAME, file:PATH"),
    ("missing env var", edit('"hex:01010101010101010101010101010101"', "env:OSGP_NOT_SET_ANYWHERE"),
     "full: {", "environment variable OSGP_NOT_SET_ANYWHERE is not set"),
    ("missing key file", edit('"hex:01010101010101010101010101010101"', "file:no/such.key"), "full: {",
     "security.keys.full: cannot read"),
    ("unknown access level", edit("access: read}", "access: admin}"), "read: {",
     "security.keys.read.access: 'admin' is not one of the access levels full, read"),
    ("unknown default key", edit("  mode: rc4", "  mode: rc4\n  default_key: ful"), "default_key",
     "security.default_key: no key named 'ful' (did you mean full?)"),
    ("unknown scheme", edit('target: "loopback:"', 'target: "cnip+udb://10.0.0.1:1628"'), "target:",
     "unknown target scheme 'cnip+udb' (did you mean cnip+udp?)"),
    ("bad port", edit('target: "loopback:"', 'target: "cnip+udp://10.0.0.1:70000"'), "target:",
     "target: cnip+udp://10.0.0.1:70000: port 70000 is out of range"),
    ("no host", edit('target: "loopback:"', 'target: "cnip+tcp:10.0.0.1"'), "target:",
     "target: cnip+tcp:10.0.0.1: expected"),
    ("unknown URL option", edit('target: "loopback:"', 'target: "loopback:?fualt=x"'), "target:",
     "unknown option(s) fualt"),
    ("missing journal", edit('target: "loopback:"', 'target: "replay:no/journal.jsonl"'), "target:",
     "cannot read the journal"),
    ("not a URL", edit('target: "loopback:"', "target: somewhere"), "target:", "'somewhere' is not a target URL"),
    ("loopback with an address", edit('target: "loopback:"', 'target: "loopback://host"'), "target:",
     "loopback takes no address"),
    ("serial without device", edit('target: "loopback:"', 'target: "serial://?framing=u61"'), "target:",
     "missing serial device"),
    ("unknown PICS item", edit("  PICS_RELAY: true", "  PICS_RELAI: true"), "PICS_RELAI",
     "unknown PICS item 'PICS_RELAI' (did you mean PICS_RELAY?)"),
    ("PICS type", edit("  PICS_RELAY: true", "  PICS_RELAY: 1"), "PICS_RELAY",
     "pics: PICS_RELAY takes true or false, not 1"),
    ("PICS range", edit("  PICS_MAX_RESP_DATA: 12", "  PICS_MAX_RESP_DATA: 300"), "PICS_MAX_RESP_DATA",
     "PICS_MAX_RESP_DATA = 300 is outside 0..255"),
    ("PICS incomplete", edit("  PICS_RELAY: true\n", ""), "pics:", "pics: 1 item(s) not declared: PICS_RELAY"),
    ("PICS_SEC_MODE disagrees", edit("pics:\n", 'pics:\n  PICS_SEC_MODE: "aes128"\n'), "PICS_SEC_MODE",
     "PICS_SEC_MODE is 'aes128' but security.mode is 'rc4'"),
    ("PICS inconsistent", edit("  PICS_SEC_RC4: true", "  PICS_SEC_RC4: false"), "PICS_SEC_RC4",
     'PICS-SEC-02: PICS_SEC_MODE == "rc4" but not (PICS_SEC_RC4)'),
    ("bad bool", BASE + "policy:\n  inconc_fails_run: maybe\n", "inconc_fails_run",
     "policy.inconc_fails_run: 'maybe' is not true/false"),
    ("bad glob", BASE + "selection:\n  include: [TC_SEC_*, 'TC SEC']\n", "include",
     "selection.include: 'TC SEC' is not an id or glob"),
    ("odd CCM tag", BASE + "pixit:\n  aes_ccm: {tag_len: 5}\n", "aes_ccm",
     "pixit.aes_ccm.tag_len: 5 is not one of 4, 6, 8, 10, 12, 14 or 16"),
    ("section as a value", BASE + "policy: strict\n", "policy:", "'policy' must be a mapping of keys"),
    ("list as a value", edit("  model: M1", "  model: [M1, M2]"), "model:", "'dut.model' takes a single value"),
    ("not a mapping", "- just\n- a list\n", "- just", "the plan must be a mapping of sections"),
]


@pytest.mark.parametrize(("text", "where", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_plans_name_file_line_problem_and_fix(tmp_path: Path, text: str, where: str, message: str) -> None:
    error = refused(tmp_path, text)
    path = str(tmp_path / "plan.yaml")
    assert error.startswith(f"{path}:{line_of(text, where)}: "), error
    assert message in error, error
    assert "(fix: " in error and error.endswith(")"), error
    assert "\n" not in error  # one line for the CLI


def test_an_unreadable_plan_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no-plan.yaml: cannot read the test plan: No such file .*osgpct plan init"):
        load_plan(tmp_path / "no-plan.yaml")


def test_a_non_utf8_plan_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(BASE.encode().replace(b"title: test", b"title: t\xe9st"))
    with pytest.raises(ConfigError, match=r"plan.yaml:3: not UTF-8"):
        load_plan(path)


def test_target_override_is_checked_like_the_plan() -> None:
    assert DEFAULT.with_overrides(target="cnip+udp://192.0.2.1:1628").target == "cnip+udp://192.0.2.1:1628"
    with pytest.raises(ConfigError, match=r"^--target 'cnip\+udp:x': .*\(fix: "):
        DEFAULT.with_overrides(target="cnip+udp:x")
    assert DEFAULT.with_overrides(show_secrets=True).output.show_secrets is True


def test_selection_globs(tmp_path: Path) -> None:
    plan = load_plan(write(tmp_path, BASE + "selection:\n  include: [TC_SEC_*, UC_*]\n  exclude: [TC_SEC_SEQ_*]\n"))
    sel = plan.selection
    assert sel.selects("TC_SEC_DIG_BI_01") and sel.selects("UC_READ_IDENTITY")
    assert not sel.selects("TC_SEC_SEQ_BI_02") and not sel.selects("TC_APP_READ_BV_01")
