"""The project folder: every file read, write, snapshot and undo goes through here, confined to
it."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import AutocoderError
from ..sandbox import tree
from . import snapshots
from .lint import format_code
from .snapshots import MAX_SNAPSHOT_FILE, Restored, snapshot_digest

__all__ = [
    "MAX_SNAPSHOT_FILE",
    "PathRefused",
    "Restored",
    "Scan",
    "Workspace",
    "atomic_write",
    "snapshot_digest",
]

STATE_DIR = ".autocoder"
PROTECTED = frozenset({"main.py", "main_test.py"})  # never deleted by the model
# repository-control folders: git, hg... obey what is in them, so the model never writes there
CONTROL = frozenset({".git", ".hg", ".svn", ".bzr"})
SKIP_DIRS = frozenset(
    {STATE_DIR, *CONTROL, "__pycache__", ".venv", "venv", ".pytest_cache", ".ruff_cache"}
)
# A program can nest folders without end: what lies deeper is not the project's text, and every
# path autocoder reads stays far below PATH_MAX.
MAX_DEPTH = 32
MAX_PATH = 1024  # bytes of a path inside the project


class PathRefused(ValueError):
    """A path that would leave the project or touch what the model may not write."""


@dataclass(frozen=True)
class Scan:
    """The project's files as they are now, and notes on what was left out and why."""

    files: list[str]
    skipped: list[str]


