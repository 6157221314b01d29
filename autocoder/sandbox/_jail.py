"""Inside fresh user, mount, PID, IPC, UTS and network namespaces (made by `unshare`): build the
program's root from an allow-list, make every mount read-only but the writable folders, drop
every capability, load the seccomp filter, then exec.

    python -I -S _jail.py POLICY_JSON -- COMMAND [ARG...]

POLICY_JSON is visible.rules(): "binds" ([ro|rw, source, target], parents first), "covered"
(folders shown empty), "writable" (the rw targets), "shm_size", "seccomp" (the filter as hex)
and "pivot_root" (its system call number here).

The new root is an empty tmpfs holding only the bound folders, a fresh /dev, /proc and /tmp; the
old root is unmounted, so nothing else is reachable. We are root of our own user namespace only
until exec: with every capability dropped (bounding set, effective, permitted, inheritable,
ambient), no_new_privs set and the filter denying new namespaces, the command cannot remount
anything, and in a user namespace of its own every mount it inherits is locked. The command runs
as the namespace's PID 1, so when it ends the kernel kills all it left behind.
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
# where the new root is made (a folder every system has), where the old one waits to be unmounted
NEW_ROOT, OLD = "/tmp", "/.old"
MNT_DETACH = 2
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
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


def _bind(source: str, target: str) -> None:
    """Bind `source` (a path under the old root) at `target`, making the mount point if needed."""
    if not os.path.lexists(target):
        if os.path.isdir(source):
            os.makedirs(target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "w").close()
    # with what is mounted inside it: a folder holding a mount cannot be bound alone in a user
    # namespace (that would uncover what the mount hides); the remount below makes all read-only
    _mount(source, target, MS_BIND | MS_REC)


def _private_dev() -> None:
    """A /dev of the harmless devices only: a read-only mount does not stop writes to a disk's
    device node, and the program is root of its namespace (the owner of the host's nodes)."""
    os.mkdir("/dev")
    _mount("tmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "tmpfs", "mode=755,size=1m")
    for name in DEVICES:
        if os.path.exists(f"{OLD}/dev/{name}"):
            _bind(f"{OLD}/dev/{name}", f"/dev/{name}")
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"/dev/{name}")


def _tmpfs(target: str, mode: str, size: int, flags: int = MS_NOSUID | MS_NODEV) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, flags, "tmpfs", f"mode={mode},size={size}")


def confine(policy: dict) -> None:
    here = os.getcwd()
    _mount(None, "/", MS_REC | MS_PRIVATE)  # nothing we do here reaches the host's mounts
    # the new root: an empty tmpfs, swapped with /
    _tmpfs(NEW_ROOT, "755", 1 << 20)
    os.mkdir(NEW_ROOT + OLD)
    _check(
        _libc.syscall(policy["pivot_root"], NEW_ROOT.encode(), (NEW_ROOT + OLD).encode()),
        "pivot_root",
    )
    os.chdir("/")
    os.mkdir("/proc")
    _mount(f"{OLD}/proc", "/proc", MS_BIND | MS_REC)  # the PID namespace's own (--mount-proc)
    for path in PROC_READ_ONLY:
        if os.path.exists(path):
            _mount(path, path, MS_BIND | MS_REC)
    for path in policy["proc_blanked"]:
        if os.path.exists(path):
            _mount(f"{OLD}/dev/null", path, MS_BIND)
    _private_dev()
    _tmpfs(SHM, "1777", policy["shm_size"])
    _tmpfs("/tmp", "755", 65536)  # empty and read-only: TMPDIR is the scratch HOME
    for _kind, source, target in policy["binds"]:
        _bind(OLD + source, target)
    for place in policy["covered"]:
        _tmpfs(place, "755", 4096)
    for path in policy["blanked"]:
        _mount(f"{OLD}/dev/null", path, MS_BIND)
    _check(_libc.umount2(OLD.encode(), MNT_DETACH), "unmount the old root")
    os.rmdir(OLD)
    writable = [*policy["writable"], SHM]
    for point, flags in _mounts():
        if (point in writable and point != "/") or (
            _inside(point, list(SKIP)) and not _inside(point, list(PROC_READ_ONLY))
        ):
            continue
        _mount(None, point, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)
    _check(_libc.sethostname(b"sandbox", 7), "hostname")  # the host's name is not its business
    os.chdir(here)  # the project, through its writable bind


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


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def filter_calls(program: bytes) -> None:
    """Load the seccomp filter (seccomp.py): it holds for the command and all it starts."""
    if not program:
        return
    code = ctypes.create_string_buffer(program, len(program))
    prog = _Program(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -I _jail.py POLICY_JSON -- COMMAND...")
    policy, command = json.loads(argv[0]), argv[2:]
    try:
        confine(policy)
        drop_privileges()
        filter_calls(bytes.fromhex(policy["seccomp"]))
    except OSError as exc:
        sys.exit(f"autocoder sandbox: cannot confine the program: {exc}")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
