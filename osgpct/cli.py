"""`osgpct`: the command line of the suite (DESIGN.md §3).

Subcommands import their machinery lazily so `osgpct --help` stays instant and a missing
optional part gives a one-line reason instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from osgp.errors import ConfigError, OsgpError

EXIT_CONFIG = 3


def _fail(message: str) -> int:
    print(f"osgpct: error: {message}", file=sys.stderr)
    return EXIT_CONFIG


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from osgpct.layout import campaign_args, default_plan

    out = Path(args.out).resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return _fail(f"cannot create the output directory {out}: {e.strerror}")
    plan = Path(args.plan).resolve() if args.plan else default_plan()
    if not plan.is_file():
        return _fail(f"test plan {plan} not found (create one with `osgpct plan init {args.plan}`)")
    extra = [f"--junitxml={out / 'junit.xml'}", f"--html={out / 'report.html'}", "--self-contained-html",
             f"--alluredir={out / 'allure-results'}"]
    if args.show_secrets:
        extra.append("--show-secrets")
    pytest_args = campaign_args(plan=plan, out=out, target=args.target, seed=args.seed, k=args.k, extra=extra)
    pytest_args += args.pytest_args
    code = int(pytest.main(pytest_args))
    # pytest's own usage errors (4) and "nothing collected" (5) are configuration errors for us.
    return EXIT_CONFIG if code in (4, 5) else code


def cmd_serve(args: argparse.Namespace) -> int:
    from osgp.clock import MonotonicClock
    from osgpct.drivers.server import serve
    from osgpct.refdevice import build

    clock = MonotonicClock()  # one clock for the device and the server, so device time starts as configured
    device = build(config_path=args.config, faults=args.fault, clock=clock, variants=args.variant)
    print(f"reference device {device.describe()} on {args.target}"
          + (f" with faults {', '.join(args.fault)}" if args.fault else "")
          + (f" with variants {', '.join(args.variant)}" if args.variant else "") + "; Ctrl-C stops it")
    try:
        serve(args.target, device, clock=clock)
    except KeyboardInterrupt:
        pass
    print("stopped")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from osgpct.layout import catalogue_paths
    from osgpct.testcase import catalogue_of_testcases

    rows = catalogue_of_testcases(catalogue_paths())
    for r in rows:
        print(f"{r.id:28} {r.title}\n{'':28} req: {', '.join(r.requirements)}  pics: {r.pics or '-'}"
              f"  group: {r.group}")
    print(f"{len(rows)} test cases and use cases")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if args.compare:
        from osgpct.reports.compare import cli_compare

        return cli_compare(Path(args.compare[0]), Path(args.compare[1]))
    if not args.dir:
        return _fail("report needs DIR or --compare OLD NEW")
    from osgpct.reports.pctr import cli_report

    return cli_report(Path(args.dir), Path(args.out) if args.out else None)


def cmd_verify(args: argparse.Namespace) -> int:
    from osgpct.reports.bundle import cli_verify

    return cli_verify(Path(args.dir))


def cmd_plan_init(args: argparse.Namespace) -> int:
    from osgpct.plan import template_text

    path = Path(args.path)
    if path.exists() and not args.force:
        return _fail(f"{path} exists; use --force to overwrite")
    path.write_text(template_text(), encoding="utf-8")
    print(f"wrote {path}: edit the DUT, target, address and keys, then `osgpct run --plan {path}`")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="osgpct", description="OSGP (ETSI TS 104 001) conformance test suite")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a campaign and write the reports")
    r.add_argument("--plan", help="test plan (default: ./testplan.yaml, else the packaged default plan: "
                                     "the reference device over loopback)")
    r.add_argument("--target", help="override the plan's target URL (loopback:, cnip+udp://H:P, serial://…)")
    r.add_argument("--out", default="out", help="output directory (default: out)")
    r.add_argument("-k", help="select test cases by pytest -k expression")
    r.add_argument("--seed", type=int, help="seed for fuzz and channel model")
    r.add_argument("--show-secrets", action="store_true", help="allow keys in reports and traces")
    r.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("serve", help="serve the reference device on a transport")
    s.add_argument("--target", required=True, help="cnip+udp://HOST:PORT, cnip+tcp://HOST:PORT, serial://DEV?…")
    s.add_argument("--fault", action="append", default=[], help="fault switch to turn on (repeatable)")
    s.add_argument("--variant", action="append", default=[],
                   help="alternative conforming reading to turn on (repeatable; refdevice/variants.py)")
    s.add_argument("--config", help="device config YAML (keys, address, identity)")
    s.set_defaults(func=cmd_serve)

    sub.add_parser("list", help="list test cases and use cases").set_defaults(func=cmd_list)

    rep = sub.add_parser("report", help="re-render reports, or compare two campaigns")
    rep.add_argument("dir", nargs="?", help="campaign output directory")
    rep.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="delta between two campaigns")
    rep.add_argument("--out", help="write the re-rendered reports here (a signed bundle is never modified)")
    rep.set_defaults(func=cmd_report)

    v = sub.add_parser("verify", help="verify an evidence bundle offline")
    v.add_argument("dir")
    v.set_defaults(func=cmd_verify)

    plan = sub.add_parser("plan", help="test plan helpers")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    init = plan_sub.add_parser("init", help="write a commented test plan template")
    init.add_argument("path", nargs="?", default="testplan.yaml")
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=cmd_plan_init)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as e:
        return _fail(str(e))
    except OsgpError as e:
        return _fail(str(e))
    except ImportError as e:  # a part of the suite that is not installed or not built yet
        return _fail(f"{args.command}: {e}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
