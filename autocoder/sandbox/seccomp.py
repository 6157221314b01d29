"""The system calls a sandboxed program may not make: a seccomp filter (classic BPF), the same on
both backends (bubblewrap loads it with --seccomp, the jail with prctl).

The mounts and namespaces already confine the files it sees; the filter closes what they leave
open: new namespaces (a user namespace of its own is every capability again, and the kernel
surface that comes with it: nf_tables, the new mount API), vsock sockets (they reach the host or
its VMs whatever the network namespace), the kernel keyrings (the session keyring is inherited:
a stored key read, one planted), pushing keystrokes into the terminal (TIOCSTI), tracing other
processes, clearing the parent-death signal (a program outliving autocoder), blocks allocated
past a file's end (the file size limit never sees them), and kernel interfaces a program never
needs (bpf, perf, io_uring, modules, kexec).
Denied calls fail with EPERM; clone3, whose flags the filter cannot read, fails with ENOSYS so
that the C library falls back to clone, whose flags it can.
"""

from __future__ import annotations

import errno
import platform
import struct

# struct seccomp_data: nr (int), arch (u32), instruction pointer (u64), args (u64 x 6)
NR, ARCH, ARG0, ARG1 = 0, 4, 16, 24
LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
X32_BIT = 0x40000000  # x86-64's x32 ABI: the same calls under other numbers
NEW_NAMESPACES = (
    0x00000080  # CLONE_NEWTIME
    | 0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
AF_VSOCK = 40
TERMINAL_INJECTION = (0x5412, 0x541C)  # TIOCSTI, TIOCLINUX
PR_SET_PDEATHSIG = 1  # a program that clears its parent-death signal outlives autocoder
FALLOC_FL_KEEP_SIZE = 1  # blocks past the end of a file: RLIMIT_FSIZE never sees them

# Denied outright: namespaces and mounts, keyrings, tracing, kernel interfaces.
DENIED = [
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "keyctl",
    "add_key",
    "request_key",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "acct",
    "swapon",
    "swapoff",
    "reboot",
    "syslog",
    "quotactl",
    "quotactl_fd",
    "lookup_dcookie",
    "open_by_handle_at",
    "vhangup",
    "iopl",
    "ioperm",
    "uselib",
]
_COMMON = {  # the same number on both architectures (the calls added since 5.1)
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "clone3": 435,
    "mount_setattr": 442,
    "quotactl_fd": 443,
}
# (AUDIT_ARCH_*, numbers) from the kernel's unistd headers
ARCHES = {
    "x86_64": (
        0xC000003E,
        {
            **_COMMON,
            "ioctl": 16,
            "prctl": 157,
            "fallocate": 285,
            "socket": 41,
            "socketpair": 53,
            "clone": 56,
            "ptrace": 101,
            "syslog": 103,
            "uselib": 134,
            "vhangup": 153,
            "pivot_root": 155,
            "chroot": 161,
            "acct": 163,
            "mount": 165,
            "umount2": 166,
            "swapon": 167,
            "swapoff": 168,
            "reboot": 169,
            "iopl": 172,
            "ioperm": 173,
            "init_module": 175,
            "delete_module": 176,
            "quotactl": 179,
            "lookup_dcookie": 212,
            "kexec_load": 246,
            "add_key": 248,
            "request_key": 249,
            "keyctl": 250,
            "unshare": 272,
            "perf_event_open": 298,
            "open_by_handle_at": 304,
            "setns": 308,
            "process_vm_readv": 310,
            "process_vm_writev": 311,
            "finit_module": 313,
            "kexec_file_load": 320,
            "bpf": 321,
            "userfaultfd": 323,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            **_COMMON,
            "lookup_dcookie": 18,
            "ioctl": 29,
            "fallocate": 47,
            "prctl": 167,
            "umount2": 39,
            "mount": 40,
            "pivot_root": 41,
            "chroot": 51,
            "vhangup": 58,
            "quotactl": 60,
            "acct": 89,
            "unshare": 97,
            "kexec_load": 104,
            "init_module": 105,
            "delete_module": 106,
            "syslog": 116,
            "ptrace": 117,
            "reboot": 142,
            "socket": 198,
            "socketpair": 199,
            "add_key": 217,
            "request_key": 218,
            "keyctl": 219,
            "clone": 220,
            "swapon": 224,
            "swapoff": 225,
            "perf_event_open": 241,
            "open_by_handle_at": 265,
            "setns": 268,
            "process_vm_readv": 270,
            "process_vm_writev": 271,
            "finit_module": 273,
            "bpf": 280,
            "userfaultfd": 282,
            "kexec_file_load": 294,
        },
    ),
}
ARCHES["arm64"] = ARCHES["aarch64"]
ARCHES["amd64"] = ARCHES["x86_64"]


def number(name: str, machine: str | None = None) -> int:
    """A system call's number on this machine's architecture, -1 where we do not know it."""
    arch = ARCHES.get(machine or platform.machine())
    return arch[1].get(name, -1) if arch else -1


def _assemble(lines: list[tuple]) -> bytes:
    """(label,) marks a place; (code, k, jt, jf) is an instruction whose jumps are labels or 0."""
    places, at = {}, 0
    for line in lines:
        if len(line) == 1:
            places[line[0]] = at
        else:
            at += 1
    out, at = [], 0
    for line in lines:
        if len(line) == 1:
            continue
        code, k, jt, jf = line
        at += 1
        hops = [places[j] - at if isinstance(j, str) else j for j in (jt, jf)]
        out.append(struct.pack("=HBBI", code, hops[0], hops[1], k))
    return b"".join(out)


def program(machine: str | None = None) -> bytes:
    """The filter for this machine's architecture, as struct sock_filter[]; b"" where we do not
    know its system call numbers (the mounts and namespaces still hold there)."""
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return b""
    audit, nr = arch
    deny = sorted({nr[name] for name in DENIED if name in nr})
    lines: list[tuple] = [
        (LD_ABS, ARCH, 0, 0),
        (JEQ, audit, 1, 0),
        (RET, ERRNO | errno.ENOSYS, 0, 0),
    ]
    lines.append((LD_ABS, NR, 0, 0))
    if audit == ARCHES["x86_64"][0]:
        lines.append((JGE, X32_BIT, "enosys", 0))
    lines += [(JEQ, n, "eperm", 0) for n in deny]
    lines += [
        (JEQ, nr["clone3"], "enosys", 0),
        (JEQ, nr["clone"], "namespaces", 0),
        (JEQ, nr["unshare"], "namespaces", 0),
        (JEQ, nr["socket"], "family", 0),
        (JEQ, nr["socketpair"], "family", 0),
        (JEQ, nr["ioctl"], "ioctl", 0),
        (JEQ, nr["prctl"], "prctl", 0),
        (JEQ, nr["fallocate"], "fallocate", 0),
        (RET, ALLOW, 0, 0),
        ("namespaces",),
        (LD_ABS, ARG0, 0, 0),  # the low word holds every CLONE_NEW* flag
        (JSET, NEW_NAMESPACES, "eperm", "allow"),
        ("family",),
        (LD_ABS, ARG0, 0, 0),
        (JEQ, AF_VSOCK, "eperm", "allow"),
        ("ioctl",),
        (LD_ABS, ARG1, 0, 0),  # the kernel reads the request as 32 bits: its low word
        (JEQ, TERMINAL_INJECTION[0], "eperm", 0),
        (JEQ, TERMINAL_INJECTION[1], "eperm", "allow"),
        ("prctl",),
        (LD_ABS, ARG0, 0, 0),
        (JEQ, PR_SET_PDEATHSIG, "eperm", "allow"),
        ("fallocate",),
        (LD_ABS, ARG1, 0, 0),  # its mode
        (JSET, FALLOC_FL_KEEP_SIZE, "eperm", "allow"),
        ("allow",),
        (RET, ALLOW, 0, 0),
        ("eperm",),
        (RET, ERRNO | errno.EPERM, 0, 0),
        ("enosys",),
        (RET, ERRNO | errno.ENOSYS, 0, 0),
    ]
    return _assemble(lines)
