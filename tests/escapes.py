"""Attacks on the sandbox, run by test_escapes.py on each backend, as root and as an unprivileged
user.

    python escapes.py BACKEND WORKDIR

WORKDIR holds `project/` (with autocoder's `.autocoder/` in it), `outside/keep.txt` (everything
outside the project) and `home/.ssh/id_rsa` (the user's secrets; HOME points at `home`). Each
attack runs in the sandbox as the project's program and prints BROKE when it got through; the
driver then checks from outside that nothing changed. Prints one JSON object: attack -> verdict.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

SECRET = "canary-secret-5150"

PRELUDE = """
import ctypes, glob, os, socket
libc = ctypes.CDLL(None, use_errno=True)
OUTSIDE, HOME, SIBLING = {outside!r}, {home!r}, {sibling!r}
def broke(why):
    print("BROKE", why)
def try_write(path):
    try:
        with open(path, "a") as fh:
            fh.write("pwned")
        broke("wrote " + path)
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


def main(backend: str, work: Path) -> dict[str, str]:
    from autocoder import sandbox

    if not sandbox.available(backend):
        return {"_backend": f"{backend} cannot confine here"}
    policy = sandbox.Policy(backend=backend)  # the backend under test, not the best one
    project, outside, home = work / "project", work / "outside", work / "home"
    sibling = Path(os.environ.get("TMPDIR", "/tmp")) / f"autocoder-sibling-{os.getpid()}"
    sibling.write_text(SECRET)
    os.environ["OPENAI_API_KEY"] = "sk-" + SECRET
    verdicts = {}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        for name, code in ATTACKS.items():
            prelude = PRELUDE.format(outside=str(outside), home=str(home), sibling=str(sibling))
            body = (
                code.replace("{port}", str(port))
                .replace("{driver}", str(os.getpid()))
                .replace("{secret}", SECRET)
            )
            result = sandbox.python(["-c", prelude + body], project, timeout=20, policy=policy)
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
    changed = (
        sorted(p.name for p in outside.iterdir()) != ["keep.txt"]
        or (outside / "keep.txt").read_text() != "keep"
    )
    state = sorted(p.name for p in (project / ".autocoder").iterdir())
    verdicts["outside_unchanged"] = "BROKE outside changed" if changed else "held"
    verdicts["state_unchanged"] = (
        "held" if state == ["runs", "snapshots"] else f"BROKE .autocoder holds {state}"
    )
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


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
