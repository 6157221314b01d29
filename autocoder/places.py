"""Folders autocoder must never take for its own: the root, system folders, the user's home folder
and the folders above it. A project folder or a cache folder is a new or existing folder that is
none of these (a folder inside the home folder is fine; the home folder itself is not)."""

from __future__ import annotations

import os
from pathlib import Path

from .exceptions import AutocoderError

# Trees that belong to the system: nothing of a user's project or cache lives in them. (/var and
# /private/var hold the temporary folders of Linux and macOS: only those are allowed there.)
SYSTEM_TREES = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
    "/var",
    "/System",
    "/Library",
    "/private/etc",
    "/private/var",
)
ALLOWED_IN_SYSTEM = ("/var/tmp", "/var/folders", "/private/var/tmp", "/private/var/folders")


def problem(path: str | os.PathLike[str]) -> str | None:
    """Why `path` cannot be a folder autocoder writes its own files into; None when it can."""
    text = os.fspath(path)
    if not text.strip():
        return "is empty: give a folder, e.g. ./my_project"
    given = Path(os.path.abspath(os.path.expanduser(text)))
    homes = {Path(os.path.realpath(h)) for h in _homes()}
    for folder in dict.fromkeys((given, Path(os.path.realpath(given)))):
        if folder == folder.parent:
            return "is the root folder"
        if folder in homes:
            return "is your home folder itself: give a folder inside it"
        if any(folder in home.parents for home in homes):
            return "holds your home folder"
        if folder.parent == folder.parent.parent:
            return "is a top-level system folder"
        if _system(folder):
            return "lies in a system folder"
    return None


def refuse(path: str | os.PathLike[str], what: str) -> None:
    """One clear line when `path` is a folder that `what` (the project, the cache) cannot use."""
    why = problem(path)
    if why is not None:
        shown = os.fspath(path) or "''"
        raise AutocoderError(f"{what} {shown} {why}: choose a folder of its own")


def _system(folder: Path) -> bool:
    inside = [Path(t) for t in SYSTEM_TREES if folder == Path(t) or Path(t) in folder.parents]
    allowed = any(folder == Path(a) or Path(a) in folder.parents for a in ALLOWED_IN_SYSTEM)
    return bool(inside) and not (allowed and folder not in map(Path, ALLOWED_IN_SYSTEM))


def _homes() -> list[str]:
    homes = {os.path.expanduser("~"), os.environ.get("HOME", "")}
    return [h for h in homes if h]


def cache_dir() -> Path:
    """autocoder's cache folder (the response cache's, and a converted model's):
    AUTOCODER_CACHE_DIR, else $XDG_CACHE_HOME/autocoder, else ~/.cache/autocoder."""
    if os.environ.get("AUTOCODER_CACHE_DIR"):
        return Path(os.environ["AUTOCODER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "autocoder"
