"""The project folder: every file read, write, snapshot and undo goes through here, confined to
it."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path

from .exceptions import AutocoderError
from .lint import format_code

STATE_DIR = ".autocoder"
PROTECTED = frozenset({"main.py", "main_test.py"})  # never deleted by the model
SKIP_DIRS = frozenset(
    {STATE_DIR, ".git", "__pycache__", ".venv", "venv", ".pytest_cache", ".ruff_cache"}
)
MAX_SNAPSHOT_FILE = 5 * 1024 * 1024
SNAPSHOT_NAME = re.compile(r"\d{4,9}\.zip")


class PathRefused(ValueError):
    """A path that would leave the project or touch what the model may not write."""


class Workspace:
    """A project directory; all paths given to it are relative to its root."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.state_dir = self.root / STATE_DIR

    # ---- paths -------------------------------------------------------------------------------
    def resolve(self, rel: str) -> Path:
        """Real path of `rel` inside the project, or PathRefused."""
        if not rel or "\x00" in rel:
            raise PathRefused(f"invalid path {rel!r}")
        p = Path(rel)
        if not p.parts or p.name in ("", "."):
            raise PathRefused(f"path {rel!r} names no file; use a relative path like main.py")
        if p.is_absolute() or ".." in p.parts:
            raise PathRefused(
                f"path {rel!r} is outside the project; use a relative path like main.py"
            )
        if p.parts[0] in (STATE_DIR, ".git"):
            raise PathRefused(f"path {rel!r} is reserved")
        full = self.root / p
        if full.is_symlink():  # also catches dangling links, which resolve() would follow silently
            raise PathRefused(f"path {rel!r} is a symbolic link")
        real = full.resolve()
        if real != self.root and self.root not in real.parents:
            raise PathRefused(f"path {rel!r} leads outside the project")
        return real

    def exists(self, rel: str) -> bool:
        return self.resolve(rel).is_file()

    def files(self) -> list[str]:
        """Every regular file of the project, sorted, skipping tool and cache folders."""
        out = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")
            )
            for name in filenames:
                full = Path(dirpath) / name
                # regular files we can read: a FIFO, a device or a chmod 000 file the program
                # left is not the project's text
                if full.is_file() and not full.is_symlink() and os.access(full, os.R_OK):
                    out.append(full.relative_to(self.root).as_posix())
        return sorted(out)

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
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode("utf-8"))

    def delete(self, rel: str) -> None:
        path = self.resolve(rel)
        if not path.is_file():
            raise FileNotFoundError(f"{rel} does not exist")
        path.unlink()

    def copy_to(self, target: Path) -> Workspace:
        """A scratch copy of the project's files (no tool state), to try an action on."""
        for rel, data in self._contents().items():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        target.mkdir(parents=True, exist_ok=True)
        if (self.root / ".venv").is_dir():  # the project's installed packages, shared read-only
            (target / ".venv").symlink_to(self.root / ".venv")
        return Workspace(target)

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
        return _digest(self._contents())

    def _contents(self) -> dict[str, bytes]:
        out = {}
        for rel in self.files():
            path = self.root / rel
            if path.stat().st_size <= MAX_SNAPSHOT_FILE:
                out[rel] = path.read_bytes()
        return out

    def snapshots(self) -> list[Path]:
        """The snapshots, oldest first: plain files named NNNN.zip (anything else there is not
        ours)."""
        folder = self.snapshot_dir
        if self.state_dir.is_symlink() or folder.is_symlink() or not folder.is_dir():
            return []
        found = [
            p
            for p in folder.iterdir()
            if SNAPSHOT_NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink()
        ]
        return sorted(found, key=lambda p: int(p.stem))

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
        contents = self._contents()
        digest = _digest(contents)
        existing = self.snapshots()
        if existing and snapshot_digest(existing[-1]) == digest:
            return None
        folder = self.private_dir("snapshots")
        number = int(existing[-1].stem) + 1 if existing else 1
        target = folder / f"{number:04d}.zip"
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.comment = json.dumps({"digest": digest}).encode()
            for rel, data in contents.items():
                zf.writestr(rel, data)
        os.replace(tmp, target)
        return target

    def undo(self) -> Path:
        """Restore the newest snapshot that differs from the project now; drop it once used.
        A snapshot that is damaged, or names a path outside the project, is refused whole."""
        current = _digest(self._contents())
        for snap in reversed(self.snapshots()):
            if snapshot_digest(snap) == current:
                snap.unlink()  # identical to now: restoring it would change nothing
                continue
            saved = self._read_snapshot(snap)
            try:
                for rel in self._contents():
                    if rel not in saved:
                        self.resolve(rel).unlink()
                for target, data in saved.values():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write(target, data)
            except OSError as exc:  # a file where the snapshot has a folder, a full disk...
                raise AutocoderError(
                    f"undo stopped: {exc}; the snapshot {snap.name} is kept, try again"
                ) from None
            snap.unlink()
            return snap
        raise FileNotFoundError(f"no snapshot to restore in {self.snapshot_dir}")

    def _read_snapshot(self, snap: Path) -> dict[str, tuple[Path, bytes]]:
        """Every file of a snapshot with where it goes, checked before anything is written."""
        where = snap.relative_to(self.root)
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
                        saved[m.filename] = (self.resolve(m.filename), zf.read(m))
                    except PathRefused as exc:
                        raise AutocoderError(
                            f"{where} is refused, nothing restored: {exc}"
                        ) from None
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


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file, fsync and rename: a crash leaves the old file intact."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _digest(contents: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(contents):
        h.update(rel.encode() + b"\0" + hashlib.sha256(contents[rel]).digest())
    return h.hexdigest()


def snapshot_digest(path: Path) -> str:
    """The digest a snapshot was made with (its zip comment); "" when it has none."""
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.comment or b"{}").get("digest", "")
    except (OSError, zipfile.BadZipFile, ValueError):
        return ""