class Workspace:
    """A project directory; all paths given to it are relative to its root."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.state_dir = self.root / STATE_DIR

    # ---- paths -------------------------------------------------------------------------------
    def resolve(self, rel: str) -> Path:
        """Path of `rel` inside the project, reached through real folders only, or PathRefused."""
        parts = parts_of(rel)
        if self.root.is_dir():
            top = tree.open_folder(str(self.root), None)
            try:
                blocked = tree.obstacle(top, parts)
            finally:
                os.close(top)
            if blocked and not blocked.endswith("is a folder"):
                raise PathRefused(f"path {rel!r} is refused: {blocked} (autocoder follows none)")
        return self.root.joinpath(*parts)

    def exists(self, rel: str) -> bool:
        return self.resolve(rel).is_file()

    def files(self) -> list[str]:
        """Every regular file of the project, sorted, skipping tool and cache folders."""
        return self.scan().files

    def scan(self) -> Scan:
        """The project's files, and notes on what a user would miss: names that are not UTF-8
        (no file action can name them), folders nested deeper than MAX_DEPTH, paths too long."""
        found: list[str] = []
        skipped: list[str] = []
        if not self.root.is_dir():
            return Scan([], [])

        def enter(e: tree.Entry) -> bool:
            if e.name in SKIP_DIRS or e.name.endswith(".egg-info") or not _utf8(e.name):
                return False
            if e.depth + 1 >= MAX_DEPTH:
                skipped.append(f"{_shown(e)}/: deeper than {MAX_DEPTH} folders, not read")
                return False
            return True

        try:
            for e in tree.walk(self.root, enter):
                if not _utf8(e.name):
                    skipped.append(f"{_shown(e)}: its name is not UTF-8, not read")
                elif not stat.S_ISREG(e.stat.st_mode):
                    continue
                elif len(e.path().encode()) > MAX_PATH:
                    skipped.append(f"{_shown(e)}: its path is longer than {MAX_PATH} bytes")
                # regular files we can read: a FIFO, a device or a chmod 000 file the program
                # left is not the project's text
                elif os.access(e.name, os.R_OK, dir_fd=e.fd, follow_symlinks=False):
                    found.append(e.path())
        except OSError as exc:  # tree.Moved: something changes the project as we read it
            skipped.append(f"the project changed while it was read ({exc}): read again")
        return Scan(sorted(found), skipped)

    # ---- reading and writing -----------------------------------------------------------------
    def read(self, rel: str) -> str:
        path = self.resolve(rel)
        if not path.is_file():
            raise FileNotFoundError(f"{rel} does not exist")
        return path.read_text(encoding="utf-8", errors="replace")

    def write(self, rel: str, text: str, fmt: bool = True) -> None:
        """Atomically write `text` (formatted when it is Python) to `rel`."""
        path = self.resolve(rel)
        if fmt and rel.endswith(".py"):
            text = format_code(text)
        if text and not text.endswith("\n"):
            text += "\n"
        self.root.mkdir(parents=True, exist_ok=True)
        top = tree.open_folder(str(self.root), None)
        try:
            parent = tree.open_parent(top, parts_of(rel), make=True)
        finally:
            os.close(top)
        try:
            tree.write_at(parent, path.name, text.encode("utf-8"))
        finally:
            os.close(parent)

    def delete(self, rel: str) -> None:
        path = self.resolve(rel)
        if not path.is_file():
            raise FileNotFoundError(f"{rel} does not exist")
        path.unlink()

    def copy_to(self, target: Path) -> Workspace:
        """A scratch copy of the project's files (no tool state), to try an action on."""
        for rel, data in self.contents().items():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        target.mkdir(parents=True, exist_ok=True)
        if (self.root / ".venv").is_dir():  # the project's installed packages, shared read-only
            (target / ".venv").symlink_to(self.root / ".venv")
        return Workspace(target)

    def contents(self, files: list[str] | None = None) -> dict[str, bytes]:
        """The bytes of every project file (or of `files`) small enough to snapshot."""
        out = {}
        for rel in self.files() if files is None else files:
            try:
                fd = os.open(self.root / rel, tree.FILE)
            except OSError:  # gone, or a link now: not the project's file
                continue
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                data = fh.read(MAX_SNAPSHOT_FILE + 1)
            if len(data) <= MAX_SNAPSHOT_FILE:
                out[rel] = data
        return out

    # ---- autocoder's own state ----------------------------------------------------------------
    def private_dir(self, *parts: str) -> Path:
        """A folder of autocoder's state (`.autocoder/...`), made if missing. The program being
        written could have planted anything there: every part must be a plain folder, never a
        link, or the state would be written wherever the link points."""
        path = self.root
        path.mkdir(parents=True, exist_ok=True)
        for part in (STATE_DIR, *parts):
            path = path / part
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                raise AutocoderError(
                    f"{path.relative_to(self.root)} in {self.root} is not a plain folder (a "
                    "link?): autocoder keeps its state there and follows no link; remove it and "
                    "run again"
                )
            path.mkdir(exist_ok=True)
        return path

    # ---- snapshots ---------------------------------------------------------------------------
    @property
    def snapshot_dir(self) -> Path:
        return self.state_dir / "snapshots"

    def fingerprint(self) -> str:
        """A digest of every project file's path and bytes: equal fingerprints, equal projects."""
        return snapshots.digest(self.contents())

    def snapshots(self) -> list[Path]:
        """The snapshots, oldest first: plain files named NNNN.zip (anything else there is not
        ours)."""
        return snapshots.listed(self.state_dir)

    def newest(self) -> dict[str, str] | None:
        """The newest snapshot's name and digest (a step records what it began with)."""
        existing = self.snapshots()
        return (
            {"name": existing[-1].stem, "digest": snapshot_digest(existing[-1])}
            if existing
            else None
        )

    def snapshot(self) -> Path | None:
        """Zip the project's files unless they equal the newest snapshot; return the new zip."""
        files = self.files()
        contents = self.contents(files)
        left_out = [rel for rel in files if rel not in contents]  # too large: undo keeps them
        existing = self.snapshots()
        if (
            existing
            and snapshot_digest(existing[-1]) == snapshots.digest(contents)
            and snapshots.unsaved(existing[-1]) == set(left_out)
        ):
            return None
        folder = self.private_dir("snapshots")
        number = int(existing[-1].stem) + 1 if existing else 1
        target = folder / f"{number:04d}.zip"
        snapshots.write(target, contents, left_out)
        return target

    def undo(self) -> Restored:
        """Restore the newest snapshot that differs from the project now; drop it once used.
        A snapshot that is damaged, or names a path outside the project or one reached through
        a link, is refused whole; a file the snapshot holds no bytes of is kept, with a note."""
        scan = self.scan()
        now = self.contents(scan.files)
        current = snapshots.digest(now)
        for snap in reversed(self.snapshots()):
            if snapshot_digest(snap) == current:
                snap.unlink()  # identical to now: restoring it would change nothing
                continue
            saved = snapshots.read(snap, self.root, parts_of)
            try:
                notes = snapshots.restore(self.root, snap, saved, now)
            except OSError as exc:  # a full disk, a folder that vanished...
                raise AutocoderError(
                    f"undo stopped: {exc}; the snapshot {snap.name} is kept, try again"
                ) from None
            snap.unlink()
            if scan.skipped:  # deep folders, undecodable names: never read, never touched
                more = f" (and {len(scan.skipped) - 1} more)" if len(scan.skipped) > 1 else ""
                notes.append(f"left as they are: {scan.skipped[0]}{more}")
            return Restored(snap, notes)
        raise FileNotFoundError(f"no snapshot to restore in {self.snapshot_dir}")


def parts_of(rel: str) -> list[str]:
    """The names of a path the model gave, or PathRefused when it leaves the project or names
    autocoder's folder or a repository's."""
    if not rel or "\x00" in rel:
        raise PathRefused(f"invalid path {rel!r}")
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise PathRefused(f"path {rel!r} is not valid text") from None
    p = Path(rel)
    if not p.parts or p.name in ("", "."):
        raise PathRefused(f"path {rel!r} names no file; use a relative path like main.py")
    if p.is_absolute() or ".." in p.parts:
        raise PathRefused(f"path {rel!r} is outside the project; use a relative path like main.py")
    if p.parts[0] == STATE_DIR or CONTROL.intersection(p.parts):
        raise PathRefused(f"path {rel!r} is reserved")
    return list(p.parts)


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes, kept by Python as lone surrogates
        return False
    return True


def _shown(e: tree.Entry) -> str:
    """A path fit to print: undecodable bytes as escapes, a long trail cut in the middle."""
    text = e.path().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text if len(text) <= 120 else f"{text[:40]}...{text[-60:]}"


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file, fsync and rename: a crash leaves the old file intact."""
    fd = os.open(Path(path).parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        tree.write_at(fd, Path(path).name, data)
    finally:
        os.close(fd)
