"""Packages that generated code imports, installed only when the user allows it (--allow-install):
into the project's own `.venv/lib/pythonX.Y/site-packages` (never autocoder's), wheels only, with a
timeout, through the sandbox runner (network allowed for that run only, writes only in the
project). The project's programs then see them through PYTHONPATH (see isolation.child_env).

Nothing of the project runs here: pip is autocoder's own, started with `-I` (a `pip.py` or
`venv.py` in the project is never imported), installs with `--target` (no interpreter of the
project's is asked anything), and only wheels (no build code runs).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import sandbox
from ..sandbox.isolation import site_packages
from ..state import Observation, ProcResult

MISSING = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z_][A-Za-z0-9_]*)")
INSTALL_TIMEOUT = 300.0
# import name -> distribution, where they differ (the usual surprises)
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "skimage": "scikit-image",
    "dateutil": "python-dateutil",
    "Crypto": "pycryptodome",
    "dotenv": "python-dotenv",
    "docx": "python-docx",
    "pptx": "python-pptx",
    "serial": "pyserial",
    "jwt": "pyjwt",
    "zmq": "pyzmq",
    "OpenGL": "PyOpenGL",
    "midiutil": "MIDIUtil",
    "fitz": "pymupdf",
    "attr": "attrs",
    "google.protobuf": "protobuf",
    "mpl_toolkits": "matplotlib",
    "Levenshtein": "python-Levenshtein",
}


def distribution(module: str) -> str:
    return DISTRIBUTIONS.get(module, module)


def missing(obs: Observation) -> list[str]:
    """Top-level modules the project's runs could not import, that are not the project's own."""
    text = "\n".join(r.output for r in (obs.main, obs.tests) if r is not None)
    own = {Path(f).stem for f in obs.files if f.endswith(".py")} | {
        f.split("/")[0] for f in obs.files
    }
    return sorted({m for m in MISSING.findall(text) if m not in own})


def target(root: Path) -> Path:
    """Where packages go: the layout of a virtual environment's site-packages, which
    isolation.site_packages finds. Made here as plain folders: no link in the project is
    followed."""
    folder = (
        root
        / ".venv"
        / "lib"
        / f"python{sys.version_info[0]}.{sys.version_info[1]}"
        / "site-packages"
    )
    for part in (folder.parents[2], folder.parents[1], folder.parent, folder):
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            raise OSError(
                f"{part.relative_to(root)} is not a plain folder: remove it to install packages"
            )
        part.mkdir(exist_ok=True)
    return folder


def installed(root: Path) -> list[str]:
    """Names of the distributions in the project's venv (part of an observation's identity)."""
    site = site_packages(root)
    return sorted(p.name for p in site.glob("*.dist-info")) if site else []


def install(
    root: Path,
    modules: list[str],
    index_args: list[str] | None = None,
    *,
    policy: sandbox.Sandbox,
) -> ProcResult:
    """pip-install the distributions for `modules` into the project's site-packages."""
    try:
        folder = target(root)
    except OSError as exc:
        return ProcResult(1, f"ERROR: {exc}", 0.0)
    args = [
        sys.executable,
        "-I",
        "-m",
        "pip",
        "install",
        "--target",
        str(folder),
        "--only-binary=:all:",
        "--no-input",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--timeout",
        "30",
        *(index_args or []),
        "--",
        *(distribution(m) for m in modules),
    ]
    local = tuple(a for a in (index_args or []) if Path(a).is_dir())  # a folder of wheels
    return sandbox.run(args, root, INSTALL_TIMEOUT, network=True, readable=local, policy=policy)


class Installer:
    """--allow-install in a run: the modules the code failed to import are installed (each tried
    once: a name that does not exist is not retried), and a failure is told to the model in the
    run's output, as a problem to work around."""

    def __init__(
        self,
        root: Path,
        index_args: tuple[str, ...],
        policy: sandbox.Sandbox,
        record: Callable[[dict[str, Any]], None],
    ) -> None:
        self.root, self.index_args, self.policy, self.record = root, index_args, policy, record
        self.tried: set[str] = set()

    def fix(self, obs: Observation, look: Callable[[], Observation]) -> Observation:
        """`obs`, or after installing what it lacks, `look()` again (or `obs` with the failure)."""
        names = [m for m in missing(obs) if m not in self.tried]
        if not names:
            return obs
        self.tried.update(names)
        result = install(self.root, names, list(self.index_args), policy=self.policy)
        dists = [distribution(m) for m in names]
        output = sandbox.cap(result.output, 1500)
        self.record(
            {
                "type": "install",
                "modules": names,
                "distributions": dists,
                "ok": result.ok,
                "output": output,
            }
        )
        if result.ok:
            return look()
        reason = next((ln for ln in result.output.splitlines() if "ERROR" in ln), "pip failed")
        note = (
            f"\n[autocoder could not install {', '.join(dists)}: {reason.strip()[:200]}; "
            "do without it]"
        )
        main = obs.main if obs.main is None else replace(obs.main, output=obs.main.output + note)
        return replace(obs, main=main)
