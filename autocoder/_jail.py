"""Inside fresh user, mount, PID and network namespaces (made by `unshare`): hide the secret
places, make every mount read-only but the writable folders, drop every capability, then exec.

    python -I _jail.py POLICY_JSON -- COMMAND [ARG...]

POLICY_JSON holds lists of absolute paths: "rw" (writable: the project, the scratch HOME), "ro"
(folders inside a writable one that stay read-only: autocoder's own state), "hide" (folders
covered by an empty read-only tmpfs: homes, temporary folders, secret stores), "blank" (files
covered by /dev/null: /etc/shadow...) and "keep" (folders under a hidden one that must stay
readable: the Python that runs the command).

We are root of our own user namespace only until exec: with every capability dropped (bounding
set, effective, permitted, inheritable, ambient) and no_new_privs set, the command cannot remount
anything read-write, and in a user namespace of its own every mount it inherits is locked. The
command runs as the namespace's PID 1, so when it ends the kernel kills all it left behind.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
# flags a remount must keep, or the kernel refuses it for a mount locked by a parent namespace
KEEP = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
}
# its own rules: the PID namespace's fresh proc; its host-wide knobs go read-only below
SKIP = ("/proc",)
PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")  # all /dev holds (as bwrap's --dev)
SHM = "/dev/shm"  # a private, writable tmpfs: POSIX semaphores and shared memory work, unshared
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(
    source: str | None, target: str, flags: int, fstype: str | None = None, data: str | None = None
) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    _check(
        _libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
        f"mount {target}",
    )


def _mounts() -> list[tuple[str, int]]:
    """(mount point, flags to keep) of every mount, parents first."""
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


def _bind_from(fd: int, target: str) -> None:
    """Bind the folder or file held open as `fd` at `target`, making the mount point if needed."""
    if not os.path.lexists(target):
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "w").close()
    _mount(f"/proc/self/fd/{fd}", target, MS_BIND | MS_REC)


def _private_dev() -> None:
    """A /dev of the harmless devices only: a read-only mount does not stop writes to a disk's
    device node, and the program is root of its namespace (the owner of the host's nodes)."""
    held = {
        name: os.open(f"/dev/{name}", os.O_PATH | os.O_CLOEXEC)
        for name in DEVICES
        if os.path.exists(f"/dev/{name}")
    }
    _mount("tmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "tmpfs", "mode=755,size=1m")
    for name, fd in held.items():
        _bind_from(fd, f"/dev/{name}")
        os.close(fd)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"/dev/{name}")
    os.mkdir(SHM)
    _mount("tmpfs", SHM, MS_NOSUID | MS_NODEV, "tmpfs", "mode=1777,size=64m")


def confine(policy: dict[str, list[str]]) -> None:
    rw, ro, hide = policy["rw"], policy["ro"], policy["hide"]
    _mount(None, "/", MS_REC | MS_PRIVATE)  # nothing we do here reaches the host's mounts
    # Hold what must stay reachable before hiding what it lies under.
    held = {
        p: os.open(p, os.O_PATH | os.O_CLOEXEC)
        for p in dict.fromkeys(policy["keep"] + rw)
        if os.path.exists(p)
    }
    for folder in hide:
        _mount("tmpfs", folder, MS_NOSUID | MS_NODEV, "tmpfs", "mode=755,size=1m")
    for path in policy["blank"]:
        _mount("/dev/null", path, MS_BIND)
    _private_dev()
    # every writable folder gets its own mount, so it stays writable below
    for path, fd in held.items():
        if path in rw or _inside(path, hide):
            _bind_from(fd, path)
        os.close(fd)
    for path in PROC_READ_ONLY:
        if os.path.exists(path):
            _mount(path, path, MS_BIND | MS_REC)
    for point, flags in _mounts():
        if _inside(point, [*rw, SHM]) or (
            _inside(point, list(SKIP)) and not _inside(point, list(PROC_READ_ONLY))
        ):
            continue
        try:
            _mount(None, point, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)
        except OSError:
            if point == "/" or point in hide:
                raise  # the root must be read-only and the hidden folders empty, or nothing holds
    mounts = dict(_mounts())
    for folder in rw:  # the bind mounts read-only'd as children of a parent: make them rw again
        _mount(None, folder, MS_BIND | MS_REMOUNT | mounts.get(folder, 0))
    for folder in ro:
        _mount(folder, folder, MS_BIND | MS_REC)
        _mount(None, folder, MS_BIND | MS_REMOUNT | MS_RDONLY | dict(_mounts()).get(folder, 0))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_privileges() -> None:
    """No capability left in any set, and none to be gained by exec (no_new_privs)."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    _check(
        _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient capabilities"
    )
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -I _jail.py POLICY_JSON -- COMMAND...")
    policy, command = json.loads(argv[0]), argv[2:]
    try:
        confine(policy)
        drop_privileges()
    except OSError as exc:
        sys.exit(f"autocoder sandbox: cannot confine the program: {exc}")
    os.chdir(os.getcwd())  # re-enter the folder through the new writable mount, not the one below
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
