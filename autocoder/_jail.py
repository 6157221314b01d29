"""Inside fresh user, mount, PID and network namespaces (made by `unshare`): make every mount
read-only except the project and the private temporary folder, then exec the command.

    python -m autocoder._jail WRITABLE [WRITABLE...] -- COMMAND [ARG...]

Runs as the namespace's PID 1 only for the instant before exec; the command then is PID 1, so
when it ends the kernel kills everything it left behind, setsid or not.
"""

from __future__ import annotations

import ctypes
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
KEEP = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
        "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}  # fmt: skip  # locked: must be kept
SKIP = ("/proc", "/sys")  # kernel filesystems with their own rules (/dev goes read-only: devices still work)

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: str | None, target: str, flags: int) -> None:
    enc = (lambda s: None if s is None else s.encode())  # noqa: E731
    if _libc.mount(enc(source), enc(target), None, ctypes.c_ulong(flags), None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _mounts() -> list[tuple[str, int]]:
    """(mount point, locked flags) of every mount, parents first."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            flags = sum(KEEP.get(opt, 0) for opt in fields[5].split(","))
            found.append((point, flags))
    return found


def _inside(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def confine(writable: list[str]) -> None:
    _mount(None, "/", MS_REC | MS_PRIVATE)  # nothing we do here reaches the host's mounts
    for folder in writable:
        _mount(folder, folder, MS_BIND | MS_REC)  # its own mount, so it stays writable below
    for point, flags in _mounts():
        if _inside(point, writable) or _inside(point, list(SKIP)):
            continue
        try:
            _mount(None, point, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)
        except OSError:
            if point == "/":
                raise  # the root must be read-only, or nothing is confined
    for folder in writable:  # the bind mounts read-only'd as children of a parent: make them rw again
        _mount(None, folder, MS_BIND | MS_REMOUNT | dict(_mounts()).get(folder, 0))


def main(argv: list[str]) -> None:
    if "--" not in argv:
        sys.exit("usage: python -m autocoder._jail WRITABLE... -- COMMAND...")
    split = argv.index("--")
    writable, command = [os.path.realpath(p) for p in argv[:split]], argv[split + 1 :]
    try:
        confine(writable)
    except OSError as exc:
        sys.exit(f"autocoder sandbox: cannot confine writes: {exc}")
    os.chdir(os.getcwd())  # re-enter the folder through the new writable mount, not the one below
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
