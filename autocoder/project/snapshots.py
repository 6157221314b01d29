"""Snapshots of a project's files (`.autocoder/snapshots/NNNN.zip`) and putting one back: read
whole and checked before anything is written, written through real folders only, and never at
the cost of a file the snapshot holds no bytes of."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import AutocoderError
from ..sandbox import tree

MAX_SNAPSHOT_FILE = 5 * 1024 * 1024
SNAPSHOT_NAME = re.compile(r"\d{4,9}\.zip")
SHOWN = 5  # kept files named in undo's note


@dataclass(frozen=True)
class Restored:
    """What undo did: the snapshot it restored, and notes on the files it kept as they were."""

    snapshot: Path
    notes: list[str]


def digest(contents: dict[str, bytes]) -> str:
    """One digest of every file's path and bytes."""
    h = hashlib.sha256()
    for rel in sorted(contents):
        h.update(rel.encode() + b"\0" + hashlib.sha256(contents[rel]).digest())
    return h.hexdigest()


def _comment(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as zf:
            found = json.loads(zf.comment or b"{}")
    except (OSError, zipfile.BadZipFile, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def snapshot_digest(path: Path) -> str:
    """The digest a snapshot was made with (its zip comment); "" when it has none."""
    found = _comment(path).get("digest", "")
    return found if isinstance(found, str) else ""


def unsaved(path: Path) -> set[str] | None:
    """The files that existed but were too large to keep when the snapshot was taken; None for a
    snapshot that does not say (made before autocoder recorded it)."""
    found = _comment(path).get("unsaved")
    if not isinstance(found, list):
        return None
    return {x for x in found if isinstance(x, str)}


def listed(state_dir: Path) -> list[Path]:
    """The snapshots in `state_dir`/snapshots, oldest first: plain files named NNNN.zip."""
    folder = state_dir / "snapshots"
    if state_dir.is_symlink() or folder.is_symlink() or not folder.is_dir():
        return []
    found = [
        p
        for p in folder.iterdir()
        if SNAPSHOT_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()
    ]
    return sorted(found, key=lambda p: int(p.stem))


def write(target: Path, contents: dict[str, bytes], left_out: list[str]) -> None:
    """Write a snapshot atomically; `left_out`: the files too large to keep, so that undo knows
    they were there."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.comment = json.dumps({"digest": digest(contents), "unsaved": sorted(left_out)}).encode()
        for rel, data in contents.items():
            zf.writestr(rel, data)
    os.replace(tmp, target)


def read(snap: Path, root: Path, check: Callable[[str], list[str]]) -> dict[str, bytes]:
    """Every file of a snapshot by its path, each name turned into its parts by `check` (which
    raises ValueError on a name that is refused), before anything is written."""
    where = snap.relative_to(root)
    try:
        with zipfile.ZipFile(snap) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if any(m.file_size > MAX_SNAPSHOT_FILE for m in members):
                raise AutocoderError(
                    f"{where} holds a file larger than autocoder snapshots: not ours; "
                    "nothing restored"
                )
            saved = {}
            for m in members:
                try:
                    rel = "/".join(check(m.filename))
                except ValueError as exc:  # PathRefused
                    raise AutocoderError(f"{where} is refused, nothing restored: {exc}") from None
                saved[rel] = zf.read(m)
            return saved
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
        RuntimeError,
        zlib.error,
    ) as exc:
        raise AutocoderError(
            f"{where} is damaged ({exc}); nothing restored: remove it to undo further back"
        ) from None


def restore(root: Path, snap: Path, saved: dict[str, bytes], now: dict[str, bytes]) -> list[str]:
    """Make the project's files those of `saved` (the snapshot `snap`), `now` being its files
    small enough to snapshot; returns notes on what was kept. Every path is checked first (a
    link, or a file where a folder goes, refuses the whole snapshot); then each is written
    through real folders only, opened one at a time without following a link."""
    before = unsaved(snap)
    top = tree.open_folder(str(root), None)
    try:
        for rel in saved:
            blocked = tree.obstacle(top, rel.split("/"))
            if blocked:
                raise AutocoderError(
                    f"{snap.relative_to(root)} is refused, nothing restored: {blocked} now "
                    "(autocoder follows no link); move it away and undo again"
                )
        # Removed only when the snapshot shows it was not there: a file too large to snapshot
        # (or one from a snapshot that does not say) has no bytes to come back to.
        extra = sorted(rel for rel in now if rel not in saved)
        kept = [rel for rel in extra if before is None or rel in before]
        for rel in extra:
            if rel not in kept:
                parent = tree.open_parent(top, rel.split("/"))
                try:
                    os.unlink(rel.rsplit("/", 1)[-1], dir_fd=parent)
                finally:
                    os.close(parent)
        for rel, data in saved.items():
            parent = tree.open_parent(top, rel.split("/"), make=True)
            try:
                tree.write_at(parent, rel.rsplit("/", 1)[-1], data)
            finally:
                os.close(parent)
    finally:
        os.close(top)
    if not kept:
        return []
    more = f" and {len(kept) - SHOWN} more" if len(kept) > SHOWN else ""
    return [
        f"kept {', '.join(kept[:SHOWN])}{more} as they are: {snap.name} holds no copy of them "
        "(too large to snapshot then, or not recorded), so undo cannot tell what they were"
    ]
