"""One scrubber for every text that leaves a run for a reader: a program's output on its way to
the model's prompt, a trajectory, a cassette, an error line, a `show` page.

It removes secrets by value (the keys it is given and the values of key-like environment
variables, as written, URL-encoded and base64) and by shape (API keys, bearer tokens, long hex or
base64 values next to "key" or "token"), and names this machine's places in every spelling a
program may print them: `/./` and `//` inside, JSON's `\\/`, percent-encoding, the path as given
and resolved (a symlinked /tmp), the user's home folder and user name."""

from __future__ import annotations

import base64
import functools
import getpass
import os
import re
import sys
import urllib.parse
from collections.abc import Iterable

SCRUBBED = "<scrubbed>"
USER = "<user>"
_SECRET_ENV = re.compile(r"(API_KEY|_TOKEN|_SECRET|_KEY)$")
# Shapes of API keys and tokens (OpenAI, Anthropic, AWS, GitHub, Slack, Google, Hugging Face):
# scrubbed even when no variable of this machine holds them.
_KEY = re.compile(
    r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}"
    r"|hf_[A-Za-z0-9]{30,})"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{16,}")
# A long hex or base64 value right after a word naming a key, token, secret or password (an
# assignment, a JSON field, a header): a key of a shape nobody listed.
_NAMED = re.compile(
    r"(?i)((?:key|token|secret|password|passwd|credential)s?\w*[\"']?\s*[:=]\s*[\"']?"
    r"|(?:key|token)\s+)([A-Fa-f0-9]{20,}|(?=[A-Za-z0-9+/_-]*\d)[A-Za-z0-9+/_-]{24,}={0,2})"
)
# Account names that say nothing of a person: left in place, since a program printing "root"
# or "user" may mean the word.
_GENERIC_USERS = frozenset({"root", "user", "admin", "runner", "ubuntu", "nobody", "guest"})
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,16}\b")
_SEP = r"(?:/|\\/|%2[Ff])"
_GLUE = rf"{_SEP}(?:\.?{_SEP})*"  # `/`, `//`, `/./`, `\/`, `%2F`, and runs of them


class Scrubber:
    """Secrets and this machine's places out of text. `given`: secrets it must remove (an
    --api-key, a key read from ./.env); `places`: (folder, label) pairs, each folder written as
    its label (`""` for the project: paths inside it come out relative)."""

    def __init__(
        self, given: Iterable[str | None] = (), places: Iterable[tuple[str, str]] = ()
    ) -> None:
        self.given = frozenset(v for v in given if v and len(v) >= 6)
        self.places = _places(tuple(places))

    def secrets(self) -> list[str]:
        """The given secrets and the values of key-like environment variables, longest first."""
        found = set(self.given)
        found.update(v for k, v in os.environ.items() if _SECRET_ENV.search(k) and len(v) >= 6)
        return sorted(found, key=len, reverse=True)

    def values(self, text: str) -> str:
        """`text` with every known secret, in each of its spellings, replaced."""
        for secret in self.secrets():
            for form in _forms(secret):
                text = text.replace(form, SCRUBBED)
        return text

    def text(self, text: str) -> str:
        """`text` with secrets (by value and by shape), this machine's places and the memory
        addresses of objects (`<... object at 0x7f55...>`: they differ from run to run, and a
        prompt holding one is asked, cached and recorded afresh each time) replaced."""
        text = _ADDRESS.sub(" at 0x...", shapes(self.values(text)))
        for pattern, label in self.places:
            text = pattern.sub(lambda m, label=label: _label(label, m), text)
        return _user(text)

    def body(self, body: object) -> object:
        """A recorded HTTP body (bytes or text) scrubbed the same way, bytes kept as bytes."""
        if body is None:
            return None
        if isinstance(body, bytes):
            return self.text(body.decode("utf-8", "surrogateescape")).encode(
                "utf-8", "surrogateescape"
            )
        return self.text(str(body))


def shapes(text: str) -> str:
    """`text` with anything shaped like an API key or a bearer token replaced."""
    if not text:
        return text
    text = _KEY.sub(SCRUBBED, text)
    text = _BEARER.sub(lambda m: m.group(1) + SCRUBBED, text)
    return _NAMED.sub(lambda m: m.group(1) + SCRUBBED, text)


