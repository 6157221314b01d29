"""Packages that generated code imports, installed only when the user allows it (--allow-install):
into the project's own virtual environment `.venv` (never autocoder's), wheels only, with a
timeout, through the sandbox runner (network allowed for that run only, writes only in the
project). The project's programs then see them through PYTHONPATH (see sandbox.child_env).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from . import sandbox
from .state import Observation, ProcResult

MISSING = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z_][A-Za-z0-9_]*)")
INSTALL_TIMEOUT = 300.0
# import name -> distribution, where they differ (the usual surprises)
DISTRIBUTIONS = {
    "sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
    "bs4": "beautifulsoup4", "skimage": "scikit-image", "dateutil": "python-dateutil",
    "Crypto": "pycryptodome", "dotenv": "python-dotenv", "docx": "python-docx",
    "pptx": "python-pptx", "serial": "pyserial", "jwt": "pyjwt", "zmq": "pyzmq",
    "OpenGL": "PyOpenGL", "midiutil": "MIDIUtil", "fitz": "pymupdf", "attr": "attrs",
    "google.protobuf": "protobuf", "mpl_toolkits": "matplotlib", "Levenshtein": "python-Levenshtein",
}  # fmt: skip


def distribution(module: str) -> str:
    return DISTRIBUTIONS.get(module, module)


def missing(obs: Observation) -> list[str]:
    """Top-level modules the project's runs could not import, that are not the project's own."""
    text = "\n".join(r.output for r in (obs.main, obs.tests) if r is not None)
    own = {Path(f).stem for f in obs.files if f.endswith(".py")} | {f.split("/")[0] for f in obs.files}
    return sorted({m for m in MISSING.findall(text) if m not in own})


def venv(root: Path) -> Path:
    return root / ".venv"


site_packages = sandbox.site_packages


def installed(root: Path) -> list[str]:
    """Names of the distributions in the project's venv (part of an observation's identity)."""
    site = site_packages(root)
    return sorted(p.name for p in site.glob("*.dist-info")) if site else []


def install(root: Path, modules: list[str], index_args: list[str] | None = None) -> ProcResult:
    """pip-install the distributions for `modules` into the project's venv (made on first need)."""
    if site_packages(root) is None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv(root))], check=True, capture_output=True, timeout=120)
    target = next(venv(root).glob("bin/python*"))
    args = [sys.executable, "-m", "pip", "--python", str(target), "install", "--only-binary=:all:", "--no-input",
            "--disable-pip-version-check", "--timeout", "30", *(index_args or []),
            *(distribution(m) for m in modules)]  # fmt: skip
    return sandbox.run(args, root, INSTALL_TIMEOUT, network=True)
