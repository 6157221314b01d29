"""What never reaches a page: a secret (the Scrubber's and anything shaped like a key), an absolute
path of this machine (made relative to the page's folder, else cut to its last part), a control
character or a lone surrogate. Applied to every string of a page's data before the template
escapes it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..cassettes import SCRUBBED, Scrubber
from ..progress import printable

# Shapes of API keys and tokens (OpenAI, Anthropic, AWS, GitHub, Slack, Google, Hugging Face) and
# a bearer token: scrubbed even when no variable of this machine holds them.
_KEY = re.compile(
    r"\b(?:sk-(?:ant-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,})"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{16,}")
# Absolute paths under the folders that name a person, a project or a scratch copy on a machine
# (system folders such as /usr/bin stay: they say nothing of the machine's owner or its layout).
_MACHINE = re.compile(
    r"(?<![\w.~-])/(?:home|Users|root|tmp|var|private|work|mnt|srv|opt|run|media|data|scratch)"
    r"(?:/[^\s'\"`<>:;,()\[\]{}|]*)?"
)
ELLIPSIS = "\u2026"
# a lone surrogate (JSON's "\ud800" reads back as one) cannot be written as UTF-8
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Known(Scrubber):
    """A Scrubber whose secrets are read once (a page cleans thousands of strings)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._known = secrets

    def secrets(self) -> list[str]:
        return self._known


class Cleaner:
    """Cleans text for a page written in `base`: paths inside `base` become relative to it."""

    def __init__(self, base: Path, given: Iterable[str | None] = ()) -> None:
        self.scrubber = _Known(Scrubber(given).secrets())
        # inside the page's folder: relative to it; the home folder: ~; longest first (a
        # project inside the home folder is the project)
        roots = [(Path(base).resolve(), ""), (Path.home().resolve(), "~/")]
        self.roots = [
            (re.compile(r"(?<![\w.-])" + re.escape(str(root)) + r"(/|(?![\w.-]))"), label)
            for root, label in sorted(roots, key=lambda r: len(str(r[0])), reverse=True)
            if str(root) != os.sep
        ]

    def text(self, value: str) -> str:
        value = self.scrubber.text(value)
        value = _BEARER.sub(lambda m: m.group(1) + SCRUBBED, _KEY.sub(SCRUBBED, value))
        for root, label in self.roots:
            value = root.sub(lambda m, label=label: _relative(label, bool(m.group(1))), value)
        return printable(_SURROGATE.sub("\ufffd", _MACHINE.sub(_tail, value)))

    def deep(self, data: Any) -> Any:
        """`data` with every string in it cleaned (dict keys too); other values as they are."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self.deep(k): self.deep(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.deep(v) for v in data]
        return data


def _relative(label: str, inside: bool) -> str:
    """What replaces a known root: its label before a path inside it, else the folder itself."""
    return label if inside else label.rstrip("/") or "."


def _tail(match: re.Match[str]) -> str:
    """A machine path cut to its last part: `…/main_test.py` still says which file."""
    name = match.group(0).rstrip("/").rpartition("/")[2]
    return f"{ELLIPSIS}/{name}" if name else ELLIPSIS