def for_project(root: str | os.PathLike[str]) -> Scrubber:
    """The scrubber of program output for one project: its folder relative, the home folder ~,
    and the Python that ran it by name (a pytest traceback names its venv's site-packages: the
    prompt then told the model where autocoder is installed, and differed between clones)."""
    return Scrubber(places=((os.fspath(root), ""), *runtime_places(), *home_places()))


def runtime_places() -> tuple[tuple[str, str], ...]:
    """The interpreter's environment and installation, and autocoder's own package."""
    here = os.path.dirname(os.path.abspath(__file__))
    venv = ((sys.prefix, "<venv>"),) if sys.prefix != sys.base_prefix else ()
    return (*venv, (sys.base_prefix, "<python>"), (here, "<autocoder>"))


def home_places() -> tuple[tuple[str, str], ...]:
    """The user's home folder, written as ~."""
    return tuple((h, "~") for h in _homes())


def _homes() -> list[str]:
    homes = {os.path.expanduser("~"), os.environ.get("HOME", "")}
    return [h for h in homes if h and h.strip(os.sep)]


def _forms(secret: str) -> list[str]:
    """The secret as written, URL-encoded, JSON-escaped and base64 (as in Basic auth)."""
    raw = secret.encode()
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        secret.replace("/", "\\/"),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    }
    return sorted((f for f in forms if f), key=len, reverse=True)


@functools.lru_cache(maxsize=64)
def _places(places: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern[str], str]]:
    """Each folder's pattern, in every spelling of every path it goes by; the longest first, so
    a project inside the home folder is the project."""
    spelled: dict[str, str] = {}
    for folder, label in places:
        for path in _aliases(folder):
            spelled.setdefault(path, label)
    ordered = sorted(spelled.items(), key=lambda p: len(p[0]), reverse=True)
    return [(re.compile(_pattern(path)), label) for path, label in ordered]


def _aliases(folder: str) -> set[str]:
    """The paths a folder goes by: as given (absolute), resolved, and through the root's own
    links (/tmp -> /private/tmp: a program may print either)."""
    if not folder:
        return set()
    given, real = os.path.abspath(folder), os.path.realpath(folder)
    found = {given, real}
    for link, target in _root_links():
        for path in (given, real):
            if path == target or path.startswith(target + os.sep):
                found.add(link + path[len(target) :])
    return {p for p in found if p.strip(os.sep)}  # never `/` itself


@functools.lru_cache(maxsize=1)
def _root_links() -> tuple[tuple[str, str], ...]:
    """The links among the root folder's entries and where they lead (/tmp, /var on macOS)."""
    found = []
    try:
        with os.scandir(os.sep) as entries:
            for entry in entries:
                if entry.is_symlink():
                    found.append((entry.path, os.path.realpath(entry.path)))
    except OSError:
        pass
    return tuple(found)


def _pattern(path: str) -> str:
    """A path in every spelling: any separator run, each part as written or percent-encoded;
    then what follows (a separator: a path inside it; else the folder itself)."""
    parts = [p for p in path.split(os.sep) if p]
    spelled = [
        "(?:" + "|".join(re.escape(f) for f in dict.fromkeys((p, urllib.parse.quote(p)))) + ")"
        for p in parts
    ]
    return rf"(?<![\w.~-]){_GLUE}{_GLUE.join(spelled)}(?P<inside>{_GLUE}(?=[^\s/\\%])|(?![\w.-]))"


def _label(label: str, match: re.Match[str]) -> str:
    """What replaces a place: its label before a path inside it, else the folder itself."""
    inside = bool(match.group("inside"))
    if label == "":
        return "" if inside else "."
    return label + "/" if inside else label


@functools.lru_cache(maxsize=1)
def _user_pattern() -> re.Pattern[str] | None:
    try:
        name = getpass.getuser()
    except Exception:  # noqa: BLE001  (no name at all: nothing to hide)
        return None
    if len(name) < 3 or name.lower() in _GENERIC_USERS:
        return None
    return re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])")


def _user(text: str) -> str:
    pattern = _user_pattern()
    return pattern.sub(USER, text) if pattern is not None else text
