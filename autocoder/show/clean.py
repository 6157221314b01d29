"""What never reaches a page: a secret (the Scrubber's and anything shaped like a key), an absolute
path of this machine (made relative to the page's folder, else cut to its last part), a control
character or a lone surrogate. Applied to every string of a page's data before the template
escapes it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..progress import printable
from ..scrub import Scrubber, home_places

# Absolute paths under the folders that name a person, a project or a scratch copy on a machine
# (system folders such as /usr/bin stay: they say nothing of the machine's owner or its layout).
_SEP = r"(?:/|\\/|%2[Ff])"  # as written, JSON-escaped, percent-encoded
_MACHINE = re.compile(
    rf"(?<![\w.~-]){_SEP}+(?:\.{_SEP}+)*"
    r"(?:home|Users|root|tmp|var|private|work|mnt|srv|opt|run|media|data|scratch)(?![\w.-])"
    rf"(?:{_SEP}+[^\s'\"`<>:;,()\[\]{{}}|\\%/]*)*"
)
ELLIPSIS = "\u2026"
# a lone surrogate (JSON's "\ud800" reads back as one) cannot be written as UTF-8
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Known(Scrubber):
    """A Scrubber whose secrets are read once (a page cleans thousands of strings)."""

    def __init__(self, secrets: list[str], places: tuple[tuple[str, str], ...]) -> None:
        super().__init__(places=places)
        self._known = secrets

    def secrets(self) -> list[str]:
        return self._known


class Cleaner:
    """Cleans text for a page written in `base`: paths inside `base` become relative to it, the
    home folder ~, in every spelling a program prints them (see scrub.py)."""

    def __init__(self, base: Path, given: Iterable[str | None] = ()) -> None:
        self.scrubber = _Known(Scrubber(given).secrets(), ((str(base), ""), *home_places()))

    def text(self, value: str) -> str:
        value = self.scrubber.text(value)
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


def _tail(match: re.Match[str]) -> str:
    """A machine path cut to its last part: `…/main_test.py` still says which file."""
    parts = [p for p in re.split(_SEP, match.group(0)) if p]
    return f"{ELLIPSIS}/{parts[-1]}" if parts else ELLIPSIS
