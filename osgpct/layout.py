"""Where the installed suite keeps its parts, and the one pytest command line of a campaign.

The CLI, the kill and tolerance matrices and the benchmarks all start campaigns through
:func:`campaign_args`, so a campaign runs the same from a checkout (editable install) and from a
plain ``pip install .`` in any directory.
"""

from __future__ import annotations

from importlib import resources
from importlib.util import find_spec
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: pytest settings of a campaign, independent of whatever pytest configuration the current directory holds.
CAMPAIGN_INI = PACKAGE_DIR / "campaign.ini"


def catalogue_paths() -> list[Path]:
    """The folders of the test cases and use cases (inside the installed package, or the checkout)."""
    # found, not imported: the harness does not depend on the test cases it runs
    return [Path(find_spec(name).origin).resolve().parent  # type: ignore[union-attr, arg-type]
            for name in ("osgpct.testcases", "osgpct.usecases")]


def default_plan() -> Path:
    """`testplan.yaml` of the current directory when there is one, else the packaged default plan
    (reference device over loopback)."""
    here = Path("testplan.yaml")
    if here.is_file():
        return here.resolve()
    return Path(str(resources.files("osgpct").joinpath("testplan.yaml")))


def campaign_args(*, plan: Path, out: Path, target: str | None = None, seed: int | None = None,
                  k: str | None = None, extra: list[str] | None = None) -> list[str]:
    """The pytest arguments of one campaign."""
    paths = catalogue_paths()
    args = [*map(str, paths), "-p", "osgpct.plugin", f"--rootdir={paths[0].parent}", "-c", str(CAMPAIGN_INI),
            f"--plan={plan}", f"--out={out}", "-p", "no:cacheprovider", "-q"]
    if target:
        args.append(f"--target={target}")
    if seed is not None:
        args.append(f"--seed={seed}")
    if k:
        args += ["-k", k]
    return args + list(extra or [])
