"""What a sandboxed program may leave in the project for later, undone when its run ends: the
setuid and setgid bits it set, and the repository-control folders it made, which git, hg and the
like obey on the user's next command there (hooks, `core.fsmonitor`, a pager). The project is
surveyed before the run, so that what the user had stays as it was."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field

from . import tree

CONTROL = frozenset({".git", ".hg", ".svn", ".bzr"})  # obeyed in any folder the user enters
# git takes a folder holding all three for a (bare) repository, and obeys its `config`
BARE = ("HEAD", "objects", "refs")
# files that make a folder a git directory however the rest is split (`commondir` names another
# folder holding objects, refs and config): one the program made or changed goes, wherever it is
GIT_FILES = ("HEAD", "commondir", "gitdir")
STATE_DIR = ".autocoder"  # autocoder's own: a program never makes it
SPECIAL = stat.S_ISUID | stat.S_ISGID
KEEP_BYTES = 64 * 1024  # a small control file of the user's (a worktree's `.git`) is put back


@dataclass(frozen=True)
class Mark:
    """An entry as it was: a program can neither change an inode and keep its ctime, nor give an
    inode a ctime from before the run."""

    dev: int
    ino: int
    mode: int
    ctime: int | None  # None for folders: their ctime moves whenever a name in them does

    @classmethod
    def of(cls, st: os.stat_result) -> Mark:
        ctime = None if stat.S_ISDIR(st.st_mode) else st.st_ctime_ns
        return cls(st.st_dev, st.st_ino, st.st_mode, ctime)

    def same(self, st: os.stat_result) -> bool:
        """The same entry, unchanged (a folder's rights aside)."""
        now = Mark.of(st)
        return (self.dev, self.ino, self.ctime) == (now.dev, now.ino, now.ctime) and stat.S_IFMT(
            self.mode
        ) == stat.S_IFMT(now.mode)


@dataclass
class Survey:
    """The project before a run: its setuid/setgid entries, and its control names by path."""

    special: set[Mark] = field(default_factory=set)
    control: dict[str, Mark] = field(default_factory=dict)
    saved: dict[str, bytes] = field(default_factory=dict)  # small control files, to put back


def folders(survey: Survey) -> tuple[str, ...]:
    """The user's repository-control folders below the top (a nested .git): the sandbox keeps
    them read-only, as it keeps the project's own .git."""
    return tuple(
        path
        for path, mark in survey.control.items()
        if "/" in path and stat.S_ISDIR(mark.mode) and path.rsplit("/", 1)[-1] in CONTROL
    )


def _watched(e: tree.Entry) -> bool:
    return (
        e.name in CONTROL
        or e.name in BARE
        or e.name in GIT_FILES
        or (e.depth == 0 and e.name == STATE_DIR)
    )


def _enter(before: Survey | None):
    """The project's own `.git/` and `.autocoder/` are read-only to the program (isolation binds
    them so): not walked, which keeps a big repository cheap."""

    def descend(e: tree.Entry) -> bool:
        if e.depth or e.name not in (".git", STATE_DIR):
            return True
        return before is not None and not _unchanged(before, e)

    return descend


def _unchanged(before: Survey, e: tree.Entry) -> bool:
    mark = before.control.get(e.path())
    return mark is not None and mark.same(e.stat)


def survey(root: str | os.PathLike[str]) -> Survey:
    """Take stock of what is the user's: setuid/setgid entries and repository-control names."""
    found = Survey()
    with contextlib.suppress(OSError):
        for e in tree.walk(root, _enter(None)):
            if e.stat.st_mode & SPECIAL and not stat.S_ISLNK(e.stat.st_mode):
                found.special.add(Mark.of(e.stat))
            if _watched(e):
                path = e.path()
                found.control[path] = Mark.of(e.stat)
                if stat.S_ISREG(e.stat.st_mode) and e.stat.st_size <= KEEP_BYTES:
                    with contextlib.suppress(OSError):
                        found.saved[path] = _read(e.fd, e.name)
    return found


def defuse(root: str | os.PathLike[str], before: Survey) -> list[str]:
    """Undo what the program left for later; one note per thing undone. Run once nothing of the
    program runs any more."""
    notes: list[str] = []
    descend, locked = _enter(before), {}

    def enter(e: tree.Entry) -> bool:
        if not descend(e):
            return False
        mode = stat.S_IMODE(e.stat.st_mode)
        if mode & 0o700 != 0o700:  # a folder its owner cannot list hides nothing: entered, then
            with contextlib.suppress(OSError, ValueError):  # its mode is put back
                os.chmod(e.name, mode | 0o700, dir_fd=e.fd, follow_symlinks=False)
                locked[e.path()] = mode
        return True

    with contextlib.suppress(OSError):  # tree.Moved: nothing runs now, so nothing should move
        for kind, e in tree.events(tree.open_folder(os.fspath(root), None), enter):
            if kind == "leave":
                if e.path() in locked:
                    with contextlib.suppress(OSError, ValueError):
                        os.chmod(e.name, locked.pop(e.path()), dir_fd=e.fd, follow_symlinks=False)
                continue
            special = e.stat.st_mode & SPECIAL and not stat.S_ISLNK(e.stat.st_mode)
            if special and Mark.of(e.stat) not in before.special:
                _clear(e)
            if _watched(e) and not _unchanged(before, e):
                if e.name in GIT_FILES and not e.is_dir:
                    notes += _drop(e.fd, e.name, e.path(), before)  # git needs it in every gitdir
                elif e.name in BARE:
                    notes += _unbare(e, before)
                else:
                    notes += _drop(e.fd, e.name, e.path(), before)
    return notes


def _unbare(e: tree.Entry, before: Survey) -> list[str]:
    """A folder the program turned into a bare repository: what it added of HEAD, objects and
    refs goes (git needs all three)."""
    trail = "/".join(e.trail)
    paths = {name: f"{trail}/{name}" if trail else name for name in BARE}
    now = {}
    for name in BARE:
        try:
            now[name] = os.lstat(name, dir_fd=e.fd)
        except OSError:
            return []  # not a repository: nothing to obey
    notes = []
    for name, st in now.items():
        mark = before.control.get(paths[name])
        if mark is None or not mark.same(st):
            notes += _drop(e.fd, name, paths[name], before)
    return notes


def _drop(fd: int, name: str, path: str, before: Survey) -> list[str]:
    """Remove a control entry the program made or changed; put back a small file of the user's."""
    if not tree.remove(fd, name):
        return [f"could not remove {path}, which the program made: remove it before using git"]
    old = before.control.get(path)
    if path in before.saved and old is not None:
        with contextlib.suppress(OSError):
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            out = os.open(name, flags, stat.S_IMODE(old.mode), dir_fd=fd)
            with os.fdopen(out, "wb") as fh:
                fh.write(before.saved[path])
            return [f"put back {path}, which the program changed"]
    return [f"removed {path}, which the program made"]


def _clear(e: tree.Entry) -> None:
    """Clear the setuid/setgid bits of an entry the program made or changed."""
    mode = stat.S_IMODE(e.stat.st_mode) & ~SPECIAL
    try:
        fd = os.open(e.name, tree.FILE, dir_fd=e.fd)
    except OSError:  # unreadable to us: chmod by name, which follows no link either
        with contextlib.suppress(OSError, ValueError):
            os.chmod(e.name, mode, dir_fd=e.fd, follow_symlinks=False)
        return
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) == (e.stat.st_dev, e.stat.st_ino):
            os.fchmod(fd, mode)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read(fd: int, name: str) -> bytes:
    handle = os.open(name, tree.FILE, dir_fd=fd)
    with os.fdopen(handle, "rb") as fh:
        return fh.read(KEEP_BYTES + 1)
