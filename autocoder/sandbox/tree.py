"""Walking and removing folder trees a program may have shaped: one folder descriptor at a time,
every name opened relative to its folder and never through a link, so neither the depth nor the
length of a path (past PATH_MAX) stops a walk, and no link leads one out of the tree."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


class Blocked(OSError):
    """A path that passes through a link or through something that is not a folder."""


class Moved(OSError):
    """A folder changed place while it was walked: the walk stops rather than go astray."""


@dataclass(slots=True)
class Entry:
    """One name met by a walk; `fd` (its folder) is open only until the walk goes on."""

    fd: int
    name: str
    stat: os.stat_result
    trail: list[str]  # the folders above it, from the top; the walk's own list, not a copy

    @property
    def depth(self) -> int:
        return len(self.trail)

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.stat.st_mode)

    def path(self) -> str:
        """Its path from the top of the walk."""
        return "/".join([*self.trail, self.name])


def _ident(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _names(fd: int) -> list[str]:
    """The folder's names, last first (popped from the end in sorted order)."""
    try:
        return sorted(os.listdir(fd), reverse=True)
    except OSError:  # unreadable: nothing to walk there
        return []


def open_folder(name: str, dir_fd: int | None, expect: os.stat_result | None = None) -> int:
    """Open the folder `name` (in `dir_fd`) without following a link; with `expect`, only if it
    is still the very folder that was looked at."""
    fd = os.open(name, FOLDER, dir_fd=dir_fd)
    if expect is not None and _ident(os.fstat(fd)) != _ident(expect):
        os.close(fd)
        raise Moved(f"{name} changed while it was walked")
    return fd


def events(
    fd: int, descend: Callable[[Entry], bool] = lambda e: True
) -> Iterator[tuple[str, Entry]]:
    """Walk the folder open at `fd` (taken over: closed at the end) depth first, yielding
    ("entry", e) for every name and ("leave", e) once a folder entered is done (e.fd is then its
    parent). Only one descriptor is open at a time: a folder's own is reopened through "..",
    checked to be the folder it came from."""
    stack = [(_ident(os.fstat(fd)), _names(fd), None)]
    trail: list[str] = []
    try:
        while stack:
            pending = stack[-1][1]
            if not pending:
                st = stack.pop()[2]
                if not stack:
                    return
                parent = open_folder("..", fd)
                if _ident(os.fstat(parent)) != stack[-1][0]:
                    os.close(parent)
                    raise Moved("a folder changed place while it was walked")
                os.close(fd)
                fd = parent
                name = trail.pop()
                yield "leave", Entry(fd, name, st, trail)
                continue
            name = pending.pop()
            try:
                st = os.lstat(name, dir_fd=fd)
            except OSError:  # removed meanwhile (by whoever is walking)
                continue
            entry = Entry(fd, name, st, trail)
            yield "entry", entry
            if not (entry.is_dir and descend(entry)):
                continue
            try:
                child = open_folder(name, fd, st)
            except Moved:
                raise
            except OSError:  # removed by the walker, unreadable: not entered
                continue
            os.close(fd)
            fd = child
            trail.append(name)
            stack.append((_ident(st), _names(fd), st))
    finally:
        os.close(fd)


def walk(top: str | os.PathLike[str], descend: Callable[[Entry], bool] = lambda e: True):
    """Every name under the folder `top` (not followed if it is a link), folders before what
    they hold; `descend(entry)` says whether a folder is entered."""
    for kind, entry in events(open_folder(os.fspath(top), None), descend):
        if kind == "entry":
            yield entry


def _open_writable(name: str, dir_fd: int) -> int:
    """Open a folder to empty it, giving its owner the rights a program may have taken away."""
    try:
        return open_folder(name, dir_fd)
    except PermissionError:
        _unlock(dir_fd, name)
        return open_folder(name, dir_fd)


def _unlock(dir_fd: int, name: str) -> None:
    """Give back to the owner of a folder the rights to list and empty it (never via a link)."""
    with contextlib.suppress(OSError, ValueError):  # ValueError: the name is a link
        os.chmod(name, 0o700, dir_fd=dir_fd, follow_symlinks=False)


def remove(dir_fd: int, name: str) -> bool:
    """Remove `name` in the folder `dir_fd` and all it holds, following no link; True when it is
    gone. Errors do not stop it: it removes what it can."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
        return not _exists(name, dir_fd)

    def enter(e: Entry) -> bool:
        if stat.S_IMODE(e.stat.st_mode) & 0o700 != 0o700:  # a chmod 000 folder: empty it anyway
            _unlock(e.fd, e.name)
        return True

    enter(Entry(dir_fd, name, st, []))
    try:
        top = _open_writable(name, dir_fd)
    except OSError:
        return False
    with contextlib.suppress(OSError):  # Moved, or lost rights: remove what was reached
        for kind, e in events(top, enter):
            if kind == "leave" or not e.is_dir:
                with contextlib.suppress(OSError):
                    if e.is_dir:
                        os.rmdir(e.name, dir_fd=e.fd)
                    else:
                        os.unlink(e.name, dir_fd=e.fd)
    with contextlib.suppress(OSError):
        os.rmdir(name, dir_fd=dir_fd)
    return not _exists(name, dir_fd)


def _exists(name: str, dir_fd: int) -> bool:
    try:
        os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return True


def rmtree(path: str | os.PathLike[str]) -> bool:
    """Remove `path` (a folder of ours: its parent is trusted, nothing under it is); True when it
    is gone."""
    parent, name = os.path.split(os.path.abspath(path))
    try:
        fd = open_folder(parent, None)
    except OSError:
        return False
    try:
        return remove(fd, name)
    finally:
        os.close(fd)


# ---- writing inside a tree -----------------------------------------------------------------------
def obstacle(top: int, parts: list[str]) -> str | None:
    """Why `parts` (a path under the folder `top`) cannot be written as a plain file reached
    through real folders only: a link, a file where a folder is needed, a folder where the file
    goes; None when nothing is in the way (missing folders are made)."""
    fd = os.dup(top)
    try:
        for i, part in enumerate(parts):
            where = "/".join(parts[: i + 1])
            try:
                st = os.lstat(part, dir_fd=fd)
            except FileNotFoundError:
                return None
            if stat.S_ISLNK(st.st_mode):
                return f"{where} is a link"
            if i == len(parts) - 1:
                return f"{where} is a folder" if stat.S_ISDIR(st.st_mode) else None
            if not stat.S_ISDIR(st.st_mode):
                return f"{where} is not a folder"
            child = open_folder(part, fd, st)
            os.close(fd)
            fd = child
        return None
    finally:
        os.close(fd)


def open_parent(top: int, parts: list[str], make: bool = False) -> int:
    """The folder that holds `parts[-1]`, reached from `top` through real folders only (made
    when missing and `make`); raises Blocked where a link or a file is in the way."""
    fd = os.dup(top)
    try:
        for part in parts[:-1]:
            if make:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = open_folder(part, fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Blocked(f"{part} is a link or not a folder") from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def write_at(dir_fd: int, name: str, data: bytes) -> None:
    """Write `name` in the folder `dir_fd` atomically (a temporary file, fsync, rename); the
    rename replaces a link rather than writing through it."""
    tmp = f".autocoder-{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    out = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(out, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            try:
                old = os.lstat(name, dir_fd=dir_fd)
                mode = stat.S_IMODE(old.st_mode) & 0o777 if stat.S_ISREG(old.st_mode) else 0o644
            except FileNotFoundError:
                mode = 0o644
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
